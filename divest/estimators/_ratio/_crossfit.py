"""Cross-fitting: folds, the classifier's out-of-fold log-ratios, and the half-data fits
of the learning-curve allowance."""

from __future__ import annotations

import math

import numpy as np

from ..._validation import check_positive_int
from ._models import _fit_quiet, _logit, _seeded_clone
from ._state import HalfFits

#: number of disjoint half-data fits per fold whose estimates are averaged
_N_HALVES = 1
#: fewest points of each sample a half-data training set must hold
_MIN_HALF = 2


def _folds(n, m, cv, rng):
    """K pairs of (train, test) index arrays for X and for Y (independent shuffles)."""
    px, py = rng.permutation(n), rng.permutation(m)
    fx, fy = np.array_split(px, cv), np.array_split(py, cv)
    out = []
    for k in range(cv):
        trx = np.concatenate([fx[j] for j in range(cv) if j != k])
        try_ = np.concatenate([fy[j] for j in range(cv) if j != k])
        out.append((trx, fx[k], try_, fy[k]))
    return out


def _check_cv(cv, n, m):
    cv = check_positive_int(cv, "cv", minimum=2)
    if cv > min(n, m):
        raise ValueError(f"cv={cv} folds need at least {cv} samples in each of X and Y; got "
                         f"n={n} (X) and m={m} (Y)")
    return cv


def _seed(rng) -> int:
    return int(rng.integers(2 ** 31 - 1))


def _crossfit_classifier(model, X, Y, folds, seed):
    n, m = X.shape[0], Y.shape[0]
    lp, lq = np.empty(n), np.empty(m)
    models, sources, n_warn = [], set(), 0
    for k, (trx, tex, try_, tey) in enumerate(folds):
        mdl = _seeded_clone(model, seed + k)
        Z = np.vstack([X[trx], Y[try_]])
        lab = np.r_[np.ones(trx.size, dtype=int), np.zeros(try_.size, dtype=int)]
        n_warn += _fit_quiet(mdl, Z, lab)
        prior = math.log(try_.size / trx.size)  # log(m_train / n_train)
        sp, src = _logit(mdl, X[tex])
        sq, _ = _logit(mdl, Y[tey])
        sources.add(src)
        lp[tex], lq[tey] = sp + prior, sq + prior
        models.append((mdl, prior))
    return lp, lq, models, sorted(sources), n_warn


def _half_folds(folds, rng, count):
    """``count`` disjoint random halves of each fold's training points (X and Y halved
    separately, so the class proportions stay), with the same held-out points."""
    out = [[] for _ in range(count)]
    for trx, tex, try_, tey in folds:
        px, py = rng.permutation(trx), rng.permutation(try_)
        hx, hy = trx.size // 2, try_.size // 2
        for h in range(count):
            out[h].append((np.sort(px[h * hx:(h + 1) * hx]), tex,
                           np.sort(py[h * hy:(h + 1) * hy]), tey))
    return out


def _half_fits(folds, rng, fit):
    """Out-of-fold log-ratios of the same model fitted on halves of the training folds.

    ``fit(half_folds) -> (log_ratio_p, log_ratio_q)``.  Returns a :class:`HalfFits`
    with one array per half, or with a ``note`` saying why there are none.  Drawn from
    ``rng`` after every draw of the full fit, so the full fit (and the estimate) is the
    same with and without the half fits.
    """
    halves = _half_folds(folds, rng, _N_HALVES)
    small = min(min(f[0].size, f[2].size) for f in halves[0])
    if small < _MIN_HALF:
        return HalfFits(note=f"too few points for a half-data fit: a half training fold "
                             f"holds {small} point(s) of a sample (at least {_MIN_HALF} "
                             "needed)")
    lps, lqs = [], []
    for hf in halves:
        try:
            lp, lq = fit(hf)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            return HalfFits(note=f"the half-data fit failed: {exc}")
        if np.isnan(lp).any() or np.isnan(lq).any():
            return HalfFits(note="the half-data fit gave NaN log-ratios")
        lps.append(lp)
        lqs.append(lq)
    return HalfFits(tuple(lps), tuple(lqs))
