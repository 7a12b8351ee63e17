"""Tests of divest.ipm kernels: formulas, chunking, backends, the median bandwidth.

Every built-in kernel is compared with its formula written out entry by entry, so a
wrong constant (2 sigma^2 vs sigma^2, L1 vs L2 norm in the Laplace kernel, gamma = 1/d
in the polynomial kernel) fails.  The median convention is pinned by hand examples.
"""

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

from divest.ipm import KERNELS, kernel_matrix, median_bandwidth
from divest.ipm._kernels import gram, pairwise_distances, resolve_kernel


def _naive(kernel, X, Y, s=None, **kw):
    """k(x_i, y_j) by a double loop over the written-out formula."""
    out = np.empty((len(X), len(Y)))
    for i, x in enumerate(X):
        for j, y in enumerate(Y):
            r2 = float(np.sum((x - y) ** 2))
            if kernel == "gaussian":
                out[i, j] = np.exp(-r2 / (2 * s * s))
            elif kernel == "laplace":
                out[i, j] = np.exp(-np.sqrt(r2) / s)
            elif kernel == "inverse_multiquadric":
                out[i, j] = (1 + r2 / s ** 2) ** (-kw.get("beta", 0.5))
            elif kernel == "linear":
                out[i, j] = float(x @ y)
            else:  # polynomial, KID convention
                out[i, j] = (kw.get("gamma", 1 / len(x)) * float(x @ y)
                             + kw.get("coef0", 1.0)) ** kw.get("degree", 3)
    return out


@pytest.fixture
def XY():
    rng = np.random.default_rng(0)
    return rng.normal(size=(13, 3)), rng.normal(size=(9, 3)) + 0.3


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel_formulas(kernel, XY):
    X, Y = XY
    s = 0.7 if kernel in ("gaussian", "laplace", "inverse_multiquadric") else None
    K = kernel_matrix(X, Y, kernel=kernel, bandwidth=s)
    np.testing.assert_allclose(K, _naive(kernel, X, Y, s), rtol=1e-12, atol=1e-14)
    for chunk in (1, 4):
        np.testing.assert_allclose(kernel_matrix(X, Y, kernel=kernel, bandwidth=s,
                                                 chunk_size=chunk), K, rtol=1e-14, atol=0)


def test_kernel_parameters(XY):
    X, Y = XY
    np.testing.assert_allclose(
        kernel_matrix(X, Y, kernel="inverse_multiquadric", bandwidth=2.0, beta=1.5),
        _naive("inverse_multiquadric", X, Y, 2.0, beta=1.5), rtol=1e-12)
    np.testing.assert_allclose(
        kernel_matrix(X, Y, kernel="polynomial", degree=2, gamma=0.5, coef0=0.0),
        _naive("polynomial", X, Y, degree=2, gamma=0.5, coef0=0.0), rtol=1e-12)


def test_polynomial_is_the_kid_convention():
    # KID: (x.y / d + 1)^3
    x, y = np.array([[1.0, 2.0, 3.0]]), np.array([[0.5, -1.0, 2.0]])
    assert kernel_matrix(x, y, kernel="polynomial")[0, 0] == pytest.approx((4.5 / 3 + 1) ** 3)


def test_laplace_uses_the_euclidean_norm():
    x, y = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
    assert kernel_matrix(x, y, kernel="laplace", bandwidth=5.0)[0, 0] == pytest.approx(np.exp(-1))


def test_callable_kernel_and_its_parameters(XY):
    X, Y = XY

    def k(A, B, scale=1.0):
        return scale * (A @ B.T)

    np.testing.assert_allclose(kernel_matrix(X, Y, kernel=k, scale=2.0), 2 * X @ Y.T)
    with pytest.raises(ValueError, match="kernel returned shape"):
        kernel_matrix(X, Y, kernel=lambda A, B: A @ A.T)
    with pytest.raises(ValueError, match="non-finite"):
        kernel_matrix(X, Y, kernel=lambda A, B: np.full((len(A), len(B)), np.nan))


def test_within_sample_diagonal_is_exact_in_high_dimension():
    # d > 16 uses |x|^2 + |y|^2 - 2 x.y; far from the origin that cancels badly
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 50)) + 1e3
    K = kernel_matrix(X, kernel="gaussian", bandwidth=1.0, chunk_size=7)
    assert np.all(np.diag(K) == 1.0)
    D = pairwise_distances(X, X, chunk_size=7)
    assert np.all(np.diag(D) == 0.0)
    np.testing.assert_allclose(D, cdist(X, X), rtol=1e-9, atol=1e-9)
    D2 = pairwise_distances(X, X[:5] + 0.0, metric="sqeuclidean")
    assert np.all(D2 >= 0.0)
    np.testing.assert_allclose(D2, cdist(X, X[:5], "sqeuclidean"), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("metric, ref", [("euclidean", "euclidean"), ("cityblock", "cityblock"),
                                         ("manhattan", "cityblock"), ("chebyshev", "chebyshev"),
                                         ("sqeuclidean", "sqeuclidean")])
def test_pairwise_distances_metrics(metric, ref, XY):
    X, Y = XY
    np.testing.assert_allclose(pairwise_distances(X, Y, metric=metric, chunk_size=5),
                               cdist(X, Y, ref), rtol=1e-12)


def test_pairwise_distances_callable_and_errors(XY):
    X, Y = XY
    np.testing.assert_allclose(pairwise_distances(X, Y, metric=lambda A, B: cdist(A, B)),
                               cdist(X, Y))
    with pytest.raises(ValueError, match="negative"):
        pairwise_distances(X, Y, metric=lambda A, B: -cdist(A, B))
    with pytest.raises(ValueError, match="metric='minkowski' is not valid; choose one of"):
        pairwise_distances(X, Y, metric="minkowski")
    with pytest.raises(ValueError, match="same dimension"):
        pairwise_distances(X, Y[:, :2])


def test_resolve_kernel_paired_matches_gram_diagonal(XY):
    X, Y = XY
    for name in KERNELS:
        k = resolve_kernel(name, "median", X, Y)
        np.testing.assert_allclose(k.paired(X[:9], Y), np.diag(gram(X[:9], Y, k)), rtol=1e-12)
    kc = resolve_kernel(lambda A, B: A @ B.T, "median", X, Y)
    np.testing.assert_allclose(kc.paired(X[:9], Y, chunk_size=4), np.sum(X[:9] * Y, axis=1))


# ---------------------------------------------------------------------------------------
# median bandwidth
# ---------------------------------------------------------------------------------------

def test_median_bandwidth_hand_examples():
    # pooled {0, 1, 3, 7}: pairwise distances 1, 3, 7, 2, 6, 4 -> median (3 + 4) / 2
    assert median_bandwidth([0.0, 1.0], [3.0, 7.0]) == 3.5
    # {0, 1, 3}: distances 1, 3, 2 (self-distances excluded) -> 2
    assert median_bandwidth([0.0, 1.0, 3.0]) == 2.0
    # pooled, not X alone: X = {0, 1} alone would give 1
    assert median_bandwidth([0.0, 1.0], [10.0]) == 9.0
    # 2-D, Euclidean: (0,0), (3,4), (6,8): distances 5, 10, 5 -> 5
    assert median_bandwidth([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]) == 5.0
    # ties between distinct points count: {0, 0, 0, 1}: 0, 0, 1, 0, 1, 1 -> 0.5
    assert median_bandwidth([0.0, 0.0, 0.0, 1.0]) == 0.5


def test_median_bandwidth_is_the_gaussian_sigma_of_the_closed_form():
    # the default kernel uses exp(-|x-y|^2 / (2 sigma^2)) with sigma the median
    X = np.array([[0.0], [1.0]])
    Y = np.array([[3.0], [7.0]])
    K = kernel_matrix(X, Y)
    assert K[0, 0] == pytest.approx(np.exp(-9 / (2 * 3.5 ** 2)))


def test_median_bandwidth_subsample():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    assert median_bandwidth(X, max_points=50) == median_bandwidth(X, max_points=50)
    assert median_bandwidth(X, max_points=50, rng=1) == median_bandwidth(X, max_points=50, rng=1)
    assert median_bandwidth(X, max_points=50, rng=1) != median_bandwidth(X, max_points=50, rng=2)
    idx = np.random.default_rng(1).choice(300, size=50, replace=False)
    assert median_bandwidth(X, max_points=50, rng=1) == np.median(pdist(X[idx]))
    assert median_bandwidth(X) == np.median(pdist(X))  # below max_points: every pair


def test_median_bandwidth_matches_hyppo_convention():
    compute_kern = pytest.importorskip("hyppo.tools").compute_kern
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2)) + 1.0
    Z = np.vstack([X, Y])
    simz, _ = compute_kern(Z, np.zeros((35, 1)), metric="gaussian")
    np.testing.assert_allclose(kernel_matrix(Z), simz, rtol=1e-12)
    np.testing.assert_allclose(kernel_matrix(X, Y), simz[:20, 20:], rtol=1e-12)


def test_zero_bandwidth_raises():
    with pytest.raises(ValueError, match="median pairwise distance .* is 0"):
        median_bandwidth(np.ones((5, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="median pairwise distance .* is 0"):
        kernel_matrix(np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"bandwidth must lie in \(0, inf\); got 0.0"):
        kernel_matrix(np.eye(2), bandwidth=0.0)
    with pytest.raises(ValueError, match="bandwidth must lie"):
        kernel_matrix(np.eye(2), bandwidth=-1.0)


def test_kernel_bad_input():
    X = np.eye(3)
    with pytest.raises(ValueError, match="kernel='rbf' is not valid; choose one of 'gaussian', "
                                         "'inverse_multiquadric', 'laplace', 'linear', "
                                         "'polynomial'"):
        kernel_matrix(X, kernel="rbf")
    with pytest.raises(TypeError, match="unknown parameter.*'beta'.*kernel 'gaussian'"):
        kernel_matrix(X, beta=1.0)
    with pytest.raises(ValueError, match="not used by kernel 'linear'"):
        kernel_matrix(X, kernel="linear", bandwidth=1.0)
    with pytest.raises(ValueError, match="degree must be >= 1"):
        kernel_matrix(X, kernel="polynomial", degree=0)
    with pytest.raises(ValueError, match="non-finite"):
        kernel_matrix([[0.0], [np.nan]])
    with pytest.raises(ValueError, match="same dimension"):
        kernel_matrix(X, np.eye(2))
    with pytest.raises(ValueError, match="needs at least 2 pooled points"):
        median_bandwidth([1.0])


# ---------------------------------------------------------------------------------------
# torch backend
# ---------------------------------------------------------------------------------------

def test_torch_backend_matches_numpy(XY):
    torch = pytest.importorskip("torch")
    X, Y = XY
    for name in KERNELS:
        s = 1.3 if name in ("gaussian", "laplace", "inverse_multiquadric") else None
        Kt = kernel_matrix(torch.tensor(X), torch.tensor(Y), kernel=name, bandwidth=s,
                           chunk_size=4)
        assert isinstance(Kt, torch.Tensor) and Kt.dtype == torch.float64
        np.testing.assert_allclose(Kt.numpy(), kernel_matrix(X, Y, kernel=name, bandwidth=s),
                                   rtol=1e-12, atol=1e-12)
    K32 = kernel_matrix(torch.tensor(X, dtype=torch.float32), bandwidth=1.0)
    assert K32.dtype == torch.float32 and torch.all(torch.diagonal(K32) == 1.0)
    # the median bandwidth of tensors is the numpy one
    assert kernel_matrix(torch.tensor(X))[0, 1].item() == pytest.approx(kernel_matrix(X)[0, 1])


def test_torch_gradients_flow():
    torch = pytest.importorskip("torch")
    X = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    Y = torch.tensor([[0.5]], dtype=torch.float64)
    kernel_matrix(X, Y, bandwidth=1.0).sum().backward()
    # d/dx exp(-(x - y)^2 / 2) = -(x - y) exp(-(x - y)^2 / 2)
    expected = [0.5 * np.exp(-0.125), -0.5 * np.exp(-0.125)]
    np.testing.assert_allclose(X.grad.numpy()[:, 0], expected, rtol=1e-12)
