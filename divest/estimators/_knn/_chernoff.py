"""The Chernoff family (alpha, Rényi, Tsallis, squared Hellinger, Bhattacharyya, Pearson,
Neyman) through Póczos & Schneider's estimate of int p^alpha q^(1 - alpha)."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ... import _methods
from ._driver import Evaluator, _query_width
from ._neighbours import _check_positive_distances, _count, _pair_terms, _tables

#: names estimated through the Chernoff coefficient c_alpha = int p^alpha q^(1 - alpha)
#: (the method registry holds the list)
_CHERNOFF_NAMES = _methods.KNN_CHERNOFF_NAMES


def _log_chernoff(l, rho, kk, nu, n, m, d, alpha):
    """log of the estimate of int p^alpha q^(1 - alpha) (Beta-moment corrected)."""
    _check_positive_distances(rho, nu)
    beta = 1.0 - alpha
    g = special.gammaln
    log_eux = g(l + beta) - g(l) + g(n) - g(n + beta)
    log_euy_inv = g(kk - beta) - g(kk) + g(m + 1) - g(m + 1 - beta)
    s = beta * d * (np.log(rho) - np.log(nu)) - log_eux - log_euy_inv
    return float(special.logsumexp(s) - math.log(len(s)))


def _chernoff_alpha(spec):
    if spec.base in ("alpha", "renyi", "tsallis"):
        return float(spec.params["alpha"])
    return {"squared_hellinger": 0.5, "bhattacharyya": 0.5, "pearson": 2.0,
            "neyman": -1.0}[spec.base]


def _from_log_chernoff(spec, alpha, logc):
    if spec.base in ("renyi", "tsallis", "bhattacharyya"):
        return float(spec.from_log_chernoff(logc))
    with np.errstate(over="ignore"):  # c beyond 1e308 is reported as inf
        cm1 = float(np.expm1(logc))
    if spec.base == "alpha":
        return cm1 / (alpha * (alpha - 1.0))
    if spec.base == "squared_hellinger":
        return -2.0 * cm1
    return cm1  # pearson (alpha = 2), neyman (alpha = -1)


def _min_k_alpha(alpha):
    """Smallest k with positive Gamma arguments k +- (1 - alpha), i.e. k > |1 - alpha|."""
    return math.floor(abs(1.0 - alpha)) + 1


class ChernoffEvaluator(Evaluator):
    """Names read off the Chernoff coefficient c_alpha = int p^alpha q^(1 - alpha)
    (alpha, Rényi, Tsallis, squared Hellinger, Bhattacharyya, Pearson, Neyman): the
    fixed-k Póczos–Schneider estimate from X against Y."""

    names = _CHERNOFF_NAMES

    def __init__(self, spec, *, k, d, se, workers, trend):
        super().__init__(k=k, d=d, se=se, workers=workers, trend=trend)
        self.spec = spec
        self.alpha = _chernoff_alpha(spec)
        self.kq = _query_width(k, se, trend)

    def prepare(self, arrays):
        self.nb = _tables(arrays, [(0, 0), (0, 1)], self.kq, self.workers)
        self.m = len(arrays[1])

    def evaluate(self, alive, positive, kfix=None):
        nb = self.nb
        l, rho, kk, nu, z = _pair_terms(nb[0, 0], nb[0, 1], alive[0], alive[1], "fixed",
                                        self.k if kfix is None else kfix, positive)
        if z and not positive:
            return math.nan, z, {}
        logc = _log_chernoff(l, rho, kk, nu, len(l), _count(alive[1], self.m), self.d,
                             self.alpha)
        return _from_log_chernoff(self.spec, self.alpha, logc), z, {}

    def size_check(self, sizes):
        nb, mb = sizes
        if nb - 1 < self.k or mb - 1 < self.k:
            return f"replicate sizes n={nb}, m={mb} with k={self.k}"
        return None
