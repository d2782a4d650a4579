"""slogate: load test an HTTP API proxy and gate the release on its SLOs."""

__version__ = "0.1.0"
