"""Tests of divest.ipm.mmd (MMD^2 estimators) and divest.ipm.energy_distance.

Exactness: every estimator against a naive loop over its published formula on small
data.  Unbiasedness: the mean over R seeded repetitions against the closed form
``divest.exact.closed_form(P, Q, "mmd2", bandwidth=s)`` within 4 standard errors of the
mean; the same test shows that an "unbiased" statistic that keeps the kernel diagonal
(the planted bug) is far outside that band.  Energy: scipy in 1-D (scipy returns the
square root), dcor and a naive formula in d > 1.
"""

import math

import numpy as np
import pytest
from scipy import stats

from divest import Estimate
from divest.exact import closed_form
from divest.ipm import energy_distance, median_bandwidth, mmd
from divest.ipm._energy import _energy_estimate
from divest.ipm._kernels import _energy_kernel, resolve_kernel
from divest.ipm._mmd import _jackknife_se, _mmd_estimate, _RowSums

Z = 4.0  # tolerance in standard errors of the mean (seeds fixed)


def _k(A, B, s):
    return np.exp(-((A[:, None, :] - B[None, :, :]) ** 2).sum(-1) / (2 * s * s))


def naive_mmd(X, Y, k, unbiased):
    """Double loops over the V-/U-statistic formulas (Gretton et al. 2012, eqs. 2-3)."""
    n, m = len(X), len(Y)
    sxx = sum(k(X[i], X[j]) for i in range(n) for j in range(n) if not (unbiased and i == j))
    syy = sum(k(Y[i], Y[j]) for i in range(m) for j in range(m) if not (unbiased and i == j))
    sxy = sum(k(X[i], Y[j]) for i in range(n) for j in range(m))
    if unbiased:
        return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)
    return sxx / n ** 2 + syy / m ** 2 - 2 * sxy / (n * m)


def _pointwise(kernel, s=None):
    """k(x, y) for two points, written out."""
    def k(x, y):
        r2 = float(np.sum((x - y) ** 2))
        return {"gaussian": lambda: math.exp(-r2 / (2 * s * s)),
                "laplace": lambda: math.exp(-math.sqrt(r2) / s),
                "linear": lambda: float(x @ y),
                "polynomial": lambda: (float(x @ y) / len(x) + 1) ** 3}[kernel]()
    return k


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return rng.normal(size=(9, 2)), rng.normal(size=(7, 2)) + 0.4


@pytest.mark.parametrize("kernel, s", [("gaussian", 0.8), ("laplace", 1.5), ("linear", None),
                                       ("polynomial", None)])
def test_biased_and_unbiased_equal_naive_loops(small, kernel, s):
    X, Y = small
    k = _pointwise(kernel, s)
    for est, unbiased in (("biased", False), ("unbiased", True)):
        assert mmd(X, Y, kernel=kernel, bandwidth=s, estimator=est) == pytest.approx(
            naive_mmd(X, Y, k, unbiased), rel=1e-12, abs=1e-14)
        assert mmd(X, Y, kernel=kernel, bandwidth=s, estimator=est, chunk_size=2) == \
            pytest.approx(naive_mmd(X, Y, k, unbiased), rel=1e-12, abs=1e-14)


def test_callable_kernel_and_median_default(small):
    X, Y = small
    assert mmd(X, Y, kernel=lambda A, B: _k(A, B, 0.9)) == pytest.approx(
        mmd(X, Y, bandwidth=0.9), rel=1e-12)
    s = median_bandwidth(X, Y)
    assert mmd(X, Y) == pytest.approx(naive_mmd(X, Y, _pointwise("gaussian", s), True), rel=1e-12)


def test_linear_estimator_formula_and_truncation(small):
    X, Y = small
    k = _pointwise("gaussian", 1.0)
    # pairs (x1, x2), (x3, x4), (x5, x6) of the first 2 * floor(min(9, 7) / 2) = 6 points
    h = [k(X[2 * i], X[2 * i + 1]) + k(Y[2 * i], Y[2 * i + 1]) - k(X[2 * i], Y[2 * i + 1])
         - k(X[2 * i + 1], Y[2 * i]) for i in range(3)]
    assert mmd(X, Y, bandwidth=1.0, estimator="linear") == pytest.approx(np.mean(h), rel=1e-12)
    est = _mmd_estimate(X, Y, bandwidth=1.0, estimator="linear")
    assert est.standard_error == pytest.approx(np.std(h, ddof=1) / math.sqrt(3), rel=1e-12)
    assert est.details["n_pairs"] == 3


def test_block_estimator_formula(small):
    X, Y = small
    k = _pointwise("gaussian", 1.0)
    # default block size floor(sqrt(7)) = 2: blocks {1,2}, {3,4}, {5,6}
    blocks = [naive_mmd(X[i:i + 2], Y[i:i + 2], k, True) for i in (0, 2, 4)]
    assert mmd(X, Y, bandwidth=1.0, estimator="block") == pytest.approx(np.mean(blocks))
    blocks3 = [naive_mmd(X[i:i + 3], Y[i:i + 3], k, True) for i in (0, 3)]
    est = _mmd_estimate(X, Y, bandwidth=1.0, estimator="block", block_size=3)
    assert est.value == pytest.approx(np.mean(blocks3), rel=1e-12)
    assert est.standard_error == pytest.approx(np.std(blocks3, ddof=1) / math.sqrt(2))


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("energy", [False, True])
def test_jackknife_standard_error_equals_brute_force(small, estimator, energy):
    X, Y = small
    if energy:
        kern = _energy_kernel()
        stat = (lambda A, B: energy_distance(A, B, estimator=estimator))
    else:
        kern = resolve_kernel("gaussian", 0.7, X, Y)
        stat = (lambda A, B: mmd(A, B, bandwidth=0.7, estimator=estimator))
    n, m = len(X), len(Y)
    lx = np.array([stat(np.delete(X, i, 0), Y) for i in range(n)])
    ly = np.array([stat(X, np.delete(Y, j, 0)) for j in range(m)])
    var = ((n - 1) / n * np.sum((lx - lx.mean()) ** 2)
           + (m - 1) / m * np.sum((ly - ly.mean()) ** 2))
    assert _jackknife_se(_RowSums(X, Y, kern), estimator) == pytest.approx(math.sqrt(var),
                                                                             rel=1e-9)


# ---------------------------------------------------------------------------------------
# agreement with the closed form (statistical)
# ---------------------------------------------------------------------------------------

def _repeat(P, Q, n, m, R, seed, **kw):
    rng = np.random.default_rng(seed)
    vals, ses, keep_diag = [], [], []
    for _ in range(R):
        X = np.reshape(P.rvs(size=n, random_state=rng), (n, -1))
        Y = np.reshape(Q.rvs(size=m, random_state=rng), (m, -1))
        est = _mmd_estimate(X, Y, **kw)
        vals.append(est.value)
        ses.append(est.standard_error)
        if kw.get("estimator") == "unbiased":
            # the planted bug: an "unbiased" statistic that keeps the diagonals
            s = kw["bandwidth"]
            keep_diag.append(_k(X, X, s).sum() / (n * (n - 1)) + _k(Y, Y, s).sum() / (m * (m - 1))
                             - 2 * _k(X, Y, s).mean())
    return np.array(vals), np.array(ses), np.array(keep_diag)


@pytest.mark.parametrize("P, Q, s", [
    (stats.multivariate_normal([0, 0], np.eye(2)), stats.multivariate_normal([0.6, 0], np.eye(2)),
     1.0),
    (stats.norm(0, 1), stats.norm(0.5, 1.5), 0.8),
])
def test_unbiased_mean_agrees_with_closed_form_and_planted_bug_fails(P, Q, s):
    exact = closed_form(P, Q, "mmd2", bandwidth=s)
    vals, ses, bug = _repeat(P, Q, 30, 20, 400, 1, bandwidth=s, estimator="unbiased")
    sem = vals.std(ddof=1) / math.sqrt(len(vals))
    assert abs(vals.mean() - exact) < Z * sem
    # keeping the diagonal biases the mean by ~ (1/(n-1) + 1/(m-1)): far outside the band
    assert abs(bug.mean() - exact) > 3 * Z * sem
    # the jackknife standard error is calibrated (away from P = Q): within 25%
    assert 0.8 < np.sqrt(np.mean(ses ** 2)) / vals.std(ddof=1) < 1.25


@pytest.mark.parametrize("estimator", ["linear", "block", "biased"])
def test_other_estimators_against_closed_form(estimator):
    P, Q = stats.multivariate_normal([0, 0], np.eye(2)), stats.multivariate_normal([1, 0], np.eye(2))
    exact = closed_form(P, Q, "mmd2", bandwidth=1.0)
    vals, ses, _ = _repeat(P, Q, 40, 40, 300, 2, bandwidth=1.0, estimator=estimator)
    sem = vals.std(ddof=1) / math.sqrt(len(vals))
    if estimator == "biased":  # E V = MMD^2 + (1 - E k(X, X'))/n + (1 - E k(Y, Y'))/m
        ek = 1 / 3  # E exp(-|X - X'|^2 / 2) = det(I + 2I)^(-1/2) for X - X' ~ N(0, 2I), d = 2
        exact = exact + 2 * (1 - ek) / 40
    assert abs(vals.mean() - exact) < Z * sem
    assert 0.8 < np.sqrt(np.mean(ses ** 2)) / vals.std(ddof=1) < 1.25


def test_unbiased_can_be_negative_and_is_not_clamped():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(15, 1)), rng.normal(size=(15, 1))
    v = mmd(X, Y, bandwidth=1.0)
    assert v < 0
    assert v == pytest.approx(naive_mmd(X, Y, _pointwise("gaussian", 1.0), True), rel=1e-12)
    assert mmd(X, Y, bandwidth=1.0, estimator="biased") > 0


def test_estimate_object(small):
    X, Y = small
    est = _mmd_estimate(X, Y, bandwidth=0.7)
    assert isinstance(est, Estimate) and est.name == "mmd2" and est.method == "mmd_unbiased"
    assert est.value == mmd(X, Y, bandwidth=0.7)
    assert (est.n_p, est.n_q) == (9, 7) and est.details["bandwidth"] == 0.7
    e = _energy_estimate(X, Y)
    assert e.value == energy_distance(X, Y) and e.name == "energy" and e.standard_error > 0


def test_torch_input_is_accepted(small):
    torch = pytest.importorskip("torch")
    X, Y = small
    assert mmd(torch.tensor(X), torch.tensor(Y)) == pytest.approx(mmd(X, Y), rel=1e-12)


# ---------------------------------------------------------------------------------------
# energy distance
# ---------------------------------------------------------------------------------------

def naive_energy(X, Y, unbiased=False):
    n, m = len(X), len(Y)
    d = lambda A, B: np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(-1))  # noqa: E731
    dxx, dyy = d(X, X).sum(), d(Y, Y).sum()
    nx, ny = (n * (n - 1), m * (m - 1)) if unbiased else (n * n, m * m)
    return 2 * d(X, Y).mean() - dxx / nx - dyy / ny


def test_energy_equals_scipy_squared_in_1d():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=40), rng.standard_t(3, size=25) + 0.3
    e = energy_distance(x, y, estimator="biased")
    assert e == pytest.approx(stats.energy_distance(x, y) ** 2, rel=1e-12)
    assert math.sqrt(e) == pytest.approx(stats.energy_distance(x, y), rel=1e-12)
    a = rng.random(40)
    a /= a.sum()
    b = rng.random(25)
    b /= b.sum()
    assert energy_distance(x, y, a=a, b=b, chunk_size=7, estimator="biased") == pytest.approx(
        stats.energy_distance(x, y, a, b) ** 2, rel=1e-12)
    assert energy_distance(x, y, b=b, estimator="biased") == pytest.approx(
        stats.energy_distance(x, y, None, b) ** 2, rel=1e-12)
    with pytest.raises(ValueError, match="estimator='biased'"):
        energy_distance(x, y, b=b)  # weights need the V-statistic, asked for explicitly


def test_energy_defaults_agree_across_entry_points():
    # one default for the quadratic IPM estimates: the unbiased U-statistic (issue 14)
    import divest as dv
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 0.4
    u = naive_energy(X, Y, unbiased=True)
    assert energy_distance(X, Y) == pytest.approx(u, rel=1e-10)
    assert dv.divergence(X, Y, "energy").value == pytest.approx(u, rel=1e-10)
    res = dv.two_sample_test(X, Y, "energy", n_permutations=9, rng=0)
    assert res.statistic == pytest.approx(u, rel=1e-10)
    assert mmd(X, Y) == dv.divergence(X, Y, "mmd2").value


@pytest.mark.parametrize("d", [2, 5, 20])
def test_energy_equals_naive_in_any_dimension(d):
    rng = np.random.default_rng(d)
    X, Y = rng.normal(size=(17, d)), rng.normal(size=(12, d)) * 1.3
    assert energy_distance(X, Y, estimator="biased") == pytest.approx(naive_energy(X, Y),
                                                                      rel=1e-10)
    assert energy_distance(X, Y, chunk_size=3) == pytest.approx(
        naive_energy(X, Y, unbiased=True), rel=1e-10)


@pytest.mark.slow  # importing dcor compiles numba code (~10 s)
def test_energy_equals_dcor():
    dcor = pytest.importorskip("dcor")
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(20, 3)) + 0.5
    assert energy_distance(X, Y, estimator="biased") == pytest.approx(dcor.energy_distance(X, Y),
                                                                      rel=1e-10)


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

_X, _Y = np.random.default_rng(7).normal(size=(6, 2)), np.ones((5, 2))


@pytest.mark.parametrize("fn, args, kwargs, match", [
    (mmd, (_X[:1], _Y), {}, r"X needs at least 2 samples.*\(1, 2\)"),
    (mmd, (_X, _Y[:1]), {}, "Y needs at least 2 samples"),
    (mmd, (_X, np.ones((5, 3))), {}, "same dimension"),
    (mmd, (np.r_[_X, [[np.nan, 1.0]]], _Y), {}, "non-finite"),
    (mmd, (np.zeros((4, 2)), np.zeros((3, 2))), {}, "median pairwise distance .* is 0"),
    (mmd, (_X, _Y), {"bandwidth": 0.0}, "bandwidth must lie"),
    (mmd, (_X, _Y), {"kernel": "rbf"}, "kernel='rbf' is not valid; choose one of 'gaussian'"),
    (mmd, (_X, _Y), {"estimator": "quadratic"},
     "estimator='quadratic' is not valid; choose one of 'biased', 'block', 'linear', 'unbiased'"),
    (mmd, (_X, _Y), {"estimator": "block", "block_size": 10}, "block_size=10 exceeds"),
    (mmd, (_X, _Y), {"estimator": "block", "block_size": 1}, "block_size must be >= 2"),
    (mmd, (_X, _Y), {"block_size": 2}, "only used by estimator='block'"),
    (energy_distance, (_X[:1], _Y), {}, "X needs at least 2 samples"),
    (energy_distance, (_X, np.ones((3, 1))), {}, "same dimension"),
    (energy_distance, (_X, _Y), {"a": [0.5, 0.5, 0.5, 0.5, 0.5, -1.5]}, "a must be non-negative"),
    (energy_distance, (_X, _Y), {"b": [0.5] * 5}, "b must sum to 1"),
    (energy_distance, (_X, _Y), {"a": [1 / 6] * 6, "estimator": "unbiased"},
     "only supported with estimator='biased'"),
    (energy_distance, (_X, _Y), {"estimator": "u"}, "estimator='u' is not valid"),
])
def test_bad_input(fn, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)
