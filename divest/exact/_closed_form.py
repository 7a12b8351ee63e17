"""Closed-form divergences with a double-dispatch registry keyed by (name, type P, type Q)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import linalg, special, stats
from scipy.stats._distn_infrastructure import rv_sample
from scipy.stats._multivariate import multivariate_normal_frozen

from .. import _names
from .._discrete import _discrete_core
from .._validation import check_distribution
from ..distributions import Mixture, ParallelLines
from ._common import as_dispatch_type, check_same_kind, dispatch_type, shapes_loc_scale

__all__ = ["NoClosedForm", "closed_form", "closed_forms", "register_closed_form"]

_NORM = type(stats.norm)
_MVN = multivariate_normal_frozen
_GAUSS = (_NORM, _MVN)


class NoClosedForm(LookupError):
    """No closed form is registered for this (name, P, Q), or it does not cover these parameters."""


_REGISTRY: dict[tuple[str, type, type], Callable] = {}


def register_closed_form(name: str, type_p, type_q):
    """Decorator registering ``fn(P, Q, **params) -> float`` as the closed form of ``name``.

    Dispatch is on the types of P and Q, most specific match first (as in
    :func:`torch.distributions.kl.register_kl`).  Frozen univariate scipy.stats
    distributions dispatch on their generator, so pass e.g. ``stats.norm`` (or
    ``type(stats.norm)``); other objects on their class.  A function may raise
    :class:`NoClosedForm` for parameter values it does not cover; callers such as
    :func:`divest.divergence` then fall back to numerical methods.

    Parameters
    ----------
    name : str
        Base name of the divergence (``"kl"``, ``"renyi"``, ``"wasserstein"``...).
    type_p, type_q : type or scipy.stats generator

    Raises
    ------
    ValueError
        If a closed form is already registered for exactly this key, or the name is
        unknown.

    Examples
    --------
    >>> import divest as dv
    >>> from scipy import stats
    >>> @dv.exact.register_closed_form("kl", stats.rayleigh, stats.rayleigh)
    ... def _kl_rayleigh(P, Q):
    ...     s1, s2 = P.kwds.get("scale", 1.0), Q.kwds.get("scale", 1.0)
    ...     return 2 * np.log(s2 / s1) + s1**2 / s2**2 - 1
    >>> round(dv.exact.closed_form(stats.rayleigh(scale=1), stats.rayleigh(scale=2), "kl"), 6)
    0.636294
    >>> dv.exact._closed_form._REGISTRY.pop(("kl", type(stats.rayleigh), type(stats.rayleigh)))
    <function _kl_rayleigh at ...>
    """
    if name not in _names.all_names():
        raise ValueError(f"unknown divergence name={name!r}; valid: {', '.join(_names.all_names())}")
    tp, tq = as_dispatch_type(type_p), as_dispatch_type(type_q)

    def deco(fn):
        key = (name, tp, tq)
        if key in _REGISTRY:
            raise ValueError(f"a closed form for {name!r} between {tp.__name__} and {tq.__name__} "
                             "is already registered")
        _REGISTRY[key] = fn
        return fn
    return deco


def closed_forms() -> list[tuple[str, str, str]]:
    """The registered closed forms as (name, type of P, type of Q) strings.

    Examples
    --------
    >>> import divest as dv
    >>> ("kl", "norm_gen", "norm_gen") in dv.exact.closed_forms()
    True
    """
    return sorted((n, a.__name__, b.__name__) for n, a, b in _REGISTRY)


def _lookup(name, tp, tq):
    best, best_rank = None, None
    for (n, kp, kq), fn in _REGISTRY.items():
        if n == name and issubclass(tp, kp) and issubclass(tq, kq):
            rank = (tp.__mro__.index(kp), tq.__mro__.index(kq))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def closed_form(P, Q, name="kl", **params) -> float:
    r"""The exact value of a divergence from its closed form.

    Registered families (see :func:`closed_forms`): Normal–Normal (univariate and
    multivariate: kl, reverse_kl, jeffreys, renyi, bhattacharyya, squared_hellinger,
    alpha, pearson and neyman — infinite when the covariance condition fails —,
    wasserstein (p = 2 in any dimension, any p in 1-D), mmd2 with a Gaussian kernel,
    energy (the squared energy distance; isotropic covariances),
    tv in 1-D and for equal covariances; the other f-divergences when the pair
    reduces to one dimension: equal covariances, or equal means with proportional
    covariances), Gaussian mixtures (mmd2), uniform, exponential, Laplace, Poisson,
    categorical (``scipy.stats.rv_discrete(values=...)``) and parallel-line pairs;
    1-D pairs with disjoint supports give the disjoint-support value of every
    density-based divergence (``inf`` for KL).

    Parameters
    ----------
    P, Q : distributions
    name : str
        Divergence name, parameters in ``params`` or in the name.
    **params
        Parameters of the divergence (``alpha``, ``pi``, ``p``, ``bandwidth``).

    Returns
    -------
    float

    Raises
    ------
    NoClosedForm
        If no closed form covers the pair and parameters.
    TypeError
        P or Q is not a distribution (None, an array, an unfrozen scipy generator).
    ValueError
        Invalid scipy parameters (``stats.norm(0, -1)``, ``stats.norm(nan, 1)``), or a
        density-based name for a discrete against a continuous distribution (mutually
        singular: no density ratio).

    Examples
    --------
    >>> from scipy import stats
    >>> import divest as dv
    >>> dv.exact.closed_form(stats.norm(0, 1), stats.norm(1, 2), "kl")
    0.4431...
    >>> dv.exact.closed_form(stats.norm(0, 1), stats.norm(1, 2), "neyman")
    inf
    >>> dv.exact.closed_form(stats.uniform(0, 1), stats.uniform(2, 1), "js")
    0.6931...
    """
    return _closed_form(*_closed_form_iv(P, Q, name, params))


def _closed_form_iv(P, Q, name, params):
    spec = _names.resolve(name, **params)
    check_distribution(P, "P", need_density=False)
    check_distribution(Q, "Q", need_density=False)
    if spec.density_based:
        check_same_kind(P, Q)
    return P, Q, spec


def _closed_form(P, Q, spec) -> float:
    """The closed form from validated arguments (:func:`_closed_form_iv`)."""
    fn = _lookup(spec.base, dispatch_type(P), dispatch_type(Q))
    if fn is not None:
        try:
            return float(fn(P, Q, **spec.params))
        except NoClosedForm:
            pass
    disjoint = _disjoint_1d(P, Q)
    if disjoint is not None and spec.density_based:
        return float(_discrete_core(*disjoint, spec, -1))
    raise NoClosedForm(f"no closed form for {spec.label} between {type(P).__name__}"
                       f"({dispatch_type(P).__name__}) and {type(Q).__name__}"
                       f"({dispatch_type(Q).__name__}) with these parameters")


def _disjoint_1d(P, Q):
    """Masses ([1, 0], [0, 1]) when two 1-D distributions have disjoint supports."""
    try:
        (a1, b1), (a2, b2) = P.support(), Q.support()
    except (AttributeError, TypeError, ValueError):
        return None
    if np.ndim(a1) or np.ndim(a2):
        return None
    if b1 <= a2 or b2 <= a1:
        return np.array([1.0, 0.0]), np.array([0.0, 1.0])
    return None


# ---------------------------------------------------------------------------------
# families given by KL and the log Chernoff coefficient log ∫ p^a q^(1-a)

def _expm1(x):
    """exp(x) - 1 that overflows to inf (a value beyond double range) instead of raising."""
    with np.errstate(over="ignore"):
        return float(np.expm1(x))


def _register_chernoff_family(types_p, types_q, kl, logc):
    def reg(name, fn):
        for tp in types_p:
            for tq in types_q:
                register_closed_form(name, tp, tq)(fn)

    def alpha_div(P, Q, alpha):
        # expm1(+inf) = inf; expm1(-inf) = -1 gives 1/(alpha(1-alpha)) for disjoint supports
        return _expm1(logc(P, Q, alpha)) / (alpha * (alpha - 1.0))

    def renyi(P, Q, alpha):
        return logc(P, Q, alpha) / (alpha - 1.0)

    reg("kl", lambda P, Q: kl(P, Q))
    reg("reverse_kl", lambda P, Q: kl(Q, P))
    reg("jeffreys", lambda P, Q: kl(P, Q) + kl(Q, P))
    reg("renyi", renyi)
    reg("tsallis", lambda P, Q, alpha: _expm1(logc(P, Q, alpha)) / (alpha - 1.0))
    reg("bhattacharyya", lambda P, Q: -logc(P, Q, 0.5))
    reg("squared_hellinger", lambda P, Q: -2.0 * math.expm1(logc(P, Q, 0.5)))
    reg("alpha", alpha_div)
    reg("pearson", lambda P, Q: _expm1(logc(P, Q, 2.0)))
    reg("neyman", lambda P, Q: _expm1(logc(P, Q, -1.0)))


# -- Gaussians ----------------------------------------------------------------------

def _gauss(D):
    """(mean vector, covariance matrix) of a univariate or multivariate normal."""
    if isinstance(D, _MVN):
        mean, cov = np.atleast_1d(np.asarray(D.mean, float)), np.atleast_2d(np.asarray(D.cov, float))
    else:
        _, loc, scale = shapes_loc_scale(D)
        mean, cov = np.array([float(loc)]), np.array([[float(scale) ** 2]])
    return mean, cov


def _chol_logdet(S):
    try:
        c = linalg.cholesky(S, lower=True)
    except linalg.LinAlgError as exc:
        raise NoClosedForm("degenerate (singular) covariance") from exc
    return c, 2.0 * float(np.log(np.diag(c)).sum())


def _gauss_pair(P, Q):
    mp, sp = _gauss(P)
    mq, sq = _gauss(Q)
    if mp.shape != mq.shape:
        raise ValueError(f"P and Q must have the same dimension; got {mp.size} and {mq.size}")
    return mp, sp, mq, sq


def _kl_gauss(P, Q):
    mp, sp, mq, sq = _gauss_pair(P, Q)
    cq, ldq = _chol_logdet(sq)
    _, ldp = _chol_logdet(sp)
    d = mp.size
    a = linalg.solve_triangular(cq, sp, lower=True)
    tr = float(np.trace(linalg.solve_triangular(cq, a.T, lower=True)))  # tr(Sq^-1 Sp)
    z = linalg.solve_triangular(cq, mq - mp, lower=True)
    return 0.5 * (tr + float(z @ z) - d + ldq - ldp)


def _logc_gauss(P, Q, alpha):
    mp, sp, mq, sq = _gauss_pair(P, Q)
    sa = alpha * sq + (1.0 - alpha) * sp
    ev = np.linalg.eigvalsh(sa)
    if ev.min() <= 1e-12 * max(abs(ev).max(), 1e-300):
        return math.inf  # only possible for alpha outside [0, 1]
    ca, lda = _chol_logdet(sa)
    _, ldp = _chol_logdet(sp)
    _, ldq = _chol_logdet(sq)
    z = linalg.solve_triangular(ca, mp - mq, lower=True)
    return (0.5 * alpha * (alpha - 1.0) * float(z @ z)
            - 0.5 * (lda - (1.0 - alpha) * ldp - alpha * ldq))


_register_chernoff_family(_GAUSS, _GAUSS, _kl_gauss, _logc_gauss)


def _sqrtm_psd(S):
    w, v = np.linalg.eigh(0.5 * (S + S.T))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _wasserstein_gauss(P, Q, p=1.0):
    mp, sp, mq, sq = _gauss_pair(P, Q)
    if np.allclose(sp, sq, rtol=1e-13, atol=0):
        # a translate of the same law: W_p = |mean difference| for every p >= 1
        return float(np.linalg.norm(mp - mq))
    if p == 2.0:
        r = _sqrtm_psd(sq)
        cross = _sqrtm_psd(r @ sp @ r)
        w2 = float(np.sum((mp - mq) ** 2) + np.trace(sp) + np.trace(sq) - 2.0 * np.trace(cross))
        return math.sqrt(max(w2, 0.0))
    if mp.size != 1:
        raise NoClosedForm("Wasserstein-p between multivariate normals: closed form only for p = 2")
    # 1-D: optimal coupling by quantiles, X - Y = delta + s Z with Z ~ N(0, 1)
    delta = float(mp[0] - mq[0])
    s = abs(math.sqrt(sp[0, 0]) - math.sqrt(sq[0, 0]))
    if s == 0.0:
        return abs(delta)
    # E|N(delta, s^2)|^p = s^p 2^(p/2) Gamma((p+1)/2)/sqrt(pi) 1F1(-p/2; 1/2; -delta^2/(2 s^2))
    m = (s ** p * 2 ** (p / 2) * math.gamma((p + 1) / 2) / math.sqrt(math.pi)
         * special.hyp1f1(-p / 2, 0.5, -delta ** 2 / (2 * s ** 2)))
    return float(m) ** (1.0 / p)


def _mean_norm_gauss(delta, s2, d):
    """E|Z| for Z ~ N(delta, s2 I_d): the mean of a scaled noncentral chi distribution."""
    s = math.sqrt(s2)
    lam = float(delta @ delta) / (2.0 * s2)
    # E|Z| = s sqrt(2) Gamma((d+1)/2)/Gamma(d/2) 1F1(-1/2; d/2; -|delta|^2/(2 s^2))
    c = math.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2))
    return s * math.sqrt(2.0) * c * float(special.hyp1f1(-0.5, d / 2, -lam))


def _isotropic(S):
    v = float(S[0, 0])
    if not np.allclose(S, v * np.eye(S.shape[0]), rtol=1e-13, atol=0):
        raise NoClosedForm("energy distance between normals: closed form for isotropic "
                           "covariances sigma^2 I only")
    return v


def _energy_gauss(P, Q):
    """2 E|X - Y| - E|X - X'| - E|Y - Y'| for normals with covariances s_P^2 I, s_Q^2 I."""
    mp, sp, mq, sq = _gauss_pair(P, Q)
    vp, vq = _isotropic(sp), _isotropic(sq)
    d = mp.size
    zero = np.zeros(d)
    return (2.0 * _mean_norm_gauss(mp - mq, vp + vq, d) - _mean_norm_gauss(zero, 2 * vp, d)
            - _mean_norm_gauss(zero, 2 * vq, d))


def _tv_gauss(P, Q):
    mp, sp, mq, sq = _gauss_pair(P, Q)
    if np.allclose(sp, sq, rtol=1e-13, atol=0):
        c, _ = _chol_logdet(sp)
        z = linalg.solve_triangular(c, mp - mq, lower=True)
        return float(2.0 * special.ndtr(0.5 * math.sqrt(float(z @ z))) - 1.0)
    if mp.size != 1:
        return _reduced_1d(P, Q, _names.resolve("tv"))
    m1, s1, m2, s2 = float(mp[0]), math.sqrt(sp[0, 0]), float(mq[0]), math.sqrt(sq[0, 0])
    # log p - log q = a x^2 + b x + c; P and Q cross at its two roots
    a = 1 / (2 * s2 ** 2) - 1 / (2 * s1 ** 2)
    b = m1 / s1 ** 2 - m2 / s2 ** 2
    c = m2 ** 2 / (2 * s2 ** 2) - m1 ** 2 / (2 * s1 ** 2) + math.log(s2 / s1)
    x1, x2 = sorted(np.roots([a, b, c]).real)
    P1, Q1 = stats.norm(m1, s1), stats.norm(m2, s2)
    mass_p = P1.cdf(x2) - P1.cdf(x1)
    mass_q = Q1.cdf(x2) - Q1.cdf(x1)
    return float(abs(mass_p - mass_q))


def _reduced_1d(P, Q, spec):
    """f-divergence of a Gaussian pair that reduces to a 1-D problem, by quadrature."""
    from ._quadrature import _integrate_1d
    from ._common import finish
    mp, sp, mq, sq = _gauss_pair(P, Q)
    if np.allclose(sp, sq, rtol=1e-13, atol=0):
        c, _ = _chol_logdet(sp)
        z = linalg.solve_triangular(c, mp - mq, lower=True)
        P1, Q1 = stats.norm(math.sqrt(float(z @ z)), 1.0), stats.norm(0.0, 1.0)
    else:
        ratio = np.trace(sq) / np.trace(sp)
        if not (np.allclose(mp, mq, rtol=0, atol=1e-14) and np.allclose(sq, ratio * sp, rtol=1e-12)):
            if mp.size == 2:
                return _gauss_2d(mp, sp, mq, sq, spec)
            raise NoClosedForm(f"{spec.label} between Gaussians: closed form only in 2-D, for "
                               "equal covariances, or for equal means with proportional "
                               "covariances")
        # |x|^2 in P-whitened coordinates: Gamma(d/2, scale 2) under P, scale 2*ratio under Q
        k = mp.size / 2.0
        P1, Q1 = stats.gamma(k, scale=2.0), stats.gamma(k, scale=2.0 * ratio)
    v0, _, _ = _integrate_1d(spec.fd, P1, Q1)
    return finish(spec, v0, 0.0)[0]


def _gauss_2d(mp, sp, mq, sq, spec):
    """Bounded f-divergence of two 2-D Gaussians by nested Gauss-Kronrod quadrature.

    Whitening Q and rotating to the eigenbasis of P's covariance gives
    P = N(m1, l1) x N(m2, l2) and Q = N(0, 1) x N(0, 1).  For every outer node x1 the
    inner integrand is smooth in x2 except where p = q, a quadratic equation in x2
    whose roots split the inner range; the inner rule is a fixed composite GK15 (exact
    to rounding for these Gaussian integrands), the outer one adaptive.
    """
    from ._quadrature import _NODES, _WK, _adaptive
    from ._common import finish
    fd = spec.fd
    if not (np.isfinite(fd.f_zero) and np.isfinite(fd.f_infinity)):
        raise NoClosedForm(f"{spec.label}: the 2-D reduction is for bounded f-divergences")
    cq = linalg.cholesky(sq, lower=True)
    m = linalg.solve_triangular(cq, mp - mq, lower=True)
    S = linalg.solve_triangular(cq, linalg.solve_triangular(cq, sp, lower=True).T, lower=True)
    lam, V = np.linalg.eigh(0.5 * (S + S.T))
    m = V.T @ m
    s = np.sqrt(lam)
    h2 = np.log(2 * np.pi)

    def lp(x, i):
        return -0.5 * ((x - m[i]) / s[i]) ** 2 - np.log(s[i]) - 0.5 * h2

    def lq(x):
        return -0.5 * x * x - 0.5 * h2

    lo2 = min(m[1] - 40 * s[1], -40.0)
    hi2 = max(m[1] + 40 * s[1], 40.0)
    pieces = 48
    # log p - log q in x2: A x2^2 + B x2 + C(x1)
    A = 0.5 - 0.5 / lam[1]
    B = m[1] / lam[1]

    def inner(x1):
        x1 = np.asarray(x1, dtype=float)
        C = lp(x1, 0) - lq(x1) - 0.5 * m[1] ** 2 / lam[1] - np.log(s[1])
        roots = np.full((x1.size, 2), np.nan)
        if abs(A) > 1e-14:
            disc = B * B - 4 * A * C
            ok = disc > 0
            sq_d = np.sqrt(np.where(ok, disc, 0.0))
            roots[ok, 0] = (-B - sq_d[ok]) / (2 * A)
            roots[ok, 1] = (-B + sq_d[ok]) / (2 * A)
        elif B != 0:
            roots[:, 0] = -C / B
        roots = np.clip(np.where(np.isnan(roots), lo2, roots), lo2, hi2)
        edges = np.sort(np.column_stack([np.full(x1.size, lo2), roots, np.full(x1.size, hi2)]), 1)
        t = np.linspace(0.0, 1.0, pieces + 1)
        a = edges[:, :-1, None] + (edges[:, 1:, None] - edges[:, :-1, None]) * t[None, None, :-1]
        b = edges[:, :-1, None] + (edges[:, 1:, None] - edges[:, :-1, None]) * t[None, None, 1:]
        mid, half = 0.5 * (a + b), 0.5 * (b - a)
        x2 = mid[..., None] + half[..., None] * _NODES
        g = fd._log_perspective0(lp(x1, 0)[:, None, None, None] + lp(x2, 1),
                                 lq(x1)[:, None, None, None] + lq(x2))
        return (half * (g @ _WK)).sum(axis=(1, 2))

    lo1 = min(m[0] - 40 * s[0], -40.0)
    hi1 = max(m[0] + 40 * s[0], 40.0)
    grid = np.linspace(lo1, hi1, 65)
    k, err, _, _ = _adaptive(inner, grid[:-1], grid[1:], rtol=1e-12, atol=1e-14,
                             max_intervals=4000)
    return finish(spec, float(k.sum()), float(err.sum()))[0]


def _gauss_f_reduction(base):
    def fn(P, Q, **params):
        return _reduced_1d(P, Q, _names.resolve(base, **params))
    return fn


for _tp in _GAUSS:
    for _tq in _GAUSS:
        register_closed_form("wasserstein", _tp, _tq)(_wasserstein_gauss)
        register_closed_form("tv", _tp, _tq)(_tv_gauss)
        register_closed_form("energy", _tp, _tq)(_energy_gauss)
        for _base in ("js", "js_weighted", "gan"):
            register_closed_form(_base, _tp, _tq)(_gauss_f_reduction(_base))


# -- MMD^2 with a Gaussian kernel for Gaussians and Gaussian mixtures -----------------

def _gauss_components(D):
    """[(weight, mean, cov)] of a Gaussian or a mixture of Gaussians."""
    if isinstance(D, Mixture):
        out = []
        for w, c in zip(D.weights, D.components):
            if dispatch_type(c) not in _GAUSS:
                raise NoClosedForm("mmd2 closed form needs Gaussian mixture components")
            m, s = _gauss(c)
            out.append((float(w), m, s))
        return out
    m, s = _gauss(D)
    return [(1.0, m, s)]


def _gauss_kernel_mean(comp_a, comp_b, bw):
    """E k(X, Y) for X, Y independent Gaussian mixtures, k = exp(-|x - y|^2 / (2 bw^2))."""
    total = 0.0
    for wa, ma, sa in comp_a:
        for wb, mb, sb in comp_b:
            d = ma.size
            s = sa + sb
            m = ma - mb
            det = np.linalg.det(np.eye(d) + s / bw ** 2)
            quad = float(m @ np.linalg.solve(s + bw ** 2 * np.eye(d), m))
            total += wa * wb * math.exp(-0.5 * quad) / math.sqrt(det)
    return total


def _mmd2_gauss(P, Q, bandwidth):
    a, b = _gauss_components(P), _gauss_components(Q)
    if a[0][1].size != b[0][1].size:
        raise ValueError("P and Q must have the same dimension")
    return (_gauss_kernel_mean(a, a, bandwidth) + _gauss_kernel_mean(b, b, bandwidth)
            - 2.0 * _gauss_kernel_mean(a, b, bandwidth))


for _tp in _GAUSS + (Mixture,):
    for _tq in _GAUSS + (Mixture,):
        register_closed_form("mmd2", _tp, _tq)(_mmd2_gauss)


# -- piecewise-constant reductions: uniform, categorical, parallel lines ---------------

def _register_density_based(tp, tq, masses):
    """Register every density-based name through masses(P, Q) -> (p, q) on a partition."""
    def make(base):
        def fn(P, Q, **params):
            p, q = masses(P, Q)
            return float(_discrete_core(p, q, _names.resolve(base, **params), -1))
        return fn
    for base in _names.all_names():
        if _names.resolve_base_is_density(base):
            register_closed_form(base, tp, tq)(make(base))


def _uniform_masses(P, Q):
    (a1, b1), (a2, b2) = P.support(), Q.support()
    edges = np.unique([a1, b1, a2, b2])
    lo, hi = edges[:-1], edges[1:]

    def mass(a, b):
        return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / (b - a)
    return mass(a1, b1), mass(a2, b2)


def _categorical_masses(P, Q):
    k = np.union1d(P.xk, Q.xk)
    return (np.array([float(P.pmf(x)) for x in k]), np.array([float(Q.pmf(x)) for x in k]))


def _lines_masses(P, Q):
    if P.theta == Q.theta:
        return np.array([1.0]), np.array([1.0])
    return np.array([1.0, 0.0]), np.array([0.0, 1.0])


_UNIFORM = type(stats.uniform)
_register_density_based(_UNIFORM, _UNIFORM, _uniform_masses)
_register_density_based(rv_sample, rv_sample, _categorical_masses)
_register_density_based(ParallelLines, ParallelLines, _lines_masses)


def _w_quantile_linear(c, e, p):
    """(∫_0^1 |c + e u|^p du)^(1/p)."""
    if e == 0:
        return abs(c)

    def F(u):
        g = c + e * u
        return math.copysign(abs(g) ** (p + 1), g) / (e * (p + 1))
    u0 = -c / e
    val = abs(F(0.0)) + abs(F(1.0)) if 0.0 < u0 < 1.0 else abs(F(1.0) - F(0.0))
    return val ** (1.0 / p)


@register_closed_form("wasserstein", _UNIFORM, _UNIFORM)
def _w_uniform(P, Q, p=1.0):
    (a1, b1), (a2, b2) = P.support(), Q.support()
    return _w_quantile_linear(a1 - a2, (b1 - a1) - (b2 - a2), p)


@register_closed_form("wasserstein", rv_sample, rv_sample)
def _w_categorical(P, Q, p=1.0):
    """Exact 1-D W_p between discrete distributions by merging their quantile functions."""
    xs, ws = P.xk.astype(float), P.pk
    ys, vs = Q.xk.astype(float), Q.pk
    cu = np.unique(np.concatenate([[0.0], np.cumsum(ws), np.cumsum(vs)]).clip(0, 1))
    mid = 0.5 * (cu[:-1] + cu[1:])
    qx = xs[np.minimum(np.searchsorted(np.cumsum(ws), mid), xs.size - 1)]
    qy = ys[np.minimum(np.searchsorted(np.cumsum(vs), mid), ys.size - 1)]
    return float((np.diff(cu) * np.abs(qx - qy) ** p).sum() ** (1.0 / p))


@register_closed_form("wasserstein", ParallelLines, ParallelLines)
def _w_lines(P, Q, p=1.0):
    return abs(P.theta - Q.theta)


@register_closed_form("energy", ParallelLines, ParallelLines)
def _energy_lines(P, Q):
    # X - Y = (theta, U - U'), |U - U'| has density 2(1 - t) on [0, 1]; E|U - U'| = 1/3
    t = abs(P.theta - Q.theta)
    if t == 0.0:
        return 0.0
    s1 = math.hypot(t, 1.0)
    # E sqrt(t^2 + T^2) = int_0^1 2 (1 - u) sqrt(t^2 + u^2) du
    m = (s1 + t * t * math.asinh(1.0 / t)) - 2.0 * (s1 ** 3 - t ** 3) / 3.0
    return 2.0 * m - 2.0 / 3.0


@register_closed_form("mmd2", ParallelLines, ParallelLines)
def _mmd2_lines(P, Q, bandwidth):
    s = bandwidth
    # E exp(-(U - U')^2 / (2 s^2)) for U, U' iid U[0, 1] (triangular density of U - U')
    m = 2.0 * (s * math.sqrt(math.pi / 2) * math.erf(1 / (s * math.sqrt(2)))
               - s ** 2 * (-math.expm1(-1 / (2 * s ** 2))))
    return 2.0 * m * (-math.expm1(-(P.theta - Q.theta) ** 2 / (2 * s ** 2)))


# -- exponential, Laplace, Poisson --------------------------------------------------

def _expon_params(P, Q):
    (_, lp, sp), (_, lq, sq) = shapes_loc_scale(P), shapes_loc_scale(Q)
    if lp != lq:
        raise NoClosedForm("exponential pair with different locations")
    return 1.0 / sp, 1.0 / sq


def _kl_expon(P, Q):
    a, b = _expon_params(P, Q)
    return math.log(a / b) + b / a - 1.0


def _logc_expon(P, Q, alpha):
    a, b = _expon_params(P, Q)
    den = alpha * a + (1.0 - alpha) * b
    if den <= 0:
        return math.inf
    return alpha * math.log(a) + (1.0 - alpha) * math.log(b) - math.log(den)


_EXPON = type(stats.expon)
_register_chernoff_family((_EXPON,), (_EXPON,), _kl_expon, _logc_expon)


@register_closed_form("wasserstein", _EXPON, _EXPON)
def _w_expon(P, Q, p=1.0):
    (_, lp, sp), (_, lq, sq) = shapes_loc_scale(P), shapes_loc_scale(Q)
    c, e = float(lp - lq), float(sp - sq)  # X - Y = c + e E, E ~ Exp(1)
    if c == 0.0:
        return abs(e) * math.gamma(p + 1.0) ** (1.0 / p)
    if p != 1.0:
        raise NoClosedForm("W_p between shifted exponentials: closed form for p = 1")
    if e == 0.0:
        return abs(c)
    t0 = -c / e
    if t0 <= 0:
        return abs(c + e)
    return abs(e) * (t0 - 1.0 + 2.0 * math.exp(-t0))


def _laplace_params(D):
    _, loc, scale = shapes_loc_scale(D)
    return float(loc), float(scale)


def _kl_laplace(P, Q):
    (m1, b1), (m2, b2) = _laplace_params(P), _laplace_params(Q)
    d = abs(m1 - m2)
    return math.log(b2 / b1) + d / b2 + (b1 / b2) * math.exp(-d / b1) - 1.0


def _logc_laplace(P, Q, alpha):
    (m1, b1), (m2, b2) = _laplace_params(P), _laplace_params(Q)
    if m1 != m2:
        raise NoClosedForm("Chernoff coefficient of Laplace distributions with different locations")
    k = alpha / b1 + (1.0 - alpha) / b2
    if k <= 0:
        return math.inf
    return math.log(2.0 / k) - alpha * math.log(2 * b1) - (1.0 - alpha) * math.log(2 * b2)


_LAPLACE = type(stats.laplace)
_register_chernoff_family((_LAPLACE,), (_LAPLACE,), _kl_laplace, _logc_laplace)


def _poisson_params(P, Q):
    (sp, lp, _), (sq, lq, _) = shapes_loc_scale(P), shapes_loc_scale(Q)
    if lp != lq:
        raise NoClosedForm("Poisson pair with different locations")
    return float(sp[0]), float(sq[0])


def _kl_poisson(P, Q):
    a, b = _poisson_params(P, Q)
    return float(special.xlogy(a, a / b)) + b - a


def _logc_poisson(P, Q, alpha):
    a, b = _poisson_params(P, Q)
    return a ** alpha * b ** (1.0 - alpha) - alpha * a - (1.0 - alpha) * b


_POISSON = type(stats.poisson)
_register_chernoff_family((_POISSON,), (_POISSON,), _kl_poisson, _logc_poisson)
