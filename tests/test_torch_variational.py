"""Neural variational estimates (divest.torch.variational, divest.torch.wasserstein1).

Seeded; tolerances are multiples of the reported held-out standard error plus, for "close
to the truth", an allowance for the approximation gap of a small network trained for a
few hundred steps (stated at each test).
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import divest as dv  # noqa: E402
from divest.torch import variational, wasserstein1, wasserstein1_exact  # noqa: E402

SMALL = {"width": 32, "depth": 2}



@pytest.fixture(scope="module")
def gaussians():
    """P = N((1, 0), I), Q = N(0, I) in 2-D: KL = 0.5, W1 = 1."""
    rng = np.random.default_rng(20240501)
    X = rng.normal(size=(4000, 2)) + [1.0, 0.0]
    Y = rng.normal(size=(4000, 2))
    return X, Y


def test_neural_kl_is_close_to_and_below_the_truth(gaussians):
    """Held-out bound: value <= KL + 2.5 SE (one-sided, a lower bound) and within an
    approximation allowance of 0.1 (20% of KL) + 4 SE of the truth, for three seeds."""
    X, Y = gaussians
    values = []
    for seed in range(3):
        est = variational(X, Y, "kl", critic=SMALL, steps=300, rng=seed, device="cpu")
        assert est.method == "neural" and est.is_lower_bound and est.name == "kl"
        assert est.n_p == est.n_q == 2000
        assert est.value <= 0.5 + 2.5 * est.standard_error
        assert abs(est.value - 0.5) <= 0.1 + 4 * est.standard_error
        # the DV bound of the same critic is at least the NWJ/f bound
        assert est.details["dv_value"] >= est.value - 1e-12
        values.append(est.value)
    # three held-out values share the test split only through the seed: all below the truth
    # on average (the statistical lower-bound property)
    assert np.mean(values) < 0.5


def test_neural_bounds_for_other_divergences(gaussians):
    """JS and squared Hellinger bounds below and near the exact values (Gaussian closed forms)."""
    X, Y = gaussians
    from scipy import stats
    P = stats.multivariate_normal([1.0, 0.0])
    Q = stats.multivariate_normal([0.0, 0.0])
    for name in ("js", "squared_hellinger"):
        truth = dv.divergence(stats.norm(1.0), stats.norm(0.0), name).value  # same in 2-D
        est = variational(X, Y, name, critic=SMALL, steps=300, rng=0, device="cpu")
        assert est.value <= truth + 2.5 * est.standard_error
        assert abs(est.value - truth) <= 0.2 * truth + 4 * est.standard_error
    del P, Q


def test_dv_bound(gaussians):
    X, Y = gaussians
    est = variational(X, Y, "kl", bound="dv", critic=SMALL, steps=300, rng=0, device="cpu")
    assert est.details["bound"] == "dv"
    assert est.value <= 0.5 + 2.5 * est.standard_error
    assert abs(est.value - 0.5) <= 0.1 + 4 * est.standard_error


def test_training_curve_and_details(gaussians):
    X, Y = gaussians
    est = variational(X[:800], Y[:800], "kl", critic=SMALL, steps=60, eval_every=20, rng=0,
                      device="cpu")
    curve = est.details["training_curve"]
    assert curve["step"] == [20, 40, 60]
    assert len(curve["train_objective"]) == len(curve["validation_value"]) == 3
    assert est.details["best_step"] in curve["step"]
    assert est.details["n_test"] == (400, 400)
    assert est.details["n_fit"] == (300, 300) and est.details["n_validation"] == (100, 100)
    assert est.details["derivatives"] == "analytic"
    assert est.details["device"] == "cpu"


def test_same_seed_same_numbers(gaussians):
    X, Y = gaussians
    kw = dict(critic=SMALL, steps=40, rng=5, device="cpu")
    a = variational(X[:600], Y[:600], "js", **kw)
    b = variational(X[:600], Y[:600], "js", **kw)
    c = variational(X[:600], Y[:600], "js", **{**kw, "rng": 6})
    assert a.value == b.value and a.standard_error == b.standard_error
    assert a.details["training_curve"] == b.details["training_curve"]
    assert a.value != c.value
    w = wasserstein1(X[:600], Y[:600], steps=30, critic=SMALL, rng=1, device="cpu")
    assert w.value == wasserstein1(X[:600], Y[:600], steps=30, critic=SMALL, rng=1,
                                   device="cpu").value


def test_variational_validation(gaussians):
    X, Y = gaussians
    with pytest.raises(ValueError, match="bound='dv' is a bound on the KL divergence only"):
        variational(X, Y, "js", bound="dv")
    with pytest.raises(TypeError, match="critic must be None"):
        variational(X, Y, "kl", critic="kernel")
    with pytest.raises(ValueError, match="not an f-divergence"):
        variational(X, Y, "renyi(alpha=2)")
    with pytest.raises(ValueError, match="same dimension"):
        variational(X, Y[:, :1], "kl")
    with pytest.raises(ValueError, match="non-finite"):
        variational(np.full((10, 2), np.nan), Y, "kl")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        variational(X, Y, "kl", steps=0)
    with pytest.raises(ValueError, match="device='gpu'"):
        variational(X, Y, "kl", device="gpu")
    with pytest.raises(ValueError, match="too few rows"):
        variational(X[:10], Y[:10], "kl")


def test_user_critic_module(gaussians):
    X, Y = gaussians
    lin = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    est = variational(X[:1000], Y[:1000], "kl", critic=lin, steps=200, lr=1e-2, rng=0,
                      device="cpu")
    # a linear critic is well specified for a mean shift: log p/q = x1 - 1/2
    assert abs(est.value - 0.5) <= 0.1 + 4 * est.standard_error
    with pytest.raises(ValueError, match="must map a batch"):
        variational(X, Y, "kl", critic=torch.nn.Linear(2, 3))


# -------------------------------------------------------------------------------------
# Wasserstein-1


def test_neural_w1_against_exact_ot(gaussians):
    """Gradient penalty: never above exact OT between the same held-out rows (the
    normalisation by the pair slope is a certificate), and within 0.1 + 4 SE of it and of
    the population W1 = 1."""
    X, Y = gaussians
    X, Y = X[:2000], Y[:2000]
    est = wasserstein1(X, Y, critic=SMALL, steps=300, rng=0, device="cpu")
    assert est.name == "wasserstein(p=1)" and est.is_lower_bound
    ix, iy = est.details["test_indices"]
    exact = wasserstein1_exact(X[ix], Y[iy])
    assert est.value <= exact + 1e-9
    assert abs(exact - 1.0) < 0.15
    assert abs(est.value - 1.0) <= 0.1 + 4 * est.standard_error
    assert abs(est.value - exact) <= 0.1 + 4 * est.standard_error
    assert 0.8 < est.details["max_gradient_norm"] < 1.5
    # the normalised potential f / L: its pair slopes over the test rows are at most 1
    f = est.details["critic_function"]
    from scipy.spatial.distance import cdist
    slopes = (f(X[ix])[:, None] - f(Y[iy])[None, :]) / cdist(X[ix], Y[iy])
    assert slopes.max() == pytest.approx(1.0, rel=1e-5)


def test_neural_w1_certificate_on_parallel_lines():
    """Disjoint supports (lines at distance 1): the penalised critic overshoots the slope, the
    reported value does not exceed exact OT on the test rows."""
    from divest.distributions import ParallelLines
    X = ParallelLines(1.0).rvs(600, random_state=0)
    Y = ParallelLines(0.0).rvs(600, random_state=1)
    est = wasserstein1(X, Y, critic=SMALL, steps=150, rng=0, device="cpu")
    ix, iy = est.details["test_indices"]
    assert est.details["value_unnormalised"] > est.value      # raw overshoot, corrected
    assert est.value <= wasserstein1_exact(X[ix], Y[iy]) + 1e-9
    assert est.value > 0.9


@pytest.mark.parametrize("lipschitz", ["spectral", "clip", "lp"])
def test_neural_w1_other_constraints(gaussians, lipschitz):
    """Spectral norm is a guaranteed lower bound (Lipschitz <= 1); clip is normalised by it."""
    X, Y = gaussians
    est = wasserstein1(X[:1200], Y[:1200], lipschitz=lipschitz, critic=SMALL, steps=200, rng=0,
                       device="cpu")
    assert est.value <= 1.0 + 3 * est.standard_error
    assert est.value >= 0.6
    if lipschitz == "spectral":
        assert est.details["max_gradient_norm"] <= 1.0 + 1e-4


def test_wasserstein1_validation(gaussians):
    X, Y = gaussians
    with pytest.raises(ValueError, match="lipschitz='l2'"):
        wasserstein1(X, Y, lipschitz="l2")
    with pytest.raises(ValueError, match="penalty must lie"):
        wasserstein1(X, Y, penalty=-1.0)
    assert math.isfinite(wasserstein1(X[:100], Y[:100], steps=5, rng=0, device="cpu").value)


def test_user_fdivergence_without_torch_closed_forms(gaussians):
    """An FDivergence object unknown to the torch backend trains through its numpy callables."""
    from test_torch_critics import half_pearson
    X, Y = gaussians
    est = variational(X[:1000], Y[:1000], half_pearson("half_pearson_v"), critic=SMALL, steps=150,
                      rng=0, device="cpu")
    full = variational(X[:1000], Y[:1000], "pearson", critic=SMALL, steps=150, rng=0,
                       device="cpu")
    assert est.details["derivatives"] == "numerical"
    assert full.details["derivatives"] == "analytic"
    # chi2(P||Q) = e - 1 for a unit mean shift; half of it is bounded by (e - 1)/2
    assert est.value <= 0.5 * (math.e - 1) + 2.5 * est.standard_error
    assert est.value > 0.25


def test_critic_function_reproduces_the_value(gaussians):
    """details['critic_function'] is the trained critic on raw rows: the W1 potential and the
    JS critic T rise along the shift direction; T stays inside dom f*."""
    X, Y = gaussians
    w = wasserstein1(X[:600], Y[:600], critic=SMALL, steps=40, rng=0, device="cpu")
    f = w.details["critic_function"]
    assert f(X[:7]).shape == (7,)
    # the potential rises along the shift direction (1, 0)
    line = np.column_stack([np.linspace(-2, 3, 11), np.zeros(11)])
    assert np.all(np.diff(f(line)) > 0)
    est = variational(X[:600], Y[:600], "js", critic=SMALL, steps=40, rng=0, device="cpu")
    t = est.details["critic_function"](line)
    assert np.all(t < 0.5 * math.log(2))       # T lies in dom f* = (-inf, log(2)/2) for JS
    assert t[-1] > t[0]
