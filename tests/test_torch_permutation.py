"""The permutation engine on torch: the numpy engine's relabellings and p-values, on the
CPU (and on CUDA where a GPU is present), stored and streamed matrices."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import divest  # noqa: E402


def _pair(n, m, seed=0, shift=0.15):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(shift, size=(m, 3))


def _same(a, b, rtol=1e-9):
    scale = np.max(np.abs(a.null_distribution))
    assert b.statistic == pytest.approx(a.statistic, rel=rtol, abs=rtol * scale)
    np.testing.assert_allclose(b.null_distribution, a.null_distribution, rtol=rtol,
                               atol=rtol * scale)
    assert b.pvalue == a.pvalue
    assert b.details["pvalues"] == a.details["pvalues"]


@pytest.mark.parametrize("statistic, options", [
    ("mmd", {}), ("mmd", {"estimator": "biased", "kernel": "laplace"}),
    ("energy", {}), ("mmd_agg", {})])
@pytest.mark.parametrize("n, m", [(40, 55), (61, 30)])
def test_torch_cpu_engine_gives_the_numpy_result(statistic, options, n, m):
    X, Y = _pair(n, m)
    ref = divest.two_sample_test(X, Y, statistic, n_permutations=299, rng=3, **options)
    got = divest.two_sample_test(X, Y, statistic, n_permutations=299, rng=3, device="cpu",
                                 **options)
    _same(ref, got)
    assert got.details["plan"]["device"] == "cpu"
    # streamed row blocks (a budget below the stored matrix) and small batches: same again
    small = divest.two_sample_test(X, Y, statistic, n_permutations=299, rng=3, device="cpu",
                                   max_memory=2 ** 20, batch_size=7, **options)
    assert small.details["plan"]["batch_size"] == 7
    _same(ref, small)


@pytest.mark.parametrize("max_memory", [None, 2 ** 20])
def test_torch_engine_in_many_row_blocks(monkeypatch, max_memory):
    # the upper-block-triangle products with small blocks (as the numpy engine's test)
    from divest import _permutation as _perm

    def small_blocks():
        monkeypatch.setattr(_perm, "_HALF_ROWS", 7)
        monkeypatch.setattr(_perm, "_MAX_BLOCK_ROWS", 9)

    small_blocks()
    X, Y = _pair(60, 70)
    opts = dict(n_permutations=99, rng=3, estimator="biased",
                **({} if max_memory is None else {"max_memory": max_memory}))
    ref = divest.two_sample_test(X, Y, "mmd", **opts)
    monkeypatch.undo()
    full = divest.two_sample_test(X, Y, "mmd", n_permutations=99, rng=3, estimator="biased")
    _same(full, ref, rtol=1e-12)
    small_blocks()
    got = divest.two_sample_test(X, Y, "mmd", device="cpu", **opts)
    assert got.details["plan"]["matrix_stored"] == (max_memory is None)
    _same(ref, got)


def test_streamed_plan_is_used_when_the_matrix_does_not_fit():
    X, Y = _pair(300, 260)
    ref = divest.two_sample_test(X, Y, n_permutations=99, rng=0, max_memory=2 ** 21)
    got = divest.two_sample_test(X, Y, n_permutations=99, rng=0, max_memory=2 ** 21,
                                 device="cpu")
    assert got.details["plan"]["matrix_stored"] is False
    assert ref.details["plan"]["block_rows"] == got.details["plan"]["block_rows"]
    _same(ref, got)


def test_a_wrong_index_in_the_torch_engine_would_show():
    """A shifted sample must be rejected and a null one not: the engine is not a copy of
    its numpy twin's output (it computes the matrix on its own device)."""
    X, Y = _pair(80, 80, shift=1.0)
    assert divest.two_sample_test(X, Y, rng=0, device="cpu").pvalue == 1 / 1000
    X, Y = _pair(80, 80, shift=0.0)
    assert divest.two_sample_test(X, Y, rng=0, device="cpu").pvalue > 0.05


def test_bad_device_and_numpy_only_callables():
    X, Y = _pair(20, 20)
    with pytest.raises(ValueError, match="device="):
        divest.two_sample_test(X, Y, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            divest.two_sample_test(X, Y, device="cuda")

    def numpy_kernel(A, B):
        return np.exp(-((np.asarray(A)[:, None] - np.asarray(B)[None]) ** 2).sum(-1))
    with pytest.raises(TypeError, match="kernel must accept torch tensors"):
        divest.two_sample_test(X, Y, kernel=numpy_kernel, device="cpu")
    with pytest.raises(TypeError, match="unknown option.*'device'"):
        divest.two_sample_test(X, Y, "mmdfuse", device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_engine_gives_the_numpy_result():
    X, Y = _pair(500, 450)
    for statistic in ("mmd", "energy"):
        ref = divest.two_sample_test(X, Y, statistic, n_permutations=499, rng=5)
        got = divest.two_sample_test(X, Y, statistic, n_permutations=499, rng=5,
                                     device="cuda")
        _same(ref, got)
        assert got.details["plan"]["device"].startswith("cuda")


def test_duplicate_rows_in_high_dimension_agree():
    """Two distinct points repeated, d = 40 (the squared-distance expansion's round-off
    used to make duplicates ~1e-7 apart in the numpy engine, changing tied p-values)."""
    rng = np.random.default_rng(0)
    vals = rng.normal(size=(2, 40)) * 3.7
    X, Y = vals[rng.integers(0, 2, 300)], vals[rng.integers(0, 2, 300)]
    from divest.ipm._kernels import pairwise_distances
    D = pairwise_distances(X, X)
    same = (X[:, None, :] == X[None, :, :]).all(-1)
    assert np.all(D[same] == 0.0)
    for statistic, kw in (("energy", {}), ("mmd", {"bandwidth": 20.0})):
        ref = divest.two_sample_test(X, Y, statistic, n_permutations=199, rng=1, **kw)
        got = divest.two_sample_test(X, Y, statistic, n_permutations=199, rng=1,
                                     device="cpu", **kw)
        assert got.details["pvalues"] == ref.details["pvalues"]
