"""A streamed LLM request's derived series (``#ttfb``, ``#ttft``, ``#tpot``, ``#itl``): kept by
the recorder as each stream ends (``record_stream``) and recorded in bulk when its windows are
next read (``SeriesKeys.record_all``). Free of Locust: its tests and benchmarks import it alone."""

from __future__ import annotations

from itertools import chain
from typing import NamedTuple

import numpy as np

from slogate.loadtest.llm_stream import StreamTimings
from slogate.loadtest.recorder import RunRecorder
from slogate.slo.run import ITL_SUFFIX, TPOT_SUFFIX, TTFB_SUFFIX, TTFT_SUFFIX

_MICROSECONDS = 1e6


class SeriesKeys(NamedTuple):
    """The endpoint keys of a stream's derived series, made once per caller."""

    ttfb: str
    ttft: str
    tpot: str
    itl: str

    @classmethod
    def of(cls, key: str) -> SeriesKeys:
        return cls(key + TTFB_SUFFIX, key + TTFT_SUFFIX, key + TPOT_SUFFIX, key + ITL_SUFFIX)

    def record_all(self, recorder: RunRecorder, streams: list[tuple[float, StreamTimings]]) -> None:
        """Streams' derived series, in bulk (the keys are their ``SeriesWriter``): ``#ttfb``,
        ``#ttft``, ``#tpot``, and ``#itl``: the gaps between reads, then the zeros between chunks
        of one read (the chunks that arrived together) as one sample of them all per slice."""
        columns = np.array([(start, t.ttfb_s, t.ttft_s, t.tpot_s, t.content_chunks - len(t.chunks_per_read))
                            for start, t in streams], dtype=np.float64).T  # None: NaN
        starts, same_read = columns[0], columns[4]
        for key, seconds in zip(self[:3], columns[1:4], strict=True):
            present = ~np.isnan(seconds)
            recorder.record_values(key, starts[present], seconds[present] * _MICROSECONDS)
        gaps = [t.read_gaps_s for _, t in streams]
        lengths = np.fromiter(map(len, gaps), np.int64, len(gaps))
        gaps_us = np.fromiter(chain.from_iterable(gaps), np.float64, int(lengths.sum())) * _MICROSECONDS
        recorder.record_values(self.itl, np.repeat(starts, lengths), gaps_us)
        if same_read.any():
            indices = np.floor(starts / recorder.slice_s)
            for index in np.unique(indices[same_read > 0]).tolist():
                in_slice = indices == index
                count = int(same_read[in_slice].sum())
                recorder.record_series(float(starts[in_slice][0]), [(self.itl, 0.0, count)])


def record_stream(recorder: RunRecorder, keys: SeriesKeys, start_time: float,
                  timings: StreamTimings) -> None:
    """A whole stream's derived series in the recorder's slice of ``start_time``, recorded in bulk
    with the others kept until the recorder's windows are next read (``record_later``)."""
    recorder.record_later(start_time, keys, timings)
