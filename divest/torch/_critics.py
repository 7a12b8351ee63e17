r"""Critics: MLPs, the f-GAN output activation, Lipschitz constraints and MMD on features.

A critic maps a batch of shape (n, d) to one real number per row (shape (n,)), or to
a feature vector per row (shape (n, k)) for MMD-GAN.  The pieces here are the building
blocks of :func:`divest.torch.variational`, :func:`divest.torch.wasserstein1` and
:func:`divest.torch.train_gan`:

* :class:`MLP` — a fully connected network whose weights are initialised from a
  ``torch.Generator`` (never the global torch RNG), optionally spectrally normalised;
* :func:`fdiv_output` — :math:`v \mapsto (g_f(v), f^*(g_f(v)))` for an f-divergence;
* :func:`gradient_penalty` (WGAN-GP and its one-sided variant), :func:`r1_penalty`,
  :func:`clip_weights_` (WGAN weight clipping);
* :func:`mmd2` — the squared MMD of a mixture of Gaussian kernels on (learned) features.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import fdiv as _fdiv
from .._validation import _describe, check_choice, check_positive_int, check_real, check_rng
from ..estimators import _variational as _npvar
from ._device import resolve_device, resolve_dtype, torch_generator

__all__ = ["MLP", "clip_weights_", "fdiv_output", "gradient_penalty", "mmd2", "r1_penalty"]

_ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU, "tanh": nn.Tanh,
    "softplus": nn.Softplus, "gelu": nn.GELU, "silu": nn.SiLU,
}


# ---------------------------------------------------------------------------------
# layers


def _linear(x, weight, bias):
    """``F.linear``; with one output unit, on rows, the sum of elementwise products.

    A matrix-vector product and its batched counterpart (``torch.vmap``, as in
    :func:`~divest.torch.train_gan_ensemble`) sum in different orders on the CPU; an
    elementwise product and a reduction over the last axis sum each member in the order
    of its single evaluation, forward and backward (gradient penalties included).
    """
    if weight.shape[0] == 1 and x.dim() == 2:
        out = (x * weight).sum(dim=-1, keepdim=True)
        return out if bias is None else out + bias
    return F.linear(x, weight, bias)


class _Linear(nn.Module):
    """Affine layer initialised from a generator, optionally spectrally normalised.

    The initialisation is PyTorch's default for ``nn.Linear`` (weights and bias uniform
    on :math:`\\pm 1/\\sqrt{\\text{fan-in}}`), drawn from ``generator``.  With
    ``spectral=True`` the weight is divided by an estimate of its largest singular value
    from one power iteration per training-mode forward pass (Miyato et al. 2018); the
    singular vectors are buffers, so evaluation mode is deterministic.
    """

    def __init__(self, fan_in, fan_out, *, spectral, generator, device, dtype):
        super().__init__()
        bound = 1.0 / math.sqrt(fan_in)
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(fan_out, fan_in, **kw).uniform_(
            -bound, bound, generator=generator))
        self.bias = nn.Parameter(torch.empty(fan_out, **kw).uniform_(-bound, bound,
                                                                     generator=generator))
        self.spectral = bool(spectral)
        if self.spectral:
            u = F.normalize(torch.randn(fan_out, generator=generator, **kw), dim=0)
            with torch.no_grad():
                v = F.normalize(self.weight.t() @ u, dim=0)
            self.register_buffer("u", u)
            self.register_buffer("v", v)

    def _sigma(self) -> torch.Tensor:
        """The spectral-norm estimate u^T W v (one power-iteration step in training mode)."""
        w = self.weight
        # products with a vector as sums of elementwise products: a batched evaluation
        # (torch.vmap) then sums each member in the order of its single one
        if self.training:
            with torch.no_grad():
                v = F.normalize((w * self.u[:, None]).sum(dim=0), dim=0, eps=1e-12)
                u = F.normalize((w * v).sum(dim=1), dim=0, eps=1e-12)
                self.u.copy_(u)
                self.v.copy_(v)
        # clones: a later forward pass updates the buffers in place
        return (self.u.clone() * (w * self.v.clone()).sum(dim=1)).sum()

    def effective_weight(self) -> torch.Tensor:
        """The weight used in the forward pass (divided by sigma with spectral norm)."""
        if not self.spectral:
            return self.weight
        return self.weight / self._sigma()

    def forward(self, x):
        if not self.spectral:
            return _linear(x, self.weight, self.bias)
        # (x W^T) / sigma + b: the weight's gradient is the plain layer's, and sigma's
        # is a sum over the output rows, which a batched evaluation sums in the same order
        out = _linear(x, self.weight, None) / self._sigma().expand(self.weight.shape[0])
        return out + self.bias

    def extra_repr(self) -> str:
        return (f"in={self.weight.shape[1]}, out={self.weight.shape[0]}"
                f"{', spectral_norm' if self.spectral else ''}")


class MLP(nn.Module):
    r"""Fully connected network: ``depth`` hidden layers of ``width`` units.

    Parameters
    ----------
    in_features : int
        Input dimension d.
    out_features : int, default 1
        Output dimension.  With 1 the output has shape (n,), otherwise (n, out_features).
    width : int, default 64
        Units per hidden layer.
    depth : int, default 2
        Number of hidden layers (0 gives an affine map).
    activation : str, default ``"leaky_relu"``
        ``"relu"``, ``"leaky_relu"`` (slope 0.2), ``"elu"``, ``"tanh"``, ``"softplus"``,
        ``"gelu"`` or ``"silu"``.
    spectral_norm : bool, default False
        Divide every weight matrix by its spectral norm (one power iteration per
        training step, Miyato et al. 2018).  With a 1-Lipschitz activation (all but
        ``gelu`` and ``silu``) the network is then 1-Lipschitz up to the power-iteration
        error.
    rng : None, int or numpy.random.Generator
        Seeds the initial weights (through a ``torch.Generator``); same ``rng`` → same
        weights.
    device, dtype
        ``"auto"`` (CUDA if available) / ``"cpu"`` / ``"cuda"``; ``"float32"`` or
        ``"float64"``.

    References
    ----------
    .. [1] T. Miyato, T. Kataoka, M. Koyama, Y. Yoshida, "Spectral normalization for
       generative adversarial networks", ICLR 2018.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import MLP
    >>> net = MLP(2, width=8, depth=1, rng=0, device="cpu")
    >>> net(torch.zeros(5, 2)).shape
    torch.Size([5])
    >>> bool(torch.equal(net.layers[0].weight, MLP(2, width=8, depth=1, rng=0,
    ...                                            device="cpu").layers[0].weight))
    True
    """

    def __init__(self, in_features, out_features=1, *, width=64, depth=2,
                 activation="leaky_relu", spectral_norm=False, rng=None, device="auto",
                 dtype="float32"):
        super().__init__()
        in_features = check_positive_int(in_features, "in_features")
        out_features = check_positive_int(out_features, "out_features")
        width = check_positive_int(width, "width")
        depth = check_positive_int(depth, "depth", minimum=0)
        check_choice(activation, "activation", tuple(_ACTIVATIONS))
        dev = resolve_device(device)
        dt = resolve_dtype(dtype)
        gen = torch_generator(check_rng(rng), dev)
        sizes = [in_features] + [width] * depth + [out_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(_Linear(a, b, spectral=spectral_norm, generator=gen, device=dev,
                                  dtype=dt))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        self.layers = nn.Sequential(*layers)
        self.in_features, self.out_features = in_features, out_features
        self.spectral_norm = bool(spectral_norm)

    def forward(self, x):
        out = self.layers(x)
        return out[:, 0] if self.out_features == 1 else out

    @property
    def output_layer(self) -> _Linear:
        """The last affine layer (its bias sets the initial output level)."""
        return self.layers[-1]


def _check_module(critic, name, dim, device, dtype, *, scalar=False):
    """A user module is moved to device/dtype; it must map (2, dim) to (2,) (or (2, k))."""
    if not isinstance(critic, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module or None; got {_describe(critic)}")
    critic = critic.to(device=device, dtype=dtype)
    with torch.no_grad():
        try:
            out = critic(torch.zeros(2, dim, device=device, dtype=dtype))
        except Exception as exc:  # noqa: BLE001 -- re-raised with context
            raise type(exc)(f"{name} failed on a batch of shape (2, {dim}): {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.shape[0] != 2 or out.dim() > (1 if scalar else 2):
        raise ValueError(f"{name} must map a batch of shape (n, {dim}) to shape "
                         f"{'(n,)' if scalar else '(n,) or (n, k)'}; got {_describe(out)} for n = 2")
    return critic


def _has_spectral_norm(module: nn.Module) -> bool:
    """Whether some layer of ``module`` is spectrally normalised: divest's :class:`MLP`
    layers, ``torch.nn.utils.parametrizations.spectral_norm`` or the older
    ``torch.nn.utils.spectral_norm`` hook."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.spectral_norm import SpectralNorm
    for m in module.modules():
        if isinstance(m, _Linear) and m.spectral:
            return True
        if any(isinstance(h, SpectralNorm) for h in m._forward_pre_hooks.values()):
            return True
        if parametrize.is_parametrized(m) and any(
                type(f).__name__ == "_SpectralNorm"
                for plist in m.parametrizations.values() for f in plist):
            return True
    return False


def _check_spectral(critic: nn.Module, name: str, source: str) -> None:
    """``lipschitz="spectral"`` normalises the default critic; a module given by the user
    must carry its own spectral normalisation (never a silently unconstrained critic)."""
    if not _has_spectral_norm(critic):
        raise ValueError(
            f"lipschitz='spectral'{source} normalises only the default critic, and the "
            f"{name} given ({type(critic).__name__}) has no spectrally normalised layer: "
            "wrap its layers with torch.nn.utils.parametrizations.spectral_norm, pass "
            "critic=None or a dict of MLP options, or choose another lipschitz")


# ---------------------------------------------------------------------------------
# Lipschitz constraints


def clip_weights_(module: nn.Module, clip: float) -> nn.Module:
    """Clip every parameter of ``module`` to ``[-clip, clip]`` in place (WGAN).

    Examples
    --------
    >>> from divest.torch import MLP, clip_weights_
    >>> net = clip_weights_(MLP(1, width=4, rng=0, device="cpu"), 0.01)
    >>> max(float(p.detach().abs().max()) for p in net.parameters()) <= 0.01
    True
    """
    clip = check_real(clip, "clip", low=0.0)
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-clip, clip)
    return module


def _input_gradients(critic, x):
    """Per-sample gradients of the critic at the rows of x (graph kept for backprop)."""
    x = x.detach().requires_grad_(True)
    out = critic(x)
    if out.dim() != 1:
        raise ValueError(f"a Lipschitz penalty needs a scalar critic (output shape (n,)); "
                         f"got output shape {tuple(out.shape)}")
    # rows do not interact, so d(sum_j f(x_j))/dx_i = grad f(x_i): one backward pass
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return g.reshape(g.shape[0], -1)


def gradient_penalty(critic, real, fake, *, target=1.0, one_sided=False, generator=None,
                     rng=None, return_norms=False):
    r"""Gradient penalty of WGAN-GP with per-sample gradient norms.

    .. math:: \mathrm{GP} = \frac1n \sum_{i=1}^n \big(\|\nabla_x f(\hat x_i)\|_2 - c\big)^2,
              \qquad \hat x_i = \epsilon_i x_i + (1-\epsilon_i)\tilde x_i,\
              \epsilon_i \sim U[0, 1],

    one :math:`\epsilon_i` and one norm per pair of rows (Gulrajani et al. 2017) — not
    the norm of the gradient of the batch sum, which would couple the samples.  With
    ``one_sided=True`` only norms above ``c`` are penalised,
    :math:`\max(0, \|\nabla f\| - c)^2` (the Lipschitz penalty of Petzka et al. 2018).

    Parameters
    ----------
    critic : callable
        Maps (n, d) to (n,).
    real, fake : Tensor, shape (n, d)
        Rows to interpolate between (same shape).
    target : float, default 1
        The norm c the gradient is pushed to.
    one_sided : bool, default False
    generator : torch.Generator, optional
        Source of the interpolation weights :math:`\epsilon_i` (on ``real``'s device).
    rng : None, int or numpy.random.Generator, optional
        Used when ``generator`` is None: the weights come from a ``torch.Generator``
        seeded by one draw from ``numpy.random.default_rng(rng)``, as everywhere in
        :mod:`divest.torch`.  The same ``rng`` (an int, or a Generator in the same state)
        gives the same penalty; ``None`` draws fresh entropy.  torch's global random
        state is never used nor advanced.  Passing both ``generator`` and ``rng`` raises.
    return_norms : bool, default False
        Also return the n per-sample gradient norms.

    Returns
    -------
    Tensor (scalar), or (Tensor, Tensor of shape (n,))

    References
    ----------
    .. [1] I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin, A. Courville, "Improved
       training of Wasserstein GANs", NeurIPS 2017.
    .. [2] H. Petzka, A. Fischer, D. Lukovnicov, "On the regularization of Wasserstein
       GANs", ICLR 2018.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import gradient_penalty
    >>> critic = lambda x: 2.0 * x.sum(dim=1)           # gradient norm 2*sqrt(2) everywhere
    >>> gp = gradient_penalty(critic, torch.ones(4, 2), torch.zeros(4, 2))
    >>> round(float(gp.detach()), 4), round((2 * 2 ** 0.5 - 1) ** 2, 4)
    (3.3431, 3.3431)
    """
    for label, x in (("real", real), ("fake", fake)):
        if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
            raise TypeError(f"{label} must be a floating-point torch.Tensor; got "
                            f"{_describe(x) if not isinstance(x, torch.Tensor) else x.dtype}")
        if x.dim() < 2 or x.shape[0] == 0:
            raise ValueError(f"{label} must have shape (n, d) with n >= 1; got shape "
                             f"{tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{label} contains non-finite values; shape {tuple(x.shape)}")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    if generator is None:
        generator = torch_generator(check_rng(rng), real.device)
    elif rng is not None:
        raise ValueError(f"pass either generator or rng, not both; got generator={generator!r} "
                         f"and rng={_describe(rng)}")
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got "
                        f"{_describe(generator)}")
    n = real.shape[0]
    eps = torch.rand((n,) + (1,) * (real.dim() - 1), generator=generator, device=real.device,
                     dtype=real.dtype)
    xhat = eps * real.detach() + (1.0 - eps) * fake.detach()
    norms = torch.linalg.vector_norm(_input_gradients(critic, xhat), dim=1)
    dev = norms - target
    if one_sided:
        dev = F.relu(dev)
    pen = (dev * dev).mean()
    return (pen, norms) if return_norms else pen


def r1_penalty(critic, real):
    r"""R1 penalty :math:`\frac1n\sum_i \|\nabla_x D(x_i)\|^2` on real rows (Mescheder et al. 2018).

    Multiply by :math:`\gamma/2` in the critic loss.

    References
    ----------
    .. [1] L. Mescheder, A. Geiger, S. Nowozin, "Which training methods for GANs do
       actually converge?", ICML 2018.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import r1_penalty
    >>> float(r1_penalty(lambda x: (x ** 2).sum(dim=1), torch.tensor([[1.0, 2.0]])).detach())
    20.0
    """
    g = _input_gradients(critic, real)
    return (g * g).sum(dim=1).mean()


# ---------------------------------------------------------------------------------
# MMD on features


def _wmean(x, w):
    """Mean of x over its first axis, weighted by w (normalised) when given."""
    if w is None:
        return x.mean(dim=0)
    return torch.tensordot(w / w.sum(), x, dims=([0], [0]))


#: about 256 KiB of float32 per block: a block's temporaries stay in the core's L2 cache
_BLOCK_ELEMENTS = 1 << 16


def _floor(dtype):
    return math.log(torch.finfo(dtype).tiny) + 27.0


def _ge_mask(x, low):
    """``x >= low`` as 1.0 / 0.0 in x's dtype: a vectorised loop (torch's CPU boolean ``ge``
    and ``where`` run scalar loops), for a clamp's gradient as a product."""
    return torch.ge(x, low, out=torch.empty_like(x))


class _FlooredGaussianSum(torch.autograd.Function):
    r"""``sum(exp(max(d2 / c, floor)) for c in divisors)`` in row blocks.

    The same numbers as the autograd graph of that expression, bit for bit, values and
    gradients (``test_mmd2_blocked_kernel_sum_is_autograds``): the forward adds the terms
    in the order given and the backward in reverse, as autograd's engine does.  Blocks of
    rows keep every temporary in cache (the unblocked graph streams ten full-size tensors
    per bandwidth through memory), and the clamp's gradient mask is a float ``ge`` times
    the gradient: torch's CPU ``where`` and boolean ``ge`` run scalar loops.  A masked
    entry's gradient is then a zero of either sign."""

    @staticmethod
    def forward(d2, divisors, floor):
        out = torch.empty_like(d2)
        for rows in _row_blocks(d2):
            acc = None
            for c in divisors:
                e = d2[..., rows, :] / c
                e.clamp_(min=floor).exp_()
                acc = e if acc is None else acc.add_(e)
            out[..., rows, :] = acc
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.divisors, ctx.floor = inputs[1], inputs[2]

    @staticmethod
    def backward(ctx, g):
        d2, = ctx.saved_tensors
        g = g.expand_as(d2)
        out = torch.empty_like(d2)
        for rows in _row_blocks(d2):
            acc = None
            for c in ctx.divisors[::-1]:
                e = d2[..., rows, :] / c
                y = torch.exp(torch.clamp(e, min=ctx.floor))
                t = g[..., rows, :] * y * _ge_mask(e, ctx.floor)
                t = t / c
                acc = t if acc is None else acc + t
            out[..., rows, :] = acc
        return out, None, None

    @staticmethod
    def vmap(info, in_dims, d2, divisors, floor):
        # the batched rows as leading dimensions of one tensor
        if in_dims[0] is None:
            return _FlooredGaussianSum.apply(d2, divisors, floor), None
        return _FlooredGaussianSum.apply(d2.movedim(in_dims[0], 0), divisors, floor), 0


class _ClampMin0(torch.autograd.Function):
    """``torch.clamp(x, min=0.0)``, whose gradient (``g`` where ``x >= 0``, else 0) is
    computed as a float ``ge`` times ``g``: the same values as autograd's scalar-loop
    ``where``, a masked entry a zero of either sign."""

    @staticmethod
    def forward(x):
        return torch.clamp(x, min=0.0)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * _ge_mask(x, 0.0)

    @staticmethod
    def vmap(info, in_dims, x):     # elementwise: the batched tensor as it is
        return _ClampMin0.apply(x), in_dims[0]


def _row_blocks(d2):
    """Row slices of about ``_BLOCK_ELEMENTS`` entries (on CPU; one block on a GPU, where
    each block would cost kernel launches instead of saving memory traffic)."""
    n = d2.shape[-2]
    if d2.device.type != "cpu":
        return [slice(0, n)]
    step = max(1, _BLOCK_ELEMENTS * n // max(d2.numel(), 1))
    return [slice(i, i + step) for i in range(0, n, step)]


def _gaussian_kernel_sum(d2, bandwidths):
    r"""``sum_s exp(max(-d2 / (2 s^2), log(tiny) + 27))``, tiny the dtype's smallest
    normal number, for squared distances ``d2`` of shape (..., n, m).

    torch's CPU ``exp`` is up to hundreds of times slower on arguments whose result is
    subnormal or 0 (e < -87.34 in float32), and products with subnormal numbers are as
    slow, which the backward pass of a kernel value near that bound meets; a Gaussian kernel
    of far-apart features (an MMD-GAN critic spreads them) meets both on most entries.  The
    floor, e**27 above tiny, keeps every value and the gradients through it normal; it
    changes a value by less than 6.3e-27 in float32 (1.2e-296 in float64), below half an
    ulp of any sum with a term above about 1e-19, and gives those entries zero gradient.
    ``d2 / (-2 s^2)`` is ``-(d2 / (2 s^2))`` bit for bit."""
    return _FlooredGaussianSum.apply(d2, tuple(-2.0 * s * s for s in bandwidths),
                                     _floor(d2.dtype))


def mmd2(fx, fy, *, bandwidths=(0.5, 1.0, 2.0, 4.0, 8.0), unbiased=True, wx=None, wy=None):
    r"""Squared MMD with a sum of Gaussian kernels on (learned) features.

    .. math:: k(a, b) = \sum_{\sigma} \exp\!\big(-\|a - b\|^2 / (2\sigma^2)\big),\quad
              \mathrm{MMD}^2 = \mathbb{E}k(x, x') - 2\mathbb{E}k(x, y) + \mathbb{E}k(y, y').

    With ``unbiased=True`` the within-sample means leave out the diagonal (the U-statistic
    of Gretton et al. 2012); with weights ``wx``, ``wy`` (a discrete distribution on the
    rows) the exact V-statistic of that distribution is returned.  Each kernel value is
    computed with its exponent floored at ``log(tiny) + 27`` (an absolute change below
    6.3e-27 in float32), because torch's CPU arithmetic is many times slower on the
    subnormal numbers of an underflowing ``exp`` and its gradient.

    Parameters
    ----------
    fx, fy : Tensor, shape (n, k) and (m, k)
        Features of the two samples (shape (n,) is read as (n, 1)).
    bandwidths : sequence of float
        The kernel widths sigma (the MMD-GAN mixture of Li et al. 2017).
    unbiased : bool, default True
    wx, wy : Tensor, optional
        Non-negative row weights (then ``unbiased`` is ignored).

    References
    ----------
    .. [1] A. Gretton, K. Borgwardt, M. Rasch, B. Schölkopf, A. Smola, "A kernel
       two-sample test", JMLR 13, 2012.
    .. [2] C.-L. Li, W.-C. Chang, Y. Cheng, Y. Yang, B. Póczos, "MMD GAN: towards deeper
       understanding of moment matching network", NeurIPS 2017.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import mmd2
    >>> x = torch.tensor([[0.0], [1.0]])
    >>> float(mmd2(x, x, bandwidths=(1.0,), unbiased=False))
    0.0
    """
    fx = fx[:, None] if fx.dim() == 1 else fx
    fy = fy[:, None] if fy.dim() == 1 else fy

    def gram(a, b):
        # squared distances without the square root (cdist's backward is slow on CPU)
        d2 = _ClampMin0.apply((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T)
        return _gaussian_kernel_sum(d2, bandwidths)

    kxx, kyy, kxy = gram(fx, fx), gram(fy, fy), gram(fx, fy)
    if wx is not None or wy is not None:
        px = torch.full((len(fx),), 1.0 / len(fx), dtype=fx.dtype, device=fx.device) \
            if wx is None else wx / wx.sum()
        py = torch.full((len(fy),), 1.0 / len(fy), dtype=fy.dtype, device=fy.device) \
            if wy is None else wy / wy.sum()
        return px @ kxx @ px - 2.0 * px @ kxy @ py + py @ kyy @ py
    n, m = len(fx), len(fy)

    def total(k):   # row sums, then their sum: a batched (vmapped) call sums in this order
        return k.sum(dim=1).sum()

    if unbiased:
        if n < 2 or m < 2:
            raise ValueError(f"the unbiased MMD needs at least 2 rows in each sample; got "
                             f"{n} and {m}")
        # the diagonal copied first: a sum over a strided view is summed in another order
        # alone than in a batch
        exx = (total(kxx) - kxx.diagonal().contiguous().sum()) / (n * (n - 1))
        eyy = (total(kyy) - kyy.diagonal().contiguous().sum()) / (m * (m - 1))
    else:
        exx, eyy = total(kxx) / (n * n), total(kyy) / (m * m)
    return exx + eyy - 2.0 * total(kxy) / (n * m)


# ---------------------------------------------------------------------------------
# f-GAN output activation g_f and f* o g_f in torch


class _NumpyComposite(torch.autograd.Function):
    """(g_f(v), f*(g_f(v))) through divest's numpy code, with its derivatives."""

    @staticmethod
    def forward(ctx, v, comp):
        vn = v.detach().to("cpu", torch.float64).numpy()
        with np.errstate(all="ignore"):
            a, da, b, db = (np.asarray(t, dtype=float) * np.ones_like(vn) for t in comp(vn))
        ctx.save_for_backward(torch.as_tensor(da, dtype=v.dtype, device=v.device),
                              torch.as_tensor(db, dtype=v.dtype, device=v.device))
        return (torch.as_tensor(a, dtype=v.dtype, device=v.device),
                torch.as_tensor(b, dtype=v.dtype, device=v.device))

    @staticmethod
    def backward(ctx, ga, gb):
        da, db = ctx.saved_tensors
        return ga * da + gb * db, None


class _WithDerivative(torch.autograd.Function):
    """``value`` (a function of ``v``) whose derivative is the tensor ``deriv``.

    The composite's own closed-form derivative is used, not autograd through its value
    formula: the two agree, but the closed form stays finite where the chain rule
    meets an overflowing intermediate (such as 1/w^2 for Jeffreys).  ``deriv`` keeps
    its autograd graph, so second derivatives (an unrolled critic) are exact too.
    """

    generate_vmap_rule = True    # batched by torch.vmap (train_gan_ensemble)

    @staticmethod
    def forward(value, v, deriv):
        return value.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[2])

    @staticmethod
    def backward(ctx, grad):
        (deriv,) = ctx.saved_tensors
        return None, grad * deriv, None


class FOutput:
    r"""The f-GAN output of an f-divergence: :math:`v \mapsto (T, f^*(T))`, :math:`T = g_f(v)`.

    Calling it on a tensor of pre-activations returns the pair ``(T, f_star_T)``; both
    are differentiable in ``v``.  ``how`` is ``"analytic"`` when the closed form
    ``fd.composite`` is used: for the built-in divergences the same definition that the
    numpy estimators evaluate, here in torch operations on the tensor's device, with
    its closed-form derivatives (and their autograd derivatives as second derivatives).  It is ``"numerical"`` when ``fd`` has no closed form
    (a user-defined divergence, or one whose activation or conjugate was replaced): its
    numpy ``activation`` and ``conjugate`` are then evaluated on the CPU, with
    derivatives by central differences.

    Attributes
    ----------
    fd : FDivergence
    how : str
    """

    def __init__(self, fd: _fdiv.FDivergence):
        self.fd = fd
        comp = fd._closed_composite()
        self.how = "numerical" if comp is None else "analytic"
        if isinstance(comp, _fdiv._Composite):   # written against divest._backend
            self._torch_comp, self._np_comp = comp, None
        else:   # a numpy-only closed form, or numerical derivatives
            self._torch_comp, self._np_comp = None, comp or _npvar._composite(fd)[0]

    def __call__(self, v):
        if self._torch_comp is not None:
            a, da, b, db = self._torch_comp(v)
            return (_WithDerivative.apply(a.detach(), v, da),
                    _WithDerivative.apply(b.detach(), v, db))
        return _NumpyComposite.apply(v, self._np_comp)

    def __repr__(self) -> str:
        return f"FOutput({self.fd.label!r}, {self.how})"


def fdiv_output(name, **params) -> FOutput:
    r"""The output activation :math:`g_f` of an f-divergence and :math:`f^*\circ g_f`, in torch.

    Parameters
    ----------
    name : str or FDivergence
        A registered f-divergence (``divest.fdivergences()``) or label such as
        ``"alpha(alpha=0.5)"``, or an :class:`~divest.fdiv.FDivergence`.
    **params
        Family parameters (``alpha``, ``pi``).

    Returns
    -------
    FOutput
        ``out(v) -> (T, f_star_T)``.

    Notes
    -----
    :math:`g_f:\mathbb{R}\to\mathrm{dom}\,f^*` is the f-GAN table of Nowozin et al.
    (2016) as stored in ``FDivergence.activation`` (e.g. :math:`g(v) = v` for KL,
    :math:`-e^{-v}` for reverse KL, :math:`\tfrac12\log 2 - \tfrac12\log(1+e^{-v})` for
    JS).  :math:`f^*(g_f(v))` is written directly in :math:`v` (e.g.
    :math:`\tfrac12(\mathrm{softplus}(v) - \log 2)` for JS) so that it never rounds onto
    the edge of :math:`\mathrm{dom}\,f^*`.  It is ``FDivergence.composite``, the one
    definition that the numpy estimators evaluate too.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import fdiv_output
    >>> out = fdiv_output("gan")
    >>> t, fs = out(torch.tensor([0.0], dtype=torch.float64))
    >>> round(float(t), 6), round(float(fs), 6), out.how       # -log 2, log 2
    (-0.693147, 0.693147, 'analytic')
    """
    fd = _npvar._resolve_fd(name, params)
    return FOutput(fd)
