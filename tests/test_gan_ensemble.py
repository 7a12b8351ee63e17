"""Seed ensembles (issue 18): each member is its single run bit for bit; clear errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from divest.torch import (DATASETS, GANEnsemble, GANRun, gan_losses,  # noqa: E402
                          train_gan, train_gan_ensemble)

RING = DATASETS["ring"][0]()
SMALL = {"steps": 4, "eval_every": 2, "metrics": ("w1", "modes"), "n_eval": 200,
         "n_data": 2000, "device": "cpu"}


def _assert_identical(alone: GANRun, member: GANRun):
    for net in ("generator", "critic"):
        a, b = getattr(alone, net).state_dict(), getattr(member, net).state_dict()
        assert list(a) == list(b)
        for k in a:
            assert torch.equal(a[k], b[k]), f"{net} {k}: max |diff| {(a[k] - b[k]).abs().max()}"
    for k, v in alone.history.items():
        if k != "seconds":
            np.testing.assert_array_equal(np.asarray(v), np.asarray(member.history[k]),
                                          err_msg=k)
    # and the trained generators sample alike
    np.testing.assert_array_equal(alone.sample(50, rng=3), member.sample(50, rng=3))


CASES = [
    ("nonsaturating", {}),                                   # alternating, default MLPs
    ("wgan_gp", {}),                                         # per-sample gradient penalty
    ("wgan_lp", {"pack": 2}),                                # one-sided penalty per pack
    ("wgan_clip", {}),                                       # RMSprop, weight clipping
    ("hinge", {}),                                           # spectral normalisation
    ("mmd", {}),                                             # feature critic [x, phi(x)]
    ("fgan:kl", {}),                                         # simultaneous updates
    ("nonsaturating", {"schedule": "simultaneous", "r1": 1.0}),
    ("nonsaturating", {"schedule": "simultaneous", "r1": 1.0, "pack": 2}),   # R1 per pack
    ("least_squares", {"pack": 3, "batch_size": 63}),
    ("minimax", {"preset": "unrolled", "unrolled_steps": 0, "batch_size": 64}),
    ("nonsaturating", {"unrolled_steps": 2, "unrolled_backprop": False}),
    ("wgan_clip", {"unrolled_steps": 2, "unrolled_optimizer": "rmsprop",
                   "unrolled_backprop": False}),
    ("minimax", {"unrolled_steps": 2, "unrolled_backprop": False,      # Poole's notebook
                 "schedule": "single_step"}),
    ("nonsaturating", {"dtype": "float64"}),
]


@pytest.mark.parametrize("loss, extra", CASES, ids=[f"{c[0]}-{'-'.join(c[1])}" for c in CASES])
def test_members_are_their_single_runs_bit_for_bit(loss, extra):
    kw = {**SMALL, **extra}
    seeds = [0, 5, 2]
    ens = train_gan_ensemble(RING, loss, seeds=seeds, **kw)
    assert isinstance(ens, GANEnsemble) and ens.errors == (None,) * 3
    for i in (0, 2):
        _assert_identical(train_gan(RING, loss, rng=seeds[i], **kw), ens[i])
    # the members are distinct runs (not one generator shared by all)
    assert not torch.equal(ens[0].generator.state_dict()["net.layers.0.weight"]
                           if "net.layers.0.weight" in ens[0].generator.state_dict()
                           else next(iter(ens[0].generator.state_dict().values())),
                           ens[1].generator.state_dict()["net.layers.0.weight"]
                           if "net.layers.0.weight" in ens[1].generator.state_dict()
                           else next(iter(ens[1].generator.state_dict().values())))
    assert ens[1].config["seed"] == 5 and ens.config["ensemble_size"] == 3


@pytest.mark.parametrize("loss", sorted(gan_losses()))
def test_every_loss_trains_in_an_ensemble(loss):
    """Every registered loss trains in an ensemble, its members the single runs (Jeffreys'
    conjugate, through Lambert's W, included)."""
    kw = {**SMALL, "steps": 2, "eval_every": 2, "metrics": ("w1",)}
    ens = train_gan_ensemble(RING, loss, seeds=[1, 4], **kw)
    _assert_identical(train_gan(RING, loss, rng=4, **kw), ens[1])


def test_a_loss_that_cannot_be_batched_raises_saying_so():
    """A user f-divergence without a torch closed form goes through numpy, which torch.vmap
    cannot batch: the ensemble refuses, naming the loss and the way out."""
    import divest as dv
    from divest.fdiv import _unregister
    base = dv.get_fdivergence("pearson")
    fd = dv.FDivergence(name="half_pearson_ens", f=lambda u: 0.5 * base.f(u),
                        f_prime=lambda u: 0.5 * base.f_prime(u),
                        conjugate=lambda t: 0.5 * base.conjugate(2 * np.asarray(t)),
                        conjugate_domain=base.conjugate_domain, activation=base.activation,
                        value_range=base.value_range, symmetric=False)
    dv.register_fdivergence(fd)
    try:
        with pytest.raises(ValueError, match=r"'fgan:half_pearson_ens'.*cannot be batched by "
                                             r"torch\.vmap.*train_gan"):
            train_gan_ensemble(RING, "fgan:half_pearson_ens", seeds=[0, 1],
                               **{**SMALL, "steps": 2, "eval_every": 2, "metrics": ("w1",)})
    finally:
        _unregister("half_pearson_ens")


def test_wide_networks_and_presets():
    """wgan_gp_toy (3 x 512) is bitwise too; PacGAN's batch-norm generator and maxout
    critic go through torch.vmap and agree with their single runs to rounding."""
    kw = {**SMALL, "steps": 2, "eval_every": 2, "metrics": ("w1",)}
    ens = train_gan_ensemble(RING, seeds=[0, 1], preset="wgan_gp_toy", batch_size=32, **kw)
    _assert_identical(train_gan(RING, rng=1, preset="wgan_gp_toy", batch_size=32, **kw), ens[1])
    alone = train_gan(RING, rng=1, preset="wgan_gp_toy", batch_size=32, **kw)
    assert ens.config["preset"] == "wgan_gp_toy" == ens[1].config["preset"]
    assert ens.config["preset_overridden"] == alone.config["preset_overridden"] == [
        "batch_size"]
    assert ens.config["loss"] == alone.config["loss"] == "wgan_gp"      # the preset's loss
    ens = train_gan_ensemble(RING, seeds=[0, 1], preset="pacgan", batch_size=40, **kw)
    alone = train_gan(RING, rng=1, preset="pacgan", batch_size=40, **kw)
    for k, v in alone.generator.state_dict().items():
        torch.testing.assert_close(ens[1].generator.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ens[1].history["w1"], alone.history["w1"], rtol=1e-4)


def test_other_batch_sizes_agree_to_rounding():
    """Batches that are not a multiple of 32 rows: torch's vectorised softplus rounds the
    tail of a vector otherwise, so a member is its single run to rounding (documented)."""
    kw = {**SMALL, "steps": 2, "eval_every": 1, "batch_size": 16}
    ens = train_gan_ensemble(RING, "nonsaturating", seeds=[0, 1], **kw)
    alone = train_gan(RING, "nonsaturating", rng=0, **kw)
    for k, v in alone.generator.state_dict().items():
        torch.testing.assert_close(ens[0].generator.state_dict()[k], v, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ens[0].history["generator_loss"][1:],
                               alone.history["generator_loss"][1:], rtol=1e-6)


@pytest.mark.parametrize("loss, extra", [
    ("minimax", {"preset": "unrolled", "unrolled_steps": 2, "batch_size": 64}),
    ("nonsaturating", {"unrolled_steps": 3}),
    ("minimax", {"preset": "unrolled", "schedule": "single_step", "batch_size": 64}),
])
def test_unrolled_with_backprop_agrees_to_rounding(loss, extra):
    """Unrolled GANs differentiated through the unroll: the same runs to float rounding
    (autograd sums the second-order paths in another order in a batch; documented)."""
    kw = {**SMALL, "steps": 3, "eval_every": 3, **extra}
    ens = train_gan_ensemble(RING, loss, seeds=[0, 1], **kw)
    alone = train_gan(RING, loss, rng=1, **kw)
    assert ens.config["unrolled_steps"] == alone.config["unrolled_steps"] > 0
    assert ens.config["unrolled_from_state"] == alone.config["unrolled_from_state"]
    for net in ("generator", "critic"):
        for k, v in getattr(alone, net).state_dict().items():
            torch.testing.assert_close(getattr(ens[1], net).state_dict()[k], v, rtol=1e-5,
                                       atol=1e-6)
    np.testing.assert_allclose(ens[1].history["generator_loss"][1:],
                               alone.history["generator_loss"][1:], rtol=1e-5)


def test_evaluations_in_parallel_give_the_same_history():
    kw = {**SMALL, "steps": 2, "eval_every": 1}
    a = train_gan_ensemble(RING, seeds=[0, 1, 2], **kw)
    b = train_gan_ensemble(RING, seeds=[0, 1, 2], n_jobs=2, **kw)
    for ra, rb in zip(a, b):
        assert set(ra.history) == set(rb.history)
        for k in ra.history:
            if k != "seconds":     # nan where a metric is undefined: equal as arrays
                np.testing.assert_array_equal(ra.history[k], rb.history[k], err_msg=k)


def test_summary_is_mean_and_standard_error_over_members():
    ens = train_gan_ensemble(RING, seeds=[0, 1, 2, 3], **SMALL)
    mean, se, n = ens.summary()["w1"]
    last = np.array([r.history["w1"][-1] for r in ens])
    assert n == 4
    assert mean == pytest.approx(last.mean())
    assert se == pytest.approx(last.std(ddof=1) / 2.0)        # sqrt(4) members
    assert "GANEnsemble(loss='nonsaturating'" in repr(ens)


def test_a_failing_member_is_reported_not_raised():
    ens = train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], lr=1e12, steps=30,
                             metrics=(), device="cpu", n_data=500)
    assert ens.runs == (None, None)
    assert all("non-finite" in e for e in ens.errors)
    assert ens.summary() == {}


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"seeds": 3}, TypeError, "sequence of seeds"),
    ({"seeds": []}, ValueError, "at least one member"),
    ({"seeds": [0, None]}, ValueError, r"seeds\[1\] is None"),
    ({"seeds": [0], "rng": 1}, TypeError, "seeds=.*instead of rng"),
    ({"seeds": [0], "unrolled_steps": -1}, ValueError, "unrolled_steps"),
    ({"seeds": [0], "checkpoint_every": 0}, ValueError, "checkpoint_every"),
    ({"seeds": [0], "optimizer": lambda p, lr: torch.optim.Adam(p, lr)}, ValueError,
     "callable optimizer"),
    ({"seeds": [0], "stpes": 5}, TypeError, "stpes"),
    ({"seeds": [0], "pack": 3, "batch_size": 64}, ValueError, "pack=3 must divide"),
    ({"seeds": [0], "preset": "nope"}, ValueError, "preset"),
])
def test_bad_input_raises_naming_the_option(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train_gan_ensemble(RING, steps=2, device="cpu", **kwargs)


def test_members_must_share_an_architecture():
    from divest.torch._ensemble import _check_same_architecture
    from divest.torch import MLP
    with pytest.raises(ValueError, match="share one architecture; member 1"):
        _check_same_architecture([MLP(2, width=8, device="cpu"), MLP(2, width=9, device="cpu")],
                                 "critic")


def test_checkpoint_and_exact_resume(tmp_path):
    """An ensemble stopped at a checkpoint and resumed (from a file or from memory) is the
    ensemble that did not stop: weights, curves, errors."""
    kw = {**SMALL, "steps": 6, "eval_every": 2}
    full = train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], **kw)
    # stopped at step 5: the checkpoint of step 3 is taken mid-run
    part = train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], checkpoint_every=3,
                              checkpoint_dir=tmp_path, **{**kw, "steps": 5})
    assert [s for s, _ in part.checkpoints] == [3] and (tmp_path / "step_3.pt").exists()
    resumed = train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], resume=tmp_path / "step_3.pt",
                                 **kw)
    for a, b in zip(full, resumed):
        _assert_identical(a, b)
    mem = train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], checkpoint_every=3,
                             **{**kw, "steps": 5})
    again = train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], resume=mem.checkpoints[0][1], **kw)
    _assert_identical(full[1], again[1])
    with pytest.raises(ValueError, match=r"seeds are \[0, 2\] here but \[0, 1\]"):
        train_gan_ensemble(RING, "wgan_gp", seeds=[0, 2], resume=tmp_path / "step_3.pt", **kw)
    with pytest.raises(ValueError, match="resume: option lipschitz is .spectral. here"):
        train_gan_ensemble(RING, "hinge", seeds=[0, 1], resume=tmp_path / "step_3.pt", **kw)
    single = train_gan(RING, "wgan_gp", rng=0, checkpoint_every=3, **{**kw, "steps": 5})
    with pytest.raises(ValueError, match="a single run's"):
        train_gan_ensemble(RING, "wgan_gp", seeds=[0, 1], resume=single.checkpoints[0][1], **kw)


def _optimizer_state_equal(ens_state, alone_state, i, keys):
    """Member i's Adam/RMSprop state in an ensemble checkpoint against a single run's
    (divest's MLP weights with more than one output are stored transposed, (S, in, out))."""
    for idx, st in alone_state["state"].items():
        for name, y in st.items():
            if name == "step":
                continue
            x = ens_state["state"][idx][name][i]
            if keys[idx].endswith("weight") and y.dim() == 2 and y.shape[0] > 1:
                x = x.T
            assert torch.equal(x, y), f"{keys[idx]} {name}: max |diff| {(x - y).abs().max()}"


@pytest.mark.parametrize("loss, extra", [
    ("nonsaturating", {}), ("mmd", {}), ("wgan_gp", {}), ("wgan_clip", {}),
    ("nonsaturating", {"dtype": "float64"}),
])
def test_large_ensembles_match_member_by_member_with_optimizer_state(loss, extra):
    """17 members over 30 steps: the optimiser's vectorised kernels and BLAS's batched
    products act on whole stacked tensors, whose member boundaries fall inside vectors
    that a 3-member, 4-step check never reaches; the weights, the history and the
    optimiser state of the first, a middle and the last member are their single runs'."""
    kw = {**SMALL, "steps": 30, "eval_every": 10, "checkpoint_every": 30, **extra}
    ens = train_gan_ensemble(RING, loss, seeds=range(17), **kw)
    for i in (0, 8, 16):
        alone = train_gan(RING, loss, rng=i, **kw)
        _assert_identical(alone, ens[i])
        a, e = alone.checkpoints[-1][1], ens.checkpoints[-1][1]
        for net, opt in (("generator", "optimizer_g"), ("critic", "optimizer_c")):
            _optimizer_state_equal(e[opt], a[opt], i, list(a[net]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stacked_adam_updates_each_slice_as_its_single_tensor(dtype):
    """Parameters whose per-member size is not a whole number of the fused kernel's
    64-byte units (a 2-vector bias) are updated slice by slice, exactly as alone."""
    from divest.torch._ensemble import _StackedAdam
    gen = torch.Generator().manual_seed(0)
    shapes = [(2,), (128, 2), (1,), (3, 5)]
    S = 9
    stacked = [torch.randn((S,) + s, generator=gen, dtype=dtype).requires_grad_(True)
               for s in shapes]
    singles = [[p[i].detach().clone().requires_grad_(True) for p in stacked]
               for i in range(S)]
    opt = _StackedAdam(stacked, 1e-2, (0.5, 0.9))
    opts = [torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.9), fused=True) for ps in singles]
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=gen, dtype=dtype) for p in stacked]
        for p, g in zip(stacked, grads):
            p.grad = g.clone()
        opt.step()
        for i in range(S):
            for p, g in zip(singles[i], grads):
                p.grad = g[i].clone()
            opts[i].step()
    for i in range(S):
        for p, q in zip(stacked, singles[i]):
            assert torch.equal(p[i].detach(), q.detach())
