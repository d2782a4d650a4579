"""Label values for synthetic test series: a value each matcher of a selector accepts (or, to build
the series a selector must *not* pick, one a matcher refuses), for any matcher: ``=``, ``!=``,
``=~`` and ``!~``, regular expressions included.

A regular expression is read with Python's own parser (``re._parser``, the syntax RE2 shares for
what label matchers use) and a shortest string is built from it: a literal branch of an
alternation, the first character of a class, each repetition its minimum. Candidates are checked
against every matcher on the label with Prometheus' semantics (fully anchored; an empty value is
a missing label), so a value is only ever used when it really matches. A regex no candidate
satisfies is a ValueError naming it.
"""

from __future__ import annotations

import re
import re._parser as sre  # the stdlib's regex parser: what re.compile itself reads patterns with
from collections.abc import Iterable, Sequence
from typing import Any

from slogate.slo.sli import Matcher, Selector

_POOL = ("synthetic", "200", "500", "503", "404", "429", "0", "1", "a", "x", "GET", "/")
"""Values tried besides those built from the patterns (negative matchers need some)."""
_CATEGORY = {"CATEGORY_DIGIT": "0", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ",
             "CATEGORY_NOT_SPACE": "a", "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": "-"}


def accepts(matcher: Matcher, value: str) -> bool:
    """Whether ``matcher`` picks a series whose label has ``value`` ('' when it has none)."""
    if matcher.op in ("=", "!="):
        hit = value == matcher.value
    else:
        hit = re.fullmatch(matcher.value, value, re.S) is not None
    return hit if matcher.op in ("=", "=~") else not hit


def _pick(tree: Any, branch: int) -> str:
    """A short string the parsed pattern ``tree`` matches (alternatives: the ``branch``-th)."""
    out: list[str] = []
    for op, arg in tree:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if arg != ord("a") else "b")
        elif name == "ANY":
            out.append("0")  # status codes are the usual case: 5.. gives 500
        elif name == "IN":
            out.append(_in_class(arg))
        elif name == "BRANCH":
            options = arg[1]
            out.append(_pick(options[min(branch, len(options) - 1)], branch))
        elif name == "SUBPATTERN":
            out.append(_pick(arg[3], branch))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, body = arg
            out.append(_pick(body, branch) * low)
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "CATEGORY":
            out.append(_CATEGORY.get(str(arg), "a"))
        else:
            raise ValueError(f"unsupported regex element {name}")
    return "".join(out)


def _in_class(items: Sequence[tuple[Any, Any]]) -> str:
    negated = any(str(op) == "NEGATE" for op, _ in items)
    if negated:
        excluded = "".join(_in_class([(op, arg)]) for op, arg in items if str(op) != "NEGATE")
        return next(c for c in "axz0_-" if c not in excluded)
    op, arg = items[0]
    if str(op) == "LITERAL":
        return chr(arg)
    if str(op) == "RANGE":
        return chr(arg[0])
    if str(op) == "CATEGORY":
        return _CATEGORY.get(str(arg), "a")
    return "a"


def _candidates(matchers: Iterable[Matcher]) -> list[str]:
    """Values worth trying for a label: the equality values, strings built from each regex (one per
    top-level branch), then the pool."""
    found: list[str] = []
    for matcher in matchers:
        if matcher.op in ("=", "!="):
            found.append(matcher.value)
            continue
        try:
            tree = sre.parse(matcher.value)
        except re.error:
            continue
        width = max((len(arg[1]) for op, arg in tree if str(op) == "BRANCH"), default=1)
        for branch in range(max(width, _subpattern_width(tree))):
            try:
                found.append(_pick(tree, branch))
            except ValueError:
                break
    return [*dict.fromkeys([*found, *_POOL])]


def _subpattern_width(tree: Any) -> int:
    return max((len(arg[3][0][1][1]) for op, arg in tree if str(op) == "SUBPATTERN" and arg[3]
                and str(arg[3][0][0]) == "BRANCH"), default=1)


def value_for(label: str, accept: Sequence[Matcher], refuse: Matcher | None = None) -> str:
    """A value of ``label`` that every matcher of ``accept`` picks and ``refuse`` (if given) does
    not; '' (tried last) means the series must not have the label. ValueError when none is found."""
    wanted = [m for m in accept if m.label == label]
    built = _candidates([*wanted, *([refuse] if refuse else [])])
    for value in [*(v for v in built if v), ""]:
        if all(accepts(m, value) for m in wanted) and (refuse is None or not accepts(refuse, value)):
            return value
    said = ", ".join(str(m) for m in wanted) or "(none)"
    avoid = f" and not {refuse}" if refuse else ""
    raise ValueError(f"cannot synthesise a value of label {label!r} matching {said}{avoid}: "
                     "give the matcher a literal alternative (such as \"5..|429\")")


def labels_for(
    accept: Sequence[Matcher], refuse: Matcher | None = None, extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Labels of a series every matcher of ``accept`` picks and ``refuse`` does not (``extra``
    first, where no matcher says otherwise)."""
    labels = dict(extra or {})
    names = dict.fromkeys([m.label for m in accept] + ([refuse.label] if refuse else []))
    for name in names:
        fixed = labels.get(name)
        mine = [m for m in accept if m.label == name]
        if fixed is not None and all(accepts(m, fixed) for m in mine) and (
                refuse is None or refuse.label != name or not accepts(refuse, fixed)):
            continue
        value = value_for(name, accept, refuse if refuse and refuse.label == name else None)
        if value:
            labels[name] = value
        else:
            labels.pop(name, None)
    return labels


def refusable(selector: Selector, within: Selector) -> Matcher:
    """A matcher of ``selector`` that some series ``within`` picks can fail (to build a series
    ``within`` picks and ``selector`` does not); ValueError when there is none."""
    for matcher in selector.matchers:
        if matcher in within.matchers:
            continue
        try:
            value_for(matcher.label, within.matchers, matcher)
        except ValueError:
            continue
        return matcher
    raise ValueError(f"{selector} picks every series {within} picks, so no series can be "
                     "synthesised for one and not the other")
