"""Machinery of the bad-input battery (``tests/test_bad_input.py``).

A *case* is one entry point applied to one input family.  It holds a thunk that calls
divest and a *judge*: either "a clear error" (``ValueError``/``TypeError`` whose message
names the parameter and, where given, the offending value or shape) or "the right value"
(a callable that receives the outcome and checks it against an independent computation
or a scaling law).  Outcomes are never silently NaN: a NaN value fails every value judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

#: exception types that count as a clear error
CLEAR_ERRORS = (ValueError, TypeError)


@dataclass(frozen=True)
class Outcome:
    """What an entry point did: returned ``value`` or raised ``error``."""

    value: Any = None
    error: BaseException | None = None

    @property
    def raised(self) -> bool:
        return self.error is not None


def run(thunk: Callable[[], Any]) -> Outcome:
    """Call ``thunk`` and record its value or exception (warnings are left to pytest)."""
    try:
        return Outcome(value=thunk())
    except Exception as exc:  # noqa: BLE001 - the judges decide what is acceptable
        return Outcome(error=exc)


def number(value) -> float:
    """The number an entry point returned: Estimate.value, TwoSampleResult.pvalue,
    a float, or a 0-d array."""
    for attr in ("value", "pvalue"):
        if hasattr(value, attr):
            return float(getattr(value, attr))
    return float(np.asarray(value, dtype=float))


def assert_clear_error(outcome: Outcome, param, *also: str) -> None:
    """The call raised ValueError/TypeError whose message names ``param`` (a name, or a tuple
    of alternative names) and each of ``also`` (an offending value or shape, as text)."""
    if not outcome.raised:
        raise AssertionError(f"expected a clear error naming {param!r}; got the value "
                             f"{outcome.value!r}")
    exc = outcome.error
    if not isinstance(exc, CLEAR_ERRORS):
        raise AssertionError(f"expected ValueError/TypeError naming {param!r}; got "
                             f"{type(exc).__name__}: {exc}") from exc
    msg = str(exc)
    names = (param,) if isinstance(param, str) else tuple(param)
    if not any(p in msg for p in names):
        raise AssertionError(f"the error does not name {' or '.join(map(repr, names))}: "
                             f"{type(exc).__name__}: {msg}") from exc
    for needle in also:
        if needle not in msg:
            raise AssertionError(f"the error does not name {needle!r}: "
                                 f"{type(exc).__name__}: {msg}") from exc


def assert_value(outcome: Outcome, check: Callable[[Any], None]) -> None:
    """The call returned (no exception) a value that is not NaN and passes ``check``."""
    if outcome.raised:
        raise AssertionError(f"expected a value; got {type(outcome.error).__name__}: "
                             f"{outcome.error}") from outcome.error
    v = outcome.value
    arr = np.asarray(v) if isinstance(v, (np.ndarray, float, int)) else np.asarray(number(v))
    if np.isnan(arr).any():
        raise AssertionError(f"silent NaN: {outcome.value!r}")
    check(outcome.value)


def close(got: float, want: float, *, rel: float = 1e-9, abs_: float = 0.0) -> None:
    """``got`` equals ``want`` (infinities must match exactly)."""
    if math.isinf(want) or math.isinf(got):
        assert got == want, f"got {got!r}, want {want!r}"
        return
    assert got == pytest.approx(want, rel=rel, abs=abs_), f"got {got!r}, want {want!r}"


@dataclass(frozen=True)
class Error:
    """Judge: a clear error naming ``param`` and each string of ``also``."""

    param: Any
    also: tuple[str, ...] = ()
    kind: str = field(default="error", init=False)

    def __call__(self, outcome: Outcome) -> None:
        assert_clear_error(outcome, self.param, *self.also)


@dataclass(frozen=True)
class Value:
    """Judge: the right value, checked by ``check(result)`` (an independent computation)."""

    check: Callable[[Any], None]
    what: str = ""
    kind: str = field(default="value", init=False)

    def __call__(self, outcome: Outcome) -> None:
        assert_value(outcome, self.check)


@dataclass(frozen=True)
class ErrorOrValue:
    """Judge: either a clear error naming ``param``, or the right value by ``check``.

    For inputs on which a method may legitimately refuse (ties for nearest neighbours, a
    point mass for a fitted density ratio) but must not return a wrong number.
    """

    param: Any
    check: Callable[[Any], None]
    kind: str = field(default="error_or_value", init=False)

    def __call__(self, outcome: Outcome) -> None:
        if outcome.raised:
            assert_clear_error(outcome, self.param)
        else:
            assert_value(outcome, self.check)


@dataclass(frozen=True)
class Case:
    """One entry point on one input family."""

    entry: str
    family: str
    thunk: Callable[[], Any]
    judge: Any
    xfail: str | None = None
    needs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.entry}-{self.family}"

    def param(self):
        marks = [pytest.mark.xfail(strict=True, reason=self.xfail)] if self.xfail else []
        return pytest.param(self, id=self.id, marks=marks)


def counts(cases) -> dict:
    """Totals by judge kind and the xfails with their reasons."""
    out = {"cases": len(cases), "clear_error": 0, "right_value": 0, "error_or_value": 0,
           "xfail": 0}
    reasons: dict[str, int] = {}
    for c in cases:
        if c.xfail:
            out["xfail"] += 1
            reasons[c.xfail] = reasons.get(c.xfail, 0) + 1
            continue
        key = {"error": "clear_error", "value": "right_value"}.get(c.judge.kind, c.judge.kind)
        out[key] += 1
    out["xfail_reasons"] = reasons
    return out
