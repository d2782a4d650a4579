"""A run's streamed LLM requests, one row each (start, endpoint key, success, TTFT, TPOT, total),
gathered where they are measured and merged on the master like the recorder's slices: a worker
ships the rows of each report (``drain``), the master adds them (``absorb``), and every result
seals what came since the last into a block of ``slo.request_rows`` (encoded once for the bundle's
``llm_requests.csv.gz``). A goodput objective is judged on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slogate.slo.request_rows import RequestRows, RowBlock, RowColumns

ShippedRow = list[Any]
"""[endpoint, start_epoch_s, ok, ttft_s or None, tpot_s or None, total_s]: plain values, so a
worker's report carries them (Locust packs reports with msgpack)."""


class StreamRows:
    """The rows of one process (a worker's until its next report; the master's or a local run's
    for the whole run)."""

    def __init__(self) -> None:
        self._open = RowColumns()
        self._blocks: list[RowBlock] = []

    def __len__(self) -> int:
        return len(self._open) + sum(len(block) for block in self._blocks)

    def add(self, endpoint: str, start_epoch_s: float, ok: bool, ttft_s: float | None,
            tpot_s: float | None, total_s: float) -> None:
        """One streamed request: failed ones too (they are never good), rate-limited ones not."""
        self._open.add(endpoint, start_epoch_s, ok, ttft_s, tpot_s, max(0.0, total_s))

    def drain(self) -> list[ShippedRow]:
        """The rows gathered since the last drain, as plain values; this process keeps none."""
        blocks = [*self._blocks, self._open.seal()]
        self._blocks = []
        return [[row.endpoint, row.start_epoch_s, row.ok, row.ttft_s, row.tpot_s, row.total_s]
                for block in blocks if block is not None for row in block.rows()]

    def absorb(self, shipped: Sequence[ShippedRow] | None) -> None:
        """Add the rows another process drained."""
        for endpoint, start, ok, ttft, tpot, total in shipped or ():
            self.add(str(endpoint), float(start), bool(ok), None if ttft is None else float(ttft),
                     None if tpot is None else float(tpot), float(total))

    def result(self) -> RequestRows:
        """Every row so far (what came since the last result sealed into a new block)."""
        block = self._open.seal()
        if block is not None:
            self._blocks.append(block)
        return RequestRows(tuple(self._blocks))
