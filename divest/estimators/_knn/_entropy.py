"""Kozachenko–Leonenko entropy and the nearest-neighbour cross-entropy."""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from ..._result import Estimate
from ..._validation import check_choice, check_positive_int, check_rng
from .._common import as_2d, check_samples
from ._driver import (_DEFAULT_K, _SE, _TIES, Evaluator, _all_identical, _check_k,
                      _check_workers, _run)
from ._neighbours import (_MARGIN, _Neighbours, _check_positive_distances, _count, _log_ball,
                          _rows)

__all__ = ["cross_entropy", "entropy"]


class EntropyEvaluator(Evaluator):
    """Kozachenko–Leonenko entropy of X (``cross=False``) or the nearest-neighbour
    cross-entropy of X against Y (``cross=True``), fixed k, no bias trend."""

    names = ("entropy", "cross_entropy")

    def __init__(self, *, cross, k, d, se, workers):
        super().__init__(k=k, d=d, se=se, workers=workers, trend=False)
        self.cross = cross
        self.estimator = "knn_cross_entropy" if cross else "kozachenko_leonenko"
        self.kq = k + (_MARGIN if se == "jackknife" else 0)
        self.const = _log_ball(d)

    def prepare(self, arrs):
        if self.cross:
            self.nb = _Neighbours(cKDTree(arrs[1]), arrs[0], self.kq, self_query=False,
                                  workers=self.workers)
        else:
            self.nb = _Neighbours(cKDTree(arrs[0]), arrs[0], self.kq, self_query=True,
                                  workers=self.workers)
        self.sizes = [len(a) for a in arrs]

    def evaluate(self, alive, positive, kfix=None):
        cross, sizes = self.cross, self.sizes
        rows = _rows(alive[0], sizes[0])
        ref_alive = alive[1] if cross else alive[0]
        r, dist, z = (a[rows] for a in self.nb.view(ref_alive).kth(alive[0], self.k, positive))
        nz = int(np.count_nonzero(z))
        if nz and not positive:
            return math.nan, nz, {}
        _check_positive_distances(dist)
        terms = self.d * np.log(dist) - special.digamma(r)
        offset = (special.digamma(_count(alive[1], sizes[1]) + 1) if cross
                  else special.digamma(len(rows)))
        return float(np.mean(terms) + offset + self.const), nz, {}

    def size_check(self, rep):
        k = self.k
        if self.cross:
            return None if rep[1] - 1 >= k else f"replicate size m={rep[1]} with k={k}"
        return None if rep[0] - 1 >= k else f"replicate size n={rep[0]} with k={k}"


def _options_iv(ties, se, workers, rng):
    check_choice(ties, "ties", _TIES)
    check_choice(se, "se", _SE)
    return _check_workers(workers), check_rng(rng)


def _entropy_iv(X, k, ties, workers, rng, se):
    workers, rng = _options_iv(ties, se, workers, rng)
    X = as_2d(X, "X")
    _all_identical(X, "X")
    k = _check_k(k, n=X.shape[0], shapes=(f"X {X.shape}",))
    return X, k, ties, workers, rng, se


def _entropy(X, k, ties, workers, rng, se):
    n, d = X.shape
    ev = EntropyEvaluator(cross=False, k=k, d=d, se=se, workers=workers)
    value, se_value, details, _ = _run(ev, [X], ties=ties, rng=rng, se=se)
    details = {"estimator": ev.estimator, "k": k, **details, "workers": workers,
               "d": d, "n": n}
    return Estimate.from_value(value, standard_error=se_value, method="knn", name="entropy",
                               n_p=n, details=details)


def _cross_entropy_iv(X, Y, k, ties, workers, rng, se):
    workers, rng = _options_iv(ties, se, workers, rng)
    X, Y = check_samples(X, Y, min_n=1)
    m = Y.shape[0]
    _all_identical(Y, "Y")
    k = check_positive_int(k, "k")
    if k >= m:
        raise ValueError(f"k={k} is too large for Y of shape {Y.shape} (m={m}); need "
                         "1 <= k < m")
    return X, Y, k, ties, workers, rng, se


def _cross_entropy(X, Y, k, ties, workers, rng, se):
    n, d = X.shape
    m = Y.shape[0]
    ev = EntropyEvaluator(cross=True, k=k, d=d, se=se, workers=workers)
    value, se_value, details, _ = _run(ev, [X, Y], ties=ties, rng=rng, se=se)
    details = {"estimator": ev.estimator, "k": k, **details, "workers": workers, "d": d,
               "n": n, "m": m}
    return Estimate.from_value(value, standard_error=se_value, method="knn",
                               name="cross_entropy", n_p=n, n_q=m, details=details)


def entropy(X, *, k=_DEFAULT_K, ties="raise", workers=None, rng=None, se="jackknife") -> Estimate:
    r"""Kozachenko–Leonenko nearest-neighbour estimate of the differential entropy of P.

    .. math:: \hat H(X) = \psi(n) - \psi(k) + \log V_d + \frac{d}{n}\sum_{i=1}^n
              \log\rho_k(i), \qquad V_d = \frac{\pi^{d/2}}{\Gamma(d/2+1)},

    with :math:`\rho_k(i)` the distance from :math:`X_i` to its k-th nearest neighbour in
    :math:`X\setminus\{X_i\}` (Euclidean).  Consistent with k fixed; the finite-sample
    bias grows with d.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        Sample of P.
    k : int
        Neighbour rank, ``1 <= k < n``.
    ties, workers, rng, se
        As in :func:`knn` (delete-a-block jackknife over X).

    Returns
    -------
    Estimate
        In nats; ``method="knn"``, ``name="entropy"``.

    References
    ----------
    L. F. Kozachenko, N. N. Leonenko (1987), Sample estimate of the entropy of a random
    vector, Problems Inform. Transmission 23(2), 95–101.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.estimators import entropy
    >>> X = np.random.default_rng(0).normal(size=(2000, 1))
    >>> est = entropy(X, rng=0)
    >>> exact = 0.5 * np.log(2 * np.pi * np.e)        # N(0, 1): 1.4189...
    >>> round(est.value, 2), bool(abs(est.value - exact) < 3 * est.standard_error)
    (1.42, True)
    """
    return _entropy(*_entropy_iv(X, k, ties, workers, rng, se))


def cross_entropy(X, Y, *, k=_DEFAULT_K, ties="raise", workers=None, rng=None,
                  se="jackknife") -> Estimate:
    r"""Nearest-neighbour estimate of the cross-entropy :math:`H(P, Q) = -\mathbb{E}_P\log q`.

    .. math:: \hat H(X, Y) = \psi(m+1) - \psi(k) + \log V_d + \frac{d}{n}\sum_{i=1}^n
              \log\nu_k(i),

    with :math:`\nu_k(i)` the distance from :math:`X_i` to its k-th nearest neighbour in
    Y (the mass of that ball under Q is Beta(k, m - k + 1) distributed, whence
    :math:`\psi(m+1)`; Leonenko, Pronzato & Savani, 2008).  ``cross_entropy(X, Y) -
    entropy(X)`` with the same k is exactly ``knn(X, Y, "kl", k=k)``.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        Sample of P.
    Y : array_like, shape (m, d) or (m,)
        Sample of Q.
    k : int
        Neighbour rank, ``1 <= k < m``.
    ties, workers, rng, se
        As in :func:`knn` (delete-a-block jackknife over X and Y).

    Returns
    -------
    Estimate
        In nats; ``method="knn"``, ``name="cross_entropy"``.

    References
    ----------
    N. Leonenko, L. Pronzato, V. Savani (2008), A class of Rényi information estimators
    for multidimensional densities, Ann. Statist. 36(5), 2153–2182.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.estimators import cross_entropy
    >>> rng = np.random.default_rng(1)
    >>> X, Y = rng.normal(size=(2000, 1)), rng.normal(1.0, 1.0, size=(2000, 1))
    >>> est = cross_entropy(X, Y, rng=0)    # exact: 0.5 log(2 pi e) + 0.5 = 1.919
    >>> bool(abs(est.value - 1.919) < 3 * est.standard_error)
    True
    """
    return _cross_entropy(*_cross_entropy_iv(X, Y, k, ties, workers, rng, se))
