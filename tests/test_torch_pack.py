"""PacGAN packing in train_gan: the critic sees batch_size / pack rows of pack samples
concatenated; penalties are per pack; bad packs raise naming the option."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from divest.torch import train_gan  # noqa: E402


class Recorder(torch.nn.Module):
    """A linear critic that keeps the inputs it is called with."""

    def __init__(self, dim):
        super().__init__()
        self.lin = torch.nn.Linear(dim, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.lin(x)[:, 0]


@pytest.mark.parametrize("pack", [1, 2, 3, 4])
def test_the_critic_sees_packs_of_data_rows(pack):
    rows = np.arange(400, dtype=float).reshape(200, 2)          # distinct, recognisable rows
    critic = Recorder(2 * pack)
    run = train_gan(rows, "nonsaturating", critic=critic, steps=3, batch_size=6 * pack,
                    pack=pack, metrics=(), rng=0, device="cpu", dtype="float64")
    assert run.config["pack"] == pack
    shapes = {tuple(x.shape) for x in critic.seen}
    assert shapes <= {(6, 2 * pack), (2, 2 * pack)}               # batches, and the probe
    real = [x for x in critic.seen if x.shape[0] == 6 and float(x.abs().max()) >= 1.0]
    assert real
    held = set(map(tuple, rows.tolist()))
    for x in real[:2]:
        for r in x.reshape(-1, 2).tolist():                       # each pack = pack rows
            assert tuple(r) in held
    # the first critic step sees the real packs, then the fake ones (after the probe):
    # each slot of a pack is its own draw, not one sample or noise row repeated
    xr, xf = [x.reshape(6, pack, 2) for x in critic.seen[1:3]]
    assert torch.equal(xr, real[0].reshape(6, pack, 2))
    for x in (xr, xf):
        for j in range(1, pack):
            assert not torch.isclose(x[:, 0], x[:, j]).all()     # not in every pack


def test_gradient_penalty_is_per_pack():
    """WGAN-GP with pack=2: the penalty's interpolations have the packs' shape."""
    critic = Recorder(4)
    train_gan(np.random.default_rng(0).normal(size=(100, 2)), "wgan_gp", critic=critic,
              steps=1, n_critic=1, batch_size=8, pack=2, metrics=(), rng=0, device="cpu")
    assert {tuple(x.shape) for x in critic.seen} == {(2, 4), (4, 4)}


class FixedLinear(torch.nn.Module):
    """x -> x @ w: its input gradient is w everywhere, so a penalty's value is known."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x):
        return x @ self.w


# w's first 2 entries weigh the pack's first sample, the 3rd its second: ||w|| = 1.3 per
# pack, but 0.5, 1.2 (and 0) per sample, so a penalty taken per row gives another value
_W = [0.3, 0.4, 1.2]


@pytest.mark.parametrize("pack", [2, 3])
def test_gradient_penalty_and_r1_values_are_per_pack(pack):
    """The penalties' values at step 1, against the same run without them (same batches):
    GP = 10 (||w|| - 1)^2 = 0.9 and R1 term = r1 / 2 ||w||^2 = 1.69 per pack; per row they
    would be 10 mean((||w_j|| - 1)^2) (1.45 or 4.3) and mean(||w_j||^2) (0.845 or 0.563)."""
    data = np.random.default_rng(0).normal(size=(100, 2))
    w = _W + [0.0] * (2 * pack - 3)
    kw = dict(steps=1, batch_size=6 * pack, pack=pack, metrics=(), rng=0, device="cpu",
              dtype="float64", eval_every=1)

    def lc(loss, **opts):
        return train_gan(data, loss, critic=FixedLinear(w), **kw, **opts).history[
            "critic_loss"][1]

    gp = lc("wgan_gp", n_critic=1, lipschitz="gp") - lc("wgan_gp", n_critic=1, lipschitz="none")
    assert gp == pytest.approx(10 * (1.3 - 1) ** 2, rel=1e-12)
    r1 = lc("nonsaturating", r1=2.0) - lc("nonsaturating", r1=0.0)
    assert r1 == pytest.approx(1.3 ** 2, rel=1e-12)


def test_single_step_updates_both_networks_from_the_same_critic():
    """schedule="simultaneous" with SGD, a WGAN loss and a linear critic: after one step the
    generator's location moved by lr_g * w0 (the gradient at the critic *before* its
    update) and the critic by -lr_c (mean fake - mean real) of the one batch; the
    alternating schedule moves the generator along the updated critic instead."""
    data = np.random.default_rng(0).normal(loc=3.0, size=(200, 2))
    w0 = [0.6, -0.8]

    def one_step(schedule):
        critic = Recorder(2).double()
        with torch.no_grad():
            critic.lin.weight.copy_(torch.tensor([w0], dtype=torch.float64))
            critic.lin.bias.zero_()
        run = train_gan(data, "wgan_clip", generator="location_scale", critic=critic,
                        lipschitz="none", optimizer="sgd", lr=(0.1, 0.05), steps=1,
                        n_critic=3, batch_size=8, metrics=(), rng=0, device="cpu",
                        dtype="float64", schedule=schedule)
        return run, critic

    run, critic = one_step("simultaneous")
    xr, xf = [x for x in critic.seen if x.shape[0] == 8][:2]   # after the (2, 2) probe
    w1 = np.array(w0) - 0.05 * (xf.mean(0) - xr.mean(0)).numpy()
    np.testing.assert_allclose(run.critic.lin.weight.detach().numpy()[0], w1, rtol=1e-12)
    np.testing.assert_allclose(run.generator.mean.numpy(), 0.1 * np.array(w0), rtol=1e-12)
    run, _ = one_step("alternating")
    w3 = run.critic.lin.weight.detach().numpy()[0]
    np.testing.assert_allclose(run.generator.mean.numpy(), 0.1 * w3, rtol=1e-12)
    assert not np.allclose(w3, w0)


def test_bad_packs_raise_naming_the_option():
    data = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=r"pack=3 must divide batch_size=10"):
        train_gan(data, steps=1, batch_size=10, pack=3, device="cpu")
    with pytest.raises(ValueError, match=r"pack=8 must divide batch_size=8 into at least 2"):
        train_gan(data, steps=1, batch_size=8, pack=8, device="cpu")
    with pytest.raises(ValueError, match="pack"):
        train_gan(data, steps=1, batch_size=8, pack=0, device="cpu")
    with pytest.raises(RuntimeError, match=r"critic \(pack=3: packs of 3 samples of dimension "
                                           r"2, 6 columns\) failed on a batch of shape \(2, 6\)"):
        train_gan(data, steps=1, batch_size=12, pack=3, device="cpu",
                  critic=torch.nn.Linear(2, 1))
    # the right input width but no squeeze: (n, 1), not (n,)
    with pytest.raises(ValueError, match=r"critic \(pack=2.*must map a batch of shape "
                                         r"\(n, 4\) to shape \(n,\)"):
        train_gan(data, steps=1, batch_size=8, pack=2, device="cpu",
                  critic=torch.nn.Linear(4, 1))


def test_pack_one_is_the_unpacked_run():
    data = np.random.default_rng(1).normal(size=(100, 2))
    a = train_gan(data, steps=5, batch_size=16, metrics=("w1",), rng=3, device="cpu")
    b = train_gan(data, steps=5, batch_size=16, pack=1, metrics=("w1",), rng=3, device="cpu")
    assert a.history["w1"] == b.history["w1"]
