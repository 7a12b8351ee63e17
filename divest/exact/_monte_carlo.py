"""Monte Carlo estimation of density-based divergences in any dimension."""

from __future__ import annotations

import math

import numpy as np

from .. import _names
from .._result import Estimate
from .._validation import check_distribution, check_positive_int, check_rng
from ._common import (check_same_kind, finish, logdensity, require_density_based,
                      same_dimension, split_terms)

__all__ = ["monte_carlo"]


def monte_carlo(P, Q, name="kl", *, n=100_000, rng=None, **params) -> Estimate:
    r"""Divergence between two distributions with known densities by Monte Carlo.

    With :math:`f_0(u) = f(u) - f(1) - f'(1)(u-1) \ge 0` and
    :math:`f_0^\diamond(v) = v f_0(1/v)`, the divergence splits into two
    expectations over the regions where the ratio :math:`r = p/q` is below and
    above one:

    .. math:: D_f = f(1) + \mathbb{E}_Q\big[f_0(r)\,\mathbf 1\{r \le 1\}\big]
                  + \mathbb{E}_P\big[f_0^\diamond(1/r)\,\mathbf 1\{r > 1\}\big],

    each estimated from ``n`` independent samples of Q and of P.  Ratios are formed
    in log space and always smaller-over-larger, so nothing overflows; for a bounded
    divergence (JS, TV, Hellinger, ...) both integrands are bounded.  The standard
    error is :math:`\sqrt{s_Q^2/n + s_P^2/n}` (delta method for Rényi and
    Bhattacharyya).  The estimator is unbiased for f-divergences; its standard error
    is only meaningful when the integrands have finite variance (not, e.g., for
    Pearson chi-squared when the true value is infinite).

    Parameters
    ----------
    P, Q : distributions
        With ``logpdf`` (or ``logpmf``) and ``rvs(size, random_state)``, any dimension.
    name : str
        A density-based divergence (f-divergence, ``renyi``, ``bhattacharyya``).
    n : int
        Samples drawn from each of P and Q (cost: 2n draws, 4n density evaluations).
    rng : None, int or numpy.random.Generator
    **params
        Parameters of the divergence.

    Returns
    -------
    Estimate
        ``method="monte_carlo"``, ``n_p = n_q = n``.

    Raises
    ------
    TypeError
        P or Q is not a distribution with ``logpdf``/``logpmf`` and ``rvs``.
    ValueError
        Invalid scipy parameters (``stats.norm(0, -1)``), dimensions that differ, or a
        discrete against a continuous distribution: such a pair is mutually singular and
        log-pmf minus log-pdf is no log-ratio (Monte Carlo returned a finite KL for
        Poisson(1) against N(0, 1), whose KL is inf).

    Examples
    --------
    >>> from scipy import stats
    >>> import divest as dv
    >>> est = dv.exact.monte_carlo(stats.norm(0, 1), stats.norm(1, 2), "js", n=20000, rng=0)
    >>> abs(est.value - 0.128175) < 4 * est.standard_error
    True
    """
    return _monte_carlo(*_monte_carlo_iv(P, Q, name, n, rng, params))


def _monte_carlo_iv(P, Q, name, n, rng, params, *, distributions_checked=False):
    """Validated arguments of :func:`monte_carlo`; ``distributions_checked=True``: P and Q
    already passed ``check_distribution`` and have densities and samplers
    (``divest.crosscheck``)."""
    spec = _names.resolve(name, **params)
    require_density_based(spec, "monte_carlo")
    if not distributions_checked:
        check_distribution(P, "P", need_density=True, need_rvs=True)
        check_distribution(Q, "Q", need_density=True, need_rvs=True)
    same_dimension(P, Q)
    check_same_kind(P, Q)
    n = check_positive_int(n, "n", minimum=2)
    rng = check_rng(rng)
    return P, Q, spec, n, rng


def _monte_carlo(P, Q, spec, n, rng) -> Estimate:
    """The Monte Carlo estimate from validated arguments (:func:`_monte_carlo_iv`)."""
    fd = spec.fd if spec.is_f else spec.alpha_fd
    xq = Q.rvs(size=n, random_state=rng)
    xp = P.rvs(size=n, random_state=rng)
    lr_q = logdensity(P, xq) - logdensity(Q, xq)
    lr_p = logdensity(P, xp) - logdensity(Q, xp)
    for label, lr in (("Q", lr_q), ("P", lr_p)):
        if np.isnan(lr).any():
            raise FloatingPointError(
                f"{int(np.isnan(lr).sum())} samples of {label} have zero density under both P "
                "and Q (log-densities -inf); check the supports")
    tp, tq = split_terms(fd, lr_p, lr_q)
    v0 = float(tq.mean() + tp.mean())
    if math.isinf(v0):
        se0 = 0.0
    else:
        se0 = math.sqrt(tq.var(ddof=1) / n + tp.var(ddof=1) / n)
    value, se = finish(spec, v0, se0)
    details = {"frac_ratio_above_one_under_P": float(np.mean(lr_p > 0)),
               "frac_ratio_below_one_under_Q": float(np.mean(lr_q <= 0))}
    return Estimate.from_value(value, standard_error=se, method="monte_carlo", name=spec.label,
                               n_p=n, n_q=n, details=details)
