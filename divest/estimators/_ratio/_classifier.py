"""The classifier route: model selection by held-out log-loss (``model="auto"``), the
one-standard-error rule, and the cross-fitted fit."""

from __future__ import annotations

import math

import numpy as np

from ..._validation import check_positive_int
from ._crossfit import _crossfit_classifier, _folds, _half_fits, _seed
from ._models import (_auto_candidates, _check_model, _fit_quiet, _logit, _make_model,
                      _seeded_clone)
from ._state import RatioFit

def _log_loss(lp, lq, n, m):
    """Out-of-fold log-loss of the classifier (labels 1 for X, 0 for Y), from log-ratios."""
    prior = math.log(m / n)
    with np.errstate(invalid="ignore"):
        sp, sq = lp - prior, lq - prior  # back to the logits of the pooled problem
        loss = np.logaddexp(0.0, -sp).sum() + np.logaddexp(0.0, sq).sum()
    return float(loss / (n + m))


def _point_log_loss(lp, lq, n, m):
    """Per-point out-of-fold log-loss (X's points, then Y's); its mean is :func:`_log_loss`."""
    prior = math.log(m / n)
    with np.errstate(invalid="ignore"):
        return np.r_[np.logaddexp(0.0, -(lp - prior)), np.logaddexp(0.0, lq - prior)]


def _indistinguishable(fits, chosen, n, m):
    """The candidates whose held-out log-loss is within one standard error of the chosen
    one's: the one-standard-error rule of model selection (also used, with the squared
    loss, by ``divergence(method="auto")`` for Pearson).  The SE is that of the mean of
    the paired per-point differences over the pooled out-of-fold points of X and Y."""
    base = _point_log_loss(fits[chosen][0], fits[chosen][1], n, m)
    alike = []
    for kind, fit in fits.items():
        if kind == chosen:
            continue
        diff = _point_log_loss(fit[0], fit[1], n, m) - base
        if not np.all(np.isfinite(diff)):
            continue
        if diff.mean() <= diff.std(ddof=1) / math.sqrt(diff.size):
            alike.append(kind)
    return alike


def _subsample(n, m, size, cv, rng):
    """Random indices of about ``size`` points in the proportion n : m, at least cv of each."""
    ns = min(n, max(cv, int(round(size * n / (n + m)))))
    ms = min(m, max(cv, size - ns))
    return rng.choice(n, ns, replace=False), rng.choice(m, ms, replace=False)


def _fit_classifier(X, Y, cv, rng, model, half, refit=False, select_max=4000):
    n, m = X.shape[0], Y.shape[0]
    model = _check_model(model)
    refit = bool(refit)
    select_max = check_positive_int(select_max, "select_max", minimum=4 * cv)
    seed = _seed(rng)
    folds = _folds(n, m, cv, rng)
    details = {"cv": cv}
    state = {"dim": X.shape[1]}
    if isinstance(model, str) and model == "auto":
        small = n + m <= select_max
        if small:
            sel_X, sel_Y, sel_folds = X, Y, folds
        else:
            ix, iy = _subsample(n, m, select_max, cv, rng)
            sel_X, sel_Y = X[ix], Y[iy]
            sel_folds = _folds(ix.size, iy.size, cv, rng)
        scores, fits = {}, {}
        for kind in _auto_candidates(X.shape[1]):
            fit = _crossfit_classifier(_make_model(kind, seed), sel_X, sel_Y, sel_folds, seed)
            scores[kind] = _log_loss(fit[0], fit[1], sel_X.shape[0], sel_Y.shape[0])
            fits[kind] = fit
        chosen = min(scores, key=lambda k: (np.nan_to_num(scores[k], nan=np.inf), k))
        details["model"] = chosen
        details["cv_log_loss"] = scores
        details["selected_on"] = int(sel_X.shape[0] + sel_Y.shape[0])
        if half:
            alike = _indistinguishable(fits, chosen, sel_X.shape[0], sel_Y.shape[0])
            details["indistinguishable_models"] = sorted(alike)
            state["alternatives"] = {k: fits[k][:2] for k in [chosen, *alike]}
        estimator = _make_model(chosen, seed)
        fit = fits[chosen] if small else _crossfit_classifier(estimator, X, Y, folds, seed)
    else:
        estimator = _make_model(model, seed) if isinstance(model, str) else model
        details["model"] = model if isinstance(model, str) else repr(model)
        fit = _crossfit_classifier(estimator, X, Y, folds, seed)
    lp, lq, models, sources, n_warn = fit
    details["log_loss"] = _log_loss(lp, lq, n, m)
    pn = n / (n + m)
    details["prior_log_loss"] = float(-(pn * math.log(pn) + (1 - pn) * math.log1p(-pn)))
    details["logit_source"] = sources
    details["convergence_warnings"] = n_warn
    if refit:
        mdl = _seeded_clone(estimator, seed + cv)
        Z = np.vstack([X, Y])
        details["convergence_warnings"] += _fit_quiet(
            mdl, Z, np.r_[np.ones(n, dtype=int), np.zeros(m, dtype=int)])
        models = [(mdl, math.log(m / n))]
    details["refit"] = refit
    if half:
        state["half"] = _half_fits(
            folds, rng,
            lambda hf: _crossfit_classifier(estimator, X, Y, hf, seed)[:2])
    predictors = [lambda x, _mdl=mdl, _prior=prior: _logit(_mdl, x)[0] + _prior
                  for mdl, prior in models]
    return lp, lq, predictors, details, RatioFit(**state)
