r"""Single-property assertions for a divergence function on given inputs.

Each helper calls ``fn`` on the inputs it is given, checks one property and raises
``AssertionError`` with the values involved; :func:`divest.testing.check_divergence` runs
them on inputs drawn by hypothesis.  ``fn`` takes two arguments: pmfs (``fn(p, q)``),
distributions (``fn(P, Q)``) or sample arrays (``fn(X, Y)``), and returns a float, a numpy
scalar, a 0-d array or an :class:`~divest.Estimate`.  An exception raised by ``fn``, a
NaN or a non-numeric result is reported as an ``AssertionError`` too.

Comparisons allow ``atol + rtol * max(|values|)`` for rounding.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _names
from .._discrete import discrete_divergence
from .._validation import check_positive_int, check_rng
from ._problems import DistributionPair, fmt_value

#: the helpers are exported by divest.testing
__all__: list[str] = []

RTOL = 1e-9
ATOL = 1e-12
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


# ------------------------------------------------------------------------------------
# calling fn


def value_of(result, what: str) -> float:
    """``float`` of a result of fn; AssertionError for NaN or a non-numeric result."""
    if isinstance(result, (numbers.Real, np.floating, np.integer)) and not isinstance(result, bool):
        v = float(result)
    elif isinstance(result, np.ndarray) and result.ndim == 0 and result.dtype.kind in "fiu":
        v = float(result)
    elif hasattr(result, "value") and hasattr(result, "standard_error"):  # an Estimate
        v = float(result.value)
    else:
        raise AssertionError(f"{what} returned {result!r} ({type(result).__name__}), not a real "
                             "number")
    if math.isnan(v):
        raise AssertionError(f"{what} returned nan")
    return v


def call(fn, *args, what: str = "fn(p, q)") -> float:
    """``fn(*args)`` as a float; an exception of fn becomes an AssertionError."""
    try:
        result = fn(*args)
    except Exception as exc:  # noqa: BLE001 -- any failure of the code under test is a finding
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc
    return value_of(result, what)


def tolerance(rtol, atol, *values) -> float:
    finite = [abs(v) for v in values if math.isfinite(v)]
    return atol + rtol * max(finite, default=0.0)


def _le(a, b, rtol, atol, *extra) -> bool:
    """a <= b up to rounding, exact for infinities."""
    if b == math.inf or a == -math.inf:
        return True
    if a == math.inf or b == -math.inf:
        return False
    return a <= b + tolerance(rtol, atol, a, b, *extra)


def close(a, b, tol) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol


# ------------------------------------------------------------------------------------
# axioms


def assert_nonnegative(fn, p, q, *, lower=0.0, rtol=RTOL, atol=ATOL):
    r"""Assert :math:`D(p\,\|\,q) \ge` ``lower``: 0, or the value at p = q (-log 4 for ``gan``).

    Examples
    --------
    >>> from divest.testing import assert_nonnegative
    >>> assert_nonnegative(lambda p, q: sum(p) - sum(q) - 0.1, [1.0], [1.0])
    Traceback (most recent call last):
    ...
    AssertionError: fn(p, q) = -0.1 is below 0: a divergence is never below its value at p = q
    """
    v = call(fn, p, q)
    if not _le(lower, v, rtol, atol):
        raise AssertionError(f"fn(p, q) = {v!r} is below {fmt_value(float(lower))}: a divergence "
                             "is never below its value at p = q")


def assert_value_range(fn, p, q, *, low, high, rtol=RTOL, atol=ATOL):
    """Assert ``low <= fn(p, q) <= high`` (the range of the divergence, e.g. [0, log 2] for JS).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import rel_entr
    >>> from divest.testing import assert_value_range
    >>> def js_without_half(p, q):
    ...     m = (np.asarray(p) + q) / 2
    ...     return rel_entr(p, m).sum() + rel_entr(q, m).sum()
    >>> assert_value_range(js_without_half, [1.0, 0.0], [0.0, 1.0], low=0.0, high=np.log(2))
    Traceback (most recent call last):
    ...
    AssertionError: fn(p, q) = 1.38629... lies outside the value range [0, 0.693147]
    """
    v = call(fn, p, q)
    if not (_le(low, v, rtol, atol) and _le(v, high, rtol, atol)):
        raise AssertionError(f"fn(p, q) = {v!r} lies outside the value range "
                             f"[{float(low):g}, {float(high):g}]")


def assert_identity(fn, p, q=None, *, value=0.0, atol=ATOL):
    r"""Assert :math:`D(p\,\|\,p) =` ``value`` and, if ``q`` (different from p) is given,
    :math:`D(p\,\|\,q) >` ``value`` (identity of indiscernibles).

    Examples
    --------
    >>> from divest.testing import assert_identity
    >>> assert_identity(lambda p, q: 0.0, [0.5, 0.5], [0.9, 0.1])
    Traceback (most recent call last):
    ...
    AssertionError: fn(p, q) = 0.0 although p != q (the value at p = q is 0)
    """
    v = call(fn, p, p, what="fn(p, p)")
    if not close(v, value, atol):
        raise AssertionError(f"fn(p, p) = {v!r}; expected {fmt_value(float(value))} (within "
                             f"{atol:g})")
    if q is not None:
        w = call(fn, p, q)
        if not w > value:
            raise AssertionError(f"fn(p, q) = {w!r} although p != q (the value at p = q is "
                                 f"{fmt_value(float(value))})")


def assert_symmetric(fn, p, q, *, rtol=RTOL, atol=ATOL):
    r"""Assert :math:`D(p\,\|\,q) = D(q\,\|\,p)`.

    Examples
    --------
    >>> from divest.testing import assert_symmetric
    >>> assert_symmetric(lambda p, q: p[0] - q[0], [1.0, 0.0], [0.5, 0.5])
    Traceback (most recent call last):
    ...
    AssertionError: fn(p, q) = 0.5 but fn(q, p) = -0.5: not symmetric
    """
    a = call(fn, p, q)
    b = call(fn, q, p, what="fn(q, p)")
    if not close(a, b, tolerance(rtol, atol, a, b)):
        raise AssertionError(f"fn(p, q) = {a!r} but fn(q, p) = {b!r}: not symmetric")


def assert_triangle_inequality(fn, p, q, r, *, rtol=RTOL, atol=ATOL):
    r"""Assert :math:`D(p, r) \le D(p, q) + D(q, r)`.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.testing import assert_triangle_inequality
    >>> sq = lambda p, q: float(((np.asarray(p) - q) ** 2).sum())   # a squared metric
    >>> assert_triangle_inequality(sq, [1.0, 0.0], [0.5, 0.5], [0.0, 1.0])
    Traceback (most recent call last):
    ...
    AssertionError: triangle inequality fails: fn(p, r) = 2.0 > fn(p, q) + fn(q, r) = 0.5 + 0.5
    """
    pr = call(fn, p, r, what="fn(p, r)")
    pq = call(fn, p, q)
    qr = call(fn, q, r, what="fn(q, r)")
    if not _le(pr, pq + qr, rtol, atol, pq, qr):
        raise AssertionError(f"triangle inequality fails: fn(p, r) = {pr!r} > fn(p, q) + "
                             f"fn(q, r) = {pq!r} + {qr!r}")


def assert_data_processing(fn, p, q, kernel, *, rtol=RTOL, atol=ATOL):
    r"""Assert :math:`D(pK\,\|\,qK) \le D(p\,\|\,q)` for a Markov kernel K.

    Parameters
    ----------
    kernel : array_like or callable
        A row-stochastic matrix (pmfs become ``p @ kernel``), or a callable applied to
        each argument (e.g. a projection of distributions).

    Examples
    --------
    >>> import numpy as np
    >>> from divest.testing import assert_data_processing
    >>> l2 = lambda p, q: float(np.linalg.norm(np.asarray(p) - q))
    >>> K = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])   # merge the first two points
    >>> assert_data_processing(l2, [0.5, 0.0, 0.5], [0.0, 0.5, 0.5], K)
    >>> assert_data_processing(lambda p, q: -l2(p, q), [0.5, 0.0, 0.5], [0.0, 0.5, 0.5], K)
    Traceback (most recent call last):
    ...
    AssertionError: data processing inequality fails: fn(pK, qK) = -0.0 > fn(p, q) = -0.707...
    """
    if callable(kernel):
        pk, qk = kernel(p), kernel(q)
    else:
        K = np.asarray(kernel, dtype=float)
        pk, qk = np.asarray(p, dtype=float) @ K, np.asarray(q, dtype=float) @ K
    after = call(fn, pk, qk, what="fn(pK, qK)")
    before = call(fn, p, q)
    if not _le(after, before, rtol, atol):
        raise AssertionError(f"data processing inequality fails: fn(pK, qK) = {after!r} > "
                             f"fn(p, q) = {before!r}")


def assert_joint_convexity(fn, p1, q1, p2, q2, weight, *, rtol=RTOL, atol=ATOL):
    r"""Assert :math:`D(\lambda p_1 + (1-\lambda) p_2 \,\|\, \lambda q_1 + (1-\lambda) q_2)
    \le \lambda D(p_1\|q_1) + (1-\lambda) D(p_2\|q_2)`, with ``weight`` = λ in [0, 1].

    Examples
    --------
    >>> from divest.testing import assert_joint_convexity
    >>> concave = lambda p, q: abs(p[0] - q[0]) ** 0.5
    >>> assert_joint_convexity(concave, [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0], 0.5)
    Traceback (most recent call last):
    ...
    AssertionError: joint convexity fails at weight 0.5: fn(mixture) = 0.707... > 0.5 * 1.0 + ...
    """
    lam = float(weight)
    p1, q1, p2, q2 = (np.asarray(a, dtype=float) for a in (p1, q1, p2, q2))
    mix = call(fn, lam * p1 + (1 - lam) * p2, lam * q1 + (1 - lam) * q2, what="fn(mixture)")
    d1 = call(fn, p1, q1, what="fn(p1, q1)")
    d2 = call(fn, p2, q2, what="fn(p2, q2)")
    # a component of weight 0 does not count (0 * inf = 0)
    rhs = (lam * d1 if lam > 0 else 0.0) + ((1 - lam) * d2 if lam < 1 else 0.0)
    if not _le(mix, rhs, rtol, atol, d1, d2):
        raise AssertionError(f"joint convexity fails at weight {lam!r}: fn(mixture) = {mix!r} > "
                             f"{lam!r} * {d1!r} + {1 - lam!r} * {d2!r}")


def assert_permutation_invariant(fn, a, b, perm_a, perm_b=None, *, rtol=RTOL, atol=ATOL):
    """Assert ``fn(a[perm_a], b[perm_b]) == fn(a, b)``.

    For pmfs, relabelling the categories: one permutation for both (``perm_b=None``).
    For samples, shuffling the rows of X and of Y, each by its own permutation.

    Examples
    --------
    >>> from divest.testing import assert_permutation_invariant
    >>> first = lambda p, q: p[0] * q[0]
    >>> assert_permutation_invariant(first, [0.2, 0.8], [0.5, 0.5], [1, 0])
    Traceback (most recent call last):
    ...
    AssertionError: fn changes under a permutation: fn(a, b) = 0.1, after permuting 0.4
    """
    a, b = np.asarray(a), np.asarray(b)
    perm_a = np.asarray(perm_a)
    perm_b = perm_a if perm_b is None else np.asarray(perm_b)
    before = call(fn, a, b, what="fn(a, b)")
    after = call(fn, a[perm_a], b[perm_b], what="fn(a[perm_a], b[perm_b])")
    if not close(before, after, tolerance(rtol, atol, before, after)):
        raise AssertionError(f"fn changes under a permutation: fn(a, b) = {before!r}, after "
                             f"permuting {after!r}")


# ------------------------------------------------------------------------------------
# agreement with exact values


def _hints(v, exact, reverse, tol):
    """Likely causes of a mismatch: swapped arguments, a factor 2, a log base, a sign."""
    out = []
    if reverse is not None and close(v, reverse, tol) and not close(exact, reverse, tol):
        out.append(f"fn's value matches the divergence with the arguments swapped, "
                   f"D(Q || P) = {reverse!r}: are the arguments swapped? (divest's convention "
                   "is D(P || Q) with P first)")
    if math.isfinite(v) and math.isfinite(exact) and exact != 0:
        for factor, text in ((2.0, "twice the exact value: a missing factor 1/2?"),
                             (0.5, "half the exact value: an extra factor 1/2?"),
                             (1 / _LN2, "the exact value in bits: log base 2 instead of the "
                                        "natural log? (pass base=2 if bits are intended)"),
                             (1 / _LN10, "the exact value with log base 10 instead of the "
                                         "natural log?"),
                             (_LN2, "the exact value times log 2: nats where bits were "
                                    "declared?"),
                             (-1.0, "minus the exact value: a sign error?")):
            if close(v, factor * exact, tol):
                out.append(f"fn's value is {text}")
    return out


def _exact_for(kind, a, b, label, base):
    """(value, tolerance) of divest's exact value, or None."""
    if kind == "discrete":
        return discrete_divergence(a, b, label, base=base), 0.0
    from ..exact import _best_exact
    est = _best_exact(a, b, label)
    if est is None:
        return None
    scale = 1.0 if base is None else math.log(base)
    se = 0.0 if math.isnan(est.standard_error) else est.standard_error
    return est.value / scale, se / scale


def assert_matches_exact(fn, a, b, name=None, *, exact=None, kind="discrete", base=None,
                         tolerance_exact=0.0, rtol=RTOL, atol=ATOL, **params):
    r"""Assert that ``fn(a, b)`` equals divest's exact value of the divergence ``name``.

    On a mismatch the message says what the value looks like: the divergence with the
    arguments swapped, twice or half the value, the value in another log base, or its
    negative.

    Parameters
    ----------
    fn : callable
    a, b : pmfs (``kind="discrete"``) or distributions (``kind="distributions"``)
    name : str, optional
        The divergence fn claims to compute (``"kl"``, ``"alpha(alpha=0.5)"``);
        parameters may also be given as keywords.
    exact : float, optional
        The exact value, instead of computing it (then ``name`` only labels messages).
    kind : {"discrete", "distributions"}
        How divest computes the exact value: :func:`divest.discrete_divergence`, or a
        closed form / 1-D quadrature.
    base : float, optional
        The logarithm base fn reports in (default: nats).
    tolerance_exact : float
        Absolute error of the exact value itself (e.g. a quadrature error bound).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import rel_entr
    >>> from divest.testing import assert_matches_exact
    >>> def kl_bits(p, q):
    ...     return rel_entr(p, q).sum() / np.log(2)
    >>> assert_matches_exact(kl_bits, [0.5, 0.5], [0.9, 0.1], "kl", base=2)
    >>> assert_matches_exact(kl_bits, [0.5, 0.5], [0.9, 0.1], "kl")
    Traceback (most recent call last):
    ...
    AssertionError: fn(p, q) = 0.736965... but divest's kl = 0.510825... (difference 0.226; allowed 7.4e-10)
      - fn's value is the exact value in bits: log base 2 instead of the natural log? (pass base=2 if bits are intended)
    """
    label = name if name is None else _names.resolve(name, **params).label
    reverse = None
    if exact is None:
        if label is None:
            raise ValueError("assert_matches_exact needs name= or exact=")
        got = _exact_for(kind, a, b, label, base)
        if got is None:
            raise ValueError(f"divest has no exact value of {label!r} for these arguments")
        exact, tolerance_exact = got
    v = call(fn, a, b)
    tol = tolerance_exact + tolerance(rtol, atol, v, exact)
    if close(v, exact, tol):
        return
    if label is not None:
        rev = _exact_for(kind, b, a, label, base)
        reverse = None if rev is None else rev[0]
    diff = abs(v - exact) if math.isfinite(v) and math.isfinite(exact) else math.inf
    lines = [f"fn(p, q) = {v!r} but divest's {label or 'exact value'} = {exact!r} "
             f"(difference {diff:.3g}; allowed {tol:.2g})"]
    lines += [f"  - {h}" for h in _hints(v, exact, reverse, tol)]
    raise AssertionError("\n".join(lines))


# ------------------------------------------------------------------------------------
# sample estimators


def _pair_exact(pair, name, params, base):
    if not isinstance(pair, DistributionPair):
        raise TypeError(f"pair must be a divest.testing.DistributionPair; got "
                        f"{type(pair).__name__}")
    if name is None:
        if len(pair.exact) != 1:
            raise ValueError(f"name= is needed: the pair has exact values of "
                             f"{', '.join(pair.exact)}")
        label = next(iter(pair.exact))
    else:
        label = _names.resolve(name, **params).label
    exact = pair.value(label)
    if not math.isfinite(exact):
        raise ValueError(f"the exact {label} of this pair is {exact}; a sample estimator cannot "
                         "be compared with it")
    scale = 1.0 if base is None else math.log(base)
    return label, exact / scale, pair.tolerance[label] / scale


def check_sizes(sizes) -> list:
    """Validate an increasing, non-empty sequence of sample sizes >= 2."""
    try:
        out = [check_positive_int(s, "sizes", minimum=2) for s in sizes]
    except TypeError as exc:
        raise TypeError(f"sizes must be a sequence of integers; got {sizes!r}") from exc
    if not out or sorted(set(out)) != out:
        raise ValueError(f"sizes must be a non-empty increasing sequence; got {sizes!r}")
    return out


def _estimates(fn, pair, n, m, replicates, rng):
    """``replicates`` values of fn on independent samples of sizes (n, m)."""
    seeds = rng.integers(0, 2 ** 63 - 1, size=replicates)
    out = np.empty(replicates)
    for i, s in enumerate(seeds):
        X, Y = pair.sample(n, m, rng=int(s))
        out[i] = call(fn, X, Y, what=f"fn(X, Y) with n = {n}, m = {m}")
    return out


def _reverse_hint(pair, label, base, v, se, z):
    """Hint when the estimates match the reversed divergence D(Q || P)."""
    from ..exact import _best_exact
    rev = _best_exact(pair.Q, pair.P, label)
    if rev is None:
        return []
    r = rev.value / (1.0 if base is None else math.log(base))
    return [h for h in _hints(v, math.nan, r, z * se) if "swapped" in h]


def assert_consistent(fn, pair, name=None, *, sizes=(250, 1000, 4000), replicates=5, z=5.0,
                      atol=0.0, base=None, rng=0, **params):
    r"""Assert that a sample estimator approaches the exact value as the sample size grows.

    For each n in ``sizes``, ``fn(X, Y)`` is evaluated on ``replicates`` independent
    sample pairs of size n = m drawn from ``pair``.  The spread of the estimates,
    pooled over the sizes under the usual :math:`1/\sqrt n` scaling,
    :math:`\hat\sigma^2 = \operatorname{mean}_i\, n_i s_i^2`, gives the standard error of
    the mean at the largest size, :math:`se = \hat\sigma/\sqrt{n_{max} R}`.  The
    assertion is

    .. math:: |\bar D_{n_{max}} - D| \le z \cdot se + \mathrm{atol},

    which a consistent estimator passes (its bias at :math:`n_{max}` being small against
    the standard error) and a constant error fails once it exceeds a few standard errors.

    Parameters
    ----------
    fn : callable
        ``fn(X, Y)`` with X of shape (n, d) from P and Y of shape (m, d) from Q.
    pair : DistributionPair
        Where the samples come from, with the exact value.
    name : str, optional
        Which of ``pair.exact`` fn estimates (needed if it has several).
    sizes : sequence of int
        Increasing sample sizes.
    replicates : int
        Independent repetitions per size (>= 2).
    z : float
        Tolerance in standard errors.
    atol : float
        Allowance for a known finite-sample bias at the largest size.
    base : float, optional
        The logarithm base fn reports in.
    rng : None, int or numpy.random.Generator
        Seed of the sample draws.

    Examples
    --------
    >>> import divest as dv
    >>> from divest.testing import DistributionPair, GaussianParameters, assert_consistent
    >>> pair = DistributionPair.from_gaussians(GaussianParameters([1.0], [[1.0]]),
    ...                                        GaussianParameters([0.0], [[1.0]]), ["kl"])
    >>> assert_consistent(lambda X, Y: dv.estimators.knn(X, Y, "kl", se="none"), pair)
    >>> assert_consistent(lambda X, Y: dv.estimators.knn(X, Y, "kl", se="none").value + 0.2, pair)
    Traceback (most recent call last):
    ...
    AssertionError: the estimates do not approach the exact kl = 0.5 as n grows (seed rng=0):
           n        mean    std. error      error
         250      0.6832        0.0631     +0.183
        1000      0.7096        0.0315      +0.21
        4000      0.7054        0.0158     +0.205
      |error| at n = 4000 is 0.205 > 5 standard errors + atol = 0.0788 (mean of 5 runs per size)
    """
    label, exact, tol_exact = _pair_exact(pair, name, params, base)
    sizes = check_sizes(sizes)
    replicates = check_positive_int(replicates, "replicates", minimum=2)
    gen = check_rng(rng)
    rows = []
    for n in sizes:
        vals = _estimates(fn, pair, n, n, replicates, gen)
        rows.append((n, float(vals.mean()), float(vals.std(ddof=1))))
    if any(math.isinf(mean) for _, mean, _ in rows):
        raise AssertionError(f"fn(X, Y) returned an infinite value; the exact {label} is {exact!r}")
    sigma2 = float(np.mean([n * sd ** 2 for n, _, sd in rows]))
    lines = [f"{'n':>8}  {'mean':>10}  {'std. error':>12}  {'error':>9}"]
    for n, mean, _ in rows:
        lines.append(f"{n:>8}  {mean:>10.4g}  {math.sqrt(sigma2 / (n * replicates)):>12.3g}  "
                     f"{mean - exact:>+9.3g}")
    n_max, mean_max, _ = rows[-1]
    se = math.sqrt(sigma2 / (n_max * replicates))
    allowed = z * se + atol + tol_exact
    if abs(mean_max - exact) <= allowed:
        return
    hints = _reverse_hint(pair, label, base, mean_max, se, z)
    err_first = rows[0][1] - exact
    if len(rows) > 1 and abs(mean_max - exact) < abs(err_first):
        hints.append(f"the error shrinks with n ({err_first:+.3g} -> {mean_max - exact:+.3g}): "
                     "if fn is consistent with a slowly vanishing bias, give larger sizes or "
                     "an allowance for the bias")
    raise AssertionError(
        f"the estimates do not approach the exact {label} = {exact:.6g} as n grows (seed "
        f"rng={rng!r}):\n" + "\n".join(lines) + f"\n  |error| at n = {n_max} is "
        f"{abs(mean_max - exact):.3g} > {z:g} standard errors + atol = {allowed:.3g} (mean of "
        f"{replicates} runs per size)" + "".join(f"\n  - {h}" for h in hints))


def assert_unbiased(fn, pair, name=None, *, n=10, m=None, replicates=200, z=5.0, atol=0.0,
                    base=None, rng=0, **params):
    r"""Assert that an estimator claimed unbiased has mean equal to the exact value at small n.

    ``fn(X, Y)`` is evaluated on ``replicates`` independent sample pairs of sizes (n, m);
    the assertion is :math:`|\bar D - D| \le z\, s/\sqrt{R} + \mathrm{atol}`.  Small samples
    make a bias of order 1/n (such as a V-statistic's diagonal terms) visible.

    Parameters
    ----------
    fn, pair, name, z, atol, base, rng
        As in :func:`assert_consistent`.
    n, m : int
        Sample sizes (m defaults to n).
    replicates : int
        Number of independent repetitions (>= 2).

    Examples
    --------
    >>> import numpy as np
    >>> from divest.testing import DistributionPair, GaussianParameters, assert_unbiased
    >>> pair = DistributionPair.from_gaussians(GaussianParameters([0.5], [[1.0]]),
    ...     GaussianParameters([0.0], [[1.0]]), ["mmd2(bandwidth=1)"])
    >>> def mmd2_v(X, Y):   # the biased V-statistic
    ...     k = lambda A, B: np.exp(-0.5 * (A - B.T) ** 2)
    ...     return k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean()
    >>> assert_unbiased(mmd2_v, pair)
    Traceback (most recent call last):
    ...
    AssertionError: the mean of 200 estimates at n = 10, m = 10 is 0.1... but the exact mmd2(...
    """
    label, exact, tol_exact = _pair_exact(pair, name, params, base)
    n = check_positive_int(n, "n", minimum=2)
    m = n if m is None else check_positive_int(m, "m", minimum=2)
    replicates = check_positive_int(replicates, "replicates", minimum=2)
    vals = _estimates(fn, pair, n, m, replicates, check_rng(rng))
    mean, se = float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(replicates))
    allowed = z * se + atol + tol_exact
    if abs(mean - exact) <= allowed:
        return
    raise AssertionError(
        f"the mean of {replicates} estimates at n = {n}, m = {m} is {mean:.6g} but the exact "
        f"{label} = {exact:.6g}: bias {mean - exact:+.3g} is {abs(mean - exact) / se:.1f} "
        f"standard errors ({se:.2g}; allowed {z:g} SE + atol = {allowed:.3g}; seed rng={rng!r})"
        + "".join(f"\n  - {h}" for h in _reverse_hint(pair, label, base, mean, se, z)))


# ------------------------------------------------------------------------------------
# convex conjugates


def _f_call(f, x, what):
    try:
        with np.errstate(all="ignore"):
            out = f(np.float64(x))
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc
    v = float(np.asarray(out, dtype=float))
    if math.isnan(v):
        raise AssertionError(f"{what} returned nan")
    return v


def assert_fenchel_young(f, conjugate, u, t, *, rtol=1e-7, atol=1e-9):
    r"""Assert the Fenchel–Young inequality :math:`f^*(t) \ge t u - f(u)`.

    It holds for every u in the domain of f and every real t exactly when ``conjugate``
    is at least the true :math:`f^*(t) = \sup_{u\ge 0}(tu - f(u))`; a conjugate that is
    too small anywhere (a wrong sign, a wrong constant) fails it for some (u, t).

    Examples
    --------
    >>> from divest.testing import assert_fenchel_young
    >>> f = lambda u: (u - 1.0) ** 2                    # Pearson chi-squared
    >>> wrong = lambda t: t - t * t / 4                 # f*(t) is t + t^2/4 for t >= -2
    >>> assert_fenchel_young(f, wrong, 2.0, 2.0)
    Traceback (most recent call last):
    ...
    AssertionError: Fenchel-Young fails at u = 2.0, t = 2.0: f*(t) = 1.0 < t u - f(u) = 3.0
    """
    fu = _f_call(f, u, f"f({u!r})")
    ct = _f_call(conjugate, t, f"conjugate({t!r})")
    rhs = t * u - fu
    if not _le(rhs, ct, rtol, atol, t * u, fu):
        raise AssertionError(f"Fenchel-Young fails at u = {u!r}, t = {t!r}: f*(t) = {ct!r} < "
                             f"t u - f(u) = {rhs!r}")


def assert_conjugate_tight(f, conjugate, u, *, f_prime=None, rtol=1e-7, atol=1e-9):
    r"""Assert equality in Fenchel–Young at the slope of f: :math:`f^*(f'(u)) = u f'(u) - f(u)`.

    Together with :func:`assert_fenchel_young` this pins :math:`f^*` down on the range
    of :math:`f'`.  Without ``f_prime`` the slope is a central difference; the equality
    is then still exact to second order (the error in t is multiplied by u on both
    sides).

    Examples
    --------
    >>> import numpy as np
    >>> from divest.testing import assert_conjugate_tight
    >>> f = lambda u: u * np.log(u)                      # KL
    >>> assert_conjugate_tight(f, lambda t: np.exp(t - 1), 2.0)
    >>> assert_conjugate_tight(f, lambda t: np.exp(t + 1), 2.0)
    Traceback (most recent call last):
    ...
    AssertionError: f*(f'(u)) = 14.778... but u f'(u) - f(u) = 1.99999... at u = 2.0, t = f'(u) = 1.6931...
    """
    if not u > 0:
        raise ValueError(f"u must be > 0; got {u!r}")
    fu = _f_call(f, u, f"f({u!r})")
    slack = 0.0
    if f_prime is not None:
        t = _f_call(f_prime, u, f"f_prime({u!r})")
    else:
        h = min(1e-5 * max(1.0, u), 0.5 * u)
        right = (_f_call(f, u + h, "f") - fu) / h
        left = (fu - _f_call(f, u - h, "f")) / h
        t = 0.5 * (left + right)
        # at a kink of f within h of u the slope is off by up to the jump: allow h * jump
        slack = h * abs(right - left)
    ct = _f_call(conjugate, t, f"conjugate({t!r})")
    rhs = u * t - fu
    if not close(ct, rhs, slack + tolerance(rtol, atol, u * t, fu, ct)):
        raise AssertionError(f"f*(f'(u)) = {ct!r} but u f'(u) - f(u) = {rhs!r} at u = {u!r}, "
                             f"t = f'(u) = {t!r}")
