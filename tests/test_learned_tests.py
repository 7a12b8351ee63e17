"""Learned two-sample tests of Liu et al. (2020): MMD-D, C2ST-S, C2ST-L; Blob and HDGM."""

import math

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from divest import two_sample_test  # noqa: E402
from divest import _permutation as _perm  # noqa: E402
from divest._problems_liu import blob, blob_covariances, hdgm  # noqa: E402
from divest.torch import _twosample as lt  # noqa: E402

LEARNED = ("mmd_deep", "c2st_sign", "c2st_logit")
CPU = torch.device("cpu")
#: tiny budgets: enough for the outputs to depend on the data, fast on one core
TINY = {"mmd_deep": {"epochs": 5}, "c2st_sign": {"epochs": 30},
        "c2st_logit": {"epochs": 30}}
NET = {"width": 16, "depth": 2, "n_features": 8}


def _run(X, Y, statistic, rng=0, B=99, **kw):
    return two_sample_test(X, Y, statistic, n_permutations=B, rng=rng,
                           **{"device": "cpu", **TINY[statistic], **NET, **kw})


def _shifted(rng, n=60, m=50, d=2, delta=3.0):
    X = rng.normal(size=(n, d))
    Y = rng.normal(size=(m, d))
    Y[:, 0] += delta
    return X, Y


# ----------------------------------------------------------------------------------------
# level and power
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("statistic", LEARNED)
def test_level_under_the_null(statistic):
    # 80 null repetitions at alpha = 0.1 (n = 40, m = 30: the unequal-size objective too);
    # the rejection count of a valid test is at most Binomial(80, 0.1):
    # P(count >= 18) = 0.002.  A lower bound catches a test that never rejects.
    rng = np.random.default_rng(123)
    reps, alpha = 80, 0.1
    count = 0
    for r in range(reps):
        X, Y = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
        count += _run(X, Y, statistic, rng=r).pvalue <= alpha
    assert count <= stats.binom.ppf(0.998, reps, alpha)
    assert count >= 1


@pytest.mark.parametrize("statistic", LEARNED)
def test_power_on_an_obvious_shift(statistic):
    # a mean shift of 3 standard deviations: the test half alone separates the samples,
    # so the p-value is the smallest possible, 1 / (B + 1); the one-sided "less" p-value
    # is then large (a swapped label or a wrong sign would exchange the two)
    X, Y = _shifted(np.random.default_rng(5))
    res = _run(X, Y, statistic, B=199, epochs=200)
    assert res.pvalue == pytest.approx(1 / 200)
    assert res.details["pvalues"]["less"] > 0.9
    assert res.null_distribution.shape == (199,)
    if statistic == "c2st_sign":
        assert res.statistic > 0.9
    else:
        assert res.statistic > 0


def test_c2st_sign_is_accuracy_and_logit_is_mean_difference():
    # independent recomputation from the trained network's outputs on the test part
    rng = np.random.default_rng(2)
    X, Y = _shifted(rng, n=30, m=26, delta=1.0)
    opts = {"epochs": 20, "learning_rate": 1e-3, "batch_size": 16, **NET}
    model, _ = lt.train_classifier(X, Y, rng=np.random.default_rng(0), device=CPU, **opts)
    Xt, Yt = _shifted(rng, n=24, m=20, delta=1.0)
    with torch.no_grad():
        out = model(torch.as_tensor(np.concatenate([Xt, Yt]), dtype=torch.float32))
        prob_x = torch.softmax(out, 1)[:, 0].double().numpy()
        logit = (out[:, 0] - out[:, 1]).double().numpy()
    pred_x = prob_x > 0.5
    lab_x = np.r_[np.ones(24, bool), np.zeros(20, bool)]
    masks = _perm.draw_assignments(np.random.default_rng(9), 24, 20, 7)
    acc, null, tol, _ = lt.classifier_null(model, Xt, Yt, 7, np.random.default_rng(9),
                                           kind="sign")
    assert acc == pytest.approx(np.mean(pred_x == lab_x))
    assert tol == pytest.approx(0.5 / 44)
    for b in range(7):
        assert null[b] == pytest.approx(np.mean(pred_x == masks[b]))
    for kind, s in (("logit", logit), ("probability", prob_x)):
        t, null, _, _ = lt.classifier_null(model, Xt, Yt, 7, np.random.default_rng(9),
                                           kind=kind)
        assert t == pytest.approx(s[:24].mean() - s[24:].mean(), rel=1e-5)
        for b in range(7):
            assert null[b] == pytest.approx(s[masks[b]].mean() - s[~masks[b]].mean(),
                                            rel=1e-5, abs=1e-6)


def test_mmd_deep_statistic_is_the_unbiased_mmd_of_the_trained_kernel():
    rng = np.random.default_rng(3)
    X, Y = _shifted(rng, n=20, m=16, delta=0.5)
    kernel, info = lt.train_deep_kernel(
        X, Y, rng=np.random.default_rng(1), device=CPU, epochs=5, learning_rate=5e-4,
        batch_size=None, reg=1e-8, epsilon_init=0.5, bandwidths="median", **NET)
    Xt, Yt = _shifted(rng, n=15, m=12, delta=0.5)
    stat, null, tol, _ = lt.deep_kernel_null(kernel, Xt, Yt, 9, np.random.default_rng(0))
    Z = torch.as_tensor(np.concatenate([Xt, Yt]), dtype=torch.float64)
    with torch.no_grad():
        F = kernel.phi(Z.float()).double()
        K = kernel.gram(F, F, Z, Z).numpy()
    n, m = 15, 12
    Kxx, Kyy, Kxy = K[:n, :n], K[n:, n:], K[:n, n:]
    ref = ((Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
           + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1)) - 2 * Kxy.mean())
    assert stat == pytest.approx(ref, rel=1e-6, abs=1e-12)
    assert null.shape == (9,) and 0 < tol < 1e-8
    p = info["kernel_parameters"]
    assert 0 < p["epsilon"] < 1 and p["sigma_q"] > 0 and p["sigma_phi"] > 0


def _authors_h1_mean_var(Kx, Ky, Kxy):
    """utils.py h1_mean_var_gram of DK-for-TST, transcribed line by line (numpy)."""
    nx, ny = Kx.shape[0], Ky.shape[0]
    xx = (Kx.sum() - np.trace(Kx)) / (nx * (nx - 1))
    yy = (Ky.sum() - np.trace(Ky)) / (ny * (ny - 1))
    xy = (Kxy.sum() - np.trace(Kxy)) / (nx * (ny - 1))
    mmd2 = xx - 2 * xy + yy
    hh = Kx + Ky - Kxy - Kxy.T
    V1 = np.dot(hh.sum(1) / ny, hh.sum(1) / ny) / ny
    V2 = hh.sum() / nx / nx
    return mmd2, 4 * (V1 - V2 ** 2)


def test_objective_matches_the_authors_estimators_for_equal_sizes():
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(24, 3))
    Z[12:] += 0.4
    D = ((Z[:, None] - Z[None]) ** 2).sum(-1)
    K = np.exp(-D / 2.0)
    mmd2, var = _authors_h1_mean_var(K[:12, :12], K[12:, 12:], K[:12, 12:])
    J, m2, v = lt.mmd_objective(torch.as_tensor(K), 12, 12, 1e-8)
    assert float(m2) == pytest.approx(mmd2, rel=1e-12)
    assert float(v) == pytest.approx(var, rel=1e-12)
    assert float(J) == pytest.approx(mmd2 / math.sqrt(var + 1e-8), rel=1e-12)
    # unequal sizes: two-sample U-statistic and 4 [var(a) + (n/m) var(b)]
    J, m2, v = lt.mmd_objective(torch.as_tensor(K), 10, 14, 0.0)
    Kxx, Kyy, Kxy = K[:10, :10], K[10:, 10:], K[:10, 10:]
    a = (Kxx.sum(1) - 1) / 9 - Kxy.mean(1)
    b = (Kyy.sum(1) - 1) / 13 - Kxy.mean(0)
    assert float(m2) == pytest.approx(a.mean() + b.mean(), rel=1e-12)
    assert float(v) == pytest.approx(4 * (a.var() + 10 / 14 * b.var()), rel=1e-12)


def test_training_raises_the_objective():
    X, Y = blob(90, 90, rng=0)
    res = _run(X, Y, "mmd_deep", epochs=60, learning_rate=1e-3, B=19)
    d = res.details
    assert d["objective_final"] > d["objective_first_epoch"]


# ----------------------------------------------------------------------------------------
# reproducibility, details, options
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("statistic", LEARNED)
def test_same_rng_same_result(statistic):
    X, Y = _shifted(np.random.default_rng(7), delta=0.3)
    a, b = _run(X, Y, statistic, rng=11), _run(X, Y, statistic, rng=11)
    c = _run(X, Y, statistic, rng=12)
    assert a.statistic == b.statistic and a.pvalue == b.pvalue
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    assert not np.array_equal(a.null_distribution, c.null_distribution)


@pytest.mark.parametrize("statistic", LEARNED)
def test_details(statistic):
    X, Y = _shifted(np.random.default_rng(8), n=41, m=30)
    res = _run(X, Y, statistic, train_fraction=0.4)
    d = res.details
    assert (d["n"], d["m"], d["n_train"], d["m_train"], d["n_test"], d["m_test"]) == (
        41, 30, 16, 12, 25, 18)
    assert d["epochs"] == TINY[statistic]["epochs"] and d["device"] == "cpu"
    assert d["architecture"]["width"] == 16 and d["architecture"]["depth"] == 2
    assert d["seconds_training"] > 0 and d["steps"] >= d["epochs"]
    assert d["n_permutations"] == 99 and res.method == "permutation"
    assert res.statistic_name.startswith(statistic + "(epochs=")
    if statistic == "mmd_deep":
        assert set(d["kernel_parameters"]) == {"epsilon", "sigma_q", "sigma_phi"}
        assert d["batch_size"] is None and d["reg"] == 1e-8
    else:
        assert d["batch_size"] == 128 and 0 <= d["accuracy_train"] <= 1


def test_mmd_deep_minibatches_and_explicit_bandwidths():
    X, Y = _shifted(np.random.default_rng(1), delta=2.0)
    res = _run(X, Y, "mmd_deep", batch_size=10, bandwidths=(1.0, 0.5), epochs=3)
    assert res.details["steps"] == 3 * math.ceil(30 / 10)
    assert res.details["bandwidths_init"] == (1.0, 0.5)


def test_c2st_logit_probability_score():
    X, Y = _shifted(np.random.default_rng(1))
    res = _run(X, Y, "c2st_logit", score="probability", epochs=200)
    assert 0 < res.statistic <= 1 and res.details["score"] == "probability"


def test_options_are_listed():
    for statistic in LEARNED:
        assert {"train_fraction", "epochs", "learning_rate", "batch_size", "device"} <= set(
            lt.OPTIONS[statistic])
        assert "alpha" not in lt.OPTIONS[statistic]


# ----------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("statistic", LEARNED)
@pytest.mark.parametrize("option, value, exc, words", [
    ("train_fraction", 0.0, ValueError, "train_fraction"),
    ("train_fraction", 1.0, ValueError, "train_fraction"),
    ("train_fraction", 1.5, ValueError, "1.5"),
    ("epochs", 0, ValueError, "epochs must be >= 1"),
    ("epochs", 2.5, TypeError, "epochs"),
    ("learning_rate", -1e-3, ValueError, "learning_rate"),
    ("batch_size", 0, ValueError, "batch_size"),
    ("width", 0, ValueError, "width"),
    ("device", "tpu", ValueError, "device"),
])
def test_bad_options(statistic, option, value, exc, words):
    X, Y = _shifted(np.random.default_rng(0), n=20, m=20)
    with pytest.raises(exc, match=words):
        _run(X, Y, statistic, **{option: value})


@pytest.mark.parametrize("option, value, words", [
    ("epsilon_init", 1.0, "epsilon_init"), ("reg", -1.0, "reg"),
    ("bandwidths", "mean", "bandwidths"), ("bandwidths", (1.0,), "bandwidths"),
    ("bandwidths", (1.0, -2.0), r"bandwidths\[1\]")])
def test_bad_mmd_deep_options(option, value, words):
    X, Y = _shifted(np.random.default_rng(0), n=20, m=20)
    with pytest.raises(ValueError, match=words):
        _run(X, Y, "mmd_deep", **{option: value})


def test_mmd_deep_batch_of_one_is_refused():
    X, Y = _shifted(np.random.default_rng(0), n=20, m=20)
    with pytest.raises(ValueError, match="batch_size must be >= 2; got 1"):
        _run(X, Y, "mmd_deep", batch_size=1)


def test_bad_score_and_unknown_option():
    X, Y = _shifted(np.random.default_rng(0), n=20, m=20)
    with pytest.raises(ValueError, match="score='raw'"):
        _run(X, Y, "c2st_logit", score="raw")
    with pytest.raises(TypeError, match="score"):
        _run(X, Y, "c2st_sign", score="logit")


@pytest.mark.parametrize("statistic", LEARNED)
def test_too_few_rows_to_split(statistic):
    X, Y = _shifted(np.random.default_rng(0), n=3, m=20)
    with pytest.raises(ValueError, match=r"X of shape \(3, 2\) into 1 training and 2 test"):
        _run(X, Y, statistic)
    X, Y = _shifted(np.random.default_rng(0), n=20, m=20)
    with pytest.raises(ValueError, match="into 1 training and 19 test"):
        _run(X, Y, statistic, train_fraction=0.05)


# ----------------------------------------------------------------------------------------
# Blob and HDGM
# ----------------------------------------------------------------------------------------

def test_blob_matches_the_authors_sampler():
    X, Y = blob(20000, 20000, rng=0)
    # nearest grid centre recovers the component (blobs of sd <= 0.25, spacing 1)
    for Z, covs in ((X, [0.03 * np.eye(2)] * 9), (Y, None)):
        centre = np.clip(np.rint(Z), 0, 2)
        comp = (centre[:, 0] * 3 + centre[:, 1]).astype(int)
        counts = np.bincount(comp, minlength=9)
        assert stats.chisquare(counts).pvalue > 1e-3
        for i in (0, 4, 8):
            R = Z[comp == i] - centre[comp == i]
            if covs is None:  # the code's np.matmul(Y, L): covariance L^T L
                L = np.linalg.cholesky(blob_covariances()[i])
                target = L.T @ L
            else:
                target = covs[i]
            se = 0.03 * math.sqrt(2 / len(R))
            np.testing.assert_allclose(np.cov(R.T), target, atol=6 * se)
    Xn, Yn = blob(500, 300, rng=1, null=True)
    assert Xn.shape == (500, 2) and Yn.shape == (300, 2)


def test_hdgm_moments():
    X, Y = hdgm(20001, 20000, rng=0, d=4)
    assert X.shape == (20001, 4) and Y.shape == (20000, 4)
    for Z in (X, Y):  # modes 0 and 0.5 * 1, half each: mean 0.25, cov I + 1/16 (+ Q's)
        np.testing.assert_allclose(Z.mean(0), 0.25, atol=6 * math.sqrt(1.1 / len(Z)))
    cx, cy = np.cov(X.T), np.cov(Y.T)
    np.testing.assert_allclose(cx, np.eye(4) + 1 / 16, atol=0.05)
    # Q's within-mode correlation +-0.5 of coordinates 0 and 1 averages to 0 across modes,
    # but shows in the modes: points nearer mode 0 (sum of the other coordinates small)
    def corr(Z, low):
        sel = (Z[:, 2:].sum(1) < 0.5) == low
        return np.corrcoef(Z[sel, 0], Z[sel, 1])[0, 1]

    assert corr(Y, True) > corr(X, True) + 0.08  # mode 0: +0.5
    assert corr(Y, False) < corr(X, False) - 0.08  # mode 1: -0.5
    Xn, Yn = hdgm(2000, 2000, rng=1, d=4, null=True)
    assert abs(corr(Yn, True) - corr(Xn, True)) < 0.1


# ----------------------------------------------------------------------------------------
# heavier studies
# ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_mmd_deep_default_budget_detects_blob():
    # the authors' budget (1000 full-batch epochs) and Blob initial bandwidths (the means
    # of their random ones) on Blob with 80 points per mode, half of them training (~50 s)
    X, Y = blob(720, 720, rng=0)
    res = two_sample_test(X, Y, "mmd_deep", n_permutations=199, rng=0, device="cpu",
                          bandwidths=(math.sqrt(0.15), math.sqrt(0.001)))
    assert res.pvalue <= 0.01


@pytest.mark.slow
@pytest.mark.parametrize("statistic", LEARNED)
def test_level_blob_null_slow(statistic):
    rng = np.random.default_rng(0)
    reps, alpha, count = 100, 0.05, 0
    for r in range(reps):
        X, Y = blob(90, 90, rng=rng, null=True)
        count += two_sample_test(X, Y, statistic, n_permutations=99, rng=r, epochs=50,
                                 device="cpu").pvalue <= alpha
    assert count <= stats.binom.ppf(0.999, reps, alpha)


def test_held_out_parts_too_small_for_alpha_warn():
    """3 + 3 held-out rows: 10 distinct MMD-D values over relabellings (< 1/0.05), while
    the classifiers' sign-changing statistics have up to 20 (no warning at 0.05)."""
    import warnings
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    with pytest.warns(UserWarning, match=r"held-out parts of 3 and 3 points.*at most 10"):
        two_sample_test(X, Y, "mmd_deep", alpha=0.05, epochs=2, n_permutations=99, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        two_sample_test(X, Y, "c2st_logit", alpha=0.05, epochs=2, n_permutations=99, rng=0)
