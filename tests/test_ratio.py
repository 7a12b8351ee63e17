"""Density-ratio estimators (classifier, uLSIF, KLIEP) against exact values.

Tolerances.  Every comparison with an exact value allows ``Z`` standard errors plus a
small relative bias allowance, stated per estimator:

* classifier with the logistic model on quadratic features (well specified for the
  Gaussian pairs used: log p/q is linear or quadratic): 3 % (L2 shrinkage of the
  coefficients and the O(1/n) bias of a plug-in; 20-repetition studies at n = 2000
  measured |bias| <= 3 % of the value on these pairs, mostly <= 2 %);
* uLSIF Pearson: 8 % (the Gaussian-kernel model cannot follow a ratio that grows
  like exp(x); measured -6 % on mean-shift-d1, +0.5 % on normal-1-2);
* KLIEP KL: 3 % (measured +1.9 % on mean-shift-d1, -0.5 % on normal-1-2).

The standard errors are those of the influence function at the fitted ratio; the
same studies found them within about 30 % of the actual spread of the estimates.
The bias-aware intervals (learning-curve allowance from half-data fits) are checked
for their construction and side, against a planted trend, and on a pair where the
classifier is known to be biased low (binomial bands on 12 seeded repetitions).
"""

import math
from functools import lru_cache

import numpy as np
import pytest

import divest as dv
from divest.estimators import DensityRatio, classifier, fit_ratio, kliep, ulsif
from divest.estimators._ratio import HalfFits, RatioFit
from divest.reference import get_pair

pytestmark = [pytest.mark.filterwarnings("error::RuntimeWarning"),
              # disjoint supports warn by design (tested in
              # test_perfect_separation_warns_and_says_what_the_value_means)
              pytest.mark.filterwarnings("ignore:the out-of-fold log-ratios separate")]

LOG2 = math.log(2.0)
Z = 3.0
N = 2000


def close(est, exact, rel_bias, z=Z):
    """|estimate - exact| <= z SE + rel_bias |exact|, with a message."""
    tol = z * est.standard_error + rel_bias * abs(exact)
    ok = abs(est.value - exact) <= tol
    return ok, f"{est.name}: {est.value:.5g} vs exact {exact:.5g} (SE {est.standard_error:.3g}, " \
               f"tolerance {tol:.3g})"


@lru_cache(maxsize=None)
def samples(pair, n=N, m=None, seed=0):
    """Samples of a reference pair (cached; arrays are made read-only)."""
    p = get_pair(pair)
    rng = np.random.default_rng(seed)
    m = n if m is None else m
    X = np.asarray(p.P.rvs(size=n, random_state=rng), dtype=float).reshape(n, -1)
    Y = np.asarray(p.Q.rvs(size=m, random_state=rng), dtype=float).reshape(m, -1)
    X.flags.writeable = False
    Y.flags.writeable = False
    return X, Y


@lru_cache(maxsize=None)
def fitted(pair, method="classifier", n=N, m=None, seed=0, **kw):
    X, Y = samples(pair, n, m, seed)
    if method == "classifier":
        kw.setdefault("model", "logistic")
    return fit_ratio(X, Y, method, rng=seed, **kw)


# ---------------------------------------------------------------------------------
# accuracy against exact values

CLASSIFIER_PAIRS = ["mean-shift-d1", "mean-shift-d2", "normal-1-2", "scale-change-d2"]
CLASSIFIER_NAMES = ["kl", "js", "tv", "squared_hellinger", "reverse_kl", "renyi(alpha=0.5)"]


@pytest.mark.parametrize("pair", CLASSIFIER_PAIRS)
def test_classifier_matches_exact(pair):
    ratio = fitted(pair)
    exact = get_pair(pair).values
    for name in CLASSIFIER_NAMES:
        est = ratio.divergence(name)
        ok, msg = close(est, exact[name], 0.03)
        assert ok, f"{pair}: {msg}"
        assert est.method == "classifier" and est.n_p == N and est.n_q == N
        assert est.details["form"] == "split"


def test_classifier_front_door_equals_fit_ratio():
    X, Y = samples("normal-1-2")
    est = classifier(X, Y, "js", model="logistic", rng=0)
    ref = fitted("normal-1-2").divergence("js")
    assert est.value == ref.value and est.standard_error == ref.standard_error
    assert est.name == "js" and est.method == "classifier"
    assert est.details["model"] == "logistic"


def test_classifier_is_not_the_plain_average_se():
    # the reported SE includes the error of the fitted ratio: it is larger than the
    # plug-in average's own SE (kept in details)
    est = fitted("mean-shift-d1").divergence("kl")
    assert est.standard_error > 1.5 * est.details["standard_error_given_ratio"]


@pytest.mark.parametrize("n, m", [(1000, 4000), (4000, 1000)])
def test_class_prior_correction(n, m):
    # without the log(m/n) term every log-ratio would be off by log 4 = 1.39
    ratio = fitted("normal-1-2", n=n, m=m, seed=1)
    assert (ratio.n_p, ratio.n_q) == (n, m)
    exact = get_pair("normal-1-2").values
    for name in ("kl", "js", "tv", "reverse_kl"):
        ok, msg = close(ratio.divergence(name), exact[name], 0.03)
        assert ok, f"n={n}, m={m}: {msg}"


def test_class_prior_correction_agrees_with_balanced_samples():
    bal = fitted("normal-1-2", n=1000, m=1000, seed=2).divergence("kl")
    unb = fitted("normal-1-2", n=1000, m=4000, seed=2).divergence("kl")
    se = math.hypot(bal.standard_error, unb.standard_error)
    assert abs(bal.value - unb.value) <= 3 * se, (bal, unb)


def test_swapped_arguments_give_reverse_kl():
    X, Y = samples("normal-1-2")
    exact = get_pair("normal-1-2").values
    fwd = classifier(X, Y, "kl", model="logistic", rng=0)
    rev = classifier(Y, X, "kl", model="logistic", rng=0)
    ok, msg = close(fwd, exact["kl"], 0.03)
    assert ok, msg
    ok, msg = close(rev, exact["reverse_kl"], 0.03)
    assert ok, msg
    # KL(P||Q) = 0.44 and KL(Q||P) = 1.31 are told apart
    assert abs(fwd.value - rev.value) > 10 * math.hypot(fwd.standard_error, rev.standard_error)
    # and the same through the generator of reverse_kl on the unswapped samples
    rk = classifier(X, Y, "reverse_kl", model="logistic", rng=0)
    assert abs(rk.value - rev.value) <= 3 * math.hypot(rk.standard_error, rev.standard_error)


def test_donsker_varadhan_close_to_kl():
    exact = get_pair("normal-1-2").values["kl"]
    ratio = fitted("normal-1-2")
    dvkl, kl = ratio.divergence("kl_dv"), ratio.divergence("kl")
    assert dvkl.name == "kl" and dvkl.details["form"] == "donsker_varadhan"
    ok, msg = close(dvkl, exact, 0.03)
    assert ok, msg
    assert abs(dvkl.value - kl.value) <= 2 * dvkl.standard_error
    # through the front door too
    X, Y = samples("normal-1-2")
    assert classifier(X, Y, "kl_dv", model="logistic", rng=0).value == dvkl.value


def test_donsker_varadhan_invariant_to_constant_shift():
    ratio = fitted("mean-shift-d1")
    base = ratio.divergence("kl_dv").value
    shifted = DensityRatio("classifier", ratio.log_ratio_p + 0.7, ratio.log_ratio_q + 0.7,
                           ratio._predictors, ratio.cv, dict(ratio.details), RatioFit(dim=1))
    assert shifted.divergence("kl_dv").value == pytest.approx(base, abs=1e-12)
    assert shifted.divergence("kl").value > base + 0.2  # the split plug-in is not invariant


@pytest.mark.parametrize("pair", ["mean-shift-d1", "normal-1-2"])
def test_ulsif_pearson(pair):
    exact = get_pair(pair).values["pearson"]
    X, Y = samples(pair)
    est = ulsif(X, Y, rng=0)
    assert est.method == "ulsif" and est.name == "pearson"
    assert est.details["form"] == "ulsif"
    ok, msg = close(est, exact, 0.08)
    assert ok, f"{pair}: {msg}"
    # half-Pearson (the PE of Sugiyama et al.) would be off by a factor 2
    assert not close(Estimate_scaled(est, 0.5), exact, 0.08)[0]
    assert 0.0 <= est.details["frac_coefficients_clipped"] <= 1.0
    assert 0.0 <= est.details["frac_points_negative_before_clipping"] <= 1.0
    assert est.details["sigma"] in est.details["sigma_grid"]


def Estimate_scaled(est, c):
    return dv.Estimate.from_value(c * est.value, standard_error=c * est.standard_error,
                                  method=est.method, name=est.name)


def test_ulsif_other_divergences_use_the_split_plugin():
    ratio = fitted("normal-1-2", "ulsif")
    exact = get_pair("normal-1-2").values
    for name in ("kl", "js", "tv"):
        est = ratio.divergence(name)
        assert est.details["form"] == "split"
        ok, msg = close(est, exact[name], 0.05)
        assert ok, msg


@pytest.mark.parametrize("pair", ["normal-1-2", "mean-shift-d1"])
def test_kliep_kl(pair):
    exact = get_pair(pair).values
    X, Y = samples(pair)
    est = kliep(X, Y, rng=0)
    assert est.method == "kliep" and est.name == "kl"
    ok, msg = close(est, exact["kl"], 0.03)
    assert ok, f"{pair}: {msg}"
    assert est.details["not_converged"] == 0 and est.details["half_not_converged"] == 0
    assert est.details["sigma"] in est.details["sigma_grid"]


# ---------------------------------------------------------------------------------
# degenerate cases


def _all_names():
    return list(dv.fdivergences()) + ["renyi(alpha=0.5)", "renyi(alpha=2)", "bhattacharyya",
                                      "kl_dv"]


def _param_name(name):
    return {"js_weighted": "js_weighted(pi=0.25)", "alpha": "alpha(alpha=0.5)"}.get(name, name)


@lru_cache(maxsize=None)
def disjoint():
    rng = np.random.default_rng(5)
    X, Y = rng.uniform(0, 1, (300, 1)), rng.uniform(2, 3, (300, 1))
    X.flags.writeable = False
    Y.flags.writeable = False
    return X, Y


@pytest.mark.parametrize("method", ["classifier", "ulsif", "kliep"])
def test_disjoint_supports(method):
    X, Y = disjoint()
    kw = {"model": "logistic"} if method == "classifier" else {}
    ratio = fit_ratio(X, Y, method, rng=0, **kw)
    assert ratio.details["perfectly_separated"]
    v = {name: ratio.divergence(_param_name(name)) for name in _all_names()}
    for name, est in v.items():
        assert not math.isnan(est.value), name
    assert v["kl"].value == math.inf and v["kl_dv"].value == math.inf
    assert v["reverse_kl"].value == math.inf and v["pearson"].value == math.inf
    assert v["js"].value == pytest.approx(LOG2, abs=1e-12)
    assert v["tv"].value == pytest.approx(1.0, abs=1e-12)
    assert v["squared_hellinger"].value == pytest.approx(2.0, abs=1e-12)
    assert v["bhattacharyya"].value == math.inf
    assert v["gan"].value == pytest.approx(0.0, abs=1e-12)  # 2 log 2 - log 4
    assert "separation" in v["kl"].details and math.isnan(v["kl"].standard_error)


def test_disjoint_supports_model_values_are_finite_and_honest():
    X, Y = disjoint()
    ratio = fit_ratio(X, Y, model="logistic", rng=0)
    kl = ratio.divergence("kl", separated="model")
    js = ratio.divergence("js", separated="model")
    tv = ratio.divergence("tv", separated="model")
    assert 3.0 < kl.value < math.inf
    assert 0.6 < js.value < LOG2 and 0.95 < tv.value <= 1.0
    assert "separation" not in kl.details


def test_perfect_separation_warns_and_says_what_the_value_means():
    import warnings

    from divest.estimators import SeparationWarning
    assert issubclass(SeparationWarning, UserWarning)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0, 1, (5, 1)), rng.normal(4, 1, (5, 1))  # 5 points each, separated
    with pytest.warns(SeparationWarning, match=r"separate X \(n=5\) from Y \(m=5\) "
                                               r"perfectly: kl = inf is the value of "
                                               r"disjoint supports.*separated='model'") as rec:
        est = classifier(X, Y, "kl", rng=0)
    assert rec[0].filename == __file__  # points at the caller, not into divest
    assert est.value == math.inf and est.confidence_interval == (math.inf, math.inf)
    assert "separated by chance" in str(rec[0].message)  # 5 points: say so
    with pytest.warns(SeparationWarning, match=r"js = 0\.\d+ is the fitted model's value, "
                                               r"set by its regularisation"):
        js = classifier(X, Y, "js", rng=0, separated="model")
    X300, Y300 = disjoint()
    with pytest.warns(SeparationWarning, match=r"n=300.*m=300") as rec:
        classifier(X300, Y300, "js", model="logistic", rng=0)
    assert "by chance" not in str(rec[0].message)
    assert 0.0 < js.value < LOG2
    for method in ("ulsif", "kliep"):
        ratio = fit_ratio(X, Y, method, rng=0)
        assert ratio.details["perfectly_separated"]
        with pytest.warns(SeparationWarning, match="tv = 1 is the value of disjoint"):
            assert ratio.divergence("tv").value == pytest.approx(1.0)
    # samples that overlap: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        assert not fitted("normal-1-2").details["perfectly_separated"]
        fitted("normal-1-2").divergence("kl")


def test_certain_classifier_gives_infinite_log_ratios():
    from sklearn.tree import DecisionTreeClassifier
    X, Y = disjoint()
    ratio = fit_ratio(X, Y, model=DecisionTreeClassifier(max_depth=2), rng=0)
    assert np.all(ratio.log_ratio_p == np.inf) and np.all(ratio.log_ratio_q == -np.inf)
    assert ratio.details["frac_infinite_log_ratio"] == 1.0
    for sep in ("infinite", "model"):
        assert ratio.divergence("kl", separated=sep).value == math.inf
        assert ratio.divergence("js", separated=sep).value == pytest.approx(LOG2, abs=1e-12)
        assert ratio.divergence("tv", separated=sep).value == 1.0
    assert np.array_equal(ratio.log_ratio([[0.5], [2.5]]), [np.inf, -np.inf])


@pytest.mark.parametrize("method", ["classifier", "ulsif", "kliep"])
def test_identical_distributions(method):
    # the plug-in of a noisy ratio is >= 0 for every f-divergence: allow 0.01 of bias
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(1500, 2)), rng.normal(size=(1500, 2))
    kw = {"model": "logistic"} if method == "classifier" else {}
    ratio = fit_ratio(X, Y, method, rng=0, **kw)
    assert not ratio.details["perfectly_separated"]
    for name in ("kl", "kl_dv", "reverse_kl", "js", "tv", "squared_hellinger", "pearson",
                 "renyi(alpha=2)"):
        est = ratio.divergence(name)
        assert abs(est.value) <= 3 * est.standard_error + 0.01, est


def test_constant_samples_give_zero():
    X, Y = np.zeros((50, 2)), np.zeros((60, 2))
    ratio = fit_ratio(X, Y, model="logistic", rng=0)
    # the intercept-only fit is log(n/m) up to the solver's tolerance
    np.testing.assert_allclose(ratio.log_ratio_p, 0.0, atol=1e-3)
    for name in ("kl", "js", "tv", "pearson", "kl_dv"):
        assert abs(ratio.divergence(name).value) < 1e-3
    for method in ("ulsif", "kliep"):
        est = fit_ratio(X, Y, method, rng=0).divergence("kl")
        assert math.isfinite(est.value) and abs(est.value) < 0.05


# ---------------------------------------------------------------------------------
# the fitted-ratio object and the model choice


def test_log_ratio_at_new_points():
    ratio = fitted("mean-shift-d1")  # log p/q = x - 1/2
    x = np.linspace(-1, 2, 7)
    np.testing.assert_allclose(ratio.log_ratio(x), x - 0.5, atol=0.15)
    np.testing.assert_allclose(ratio.ratio(x[:, None]), np.exp(ratio.log_ratio(x)))
    assert isinstance(ratio, DensityRatio) and ratio.dim == 1 and ratio.cv == 5
    assert ratio.log_ratio_p.shape == (N,) and ratio.log_ratio_q.shape == (N,)
    refit = fitted("mean-shift-d1", refit=True)
    assert refit.details["refit"]
    np.testing.assert_allclose(refit.log_ratio(x), x - 0.5, atol=0.15)
    np.testing.assert_array_equal(refit.log_ratio_p, ratio.log_ratio_p)  # same out-of-fold
    for method in ("ulsif", "kliep"):
        kr = fitted("mean-shift-d1", method)
        np.testing.assert_allclose(kr.log_ratio([0.0, 0.5, 1.0]), [-0.5, 0.0, 0.5], atol=0.25)


def test_same_rng_same_result():
    X, Y = samples("scale-change-d2", 400)
    a = classifier(X, Y, "js", model="mlp", rng=3)
    b = classifier(X, Y, "js", model="mlp", rng=3)
    assert a.value == b.value and a.details["logit_source"] == ["mlp_forward_pass"]
    for f in (ulsif, kliep):
        assert f(X, Y, rng=3).value == f(X, Y, rng=3).value


def test_auto_model_selection():
    X, Y = samples("mean-shift-d1", 600)
    est = classifier(X, Y, "kl", rng=0)
    d = est.details
    assert d["model"] in ("linear", "logistic", "radial", "spline", "boosting", "mlp")
    assert set(d["cv_log_loss"]) == {"linear", "logistic", "radial", "spline", "boosting",
                                     "mlp"}
    assert d["model"] == min(d["cv_log_loss"], key=d["cv_log_loss"].get)
    assert d["selected_on"] == 1200 and d["log_loss"] < d["prior_log_loss"]
    assert abs(est.value - 0.5) <= 3 * est.standard_error + 0.03 * 0.5
    # large samples: the model is chosen on a subsample, then cross-fitted on all
    sub = classifier(X, Y, "kl", rng=0, select_max=400).details
    assert sub["selected_on"] == 400


def test_normal_scores():
    from scipy import special
    from sklearn.base import clone

    from divest.estimators._ratio._normal_scores import NormalScores
    rng = np.random.default_rng(0)
    x = np.c_[rng.exponential(size=200), np.repeat([1.0, 2.0], 100), np.full(200, 3.0)]
    t = clone(NormalScores()).fit(x)
    z = t.transform(x)
    # distinct values: Phi^-1((rank - 1/2) / N)
    ranks = np.argsort(np.argsort(x[:, 0]))
    assert np.allclose(z[:, 0], special.ndtri((ranks + 0.5) / 200), rtol=1e-12)
    # ties share the mean score of their ranks; a constant coordinate maps to 0
    assert np.all(z[:100, 1] == z[0, 1]) and np.all(z[100:, 1] == z[-1, 1])
    assert z[0, 1] == pytest.approx(np.mean(special.ndtri((np.arange(100) + 0.5) / 200)))
    assert z[0, 1] == pytest.approx(-z[-1, 1]) and np.all(z[:, 2] == 0.0)
    # monotone everywhere, continuous at the extremes, straight lines beyond them
    lo, hi = x[:, 0].min(), x[:, 0].max()
    grid = np.linspace(lo - 1.0, hi + 5.0, 2001)
    zg = t.transform(np.c_[grid, grid, grid])[:, 0]
    assert np.all(np.diff(zg) >= 0.0)
    edge = t.transform(np.array([[lo, 1.0, 3.0], [hi, 1.0, 3.0]]))[:, 0]
    assert np.allclose(t.transform(np.array([[lo - 1e-9, 1, 3], [hi + 1e-9, 1, 3]]))[:, 0],
                       edge, atol=1e-6)
    for side in (grid < lo, grid > hi):
        assert np.allclose(np.diff(zg[side], 2), 0.0, atol=1e-9)
    # a scikit-learn transformer: no parameters, fit_transform from TransformerMixin
    assert NormalScores().get_params() == {}
    with pytest.raises(ValueError, match="Invalid parameter 'k'"):
        NormalScores().set_params(k=1)
    assert np.array_equal(NormalScores().fit_transform(x), z)


def test_spline_model_fits_a_log_ratio_that_polynomials_miss():
    # exp-gamma: log p/q = -log x, singular at 0; no quadratic in x follows it
    pair = get_pair("exp-gamma")
    X, Y = samples("exp-gamma")
    x = np.array([0.05, 0.1, 0.3, 1.0, 2.0])
    spline = fit_ratio(X, Y, model="spline", rng=0)
    logistic = fit_ratio(X, Y, model="logistic", rng=0)
    assert spline.details["model"] == "spline"
    # measured errors over 4 seeds at n = 2000: at most 0.31 (spline), 1.65 (logistic)
    assert np.max(np.abs(spline.log_ratio(x) + np.log(x))) < 0.4
    assert np.max(np.abs(logistic.log_ratio(x) + np.log(x))) > 1.0
    exact = pair.values["kl"]
    ok, msg = close(spline.divergence("kl"), exact, 0.03)
    assert ok, msg
    ok, msg = close(logistic.divergence("kl"), exact, 0.03)
    assert not ok, msg  # quadratic features: about 0.19 (5 SE) low


def test_auto_tries_the_spline_model_up_to_d10_and_the_gaussian_from_d10():
    from divest.estimators._ratio import _auto_candidates
    assert _auto_candidates(1) == _auto_candidates(9) == (
        "linear", "logistic", "radial", "spline", "boosting", "mlp")
    assert _auto_candidates(10) == (
        "linear", "logistic", "radial", "gaussian", "spline", "boosting", "mlp")
    assert _auto_candidates(11) == ("linear", "logistic", "radial", "gaussian", "boosting",
                                    "mlp")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0.3, 1, (60, 11)), rng.normal(0, 1, (60, 11))
    d = fit_ratio(X, Y, cv=2, rng=0, interval="sampling").details
    assert set(d["cv_log_loss"]) == {"linear", "logistic", "radial", "gaussian", "boosting",
                                     "mlp"}


def test_user_model():
    from sklearn.linear_model import LogisticRegression
    X, Y = samples("mean-shift-d2")
    est = classifier(X, Y, "kl", model=LogisticRegression(), rng=0)  # linear log p/q
    ok, msg = close(est, 1.0, 0.03)
    assert ok, msg
    assert est.details["logit_source"] == ["decision_function"]
    assert "LogisticRegression" in est.details["model"]


def test_parametrised_names_and_labels():
    ratio = fitted("normal-1-2")
    exact = get_pair("normal-1-2").values
    for label in ("alpha(alpha=0.5)", "js_weighted(pi=0.25)", "renyi(alpha=2)",
                  "bhattacharyya"):
        est = ratio.divergence(label)
        assert est.name == label
        ok, msg = close(est, exact[label], 0.03)
        assert ok, msg
    assert ratio.divergence("alpha", alpha=0.5).value == ratio.divergence(
        "alpha(alpha=0.5)").value


# ---------------------------------------------------------------------------------
# bias-aware intervals (learning-curve allowance)


def _check_interval(est):
    """The interval is value -/+ 1.96 SE widened on one side by the recorded allowance."""
    below, above = est.details["bias_allowance"]
    assert below >= 0.0 and above >= 0.0, est.details
    if est.method != "kliep":  # one-sided; KLIEP's two allowances may take both sides
        assert min(below, above) == 0.0, est.details
    z = 1.959963984540054
    lo, hi = est.confidence_interval
    lo_raw = est.value - z * est.standard_error - below
    hi_raw = est.value + z * est.standard_error + above
    if "interval_clipped" in est.details:  # clipped to the values the divergence takes
        from divest._names import value_range
        a, b = value_range(est.name)
        lo_raw, hi_raw = min(max(lo_raw, a), b), max(min(hi_raw, b), a)
    assert lo == pytest.approx(lo_raw, rel=1e-12)
    assert hi == pytest.approx(hi_raw, rel=1e-12)
    # KLIEP adds its smoothing allowance on its own side (see _smoothing_part)
    s_below, s_above = _smoothing_part(est)
    below, above = below - s_below, above - s_above
    trend = est.details["bias_trend"]
    if "note" in trend:
        assert below == above == 0.0
        return 0.0
    delta = trend["change_per_doubling"]
    assert delta == pytest.approx(trend["value_full"] - trend["value_half"], abs=1e-12)
    assert trend["value_full"] == est.value
    size = abs(delta) / (2.0 ** trend["gamma"] - 1.0)
    assert trend["allowance"] == pytest.approx(size, rel=1e-12)
    # estimates rising with the training size: the truth lies above, and vice versa
    assert (below, above) == pytest.approx((0.0, size) if delta > 0 else (size, 0.0),
                                           abs=1e-12)
    return delta


def _smoothing_part(est):
    """(below, above) of KLIEP's smoothing allowance, checked against its definition:
    |change| / (1 - 2^(-beta/2)), beta = 1, above when the estimate rose at sigma/sqrt 2."""
    sm = est.details.get("smoothing_trend")
    if est.method != "kliep":
        assert sm is None
        return 0.0, 0.0
    assert sm["sigma_fine"] == pytest.approx(sm["sigma"] / math.sqrt(2.0), rel=1e-12)
    if "note" in sm:
        return 0.0, 0.0
    change = sm["change"]
    assert change == pytest.approx(sm["value_fine"] - est.value, abs=1e-12)
    size = abs(change) / (1.0 - 2.0 ** -0.5)  # 3.41 |change|
    assert sm["beta"] == 1.0 and sm["allowance"] == pytest.approx(size, rel=1e-12)
    return (0.0, size) if change > 0 else (size, 0.0)


@pytest.mark.parametrize("method", ["classifier", "ulsif", "kliep"])
def test_bias_allowance_side_and_size(method):
    ratio = fitted("normal-1-2", method, n=1000, seed=3)
    assert ratio.details["interval"] == "bias_aware"
    deltas = []
    for name in ("kl", "js", "tv", "pearson", "kl_dv", "renyi(alpha=0.5)"):
        est = ratio.divergence(name)
        assert est.details["interval"] == "bias_aware"
        deltas.append(_check_interval(est))
    assert any(d != 0.0 for d in deltas)
    if method == "ulsif":  # uLSIF's in-sample Pearson has its own half-size fit
        assert ratio.divergence("pearson").details["form"] == "ulsif"


@pytest.mark.parametrize("method", ["classifier", "ulsif", "kliep"])
def test_sampling_interval_is_the_old_one(method):
    X, Y = samples("normal-1-2", 1000, seed=3)
    kw = {"model": "logistic"} if method == "classifier" else {}
    front = {"classifier": classifier, "ulsif": ulsif, "kliep": kliep}[method]
    new = front(X, Y, "kl", rng=4, **kw)
    old = front(X, Y, "kl", rng=4, interval="sampling", **kw)
    # the half fits draw their randomness after the full fit: same value and SE
    assert old.value == new.value and old.standard_error == new.standard_error
    z = 1.959963984540054
    assert old.confidence_interval == (old.value - z * old.standard_error,
                                       old.value + z * old.standard_error)
    assert old.details["interval"] == "sampling" and "bias_trend" not in old.details
    assert old.details["bias_allowance"] == (0.0, 0.0)
    lo, hi = new.confidence_interval
    assert lo <= old.confidence_interval[0] and hi >= old.confidence_interval[1]
    assert (lo, hi) != old.confidence_interval
    ratio = fit_ratio(X, Y, method, rng=4, interval="sampling", **kw)
    assert ratio.details["interval"] == "sampling" and ratio._fit.half is None


def _planted(delta_log):
    """A ratio whose half-data log-ratios are those of the full fit shrunk (or stretched)."""
    ratio = fitted("mean-shift-d1", n=1000, seed=5)
    lp, lq = ratio.log_ratio_p, ratio.log_ratio_q
    fit = RatioFit(dim=1, half=HalfFits((lp * delta_log,), (lq * delta_log,)))
    return DensityRatio("classifier", lp, lq, ratio._predictors, ratio.cv, dict(ratio.details),
                        fit)


def test_planted_trend_sets_the_side():
    # half-data log-ratios shrunk towards 0: the estimate grew with the data, so the
    # truth is likely above, and vice versa
    for factor, side in ((0.8, 1), (1.25, 0)):
        for name in ("kl", "js", "tv", "squared_hellinger"):
            est = _planted(factor).divergence(name)
            allowance = est.details["bias_allowance"]
            assert allowance[side] > 0.0 and allowance[1 - side] == 0.0, (factor, name, est)
            _check_interval(est)


def test_allowance_points_up_where_the_classifier_is_biased_low():
    # correlated-shift-d2 (KL = 5) with the L2-penalised logistic model at n = m = 300:
    # KL is about 1.5 low (the penalty shrinks the log-ratio, twice as much at half
    # the data), far beyond the SE.  Measured over 40 seeds: allowance above in 40,
    # sampling intervals covering the truth in 0, bias-aware ones in 38.  A wrong sign
    # convention would put the allowance below in every repetition.
    pair = get_pair("correlated-shift-d2")
    exact = pair.values["kl"]
    above, covered, covered_sampling = 0, 0, 0
    for seed in range(12):
        X, Y = dv.reference.draw(pair.P, pair.Q, 300, np.random.default_rng(900 + seed))
        est = fit_ratio(X, Y, model="logistic", rng=seed).divergence("kl")
        _check_interval(est)
        above += est.details["bias_allowance"][1] > 0.0
        lo, hi = est.confidence_interval
        covered += lo <= exact <= hi
        covered_sampling += abs(est.value - exact) <= 1.959963984540054 * est.standard_error
    assert above == 12
    # binomial bands: P(X <= 8 | 12, 0.9) = 2.6 %; P(X >= 4 | 12, 0.1) = 2.6 %
    assert covered >= 9, covered
    assert covered_sampling <= 3, covered_sampling


def test_kliep_smoothing_fit_is_kliep_at_sigma_over_sqrt2():
    # same folds and centres as a fit at sigma/sqrt(2): the fine estimate is that fit's
    X, Y = samples("normal-1-2", 400, seed=2)
    ratio = fit_ratio(X, Y, "kliep", rng=5)
    grid, s = ratio.details["sigma_grid"], ratio.details["sigma"]
    i = grid.index(s)
    assert i > 0  # the default grid holds sigma/sqrt(2): the CV fits are reused
    for r, s_fine, reused in ((ratio, grid[i - 1], True),
                              (fit_ratio(X, Y, "kliep", rng=5, sigma=0.7), 0.7 / math.sqrt(2),
                               False)):
        for name in ("kl", "js"):
            est = r.divergence(name)
            sm = est.details["smoothing_trend"]
            assert sm["reused_cv_fits"] is reused
            assert sm["sigma_fine"] == pytest.approx(s_fine, rel=1e-12)
            fine = kliep(X, Y, name, rng=5, sigma=s_fine, interval="sampling")
            assert sm["value_fine"] == pytest.approx(fine.value, rel=1e-9, abs=1e-12)
            _check_interval(est)
    # interval="sampling" fits nothing at sigma/sqrt(2)
    plain = fit_ratio(X, Y, "kliep", rng=5, interval="sampling")
    assert plain._fit.smoothing is None
    assert "smoothing_trend" not in plain.divergence("kl").details


def test_kliep_smoothing_allowance_covers_its_bias():
    # mean-shift-d10 (KL = 5) at n = m = 300: the kernel model smooths KL to about 2.5,
    # a bias that does not shrink with the training size, so the learning-curve
    # interval alone covered the truth in 5 of 40 seeds; the estimate always rises at
    # sigma/sqrt(2), and with the smoothing allowance (above) all 40 covered.  A wrong
    # side would put the allowance below in every repetition.
    pair = get_pair("mean-shift-d10")
    exact = pair.values["kl"]
    above, covered = 0, 0
    for seed in range(12):
        X, Y = dv.reference.draw(pair.P, pair.Q, 300, np.random.default_rng(900 + seed))
        est = kliep(X, Y, "kl", rng=seed)
        _check_interval(est)
        above += est.details["smoothing_trend"]["change"] > 0.0
        lo, hi = est.confidence_interval
        covered += lo <= exact <= hi
    assert above == 12
    assert covered >= 9, covered  # P(X <= 8 | 12, 0.9) = 2.6 %


def test_bias_trend_is_deterministic():
    X, Y = samples("scale-change-d2", 200)
    for method in ("classifier", "ulsif", "kliep"):
        kw = {"model": "mlp"} if method == "classifier" else {}
        a = fit_ratio(X, Y, method, rng=7, **kw).divergence("js")
        b = fit_ratio(X, Y, method, rng=7, **kw).divergence("js")
        assert a.confidence_interval == b.confidence_interval
        assert a.details["bias_trend"] == b.details["bias_trend"]
    rng = np.random.default_rng(9)
    c = kliep(X, Y, rng=np.random.default_rng(9))
    assert c.confidence_interval == kliep(X, Y, rng=rng).confidence_interval


def test_no_allowance_without_a_learning_curve():
    X, Y = disjoint()  # perfectly separated
    for sep in ("infinite", "model"):
        est = fit_ratio(X, Y, model="logistic", rng=0).divergence("js", separated=sep)
        assert est.details["bias_allowance"] == (0.0, 0.0)
        assert "separate" in est.details["bias_trend"]["note"]
    # too few points for a half fit: training folds of 2 points of X
    rng = np.random.default_rng(1)
    est = classifier(rng.normal(size=(3, 1)), rng.normal(size=(40, 1)), "js", cv=3,
                     model="logistic", rng=0)
    assert est.details["bias_allowance"] == (0.0, 0.0)
    assert "too few points" in est.details["bias_trend"]["note"]
    # an infinite estimate has no interval to widen
    ratio = _planted(0.8)
    inf = DensityRatio("classifier", np.r_[ratio.log_ratio_p[:-1], np.inf], ratio.log_ratio_q,
                       ratio._predictors, ratio.cv, dict(ratio.details), ratio._fit)
    assert "not finite" in inf.divergence("kl").details["bias_trend"]["note"]
    # a ratio built without half fits says so
    bare = DensityRatio("classifier", ratio.log_ratio_p, ratio.log_ratio_q, ratio._predictors,
                        ratio.cv, dict(ratio.details), RatioFit(dim=1))
    assert "no half-data fits" in bare.divergence("kl").details["bias_trend"]["note"]


def test_bad_interval():
    X, Y = samples("mean-shift-d1", 100)
    for call in (lambda: fit_ratio(X, Y, interval="wide"),
                 lambda: classifier(X, Y, interval="wide"),
                 lambda: ulsif(X, Y, interval="wide"),
                 lambda: kliep(X, Y, interval="wide")):
        with pytest.raises(ValueError, match=r"interval='wide' is not valid.*'bias_aware', "
                                             r"'sampling'"):
            call()


# ---------------------------------------------------------------------------------
# bad input


def test_bad_samples():
    X, Y = samples("mean-shift-d1", 100)
    Xn = np.array(X)
    Xn[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 non-finite.*shape \(100, 1\)"):
        fit_ratio(Xn, Y)
    with pytest.raises(ValueError, match=r"same dimension.*\(100, 1\).*\(100, 2\)"):
        classifier(X, np.zeros((100, 2)))
    with pytest.raises(ValueError, match="Y must not be empty"):
        ulsif(X, np.zeros((0, 1)))
    with pytest.raises(ValueError, match="cv must be >= 2; got 1"):
        fit_ratio(X, Y, cv=1)
    with pytest.raises(ValueError, match=r"cv=6 folds.*m=5"):
        kliep(X, Y[:5], cv=6)
    with pytest.raises(TypeError, match="cv must be an integer"):
        fit_ratio(X, Y, cv=2.5)


def test_bad_names_and_methods():
    X, Y = samples("mean-shift-d1", 100)
    with pytest.raises(ValueError, match=r"method='knn'.*'classifier', 'ulsif', 'kliep'"):
        fit_ratio(X, Y, method="knn")
    with pytest.raises(ValueError, match=r"does not estimate name='wasserstein\(p=1\)'.*"
                                         r"methods that estimate it: ipm"):
        classifier(X, Y, "wasserstein")
    with pytest.raises(ValueError, match=r"name='chi3'.*valid names: kl, "):
        fitted("mean-shift-d1").divergence("chi3")
    with pytest.raises(ValueError, match="needs parameter"):
        ulsif(X, Y, "renyi")
    with pytest.raises(ValueError, match="kl_dv.*takes no parameters"):
        kliep(X, Y, "kl_dv", alpha=2)
    with pytest.raises(ValueError, match="separated='maybe'"):
        classifier(X, Y, "kl", separated="maybe")


def test_bad_models_and_options():
    from sklearn.svm import LinearSVC
    X, Y = samples("mean-shift-d1", 100)
    with pytest.raises(TypeError, match="LinearSVC has no predict_proba"):
        classifier(X, Y, model=LinearSVC())
    with pytest.raises(TypeError, match="object has no fit or predict_proba"):
        fit_ratio(X, Y, model=object())
    with pytest.raises(ValueError,
                       match=r"model='forest'.*'auto', 'linear', 'logistic', 'radial', 'gaussian', 'spline'"):
        classifier(X, Y, model="forest")
    with pytest.raises(ValueError, match="applies to method='classifier' only"):
        fit_ratio(X, Y, "ulsif", model="logistic")
    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['lam'\]"):
        fit_ratio(X, Y, "kliep", lam=0.1)
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        ulsif(X, Y, sigma=-1.0)
    with pytest.raises(ValueError, match="n_centers must be >= 1"):
        kliep(X, Y, n_centers=0)
    ratio = fitted("mean-shift-d1")
    with pytest.raises(ValueError, match=r"x must have 1 columns.*\(3, 2\)"):
        ratio.log_ratio(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x contains 1 non-finite"):
        ratio.log_ratio([np.inf])


# ---------------------------------------------------------------------------------
# heavier studies


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["normal-1-2", "mean-shift-d2"])
def test_classifier_coverage_and_error_shrinking(pair):
    exact = get_pair(pair).values["kl"]
    covered, errors = 0, {500: [], 4000: []}
    for rep in range(20):
        for n in errors:
            X, Y = get_pair(pair).sample(n, rng=1000 + rep)
            est = classifier(X, Y, "kl", model="logistic", rng=rep)
            errors[n].append(est.value - exact)
            if n == 4000:
                covered += abs(est.value - exact) <= 1.96 * est.standard_error
    assert covered >= 15  # binomial(20, 0.95): P(<= 14) < 0.3 %
    rmse = {n: math.sqrt(np.mean(np.square(e))) for n, e in errors.items()}
    assert rmse[4000] < 0.6 * rmse[500]


def test_kliep_coefficients_beyond_the_float_range_stay_in_log_space():
    """At a tiny bandwidth far from Q's mass alpha_l = w_l / mean_Y phi_l exceeds 1e308
    (log alpha ~ 1e3): the model works with log alpha, so no overflow warning (an error
    under the test configuration), and the fit at sigma/sqrt(2) of the interval too."""
    r = np.random.default_rng(0)
    X, Y = r.normal(3.0, 0.5, size=(300, 1)), r.normal(0.0, 1.0, size=(300, 1))
    est = kliep(X, Y, "kl", sigma=0.05, rng=0)
    assert np.isfinite(est.value)
    assert np.isfinite(est.details["smoothing_trend"]["value_fine"])


# ---------------------------------------------------------------------------------
# model-choice allowance (model="auto", bias-aware interval)

def test_indistinguishable_one_se_rule(monkeypatch):
    from divest.estimators import _ratio

    rng = np.random.default_rng(3)
    n = m = 400
    lp, lq = rng.normal(0.5, 1, n), rng.normal(-0.5, 1, m)
    # the per-point loss averages to the log-loss that selects the model
    assert _ratio._point_log_loss(lp, lq, n, m).mean() == pytest.approx(
        _ratio._log_loss(lp, lq, n, m), rel=1e-12)
    # candidates whose paired loss difference has mean 0.5, 0.99, 1.01 and 2 SE
    base = rng.exponential(size=n + m)
    z = rng.normal(size=n + m)
    z -= z.mean()
    se = z.std(ddof=1) / math.sqrt(z.size)
    losses = {"a": base}
    for k in (0.5, 0.99, 1.01, 2.0, -1.0):
        losses[f"{k}"] = base + z + k * se
    from divest.estimators._ratio import _classifier
    monkeypatch.setattr(_classifier, "_point_log_loss", lambda lp_, lq_, n_, m_: losses[lp_])
    fits = {k: (k, None) for k in losses}
    alike = _ratio._indistinguishable(fits, "a", n, m)
    assert sorted(alike) == ["-1.0", "0.5", "0.99"]


def test_model_spread_is_the_spread_of_the_candidates_own_estimates():
    # the alternatives are the candidates' own cross-fits (same folds, same seed), so
    # their values equal fit_ratio(model=kind) with the same rng, and the allowance is
    # exactly their spread around the chosen model's value
    for seed in range(5):  # a sample with an indistinguishable candidate (seed 0 here)
        X, Y = get_pair("correlated-shift-d2").sample(500, rng=seed)
        ratio = dv.estimators.fit_ratio(X, Y, rng=seed)
        if ratio.details["indistinguishable_models"]:
            break
    else:
        raise AssertionError("no seed gave an indistinguishable candidate")
    est = ratio.divergence("js")
    ms = est.details["model_spread"]
    assert ms["models"] == ratio.details["indistinguishable_models"]
    assert ms["value_chosen"] == pytest.approx(est.value, rel=1e-12)  # whole sample
    for kind, v in ms["values"].items():
        own = dv.estimators.fit_ratio(X, Y, model=kind, rng=seed,
                                      interval="sampling").divergence("js")
        assert v == pytest.approx(own.value, rel=1e-12)
    vals = list(ms["values"].values())
    below = max(0.0, est.value - min(vals))
    above = max(0.0, max(vals) - est.value)
    assert ms["allowance"] == pytest.approx((below, above), abs=1e-12)
    a = est.details["bias_allowance"]
    assert a[0] >= below and a[1] >= above
    # the sampling interval has none
    s = dv.estimators.fit_ratio(X, Y, rng=seed, interval="sampling")
    assert "indistinguishable_models" not in s.details
    assert "model_spread" not in s.divergence("js").details


def _model_spread_opens_pearson_on_mean_shift_large(seeds):
    # chi^2 = e^9 - 1 = 8102 from n = 1000.  In some samples the chosen model's fitted
    # ratio is light-tailed (estimate in the hundreds, a finite interval of its own far
    # below the truth) while a model indistinguishable in held-out log-loss has
    # heavy-tailed terms: the interval must be open above in every sample
    pair = get_pair("mean-shift-large")
    rescued = 0
    for seed in seeds:
        X, Y = pair.sample(1000, rng=seed)
        ratio = dv.estimators.fit_ratio(X, Y, rng=seed)
        est = ratio.divergence("pearson")
        assert est.confidence_interval[1] == math.inf, seed
        own = "note" in est.details["tail_check"]
        rescued += (not own) and bool(est.details["model_spread"].get("tail_opened"))
        if seed < 3:  # a bounded divergence on the same fit is never opened by it
            js = ratio.divergence("js")
            assert math.isfinite(js.confidence_interval[1])
            assert "tail_opened" not in js.details["model_spread"]
    assert rescued >= 1


def test_model_spread_opens_pearson_on_mean_shift_large():
    """Three samples, one of them (seed 2) opened by the model spread alone."""
    _model_spread_opens_pearson_on_mean_shift_large(range(3))


@pytest.mark.slow
def test_model_spread_opens_pearson_on_mean_shift_large_ten_samples():
    _model_spread_opens_pearson_on_mean_shift_large(range(10))


# ---------------------------------------------------------------------------------
# measured figures live in a generated docs page, not in docstrings


def _docs_tables():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "make_docs_tables.py"
    spec = importlib.util.spec_from_file_location("make_docs_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_accuracy_table_is_generated_from_the_results():
    import json
    gen = _docs_tables()
    results = json.loads(gen.SOURCE.read_text())
    text = gen.render(results)
    assert gen.TARGET.read_text() == text, ("docs/tables/accuracy.rst is out of date: run "
                                            "python benchmarks/make_docs_tables.py")
    # every row of the results is on the page, with the bold best RMSE of its group
    assert text.count('\n   "') == len(results["rows"]) + len(
        {r["method"] for r in results["rows"]})  # rows + the per-method summary
    row = results["rows"][0]
    assert f'"{row["pair"]}", "{row["n"]}", "{row["truth"]:.4g}", "{row["method"]}"' in text
    # a changed result changes the page (the check can fail)
    moved = {**results, "rows": [{**results["rows"][0], "rmse": 123.0}, *results["rows"][1:]]}
    assert gen.render(moved) != text


def test_estimator_docstrings_quote_no_benchmark_figures():
    import re

    from divest.estimators import _knn, _ratio
    from divest.estimators._ratio import _density_ratio
    texts = [_ratio.__doc__, _ratio.fit_ratio.__doc__, _ratio.classifier.__doc__,
             _ratio.ulsif.__doc__, _ratio.kliep.__doc__,
             _density_ratio.DensityRatio.divergence.__doc__, _knn.__doc__, _knn.knn.__doc__,
             _knn.entropy.__doc__, _knn.cross_entropy.__doc__]
    # measured coverages, RMSEs, shares and timings of one run ("in 9 of 30", "RMSE
    # 0.123", "-9 %", "1.8 s") belong to docs/tables/accuracy.rst; "95%" is a level
    measured = re.compile(r".{0,40}(?:\b\d+ of (?:10|12|20|30|40)\b|RMSE \d|\d s\b"
                          r"|(?<![\d.])(?!95 ?%)\d+(?:\.\d+)? ?%).{0,20}")
    for text in texts:
        assert not measured.findall(text), measured.findall(text)
    for quoted in ("covered in 9 of 30", "-9 % at d = 5", "took 1.8 s", "RMSE 0.123"):
        assert measured.findall(quoted), quoted  # the check can fail
    assert not measured.findall("a 95% interval and a 95 % one")


@pytest.mark.parametrize("s", [2.0 ** 996, 2.0 ** -996])
def test_fit_ratio_scaled_frame(s):
    """Data outside 2**±64 are fitted in a power-of-two scaled frame: the same divergence,
    log-ratios at new points taken in the data's units, lengths reported in them too."""
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(80, 1)), rng.normal(0.7, 1.0, size=(80, 1))
    for method in ("ulsif", "kliep"):
        ref = fit_ratio(X, Y, method, rng=0)
        got = fit_ratio(X * s, Y * s, method, rng=0)
        assert got.divergence("kl").value == pytest.approx(ref.divergence("kl").value,
                                                           rel=1e-9)
        assert got.details["scale"] > 1.0 if s > 1 else got.details["scale"] < 1.0
        # the frames differ by a power of two: lengths agree in the data's units
        assert got.details["sigma"] == pytest.approx(ref.details["sigma"] * s, rel=1e-9)
        x = np.array([[0.0], [1.0]])
        assert got.log_ratio(x * s) == pytest.approx(ref.log_ratio(x), rel=1e-9, abs=1e-12)


def test_singular_atoms_open_the_upper_end():
    """Repeated points of X that Y lacks are an atom singular w.r.t. Q: the bias-aware
    interval reaches the value of mutually singular laws (inf for KL, log 2 for JS)."""
    rng = np.random.default_rng(8)
    Y = rng.normal(1.0, 1.0, (60, 2))
    X = np.vstack([np.full((45, 2), 0.25), rng.normal(1.0, 1.0, (15, 2))])
    ratio = fit_ratio(X, Y, "kliep", rng=0)
    assert ratio.details["singular_atoms"] == {"p_mass": 0.75, "q_mass": 0.0}
    kl = ratio.divergence("kl")
    assert "singular_atoms" in [a.source for a in kl.allowances]
    assert kl.confidence_interval[1] == math.inf
    js = ratio.divergence("js")
    assert js.confidence_interval[1] >= math.log(2.0) - 1e-12
    # continuous samples: no atoms, no allowance
    plain = fit_ratio(rng.normal(size=(60, 2)), Y, "kliep", rng=0)
    assert "singular_atoms" not in plain.details


def test_radial_features_are_the_documented_ones():
    from sklearn.preprocessing import SplineTransformer

    from divest.estimators._ratio._radial import RadialFeatures
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((200, 4))
    F = RadialFeatures().fit(Z).transform(Z)
    u = np.log1p((Z ** 2).sum(axis=1, keepdims=True) / 4)
    u = np.maximum(u, np.quantile(u, 0.02))  # constant toward the centre
    spline = SplineTransformer(n_knots=5, degree=3, knots="quantile",
                               extrapolation="linear").fit(u)
    assert F.shape == (200, 2 * 4 + 5 + 2)
    np.testing.assert_allclose(F, np.hstack([Z, Z ** 2, spline.transform(u)]))
    # new rows: held constant below the training quantile, linear beyond the largest u
    W = np.vstack([np.zeros(4), np.full(4, 10.0)])
    uw = np.maximum(np.log1p((W ** 2).sum(axis=1, keepdims=True) / 4), u.min())
    np.testing.assert_allclose(RadialFeatures().fit(Z).transform(W),
                               np.hstack([W, W ** 2, spline.transform(uw)]))


def test_radial_model_standard_error_is_not_blown_up_by_its_centre():
    """gauss-scale-d50 (P = N(0, I_50), Q = N(0, 1.5 I_50)), n = m = 5000, the samples of
    repetition 3 of the hard-pair accuracy benchmark: with the spline of the radial
    features free down to the smallest radius, the out-of-fold log-ratio reached 26 (the
    largest true one is 25 log 1.5 = 10.1) and the standard error was 127; the oracle
    influence-function SE is sqrt(Var_P log r / n + chi^2 / m) = 0.064.  The plug-in SE
    reads chi^2 from the fitted ratio, whose out-of-fold error inflates it: 0.067-0.13 over
    the benchmark's 10 repetitions (0.13 here), hence the bound of 3 oracle SEs."""
    import zlib

    from divest.reference import get_pair
    d, n = 50, 5000
    rng = np.random.default_rng([0, 3, n, 1000 + zlib.crc32(b"gauss-scale-d50")])
    X, Y = get_pair("gauss-scale-d50").sample(n, rng=rng)
    ratio = fit_ratio(X, Y, model="radial", rng=int(rng.integers(2 ** 32)))
    kl = ratio.divergence("kl")
    oracle = math.sqrt(d / 18 / n + ((1.5 / math.sqrt(2)) ** d - 1) / n)
    assert ratio.log_ratio_p.max() < d / 2 * math.log(1.5)
    assert kl.standard_error < 3 * oracle
    truth = d / 2 * (1 / 1.5 - 1 + math.log(1.5))
    assert kl.confidence_interval[0] <= truth <= kl.confidence_interval[1]


def test_high_dimensional_gaussians_need_the_linear_and_radial_models():
    """d = 25, n = m = 1000: a mean shift (KL = 2, log r linear) and a scale change
    (KL = 1, log r = c |x|^2) are fitted by the linear and radial models; auto picks one of
    them (boosting, which auto picked before they existed, gave 0.84 and 0.32 at n = 5000)."""
    rng = np.random.default_rng(1)
    n, d = 1000, 25
    X = rng.standard_normal((n, d)) + 2 / math.sqrt(d)
    Y = rng.standard_normal((n, d))
    lin = classifier(X, Y, "kl", model="linear", rng=0)
    assert abs(lin.value - 2.0) <= 4 * lin.standard_error
    auto = classifier(X, Y, "kl", rng=0)
    assert auto.details["model"] in ("linear", "radial")
    assert auto.confidence_interval[0] <= 2.0 <= auto.confidence_interval[1]
    from scipy.optimize import brentq
    s2 = brentq(lambda v: d / 2 * (v - 1 - math.log(v)) - 1.0, 1.0001, 10)
    X = rng.standard_normal((n, d)) * math.sqrt(s2)
    rad = classifier(X, Y, "kl", model="radial", rng=0)
    assert abs(rad.value - 1.0) <= 4 * rad.standard_error
    assert classifier(X, Y, "kl", model="linear", rng=0).value < 0.1  # cannot see a scale


def test_kernel_models_open_the_upper_end_above_dimension_10():
    """uLSIF and KLIEP in d > 10: the flattened kernel ratio gives far too small values
    (KL 2 as ~0.4 in d = 50), so the upper end is open with its reason; not in d <= 10."""
    from divest.estimators._ratio._allowances import KERNEL_MAX_DIM
    X, Y = get_pair("gauss-shift-d25").sample(600, rng=0)
    for f in (ulsif, kliep):
        est = f(X, Y, "kl", rng=0)
        (a,) = [a for a in est.allowances if a.source == "kernel_dimension"]
        assert a.above == math.inf and a.below == 0 and "d = 25 > 10" in a.reason
        assert est.value < 1.5 and est.confidence_interval[1] == math.inf
        assert f(X, Y, "kl", rng=0, interval="sampling").confidence_interval[1] < math.inf
    assert KERNEL_MAX_DIM == 10
    X, Y = samples("mean-shift-d10", 600)
    assert all(a.source != "kernel_dimension" for a in kliep(X, Y, "kl", rng=0).allowances)


def test_boosting_opens_the_upper_end_above_dimension_10():
    """Trees split one coordinate at a time: on a correlated Gaussian in d = 25 (log-ratio
    quadratic with cross terms) boosting's estimate falls far below the truth with a
    learning curve that does not show it, so the upper end is open with its reason; the
    other models and boosting in d <= 10 keep theirs."""
    from divest.estimators._ratio._allowances import TREE_MAX_DIM
    pair = get_pair("gauss-ar1-d25")
    X, Y = pair.sample(600, rng=0)
    est = classifier(X, Y, "kl", model="boosting", rng=0)
    (a,) = [a for a in est.allowances if a.source == "model_dimension"]
    assert a.above == math.inf and a.below == 0 and "d = 25 > 10" in a.reason
    assert est.value < 0.5 * pair.values["kl"] and est.confidence_interval[1] == math.inf
    lin = classifier(X, Y, "kl", model="linear", rng=0)
    assert all(a.source != "model_dimension" for a in lin.allowances)
    assert TREE_MAX_DIM == 10
    X, Y = samples("mean-shift-d10", 600)
    low = classifier(X, Y, "kl", model="boosting", rng=0)
    assert all(a.source != "model_dimension" for a in low.allowances)


def test_gaussian_model_gives_the_normal_log_ratio():
    # correlated Gaussians with different covariances: log p/q has cross terms, which the
    # Gaussian (quadratic discriminant) model represents exactly; its refitted log-ratio
    # matches the exact one and the KL estimate its closed form
    from scipy import stats
    rng = np.random.default_rng(5)
    cov_p = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 1.0]])
    cov_q = np.diag([1.5, 0.8, 1.0])
    mu_p = np.array([0.3, 0.0, -0.2])
    P, Q = stats.multivariate_normal(mu_p, cov_p), stats.multivariate_normal(np.zeros(3), cov_q)
    X, Y = P.rvs(4000, random_state=rng), Q.rvs(4000, random_state=rng)
    fit = fit_ratio(X, Y, model="gaussian", rng=0, refit=True)
    pts = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [-0.5, 0.3, 0.4], [1.0, -0.5, 0.0]])
    np.testing.assert_allclose(fit.log_ratio(pts), P.logpdf(pts) - Q.logpdf(pts), atol=0.1)
    inv = np.linalg.inv(cov_q)
    kl = 0.5 * (np.trace(inv @ cov_p) + mu_p @ inv @ mu_p - 3
                + np.log(np.linalg.det(cov_q) / np.linalg.det(cov_p)))
    est = fit.divergence("kl")
    assert est.details["model"] == "gaussian"
    assert abs(est.value - kl) <= 3 * est.standard_error


@pytest.mark.slow
def test_auto_picks_the_gaussian_model_for_a_correlated_pair_in_d50():
    # before the Gaussian model joined model="auto", boosting won the log-loss comparison
    # here and gave 0.11 of the true 2.31
    X, Y = get_pair("gauss-ar1-d50").sample(2000, rng=0)
    est = classifier(X, Y, "kl", rng=0)
    truth = get_pair("gauss-ar1-d50").values["kl"]
    assert est.details["model"] == "gaussian"
    assert abs(est.value - truth) <= 0.15 * truth
    lo, hi = est.confidence_interval
    assert lo <= truth <= hi
