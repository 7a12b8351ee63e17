r"""Aggregated kernel two-sample tests: MMDAgg, MMDAggInc and MMD-FUSE, as published.

The three tests run a *collection* of kernels (by default Laplace and Gaussian kernels with
ten bandwidths each) on the same resampled data, and combine them:

* **MMDAgg** (Schrab, Kim, Albert, Laurent, Guedj & Gretton, JMLR 2023) rejects when one
  kernel's MMD exceeds its :math:`(1 - u_\alpha w_\lambda)`-quantile, with the weights
  :math:`w_\lambda` and the level correction :math:`u_\alpha` (by bisection) chosen so that
  the aggregated test has level :math:`\alpha`.
* **MMDAggInc** (Schrab, Kim, Guedj & Gretton, NeurIPS 2022) does the same with incomplete
  U-statistics over ``R`` superdiagonals (linear time in n for fixed R).
* **MMD-FUSE** (Biggs, Schrab & Gretton, NeurIPS 2023) fuses the normalised MMDs by a soft
  maximum, :math:`\frac{1}{\lambda} \log \frac{1}{L} \sum_\ell \exp(\lambda \,
  \widehat{\mathrm{MMD}}^2_\ell / \widehat N_\ell)`, calibrated by permutations.

The kernel profiles, bandwidth collections, weights, resampling schemes and the level
correction follow the authors' reference code (the ``mmdagg``, ``agginc`` and ``mmdfuse``
packages); where the packages differ from their papers, the packages are followed and the
docstrings of :func:`divest.two_sample_test` say so.  The resampled statistics are matrix
products of the kernel matrices with the resampling vectors (Appendix C of the MMDAgg
paper): permutations go through :mod:`divest._permutation`, Rademacher (wild bootstrap)
vectors through :func:`wild_null` here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _permutation as _perm
from ._validation import _describe, check_choice, check_positive_int

__all__: list[str] = []

# ----------------------------------------------------------------------------------------
# kernel profiles k(x, y) = phi(|x - y|_l / bandwidth)
# ----------------------------------------------------------------------------------------

_S3, _S5, _S7 = math.sqrt(3.0), math.sqrt(5.0), math.sqrt(7.0)


def _matern(nu2):
    """Matérn profile of smoothness nu2 / 2 (nu2 = 3, 5, 7, 9), as in the mmdagg code (nu2 =
    1 is the exponential, :class:`_Exp`)."""
    if nu2 == 3:
        return lambda r: (1.0 + _S3 * r) * np.exp(-_S3 * r)
    if nu2 == 5:
        return lambda r: (1.0 + _S5 * r + 5.0 / 3.0 * r ** 2) * np.exp(-_S5 * r)
    if nu2 == 7:
        return lambda r: ((1.0 + _S7 * r + 2.0 * 7.0 / 5.0 * r ** 2
                           + 7.0 * _S7 / 3.0 / 5.0 * r ** 3) * np.exp(-_S7 * r))
    return lambda r: ((1.0 + 3.0 * r + 3.0 * 6.0 ** 2 / 28.0 * r ** 2 + 6.0 ** 3 / 84.0 * r ** 3
                       + 6.0 ** 4 / 1680.0 * r ** 4) * np.exp(-3.0 * r))


@dataclass(frozen=True)
class _Exp:
    r"""The profile :math:`\exp(-c\, r^p)`, p = 1 or 2: evaluated in place from the stored
    distances (squared distances for p = 2), one multiplication and one exponential."""

    power: int
    scale: float = 1.0

    def __call__(self, r):
        return np.exp(-self.scale * r ** self.power)


#: name -> (norm, profile) in MMDAgg's convention (Gaussian exp(-r^2), Laplace exp(-r))
PROFILES: dict[str, tuple[str, object]] = {
    "gaussian": ("l2", _Exp(2)),
    "laplace": ("l1", _Exp(1)),
    "imq": ("l2", lambda r: 1.0 / np.sqrt(1.0 + r ** 2)),
    "matern_0.5_l1": ("l1", _Exp(1)),
    "matern_0.5_l2": ("l2", _Exp(1)),
    **{f"matern_{k}.5_{norm}": (norm, _matern(2 * k + 1)) for k in range(1, 5)
       for norm in ("l1", "l2")},
}
#: MMD-FUSE's own profiles where they differ (its code: Gaussian exp(-r^2 / 2), Laplace
#: exp(-sqrt(2) r), rational quadratic of exponent 1/2)
FUSE_PROFILES: dict[str, tuple[str, object]] = {
    **PROFILES,
    "gaussian": ("l2", _Exp(2, 0.5)),
    "laplace": ("l1", _Exp(1, math.sqrt(2.0))),
    "rq": ("l2", lambda r: (1.0 + r ** 2) ** -0.5),
}
_MATERN_L1 = tuple(f"matern_{k}.5_l1" for k in range(5))
_MATERN_L2 = tuple(f"matern_{k}.5_l2" for k in range(5))
#: MMDAgg's named collections (the mmdagg package's ``kernel=`` values)
COLLECTIONS: dict[str, tuple[str, ...]] = {
    "laplace_gaussian": ("laplace", "gaussian"),
    "gaussian_laplace": ("laplace", "gaussian"),  # the package orders l1 first
    "all_matern_l1": _MATERN_L1,
    "all_matern_l2": _MATERN_L2,
    "all_matern_l1_l2": _MATERN_L1 + _MATERN_L2,
    "all": _MATERN_L1 + _MATERN_L2 + ("gaussian", "imq"),
}
WEIGHTS = ("uniform", "centred", "increasing", "decreasing")
RESAMPLINGS = ("auto", "permutation", "wild_bootstrap")
#: bandwidths are computed from the first this many points of each sample (as published)
_BANDWIDTH_SAMPLES = 500


@dataclass(frozen=True)
class Member:
    """One kernel of a collection: a named profile at a bandwidth, or a user's callable."""

    label: str
    norm: str | None = None
    profile: object = None
    bandwidth: float | None = None
    function: object = None  # a callable k(A, B) (then norm/profile/bandwidth are None)

    @property
    def source(self) -> str | None:
        """The stored distances this kernel is computed from (``"l2sq"``: squared)."""
        if self.function is not None:
            return None
        if isinstance(self.profile, _Exp) and self.profile.power == 2:
            return "l2sq"
        return self.norm

    def block(self, D: np.ndarray, dtype=np.float64) -> np.ndarray:
        """The kernel on a block ``D`` of :attr:`source` distances, in ``dtype`` (values below
        the smallest normal number of a lower precision flushed to 0)."""
        prof = self.profile
        if isinstance(prof, _Exp):
            out = np.empty(D.shape, dtype=dtype)
            c = -prof.scale / self.bandwidth ** prof.power

            def rows(i0, i1):
                np.multiply(D[i0:i1], c, out=out[i0:i1], dtype=dtype)
                np.exp(out[i0:i1], out=out[i0:i1])

            _on_row_chunks(rows, D.shape[0], D.size)
        else:
            out = np.asarray(prof(np.divide(D, self.bandwidth, dtype=dtype)), dtype=dtype)
        if np.dtype(dtype) != np.float64:
            tiny = np.finfo(dtype).tiny
            if out.size and out.min() < tiny:   # the masked write only where it flushes
                out[out < tiny] = 0
        return out

    def describe(self) -> dict:
        return {"kernel": self.label, "bandwidth": self.bandwidth}


# ----------------------------------------------------------------------------------------
# validation of the collections
# ----------------------------------------------------------------------------------------

def kernel_names(kernel, profiles, collections) -> list:
    """The collection's kernels: names (str) and callables, validated."""
    valid = sorted({*profiles, *collections})
    if isinstance(kernel, str):
        if kernel in collections:
            return list(collections[kernel])
        check_choice(kernel, "kernel", valid)
        return [kernel]
    if callable(kernel):
        return [kernel]
    try:
        items = list(kernel)
    except TypeError:
        items = None
    if not items:
        raise TypeError(f"kernel must be a kernel name, a collection name, a callable k(A, B) or "
                        f"a non-empty sequence of names and callables; got {_describe(kernel)}")
    for item in items:
        if isinstance(item, str):
            check_choice(item, "kernel", sorted(profiles))
        elif not callable(item):
            raise TypeError(f"kernel entries must be kernel names or callables k(A, B); got "
                            f"{_describe(item)}")
    return items


def check_bandwidths(bandwidths):
    if bandwidths is None:
        return None
    try:
        arr = np.asarray(bandwidths, dtype=float)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.ndim != 1 or arr.size < 1 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"bandwidths must be None or a non-empty 1-D sequence of positive "
                         f"finite numbers; got {_describe(bandwidths)}")
    return arr


def check_number_bandwidths(number_bandwidths):
    return check_positive_int(number_bandwidths, "number_bandwidths", minimum=2)


def create_weights(L: int, weights_type: str) -> np.ndarray:
    r"""MMDAgg's weights over ``L`` bandwidths (Section 5.1 of the paper), summing to 1.

    ``"uniform"``: :math:`1/L`; ``"decreasing"``: :math:`\propto 1/i`; ``"increasing"``:
    :math:`\propto 1/(L + 1 - i)`; ``"centred"``: :math:`\propto 1/(|(L+1)/2 - i| + 1)` for
    odd L and :math:`1/(|(L+1)/2 - i| + 1/2)` for even L (i = 1, ..., L).
    """
    check_choice(weights_type, "weights", WEIGHTS)
    i = np.arange(1, L + 1, dtype=float)
    if weights_type == "uniform":
        w = np.ones(L)
    elif weights_type == "decreasing":
        w = 1.0 / i
    elif weights_type == "increasing":
        w = 1.0 / (L + 1 - i)
    else:
        w = 1.0 / (np.abs((L + 1) / 2 - i) + (1.0 if L % 2 == 1 else 0.5))
    return w / w.sum()


# ----------------------------------------------------------------------------------------
# distances and bandwidths
# ----------------------------------------------------------------------------------------

#: pooled distance matrices with at least this many entries x dimensions, and kernel
#: blocks with at least this many entries, are computed in row chunks on several threads
#: (scipy's cdist and numpy's ufuncs release the GIL)
_THREADED_WORK = 2 ** 22


def _on_row_chunks(fn, n_rows: int, work: int):
    """``fn(i0, i1)`` over row chunks covering ``0 : n_rows``: on the threads
    :func:`~divest._parallel.default_threads` allows (four chunks each, for balance) when
    ``work >= _THREADED_WORK``, else once in this thread.  Each row's numbers are computed
    as in one call."""
    from ._parallel import default_threads
    threads = min(default_threads(), max(1, work // _THREADED_WORK))
    if threads <= 1 or n_rows < 2:
        fn(0, n_rows)
        return
    from concurrent.futures import ThreadPoolExecutor
    step = -(-n_rows // (4 * threads))
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda i0: fn(i0, min(i0 + step, n_rows)), range(0, n_rows, step)))


def pooled_distances(Z, sources) -> dict:
    """The pooled distance matrices for the sources needed (``"l1"``: cityblock, ``"l2"``:
    euclidean, ``"l2sq"``: squared euclidean): scipy's ``cdist``, in row chunks on the
    threads :func:`~divest._parallel.default_threads` allows when the matrix is large (the
    same numbers: each entry is computed as ``cdist(Z, Z)`` computes it)."""
    metric = {"l1": "cityblock", "l2": "euclidean", "l2sq": "sqeuclidean"}
    return {src: _cdist_rows(Z, metric[src]) for src in sorted(set(sources))}


def _cdist_rows(Z, metric):
    from scipy.spatial.distance import cdist
    N = Z.shape[0]
    if N * N * Z.shape[1] < _THREADED_WORK:
        return cdist(Z, Z, metric)
    out = np.empty((N, N))

    def rows(i0, i1):
        out[i0:i1] = cdist(Z[i0:i1], Z, metric)

    _on_row_chunks(rows, N, N * N * Z.shape[1])
    return out


def agg_bandwidths(X, Y, norm: str, L: int) -> np.ndarray:
    r"""MMDAgg's (and MMDAggInc's) bandwidths for one norm, as in the packages' JAX code.

    The distances :math:`\|x_j - y_i\|` with :math:`i \le j` among the first
    ``min(500, n, m)`` points of each sample, zeros replaced by their median;
    :math:`\lambda_{\min} = \tfrac12 \max(q_{0.05}, 0.1)` if the smallest distance is below
    0.1, else half the smallest; :math:`\lambda_{\max} = 2 \max(d_{\max}, 0.3)`; L values
    spaced geometrically from :math:`\lambda_{\min}` to :math:`\lambda_{\max}`.
    """
    from scipy.spatial.distance import cdist
    k = min(_BANDWIDTH_SAMPLES, X.shape[0], Y.shape[0])
    D = cdist(Y[:k], X[:k], {"l1": "cityblock", "l2": "euclidean"}[norm])
    d = D[np.triu_indices(k)]
    d = d + (d == 0) * np.median(d)
    dd = np.sort(d)
    if d.min() < 0.1:
        lam_min = max(dd[int(math.floor(len(dd) * 0.05))], 0.1)
    else:
        lam_min = d.min()
    lam_min = lam_min / 2
    lam_max = max(d.max(), 0.3) * 2
    power = (lam_max / lam_min) ** (1 / (L - 1))
    return np.array([power ** i * lam_min for i in range(L)])


def fuse_bandwidths(D: np.ndarray, L: int) -> np.ndarray:
    r"""MMD-FUSE's bandwidths from a pooled distance matrix, as in its code.

    The upper triangle of the pooled matrix with its diagonal, zeros replaced by the median;
    L values evenly spaced from half the 5% quantile to twice the 95% quantile (order
    statistics :math:`\lfloor 0.05 K \rfloor` and :math:`\lfloor 0.95 K \rfloor` of the
    :math:`K = N(N+1)/2` values).
    """
    d = D[np.triu_indices(D.shape[0])]
    d = d + (d == 0) * np.median(d)
    K = d.size
    i05, i95 = int(math.floor(K * 0.05)), int(math.floor(K * 0.95))
    part = np.partition(d, (i05, i95))
    if not part[i05] > 0:
        raise ValueError(f"statistic='mmdfuse': more than half of the {K} pooled distances "
                         "are 0 (duplicated points), so the median that replaces zero "
                         "distances is 0 and the smallest bandwidth would be 0; give "
                         "bandwidths=... or use statistic='mmdagg'")
    return np.linspace(part[i05] / 2, part[i95] * 2, L)


def members(names, X, Y, *, profiles, number_bandwidths, bandwidths, scheme) -> list:
    """The collection as a list of :class:`Member`, in the packages' order (l1 kernels
    first for MMDAgg); ``scheme`` is ``"agg"`` or ``"fuse"`` (whose bandwidths need the
    pooled distances: the members then carry ``None`` until the runner fills them in)."""
    if bandwidths is not None and not any(isinstance(k, str) for k in names):
        raise ValueError("bandwidths apply to the named kernels of a collection; this one has "
                         f"only callables ({len(names)}): omit bandwidths")
    out = []
    named = [k for k in names if isinstance(k, str)]
    order = sorted(named, key=lambda k: profiles[k][0]) if scheme == "agg" else (
        [k for k in named if profiles[k][0] == "l1"] + [k for k in named if profiles[k][0] == "l2"])
    cache = {}
    for name in order:
        norm, prof = profiles[name]
        if bandwidths is not None:
            bws = bandwidths
        elif scheme == "agg":
            if norm not in cache:
                cache[norm] = agg_bandwidths(X, Y, norm, number_bandwidths)
            bws = cache[norm]
        else:
            bws = [None] * number_bandwidths
        out += [Member(name, norm, prof, None if b is None else float(b)) for b in bws]
    for fn in (k for k in names if not isinstance(k, str)):
        out.append(Member(getattr(fn, "__name__", "callable"), function=fn))
    return out


def collection_weights(members_, weights_type, number_bandwidths, bandwidths) -> np.ndarray:
    """Per-member weights: MMDAgg's weights over each kernel's bandwidths divided by the
    number of kernels; a callable counts as one kernel with one bandwidth."""
    L = len(bandwidths) if bandwidths is not None else number_bandwidths
    named = sum(1 for m in members_ if m.function is None) // L
    groups = named + sum(1 for m in members_ if m.function is not None)
    per = create_weights(L, weights_type)
    w = [per[i % L] for i, m in enumerate(m for m in members_ if m.function is None)]
    w += [1.0] * (len(members_) - len(w))
    return np.asarray(w) / groups


class Matrices:
    """Pooled distance matrices and the kernel matrices (or blocks) of a collection's
    members."""

    def __init__(self, Z, members_):
        self.Z = Z
        self.dist = pooled_distances(Z, [m.source for m in members_ if m.function is None])
        for mem in members_:
            if mem.function is not None:
                _check_symmetric(mem, Z[:_SYMMETRY_POINTS])

    def kernel(self, member: Member, rows=slice(None), cols=slice(None),
               dtype=np.float64) -> np.ndarray:
        """The kernel matrix on pooled ``rows`` x ``cols`` (slices or index arrays)."""
        if member.function is not None:
            Z = self.Z
            return np.asarray(_callable_matrix(member.function, Z[rows], Z[cols]), dtype=dtype)
        D = self.dist[member.source]
        if isinstance(rows, slice) and isinstance(cols, slice):
            blk = D[rows, cols]
        else:
            blk = D[rows][:, cols]
        return member.block(blk, dtype)

    def distances(self, norm: str) -> np.ndarray:
        """The pooled distances in ``norm`` (from the squared ones when only those are kept)."""
        if norm in self.dist:
            return self.dist[norm]
        return np.sqrt(self.dist["l2sq"])

    def wild_h(self, member: Member, n: int, dtype=np.float64, sums: bool = False):
        r""":math:`H = K_{XX} + K_{YY} - K_{XY} - K_{XY}^\top` with a zero diagonal (the
        wild bootstrap's matrix, n = m) from three n x n blocks, and the mean absolute
        kernel value (the tie tolerance's scale).

        With ``sums=True`` also a :class:`WildSums` of the pooled matrix (what
        :func:`wild_mmd2` and MMD-FUSE's normalisation need), taken from the same blocks.
        """
        X, Y = slice(0, n), slice(n, 2 * n)
        # the built-in profiles are positive: their sum is the sum of absolute values
        total = ((lambda K: K.sum(dtype=np.float64)) if member.function is None
                 else (lambda K: np.abs(K).sum(dtype=np.float64)))
        acc = _WildAccumulator() if sums else None
        H = self.kernel(member, X, X, dtype)
        scale = float(total(H))
        if acc:
            acc.add(H, diagonal_block=True)
        Kyy = self.kernel(member, Y, Y, dtype)
        scale += float(total(Kyy))
        if acc:
            acc.add(Kyy, diagonal_block=True)
        H += Kyy
        del Kyy
        Kxy = self.kernel(member, X, Y, dtype)
        scale += 2.0 * float(total(Kxy))
        if acc:
            acc.add(Kxy, diagonal_block=False)
        H -= Kxy
        _subtract_transpose(H, Kxy)
        np.fill_diagonal(H, 0.0)
        if acc:
            return H, scale / (4.0 * n * n), acc.result()
        return H, scale / (4.0 * n * n)


@dataclass(frozen=True)
class WildSums:
    r"""Sums over the pooled kernel matrix :math:`K` of n + n points without its diagonal
    that the sign flips of (x_i, y_i) pairs leave unchanged: ``off_diagonal``
    :math:`\sum_{a \ne b} K_{ab}`, ``pairs`` :math:`\sum_i k(x_i, y_i)` and ``squares``
    :math:`\sum_{a \ne b} K_{ab}^2` (the squared Frobenius norm of MMD-FUSE)."""
    off_diagonal: float
    pairs: float
    squares: float


class _WildAccumulator:
    def __init__(self):
        self.total = self.pairs = self.squares = 0.0

    def add(self, K, diagonal_block: bool):
        d = np.diagonal(K).astype(np.float64)
        total = float(K.sum(dtype=np.float64))
        squares = float(np.einsum("ij,ij->", K, K, dtype=np.float64))
        if diagonal_block:                      # K_XX or K_YY: drop the pooled diagonal
            self.total += total - float(d.sum())
            self.squares += squares - float(d @ d)
        else:                                   # K_XY, counted for K_YX too
            self.total += 2.0 * total
            self.squares += 2.0 * squares
            self.pairs += float(d.sum())

    def result(self) -> WildSums:
        return WildSums(self.total, self.pairs, self.squares)


def wild_mmd2(u, sums: WildSums, n: int) -> np.ndarray:
    r"""The unbiased two-sample MMD² of n = m points for each sign vector, from
    :func:`wild_null`'s values ``u`` of :math:`\epsilon^\top H \epsilon / (n(n-1))`.

    Flipping pair i swaps :math:`x_i` and :math:`y_i`; the sum :math:`T` of the pooled
    matrix off its diagonal less twice the pairs' sum :math:`D = \sum_i k(x_i, y_i)` is
    unchanged, and with :math:`S = \epsilon^\top H \epsilon` the within-sample sums are
    :math:`(T + S)/2`, the cross sums off the pairs :math:`(T - S)/4`, so
    :math:`\widehat{\mathrm{MMD}}^2_u = \frac{T + S}{2 n (n-1)} - \frac{2}{n^2}
    \left(\frac{T - S}{4} + D\right)`.
    """
    c = n * (n - 1.0)
    S = np.asarray(u, dtype=np.float64) * c
    T = sums.off_diagonal - 2.0 * sums.pairs
    return (T + S) / (2.0 * c) - (2.0 / (n * n)) * ((T - S) / 4.0 + sums.pairs)


#: tile side of :func:`_subtract_transpose` (two float64 tiles fit a core's L2 cache)
_TRANSPOSE_TILE = 256


def _subtract_transpose(H, K):
    """``H -= K.T`` in square tiles: the same numbers, three times faster on large matrices
    than numpy's strided walk over the transposed operand."""
    n, t = H.shape[0], _TRANSPOSE_TILE
    for i in range(0, n, t):
        for j in range(0, n, t):
            H[i:i + t, j:j + t] -= K[j:j + t, i:i + t].T


#: points on which a callable kernel is checked to be symmetric
_SYMMETRY_POINTS = 64


def _check_symmetric(member, Z):
    K = _callable_matrix(member.function, Z, Z)
    tol = 1e-10 * max(1.0, float(np.max(np.abs(K))))
    if not np.allclose(K, K.T, rtol=0, atol=tol):
        worst = float(np.max(np.abs(K - K.T)))
        raise ValueError(f"kernel {member.label!r} is not symmetric: k(a, b) and k(b, a) differ "
                         f"by up to {worst:.3g} on the first {Z.shape[0]} pooled points; the "
                         "aggregated tests need a symmetric kernel k(A, B) = k(B, A).T")


def _callable_matrix(fn, A, B):
    K = np.asarray(fn(A, B), dtype=np.float64)
    if K.shape != (A.shape[0], B.shape[0]):
        raise ValueError(f"the kernel returned an array of shape {K.shape} for blocks of "
                         f"{A.shape[0]} and {B.shape[0]} points")
    if not np.all(np.isfinite(K)):
        raise ValueError(f"the kernel returned non-finite values on blocks of {A.shape[0]} "
                         f"and {B.shape[0]} points")
    return K


# ----------------------------------------------------------------------------------------
# resampled statistics
# ----------------------------------------------------------------------------------------

def wild_null(hs, n: int, total: int, rng, *, batch_bytes: int = 2 ** 26,
              dtype=np.float64):
    r"""MMD² by the wild bootstrap of MMDAgg (n = m), for each kernel of a collection.

    With :math:`H_{ij} = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j) - k(x_j, y_i)` for
    :math:`i \ne j` and :math:`H_{ii} = 0`, the value for a Rademacher vector
    :math:`\epsilon` is :math:`\epsilon^\top H \epsilon / (n (n - 1))`; column 0 is the
    observed statistic (:math:`\epsilon = 1`), columns 1..``total - 1`` are draws
    (``rng.integers(0, 2, (total - 1, n))`` mapped to ±1, in batches that do not change them).
    ``hs`` yields ``(H, scale)`` one kernel at a time (:meth:`Matrices.wild_h`); the scales
    are returned with the values.
    """
    out, scales = [], []
    step = max(1, batch_bytes // (8 * n))
    signs = _rademacher(rng, total, n)
    # one batch: converted once for every kernel
    whole = signs.astype(dtype) if total <= step else None
    for H, scale in hs:
        scales.append(scale)
        vals = np.empty(total)
        with _perm._blas_limit(n * n * min(step, total) < _perm._SINGLE_THREAD_WORK):
            for j0 in range(0, total, step):
                Eb = whole if whole is not None else signs[j0:j0 + step].astype(dtype)
                # H is symmetric: its upper block triangle, about half the multiply-adds
                vals[j0:j0 + step] = _perm.triangle_u(Eb, H, _perm._rowdot)
        out.append(vals / (n * (n - 1.0)))
    return np.array(out), np.array(scales)


def _rademacher(rng, total: int, n: int) -> np.ndarray:
    """Row 0: all ones (the observed statistic); rows 1..total-1: random signs (int8)."""
    signs = np.ones((total, n), dtype=np.int8)
    signs[1:] -= 2 * rng.integers(0, 2, size=(total - 1, n), dtype=np.int8)
    return signs


def permutation_null(matrices: Matrices, members_, n, m, B, rng, *, max_memory, batch,
                     progress=False, dtype=np.float64, frobenius=True):
    """Unbiased MMD² of the observed labelling (column 0) and B relabellings (the engine),
    and the off-diagonal Frobenius norm of each kernel matrix.

    When the engine keeps the matrices (they fit in half of ``max_memory``) each is computed
    once; otherwise the engine recomputes row blocks from the stored distance matrices, in
    ``dtype``.  The norms are summed by the engine either way (NaN with
    ``frobenius=False``).
    """
    N = n + m
    # the norms are summed by the engine from the matrices (or row blocks) it uses anyway,
    # whose diagonal it has zeroed
    squares = [] if frobenius else None
    if _perm.plan(N, len(members_), B + 1, max_memory, batch).stored:
        sources = [_perm.Dense(matrices.kernel(mem, dtype=dtype), diagonal=0.0)
                   for mem in members_]
    else:
        idx = np.arange(N, dtype=np.float64)[:, None]
        sources = [_perm.Pooled(_IndexedKernel(matrices, mem, dtype), idx, diagonal=0.0)
                   for mem in members_]
    stats, scale, info = _perm.quadratic_null(sources, n, m, B, rng, estimator="unbiased",
                                              max_memory=max_memory, batch=batch,
                                              progress=progress, dtype=dtype,
                                              sum_squares=squares)
    frob = [math.sqrt(v) for v in squares] if frobenius else [math.nan] * len(members_)
    return stats, scale, info, np.array(frob)


def _is_range(idx) -> bool:
    return bool(idx.size) and bool(np.all(np.diff(idx) == 1))


class _IndexedKernel:
    """A member's kernel as a callable on pooled row indices (the engine asks for row
    blocks), computed from the stored distance matrices (nothing else is cached)."""

    def __init__(self, matrices, member, dtype=np.float64):
        self.matrices, self.member, self.dtype = matrices, member, dtype

    def __call__(self, A, B):
        ia, ib = A[:, 0].astype(np.intp), B[:, 0].astype(np.intp)
        N = self.matrices.Z.shape[0]
        rows = slice(ia[0], ia[-1] + 1) if _is_range(ia) else ia
        if ib[-1] == N - 1 and _is_range(ib):  # the engine asks for row tails
            return self.matrices.kernel(self.member, rows, slice(ib[0], N), dtype=self.dtype)
        return self.matrices.kernel(self.member, ia, ib, dtype=self.dtype)


#: largest N for which MMDAggInc's bootstrap uses dense banded N x N matrices (one matrix
#: product per bandwidth) instead of one elementwise product per superdiagonal
_INC_DENSE_MAX = 2048


def incomplete_null(X, Y, R: int, bandwidths, total: int, rng, *, batch_bytes: int = 2 ** 26):
    r"""MMDAggInc's incomplete U-statistics and their wild bootstrap, Gaussian kernels.

    With :math:`N = \min(n, m)` (the first N points of each sample) and the pairs
    :math:`(i, i + r)`, :math:`r = 1, \dots, R`, :math:`h = k(x_i, x_j) - k(x_i, y_j) -
    k(y_i, x_j) + k(y_i, y_j)` with :math:`k = \exp(-\|\cdot\|^2 / \lambda^2)`; the value
    for :math:`\epsilon` is :math:`\sum h_{ij} \epsilon_i \epsilon_j / \#\text{pairs}`.
    Column 0 is the observed statistic (:math:`\epsilon = 1`).  Returns the values (one row
    per bandwidth), the mean absolute h per bandwidth (the tie tolerance's scale) and the
    number of pairs.  Cost :math:`O(B N R L)` (per superdiagonal) or, for
    :math:`N \le 2048`, :math:`2 B N^2 L` flops of matrix products with the banded matrices.
    """
    N = min(X.shape[0], Y.shape[0])
    R = min(R, N - 1)
    signs = _rademacher(rng, total, N)
    step = max(1, batch_bytes // (8 * N))
    inv2 = 1.0 / np.asarray(bandwidths, dtype=float) ** 2
    L = inv2.size
    pairs = R * N - R * (R + 1) // 2
    h_diag = []  # per superdiagonal r: h of shape (N - r, L)
    abs_h = np.zeros(L)
    for r in range(1, R + 1):
        a, b = slice(0, N - r), slice(r, N)
        sq = [np.sum((P[a] - Q[b]) ** 2, axis=1) for P, Q in ((X, X), (X, Y), (Y, X), (Y, Y))]
        h = (np.exp(-np.outer(sq[0], inv2)) - np.exp(-np.outer(sq[1], inv2))
             - np.exp(-np.outer(sq[2], inv2)) + np.exp(-np.outer(sq[3], inv2)))
        h_diag.append(h)
        abs_h += np.abs(h).sum(axis=0)
    vals = np.zeros((L, total))
    if N <= _INC_DENSE_MAX:
        for ell in range(L):
            band = np.zeros((N, N))
            for r, h in enumerate(h_diag, start=1):
                band[np.arange(N - r), np.arange(r, N)] = h[:, ell]
            for j0 in range(0, total, step):
                Eb = signs[j0:j0 + step].astype(np.float64)
                vals[ell, j0:j0 + step] = np.einsum("ji,ji->j", Eb @ band, Eb)
    else:
        for j0 in range(0, total, step):
            Eb = signs[j0:j0 + step].astype(np.float64)
            for r, h in enumerate(h_diag, start=1):
                vals[:, j0:j0 + step] += ((Eb[:, :N - r] * Eb[:, r:]) @ h).T
    return vals / pairs, abs_h / pairs, pairs


# ----------------------------------------------------------------------------------------
# MMDAgg's level correction and decision
# ----------------------------------------------------------------------------------------

def exceedance_pvalues(M1, values, tol) -> np.ndarray:
    r""":math:`\#\{j : M1_{\ell j} \ge t_\ell - \tau_\ell\} / (B_1 + 1)` for each column of
    ``values`` (shape (L, K)); ``M1`` (L, B1 + 1) includes the observed statistic."""
    L, B1p1 = M1.shape
    out = np.empty(values.shape)
    for ell in range(L):
        s = np.sort(M1[ell])
        out[ell] = (B1p1 - np.searchsorted(s, values[ell] - tol[ell], side="left")) / B1p1
    return out


def aggregate_decision(stats, B1: int, weights, alpha: float, B3: int, tol) -> dict:
    r"""MMDAgg's decision from the resampled statistics of a collection.

    ``stats`` (L, 1 + B1 + B2): column 0 observed, then B1 draws for the quantiles and B2
    for the level correction.  The single test of kernel :math:`\ell` at correction u rejects
    when its p-value (from the observed and the B1 draws) is at most :math:`u w_\ell`;
    :math:`u_\alpha` is found by B3 bisection steps on :math:`[0, \min_\ell 1/w_\ell]` as the
    largest u at which the B2 draws reject with frequency at most alpha (equivalently, the
    MMD exceeds the :math:`\lceil (B_1 + 1)(1 - u w_\ell) \rceil`-th order statistic, the
    packages' rule).  The aggregated test rejects when a single test rejects at
    :math:`u_\alpha`.

    The aggregated statistic :math:`c = \min_\ell p_\ell / w_\ell` of the observed data and of
    each of the B2 draws gives the p-value :math:`(1 + \#\{b : c_b \le c\}) / (1 + B_2)`:
    rejection at alpha is :math:`\#\{b : c_b \le c\} \le \alpha B_2`, so a p-value at most
    alpha implies rejection.
    """
    M1 = stats[:, :B1 + 1]
    M2 = stats[:, B1 + 1:]
    B2 = M2.shape[1]
    p_obs = exceedance_pvalues(M1, stats[:, :1], tol)[:, 0]
    c_null = np.min(exceedance_pvalues(M1, M2, tol) / weights[:, None], axis=0)
    c_sorted = np.sort(c_null)
    u_min, u_max = 0.0, float(np.min(1.0 / weights))
    for _ in range(B3):
        u = (u_max + u_min) / 2
        P_u = np.searchsorted(c_sorted, u, side="right") / B2
        if P_u <= alpha:
            u_min = u
        else:
            u_max = u
    u = u_min
    thresholds = u * weights
    reject_each = p_obs <= thresholds
    c_obs = float(np.min(p_obs / weights))
    count = int(np.searchsorted(c_sorted, c_obs, side="right"))
    return {"reject": bool(reject_each.any()), "reject_per_kernel": reject_each,
            "pvalues_per_kernel": p_obs, "thresholds": thresholds, "u_alpha": u,
            "statistic": c_obs, "null": c_null, "pvalue": (1 + count) / (1 + B2)}


# ----------------------------------------------------------------------------------------
# MMD-FUSE
# ----------------------------------------------------------------------------------------

def fuse_statistics(mmd2, frobenius, n_small: int, lam: float) -> np.ndarray:
    r"""MMD-FUSE from the unbiased MMD² of each kernel (rows) and each relabelling (columns).

    Each kernel's MMD² is normalised as in the MMD-FUSE code,
    :math:`\widehat{\mathrm{MMD}}^2 \, n(n-1) \sqrt{n(n-1)} / \|K_0\|_F` with n the smaller
    sample size and :math:`K_0` the pooled kernel matrix with a zero diagonal, and fused as
    :math:`\frac{1}{\lambda} \log \frac{1}{L} \sum_\ell \exp(\lambda M_\ell)`.
    """
    from scipy.special import logsumexp
    c = n_small * (n_small - 1.0)
    M = mmd2 * (c * math.sqrt(c) / np.asarray(frobenius)[:, None])
    return logsumexp(lam * M, axis=0, b=1.0 / M.shape[0]) / lam
