r"""Two-sample statistics on data that do not fit in memory.

Every function here reads each sample once, in row chunks, and keeps only a few numbers
per chunk: memory does not grow with the number of rows.  A sample may be

* an array (numpy, a list of rows, pandas, torch): read in slices of ``chunk_size`` rows;
* a **dask array**: the statistic is a blockwise reduction computed by dask, on whatever
  scheduler is active (a ``dask.distributed`` client included), one task per block;
* any other **iterable of row chunks** (a generator, a file reader, ``iter(list_of_arrays)``):
  read once, in order.  (A plain list is taken as a list of rows, as everywhere in
  divest; wrap a list of chunks in ``iter``.)

The statistics are averages of independent **units** formed by consecutive rows of X and
Y taken in lockstep (row i of X with row i of Y; the rows beyond the shorter sample are
not used), so the standard error is the spread of the units and the p-value is normal:

* :func:`mmd_test` with ``estimator="linear"``: Gretton et al. (2012, §6), units of two
  rows, :math:`h = k(x_1,x_2) + k(y_1,y_2) - k(x_1,y_2) - k(x_2,y_1)`;
  ``"incomplete"``: within blocks of ``block_size`` rows, :math:`h` over the pairs
  (i, i + r), r = 1..R (an incomplete U-statistic, as in MMDAggInc's design); ``"block"``:
  the unbiased MMD² of each block (the B-test, Zaremba, Gretton & Blaschko, 2013);
* :func:`energy_distance`: the unbiased energy distance of each block;
* :func:`wasserstein_1d`: exact 1-D :math:`W_p` of the empirical distributions from the
  streamed counts of distinct values (optionally of values rounded to ``decimals``, with
  the rounding's effect bounded).

The median bandwidth is taken from the first rows (at most 1000 of each sample), which is
what a single pass allows; pass a number to fix it.

Examples
--------
>>> import numpy as np
>>> from divest import streaming
>>> rng = np.random.default_rng(0)
>>> chunks_x = (rng.normal(0.0, 1, (10_000, 3)) for _ in range(20))   # 200,000 rows
>>> chunks_y = (rng.normal(0.2, 1, (10_000, 3)) for _ in range(20))
>>> res = streaming.mmd_test(chunks_x, chunks_y, bandwidth=1.0)
>>> res.pvalue < 1e-3, res.details["n_units"]
(True, 100000)
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from ._result import Estimate
from ._validation import (_describe, as_real_array, check_choice, check_positive_int,
                          check_real)
from .twosample import ALTERNATIVES, TwoSampleResult, _normal_pvalues

__all__ = ["ESTIMATORS", "energy_distance", "mmd_test", "wasserstein_1d"]

#: the streamed MMD estimators and the rows of X (and of Y) each unit uses
ESTIMATORS = ("block", "incomplete", "linear")

#: fewest units below which the normal p-value is flagged (as two_sample_test's mmd_linear)
_MIN_UNITS = 25
#: rows of each sample used for the median bandwidth
_MEDIAN_ROWS = 1000


# ---------------------------------------------------------------------------------------
# reading samples in chunks
# ---------------------------------------------------------------------------------------

def _is_dask(x) -> bool:
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "to_delayed")


def _is_chunk_iterable(x) -> bool:
    """An iterable that is not itself an array (a generator, an iterator, a reader)."""
    if isinstance(x, (np.ndarray, list, tuple, str, bytes)) or _is_dask(x):
        return False
    mod = type(x).__module__.split(".")[0]
    if mod in ("pandas", "torch") or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__iter__")


def _check_chunk(chunk, name, index, start, width):
    """A chunk as a float64 (rows, d) array; errors name the sample, the chunk and its rows."""
    where = f"{name}: chunk {index} (rows {start}..)"
    try:
        arr = as_real_array(chunk, name)
    except TypeError as exc:
        raise TypeError(f"{where}: {exc}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{where} must be a 1-D or 2-D array of rows; got shape {arr.shape}")
    if width is not None and arr.shape[1] != width:
        raise ValueError(f"{where} has {arr.shape[1]} columns but the earlier chunks have "
                         f"{width}; got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where} contains {int(bad.sum())} non-finite value(s) (first: "
                         f"{float(arr[r, c])!r} at row {start + r}, column {c}); chunk shape "
                         f"{arr.shape}; nothing is reported for a sample with NaN")
    return arr


class _Rows:
    """Rows of one sample, handed out ``take(k)`` at a time from its chunks."""

    def __init__(self, source, name, chunk_size, max_width=None):
        self.name = name
        self.max_width = max_width
        self.width = None
        self.read = 0          # rows read so far
        self.index = 0         # chunks read so far
        self._buf = []
        self._have = 0
        if _is_chunk_iterable(source):
            self._it = iter(source)
        else:
            # sliced before conversion: a float32 memmap, an h5py or zarr dataset is read
            # chunk by chunk, never whole
            arr = source if hasattr(source, "shape") and hasattr(source, "__getitem__") \
                else as_real_array(source, name)
            shape = tuple(arr.shape)
            if len(shape) not in (1, 2):
                raise ValueError(f"{name} must be a 1-D or 2-D array, a dask array or an "
                                 f"iterable of row chunks; got an array of shape {shape}")
            self._it = (arr[s:s + chunk_size] for s in range(0, shape[0], chunk_size))

    def _pull(self):
        try:
            chunk = next(self._it)
        except StopIteration:
            return False
        arr = _check_chunk(chunk, self.name, self.index, self.read, self.width)
        if self.max_width is not None and arr.shape[1] > self.max_width:
            raise ValueError(f"{self.name}: chunk {self.index} (rows {self.read}..) must have "
                             f"at most {self.max_width} column(s); got shape {arr.shape}")
        if arr.shape[0]:             # an empty chunk says nothing of the width
            self.width = arr.shape[1]
        self.index += 1
        self.read += arr.shape[0]
        if arr.shape[0]:
            self._buf.append(arr)
            self._have += arr.shape[0]
        return True

    def peek(self, k):
        """Up to the first ``k`` rows not yet taken (without taking them)."""
        while self._have < k and self._pull():
            pass
        if not self._buf:
            return np.empty((0, self.width or 0))
        return np.concatenate(self._buf)[:k]

    def take(self, k):
        """The next ``k`` rows, or fewer when the sample ends."""
        while self._have < k and self._pull():
            pass
        if not self._buf:
            return np.empty((0, self.width or 0))
        rows = np.concatenate(self._buf) if len(self._buf) > 1 else self._buf[0]
        out, rest = rows[:k], rows[k:]
        self._buf = [rest] if rest.shape[0] else []
        self._have = rest.shape[0]
        return out


# ---------------------------------------------------------------------------------------
# the units and their running moments
# ---------------------------------------------------------------------------------------

@dataclass
class _Moments:
    """Count, mean and sum of squared deviations of the unit values (Chan et al.'s merge)."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values):
        values = np.asarray(values, dtype=np.float64)
        if values.size:
            self.merge(_Moments(values.size, float(values.mean()),
                                float(((values - values.mean()) ** 2).sum())))

    def merge(self, other):
        n = self.count + other.count
        if other.count == 0:
            return
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.count * other.count / n
        self.mean += delta * other.count / n
        self.count = n


def _h(kern, x1, x2, y1, y2):
    return kern.paired(x1, x2) + kern.paired(y1, y2) - kern.paired(x1, y2) - kern.paired(x2, y1)


def _units(estimator, X, Y, kern, size, R):
    """The unit values of aligned rows X, Y (a whole number of units of ``size`` rows)."""
    if estimator == "linear":
        return _h(kern, X[0::2], X[1::2], Y[0::2], Y[1::2])
    nb, d = X.shape[0] // size, X.shape[1]
    Xb, Yb = X.reshape(nb, size, d), Y.reshape(nb, size, d)
    if estimator == "incomplete":
        total = np.zeros(nb)
        pairs = 0
        for r in range(1, R + 1):
            a, b = Xb[:, :-r].reshape(-1, d), Xb[:, r:].reshape(-1, d)
            c, e = Yb[:, :-r].reshape(-1, d), Yb[:, r:].reshape(-1, d)
            total += _h(kern, a, b, c, e).reshape(nb, size - r).sum(axis=1)
            pairs += size - r
        return total / pairs
    out = np.empty(nb)      # block: unbiased MMD^2 of each block
    off = ~np.eye(size, dtype=bool)
    for j in range(nb):
        kxx, kyy, kxy = kern(Xb[j], Xb[j]), kern(Yb[j], Yb[j]), kern(Xb[j], Yb[j])
        out[j] = ((kxx[off].sum() + kyy[off].sum()) / (size * (size - 1))
                  - 2.0 * kxy.sum() / size ** 2)
    return out


def _block_moments(Xb, Yb, index, start, estimator, kern, size, R, names):
    """Moments of the units of one aligned block (a dask task); checks the block."""
    Xb = _check_chunk(Xb, names[0], index, start, None)
    Yb = _check_chunk(Yb, names[1], index, start, None)
    used = Xb.shape[0] // size * size
    mom = _Moments()
    mom.add(_units(estimator, Xb[:used], Yb[:used], kern, size, R))
    return mom


def _stream_moments(X, Y, estimator, kern, size, R, chunk_size, names, progress):
    """(moments, rows used, info) of the units of two row streams read in lockstep."""
    mom = _Moments()
    batch = max(size, chunk_size // size * size)
    used = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(desc="streaming", unit="row", unit_scale=True)
    while True:
        xb, yb = X.take(batch), Y.take(batch)
        if X.width is not None and Y.width is not None and X.width != Y.width:
            raise ValueError(f"{names[0]} and {names[1]} must have the same number of columns; "
                             f"got {X.width} and {Y.width}")
        k = min(xb.shape[0], yb.shape[0]) // size * size
        if k:
            mom.add(_units(estimator, xb[:k], yb[:k], kern, size, R))
            used += k
            if bar is not None:
                bar.update(k)
        if k < batch:
            break
    if bar is not None:
        bar.close()
    return mom, used, {"rows_read": (X.read, Y.read), "chunks_read": (X.index, Y.index)}


def _dask_moments(X, Y, estimator, kern, size, R, chunk_size, names):
    import dask

    if X.ndim == 1:
        X = X[:, None]
    if Y.ndim == 1:
        Y = Y[:, None]
    for A, nm in ((X, names[0]), (Y, names[1])):
        if A.ndim != 2:
            raise ValueError(f"{nm} must be a 1-D or 2-D dask array; got shape {A.shape}")
        if any(math.isnan(c) for c in A.shape):
            raise ValueError(f"{nm}: a dask array of unknown length (shape {A.shape}); call "
                             f"compute_chunk_sizes() first")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of columns; "
                         f"got shapes {X.shape} and {Y.shape}")
    n0, m0 = int(X.shape[0]), int(Y.shape[0])
    L = min(n0, m0) // size * size     # rows past L are neither read nor checked
    rows = max(size, chunk_size // size * size)
    X = X[:L].rechunk((rows, -1))
    Y = Y[:L].rechunk((rows, -1))
    xs, ys = X.to_delayed().ravel(), Y.to_delayed().ravel()
    starts = np.cumsum((0,) + X.chunks[0][:-1])
    task = dask.delayed(_block_moments, pure=True)
    parts = [task(xb, yb, i, int(s), estimator, kern, size, R, names)
             for i, (xb, yb, s) in enumerate(zip(xs, ys, starts))]
    results = _compute(parts, starts)
    mom = _Moments()
    for part in results:
        mom.merge(part)
    return mom, L, {"rows_read": (L, L), "rows_given": (n0, m0), "chunks_read":
                    (len(parts), len(parts))}


def _compute(parts, starts):
    """The blocks' results, computed by dask.

    On a ``dask.distributed`` client each block is a future, and a failure that is not a
    block's own error (e.g. a worker that died: ``distributed.KilledWorker``) raises
    RuntimeError naming the first block that failed and its first row; nothing partial
    is returned.  Other schedulers run ``dask.compute``.
    """
    import dask
    try:
        from distributed import get_client, wait
        client = get_client()
    except (ImportError, ValueError):
        client = None
    if client is None:
        return dask.compute(*parts)
    futures = client.compute(parts)
    wait(futures)
    for i, fut in enumerate(futures):
        if fut.status != "finished":
            exc = fut.exception()
            if isinstance(exc, (ValueError, TypeError)):
                raise exc           # a block's own message (NaN, dtype) names the chunk
            raise RuntimeError(f"streaming: block {i} (rows {int(starts[i])}..) of "
                               f"{len(parts)} failed on the dask cluster "
                               f"({type(exc).__name__}: {exc}); no result is reported")
    return client.gather(futures)


def _first_rows(source, rows, name):
    """Up to ``rows`` leading rows of a dask array (computed) or a _Rows reader."""
    if isinstance(source, _Rows):
        return source.peek(rows)
    head = source[:rows]
    arr = _check_chunk(np.asarray(head.compute()), name, 0, 0, None)
    return arr


def _resolve(kernel, bandwidth, Xs, Ys, names, kernel_params):
    from .ipm._kernels import _energy_kernel, resolve_kernel
    if kernel == "energy":
        return _energy_kernel()
    x0 = _first_rows(Xs, _MEDIAN_ROWS, names[0])
    y0 = _first_rows(Ys, _MEDIAN_ROWS, names[1])
    for a, nm in ((x0, names[0]), (y0, names[1])):
        if a.shape[0] == 0:
            raise ValueError(f"{nm} has no rows (an empty array or an exhausted iterable)")
    if x0.shape[1] != y0.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of columns; "
                         f"got {x0.shape[1]} and {y0.shape[1]}")
    return resolve_kernel(kernel, bandwidth, x0, y0, **kernel_params)


def _moments(X, Y, estimator, kernel, bandwidth, size, R, chunk_size, progress,
             kernel_params, names=("X", "Y")):
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    dx, dy = _is_dask(X), _is_dask(Y)
    if dx != dy:
        raise TypeError(f"X and Y must both be dask arrays or neither; got "
                        f"{_describe(X)} and {_describe(Y)}")
    if dx:
        kern = _resolve(kernel, bandwidth, X, Y, names, kernel_params)
        mom, used, info = _dask_moments(X, Y, estimator, kern, size, R, chunk_size, names)
    else:
        Xs, Ys = _Rows(X, names[0], chunk_size), _Rows(Y, names[1], chunk_size)
        kern = _resolve(kernel, bandwidth, Xs, Ys, names, kernel_params)
        mom, used, info = _stream_moments(Xs, Ys, estimator, kern, size, R, chunk_size,
                                          names, progress)
    if mom.count < 2:
        raise ValueError(f"at least 2 units of {size} rows of X and of Y are needed; got "
                         f"{used} aligned rows ({mom.count} unit"
                         f"{'s' if mom.count != 1 else ''}); rows read: {info['rows_read']}")
    sd = math.sqrt(mom.m2 / (mom.count - 1))
    info.update(rows_used=used, kernel=kern)
    return mom, sd, info


# ---------------------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------------------

def _check_estimator(estimator, block_size, R):
    check_choice(estimator, "estimator", ESTIMATORS)
    if estimator == "linear":
        for opt, val in (("block_size", block_size), ("R", R)):
            if val is not None:
                raise ValueError(f"{opt} is not used by estimator='linear' (its units are "
                                 f"pairs of rows); got {opt}={val!r}")
        return 2, 1
    size = check_positive_int(100 if block_size is None else block_size, "block_size",
                              minimum=2)
    if estimator == "incomplete":
        R = check_positive_int(10 if R is None else R, "R")
        if R >= size:
            raise ValueError(f"R must be smaller than block_size (pairs (i, i + r) within a "
                             f"block, r = 1..R); got R={R} and block_size={size} (defaults: "
                             f"R=10, block_size=100)")
    elif R is not None:
        raise ValueError(f"R is used only by estimator='incomplete'; got R={R!r}")
    return size, R


def mmd_test(X, Y, *, estimator="linear", kernel="gaussian", bandwidth="median",
             block_size=None, R=None, chunk_size=100_000, alternative="greater", alpha=None,
             progress=False, **kernel_params) -> TwoSampleResult:
    r"""An MMD two-sample test in one pass over data of any size (normal p-value).

    The statistic is the mean :math:`\bar h` of :math:`U` independent unit values; under
    the null each has mean 0, so :math:`z = \bar h / (s_h / \sqrt{U})` is approximately
    standard normal (:math:`s_h` the units' sample standard deviation):

    * ``"linear"`` (Gretton et al., 2012, §6): units are pairs of rows,
      :math:`h_i = k(x_{2i-1}, x_{2i}) + k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i})
      - k(x_{2i}, y_{2i-1})`, :math:`U = \lfloor \min(n, m)/2 \rfloor`; cost linear in n.
    * ``"incomplete"``: units are blocks of ``block_size`` = b rows (default 100), each
      the mean of :math:`h` over the pairs (i, i + r), r = 1..R (default 10), of the block
      (an incomplete U-statistic as in Schrab et al.'s MMDAggInc); cost n R.
    * ``"block"``: units are blocks of b rows, each the unbiased MMD² of the block
      (the B-test of Zaremba, Gretton & Blaschko, NeurIPS 2013); cost n b.

    Each unit value is an unbiased estimate of MMD², so ``statistic`` estimates MMD².

    Parameters
    ----------
    X, Y : array_like, dask array or iterable of row chunks
        Samples of shapes (n, d) and (m, d) (1-D: d = 1).  Rows are used in order, row i
        of X with row i of Y; rows past the last full unit of the shorter sample are not
        used (``details["rows_used"]``).  Dask arrays are reduced block by block by dask
        (on a ``dask.distributed`` cluster when a client is active); both must be dask
        arrays or neither.
    estimator : {"linear", "incomplete", "block"}
    kernel : str or callable
        As in :func:`divest.ipm.mmd` (:data:`divest.ipm.KERNELS`).
    bandwidth : "median" or float
        ``"median"``: the median heuristic on the first 1000 rows of each sample.
    block_size, R : int, optional
        Block size of ``"incomplete"`` and ``"block"`` (default 100) and the number of
        diagonals of ``"incomplete"`` (default 10).
    chunk_size : int, default 100000
        Rows per slice of an in-memory array and rows per dask block (rounded down to a
        multiple of the unit size; dask arrays are rechunked to it).
    alternative : {"greater", "less", "two-sided"}
    alpha : float, optional
        Level of ``reject`` (``pvalue <= alpha``).
    progress : bool
        A tqdm bar of the rows read (arrays and iterables).
    **kernel_params
        Passed to the kernel.

    Returns
    -------
    TwoSampleResult
        ``method`` is ``"asymptotic normal"``; ``null_distribution`` is empty;
        ``details``: ``n_units``, ``unit_rows``, ``rows_used``, ``rows_read``,
        ``chunks_read``, ``standard_error``, ``z``, ``kernel``, ``bandwidth``.

    Raises
    ------
    ValueError
        A chunk with NaN or inf, chunks (or X and Y) of different widths, fewer than 2
        units, an empty sample or exhausted iterable, unknown options; the message
        names the sample and the chunk.
    TypeError
        Non-numeric chunks, one dask array with one other input.
    RuntimeError
        The dask computation failed (e.g. a worker died): no result.

    Notes
    -----
    Below 25 units the normal approximation is poor and a ``UserWarning`` says so; the
    permutation tests of :func:`divest.two_sample_test` are exact at any size.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.streaming import mmd_test
    >>> rng = np.random.default_rng(1)
    >>> X, Y = rng.normal(size=(20_000, 2)), rng.normal(size=(20_000, 2))
    >>> res = mmd_test(X, Y, estimator="block", block_size=50, alpha=0.05)
    >>> res.details["n_units"], bool(res.reject)
    (400, False)
    """
    size, R = _check_estimator(estimator, block_size, R)
    check_choice(alternative, "alternative", ALTERNATIVES)
    if alpha is not None:
        alpha = check_real(alpha, "alpha", low=0, high=1)
    if kernel == "energy":
        raise ValueError("kernel='energy': use divest.streaming.energy_distance")
    mom, sd, info = _moments(X, Y, estimator, kernel, bandwidth, size, R, chunk_size,
                             progress, kernel_params)
    U = mom.count
    if U < _MIN_UNITS:
        warnings.warn(f"mmd_test: {U} units are fewer than the {_MIN_UNITS} the normal "
                      f"approximation needs; the p-value is unreliable (use "
                      f"divest.two_sample_test for an exact permutation p-value)",
                      UserWarning, stacklevel=2)
    if not sd > 0.0:
        raise ValueError(f"mmd_test: the {U} unit values are all equal ({mom.mean!r}), so "
                         f"their variance is 0 and the normal approximation is undefined "
                         f"(degenerate samples?)")
    se = sd / math.sqrt(U)
    z = mom.mean / se
    pvals = _normal_pvalues(z)
    kern = info.pop("kernel")
    details = {"n_units": U, "unit_rows": size, "estimator": estimator,
               "standard_error": se, "z": z, "kernel": kern.name,
               "bandwidth": kern.bandwidth, "alternative": alternative, "pvalues": pvals,
               **info}
    if estimator == "incomplete":
        details["R"] = R
    pvalue = pvals[alternative]
    return TwoSampleResult(statistic=float(mom.mean), pvalue=pvalue,
                           null_distribution=_empty(),
                           statistic_name=f"streaming_mmd(estimator={estimator!r}, "
                                          f"kernel={kern.name!r})",
                           method="asymptotic normal", details=details,
                           reject=None if alpha is None else bool(pvalue <= alpha),
                           alpha=alpha)


def _empty():
    out = np.empty(0)
    out.flags.writeable = False
    return out


def energy_distance(X, Y, *, block_size=100, chunk_size=100_000, progress=False) -> Estimate:
    r"""The energy distance in one pass: the mean of its unbiased estimates on blocks.

    .. math:: \mathcal E(P, Q) = 2\,E\|X - Y\| - E\|X - X'\| - E\|Y - Y'\|,

    estimated on each block of b = ``block_size`` rows of X and of Y (taken in lockstep)
    by the unbiased statistic (Székely & Rizzo, 2013), and averaged over the blocks; the
    standard error is the blocks' spread over :math:`\sqrt{\#\text{blocks}}` and the
    interval is normal.  Same value as :func:`divest.ipm.energy_distance` (unbiased)
    averaged over the blocks; cost n b d.

    Parameters
    ----------
    X, Y : array_like, dask array or iterable of row chunks
        As in :func:`mmd_test`.
    block_size : int, default 100
    chunk_size : int, default 100000
    progress : bool

    Returns
    -------
    Estimate
        ``name="energy"``, ``method="streaming_blocks"``; ``details``: ``n_blocks``,
        ``block_size``, ``rows_used``, ``rows_read``.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.streaming import energy_distance
    >>> rng = np.random.default_rng(2)
    >>> est = energy_distance(rng.normal(size=(50_000, 1)), rng.normal(1.0, size=(50_000, 1)))
    >>> bool(abs(est.value - 0.54181) < 4 * est.standard_error)   # exact 0.54181
    True
    """
    size = check_positive_int(block_size, "block_size", minimum=2)
    mom, sd, info = _moments(X, Y, "block", "energy", None, size, None, chunk_size,
                             progress, {})
    info.pop("kernel")
    se = sd / math.sqrt(mom.count)
    return Estimate.from_value(mom.mean, standard_error=se, method="streaming_blocks",
                               name="energy", n_p=info["rows_used"], n_q=info["rows_used"],
                               details={"n_blocks": mom.count, "block_size": size, **info})


# ---------------------------------------------------------------------------------------
# 1-D Wasserstein from streamed counts
# ---------------------------------------------------------------------------------------

class _Counts:
    """Distinct values and their counts, merged chunk by chunk."""

    def __init__(self, name, max_distinct, decimals):
        self.name, self.max_distinct, self.decimals = name, max_distinct, decimals
        self.values = np.empty(0)
        self.counts = np.empty(0, dtype=np.int64)
        self.n = 0

    def add(self, arr, index, start):
        if arr.ndim == 2:
            if arr.shape[1] != 1:
                raise ValueError(f"{self.name}: chunk {index} (rows {start}..) must be 1-D "
                                 f"(wasserstein_1d); got shape {arr.shape}")
            arr = arr[:, 0]
        if self.decimals is not None:
            arr = np.round(arr, self.decimals)
        v, c = np.unique(arr, return_counts=True)
        self.merge(v, c)

    def merge(self, v, c):
        allv = np.concatenate([self.values, v])
        allc = np.concatenate([self.counts, c])
        self.values, inv = np.unique(allv, return_inverse=True)
        self.counts = np.bincount(inv, weights=allc).astype(np.int64)
        self.n += int(c.sum())
        if self.values.size > self.max_distinct:
            hint = ("round them with decimals=" if self.decimals is None
                    else "use fewer decimals= or raise max_distinct=")
            raise ValueError(f"{self.name} has more than max_distinct={self.max_distinct} "
                             f"distinct values after {self.n} rows: the exact streamed W_p "
                             f"keeps one count per distinct value; {hint}")


def _unique_block(block, index, start, name, decimals):
    arr = _check_chunk(block, name, index, start, None)
    c = _Counts(name, np.inf, decimals)
    c.add(arr, index, start)
    return c.values, c.counts


def wasserstein_1d(X, Y, *, p=1, decimals=None, max_distinct=10_000_000,
                   chunk_size=1_000_000) -> float:
    r"""Exact :math:`W_p` between two 1-D empirical distributions, read in one pass.

    .. math:: W_p(\hat P, \hat Q)^p = \int_0^1 |F^{-1}(u) - G^{-1}(u)|^p \, du

    with :math:`F^{-1}, G^{-1}` the empirical quantile functions.  The samples are
    reduced to their distinct values and counts chunk by chunk (memory grows with the
    number of distinct values, not of rows), and the integral is evaluated exactly on
    the merged steps — the same number as :func:`divest.ipm.wasserstein` on the full
    arrays (up to round-off).  Data with too many distinct values raise; with
    ``decimals=k`` the values are rounded to k decimals first, and the result is the
    exact :math:`W_p` of the rounded samples, within :math:`10^{-k}` of the unrounded
    one (each point moves by at most :math:`10^{-k}/2`).

    Parameters
    ----------
    X, Y : array_like, dask array or iterable of chunks
        1-D samples (or (n, 1)).
    p : float, default 1
        :math:`p \ge 1`.
    decimals : int, optional
    max_distinct : int, default 10_000_000
    chunk_size : int, default 1000000

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from divest.streaming import wasserstein_1d
    >>> chunks = (np.arange(10.0) for _ in range(3))       # an iterable of 3 chunks
    >>> wasserstein_1d(chunks, np.arange(10.0) + 2.5)
    2.5
    """
    p = check_real(p, "p", low=1, low_open=False)
    if decimals is not None:
        if isinstance(decimals, bool) or not isinstance(decimals, (numbers.Integral, np.integer)):
            raise TypeError(f"decimals must be None or an integer; got {_describe(decimals)}")
        decimals = int(decimals)
    max_distinct = check_positive_int(max_distinct, "max_distinct")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    counts = []
    for A, name in ((X, "X"), (Y, "Y")):
        c = _Counts(name, max_distinct, decimals)
        if _is_dask(A):
            import dask
            A = A.rechunk((chunk_size,) + (-1,) * (A.ndim - 1))
            starts = np.cumsum((0,) + A.chunks[0][:-1])
            parts = [dask.delayed(_unique_block, pure=True)(b, i, int(s), name, decimals)
                     for i, (b, s) in enumerate(zip(A.to_delayed().ravel(), starts))]
            for v, k in _compute(parts, starts):
                c.merge(v, k)
        else:
            rows = _Rows(A, name, chunk_size, max_width=1)
            while True:
                start = rows.read
                block = rows.take(chunk_size)
                if block.shape[0] == 0:
                    break
                c.add(block, rows.index - 1, start)
        if c.n == 0:
            raise ValueError(f"{name} has no rows (an empty array or an exhausted iterable)")
        counts.append(c)
    return _wasserstein_counts(counts[0], counts[1], p)


def _wasserstein_counts(a, b, p):
    """W_p between two weighted discrete distributions on the line (exact)."""
    ca = np.cumsum(a.counts) / a.n
    cb = np.cumsum(b.counts) / b.n
    ca[-1] = cb[-1] = 1.0
    u = np.union1d(ca, cb)                       # the quantile functions' breakpoints
    lo = np.concatenate([[0.0], u[:-1]])
    ia = np.searchsorted(ca, u, side="left")     # quantile at (lo, u]: first cdf >= u
    ib = np.searchsorted(cb, u, side="left")
    diff = np.abs(a.values[ia] - b.values[ib])
    w = u - lo
    if p == 1:
        return float(np.sum(w * diff))
    top = float(diff.max())
    if top == 0.0:
        return 0.0
    # scaled by the largest difference: no overflow of diff**p, no underflow to 0
    return top * float(np.sum(w * (diff / top) ** p) ** (1.0 / p))
