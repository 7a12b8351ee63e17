r"""Training a generator against a critic with any registered GAN loss."""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from .._validation import _describe, check_choice, check_positive_int, check_real, check_rng
from ..distributions import GaussianGrid, GaussianRing, Mixture, dimension
from ..estimators._common import as_2d, is_samples
from ._critics import (MLP, _check_module, _check_spectral, clip_weights_, gradient_penalty,
                       r1_penalty)
from ._device import (check_threads, cpu_threads, resolve_device, resolve_dtype, to_numpy,
                      to_tensor, torch_generator)
from ._generators import LocationScale, MLPGenerator
from ._losses import GANLoss, get_gan_loss
from ._metrics import mmd2_gaussian, mode_metrics, wasserstein1_exact

__all__ = ["GANRun", "train_gan"]

_METRICS = ("w1", "mmd", "kl", "modes")
_LIPSCHITZ = ("none", "clip", "gp", "lp", "spectral")


@dataclass(frozen=True, eq=False)
class GANRun:
    """The result of :func:`train_gan`.

    Attributes
    ----------
    generator : torch.nn.Module
        The trained generator (evaluation mode); ``generator.latent_dim`` is its noise
        dimension.
    critic : torch.nn.Module
        The trained critic (with ``pack=m > 1`` it takes packs: rows of m samples
        concatenated, shape (n, m d)).
    loss : GANLoss
        The loss that was optimised.
    history : dict of lists
        One entry per evaluation (every ``eval_every`` steps and at step 0):
        ``step``, ``seconds`` (wall time since the start), ``critic_loss`` and
        ``generator_loss`` (mean over the steps since the previous evaluation; ``nan``
        at step 0), and the requested metrics on ``n_eval`` generated samples against
        the held-out target samples: ``w1`` (exact W1, POT), ``mmd2`` (unbiased,
        Gaussian kernel with the median bandwidth of the target), ``kl`` (nearest-
        neighbour estimate of KL(target ‖ generator); ``nan`` where the estimator
        raised, with the reason in ``notes``) and, for mixture targets,
        ``modes_captured``, ``modes_captured_20``, ``high_quality``, ``reverse_kl_hq``
        (PacGAN's reverse KL) and ``mode_kl`` (reverse KL over all samples)
        (:func:`mode_metrics`).
    target_eval : numpy.ndarray, shape (n_eval, d)
        The held-out target samples the metrics use.
    mode_spec : dict or None
        ``centers``, ``std``, ``weights`` of a mixture target (for :func:`mode_metrics`).
    config : dict
        Every setting used (loss, optimiser, learning rates, n_critic, schedule,
        Lipschitz control, unrolling, steps, batch size, device, dtype, seed).
    checkpoints : tuple
        ``(step, path)`` for checkpoints written to ``checkpoint_dir``, or
        ``(step, {"generator": state_dict, "critic": state_dict})`` kept in memory.
    notes : tuple of str
        Why a metric is ``nan`` (e.g. the kNN KL estimator raised).
    seconds : float
        Total training time.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.torch import DATASETS, mode_metrics, train_gan
    >>> ring = DATASETS["pacgan_ring"][0]()
    >>> run = train_gan(ring, steps=20, batch_size=64, n_data=2000, metrics=("modes",),
    ...                 rng=0, device="cpu")
    >>> run.history["step"][:3], run.sample(3, rng=0).shape
    ([0, 2, 4], (3, 2))

    ``metrics`` scores fresh samples with the definitions of ``history``:

    >>> fresh = run.metrics(metrics=("modes",), rng=1)
    >>> x = run.sample(len(run.target_eval), rng=np.random.default_rng(1))
    >>> fresh["mode_kl"] == mode_metrics(x, **run.mode_spec)["mode_kl"]
    True
    """

    generator: nn.Module
    critic: nn.Module
    loss: GANLoss
    history: dict
    target_eval: np.ndarray
    mode_spec: dict | None
    config: dict
    checkpoints: tuple = ()
    notes: tuple = ()
    seconds: float = 0.0
    _device: Any = field(default=None, repr=False)
    _dtype: Any = field(default=None, repr=False)

    def sample(self, n, *, rng=None) -> np.ndarray:
        """Draw ``n`` samples from the generator, shape (n, d) (float64).

        ``rng`` (int, Generator or None) seeds the noise: same ``rng`` → same samples.
        """
        n = check_positive_int(n, "n")
        gen = torch_generator(check_rng(rng), self._device)
        self.generator.eval()
        with torch.no_grad():
            z = torch.randn(n, self.generator.latent_dim, generator=gen, device=self._device,
                            dtype=self._dtype)
            return to_numpy(self.generator(z)).reshape(n, -1)

    def metrics(self, n=None, *, metrics=_METRICS, rng=None) -> dict:
        """The metrics of ``history`` for ``n`` fresh samples (default ``len(target_eval)``)."""
        n = len(self.target_eval) if n is None else check_positive_int(n, "n")
        rng = check_rng(rng)
        out, notes = _evaluate(self.sample(n, rng=rng), self.target_eval, self.mode_spec,
                               metrics, rng)
        out["notes"] = notes
        return out

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v and k in ("step", "w1", "mmd2")}
        return f"GANRun(loss={self.loss.name!r}, {last})"


# ---------------------------------------------------------------------------------
# target, metrics


def _mode_spec(target) -> dict | None:
    """Centres, stds and weights of a mixture of isotropic Gaussians, else None."""
    if isinstance(target, (GaussianRing, GaussianGrid)):
        K = len(target.centers)
        return {"centers": target.centers, "std": np.full(K, target.std),
                "weights": target.weights}
    if not isinstance(target, Mixture):
        return None
    centers, stds = [], []
    for c in target.components:
        mean = c.mean() if callable(getattr(c, "mean", None)) else getattr(c, "mean", None)
        if target.dim == 1 and hasattr(c, "std") and callable(c.std):
            centers.append([float(mean)])
            stds.append(float(c.std()))
            continue
        cov = getattr(c, "cov", None)
        cov = cov() if callable(cov) else cov
        if mean is None or cov is None:
            return None
        cov = np.atleast_2d(np.asarray(cov, dtype=float))
        s2 = float(cov[0, 0])
        if not np.allclose(cov, s2 * np.eye(len(cov))):
            return None
        centers.append(np.atleast_1d(np.asarray(mean, dtype=float)))
        stds.append(math.sqrt(s2))
    return {"centers": np.array(centers), "std": np.array(stds), "weights": target.weights}


def _draw_target(target, n_data, n_eval, rng):
    """(training pool, held-out evaluation set, mode spec) as float64 arrays (n, d)."""
    if is_samples(target):
        data = as_2d(target, "target", min_n=4)
        data = data[rng.permutation(len(data))]
        n_ev = min(n_eval, len(data) // 2)
        return data[n_ev:], data[:n_ev], None
    d = _target_dim(target)
    draw = [np.asarray(target.rvs(size=k, random_state=rng), dtype=float).reshape(k, d)
            for k in (n_data, n_eval)]
    return draw[0], draw[1], _mode_spec(target)


def _evaluate(fake, real, mode_spec, metrics, rng) -> tuple[dict, list]:
    out: dict = {}
    notes: list = []
    if "w1" in metrics:
        out["w1"] = wasserstein1_exact(real, fake)
    if "mmd" in metrics:
        out["mmd2"] = mmd2_gaussian(real, fake, rng=rng)
    if "kl" in metrics:
        from ..estimators import knn
        try:
            out["kl"] = float(knn(real, fake, "kl", rng=rng))
        except (ValueError, FloatingPointError) as exc:
            out["kl"] = math.nan
            notes.append(f"kl: the nearest-neighbour estimator raised: {exc}")
    if "modes" in metrics and mode_spec is not None:
        mm = mode_metrics(fake, mode_spec["centers"], mode_spec["std"],
                          weights=mode_spec["weights"])
        out.update({k: mm[k] for k in ("modes_captured", "modes_captured_20", "high_quality",
                                       "reverse_kl_hq", "mode_kl")})
    return out, notes


# ---------------------------------------------------------------------------------
# optimisers and networks


def _optimizer(kind, params, lr, betas):
    if callable(kind):
        return kind(params, lr)
    if kind == "adam":
        # fused: one pass over each parameter (the elementwise arithmetic of a member of
        # an ensemble is then its single run's too); torch.optim.Adam's own when torch
        # cannot fuse for the device
        params = list(params)
        try:
            return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)
        except (RuntimeError, TypeError, ValueError):  # pragma: no cover - odd device
            return torch.optim.Adam(params, lr=lr, betas=tuple(betas))
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def _make_generator(generator, d, latent_dim, rng, dev, dt):
    if generator is None or generator == "mlp":
        return MLPGenerator(d, latent_dim=latent_dim, rng=rng, device=dev, dtype=dt)
    if generator == "location_scale":
        return LocationScale(d, device=dev, dtype=dt)
    if isinstance(generator, dict):
        return MLPGenerator(d, latent_dim=latent_dim, rng=rng, device=dev, dtype=dt, **generator)
    if not isinstance(generator, nn.Module):
        raise TypeError(f"generator must be None, 'mlp', 'location_scale', a dict of "
                        f"MLPGenerator options or a torch.nn.Module; got {_describe(generator)}")
    lat = getattr(generator, "latent_dim", None)
    if not isinstance(lat, int) or lat < 1:
        raise ValueError("a generator module needs an integer attribute latent_dim >= 1 (the "
                         f"noise dimension); got latent_dim={lat!r}")
    return generator.to(device=dev, dtype=dt)


class _WithInput(nn.Module):
    """Features [x, phi(x)]: a characteristic kernel whatever phi learns (MMD-GAN)."""

    def __init__(self, phi):
        super().__init__()
        self.phi = phi

    def forward(self, x):
        f = _ContiguousGrad.apply(self.phi(x))
        return torch.cat([_ContiguousGrad.apply(x), f if f.dim() == 2 else f[:, None]], dim=1)


class _ContiguousGrad(torch.autograd.Function):
    """The identity, whose backward makes the incoming gradient contiguous.

    The gradient of a block of ``torch.cat`` is a strided view, and a reduction over a
    strided view may sum in another order alone than in a batch (an ensemble);
    contiguous, both sum alike.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(f):
        return f.view_as(f)

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous()


def _make_critic(critic, loss, lipschitz, d, rng, dev, dt, name="critic"):
    if critic is None or isinstance(critic, dict):
        opts = {"width": 128, "depth": 2, "activation": "leaky_relu",
                "spectral_norm": lipschitz == "spectral", **(critic or {})}
        if loss.features:
            opts.setdefault("out_features", 16)
            return _WithInput(MLP(d, rng=rng, device=dev, dtype=dt, **opts))
        return MLP(d, rng=rng, device=dev, dtype=dt, **opts)
    if lipschitz == "spectral":
        _check_spectral(critic, name, "" if loss.lipschitz != "spectral"
                        else f" (the default of loss {loss.name!r})")
    return _check_module(critic, name, d, dev, dt, scalar=not loss.features)


# ---------------------------------------------------------------------------------


_UNROLLED = ("adam", "rmsprop", "sgd")
_UNROLLED_CLASS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop,
                   "sgd": torch.optim.SGD}
# hyperparameters of a fresh unrolled optimiser (torch's defaults; Adam's betas from train_gan)
_FRESH = {"adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                   "maximize": False, "decoupled_weight_decay": False},
          "rmsprop": {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                      "centered": False, "maximize": False},
          "sgd": {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
                  "maximize": False}}


def _scalar(v):
    return float(v) if isinstance(v, torch.Tensor) else v


@dataclass(frozen=True)
class _UnrollRule:
    """How :func:`_unrolled_params` updates each critic parameter.

    ``hyper[name]`` holds the optimiser's hyperparameters for that parameter (its
    param group's, with ``lr`` overridden by ``unrolled_lr``), ``state[name]`` the
    optimiser state it starts from (detached copies; empty: fresh), ``frozen`` the
    parameters the critic's optimiser does not update, ``clip`` the WGAN clipping bound
    applied after each step (None: none), ``from_state`` whether the state is the
    critic optimiser's (else fresh).
    """

    kind: str
    hyper: dict
    state: dict
    frozen: frozenset = frozenset()
    clip: float | None = None
    from_state: bool = False


def _unroll_rule(kind, critic, optimizer=None, *, lr=None, betas=None, clip=None) -> _UnrollRule:
    """The unrolled update of ``kind`` for ``critic``, from ``optimizer``'s state if it is one.

    If ``optimizer`` is an instance of the torch optimiser of ``kind`` (``Adam`` and its
    subclass ``AdamW``, ``RMSprop``, ``SGD``), each parameter starts from that
    optimiser's state (moments, step count) with its param group's hyperparameters;
    otherwise from a fresh state (zero moments, step 0) with torch's default
    hyperparameters (Adam: ``betas`` if given).  ``lr`` overrides the learning rate
    (None: the param group's).  Parameters in no param group of ``optimizer`` stay fixed.
    Nothing is written to ``critic`` or ``optimizer``.
    """
    kind = check_choice(kind, "unrolled_optimizer", _UNROLLED)
    from_state = isinstance(optimizer, _UNROLLED_CLASS[kind])
    groups = {}
    if optimizer is not None:
        for group in optimizer.param_groups:
            for p in group["params"]:
                groups[id(p)] = group
    fresh = dict(_FRESH[kind])
    if kind == "adam" and betas is not None and len(betas) == 2:
        fresh["betas"] = tuple(betas)
    hyper, state, frozen = {}, {}, set()
    for name, p in critic.named_parameters():
        group = groups.get(id(p))
        if optimizer is not None and group is None:
            frozen.add(name)
            continue
        h = ({k: group.get(k, v) for k, v in fresh.items()} if from_state else dict(fresh))
        h = {k: (tuple(_scalar(b) for b in v) if k == "betas" else _scalar(v))
             for k, v in h.items()}
        h["lr"] = lr if lr is not None else _scalar(group["lr"]) if group is not None else None
        if h["lr"] is None:
            raise ValueError("unrolled_lr is needed when the critic has no optimizer")
        hyper[name] = h
        st = optimizer.state.get(p, {}) if from_state else {}
        # copies: a snapshot that later real steps (in place) do not change
        state[name] = {k: (float(v) if k == "step" else v.detach().clone())
                       if isinstance(v, torch.Tensor) else v for k, v in st.items()}
    return _UnrollRule(kind, hyper, state, frozenset(frozen), clip, from_state)


def _sqrt(v, safe):
    """sqrt(v); with ``safe`` its derivative at v = 0 is 0 instead of inf (no 0·inf = NaN)."""
    if not safe:
        return v.sqrt()
    pos = v > 0
    return torch.where(pos, torch.where(pos, v, torch.ones_like(v)).sqrt(), torch.zeros_like(v))


def _adam_update(p, g, st, h, safe):
    """One step of torch.optim.Adam (its single-tensor arithmetic), out of place."""
    if h["maximize"]:
        g = -g
    step = st.get("step", 0.0) + 1.0
    b1, b2 = h["betas"]
    if h["weight_decay"] != 0:
        if h["decoupled_weight_decay"]:
            p = p * (1 - h["lr"] * h["weight_decay"])
        else:
            g = g + h["weight_decay"] * p
    m = torch.lerp(st["exp_avg"], g, 1 - b1) if "exp_avg" in st else (1 - b1) * g
    v = (torch.addcmul(st["exp_avg_sq"] * b2, g, g, value=1 - b2) if "exp_avg_sq" in st
         else (1 - b2) * g * g)
    new = {"step": step, "exp_avg": m, "exp_avg_sq": v}
    if h["amsgrad"]:
        vmax = torch.maximum(st["max_exp_avg_sq"], v) if "max_exp_avg_sq" in st else v
        new["max_exp_avg_sq"] = vmax
        v = vmax
    bias_correction1 = 1 - b1 ** step
    bias_correction2 = 1 - b2 ** step
    denom = _sqrt(v, safe) / bias_correction2 ** 0.5 + h["eps"]
    return torch.addcdiv(p, m, denom, value=-h["lr"] / bias_correction1), new


def _rmsprop_update(p, g, st, h, safe):
    """One step of torch.optim.RMSprop, out of place."""
    if h["maximize"]:
        g = -g
    if h["weight_decay"] != 0:
        g = g + h["weight_decay"] * p
    a = h["alpha"]
    sq = (torch.addcmul(st["square_avg"] * a, g, g, value=1 - a) if "square_avg" in st
          else (1 - a) * g * g)
    new = {"step": st.get("step", 0.0) + 1.0, "square_avg": sq}
    if h["centered"]:
        ga = torch.lerp(st["grad_avg"], g, 1 - a) if "grad_avg" in st else (1 - a) * g
        new["grad_avg"] = ga
        avg = _sqrt(torch.addcmul(sq, ga, ga, value=-1), safe) + h["eps"]
    else:
        avg = _sqrt(sq, safe) + h["eps"]
    if h["momentum"] > 0:
        buf = g / avg
        if "momentum_buffer" in st:
            buf = buf + h["momentum"] * st["momentum_buffer"]
        new["momentum_buffer"] = buf
        return p - h["lr"] * buf, new
    return torch.addcdiv(p, g, avg, value=-h["lr"]), new


def _sgd_update(p, g, st, h, safe):
    """One step of torch.optim.SGD, out of place (plain gradient descent by default)."""
    if h["maximize"]:
        g = -g
    if h["weight_decay"] != 0:
        g = g + h["weight_decay"] * p
    new = {}
    if h["momentum"] != 0:
        buf = st.get("momentum_buffer")
        buf = g if buf is None else buf * h["momentum"] + (1 - h["dampening"]) * g
        new["momentum_buffer"] = buf
        g = g + h["momentum"] * buf if h["nesterov"] else buf
    return p - h["lr"] * g, new


_UPDATE = {"adam": _adam_update, "rmsprop": _rmsprop_update, "sgd": _sgd_update}


def _unrolled_params(critic, loss, params, batches, rule, backprop, *, call=None,
                     critic_loss=None):
    r"""The critic's parameters after one unrolled step of ``rule`` per (real, fake) batch.

    Each step differentiates the critic loss (no penalties) at the current parameters
    and applies ``rule``'s optimiser update out of place, starting from ``rule.state``;
    with ``backprop`` every tensor stays in the autograd graph (``create_graph=True``),
    so a loss at the returned parameters differentiates through the whole unroll.
    Returns (parameters, buffers, final optimiser state); ``critic`` is not modified.
    ``call(params, x)`` and ``critic_loss(real, fake)`` replace the critic's forward pass
    at given parameters and ``loss.critic_loss`` (an ensemble's stacked critics and the
    sum of its members' losses).
    """
    cur = dict(params)
    buffers = dict(critic.named_buffers())
    state = {k: dict(v) for k, v in rule.state.items()}
    update = _UPDATE[rule.kind]
    names = [k for k in cur if k not in rule.frozen]
    if call is None:
        def call(p, x):
            return functional_call(critic, (p, buffers), (x,))
    critic_loss = loss.critic_loss if critic_loss is None else critic_loss
    for xr, xf in batches:
        lc = critic_loss(call(cur, xr), call(cur, xf))
        grads = torch.autograd.grad(lc, [cur[k] for k in names], create_graph=backprop,
                                    allow_unused=True)
        with torch.set_grad_enabled(backprop):
            for k, g in zip(names, grads):
                if g is None:   # unused by the forward pass: torch's optimizers skip it
                    continue
                p, state[k] = update(cur[k] if backprop else cur[k].detach(), g, state[k],
                                     rule.hyper[k], backprop)
                if rule.clip is not None:
                    p = p.clamp(-rule.clip, rule.clip)
                cur[k] = p if backprop else p.requires_grad_(True)
    return cur, buffers, state


def _unrolled_surrogate(loss, crit, real, xf, *, critic_loss=None, generator_loss=None):
    """The unrolled generator's loss at the unrolled critic ``crit``: Metz et al.'s
    :math:`f_K = -L_D` for a zero-sum loss (its real term depends on the generator through
    the unroll), else the generator loss :math:`L_G`.  ``real()`` gives the real batch,
    drawn only when the loss reads one; ``critic_loss`` / ``generator_loss`` replace the
    loss's (an ensemble's batched ones)."""
    critic_loss = loss.critic_loss if critic_loss is None else critic_loss
    generator_loss = loss.generator_loss if generator_loss is None else generator_loss
    if loss.zero_sum:
        return -critic_loss(crit(real()), crit(xf))
    return generator_loss(crit(real()) if loss.generator_uses_real else None, crit(xf))


def _critic_update(real_batch, fake_batch, objective, opt, clip):
    """One critic step on fresh batches (the loss of a run, or the losses of an ensemble's
    members, summed for one backward pass); returns the detached loss."""
    xr = real_batch()
    with torch.no_grad():
        xf = fake_batch()
    lc = objective(xr, xf)
    opt.zero_grad(set_to_none=True)
    lc.sum().backward()
    opt.step()
    if clip is not None:
        clip()
    return lc.detach()


def _target_dim(target) -> int:
    if is_samples(target):
        return as_2d(target, "target", min_n=4).shape[1]
    if not hasattr(target, "rvs"):
        raise TypeError(f"target must be a sample array or a distribution with rvs(); got "
                        f"{_describe(target)}")
    return dimension(target)


def _preset_options(target, preset, kwargs) -> dict:
    """The options ``preset`` sets for a run of ``kwargs`` (networks seeded from its rng)."""
    from .._parallel import spawn_seeds
    from ._presets import preset_options
    pack = check_positive_int(kwargs.get("pack", 1), "pack")
    net_rng = np.random.default_rng(spawn_seeds(kwargs.get("rng"), 1)[0])
    return preset_options(preset, _target_dim(target), pack, net_rng,
                          kwargs.get("device", "auto"), kwargs.get("dtype", "float32"))


def _preset_error(preset, preset_opts, given, exc) -> ValueError:
    """A failed option check of a preset run, naming the preset and the options it set
    (those not ``given`` explicitly); ``train_gan`` and ``train_gan_ensemble`` raise it."""
    set_by = ", ".join(k for k in preset_opts if k not in given)
    return ValueError(f"preset={preset!r} (it sets {set_by}): {exc}")


def _with_preset(fn):
    """``train_gan(..., preset=name)``: the preset's options, overridden by those passed."""
    @functools.wraps(fn)
    def train_gan(target, *args, **kwargs):
        preset = kwargs.pop("preset", None)
        if preset is None:
            return fn(target, *args, **kwargs)
        if len(args) > 1:
            raise TypeError("train_gan takes target and loss positionally; pass the other "
                            "options by keyword")
        if args:
            kwargs["loss"] = args[0]
        opts = _preset_options(target, preset, kwargs)
        try:
            run = fn(target, **{**opts, **kwargs})
        except ValueError as exc:
            raise _preset_error(preset, opts, kwargs, exc) from exc
        run.config.update(preset=preset, preset_overridden=sorted(set(opts) & set(kwargs)))
        return run
    return train_gan


@_with_preset
def train_gan(target, loss="nonsaturating", *, preset=None, generator=None, critic=None,
              steps=2000, batch_size=64, pack=1, n_critic=None, lr=None, optimizer=None, betas=None, schedule=None,
              lipschitz=None, penalty=None, clip=None, r1=0.0, unrolled_steps=0,
              unrolled_optimizer="adam", unrolled_lr=None, unrolled_backprop=True,
              latent_dim=None, n_data=20_000, n_eval=1000, eval_every=None, metrics=_METRICS,
              checkpoint_every=None, checkpoint_dir=None, resume=None, progress=False,
              device="auto",
              dtype="float32", num_threads=1, rng=None) -> GANRun:
    r"""Train a generator on a target distribution or sample with any registered GAN loss.

    Parameters
    ----------
    target : distribution or array_like
        A frozen scipy.stats / divest distribution with ``rvs`` (a pool of ``n_data``
        training samples and ``n_eval`` held-out ones are drawn from it), or a sample
        array of shape (n, d) or (n,) (``min(n_eval, n // 2)`` rows are held out).
    loss : str or GANLoss, default ``"nonsaturating"``
        A name from :func:`gan_losses` (``"fgan:<f>"`` for any f-divergence).
    preset : {"pacgan", "unrolled", "wgan_gp_toy"}, optional
        A paper's networks, optimiser, schedule and batch (:data:`GAN_PRESETS`); options
        passed explicitly override the preset's, and ``config["preset"]`` and
        ``config["preset_overridden"]`` record both.  The preset's networks are seeded by
        a generator spawned from ``rng``.
    generator : None, "mlp", "location_scale", dict or torch.nn.Module
        ``None``/``"mlp"``: :class:`MLPGenerator` (a dict gives its options);
        ``"location_scale"``: :class:`LocationScale` (:math:`\mu + \sigma z`, starting at
        :math:`\mu = 0, \sigma = 1`); a module needs a ``latent_dim`` attribute.
    critic : None, dict or torch.nn.Module
        Default an :class:`MLP` (width 128, depth 2, leaky ReLU; spectrally normalised
        when ``lipschitz="spectral"``; for ``"mmd"`` 16 learned features concatenated
        with the input).  A dict updates those options.
    steps : int, default 2000
        Generator updates.
    batch_size : int, default 64
        Samples of P and of the generator per critic (and generator) step.
    pack : int, default 1
        PacGAN packing (Lin et al. [6]_): the critic judges packs of ``pack`` samples,
        concatenated into one row of ``pack * d`` columns, so a batch is
        ``batch_size / pack`` packs (``pack`` must divide ``batch_size``; PacGAN's
        protocol of 100 packs per step is ``batch_size = 100 * pack``).  Every loss
        applies to the packs; a gradient penalty or R1 is then per pack (one
        interpolation weight and one gradient norm per pack).  A critic module must take
        ``pack * d`` columns.
    n_critic : int, optional
        Critic updates per generator update (loss default: 5 for the WGANs and MMD, 1
        otherwise).  Ignored by ``schedule="single_step"``.
    lr : float or (float, float), optional
        Learning rate, or (generator, critic) learning rates (loss default, e.g. 5e-5
        for WGAN with clipping, 1e-4 for WGAN-GP, 2e-4 for the DCGAN-style losses).
    optimizer : {"adam", "rmsprop", "sgd"} or callable, optional
        Loss default (RMSProp for WGAN with clipping, Adam otherwise); a callable
        ``(params, lr) -> torch.optim.Optimizer``.
    betas : (float, float), optional
        Adam's betas (loss default, e.g. (0, 0.9) for WGAN-GP, (0.5, 0.999) for DCGAN).
    schedule : {"alternating", "single_step", "simultaneous"}, optional
        ``"alternating"``: ``n_critic`` critic steps, then one generator step, each on
        fresh batches; ``"single_step"`` (alias ``"simultaneous"``): both networks
        updated at once from the gradients of one batch (f-GAN's Algorithm 1, the default
        of the ``fgan:`` losses; PacGAN's ``ali_algorithm``).
    lipschitz : {"none", "clip", "gp", "lp", "spectral"}, optional
        Override the loss's Lipschitz control (weight clipping, two- or one-sided
        per-sample gradient penalty, spectral normalisation of the default critic).
        ``"spectral"`` with a critic module (the user's or a preset's) requires a
        spectrally normalised layer in it (``torch.nn.utils.parametrizations.spectral_norm``)
        and raises otherwise, rather than train an unconstrained critic.
    penalty : float, optional
        Gradient-penalty weight λ (loss default 10).
    clip : float, optional
        Clipping bound (loss default 0.01).
    r1 : float, default 0
        Weight γ of the R1 penalty :math:`\frac{\gamma}{2}\mathbb{E}_P\|\nabla D\|^2`.
    unrolled_steps : int, default 0
        Unrolled GAN (Metz et al. 2017): the generator loss is computed against the
        critic after this many extra critic updates (see Notes); 0 for none.  With
        ``schedule="alternating"`` each unrolled update draws fresh batches (the updates
        the paper describes); with ``"single_step"`` every unrolled update reuses the
        step's own batch and both networks then update at once (Poole's reference
        notebook).
    unrolled_optimizer : {"adam", "rmsprop", "sgd"}, default "adam"
        The update that is unrolled, a differentiable copy of ``torch.optim.Adam``,
        ``RMSprop`` or ``SGD``.  If the critic's optimizer is of that kind (``AdamW``
        counts as Adam) the unroll starts from its current state (moments, step count)
        with its hyperparameters (lr, betas, eps, weight decay, amsgrad, momentum, ...);
        otherwise from a fresh state (zero moments, step 0) with torch's defaults and,
        for Adam, ``betas``.  So the default unrolls the critic's real optimizer for
        every Adam loss; for ``"wgan_clip"`` (RMSProp) pass ``"rmsprop"`` for that.
    unrolled_lr : float, optional
        Learning rate of the unrolled updates; default the critic's (``lr``).  (Plain
        SGD at the critic's Adam rate barely moves the critic: the unrolling used
        before Adam was ``unrolled_optimizer="sgd", unrolled_lr=0.01``.)
    unrolled_backprop : bool, default True
        Differentiate the generator loss through the unrolled updates (second-order
        terms); False treats the unrolled critic as a constant.
    latent_dim : int, optional
        Noise dimension of the default MLP generator (default ``max(2, d)``).
    n_data, n_eval : int
        Training pool size (distribution targets) and held-out/generated evaluation size.
    eval_every : int, optional
        Steps between evaluations (default ``steps // 10``).
    metrics : sequence of str, default ("w1", "mmd", "kl", "modes")
        Which metrics ``history`` records (``()`` for none: faster).
    checkpoint_every : int, optional
        Save the training state every this many steps, to ``checkpoint_dir/step_<k>.pt``
        if ``checkpoint_dir`` is given, else in memory: generator and critic weights, both
        optimisers' states, the random generators' states, the history so far and the
        options that define the run.
    resume : str, path or dict, optional
        A checkpoint (a path from ``checkpoint_dir`` or a state from ``run.checkpoints``)
        to continue from: call ``train_gan`` with the same target, options and ``rng`` and
        a ``steps`` at least the checkpoint's step; training continues at the next step and
        gives exactly the run that would not have stopped (same weights, history and
        samples, on the same device; ``history["seconds"]`` counts the earlier time).  An
        option that differs from the checkpoint's raises naming it.  Long runs can thus
        span processes and sessions.
    progress : bool, default False
        Show a tqdm progress bar.
    device, dtype, rng
        ``"auto"`` → CUDA if available; ``"float32"``/``"float64"``; ``rng`` seeds the
        data, the initial weights and every random draw (same ``rng`` → same run on the
        CPU).
    num_threads : int or None, default 1
        CPU threads torch uses during training (restored afterwards); small networks are
        fastest on one.  ``None`` keeps torch's setting.

    Returns
    -------
    GANRun

    Notes
    -----
    The critic loss and generator loss of each :class:`GANLoss` are documented with the
    divergence they minimise when the critic is optimal; the defaults follow the papers
    (WGAN: RMSProp 5e-5, clip 0.01, n_critic 5; WGAN-GP: Adam(1e-4, β = (0, 0.9)),
    λ = 10, n_critic 5; DCGAN-style losses: Adam(2e-4, β = (0.5, 0.999))).  Cost per
    generator step: ``n_critic`` critic updates (a double backward pass with a gradient
    penalty) plus one generator update; each evaluation computes an exact OT problem of
    size ``n_eval`` (about 0.1–0.5 s for 1000 points in 2-D).

    **Unrolled GAN.**  With ``unrolled_steps`` = K > 0 the generator minimises the
    surrogate :math:`f_K(\theta_G, \theta_D) = f(\theta_G, \theta_D^K(\theta_G,
    \theta_D))` of Metz et al. [5]_: for a zero-sum loss (``GANLoss.zero_sum``: minimax,
    the WGANs, MMD, f-GAN, the scoring rules) the saddle objective :math:`f = -L_D`,
    whose real-data term depends on :math:`\theta_G` through :math:`\theta_D^K` (the
    paper's and Poole's notebook's generator objective); for the other losses
    (non-saturating, hinge, least squares, ...) the generator loss :math:`f = L_G`, the
    natural extension. Here :math:`\theta_D^0 = \theta_D` and
    :math:`\theta_D^{k+1} = \theta_D^k + \Delta(\nabla_{\theta_D} L_D(\theta_G,
    \theta_D^k), s_k)` is one step of the critic's optimiser with state :math:`s_k`
    (Adam: :math:`m_{k+1} = \beta_1 m_k + (1-\beta_1) g`, :math:`v_{k+1} = \beta_2 v_k +
    (1-\beta_2) g^2`, :math:`\Delta = -\eta\, \hat m / (\sqrt{\hat v} + \epsilon)` with the
    bias corrections :math:`\hat m = m_{k+1}/(1-\beta_1^{t+k+1})`, :math:`\hat v =
    v_{k+1}/(1-\beta_2^{t+k+1})`, t = the critic optimiser's step count), each step on a
    fresh (real, generated) batch; with ``schedule="single_step"`` each step on the
    batch of the training step, whose critic and generator updates are then applied
    together (Poole's notebook: one session step computes the critic update and the
    generator's gradient at :math:`\theta_D^K` from the same samples).  :math:`L_D` is the critic loss without gradient or
    R1 penalties; weight clipping (``lipschitz="clip"``) is applied after every
    unrolled step; spectral normalisation uses its current singular vectors (no power
    iteration).  With ``unrolled_backprop`` the generator gradient is the total
    derivative :math:`\partial_{\theta_G} L_G + \partial_{\theta_D^K} L_G \,
    d\theta_D^K/d\theta_G`, which differentiates through the gradients, moments and
    square roots of every step (``create_graph=True``; :math:`\sqrt{v}` has derivative
    0 where v = 0, where the exact one is infinite); without it only the first term.
    The unrolled updates are computed out of place: the critic and its optimiser are
    not changed, and the next real critic update proceeds from :math:`\theta_D`
    (:math:`\theta_D^K` is discarded).  Cost per generator step: K extra critic
    forward/backward passes on two batches, and with ``unrolled_backprop`` a backward
    pass through all of them (memory linear in K).  Measured on one CPU thread, default
    networks, batch 64, 8-Gaussian ring: 2.5 ms per generator step for K = 0; for K = 5,
    8.8 ms without ``unrolled_backprop``, 20 ms with it (14 ms unrolling plain SGD).
    After 2000 steps (nonsaturating loss, 2 seeds) K = 5 had all 8 modes (16–32 % of
    the samples within 3σ of a mode), K = 0 had 2 and 0; at equal wall time (17 000
    steps) one K = 0 run had all 8 modes at 92 % and the other collapsed.

    In one dimension the two-sided gradient penalty of WGAN-GP is a barrier against the
    critic changing the sign of its slope (:math:`|f'|` would have to pass through 0):
    once the generator overshoots the target the critic keeps pushing it on.  Measured:
    a location-scale generator fitted to N(2, 0.5²) passes the target and reaches
    :math:`\mu \approx 3` after 300 steps (``lr=(0.01, 2e-3)``), while ``"wgan_lp"``
    (one-sided penalty) and ``"wgan_clip"`` converge.  In two or more dimensions the
    critic can rotate its gradient and the problem does not arise.

    References
    ----------
    .. [1] I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014.
    .. [2] S. Nowozin, B. Cseke, R. Tomioka, "f-GAN", NeurIPS 2016.
    .. [3] M. Arjovsky, S. Chintala, L. Bottou, "Wasserstein GAN", ICML 2017.
    .. [4] I. Gulrajani et al., "Improved training of Wasserstein GANs", NeurIPS 2017.
    .. [5] L. Metz, B. Poole, D. Pfau, J. Sohl-Dickstein, "Unrolled generative
       adversarial networks", ICLR 2017.
    .. [6] Z. Lin, A. Khetan, G. Fanti, S. Oh, "PacGAN: the power of two samples in
       generative adversarial networks", NeurIPS 2018.

    Examples
    --------
    >>> from scipy import stats
    >>> from divest.torch import train_gan
    >>> run = train_gan(stats.norm(2.0, 0.5), "hinge", generator="location_scale",
    ...                 critic={"width": 32}, steps=300, lr=(0.01, 2e-3), batch_size=128,
    ...                 metrics=("w1",), rng=0, device="cpu")
    >>> mu, sigma = float(run.generator.mean[0]), float(run.generator.std[0])
    >>> abs(mu - 2.0) < 0.2, abs(sigma - 0.5) < 0.2
    (True, True)
    >>> run.sample(5, rng=0).shape, run.history["step"][:2]
    ((5, 1), [0, 30])

    An unrolled GAN: each generator step sees the critic after 3 differentiable steps
    of the critic's own Adam, from its current moments and at its learning rate.

    >>> run = train_gan(stats.norm(2.0, 0.5), "nonsaturating", generator="location_scale",
    ...                 critic={"width": 32}, steps=20, unrolled_steps=3, metrics=(),
    ...                 rng=0, device="cpu")
    >>> cfg = run.config
    >>> cfg["unrolled_optimizer"], cfg["unrolled_lr"], cfg["unrolled_from_state"]
    ('adam', 0.0002, True)
    """
    t0 = time.perf_counter()
    o = _check_options(loss, steps, batch_size, pack, n_critic, lr, optimizer, betas,
                       schedule, lipschitz, penalty, clip, r1, unrolled_steps,
                       unrolled_optimizer, unrolled_lr, unrolled_backprop, n_data,
                       n_eval, eval_every, metrics, checkpoint_every, resume,
                       num_threads, device, dtype, rng)
    (loss, steps, batch_size, pack, n_critic, schedule, lipschitz, penalty, clip, r1,
     unrolled_steps, unrolled_optimizer, unrolled_lr, unrolled_backprop, lr_g, lr_c,
     optimizer, betas, n_data, n_eval, resume_state, eval_every, metrics,
     checkpoint_every, num_threads, rng, dev, dt) = (o[k] for k in (
        "loss", "steps", "batch_size", "pack", "n_critic", "schedule", "lipschitz",
        "penalty", "clip", "r1", "unrolled_steps", "unrolled_optimizer", "unrolled_lr",
        "unrolled_backprop", "lr_g", "lr_c", "optimizer", "betas", "n_data", "n_eval",
        "resume_state", "eval_every", "metrics", "checkpoint_every", "num_threads",
        "rng", "dev", "dt"))
    data_np, eval_np, mode_spec, data, G, C, gen, eval_rng_seed, z_eval = _setup(
        target, loss, generator, critic, lipschitz, pack, latent_dim, n_data, n_eval, rng, dev,
        dt)
    d = data_np.shape[1]
    opt_g = _optimizer(optimizer, G.parameters(), lr_g, betas)
    opt_c = _optimizer(optimizer, C.parameters(), lr_c, betas)
    if lipschitz == "clip":
        clip_weights_(C, clip)

    def unroll_rule():
        return _unroll_rule(unrolled_optimizer, C, opt_c, lr=unrolled_lr, betas=betas,
                            clip=clip if lipschitz == "clip" else None)

    def real_batch():   # packed: batch_size / pack rows of pack * d columns
        x = data[torch.randint(len(data), (batch_size,), generator=gen, device=dev)]
        return x if pack == 1 else x.reshape(batch_size // pack, pack * d)

    def fake_batch():   # pack slot j of every pack from its own generator call (PacGAN:
        # one batch per slot, so batch normalisation sees batch_size / pack samples)
        z = torch.randn(batch_size, G.latent_dim, generator=gen, device=dev, dtype=dt)
        if pack == 1:
            return G(z)
        b = batch_size // pack
        return torch.cat([G(z[j * b:(j + 1) * b]) for j in range(pack)], dim=1)

    def critic_objective(xr, xf):
        lc = loss.critic_loss(C(xr), C(xf))
        if lipschitz in ("gp", "lp"):
            lc = lc + penalty * gradient_penalty(C, xr, xf, generator=gen,
                                                 one_sided=lipschitz == "lp")
        if r1 > 0:
            lc = lc + 0.5 * r1 * r1_penalty(C, xr)
        return lc

    def critic_step():
        return float(_critic_update(real_batch, fake_batch, critic_objective, opt_c,
                                    (lambda: clip_weights_(C, clip)) if lipschitz == "clip"
                                    else None))

    def unrolled_critic(batches):
        """The critic after one unrolled update per (real, fake) batch, as a function."""
        params = {k: v.detach().requires_grad_(True) for k, v in C.named_parameters()}
        cur, buffers, _ = _unrolled_params(C, loss, params, batches, unroll_rule(),
                                           unrolled_backprop)
        return lambda x: functional_call(C, (cur, buffers), (x,))

    def generator_step():
        for p in C.parameters():
            p.requires_grad_(False)
        try:
            if unrolled_steps:
                C.eval()
                batches = []
                for _ in range(unrolled_steps):
                    xr = real_batch()
                    with torch.set_grad_enabled(unrolled_backprop):
                        batches.append((xr, fake_batch()))
                crit = unrolled_critic(batches)
            else:
                crit = C
            xf = fake_batch()
            if unrolled_steps:
                lg = _unrolled_surrogate(loss, crit, real_batch, xf)
            else:
                r = crit(real_batch()) if loss.generator_uses_real else None
                lg = loss.generator_loss(r, crit(xf))
            opt_g.zero_grad(set_to_none=True)
            lg.backward()
            opt_g.step()
        finally:
            for p in C.parameters():
                p.requires_grad_(True)
            C.train()
        return float(lg.detach())

    def single_step():
        xr = real_batch()
        xf = fake_batch()
        lc = critic_objective(xr, xf)
        if unrolled_steps:
            # Poole's notebook: the K unrolled critic updates reuse this step's batch and
            # start from the critic and its optimiser before this step's update
            C.eval()
            try:
                crit = unrolled_critic(
                    [(xr, xf if unrolled_backprop else xf.detach())] * unrolled_steps)
                lg = _unrolled_surrogate(loss, crit, lambda: xr, xf)
            finally:
                C.train()
        else:
            lg = loss.generator_loss(C(xr), C(xf))
        gc = torch.autograd.grad(lc, list(C.parameters()), retain_graph=True)
        gg = torch.autograd.grad(lg, list(G.parameters()))
        for p, g in zip(C.parameters(), gc):
            p.grad = g.contiguous()   # fused Adam reads the gradient in the parameter's layout
        for p, g in zip(G.parameters(), gg):
            p.grad = g.contiguous()   # fused Adam reads the gradient in the parameter's layout
        opt_c.step()
        opt_g.step()
        if lipschitz == "clip":
            clip_weights_(C, clip)
        return float(lc.detach()), float(lg.detach())

    history: dict[str, list] = {"step": [], "seconds": [], "critic_loss": [],
                                "generator_loss": []}
    offset = [0.0]     # seconds of the run before a resumed checkpoint
    # the data and the seeds the rng gave: another target or rng differs
    fingerprint = {**_fingerprint(o, G.latent_dim, d, (data_np, eval_np)),
                   "eval_seed": eval_rng_seed}
    notes: list[str] = []
    checkpoints: list = []
    eval_rng = np.random.default_rng(eval_rng_seed)

    def record(step, lc_mean, lg_mean):
        G.eval()
        with torch.no_grad():
            fake = to_numpy(G(z_eval)).reshape(n_eval, d)
        G.train()
        if not np.all(np.isfinite(fake)):
            raise FloatingPointError(f"the generator produced non-finite samples at step {step} "
                                     f"(loss {loss.name}); lower the learning rate")
        vals, why = _evaluate(fake, eval_np, mode_spec, metrics, eval_rng)
        notes.extend(f"step {step}: {w}" for w in why)
        history["step"].append(step)
        history["seconds"].append(time.perf_counter() - t0 + offset[0])
        history["critic_loss"].append(lc_mean)
        history["generator_loss"].append(lg_mean)
        for k, v in vals.items():
            history.setdefault(k, []).append(v)

    def checkpoint(step):
        state = {"generator": copy.deepcopy(G.state_dict()),
                 "critic": copy.deepcopy(C.state_dict()), "step": step,
                 "optimizer_g": copy.deepcopy(opt_g.state_dict()),
                 "optimizer_c": copy.deepcopy(opt_c.state_dict()),
                 "torch_generator": gen.get_state(),
                 "eval_rng": copy.deepcopy(eval_rng.bit_generator.state),
                 "history": copy.deepcopy(history), "notes": list(notes),
                 "accumulated": (lc_sum, lg_sum, count),
                 "seconds": time.perf_counter() - t0 + offset[0],
                 "fingerprint": fingerprint}
        if checkpoint_dir is None:
            checkpoints.append((step, state))
        else:
            os.makedirs(checkpoint_dir, exist_ok=True)
            path = os.path.join(os.fspath(checkpoint_dir), f"step_{step}.pt")
            torch.save(state, path)
            checkpoints.append((step, path))

    lc_sum = lg_sum = 0.0
    count = 0
    first = 1
    if resume is None:
        record(0, math.nan, math.nan)
    else:
        state = _load_checkpoint(resume_state, fingerprint, steps)
        G.load_state_dict(state["generator"])
        C.load_state_dict(state["critic"])
        # copies: load_state_dict keeps the checkpoint's tensors, which Adam then updates
        opt_g.load_state_dict(copy.deepcopy(state["optimizer_g"]))
        opt_c.load_state_dict(copy.deepcopy(state["optimizer_c"]))
        gen.set_state(state["torch_generator"])
        eval_rng.bit_generator.state = state["eval_rng"]
        history = copy.deepcopy(state["history"])
        notes = list(state["notes"])
        lc_sum, lg_sum, count = state["accumulated"]
        offset[0] = state["seconds"]
        first = state["step"] + 1
    it = range(first, steps + 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        it = bar = tqdm(it, desc=f"train_gan[{loss.name}]", initial=first - 1, total=steps)
    G.train()
    C.train()
    with cpu_threads(num_threads, dev):
        for step in it:
            if schedule == "single_step":
                lc, lg = single_step()
            else:
                lc = sum(critic_step() for _ in range(n_critic)) / n_critic
                lg = generator_step()
            if not (math.isfinite(lc) and math.isfinite(lg)):
                raise FloatingPointError(f"loss {loss.name} became non-finite at step {step} "
                                         f"(critic {lc}, generator {lg}); lower the learning rate")
            lc_sum += lc
            lg_sum += lg
            count += 1
            if step % eval_every == 0 or step == steps:
                record(step, lc_sum / count, lg_sum / count)
                lc_sum = lg_sum = 0.0
                count = 0
                if bar is not None:
                    bar.set_postfix({k: f"{v[-1]:.3g}" for k, v in history.items()
                                     if k in ("w1", "mmd2") and v})
            if checkpoint_every is not None and step % checkpoint_every == 0:
                checkpoint(step)
    G.eval()
    C.eval()
    config = _config(o, opt_c, G.latent_dim, len(data_np), d)
    return GANRun(generator=G, critic=C, loss=loss, history=history, target_eval=eval_np,
                  mode_spec=mode_spec, config=config, checkpoints=tuple(checkpoints),
                  notes=tuple(notes), seconds=time.perf_counter() - t0, _device=dev,
                  _dtype=dt)


def _check_options(loss, steps, batch_size, pack, n_critic, lr, optimizer, betas,
                   schedule, lipschitz, penalty, clip, r1, unrolled_steps,
                   unrolled_optimizer, unrolled_lr, unrolled_backprop, n_data, n_eval,
                   eval_every, metrics, checkpoint_every, resume, num_threads, device,
                   dtype, rng) -> dict:
    """train_gan's options checked and resolved to the values a run uses (loss defaults)."""
    loss = get_gan_loss(loss)
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    pack = check_positive_int(pack, "pack")
    if batch_size % pack or batch_size // pack < 2:
        raise ValueError(f"pack={pack} must divide batch_size={batch_size} into at least 2 "
                         f"packs (the critic sees batch_size / pack packs of pack samples); "
                         f"use e.g. batch_size={max(2, batch_size // pack) * pack}")
    n_critic = loss.n_critic if n_critic is None else check_positive_int(n_critic, "n_critic")
    schedule = check_choice(loss.schedule if schedule is None else schedule, "schedule",
                            ("alternating", "single_step", "simultaneous"))
    schedule = "single_step" if schedule == "simultaneous" else schedule
    lipschitz = check_choice(lipschitz if lipschitz is not None else (loss.lipschitz or "none"),
                             "lipschitz", _LIPSCHITZ)
    penalty = (loss.penalty or 10.0) if penalty is None else check_real(penalty, "penalty",
                                                                        low=0.0)
    clip = (loss.clip or 0.01) if clip is None else check_real(clip, "clip", low=0.0)
    r1 = check_real(r1, "r1", low=0.0, low_open=False)
    unrolled_steps = check_positive_int(unrolled_steps, "unrolled_steps", minimum=0)
    unrolled_optimizer = check_choice(unrolled_optimizer, "unrolled_optimizer", _UNROLLED)
    if unrolled_lr is not None:
        unrolled_lr = check_real(unrolled_lr, "unrolled_lr", low=0.0)
    if not isinstance(unrolled_backprop, (bool, np.bool_)):
        raise TypeError(f"unrolled_backprop must be True or False; got "
                        f"{_describe(unrolled_backprop)}")
    unrolled_backprop = bool(unrolled_backprop)
    lr_g, lr_c = _check_lr(loss.lr if lr is None else lr)
    optimizer = loss.optimizer if optimizer is None else optimizer
    if not callable(optimizer):
        check_choice(optimizer, "optimizer", ("adam", "rmsprop", "sgd"))
    betas = loss.betas if betas is None else tuple(betas)
    if optimizer == "adam" and len(betas) != 2:
        betas = (0.9, 0.999)
    n_data = check_positive_int(n_data, "n_data", minimum=2)
    n_eval = check_positive_int(n_eval, "n_eval", minimum=4)
    resume_state = None if resume is None else _read_checkpoint(resume)
    if eval_every is None and resume_state is not None:   # the checkpoint's schedule
        eval_every = resume_state["fingerprint"]["eval_every"]
    eval_every = max(1, steps // 10) if eval_every is None else check_positive_int(
        eval_every, "eval_every")
    metrics = tuple(metrics)
    for m in metrics:
        check_choice(m, "metrics", _METRICS)
    if checkpoint_every is not None:
        checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    num_threads = check_threads(num_threads)
    rng = check_rng(rng)
    dev, dt = resolve_device(device), resolve_dtype(dtype)

    return {"loss": loss, "steps": steps, "batch_size": batch_size, "pack": pack,
            "n_critic": n_critic, "schedule": schedule, "lipschitz": lipschitz,
            "penalty": penalty, "clip": clip, "r1": r1, "unrolled_steps":
            unrolled_steps, "unrolled_optimizer": unrolled_optimizer, "unrolled_lr":
            unrolled_lr, "unrolled_backprop": unrolled_backprop, "lr_g": lr_g, "lr_c":
            lr_c, "optimizer": optimizer, "betas": betas, "n_data": n_data, "n_eval":
            n_eval, "resume_state": resume_state, "eval_every": eval_every, "metrics":
            metrics, "checkpoint_every": checkpoint_every, "num_threads": num_threads,
            "rng": rng, "dev": dev, "dt": dt}


def _setup(target, loss, generator, critic, lipschitz, pack, latent_dim, n_data, n_eval, rng,
           dev, dt):
    """One run's data, networks, torch generator, evaluation seed and noise, drawn from
    ``rng`` in the order that defines the run (a run and its ensemble member agree)."""
    data_np, eval_np, mode_spec = _draw_target(target, n_data, n_eval, rng)
    d = data_np.shape[1]
    data = to_tensor(data_np, dev, dt)
    G = _make_generator(generator, d, latent_dim, rng, dev, dt)
    C = _make_critic(critic, loss, lipschitz, d * pack, rng, dev, dt,
                     name="critic" if pack == 1 else f"critic (pack={pack}: packs of {pack} "
                     f"samples of dimension {d}, {pack * d} columns)")
    gen = torch_generator(rng, dev)
    eval_rng_seed = int(rng.integers(0, 2**63 - 1))
    z_eval = torch.randn(n_eval, G.latent_dim, generator=gen, device=dev, dtype=dt)
    return data_np, eval_np, mode_spec, data, G, C, gen, eval_rng_seed, z_eval


def _fingerprint(o, latent_dim, dim, arrays) -> dict:
    """What defines a run (options of :func:`_check_options`'s ``o``, the shapes and a hash
    of the ``arrays`` of data): a checkpoint resumes only a run with the same."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    opt = o["optimizer"]
    return {"loss": o["loss"].name, "batch_size": o["batch_size"], "pack": o["pack"],
            "n_critic": o["n_critic"], "schedule": o["schedule"], "lr": (o["lr_g"], o["lr_c"]),
            "optimizer": opt if isinstance(opt, str) else
            getattr(opt, "__qualname__", type(opt).__qualname__),
            "betas": tuple(o["betas"]), "lipschitz": o["lipschitz"], "penalty": o["penalty"],
            "clip": o["clip"], "r1": o["r1"], "unrolled_steps": o["unrolled_steps"],
            "unrolled_optimizer": o["unrolled_optimizer"], "unrolled_lr": o["unrolled_lr"],
            "unrolled_backprop": o["unrolled_backprop"], "n_data": o["n_data"],
            "n_eval": o["n_eval"], "eval_every": o["eval_every"], "metrics": o["metrics"],
            "latent_dim": latent_dim, "dtype": str(o["dt"]), "dim": dim,
            "data": digest.hexdigest()}


def _config(o, opt_c, latent_dim, n_data, dim) -> dict:
    """``GANRun.config``: every setting a run used (``o`` of :func:`_check_options`)."""
    opt = o["optimizer"]
    return {"loss": o["loss"].name, "steps": o["steps"], "batch_size": o["batch_size"],
            "pack": o["pack"], "n_critic": o["n_critic"], "schedule": o["schedule"],
            "lr": (o["lr_g"], o["lr_c"]), "optimizer": opt if isinstance(opt, str) else repr(opt),
            "betas": o["betas"], "lipschitz": o["lipschitz"], "penalty": o["penalty"],
            "clip": o["clip"], "r1": o["r1"], "unrolled_steps": o["unrolled_steps"],
            "unrolled_optimizer": o["unrolled_optimizer"],
            "unrolled_lr": o["lr_c"] if o["unrolled_lr"] is None else o["unrolled_lr"],
            "unrolled_from_state": isinstance(opt_c, _UNROLLED_CLASS[o["unrolled_optimizer"]]),
            "unrolled_backprop": o["unrolled_backprop"], "latent_dim": latent_dim,
            "num_threads": o["num_threads"], "n_data": n_data, "n_eval": o["n_eval"],
            "eval_every": o["eval_every"], "metrics": o["metrics"], "device": str(o["dev"]),
            "dtype": str(o["dt"]).replace("torch.", ""), "dim": dim}


def _read_checkpoint(resume):
    """A checkpoint state from a path or a dict of ``run.checkpoints``."""
    if isinstance(resume, dict):
        state = resume
    else:
        try:
            state = torch.load(os.fspath(resume), map_location="cpu", weights_only=False)
        except (OSError, TypeError, RuntimeError) as exc:
            raise ValueError(f"resume: cannot read the checkpoint {resume!r}: {exc}") from exc
    if not isinstance(state, dict) or "fingerprint" not in state:
        raise ValueError("resume must be a checkpoint written by train_gan(checkpoint_every="
                         "...) (a path or a state of run.checkpoints); this one has no "
                         "training state (written by an older divest?)")
    return state


def _load_checkpoint(state, fingerprint, steps):
    """The checkpoint ``state``, checked against this call's options."""
    old = state["fingerprint"]
    for key in sorted(set(old) | set(fingerprint)):
        if old.get(key) != fingerprint.get(key):
            raise ValueError(f"resume: option {key} is {fingerprint.get(key)!r} here but "
                             f"{old.get(key)!r} in the checkpoint; pass the checkpoint's "
                             f"options (and the same target and rng)")
    if steps < state["step"]:
        raise ValueError(f"resume: steps={steps} is below the checkpoint's step "
                         f"{state['step']}")
    return state


def _check_lr(lr):
    if isinstance(lr, (tuple, list)):
        if len(lr) != 2:
            raise ValueError(f"lr must be a number or a (generator, critic) pair; got {lr!r}")
        return (check_real(lr[0], "lr[0] (generator)", low=0.0),
                check_real(lr[1], "lr[1] (critic)", low=0.0))
    v = check_real(lr, "lr", low=0.0)
    return v, v


def plateau(history, metric, *, window=5, tol) -> tuple[bool, str]:
    r"""Whether a learning curve has levelled off: the stated criterion of long GAN runs.

    The curve :math:`v_1, \dots, v_T` of ``history[metric]`` (one value per evaluation)
    has *plateaued* when its mean over the last ``window`` evaluations differs from its
    mean over the ``window`` before by at most ``tol``:
    :math:`|\bar v_{T-w+1..T} - \bar v_{T-2w+1..T-w}| \le \mathrm{tol}`.  With fewer
    than ``2 * window`` evaluations it has not.

    Parameters
    ----------
    history : dict
        ``GANRun.history`` (or any dict of lists).
    metric : str
        E.g. ``"modes_captured"`` (tol 0.5: less than half a mode) or ``"high_quality"``
        (tol 0.02).
    window : int, default 5
    tol : float

    Returns
    -------
    (bool, str)
        The verdict and the numbers behind it.

    Examples
    --------
    >>> from divest.torch import plateau
    >>> ok, why = plateau({"high_quality": [0.1, 0.5, 0.89, 0.91, 0.9, 0.91]},
    ...                   "high_quality", window=2, tol=0.02)
    >>> ok, why
    (True, 'high_quality: mean 0.905 over the last 2 evaluations, 0.9 over the 2 before (|change| 0.005 <= tol 0.02)')
    """
    window = check_positive_int(window, "window")
    tol = check_real(tol, "tol", low=0.0, low_open=False)
    if metric not in history:
        raise ValueError(f"metric {metric!r} is not in the history; it has "
                         f"{', '.join(sorted(history))}")
    v = np.asarray(history[metric], dtype=float)
    if v.size < 2 * window:
        return False, (f"{metric}: {v.size} evaluations, fewer than 2 x window = "
                       f"{2 * window}")
    last, before = float(v[-window:].mean()), float(v[-2 * window:-window].mean())
    change = abs(last - before)
    ok = bool(change <= tol)
    return ok, (f"{metric}: mean {last:.4g} over the last {window} evaluations, {before:.4g} "
                f"over the {window} before (|change| {change:.3g} {'<=' if ok else '>'} "
                f"tol {tol:g})")
