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


def test_gradient_penalty_is_per_pack():
    """WGAN-GP with pack=2: the penalty's interpolations have the packs' shape."""
    critic = Recorder(4)
    train_gan(np.random.default_rng(0).normal(size=(100, 2)), "wgan_gp", critic=critic,
              steps=1, n_critic=1, batch_size=8, pack=2, metrics=(), rng=0, device="cpu")
    assert {tuple(x.shape) for x in critic.seen} == {(2, 4), (4, 4)}


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


def test_pack_one_is_the_unpacked_run():
    data = np.random.default_rng(1).normal(size=(100, 2))
    a = train_gan(data, steps=5, batch_size=16, metrics=("w1",), rng=3, device="cpu")
    b = train_gan(data, steps=5, batch_size=16, pack=1, metrics=("w1",), rng=3, device="cpu")
    assert a.history["w1"] == b.history["w1"]
