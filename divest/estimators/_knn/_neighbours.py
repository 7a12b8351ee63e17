"""Neighbour tables: one kd-tree query per pair of samples, evaluated for any subset of
alive reference points (the jackknife replicates), re-queried where a table is too short."""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

#: extra neighbours queried so that jackknife replicates (5% of the points deleted)
#: rarely need a second query
_MARGIN = 4
#: neighbours queried for the adaptive-k estimator (more are fetched where needed)
_ADAPTIVE_QUERY = 6
#: cap on the ranks l_i, k_i of the adaptive-k estimator (see knn's Notes)
_ADAPTIVE_CAP = 32
#: queries of at least this many rows are sent in a spatially coherent order (the leaf
#: order of a kd-tree of the query points): neighbouring queries then visit the same
#: nodes, which halves the query time at 10^5 rows in d = 5.  A point's neighbours do
#: not depend on the order; the tables are returned in the rows' own order
_ORDER_MIN_ROWS = 2000


def locality_order(idx, rows):
    """The queries' order along the leaves of a k-d tree whose row order is ``idx``
    (rows of the tree queried: its own order restricted to them)."""
    if rows is None:
        return idx
    pos = np.empty(len(idx), dtype=np.intp)
    pos[idx] = np.arange(len(idx))
    return np.argsort(pos[rows], kind="stable")


class _Neighbours:
    """Sorted neighbours of query points ``A`` in the reference set of ``tree``.

    One query at ``k`` neighbours (``k + 1`` when ``A`` is the reference set itself, whose
    own point is masked by index, which stays correct with duplicates) is kept as the base
    table; :meth:`view` evaluates statistics on it for any subset of alive reference
    points.  ``own`` (with ``self_query``) gives the reference index of each query row
    (-1: the row is not a reference point), for query points that are only partly the
    reference set (a sample against its subsample, :mod:`._js`).  Rows the table cannot
    answer are re-queried with more neighbours (at least 4x); these longer tables are
    kept as extra chunks for the next calls (the jackknife replicates).
    """

    def __init__(self, tree, A, k, *, self_query, workers, own=None, query_tree=None):
        self.tree = tree
        self.A = A
        self.N = int(tree.n)
        self.self_query = self_query
        self.own = own
        self.workers = workers
        #: a spatially coherent order of A's rows: a kd-tree's leaf order (None: A is small)
        self._leaf_order = None
        if len(A) >= _ORDER_MIN_ROWS:
            is_reference = self_query and own is None and self.N == len(A)
            if is_reference:
                query_tree = tree
            self._leaf_order = (cKDTree(A) if query_tree is None else query_tree).indices
        k0 = max(1, min(int(k) + int(self_query), self.N))
        D, I = self._query(None, k0)
        #: chunks of (row ids or None for all rows, distances, indices (missing neighbours,
        #: index N, as N - 1: the static validity excludes them), static validity)
        self.chunks = [(None, D, *self._indices(I, None))]
        #: which chunk holds the longest table of each row, and the row's place in it
        self.row_chunk = np.zeros(len(A), dtype=np.int64)
        self.row_pos = np.arange(len(A))

    def _query(self, rows, kq):
        pts = self.A if rows is None else self.A[rows]
        # threads cost more than they save on the small re-queries
        workers = self.workers if len(pts) * kq > 20000 else 1
        ks = list(range(1, kq + 1))
        if self._leaf_order is None or len(pts) < _ORDER_MIN_ROWS:
            return self.tree.query(pts, k=ks, workers=workers)
        s = locality_order(self._leaf_order, rows)
        D, I = self.tree.query(pts[s], k=ks, workers=workers)
        Do, Io = np.empty_like(D), np.empty_like(I)
        Do[s], Io[s] = D, I
        return Do, Io

    def _indices(self, I, rows):
        """(indices with N clipped to N - 1, static validity) of a query's table."""
        valid = I < self.N  # cKDTree marks missing neighbours with index N
        if self.self_query:
            own = np.arange(len(I)) if rows is None else rows
            if self.own is not None:
                own = self.own[own]
            valid &= I != own[:, None]
        return np.minimum(I, self.N - 1, out=I), valid

    def _add_chunk(self, rows, K):
        D, I = self._query(rows, K)
        c = len(self.chunks)
        self.chunks.append((rows, D, *self._indices(I, rows)))
        self.row_chunk[rows] = c
        self.row_pos[rows] = np.arange(len(rows))
        return c

    def view(self, alive, rows=None):
        """Statistics of the neighbours restricted to the reference points ``alive``, at
        the query rows ``rows`` (sorted row ids; None: every row)."""
        return _View(self, alive, rows)

    def longest_tables(self, rows=None):
        """Per chunk holding the longest table of some of the query rows ``rows`` (sorted
        row ids; None: every row): ``(sel, D, I, S, exhaustive)`` with ``sel`` the
        positions of those rows among ``rows`` (None: all rows, the base table) and their
        distances, indices and static validity (no copy where a whole chunk is used)."""
        rc = self.row_chunk if rows is None else self.row_chunk[rows]
        chunks = np.unique(rc)
        for c in chunks:
            rows_c, D, I, S = self.chunks[c]
            if len(chunks) == 1 and rows is None:  # every row in the base table
                sel = None
            elif (rows is None and rows_c is not None
                  and np.all(self.row_chunk[rows_c] == c)):  # the whole chunk, as it is
                sel = rows_c
            else:
                sel = np.flatnonzero(rc == c)
                loc = self.row_pos[sel if rows is None else rows[sel]]
                D, I, S = D[loc], I[loc], S[loc]
            yield sel, D, I, S, D.shape[1] >= self.N

    def block_bits(self, reach, blocks):
        """For each query row, a bit mask of the blocks (``blocks``: a block id from 0 to
        63 per reference point) of the valid neighbours at distance at most ``reach``
        (one distance per row), from the row's longest table.

        A jackknife replicate that deletes none of these blocks leaves every neighbour
        distance up to ``reach`` of the row, and so any statistic of them, unchanged."""
        bits = np.zeros(len(self.A), dtype=np.uint64)
        weights = np.uint64(1) << np.asarray(blocks, dtype=np.uint64)
        for sel, D, I, S, _ in self.longest_tables():
            rch = reach if sel is None else reach[sel]
            w = np.where(S & (D <= rch[:, None]), weights[I], np.uint64(0))
            bits[slice(None) if sel is None else sel] = np.bitwise_or.reduce(w, axis=1)
        return bits


class _View:
    """The neighbour tables of a :class:`_Neighbours` with a mask of alive reference
    points, at all query rows or at the sorted row ids ``rows`` (outputs are then indexed
    like ``rows``)."""

    def __init__(self, nb, alive, rows=None):
        self.nb = nb
        self.alive = alive
        self.rows = rows
        self._groups = None

    def _tables(self):
        """Per chunk holding the longest table of some rows of the view: (positions of
        those rows in the view's outputs or None for all, distances, alive validity)."""
        if self._groups is None:
            self._groups = [(sel, D, S if self.alive is None else S & self.alive[I], exh)
                            for sel, D, I, S, exh in self.nb.longest_tables(self.rows)]
        return self._groups

    def _run(self, need, fn, k_min=0, eps=None, **kw):
        """``fn`` on every row of the view (rows outside the mask ``need`` may hold
        anything); re-query rows the tables cannot answer."""
        nb = self.nb
        size = len(nb.A) if self.rows is None else len(self.rows)
        out, pending = None, np.zeros(size, dtype=bool)

        def apply(sel, D, valid, exhaustive):
            nonlocal out
            arg = {} if eps is None else {"eps": eps if sel is None else eps[sel]}
            res, ok = fn(D, valid, exhaustive, **arg, **kw)
            if sel is None:
                out = list(res)
                pending[:] = ~ok
                return
            if out is None:
                out = [np.empty(size, dtype=r.dtype) for r in res]
            for o, r in zip(out, res):
                o[sel] = r
            pending[sel] = ~ok

        for group in self._tables():
            apply(*group)
        if need is not None:
            pending &= need
        while pending.any():
            sel = np.flatnonzero(pending)
            ids = sel if self.rows is None else self.rows[sel]
            Kcur = np.array([nb.chunks[c][1].shape[1] for c in nb.row_chunk[ids]])
            Knew = np.minimum(np.maximum(4 * Kcur, k_min), nb.N)
            pending[:] = False
            for K in np.unique(Knew):
                pick = Knew == K
                c = nb._add_chunk(ids[pick], int(K))
                _, D, I, S = nb.chunks[c]
                valid = S if self.alive is None else S & self.alive[I]
                apply(sel[pick], D, valid, D.shape[1] >= nb.N)
            self._groups = None  # the rows' longest tables changed
        return out

    def kth(self, need, k, positive):
        """(rank, distance, was_zero) of the k-th alive neighbour of each row."""
        return self._run(need, _kth_fn, k=k, positive=positive)

    def within(self, need, eps, positive, cap):
        """(rank, distance, was_zero): rank = min(cap, #alive neighbours within ``eps``
        (closed ball)), distance = that rank's distance (the farthest one inside if the cap
        is not reached)."""
        return self._run(need, _within_fn, k_min=cap + 2 * _MARGIN, eps=eps, positive=positive,
                         cap=cap)

    def count(self, need, eps):
        """(count,): the number of alive neighbours within ``eps`` (closed ball), uncapped;
        rows whose table ends inside the ball are re-queried with 4x the neighbours."""
        return self._run(need, _count_fn, eps=eps)


def _first_positive(D, valid, rank, dist, zero, ok):
    """Where ``zero``, move to the first positive alive distance (rank = #zeros + 1)."""
    r = np.flatnonzero(zero)
    Dz, vz = D[r], valid[r]
    vp = vz & (Dz > 0)
    hasp = vp.any(axis=1)
    pos = np.argmax(vp, axis=1)
    nzero = np.count_nonzero(vz & (Dz == 0), axis=1)
    dist, rank, ok = dist.copy(), rank.copy(), ok.copy()
    dist[r] = np.where(hasp, Dz[np.arange(len(r)), pos], dist[r])
    rank[r] = np.where(hasp, nzero + 1, rank[r])
    ok[r] &= hasp
    return rank, dist, ok


def _kth_fn(D, valid, exhaustive, k, positive):
    r = np.arange(len(D))
    if k == 1:
        found = valid.any(axis=1)
        pos = np.argmax(valid, axis=1)
    else:
        cum = np.cumsum(valid, axis=1, dtype=np.int32)
        found = cum[:, -1] >= k
        pos = np.argmax(cum >= k, axis=1)
    dist = np.where(found, D[r, pos], np.inf)
    zero = found & (dist == 0)
    rank, ok = np.full(len(D), k, dtype=np.int64), found
    if positive and zero.any():
        rank, dist, ok = _first_positive(D, valid, rank, dist, zero, ok)
    if exhaustive:
        ok = np.ones(len(D), dtype=bool)
    return (rank, dist, zero), ok


def _within_fn(D, valid, exhaustive, eps, positive, cap):
    r = np.arange(len(D))
    inside = valid & (D <= eps[:, None])
    count = np.count_nonzero(inside, axis=1)
    rank = np.minimum(count, cap).astype(np.int64)
    # the farthest point inside (the table is sorted) ...
    pos = D.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)
    capped = count > cap
    if capped.any():  # ... or the cap-th one
        c = np.flatnonzero(capped)
        pos[c] = np.argmax(np.cumsum(inside[c], axis=1) >= cap, axis=1)
    dist = np.where(rank > 0, D[r, pos], -np.inf)
    zero = (rank > 0) & (dist == 0)
    # answered if the cap is reached, or if every point within eps is in the table
    ok = (count >= cap) | (D[:, -1] > eps)
    if positive and zero.any():
        rank, dist, ok = _first_positive(D, valid, rank, dist, zero, ok)
    if exhaustive:
        ok = np.ones(len(D), dtype=bool)
    return (rank, dist, zero), ok


def _count_fn(D, valid, exhaustive, eps):
    count = np.count_nonzero(valid & (D <= eps[:, None]), axis=1)
    # answered when the table reaches beyond eps (missing neighbours have distance inf)
    ok = np.ones(len(D), dtype=bool) if exhaustive else D[:, -1] > eps
    return (count,), ok


def _rows(alive, n):
    return np.arange(n) if alive is None else np.flatnonzero(alive)


def _count(alive, n):
    return n if alive is None else int(np.count_nonzero(alive))


def _pair_rows(nb_self, nb_other, alive_a, alive_b, mode, k, positive, rows=None):
    """Ranks and distances (l, rho, kk, nu) and the zero-distance flags at the query rows
    ``rows`` (None: every row; rows outside ``alive_a`` may hold anything)."""
    v_self, v_other = nb_self.view(alive_a, rows), nb_other.view(alive_b, rows)
    need = alive_a if rows is None else None
    if mode == "adaptive":
        _, r1, _ = v_self.kth(need, 1, False)
        _, v1, _ = v_other.kth(need, 1, False)
        eps = np.maximum(r1, v1)
        l, rho, z1 = v_self.within(need, eps, positive, _ADAPTIVE_CAP)
        kk, nu, z2 = v_other.within(need, eps, positive, _ADAPTIVE_CAP)
    else:
        l, rho, z1 = v_self.kth(need, k, positive)
        kk, nu, z2 = v_other.kth(need, k, positive)
    return l, rho, kk, nu, z1 | z2


def _pair_terms(nb_self, nb_other, alive_a, alive_b, mode, k, positive):
    """Ranks and distances (l, rho, kk, nu) at the alive rows, and the number of zero ones."""
    l, rho, kk, nu, z = _pair_rows(nb_self, nb_other, alive_a, alive_b, mode, k, positive)
    if alive_a is not None:
        l, rho, kk, nu, z = (a[alive_a] for a in (l, rho, kk, nu, z))
    return l, rho, kk, nu, int(np.count_nonzero(z))


def _prefetch_adaptive(nb_self, nb_other):
    """Extend, in one query per table, the tables of the rows whose adaptive-k ball could
    outgrow them when one of their nearest neighbours is deleted (as the jackknife
    replicates delete every point once): the ball radius is then at most the larger of
    the second nearest distances.  Results do not change; the replicates' re-queries are
    batched."""
    v_self, v_other = nb_self.view(None), nb_other.view(None)
    _, r2, _ = v_self.kth(None, 2, True)
    _, s2, _ = v_other.kth(None, 2, True)
    eps = np.maximum(r2, s2)
    eps = np.where(np.isfinite(eps), eps, 0.0)
    v_self.within(None, eps, True, _ADAPTIVE_CAP)
    v_other.within(None, eps, True, _ADAPTIVE_CAP)


def _tables(arrays, pairs, k, workers):
    """Neighbour tables keyed by (query index, reference index), one tree per sample."""
    trees = {}
    out = {}
    for a, b in pairs:
        if b not in trees:
            trees[b] = cKDTree(arrays[b])
        out[a, b] = _Neighbours(trees[b], arrays[a], k, self_query=(a == b), workers=workers,
                                query_tree=trees.get(a))
    return out


def _check_positive_distances(*dists):
    for dist in dists:
        if not np.all(dist > 0) or not np.all(np.isfinite(dist)):
            raise ValueError("the samples have too few distinct points for a nearest-neighbour "
                             "estimate (a positive neighbour distance does not exist)")


def _log_ball(d):
    return 0.5 * d * math.log(math.pi) - special.gammaln(0.5 * d + 1.0)
