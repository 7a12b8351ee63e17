"""The typed parts of results: Allowance, compose, TailCheck, Estimate's interval and repr."""

import copy
import dataclasses
import math
import pickle

import pytest
from scipy import stats

import divest as dv
from divest._result import Allowance, ConfidenceInterval, Estimate, TailCheck, compose

INF = math.inf


def test_compose_sums_in_order_and_inf_absorbs():
    a, b, c = Allowance("a", 0.1, 0.0), Allowance("b", 0.0, 0.2), Allowance("c", 0.3, INF)
    assert compose([]) == (0.0, 0.0)
    assert compose([a, b]) == (0.1, 0.2)
    assert compose([a, b, c]) == (0.1 + 0.3, INF)
    assert compose([c, a, b])[1] == INF and not math.isnan(compose([c, c])[1])


@pytest.mark.parametrize("parts", [(0.1, 0.25, 0.5), (1e-3, 2.0, INF), (0.0, 0.0, 0.7)])
def test_compose_is_associative(parts):
    al = [Allowance(str(i), p, p / 2) for i, p in enumerate(parts)]
    left = compose([Allowance("ab", *compose(al[:2])), al[2]])
    right = compose([al[0], Allowance("bc", *compose(al[1:]))])
    for u, v in zip(left, right):
        assert u == pytest.approx(v, rel=1e-15) or (u == v == INF)


@pytest.mark.parametrize("below,above", [(-0.1, 0.0), (0.0, math.nan), ("x", 0.0)])
def test_allowance_refuses_negative_or_nan_widths(below, above):
    with pytest.raises((ValueError, TypeError)):
        Allowance("bad", below, above)


def test_estimate_interval_is_normal_plus_composed_allowances():
    al = (Allowance("trend", 0.05, 0.0, "bias trend"), Allowance("tail", 0.0, 0.01))
    est = Estimate.from_value(1.0, standard_error=0.1, method="m", name="kl", allowances=al)
    z = stats.norm.ppf(0.975)
    assert est.confidence_interval == (1.0 - z * 0.1 - 0.05, 1.0 + z * 0.1 + 0.01)
    assert est.interval() == ConfidenceInterval(*est.confidence_interval)
    lo, hi = est.interval(0.5)
    z50 = stats.norm.ppf(0.75)
    assert lo == pytest.approx(1.0 - z50 * 0.1 - 0.05) and hi == pytest.approx(1.0 + z50 * 0.1 + 0.01)
    assert est.interval(0.99).low < est.interval(0.95).low < est.interval(0.5).low
    with pytest.raises(ValueError, match="confidence_level"):
        est.interval(1.0)


def test_bias_allowance_keyword_still_works_and_equals_an_allowance():
    a = Estimate.from_value(0.3, standard_error=0.02, method="m", name="kl",
                            bias_allowance=(0.01, 0.03))
    b = Estimate.from_value(0.3, standard_error=0.02, method="m", name="kl",
                            allowances=[Allowance("bias", 0.01, 0.03)])
    assert a.confidence_interval == b.confidence_interval
    with pytest.raises(ValueError, match="bias_allowance"):
        Estimate.from_value(0.3, standard_error=0.02, method="m", name="kl",
                            bias_allowance=(-1.0, 0.0))


def test_open_end_and_infinite_value():
    est = Estimate.from_value(0.3, standard_error=0.02, method="m", name="kl",
                              allowances=[Allowance("tail", 0.0, INF)])
    assert est.confidence_interval[1] == INF and est.interval(0.8).high == INF
    inf = Estimate.from_value(INF, standard_error=math.nan, method="m", name="kl")
    assert inf.confidence_interval == (INF, INF)


def test_interval_at_other_levels_refused_for_a_hand_built_interval():
    est = Estimate(0.5, 0.1, (0.0, 2.0), "custom", "kl")
    assert est.interval(0.95) == (0.0, 2.0)
    with pytest.raises(ValueError, match="only confidence_level=0.95"):
        est.interval(0.9)


def test_details_are_read_only_but_copyable_and_picklable():
    est = Estimate.from_value(0.5, standard_error=0.1, method="m", name="kl",
                              details={"a": 1})
    with pytest.raises(TypeError, match="read-only"):
        est.details["b"] = 2
    with pytest.raises(TypeError, match="read-only"):
        est.details.update(b=2)
    new = dataclasses.replace(est, details={**est.details, "b": 2})
    assert new.details == {"a": 1, "b": 2} and est.details == {"a": 1}
    back = pickle.loads(pickle.dumps(est))
    assert back == est and back.details == est.details
    assert copy.deepcopy(est).details == {"a": 1}
    import json
    assert json.loads(json.dumps(est.details)) == {"a": 1}


def test_repr_shows_the_interval_only_when_it_is_not_value_pm_1_96_se():
    plain = Estimate.from_value(0.5, standard_error=0.1, method="m", name="kl")
    assert "CI" not in repr(plain)
    wide = Estimate.from_value(0.5, standard_error=0.1, method="m", name="kl",
                               allowances=[Allowance("t", 0.0, INF)])
    assert "95% CI [0.304, inf]" in repr(wide)


def test_tail_check_reads_details():
    tc = TailCheck.from_details({"limit": 0.5, "shape_p": 0.3, "shape_q": 1.2})
    assert tc.heavy == ("q",) and tc.mean_infinite
    tc = TailCheck.from_details({"limit": 0.5, "shape_p": 0.7})
    assert tc.heavy == ("p",) and not tc.mean_infinite
    assert TailCheck.from_details({}) is None


def test_estimators_interval_at_other_levels():
    import numpy as np
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0, 1, (500, 1)), rng.normal(1, 1, (500, 1))
    est = dv.estimators.knn(X, Y, "kl", rng=0)
    assert tuple(est.interval(0.95)) == est.confidence_interval
    lo90, hi90 = est.interval(0.9)
    lo, hi = est.confidence_interval
    assert lo < lo90 <= hi90 and (hi90 < hi or hi90 == hi == math.inf)
    assert {a.source for a in est.allowances} <= {"bias", "knn_trend", "sample_tails"}


@pytest.mark.parametrize("name,value,se,want", [
    ("kl", 0.05, 0.1, (0.0, 0.05 + 1.959963984540054 * 0.1)),
    ("tv", 0.98, 0.1, (0.98 - 1.959963984540054 * 0.1, 1.0)),
    ("js", 0.69, 0.1, (0.69 - 1.959963984540054 * 0.1, math.log(2))),
    ("gan", -0.1, 0.2, (-0.1 - 1.959963984540054 * 0.2, 0.0)),
    ("kl", -0.5, 0.01, (0.0, 0.0)),  # entirely below: the nearest point of the range
    ("entropy", -0.5, 0.1, (-0.5 - 1.959963984540054 * 0.1, -0.5 + 1.959963984540054 * 0.1)),
])
def test_interval_is_clipped_to_the_value_range(name, value, se, want):
    est = Estimate.from_value(value, standard_error=se, method="m", name=name)
    assert est.confidence_interval == pytest.approx(want, rel=1e-12)
    assert est.value == value  # the point estimate is never clipped
    assert ("interval_clipped" in est.details) == (name != "entropy")
    lo, hi = est.interval(0.5)
    assert want[0] <= lo <= hi <= want[1]


def test_lower_bound_intervals_are_not_clipped():
    est = Estimate.from_value(-0.2, standard_error=0.1, method="variational", name="kl",
                              is_lower_bound=True)
    assert est.confidence_interval[0] < -0.2
