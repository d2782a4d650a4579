"""Spec files: the dialects slogate reads (its own format, OpenSLO) into the spec model.

``load.load_spec`` is the one entry: it reads a file (``source``), lets the first dialect that
claims its documents build the ``Spec``, and reports every fault as a ``problems.SpecError`` with
file, line and field. Dialects are siblings: each imports only ``source``, ``problems`` and the
model (``slo.spec``), never another dialect; adding one is a module and one entry in
``load.DIALECTS``.
"""
