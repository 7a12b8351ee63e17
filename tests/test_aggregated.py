"""MMDAgg, MMDAggInc and MMD-FUSE (divest._aggregated through two_sample_test).

Each part is checked against an independent computation: the statistics against naive
double sums, the wild bootstrap values against the enumeration of all sign vectors, the
p-value form of the level correction against the published quantile form, MMDAggInc with
every superdiagonal against MMDAgg's complete statistic; level and power by binomial bounds.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from divest import _aggregated as agg
from divest.ipm import mmd
from divest.twosample import two_sample_test


def normal(n, m, d=2, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d)) + shift


# ---------------------------------------------------------------------------------------
# the published quantile form of the level correction (the oracle)
# ---------------------------------------------------------------------------------------

def published_decision(stats_, B1, w, alpha, B3):
    """Algorithm 1 of Schrab et al. (2023) in its quantile form: order statistics
    ceil((B1 + 1)(1 - u w)) of the B1 draws with the observed, bisection on u."""
    L = stats_.shape[0]
    M1 = np.sort(stats_[:, :B1 + 1], axis=1)
    M2 = stats_[:, B1 + 1:]

    def q(u):
        return np.array([M1[ell, int(math.ceil((B1 + 1) * (1 - u * w[ell]))) - 1]
                         for ell in range(L)])

    lo, hi = 0.0, float(np.min(1 / w))
    for _ in range(B3):
        u = (lo + hi) / 2
        if np.mean(np.any(M2 > q(u)[:, None], axis=0)) <= alpha:
            lo = u
        else:
            hi = u
    return bool(np.any(stats_[:, 0] > q(lo))), lo, stats_[:, 0] > q(lo)


@pytest.mark.parametrize("weights", agg.WEIGHTS)
@pytest.mark.parametrize("seed", range(6))
def test_decision_equals_the_published_quantile_form(weights, seed):
    rng = np.random.default_rng(seed)
    L, B1, B2 = 6, 99, 80
    w = agg.create_weights(L, weights)
    draws = rng.standard_t(3, size=(L, B1 + B2)) + rng.normal(size=(L, 1))
    observed = draws[:, :1] + rng.uniform(0, 3.0) * rng.random((L, 1))
    st = np.concatenate([observed, draws], axis=1)
    for alpha in (0.05, 0.1, 0.3):
        dec = agg.aggregate_decision(st, B1, w, alpha, 30, np.zeros(L))
        reject, u, each = published_decision(st, B1, w, alpha, 30)
        assert dec["reject"] == reject
        assert dec["u_alpha"] == u
        np.testing.assert_array_equal(dec["reject_per_kernel"], each)
        # the aggregated p-value: rejection is #{c_b <= c} <= alpha B2
        count = round(dec["pvalue"] * (1 + B2)) - 1
        assert dec["reject"] == (count <= alpha * B2)
        if dec["pvalue"] <= alpha:
            assert dec["reject"]


def test_weights():
    for L in (1, 2, 5, 10):
        for kind in agg.WEIGHTS:
            w = agg.create_weights(L, kind)
            assert w.shape == (L,) and w.sum() == pytest.approx(1.0) and np.all(w > 0)
    h = sum(1 / i for i in range(1, 5))
    np.testing.assert_allclose(agg.create_weights(4, "decreasing"), [1 / (i * h) for i in
                                                                     range(1, 5)])
    np.testing.assert_allclose(agg.create_weights(4, "increasing"),
                               [1 / ((5 - i) * h) for i in range(1, 5)])
    c5 = np.array([1 / (abs(3 - i) + 1) for i in range(1, 6)])
    np.testing.assert_allclose(agg.create_weights(5, "centred"), c5 / c5.sum())
    c4 = np.array([1 / (abs(2.5 - i) + 0.5) for i in range(1, 5)])
    np.testing.assert_allclose(agg.create_weights(4, "centred"), c4 / c4.sum())


# ---------------------------------------------------------------------------------------
# bandwidths
# ---------------------------------------------------------------------------------------

def test_agg_bandwidths_both_branches():
    X, Y = normal(40, 50, d=3, seed=1)
    for norm, metric in (("l1", "cityblock"), ("l2", "euclidean")):
        D = cdist(Y[:40], X[:40], metric)
        d = np.array([D[i, j] for i in range(40) for j in range(i, 40)])
        d[d == 0] = np.median(d)
        bw = agg.agg_bandwidths(X, Y, norm, 10)
        assert d.min() >= 0.1  # the "smallest distance" branch
        np.testing.assert_allclose(bw[0], d.min() / 2)
        np.testing.assert_allclose(bw[-1], 2 * max(d.max(), 0.3))
        np.testing.assert_allclose(np.diff(np.log(bw)), np.log(bw[1] / bw[0]))
    # close points: the 5% quantile branch, never below 0.1 / 2
    Xs, Ys = X * 1e-3, Y * 1e-3
    bw = agg.agg_bandwidths(Xs, Ys, "l2", 4)
    assert bw[0] == pytest.approx(0.05) and bw[-1] == pytest.approx(0.6)


def test_fuse_bandwidths():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(30, 2))
    D = cdist(Z, Z)
    vals = np.sort(np.where(D[np.triu_indices(30)] == 0, np.median(D[np.triu_indices(30)]),
                            D[np.triu_indices(30)]))
    K = vals.size
    bw = agg.fuse_bandwidths(D, 10)
    np.testing.assert_allclose(bw, np.linspace(vals[int(0.05 * K)] / 2, vals[int(0.95 * K)] * 2,
                                               10))


# ---------------------------------------------------------------------------------------
# resampled statistics
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("half_rows", [None, 2])
def test_wild_bootstrap_values_are_sign_vector_statistics(monkeypatch, half_rows):
    if half_rows is not None:  # H's upper block triangle in blocks of 2 rows
        monkeypatch.setattr(agg._perm, "_HALF_ROWS", half_rows)
    n = 6
    X, Y = normal(n, n, seed=3)
    Z = np.concatenate([X, Y])
    K = np.exp(-cdist(Z, Z) ** 2)
    gauss = agg.Member("gaussian", "l2", agg.PROFILES["gaussian"][1], 1.0)
    H, scale = agg.Matrices(Z, [gauss]).wild_h(gauss, n)
    assert scale == pytest.approx(np.mean(K), rel=1e-12)
    vals, _ = agg.wild_null([(H, scale)], n, 40, np.random.default_rng(0))

    def value(eps):
        tot = 0.0
        for i in range(n):
            for j in range(n):
                if i != j:
                    h = K[i, j] + K[n + i, n + j] - K[i, n + j] - K[j, n + i]
                    tot += eps[i] * eps[j] * h
        return tot / (n * (n - 1))

    every = np.array([value(e) for e in itertools.product((-1.0, 1.0), repeat=n)])
    assert vals[0, 0] == pytest.approx(value(np.ones(n)), rel=1e-12)
    for v in vals[0, 1:]:
        assert np.min(np.abs(every - v)) < 1e-12
    assert len(np.unique(np.round(vals[0, 1:], 12))) > 3  # draws, not one value


def test_mmdagg_observed_statistics():
    X, Y = normal(25, 25, shift=0.5, seed=4)
    res = two_sample_test(X, Y, "mmdagg", rng=0, B1=50, B2=50, B3=10, kernel="gaussian",
                          number_bandwidths=3)
    Z = np.concatenate([X, Y])
    n = 25
    for k in res.details["kernels"]:
        K = np.exp(-cdist(Z, Z) ** 2 / k["bandwidth"] ** 2)
        H = K[:n, :n] + K[n:, n:] - K[:n, n:] - K[n:, :n]
        np.fill_diagonal(H, 0)
        assert k["statistic"] == pytest.approx(H.sum() / (n * (n - 1)), rel=1e-10)
    # permutations (n != m): the U-statistic MMD^2 of divest.ipm.mmd with the same kernel
    X2 = X[:20]
    res = two_sample_test(X2, Y, "mmdagg", rng=0, B1=50, B2=50, B3=10,
                          kernel=["laplace", "imq"], number_bandwidths=2)
    assert res.details["resampling"] == "permutation"
    assert [k["kernel"] for k in res.details["kernels"]] == ["laplace"] * 2 + ["imq"] * 2
    for k in res.details["kernels"]:
        bw = k["bandwidth"]
        if k["kernel"] == "laplace":
            def kern(A, B, bw=bw):
                return np.exp(-cdist(A, B, "cityblock") / bw)
        else:
            def kern(A, B, bw=bw):
                return 1 / np.sqrt(1 + cdist(A, B) ** 2 / bw ** 2)
        assert k["statistic"] == pytest.approx(mmd(X2, Y, kernel=kern), rel=1e-10)


def test_mmdagginc_with_every_superdiagonal_is_mmdagg_complete():
    X, Y = normal(30, 30, shift=0.3, seed=5)
    bw = [0.5, 1.0, 2.0]
    inc = two_sample_test(X, Y, "mmdagginc", rng=0, R=29, bandwidths=bw, B1=50, B2=50, B3=10)
    full = two_sample_test(X, Y, "mmdagg", rng=0, kernel="gaussian", bandwidths=bw, B1=50,
                           B2=50, B3=10)
    a = [k["statistic"] for k in inc.details["kernels"]]
    b = [k["statistic"] for k in full.details["kernels"]]
    np.testing.assert_allclose(a, b, rtol=1e-10)
    assert inc.details["n_pairs"] == 30 * 29 // 2
    # R = 1: only the pairs (i, i + 1)
    one = two_sample_test(X, Y, "mmdagginc", rng=0, R=1, bandwidths=[1.0], B1=20, B2=20,
                          B3=5)
    k = lambda a_, b_: np.exp(-np.sum((a_ - b_) ** 2))  # noqa: E731
    h = [k(X[i], X[i + 1]) - k(X[i], Y[i + 1]) - k(Y[i], X[i + 1]) + k(Y[i], Y[i + 1])
         for i in range(29)]
    assert one.details["kernels"][0]["statistic"] == pytest.approx(np.mean(h), rel=1e-12)


def test_mmdfuse_statistic():
    X, Y = normal(20, 26, shift=0.4, seed=6)
    res = two_sample_test(X, Y, "mmdfuse", n_permutations=99, rng=0, number_bandwidths=3)
    Z = np.concatenate([X, Y])
    n = 20
    Ms = []
    for k in res.details["kernels"]:
        bw = k["bandwidth"]
        if k["kernel"] == "gaussian":
            def kern(A, B, bw=bw):
                return np.exp(-cdist(A, B) ** 2 / (2 * bw ** 2))
        else:
            def kern(A, B, bw=bw):
                return np.exp(-math.sqrt(2) * cdist(A, B, "cityblock") / bw)
        K = kern(Z, Z)
        np.fill_diagonal(K, 0)
        val = mmd(X, Y, kernel=kern)
        assert k["statistic"] == pytest.approx(val, rel=1e-10)
        Ms.append(val * n * (n - 1) * math.sqrt(n * (n - 1)) / np.sqrt(np.sum(K ** 2)))
    Ms = np.array(Ms)
    expected = np.log(np.mean(np.exp(Ms - Ms.max()))) + Ms.max()
    assert res.statistic == pytest.approx(expected, rel=1e-10)
    lam = two_sample_test(X, Y, "mmdfuse", n_permutations=99, rng=0, number_bandwidths=3,
                          lambda_multiplier=0.25)
    expected = (np.log(np.mean(np.exp(0.25 * Ms - 0.25 * Ms.max()))) + 0.25 * Ms.max()) / 0.25
    assert lam.statistic == pytest.approx(expected, rel=1e-10)
    # the p-value counts the observed labelling, like every permutation test here
    null = res.null_distribution
    assert res.pvalue == pytest.approx((1 + np.sum(null >= res.statistic - 1e-9)) / 100)


def test_mmdfuse_wild_bootstrap_values_are_the_swapped_samples_statistics():
    """Each sign vector's fused statistic is MMD-FUSE recomputed on the samples with the
    flipped pairs (x_i, y_i) swapped (the pooled sample, hence the bandwidths and the
    Frobenius norms, unchanged); the observed one is the permutation test's."""
    X, Y = normal(24, 24, shift=0.3, seed=21)
    opts = {"number_bandwidths": 3, "n_permutations": 49}
    wild = two_sample_test(X, Y, "mmdfuse", rng=5, resampling="wild_bootstrap", **opts)
    perm = two_sample_test(X, Y, "mmdfuse", rng=5, **opts)
    assert wild.statistic == pytest.approx(perm.statistic, rel=1e-12)
    for a, b in zip(wild.details["kernels"], perm.details["kernels"]):
        assert a["statistic"] == pytest.approx(b["statistic"], rel=1e-12)
        assert a["frobenius"] == pytest.approx(b["frobenius"], rel=1e-12)
    assert wild.method.startswith("wild bootstrap") and perm.method == "permutation"
    # the signs wild_null draws from the test's generator (row 0: the observed labelling)
    signs = agg._rademacher(np.random.default_rng(5), 50, 24)
    for j in (1, 2, 17, 49):
        flip = signs[j] == -1
        Xs, Ys = X.copy(), Y.copy()
        Xs[flip], Ys[flip] = Y[flip], X[flip]
        direct = two_sample_test(Xs, Ys, "mmdfuse", rng=0, **opts).statistic
        assert wild.null_distribution[j - 1] == pytest.approx(direct, rel=1e-10, abs=1e-10)
    # the sign vectors are not the identity: a swapped sample's statistic differs
    assert np.ptp(wild.null_distribution) > 0


def test_wild_mmd2_is_the_unbiased_mmd_of_the_swapped_samples():
    X, Y = normal(9, 9, seed=22)
    members = agg.members(["gaussian"], X, Y, profiles=agg.FUSE_PROFILES,
                          number_bandwidths=None, bandwidths=[0.7], scheme="fuse")
    H, _, sums = agg.Matrices(np.concatenate([X, Y]), members).wild_h(members[0], 9, sums=True)

    def kern(A, B):
        return np.exp(-cdist(A, B) ** 2 / (2 * 0.7 ** 2))

    rng = np.random.default_rng(0)
    for _ in range(5):
        eps = rng.choice([-1.0, 1.0], size=9)
        u = eps @ H @ eps / (9 * 8)
        Xs, Ys = np.where(eps[:, None] > 0, X, Y), np.where(eps[:, None] > 0, Y, X)
        assert agg.wild_mmd2(u, sums, 9) == pytest.approx(mmd(Xs, Ys, kernel=kern),
                                                         rel=1e-12, abs=1e-14)
    Z = np.concatenate([X, Y])
    K = kern(Z, Z)
    np.fill_diagonal(K, 0.0)
    assert sums.squares == pytest.approx(np.sum(K ** 2), rel=1e-12)
    assert sums.off_diagonal == pytest.approx(K.sum(), rel=1e-12)
    assert sums.pairs == pytest.approx(np.trace(kern(X, Y)), rel=1e-12)


def test_float32_precision_agrees():
    X, Y = normal(60, 60, shift=0.3, seed=7)
    a = two_sample_test(X, Y, "mmdfuse", n_permutations=199, rng=1)
    b = two_sample_test(X, Y, "mmdfuse", n_permutations=199, rng=1, precision="float32")
    assert b.statistic == pytest.approx(a.statistic, rel=1e-4)
    assert abs(a.pvalue - b.pvalue) <= 2 / 200
    c = two_sample_test(X, Y, "mmdagg", rng=1, B1=200, B2=200, precision="float32")
    d = two_sample_test(X, Y, "mmdagg", rng=1, B1=200, B2=200)
    assert c.reject == d.reject


def test_custom_callable_kernels():
    X, Y = normal(30, 30, shift=1.0, seed=8)

    def lin(A, B):
        return 1.0 + A @ B.T

    res = two_sample_test(X, Y, "mmdagg", rng=0, kernel=[lin, "gaussian"],
                          number_bandwidths=2, B1=100, B2=100)
    assert [k["kernel"] for k in res.details["kernels"]] == ["gaussian", "gaussian", "lin"]
    assert res.details["kernels"][2]["bandwidth"] is None
    # weights: 1/2 for the callable, 1/4 for each gaussian bandwidth
    np.testing.assert_allclose([k["weight"] for k in res.details["kernels"]],
                               [0.25, 0.25, 0.5])
    assert res.reject
    fuse = two_sample_test(X, Y, "mmdfuse", n_permutations=99, rng=0, kernel=lin)
    assert fuse.details["kernels"][0]["statistic"] == pytest.approx(mmd(X, Y, kernel=lin),
                                                                    rel=1e-10)


# ---------------------------------------------------------------------------------------
# level and power
# ---------------------------------------------------------------------------------------

def _rejections(statistic, reps, shift, **opts):
    hits = 0
    for r in range(reps):
        X, Y = normal(20, 20, d=1, shift=shift, seed=100 + r)
        res = two_sample_test(X, Y, statistic, rng=r, alpha=0.05, **opts)
        hits += res.reject
    return hits


@pytest.mark.parametrize("statistic,opts", [
    ("mmdagg", {"B1": 100, "B2": 100, "B3": 20}),
    ("mmdagginc", {"B1": 100, "B2": 100, "B3": 20, "R": 5}),
    ("mmdfuse", {"n_permutations": 99}),
    ("mmdfuse", {"n_permutations": 99, "resampling": "wild_bootstrap"}),
])
def test_level_and_power(statistic, opts):
    reps = 150
    hits = _rejections(statistic, reps, 0.0, **opts)
    # P(Bin(150, 0.05) >= hits): a test at level 0.05 rejects this often with prob < 0.001
    assert stats.binom.sf(hits - 1, reps, 0.05) > 1e-3, hits
    # power: B1 large enough that a per-kernel p-value can fall below its threshold u w
    # (about alpha / 20 for 20 kernels; the smallest p-value is 1 / (B1 + 1))
    strong = {**opts, "B1": 1000} if "B1" in opts else opts
    assert _rejections(statistic, 20, 2.0, **strong) >= 18


def test_permutation_mmdagg_level():
    reps, hits = 150, 0
    for r in range(reps):
        X, Y = normal(15, 22, d=1, seed=300 + r)
        hits += two_sample_test(X, Y, "mmdagg", rng=r, B1=100, B2=100, B3=20).reject
    assert stats.binom.sf(hits - 1, reps, 0.05) > 1e-3, hits


# ---------------------------------------------------------------------------------------
# the result and bad input
# ---------------------------------------------------------------------------------------

def test_result_fields():
    X, Y = normal(30, 30, shift=0.8, seed=9)
    res = two_sample_test(X, Y, "mmdagg", rng=0, B1=200, B2=200)
    assert res.alpha == 0.05 and isinstance(res.reject, bool)
    assert "reject=" in repr(res)
    assert res.null_distribution.shape == (200,)
    assert len(res.details["kernels"]) == 20
    d = res.details["kernels"][0]
    assert set(d) == {"kernel", "bandwidth", "weight", "statistic", "pvalue", "threshold",
                      "reject"}
    assert res.reject == any(k["reject"] for k in res.details["kernels"])
    assert all(k["pvalue"] >= 1 / 201 for k in res.details["kernels"])
    same = two_sample_test(X, Y, "mmdagg", rng=0, B1=200, B2=200)
    assert same == res
    plain = two_sample_test(X, Y, "mmd", rng=0, alpha=0.01)
    assert plain.reject == (plain.pvalue <= 0.01) and plain.alpha == 0.01
    assert two_sample_test(X, Y, "mmd", rng=0).reject is None


@pytest.mark.parametrize("statistic,kwargs,exc,match", [
    ("mmdagg", {"n_permutations": 100}, TypeError, "B1"),
    ("mmdagg", {"alpha": 1.5}, ValueError, "alpha"),
    ("mmdagg", {"alpha": 0.0}, ValueError, "alpha"),
    ("mmdagg", {"alpha": None}, TypeError, "alpha"),
    ("mmdagg", {"B2": 10}, ValueError, "B2=10"),
    ("mmdagg", {"B1": 0}, ValueError, "B1"),
    ("mmdagg", {"kernel": "cosine"}, ValueError, "kernel"),
    ("mmdagg", {"kernel": []}, TypeError, "kernel"),
    ("mmdagg", {"kernel": [3]}, TypeError, "kernel"),
    ("mmdagg", {"number_bandwidths": 1}, ValueError, "number_bandwidths"),
    ("mmdagg", {"bandwidths": [1.0, -1.0]}, ValueError, "bandwidths"),
    ("mmdagg", {"weights": "flat"}, ValueError, "weights"),
    ("mmdagg", {"resampling": "bootstrap"}, ValueError, "resampling"),
    ("mmdagg", {"precision": "float16"}, ValueError, "precision"),
    ("mmdagg", {"alternative": "less"}, ValueError, "alternative"),
    ("mmdagginc", {"R": 0}, ValueError, "R"),
    ("mmdfuse", {"lambda_multiplier": 0.0}, ValueError, "lambda_multiplier"),
    ("mmdfuse", {"kernel": "laplace_gaussian"}, ValueError, "kernel"),
    ("mmdfuse", {"resampling": "auto"}, ValueError, "resampling"),
])
def test_bad_input(statistic, kwargs, exc, match):
    X, Y = normal(12, 12, seed=10)
    with pytest.raises(exc, match=match):
        two_sample_test(X, Y, statistic, rng=0, **kwargs)


@pytest.mark.parametrize("statistic", ["mmd", "energy", "mmdfuse", "mmd_agg"])
def test_too_few_permutations_for_alpha(statistic):
    X, Y = normal(12, 12, seed=12)
    with pytest.raises(ValueError, match=r"n_permutations=10 is too small for alpha=0.05.*"
                                         r"n_permutations >= 19"):
        two_sample_test(X, Y, statistic, n_permutations=10, alpha=0.05, rng=0)
    res = two_sample_test(X, Y, statistic, n_permutations=19, alpha=0.05, rng=0)
    assert res.alpha == 0.05
    # without alpha, or with a calibration that uses no permutations, any B is fine
    two_sample_test(X, Y, statistic, n_permutations=10, rng=0)
    two_sample_test(X, Y, "c2st", n_permutations=1, alpha=0.05, rng=0)


@pytest.mark.parametrize("statistic", ["mmdagg", "mmdfuse"])
def test_wild_bootstrap_needs_equal_sizes(statistic):
    X, Y = normal(12, 14, seed=11)
    with pytest.raises(ValueError, match="resampling='wild_bootstrap'.*equal size.*12, 2.*14, 2"):
        two_sample_test(X, Y, statistic, resampling="wild_bootstrap", rng=0)


def test_float32_keeps_ties_on_discrete_data():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (30, 1)).astype(float)
    Y = rng.integers(0, 2, (30, 1)).astype(float)
    a = two_sample_test(X, Y, "mmdagg", B1=500, B2=500, rng=0)
    b = two_sample_test(X, Y, "mmdagg", B1=500, B2=500, rng=0, precision="float32")
    assert a.pvalue == b.pvalue
    X = rng.integers(0, 3, (30, 1)).astype(float)
    Y = rng.integers(0, 3, (30, 1)).astype(float)
    a = two_sample_test(X, Y, "mmdfuse", rng=0)
    b = two_sample_test(X, Y, "mmdfuse", rng=0, precision="float32")
    assert a.pvalue == b.pvalue


def test_mmdfuse_refuses_mostly_duplicated_points():
    X = np.zeros((30, 1))
    X[:3] = 1.0
    with pytest.raises(ValueError, match="more than half of the 1830 pooled distances are 0"):
        two_sample_test(X, X.copy(), "mmdfuse", rng=0)


def test_callable_checks():
    X, Y = normal(20, 20, seed=13)

    def lin(A, B):
        return 1.0 + A @ B.T

    with pytest.raises(ValueError, match="bandwidths apply to the named kernels"):
        two_sample_test(X, Y, "mmdagg", kernel=lin, bandwidths=[1.0, 2.0], B1=50, B2=50)

    def skew(A, B):
        return 1.0 + A @ B.T + A[:, :1] - B[:, :1].T

    with pytest.raises(ValueError, match="'skew' is not symmetric"):
        two_sample_test(X, Y, "mmdfuse", kernel=skew, n_permutations=19)


def test_streamed_matrices_give_the_stored_result():
    X, Y = normal(150, 170, seed=14)
    a = two_sample_test(X, Y, "mmdfuse", n_permutations=99, rng=3, number_bandwidths=3)
    b = two_sample_test(X, Y, "mmdfuse", n_permutations=99, rng=3, number_bandwidths=3,
                        max_memory=2 ** 20)
    assert not b.details["plan"]["matrix_stored"] and a.details["plan"]["matrix_stored"]
    assert b.statistic == pytest.approx(a.statistic, rel=1e-12)
    np.testing.assert_allclose(b.null_distribution, a.null_distribution, rtol=1e-10)
    c = two_sample_test(X, Y, "mmdagg", rng=3, B1=99, B2=99, max_memory=2 ** 20)
    d = two_sample_test(X, Y, "mmdagg", rng=3, B1=99, B2=99)
    assert c.pvalue == d.pvalue and c.reject == d.reject


def test_streamed_float32_matches_stored_float32():
    # the streamed row blocks are computed in float32 too (products twice as fast) and the
    # Frobenius norms are summed from them: both agree with the stored float32 run to
    # float32 round-off, and differ from float64 by more than float64 round-off
    X, Y = normal(150, 170, seed=14)
    opts = dict(n_permutations=99, rng=3, number_bandwidths=3, precision="float32")
    a = two_sample_test(X, Y, "mmdfuse", **opts)
    b = two_sample_test(X, Y, "mmdfuse", max_memory=2 ** 20, **opts)
    c = two_sample_test(X, Y, "mmdfuse", n_permutations=99, rng=3, number_bandwidths=3,
                        max_memory=2 ** 20)
    assert not b.details["plan"]["matrix_stored"] and a.details["plan"]["matrix_stored"]
    assert b.statistic == pytest.approx(a.statistic, rel=1e-5)
    # float32 round-off relative to the null's scale (the statistics cancel near 0)
    scale = np.abs(c.null_distribution).max()
    for r in (a, b):
        np.testing.assert_allclose(r.null_distribution, c.null_distribution, rtol=0,
                                   atol=1e-5 * scale)
    fa, fb, fc = ([k["frobenius"] for k in r.details["kernels"]] for r in (a, b, c))
    np.testing.assert_allclose(fb, fa, rtol=1e-6)
    assert 1e-12 < abs(b.statistic - c.statistic) / abs(c.statistic) < 1e-4


# ---------------------------------------------------------------------------------------
# threaded row chunks and tiled transposes give the single-call numbers
# ---------------------------------------------------------------------------------------

def test_threaded_chunks_give_the_same_numbers(monkeypatch):
    """Pooled distances, kernel blocks and the wild bootstrap's H computed in row chunks
    on two threads (and in 7 x 7 transpose tiles) equal, bit for bit, the one-call
    computations: cdist(Z, Z), exp of the scaled block, K_XX + K_YY - K_XY - K_XY^T."""
    rng = np.random.default_rng(5)
    n = 45
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + 0.3
    Z = np.concatenate([X, Y])
    monkeypatch.setattr(agg, "_THREADED_WORK", 64)
    monkeypatch.setattr(agg, "_TRANSPOSE_TILE", 7)
    monkeypatch.setattr("divest._parallel.default_threads", lambda: 2)
    for metric in ("cityblock", "sqeuclidean", "euclidean"):
        assert np.array_equal(agg._cdist_rows(Z, metric), cdist(Z, Z, metric))
    lap = agg.Member("laplace", "l1", agg.PROFILES["laplace"][1], 0.7)
    mats = agg.Matrices(Z, [lap])
    D = cdist(Z, Z, "cityblock")
    for dtype in (np.float64, np.float32):
        want = np.exp(np.multiply(D, -1 / 0.7, dtype=dtype))
        assert np.array_equal(mats.kernel(lap, dtype=dtype), want)
    H, scale = mats.wild_h(lap, n)
    K = np.exp(np.multiply(D, -1 / 0.7))
    want = K[:n, :n] + K[n:, n:] - K[:n, n:] - K[:n, n:].T
    np.fill_diagonal(want, 0.0)
    assert np.array_equal(H, want)
    assert scale == pytest.approx(K.mean(), rel=1e-12)
