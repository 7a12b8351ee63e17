"""Gaussian-kernel ratio models: uLSIF (least squares) and KLIEP (maximum likelihood
under the constraint mean r(Y) = 1), with their cross-validated hyperparameters."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special
from scipy.spatial.distance import pdist

from ..._validation import _describe, check_positive_int, check_real
from ._crossfit import _N_HALVES, _folds, _half_fits
from ._state import RatioFit, SmoothingFits

_SIGMA_FACTORS = 2.0 ** np.arange(-2.0, 1.01, 0.5)  # times the median distance
_LAM_GRID = 10.0 ** np.arange(-3.0, 1.01, 0.5)


def _sq_dist(A, C):
    d2 = (A * A).sum(1)[:, None] + (C * C).sum(1)[None, :] - 2.0 * A @ C.T
    return np.maximum(d2, 0.0)


def _median_distance(Z, rng):
    if Z.shape[0] > 1000:
        Z = Z[rng.choice(Z.shape[0], 1000, replace=False)]
    d = pdist(Z)
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1.0


def _grid(value, name, default):
    """A positive hyperparameter: None (the default grid), a number, or a sequence."""
    if value is None:
        return np.asarray(default, dtype=float)
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a positive number or a non-empty sequence of them; "
                         f"got {_describe(value)}")
    return arr


class _KernelModel:
    """r(x) = sum_l alpha_l exp(-|x - c_l|^2 / (2 sigma^2)), alpha >= 0.

    Give ``alpha`` (uLSIF) or ``log_alpha`` (KLIEP, whose coefficients can exceed
    the float range at small bandwidths: alpha_l = w_l / mean_Y phi_l).
    """

    def __init__(self, centers, sigma, alpha=None, *, log_alpha=None):
        self.centers, self.sigma = centers, sigma
        if log_alpha is None:
            with np.errstate(divide="ignore"):
                log_alpha = np.log(alpha)
        self.log_alpha = log_alpha

    def log_ratio(self, x):
        logk = -_sq_dist(x, self.centers) / (2.0 * self.sigma ** 2)
        return special.logsumexp(logk + self.log_alpha[None, :], axis=1)


def _centers(Xtr, b, rng):
    return Xtr[rng.choice(Xtr.shape[0], min(b, Xtr.shape[0]), replace=False)]


def _ulsif_solve(evals, evecs, hv, lam):
    """alpha~ = (H + lam I)^-1 h through the eigendecomposition of H."""
    return evecs @ (hv / (evals + lam))


def _ulsif_alpha(phx, phy, lam):
    """Clipped uLSIF coefficients max((H + lam I)^-1 h, 0) and the unclipped ones."""
    raw = np.linalg.solve(phy.T @ phy / phy.shape[0] + lam * np.eye(phy.shape[1]),
                          phx.mean(axis=0))
    return np.maximum(raw, 0.0), raw


def _ulsif_all_negative(sigma, lam):
    return FloatingPointError(
        f"uLSIF: every coefficient is negative at sigma={sigma:g}, lam={lam:g}; "
        "the fitted ratio would be identically 0 (pass other sigma/lam)")


def _fit_ulsif(X, Y, cv, rng, half, n_centers=100, sigma=None, lam=None, refit=False):
    n, m = X.shape[0], Y.shape[0]
    b = check_positive_int(n_centers, "n_centers", minimum=1)
    med = _median_distance(np.vstack([X, Y]), rng)
    sigmas = _grid(sigma, "sigma", med * _SIGMA_FACTORS)
    lams = _grid(lam, "lam", _LAM_GRID)
    folds = _folds(n, m, cv, rng)
    # pooled held-out score J = 1/2 mean_Y r^2 - mean_X r for every (sigma, lam)
    sq_y = np.zeros((sigmas.size, lams.size))
    s_x = np.zeros((sigmas.size, lams.size))
    centers = []
    for trx, tex, try_, tey in folds:
        C = _centers(X[trx], b, rng)
        centers.append(C)
        d2 = [_sq_dist(A, C) for A in (X[trx], Y[try_], X[tex], Y[tey])]
        for i, s in enumerate(sigmas):
            phx, phy, ptx, pty = (np.exp(-d / (2.0 * s * s)) for d in d2)
            H = phy.T @ phy / phy.shape[0]
            h = phx.mean(axis=0)
            evals, evecs = np.linalg.eigh(H)
            hv = evecs.T @ h
            for j, la in enumerate(lams):
                a = np.maximum(_ulsif_solve(evals, evecs, hv, la), 0.0)
                ry, rx = pty @ a, ptx @ a
                sq_y[i, j] += ry @ ry
                s_x[i, j] += rx.sum()
    scores = 0.5 * sq_y / m - s_x / n
    i, j = np.unravel_index(int(np.argmin(scores)), scores.shape)
    s_best, l_best = float(sigmas[i]), float(lams[j])
    # out-of-fold ratios with the chosen hyperparameters
    lp, lq = np.empty(n), np.empty(m)
    models, clipped, total, neg_pts = [], 0, 0, 0
    for (trx, tex, try_, tey), C in zip(folds, centers):
        phx, phy, ptx, pty = (np.exp(-_sq_dist(A, C) / (2.0 * s_best ** 2))
                              for A in (X[trx], Y[try_], X[tex], Y[tey]))
        a, raw = _ulsif_alpha(phx, phy, l_best)
        clipped += int((raw < 0).sum())
        total += raw.size
        neg_pts += int((ptx @ raw < 0).sum() + (pty @ raw < 0).sum())
        if not np.any(a > 0):
            raise _ulsif_all_negative(s_best, l_best)
        mdl = _KernelModel(C, s_best, a)
        lp[tex], lq[tey] = mdl.log_ratio(X[tex]), mdl.log_ratio(Y[tey])
        models.append(mdl)
    # the fit on all the data: uLSIF's own Pearson estimate is evaluated in sample
    C = _centers(X, b, rng)
    phx = np.exp(-_sq_dist(X, C) / (2.0 * s_best ** 2))
    phy = np.exp(-_sq_dist(Y, C) / (2.0 * s_best ** 2))
    full, _ = _ulsif_alpha(phx, phy, l_best)
    if not np.any(full > 0):
        raise _ulsif_all_negative(s_best, l_best)
    if refit:
        models = [_KernelModel(C, s_best, full)]
    state = {"dim": X.shape[1], "ratio_in_sample": (phx @ full, phy @ full)}
    if half:
        def fit_half(half_folds):
            hp, hq = np.empty(n), np.empty(m)
            for (trx, tex, try_, tey), C_k in zip(half_folds, centers):
                a, _ = _ulsif_alpha(*(np.exp(-_sq_dist(A, C_k) / (2.0 * s_best ** 2))
                                      for A in (X[trx], Y[try_])), l_best)
                if not np.any(a > 0):
                    raise _ulsif_all_negative(s_best, l_best)
                mdl = _KernelModel(C_k, s_best, a)
                hp[tex], hq[tey] = mdl.log_ratio(X[tex]), mdl.log_ratio(Y[tey])
            return hp, hq

        halves = _half_fits(folds, rng, fit_half)
        # uLSIF's in-sample Pearson at half size: the same centres and (sigma, lam),
        # fitted and evaluated on disjoint halves of X and of Y
        hx, hy = rng.permutation(n), rng.permutation(m)
        nh, mh = n // 2, m // 2  # at least the half training folds, >= _MIN_HALF
        if halves.note is None:
            pearson = []
            for h in range(_N_HALVES):
                ix, iy = hx[h * nh:(h + 1) * nh], hy[h * mh:(h + 1) * mh]
                a, _ = _ulsif_alpha(phx[ix], phy[iy], l_best)
                if not np.any(a > 0):
                    pearson = None
                    break
                pearson.append((phx[ix] @ a, phy[iy] @ a))
            halves = dataclasses.replace(halves, ratio_in_sample=pearson)
        state["half"] = halves
    details = {
        "cv": cv, "sigma": s_best, "lam": l_best, "median_distance": med,
        "sigma_grid": sigmas.tolist(), "lam_grid": lams.tolist(),
        "cv_scores": scores.tolist(), "n_centers": int(models[0].centers.shape[0]),
        "frac_coefficients_clipped": clipped / total,
        "frac_points_negative_before_clipping": neg_pts / (n + m),
        "refit": bool(refit),
    }
    return lp, lq, [mdl.log_ratio for mdl in models], details, RatioFit(**state)


def _kliep_em(B, max_iter, tol):
    """Maximise mean_i log (B w)_i over the simplex by EM (multiplicative) updates.

    ``B`` holds the kernel values divided by the constraint vector (columns) and
    shifted by row maxima (rows; EM is invariant to row scaling).
    """
    nb = B.shape[1]
    w = np.full(nb, 1.0 / nb)
    prev = -np.inf
    it = 0
    for it in range(1, max_iter + 1):
        s = np.maximum(B @ w, 1e-300)
        obj = float(np.mean(np.log(s)))
        w = w * (B.T @ (1.0 / s)) / B.shape[0]
        w /= w.sum()
        if obj - prev <= tol * max(1.0, abs(obj)):
            return w, it, True
        prev = obj
    return w, it, False


def _kliep_fit(logk_x, logk_y, max_iter, tol):
    """alpha >= 0 maximising mean log r(X) subject to mean r(Y) = 1, from log-kernels."""
    logb = special.logsumexp(logk_y, axis=0) - math.log(logk_y.shape[0])  # log mean_Y phi_l
    L = logk_x - logb[None, :]
    B = np.exp(L - L.max(axis=1, keepdims=True))
    w, it, ok = _kliep_em(B, max_iter, tol)
    with np.errstate(divide="ignore"):
        loga = np.log(w) - logb  # alpha_l = w_l / b_l
    return loga, it, ok


def _fit_kliep(X, Y, cv, rng, half, n_centers=100, sigma=None, max_iter=2000, tol=1e-6,
               refit=False):
    n, m = X.shape[0], Y.shape[0]
    b = check_positive_int(n_centers, "n_centers", minimum=1)
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_real(tol, "tol", low=0.0)
    med = _median_distance(np.vstack([X, Y]), rng)
    sigmas = _grid(sigma, "sigma", med * _SIGMA_FACTORS)
    folds = _folds(n, m, cv, rng)
    heldout = np.zeros(sigmas.size)
    heldout_q = np.full((len(folds), sigmas.size), -np.inf)
    fits = []  # per fold, per sigma: (C, loga)
    not_converged = 0
    for k, (trx, tex, try_, tey) in enumerate(folds):
        C = _centers(X[trx], b, rng)
        d2 = [_sq_dist(A, C) for A in (X[trx], Y[try_], X[tex], Y[tey])]
        per_sigma = []
        for i, s in enumerate(sigmas):
            kx, ky, kt, kq = (-d / (2.0 * s * s) for d in d2)
            loga, _, ok = _kliep_fit(kx, ky, max_iter, tol)
            not_converged += not ok
            heldout[i] += special.logsumexp(kt + loga[None, :], axis=1).sum()
            heldout_q[k, i] = special.logsumexp(kq + loga[None, :])
            per_sigma.append((C, loga))
        fits.append(per_sigma)
    heldout /= n
    heldout_dv = heldout - (special.logsumexp(heldout_q, axis=0) - math.log(m))
    i = int(np.argmax(heldout_dv))
    s_best = float(sigmas[i])
    lp, lq = np.empty(n), np.empty(m)
    models = []
    for (trx, tex, try_, tey), per_sigma in zip(folds, fits):
        C, loga = per_sigma[i]
        mdl = _KernelModel(C, s_best, log_alpha=loga)
        lp[tex], lq[tey] = mdl.log_ratio(X[tex]), mdl.log_ratio(Y[tey])
        models.append(mdl)
    if refit:
        C = _centers(X, b, rng)
        loga, _, ok = _kliep_fit(-_sq_dist(X, C) / (2 * s_best ** 2),
                                     -_sq_dist(Y, C) / (2 * s_best ** 2), max_iter, tol)
        not_converged += not ok
        models = [_KernelModel(C, s_best, log_alpha=loga)]
    extra, state = {}, {"dim": X.shape[1]}
    if half:
        half_not_converged = 0

        def fit_half(half_folds):
            nonlocal half_not_converged
            hp, hq = np.empty(n), np.empty(m)
            for (trx, tex, try_, tey), per_sigma in zip(half_folds, fits):
                C_k = per_sigma[i][0]
                kx, ky = (-_sq_dist(A, C_k) / (2.0 * s_best ** 2) for A in (X[trx], Y[try_]))
                loga, _, ok = _kliep_fit(kx, ky, max_iter, tol)
                half_not_converged += not ok
                mdl = _KernelModel(C_k, s_best, log_alpha=loga)
                hp[tex], hq[tey] = mdl.log_ratio(X[tex]), mdl.log_ratio(Y[tey])
            return hp, hq

        state["half"] = _half_fits(folds, rng, fit_half)
        state["smoothing"], smooth_not_converged = _kliep_smoothing_fits(
            X, Y, folds, fits, sigmas, i, max_iter, tol)
        half_not_converged += smooth_not_converged
        extra["half_not_converged"] = int(half_not_converged)
    details = {
        "cv": cv, "sigma": s_best, "median_distance": med,
        "sigma_grid": sigmas.tolist(), "cv_heldout_dv": heldout_dv.tolist(),
        "cv_heldout_loglik": heldout.tolist(),
        "n_centers": int(models[0].centers.shape[0]), "not_converged": int(not_converged),
        "refit": bool(refit), **extra,
    }
    return lp, lq, [mdl.log_ratio for mdl in models], details, RatioFit(**state)


def _kliep_smoothing_fits(X, Y, folds, fits, sigmas, i, max_iter, tol):
    """Out-of-fold log-ratios of KLIEP at the bandwidth sigma/sqrt(2), same folds and centres.

    The cross-validation fits are reused when sigma/sqrt(2) is the next smaller grid
    point (always, for the default grid, unless sigma is its smallest); otherwise each
    fold is fitted once more.  Returns ``(SmoothingFits, number of fits that did not
    converge)``.
    """
    s_best = float(sigmas[i])
    s_fine = s_best / math.sqrt(2.0)
    reuse = i > 0 and math.isclose(float(sigmas[i - 1]), s_fine, rel_tol=1e-9)
    n, m = X.shape[0], Y.shape[0]
    lp, lq = np.empty(n), np.empty(m)
    not_converged = 0
    for (trx, tex, try_, tey), per_sigma in zip(folds, fits):
        C = per_sigma[i][0]
        if reuse:
            loga = per_sigma[i - 1][1]
        else:
            kx, ky = (-_sq_dist(A, C) / (2.0 * s_fine ** 2) for A in (X[trx], Y[try_]))
            loga, _, ok = _kliep_fit(kx, ky, max_iter, tol)
            not_converged += not ok
        mdl = _KernelModel(C, s_fine, log_alpha=loga)
        lp[tex], lq[tey] = mdl.log_ratio(X[tex]), mdl.log_ratio(Y[tey])
    return SmoothingFits(lp, lq, s_best, s_fine, bool(reuse)), not_converged
