"""Helpers shared by the exact methods: dispatch types, parameters, validation."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.stats._distn_infrastructure import rv_frozen, rv_generic, rv_sample

from .._names import Spec
from .._validation import describe_distribution
from ..distributions import dimension

__all__: list[str] = []


def dispatch_type(dist) -> type:
    """The type a distribution is dispatched on.

    Frozen scipy.stats univariate distributions dispatch on their generator class
    (``type(stats.norm)``); everything else on its own type.
    """
    if isinstance(dist, rv_frozen):
        return type(dist.dist)
    return type(dist)


def as_dispatch_type(t) -> type:
    """Accept a type, or a scipy generator instance such as ``stats.norm``."""
    if isinstance(t, type):
        return t
    if isinstance(t, rv_generic):
        return type(t)
    raise TypeError(f"expected a type or a scipy.stats distribution generator; got {t!r}")


def as_univariate(dist):
    """A 1-D ``multivariate_normal`` as the equivalent ``stats.norm`` (for 1-D quadrature)."""
    from scipy.stats._multivariate import multivariate_normal_frozen
    if isinstance(dist, multivariate_normal_frozen) and dimension(dist) == 1:
        return stats.norm(float(np.ravel(dist.mean)[0]), float(np.sqrt(np.ravel(dist.cov)[0])))
    return dist


def shapes_loc_scale(dist):
    """(shape parameters, loc, scale) of a frozen scipy.stats distribution."""
    return dist.dist._parse_args(*dist.args, **dist.kwds)


def is_discrete(dist) -> bool:
    return isinstance(dist, rv_sample) or (
        isinstance(dist, rv_frozen) and isinstance(dist.dist, stats.rv_discrete))


def logdensity(dist, x):
    """Log-density (continuous) or log-pmf (discrete), without overflow warnings."""
    with np.errstate(over="ignore", under="ignore"):
        if hasattr(dist, "logpdf") and not is_discrete(dist):
            return np.asarray(dist.logpdf(x), dtype=float)
        return np.asarray(dist.logpmf(x), dtype=float)


def check_same_kind(P, Q) -> bool:
    """Refuse a discrete distribution against a continuous one; return whether both are discrete.

    Such a pair is mutually singular (a countable support has Lebesgue measure 0), so a
    density ratio does not exist and log-pmf minus log-pdf is not a log-ratio of anything:
    Monte Carlo on it gave a finite KL (1.31 for Poisson(1) against N(0, 1), truth inf).
    The exact methods raise ``ValueError`` instead of returning a number.
    """
    dp, dq = is_discrete(P), is_discrete(Q)
    if dp != dq:
        kinds = {True: "discrete", False: "continuous"}
        raise ValueError(f"P and Q must be both discrete or both continuous; got P {kinds[dp]} "
                         f"({describe_distribution(P)}) and Q {kinds[dq]} ({describe_distribution(Q)}): a discrete and a continuous "
                         "distribution are mutually singular (f-divergences take their "
                         "singular value f(0) + f'(inf): KL inf, JS log 2, TV 1)")
    return dp


def same_dimension(P, Q) -> int:
    dp, dq = dimension(P), dimension(Q)
    if dp != dq:
        raise ValueError(f"P and Q must have the same dimension; got {dp} and {dq}")
    return dp


def require_density_based(spec: Spec, method: str) -> None:
    if not spec.density_based:
        raise ValueError(f"{method} computes density-based divergences (f-divergences, renyi, "
                         f"bhattacharyya); {spec.label!r} is not one")


def finish(spec: Spec, value0: float, err: float):
    """Map the integral of q f0(p/q) to the quantity: add f(1), or apply the Rényi map."""
    fd = spec.fd if spec.is_f else spec.alpha_fd
    value = fd.f_one + value0
    if spec.is_f:
        return float(value), float(err)
    v, e = spec.from_alpha_value(value, err)
    return float(v), float(e)


def split_terms(fd, lr_p, lr_q):
    r"""Per-point terms of :math:`D_f = f(1) + E_Q[f_0(r) 1\{r \le 1\}] + E_P[f_0^\diamond(1/r) 1\{r > 1\}]`.

    ``lr_p`` and ``lr_q`` are log p/q at the samples of P and of Q; returns
    ``(tp, tq)``.  Ratios beyond e^40 use the log-asymptotes of f0, so the terms stay
    finite in the tails; a NaN term raises.
    """
    lr_p = np.asarray(lr_p, dtype=float)
    lr_q = np.asarray(lr_q, dtype=float)
    tq = np.zeros(lr_q.shape)
    tp = np.zeros(lr_p.shape)
    below = lr_q <= 0
    above = lr_p > 0
    with np.errstate(all="ignore"):
        tq[below] = fd._f0(np.exp(lr_q[below]))
        tp[above] = fd._f0_dual(np.exp(-lr_p[above]))
    for asym, lr, t, sign in ((fd.log_f0_asymptote, lr_q, tq, 1.0),
                              (fd.log_f0_dual_asymptote, lr_p, tp, -1.0)):
        if asym is not None:
            ext = (sign * lr < -40.0) & np.isfinite(lr)
            if ext.any():
                with np.errstate(all="ignore"):
                    t[ext] = np.exp(asym(sign * lr[ext]))
    if np.isnan(tq).any() or np.isnan(tp).any():
        raise FloatingPointError(f"the integrand of {fd.label} evaluated to NaN")
    return tp, tq
