"""Neural mutual-information bounds on all in-batch pairs (divest.torch.mi_bound).

The per-batch bounds are checked against loops over a fixed score matrix; the engine on a
correlated Gaussian with tolerances from the reported standard errors.
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import divest as dv  # noqa: E402
from divest.torch import mi_bound, mi_bounds  # noqa: E402
from divest.torch import _mi  # noqa: E402

K = 6
SMALL = {"hidden": (32,), "embedding": 8, "device": "cpu"}


def _gauss_sampler(mi, d, seed):
    """x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) e: I = -(d/2) log(1 - rho^2) = mi."""
    rho = math.sqrt(1.0 - math.exp(-2.0 * mi / d))
    g = np.random.default_rng(seed)

    def sampler(k):
        x = g.standard_normal((k, d))
        return x, rho * x + math.sqrt(1.0 - rho * rho) * g.standard_normal((k, d))
    return sampler


@pytest.fixture(scope="module")
def scores():
    """A fixed score matrix in Poole's layout (row i: y_i, column j: x_j) and a baseline."""
    g = np.random.default_rng(3)
    s = g.normal(size=(K, K)) + 2.0 * np.eye(K)
    la = g.normal(size=K)
    return s, la


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _off(K):
    return [(i, j) for i in range(K) for j in range(K) if i != j]


def _softplus(v):
    return math.log1p(math.exp(-abs(v))) + max(v, 0.0)


def _by_hand(bound, s, la, **p):
    """Every bound written with loops from its formula (the reference)."""
    k = len(s)
    diag = sum(s[i, i] for i in range(k)) / k
    mean_off = lambda f: sum(f(i, j) for i, j in _off(k)) / (k * (k - 1))  # noqa: E731
    if bound in ("nwj", "js", "fdual"):
        return diag - mean_off(lambda i, j: math.exp(s[i, j] - 1.0))
    if bound in ("dv", "mine"):
        return diag - math.log(mean_off(lambda i, j: math.exp(s[i, j])))
    if bound == "infonce":
        return math.log(k) + sum(s[i, i] - math.log(sum(math.exp(s[i, j]) for j in range(k)))
                                 for i in range(k)) / k
    if bound == "tuba":
        return (1.0 + sum(s[i, i] - la[i] for i in range(k)) / k
                - mean_off(lambda i, j: math.exp(s[i, j] - la[i])))
    if bound == "smile":
        tau = p["tau"]
        return diag - math.log(mean_off(lambda i, j: math.exp(min(max(s[i, j], -tau), tau))))
    if bound == "interpolated":
        a = p["alpha"]

        def base(i, j):  # log(alpha * mean_{l != j} e^{s_il} + (1 - alpha) a(y_i))
            loo = sum(math.exp(s[i, m]) for m in range(k) if m != j) / (k - 1)
            return math.log(a * loo + (1 - a) * math.exp(la[i]))
        joint = mean_off(lambda i, j: s[i, i] - base(i, j))
        marg = mean_off(lambda i, j: math.exp(s[i, j] - base(i, i)))
        return 1.0 + joint - marg
    raise AssertionError(bound)


PARAMS = {"smile": {"tau": 1.5}, "interpolated": {"alpha": 0.3}, "mine": {"momentum": 0.9},
          "js": {"shift": 0.0}, "fdual": {"divergence": "kl"}}


@pytest.mark.parametrize("bound", mi_bounds())
def test_each_bound_equals_its_formula(bound, scores):
    s, la = scores
    params = _mi._check_params(bound, dict(PARAMS.get(bound, {})))
    value, objective = _mi._bound_fn(bound, params)(_t(s), _t(la))
    assert float(value) == pytest.approx(_by_hand(bound, s, la, **PARAMS.get(bound, {})),
                                         rel=1e-12, abs=1e-12)
    if bound in ("js", "smile"):  # trained with the JS f-GAN objective
        k = len(s)
        js = (sum(-_softplus(-s[i, i]) for i in range(k)) / k
              - sum(_softplus(s[i, j]) for i, j in _off(k)) / (k * (k - 1)))
        assert float(objective) == pytest.approx(js, rel=1e-12)
    elif bound != "mine":
        assert float(objective) == float(value)


def test_js_shift_and_the_f_dual_of_other_divergences(scores):
    s, la = scores
    params = _mi._check_params("js", {"shift": 1.0})
    value, _ = _mi._bound_fn("js", params)(_t(s), None)
    assert float(value) == pytest.approx(_by_hand("nwj", s + 1.0, la), rel=1e-12)
    for name, extra in (("js", {}), ("pearson", {}), ("alpha", {"alpha": 0.5})):
        fd = dv.get_fdivergence(name, **extra)
        params = _mi._check_params("fdual", {"divergence": name, **extra})
        value, _ = _mi._bound_fn("fdual", params)(_t(s), None)
        T = fd.activation(s)
        k = len(s)
        want = (np.trace(T) / k
                - sum(fd.conjugate(T[i, j]) for i, j in _off(k)) / (k * (k - 1)))
        assert float(value) == pytest.approx(want, rel=1e-10)


def test_mine_gradient_uses_the_moving_average(scores):
    """Gradient of MINE's objective: d joint - d(mean off-diag e^s) / EMA; value = DV."""
    s, _ = scores
    fn = _mi._bound_fn("mine", {"momentum": 0.5})
    a = _t(s).requires_grad_(True)
    value, obj = fn(a, None)
    obj.backward()
    b = _t(s).requires_grad_(True)
    _mi._dv(b).backward()
    assert torch.allclose(a.grad, b.grad)       # first batch: EMA = the batch mean → DV's
    part1 = float(torch.exp(_mi._logmeanexp_offdiag(_t(s))))
    s2 = s + 0.7 * np.eye(K) - 0.2
    c = _t(s2).requires_grad_(True)
    value, obj = fn(c, None)
    obj.backward()
    part2 = float(torch.exp(_mi._logmeanexp_offdiag(_t(s2))))
    ema = 0.5 * part1 + 0.5 * part2
    assert fn.state.ema.item() == pytest.approx(ema)
    k = K
    want = np.where(np.eye(k, dtype=bool), 1.0 / k, -np.exp(s2) / (k * (k - 1)) / ema)
    assert np.allclose(c.grad.numpy(), want)
    assert float(value.detach()) == pytest.approx(_by_hand("dv", s2, None))


@pytest.mark.parametrize("bound", ["nwj", "dv", "tuba", "js", "smile", "fdual", "mine"])
def test_product_term_uses_exactly_the_off_diagonal_pairs(bound, scores):
    """Changing a diagonal score changes only the joint term (by its share 1/K); changing
    an off-diagonal score leaves the joint term alone."""
    s, la = scores
    params = _mi._check_params(bound, dict(PARAMS.get(bound, {})))
    ev = _mi._eval_fn(bound, params)
    base = float(ev(_t(s), _t(la)))
    s2 = s.copy()
    s2[2, 2] += 0.9
    delta = float(ev(_t(s2), _t(la))) - base
    assert delta == pytest.approx(0.9 / K, rel=1e-9)
    # the product term alone: replace the diagonal by anything, it stays the same
    s3 = s.copy()
    np.fill_diagonal(s3, -50.0)
    s4 = s.copy()
    np.fill_diagonal(s4, 50.0)
    d3 = float(ev(_t(s3), _t(la))) - (-50.0 - (la.mean() if bound == "tuba" else 0.0))
    d4 = float(ev(_t(s4), _t(la))) - (50.0 - (la.mean() if bound == "tuba" else 0.0))
    assert d3 == pytest.approx(d4, rel=1e-9, abs=1e-9)


def test_infonce_never_exceeds_log_k():
    g = np.random.default_rng(5)
    for scale in (0.1, 1.0, 10.0, 100.0):
        s = g.normal(scale=scale, size=(K, K)) + scale * 5 * np.eye(K)
        assert float(_mi._infonce(_t(s))) <= math.log(K) + 1e-12
    s = 1e4 * np.eye(K)                       # a perfect critic reaches the cap
    assert float(_mi._infonce(_t(s))) == pytest.approx(math.log(K))


def test_infonce_run_is_capped_at_log_batch_size():
    """MI = 6 nats > log 8: the held-out value and every history entry stay <= log 8."""
    est = mi_bound(sampler=_gauss_sampler(6.0, 3, 1), bound="infonce", steps=300,
                   batch_size=8, eval_size=400, rng=0, **SMALL)
    cap = est.details["log_k_cap"]
    assert cap == pytest.approx(math.log(8))
    assert est.value <= cap and max(est.details["history"]["held_out"]) <= cap
    assert est.details["train_values"].max() <= cap + 1e-6
    assert est.value > 0.5 * cap                 # near the cap: the bias is the cap


def test_correlated_gaussian_lands_in_a_standard_error_band():
    """d = 2 per side, I = 0.5 nats, 400 steps: held-out value <= I + 4 SE (a lower bound)
    and >= I - 4 SE - 0.15 (the approximation/optimisation gap allowed to a small critic
    after 400 steps: 30% of I)."""
    truth = 0.5
    for bound in ("nwj", "infonce", "dv", "js", "tuba"):
        est = mi_bound(sampler=_gauss_sampler(truth, 2, 11), bound=bound, steps=400,
                       batch_size=64, hidden=(64,), embedding=16, rng=2, device="cpu",
                       **({"shift": 1.0} if bound == "js" else {}))
        se = est.standard_error
        assert 0 < se < 0.05
        assert est.value <= truth + 4 * se, (bound, est)
        assert est.value >= truth - 4 * se - 0.15, (bound, est)
        assert est.is_lower_bound and est.method == "neural" and est.name == "mi"
        assert est.n_p == est.n_q == 64 * 64
        h = est.details["history"]
        assert h["step"][-1] == 400 and len(h["held_out"]) == len(h["train"]) == 20
        assert abs(est.details["train_estimate"] - truth) < 0.25


def test_arrays_split_and_estimate():
    g = np.random.default_rng(0)
    X = g.normal(size=(1200, 2))
    Y = 0.8 * X + 0.6 * g.normal(size=(1200, 2))     # I = -log(0.36) = 1.02
    est = mi_bound(X, Y, bound="nwj", steps=300, rng=0, **SMALL)
    assert est.details["n_train"] == 600 and est.details["n_held_out"] == 576
    assert est.n_p == 576 and est.details["eval_batches"] == 9
    assert est.value <= 1.02 + 4 * est.standard_error
    assert est.value > 0.5


def test_f_dual_of_another_divergence_is_named_after_it():
    est = mi_bound(sampler=_gauss_sampler(0.5, 2, 0), bound="fdual", divergence="js",
                   steps=100, batch_size=16, eval_size=64, rng=0, **SMALL)
    assert est.name == "js" and est.details["divergence"] == "js"
    assert est.value <= math.log(2) + 4 * est.standard_error
    kl = mi_bound(sampler=_gauss_sampler(0.5, 2, 0), bound="fdual", steps=100,
                  batch_size=16, eval_size=64, rng=0, **SMALL)
    nwj = mi_bound(sampler=_gauss_sampler(0.5, 2, 0), bound="nwj", steps=100,
                   batch_size=16, eval_size=64, rng=0, **SMALL)
    assert kl.name == "mi" and kl.value == pytest.approx(nwj.value, rel=1e-5)


def test_smile_is_not_labelled_a_bound():
    est = mi_bound(sampler=_gauss_sampler(0.5, 2, 0), bound="smile", steps=50, batch_size=16,
                   eval_size=64, rng=0, **SMALL)
    assert not est.is_lower_bound and est.details["tau"] == 5.0
    est = mi_bound(sampler=_gauss_sampler(0.5, 2, 0), bound="smile", tau=None, steps=50,
                   batch_size=16, eval_size=64, rng=0, **SMALL)
    assert est.is_lower_bound


def test_swapping_x_and_y_gives_the_same_distribution():
    """The Gaussian task is symmetric in (X, Y): over seeds, the held-out values with X, Y
    swapped have the same mean within 4 standard errors of the difference of means."""
    g = np.random.default_rng(8)
    X = g.normal(size=(800, 2))
    Y = 0.7 * X + math.sqrt(1 - 0.49) * g.normal(size=(800, 2))
    a = [mi_bound(X, Y, steps=150, batch_size=32, rng=s, **SMALL).value for s in range(5)]
    b = [mi_bound(Y, X, steps=150, batch_size=32, rng=s, **SMALL).value for s in range(5)]
    sd = math.sqrt(np.var(a, ddof=1) / 5 + np.var(b, ddof=1) / 5)
    assert abs(np.mean(a) - np.mean(b)) <= 4 * sd + 0.02


@pytest.mark.parametrize("critic", ["separable", "concat"])
def test_same_rng_same_numbers(critic):
    g = np.random.default_rng(1)
    X = g.normal(size=(300, 2))
    Y = X + g.normal(size=(300, 2))
    kw = dict(bound="interpolated", critic=critic, steps=40, batch_size=16, rng=7, **SMALL)
    e1, e2 = mi_bound(X, Y, **kw), mi_bound(X, Y, **kw)
    assert e1.value == e2.value and e1.standard_error == e2.standard_error
    assert np.array_equal(e1.details["train_values"], e2.details["train_values"])
    s1 = mi_bound(sampler=_gauss_sampler(1.0, 2, 4), steps=30, batch_size=16, eval_size=64,
                  rng=np.random.default_rng(2), **SMALL)
    s2 = mi_bound(sampler=_gauss_sampler(1.0, 2, 4), steps=30, batch_size=16, eval_size=64,
                  rng=np.random.default_rng(2), **SMALL)
    assert s1.value == s2.value


def test_warm_start_continues_training_the_same_critic():
    sampler = _gauss_sampler(1.0, 2, 6)
    first = mi_bound(sampler=sampler, bound="tuba", steps=60, batch_size=16, eval_size=64,
                     rng=0, **SMALL)
    net, base = first.details["critic"], first.details["baseline"]
    w0 = net.g[0].weight.detach().clone()
    second = mi_bound(sampler=sampler, bound="tuba", critic=net, baseline=base, steps=60,
                      batch_size=16, eval_size=64, rng=1, **SMALL)
    assert second.details["critic"] is net and second.details["baseline"] is base
    assert not torch.equal(w0, net.g[0].weight)
    assert second.details["critic_kind"] == "separable"


def test_user_module_critic():
    class Bilinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.zeros(2, 2))

        def forward(self, x, y):
            return x @ self.W @ y.T

    est = mi_bound(sampler=_gauss_sampler(0.5, 2, 0), critic=Bilinear(), bound="infonce",
                   steps=200,
                   batch_size=32, eval_size=256, lr=1e-2, rng=0, device="cpu")
    assert est.details["critic_kind"] == "Bilinear" and est.value > 0.2

    class Wrong(torch.nn.Module):
        def forward(self, x, y):
            return x.sum(1)
    with pytest.raises(ValueError, match=r"critic must return scores of shape \(K, K\)"):
        mi_bound(sampler=_gauss_sampler(0.5, 2, 0), critic=Wrong(), steps=1, batch_size=4,
                 eval_size=8, device="cpu")


# --------------------------------------------------------------------- bad input


def _xy(n=100, dx=2, dy=3):
    g = np.random.default_rng(0)
    return g.normal(size=(n, dx)), g.normal(size=(n, dy))


def test_bad_arrays():
    X, Y = _xy()
    with pytest.raises(ValueError, match=r"same number of rows.*\(100, 2\).*\(99, 3\)"):
        mi_bound(X, Y[:99], steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"X needs at least 8 samples.*\(1, 2\)"):
        mi_bound(X[:1], Y[:1], steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"X must not be empty"):
        mi_bound(X[:0], Y[:0], steps=1, device="cpu")
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 non-finite.*\(3, 1\)"):
        mi_bound(Xn, Y, steps=1, device="cpu")
    Yi = Y.copy()
    Yi[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"Y contains 1 non-finite"):
        mi_bound(X, Yi, steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"batch_size=64 is larger than the training part: 50"):
        mi_bound(X, Y, batch_size=64, steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"batch_size=30 is larger than half the held-out"):
        mi_bound(X, Y, batch_size=30, steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"pass X and Y .* or sampler"):
        mi_bound(X, None, steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"pass X and Y .* or sampler"):
        mi_bound(steps=1, device="cpu")


def test_pandas_and_tensor_inputs():
    pd = pytest.importorskip("pandas")
    X, Y = _xy(200)
    a = mi_bound(pd.DataFrame(X), torch.tensor(Y), steps=5, batch_size=16, rng=0, **SMALL)
    b = mi_bound(X, Y, steps=5, batch_size=16, rng=0, **SMALL)
    assert a.value == pytest.approx(b.value, rel=1e-6)


def test_bad_sampler():
    good = _gauss_sampler(0.5, 2, 0)
    X, Y = _xy()
    with pytest.raises(ValueError, match="either X and Y or sampler, not both"):
        mi_bound(X, Y, sampler=good, steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"sampler\(128\) must return X of shape \(128, d\); "
                                         r"got shape \(127, 2\)"):
        mi_bound(sampler=lambda k: (np.zeros((k - 1, 2)), np.zeros((k - 1, 2))), steps=1,
                 batch_size=16, eval_size=128, device="cpu")
    with pytest.raises(TypeError, match=r"must return a pair \(X, Y\)"):
        mi_bound(sampler=lambda k: np.zeros((k, 2)), steps=1, batch_size=16, device="cpu")
    with pytest.raises(TypeError, match=r"sampler\(64\) X must be array-like of real.*string"):
        mi_bound(sampler=lambda k: (np.array(["a"] * k), np.zeros((k, 1))), steps=1,
                 batch_size=16, eval_size=64, device="cpu")
    calls = []

    def drifting(k):
        calls.append(k)
        d = 2 if len(calls) < 3 else 3
        return np.zeros((k, d)), np.zeros((k, 2))
    with pytest.raises(ValueError, match=r"sampler changed the dimensions at training step 2: "
                                         r"X has 3 and Y 2 columns.*dx=2, dy=2"):
        mi_bound(sampler=drifting, steps=5, batch_size=16, eval_size=64, **SMALL)

    def nan_later(k, state=[0]):
        state[0] += 1
        x = np.ones((k, 2))
        if state[0] == 4:
            x[0, 0] = np.nan
        return x, x
    with pytest.raises(ValueError, match=r"sampler X contains non-finite.*at training step 3"):
        mi_bound(sampler=nan_later, steps=5, batch_size=16, eval_size=64, **SMALL)

    def nan_tensor(k, state=[0]):
        state[0] += 1
        x = torch.ones(k, 2)
        if state[0] == 4:
            x[0, 0] = float("nan")
        return x, x
    with pytest.raises(ValueError, match=r"non-finite values .* at or before training step 3"):
        mi_bound(sampler=nan_tensor, steps=5, batch_size=16, eval_size=64, **SMALL)
    with pytest.raises(ValueError, match=r"eval_size=16 must be at least 2 \* batch_size = 32"):
        mi_bound(sampler=good, steps=1, batch_size=16, eval_size=16, device="cpu")
    with pytest.raises(TypeError, match="sampler must be a callable"):
        mi_bound(sampler=3, steps=1, device="cpu")


def test_bad_options():
    good = _gauss_sampler(0.5, 2, 0)
    with pytest.raises(ValueError, match=r"bound='mi' is not valid; choose one of 'dv', "
                                         r"'fdual', 'infonce'"):
        mi_bound(sampler=good, bound="mi")
    with pytest.raises(TypeError, match=r"unexpected parameter\(s\) \['tau'\]; valid: alpha"):
        mi_bound(sampler=good, bound="interpolated", tau=1.0)
    with pytest.raises(TypeError, match=r"bound='nwj'.*unexpected.*\['alpha'\]; valid: none"):
        mi_bound(sampler=good, bound="nwj", alpha=0.5)
    with pytest.raises(ValueError, match=r"alpha must lie in \(0.0, 1.0\); got 1.5"):
        mi_bound(sampler=good, bound="interpolated", alpha=1.5)
    with pytest.raises(ValueError, match="tau must lie in"):
        mi_bound(sampler=good, bound="smile", tau=-1.0)
    with pytest.raises(ValueError, match="unknown divergence name='nope'; valid names: kl"):
        mi_bound(sampler=good, bound="fdual", divergence="nope")
    with pytest.raises(TypeError, match="critic must be 'separable', 'concat' or a torch"):
        mi_bound(sampler=good, critic="bilinear")
    with pytest.raises(ValueError, match="batch_size must be >= 2; got 1"):
        mi_bound(sampler=good, batch_size=1)
    with pytest.raises(ValueError, match="baseline is used by bound='tuba' and 'interpolated'"):
        mi_bound(sampler=good, baseline=torch.nn.Linear(2, 1), steps=1, batch_size=4,
                 eval_size=8, device="cpu")
    first = mi_bound(sampler=good, steps=1, batch_size=4, eval_size=8, **SMALL)
    with pytest.raises(ValueError, match=r"critic was built for dx=2, dy=2; the data have "
                                         r"dx=3, dy=3"):
        mi_bound(sampler=_gauss_sampler(0.5, 3, 0), critic=first.details["critic"], steps=1,
                 batch_size=4, eval_size=8, device="cpu")
