r"""Network, optimiser and schedule presets of the papers whose toy experiments divest
reproduces (``train_gan(preset=...)``).

Each preset is the set of :func:`~divest.torch.train_gan` options a paper's code uses;
options passed explicitly to ``train_gan`` override the preset's, and the run's
``config`` records the preset and what was overridden.

* ``"pacgan"`` -- Lin et al. (2018), ``synthetic_data_experiments`` of their code: the
  generator :class:`PacGANGenerator` (noise N(0, I_2); 4 hidden layers of 400 ReLU units,
  each linear map without bias followed by batch normalisation; a biased output layer),
  the critic :class:`MaxoutMLP` (3 maxout layers of 200 units with 5 pieces, a linear
  output), weights N(0, 0.02²) and biases 0, the non-saturating loss (their
  ``compute_losses``), Adam(1e-4, β = (0.8, 0.999)) for both networks updated
  *simultaneously* from one batch (``ali_algorithm``), 100 packs per step
  (``batch_size = 100 * pack``), a training pool of 100,000 samples, metrics on 2500
  generated samples.
* ``"unrolled"`` -- Metz et al. (2017) as in Poole's reference notebook
  (``poolio/unrolled_gan``): generator and critic with 2 hidden layers of 128 tanh
  units, orthogonal initial weights with gain 1.4 and zero biases, noise of dimension
  256, the minimax (saturating) GAN loss -- the generator maximises the critic's loss,
  which unrolling differentiates --, Adam with β1 = 0.5, learning rates 1e-3
  (generator) and 1e-4 (critic), batch 512, 5 unrolling steps (``unrolled_steps=5``;
  ``unrolled_steps=0`` gives the plain GAN of the same preset).  The notebook's own
  ring (radius 1, std 0.01, ``linspace(0, 2 pi, 8)``: 7 distinct modes) differs from the
  paper's; divest's ``"ring"`` is the paper's and VEEGAN's (radius 2, std 0.02).  The
  notebook also updates both networks in one session step from one batch, its unrolled
  critic steps reusing that batch; the preset alternates (a critic step, then a
  generator step against K unrolled critic updates on fresh batches), the updates Metz
  et al. describe; ``schedule="single_step"`` gives the notebook's.
* ``"wgan_gp_toy"`` -- Gulrajani et al. (2017), the toy experiments of their code:
  generator and critic with 3 hidden layers of 512 ReLU units, WGAN-GP (λ = 10, 5
  critic steps), Adam(1e-4, β = (0.5, 0.9)), batch 256.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import _describe, check_positive_int, check_real, check_rng
from ._critics import _linear
from ._device import resolve_device, resolve_dtype, torch_generator

__all__ = ["GAN_PRESETS", "MaxoutMLP", "PacGANGenerator"]


def _normal_init_(layer: nn.Linear, std: float, gen: torch.Generator) -> None:
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen,
                                       device=layer.weight.device,
                                       dtype=layer.weight.dtype) * std)
        if layer.bias is not None:
            layer.bias.zero_()


class MaxoutMLP(nn.Module):
    r"""A critic of maxout layers (Goodfellow et al. 2013), PacGAN's discriminator.

    Each hidden layer maps its input to ``width * pieces`` affine features and keeps the
    largest of each group of ``pieces``: :math:`h_j = \max_{k \le K} (W_{jk} x + b_{jk})`;
    a linear layer gives the scalar output.

    Parameters
    ----------
    in_features : int
    width : int, default 200
    depth : int, default 3
        Number of maxout layers.
    pieces : int, default 5
    init_std : float, default 0.02
        Weights start N(0, init_std²), biases 0 (PacGAN's ``IsotropicGaussian(0.02)``).
    rng, device, dtype
        As for :class:`~divest.torch.MLP`.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import MaxoutMLP
    >>> MaxoutMLP(4, rng=0, device="cpu")(torch.zeros(3, 4)).shape
    torch.Size([3])
    """

    def __init__(self, in_features, *, width=200, depth=3, pieces=5, init_std=0.02, rng=None,
                 device="auto", dtype="float32"):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.width = check_positive_int(width, "width")
        self.depth = check_positive_int(depth, "depth")
        self.pieces = check_positive_int(pieces, "pieces")
        init_std = check_real(init_std, "init_std", low=0.0)
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        gen = torch_generator(check_rng(rng), dev)
        sizes = [self.in_features] + [self.width] * self.depth
        self.hidden = nn.ModuleList(
            nn.Linear(a, b * self.pieces, device=dev, dtype=dt)
            for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(self.width, 1, device=dev, dtype=dt)
        for layer in list(self.hidden) + [self.out]:
            _normal_init_(layer, init_std, gen)

    def forward(self, x):
        for layer in self.hidden:
            h = layer(x)
            x = h.view(h.shape[0], self.width, self.pieces).amax(dim=2)
        return _linear(x, self.out.weight, self.out.bias)[:, 0]


class PacGANGenerator(nn.Module):
    r"""PacGAN's generator: ``depth`` hidden layers of ``width`` ReLU units, each linear map
    without bias followed by batch normalisation, and a biased linear output.

    Batch normalisation uses the batch's statistics in training mode and running
    averages (momentum 0.05, PacGAN's ``m * 0.05 + p * 0.95`` population update) in
    evaluation mode, which ``train_gan`` uses for its metrics and ``GANRun.sample``.

    Parameters
    ----------
    dim : int
        Output dimension.
    latent_dim : int, default 2
        Dimension of the N(0, I) noise.
    width : int, default 400
    depth : int, default 4
    init_std : float, default 0.02
    rng, device, dtype

    Examples
    --------
    >>> import torch
    >>> from divest.torch import PacGANGenerator
    >>> g = PacGANGenerator(2, rng=0, device="cpu")
    >>> g.latent_dim, g(torch.zeros(5, 2)).shape
    (2, torch.Size([5, 2]))
    """

    def __init__(self, dim, *, latent_dim=2, width=400, depth=4, init_std=0.02, rng=None,
                 device="auto", dtype="float32"):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        width = check_positive_int(width, "width")
        depth = check_positive_int(depth, "depth")
        init_std = check_real(init_std, "init_std", low=0.0)
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        gen = torch_generator(check_rng(rng), dev)
        layers: list[nn.Module] = []
        sizes = [self.latent_dim] + [width] * depth
        for a, b in zip(sizes[:-1], sizes[1:]):
            lin = nn.Linear(a, b, bias=False, device=dev, dtype=dt)
            _normal_init_(lin, init_std, gen)
            layers += [lin, nn.BatchNorm1d(b, eps=1e-4, momentum=0.05, device=dev, dtype=dt),
                       nn.ReLU()]
        out = nn.Linear(width, self.dim, device=dev, dtype=dt)
        _normal_init_(out, init_std, gen)
        self.net = nn.Sequential(*layers, out)

    def forward(self, z):
        return self.net(z)


def _pacgan(d, pack, rng, dev, dt):
    return {"generator": PacGANGenerator(d, rng=rng, device=dev, dtype=dt),
            "critic": MaxoutMLP(d * pack, rng=rng, device=dev, dtype=dt),
            "loss": "nonsaturating", "schedule": "single_step", "optimizer": "adam",
            "lr": 1e-4, "betas": (0.8, 0.999), "batch_size": 100 * pack, "n_data": 100_000,
            "n_eval": 2500}


def _orthogonal_(module: nn.Module, gain: float, gen: torch.Generator) -> nn.Module:
    """Every weight matrix orthogonal with ``gain``, every bias 0 (the notebook's
    ``tf.orthogonal_initializer(gain=1.4)`` and slim's zero biases)."""
    with torch.no_grad():
        for m in module.modules():
            w = getattr(m, "weight", None)
            if isinstance(w, nn.Parameter) and w.dim() == 2:
                nn.init.orthogonal_(w, gain=gain, generator=gen)
                if isinstance(getattr(m, "bias", None), nn.Parameter):
                    m.bias.zero_()
    return module


def _unrolled(d, pack, rng, dev, dt):
    from ._critics import MLP
    from ._generators import MLPGenerator
    gen = torch_generator(rng, dev)
    G = MLPGenerator(d, latent_dim=256, width=128, depth=2, activation="tanh", rng=rng,
                     device=dev, dtype=dt)
    C = MLP(d * pack, width=128, depth=2, activation="tanh", rng=rng, device=dev, dtype=dt)
    return {"generator": _orthogonal_(G, 1.4, gen), "critic": _orthogonal_(C, 1.4, gen),
            "loss": "minimax", "schedule": "alternating", "optimizer": "adam",
            "lr": (1e-3, 1e-4), "betas": (0.5, 0.999), "batch_size": 512 * pack,
            "unrolled_steps": 5}


def _wgan_gp_toy(d, pack, rng, dev, dt):
    return {"generator": {"width": 512, "depth": 3, "activation": "relu"},
            "critic": {"width": 512, "depth": 3, "activation": "relu"},
            "loss": "wgan_gp", "optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.9),
            "batch_size": 256 * pack}


#: name -> (factory(d, pack, rng, device, dtype) -> train_gan options, description)
GAN_PRESETS = {
    "pacgan": (_pacgan, "PacGAN (Lin et al. 2018): BN generator 4 x 400, maxout critic "
                        "3 x 200 x 5, N(0, 0.02) init, non-saturating loss, simultaneous "
                        "Adam(1e-4, 0.8), 100 packs per step, pool 100,000"),
    "unrolled": (_unrolled, "Unrolled GAN (Metz et al. 2017, Poole's notebook): 2 x 128 tanh "
                            "networks, orthogonal init (gain 1.4), noise 256, minimax loss, "
                            "Adam(G 1e-3, D 1e-4, beta1 0.5), batch 512, 5 unrolling steps"),
    "wgan_gp_toy": (_wgan_gp_toy, "WGAN-GP toy (Gulrajani et al. 2017): 3 x 512 ReLU "
                                  "networks, Adam(1e-4, (0.5, 0.9)), batch 256"),
}


def preset_options(preset, d, pack, rng, device, dtype):
    """The options of ``preset`` for data of dimension ``d`` (networks built with ``rng``)."""
    if not isinstance(preset, str) or preset not in GAN_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, GAN_PRESETS))} or None; "
                         f"got {_describe(preset)}")
    return GAN_PRESETS[preset][0](d, pack, rng, resolve_device(device), resolve_dtype(dtype))
