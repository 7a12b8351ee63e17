"""divest.mutual_information: each method against a brute-force formula or an exact value."""

import math

import numpy as np
import pytest
from scipy import special

import divest as dv
from divest import _mi, _policy
from divest.reference import get_mi_task


def _correlated(n, d, rho, rng):
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho ** 2) * rng.standard_normal((n, d))
    return x, y, -0.5 * d * math.log(1 - rho ** 2)


# -- KSG against a brute-force transcription of Kraskov et al. (2004) -----------------


def _maxdist(A, i):
    d = np.max(np.abs(A - A[i]), axis=1)
    d[i] = np.inf
    return d


def ksg_brute(X, Y, k, variant, Z=None):
    n = len(X)
    if Z is not None:  # Frenzel & Pompe (2007), estimator 1
        J = np.hstack([X, Y, Z])
        total = 0.0
        for i in range(n):
            eps = np.sort(_maxdist(J, i))[k - 1]
            nxz = np.sum(_maxdist(np.hstack([X, Z]), i) < eps)
            nyz = np.sum(_maxdist(np.hstack([Y, Z]), i) < eps)
            nz = np.sum(_maxdist(Z, i) < eps)
            total += special.digamma(nxz + 1) + special.digamma(nyz + 1) - special.digamma(nz + 1)
        return special.digamma(k) - total / n
    J = np.hstack([X, Y])
    total = 0.0
    for i in range(n):
        dj, dx, dy = _maxdist(J, i), _maxdist(X, i), _maxdist(Y, i)
        order = np.argsort(dj)
        if variant == 1:
            eps = dj[order[k - 1]]
            total += special.digamma(np.sum(dx < eps) + 1) + special.digamma(np.sum(dy < eps) + 1)
        else:
            nb = order[:k]
            ex, ey = dx[nb].max(), dy[nb].max()
            total += special.digamma(np.sum(dx <= ex)) + special.digamma(np.sum(dy <= ey))
    if variant == 1:
        return special.digamma(k) + special.digamma(n) - total / n
    return special.digamma(k) - 1.0 / k + special.digamma(n) - total / n


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_ksg_matches_brute_force(variant, k):
    rng = np.random.default_rng(k + 10 * variant)
    X = rng.standard_normal((37, 2))
    Y = X[:, :1] ** 3 + rng.standard_normal((37, 1))
    est = dv.mutual_information(X, Y, method="ksg", k=k, variant=variant, marginals="none",
                                rng=0)
    assert est.value == pytest.approx(ksg_brute(X, Y, k, variant), abs=1e-12)
    assert est.name == "mi" and est.method == "ksg" and not est.is_lower_bound


def test_conditional_ksg_matches_brute_force():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((41, 1))
    X = Z + rng.standard_normal((41, 1))
    Y = np.hstack([Z, X]) @ [[1.0], [0.5]] + rng.standard_normal((41, 1))
    est = dv.mutual_information(X, Y, method="ksg", Z=Z, k=4, marginals="none", rng=0)
    assert est.value == pytest.approx(ksg_brute(X, Y, 4, 1, Z=Z), abs=1e-12)
    assert est.name == "cmi"


def test_ksg_standard_error_is_calibrated():
    """The spread of KSG over repetitions matches the reported SE (40 reps; chi-square band)."""
    rng = np.random.default_rng(0)
    vals, ses = [], []
    for r in range(40):
        x, y, _ = _correlated(1000, 2, 0.6, rng)
        e = dv.mutual_information(x, y, method="ksg", rng=r)
        vals.append(e.value)
        ses.append(e.standard_error)
    ratio = np.std(vals, ddof=1) / np.mean(ses)
    # sd of 40 normal values has relative SE 1/sqrt(78) = 0.11; the SE estimate its own spread
    assert 0.6 < ratio < 1.6, ratio


def test_ksg_on_gaussian_close_to_truth():
    x, y, truth = _correlated(4000, 1, 0.8, np.random.default_rng(1))
    est = dv.mutual_information(x, y, method="ksg", rng=0)
    assert abs(est.value - truth) < 4 * est.standard_error + 0.01  # KSG bias at n=4000: < 0.01


def test_ksg_duplicates_raise():
    x = np.repeat(np.arange(10.0), 5)
    with pytest.raises(ValueError, match="duplicates"):
        dv.mutual_information(x, x, method="ksg", marginals="none")


# -- Gaussian closed form ------------------------------------------------------------------


def test_gaussian_matches_task_exact_value():
    for name in ("multinormal-dense-3-3-0.5", "multinormal-sparse-5-5-2-2.0", "1v1-normal-0.75"):
        task = get_mi_task(name)
        X, Y = task.sample(20_000, rng=5)
        est = dv.mutual_information(X, Y, method="gaussian")
        assert abs(est.value - task.mutual_information) < 4 * est.standard_error, name


def test_gaussian_bias_correction_makes_it_unbiased():
    """At n = 12, d = 2 + 2 the plug-in is biased by ~0.3 nats; the corrected form is not.

    An off-by-one in the digamma arguments of the correction breaks this test."""
    rng = np.random.default_rng(0)
    reps, n = 4000, 12
    vals, plug = [], []
    for _ in range(reps):
        x, y, truth = _correlated(n, 2, 0.5, rng)
        e = dv.mutual_information(x, y, method="gaussian")
        vals.append(e.value)
        plug.append(e.details["plug_in"])
    vals = np.array(vals)
    se = vals.std(ddof=1) / math.sqrt(reps)
    assert abs(vals.mean() - truth) < 4 * se
    assert np.mean(plug) - truth > 20 * se


def test_gaussian_standard_error_is_calibrated():
    rng = np.random.default_rng(1)
    vals, ses = [], []
    for _ in range(400):
        x, y, _ = _correlated(300, 2, 0.6, rng)
        e = dv.mutual_information(x, y, method="gaussian")
        vals.append(e.value)
        ses.append(e.standard_error)
    ratio = np.std(vals, ddof=1) / np.mean(ses)
    assert 0.85 < ratio < 1.15, ratio  # sd of 400 values: relative SE 0.035


def test_gaussian_conditional_chain_rule_is_exact():
    """I(X; (Y, Z)) = I(X; Z) + I(X; Y | Z), bias corrections included."""
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((50, 2))
    X = Z @ [[1.0, 0.2], [0.0, 1.0]] + rng.standard_normal((50, 2))
    Y = X[:, :1] + Z[:, 1:] + rng.standard_normal((50, 1))
    full = dv.mutual_information(X, np.hstack([Y, Z]), method="gaussian").value
    xz = dv.mutual_information(X, Z, method="gaussian").value
    cmi = dv.mutual_information(X, Y, Z=Z, method="gaussian").value
    assert full == pytest.approx(xz + cmi, abs=1e-12)


def test_conditional_independence_gives_zero():
    rng = np.random.default_rng(4)
    Z = rng.standard_normal((3000, 1))
    X, Y = Z + rng.standard_normal((3000, 1)), Z + rng.standard_normal((3000, 1))
    for method in ("gaussian", "ksg"):
        est = dv.mutual_information(X, Y, Z=Z, method=method, rng=0)
        assert abs(est.value) < 4 * est.standard_error + 0.01, (method, est)
    # and X, Y are far from independent without Z
    assert dv.mutual_information(X, Y, method="gaussian").value > 0.1


def test_copula_gaussian_is_invariant_to_monotone_maps():
    x, y, _ = _correlated(2000, 2, 0.5, np.random.default_rng(5))
    a = dv.mutual_information(x, y, method="gaussian", marginals="ranks").value
    b = dv.mutual_information(np.exp(x), y ** 3, method="gaussian", marginals="ranks").value
    assert a == b


# -- two-sample methods: the product sample ---------------------------------------------


def test_joint_and_product_are_built_from_disjoint_rows():
    n = 101
    X = np.arange(n, dtype=float)[:, None]
    Y = 1000 + np.arange(n, dtype=float)[:, None]
    joint, product = _mi._joint_and_product(X, Y, np.random.default_rng(0))
    assert joint.shape == (50, 2) and product.shape == (51, 2)
    np.testing.assert_array_equal(joint[:, 1] - joint[:, 0], 1000)  # joint keeps pairs
    assert np.all(product[:, 1] - product[:, 0] != 1000)  # no row keeps its own partner
    assert set(product[:, 0]) == set(product[:, 1] - 1000)  # a permutation within the half
    assert not set(joint[:, 0]) & set(product[:, 0])  # disjoint halves


@pytest.mark.parametrize("method", ["knn", "variational"])
def test_two_sample_methods_estimate_mi(method):
    x, y, truth = _correlated(3000, 1, 0.8, np.random.default_rng(6))
    est = dv.mutual_information(x, y, method=method, rng=0)
    assert est.name == "mi" and est.method == method
    lo, hi = est.confidence_interval
    if method == "variational":
        assert est.is_lower_bound and est.value < truth + 4 * est.standard_error
        assert est.value > 0.5 * truth
    else:
        assert lo - 0.02 <= truth <= hi + 0.02


def test_knn_on_shuffled_same_rows_would_be_biased():
    """Why the product is built from the other half: the same-row recipe is far off."""
    x, y, truth = _correlated(4000, 3, 0.6, np.random.default_rng(7))
    ours = dv.mutual_information(x, y, method="knn", rng=0).value
    perm = np.random.default_rng(0).permutation(len(y))
    same_rows = dv.divergence(np.hstack([x, y]), np.hstack([x, y[perm]]), "kl",
                              method="knn").value
    assert abs(ours - truth) < abs(same_rows - truth)


# -- auto ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ctx,rule", [
    (_policy.MIContext(n=5, dx=2, dy=2), "gaussian-too-few-rows"),
    (_policy.MIContext(n=10, dx=3, dy=3, dz=3), "gaussian-too-few-rows"),
    (_policy.MIContext(n=100, dx=2, dy=2), "copula-max"),
    (_policy.MIContext(n=5000, dx=50, dy=50), "copula-max"),
])
def test_mi_policy_table(ctx, rule):
    assert _policy.explain(_policy.MI_RULES, ctx).name == rule


def test_auto_takes_the_larger_and_says_why():
    task = get_mi_task("student-identity-2-2-1")
    X, Y = task.sample(2000, rng=0)
    est = dv.mutual_information(X, Y, rng=0)
    auto = est.details["auto"]
    assert auto["rule"] == "copula-max" and auto["why"]
    assert est.value == max(auto["candidates"].values())
    assert est.details["marginals"] == "ranks"
    assert auto["candidates"]["ksg"] > auto["candidates"]["gaussian"]  # t: KSG wins


def test_auto_is_deterministic_and_takes_options():
    x, y, _ = _correlated(500, 2, 0.5, np.random.default_rng(8))
    a = dv.mutual_information(x, y, rng=3)
    b = dv.mutual_information(x, y, rng=3)
    assert a == b
    c = dv.mutual_information(x, y, rng=3, k=5)
    assert c.details["auto"]["candidates"]["ksg"] != a.details["auto"]["candidates"]["ksg"]


# -- inputs ------------------------------------------------------------------------------


def test_array_likes():
    pd = pytest.importorskip("pandas")
    x, y, _ = _correlated(300, 2, 0.5, np.random.default_rng(9))
    ref = dv.mutual_information(x, y, method="gaussian").value
    assert dv.mutual_information(x.tolist(), y.tolist(), method="gaussian").value == ref
    assert dv.mutual_information(pd.DataFrame(x), pd.DataFrame(y),
                                 method="gaussian").value == ref
    assert dv.mutual_information(x[:, 0], pd.Series(y[:, 0]), method="gaussian").value == \
        dv.mutual_information(x[:, :1], y[:, :1], method="gaussian").value
    torch = pytest.importorskip("torch")
    assert dv.mutual_information(torch.tensor(x), torch.tensor(y),
                                 method="gaussian").value == ref


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(X=np.zeros((10, 2)), Y=np.zeros((9, 1))), ValueError, r"same number of rows.*\(9, 1\)"),
    (dict(X=np.zeros((1, 2)), Y=np.zeros((1, 1))), ValueError, "at least 2 rows"),
    (dict(X=np.zeros((0, 2)), Y=np.zeros((0, 1))), ValueError, "empty"),
    (dict(X=[[1.0], [np.nan], [2.0]], Y=[1.0, 2.0, 3.0]), ValueError, "non-finite"),
    (dict(X=np.c_[np.arange(5.0), np.ones(5)], Y=np.arange(5.0)), ValueError,
     r"constant column\(s\) \[1\]"),
    (dict(X=np.arange(5.0), Y=np.arange(5.0), method="kde"), ValueError, "method"),
    (dict(X=np.arange(9.0), Y=np.arange(9.0) ** 2, method="knn", Z=np.arange(9.0) % 4),
     ValueError, "conditional"),
    (dict(X=np.arange(9.0), Y=np.arange(9.0) ** 2, method="ksg", k=9), ValueError, "rows"),
    (dict(X=np.arange(9.0), Y=np.arange(9.0) ** 2, method="ksg", variant=3), ValueError,
     "variant"),
    (dict(X=np.arange(9.0), Y=np.arange(9.0) ** 2, method="gaussian", k=3), TypeError,
     "unexpected option"),
    (dict(X=np.arange(9.0), Y=np.arange(9.0) ** 2, marginals="copula"), ValueError,
     "marginals"),
    (dict(X=np.arange(3.0), Y=[1.0, 3.0, 2.0], method="gaussian"), ValueError, "rows"),
    (dict(X=np.ones((3, 2, 2)), Y=np.ones(3)), ValueError, "dimension"),
    (dict(X=["a", "b", "c"], Y=[1.0, 2.0, 3.0]), TypeError, "string"),
    (dict(X=lambda n: None, Y=None), TypeError, "sampler"),
])
def test_bad_input(kwargs, exc, match):
    X, Y = kwargs.pop("X"), kwargs.pop("Y")
    with pytest.raises(exc, match=match):
        dv.mutual_information(X, Y, **kwargs)


def test_neural_method_is_a_held_out_lower_bound():
    pytest.importorskip("torch")
    x, y, truth = _correlated(2000, 2, 0.8, np.random.default_rng(10))
    est = dv.mutual_information(x, y, method="neural", steps=300, rng=0)
    assert est.method == "neural" and est.name == "mi" and est.is_lower_bound
    assert 0.3 * truth < est.value < truth + 4 * est.standard_error
    assert "train_estimate" in est.details


def test_gaussian_says_what_it_assumes():
    """On Student-t data (uncorrelated, dependent) the Gaussian form gives ~0: it says why."""
    X, Y = get_mi_task("student-identity-1-1-1").sample(3000, rng=0)
    cop = dv.mutual_information(X, Y, method="gaussian", marginals="ranks")
    assert cop.is_lower_bound and "lower bound" in cop.details["bound"]
    X2, Y2 = get_mi_task("student-identity-2-2-1").sample(3000, rng=0)
    raw = dv.mutual_information(X2, Y2, method="gaussian")
    assert not raw.is_lower_bound and "0 for uncorrelated" in raw.details["assumes"]


def test_ksg_workers_give_the_same_numbers():
    """Above 20,000 rows the counts and the parts of the SE go to joblib processes."""
    x, y, _ = _correlated(24_000, 1, 0.5, np.random.default_rng(11))
    a = dv.mutual_information(x, y, method="ksg", rng=0, workers=1)
    for workers in (2, None):
        b = dv.mutual_information(x, y, method="ksg", rng=0, workers=workers)
        assert a.value == b.value and a.standard_error == b.standard_error
        assert a.confidence_interval == b.confidence_interval


def _ksg1_row_terms(X, Y, k):
    """Per-row terms psi(n_x + 1) + psi(n_y + 1) of KSG estimator 1, by brute force."""
    J = np.hstack([X, Y])
    out = []
    for i in range(len(X)):
        eps = np.sort(_maxdist(J, i))[k - 1]
        out.append(special.digamma(np.sum(_maxdist(X, i) < eps) + 1)
                   + special.digamma(np.sum(_maxdist(Y, i) < eps) + 1))
    return np.array(out)


def test_ksg_trend_from_a_subset_of_query_rows(monkeypatch):
    """Above _TREND_ROWS rows the estimates at 2k and 4k average a random subset of query
    rows (neighbours among all rows), shifted by the full-sample estimate at k minus the
    subset's; the value at k uses every row."""
    x, y, _ = _correlated(400, 2, 0.6, np.random.default_rng(13))
    n, ks = len(x), (3, 6, 12)
    terms = {k: _ksg1_row_terms(x, y, k) for k in ks}
    const = {k: special.digamma(k) + special.digamma(n) for k in ks}
    full = _mi._ksg_value(x, y, None, ks, 1, 1)
    for k, v in zip(ks, full):
        assert v == pytest.approx(const[k] - terms[k].mean(), abs=1e-10)
    monkeypatch.setattr(_mi, "_TREND_ROWS", 150)
    part = _mi._ksg_value(x, y, None, ks, 1, 1, np.random.default_rng(5))
    rows = np.sort(np.random.default_rng(5).choice(n, 150, replace=False))
    shift = terms[3].mean() - terms[3][rows].mean()
    assert part[0] == full[0]
    for k, v in zip(ks[1:], part[1:]):
        assert v == pytest.approx(const[k] - terms[k][rows].mean() - shift, abs=1e-10)
        assert v != pytest.approx(full[ks.index(k)], abs=1e-12)  # a subset, not all rows


def test_ksg_interval_allows_for_the_bias_trend():
    """In 10-D KSG is biased low; the trend over k, 2k, 4k opens the interval upwards."""
    x, y, truth = _correlated(3000, 5, 0.6, np.random.default_rng(12))
    est = dv.mutual_information(x, y, method="ksg", k=3, rng=0)
    plain = dv.mutual_information(x, y, method="ksg", k=3, rng=0, interval="sampling")
    assert est.value == plain.value < truth - 4 * plain.standard_error  # biased low
    trend = est.details["ksg_trend"]
    assert trend["ks"] == [3, 6, 12] and trend["values"][0] > trend["values"][-1]
    (a,) = est.allowances
    assert a.source == "ksg_trend" and a.above > 0 and a.below == 0
    assert est.confidence_interval[0] < truth < est.confidence_interval[1]
    lo, hi = plain.confidence_interval
    assert lo == pytest.approx(plain.value - 1.96 * plain.standard_error, rel=1e-3)
    assert hi < truth
