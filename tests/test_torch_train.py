"""Training generators (divest.torch.train_gan) and the sample-quality metrics.

The convergence test trains a location-scale generator x = mu + sigma z, started at
N(0, 1), against the target N(2, 0.5^2).  Its tolerance is on the 2-Wasserstein distance
between the fitted and the target Gaussian, sqrt((mu - 2)^2 + (sigma - 0.5)^2) <= 0.2,
a tenth of the starting distance 2.06; a loss with a wrong sign or a swapped argument
moves the generator away or leaves it near its start.
"""

import copy
import math

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

import divest.torch as dtorch  # noqa: E402
from divest.distributions import GaussianGrid, GaussianRing, Mixture  # noqa: E402
from divest.torch import (frechet_distance, kernel_inception_distance, mmd2_gaussian,  # noqa: E402
                          mode_metrics, precision_recall, train_gan, wasserstein1_exact)

TARGET = stats.norm(2.0, 0.5)
SMALL = {"width": 32}



def _w2_gauss(run):
    mu, sigma = float(run.generator.mean[0]), float(run.generator.std[0])
    return math.hypot(mu - 2.0, sigma - 0.5)


@pytest.mark.parametrize("loss, lr, steps", [
    ("nonsaturating", (0.01, 2e-3), 400),
    ("minimax", (0.01, 2e-3), 400),
    ("fgan:kl", (0.01, 2e-3), 400),
    ("hinge", (0.01, 2e-3), 400),
    ("wgan_clip", (0.02, 1e-3), 300),
    ("wgan_lp", (0.01, 2e-3), 250),   # (wgan_gp overshoots in 1-D: see train_gan's Notes)
])
def test_location_scale_generator_fits_a_gaussian(loss, lr, steps):
    n_critic = 3 if loss.startswith("wgan") else None   # papers: 5; 3 suffices here
    run = train_gan(TARGET, loss, generator="location_scale", critic=SMALL, steps=steps,
                    batch_size=128, lr=lr, n_critic=n_critic, metrics=("w1",), rng=0,
                    device="cpu")
    assert _w2_gauss(run) <= 0.2
    # the held-out exact W1 went down from about 2 to near the sampling floor
    assert run.history["w1"][0] > 1.5
    assert run.history["w1"][-1] < 0.3


def test_same_seed_same_run():
    kw = dict(generator="location_scale", critic=SMALL, steps=12, batch_size=32, lr=(0.01, 2e-3),
              metrics=("w1", "mmd"), rng=3, device="cpu")
    a, b = train_gan(TARGET, "wgan_gp", **kw), train_gan(TARGET, "wgan_gp", **kw)
    c = train_gan(TARGET, "wgan_gp", **{**kw, "rng": 4})
    for key in ("critic_loss", "generator_loss", "w1", "mmd2"):
        np.testing.assert_array_equal(a.history[key], b.history[key])
    assert a.history["w1"] != c.history["w1"]
    np.testing.assert_array_equal(a.sample(10, rng=0), b.sample(10, rng=0))
    assert not np.array_equal(a.sample(10, rng=0), a.sample(10, rng=1))
    assert a.sample(7, rng=0).shape == (7, 1)


def test_paper_defaults_are_used():
    run = train_gan(TARGET, "wgan_clip", generator="location_scale", critic=SMALL, steps=2,
                    metrics=(), rng=0, device="cpu")
    cfg = run.config
    assert (cfg["optimizer"], cfg["lr"], cfg["clip"], cfg["n_critic"]) == (
        "rmsprop", (5e-5, 5e-5), 0.01, 5)
    assert max(float(p.detach().abs().max()) for p in run.critic.parameters()) <= 0.01 + 1e-7
    cfg = train_gan(TARGET, "wgan_gp", generator="location_scale", critic=SMALL, steps=2,
                    metrics=(), rng=0, device="cpu").config
    assert (cfg["optimizer"], cfg["lr"], cfg["betas"], cfg["penalty"], cfg["n_critic"]) == (
        "adam", (1e-4, 1e-4), (0.0, 0.9), 10.0, 5)
    assert train_gan(TARGET, "fgan:js", generator="location_scale", critic=SMALL, steps=2,
                     metrics=(), rng=0, device="cpu").config["schedule"] == "single_step"


def test_ring_target_records_mode_metrics(tmp_path):
    ring = GaussianRing(n_modes=8, radius=2.0, std=0.05)
    run = train_gan(ring, "nonsaturating", critic=SMALL, generator={"width": 32, "depth": 2},
                    steps=20, batch_size=64, n_eval=200, eval_every=10, checkpoint_every=10,
                    checkpoint_dir=tmp_path, rng=0, device="cpu")
    h = run.history
    assert h["step"] == [0, 10, 20]
    for key in ("w1", "mmd2", "kl", "modes_captured", "high_quality", "mode_kl"):
        assert len(h[key]) == 3
    assert 0 <= min(h["modes_captured"]) and max(h["modes_captured"]) <= 8
    assert run.mode_spec["centers"].shape == (8, 2)
    assert [s for s, _ in run.checkpoints] == [10, 20]
    state = torch.load(run.checkpoints[-1][1])
    assert state["step"] == 20 and "generator" in state
    final = run.metrics(rng=0)
    assert set(final) >= {"w1", "mmd2", "kl", "modes_captured", "notes"}


def test_sample_array_target_and_other_options():
    """A sample-array target, MMD with learned features, unrolling, R1 and in-memory checkpoints."""
    data = np.random.default_rng(0).normal(2.0, 0.5, size=(400, 1))
    run = train_gan(data, "mmd", generator="location_scale", critic=SMALL, steps=6, n_critic=1,
                    batch_size=32, n_eval=100, metrics=("w1",), checkpoint_every=3, rng=0,
                    device="cpu")
    assert run.target_eval.shape == (100, 1) and run.config["n_data"] == 300
    assert [s for s, _ in run.checkpoints] == [3, 6]
    assert isinstance(run.checkpoints[0][1]["generator"], dict)
    kw = dict(generator="location_scale", critic=SMALL, steps=15, batch_size=32, metrics=(),
              lr=(0.01, 2e-3), rng=0, device="cpu")
    plain = train_gan(TARGET, "nonsaturating", **kw)
    unrolled = train_gan(TARGET, "nonsaturating", unrolled_steps=3, unrolled_optimizer="sgd",
                         unrolled_lr=0.5, **kw)
    assert unrolled.config["unrolled_steps"] == 3
    assert plain.history["generator_loss"][-1] != unrolled.history["generator_loss"][-1]
    r1 = train_gan(TARGET, "nonsaturating", r1=10.0, **kw)
    assert r1.history["critic_loss"][-1] != plain.history["critic_loss"][-1]


def test_train_gan_validation():
    with pytest.raises(ValueError, match="unknown GAN loss"):
        train_gan(TARGET, "wgan")
    with pytest.raises(TypeError, match="target must be a sample array or a distribution"):
        train_gan("normal", "hinge")
    with pytest.raises(ValueError, match="latent_dim"):
        train_gan(TARGET, "hinge", generator=torch.nn.Linear(1, 1), device="cpu")
    with pytest.raises(ValueError, match="lipschitz='l1'"):
        train_gan(TARGET, "hinge", lipschitz="l1")
    with pytest.raises(ValueError, match="metrics='fid'"):
        train_gan(TARGET, "hinge", metrics=("fid",))
    with pytest.raises(ValueError, match="unrolled_optimizer='lbfgs' is not valid"):
        train_gan(TARGET, "hinge", unrolled_steps=1, unrolled_optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"unrolled_lr must lie in \(0.0, inf\); got -0.1"):
        train_gan(TARGET, "hinge", unrolled_steps=1, unrolled_lr=-0.1)
    with pytest.raises(TypeError, match="unrolled_backprop must be True or False; got 'yes'"):
        train_gan(TARGET, "hinge", unrolled_steps=1, unrolled_backprop="yes")


# -------------------------------------------------------------------------------------
# unrolled GAN: the critic's real optimizer, unrolled differentiably (Metz et al. 2017)


def _critic_and_optimizer(make_opt, *, pre_steps=2, dtype=torch.float32, seed=0):
    """A small critic, its optimizer after ``pre_steps`` real steps (non-trivial state)
    and a source of (real, fake) batches."""
    from divest.torch import MLP
    from divest.torch._losses import get_gan_loss
    loss = get_gan_loss("nonsaturating")
    gen = torch.Generator().manual_seed(seed)
    C = MLP(2, width=16, depth=2, rng=seed, device="cpu", dtype=str(dtype)[6:])

    def batch():
        return (torch.randn(32, 2, generator=gen, dtype=dtype) + 1.0,
                torch.randn(32, 2, generator=gen, dtype=dtype))

    opt = make_opt(C.parameters())
    for _ in range(pre_steps):
        xr, xf = batch()
        opt.zero_grad()
        loss.critic_loss(C(xr), C(xf)).backward()
        opt.step()
    return C, opt, loss, batch


def _unroll(C, opt, loss, batches, kind, *, backprop, **kw):
    from divest.torch._train import _unroll_rule, _unrolled_params
    rule = _unroll_rule(kind, C, opt, **kw)
    params = {k: v.detach().requires_grad_(True) for k, v in C.named_parameters()}
    cur, _, state = _unrolled_params(C, loss, params, batches, rule, backprop)
    return rule, cur, state


def _real_steps(C, opt, loss, batches):
    """Copies of the critic and its optimizer (deepcopy keeps the state attached to the
    copied parameters), advanced by the real optimizer on ``batches``."""
    C1, opt1 = copy.deepcopy((C, opt))
    for xr, xf in batches:
        opt1.zero_grad()
        loss.critic_loss(C1(xr), C1(xf)).backward()
        opt1.step()
    return C1, opt1


_OPTIMIZERS = {
    "adam": ("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.999))),
    "adam_eps": ("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.0, 0.9), eps=1e-3)),
    "adamw_amsgrad": ("adam", lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1,
                                                          amsgrad=True)),
    "adam_l2_maximize": ("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=0.1,
                                                            maximize=True)),
    "rmsprop": ("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=1e-2)),
    "rmsprop_centered_momentum": ("rmsprop", lambda ps: torch.optim.RMSprop(
        ps, lr=1e-2, momentum=0.9, centered=True, weight_decay=0.01)),
    "sgd": ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_nesterov": ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                       weight_decay=0.01)),
}


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("which", list(_OPTIMIZERS))
def test_unrolled_update_is_the_real_optimizer_step(which, k):
    """k unrolled steps from the critic optimizer's current state give the parameters and
    state of k real ``optimizer.step()`` calls on a deep copy, same batches, same loss.
    Every update moves a parameter by about lr = 1e-2 (Adam) and the float32 rounding is
    ~1e-7, so 1e-6 separates them (the state, with entries up to ~10, to 1e-5 relative): no bias correction, swapped betas, a step count
    restarted at 0 or an ignored eps/weight decay/momentum change the result by > 1e-4."""
    kind, make_opt = _OPTIMIZERS[which]
    C, opt, loss, batch = _critic_and_optimizer(make_opt)
    before = copy.deepcopy((dict(C.state_dict()), opt.state_dict()))
    batches = [batch() for _ in range(k)]
    C1, opt1 = _real_steps(C, opt, loss, batches)
    for backprop in (False, True):
        rule, cur, state = _unroll(C, opt, loss, batches, kind, backprop=backprop)
        assert rule.from_state
        moved = 0.0
        for name, p in C1.named_parameters():
            np.testing.assert_allclose(cur[name].detach().numpy(), p.detach().numpy(),
                                       rtol=0, atol=1e-6, err_msg=name)
            moved = max(moved, float((p.detach() - C.state_dict()[name]).abs().max()))
            for key, value in opt1.state[p].items():
                if isinstance(value, torch.Tensor) and key != "step":
                    np.testing.assert_allclose(state[name][key].detach().numpy(),
                                               value.numpy(), rtol=1e-5,
                                               atol=1e-5 * float(value.abs().max()))
            if "step" in opt1.state[p]:
                assert state[name]["step"] == float(opt1.state[p]["step"]) == 2 + k
        assert moved > 100 * 1e-6         # the comparison is not vacuous
    # the critic and its optimizer are untouched
    after = (dict(C.state_dict()), opt.state_dict())
    for name, v in before[0].items():
        assert torch.equal(v, after[0][name])
    for i, st in before[1]["state"].items():
        for key, v in st.items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(after[1]["state"][i][key]))


def test_unrolled_fallbacks_lr_override_frozen_parameters_and_clipping():
    """Another optimizer kind than the critic's: fresh state (zero moments, step 0), which
    is a fresh torch optimizer's first steps; ``lr`` overrides the param group's; a
    parameter the optimizer does not own stays fixed; clipping bounds every step."""
    C, opt, loss, batch = _critic_and_optimizer(
        lambda ps: torch.optim.RMSprop(ps, lr=5e-3))
    batches = [batch() for _ in range(2)]
    rule, cur, _ = _unroll(C, opt, loss, batches, "adam", backprop=False, betas=(0.5, 0.9))
    assert not rule.from_state and all(h["lr"] == 5e-3 for h in rule.hyper.values())
    C1, _ = _real_steps(C, torch.optim.Adam(C.parameters(), lr=5e-3, betas=(0.5, 0.9)), loss,
                        batches)
    for name, p in C1.named_parameters():
        np.testing.assert_allclose(cur[name].detach().numpy(), p.detach().numpy(), atol=1e-6)
    # the lr override, and plain SGD without an optimizer (the pre-Adam unrolling)
    _, cur, _ = _unroll(C, None, loss, batches[:1], "sgd", backprop=False, lr=0.3)
    C1, _ = _real_steps(C, torch.optim.SGD(C.parameters(), lr=0.3), loss, batches[:1])
    for name, p in C1.named_parameters():
        np.testing.assert_allclose(cur[name].detach().numpy(), p.detach().numpy(), atol=1e-6)
    # an optimizer over the first layer only: the rest stays fixed
    first, *rest = list(C.named_parameters())
    part = torch.optim.Adam([first[1]], lr=1e-2)
    _, cur, _ = _unroll(C, part, loss, batches, "adam", backprop=True)
    assert not torch.equal(cur[first[0]], first[1])
    assert all(torch.equal(cur[n], p) for n, p in rest)
    # WGAN clipping after every unrolled step
    _, cur, _ = _unroll(C, opt, loss, batches, "rmsprop", backprop=True, clip=0.01)
    assert max(float(v.detach().abs().max()) for v in cur.values()) <= 0.01


def test_unrolled_generator_gradient_is_the_total_derivative():
    """With backprop the generator gradient of the surrogate f(G, D_K(G)) is its total
    derivative, checked against central differences in float64 (error ~1e-9 relative);
    it differs from the k = 0 gradient and from the one that treats D_K as a constant
    (no second-order term) by far more than that."""
    from torch.func import functional_call
    C, opt, loss, batch = _critic_and_optimizer(
        lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.5, 0.999)), dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    K = 3
    real = [batch()[0] for _ in range(K + 1)]
    z = [torch.randn(32, 2, generator=gen, dtype=torch.float64) for _ in range(K + 1)]

    def surrogate(theta, k, backprop):
        fake = [theta[:2] + theta[2:] * zi for zi in z]
        batches = [(real[i], fake[i] if backprop else fake[i].detach()) for i in range(k)]
        _, cur, _ = _unroll(C, opt, loss, batches, "adam", backprop=backprop)
        buffers = dict(C.named_buffers())
        return loss.generator_loss(None, functional_call(C, (cur, buffers), (fake[K],)))

    theta0 = torch.tensor([0.3, -0.2, 0.8, 1.1], dtype=torch.float64)

    def grad(k, backprop):
        theta = theta0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(surrogate(theta, k, backprop), theta)
        return g.numpy()

    full, first_order, plain = grad(K, True), grad(K, False), grad(0, False)
    h = 1e-6
    fd = np.array([(surrogate(theta0 + h * e, K, False).item()
                    - surrogate(theta0 - h * e, K, False).item()) / (2 * h)
                   for e in torch.eye(4, dtype=torch.float64)])
    assert np.all(np.isfinite(full))
    scale = np.linalg.norm(fd)
    np.testing.assert_allclose(full, fd, rtol=0, atol=1e-7 * scale)   # measured: 1e-10
    assert np.linalg.norm(full - first_order) > 1e-2 * scale
    assert np.linalg.norm(full - plain) > 1e-2 * scale


def test_unrolled_adam_gradient_is_finite_at_a_zero_second_moment():
    """A hidden unit with a zero outgoing weight gets exactly zero gradients on its
    incoming weights, so a fresh Adam's second moment is 0 there and d sqrt(v)/dv = inf:
    the unroll uses the subgradient 0 of sqrt at 0 (no 0 * inf = NaN).  A parameter the
    forward pass does not use is skipped, as torch's optimizers skip a None gradient."""
    from torch.func import functional_call
    C, opt, loss, batch = _critic_and_optimizer(lambda ps: torch.optim.SGD(ps, lr=0.1),
                                                pre_steps=0)
    with torch.no_grad():
        C.layers[4].weight[:, 0] = 0.0
    C.unused = torch.nn.Parameter(torch.ones(3))
    xr, z = batch()
    theta = torch.tensor([0.5, 1.0], requires_grad=True)
    _, cur, state = _unroll(C, None, loss, [(xr, theta[0] + theta[1] * z)], "adam",
                            backprop=True, lr=1e-2)
    assert torch.all(state["layers.2.weight"]["exp_avg_sq"][0] == 0)
    assert state["unused"] == {} and torch.equal(cur["unused"], C.unused)
    out = loss.generator_loss(None, functional_call(C, (cur, dict(C.named_buffers())),
                                                    (theta[0] + theta[1] * z,)))
    (g,) = torch.autograd.grad(out, theta)
    assert torch.all(torch.isfinite(g))


class _RecordingAdam(torch.optim.Adam):
    """Adam that snapshots its parameters and state before and after every step."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr, betas=(0.5, 0.999))
        self.log = []

    def _snapshot(self):
        ps = [p.detach().clone() for g in self.param_groups for p in g["params"]]
        st = [{k: v.clone() for k, v in self.state[p].items()}
              for g in self.param_groups for p in g["params"]]
        return ps, st

    def step(self, closure=None):
        self.log.append(self._snapshot())
        out = super().step(closure)
        self.log.append(self._snapshot())
        return out


def _same(a, b):
    (pa, sa), (pb, sb) = a, b
    return (all(torch.equal(x, y) for x, y in zip(pa, pb))
            and all(sx.keys() == sy.keys() and all(torch.equal(sx[k], sy[k]) for k in sx)
                    for sx, sy in zip(sa, sb)))


def test_unrolled_generator_step_leaves_the_critic_and_its_optimizer_alone(monkeypatch):
    """Between two real critic steps only an unrolled generator step runs: the critic's
    parameters and its Adam state (moments, step) are bit-for-bit what the previous real
    step left, and each unroll started from that state at the critic's lr."""
    import divest.torch._train as train_module
    rules = []
    unrolled_params = train_module._unrolled_params

    def spy(critic, loss, params, batches, rule, backprop):
        rules.append(rule)
        return unrolled_params(critic, loss, params, batches, rule, backprop)

    monkeypatch.setattr(train_module, "_unrolled_params", spy)
    made = []

    def make(params, lr):
        made.append(_RecordingAdam(params, lr))
        return made[-1]

    run = train_gan(TARGET, "nonsaturating", generator="location_scale", critic=SMALL, steps=4,
                    batch_size=32, lr=(0.01, 2e-3), optimizer=make, unrolled_steps=2,
                    metrics=(), rng=0, device="cpu")
    (opt_c,) = [o for o in made if o.param_groups[0]["params"][0] is
                next(run.critic.parameters())]
    log = opt_c.log
    assert len(log) == 8                       # before/after 4 critic steps
    for after, before_next in zip(log[1::2], log[2::2]):
        assert _same(after, before_next)
    final = [p.detach() for p in run.critic.parameters()]
    assert all(torch.equal(x, y) for x, y in zip(log[-1][0], final))
    assert len(rules) == 4
    names = [n for n, _ in run.critic.named_parameters()]
    for rule, (_, state) in zip(rules, log[1::2]):
        assert rule.kind == "adam" and rule.from_state
        for name, st in zip(names, state):
            assert rule.hyper[name]["lr"] == 2e-3 and rule.hyper[name]["betas"] == (0.5, 0.999)
            assert rule.state[name]["step"] == float(st["step"])
            assert torch.equal(rule.state[name]["exp_avg"], st["exp_avg"])
            assert torch.equal(rule.state[name]["exp_avg_sq"], st["exp_avg_sq"])
    cfg = run.config
    assert (cfg["unrolled_optimizer"], cfg["unrolled_lr"], cfg["unrolled_from_state"]) == (
        "adam", 2e-3, True)


def test_single_step_unroll_reuses_the_step_batch_and_not_the_critic_update(monkeypatch):
    """schedule="single_step" (Poole's notebook): the K unrolled updates all use the step's
    own batch and start from the critic's optimiser before that step's update; the
    critic's update is the plain single step's, the generator's is not."""
    import divest.torch._train as train_module
    seen = []
    unrolled_params = train_module._unrolled_params

    def spy(critic, loss, params, batches, rule, backprop, **kw):
        seen.append((batches, {k: float(v.get("step", 0)) for k, v in rule.state.items()}))
        return unrolled_params(critic, loss, params, batches, rule, backprop, **kw)

    monkeypatch.setattr(train_module, "_unrolled_params", spy)
    kw = dict(generator="location_scale", critic=SMALL, batch_size=32, lr=(0.01, 2e-3),
              schedule="single_step", metrics=(), rng=0, device="cpu")
    plain = train_gan(TARGET, "minimax", steps=1, **kw)
    unrolled = train_gan(TARGET, "minimax", steps=2, unrolled_steps=3, **kw)
    assert len(seen) == 2
    for step, (batches, state) in enumerate(seen):
        assert len(batches) == 3
        assert all(b[0] is batches[0][0] and b[1] is batches[0][1] for b in batches)
        assert set(state.values()) == {float(step)}       # before this step's update
    assert not torch.equal(seen[0][0][0][0], seen[1][0][0][0])   # a new batch per step
    one = train_gan(TARGET, "minimax", steps=1, unrolled_steps=3, **kw)
    for p, q in zip(plain.critic.parameters(), one.critic.parameters()):
        assert torch.equal(p, q)
    assert not all(torch.equal(p, q) for p, q in zip(plain.generator.parameters(),
                                                     one.generator.parameters()))
    assert unrolled.config["schedule"] == "single_step"
    assert unrolled.config["unrolled_steps"] == 3


def test_unrolled_train_gan_is_deterministic_and_sgd_still_works():
    kw = dict(generator="location_scale", critic=SMALL, steps=8, batch_size=32,
              lr=(0.01, 2e-3), unrolled_steps=2, metrics=("w1",), rng=5, device="cpu")
    a, b = train_gan(TARGET, "nonsaturating", **kw), train_gan(TARGET, "nonsaturating", **kw)
    c = train_gan(TARGET, "nonsaturating", **{**kw, "rng": 6})
    for key in ("critic_loss", "generator_loss", "w1"):
        np.testing.assert_array_equal(a.history[key], b.history[key])
    assert a.history["generator_loss"] != c.history["generator_loss"]
    sgd = train_gan(TARGET, "nonsaturating", unrolled_optimizer="sgd", unrolled_lr=0.5, **kw)
    assert (sgd.config["unrolled_optimizer"], sgd.config["unrolled_lr"],
            sgd.config["unrolled_from_state"]) == ("sgd", 0.5, False)
    assert np.all(np.isfinite(sgd.history["generator_loss"][1:]))
    assert sgd.history["generator_loss"] != a.history["generator_loss"]
    # WGAN with clipping: RMSprop is the critic's optimizer, unrolled from its state
    w = train_gan(TARGET, "wgan_clip", n_critic=1, unrolled_optimizer="rmsprop",
                  **{**kw, "lr": None})
    assert w.config["unrolled_from_state"] and w.config["unrolled_lr"] == 5e-5


def test_unrolled_zero_sum_generator_minimises_the_saddle_objective():
    """Metz et al.'s surrogate for a zero-sum loss is f(G, D_K) = -L_D(G, D_K), whose
    real-data term depends on G through D_K: the minimax generator's recorded loss is
    L_G - E_P softplus(-D_K(x)) (below the L_G-only surrogate on the same generated batch,
    which is drawn first), and the generator moves differently; without unrolling the
    two are the same run."""
    import dataclasses
    minimax = dtorch.get_gan_loss("minimax")
    assert minimax.zero_sum
    l_g_only = dataclasses.replace(minimax, name="minimax_lg_only", zero_sum=False)
    kw = dict(generator="location_scale", critic=SMALL, steps=1, eval_every=1, batch_size=32,
              lr=(0.01, 2e-3), metrics=("w1",), rng=5, device="cpu")
    a = train_gan(TARGET, minimax, unrolled_steps=2, **kw)
    b = train_gan(TARGET, l_g_only, unrolled_steps=2, **kw)
    assert a.history["generator_loss"][1] < b.history["generator_loss"][1] < 0
    assert not torch.equal(a.generator.mean, b.generator.mean)
    a0, b0 = train_gan(TARGET, minimax, **kw), train_gan(TARGET, l_g_only, **kw)
    assert a0.history["generator_loss"] == b0.history["generator_loss"]
    assert torch.equal(a0.generator.mean, b0.generator.mean)


# -------------------------------------------------------------------------------------
# metrics


def test_wasserstein1_exact():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(1.0, 1.0, size=60)
    # 1-D: the sorted-sample formula; 2-D with a zero second coordinate: the same problem
    w_1d = wasserstein1_exact(x, y)
    assert w_1d == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-12)
    X2 = np.column_stack([x, np.zeros(50)])
    Y2 = np.column_stack([y, np.zeros(60)])
    assert wasserstein1_exact(X2, Y2) == pytest.approx(w_1d, rel=1e-9)
    # a translation by (3, 4) moves every point by 5
    Z = rng.normal(size=(40, 2))
    assert wasserstein1_exact(Z, Z + [3.0, 4.0]) == pytest.approx(5.0, rel=1e-12)


def test_frechet_distance_matches_the_gaussian_formula():
    """With exact moments the FID formula is the Bures W2^2 of two Gaussians (commuting case:
    |mu1 - mu2|^2 + sum (s1 - s2)^2)."""
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(4000, 2))
    Z = (Z - Z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(Z, rowvar=False))).T
    X = Z * [1.0, 2.0]
    Y = Z * [3.0, 0.5] + [1.0, -1.0]
    assert frechet_distance(X, Y) == pytest.approx(2.0 + (1 - 3) ** 2 + (2 - 0.5) ** 2,
                                                   rel=1e-9)
    # a non-commuting case against scipy's sqrtm
    from scipy import linalg
    A = rng.normal(size=(300, 3))
    B = rng.normal(size=(300, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 2.0]])
    S1, S2 = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    ref = (np.sum((A.mean(0) - B.mean(0)) ** 2) + np.trace(S1 + S2)
           - 2 * np.trace(linalg.sqrtm(S1 @ S2).real))
    assert frechet_distance(A, B) == pytest.approx(ref, rel=1e-8)


def test_kid_is_unbiased_near_zero_for_equal_distributions():
    """Unbiased: over 40 independent data sets from one distribution the mean is 0 within
    4 standard errors of that mean (subsets of one data set are correlated, so the
    subset-based error is not used for this)."""
    rng = np.random.default_rng(2)
    vals = [kernel_inception_distance(rng.normal(size=(100, 4)), rng.normal(size=(100, 4)),
                                      n_subsets=2, subset_size=60, rng=i).value for i in range(40)]
    assert abs(np.mean(vals)) < 4 * np.std(vals, ddof=1) / math.sqrt(40)
    X, Y = rng.normal(size=(600, 4)), rng.normal(size=(600, 4))
    far = kernel_inception_distance(X, Y + 0.5, n_subsets=30, subset_size=300, rng=0)
    assert far.value > 10 * far.standard_error
    # polynomial kernel by hand for one subset of everything
    one = kernel_inception_distance(X[:5], Y[:5], n_subsets=1, subset_size=5, rng=0)
    k = lambda A, B: (A @ B.T / 4 + 1.0) ** 3  # noqa: E731
    Kxx, Kyy, Kxy = k(X[:5], X[:5]), k(Y[:5], Y[:5]), k(X[:5], Y[:5])
    ref = ((Kxx.sum() - np.trace(Kxx)) / 20 + (Kyy.sum() - np.trace(Kyy)) / 20
           - 2 * Kxy.mean())
    assert one.value == pytest.approx(ref, rel=1e-12)


def test_mmd2_gaussian_by_hand():
    X = np.array([[0.0], [1.0], [3.0]])
    Y = np.array([[0.5], [2.0]])
    torch_value = float(dtorch.mmd2(torch.tensor(X), torch.tensor(Y), bandwidths=(1.0,)))
    assert mmd2_gaussian(X, Y, bandwidth=1.0) == pytest.approx(torch_value, rel=1e-12)


def test_precision_recall():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(400, 2))
    same = precision_recall(real, real, k=3)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    half = precision_recall(real, real[real[:, 0] > 0], k=3)   # only one half covered
    assert half["precision"] == 1.0
    assert 0.4 < half["recall"] < 0.65
    far = precision_recall(real, real + 20.0, k=3)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    with pytest.raises(ValueError, match="k=5 needs more than k rows"):
        precision_recall(real[:5], real, k=5)


def test_mode_metrics_by_construction():
    grid = GaussianGrid()                       # 25 modes, std 0.05
    c = grid.centers
    # 3 samples on mode 0 (high quality), 1 near mode 1 within 3 std, 1 far from every mode
    s = np.vstack([c[0], c[0] + [0.01, 0], c[0] - [0, 0.02], c[1] + [0.14, 0], c[2] + [0.5, 0]])
    mm = mode_metrics(s, c, grid.std)
    assert mm["modes_captured"] == 2
    assert mm["high_quality"] == pytest.approx(4 / 5)
    q = np.array([3, 1, 1]) / 5                  # nearest modes of all five samples
    assert mm["mode_kl"] == pytest.approx(float(np.sum(q * np.log(q * 25))))
    perfect = mode_metrics(c, c, grid.std)
    assert perfect["modes_captured"] == 25 and perfect["mode_kl"] == pytest.approx(0.0, abs=1e-12)
    assert mode_metrics(s, c, grid.std, min_count=2)["modes_captured"] == 1
    with pytest.raises(ValueError, match="std must be positive"):
        mode_metrics(s, c, 0.0)


def test_mode_spec_of_a_1d_mixture():
    from divest.torch._train import _mode_spec
    mix = Mixture([stats.norm(-2, 0.5), stats.norm(3, 1.0)], [0.3, 0.7])
    spec = _mode_spec(mix)
    np.testing.assert_allclose(spec["centers"].ravel(), [-2, 3])
    np.testing.assert_allclose(spec["std"], [0.5, 1.0])
    assert _mode_spec(stats.norm()) is None


def test_progress_bar(capsys):
    train_gan(TARGET, "hinge", generator="location_scale", critic=SMALL, steps=4, metrics=(),
              progress=True, rng=0, device="cpu")
    assert "train_gan[hinge]" in capsys.readouterr().err
