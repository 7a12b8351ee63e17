"""Plug-in estimates from out-of-fold log-ratios: the split form, Donsker-Varadhan KL,
uLSIF's Pearson form, and the influence-function standard error."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ...exact._common import finish, split_terms

def _plug_in(spec, form, lp, lq):
    """The value of the split or Donsker-Varadhan plug-in from out-of-fold log-ratios."""
    if form == "donsker_varadhan":
        return _dv_kl(lp, lq)[0]
    fd = spec.fd if spec.is_f else spec.alpha_fd
    tp, tq = split_terms(fd, lp, lq)
    return finish(spec, float(tq.mean() + tp.mean()), 0.0)[0]


def _ratio_terms(spec, form, lp, lq):
    """The per-point terms of a split or Donsker-Varadhan estimate that grow with the
    fitted ratio (what :func:`tail_check` inspects)."""
    if form == "donsker_varadhan":
        return {"p": lp, "q": np.exp(lq - np.max(lq))}
    fd = spec.fd if spec.is_f else spec.alpha_fd
    tp, tq = split_terms(fd, lp, lq)
    return {"p": tp, "q": tq}


def _ulsif_pearson(rp, rq):
    """uLSIF's Pearson estimate 2 mean r(X) - mean r(Y)^2 - 1 and its standard error."""
    tp, tq = 2.0 * rp, rq * rq
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(tp.mean() - tq.mean() - 1.0)
        se = math.sqrt(tp.var(ddof=1) / rp.shape[0] + tq.var(ddof=1) / rq.shape[0])
    return value, se


def _influence_se(fd, lr_p, lr_q):
    r"""Standard error from the influence function of :math:`D_f` at the fitted ratio.

    The efficient influence function of :math:`D_f(P\|Q)` has the per-point terms
    :math:`f'(r(x))` under P and :math:`f(r(y)) - r(y) f'(r(y))` under Q; the limit
    :math:`u f'(u) \to 0` as :math:`u \to 0` holds whenever :math:`f(0)` is finite.
    Returns ``inf`` when a term is infinite (a fitted ratio 0 at a point of X or
    infinite at a point of Y, where the estimate is unstable).
    """
    n, m = lr_p.shape[0], lr_q.shape[0]
    with np.errstate(all="ignore"):
        up, uq = np.exp(lr_p), np.exp(lr_q)
        a = np.asarray(fd.f_prime(up), dtype=float)
        fq = np.asarray(fd.f_prime(uq), dtype=float)
        b = np.asarray(fd.f(uq), dtype=float) - np.where(uq == 0, 0.0, uq * fq)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return math.inf
        var = a.var(ddof=1) / n + b.var(ddof=1) / m
    return math.sqrt(var) if math.isfinite(var) else math.inf


def _dv_kl(lp, lq):
    """Donsker-Varadhan KL: mean log r over X minus log mean r over Y, with a delta-method SE."""
    if np.isneginf(lp).any() or np.isposinf(lq).any():
        raise ValueError(
            "the Donsker-Varadhan KL is undefined here: the fitted ratio is 0 at "
            f"{int(np.isneginf(lp).sum())} point(s) of X and infinite at "
            f"{int(np.isposinf(lq).sum())} point(s) of Y; use name='kl' (split plug-in)")
    n, m = lp.shape[0], lq.shape[0]
    a = float(np.mean(lp))
    b = float(special.logsumexp(lq) - math.log(m))
    value = a - b
    if not math.isfinite(value):
        return value, math.nan
    with np.errstate(under="ignore"):
        w = np.exp(lq - b)  # r(y) / mean r(Y)
    se = math.sqrt(lp.var(ddof=1) / n + w.var(ddof=1) / m)
    return value, se
