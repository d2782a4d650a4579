"""SLOs as code: the spec model and loader, the run and evaluation models, and the evaluator.

``slo`` is the hub every other part reads; it imports nothing else of slogate.
"""
