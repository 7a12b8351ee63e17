"""The KL family (kl, reverse_kl, jeffreys): Wang, Kulkarni & Verdú's fixed-k and
adaptive-k estimators, and Pérez-Cruz's one-sample form against a density."""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from ... import _methods
from ...distributions import dimension
from ._driver import Evaluator, _query_width
from ._neighbours import (_ADAPTIVE_QUERY, _Neighbours, _check_positive_distances, _count,
                          _log_ball, _pair_rows, _pair_terms, _prefetch_adaptive, _rows,
                          _tables)

#: names estimated through nearest-neighbour KL (the method registry holds the list)
_KL_NAMES = _methods.KNN_KL_NAMES


def _kl_terms(l, rho, kk, nu, d):
    _check_positive_distances(rho, nu)
    return d * (np.log(nu) - np.log(rho)) + special.digamma(l) - special.digamma(kk)


def _kl_mean(terms, n, m):
    return float(np.mean(terms) + special.digamma(m + 1) - special.digamma(n))


def _kl_value(l, rho, kk, nu, n, m, d):
    return _kl_mean(_kl_terms(l, rho, kk, nu, d), n, m)


class KLEvaluator(Evaluator):
    """KL-type names: sums of Wang, Kulkarni & Verdú estimates over ``directions``
    ((0, 1): KL(P||Q) from X against Y, (1, 0): the reverse), fixed-k or adaptive-k
    (``mode``; ``k`` None for the adaptive estimator)."""

    names = _KL_NAMES
    #: the directions of each name: (query sample, reference sample)
    DIRECTIONS = {"kl": ((0, 1),), "reverse_kl": ((1, 0),), "jeffreys": ((0, 1), (1, 0))}

    def __init__(self, spec, *, mode, k, d, se, workers, trend):
        super().__init__(k=k, d=d, se=se, workers=workers, trend=trend)
        self.directions = self.DIRECTIONS[spec.base]
        self.mode = self.estimator = mode
        self.kq = _ADAPTIVE_QUERY if mode == "adaptive" else _query_width(k, se, trend)

    @property
    def trend_k0(self):
        return (1 if self.k is None else self.k) if self.trend else None

    def prepare(self, arrays):
        pairs = [p for a, b in self.directions for p in ((a, a), (a, b))]
        self.nb = _tables(arrays, pairs, self.kq, self.workers)
        self.sizes = [len(x) for x in arrays]

    def evaluate(self, alive, positive, kfix=None):
        nb, sizes, d = self.nb, self.sizes, self.d
        value, nties, ranks = 0.0, 0, []
        md, kr = (self.mode, self.k) if kfix is None else ("fixed", kfix)
        for a, b in self.directions:
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

    def trees(self):
        out = {}
        for a, b in self.directions:
            out[a], out[b] = self.nb[a, a].tree, self.nb[a, b].tree
        return out

    def log_ratios(self, kfix):
        """Rank-``kfix`` estimates of log p/q at X (kl), log q/p at Y (reverse_kl), or
        both (jeffreys): the per-point terms of the fixed-k estimate, up to a constant."""
        out = {}
        for a, b in self.directions:
            l, rho, kk, nu, _ = _pair_terms(self.nb[a, a], self.nb[a, b], None, None, "fixed",
                                            kfix, True)
            label = "p/q at X" if (a, b) == (0, 1) else "q/p at Y"
            out[label] = _kl_terms(l, rho, kk, nu, self.d)
        return out

    def jackknife(self, blocks, masks, kfix=None):
        """The replicates' estimates, recomputing only the terms that change.

        A row's term depends only on its alive neighbours up to the distances it uses
        (rho in its own sample, nu in the other); where a replicate deletes none of them
        (:meth:`_Neighbours.block_bits`), the full sample's term is reused.  Rows with a
        zero neighbour distance are always recomputed.  The replicates equal
        :meth:`evaluate`'s on the same masks (tested)."""
        nb, d = self.nb, self.d
        md, kr = (self.mode, self.k) if kfix is None else ("fixed", kfix)
        everything = np.uint64(2 ** 64 - 1)
        parts = []
        for a, b in self.directions:
            if md == "adaptive":
                _prefetch_adaptive(nb[a, a], nb[a, b])
            l, rho, kk, nu, zero = _pair_rows(nb[a, a], nb[a, b], None, None, md, kr, True)
            terms = _kl_terms(l, rho, kk, nu, d)
            bits = (nb[a, a].block_bits(rho, blocks[a])
                    | nb[a, b].block_bits(nu, blocks[b]))
            bits[zero] = everything
            parts.append((a, b, terms, bits))
        reps = []
        for r, alive in enumerate(masks):
            value, bit = 0.0, np.uint64(1) << np.uint64(r)
            for a, b, terms, bits in parts:
                rows = np.flatnonzero(((bits & bit) != 0) & alive[a])
                t = terms.copy()
                if len(rows):
                    l, rho, kk, nu, _ = _pair_rows(nb[a, a], nb[a, b], alive[a], alive[b], md,
                                                   kr, True, rows=rows)
                    t[rows] = _kl_terms(l, rho, kk, nu, d)
                t = t[alive[a]]
                value += _kl_mean(t, len(t), _count(alive[b], self.sizes[b]))
            reps.append(value)
        return reps

    def size_check(self, sizes):
        nb, mb = sizes
        lim = 1 if self.k is None else self.k
        if nb - 1 < lim or mb - 1 < lim:
            return f"replicate sizes n={nb}, m={mb} with k={lim}"
        return None

    def total_terms(self, sizes):
        return sum(sizes[a] for a, _ in self.directions)


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


class OneSampleKLEvaluator(Evaluator):
    """KL against a distribution with a density (Pérez-Cruz's one-sample form): the
    Kozachenko–Leonenko entropy of X and the log-density of Y at the rows of X."""

    names = ("kl",)
    estimator = "one_sample"

    def __init__(self, dist, *, k, d, se, workers, trend):
        super().__init__(k=k, d=d, se=se, workers=workers, trend=trend)
        self.dist = dist
        self.kq = _query_width(k, se, trend)
        self.const = -_log_ball(d)

    def prepare(self, arrays):
        (Xa,) = arrays
        self.n = len(Xa)
        self.nb = _Neighbours(cKDTree(Xa), Xa, self.kq, self_query=True, workers=self.workers)
        self.lq = _logq(self.dist, Xa)

    def evaluate(self, alive, positive, kfix=None):
        d = self.d
        rows = _rows(alive[0], self.n)
        kr = self.k if kfix is None else kfix
        l, rho, z = (a[rows] for a in self.nb.view(alive[0]).kth(alive[0], kr, positive))
        nz = int(np.count_nonzero(z))
        if nz and not positive:
            return math.nan, nz, {}
        _check_positive_distances(rho)
        terms = -(d * np.log(rho) - special.digamma(l)) - self.lq[rows]
        return float(np.mean(terms) - special.digamma(len(rows)) + self.const), nz, {}

    def size_check(self, sizes):
        return None if sizes[0] - 1 >= self.k else f"replicate size n={sizes[0]} with k={self.k}"
