"""Token-length distributions of the LLM scenario: prompts and ``max_tokens`` drawn per call, so
TPOT and throughput are measured at realistic lengths rather than at one fixed size.

String forms: ``64`` (always 64), ``uniform:16,256`` (whole numbers drawn uniformly, both ends
included), ``lognormal:200,0.6`` (median 200 and sigma 0.6 of the underlying normal: most calls
near the median, a long tail of long ones). Draws are clipped to ``1..MAX_TOKENS``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

MAX_TOKENS = 1_000_000
LENGTH_HELP = "N, 'uniform:LOW,HIGH' or 'lognormal:MEDIAN,SIGMA' (tokens), such as 'lognormal:200,0.6'"
PROMPT_WORDS = (
    "summarise", "the", "release", "notes", "for", "a", "proxy", "that", "caches", "streams",
    "and", "limits", "every", "key", "while", "tail", "latency", "stays", "under", "budget",
)  # fmt: skip


@dataclass(frozen=True)
class TokenLengths:
    """A distribution of token counts: ``kind`` constant, uniform or lognormal."""

    kind: str
    first: float
    second: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "uniform", "lognormal"):
            raise ValueError(f"unknown length distribution {self.kind!r}")
        if not (math.isfinite(self.first) and math.isfinite(self.second)):
            raise ValueError("length distribution parameters must be finite")
        if self.first < 1 or (self.kind == "uniform" and self.second < self.first):
            raise ValueError(f"bad {self.kind} lengths {self.first:g},{self.second:g}: "
                             "need 1 <= low (<= high)")
        if self.kind == "lognormal" and not 0 <= self.second <= 5:
            raise ValueError(f"lognormal sigma must be in [0, 5], got {self.second!r}")

    def draw(self, rng: random.Random) -> int:
        if self.kind == "constant":
            value = self.first
        elif self.kind == "uniform":
            value = rng.randint(int(self.first), int(self.second))
        else:
            value = rng.lognormvariate(math.log(self.first), self.second)
        return max(1, min(MAX_TOKENS, round(value)))


def parse_lengths(text: str) -> TokenLengths:
    """A distribution from its string form; ValueError says what was expected."""
    kind, sep, rest = text.strip().partition(":")
    try:
        if not sep:
            return TokenLengths("constant", float(int(kind)))
        values = [float(v) for v in rest.split(",")]
        if kind.strip().lower() in ("uniform", "lognormal") and len(values) == 2:
            return TokenLengths(kind.strip().lower(), values[0], values[1])
    except ValueError as exc:
        raise ValueError(f"bad token lengths {text!r}: {exc}; expected {LENGTH_HELP}") from None
    raise ValueError(f"bad token lengths {text!r}: expected {LENGTH_HELP}")


def prompt_of(tokens: int, rng: random.Random) -> str:
    """A prompt of about ``tokens`` tokens (one word each, as the reference target counts them)."""
    return " ".join(rng.choices(PROMPT_WORDS, k=tokens))
