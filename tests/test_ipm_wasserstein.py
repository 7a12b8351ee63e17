"""Tests of divest.ipm.wasserstein: exact (POT), 1-D sorting, Sinkhorn, sliced, auto.

The exact path is compared with ``ot.emd2`` called directly on a cost matrix built by
scipy (never by divest), the 1-D path with scipy.stats.wasserstein_distance (p = 1) and
POT's ot.wasserstein_1d / the exact solver (p > 1), so a missing p-th root, a swapped
weight vector or an off-by-one in the quantile matching fails.
"""

import math
import warnings

import numpy as np
import ot
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

import divest.ipm._wasserstein as W
from divest.exact import closed_form
from divest.ipm import wasserstein


def _emd_ref(X, Y, p, a=None, b=None, metric="euclidean"):
    M = cdist(np.atleast_2d(X.T).T if X.ndim == 1 else X, Y, metric) ** p
    a = np.full(len(X), 1 / len(X)) if a is None else a
    b = np.full(len(Y), 1 / len(Y)) if b is None else b
    return ot.emd2(a, b, M, numItermax=10 ** 7) ** (1 / p)


def _weights(rng, n, zeros=0):
    w = rng.random(n)
    w[:zeros] = 0.0
    return w / w.sum()


@pytest.mark.parametrize("seed, n, m, d, p", [(0, 30, 30, 2, 1), (1, 25, 40, 3, 2),
                                              (2, 17, 11, 5, 1.5), (3, 40, 35, 1, 3)])
def test_exact_equals_pot(seed, n, m, d, p):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) * 1.5 + 0.4
    ref = _emd_ref(X, Y, p)
    assert wasserstein(X, Y, p, method="exact") == pytest.approx(ref, rel=1e-12)
    a, b = _weights(rng, n, zeros=3), _weights(rng, m)
    ref_w = _emd_ref(X, Y, p, a, b)
    assert wasserstein(X, Y, p, a=a, b=b, method="exact") == pytest.approx(ref_w, rel=1e-12)
    assert abs(ref_w - ref) > 1e-3  # the weights matter: swapping them in would fail


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev"])
def test_exact_other_metrics(metric):
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3)) + 1.0
    assert wasserstein(X, Y, 2, metric=metric) == pytest.approx(_emd_ref(X, Y, 2, metric=metric),
                                                               rel=1e-12)
    assert wasserstein(X, Y, metric=lambda A, B: cdist(A, B, metric)) == pytest.approx(
        _emd_ref(X, Y, 1, metric=metric), rel=1e-12)


def test_returns_the_pth_root():
    # a translate by t: W_p = |t| for every p (POT's emd2 would give |t|^p)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 2))
    t = np.array([3.0, 4.0])
    for p in (1, 2, 3.5):
        assert wasserstein(X, X + t, p, method="exact") == pytest.approx(5.0, rel=1e-12)
    x = rng.normal(size=50)
    assert wasserstein(x, x - 2.0, p=2) == pytest.approx(2.0, rel=1e-12)
    # two points each: W_2^2 = (0^2 + 2^2) / 2 -> W_2 = sqrt(2)
    assert wasserstein([0.0, 1.0], [0.0, 3.0], p=2) == pytest.approx(math.sqrt(2.0))


def test_zero_weights_equal_dropping_points():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(8, 2))
    a = np.r_[np.full(6, 1 / 6), np.zeros(4)]
    assert wasserstein(X, Y, a=a) == pytest.approx(wasserstein(X[:6], Y), rel=1e-12)
    # duplicated points are the same measure as doubled weights
    a2 = np.r_[np.full(5, 0.1), np.full(5, 0.1)]
    b2 = np.r_[np.full(4, 0.25), np.zeros(4)]
    assert wasserstein(np.vstack([X[:5], X[:5]]), Y, a=a2, b=b2) == pytest.approx(
        wasserstein(X[:5], Y[:4]), rel=1e-12)


# ---------------------------------------------------------------------------------------
# 1-D sorting
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, m", [(50, 50), (37, 61), (5, 2)])
def test_sorting_equals_scipy_p1(n, m):
    rng = np.random.default_rng(n + m)
    x, y = rng.normal(size=n), rng.exponential(size=m)
    assert wasserstein(x, y, method="sorting") == pytest.approx(
        stats.wasserstein_distance(x, y), rel=1e-12)
    a, b = _weights(rng, n), _weights(rng, m)
    assert wasserstein(x, y, a=a, b=b) == pytest.approx(
        stats.wasserstein_distance(x, y, a, b), rel=1e-12)
    assert wasserstein(x, y, a=a) == pytest.approx(stats.wasserstein_distance(x, y, a), rel=1e-12)


def test_sorting_with_ties_equals_scipy():
    x = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 4.0])
    y = np.array([1.0, 1.0, 2.0])
    assert wasserstein(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-14)


@pytest.mark.parametrize("p", [2, 3, 1.5])
def test_sorting_higher_p(p):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=40), rng.normal(size=27) * 2
    a, b = _weights(rng, 40, zeros=2), _weights(rng, 27)
    for wa, wb in ((None, None), (a, b)):
        val = wasserstein(x, y, p, a=wa, b=wb)
        assert val == pytest.approx(ot.wasserstein_1d(x, y, wa, wb, p=p) ** (1 / p), rel=1e-10)
        assert val == pytest.approx(_emd_ref(x[:, None], y[:, None], p, wa, wb), rel=1e-10)
        assert val == pytest.approx(wasserstein(x, y, p, a=wa, b=wb, method="exact"), rel=1e-10)


@pytest.mark.parametrize("p", [1, 2])
def test_sorting_converges_to_gaussian_closed_form(p):
    # deterministic quantile grids: the empirical W_p -> W_p(N(0, 1), N(1, 2^2))
    P, Q = stats.norm(0, 1), stats.norm(1, 2)
    u = (np.arange(20000) + 0.5) / 20000
    exact = closed_form(P, Q, "wasserstein", p=p)
    assert wasserstein(P.ppf(u), Q.ppf(u[::2]), p) == pytest.approx(exact, rel=2e-3)


# ---------------------------------------------------------------------------------------
# approximations and auto
# ---------------------------------------------------------------------------------------

def test_sliced_matches_pot_and_is_a_lower_bound():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 0.5
    sw = wasserstein(X, Y, 2, method="sliced", n_projections=64, rng=3)
    proj = np.random.default_rng(3).standard_normal((3, 64))
    proj /= np.linalg.norm(proj, axis=0)
    assert sw == pytest.approx(ot.sliced_wasserstein_distance(X, Y, p=2, projections=proj),
                               rel=1e-12)
    assert sw == wasserstein(X, Y, 2, method="sliced", n_projections=64, rng=3)
    assert sw != wasserstein(X, Y, 2, method="sliced", n_projections=64, rng=4)
    assert sw < wasserstein(X, Y, 2, method="exact")
    x, y = X[:, 0], Y[:, 0]
    assert wasserstein(x, y, 2, method="sliced", rng=0) == pytest.approx(wasserstein(x, y, 2),
                                                                         rel=1e-12)


@pytest.mark.parametrize("p", [1, 2])
def test_sinkhorn_close_to_exact(p):
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(80, 2)), rng.normal(size=(70, 2)) + 1.0
    exact = wasserstein(X, Y, p, method="exact")
    assert wasserstein(X, Y, p, method="sinkhorn") == pytest.approx(exact, rel=0.03)
    # debiased: identical samples give ~0 (the plain entropic cost would not)
    assert abs(wasserstein(X, X, p, method="sinkhorn")) < 1e-3 * exact


def test_sinkhorn_small_reg_falls_back_to_the_log_domain():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 1.0
    a = np.full(20, 1 / 20)
    M = cdist(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = ot.sinkhorn2(a, a, M, 1e-3, numItermax=100)
    assert not plain > 0.5 * ot.emd2(a, a, M)  # POT's Sinkhorn-Knopp breaks down here ...
    val, err = W._entropic_cost(a, a, M, 1e-3, numItermax=2000, stopThr=1e-3)
    assert np.isfinite(err)  # ... the log-domain retry does not
    assert val == pytest.approx(ot.emd2(a, a, M), rel=1e-2)


def test_sinkhorn_warns_when_not_converged():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 1.0
    with pytest.warns(UserWarning, match="not converged"):
        wasserstein(X, Y, method="sinkhorn", numItermax=2)


def test_auto_paths(monkeypatch):
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(20, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wasserstein(X[:, 0], Y[:, 0]) == wasserstein(X[:, 0], Y[:, 0], method="sorting")
        assert wasserstein(X, Y) == wasserstein(X, Y, method="exact")
    monkeypatch.setattr(W, "_EXACT_MAX_NM", 100)
    with pytest.warns(UserWarning, match="sliced Wasserstein distance"):
        v = wasserstein(X, Y, rng=0)
    assert v == wasserstein(X, Y, method="sliced", rng=0)
    with pytest.warns(UserWarning, match="debiased Sinkhorn"):
        wasserstein(X, Y, metric="cityblock")


def test_exact_iteration_limit_raises():
    rng = np.random.default_rng(12)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    with pytest.raises(RuntimeError, match="numItermax"):
        wasserstein(X, Y, method="exact", numItermax=5)


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

_X, _Y = np.zeros((5, 2)), np.ones((4, 2))


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((_X[:1], _Y), {}, ValueError, r"X needs at least 2 samples.*\(1, 2\)"),
    ((_X, _Y[:1]), {}, ValueError, "Y needs at least 2 samples"),
    ((_X, np.ones((4, 3))), {}, ValueError, "same dimension"),
    ((np.r_[_X[:4], [[np.nan, 0]]], _Y), {}, ValueError, "non-finite"),
    ((_X, _Y), {"p": 0.5}, ValueError, r"p must lie in \[1, inf\); got 0.5"),
    ((_X, _Y), {"a": [-0.2, 0.3, 0.3, 0.3, 0.3]}, ValueError,
     "a must be non-negative; found -0.2 at index 0"),
    ((_X, _Y), {"b": [0.2] * 4}, ValueError, "b must sum to 1.*sums to 0.8"),
    ((_X, _Y), {"a": [0.5, 0.5]}, ValueError, r"a must have one weight per row of X \(5\)"),
    ((_X, _Y), {"method": "emd"}, ValueError,
     "method='emd' is not valid; choose one of 'auto', 'exact', 'sinkhorn', 'sliced', 'sorting'"),
    ((_X, _Y), {"method": "exact", "reg": 0.1}, TypeError,
     "unknown option.*'reg'.*method='exact'; valid options: numItermax"),
    ((_X, _Y), {"metric": "sqeuclidean"}, ValueError, "sqeuclidean"),
    ((_X, _Y), {"metric": "l3"}, ValueError, "metric='l3' is not valid"),
    ((_X, _Y), {"method": "sorting"}, ValueError, "needs 1-D samples"),
    ((_X, _Y), {"method": "sliced", "metric": "cityblock"}, ValueError, "Euclidean"),
])
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        wasserstein(*args, **kwargs)
