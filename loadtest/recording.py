"""Which recorder records an Environment's run: bound by the plugin's session, found by scenarios
that record many samples of one request in one call (a stream's inter-token gaps), instead of one
Locust request event per sample (about 20 µs each, Locust's stats and slogate's listener: most of
what a fast stream costs the generator). Free of Locust's global events: importing it registers
nothing, so a scenario can import it whether or not the plugin runs."""

from __future__ import annotations

import weakref
from typing import Any

from slogate.loadtest.recorder import RunRecorder

_recorders: weakref.WeakKeyDictionary[Any, RunRecorder] = weakref.WeakKeyDictionary()


def bind(environment: Any, recorder: RunRecorder) -> None:
    """``recorder`` records ``environment``'s run (a Locust Environment)."""
    _recorders[environment] = recorder


def recorder_of(environment: Any) -> RunRecorder | None:
    """The recorder of ``environment``'s run; None when slogate does not record it."""
    return _recorders.get(environment)
