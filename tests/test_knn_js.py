"""kNN estimates of the Jensen–Shannon family (js, js_weighted, gan) from the entropies of
P, Q and their mixture (divest/estimators/_knn/_js.py)."""

import math

import numpy as np
import pytest
from scipy import special, stats

import divest as dv
from divest import _methods, _policy, reference
from divest._names import resolve
from divest.estimators import entropy, knn
from divest.estimators._knn._js import _mixture_reference

LOG2 = math.log(2.0)


# -- the formula, rebuilt by brute force -------------------------------------------------


def _brute_js(X, Y, pi, k, ref_x, ref_y, *, bug=None):
    """pi/n sum_i [psi(k) - psi(k + c_i) + psi(n'_i + m' + 1) - psi(n'_i + 1)] + (1-pi)/m
    sum_j [...], from full sorts: eps_i the k-th distance from X_i to X_R minus itself
    (n'_i points), c_i the points of Y_R (m' points) within eps_i; Y alike."""
    def part(A, B, own_idx, other_idx):
        out = []
        for i, a in enumerate(A):
            own = [j for j in own_idx if j != i]  # X_R without X_i (by index)
            dist = np.sort(np.linalg.norm(A[own] - a, axis=1))
            eps = dist[k] if bug == "rank" else dist[k - 1]
            c = int(np.sum(np.linalg.norm(B[other_idx] - a, axis=1) <= eps))
            n_own, m_other = len(own), len(other_idx)
            if bug == "psi(N)":  # constants one lower
                const = special.digamma(n_own + m_other) - special.digamma(n_own)
            elif bug == "swap":  # own and other sizes swapped
                const = special.digamma(n_own + m_other + 1) - special.digamma(m_other + 1)
            else:
                const = special.digamma(n_own + m_other + 1) - special.digamma(n_own + 1)
            out.append(special.digamma(k) - special.digamma(k + c) + const)
        return np.mean(out)

    return pi * part(X, Y, ref_x, ref_y) + (1 - pi) * part(Y, X, ref_y, ref_x)


def _tiny(n, m, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (n, d)), rng.normal(0.7, 1.3, (m, d))


def test_brute_force_pooled_reference_n_ne_m():
    # pi = n/(n+m): the pooled sample is the mixture's sample, nothing subsampled
    X, Y = _tiny(9, 14)
    pi = 9 / 23
    est = knn(X, Y, "js_weighted", pi=pi, k=2, se="none", rng=0)
    assert est.details["mixture_reference"] == {"pi": pi, "n_r": 9, "m_r": 14,
                                                "subsampled": None}
    want = _brute_js(X, Y, pi, 2, np.arange(9), np.arange(14))
    assert est.value == pytest.approx(want, rel=1e-12, abs=1e-12)
    # planted bugs move the value far beyond the comparison's tolerance
    for bug in ("psi(N)", "swap", "rank"):
        wrong = _brute_js(X, Y, pi, 2, np.arange(9), np.arange(14), bug=bug)
        assert abs(wrong - est.value) > 1e-3, bug


@pytest.mark.parametrize("name, n, m", [("js_weighted(pi=0.35)", 7, 13), ("js", 7, 12),
                                        ("gan", 6, 6)])
def test_mean_is_exactly_zero_when_p_equals_q(name, n, m):
    # with P = Q the ranks are exchangeable and E psi(k + c) = psi(k) + psi(n'+m'+1) -
    # psi(n'+1) exactly, so the estimate has mean 0 (gan: -log 4) at any n, m, k, d.
    # At these sizes a constant off by one (psi(n') for psi(n'+1)) or n and m swapped
    # moves the mean by 0.05-0.3, i.e. 10-60 standard errors of the 2000-sample mean
    rng = np.random.default_rng(9)
    vals = [knn(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)), name, k=2, se="none",
                rng=rng).value for _ in range(2000)]
    mean, se = np.mean(vals), np.std(vals) / math.sqrt(len(vals))
    target = -2 * LOG2 if name == "gan" else 0.0
    assert abs(mean - target) < 4 * se, (mean, se)
    assert se < 0.01


@pytest.mark.parametrize("name, pi, n, m, sub", [
    ("js", 0.5, 9, 14, "Y"), ("js_weighted(pi=0.8)", 0.8, 16, 10, "Y"),
    ("js_weighted(pi=0.2)", 0.2, 13, 18, "X")])
def test_brute_force_subsampled_reference(name, pi, n, m, sub):
    X, Y = _tiny(n, m, seed=3)
    est = knn(X, Y, name, k=2, se="none", rng=5)
    ix, iy, got = _mixture_reference(n, m, pi, np.random.default_rng(5))
    info = est.details["mixture_reference"]
    assert got == info["subsampled"] == sub
    assert (info["n_r"], info["m_r"]) == (len(ix), len(iy))
    assert abs(len(ix) / (len(ix) + len(iy)) - pi) <= 0.5 / (len(ix) + len(iy)) + 1e-12
    want = _brute_js(X, Y, pi, 2, ix, iy)
    assert est.value == pytest.approx(want, rel=1e-12, abs=1e-12)
    # (at pi = 1/2 swapping n and m in the constants is an identity)
    for bug in ("psi(N)", "rank") + (("swap",) if pi != 0.5 else ()):
        assert abs(_brute_js(X, Y, pi, 2, ix, iy, bug=bug) - est.value) > 1e-3, bug


def test_gan_is_two_js_minus_log4():
    X, Y = _tiny(40, 55, seed=1)
    for kw in ({"se": "none", "rng": 1}, {"rng": 2}):  # n != m: same rng, same subsample
        js, gan = knn(X, Y, "js", **kw), knn(X, Y, "gan", **kw)
        assert gan.value == pytest.approx(2 * js.value - 2 * LOG2, abs=1e-12)
        if "se" not in kw:
            assert gan.standard_error == pytest.approx(2 * js.standard_error, rel=1e-12)


# -- accuracy on the reference pairs ------------------------------------------------------


def _covers(est, truth, n_se=4.0):
    """truth within value -/+ n_se SE, widened by the estimate's own bias allowance (the
    trend of the fixed-k estimates at k, 2k, 4k: the finite-sample bias the SE does not
    hold, see knn's Notes)."""
    below, above = est.details["bias_allowance"]
    return est.value - n_se * est.standard_error - below <= truth <= (
        est.value + n_se * est.standard_error + above)


@pytest.mark.parametrize("pair, n", [("normal-1-2", 3000), ("mean-shift-d2", 3000),
                                     ("mean-shift-d5", 3000), ("bimodal-normal", 4000)])
def test_js_against_exact_values(pair, n):
    ref = reference.get_pair(pair)
    X, Y = ref.sample(n, rng=11)
    for label in ("js", "js_weighted(pi=0.25)", "gan"):
        est = knn(X, Y, label, rng=0)
        truth = ref.values[label]
        assert est.method == "knn" and est.name == label
        assert _covers(est, truth), (label, est.value, truth, est.standard_error,
                                     est.details["bias_allowance"])
        # the tolerance is not vacuous: 0.03-0.06 here, a seventh of JS's range or less
        assert 4 * est.standard_error + max(est.details["bias_allowance"]) < 0.1 * (
            2 if label == "gan" else 1)


def test_js_with_n_ne_m_and_pi_ne_half():
    ref = reference.get_pair("mean-shift-d2")
    X, _ = ref.sample(1500, rng=4)
    _, Y = ref.sample(4000, rng=5)
    est = knn(X, Y, "js", rng=0)  # Y's part of the reference subsampled to 1500
    assert est.details["mixture_reference"]["subsampled"] == "Y"
    assert _covers(est, ref.values["js"]), (est.value, ref.values["js"])
    # pi = 0.8 on a 1-D pair: exact value by quadrature
    ref = reference.get_pair("normal-1-2")
    X, Y = ref.sample(3000, rng=6)
    truth = dv.divergence(ref.P, ref.Q, "js_weighted(pi=0.8)").value
    est = knn(X, Y, "js_weighted(pi=0.8)", rng=0)
    assert est.details["mixture_reference"]["subsampled"] == "Y"
    assert _covers(est, truth), (est.value, truth)
    # and with n/(n+m) = pi nothing is subsampled
    _, Y2 = ref.sample(750, rng=7)
    est = knn(X, Y2, "js_weighted(pi=0.8)", rng=0)
    assert est.details["mixture_reference"]["subsampled"] is None
    assert _covers(est, truth), (est.value, truth)


# -- at the bounds ---------------------------------------------------------------------------


def test_disjoint_supports_give_log2_reported_as_is():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0, 1, (400, 1)), rng.uniform(2, 3, (400, 1))
    est = knn(X, Y, "js", rng=0)
    # every point's k nearest pooled neighbours are its own: the value is the constant
    # psi(N) - psi(n) = log 2 + 1/(4n) + O(n^-2), reported as is (not clamped)
    assert est.value == pytest.approx(special.digamma(800) - special.digamma(400), abs=1e-12)
    assert LOG2 < est.value < LOG2 + 1e-3
    assert est.confidence_interval[1] == LOG2 and "interval_clipped" in est.details
    gan = knn(X, Y, "gan", rng=0)
    assert 0.0 < gan.value < 2e-3 and gan.confidence_interval[1] == 0.0
    # weighted: H(pi) = -pi log pi - (1 - pi) log(1 - pi), through a subsampled reference
    w = knn(X, Y, "js_weighted(pi=0.25)", rng=0)
    h = -0.25 * math.log(0.25) - 0.75 * math.log(0.75)
    assert abs(w.value - h) < 4 * w.standard_error + 0.01
    assert w.confidence_interval[1] <= h


def test_pooled_estimate_never_exceeds_its_constant():
    # with the pooled reference r_k <= rho_k at every point, so the estimate is at most
    # psi(N) - pi psi(n) - (1 - pi) psi(m) = H(pi) + 1/(2N) + O(N^-2), whatever the data
    rng = np.random.default_rng(2)
    for n, m in ((50, 50), (30, 70)):
        X, Y = rng.normal(0, 1, (n, 3)), rng.standard_t(2, (m, 3))
        pi = n / (n + m)
        est = knn(X, Y, "js_weighted", pi=pi, se="none")
        top = special.digamma(n + m) - pi * special.digamma(n) - (1 - pi) * special.digamma(m)
        assert est.value <= top + 1e-12
        assert top - (-pi * math.log(pi) - (1 - pi) * math.log(1 - pi)) < 1 / (n + m)


def test_same_distribution_gives_about_zero():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    est = knn(X, Y, "js", rng=0)
    assert abs(est.value) < 4 * est.standard_error
    assert est.confidence_interval[0] == 0.0  # clipped to the range


# -- the front door, the registry, errors ------------------------------------------------------


def test_front_door_method_knn():
    ref = reference.get_pair("normal-1-2")
    X, Y = ref.sample(500, rng=1)
    est = dv.divergence(X, Y, "js", method="knn", rng=0)
    direct = knn(X, Y, "js", rng=0)
    assert est.method == "knn" and est.name == "js"
    assert (est.value, est.standard_error) == (direct.value, direct.standard_error)
    est = dv.divergence(X, Y, "js_weighted", pi=0.3, method="knn", k=7, rng=0)
    assert est.name == "js_weighted(pi=0.3)" and est.details["k"] == 7


def test_registry_supports_but_auto_keeps_its_choice():
    for label in ("js", "js_weighted(pi=0.25)", "gan"):
        spec = resolve(label)
        assert _methods.supports("knn", spec) == (True, None)
        assert "knn" in _methods.methods_for(spec)
        ok, why = _methods.auto_supports("knn", spec)
        assert not ok and "auto" in why
        # large samples in low dimension: auto still fits the classifier for JS ...
        ctx = _policy.SampleContext(spec, 40_000, 40_000, 1)
        assert _policy.explain(_policy.SAMPLE_RULES, ctx).name == "default"
    # ... and kNN for KL, as before
    ctx = _policy.SampleContext(resolve("kl"), 40_000, 40_000, 1)
    assert _policy.explain(_policy.SAMPLE_RULES, ctx).name == "knn-large-sample"


def test_unsupported_names_list_what_knn_estimates():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(50, 1)), rng.normal(size=(50, 1))
    for call in (lambda: knn(X, Y, "tv"), lambda: dv.divergence(X, Y, "tv", method="knn")):
        with pytest.raises(ValueError, match=r"does not estimate name='tv'.*knn estimates kl, "
                                             r".*neyman, js, js_weighted, gan\).*methods that "
                                             r"estimate it: classifier"):
            call()
    with pytest.raises(ValueError, match="estimator='adaptive' exists for kl.*mixture-entropy"):
        knn(X, Y, "js", estimator="adaptive")
    with pytest.raises(ValueError, match="pi"):
        knn(X, Y, "js_weighted", pi=1.5)


def test_seeded_and_ties():
    X, Y = _tiny(300, 450, seed=4)
    a, b = knn(X, Y, "js", rng=3), knn(X, Y, "js", rng=3)
    assert (a.value, a.standard_error, a.confidence_interval) == (
        b.value, b.standard_error, b.confidence_interval)
    assert knn(X, Y, "js", rng=4).value != a.value  # another subsample of Y
    assert a.details["se_method"].startswith("delete-a-block jackknife")
    # points shared by X and Y are no ties: they are counted, no distance is logged
    Y[:5] = X[:5]
    shared = knn(X, Y, "js_weighted", pi=300 / 750, k=1, rng=0)
    assert shared.details["ties"] == 0 and math.isfinite(shared.value)
    # duplicates within X are: their own-sample distance is 0
    X[1] = X[0]
    with pytest.raises(ValueError, match="2 of the 750 per-point terms use a zero"):
        knn(X, Y, "js_weighted", pi=300 / 750, k=1, rng=0)
    est = knn(X, Y, "js_weighted", pi=300 / 750, k=1, rng=0, ties="adaptive")
    assert est.details["ties"] == 2
    assert abs(est.value - shared.value) < 0.02


def _coverage(pair, label, n, seeds):
    ref = reference.get_pair(pair)
    truth = ref.values[label]
    hits = 0
    for seed in range(seeds):
        X, Y = ref.sample(n, rng=seed)
        lo, hi = knn(X, Y, label, rng=seed).confidence_interval
        hits += lo <= truth <= hi
    return hits


@pytest.mark.parametrize("pair", ["normal-1-2", "mean-shift-d2"])
def test_bias_aware_interval_coverage(pair):
    # P(Binomial(20, 0.95) <= 15) < 0.3%
    assert _coverage(pair, "js", 2000, 20) >= 16


@pytest.mark.slow
@pytest.mark.parametrize("pair, label", [("mean-shift-d5", "js"), ("bimodal-normal", "js"),
                                         ("correlated-d2", "js_weighted(pi=0.25)"),
                                         ("mean-shift-d10", "gan")])
def test_bias_aware_interval_coverage_more_pairs(pair, label):
    assert _coverage(pair, label, 5000, 20) >= 16
