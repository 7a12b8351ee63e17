"""Input validation shared by the public functions (scipy-style ``_iv`` helpers).

Every public function validates its input here and then calls an unchecked private
core.  Messages name the parameter, the offending value and the shape.
"""

from __future__ import annotations

import inspect
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


#: dtype kinds refused by the array validators: complex (casting would drop the imaginary
#: part), strings and bytes (numpy would parse "1.5" silently), dates and durations, records
_REFUSED_KINDS = {"c": "complex", "U": "string", "S": "bytes", "M": "datetime",
                  "m": "timedelta", "V": "structured/void"}


def _as_numpy(x):
    """``x`` as a numpy array of its own dtype (torch tensors detached and moved to the CPU)."""
    if type(x).__module__.startswith("torch"):
        import torch
        t = x.detach().cpu()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
            t = t.float()
        return t.numpy()
    return np.asarray(x)


def as_real_array(x, name: str) -> np.ndarray:
    """``x`` as a float64 array, refusing dtypes that do not hold real numbers.

    Accepted: bool, integer and floating dtypes (float16/float32 are widened exactly), and
    object arrays whose elements are all real numbers.  Complex, string, bytes, datetime
    and structured dtypes raise ``TypeError`` naming ``name``, the shape and the dtype
    (numpy would otherwise drop imaginary parts or parse strings silently).
    """
    try:
        raw = _as_numpy(x)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be array-like of real numbers; got {_describe(x)}") from exc
    kind = raw.dtype.kind
    if kind in _REFUSED_KINDS:
        hint = " (take .real or abs() explicitly)" if kind == "c" else ""
        raise TypeError(f"{name} must be array-like of real numbers; got {_REFUSED_KINDS[kind]} "
                        f"values: "
                        f"array of shape {raw.shape} and dtype {raw.dtype}{hint}")
    if kind == "O":
        for i, v in enumerate(raw.flat):
            if not isinstance(v, (numbers.Real, np.bool_)):
                idx = tuple(int(j) for j in np.unravel_index(i, raw.shape))
                raise TypeError(f"{name} must be array-like of real numbers; element {idx} is "
                                f"{_describe(v)} ({type(v).__name__}); object array of shape "
                                f"{raw.shape}")
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of real numbers; got {_describe(x)}") from exc


def input_eps(x) -> float:
    """Machine epsilon of ``x``'s floating dtype (numpy, torch, pandas), 0 for other dtypes."""
    dtype = getattr(x, "dtype", None)
    if dtype is None and hasattr(x, "dtypes"):  # pandas DataFrame: the coarsest column
        return max((input_eps(np.empty(0, dtype=d)) for d in x.dtypes), default=0.0)
    if type(dtype).__module__.startswith("torch"):
        import torch
        return float(torch.finfo(dtype).eps) if dtype.is_floating_point else 0.0
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return 0.0
    return float(np.finfo(dt).eps) if dt.kind == "f" else 0.0


def check_finite_array(x, name: str, *, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``x`` as a float64 array; raise on NaN/inf, empty input, a wrong rank, or a
    dtype that does not hold real numbers (complex, strings, dates: :func:`as_real_array`)."""
    arr = as_real_array(x, name)
    if ndim is not None and arr.ndim not in ndim:
        got = f"the scalar {arr.item()!r} (shape ())" if arr.ndim == 0 else f"shape {arr.shape}"
        raise ValueError(
            f"{name} must have {' or '.join(map(str, ndim))} dimension(s); got {got}"
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


def check_axis(axis, name: str, shape: tuple[int, ...]) -> int:
    """Validate an axis of an array of ``shape`` (named ``name``); return it non-negative."""
    if isinstance(axis, bool) or not isinstance(axis, (numbers.Integral, np.integer)):
        raise TypeError(f"axis must be an integer; got {_describe(axis)}")
    nd = len(shape)
    if not -nd <= int(axis) < nd:
        raise ValueError(f"axis={int(axis)} is out of bounds for {name} of shape {shape} "
                         f"({nd} dimension(s): valid axes are {-nd}..{nd - 1})")
    return int(axis) % nd


def check_pmf(p, name: str, *, axis: int = -1, normalize: bool = False,
              atol: float = 1e-9) -> np.ndarray:
    """Validate a (batch of) probability vector(s) along ``axis``.

    The sum must be 1 within ``atol`` (or four times the machine epsilon of a float32 or
    float16 input) times the length.  With ``normalize=True`` each vector is divided by its maximum before its sum is taken,
    so that masses near the largest float (1e308) are rescaled without overflow.
    """
    arr = check_finite_array(p, name)
    # a float32/float16 pmf sums to 1 only within its own precision
    atol = max(atol, 4.0 * input_eps(p))
    if arr.ndim == 0:
        raise ValueError(f"{name} must be at least 1-dimensional; got a scalar {arr.item()!r}")
    axis = check_axis(axis, name, arr.shape)
    if np.any(arr < 0):
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(
            f"{name} must be non-negative; found {arr[idx]!r} at index {idx}; shape {arr.shape}"
        )
    peak = arr.max(axis=axis, keepdims=True)
    if np.any(peak <= 0):
        raise ValueError(f"{name} sums to 0 along axis {axis}; shape {arr.shape}")
    if normalize:
        scaled = arr / peak  # in [0, 1]: the sum below cannot overflow
        return scaled / scaled.sum(axis=axis, keepdims=True)
    with np.errstate(over="ignore"):
        total = arr.sum(axis=axis, keepdims=True)
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


def _is_array_like(x) -> bool:
    """numpy arrays, lists, tuples, pandas objects and torch tensors (sample data)."""
    mod = type(x).__module__
    return (isinstance(x, (np.ndarray, list, tuple)) or mod.startswith("torch")
            or mod.startswith("pandas"))


def check_distribution(dist, name: str, *, need_density: bool = False,
                       need_rvs: bool = False) -> None:
    """Check that ``dist`` is a usable distribution object; raise a clear error otherwise.

    One validator for every function that takes distributions (the exact layer,
    :func:`divest.divergence` and :func:`divest.crosscheck`).  It refuses

    * ``None``, numbers, strings and sample arrays (numpy, lists, pandas, torch) with a
      ``TypeError`` naming ``name`` (arrays go to the sample estimators);
    * unfrozen scipy generators (``stats.norm`` instead of ``stats.norm(0, 1)``);
    * objects without the needed methods: a density (``logpdf`` or ``logpmf``) when
      ``need_density``, ``rvs`` when ``need_rvs``, and at least one of ``logpdf``,
      ``logpmf``, ``pdf``, ``pmf``, ``cdf`` or ``rvs`` in any case;
    * frozen scipy distributions with invalid parameters (``stats.norm(0, -1)``,
      ``stats.norm(nan, 1)``, ``stats.binom(4, 1.5)``), for which scipy returns NaN
      everywhere instead of raising: shape parameters outside the family's domain or
      NaN, a non-finite ``loc``, a ``scale`` that is not finite and positive
      (``ValueError`` naming the parameter and value);
    * scipy multivariate frozen distributions with a non-finite mean or covariance.
    """
    if dist is None:
        raise TypeError(f"{name} must be a distribution (a frozen scipy.stats distribution or "
                        f"one of divest.distributions); got None")
    if isinstance(dist, (str, bytes, numbers.Number)):
        raise TypeError(f"{name} must be a distribution (a frozen scipy.stats distribution or "
                        f"one of divest.distributions); got {_describe(dist)}")
    if _is_array_like(dist):
        raise TypeError(f"{name} is an array ({_describe(dist)}); the exact methods need "
                        "distributions (use the sample estimators for arrays)")
    from scipy.stats._distn_infrastructure import rv_frozen, rv_generic, rv_sample
    if isinstance(dist, rv_generic) and not isinstance(dist, rv_sample):
        raise TypeError(f"{name} is an unfrozen scipy.stats generator ({dist.name}); freeze it "
                        f"with its parameters, e.g. stats.{dist.name}(...)")
    methods = ("logpdf", "logpmf", "pdf", "pmf", "cdf", "rvs")
    if not any(hasattr(dist, a) for a in methods):
        raise TypeError(f"{name} must be a distribution with a density or a sampler (one of "
                        f"{', '.join(methods)}); got {_describe(dist)} of type "
                        f"{type(dist).__name__}")
    if need_density and not (hasattr(dist, "logpdf") or hasattr(dist, "logpmf")):
        raise TypeError(f"{name}={dist!r} has no density (logpdf/logpmf); only closed forms and "
                        "sample methods apply to it")
    if need_rvs and not callable(getattr(dist, "rvs", None)):
        raise TypeError(f"{name}={dist!r} has no rvs(size, random_state) to sample from")
    if isinstance(dist, rv_frozen):
        _check_scipy_parameters(dist, name)
    elif type(dist).__module__.startswith("scipy.stats"):
        for attr in ("mean", "cov"):
            v = getattr(dist, attr, None)
            if v is None or callable(v):
                continue
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                continue
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} has a non-finite {attr}: {_describe(arr)} with "
                                 f"values {arr.tolist()!r}"[:300])


def describe_distribution(dist) -> str:
    """``stats.norm(0, 1)`` for a frozen scipy distribution, else a short repr."""
    from scipy.stats._distn_infrastructure import rv_frozen
    if isinstance(dist, rv_frozen):
        return f"stats.{dist.dist.name}(" + ", ".join(
            [repr(a) for a in dist.args] + [f"{k}={v!r}" for k, v in dist.kwds.items()]) + ")"
    return _describe(dist)


def _check_scipy_parameters(dist, name: str) -> None:
    """Shape parameters in the family's domain, finite loc, finite positive scale."""
    gen = dist.dist
    label = f"{name}={describe_distribution(dist)}"
    try:
        shapes, loc, scale = gen._parse_args(*dist.args, **dist.kwds)
    except TypeError as exc:  # pragma: no cover - scipy raises this at freezing already
        raise TypeError(f"{label}: {exc}") from exc
    problems = []
    names = [s.strip() for s in gen.shapes.split(",")] if gen.shapes else []
    for sname, value in zip(names, shapes):
        if np.any(np.isnan(np.asarray(value, dtype=float))):
            problems.append(f"shape parameter {sname}={value!r} is NaN")
    if not problems and shapes and not np.all(gen._argcheck(*shapes)):
        vals = ", ".join(f"{s}={v!r}" for s, v in zip(names, shapes))
        problems.append(f"shape parameter(s) {vals} outside the domain of {gen.name}")
    if not np.all(np.isfinite(np.asarray(loc, dtype=float))):
        problems.append(f"loc={loc!r} is not finite")
    sc = np.asarray(scale, dtype=float)
    if not np.all(np.isfinite(sc) & (sc > 0)):
        problems.append(f"scale={scale!r} must be finite and > 0")
    if problems:
        raise ValueError(f"{label} has invalid parameters: {'; '.join(problems)} (scipy "
                         "returns nan for every value of such a distribution)")


def bound_arguments(fn, *args, **kwargs) -> dict:
    """``fn``'s arguments as the call ``fn(*args, **kwargs)`` binds them, defaults filled in.

    For calling a public function's ``_iv`` and core directly (e.g. on inputs the caller
    has already validated) with exactly the arguments the public call would get.  A call
    that does not bind (an option named ``X``) raises Python's own TypeError.
    """
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        fn(*args, **kwargs)  # raises the interpreter's message ("knn() got multiple ...")
        raise
    bound.apply_defaults()
    return dict(bound.arguments)
