"""Metric contract presets of common proxies and instrumentation, one ``<name>.yaml`` each
(``--contract caddy``); see ``slo.contract``."""
