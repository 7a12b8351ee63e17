"""Paper presets of train_gan: PacGAN's networks and optimiser, the Unrolled GAN and the
WGAN-GP toy settings; explicit options override; PacGAN's per-slot generator calls."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from divest.torch import (DATASETS, GAN_PRESETS, MaxoutMLP, PacGANGenerator,  # noqa: E402
                          train_gan, train_gan_ensemble)

GRID = DATASETS["pacgan_grid"][0]


def test_pacgan_networks_are_the_papers():
    g = PacGANGenerator(2, rng=0, device="cpu")
    lin = [m for m in g.net if isinstance(m, torch.nn.Linear)]
    bns = [m for m in g.net if isinstance(m, torch.nn.BatchNorm1d)]
    assert [tuple(m.weight.shape) for m in lin] == [(400, 2), (400, 400), (400, 400),
                                                    (400, 400), (2, 400)]
    assert [m.bias is None for m in lin] == [True] * 4 + [False]
    assert len(bns) == 4 and all(b.momentum == 0.05 for b in bns)
    w = torch.cat([m.weight.detach().flatten() for m in lin[1:4]])
    assert abs(float(w.std()) - 0.02) < 5e-4 and float(lin[-1].bias.detach().abs().max()) == 0.0
    c = MaxoutMLP(4, rng=0, device="cpu")
    assert [tuple(m.weight.shape) for m in c.hidden] == [(1000, 4), (1000, 200), (1000, 200)]
    assert tuple(c.out.weight.shape) == (1, 200)


def test_maxout_is_the_max_over_pieces():
    c = MaxoutMLP(3, width=2, depth=1, pieces=3, rng=1, device="cpu", dtype="float64")
    x = torch.randn(5, 3, dtype=torch.float64)
    h = c.hidden[0](x).view(5, 2, 3)
    want = c.out(h.max(dim=2).values)[:, 0]
    assert torch.allclose(c(x), want)


def test_preset_options_and_overrides_are_recorded():
    run = train_gan(GRID(), preset="pacgan", pack=2, steps=2, n_data=500, metrics=(), rng=0,
                    device="cpu")
    cfg = run.config
    assert (cfg["preset"], cfg["batch_size"], cfg["pack"], cfg["schedule"]) == \
        ("pacgan", 200, 2, "single_step")
    assert cfg["lr"] == (1e-4, 1e-4) and tuple(cfg["betas"]) == (0.8, 0.999)
    assert cfg["loss"] == "nonsaturating" and cfg["preset_overridden"] == ["n_data"]
    assert isinstance(run.generator, PacGANGenerator) and isinstance(run.critic, MaxoutMLP)
    assert run.critic.in_features == 4
    other = train_gan(GRID(), preset="pacgan", steps=2, n_data=500, metrics=(), rng=0,
                      device="cpu", lr=1e-3, schedule="simultaneous")
    assert other.config["lr"] == (1e-3, 1e-3) and other.config["schedule"] == "single_step"
    assert other.config["preset_overridden"] == ["lr", "n_data", "schedule"]
    unrolled = train_gan(DATASETS["ring"][0](), preset="unrolled", steps=1, metrics=(), rng=0,
                         device="cpu", n_data=600)
    assert (unrolled.config["unrolled_steps"], unrolled.config["latent_dim"],
            unrolled.config["lr"]) == (5, 256, (1e-3, 1e-4))
    assert unrolled.config["loss"] == "minimax"            # the notebook's saddle objective
    w = unrolled.critic.layers[2].weight.detach().double()   # 128 x 128, at step 1 ~ init
    assert torch.allclose(w @ w.T, 1.96 * torch.eye(128, dtype=torch.float64), atol=0.05)
    assert set(GAN_PRESETS) == {"pacgan", "unrolled", "wgan_gp_toy"}


def test_same_rng_same_preset_run():
    kw = dict(preset="pacgan", steps=3, n_data=300, metrics=("w1",), rng=4, device="cpu")
    assert train_gan(GRID(), **kw).history["w1"] == train_gan(GRID(), **kw).history["w1"]


class SlotRecorder(torch.nn.Module):
    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.rows = []

    def forward(self, z):
        self.rows.append(z.shape[0])
        return self.lin(z)


def test_packed_fakes_come_from_one_generator_call_per_slot():
    """PacGAN draws each pack slot as its own batch (batch norm sees batch_size / pack)."""
    g = SlotRecorder()
    train_gan(GRID(), generator=g, pack=3, batch_size=30, steps=2, n_data=200, metrics=(),
              rng=0, device="cpu", dtype="float32")
    assert set(g.rows) <= {10, 1000}          # slots of 10 rows; the evaluation batch


def test_bad_presets_raise_naming_the_option():
    with pytest.raises(ValueError, match="preset must be one of 'pacgan'"):
        train_gan(GRID(), preset="dcgan", device="cpu")
    with pytest.raises(ValueError, match=r"preset='unrolled' \(it sets .*unrolled_steps\): "
                                         r"schedule='both' is not valid"):
        train_gan(GRID(), preset="unrolled", schedule="both", steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"preset='pacgan'.*pack=3 must divide batch_size=100"):
        train_gan(GRID(), preset="pacgan", pack=3, batch_size=100, steps=1, device="cpu")


class _Row(torch.nn.Module):
    """A linear critic on rows of dimension d, output shape (n,)."""

    def __init__(self, d, wrap=None):
        super().__init__()
        self.lin = torch.nn.Linear(d, 1) if wrap is None else wrap(torch.nn.Linear(d, 1))

    def forward(self, x):
        return self.lin(x)[:, 0]


def test_spectral_lipschitz_refuses_a_module_without_spectral_norm():
    """lipschitz="spectral" normalises only the default critic: a module critic without a
    spectrally normalised layer (a preset's, or the user's) raises naming the option,
    never trains unconstrained; a module carrying torch's spectral norm is accepted.
    train_gan_ensemble names the preset and the options it set, as train_gan does."""
    from torch.nn.utils import spectral_norm
    from torch.nn.utils.parametrizations import spectral_norm as sn_param

    from divest.torch import wasserstein1
    with pytest.raises(ValueError, match=r"preset='unrolled'.*lipschitz='spectral' \(the "
                                         r"default of loss 'hinge'\) normalises only the "
                                         r"default critic.*\(MLP\)"):
        train_gan(GRID(), "hinge", preset="unrolled", steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"lipschitz='spectral' normalises only the default "
                                         r"critic, and the critic given \(_Row\)"):
        train_gan(GRID(), "wgan_gp", lipschitz="spectral", critic=_Row(2), steps=1,
                  device="cpu")
    with pytest.raises(ValueError, match=r"lipschitz='spectral' normalises only.*\(_Row\)"):
        wasserstein1(np.zeros((40, 2)), np.ones((40, 2)), lipschitz="spectral",
                     critic=_Row(2), steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"preset='unrolled' \(it sets .*critic.*\): "
                                         r"lipschitz='spectral'"):
        train_gan_ensemble(GRID(), "hinge", seeds=[0, 1], preset="unrolled", steps=1,
                           device="cpu")
    with pytest.raises(ValueError, match=r"preset='pacgan' \(it sets .*\): pack=3 must "
                                         r"divide batch_size=100"):
        train_gan_ensemble(GRID(), seeds=[0, 1], preset="pacgan", pack=3, batch_size=100,
                           steps=1, device="cpu")
    for wrap in (sn_param, spectral_norm):
        run = train_gan(GRID(), "hinge", critic=_Row(2, wrap), steps=1, metrics=(),
                        batch_size=8, device="cpu")
        assert run.config["lipschitz"] == "spectral"
    run = train_gan(GRID(), "hinge", preset="unrolled", lipschitz="none", steps=1,
                    metrics=(), device="cpu")
    assert run.config["lipschitz"] == "none"


def test_every_preset_option_and_dataset_is_the_papers():
    """The values each paper states (issue 18), read off the presets and datasets."""
    from divest.torch._presets import preset_options
    toy = preset_options("wgan_gp_toy", 2, 1, np.random.default_rng(0), "cpu", "float32")
    assert toy["generator"] == toy["critic"] == {"width": 512, "depth": 3, "activation": "relu"}
    assert (toy["loss"], toy["lr"], tuple(toy["betas"]), toy["batch_size"]) == \
        ("wgan_gp", 1e-4, (0.5, 0.9), 256)
    unr = preset_options("unrolled", 2, 1, np.random.default_rng(0), "cpu", "float32")
    assert (unr["loss"], unr["schedule"], unr["lr"], tuple(unr["betas"]), unr["batch_size"],
            unr["unrolled_steps"]) == ("minimax", "alternating", (1e-3, 1e-4), (0.5, 0.999),
                                       512, 5)
    acts = {type(m) for m in unr["critic"].modules()} | {type(m) for m in
                                                         unr["generator"].modules()}
    assert torch.nn.Tanh in acts and not acts & {torch.nn.ReLU, torch.nn.LeakyReLU}
    pac = preset_options("pacgan", 2, 3, np.random.default_rng(0), "cpu", "float32")
    assert (pac["n_eval"], pac["n_data"], pac["batch_size"]) == (2500, 100_000, 300)
    ring, pring, pgrid = (DATASETS[k][0]() for k in ("ring", "pacgan_ring", "pacgan_grid"))
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 2.0)
    np.testing.assert_allclose(np.linalg.norm(pring.centers, axis=1), 1.0)
    assert (len(ring.centers), ring.std, len(pring.centers), pring.std) == (8, 0.02, 8, 0.01)
    grid = {tuple(c) for c in np.round(pgrid.centers, 12).tolist()}
    assert grid == {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert pgrid.std == 0.05
