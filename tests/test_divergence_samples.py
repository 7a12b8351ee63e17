"""divergence() on sample arrays: the auto rule and the routing to the estimators."""

import numpy as np
import pytest

import divest as dv
from divest._divergence import _auto_sample_method
from divest._names import resolve


@pytest.mark.parametrize("name,d,n,want", [
    ("kl", 1, 1000, "classifier"), ("kl", 1, 30_000, "knn"), ("kl", 3, 30_000, "knn"),
    ("kl", 4, 30_000, "classifier"), ("reverse_kl", 2, 25_000, "knn"),
    ("reverse_kl", 2, 24_999, "classifier"), ("renyi(alpha=0.5)", 2, 30_000, "knn"),
    ("squared_hellinger", 1, 30_000, "knn"), ("pearson", 1, 30_000, "knn"),
    ("js", 1, 30_000, "classifier"), ("tv", 2, 30_000, "classifier"),
    ("gan", 1, 1000, "classifier"), ("neyman", 1, 30_000, "classifier"),
    ("bhattacharyya", 10, 30_000, "classifier")])
def test_auto_rule(name, d, n, want):
    assert _auto_sample_method(resolve(name), n, n, d) == want


def test_auto_rule_refuses_ipm_names():
    with pytest.raises(ValueError, match="closed forms only"):
        _auto_sample_method(resolve("wasserstein"), 100, 100, 1)


def test_divergence_routes_samples_to_the_estimator(monkeypatch):
    calls = []

    def fake(X, Y, name, rng=None, **kw):
        calls.append((X.shape, Y.shape, name, kw))
        return dv.Estimate.from_value(0.1, method="fake", name=name)

    monkeypatch.setattr(dv.estimators, "classifier", fake)
    est = dv.divergence(np.zeros((30, 5)) + np.arange(30)[:, None], np.ones((20, 5)), "js",
                        model="logistic")
    assert calls == [((30, 5), (20, 5), "js", {"model": "logistic"})]
    assert est.details["auto"]["method"] == "classifier"
    # 1-D input is read as (n, 1)
    dv.divergence(np.arange(10.0), np.arange(12.0), "tv", method="classifier")
    assert calls[-1][:2] == ((10, 1), (12, 1))


def test_divergence_sample_input_errors():
    with pytest.raises(ValueError, match="same dimension"):
        dv.divergence(np.zeros((10, 2)), np.zeros((10, 3)), "kl", method="knn")
    with pytest.raises(ValueError, match="non-finite"):
        dv.divergence(np.full((10, 2), np.nan), np.zeros((10, 2)), "kl", method="knn")
    with pytest.raises(ValueError, match="at least 2 samples"):
        dv.divergence(np.zeros((1, 2)), np.zeros((10, 2)), "kl", method="knn")


def test_method_options_named_like_divergence_parameters_reach_the_estimator(monkeypatch):
    seen = {}

    def fake(X, Y, name, rng=None, **kw):
        seen.update(kw, name=name)
        return dv.Estimate.from_value(0.0, method="fake", name=name)

    monkeypatch.setattr(dv.estimators, "variational", fake)
    dv.divergence(np.zeros((10, 1)), np.ones((10, 1)), "kl", method="variational", bandwidth=0.5)
    assert seen == {"bandwidth": 0.5, "name": "kl"}
    dv.divergence(np.zeros((10, 1)), np.ones((10, 1)), "alpha", method="variational", alpha=0.5)
    assert seen["name"] == "alpha(alpha=0.5)" and "alpha" not in {k for k in seen if k != "name"}
