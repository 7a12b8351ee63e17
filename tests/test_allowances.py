"""Typed allowances of the bias-aware intervals (kNN and density-ratio estimators).

Each widening of the normal interval is an :class:`divest.Allowance` with its source
and a one-sentence reason; :func:`divest._result.compose` is the only place they are
combined.  These tests check that every estimate's interval is exactly
``value -/+ 1.96 se`` widened by the composition of its allowances, that the composed
pair is the ``details["bias_allowance"]`` existing callers read, and that each
allowance agrees with the diagnostic it was read from.
"""

import math

import numpy as np
import pytest

import divest as dv
from divest._result import Allowance, TailCheck, compose
from divest.reference import get_pair

Z95 = 1.959963984540054
SOURCES = {"learning_curve", "smoothing", "model_spread", "tail_terms", "sample_tails",
           "knn_trend", "separated_supports", "singular_atoms"}


def _check(est):
    """The interval is the composition of the allowances, and each has a reason."""
    assert isinstance(est.allowances, tuple)
    for a in est.allowances:
        assert isinstance(a, Allowance) and a.source in SOURCES, a
        assert a.below > 0.0 or a.above > 0.0, a  # zero widenings are not listed
        assert a.reason and "\n" not in a.reason, a
    below, above = compose(est.allowances)
    assert tuple(est.details["bias_allowance"]) == (below, above)
    if math.isfinite(est.value):
        lo = est.value - Z95 * est.standard_error - below
        hi = est.value + Z95 * est.standard_error + above
        if "interval_clipped" not in est.details:  # clipped to the value range, if any
            assert est.confidence_interval == (lo, hi)  # bit for bit: one rule
        rebuilt = dv.Estimate.from_value(est.value, standard_error=est.standard_error,
                                         method=est.method, name=est.name,
                                         bias_allowance=(below, above))
        assert rebuilt.confidence_interval == est.confidence_interval
        # other levels come from the same allowances, nested in the 95% interval
        lo80, hi80 = est.interval(0.8)
        assert est.confidence_interval[0] <= lo80 <= est.value <= hi80 <= est.confidence_interval[1]
    return {a.source: a for a in est.allowances}


def _agrees(parts, source, info, change):
    """The allowance of ``source`` has the size of ``info["allowance"]``, on the side of
    ``info[change]`` (and is absent when that size is 0)."""
    if not info.get("allowance"):
        assert source not in parts
        return
    a = parts[source]
    assert max(a.below, a.above) == info["allowance"] and min(a.below, a.above) == 0.0
    assert (a.above > 0) == (info[change] > 0)


@pytest.fixture(scope="module")
def normal_pair():
    return get_pair("normal-1-2").sample(400, rng=2)


@pytest.mark.parametrize("method", ["classifier", "ulsif", "kliep"])
def test_ratio_interval_is_the_composition(method, normal_pair):
    X, Y = normal_pair
    kw = {"model": "logistic"} if method == "classifier" else {}
    ratio = dv.estimators.fit_ratio(X, Y, method, rng=5, **kw)
    for name in ("kl", "js", "pearson"):
        est = ratio.divergence(name)
        parts = _check(est)
        _agrees(parts, "learning_curve", est.details["bias_trend"], "change_per_doubling")
        if method == "kliep":
            _agrees(parts, "smoothing", est.details["smoothing_trend"], "change")
        else:
            assert "smoothing" not in parts
    sampling = dv.estimators.fit_ratio(X, Y, method, rng=5, interval="sampling", **kw)
    est = sampling.divergence("kl")
    assert est.allowances == () and est.details["bias_allowance"] == (0.0, 0.0)
    _check(est)


def test_knn_trend_and_sample_tails():
    X, Y = get_pair("t3-normal").sample(2000, rng=0)  # P's tail heavier in seeds 0-5
    est = dv.estimators.knn(X, Y, "kl", rng=0)
    parts = _check(est)
    assert est.details["sample_tails"]["p_heavier"]
    tails = parts["sample_tails"]
    assert (tails.below, tails.above) == (0.0, math.inf)
    assert tails.reason == est.details["sample_tails_note"]
    assert est.confidence_interval[1] == math.inf
    trend = est.details["bias_trend"]
    if trend.get("allowance"):
        a = parts["knn_trend"]
        assert max(a.below, a.above) == trend["allowance"]
    # the reverse direction: Q's lighter tail cannot hide reverse KL's unbounded part
    rev = dv.estimators.knn(X, Y, "reverse_kl", rng=0)
    assert "sample_tails" not in _check(rev)
    # se="none": no trend, no allowance
    plain = dv.estimators.knn(X[:300], Y[:300], "bhattacharyya", k=5, se="none")
    assert plain.allowances == ()


def test_knn_trend_allowance_side():
    # KL = 2.5 at d = 5: the fixed-k estimates fall as k grows, so the truth lies above
    X, Y = get_pair("mean-shift-d5").sample(500, rng=1)
    est = dv.estimators.knn(X, Y, "kl", rng=1)
    a = _check(est)["knn_trend"]
    assert a.below == 0.0 and a.above == est.details["bias_trend"]["allowance"] > 0.0
    assert est.details["bias_trend"]["change_per_doubling"] < 0.0


def test_tail_terms_open_the_upper_end():
    # mean-shift-large: Pearson = e^9 - 1 with heavy-tailed fitted ratios
    X, Y = get_pair("mean-shift-large").sample(1000, rng=0)
    est = dv.estimators.fit_ratio(X, Y, model="logistic", rng=0).divergence("pearson")
    parts = _check(est)
    check = TailCheck.from_details(est.details["tail_check"])
    if "note" in est.details["tail_check"]:
        a = parts["tail_terms"]
        assert (a.below, a.above) == (0.0, math.inf)
        assert a.reason == est.details["tail_check"]["note"]
        assert check.heavy
    assert est.confidence_interval[1] == math.inf


def test_model_spread_allowance():
    X, Y = get_pair("correlated-shift-d2").sample(500, rng=0)
    ratio = dv.estimators.fit_ratio(X, Y, rng=0)
    assert ratio.details["indistinguishable_models"]  # seed 0 has one (test_ratio)
    est = ratio.divergence("js")
    parts = _check(est)
    spread = est.details["model_spread"]["allowance"]
    if spread != (0.0, 0.0):
        a = parts["model_spread"]
        assert (a.below, a.above) == spread
        assert all(k in a.reason for k in est.details["model_spread"]["models"])


def test_compose_is_the_rule():
    a = [Allowance("x", 0.1, 0.0, "r"), Allowance("y", 0.0, 0.2, "r"),
         Allowance("z", 0.3, math.inf, "r")]
    assert compose(a) == (0.1 + 0.3, math.inf)
    assert compose([]) == (0.0, 0.0)
    # associative up to rounding, and inf absorbs in any order
    for perm in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        below, above = compose([a[i] for i in perm])
        assert below == pytest.approx(0.4, rel=1e-15) and above == math.inf
    with pytest.raises(ValueError, match="non-negative"):
        Allowance("bad", -0.1, 0.0)
    with pytest.raises(ValueError, match="non-negative"):
        Allowance("bad", 0.0, float("nan"))
    # the estimate rebuilds other levels from the allowances
    est = dv.Estimate.from_value(1.0, standard_error=0.1, method="m", name="kl",
                                 allowances=a[:2])
    lo, hi = est.interval(0.5)
    z50 = 0.6744897501960817
    assert lo == pytest.approx(1.0 - z50 * 0.1 - 0.1) and hi == pytest.approx(1.0 + z50 * 0.1 + 0.2)
    assert np.isfinite(est.confidence_interval).all()


# ---------------------------------------------------------------------------------
# no private state in the public details


def _private_keys(d, path="details"):
    """Every key starting with '_' in ``d`` and its nested dicts, with its path."""
    out = []
    for k, v in d.items():
        if str(k).startswith("_"):
            out.append(f"{path}[{k!r}]")
        if isinstance(v, dict):
            out += _private_keys(v, f"{path}[{k!r}]")
    return out


def _every_method_estimate(method):
    from scipy import stats

    from divest import _methods
    assert method in _methods.METHODS
    P, Q = stats.norm(0, 1), stats.norm(1, 1.5)
    X, Y = get_pair("normal-1-2").sample(200, rng=0)
    if method in ("closed_form", "quadrature"):
        return [dv.divergence(P, Q, "kl", method=method)]
    if method == "monte_carlo":
        return [dv.divergence(P, Q, "kl", method=method, n=500, rng=0)]
    if method == "ipm":
        return [dv.divergence(X, Y, "energy", rng=0)]
    if method == "neural":
        pytest.importorskip("torch")
        return [dv.divergence(X, Y, "kl", method="neural", rng=0, steps=20)]
    if method == "knn":
        return [dv.estimators.knn(X, Y, name, rng=0) for name in ("kl", "pearson")] + [
            dv.estimators.knn(X, stats.norm(0, 2), "kl", k=3, rng=0),
            dv.estimators.entropy(X, rng=0), dv.estimators.cross_entropy(X, Y, rng=0)]
    if method == "variational":
        return [dv.estimators.variational(X, Y, "kl", rng=0)]
    kw = {"model": "auto"} if method == "classifier" else {}
    out = []
    for interval in ("bias_aware", "sampling"):
        ratio = dv.estimators.fit_ratio(X, Y, method, rng=0, interval=interval, **kw)
        assert not _private_keys(ratio.details), _private_keys(ratio.details)
        out += [ratio.divergence(n) for n in ("kl", "js", "pearson", "kl_dv")]
    return out


@pytest.mark.parametrize("method", ["closed_form", "quadrature", "monte_carlo", "knn",
                                    "classifier", "ulsif", "kliep", "variational", "neural",
                                    "ipm"])
def test_no_private_keys_in_public_details(method):
    for est in _every_method_estimate(method):
        assert not _private_keys(est.details), (method, _private_keys(est.details))


def test_private_keys_are_refused_by_density_ratio():
    from divest.estimators._ratio import RatioFit
    X, Y = get_pair("normal-1-2").sample(100, rng=0)
    ratio = dv.estimators.fit_ratio(X, Y, model="logistic", rng=0, interval="sampling")
    args = ("classifier", ratio.log_ratio_p, ratio.log_ratio_q, ratio._predictors, ratio.cv)
    with pytest.raises(ValueError, match=r"details must hold public diagnostics.*'_dim'"):
        dv.estimators.DensityRatio(*args, {**ratio.details, "_dim": 1}, RatioFit(dim=1))
    with pytest.raises(TypeError, match="fit must be a RatioFit; got"):
        dv.estimators.DensityRatio(*args, dict(ratio.details), {"dim": 1})
    # the private-key check itself can fail
    assert _private_keys({"a": {"_b": 1}}) == ["details['a'][\'_b\']"]


def test_estimators_combine_allowances_only_through_compose():
    # the rule lives in one place: no estimator adds (below, above) pairs by hand
    import pathlib
    import re

    root = pathlib.Path(dv.__file__).parent / "estimators"
    by_hand = re.compile(r"(allowance|tails|spread|smooth)\w*\[[01]\]\s*\+")
    found = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if by_hand.search(line)]
    assert not found, found
    assert by_hand.search("allowance = (allowance[0] + smooth[0], allowance[1] + smooth[1])")
