r"""GAN losses as a registry, each with the divergence it minimises under an optimal critic.

Notation: P is the data distribution (density p), Q the generator's (density q),
:math:`v` the critic's raw output, :math:`D = \sigma(v)` where a probability is meant,
:math:`M = (P+Q)/2`.  Each loss has a critic loss (minimised by the critic) and a
generator loss (minimised by the generator), both functions of the critic outputs on a
real batch and on a generated batch; optional weights turn the batch means into the
expectations of discrete distributions (used to check the losses exactly).

=========================  ===============================================================
name                       critic loss at the optimal critic / what the generator minimises
=========================  ===============================================================
minimax                    :math:`\log 4 - 2\,\mathrm{JS}`; the generator minimises
                           :math:`2\,\mathrm{JS} - \log 4` (saturating:
                           :math:`\mathbb{E}_Q\log(1-D)`)
nonsaturating              critic as minimax; generator loss :math:`-\mathbb{E}_Q\log D^*
                           = \mathrm{KL}(Q\|P) - \mathrm{KL}(Q\|M) + \log 2`
fgan:<f>                   :math:`-D_f(P\|Q)`; the generator minimises :math:`D_f(P\|Q)`
wgan_clip/gp/lp/sn         :math:`-W_1(P, Q)`; the generator minimises :math:`W_1`
hinge                      :math:`2 - 2\,\mathrm{TV}(P, Q)`
least_squares              :math:`1 - \chi^2(P\|M)`; the generator minimises
                           :math:`\chi^2(P\|M) = \tfrac12\int (p-q)^2/(p+q)`
relativistic               :math:`\log 2 - D_{RS}(P, Q)` (relativistic divergence)
relativistic_average       :math:`2\log 2 - D_{Ra}(P, Q)`
mmd                        :math:`-\mathrm{MMD}^2` on learned features
ebgan                      :math:`m\,(1 - \mathrm{TV}(P, Q))` (margin m)
score:<rule>               :math:`2L(\frac12) - D_f`, see :mod:`._scoring`
=========================  ===============================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .. import fdiv as _fdiv
from .._validation import _describe
from ._critics import _wmean, fdiv_output, mmd2
from ._scoring import get_scoring_rule, scoring_rules

__all__ = ["GANLoss", "gan_losses", "get_gan_loss", "register_gan_loss"]

_LOG2 = math.log(2.0)

#: optimiser settings of DCGAN (Radford et al. 2016), the default of the classic losses
_DCGAN = {"optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999)}


@dataclass(frozen=True)
class GANLoss:
    r"""A GAN loss: critic and generator objectives and the divergence behind them.

    Attributes
    ----------
    name : str
        Registry name.
    critic_loss : callable
        ``critic_loss(real, fake, w_real=None, w_fake=None) -> Tensor`` (scalar), minimised
        by the critic; ``real`` and ``fake`` are the critic outputs on a real and a
        generated batch (shape (n,), or (n, k) features for MMD).
    generator_loss : callable
        Same signature, minimised by the generator.
    divergence : str
        What the generator minimises when the critic is optimal.
    at_optimum : str
        The critic loss at the optimal critic, as a function of P and Q.
    optimal_output : callable or None
        ``optimal_output(p, q)``: the optimal critic's raw output at a point where the
        densities are ``p`` and ``q`` (numpy), where it is a function of them (``None``
        for the IPMs and the relativistic losses).
    reference : str
    lipschitz : {None, "clip", "gp", "lp", "spectral"}
        How the critic's Lipschitz constant is controlled by default.
    penalty : float
        Weight of the gradient penalty (``"gp"``, ``"lp"``).
    clip : float or None
        Weight-clipping bound (``"clip"``).
    n_critic : int
        Critic steps per generator step (paper default).
    optimizer, lr, betas
        Paper defaults: ``"adam"`` or ``"rmsprop"``, learning rate, Adam's betas.
    features : bool
        Whether the critic outputs features (MMD) rather than one number per row.
    generator_uses_real : bool
        Whether the generator loss needs the critic's outputs on real data.
    zero_sum : bool
        Whether the generator loss is the negated critic loss up to a term that does not
        depend on the generated batch (minimax, the WGANs, MMD, f-GAN, the scoring
        rules): the game is zero-sum, and an unrolled generator (``unrolled_steps``)
        minimises Metz et al.'s surrogate, the saddle objective
        :math:`-L_D(\theta_G, \theta_D^K)` with its real-data term, which depends on
        :math:`\theta_G` through :math:`\theta_D^K`.
    schedule : {"alternating", "single_step"}
        ``"single_step"`` updates critic and generator from the same batch at once
        (f-GAN, Nowozin et al. 2016, Algorithm 1).
    """

    name: str
    critic_loss: Callable
    generator_loss: Callable
    divergence: str
    at_optimum: str
    reference: str
    optimal_output: Callable | None = None
    lipschitz: str | None = None
    penalty: float = 0.0
    clip: float | None = None
    n_critic: int = 1
    optimizer: str = "adam"
    lr: float = 2e-4
    betas: tuple = (0.5, 0.999)
    features: bool = False
    generator_uses_real: bool = False
    zero_sum: bool = False
    schedule: str = "alternating"
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"GANLoss({self.name!r}: {self.divergence})"


def _logit_ratio(p, q):
    """log(p/q), the logit of D* = p/(p+q) (+-inf where a density is 0)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log(q)


# ---------------------------------------------------------------------------------
# the classic losses


def _minimax_critic(r, f, wr=None, wf=None):
    # -E_P log D - E_Q log(1 - D), D = sigmoid(v)
    return _wmean(F.softplus(-r), wr) + _wmean(F.softplus(f), wf)


def _wgan_critic(r, f, wr=None, wf=None):
    return _wmean(f, wf) - _wmean(r, wr)


def _wgan_generator(r, f, wr=None, wf=None):
    return -_wmean(f, wf)


def _pair_weights(wr, wf, r, f):
    n, m = len(r), len(f)
    a = torch.full((n,), 1.0 / n, dtype=r.dtype, device=r.device) if wr is None else wr / wr.sum()
    b = torch.full((m,), 1.0 / m, dtype=f.dtype, device=f.device) if wf is None else wf / wf.sum()
    return a[:, None] * b[None, :]


def _relativistic(sign):
    def loss(r, f, wr=None, wf=None):
        # E over independent pairs (x_r, x_f) of -log sigmoid(+-(C(x_r) - C(x_f)))
        diff = r[:, None] - f[None, :]
        return (F.softplus(-sign * diff) * _pair_weights(wr, wf, r, f)).sum()
    return loss


def _relativistic_average(sign):
    def loss(r, f, wr=None, wf=None):
        mr, mf = _wmean(r, wr), _wmean(f, wf)
        # critic (sign=+1): real should exceed the average fake, fake fall below the average real
        return _wmean(F.softplus(-sign * (r - mf)), wr) + _wmean(F.softplus(sign * (f - mr)), wf)
    return loss


def _mmd_critic(r, f, wr=None, wf=None):
    return -mmd2(r, f, wx=wr, wy=wf)


def _mmd_generator(r, f, wr=None, wf=None):
    return mmd2(r, f, wx=wr, wy=wf)


def _ebgan(margin):
    def critic(r, f, wr=None, wf=None):
        return _wmean(F.softplus(r), wr) + _wmean(F.relu(margin - F.softplus(f)), wf)

    def generator(r, f, wr=None, wf=None):
        return _wmean(F.softplus(f), wf)

    def optimal(p, q):
        # energy 0 where p >= q, m where p < q (softplus(-inf) = 0; softplus(v) = m)
        return np.where(np.asarray(p) < np.asarray(q), math.log(math.expm1(margin)), -np.inf)
    return critic, generator, optimal


def _builtin() -> dict[str, GANLoss]:
    eb_c, eb_g, eb_opt = _ebgan(1.0)
    wgan = dict(critic_loss=_wgan_critic, generator_loss=_wgan_generator,
                divergence="Wasserstein-1 W1(P, Q)", at_optimum="-W1(P, Q)", zero_sum=True)
    losses = [
        GANLoss("minimax", _minimax_critic,
                lambda r, f, wr=None, wf=None: -_wmean(F.softplus(f), wf),
                divergence="2 JS(P||Q) - log 4 (the saturating minimax game)",
                at_optimum="log 4 - 2 JS(P||Q); generator loss E_Q log(1 - D*) = "
                           "KL(Q||M) - log 2",
                reference="Goodfellow et al., Generative adversarial nets, NeurIPS 2014",
                optimal_output=_logit_ratio, zero_sum=True, **_DCGAN),
        GANLoss("nonsaturating", _minimax_critic,
                lambda r, f, wr=None, wf=None: _wmean(F.softplus(-f), wf),
                divergence="KL(Q||P) - KL(Q||M) + log 2 at the optimal critic, i.e. "
                           "KL(Q||P) - 2 JS(P||Q) + const in the generator's parameters",
                at_optimum="log 4 - 2 JS(P||Q); generator loss -E_Q log D* = "
                           "KL(Q||P) - KL(Q||M) + log 2",
                reference="Goodfellow et al. 2014; Arjovsky & Bottou, ICLR 2017",
                optimal_output=_logit_ratio, **_DCGAN),
        GANLoss("wgan_clip", **wgan, lipschitz="clip", clip=0.01, n_critic=5,
                optimizer="rmsprop", lr=5e-5, betas=(),
                reference="Arjovsky, Chintala & Bottou, Wasserstein GAN, ICML 2017"),
        GANLoss("wgan_gp", **wgan, lipschitz="gp", penalty=10.0, n_critic=5, lr=1e-4,
                betas=(0.0, 0.9),
                reference="Gulrajani et al., Improved training of Wasserstein GANs, NeurIPS 2017"),
        GANLoss("wgan_lp", **wgan, lipschitz="lp", penalty=10.0, n_critic=5, lr=1e-4,
                betas=(0.0, 0.9),
                reference="Petzka, Fischer & Lukovnicov, On the regularization of "
                          "Wasserstein GANs, ICLR 2018"),
        GANLoss("wgan_sn", **wgan, lipschitz="spectral", n_critic=5, lr=2e-4, betas=(0.0, 0.9),
                reference="Miyato et al., Spectral normalization for GANs, ICLR 2018"),
        GANLoss("hinge",
                lambda r, f, wr=None, wf=None: _wmean(F.relu(1.0 - r), wr)
                + _wmean(F.relu(1.0 + f), wf),
                lambda r, f, wr=None, wf=None: -_wmean(f, wf),
                divergence="total variation TV(P, Q) through the optimal critic sign(p - q)",
                at_optimum="2 - 2 TV(P, Q)",
                reference="Lim & Ye, Geometric GAN, arXiv:1705.02894; Miyato et al. 2018",
                optimal_output=lambda p, q: np.sign(np.asarray(p, float) - np.asarray(q, float)),
                lipschitz="spectral", lr=2e-4, betas=(0.0, 0.9)),
        GANLoss("least_squares",
                lambda r, f, wr=None, wf=None: 0.5 * _wmean((r - 1.0) ** 2, wr)
                + 0.5 * _wmean((f + 1.0) ** 2, wf),
                lambda r, f, wr=None, wf=None: 0.5 * _wmean(f ** 2, wf),
                divergence="Pearson chi2(P || (P+Q)/2) = 1/2 int (p-q)^2/(p+q) (coding a=-1, "
                           "b=1, c=0)",
                at_optimum="1 - chi2(P||M); generator objective 1/2 E_P D*^2 + 1/2 E_Q D*^2 = "
                           "chi2(P||M)",
                reference="Mao et al., Least squares GANs, ICCV 2017 (eq. 9 and Theorem 1)",
                optimal_output=lambda p, q: (np.asarray(p, float) - np.asarray(q, float))
                / (np.asarray(p, float) + np.asarray(q, float)), **_DCGAN),
        GANLoss("relativistic", _relativistic(1.0), _relativistic(-1.0),
                divergence="the relativistic divergence D_RS = log 2 - min critic loss "
                           "(>= 0, = 0 iff P = Q)",
                at_optimum="log 2 - D_RS(P, Q); for two atoms x1, x2 with a = p1 q2, "
                           "b = p2 q1: D_RS = a log(2a/(a+b)) + b log(2b/(a+b))",
                reference="Jolicoeur-Martineau, The relativistic discriminator, ICLR 2019",
                generator_uses_real=True, **_DCGAN),
        GANLoss("relativistic_average", _relativistic_average(1.0), _relativistic_average(-1.0),
                divergence="the relativistic-average divergence D_Ra = 2 log 2 - min critic "
                           "loss (>= 0, = 0 iff P = Q)",
                at_optimum="2 log 2 - D_Ra(P, Q)",
                reference="Jolicoeur-Martineau, ICLR 2019 (RaSGAN)",
                generator_uses_real=True, **_DCGAN),
        GANLoss("mmd", _mmd_critic, _mmd_generator,
                divergence="MMD^2 with a sum of Gaussian kernels on the critic's features "
                           "(the input concatenated with learned features)",
                at_optimum="-sup_features MMD^2(P, Q)",
                reference="Li et al., MMD GAN, NeurIPS 2017; Binkowski et al., Demystifying "
                          "MMD GANs, ICLR 2018",
                features=True, generator_uses_real=True, zero_sum=True, n_critic=5, lr=1e-4,
                betas=(0.5, 0.9)),
        GANLoss("ebgan", eb_c, eb_g,
                divergence="total variation (Zhao et al. 2017, Theorems 1-2)",
                at_optimum="m (1 - TV(P, Q)) with margin m = 1; energy softplus(v)",
                reference="Zhao, Mathieu & LeCun, Energy-based GAN, ICLR 2017",
                optimal_output=eb_opt, extra={"margin": 1.0}, lr=1e-3, betas=(0.5, 0.999)),
    ]
    for rule_name in scoring_rules():
        if rule_name == "misclassification":  # gradient 0 almost everywhere
            continue
        rule = get_scoring_rule(rule_name)
        losses.append(GANLoss(
            f"score:{rule_name}", rule.risk,
            lambda r, f, wr=None, wf=None, _rule=rule: -_wmean(_rule.loss_fake(f), wf),
            divergence=f"{rule.divergence} (at D* = p/(p+q))",
            at_optimum=f"2 L(1/2) - D_f = {2 * rule.half_risk:.6g} - D_f",
            reference="Mohamed & Lakshminarayanan, Learning in implicit generative models, "
                      "2016",
            optimal_output=_logit_ratio, zero_sum=True, **_DCGAN))
    return {loss.name: loss for loss in losses}


_REGISTRY: dict[str, GANLoss] = _builtin()


def _fgan(label: str) -> GANLoss:
    out = fdiv_output(label)
    fd = out.fd

    def critic(r, f, wr=None, wf=None):
        return -(_wmean(out(r)[0], wr) - _wmean(out(f)[1], wf))

    def generator(r, f, wr=None, wf=None):
        return -_wmean(out(f)[1], wf)

    return GANLoss(
        f"fgan:{fd.label}", critic, generator,
        divergence=f"D_f(P||Q) for f = {fd.label}: {fd.integral}",
        at_optimum="-D_f(P||Q); optimal critic g_f(v*) = f'(p/q)",
        reference="Nowozin, Cseke & Tomioka, f-GAN, NeurIPS 2016",
        schedule="single_step", zero_sum=True, extra={"fdivergence": fd, "output": out},
        **_DCGAN)


#: representatives of the parametric families listed by gan_losses()
_FAMILY_EXAMPLES = ("js_weighted(pi=0.25)", "alpha(alpha=0.5)", "alpha(alpha=2)")


def gan_losses() -> tuple[str, ...]:
    """Names of the GAN losses: the built-ins, user registrations and ``fgan:<f>`` for every f-divergence.

    ``fgan:<label>`` works for any label accepted by :func:`divest.get_fdivergence`
    (including divergences registered later); parametric families are listed with
    example parameters.

    Examples
    --------
    >>> from divest.torch import gan_losses
    >>> names = gan_losses()
    >>> names[:3], "fgan:kl" in names, "wgan_gp" in names
    (('minimax', 'nonsaturating', 'wgan_clip'), True, True)
    """
    fg = []
    for base in _fdiv.fdivergences():
        if _fdiv._REGISTRY[base][1]:
            fg.extend(f"fgan:{lab}" for lab in _FAMILY_EXAMPLES if lab.startswith(base + "("))
        else:
            fg.append(f"fgan:{base}")
    return tuple(_REGISTRY) + tuple(fg)


def get_gan_loss(name) -> GANLoss:
    """Look up a GAN loss by name (a :class:`GANLoss` is returned as is).

    Parameters
    ----------
    name : str or GANLoss
        A name from :func:`gan_losses`, or ``"fgan:<label>"`` for any f-divergence label.

    Returns
    -------
    GANLoss

    Examples
    --------
    >>> from divest.torch import get_gan_loss
    >>> get_gan_loss("fgan:alpha(alpha=0.5)")
    GANLoss('fgan:alpha(alpha=0.5)': D_f(P||Q) for f = alpha(alpha=0.5): ...)
    >>> get_gan_loss("wgan_gp").betas, get_gan_loss("wgan_gp").penalty
    ((0.0, 0.9), 10.0)
    """
    if isinstance(name, GANLoss):
        return name
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name or a GANLoss; got {_describe(name)}")
    if name.startswith("fgan:"):
        try:
            return _fgan(name[5:])
        except ValueError as exc:
            raise ValueError(f"loss={name!r}: {exc}") from exc
    if name not in _REGISTRY:
        raise ValueError(f"unknown GAN loss {name!r}; choose one of {', '.join(gan_losses())}")
    return _REGISTRY[name]


def register_gan_loss(loss: GANLoss) -> GANLoss:
    """Register a user-defined :class:`GANLoss`; a name already taken raises ValueError.

    Examples
    --------
    >>> from divest.torch import get_gan_loss, register_gan_loss
    >>> import dataclasses
    >>> mine = dataclasses.replace(get_gan_loss("hinge"), name="my_hinge")
    >>> register_gan_loss(mine).name
    'my_hinge'
    >>> register_gan_loss(mine)
    Traceback (most recent call last):
    ...
    ValueError: a GAN loss named 'my_hinge' is already registered
    >>> from divest.torch import _losses; _losses._unregister("my_hinge")
    """
    if not isinstance(loss, GANLoss):
        raise TypeError(f"loss must be a GANLoss; got {_describe(loss)}")
    if loss.name in _REGISTRY or loss.name.startswith("fgan:"):
        raise ValueError(f"a GAN loss named {loss.name!r} is already registered")
    _REGISTRY[loss.name] = loss
    return loss


def _unregister(name: str) -> None:
    """Remove a user registration (tests and doctests)."""
    if name in _builtin():
        raise ValueError(f"{name!r} is built in")
    _REGISTRY.pop(name, None)
