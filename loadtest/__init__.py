"""Locust scenarios and slogate's recorder. Scenarios import ``loadtest.plugin`` to be recorded."""
