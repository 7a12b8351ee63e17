"""1-D numerical integration of density-based divergences, with an error estimate."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from .. import _names
from .._result import Estimate
from .._validation import check_distribution, check_positive_int, check_real
from ._common import (as_univariate, check_same_kind, finish, is_discrete, logdensity,
                      require_density_based, same_dimension)

__all__ = ["quadrature"]

# Gauss-Kronrod 7/15 nodes and weights (QUADPACK qk15)
_XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                 0.207784955007898467600689403773245, 0.0])
_WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                 0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
_NODES = np.concatenate([-_XGK[:-1], _XGK[::-1]])            # 15 nodes on [-1, 1]
_WK = np.concatenate([_WGK[:-1], _WGK[::-1]])
_WG15 = np.zeros(15)
_WG15[[1, 3, 5, 7, 9, 11, 13]] = np.concatenate([_WG[:-1], _WG[::-1]])

_QUANTILE_LEVELS = np.array([1e-12, 1e-8, 1e-4, 1e-2, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99,
                             1 - 1e-4, 1 - 1e-8, 1 - 1e-12])


def _gk(g, a, b):
    """Kronrod estimate and |Kronrod - Gauss| on each interval [a_i, b_i]."""
    mid = 0.5 * (a + b)
    half = 0.5 * (b - a)
    x = mid[:, None] + half[:, None] * _NODES[None, :]
    fx = g(x.ravel()).reshape(x.shape)
    with np.errstate(invalid="ignore", over="ignore"):  # an overflow is an infinite piece
        k = half * (fx @ _WK)
        gg = half * (fx @ _WG15)
        err = np.abs(k - gg)
    err = np.where(np.isinf(k), np.inf, err)
    return k, err


def _adaptive(g, a, b, *, rtol, atol, max_intervals):
    """Vectorised adaptive Gauss-Kronrod over initial intervals; returns per-interval owners."""
    owner = np.arange(a.size)
    k, err = _gk(g, a, b)
    for _ in range(200):
        total = k.sum()
        if not np.isfinite(total):
            break
        tol = max(atol, rtol * abs(total))
        esum = err.sum()
        if esum <= tol or a.size >= max_intervals:
            break
        # split the intervals that carry the most error until the rest is within tol/2
        order = np.argsort(err)[::-1]
        csum = np.cumsum(err[order])
        nsplit = int(np.searchsorted(csum, esum - 0.5 * tol)) + 1
        nsplit = min(nsplit, max_intervals - a.size, order.size)
        if nsplit <= 0:
            break
        sel = order[:nsplit]
        keep = np.ones(a.size, bool)
        keep[sel] = False
        m = 0.5 * (a[sel] + b[sel])
        na = np.concatenate([a[sel], m])
        nb = np.concatenate([m, b[sel]])
        nk, ne = _gk(g, na, nb)
        a = np.concatenate([a[keep], na])
        b = np.concatenate([b[keep], nb])
        k = np.concatenate([k[keep], nk])
        err = np.concatenate([err[keep], ne])
        owner = np.concatenate([owner[keep], owner[sel], owner[sel]])
    return k, err, owner, a.size


def _quantile_points(dist):
    pts = []
    try:
        pts.extend(np.atleast_1d(dist.ppf(_QUANTILE_LEVELS)))
    except Exception:  # pragma: no cover - distributions without ppf
        pass
    return [float(x) for x in pts if np.isfinite(x)]


def _shells(start, end, h):
    """Points from ``start`` towards ``end`` (finite or infinite), geometric in the gap."""
    if math.isinf(end):
        sign = 1.0 if end > 0 else -1.0
        k = np.arange(0, 1100)
        with np.errstate(over="ignore"):
            pts = start + sign * h * (np.exp2(k) - 1.0)
        return pts[np.abs(pts) < 1e300]
    gap = end - start
    pts = [start]
    for k in range(1, 1100):
        x = end - gap * 2.0 ** (-k)
        if x == pts[-1] or abs(x - end) < 1e-280 * max(1.0, abs(end)):
            break
        pts.append(x)
    return np.array(pts + [end])


def _cut_at_underflow(pts, P, Q, supports):
    """Stop a tail where a density that should be positive underflows to log 0."""
    lp, lq = logdensity(P, pts), logdensity(Q, pts)
    bad = np.zeros(pts.size, bool)
    for ld, (lo, hi) in zip((lp, lq), supports):
        inside = (pts > lo) & (pts < hi)
        bad |= inside & ~np.isfinite(ld)
    if bad.any():
        first = int(np.argmax(bad))
        return pts[:max(first, 2)], True
    return pts, False


def _crossings(P, Q, lo, hi, n=4001):
    """Points where p = q inside [lo, hi] (kinks of |p - q|), located by bisection."""
    x = np.linspace(lo, hi, n)
    with np.errstate(invalid="ignore"):
        s = np.sign(logdensity(P, x) - logdensity(Q, x))
    idx = np.nonzero((s[:-1] * s[1:] < 0) & np.isfinite(s[:-1]) & np.isfinite(s[1:]))[0]
    if idx.size == 0:
        return np.empty(0)
    a, b = x[idx], x[idx + 1]
    sa = s[idx]
    for _ in range(60):
        m = 0.5 * (a + b)
        with np.errstate(invalid="ignore"):
            sm = np.sign(logdensity(P, m) - logdensity(Q, m))
        left = sm == sa
        a = np.where(left, m, a)
        b = np.where(left, b, m)
    return 0.5 * (a + b)


def _integrate_1d(fd, P, Q, *, rtol=1e-11, atol=1e-14, max_intervals=60000):
    """Integral of q f0(p/q) over the real line; returns (value, error, info)."""
    supports = [tuple(float(s) for s in P.support()), tuple(float(s) for s in Q.support())]
    lo = min(s[0] for s in supports)
    hi = max(s[1] for s in supports)
    qpts = np.clip(np.array(_quantile_points(P) + _quantile_points(Q), dtype=float), lo, hi)
    if qpts.size < 2 or qpts.min() == qpts.max():
        raise ValueError("could not locate the mass of P and Q (no spread of finite quantiles)")
    core_lo, core_hi = float(qpts.min()), float(qpts.max())
    inner = [s for sup in supports for s in sup if core_lo < s < core_hi]
    pts = np.unique(np.concatenate([qpts, inner, _crossings(P, Q, core_lo, core_hi)]))
    h = max((core_hi - core_lo) / 16.0, 1e-12 * max(1.0, abs(core_lo), abs(core_hi)))
    left, lcut = _cut_at_underflow(_shells(core_lo, lo, h), P, Q, supports) if lo < core_lo \
        else (np.array([core_lo]), False)
    right, rcut = _cut_at_underflow(_shells(core_hi, hi, h), P, Q, supports) if hi > core_hi \
        else (np.array([core_hi]), False)
    # left shells are ordered outward (decreasing x); build intervals
    la, lb = left[1:], left[:-1]
    ra, rb = right[:-1], right[1:]
    ca, cb = pts[:-1], pts[1:]
    a = np.concatenate([ca, la, ra])
    b = np.concatenate([cb, lb, rb])
    nl = la.size

    def g(x):
        return fd._log_perspective0(logdensity(P, x), logdensity(Q, x))

    k, err, owner, nint = _adaptive(g, a, b, rtol=rtol, atol=atol, max_intervals=max_intervals)
    total = float(k.sum())
    info = {"n_intervals": int(nint), "n_evaluations": int(nint * 15)}
    if np.isnan(total):
        raise FloatingPointError(
            f"the integrand of {fd.label} evaluated to NaN; if f(0) or f'(inf) is infinite, "
            "give the FDivergence a log_f0_asymptote / log_f0_dual_asymptote")
    if not np.isfinite(total):
        info["diverges"] = "integrand infinite on a set of positive measure"
        return math.inf, 0.0, info
    contrib = np.bincount(owner, weights=k, minlength=a.size)
    error = float(err.sum())
    nc = ca.size
    for side, c, cut in (("left", contrib[nc:nc + nl], lcut), ("right", contrib[nc + nl:], rcut)):
        if c.size == 0:
            continue
        c = np.abs(c)
        if c[-1] <= max(atol, 1e-10 * abs(total)):
            continue  # the outermost shell is negligible: converged
        if c.size >= 6:
            ratio = (c[-1] / max(c[-6], 1e-300)) ** 0.2
        else:
            ratio = c[-1] / max(c[-2], 1e-300) if c.size >= 2 else 1.0
        if ratio < 0.9:
            error += c[-1] * ratio / (1 - ratio)
            info[f"{side}_tail_extrapolated"] = True
            if cut:
                info[f"{side}_tail_cut"] = "a log-density underflowed to -inf"
        else:
            info["diverges"] = f"{side} tail contributions do not decay"
            return math.inf, 0.0, info
    return total, error, info


def _sum_discrete(fd, P, Q):
    """Sum of q f0(p/q) over the common integer lattice of two discrete distributions."""
    from scipy.stats._distn_infrastructure import rv_sample
    if isinstance(P, rv_sample) and isinstance(Q, rv_sample):
        k = np.union1d(P.xk, Q.xk).astype(float)
        terms = fd._log_perspective0(logdensity(P, k), logdensity(Q, k))
        return float(terms.sum()), 0.0, {"n_terms": int(k.size)}
    lo = min(float(P.support()[0]), float(Q.support()[0]))
    hi = max(float(P.support()[1]), float(Q.support()[1]))
    if not np.isfinite(lo):
        raise ValueError("summation needs supports bounded below")
    kmax = max(float(D.mean() + 12.0 * D.std()) for D in (P, Q))
    kmax = max(kmax if np.isfinite(kmax) else lo + 64.0, lo + 16.0)
    kmax = min(kmax, hi)
    for _ in range(24):
        k = np.arange(lo, kmax + 1.0)
        terms = fd._log_perspective0(logdensity(P, k), logdensity(Q, k))
        total = float(terms.sum())
        if not np.isfinite(total):
            return math.inf, 0.0, {"n_terms": int(k.size), "diverges": "infinite term"}
        tail = float(terms[-max(1, k.size // 10):].sum())
        if kmax >= hi:  # the whole (finite) support is summed: no truncation error
            return total, 0.0, {"n_terms": int(k.size), "support_summed": True}
        if tail <= 1e-15 * max(abs(total), 1e-300):
            return total, tail, {"n_terms": int(k.size)}
        kmax = min(2 * kmax + 16.0, hi)
    return math.inf, 0.0, {"n_terms": int(k.size), "diverges": "terms do not decay"}


def quadrature(P, Q, name="kl", *, rtol=1e-11, max_intervals=60000, **params) -> Estimate:
    r"""Divergence between two 1-D distributions by adaptive numerical integration.

    Integrates :math:`q\,f_0(p/q)` with :math:`f_0(u) = f(u) - f(1) - f'(1)(u-1) \ge 0`
    (so :math:`D_f = f(1) + \int q f_0(p/q)`), evaluated from log-densities with the
    ratio taken smaller-over-larger so nothing overflows.  The real line is cut at
    quantiles of both distributions and at the ends of their supports (so
    near-disjoint and disjoint supports are resolved); each tail is covered by
    geometrically growing shells out to :math:`10^{300}` (or towards a finite end of
    the support) and integrated by vectorised adaptive Gauss–Kronrod (7/15).  The
    shells give the divergence test: if the outermost shells' contributions do not
    decay the integral is reported as ``inf``.  Discrete distributions are summed
    over their support.

    Parameters
    ----------
    P, Q : distributions
        Frozen 1-D scipy.stats distributions or :class:`divest.distributions.Mixture`
        (continuous: ``logpdf``, ``ppf``, ``support``; discrete: ``logpmf``).
    name : str
        A density-based divergence: any registered f-divergence, ``renyi`` or
        ``tsallis`` (``alpha``), ``bhattacharyya``; or ``energy``, the squared energy
        distance :math:`2\int (F - G)^2` (from the CDFs, Székely & Rizzo 2013).
    rtol : float
        Relative tolerance of the adaptive integration.
    max_intervals : int
        Cap on the number of subintervals.
    **params
        Parameters of the divergence.

    Returns
    -------
    Estimate
        ``method="quadrature"``; ``standard_error`` is the integration error estimate
        (sum of the Kronrod–Gauss differences plus the extrapolated tail); for discrete
        distributions the sum of the terms left out, 0 when the whole (finite) support
        was summed (``details["support_summed"]``).

    Raises
    ------
    TypeError
        P or Q is not a distribution (None, an array, an unfrozen generator).
    ValueError
        Invalid scipy parameters (``stats.norm(0, -1)``), dimension above 1, a discrete
        distribution against a continuous one (mutually singular), a name that is not
        density-based.

    Examples
    --------
    >>> from scipy import integrate, stats
    >>> import divest as dv
    >>> est = dv.exact.quadrature(stats.norm(0, 1), stats.norm(1, 2), "js")
    >>> round(est.value, 12), est.standard_error < 1e-10
    (0.128174973054, True)
    >>> dv.exact.quadrature(stats.t(3), stats.norm(), "pearson").value
    inf
    """
    return _quadrature(*_quadrature_iv(P, Q, name, rtol, max_intervals, params))


def _quadrature_iv(P, Q, name, rtol, max_intervals, params, *, distributions_checked=False):
    """``(P, Q, spec, rtol, max_intervals, discrete)``, P and Q univariate.

    ``distributions_checked=True``: P and Q already passed ``check_distribution`` and
    have what the method needs (``divest.crosscheck``, after the registry's
    ``applicable``); the applicability checks of the pair still run."""
    spec = _names.resolve(name, **params)
    if spec.base != "energy":
        require_density_based(spec, "quadrature")
    if not distributions_checked:
        check_distribution(P, "P", need_density=spec.base != "energy")
        check_distribution(Q, "Q", need_density=spec.base != "energy")
    d = same_dimension(P, Q)
    if d != 1:
        raise ValueError(f"quadrature is 1-D only; P and Q have dimension {d} "
                         "(use monte_carlo or a closed form)")
    rtol = check_real(rtol, "rtol", low=0.0)
    P, Q = as_univariate(P), as_univariate(Q)
    if spec.base == "energy":
        return P, Q, spec, rtol, max_intervals, None
    max_intervals = check_positive_int(max_intervals, "max_intervals", minimum=100)
    return P, Q, spec, rtol, max_intervals, check_same_kind(P, Q)


def _quadrature(P, Q, spec, rtol, max_intervals, dp) -> Estimate:
    """The quadrature from validated arguments (:func:`_quadrature_iv`)."""
    if spec.base == "energy":
        value, err, info = _energy_1d(P, Q, rtol)
        return Estimate.from_value(value, standard_error=err, method="quadrature",
                                   name=spec.label, details=info)
    fd = spec.fd if spec.is_f else spec.alpha_fd
    if dp:
        v0, e0, info = _sum_discrete(fd, P, Q)
    else:
        v0, e0, info = _integrate_1d(fd, P, Q, rtol=rtol, max_intervals=max_intervals)
    value, err = finish(spec, v0, e0)
    if not spec.is_f and not (math.isfinite(v0) and spec.chernoff(fd.f_one + v0) >= 0.5):
        # the Chernoff coefficient c is small or huge: integrate it directly, scaled by e^-M,
        # instead of through 1 - c (cancellation) or the alpha-divergence (overflow)
        a = spec.params.get("alpha", 0.5)
        ch = _Chernoff(a, P, Q)
        if dp:
            c, ce, info = _sum_discrete(ch, P, Q)
        else:
            c, ce, info = _integrate_1d(ch, P, Q, rtol=rtol, max_intervals=max_intervals)
        with np.errstate(divide="ignore"):
            logc = ch.shift + math.log(c) if c > 0 else -math.inf
        value = float(spec.from_log_chernoff(logc))
        err = 0.0 if not (0 < c < math.inf) else ce / c * spec.log_chernoff_slope(logc)
    return Estimate.from_value(value, standard_error=err, method="quadrature", name=spec.label,
                               details=info)


def _energy_1d(P, Q, rtol):
    """Energy distance in 1-D as 2 * integral of (F - G)^2 (Székely & Rizzo 2013, eq. 2.2)."""
    if is_discrete(P) or is_discrete(Q):
        if not all(hasattr(D, "xk") for D in (P, Q)):
            raise ValueError("energy-distance quadrature of discrete distributions needs a "
                             "finite support (scipy.stats.rv_discrete(values=...))")
        x = np.union1d(P.xk.astype(float), Q.xk.astype(float))
        gap = np.diff(x)
        diff = P.cdf(x[:-1]) - Q.cdf(x[:-1])
        return float(2.0 * np.sum(gap * diff * diff)), 0.0, {"points": int(x.size)}
    probs = np.array([1e-6, 1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1 - 1e-6])
    pts = np.concatenate([np.asarray(P.ppf(probs), dtype=float),
                          np.asarray(Q.ppf(probs), dtype=float)])
    pts = np.unique(pts[np.isfinite(pts)])
    edges = np.concatenate([[-np.inf], pts, [np.inf]])

    def g(t):
        return (float(P.cdf(t)) - float(Q.cdf(t))) ** 2

    total, err = 0.0, 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        v, e = integrate.quad(g, a, b, epsabs=1e-15, epsrel=rtol, limit=200)
        total += v
        err += e
    return 2.0 * total, 2.0 * err, {"intervals": int(edges.size - 1)}


class _Chernoff:
    """Integrand p^a q^(1-a) e^-shift in the interface of FDivergence used by _integrate_1d."""

    def __init__(self, a, P, Q):
        self.a = a
        self.label = f"chernoff(alpha={a:g})"
        pts = np.unique(np.concatenate([_quantile_points(P), _quantile_points(Q)]))
        x = np.linspace(pts.min(), pts.max(), 4001)
        with np.errstate(invalid="ignore"):
            g = a * logdensity(P, x) + (1.0 - a) * logdensity(Q, x)
        g = g[np.isfinite(g)]
        self.shift = float(g.max()) if g.size else 0.0

    def _log_perspective0(self, logp, logq):
        with np.errstate(invalid="ignore", over="ignore"):
            out = np.exp(self.a * logp + (1.0 - self.a) * logq - self.shift)
        zp, zq = np.isneginf(logp), np.isneginf(logq)
        # p^a q^(1-a) at a zero density: 0, except q = 0 < p with a > 1 (infinite)
        edge = np.where(zq & ~zp & (self.a > 1.0), np.inf, 0.0)
        return np.where(zp | zq, edge, out)
