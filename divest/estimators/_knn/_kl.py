"""The KL family (kl, reverse_kl, jeffreys): Wang, Kulkarni & Verdú's fixed-k and
adaptive-k estimators, and Pérez-Cruz's one-sample form against a density."""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from ... import _methods
from ..._result import Estimate
from ...distributions import dimension
from .._common import as_2d
from ._driver import _all_identical, _check_k, _query_width, _run
from ._neighbours import (_ADAPTIVE_QUERY, _Neighbours, _check_positive_distances, _count,
                          _log_ball, _pair_terms, _rows, _tables)

#: names estimated through nearest-neighbour KL (the method registry holds the list)
_KL_NAMES = _methods.KNN_KL_NAMES


def _kl_value(l, rho, kk, nu, n, m, d):
    _check_positive_distances(rho, nu)
    terms = d * (np.log(nu) - np.log(rho)) + special.digamma(l) - special.digamma(kk)
    return float(np.mean(terms) + special.digamma(m + 1) - special.digamma(n))


def _kl_builder(directions, mode, k, d, se, workers, trend):
    kq = _ADAPTIVE_QUERY if mode == "adaptive" else _query_width(k, se, trend)

    def build(arrays):
        pairs = [p for a, b in directions for p in ((a, a), (a, b))]
        nb = _tables(arrays, pairs, kq, workers)
        sizes = [len(x) for x in arrays]

        def evaluate(alive, positive, kfix=None):
            value, nties, ranks = 0.0, 0, []
            md, kr = (mode, k) if kfix is None else ("fixed", kfix)
            for a, b in directions:
                l, rho, kk, nu, z = _pair_terms(nb[a, a], nb[a, b], alive[a], alive[b], md, kr,
                                                positive)
                nties += z
                ranks.append((l, kk))
                if z and not positive:
                    continue
                value += _kl_value(l, rho, kk, nu, len(l), _count(alive[b], sizes[b]), d)
            info = {}
            if md == "adaptive":
                ls = np.concatenate([r[0] for r in ranks])
                ks = np.concatenate([r[1] for r in ranks])
                info["adaptive_k"] = {"mean_l": float(ls.mean()), "mean_k": float(ks.mean()),
                                      "max_l": int(ls.max()), "max_k": int(ks.max())}
            return (math.nan if nties and not positive else value), nties, info

        return evaluate

    return build


def _logq(dist, X):
    """log q at the rows of X for a frozen scipy / divest distribution, shape (n,)."""
    n, d = X.shape
    dq = dimension(dist)
    if dq != d:
        raise ValueError(f"X has dimension d={d} (shape {X.shape}) but the distribution Y "
                         f"has dimension {dq}")
    with np.errstate(divide="ignore"):
        lq = np.asarray(dist.logpdf(X[:, 0] if d == 1 else X), dtype=float).reshape(-1)
    if lq.shape != (n,):
        raise ValueError(f"Y.logpdf returned shape {lq.shape} for X of shape {X.shape}; "
                         f"expected ({n},)")
    if np.any(np.isnan(lq)) or np.any(lq == np.inf):
        raise ValueError("Y.logpdf returned NaN or +inf at some rows of X")
    return lq


def _one_sample(X, dist, spec, *, k, estimator, ties, workers, rng, se, interval):
    if spec.base != "kl":
        raise ValueError(f"with a distribution as Y, knn estimates name='kl' only (one-sample "
                         f"form); got name={spec.label!r}; pass a sample of Q instead")
    if estimator == "adaptive":
        raise ValueError("estimator='adaptive' needs a sample of Q; the one-sample form with "
                         "a distribution as Y is fixed-k (estimator='fixed' or 'auto')")
    X = as_2d(X, "X")
    n, d = X.shape
    _all_identical(X, "X")
    kk = _check_k(k, n=n, shapes=(f"X {X.shape}",))
    trend = interval == "bias_aware" and se != "none"
    kq = _query_width(kk, se, trend)
    const = -_log_ball(d)

    def build(arrays):
        (Xa,) = arrays
        nb = _Neighbours(cKDTree(Xa), Xa, kq, self_query=True, workers=workers)
        lq = _logq(dist, Xa)

        def evaluate(alive, positive, kfix=None):
            rows = _rows(alive[0], n)
            kr = kk if kfix is None else kfix
            l, rho, z = (a[rows] for a in nb.view(alive[0]).kth(alive[0], kr, positive))
            nz = int(np.count_nonzero(z))
            if nz and not positive:
                return math.nan, nz, {}
            _check_positive_distances(rho)
            terms = -(d * np.log(rho) - special.digamma(l)) - lq[rows]
            return float(np.mean(terms) - special.digamma(len(rows)) + const), nz, {}

        return evaluate

    def size_check(sizes):
        return None if sizes[0] - 1 >= kk else f"replicate size n={sizes[0]} with k={kk}"

    value, se_value, details, allowances = _run(
        build, [X], ties=ties, rng=rng, se=se, sizes=[n], size_check=size_check,
        total_terms=n, trend_k0=kk if trend else None, d=d)
    details = {"estimator": "one_sample", "k": kk, **details, "workers": workers, "d": d,
               "n": n, "m": None, "interval": interval}
    return Estimate.from_value(value, standard_error=se_value, method="knn", name=spec.label,
                               n_p=n, n_q=None, details=details, allowances=allowances)
