"""divest.divergence as a new user meets it: input types, routing, names, defaults."""

import math

import numpy as np
import pytest
from scipy import stats

import divest as dv


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(0)
    return rng.normal(0, 1, (400, 2)), rng.normal(0.5, 1, (300, 2))


def _knn(X, Y, name="kl"):
    return dv.divergence(X, Y, name, method="knn", rng=0)


@pytest.mark.parametrize("kind", ["list", "dataframe", "torch"])
def test_divergence_accepts_what_the_estimators_accept(samples, kind):
    X, Y = samples
    ref = _knn(X, Y)
    if kind == "list":
        Xc, Yc = X.tolist(), Y.tolist()
    elif kind == "dataframe":
        pd = pytest.importorskip("pandas")
        Xc, Yc = pd.DataFrame(X, columns=["a", "b"]), pd.DataFrame(Y, columns=["a", "b"])
    else:
        torch = pytest.importorskip("torch")
        Xc, Yc = torch.from_numpy(X), torch.from_numpy(Y)
    est = _knn(Xc, Yc)
    assert est.value == ref.value and est.confidence_interval == ref.confidence_interval


def test_divergence_accepts_pandas_series_as_1d_samples():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 500), rng.normal(1, 1, 500)
    est = dv.divergence(pd.Series(x), pd.Series(y), "kl", method="knn", rng=0)
    assert est.value == dv.divergence(x, y, "kl", method="knn", rng=0).value
    auto = dv.divergence(pd.Series(x), pd.Series(y), "energy")
    assert auto.method == "energy_unbiased"


def test_samples_with_a_distribution_route_to_one_sample_knn():
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (3000, 1))
    Q = stats.norm(1, 1)  # KL(N(0,1) || N(1,1)) = 0.5
    est = dv.divergence(X, Q, "kl", rng=0)
    assert est.method == "knn" and est.n_q is None
    assert est.details["auto"]["rule"] == "knn-one-sample"
    assert abs(est.value - 0.5) < 5 * est.standard_error
    direct = dv.estimators.knn(X, Q, "kl", rng=0)
    assert est.value == direct.value
    with pytest.raises(ValueError, match="one-sample kNN form"):
        dv.divergence(X, Q, "js")
    with pytest.raises(ValueError, match="P is a distribution and Q a sample"):
        dv.divergence(Q, X, "kl")


@pytest.mark.parametrize("bad", [None, 3.0, "abc", {"a": 1}])
def test_neither_distribution_nor_sample_is_a_clear_type_error(bad, samples):
    with pytest.raises(TypeError, match="P must be a distribution"):
        dv.divergence(bad, samples[1])


@pytest.mark.parametrize("alias,canonical", [
    ("KL", "kl"), ("Kl", "kl"), ("chi2", "pearson"), ("chi-squared", "pearson"),
    ("Chi_Squared", "pearson"), ("jensen-shannon", "js"), ("JS", "js"),
    ("total_variation", "tv"), ("TV", "tv"), ("Alpha(alpha=2)", "alpha(alpha=2)"),
    ("W2", "wasserstein(p=2)"), ("mmd", "mmd2"), ("energy_distance", "energy"),
])
def test_aliases_map_to_one_canonical_name(alias, canonical):
    from divest._names import resolve
    assert resolve(alias).label == resolve(canonical).label


def test_alias_gives_the_same_estimate(samples):
    X, Y = samples
    assert _knn(X, Y, "chi2").value == _knn(X, Y, "pearson").value
    P, Q = stats.norm(0, 1), stats.norm(1, 2)
    assert dv.divergence(P, Q, "KL").value == dv.divergence(P, Q, "kl").value
    assert dv.divergence(P, Q, "KL").name == "kl"


@pytest.mark.parametrize("name", ["hellinger", "Hellinger", "chi"])
def test_ambiguous_names_are_refused_with_the_choices(name):
    with pytest.raises(ValueError, match="squared_hellinger|pearson"):
        dv.divergence(stats.norm(), stats.norm(1), name)


def test_mmd2_defaults_to_the_median_bandwidth_like_ipm_mmd(samples):
    X, Y = samples
    est = dv.divergence(X, Y, "mmd2")
    assert est.name == "mmd2"
    assert est.value == pytest.approx(dv.ipm.mmd(X, Y), rel=1e-12)
    assert est.details["bandwidth"] == pytest.approx(
        dv.divergence(X, Y, "mmd").details["bandwidth"])
    with pytest.raises(ValueError, match="numeric bandwidth"):
        dv.divergence(stats.norm(), stats.norm(1), "mmd2")


def test_distribution_options_are_checked():
    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['k'\]"):
        dv.divergence(stats.norm(), stats.norm(1), "kl", k=3)


def test_auto_options_go_to_every_candidate_that_accepts_them():
    # Pearson's auto plan runs classifier, uLSIF and kNN: an option for one of them is
    # routed to it (it used to switch the whole rule off silently), an option none of
    # them takes raises
    rng = np.random.default_rng(3)
    X, Y = rng.normal(0, 1, (300, 1)), rng.normal(0.5, 1, (300, 1))
    est = dv.divergence(X, Y, "pearson", rng=0, model="logistic", k=7)
    auto = est.details["auto"]
    assert auto["rule"] == "power-growth" and "candidates" in auto
    clf = dv.estimators.fit_ratio(X, Y, model="logistic", rng=0).divergence("pearson")
    assert auto["candidates"]["classifier"]["value"] == clf.value
    knn = dv.estimators.knn(X, Y, "pearson", k=7, rng=0)
    assert auto["candidates"]["knn"]["value"] == knn.value
    with pytest.raises(TypeError, match="no candidate"):
        dv.divergence(X, Y, "pearson", rng=0, n_features=10)
