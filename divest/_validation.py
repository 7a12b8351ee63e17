"""Input validation shared by the public functions (scipy-style ``_iv`` helpers).

Every public function validates its input here and then calls an unchecked private
core.  Messages name the parameter, the offending value and the shape.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__: list[str] = []


def _describe(x) -> str:
    """Short description of a value for error messages (never raises)."""
    if not isinstance(x, (str, bytes)):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError):
            return f"a ragged or non-numeric {type(x).__name__} (no regular array shape)"
        if arr.ndim > 0:
            return f"array of shape {arr.shape} and dtype {arr.dtype}"
    r = repr(x)
    return r if len(r) <= 80 else r[:77] + "..."


def check_rng(rng) -> np.random.Generator:
    """Normalise ``rng`` (None, int, SeedSequence or Generator) to a Generator."""
    if isinstance(rng, np.random.RandomState):
        raise TypeError(
            "rng: legacy np.random.RandomState is not accepted; pass an int seed or a "
            "np.random.Generator (np.random.default_rng(seed))"
        )
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"rng must be None, an int, a SeedSequence or a np.random.Generator; got {rng!r}"
        ) from exc


def check_finite_array(x, name: str, *, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as a float64 array; raise on NaN/inf, empty input or a wrong rank."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of real numbers; got {_describe(x)}") from exc
    if ndim is not None and arr.ndim not in ndim:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, ndim))} dimension(s); got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {bad.sum()} non-finite value(s) (first: {arr[idx]!r} at index "
            f"{idx}); shape {arr.shape}"
        )
    return arr


def check_pmf(p, name: str, *, axis: int = -1, normalize: bool = False,
              atol: float = 1e-9) -> np.ndarray:
    """Validate a (batch of) probability vector(s) along ``axis``."""
    arr = check_finite_array(p, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be at least 1-dimensional; got a scalar {arr.item()!r}")
    if np.any(arr < 0):
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(
            f"{name} must be non-negative; found {arr[idx]!r} at index {idx}; shape {arr.shape}"
        )
    total = arr.sum(axis=axis, keepdims=True)
    if np.any(total <= 0):
        raise ValueError(f"{name} sums to 0 along axis {axis}; shape {arr.shape}")
    if normalize:
        return arr / total
    dev = np.abs(total - 1.0)
    if np.any(dev > atol * max(1, arr.shape[axis])):
        worst = float(total.flat[int(np.argmax(dev))])
        raise ValueError(
            f"{name} is not normalised: it sums to {worst!r} along axis {axis} (shape "
            f"{arr.shape}); pass normalize=True to rescale it, or divide by its sum"
        )
    return arr


def check_real(value, name: str, *, low=None, high=None, low_open=True, high_open=True,
               exclude=()) -> float:
    """Validate a real scalar parameter inside an interval, excluding some points."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite; got {v!r}")
    lo_bad = low is not None and (v < low or (low_open and v == low))
    hi_bad = high is not None and (v > high or (high_open and v == high))
    if lo_bad or hi_bad:
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must lie in {lb}{lo}, {hi}{hb}; got {v!r}")
    if v in exclude:
        raise ValueError(f"{name} must not be any of {sorted(exclude)}; got {v!r}")
    return v


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Validate an integer parameter ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer; got {_describe(value)}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {v}")
    return v


def check_choice(value, name: str, choices) -> str:
    """Validate a string option against the valid ones (listed in the message)."""
    if value not in choices:
        raise ValueError(
            f"{name}={value!r} is not valid; choose one of {', '.join(map(repr, choices))}"
        )
    return value


def check_base(base) -> float | None:
    """Validate a logarithm base (None means nats)."""
    if base is None:
        return None
    return check_real(base, "base", low=0, exclude=(1.0,))
