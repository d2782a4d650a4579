"""Each streamed request's timings kept together: what a goodput objective is judged on.

A run's histograms keep TTFT, TPOT and total time apart (their joint distribution is lost), so a
run also keeps one row per streamed request: when it started, its endpoint key, whether it
succeeded, its TTFT, TPOT and total time. LLM rates are tens to hundreds of requests per second,
so the rows stay small: ``llm_requests.csv.gz`` in the run bundle, beside ``run.json``::

    start_epoch_s,endpoint,ok,ttft_ms,tpot_ms,total_ms
    1767225600.123456,POST /v1/messages,1,152.301,20.113,1432.552
    1767225600.130012,POST /v1/messages,0,,,12.004

``start_epoch_s`` is the request's start (epoch seconds, as the slices' clock: a row belongs to the
slice holding it); an empty TTFT or TPOT is one the request never had (a failure before its first
token, a single-token answer). Rows are kept in blocks of columns, each encoded once as a gzip
member: the file is the header's member followed by the blocks', so rewriting it at every
checkpoint of a long run costs the new rows only (gzip readers read concatenated members as one).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

REQUEST_ROWS_FILE = "llm_requests.csv.gz"
HEADER = ("start_epoch_s", "endpoint", "ok", "ttft_ms", "tpot_ms", "total_ms")
_GZIP_LEVEL = 6


@dataclass(frozen=True)
class RequestRow:
    """One streamed request's timings (seconds; None: the request never had that figure)."""

    start_epoch_s: float
    endpoint: str
    ok: bool
    ttft_s: float | None
    tpot_s: float | None
    total_s: float


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True, eq=False)
class RowBlock:
    """Rows in columns (NaN for a missing TTFT or TPOT); endpoint keys as indices into ``names``."""

    names: tuple[str, ...]
    endpoint: array[int]
    start_epoch_s: array[float]
    ok: bytes
    ttft_s: array[float]
    tpot_s: array[float]
    total_s: array[float]

    def __len__(self) -> int:
        return len(self.ok)

    def rows(self) -> Iterator[RequestRow]:
        names = self.names
        for index, start, ok, ttft, tpot, total in zip(self.endpoint, self.start_epoch_s, self.ok,
                                                       self.ttft_s, self.tpot_s, self.total_s,
                                                       strict=True):
            yield RequestRow(start, names[index], bool(ok), _optional(ttft), _optional(tpot), total)

    @functools.cached_property
    def encoded(self) -> bytes:
        """Its CSV lines as one gzip member (made once: every checkpoint reuses it)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerows((f"{row.start_epoch_s:.6f}", row.endpoint, int(row.ok), _ms(row.ttft_s),
                          _ms(row.tpot_s), _ms(row.total_s)) for row in self.rows())
        return gzip.compress(text.getvalue().encode(), compresslevel=_GZIP_LEVEL, mtime=0)


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e3:.3f}"


class RowColumns:
    """Rows being gathered (a run's, or a file's while it is read), sealed into a ``RowBlock``."""

    def __init__(self) -> None:
        self._names: dict[str, int] = {}
        self._clear()

    def _clear(self) -> None:
        self.endpoint: array[int] = array("I")
        self.start_epoch_s: array[float] = array("d")
        self.ok = bytearray()
        self.ttft_s: array[float] = array("d")
        self.tpot_s: array[float] = array("d")
        self.total_s: array[float] = array("d")

    def __len__(self) -> int:
        return len(self.ok)

    def add(self, endpoint: str, start_epoch_s: float, ok: bool, ttft_s: float | None,
            tpot_s: float | None, total_s: float) -> None:
        index = self._names.get(endpoint)
        if index is None:
            index = self._names[endpoint] = len(self._names)
        self.endpoint.append(index)
        self.start_epoch_s.append(start_epoch_s)
        self.ok.append(1 if ok else 0)
        self.ttft_s.append(math.nan if ttft_s is None else ttft_s)
        self.tpot_s.append(math.nan if tpot_s is None else tpot_s)
        self.total_s.append(total_s)

    def seal(self) -> RowBlock | None:
        """The rows gathered since the last seal, as a block (None if there are none); emptied."""
        if not self.ok:
            return None
        block = RowBlock(tuple(self._names), self.endpoint, self.start_epoch_s, bytes(self.ok),
                         self.ttft_s, self.tpot_s, self.total_s)
        self._clear()
        return block


@dataclass(frozen=True)
class RequestRows:
    """A run's streamed requests, one row each, in the order they were gathered (not by time)."""

    blocks: tuple[RowBlock, ...] = field(default=())

    def __len__(self) -> int:
        return sum(len(block) for block in self.blocks)

    def rows(self) -> Iterator[RequestRow]:
        for block in self.blocks:
            yield from block.rows()

    @property
    def endpoints(self) -> list[str]:
        return sorted({name for block in self.blocks for name in block.names})

    def csv_gz(self) -> bytes:
        """The bundle file's content: the header's gzip member, then each block's."""
        header = gzip.compress((",".join(HEADER) + "\n").encode(), mtime=0)
        return b"".join([header, *(block.encoded for block in self.blocks)])

    @classmethod
    def of(cls, rows: Iterable[RequestRow]) -> RequestRows:
        columns = RowColumns()
        for row in rows:
            columns.add(row.endpoint, row.start_epoch_s, row.ok, row.ttft_s, row.tpot_s, row.total_s)
        block = columns.seal()
        return cls(() if block is None else (block,))

    @classmethod
    def from_csv_gz(cls, data: bytes) -> RequestRows:
        """Read a bundle file's content; raises ValueError naming the line and field at fault."""
        try:
            text = gzip.decompress(data).decode()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a gzip-compressed UTF-8 CSV file ({exc})") from None
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or tuple(header) != HEADER:
            raise ValueError(f"line 1: expected the header {','.join(HEADER)}")
        columns = RowColumns()
        for line, fields in enumerate(reader, start=2):
            if len(fields) != len(HEADER):
                raise ValueError(f"line {line}: expected {len(HEADER)} fields, got {len(fields)}")
            start, endpoint, ok, ttft, tpot, total = fields
            columns.add(endpoint, _number(start, line, "start_epoch_s"), _flag(ok, line),
                        _duration(ttft, line, "ttft_ms", optional=True),
                        _duration(tpot, line, "tpot_ms", optional=True),
                        _duration(total, line, "total_ms", optional=False) or 0.0)
        block = columns.seal()
        return cls(() if block is None else (block,))


def _number(text: str, line: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"line {line}: {name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"line {line}: {name} {text!r} is not a finite number")
    return value


def _duration(text: str, line: int, name: str, *, optional: bool) -> float | None:
    if not text and optional:
        return None
    value = _number(text, line, name)
    if value < 0:
        raise ValueError(f"line {line}: {name} {text!r} is negative")
    return value / 1e3


def _flag(text: str, line: int) -> bool:
    if text not in ("0", "1"):
        raise ValueError(f"line {line}: ok {text!r} must be 0 or 1")
    return text == "1"
