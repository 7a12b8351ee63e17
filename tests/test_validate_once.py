"""Issue 14: the sample path of divest.divergence checks each input array once."""

from unittest import mock

import numpy as np
import pytest

import divest as dv
from divest._validation import check_finite_array
from divest.estimators import _common


def _checked_names(call, *args, **kwargs):
    with mock.patch.object(_common, "check_finite_array", wraps=check_finite_array) as spy:
        est = call(*args, **kwargs)
    return est, sorted(c.args[1] for c in spy.call_args_list)


@pytest.mark.parametrize("method, options", [
    ("knn", {}), ("classifier", {"model": "logistic"}), ("ulsif", {"n_centers": 20}),
    ("variational", {"n_features": 20}), ("ipm", {}),
])
def test_divergence_checks_each_sample_once(method, options):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0, 1, (120, 1)), rng.normal(0.5, 1, (100, 1))
    name = {"ulsif": "pearson", "ipm": "wasserstein"}.get(method, "kl")
    est, names = _checked_names(dv.divergence, X, Y, name, method=method, rng=0, **options)
    assert names == ["X", "Y"]
    # the same numbers as the estimator called directly (which checks its own input)
    if method != "ipm":
        direct = getattr(dv.estimators, method)(X, Y, name, rng=0, **options)
        assert (est.value, est.standard_error) == (direct.value, direct.standard_error)


def test_auto_plan_checks_each_sample_once():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(0, 1, (150, 1)), rng.normal(0.5, 1, (150, 1))
    est, names = _checked_names(dv.divergence, X, Y, "pearson", rng=0, model="logistic")
    assert est.details["auto"]["rule"] == "power-growth"
    assert names == ["X", "Y"]


def test_options_are_still_checked_and_bind_as_in_the_public_call():
    X, Y = np.zeros((20, 1)) + np.arange(20)[:, None], np.arange(15.0)[:, None] + 0.5
    with pytest.raises(ValueError, match="k must be >= 1; got 0"):
        dv.divergence(X, Y, "kl", method="knn", k=0)
    with pytest.raises(ValueError, match="at least 4 samples"):
        dv.divergence(X[:3], Y, "kl", method="variational")
    with pytest.raises(TypeError, match=r"knn\(\) got multiple values for argument 'X'"):
        dv.divergence(X, Y, "kl", method="knn", X=1)
