"""divest.streaming: one-pass statistics equal their in-memory definitions, whatever the
chunking (arrays, iterables of ragged chunks, dask arrays on a LocalCluster); the normal
p-value is calibrated; bad chunks raise naming the chunk; memory does not grow with n."""

import math
import tracemalloc

import numpy as np
import pytest

import divest
from divest import ipm, streaming
from divest.ipm._kernels import resolve_kernel


def _pair(n=3001, m=2600, d=3, shift=0.1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(shift, size=(m, d))


def _ragged(A, sizes):
    """``A`` as an iterator of chunks of the given sizes (cycled), some of them empty."""
    out, s, i = [], 0, 0
    while s < A.shape[0]:
        k = sizes[i % len(sizes)]
        out.append(A[s:s + k])
        s, i = s + k, i + 1
    return iter(out)


def _brute_units(X, Y, estimator, b, R, bw):
    """The unit values from the definitions, by loops over a small sample."""
    k = resolve_kernel("gaussian", bw, X)
    kk = lambda a, c: float(k(a[None], c[None])[0, 0])  # noqa: E731
    h = lambda i, j, A, B: kk(A[i], A[j]) + kk(B[i], B[j]) - kk(A[i], B[j]) - kk(A[j], B[i])  # noqa: E731
    L = min(len(X), len(Y))
    if estimator == "linear":
        return [h(2 * i, 2 * i + 1, X, Y) for i in range(L // 2)]
    out = []
    for s in range(0, L // b * b, b):
        A, B = X[s:s + b], Y[s:s + b]
        if estimator == "incomplete":
            vals = [h(i, i + r, A, B) for r in range(1, R + 1) for i in range(b - r)]
            out.append(np.mean(vals))
        else:
            out.append(float(ipm.mmd(A, B, bandwidth=bw, estimator="unbiased")))
    return out


@pytest.mark.filterwarnings("ignore:mmd_test. .* units are fewer:UserWarning")
@pytest.mark.parametrize("estimator, b, R", [("linear", None, None), ("block", 7, None),
                                             ("incomplete", 9, 3)])
def test_units_match_their_definitions(estimator, b, R):
    X, Y = _pair(61, 50, 2)
    res = streaming.mmd_test(X, Y, estimator=estimator, block_size=b, R=R, bandwidth=0.9,
                             chunk_size=13)
    u = np.array(_brute_units(X, Y, estimator, b, R, 0.9))
    assert res.details["n_units"] == u.size
    assert res.statistic == pytest.approx(u.mean(), rel=1e-12, abs=1e-15)
    se = u.std(ddof=1) / math.sqrt(u.size)
    assert res.details["standard_error"] == pytest.approx(se, rel=1e-10)
    from scipy import stats
    assert res.pvalue == pytest.approx(stats.norm.sf(u.mean() / se), rel=1e-9)
    assert res.details["rows_used"] == u.size * (2 if estimator == "linear" else b)


def test_linear_equals_two_sample_tests_mmd_linear_for_any_chunking():
    X, Y = _pair()
    ref = divest.two_sample_test(X, Y, "mmd_linear", bandwidth=1.3)
    for xs, ys in [(X, Y), (_ragged(X, [1, 0, 777, 5]), _ragged(Y, [333])),
                   (X.tolist(), Y), (iter([X]), iter([Y[:1000], Y[1000:]]))]:
        res = streaming.mmd_test(xs, ys, bandwidth=1.3, chunk_size=101)
        assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
        assert res.details["n_units"] == ref.details["n_pairs"]
    # one-dimensional input and the median bandwidth from the first 1000 rows
    res = streaming.mmd_test(X[:, 0], Y[:, 0])
    assert res.details["bandwidth"] == pytest.approx(
        ipm.median_bandwidth(X[:1000, :1], Y[:1000, :1]))


def test_energy_and_wasserstein_equal_the_in_memory_values():
    X, Y = _pair(1250, 1100, 2)
    est = streaming.energy_distance(_ragged(X, [100, 17]), Y, block_size=50, chunk_size=64)
    blocks = [ipm.energy_distance(X[s:s + 50], Y[s:s + 50]) for s in range(0, 1100, 50)]
    assert est.value == pytest.approx(np.mean(blocks), rel=1e-12)
    assert est.standard_error == pytest.approx(np.std(blocks, ddof=1) / math.sqrt(22), rel=1e-10)
    assert est.details["n_blocks"] == 22 and est.name == "energy"
    x, y = np.round(X[:, 0], 1), np.round(Y[:, 0], 1)            # ties
    for p in (1, 2, 3.5):
        want = ipm.wasserstein(x, y, p=p)
        assert streaming.wasserstein_1d(_ragged(x, [10, 999]), y, p=p, chunk_size=77) \
            == pytest.approx(want, rel=1e-10)
    w = streaming.wasserstein_1d(X[:, 0], Y[:, 0], decimals=2)   # rounding: within 10^-2
    assert abs(w - ipm.wasserstein(X[:, 0], Y[:, 0])) <= 1e-2
    # extreme scales: no overflow of diff**p, no underflow
    assert streaming.wasserstein_1d([0.0, 1e10], [1.0, 2e10], p=40) == pytest.approx(
        ipm.wasserstein(np.array([0.0, 1e10]), np.array([1.0, 2e10]), p=40), rel=1e-9)
    assert streaming.wasserstein_1d([0.0, 1e-170], [1e-170, 3e-170], p=2) == pytest.approx(
        np.sqrt(0.5 * (1e-170) ** 2 + 0.5 * (2e-170) ** 2), rel=1e-9)
    # a float32 memmap-like array is converted chunk by chunk (same numbers)
    x32 = X[:, 0].astype(np.float32)
    assert streaming.wasserstein_1d(x32, Y[:, 0], chunk_size=100) == pytest.approx(
        ipm.wasserstein(x32.astype(float), Y[:, 0]), rel=1e-10)
    with pytest.raises(ValueError, match="max_distinct=100 distinct values"):
        streaming.wasserstein_1d(X[:, 0], Y[:, 0], max_distinct=100)


def test_dask_arrays_on_a_local_cluster_give_the_same_numbers(dask_client):
    da = pytest.importorskip("dask.array")
    X, Y = _pair(4001, 4400, 3)
    dX, dY = da.from_array(X, chunks=(700, 3)), da.from_array(Y, chunks=(1100, 3))
    for est in ("linear", "block", "incomplete"):
        a = streaming.mmd_test(X, Y, estimator=est, bandwidth=1.0, chunk_size=1000)
        b = streaming.mmd_test(dX, dY, estimator=est, bandwidth=1.0, chunk_size=1000)
        assert b.statistic == pytest.approx(a.statistic, rel=1e-12)
        assert b.pvalue == pytest.approx(a.pvalue, rel=1e-9)
        assert b.details["chunks_read"] == (4, 4)           # 4000 rows in blocks of 1000
    assert streaming.energy_distance(dX, dY).value == pytest.approx(
        streaming.energy_distance(X, Y).value, rel=1e-12)
    assert streaming.wasserstein_1d(dX[:, 0], dY[:, 0], chunk_size=999) == pytest.approx(
        ipm.wasserstein(X[:, 0], Y[:, 0]), rel=1e-10)
    Xn = X.copy()
    Xn[2345, 1] = np.nan
    with pytest.raises(ValueError, match=r"X: chunk 2 \(rows 2000\.\.\).*row 2345, column 1"):
        streaming.mmd_test(da.from_array(Xn, chunks=(700, 3)), dY, bandwidth=1.0,
                           chunk_size=1000)
    with pytest.raises(TypeError, match="both be dask arrays or neither"):
        streaming.mmd_test(dX, Y)


def test_normal_pvalue_is_calibrated_under_the_null():
    """400 linear and 400 block tests under P = Q: the rejection rates at 0.05 and 0.2
    are within 3.5 binomial SEs (a wrong SE -- n for n - 1, or pairs counted twice --
    moves them far outside)."""
    rng = np.random.default_rng(11)
    for est, kw in (("linear", {}), ("block", {"block_size": 10})):
        p = np.array([streaming.mmd_test(rng.standard_t(5, (1000, 2)), rng.standard_t(5, (1000, 2)),
                                         estimator=est, bandwidth=1.0, **kw).pvalue
                      for _ in range(400)])
        for a in (0.05, 0.2):
            assert abs(np.mean(p <= a) - a) < 3.5 * math.sqrt(a * (1 - a) / 400), (est, a)


def test_bad_input_names_the_chunk():
    X, Y = _pair(500, 500, 2)
    bad = [X[:100], X[100:200, :1]]
    with pytest.raises(ValueError, match=r"X: chunk 1 \(rows 100\.\.\) has 1 columns but the "
                                         r"earlier chunks have 2"):
        streaming.mmd_test(iter(bad), Y, bandwidth=1.0)
    Yn = Y.copy()
    Yn[321, 0] = np.inf
    with pytest.raises(ValueError, match=r"Y: chunk 3 \(rows 300\.\.\).*row 321, column 0"):
        streaming.mmd_test(X, Yn, bandwidth=1.0, chunk_size=100)
    with pytest.raises(ValueError, match="X has no rows"):
        streaming.mmd_test(iter([]), Y)
    with pytest.raises(ValueError, match="same number of columns"):
        streaming.mmd_test(X, Y[:, :1], bandwidth=1.0)
    with pytest.raises(TypeError, match="chunk 0.*real numbers"):
        streaming.mmd_test(iter([np.array([["a", "b"]])]), Y)
    with pytest.raises(ValueError, match="R must be smaller than block_size"):
        streaming.mmd_test(X, Y, estimator="incomplete", block_size=5, R=5)
    with pytest.raises(ValueError, match="block_size is not used"):
        streaming.mmd_test(X, Y, block_size=5)
    with pytest.raises(ValueError, match="at least 2 units"):
        streaming.mmd_test(X[:3], Y[:3], bandwidth=1.0)
    with pytest.raises(ValueError, match="estimator"):
        streaming.mmd_test(X, Y, estimator="quadratic")
    with pytest.raises(ValueError, match="R is not used by estimator='linear'"):
        streaming.mmd_test(X, Y, R=3)
    # an empty first chunk does not fix the width; a 2-column chunk of a 1-D W is named
    res = streaming.mmd_test(iter([np.empty((0,)), X]), Y, bandwidth=1.0)
    assert res.details["rows_used"] == 500
    with pytest.raises(ValueError, match=r"X: chunk 1 \(rows 5\.\.\) has 2 columns"):
        streaming.wasserstein_1d(iter([np.zeros(5), np.zeros((5, 2))]), np.zeros(3))
    with pytest.raises(ValueError, match=r"Y: chunk 0 \(rows 0\.\.\) must have at most 1 "
                                         r"column"):
        streaming.wasserstein_1d(np.zeros(3), iter([np.zeros((5, 2))]))
    with pytest.warns(UserWarning, match="fewer than the 25"):
        streaming.mmd_test(X[:20], Y[:20], bandwidth=1.0)


def test_memory_does_not_grow_with_the_rows():
    """10^6 rows (d = 10) of each sample streamed in chunks of 10^4: the peak of the
    memory numpy allocates stays far below the 160 MB the samples would take."""
    def chunks(shift, seed):
        rng = np.random.default_rng(seed)
        for _ in range(100):
            yield rng.normal(shift, size=(10_000, 10))
    tracemalloc.start()
    try:
        res = streaming.mmd_test(chunks(0.0, 1), chunks(0.05, 2), bandwidth=3.0,
                                 chunk_size=10_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.details["rows_used"] == 1_000_000 and res.details["chunks_read"] == (100, 100)
    assert peak < 20e6, peak
    assert res.pvalue < 0.01                        # a small shift, seen with 500,000 pairs


def _fatal_kernel(A, B):
    import os
    os._exit(3)                       # the worker process dies mid-block


def test_a_dead_dask_worker_is_an_error_naming_the_block():
    """A worker that dies raises (no partial result), and the message names the block."""
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    import dask
    X, Y = _pair(400, 400, 2)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with pytest.raises(RuntimeError, match=r"block [01] \(rows (0|200)\.\.\) of 2 failed "
                                               r"on the dask cluster \(KilledWorker.*no result"):
            streaming.mmd_test(da.from_array(X, chunks=(200, 2)),
                               da.from_array(Y, chunks=(200, 2)), kernel=_fatal_kernel,
                               chunk_size=200)
