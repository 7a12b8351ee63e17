r"""f-divergences: generators, convex conjugates, output activations and the registry.

Every f-divergence in divest is defined by its generator :math:`f` (see the conventions page):

.. math:: D_f(P \,\|\, Q) = \int q(x)\, f\!\left(\frac{p(x)}{q(x)}\right) dx
          = \mathbb{E}_Q[f(r)], \qquad r = p/q,

with :math:`f` convex on :math:`[0, \infty)`.  The conventions for zero densities are
:math:`0 f(0/0) = 0`, :math:`0 f(a/0) = a f'_\infty` with
:math:`f'_\infty = \lim_{u\to\infty} f(u)/u`.  The convex conjugate
:math:`f^*(t) = \sup_{u \ge 0}\, (tu - f(u))` (taken over the domain of :math:`f`,
which makes it tighter than some published tables for Pearson and total variation)
gives the variational lower bound of Nguyen, Wainwright & Jordan (2010) and
f-GAN (Nowozin et al., 2016):

.. math:: D_f(P\,\|\,Q) \ge \sup_T\; \mathbb{E}_P[T] - \mathbb{E}_Q[f^*(T)],

attained by the optimal critic :math:`T^*(x) = f'(r(x))`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np
from scipy import special

from . import _backend
from ._validation import check_real

__all__ = [
    "FDivergence",
    "Interval",
    "fdivergences",
    "get_fdivergence",
    "register_fdivergence",
]

_LOG2 = math.log(2.0)


@dataclass(frozen=True)
class Interval:
    """A real interval, used for the domain of a conjugate and for value ranges.

    Examples
    --------
    >>> iv = Interval(-math.inf, 0.5, high_closed=True)
    >>> iv
    (-inf, 0.5]
    >>> bool(iv.contains(0.5)), bool(iv.contains(0.6))
    (True, False)
    """

    low: float
    high: float
    low_closed: bool = False
    high_closed: bool = False

    def contains(self, t):
        """Elementwise membership test."""
        t = np.asarray(t, dtype=float)
        lo = (t >= self.low) if self.low_closed else (t > self.low)
        hi = (t <= self.high) if self.high_closed else (t < self.high)
        return lo & hi

    def __repr__(self) -> str:
        return (f"{'[' if self.low_closed else '('}{self.low:g}, {self.high:g}"
                f"{']' if self.high_closed else ')'}")


def _fmt_params(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items())


@dataclass(frozen=True, eq=False)
class FDivergence:
    r"""One f-divergence :math:`D_f(P\|Q) = \mathbb{E}_Q[f(p/q)]`.

    Parameters
    ----------
    name : str
        Canonical name (``"kl"``, ``"alpha"``, ...).
    f : callable
        The generator, convex on ``[0, inf)``; vectorised over numpy arrays.
    f_prime : callable
        Its derivative (a subgradient where ``f`` is not differentiable).
    conjugate : callable
        The convex conjugate :math:`f^*(t) = \sup_{u\ge 0}(tu - f(u))`; returns
        ``inf`` outside ``conjugate_domain``.
    conjugate_domain : Interval
        Where :math:`f^*` is finite.
    activation : callable
        Output activation :math:`g_f:\mathbb{R}\to\mathrm{dom} f^*` (f-GAN).
    value_range : Interval
        Range of :math:`D_f` over all pairs of distributions.
    symmetric : bool
        Whether :math:`D_f(P\|Q) = D_f(Q\|P)` for all pairs.
    integral : str
        The divergence written as an integral of the densities (documentation).
    f_dual : callable, optional
        :math:`f^\diamond(v) = v f(1/v)`, the generator of the reverse divergence,
        evaluated stably on ``[0, 1]`` (including ``v = 0``, where it equals
        :math:`f'_\infty`).  Derived from ``f`` when omitted.
    logarithmic : bool
        Whether the value is measured in a logarithmic unit (nats), so that a
        ``base=`` conversion applies.
    params : dict
        Parameters of a member of a family (``{"alpha": 0.5}``).
    log_f0_asymptote, log_f0_dual_asymptote : callable, optional
        Where :math:`f(0) = \infty` (resp. :math:`f'_\infty = \infty`): the leading
        behaviour of :math:`\log f_0(u)` as :math:`\log u \to -\infty` (resp. of
        :math:`\log f_0^\diamond(v)`), as a function of ``log u``.  Used when a density
        ratio underflows, so that e.g. :math:`q \log(q/p)` stays finite far in the tails.
    composite : callable, optional
        :math:`v \mapsto (g_f(v), g_f'(v), f^*(g_f(v)), (f^*\circ g_f)'(v))` in closed
        form, evaluated directly from the pre-activation (so that :math:`f^*(g_f(v))` never
        rounds onto the end of :math:`\mathrm{dom} f^*`), for numpy arrays and torch
        tensors.  The built-in divergences define ``activation``, ``conjugate`` and
        ``composite`` once, against the array namespace of ``divest._backend``, and the
        composite is used only while ``activation`` and ``conjugate`` are the ones it
        was written for (``dataclasses.replace(fd, conjugate=...)`` drops it).  Without
        one, the variational estimators differentiate ``activation`` and ``conjugate``
        numerically.

    Notes
    -----
    Every callable accepts numpy arrays and is evaluated elementwise; outside its
    domain it returns ``inf`` (never NaN) and raises no warning.  The ``activation``,
    ``conjugate`` and ``composite`` of the built-in divergences also accept torch tensors
    (returning tensors, differentiable by autograd); ``f`` and ``f_prime`` accept them
    too, evaluated by their numpy definition (a tensor of the input's dtype and device,
    without gradient).

    Examples
    --------
    >>> import divest as dv
    >>> kl = dv.get_fdivergence("kl")
    >>> float(kl.f(2.0)), float(kl.conjugate(1.0)), kl.conjugate_domain
    (1.386..., 1.0, (-inf, inf))
    >>> dv.get_fdivergence("alpha", alpha=0.5).label
    'alpha(alpha=0.5)'
    """

    name: str
    f: Callable
    f_prime: Callable
    conjugate: Callable
    conjugate_domain: Interval
    activation: Callable
    value_range: Interval
    symmetric: bool
    integral: str = ""
    f_dual: Callable | None = None
    logarithmic: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    log_f0_asymptote: Callable | None = None
    log_f0_dual_asymptote: Callable | None = None
    composite: Callable | None = None

    def __post_init__(self):
        # f and f_prime take torch tensors too (evaluated by their numpy definition)
        for attr in ("f", "f_prime"):
            fn = getattr(self, attr)
            if not isinstance(fn, _backend.NumpyFunction):
                object.__setattr__(self, attr, _backend.NumpyFunction(fn))
        if self.f_dual is None:
            f = self.f
            with np.errstate(all="ignore"):
                slopes = [float(f(np.float64(u))) / u for u in (1e8, 1e12, 1e16)]
            # f(u)/u converges to f'_inf; if it keeps growing (like log u) the limit is inf
            growing = slopes[2] - slopes[1] > 1e-6 * max(1.0, abs(slopes[1]))
            f_inf = math.inf if growing or not np.isfinite(slopes[2]) else slopes[2]

            def f_dual(v, _f=f, _finf=f_inf):
                v = np.asarray(v, dtype=float)
                with np.errstate(all="ignore"):
                    out = v * _f(1.0 / np.where(v > 0, v, 1.0))
                return np.where(v > 0, out, _finf)

            object.__setattr__(self, "f_dual", f_dual)

    # -- derived quantities -------------------------------------------------------
    @property
    def label(self) -> str:
        """Name with parameters, e.g. ``"alpha(alpha=0.5)"``."""
        return f"{self.name}({_fmt_params(self.params)})" if self.params else self.name

    def _closed_composite(self) -> Callable | None:
        """``composite`` if it belongs to this ``activation`` and ``conjugate``, else None.

        A built-in composite records the callables it was written with; a user-supplied
        callable without that record is taken at its word.
        """
        comp = self.composite
        if comp is None:
            return None
        if isinstance(comp, _Composite) and (comp.activation is not self.activation
                                             or comp.conjugate is not self.conjugate):
            return None
        return comp

    @property
    def optimal_critic(self) -> Callable:
        r"""The optimal critic :math:`T^*(r) = f'(r)` as a function of the ratio ``r``."""
        return self.f_prime

    @cached_property
    def f_one(self) -> float:
        """:math:`f(1)` (0 for every divergence but ``gan``)."""
        return float(self.f(np.float64(1.0)))

    @cached_property
    def f_prime_one(self) -> float:
        """:math:`f'(1)`, used to make the integrand non-negative."""
        return float(self.f_prime(np.float64(1.0)))

    @property
    def f_zero(self) -> float:
        """:math:`f(0)`: the contribution of Q-mass where p = 0."""
        with np.errstate(all="ignore"):
            return float(self.f(np.float64(0.0)))

    @property
    def f_infinity(self) -> float:
        r""":math:`f'_\infty = \lim_{u\to\infty} f(u)/u`: the contribution of P-mass where q = 0."""
        return float(self.f_dual(np.float64(0.0)))

    def __repr__(self) -> str:
        return f"FDivergence({self.label!r})"

    # -- stable evaluation of q f(p/q) ---------------------------------------------
    def _f0(self, u):
        """Normalised generator f(u) - f(1) - f'(1)(u - 1) >= 0.

        It is f minus its tangent at 1, non-negative by convexity: negative values can
        only be rounding error (cancellation near u = 1) and are returned as 0.
        """
        with np.errstate(invalid="ignore"):
            return np.maximum(self.f(u) - self.f_one - self.f_prime_one * (u - 1.0), 0.0)

    def _f0_dual(self, v):
        """v f0(1/v) = f_dual(v) - f(1) v - f'(1)(1 - v) >= 0 (rounding handled as in _f0)."""
        with np.errstate(invalid="ignore"):
            return np.maximum(self.f_dual(v) - self.f_one * v - self.f_prime_one * (1.0 - v), 0.0)

    def _perspective0(self, p, q):
        r"""Elementwise :math:`q f_0(p/q) \ge 0` with the 0/0 and a/0 conventions.

        The ratio is always taken smaller over larger, so it never overflows.
        """
        p = np.asarray(p, dtype=float)
        q = np.asarray(q, dtype=float)
        with np.errstate(all="ignore"):
            below = p <= q
            r = np.where(below, p / np.where(q > 0, q, 1.0), q / np.where(p > 0, p, 1.0))
            lo = self._f0(np.where(below, r, 1.0))
            hi = self._f0_dual(np.where(below, 1.0, r))
            out = np.where(below, q * lo, p * hi)
            # 0 * inf: a zero weight times an infinite generator value is 0 by convention
            out = np.where((below & (q == 0)) | (~below & (p == 0)), 0.0, out)
        return out

    def _log_perspective0(self, logp, logq):
        r"""Elementwise :math:`q f_0(p/q)` from log-densities (``-inf`` allowed)."""
        logp = np.asarray(logp, dtype=float)
        logq = np.asarray(logq, dtype=float)
        with np.errstate(all="ignore"):
            below = logp <= logq
            d = np.where(below, logp - logq, logq - logp)
            both_zero = np.isneginf(logp) & np.isneginf(logq)
            d = np.where(both_zero, 0.0, d)
            r = np.exp(d)
            lo = self._f0(np.where(below, r, 1.0))
            hi = self._f0_dual(np.where(below, 1.0, r))
            logw = np.where(below, logq, logp)
            out = np.exp(logw) * np.where(below, lo, hi)
            # a ratio below e^-40: use the asymptote of log f0 (no underflow to f0(0) = inf)
            for asym, side in ((self.log_f0_asymptote, below),
                               (self.log_f0_dual_asymptote, ~below)):
                if asym is not None:
                    ext = side & (d < -40.0)
                    if ext.any():
                        out = np.where(ext, np.exp(logw + asym(np.where(ext, d, -41.0))), out)
            # underflowed weight times an infinite generator value at a true zero density
            inf_case = np.isinf(np.where(below, lo, hi)) & np.isneginf(d) & ~np.isneginf(logw)
            out = np.where(inf_case, np.inf, out)
            out = np.where(both_zero, 0.0, out)
        return out

    def _integrand(self, p, q):
        """Direct q f(p/q) (no normalisation); used by tests of the generator."""
        return self._perspective0(p, q) + self.f_one * np.asarray(q) + self.f_prime_one * (
            np.asarray(p) - np.asarray(q))


# ---------------------------------------------------------------------------------
# numerically careful elementary functions


def _inside(x, top):
    """Keep values strictly below the open endpoint ``top`` of a conjugate domain.

    Maps such as ``top - softplus(-v)`` or ``f'(r)`` approach ``top`` only in the limit,
    but round onto it in floating point (where the conjugate is infinite); the largest
    float below ``top`` is the correctly rounded value of the open map.  ``x`` may be a
    numpy array or a torch tensor.
    """
    nx = _backend.get_backend(x)
    return nx.minimum(x, nx.below(top, x))


def _as_float(u):
    return np.asarray(u, dtype=float)


def _log_u(u):
    with np.errstate(divide="ignore"):
        return np.log(_as_float(u))


def _inv(u):
    u = _as_float(u)
    with np.errstate(divide="ignore"):
        return np.where(u > 0, 1.0 / np.where(u > 0, u, 1.0), np.inf)


def _log_softplus(nx, x):
    """log(softplus(x)), accurate for very negative x (and NaN-free gradients in torch)."""
    low = x < -30.0
    return nx.where(low, x - 0.5 * nx.exp(nx.minimum(x, 0.0)),
                    nx.log(nx.softplus(nx.where(low, 0.0, x))))


# ---------------------------------------------------------------------------------
# one definition of g_f, f* and f* o g_f per divergence, for numpy and torch
#
# Each built-in writes its output activation g(nx, v), its conjugate conj(nx, t) and its
# composite comp(nx, v) -> (a, a', b, b') with a = g_f(v) and b = f*(g_f(v)) once,
# against the array namespace nx of divest._backend.  The composite is computed
# directly from the pre-activation v (no rounding of T onto the end of dom f*, e.g.
# f*(g_f(v)) = (softplus(v) - log 2) / 2 for JS).


class _Composite:
    r""":math:`v \mapsto (g_f(v), g_f'(v), f^*(g_f(v)), (f^*\circ g_f)'(v))` in closed form.

    Written for one pair of ``activation`` and ``conjugate`` callables (kept as
    attributes): an :class:`FDivergence` uses it only while those are its own, so a
    divergence derived with ``dataclasses.replace(fd, conjugate=...)`` falls back to
    numerical derivatives of its own callables.
    """

    __slots__ = ("fn", "activation", "conjugate")

    def __init__(self, fn, activation, conjugate):
        self.fn, self.activation, self.conjugate = fn, activation, conjugate

    def __call__(self, v):
        nx = _backend.get_backend(v)
        with nx.errstate():
            return self.fn(nx, nx.asarray(v))

    def __repr__(self) -> str:
        return f"_Composite({getattr(self.fn, '__qualname__', self.fn)!r})"


def _activation(g, top=None):
    """The FDivergence.activation of ``g``, kept strictly below an open end ``top``."""
    def activation(v):
        nx = _backend.get_backend(v)
        with nx.errstate():
            a = g(nx, nx.asarray(v))
        return a if top is None else _inside(a, top)
    return activation


def _conjugate(conj):
    """The FDivergence.conjugate of ``conj``: float input, no floating-point warnings."""
    def conjugate(t):
        nx = _backend.get_backend(t)
        with nx.errstate():
            return conj(nx, nx.asarray(t))
    return conjugate


def _with_fgan(g, conj, comp, top=None, **fields) -> FDivergence:
    """An FDivergence whose activation, conjugate and composite come from one definition."""
    activation, conjugate = _activation(g, top), _conjugate(conj)
    return FDivergence(activation=activation, conjugate=conjugate,
                       composite=_Composite(comp, activation, conjugate), **fields)


def _identity(nx, v):
    return v


# ---------------------------------------------------------------------------------
# built-in divergences


def _kl() -> FDivergence:
    def comp(nx, v):
        e = nx.exp(v - 1.0)
        return v, nx.ones_like(v), e, e

    return _with_fgan(
        _identity, lambda nx, t: nx.exp(t - 1.0), comp,
        name="kl",
        f=lambda u: special.xlogy(_as_float(u), u),
        f_prime=lambda u: _log_u(u) + 1.0,
        conjugate_domain=Interval(-math.inf, math.inf),
        value_range=Interval(0.0, math.inf, True, True),
        symmetric=False,
        integral=r"\int p \log(p/q)",
        f_dual=lambda v: -_log_u(v),
        logarithmic=True,
        log_f0_dual_asymptote=lambda lv: np.log(-_as_float(lv) - 1.0),
    )


def _reverse_kl() -> FDivergence:
    def g(nx, v):
        return -nx.exp(-v)

    def conj(nx, t):
        neg = t < 0
        return nx.where(neg, -1.0 - nx.log(-nx.where(neg, t, -1.0)), nx.inf)

    def comp(nx, v):
        e = nx.exp(-v)
        return -e, e, v - 1.0, nx.ones_like(v)

    return _with_fgan(
        g, conj, comp, top=0.0,
        name="reverse_kl",
        f=lambda u: -_log_u(u),
        f_prime=lambda u: -_inv(u),
        conjugate_domain=Interval(-math.inf, 0.0),
        value_range=Interval(0.0, math.inf, True, True),
        symmetric=False,
        integral=r"\int q \log(q/p) = \mathrm{KL}(Q\|P)",
        f_dual=lambda v: special.xlogy(_as_float(v), v),
        logarithmic=True,
        log_f0_asymptote=lambda lu: np.log(-_as_float(lu) - 1.0),
    )


def _pearson() -> FDivergence:
    def conj(nx, t):
        return nx.where(t >= -2.0, t + 0.25 * t * t, -1.0)

    def comp(nx, v):
        inside = v >= -2.0
        return (v, nx.ones_like(v), nx.where(inside, v + 0.25 * v * v, -1.0),
                nx.where(inside, 1.0 + 0.5 * v, 0.0))

    return _with_fgan(
        _identity, conj, comp,
        name="pearson",
        f=lambda u: (_as_float(u) - 1.0) ** 2,
        f_prime=lambda u: 2.0 * (_as_float(u) - 1.0),
        conjugate_domain=Interval(-math.inf, math.inf),
        value_range=Interval(0.0, math.inf, True, True),
        symmetric=False,
        integral=r"\int (p-q)^2/q",
        f_dual=lambda v: (1.0 - _as_float(v)) ** 2 * _inv(v),
        log_f0_dual_asymptote=lambda lv: -_as_float(lv),
    )


def _neg_expm1(nx, v):
    """1 - e^(-v): the activation of Neyman and squared Hellinger."""
    return -nx.expm1(-v)


def _neyman() -> FDivergence:
    def conj(nx, t):
        return nx.where(t <= 1.0, 2.0 - 2.0 * nx.sqrt(nx.maximum(1.0 - t, 0.0)), nx.inf)

    def comp(nx, v):
        return _neg_expm1(nx, v), nx.exp(-v), -2.0 * nx.expm1(-0.5 * v), nx.exp(-0.5 * v)

    def f(u):
        u = _as_float(u)
        # (1 - u) * ((1 - u) / u): no overflow of (1 - u)^2 for huge u
        return np.where(u > 0, (1.0 - u) * ((1.0 - u) * _inv(u)), np.inf)

    return _with_fgan(
        _neg_expm1, conj, comp,
        name="neyman",
        f=f,
        f_prime=lambda u: 1.0 - _inv(u) ** 2,
        conjugate_domain=Interval(-math.inf, 1.0, high_closed=True),
        value_range=Interval(0.0, math.inf, True, True),
        symmetric=False,
        integral=r"\int (p-q)^2/p",
        f_dual=lambda v: (_as_float(v) - 1.0) ** 2,
        log_f0_asymptote=lambda lu: -_as_float(lu),
    )


def _squared_hellinger() -> FDivergence:
    def conj(nx, t):
        ok = t < 1.0
        return nx.where(ok, t / nx.where(ok, 1.0 - t, 1.0), nx.inf)

    def comp(nx, v):
        return _neg_expm1(nx, v), nx.exp(-v), nx.expm1(v), nx.exp(v)

    def f(u):
        return (np.sqrt(_as_float(u)) - 1.0) ** 2

    return _with_fgan(
        _neg_expm1, conj, comp, top=1.0,
        name="squared_hellinger",
        f=f,
        f_prime=lambda u: _inside(1.0 - np.sqrt(_inv(u)), 1.0),
        conjugate_domain=Interval(-math.inf, 1.0),
        value_range=Interval(0.0, 2.0, True, True),
        symmetric=True,
        integral=r"\int (\sqrt{p}-\sqrt{q})^2",
        f_dual=f,
    )


def _jeffreys_conj_w(nx, w):
    """(f*(t), (f*)'(t)) = (1/w - log w - 1, 1/w) from w = W(e^(1-t)).

    w solves w + log w = 1 - t, so w + 1/w + t - 2 = 1/w - log w - 1 (no cancellation
    of w + t for t << 0); w = 0 (e^(1-t) underflows) gives inf, with a zero, not NaN,
    gradient in torch.
    """
    zero = w == 0
    ws = nx.where(zero, 1.0, w)
    return (nx.where(zero, nx.inf, 1.0 / ws - nx.log(ws) - 1.0),
            nx.where(zero, nx.inf, 1.0 / ws))


def _jeffreys() -> FDivergence:
    def f(u):
        u = _as_float(u)
        return np.where(u > 0, (u - 1.0) * _log_u(u), np.inf)

    def conj(nx, t):
        return _jeffreys_conj_w(nx, nx.wexp(1.0 - t))[0]

    def comp(nx, v):
        # (f*)'(t) = u* = 1/w with w = W(e^(1 - t)) solving w + log w = 1 - t
        b, db = _jeffreys_conj_w(nx, nx.wexp(1.0 - v))
        return v, nx.ones_like(v), b, db

    return _with_fgan(
        _identity, conj, comp,
        name="jeffreys",
        f=f,
        f_prime=lambda u: _log_u(u) + 1.0 - _inv(u),
        conjugate_domain=Interval(-math.inf, math.inf),
        value_range=Interval(0.0, math.inf, True, True),
        symmetric=True,
        integral=r"\int (p-q)\log(p/q) = \mathrm{KL}(P\|Q)+\mathrm{KL}(Q\|P)",
        f_dual=f,
        logarithmic=True,
        log_f0_asymptote=lambda lu: np.log(-_as_float(lu)),
        log_f0_dual_asymptote=lambda lv: np.log(-_as_float(lv)),
    )


def _js_weighted_fgan(pi: float) -> dict:
    """g_f, f* and f* o g_f of the weighted JS divergence (JS is pi = 1/2)."""
    top = -pi * math.log(pi)
    log1m = math.log1p(-pi)
    log_pi = math.log(pi)

    def g(nx, v):
        return top - pi * nx.softplus(-v)

    def conj(nx, t):
        ok = t < top
        # 1 - pi e^(t/pi) = -expm1(t/pi + log pi): accurate up to the endpoint
        inner = -nx.expm1(nx.where(ok, t, 0.0) / pi + log_pi)
        return nx.where(ok, -(1.0 - pi) * (nx.log(inner) - log1m), nx.inf)

    def comp(nx, v):
        # pi e^(t/pi) = sigmoid(v), so f*(t) = (1 - pi)(softplus(v) + log(1 - pi))
        return (g(nx, v), pi * nx.sigmoid(-v), (1.0 - pi) * (nx.softplus(v) + log1m),
                (1.0 - pi) * nx.sigmoid(v))

    return {"g": g, "conj": conj, "comp": comp, "top": top}


def _js() -> FDivergence:
    def f(u):
        u = _as_float(u)
        return 0.5 * (special.xlogy(u, u) - (u + 1.0) * np.log1p(0.5 * (u - 1.0)))

    def conj(nx, t):
        ok = t < 0.5 * _LOG2
        # -1/2 log(2 - e^(2t)) = -1/2 [log 2 + log(-expm1(2t - log 2))], accurate near the end
        inner = -nx.expm1(2.0 * nx.where(ok, t, 0.0) - _LOG2)
        return nx.where(ok, -0.5 * (_LOG2 + nx.log(inner)), nx.inf)

    weighted = _js_weighted_fgan(0.5)
    return _with_fgan(
        weighted["g"], conj, weighted["comp"], top=weighted["top"],
        name="js",
        f=f,
        f_prime=lambda u: _inside(-0.5 * np.log(0.5 + 0.5 * _inv(u)), 0.5 * _LOG2),
        conjugate_domain=Interval(-math.inf, 0.5 * _LOG2),
        value_range=Interval(0.0, _LOG2, True, True),
        symmetric=True,
        integral=r"\tfrac12 \mathrm{KL}(P\|M) + \tfrac12 \mathrm{KL}(Q\|M),\ M = (P+Q)/2",
        f_dual=f,
        logarithmic=True,
    )


def _js_weighted(pi: float) -> FDivergence:
    pi = check_real(pi, "pi", low=0.0, high=1.0)
    ent = -pi * math.log(pi) - (1 - pi) * math.log1p(-pi)
    fgan = _js_weighted_fgan(pi)
    top = fgan["top"]

    def gen(w):
        def f(u):
            u = _as_float(u)
            # m log m with m = 1 + w (u - 1), via log1p near u = 1
            return w * special.xlogy(u, u) - (1.0 + w * (u - 1.0)) * np.log1p(w * (u - 1.0))
        return f

    def f_prime(u):
        # pi (log u - log(1 - pi + pi u)) = -pi log(pi + (1 - pi)/u), stable for large u
        with np.errstate(divide="ignore"):
            return _inside(-pi * np.log(pi + (1.0 - pi) * _inv(u)), top)

    return _with_fgan(
        fgan["g"], fgan["conj"], fgan["comp"], top=top,
        name="js_weighted",
        f=gen(pi),
        f_prime=f_prime,
        conjugate_domain=Interval(-math.inf, top),
        value_range=Interval(0.0, ent, True, True),
        symmetric=pi == 0.5,
        integral=r"\pi \mathrm{KL}(P\|M) + (1-\pi) \mathrm{KL}(Q\|M),\ M = \pi P + (1-\pi) Q",
        f_dual=gen(1.0 - pi),
        logarithmic=True,
        params={"pi": pi},
    )


def _gan() -> FDivergence:
    def f(u):
        u = _as_float(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            small = special.xlogy(u, u) - (u + 1.0) * np.log1p(u)
            # u log u - (u+1) log(u+1) = -u log1p(1/u) - log1p(u), no cancellation for u > 1
            large = -u * np.log1p(_inv(np.maximum(u, 1.0))) - np.log1p(u)
        return np.where(u <= 1.0, small, large)

    def g(nx, v):
        return -nx.softplus(-v)

    def conj(nx, t):
        ok = t < 0
        tt = nx.where(ok, t, -1.0)
        # -log(1 - e^t): log1p(-e^t) keeps relative accuracy for t << 0
        val = nx.where(tt < -_LOG2, -nx.log1p(-nx.exp(tt)), -nx.log(-nx.expm1(tt)))
        return nx.where(ok, val, nx.inf)

    def comp(nx, v):
        return g(nx, v), nx.sigmoid(-v), nx.softplus(v), nx.sigmoid(v)

    return _with_fgan(
        g, conj, comp, top=0.0,
        name="gan",
        f=f,
        f_prime=lambda u: _inside(-np.log1p(_inv(u)), 0.0),
        conjugate_domain=Interval(-math.inf, 0.0),
        value_range=Interval(-2 * _LOG2, 0.0, True, True),
        symmetric=True,
        integral=r"\int p\log\frac{2p}{p+q} + q\log\frac{2q}{p+q} - \log 4 = 2\,\mathrm{JS} - \log 4",
        f_dual=f,
        logarithmic=True,
    )


def _tv() -> FDivergence:
    def f(u):
        return 0.5 * np.abs(_as_float(u) - 1.0)

    def g(nx, v):
        return 0.5 * nx.tanh(v)

    def conj(nx, t):
        return nx.where(t <= 0.5, nx.maximum(t, -0.5), nx.inf)

    def comp(nx, v):
        a = g(nx, v)
        da = 0.5 / nx.cosh(v) ** 2
        return a, da, a, da

    return _with_fgan(
        g, conj, comp,
        name="tv",
        f=f,
        f_prime=lambda u: 0.5 * np.sign(_as_float(u) - 1.0),
        conjugate_domain=Interval(-math.inf, 0.5, high_closed=True),
        value_range=Interval(0.0, 1.0, True, True),
        symmetric=True,
        integral=r"\tfrac12 \int |p-q|",
        f_dual=f,
    )


def _alpha_fgan(a: float) -> tuple:
    """(g, conj, comp, top) of the alpha-divergence; top is None for alpha > 1."""
    p = a / (a - 1.0)

    def conj(nx, t):
        s = 1.0 + (a - 1.0) * t
        if a > 1:
            return (nx.maximum(s, 0.0) ** p - 1.0) / a
        ok = (s >= 0) if a < 0 else (s > 0)
        return nx.where(ok, (nx.where(ok, s, 1.0) ** p - 1.0) / a, nx.inf)

    if a > 1:
        def comp(nx, v):
            s = nx.maximum(1.0 + (a - 1.0) * v, 0.0)
            return (v, nx.ones_like(v), (s ** p - 1.0) / a, s ** (1.0 / (a - 1.0)))
        return _identity, conj, comp, None

    top = 1.0 / (1.0 - a)

    def g(nx, v):
        return top - nx.softplus(-v)

    def comp(nx, v):
        # s = 1 + (alpha - 1) t = (1 - alpha) softplus(-v) > 0, handled in logs
        log_s = math.log1p(-a) + _log_softplus(nx, -v)
        # (f* o g)' = s^(1/(alpha-1)) sigmoid(-v); beyond v = 50 (outside the estimators'
        # clip range, where the product form has always been used) the product would
        # overflow times underflow, so it is taken in logs: log sigmoid(-v) = -softplus(v)
        far = v > 50.0
        db = nx.where(far, nx.exp(log_s / (a - 1.0) - nx.softplus(nx.where(far, v, 0.0))),
                      nx.exp(log_s / (a - 1.0)) * nx.sigmoid(-v))
        return g(nx, v), nx.sigmoid(-v), nx.expm1(p * log_s) / a, db
    return g, conj, comp, top


def _alpha(alpha: float) -> FDivergence:
    a = check_real(alpha, "alpha", exclude=(0.0, 1.0))
    den = a * (a - 1.0)

    def gen(b):
        d = b * (b - 1.0)

        def f(u):
            u = _as_float(u)
            with np.errstate(divide="ignore"):
                return (u ** b - 1.0 - b * (u - 1.0)) / d
        return f

    def f_prime(u):
        u = _as_float(u)
        with np.errstate(divide="ignore"):
            out = (u ** (a - 1.0) - 1.0) / (a - 1.0)
        return out if a > 1 else _inside(out, 1.0 / (1.0 - a))

    g, conj, comp, top = _alpha_fgan(a)
    if a > 1:
        dom = Interval(-math.inf, math.inf)
        vr = Interval(0.0, math.inf, True, True)
    else:
        dom = Interval(-math.inf, top, high_closed=a < 0)
        vr = Interval(0.0, 1.0 / (a * (1.0 - a)) if a > 0 else math.inf, True, True)
    return _with_fgan(
        g, conj, comp, top=top,
        name="alpha",
        f=gen(a),
        f_prime=f_prime,
        conjugate_domain=dom,
        value_range=vr,
        symmetric=a == 0.5,
        integral=r"\frac{\int p^\alpha q^{1-\alpha} - 1}{\alpha(\alpha-1)}",
        f_dual=gen(1.0 - a),
        params={"alpha": a},
        log_f0_asymptote=(lambda lu: a * _as_float(lu) - math.log(den)) if a < 0 else None,
        log_f0_dual_asymptote=(lambda lv: (1 - a) * _as_float(lv) - math.log(den)) if a > 1
        else None,
    )


# ---------------------------------------------------------------------------------
# registry

# name -> (factory, required parameter names)
_REGISTRY: dict[str, tuple[Callable[..., FDivergence], tuple[str, ...]]] = {}

_LABEL_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def _register_family(name: str, factory, params: tuple[str, ...] = ()) -> None:
    if name in _REGISTRY:
        raise ValueError(f"an f-divergence named {name!r} is already registered")
    _REGISTRY[name] = (factory, params)


for _name, _fac, _params in [
    ("kl", _kl, ()), ("reverse_kl", _reverse_kl, ()), ("pearson", _pearson, ()),
    ("neyman", _neyman, ()), ("squared_hellinger", _squared_hellinger, ()),
    ("jeffreys", _jeffreys, ()), ("js", _js, ()), ("js_weighted", _js_weighted, ("pi",)),
    ("gan", _gan, ()), ("tv", _tv, ()), ("alpha", _alpha, ("alpha",)),
]:
    _register_family(_name, _fac, _params)
del _name, _fac, _params


def fdivergences() -> tuple[str, ...]:
    """Canonical names of the registered f-divergences, in registration order.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> import divest as dv
    >>> dv.fdivergences()[:4]
    ('kl', 'reverse_kl', 'pearson', 'neyman')
    """
    return tuple(_REGISTRY)


def parse_label(name: str) -> tuple[str, dict[str, float]]:
    """Split ``"alpha(alpha=0.5)"`` into ``("alpha", {"alpha": 0.5})``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {name!r}")
    m = _LABEL_RE.match(name)
    if m is None:
        raise ValueError(f"name={name!r} is not a divergence name like 'kl' or 'alpha(alpha=0.5)'")
    base, inner = m.group(1), m.group(2)
    params: dict[str, float] = {}
    if inner:
        for item in inner.split(","):
            key, sep, val = item.partition("=")
            if not sep:
                raise ValueError(f"name={name!r}: parameter {item.strip()!r} is not key=value")
            try:
                params[key.strip()] = float(val)
            except ValueError as exc:
                raise ValueError(f"name={name!r}: parameter {key.strip()} = {val.strip()!r} "
                                 "is not a number") from exc
    return base, params


def merge_params(name: str, params: dict) -> tuple[str, dict]:
    """Base name and parameters from a label plus keywords; a clash raises ValueError."""
    base, parsed = parse_label(name)
    for k, v in parsed.items():
        if k in params and params[k] != v:
            raise ValueError(f"parameter {k} given twice: {v} in name={name!r} and {params[k]}")
    return base, {**parsed, **params}


def get_fdivergence(name: str, **params) -> FDivergence:
    """Look up a registered f-divergence, instantiating a family with its parameters.

    Parameters
    ----------
    name : str
        A name from :func:`fdivergences`, or a label with parameters such as
        ``"alpha(alpha=0.5)"``.
    **params
        Parameters of a family: ``pi`` in (0, 1) for ``js_weighted``, ``alpha``
        (real, not 0 or 1) for ``alpha``.

    Returns
    -------
    FDivergence

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones), a missing, unexpected or
        invalid parameter.

    Examples
    --------
    >>> import divest as dv
    >>> dv.get_fdivergence("js").value_range
    [0, 0.693147]
    >>> dv.get_fdivergence("js_weighted", pi=0.25).label
    'js_weighted(pi=0.25)'
    """
    base, params = merge_params(name, params)
    if base not in _REGISTRY:
        raise ValueError(
            f"unknown f-divergence name={base!r}; registered: {', '.join(_REGISTRY)}"
        )
    factory, required = _REGISTRY[base]
    missing = [p for p in required if p not in params]
    extra = [p for p in params if p not in required]
    if missing:
        raise ValueError(f"f-divergence {base!r} needs parameter(s) {missing}; got {params}")
    if extra:
        raise ValueError(
            f"f-divergence {base!r} takes parameter(s) {list(required) or 'none'}; "
            f"got unexpected {extra}"
        )
    return factory(**params)


def register_fdivergence(fd: FDivergence) -> FDivergence:
    """Register a user-defined f-divergence under ``fd.name``.

    Parameters
    ----------
    fd : FDivergence
        A divergence without family parameters.

    Returns
    -------
    FDivergence
        ``fd`` itself, so that this can be used as a one-liner.

    Raises
    ------
    ValueError
        If a divergence with the same name is already registered.

    Examples
    --------
    >>> import divest as dv, numpy as np
    >>> base = dv.get_fdivergence("pearson")
    >>> half = dv.FDivergence(name="half_pearson", f=lambda u: 0.5 * base.f(u),
    ...     f_prime=lambda u: 0.5 * base.f_prime(u),
    ...     conjugate=lambda t: 0.5 * base.conjugate(2 * np.asarray(t)),
    ...     conjugate_domain=base.conjugate_domain, activation=base.activation,
    ...     value_range=base.value_range, symmetric=False)
    >>> _ = dv.register_fdivergence(half)
    >>> float(dv.discrete_divergence([0.5, 0.5], [0.25, 0.75], "half_pearson"))
    0.1666...
    >>> dv.register_fdivergence(half)
    Traceback (most recent call last):
    ...
    ValueError: an f-divergence named 'half_pearson' is already registered
    >>> dv.fdiv._unregister("half_pearson")
    """
    if not isinstance(fd, FDivergence):
        raise TypeError(f"fd must be an FDivergence; got {type(fd).__name__}")
    if fd.params:
        raise ValueError(f"fd.params must be empty for a registered divergence; got {fd.params}")
    _register_family(fd.name, lambda: fd, ())
    return fd


def _unregister(name: str) -> None:
    """Remove a user registration (for tests and doctests)."""
    _REGISTRY.pop(name, None)
