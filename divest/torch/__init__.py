r"""Optional PyTorch backend: neural critics, neural divergence estimates, GAN losses, training.

``import divest`` never imports PyTorch; ``import divest.torch`` does, and raises an
ImportError naming the ``divest[torch]`` extra when it is missing.

* :func:`mi_bound` — neural lower bounds on mutual information (NWJ, DV, MINE, InfoNCE,
  TUBA, JS, SMILE, interpolated, f-dual) scored on all in-batch pairs, held-out
  evaluation, sampler-driven or on arrays; :func:`mi_bounds` lists them;
* :func:`variational` — variational lower bounds on f-divergences with a neural critic,
  trained on one split and evaluated on a held-out split; :func:`wasserstein1` — the
  Kantorovich–Rubinstein dual with a Lipschitz critic;
* critics: :class:`MLP` (optionally spectrally normalised), :func:`fdiv_output` (the
  f-GAN output activation :math:`g_f` and :math:`f^*\circ g_f` of every registered
  f-divergence), :func:`gradient_penalty` (per-sample, two- or one-sided),
  :func:`r1_penalty`, :func:`clip_weights_`, :func:`mmd2` (Gaussian-kernel MMD on learned
  features);
* :func:`gan_losses` / :func:`get_gan_loss` / :func:`register_gan_loss` — every GAN loss
  with the divergence it minimises under an optimal critic; :func:`scoring_rules` /
  :func:`get_scoring_rule` — proper scoring rules as discriminator losses;
* :func:`train_gan` returning a :class:`GANRun`; :func:`train_gan_ensemble` — S seeds
  in one process with batched networks, each member its single run bit for bit
  (a :class:`GANEnsemble`); generators :class:`LocationScale` and
  :class:`MLPGenerator`; :func:`compare_gans` — every loss on the toy datasets
  (:data:`DATASETS`), a results table and figures (the ``divest gan`` command);
* metrics on samples or features: :func:`wasserstein1_exact`, :func:`mmd2_gaussian`,
  :func:`frechet_distance`, :func:`kernel_inception_distance`,
  :func:`precision_recall`, :func:`mode_metrics`.

Everything takes ``device="auto" | "cpu" | "cuda"`` (``"auto"``: CUDA when available)
and ``rng=`` (int, numpy Generator or None): the numpy generator seeds a
``torch.Generator`` used for every random draw, so the same ``rng`` gives the same
numbers on CPU.
"""

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "divest.torch needs PyTorch, which is not installed; install the optional extra "
        "with `pip install 'divest[torch]'` (or install torch itself)") from exc
del torch

from ._compare import DATASETS, GANComparison, compare_gans
from ._critics import MLP, clip_weights_, fdiv_output, gradient_penalty, mmd2, r1_penalty
from ._device import resolve_device
from ._ensemble import GANEnsemble, train_gan_ensemble
from ._generators import LocationScale, MLPGenerator
from ._losses import GANLoss, gan_losses, get_gan_loss, register_gan_loss
from ._mi import mi_bound, mi_bounds
from ._metrics import (frechet_distance, kernel_inception_distance, mmd2_gaussian,
                       mode_metrics, precision_recall, wasserstein1_exact)
from ._presets import GAN_PRESETS, MaxoutMLP, PacGANGenerator
from ._scoring import ScoringRule, get_scoring_rule, scoring_rules
from ._train import GANRun, plateau, train_gan
from ._variational import variational, wasserstein1

__all__ = [
    "DATASETS",
    "GANComparison",
    "GANEnsemble",
    "GANLoss",
    "GANRun",
    "GAN_PRESETS",
    "LocationScale",
    "MLP",
    "MLPGenerator",
    "MaxoutMLP",
    "PacGANGenerator",
    "ScoringRule",
    "clip_weights_",
    "compare_gans",
    "fdiv_output",
    "frechet_distance",
    "gan_losses",
    "get_gan_loss",
    "get_scoring_rule",
    "gradient_penalty",
    "kernel_inception_distance",
    "mi_bound",
    "mi_bounds",
    "mmd2",
    "mmd2_gaussian",
    "mode_metrics",
    "plateau",
    "precision_recall",
    "r1_penalty",
    "register_gan_loss",
    "resolve_device",
    "scoring_rules",
    "train_gan",
    "train_gan_ensemble",
    "variational",
    "wasserstein1",
    "wasserstein1_exact",
]
