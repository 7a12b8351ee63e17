r"""Hypothesis strategies for probability vectors, Gaussians, distribution pairs with exact
divergences, sample sets and divergence names.

In the style of :mod:`hypothesis.extra.numpy`: plural noun names, keyword-only options.
Options that choose a value (``size``, ``dim``, ``overlap``, ``n``, ``m``, ``seed``,
``alpha``, ``pi``) take a value or a strategy; bounds and flags (``min_size``,
``max_mean``, ``allow_zeros``...) take plain values.  Invalid or inconsistent options
raise :class:`hypothesis.errors.InvalidArgument` when the strategy is defined, naming the
option and the value (a value drawn from a strategy option is checked when drawn).

Examples
--------
>>> from hypothesis import given, settings
>>> from divest.testing import strategies as dst
>>> import divest as dv
>>> @settings(max_examples=20)
... @given(dst.pmf_pairs(max_size=5))
... def test_kl_nonnegative(pair):
...     assert dv.discrete_divergence(pair.p, pair.q, "kl") >= 0
>>> test_kl_nonnegative()
>>> dst.pmf_pairs(min_size=5, max_size=3)
Traceback (most recent call last):
...
hypothesis.errors.InvalidArgument: max_size=3 must be >= min_size=5
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .. import _names
from .. import fdiv as _fdiv
from ._problems import (DistributionPair, DivergenceName, GaussianParameters, PmfPair,
                        SamplePair, rounding_tolerance)

__all__ = [
    "distribution_pairs",
    "fdivergence_names",
    "gaussian_parameters",
    "markov_kernels",
    "pmf_pairs",
    "probability_vectors",
    "sample_pairs",
]

OVERLAPS = ("identical", "overlapping", "disjoint")
FAMILIES = ("gaussian", "reference")

#: names whose Gaussian closed form needs a pair that reduces to one dimension
_REDUCED_NAMES = ("js", "js_weighted", "gan")
#: ... and those that need it only in more than one dimension
_REDUCED_NAMES_MD = ("tv", "wasserstein")

# ------------------------------------------------------------------------------------
# option validation


def _is_int(v) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, bool)


def _check_int(v, name, minimum):
    if not _is_int(v):
        raise InvalidArgument(f"{name}={v!r} must be an integer")
    if v < minimum:
        raise InvalidArgument(f"{name}={v!r} must be >= {minimum}")
    return int(v)


def _check_real(v, name, *, low=None, high=None, low_open=False, high_open=False):
    if not _is_real(v) or not math.isfinite(float(v)):
        raise InvalidArgument(f"{name}={v!r} must be a finite real number")
    v = float(v)
    if low is not None and (v < low or (low_open and v == low)):
        raise InvalidArgument(f"{name}={v!r} must be {'>' if low_open else '>='} {low}")
    if high is not None and (v > high or (high_open and v == high)):
        raise InvalidArgument(f"{name}={v!r} must be {'<' if high_open else '<='} {high}")
    return v


def _check_bool(v, name):
    if not isinstance(v, (bool, np.bool_)):
        raise InvalidArgument(f"{name}={v!r} must be True or False")
    return bool(v)


def _option(value, name, check):
    """A value-or-strategy option as a strategy; a value is checked now, a drawn one when drawn."""
    if isinstance(value, SearchStrategy):
        return value.map(check)
    return st.just(check(value))


def _int_option(value, name, minimum):
    return _option(value, name, lambda v: _check_int(v, name, minimum))


def _sizes(size, min_size, max_size, *, default_min, default_max):
    """(strategy of lengths, smallest, largest) from size / min_size / max_size.

    The smallest or largest length is None when a strategy decides it.
    """
    if size is not None:
        if min_size is not None or max_size is not None:
            raise InvalidArgument(f"give size or min_size/max_size, not both; got size={size!r}, "
                                  f"min_size={min_size!r}, max_size={max_size!r}")
        if isinstance(size, SearchStrategy):
            return _int_option(size, "size", 1), None, None
        size = _check_int(size, "size", 1)
        return st.just(size), size, size
    lo = _check_int(default_min if min_size is None else min_size, "min_size", 1)
    hi = _check_int(max(lo, default_max) if max_size is None else max_size, "max_size", 1)
    if hi < lo:
        raise InvalidArgument(f"max_size={hi} must be >= min_size={lo}")
    return st.integers(lo, hi), lo, hi


def _check_min_mass(min_mass, largest):
    min_mass = _check_real(min_mass, "min_mass", low=0.0)
    if largest is not None and min_mass * largest > 1.0:
        raise InvalidArgument(f"min_mass={min_mass!r} is too large for vectors of length "
                              f"{largest}: the masses could not sum to 1 (need min_mass <= "
                              f"1/{largest})")
    return min_mass


# ------------------------------------------------------------------------------------
# probability vectors and pairs


_BOOLEAN = st.booleans()
_WEIGHT = st.floats(0.0, 1.0, allow_subnormal=False)
_POSITIVE_WEIGHT = st.floats(0.0, 1.0, allow_subnormal=False, exclude_min=True)
_OWNER = st.integers(0, 2)


@lru_cache(maxsize=None)
def _lists_of(element, n):
    """``st.lists(element)`` of length exactly n (cached: composites draw it over and over)."""
    return st.lists(element, min_size=n, max_size=n)


@lru_cache(maxsize=None)
def _integers(lo, hi):
    """``st.integers(lo, hi)`` (cached)."""
    return st.integers(lo, hi)


def _support(draw, n, allow_zeros):
    """A non-empty boolean support mask of length n (shrinks towards full support)."""
    if not allow_zeros:
        return np.ones(n, dtype=bool)
    mask = ~np.array(draw(_lists_of(_BOOLEAN, n)), dtype=bool)
    if not mask.any():
        mask[draw(_integers(0, n - 1))] = True
    return mask


def _masses(draw, mask, min_mass):
    """Masses >= min_mass on ``mask`` summing to one, zeros elsewhere."""
    k = int(mask.sum())
    if k * min_mass > 1.0:
        raise InvalidArgument(f"min_mass={min_mass!r} is too large for a support of {k} "
                              f"points (need min_mass <= 1/{k})")
    # with min_mass = 0 a zero weight would put a zero outside the drawn zeros: exclude it
    w = np.array(draw(_lists_of(_POSITIVE_WEIGHT if min_mass == 0 else _WEIGHT, k)),
                 dtype=float)
    if w.sum() == 0:
        w = np.ones(k)
    out = np.zeros(mask.size)
    out[mask] = min_mass + (1.0 - k * min_mass) * w / w.sum()
    return out / out.sum()


def probability_vectors(*, size=None, min_size=None, max_size=None, allow_zeros=True,
                        min_mass=1e-6) -> SearchStrategy:
    r"""Probability vectors: non-negative float64 arrays summing to one.

    Parameters
    ----------
    size : int or strategy, optional
        Length; instead of ``min_size``/``max_size``.
    min_size, max_size : int, optional
        Bounds on the length (default 1 and 8); ``min_size >= 1``.
    allow_zeros : bool
        Whether entries may be exactly zero (at least one entry is always positive).
    min_mass : float
        Smallest positive entry, in ``[0, 1/length]``.  The default 1e-6 keeps ratios
        of masses within double range; 0 allows arbitrarily small masses.

    Returns
    -------
    SearchStrategy[ndarray]
        Shrinks towards vectors with few positive entries and equal masses (a point
        mass first).

    Raises
    ------
    hypothesis.errors.InvalidArgument
        A length below 1, ``min_size > max_size``, ``size`` together with the bounds, a
        negative ``min_mass`` or one above ``1/max_size``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import probability_vectors
    >>> @settings(max_examples=10)
    ... @given(probability_vectors(size=4, allow_zeros=False, min_mass=0.1))
    ... def check(p):
    ...     assert p.shape == (4,) and abs(p.sum() - 1) < 1e-12 and p.min() >= 0.1 - 1e-12
    >>> check()
    >>> probability_vectors(size=0)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: size=0 must be >= 1
    """
    sizes, _, largest = _sizes(size, min_size, max_size, default_min=1, default_max=8)
    allow_zeros = _check_bool(allow_zeros, "allow_zeros")
    min_mass = _check_min_mass(min_mass, largest)

    @st.composite
    def vectors(draw):
        n = draw(sizes)
        return _masses(draw, _support(draw, n, allow_zeros), min_mass)
    return vectors()


def _check_overlap(v):
    if v not in OVERLAPS:
        raise InvalidArgument(f"overlap={v!r} must be one of {', '.join(map(repr, OVERLAPS))}")
    return v


def pmf_pairs(*, size=None, min_size=None, max_size=None, overlap="overlapping",
              allow_zeros=True, min_mass=1e-6) -> SearchStrategy:
    r"""Pairs of probability vectors of one length, with control over their supports.

    Parameters
    ----------
    size, min_size, max_size, allow_zeros, min_mass
        As in :func:`probability_vectors` (``min_size`` defaults to 2).
    overlap : {"identical", "overlapping", "disjoint"} or strategy
        ``"identical"``: p and q have the same support; ``"overlapping"``: their
        supports intersect (they may differ); ``"disjoint"``: they do not intersect
        (needs ``allow_zeros`` and a length of at least 2).  Pass e.g.
        ``st.sampled_from(OVERLAPS)`` for a mix.

    Returns
    -------
    SearchStrategy[PmfPair]

    Raises
    ------
    hypothesis.errors.InvalidArgument
        As for :func:`probability_vectors`; an unknown ``overlap``; ``"disjoint"`` with
        ``allow_zeros=False`` or a length below 2.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import pmf_pairs
    >>> @settings(max_examples=10)
    ... @given(pmf_pairs(overlap="disjoint"))
    ... def check(pair):
    ...     assert not ((pair.p > 0) & (pair.q > 0)).any()
    >>> check()
    >>> pmf_pairs(overlap="disjoint", allow_zeros=False)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: overlap='disjoint' needs zero masses; got allow_zeros=False
    """
    sizes, lowest, largest = _sizes(size, min_size, max_size, default_min=2, default_max=8)
    allow_zeros = _check_bool(allow_zeros, "allow_zeros")
    min_mass = _check_min_mass(min_mass, largest)
    if not isinstance(overlap, SearchStrategy):
        _check_overlap(overlap)
        if overlap == "disjoint":
            if not allow_zeros:
                raise InvalidArgument("overlap='disjoint' needs zero masses; got allow_zeros=False")
            if lowest is not None and lowest < 2:
                raise InvalidArgument(f"overlap='disjoint' needs vectors of length >= 2; got "
                                      f"{'size' if size is not None else 'min_size'}={lowest}")
    overlaps = _option(overlap, "overlap", _check_overlap)

    @st.composite
    def pairs(draw):
        n = draw(sizes)
        mode = draw(overlaps)
        if mode == "disjoint":
            if not allow_zeros or n < 2:
                raise InvalidArgument(f"overlap='disjoint' needs allow_zeros=True and a length "
                                      f">= 2; got allow_zeros={allow_zeros}, length {n}")
            owner = np.array(draw(_lists_of(_OWNER, n)))
            ip = draw(_integers(0, n - 1))
            iq = draw(_integers(0, n - 2))
            iq += iq >= ip
            owner[ip], owner[iq] = 0, 1
            mp, mq = owner == 0, owner == 1
        elif mode == "identical":
            mp = mq = _support(draw, n, allow_zeros)
        else:
            mp, mq = _support(draw, n, allow_zeros), _support(draw, n, allow_zeros)
            if not (mp & mq).any():
                c = draw(_integers(0, n - 1))
                mp[c] = mq[c] = True
        return PmfPair(_masses(draw, mp, min_mass), _masses(draw, mq, min_mass), mode)
    return pairs()


def markov_kernels(*, n_inputs, n_outputs=None, allow_zeros=True) -> SearchStrategy:
    r"""Row-stochastic matrices K of shape (n_inputs, n_outputs): ``p @ K`` is a pmf.

    A Markov kernel maps a pmf p on ``n_inputs`` points to the pmf ``p @ K`` on
    ``n_outputs`` points (the law of a noisy channel's output), so that the data
    processing inequality :math:`D(pK\,\|\,qK) \le D(p\,\|\,q)` applies.

    Parameters
    ----------
    n_inputs : int or strategy
        Number of rows (the length of the pmfs it acts on).
    n_outputs : int or strategy, optional
        Number of columns (default: between 1 and 6).
    allow_zeros : bool
        Whether a row may put zero mass on some outputs.

    Returns
    -------
    SearchStrategy[ndarray]

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import markov_kernels
    >>> @settings(max_examples=10)
    ... @given(markov_kernels(n_inputs=3, n_outputs=2))
    ... def check(K):
    ...     assert K.shape == (3, 2) and abs(K.sum(axis=1) - 1).max() < 1e-12
    >>> check()
    """
    n_in = _int_option(n_inputs, "n_inputs", 1)
    n_out = st.integers(1, 6) if n_outputs is None else _int_option(n_outputs, "n_outputs", 1)
    allow_zeros = _check_bool(allow_zeros, "allow_zeros")

    @st.composite
    def kernels(draw):
        a, b = draw(n_in), draw(n_out)
        return np.array([_masses(draw, _support(draw, b, allow_zeros), 0.0) for _ in range(a)])
    return kernels()


# ------------------------------------------------------------------------------------
# Gaussians


def _gaussian_options(max_mean, min_variance, max_variance, max_condition):
    max_mean = _check_real(max_mean, "max_mean", low=0.0)
    lo = _check_real(min_variance, "min_variance", low=0.0, low_open=True)
    hi = _check_real(max_variance, "max_variance", low=0.0, low_open=True)
    if hi < lo:
        raise InvalidArgument(f"max_variance={hi!r} must be >= min_variance={lo!r}")
    cond = _check_real(max_condition, "max_condition", low=1.0)
    return max_mean, lo, hi, cond


_UNIT = st.floats(-1.0, 1.0)


def _rotations(draw, d):
    """An orthogonal d x d matrix: Q of the QR decomposition of a drawn matrix (shrinks to I)."""
    A = np.array(draw(_lists_of(_UNIT, d * d))).reshape(d, d)
    return np.linalg.qr(A)[0]


def _draw_gaussian(draw, d, max_mean, lo, hi, cond):
    mean = np.array(draw(st.lists(st.floats(-max_mean, max_mean), min_size=d, max_size=d)))
    l_lo, l_hi = math.log(lo), math.log(hi)
    l1 = draw(st.floats(l_lo, l_hi))
    half = 0.5 * math.log(cond)
    others = draw(st.lists(st.floats(max(l_lo, l1 - half), min(l_hi, l1 + half)),
                           min_size=d - 1, max_size=d - 1))
    lam = np.exp(np.array([l1] + others))
    if d == 1:
        return GaussianParameters(mean, lam.reshape(1, 1))
    R = _rotations(draw, d)
    cov = (R * lam) @ R.T
    return GaussianParameters(mean, 0.5 * (cov + cov.T))


def gaussian_parameters(*, dim=None, max_mean=2.0, min_variance=0.25, max_variance=4.0,
                        max_condition=10.0) -> SearchStrategy:
    r"""Means and positive-definite covariances with a bounded condition number.

    The covariance is :math:`R\,\mathrm{diag}(\lambda)\,R^\top` with R orthogonal (from
    the QR decomposition of a drawn matrix) and eigenvalues in
    ``[min_variance, max_variance]`` whose ratio is at most ``max_condition``.

    Parameters
    ----------
    dim : int or strategy, optional
        Dimension (default: 1 to 3).
    max_mean : float
        Bound on the absolute value of each mean coordinate.
    min_variance, max_variance : float
        Bounds on the eigenvalues of the covariance, ``0 < min <= max``.
    max_condition : float
        Bound (>= 1) on the condition number of the covariance.

    Returns
    -------
    SearchStrategy[GaussianParameters]
        Shrinks towards N(0, I).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import gaussian_parameters
    >>> @settings(max_examples=10)
    ... @given(gaussian_parameters(dim=3, max_condition=4.0))
    ... def check(g):
    ...     assert g.cov.shape == (3, 3) and g.condition_number <= 4.0 + 1e-9
    >>> check()
    >>> gaussian_parameters(max_condition=0.5)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: max_condition=0.5 must be >= 1.0
    """
    dims = st.integers(1, 3) if dim is None else _int_option(dim, "dim", 1)
    opts = _gaussian_options(max_mean, min_variance, max_variance, max_condition)

    @st.composite
    def gaussians(draw):
        return _draw_gaussian(draw, draw(dims), *opts)
    return gaussians()


# ------------------------------------------------------------------------------------
# distribution pairs with exact values


def _labels(names):
    if names is None:
        return None
    if isinstance(names, (str, DivergenceName)):
        names = [names]
    out = []
    for nm in names:
        try:
            out.append(nm.label if isinstance(nm, DivergenceName) else _names.resolve(nm).label)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"names: {nm!r} is not a valid divergence name ({exc})") from exc
    if not out:
        raise InvalidArgument("names must not be empty")
    return tuple(out)


def _families(families):
    if isinstance(families, str):
        families = (families,)
    families = tuple(families)
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        raise InvalidArgument(f"families={families!r}: each must be one of "
                              f"{', '.join(map(repr, FAMILIES))}")
    return families


def _needs_reduction(label, d):
    spec = _names.resolve(label)
    if spec.base in _REDUCED_NAMES:
        return True
    if d > 1 and spec.base == "wasserstein" and spec.params["p"] != 2.0:
        return True
    return d > 1 and spec.base == "tv"


#: default labels of the Gaussian family: those with a closed form for every pair
_GAUSS_DEFAULT = ("kl", "reverse_kl", "jeffreys", "pearson", "neyman", "squared_hellinger",
                  "bhattacharyya", "alpha(alpha=0.5)", "alpha(alpha=2)", "renyi(alpha=0.5)",
                  "renyi(alpha=2)", "wasserstein(p=2)", "mmd2(bandwidth=1)")


def _gaussian_pair(draw, d, labels, opts):
    from ..exact import NoClosedForm
    structures = ["independent", "shared_covariance", "proportional", "identical"]
    want = labels if labels is not None else _GAUSS_DEFAULT
    if any(_needs_reduction(lb, d) for lb in want):
        structures.remove("independent")
    structure = draw(st.sampled_from(structures))
    gp = _draw_gaussian(draw, d, *opts)
    if structure == "independent":
        gq = _draw_gaussian(draw, d, *opts)
    elif structure == "shared_covariance":
        gq = GaussianParameters(_draw_gaussian(draw, d, *opts).mean, gp.cov)
    elif structure == "proportional":
        c = draw(st.floats(math.log(0.5), math.log(2.0)))
        gq = GaussianParameters(gp.mean, math.exp(c) * gp.cov)
    else:
        gq = gp
    if labels is None:
        # the defaults, plus the reduced ones when this pair reduces to 1-D
        extra = ("tv", "js", "js_weighted(pi=0.25)", "gan")
        want = _GAUSS_DEFAULT + (extra if structure != "independent" or d == 1 else ())
        want = tuple(lb for lb in want if structure != "independent" or not _needs_reduction(lb, d))
    try:
        return DistributionPair.from_gaussians(gp, gq, want, skip_missing=labels is None)
    except NoClosedForm:
        reject()


@lru_cache(maxsize=None)
def _reference_value(pair_name, label):
    """(value, tolerance) of a reference pair, or None; cached (quadrature can be slow)."""
    from .. import reference
    pair = reference.get_pair(pair_name)
    est = pair.exact(label)
    if est is None:
        return None
    v = est.value
    return v, max(rounding_tolerance(v), 0.0 if math.isnan(est.standard_error)
                  else float(est.standard_error))


def _reference_pair(draw, labels, dim_filter):
    from .. import reference
    names = [nm for nm in reference.pairs()
             if dim_filter is None or reference.get_pair(nm).dim == dim_filter]
    if not names:
        raise InvalidArgument(f"dim={dim_filter!r}: no reference pair has this dimension")
    pair = reference.get_pair(draw(st.sampled_from(names)))
    want = labels if labels is not None else reference.STANDARD_NAMES
    exact, tol = {}, {}
    for label in want:
        got = _reference_value(pair.name, label)
        if got is None:
            if labels is not None:
                reject()
            continue
        exact[label], tol[label] = got
    return DistributionPair(pair.P, pair.Q, exact, tol, f"{pair.name!r} ({pair.description})",
                            "reference")


def distribution_pairs(*, names=None, families=FAMILIES, dim=None, max_mean=2.0,
                       min_variance=0.25, max_variance=4.0, max_condition=10.0,
                       finite=False) -> SearchStrategy:
    r"""Pairs of distributions that come with their exact divergences and a tolerance.

    In the style of GeomLoss's test generators: each example carries P, Q and the
    exact values to test an implementation against.

    * ``"gaussian"``: two (multivariate) normals drawn as in :func:`gaussian_parameters`,
      in one of four structures (independent parameters, a shared covariance, a shared
      mean with proportional covariances, identical); exact values from
      :func:`divest.exact.closed_form`.  Names whose closed form needs a pair that
      reduces to one dimension (``js``, ``js_weighted``, ``gan``, and in more than one
      dimension ``tv`` and ``wasserstein`` with p != 2) get only such pairs.
    * ``"reference"``: the named pairs of :mod:`divest.reference` (exact values from
      closed forms or 30-digit-class quadrature, tolerance the quadrature error bound).

    Parameters
    ----------
    names : sequence of str, optional
        Divergence labels every example must have an exact value of (``"kl"``,
        ``"alpha(alpha=0.5)"``, ``"mmd2(bandwidth=1)"``).  Default: every standard
        divergence that has one for the drawn pair (for the reference family the first
        draw of each pair computes all of them, which takes up to a few seconds).
    families : str or sequence of str
        ``"gaussian"`` and/or ``"reference"``.
    dim : int or strategy, optional
        Dimension of the Gaussian pairs (default 1 to 3); an int also restricts the
        reference pairs to that dimension.
    max_mean, min_variance, max_variance, max_condition
        As in :func:`gaussian_parameters`.
    finite : bool
        Keep only examples whose requested exact values are all finite.

    Returns
    -------
    SearchStrategy[DistributionPair]

    Raises
    ------
    hypothesis.errors.InvalidArgument
        Unknown names or families, and the errors of :func:`gaussian_parameters`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import distribution_pairs
    >>> import divest as dv
    >>> @settings(max_examples=10)
    ... @given(distribution_pairs(names=["kl"], families="gaussian", dim=2))
    ... def check(pair):
    ...     assert abs(dv.exact.closed_form(pair.P, pair.Q, "kl") - pair.exact["kl"]) <= (
    ...         pair.tolerance["kl"])
    >>> check()
    >>> distribution_pairs(names=["kl", "chi3"])
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: names: 'chi3' is not a valid divergence name ...
    """
    labels = _labels(names)
    fams = _families(families)
    dims = st.integers(1, 3) if dim is None else _int_option(dim, "dim", 1)
    dim_filter = None if dim is None or isinstance(dim, SearchStrategy) else int(dim)
    opts = _gaussian_options(max_mean, min_variance, max_variance, max_condition)
    finite = _check_bool(finite, "finite")

    @st.composite
    def pairs(draw):
        family = draw(st.sampled_from(fams))
        if family == "gaussian":
            pair = _gaussian_pair(draw, draw(dims), labels, opts)
        else:
            pair = _reference_pair(draw, labels, dim_filter)
        if finite and not all(math.isfinite(v) for v in pair.exact.values()):
            reject()
        return pair
    return pairs()


#: Gaussian parameters of the default pairs for sample estimators
#: (variances within a factor 2: where Q is much wider than P, nearest-neighbour estimates
#: of KL(P || Q) converge slowly)
MODERATE = {"max_mean": 1.0, "min_variance": 0.7, "max_variance": 1.4, "max_condition": 2.0}


def _moderate_pairs(names, families=("gaussian",), dim=None):
    """Finite-valued pairs on which sample estimators converge at a few thousand points."""
    return distribution_pairs(names=names, families=families,
                              dim=st.integers(1, 2) if dim is None else dim, finite=True,
                              **MODERATE)


def sample_pairs(*, n=None, m=None, seed=None, pairs=None, names=None, families=("gaussian",),
                 dim=None) -> SearchStrategy:
    r"""Sample sets X ~ P (n, d) and Y ~ Q (m, d) drawn from distribution pairs with a seed.

    Parameters
    ----------
    n : int or strategy, optional
        Size of X (default 20 to 200).
    m : int or strategy, optional
        Size of Y (default: equal to n).
    seed : int or strategy, optional
        Seed of the draw (default: any 32-bit integer); the example's repr shows it, and
        ``example.pair.sample(n, m, rng=seed)`` redraws the samples.
    pairs : strategy, optional
        A strategy of :class:`~divest.testing.DistributionPair` (e.g. from
        :func:`distribution_pairs`).  Default: moderate Gaussian pairs
        (``distribution_pairs(names=names, families=families, dim=dim, finite=True,
        **MODERATE)`` with ``MODERATE`` the bounds on means and variances in this module),
        on which sample estimators converge at a few thousand points.
    names, families, dim
        Passed to the default ``pairs`` (``dim`` default 1 to 2); not allowed with
        ``pairs``.

    Returns
    -------
    SearchStrategy[SamplePair]

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import sample_pairs
    >>> @settings(max_examples=5)
    ... @given(sample_pairs(n=50, m=30, dim=2, names=["kl"]))
    ... def check(s):
    ...     assert s.X.shape == (50, 2) and s.Y.shape == (30, 2) and "kl" in s.exact
    >>> check()
    """
    sizes = st.integers(20, 200) if n is None else _int_option(n, "n", 1)
    sizes_m = None if m is None else _int_option(m, "m", 1)
    seeds = st.integers(0, 2 ** 32 - 1) if seed is None else _int_option(seed, "seed", 0)
    if pairs is None:
        pairs = _moderate_pairs(names, families, dim)
    elif names is not None or dim is not None or families != ("gaussian",):
        raise InvalidArgument("give pairs or names/families/dim, not both")
    elif not isinstance(pairs, SearchStrategy):
        raise InvalidArgument(f"pairs={pairs!r} must be a strategy of DistributionPair")

    @st.composite
    def samples(draw):
        pair = draw(pairs)
        nn = draw(sizes)
        mm = nn if sizes_m is None else draw(sizes_m)
        return SamplePair.draw(pair, nn, mm, seed=draw(seeds))
    return samples()


# ------------------------------------------------------------------------------------
# names

_DEFAULT_ALPHA = st.one_of(st.sampled_from([0.5, 2.0, -1.0, 3.0]),
                           st.floats(-2.0, 3.0).filter(lambda a: abs(a) >= 0.05
                                                       and abs(a - 1) >= 0.05))
_DEFAULT_PI = st.one_of(st.sampled_from([0.5, 0.25]), st.floats(0.05, 0.95))

def _check_param(name):
    def check(v):
        try:
            _fdiv.get_fdivergence({"alpha": "alpha", "pi": "js_weighted"}[name], **{name: v})
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"{name}={v!r} is not a valid parameter ({exc})") from exc
        return float(v)
    return check


def fdivergence_names(*, names=None, include_parameterized=True, alpha=None,
                      pi=None) -> SearchStrategy:
    r"""Registered f-divergence names, with valid parameters for the families.

    Parameters
    ----------
    names : sequence of str, optional
        Draw from these registered names only (default: all of
        :func:`divest.fdivergences`, including user registrations).
    include_parameterized : bool
        Whether to include the families (``alpha`` with parameter ``alpha``,
        ``js_weighted`` with ``pi``).
    alpha : float or strategy, optional
        The ``alpha`` parameter, real and not 0 or 1 (default: 0.5, 2, -1, 3 or a float
        in [-2, 3] at least 0.05 away from 0 and 1).
    pi : float or strategy, optional
        The ``pi`` parameter, in (0, 1) (default: 0.5, 0.25 or a float in [0.05, 0.95]).

    Returns
    -------
    SearchStrategy[DivergenceName]

    Raises
    ------
    hypothesis.errors.InvalidArgument
        Unknown names, an invalid ``alpha`` or ``pi``, or no name left to draw.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from divest.testing.strategies import fdivergence_names
    >>> import divest as dv
    >>> @settings(max_examples=20)
    ... @given(fdivergence_names())
    ... def check(d):
    ...     assert dv.discrete_divergence([0.5, 0.5], [0.5, 0.5], d.label) == d.fdivergence().f_one
    >>> check()
    >>> fdivergence_names(alpha=1)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: alpha=1 is not a valid parameter ...
    """
    registered = _fdiv.fdivergences()
    if names is None:
        pool = list(registered)
    else:
        pool = [names] if isinstance(names, str) else list(names)
        bad = [nm for nm in pool if nm not in registered]
        if bad or not pool:
            raise InvalidArgument(f"names={names!r}: each must be a registered f-divergence "
                                  f"({', '.join(registered)})")
    include_parameterized = _check_bool(include_parameterized, "include_parameterized")
    options = {"alpha": _DEFAULT_ALPHA if alpha is None else alpha,
               "pi": _DEFAULT_PI if pi is None else pi}
    params = {k: _option(v, k, _check_param(k)) for k, v in options.items()}
    choices = []
    for nm in pool:
        required = _fdiv._REGISTRY[nm][1]
        if not required:
            choices.append(st.just(DivergenceName(nm)))
        elif include_parameterized and all(p in params for p in required):
            choices.append(st.fixed_dictionaries({p: params[p] for p in required}).map(
                lambda kw, _nm=nm: DivergenceName(_nm, kw)))
    if not choices:
        raise InvalidArgument(f"no f-divergence left to draw from names={names!r} with "
                              f"include_parameterized={include_parameterized}")
    return st.one_of(choices)
