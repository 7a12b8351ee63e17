"""Tests of the two-sample tests (divest.twosample) and their permutation engine.

* Exactness: the engine's statistic, null distribution and p-value equal a naive
  implementation that recomputes the published formulas on the same relabellings
  (``draw_assignments`` with the same seed), to round-off (1e-12 of the size of the
  statistic's terms) and exactly for the p-value; the U-statistic is pinned to the formula
  with the diagonal removed, and its permutation mean is exactly 0 over all relabellings.
* Validity: the p-value keeps the +1 (B = 1 gives p >= 1/2, p is never 0), the rejection
  rate under H0 lies in a binomial band (100 repetitions here, >= 500 in the ``slow``
  study), a clear difference gives the smallest possible p-value.
* Reproducibility (same seed, any batch size or memory budget) and bad input.
"""

import dataclasses
import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist, pdist

from divest import _permutation as P
from divest import ipm
from divest.twosample import STATISTICS, TwoSampleResult, two_sample_test

SEED = 20240601
PERMUTATION_STATS = ["mmd", "energy", "mmd_agg", "wasserstein"]


# ---------------------------------------------------------------------------------------
# naive references (recompute the published formula on every relabelling)
# ---------------------------------------------------------------------------------------

def gauss(A, B, bw):
    return np.exp(-cdist(A, B, "sqeuclidean") / (2 * bw * bw))


def mmd_naive(X, Y, bw, estimator):
    """Gretton et al. (2012): the U-statistic drops i = j, the V-statistic keeps it."""
    n, m = len(X), len(Y)
    Kxx, Kyy, Kxy = gauss(X, X, bw), gauss(Y, Y, bw), gauss(X, Y, bw)
    if estimator == "unbiased":
        return ((Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
                + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1)) - 2 * Kxy.mean())
    return Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()


def energy_naive(X, Y, estimator):
    n, m = len(X), len(Y)
    Dxx, Dyy = cdist(X, X), cdist(Y, Y)
    cx, cy = (n * (n - 1), m * (m - 1)) if estimator == "unbiased" else (n * n, m * m)
    return 2 * cdist(X, Y).mean() - Dxx.sum() / cx - Dyy.sum() / cy


def relabelled(stat, X, Y, seed, B):
    """The statistic on the observed labels and on the engine's B relabellings."""
    Z = np.concatenate([X, Y])
    masks = P.draw_assignments(np.random.default_rng(seed), len(X), len(Y), B)
    return stat(X, Y), np.array([stat(Z[k], Z[~k]) for k in masks])


def naive_pvalue(T, null, tol):
    return (1 + np.count_nonzero(null >= T - tol)) / (1 + null.size)


def samples(n, m, d=2, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d)) + shift


# ---------------------------------------------------------------------------------------
# exactness of the engine
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,m", [(23, 31), (31, 23), (2, 9)])
@pytest.mark.parametrize("statistic,estimator", [("mmd", "unbiased"), ("mmd", "biased"),
                                                 ("energy", "biased"), ("energy", "unbiased")])
def test_engine_equals_naive_recompute(n, m, statistic, estimator):
    X, Y = samples(n, m, shift=0.3, seed=n)
    B = 150
    res = two_sample_test(X, Y, statistic, n_permutations=B, rng=SEED, estimator=estimator)
    if statistic == "mmd":
        bw = res.details["bandwidth"]
        assert bw == pytest.approx(np.median(pdist(np.concatenate([X, Y]))), rel=1e-14)
        T, null = relabelled(lambda A, C: mmd_naive(A, C, bw, estimator), X, Y, SEED, B)
        assert res.statistic == pytest.approx(ipm.mmd(X, Y, estimator=estimator), rel=1e-12)
        scale = 1.0  # the kernel values are <= 1
    else:
        T, null = relabelled(lambda A, C: energy_naive(A, C, estimator), X, Y, SEED, B)
        assert res.statistic == pytest.approx(ipm.energy_distance(X, Y, estimator=estimator),
                                              rel=1e-12)
        scale = cdist(X, Y).mean()
    assert abs(res.statistic - T) <= 1e-12 * scale
    np.testing.assert_allclose(res.null_distribution, null, rtol=0, atol=1e-12 * scale)
    assert res.pvalue == naive_pvalue(T, null, res.details["tie_tolerance"])
    assert res.method == "permutation" and res.null_distribution.shape == (B,)


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
@pytest.mark.parametrize("max_memory", [None, 2 ** 20])
def test_engine_in_many_row_blocks_equals_naive_recompute(monkeypatch, estimator, max_memory):
    # the engine sums u = a'Ma over the upper block triangle of M (diagonal blocks once,
    # the blocks right of them twice); rows per block made small here so a wrong offset,
    # a block counted once or the diagonal counted twice breaks the equality
    monkeypatch.setattr(P, "_HALF_ROWS", 7)
    monkeypatch.setattr(P, "_MAX_BLOCK_ROWS", 9)   # streamed row blocks
    X, Y = samples(60, 70, shift=0.3, seed=4)
    B = 40
    res = two_sample_test(X, Y, "energy", n_permutations=B, rng=SEED, estimator=estimator,
                          **({} if max_memory is None else {"max_memory": max_memory}))
    assert res.details["plan"]["matrix_stored"] == (max_memory is None)
    if max_memory is not None:
        assert res.details["plan"]["block_rows"] == 9
    T, null = relabelled(lambda A, C: energy_naive(A, C, estimator), X, Y, SEED, B)
    scale = cdist(X, Y).mean()
    assert abs(res.statistic - T) <= 1e-12 * scale
    np.testing.assert_allclose(res.null_distribution, null, rtol=0, atol=1e-12 * scale)


def test_row_tails_of_a_pooled_matrix():
    Z = np.random.default_rng(0).normal(size=(9, 2))
    src = P.Pooled(lambda A, C: gauss(A, C, 1.0), Z, diagonal=0.5)
    full = src.full()
    assert np.all(np.diag(full) == 0.5) and np.allclose(full, full.T)
    out = np.empty((3, 5))
    np.testing.assert_array_equal(src.rows_into(out, 4, 4), full[4:7, 4:])
    dense = P.Dense(full.copy())
    np.testing.assert_array_equal(dense.rows_into(np.empty((2, 7)), 3, 2), full[3:5, 2:])


def test_unbiased_permutation_mean_is_exactly_zero():
    """Over all C(7, 3) relabellings the U-statistic averages to 0 exactly (each term's
    mean is the mean off-diagonal kernel value); keeping the diagonal would add
    1/(n-1) + 1/(m-1) = 0.83 to every value."""
    n, m = 3, 4
    X, Y = samples(n, m, seed=5)
    Z = np.concatenate([X, Y])
    subsets = list(itertools.combinations(range(n + m), n))

    class Enumerate:  # a generator whose uniform keys put each subset first in turn
        def __init__(self):
            self.i = 0

        def random(self, shape):
            keys = np.ones(shape)
            for row in keys:
                row[list(subsets[self.i])] = 0.0
                self.i += 1
            return keys

    src = P.Pooled(lambda A, C: gauss(A, C, 1.0), Z, diagonal=0.0)
    st, _, _ = P.quadratic_null([src], n, m, len(subsets), Enumerate(), estimator="unbiased")
    null = st[0, 1:]
    assert abs(null.mean()) < 1e-15
    ref = [mmd_naive(Z[list(s)], np.delete(Z, list(s), axis=0), 1.0, "unbiased")
           for s in subsets]
    np.testing.assert_allclose(null, ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("statistic", ["mmd", "energy", "mmd_agg"])
def test_streamed_matrix_and_batches_give_the_same_result(statistic):
    X, Y = samples(140, 160, shift=0.2, seed=3)
    ref = two_sample_test(X, Y, statistic, n_permutations=99, rng=SEED)
    assert ref.details["plan"]["matrix_stored"]
    small = two_sample_test(X, Y, statistic, n_permutations=99, rng=SEED, max_memory=2 ** 22,
                            batch_size=7)
    assert not small.details["plan"]["matrix_stored"]
    assert small.details["plan"]["batch_size"] == 7
    assert small.pvalue == ref.pvalue
    # standardised statistics (mmd_agg) carry the round-off of MMD^2 divided by its sd
    tol = 1e-9 if statistic == "mmd_agg" else 1e-12
    np.testing.assert_allclose(small.null_distribution, ref.null_distribution, rtol=tol,
                               atol=1e-14)


def test_mmd_agg_is_the_max_of_standardised_statistics_on_the_same_permutations():
    X, Y = samples(40, 50, shift=0.4, seed=11)
    B = 99
    res = two_sample_test(X, Y, "mmd_agg", n_permutations=B, rng=SEED)
    bws = res.details["bandwidths"]
    med = ipm.median_bandwidth(X, Y)
    np.testing.assert_allclose(bws, med * 2.0 ** np.arange(-4, 3), rtol=1e-14)
    Z = []
    for bw, T in zip(bws, res.details["statistics_per_bandwidth"]):
        single = two_sample_test(X, Y, "mmd", n_permutations=B, rng=SEED, bandwidth=bw)
        assert single.statistic == pytest.approx(T, rel=1e-12)
        assert single.statistic == pytest.approx(ipm.mmd(X, Y, bandwidth=bw), rel=1e-12)
        allv = np.concatenate([[single.statistic], single.null_distribution])
        Z.append((allv - allv.mean()) / allv.std())
    agg = np.max(Z, axis=0)
    assert res.statistic == pytest.approx(agg[0], rel=1e-10)
    np.testing.assert_allclose(res.null_distribution, agg[1:], rtol=1e-10)
    assert res.pvalue == naive_pvalue(agg[0], agg[1:], res.details["tie_tolerance"])


@pytest.mark.parametrize("d,p", [(2, 1), (2, 2), (1, 1), (1, 3)])
def test_wasserstein_null_equals_recompute(d, p):
    X, Y = samples(9, 13, d=d, shift=0.5, seed=d + p)
    B = 40
    res = two_sample_test(X, Y, "wasserstein", n_permutations=B, rng=SEED, p=p)
    T, null = relabelled(lambda A, C: ipm.wasserstein(A, C, p=p, method="exact"), X, Y, SEED, B)
    assert res.statistic == pytest.approx(T, rel=1e-10)
    np.testing.assert_allclose(res.null_distribution, null, rtol=1e-10)
    assert res.pvalue == naive_pvalue(T, null, res.details["tie_tolerance"])
    if d == 1 and p == 1:
        assert res.statistic == pytest.approx(stats.wasserstein_distance(X[:, 0], Y[:, 0]),
                                              rel=1e-12)


def test_ties_count_towards_the_pvalue():
    """Binary data: the statistic depends only on how many ones each group gets, so many
    relabellings tie exactly with the observed one; the engine (matrix products) and the
    naive recompute (different round-off) must count the same ties."""
    rng = np.random.default_rng(4)
    X = rng.integers(0, 2, size=(60, 1)).astype(float)
    Y = rng.integers(0, 2, size=(45, 1)).astype(float)
    B = 300
    res = two_sample_test(X, Y, "mmd", n_permutations=B, rng=SEED, bandwidth=1.0)
    T, null = relabelled(lambda A, C: mmd_naive(A, C, 1.0, "unbiased"), X, Y, SEED, B)
    exact_ties = np.count_nonzero(np.isclose(null, T, rtol=0, atol=1e-13))
    assert exact_ties >= 5
    assert res.pvalue == naive_pvalue(T, null, 1e-13)


# ---------------------------------------------------------------------------------------
# p-value validity: the +1, the alternatives, type-I error, power
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("statistic", PERMUTATION_STATS)
def test_one_permutation_gives_p_at_least_one_half(statistic):
    X, Y = samples(12, 10, shift=3.0, seed=1)
    for seed in range(3):
        res = two_sample_test(X, Y, statistic, n_permutations=1, rng=seed)
        assert res.pvalue in (0.5, 1.0)


@pytest.mark.parametrize("statistic", PERMUTATION_STATS + ["c2st"])
def test_clear_difference_gives_the_smallest_pvalue_never_zero(statistic):
    X, Y = samples(40, 30, shift=2.5, seed=2)
    B = 19
    opts = {"calibration": "permutation"} if statistic == "c2st" else {}
    res = two_sample_test(X, Y, statistic, n_permutations=B, rng=SEED, **opts)
    assert res.pvalue == 1 / (B + 1)
    assert np.all(res.null_distribution < res.statistic)


def test_power_of_the_calibrations_without_permutations():
    X, Y = samples(300, 300, shift=1.0, seed=3)
    lin = two_sample_test(X, Y, "mmd_linear", rng=0)
    assert lin.pvalue < 1e-4
    c2 = two_sample_test(X, Y, "c2st", rng=0)
    assert c2.pvalue < 1e-6 and c2.statistic > 0.6


def test_alternatives():
    X, Y = samples(30, 40, shift=2.0, seed=6)
    g = two_sample_test(X, Y, "energy", n_permutations=99, rng=1)
    pv = g.details["pvalues"]
    assert pv["greater"] == 0.01 and pv["less"] == 1.0 and pv["two-sided"] == 0.02
    for alt in ("less", "two-sided"):
        r = two_sample_test(X, Y, "energy", n_permutations=99, rng=1, alternative=alt)
        assert r.pvalue == pv[alt]
        np.testing.assert_array_equal(r.null_distribution, g.null_distribution)
    # a copied sample is *more alike* than random relabellings: "less" detects it
    copy = two_sample_test(X, X.copy(), "mmd", n_permutations=99, rng=1, alternative="less")
    assert copy.pvalue == 0.01
    assert copy.details["pvalues"]["greater"] == 1.0


def _rejections(statistic, reps, n, B, seed, **opts):
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(reps):
        X, Y = rng.normal(size=(n, 2)), rng.normal(size=(n + 3, 2))
        rejected += two_sample_test(X, Y, statistic, n_permutations=B, rng=rng,
                                    **opts).pvalue <= 0.05
    return rejected


def _band(reps, alpha=0.05, level=0.999):
    lo, hi = stats.binom.interval(level, reps, alpha)
    return int(lo), int(hi)


@pytest.mark.parametrize("statistic,opts", [("mmd", {}), ("energy", {}), ("mmd_agg", {}),
                                            ("mmd", {"estimator": "biased", "kernel": "laplace"}),
                                            ("c2st", {})])
def test_type_one_error_small_budget(statistic, opts):
    """100 null repetitions at n = 15, 18 and B = 99: P(p <= 0.05) = 0.05 exactly for the
    permutation tests (at most 0.05 for the conditional c2st); 99.9% binomial band."""
    k = _rejections(statistic, 100, 15, 99, seed=7, **opts)
    lo, hi = _band(100)
    assert lo <= k <= hi


class MeanDifference:
    """A fast linear classifier (the direction between the class means) for the slow
    study of the permutation-calibrated c2st, which refits once per permutation."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y):
        mx, my = X[y == 1].mean(axis=0), X[y == 0].mean(axis=0)
        self.w_, self.b_ = mx - my, (mx - my) @ (mx + my) / 2
        return self

    def predict(self, X):
        return (X @ self.w_ > self.b_).astype(int)


@pytest.mark.slow
@pytest.mark.parametrize("statistic,opts,n", [
    ("mmd", {}, 20), ("mmd", {"estimator": "biased"}, 20), ("energy", {}, 20),
    ("mmd_agg", {}, 20), ("wasserstein", {}, 12), ("c2st", {}, 40),
    ("c2st", {"calibration": "permutation", "classifier": MeanDifference()}, 20),
    ("mmd_linear", {}, 200)])
def test_type_one_error_study(statistic, opts, n):
    """500 null repetitions per statistic, 99% binomial band around 0.05.  The c2st
    accuracy is discrete (ties count towards the p-value), so its rate may only be
    conservative: it must not exceed the band."""
    reps = 500
    k = _rejections(statistic, reps, n, 99 if statistic != "c2st" else 19, seed=8, **opts)
    lo, hi = _band(reps, level=0.99)
    assert k <= hi
    if statistic != "c2st":
        assert lo <= k


# ---------------------------------------------------------------------------------------
# the other statistics
# ---------------------------------------------------------------------------------------

def test_c2st_binomial_is_the_exact_conditional_law():
    X, Y = samples(60, 45, shift=0.6, seed=9)
    res = two_sample_test(X, Y, "c2st", rng=3)
    d = res.details
    nte, correct, k = d["n_test"], d["n_correct"], d["n_predicted_x"]
    assert nte == 30 + 22 or nte == 30 + 23
    tx = 30
    h = (correct - nte + k + tx) // 2
    assert (correct - nte + k + tx) % 2 == 0
    law = stats.hypergeom(nte, k, tx)
    assert res.pvalue == pytest.approx(law.sf(h - 1), rel=1e-12)
    assert res.details["pvalues"]["less"] == pytest.approx(law.cdf(h), rel=1e-12)
    assert res.statistic == correct / nte and res.null_distribution.size == 0
    # the null law is centred on what a label-blind classifier would get
    mean_correct = 2 * k * tx / nte + nte - k - tx
    assert law.mean() == pytest.approx((mean_correct - nte + k + tx) / 2)


def test_c2st_permutation_and_user_classifier():
    from sklearn.neighbors import KNeighborsClassifier
    X, Y = samples(30, 24, shift=1.5, seed=10)
    res = two_sample_test(X, Y, "c2st", n_permutations=29, rng=4, calibration="permutation",
                          classifier=KNeighborsClassifier(3))
    nte = res.details["n_test"]
    counts = res.null_distribution * nte
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert res.pvalue == naive_pvalue(res.statistic, res.null_distribution, 0.5 / nte)
    assert "KNeighborsClassifier" in res.details["classifier"]


def test_mmd_linear_matches_ipm_and_normal_law():
    X, Y = samples(101, 80, shift=0.5, seed=12)
    res = two_sample_test(X, Y, "mmd_linear", rng=0)
    assert res.statistic == pytest.approx(ipm.mmd(X, Y, estimator="linear"), rel=1e-12)
    d = res.details
    assert d["n_pairs"] == 40
    assert d["z"] == pytest.approx(res.statistic / d["standard_error"])
    assert res.pvalue == pytest.approx(stats.norm.sf(d["z"]), rel=1e-12)
    assert res.method == "asymptotic normal" and res.null_distribution.size == 0


@pytest.mark.parametrize("kernel,opts", [("laplace", {}), ("inverse_multiquadric", {}),
                                         ("polynomial", {"kernel_params": {"degree": 2}}),
                                         ("linear", {"bandwidth": None})])
def test_kernels_match_ipm_mmd(kernel, opts):
    X, Y = samples(25, 20, shift=0.5, seed=13)
    res = two_sample_test(X, Y, "mmd", n_permutations=9, rng=0, kernel=kernel, **opts)
    ipm_opts = {**opts.pop("kernel_params", {}), **opts}
    assert res.statistic == pytest.approx(ipm.mmd(X, Y, kernel=kernel, **ipm_opts), rel=1e-12)
    assert res.details["kernel"] == kernel


def test_callable_kernel_is_not_modified():
    X, Y = samples(15, 12, seed=14)
    calls = []

    def k(A, C):
        out = gauss(A, C, 2.0)
        calls.append(out)
        return out

    res = two_sample_test(X, Y, "mmd", n_permutations=19, rng=0, kernel=k)
    assert res.statistic == pytest.approx(mmd_naive(X, Y, 2.0, "unbiased"), rel=1e-12)
    assert all(np.all(np.diag(c[:, :len(c)]) > 0) for c in calls)


# ---------------------------------------------------------------------------------------
# reproducibility, result object, options
# ---------------------------------------------------------------------------------------

#: options that make each statistic cheap (the learned ones train for a few steps)
_CHEAP = {"mmdagg": {"B1": 20, "B2": 20}, "mmdagginc": {"B1": 20, "B2": 20},
          "mmd_deep": {"epochs": 2}, "c2st_sign": {"epochs": 2}, "c2st_logit": {"epochs": 2}}


@pytest.mark.parametrize("statistic", STATISTICS)
def test_same_seed_same_result(statistic):
    if statistic in ("mmd_deep", "c2st_sign", "c2st_logit"):
        pytest.importorskip("torch")
    X, Y = samples(20, 25, shift=0.3, seed=15)
    opts = _CHEAP.get(statistic, {})
    B = None if statistic in ("mmdagg", "mmdagginc") else 9
    a = two_sample_test(X, Y, statistic, n_permutations=B, rng=42, **opts)
    b = two_sample_test(X, Y, statistic, n_permutations=B, rng=np.random.default_rng(42),
                        **opts)
    assert a == b  # statistic, pvalue, name and method
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    if statistic in ("mmd", "energy", "wasserstein"):
        c = two_sample_test(X, Y, statistic, n_permutations=9, rng=43)
        assert not np.array_equal(a.null_distribution, c.null_distribution)


def test_permutations_are_shared_across_statistics_and_batch_sizes():
    X, Y = samples(20, 25, seed=16)
    B = 50
    masks = P.draw_assignments(np.random.default_rng(1), 20, 25, B)
    parts = P.draw_assignments(np.random.default_rng(1), 20, 25, 17)
    np.testing.assert_array_equal(masks[:17], parts)
    assert np.all(masks.sum(axis=1) == 20)
    one = two_sample_test(X, Y, "energy", n_permutations=B, rng=1, batch_size=1)
    many = two_sample_test(X, Y, "energy", n_permutations=B, rng=1)
    # the unbiased statistic is near 0 under relabelling: absolute rounding on its scale
    scale = np.abs(many.null_distribution).max()
    np.testing.assert_allclose(one.null_distribution, many.null_distribution, rtol=1e-12,
                               atol=1e-12 * scale)


def test_result_object():
    X, Y = samples(10, 12, seed=17)
    res = two_sample_test(X, Y, n_permutations=19, rng=0, progress=True)
    assert isinstance(res, TwoSampleResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.pvalue = 0.0
    with pytest.raises(ValueError):
        res.null_distribution[0] = 1.0
    assert "pvalue=" in repr(res) and "B=19" in repr(res)
    assert res.statistic_name == "mmd(kernel='gaussian', estimator='unbiased')"
    d = res.details
    assert d["n"] == 10 and d["m"] == 12 and d["n_permutations"] == 19
    assert d["alternative"] == "greater" and d["seconds"] >= 0
    assert d["tie_tolerance"] > 0 and math.isfinite(d["tie_tolerance"])


def test_torch_input():
    torch = pytest.importorskip("torch")
    X, Y = samples(10, 12, seed=18)
    a = two_sample_test(torch.from_numpy(X), torch.from_numpy(Y), n_permutations=9, rng=0)
    b = two_sample_test(X, Y, n_permutations=9, rng=0)
    assert a.pvalue == b.pvalue and a.statistic == b.statistic


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

X0, Y0 = samples(10, 12, seed=19)


@pytest.mark.parametrize("X,Y,match", [
    (X0[:1], Y0, r"X needs at least 2 samples.*\(1, 2\)"),
    (X0, Y0[:1], r"Y needs at least 2 samples.*\(1, 2\)"),
    (X0, Y0[:, :1], r"same dimension.*\(10, 2\).*\(12, 1\)"),
    (np.where(np.eye(10, 2) > 0, np.nan, X0), Y0, r"X contains 2 non-finite.*nan"),
    (X0, np.full((12, 2), np.inf), r"Y contains 24 non-finite"),
    (np.empty((0, 2)), Y0, r"X must not be empty"),
])
def test_bad_samples(X, Y, match):
    with pytest.raises(ValueError, match=match):
        two_sample_test(X, Y)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"n_permutations": 0}, ValueError, r"n_permutations must be >= 1; got 0"),
    ({"n_permutations": 9.5}, TypeError, r"n_permutations must be an integer"),
    ({"statistic": "t-test"}, ValueError,
     r"statistic='t-test'.*'c2st', 'c2st_logit', 'c2st_sign', 'energy', 'mmd', 'mmd_agg', "
     r"'mmd_deep', 'mmd_linear', 'mmdagg', 'mmdagginc', 'mmdfuse', 'wasserstein'"),
    ({"statistic": None}, TypeError, r"statistic must be a string"),
    ({"alternative": "bigger"}, ValueError, r"alternative='bigger'.*'greater', 'less'"),
    ({"rng": np.random.RandomState(0)}, TypeError, r"RandomState"),
    ({"bandwith": 1.0}, TypeError, r"unknown option.*'bandwith'.*valid options: alpha, bandwidth, "
     "batch_size, device, "
                                   r"estimator"),
    ({"estimator": "linear"}, ValueError, r"estimator='linear'.*'biased', 'unbiased'"),
    ({"kernel": "rbf"}, ValueError, r"kernel='rbf'"),
    ({"bandwidth": -1.0}, ValueError, r"bandwidth must lie in \(0"),
    ({"kernel_params": 3}, TypeError, r"kernel_params must be a dict"),
    ({"max_memory": 1000}, ValueError, r"max_memory must be >= 1048576"),
    ({"batch_size": 0}, ValueError, r"batch_size must be >= 1"),
    ({"progress": "yes"}, TypeError, r"progress must be True or False"),
    ({"statistic": "energy", "kernel": "gaussian"}, TypeError,
     r"unknown option.*'kernel'.*statistic='energy'"),
    ({"statistic": "mmd_agg", "alternative": "less"}, ValueError, r"only alternative='greater'"),
    ({"statistic": "mmd_agg", "kernel": "linear"}, ValueError, r"kernel with a bandwidth"),
    ({"statistic": "mmd_agg", "bandwidths": [1.0, 0.0]}, ValueError, r"bandwidths must be"),
    ({"statistic": "wasserstein", "p": 0.5}, ValueError, r"p must lie in \[1"),
    ({"statistic": "c2st", "test_size": 1.0}, ValueError, r"test_size must lie in \(0"),
    ({"statistic": "c2st", "calibration": "exact"}, ValueError, r"calibration='exact'"),
    ({"statistic": "c2st", "classifier": "logistic"}, TypeError, r"classifier must be"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        two_sample_test(X0, Y0, **kwargs)


def test_bad_sizes_for_particular_statistics():
    big = np.zeros((501, 2)) + np.arange(501)[:, None]
    with pytest.raises(ValueError, match=r"n \* m = 501 \* 501 = 251001 exceeds 250000"):
        two_sample_test(big, big + 0.5, "wasserstein")
    with pytest.raises(ValueError, match=r"at least 4 points.*\(3, 2\)"):
        two_sample_test(X0[:3], Y0, "mmd_linear")
    same = np.ones((10, 2))
    with pytest.raises(ValueError, match="median"):
        two_sample_test(same, same, "mmd")


# ---------------------------------------------------------------------------------------
# samples too small for the resampling to reach alpha
# ---------------------------------------------------------------------------------------

def test_distinct_resamples_match_an_enumeration():
    """The counts behind the small-sample warning equal the distinct statistic values of
    every relabelling (biased MMD with a Gaussian kernel, in general position) and of every
    sign vector of the wild bootstrap's quadratic form."""
    from itertools import combinations, product

    from divest.twosample import _distinct_resamples
    rng = np.random.default_rng(11)
    for n, m in ((3, 3), (2, 4), (3, 4), (4, 4)):
        Z = rng.normal(size=(n + m, 2))
        K = np.exp(-((Z[:, None] - Z[None]) ** 2).sum(-1))
        values = set()
        for idx in combinations(range(n + m), n):
            a = np.zeros(n + m, bool)
            a[list(idx)] = True
            v = (K[a][:, a].mean() + K[~a][:, ~a].mean() - 2 * K[a][:, ~a].mean())
            values.add(round(float(v), 12))
        assert _distinct_resamples("mmd", n, m, {}) == len(values)
    for n in (3, 4, 5):
        H = rng.normal(size=(n, n))
        H = H + H.T
        np.fill_diagonal(H, 0.0)
        values = {round(float(np.array(e) @ H @ np.array(e)), 12)
                  for e in product((-1.0, 1.0), repeat=n)}
        assert _distinct_resamples("mmdagg", n, n, {"resampling": "auto"}) == len(values)
        assert _distinct_resamples("mmdagginc", n, n, {}) == len(values)
        assert _distinct_resamples("mmdfuse", n, n, {"resampling": "wild_bootstrap"}) == len(
            values)


def test_small_samples_warn_that_alpha_is_out_of_reach():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    with pytest.warns(UserWarning, match=r"at most 10 distinct values.*alpha=0.05"):
        two_sample_test(X[:3], Y[:3], "mmd", alpha=0.05, n_permutations=99, rng=0)
    with pytest.warns(UserWarning, match=r"sign flips of the pairs give at most 16"):
        two_sample_test(X[:5], Y[:5], "mmdagg", B1=99, B2=99, rng=0)
    with pytest.warns(UserWarning, match=r"sign flips of the pairs give at most 16"):
        two_sample_test(X[:5], Y[:5], "mmdfuse", resampling="wild_bootstrap", alpha=0.05,
                        n_permutations=99, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        two_sample_test(X[:4], Y[:4], "mmd", alpha=0.05, n_permutations=99, rng=0)  # 35
        two_sample_test(X[:3], Y[:3], "mmd", n_permutations=99, rng=0)   # no alpha: no decision
        two_sample_test(X[:6], Y[:6], "mmdagg", B1=99, B2=99, rng=0)     # 32 sign classes
