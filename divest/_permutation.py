r"""One permutation engine for two-sample statistics that are quadratic in a pooled matrix.

Pool the samples, :math:`Z = (X_1, \dots, X_n, Y_1, \dots, Y_m)`, :math:`N = n + m`, and let
:math:`M` be a symmetric :math:`N \times N` matrix of the pooled points (a kernel matrix for
MMD, the distance matrix for the energy distance).  A relabelling of the pooled points is a
0/1 vector :math:`a` marking one group (of size :math:`n_a`) and :math:`b = 1 - a` the other
(size :math:`n_b`).  With :math:`u = a^\top M a`, :math:`r = M 1`, :math:`v = a^\top r` and
:math:`t = 1^\top M 1`, the three sums that every statistic needs are

.. math::

    S_{aa} = u, \qquad S_{ab} = v - u, \qquad S_{bb} = t - 2v + u,

and the statistic is

.. math::

    T = \frac{S_{aa}}{c_a} + \frac{S_{bb}}{c_b} - \frac{2 S_{ab}}{n_a n_b},

with :math:`c_a = n_a^2` (biased, V-statistic) or :math:`n_a (n_a - 1)` (unbiased,
U-statistic: the diagonal of :math:`M` is zeroed first).  This is MMD² for a kernel
matrix and the energy distance for :math:`M_{ij} = -\|z_i - z_j\|`.  It is symmetric in
the two groups, so :math:`a` always marks the *smaller* one: the subtraction in
:math:`S_{bb}` then loses at most a factor 4 in relative precision.

For a batch of :math:`c` relabellings the indicators are the columns of an
:math:`N \times c` matrix :math:`A` (stored as :math:`A^\top`, one row per relabelling);
the matrix product :math:`P = M A` gives every :math:`u_j = \sum_i A_{ij} P_{ij}`, and
:math:`v = A^\top r`.  As :math:`M` is symmetric, :math:`u` is formed from its upper block
triangle: for each block :math:`I` of rows, :math:`A_I^\top M_{II} A_I` plus twice
:math:`A_I^\top M_{I,J} A_J` over the columns :math:`J` right of the block
(:func:`half_u`).  That is :math:`N^2 c\,(1 + b/N)` multiply-adds per batch with blocks
of :math:`b` rows, against :math:`2 N^2 c` for the full product, at the throughput of the
machine's matrix multiply; a streamed matrix computes only those blocks (about half of
its entries).  Products below :math:`2^{28}` multiply-adds run on one BLAS
thread (threadpoolctl): on small matrices threads cost more than they save, and on an
oversubscribed machine they can be 20 times slower.

Memory: the working arrays stay below ``max_memory`` bytes.  The matrix is computed in
sub-blocks of at most 2**21 entries (16 MiB; the kernel's temporaries are counted as four
such blocks).  The pooled matrix (:math:`8 N^2` bytes per matrix) is stored when it takes
at most half of the budget; otherwise it is recomputed, for every batch, into a buffer of
at most 1024 rows (``8 * rows * N`` bytes, at most a quarter of the budget).  A batch of
:math:`c` relabellings holds :math:`A` and its products with the row blocks (counted as
two :math:`N \times c` float64 arrays when the matrix is stored; one plus a ``c * rows``
product otherwise); :math:`c`
is the largest batch that fits the rest of the budget (at most :math:`B + 1`).

Relabellings are drawn from the generator in order, :math:`N` uniform keys per permutation
(``rng.random((B, N))``), X taking the :math:`n` points with the smallest keys; the draws do
not depend on the batch size, so results do not depend on ``max_memory``.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np

__all__: list[str] = []

#: default working-memory budget of the engine, bytes
MAX_MEMORY = 2 ** 30
#: relative tie tolerance of the p-value, times the scale of the statistic
TIE_RTOL = 1e-10
#: kernel temporaries of a row block, counted as this many copies of the block
_BLOCK_TEMPORARIES = 4
#: entries of a row block of the pooled matrix (16 MiB): blocks this small are recycled by
#: the allocator, larger ones are fresh pages every time (page faults cost more than the
#: kernel on some machines)
_BLOCK_ENTRIES = 2 ** 21
#: rows of the buffer a streamed matrix is computed into (wide enough for an efficient
#: matrix product)
_MAX_BLOCK_ROWS = 1024
#: rows per block of a stored matrix's upper block triangle (blocks of this size keep the
#: products efficient; the multiply-adds are N^2 c (1 + _HALF_ROWS / N) instead of 2 N^2 c)
_HALF_ROWS = 128
#: matrix products smaller than this (N * N * batch) run on one BLAS thread: threads cost
#: more than they save there, and far more when the machine is oversubscribed
_SINGLE_THREAD_WORK = 2 ** 28
#: bytes of uniform keys drawn at once
_KEY_BYTES = 2 ** 24


# ----------------------------------------------------------------------------------------
# pooled matrices
# ----------------------------------------------------------------------------------------

class Pooled:
    """Rows of a symmetric pooled matrix, from a callable ``fn(A, B) -> (len A, len B)``.

    Rows are computed in sub-blocks of at most ``_BLOCK_ENTRIES`` entries and copied into a
    caller's buffer, in the buffer's precision (``fn``'s own arrays are never modified).
    ``diagonal``, when not None, is written on :math:`M_{ii}`: 0 for the U-statistic, or
    the exact value of a kernel whose :math:`k(x, x)` is constant (1 for radial kernels, 0
    for minus a distance) so that round-off in the squared distances does not leak into it.
    """

    def __init__(self, fn, Z, *, diagonal: float | None = None):
        self.fn = fn
        self.Z = Z
        self.N = Z.shape[0]
        self.diagonal = diagonal

    def rows_into(self, out: np.ndarray, i0: int, j0: int = 0) -> np.ndarray:
        """Write the rows ``i0 : i0 + len(out)`` of the matrix, columns ``j0 :``, into
        ``out`` (``j0 <= i0``)."""
        width = self.N - j0
        step = max(1, _BLOCK_ENTRIES // width)
        cols = self.Z if j0 == 0 else self.Z[j0:]
        for s0 in range(0, out.shape[0], step):
            s1 = min(s0 + step, out.shape[0])
            blk = np.asarray(self.fn(self.Z[i0 + s0:i0 + s1], cols))
            if blk.dtype != out.dtype:   # a callable in another precision: via float64
                blk = blk.astype(np.float64, copy=False)
            if blk.shape != (s1 - s0, width):
                raise ValueError(f"the kernel returned an array of shape {blk.shape} for "
                                 f"blocks of {s1 - s0} and {width} points")
            out[s0:s1] = blk
        if self.diagonal is not None:
            k = out.shape[0]
            out[np.arange(k), np.arange(i0 - j0, i0 - j0 + k)] = self.diagonal
        return out

    def full(self) -> np.ndarray:
        return self.rows_into(np.empty((self.N, self.N)), 0)


class Dense:
    """A pooled matrix already computed (owned: its diagonal is overwritten in place)."""

    def __init__(self, matrix: np.ndarray, *, diagonal: float | None = None):
        self.matrix = matrix
        self.N = matrix.shape[0]
        if diagonal is not None:
            np.fill_diagonal(self.matrix, diagonal)

    def rows_into(self, out: np.ndarray, i0: int, j0: int = 0) -> np.ndarray:
        out[:] = self.matrix[i0:i0 + out.shape[0], j0:]
        return out

    def full(self) -> np.ndarray:
        return self.matrix


# ----------------------------------------------------------------------------------------
# relabellings
# ----------------------------------------------------------------------------------------

def draw_assignments(rng, n: int, m: int, size: int) -> np.ndarray:
    """``size`` random relabellings as boolean X-masks of shape (size, n + m).

    The X group is the ``n`` points with the smallest of ``n + m`` uniform keys; a call with
    ``size = s1 + s2`` draws the same masks as two calls with ``s1`` and ``s2``.
    """
    N = n + m
    keys = rng.random((size, N))
    kth = np.partition(keys, n - 1, axis=1)[:, n - 1:n]
    mask = keys <= kth
    bad = np.flatnonzero(mask.sum(axis=1) != n)  # tied keys: probability ~ N / 2**53
    for i in bad:  # pragma: no cover - practically never
        mask[i] = False
        mask[i, np.argsort(keys[i], kind="stable")[:n]] = True
    return mask


def _fill_indicators(At, j0, rng, n, m, small_is_x):
    """Write random indicators of the smaller group into the rows ``j0:`` of ``At``."""
    c, N = At.shape
    step = max(1, _KEY_BYTES // (8 * N))
    for k0 in range(j0, c, step):
        k1 = min(k0 + step, c)
        mask = draw_assignments(rng, n, m, k1 - k0)
        At[k0:k1] = mask if small_is_x else ~mask


# ----------------------------------------------------------------------------------------
# the engine
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """How the engine uses memory: stored matrices or row blocks, batch size."""

    stored: bool
    block_rows: int
    batch: int

    def describe(self) -> dict:
        return {"matrix_stored": self.stored, "block_rows": self.block_rows,
                "batch_size": self.batch}


def plan(N: int, n_matrices: int, total: int, max_memory: int, batch: int | None = None) -> Plan:
    """Choose stored vs. streamed matrices and the batch size within ``max_memory`` bytes."""
    temporaries = 8 * _BLOCK_TEMPORARIES * min(N * N, max(N, _BLOCK_ENTRIES))
    matrix_bytes = 8 * N * N * n_matrices
    stored = matrix_bytes + temporaries <= max_memory // 2
    if stored:
        block_rows = N
        rest, per_column = max_memory - matrix_bytes - temporaries, 16 * N
    else:
        block_rows = max(1, min(N, _MAX_BLOCK_ROWS, max_memory // (4 * 8 * N)))
        rest = max_memory - 8 * block_rows * N - temporaries
        per_column = 8 * N + 8 * block_rows
    if batch is None:
        batch = rest // per_column
    return Plan(stored=stored, block_rows=block_rows, batch=int(max(1, min(total, batch))))


def quadratic_null(sources, n: int, m: int, n_permutations: int, rng, *, estimator: str,
                   max_memory: int = MAX_MEMORY, batch: int | None = None,
                   progress: bool = False, dtype=np.float64, sum_squares: list | None = None):
    """Observed and permuted statistics of quadratic forms of pooled matrices.

    Parameters
    ----------
    sources : list of Pooled
        One or more pooled matrices; all use the same relabellings.
    n, m : int
        Sizes of X and Y (the first ``n`` pooled points are X).
    n_permutations : int
        Number B of random relabellings.
    rng : numpy.random.Generator
    estimator : {"biased", "unbiased"}
        Denominators ``n_a**2`` or ``n_a (n_a - 1)``; the sources must zero their diagonal
        for ``"unbiased"``.
    dtype : numpy dtype, default float64
        Precision of the matrices (stored, or each streamed row block) and of the matrix
        products (float32: twice as fast, relative round-off about 1e-7 instead of 1e-16;
        values below the smallest normal float32 are flushed to 0; :math:`A^\top r` and
        the statistic are accumulated in float64, :math:`u` in float32 within each row
        block of the triangle (:func:`half_u`), as the products are, and in float64
        across blocks).
    sum_squares : list, optional
        When given (an empty list), it receives, per source, the sum of the squared entries
        of the matrix as used (diagonal written, precision applied): computed on the fly
        when the matrices are streamed, so a caller needing the Frobenius norm does not
        compute them again.

    Returns
    -------
    stats : ndarray, shape (len(sources), B + 1)
        Column 0 is the observed statistic, columns 1.. the permuted ones.
    scale : ndarray, shape (len(sources),)
        The largest of the three averaged terms of the observed statistic (the size of the
        numbers that cancel), for the tie tolerance.
    info : dict
        The plan (``matrix_stored``, ``block_rows``, ``batch_size``) and the seconds spent
        computing the pooled matrices (``seconds_matrix``) and in the rest of the
        permutation stage (``seconds_permutations``: drawing relabellings, matrix products).
    """
    begin = time.perf_counter()
    N = n + m
    total = n_permutations + 1
    pl = plan(N, len(sources), total, max_memory, batch)
    small_is_x, consts = constants(n, m, estimator)
    clock = _Clock()
    with clock:
        stored = [s.full() for s in sources] if pl.stored else None
    sums = ([M.sum(axis=1, dtype=np.float64) for M in stored] if pl.stored
            else [None] * len(sources))
    low = np.dtype(dtype) != np.float64
    if low and pl.stored:
        stored = [to_precision(M, dtype) for M in stored]
    squares = np.zeros(len(sources))
    if sum_squares is not None and pl.stored:
        squares[:] = [np.einsum("ij,ij->", M, M, dtype=np.float64) for M in stored]
    stats = np.empty((len(sources), total))
    scale = np.empty(len(sources))
    single = N * N * pl.batch < _SINGLE_THREAD_WORK
    with _blas_limit(single), _progress_bar(progress, total) as bar:
        for j0 in range(0, total, pl.batch):
            c = min(pl.batch, total - j0)
            At = indicators(j0, c, rng, n, m, small_is_x, dtype if low else np.float64)
            for ell, src in enumerate(sources):
                if pl.stored:
                    u = triangle_u(At, stored[ell], _rowdot)
                    r = sums[ell]
                else:
                    u, r, sq = _streamed_u(src, At, pl.block_rows, clock,
                                           sum_squares is not None and j0 == 0)
                    squares[ell] += sq
                stats[ell, j0:j0 + c], first = combine(u, At @ r, r.sum(), consts)
                if j0 == 0:
                    scale[ell] = first
            bar.update(c)
    if sum_squares is not None:
        sum_squares.extend(float(v) for v in squares)
    info = {**pl.describe(), "seconds_matrix": clock.seconds,
            "seconds_permutations": time.perf_counter() - begin - clock.seconds}
    return stats, scale, info


def constants(n: int, m: int, estimator: str):
    """``(small_is_x, (ca, cb, cab))``: which sample the indicators mark (the smaller) and
    the denominators of the three sums."""
    small_is_x = n <= m
    na, nb = (n, m) if small_is_x else (m, n)
    if estimator == "unbiased":
        ca, cb = na * (na - 1.0), nb * (nb - 1.0)
    else:
        ca, cb = float(na) ** 2, float(nb) ** 2
    return small_is_x, (ca, cb, 0.5 * na * nb)


def indicators(j0: int, c: int, rng, n: int, m: int, small_is_x: bool, dtype) -> np.ndarray:
    """The ``(c, N)`` indicators of the smaller group for the relabellings ``j0 : j0 + c``
    (row 0 of the first batch is the observed labelling); the engine's draw order."""
    At = np.empty((c, n + m), dtype=dtype)
    start = 0
    if j0 == 0:  # row 0: the observed labelling
        At[0] = 0.0 if small_is_x else 1.0
        At[0, :n] = 1.0 if small_is_x else 0.0
        start = 1
    _fill_indicators(At, start, rng, n, m, small_is_x)
    return At


def combine(u, v, t, consts):
    """The statistics of a batch from ``u = a'Ma``, ``v = a'r``, ``t = 1'M1`` (numpy or
    torch vectors), and the scale of the first one's terms (for the tie tolerance)."""
    ca, cb, cab = consts
    terms = (u / ca, (t - 2.0 * v + u) / cb, (v - u) / cab)
    return terms[0] + terms[1] - terms[2], max(abs(float(x[0])) for x in terms)


def to_precision(M: np.ndarray, dtype) -> np.ndarray:
    """``M`` in a lower precision, with values below the smallest normal number of ``dtype``
    set to 0 (flush to zero: subnormal operands make matrix products tens of times slower,
    and they are far below the precision of the sums)."""
    if M.dtype == dtype:  # already in that precision (and flushed by its maker)
        return M
    low = M.astype(dtype)
    low[np.abs(low) < np.finfo(dtype).tiny] = 0
    return low


_CONTROLLER = []


def _blas_limit(single: bool):
    """A context limiting BLAS to one thread when ``single`` (threadpoolctl, a scikit-learn
    dependency), else a no-op."""
    if not single:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


class _Clock:
    """Accumulates the seconds spent inside ``with clock:`` blocks."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start


def _rowdot(A, B):
    """Row-wise dot products of two numpy arrays, as float64.  Float64 operands are summed
    in float64; lower-precision operands (one row block of :func:`half_u`) in their
    precision, as the matrix product that made ``B`` did, and the blocks' sums in float64
    (casting each block to float64 first took three times as long as the sum and changed
    it by less than the product's own round-off)."""
    if A.dtype == np.float64:
        return np.einsum("ji,ji->j", A, B, dtype=np.float64)
    return np.einsum("ji,ji->j", A, B).astype(np.float64)


def half_u(At, Mb, i0, rowdot):
    r"""The part of :math:`u_j = a_j^\top M a_j` that the rows ``i0 : i0 + b`` of a
    symmetric ``M`` contribute through its upper block triangle: ``Mb = M[i0:i0+b, i0:]``
    (the diagonal block, then the block to its right, counted twice).  Summed over row
    blocks this is ``u``, at about half the multiply-adds of the full product.  Works on
    numpy arrays and torch tensors alike (``rowdot`` is the backend's row-wise dot)."""
    b = Mb.shape[0]
    i1 = i0 + b
    u = rowdot(At[:, i0:i1], At[:, i0:i1] @ Mb[:, :b].T)
    if Mb.shape[1] > b:
        u = u + 2.0 * rowdot(At[:, i0:i1], At[:, i1:] @ Mb[:, b:].T)
    return u


def triangle_u(At, M, rowdot):
    r""":math:`u_j = a_j^\top M a_j` for every row of ``At``, from a stored symmetric ``M``
    in row blocks of ``_HALF_ROWS`` (:func:`half_u`); numpy or torch."""
    return sum(half_u(At, M[i0:i0 + _HALF_ROWS, i0:], i0, rowdot)
               for i0 in range(0, M.shape[0], _HALF_ROWS))


def _streamed_u(src, At, rows, clock, squares=False):
    """``u_j = a_j^T M a_j``, ``r = M 1`` and (when ``squares``) the sum of the squared
    entries of ``M``, with ``M``'s upper block triangle computed in row blocks of ``rows``
    rows (each from its diagonal on: about half the entries) in ``At``'s precision (a lower
    precision flushed to zero as :func:`to_precision`)."""
    c, N = At.shape
    u = np.zeros(c)
    r = np.zeros(N)
    sq = 0.0
    flat = np.empty(min(rows, N) * N, dtype=At.dtype)
    low = At.dtype != np.float64
    for i0 in range(0, N, rows):
        i1 = min(i0 + rows, N)
        b = i1 - i0
        with clock:
            Mb = src.rows_into(flat[:b * (N - i0)].reshape(b, N - i0), i0, i0)
            if low:
                Mb[np.abs(Mb) < np.finfo(Mb.dtype).tiny] = 0
        r[i0:i1] += Mb.sum(axis=1, dtype=np.float64)
        r[i1:] += Mb[:, b:].sum(axis=0, dtype=np.float64)
        if squares:
            sq += float(np.einsum("ij,ij->", Mb[:, :b], Mb[:, :b], dtype=np.float64)
                        + 2.0 * np.einsum("ij,ij->", Mb[:, b:], Mb[:, b:], dtype=np.float64))
        u += half_u(At, Mb, i0, _rowdot)
    return u, r, sq


def _progress_bar(progress: bool, total: int):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not progress, desc="permutations", unit="perm")


def pvalues(observed: float, null: np.ndarray, tol: float) -> dict:
    """Permutation p-values for the three alternatives (with the +1 of the observed).

    ``greater``: (1 + #{T_b >= T - tol}) / (1 + B); ``less``: (1 + #{T_b <= T + tol}) /
    (1 + B); ``two-sided``: min(1, 2 min(greater, less)).
    """
    B = null.size
    greater = (1 + np.count_nonzero(null >= observed - tol)) / (1 + B)
    less = (1 + np.count_nonzero(null <= observed + tol)) / (1 + B)
    return {"greater": float(greater), "less": float(less),
            "two-sided": float(min(1.0, 2 * min(greater, less)))}
