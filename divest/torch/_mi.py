r"""Neural lower bounds on mutual information scored on all in-batch pairs (Poole et al. 2019).

A critic :math:`T(x, y)` is evaluated on all :math:`K^2` pairs of a mini-batch of K
matched rows :math:`(x_i, y_i) \sim P_{XY}`: the K diagonal (matched) pairs are draws
from the joint, the :math:`K(K-1)` off-diagonal pairs :math:`(x_j, y_i)`, :math:`j \ne i`,
draws from the product of the marginals.  Every bound is a function of the score matrix
and is written as in the code of Poole et al. (their colab ``vbmi_demo``) and of Song &
Ermon (2020), here in PyTorch.

Layout of the score matrix used by the bound functions (Poole's, from their separable
critic ``h(y) g(x)^T``): ``scores[i, j] = T(x_j, y_i)`` — row i belongs to :math:`y_i`,
column j to :math:`x_j`.  A critic module returns ``out[i, j] = T(x_i, y_j)``; the engine
transposes it.  Baselines :math:`a(y)` are indexed by rows, and the per-:math:`y`
normalisations (InfoNCE's softmax, the leave-one-out mean of the interpolated bound) run
along rows.
"""

from __future__ import annotations

import math
import numbers
import time
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._result import Estimate
from .._validation import _describe, as_real_array, check_choice, check_positive_int
from .._validation import check_real, check_rng
from ..estimators._common import as_2d
from ._device import (check_threads, cpu_threads, resolve_device, resolve_dtype, to_tensor,
                      torch_generator)

__all__ = ["mi_bound", "mi_bounds"]

_LOG2 = math.log(2.0)

#: bound -> its parameters and their defaults ("fdual" also takes the family's parameters)
_BOUND_PARAMS = {
    "dv": {}, "fdual": {"divergence": "kl"}, "infonce": {}, "interpolated": {"alpha": 0.01},
    "js": {"shift": 0.0}, "mine": {"momentum": 0.9}, "nwj": {}, "smile": {"tau": 5.0}, "tuba": {},
}
_BASELINE_BOUNDS = ("interpolated", "tuba")


def mi_bounds() -> tuple[str, ...]:
    """Names of the bounds of :func:`mi_bound`, sorted.

    Examples
    --------
    >>> from divest.torch import mi_bounds
    >>> mi_bounds()
    ('dv', 'fdual', 'infonce', 'interpolated', 'js', 'mine', 'nwj', 'smile', 'tuba')
    """
    return tuple(sorted(_BOUND_PARAMS))


# ---------------------------------------------------------------------------------
# per-batch bounds on a score matrix (Poole's layout: scores[i, j] = T(x_j, y_i))


@lru_cache(maxsize=16)
def _eye(k, device):
    return torch.eye(k, dtype=torch.bool, device=device)


def _logmeanexp_offdiag(scores):
    """log of the mean of exp(scores) over the K(K-1) off-diagonal entries (Poole's
    ``reduce_logmeanexp_nodiag`` with ``axis=None``)."""
    k = scores.shape[0]
    masked = scores.masked_fill(_eye(k, scores.device), -math.inf)
    return torch.logsumexp(masked.reshape(-1), 0) - math.log(k * (k - 1.0))


def _mean_offdiag(values):
    """Mean over the K(K-1) off-diagonal entries (the diagonal masked out, not subtracted:
    a huge diagonal entry would cancel the rest in floating point)."""
    k = values.shape[0]
    return values.masked_fill(_eye(k, values.device), 0.0).sum() / (k * (k - 1.0))


def _tuba(scores, log_baseline):
    """TUBA: 1 + mean_i [s_ii - log a(y_i)] - mean_{i != j} exp(s_ij - log a(y_i))."""
    if log_baseline is not None:
        scores = scores - log_baseline[:, None]
    joint = scores.diagonal().mean()
    marg = torch.exp(_logmeanexp_offdiag(scores))
    return 1.0 + joint - marg


def _nwj(scores):
    """NWJ = TUBA with log a = 1: mean_i s_ii - mean_{i != j} exp(s_ij - 1)."""
    return _tuba(scores - 1.0, None)


def _infonce(scores):
    """InfoNCE: log K + mean_i [s_ii - logsumexp_j s_ij]  (never above log K)."""
    k = scores.shape[0]
    return math.log(k) + (scores.diagonal() - torch.logsumexp(scores, 1)).mean()


def _dv(scores):
    """Donsker–Varadhan: mean_i s_ii - log mean_{i != j} exp(s_ij)."""
    return scores.diagonal().mean() - _logmeanexp_offdiag(scores)


def _js_fgan(scores):
    """The f-GAN lower bound on JS (Nowozin et al.): -softplus(-s) on the diagonal,
    softplus(s) off it (equals 2 JS - log 4 at the optimum)."""
    joint = -F.softplus(-scores.diagonal()).mean()
    return joint - _mean_offdiag(F.softplus(scores))


def _smile_value(scores, tau):
    """SMILE's estimate: mean_i s_ii - log mean_{i != j} exp(clip(s_ij, -tau, tau))."""
    clipped = scores if tau is None else scores.clamp(-tau, tau)
    return scores.diagonal().mean() - _logmeanexp_offdiag(clipped)


def _log_loomean(scores):
    """``out[i, j] = log mean_{k != j} exp(s_ik)`` (Poole's ``compute_log_loomean``)."""
    k = scores.shape[1]
    lse = torch.logsumexp(scores, 1, keepdim=True)
    d = lse - scores                                  # >= 0; 0 when s_ij holds all the mass
    d = torch.where(d > 0, d, torch.ones_like(d))     # Poole's safe_d
    # s + softplus_inverse(d) = s + d + log(1 - e^-d) = lse + log(-expm1(-d))
    return lse + torch.log(-torch.expm1(-d)) - math.log(k - 1.0)


def _log_interpolate(log_a, log_b, alpha):
    """log(alpha e^log_a + (1 - alpha) e^log_b)."""
    return torch.logaddexp(math.log(alpha) + log_a, math.log1p(-alpha) + log_b)


def _interpolated(scores, log_baseline, alpha):
    """Poole et al.'s eq. (11), ``interpolated_lower_bound``: the InfoNCE leave-one-out
    baseline mixed with a learned baseline a(y) in proportion alpha : (1 - alpha)."""
    k = scores.shape[0]
    base = _log_interpolate(_log_loomean(scores),
                            log_baseline[:, None].expand(k, k), alpha)
    marg = torch.exp(_logmeanexp_offdiag(scores - base.diagonal()[:, None]))
    joint = _mean_offdiag(scores.diagonal()[:, None] - base)
    return 1.0 + joint - marg


def _fdual(scores, output):
    """f-dual bound mean_i g_f(s_ii) - mean_{i != j} f*(g_f(s_ij)) on D_f(P_XY || P_X P_Y)."""
    t, fstar = output(scores)
    return t.diagonal().mean() - _mean_offdiag(fstar)


class _MineState:
    """The exponential moving average of mean_{i != j} exp(s_ij) of MINE's corrected gradient."""

    def __init__(self, momentum):
        self.momentum = momentum
        self.ema = None


def _mine(scores, state):
    """(value, objective) of MINE: the value is DV; the objective's gradient divides the
    gradient of the partition mean by its moving average (Belghazi et al. 2018), in the
    form of Song & Ermon's ``mine_lower_bound`` (EMA clamped at 1e-4)."""
    joint = scores.diagonal().mean()
    log_part = _logmeanexp_offdiag(scores)
    part = torch.exp(log_part)
    with torch.no_grad():
        now = part.detach()
        ema = now if state.ema is None else state.momentum * state.ema + (
            1.0 - state.momentum) * now
        state.ema = ema = ema.clamp(min=1e-4)
    value = joint - log_part
    objective = value.detach() + (joint - joint.detach()) - (part - part.detach()) / ema
    return value, objective


def _bound_fn(bound, params):
    """f(scores, log_baseline) -> (value, objective): the reported per-batch estimate and
    the training objective whose gradient is followed (the same tensor except for js,
    smile and mine)."""
    if bound == "nwj":
        return lambda s, b: (v := _nwj(s), v)
    if bound == "dv":
        return lambda s, b: (v := _dv(s), v)
    if bound == "infonce":
        return lambda s, b: (v := _infonce(s), v)
    if bound == "tuba":
        return lambda s, b: (v := _tuba(s, b), v)
    if bound == "interpolated":
        alpha = params["alpha"]
        return lambda s, b: (v := _interpolated(s, b, alpha), v)
    if bound == "js":
        shift = params["shift"]
        return lambda s, b: (_nwj(s + shift) if shift else _nwj(s), _js_fgan(s))
    if bound == "smile":
        tau = params["tau"]
        return lambda s, b: (_smile_value(s, tau), _js_fgan(s))
    if bound == "fdual":
        out = params["output"]
        return lambda s, b: (v := _fdual(s, out), v)
    state = _MineState(params["momentum"])
    fn = (lambda s, b: _mine(s, state))
    fn.state = state
    return fn


def _eval_fn(bound, params):
    """The per-batch value only, without training state (MINE's value is DV)."""
    if bound == "mine":
        return lambda s, b: _dv(s)
    fn = _bound_fn(bound, params)
    return lambda s, b: fn(s, b)[0]


# ---------------------------------------------------------------------------------
# critics


def _mlp(sizes, activation, gen, device, dtype):
    """nn.Sequential of Linear layers (PyTorch's default init drawn from ``gen``)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b, device=device, dtype=dtype)
        bound = 1.0 / math.sqrt(a)
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=gen)
            lin.bias.uniform_(-bound, bound, generator=gen)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


_ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh, "softplus": nn.Softplus,
                "leaky_relu": lambda: nn.LeakyReLU(0.2), "gelu": nn.GELU, "silu": nn.SiLU}


class _SeparableCritic(nn.Module):
    """T(x, y) = g(x) . h(y): two MLPs to an embedding; out[i, j] = T(x_i, y_j)."""

    kind = "separable"

    def __init__(self, dx, dy, hidden, embedding, activation, gen, device, dtype):
        super().__init__()
        act = _ACTIVATIONS[activation]
        self.dx, self.dy = dx, dy
        self.g = _mlp([dx, *hidden, embedding], act, gen, device, dtype)
        self.h = _mlp([dy, *hidden, embedding], act, gen, device, dtype)

    def forward(self, x, y):
        return self.g(x) @ self.h(y).T


class _ConcatCritic(nn.Module):
    """T(x, y) = MLP([x, y]) on all K^2 pairs; out[i, j] = T(x_i, y_j).

    The first affine layer acts on the concatenation [x, y] and splits as
    W_x x + W_y y + b, so it is computed on the K rows of x and of y and broadcast over
    the pairs (the same network, K times fewer operations in that layer).
    """

    kind = "concat"

    def __init__(self, dx, dy, hidden, activation, gen, device, dtype):
        super().__init__()
        if not hidden:
            raise ValueError("hidden must name at least one hidden layer for critic='concat' "
                             "(an affine critic of [x, y] cannot score dependence); got ()")
        self.dx, self.dy = dx, dy
        self.first = _mlp([dx + dy, hidden[0]], None, gen, device, dtype)[0]
        self.act = _ACTIVATIONS[activation]()
        self.rest = _mlp(list(hidden) + [1], _ACTIVATIONS[activation], gen, device, dtype)

    def forward(self, x, y):
        w = self.first.weight
        a = x @ w[:, :self.dx].T + self.first.bias
        b = y @ w[:, self.dx:].T
        pairs = self.act(a[:, None, :] + b[None, :, :])      # (K, K, H): pair (x_i, y_j)
        return self.rest(pairs)[..., 0]


class _Baseline(nn.Module):
    """log a(y): an MLP on y to one number per row."""

    def __init__(self, dy, hidden, activation, gen, device, dtype):
        super().__init__()
        self.dy = dy
        self.net = _mlp([dy, *hidden, 1], _ACTIVATIONS[activation], gen, device, dtype)

    def forward(self, y):
        return self.net(y)[:, 0]


def _check_pair_module(module, name, dx, dy, device, dtype, *, baseline=False):
    """A user (or warm-started) module: moved to device/dtype and tried on two rows."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must be 'separable', 'concat' or a torch.nn.Module; got "
                        f"{_describe(module)}")
    own = getattr(module, "dy", None), getattr(module, "dx", None)
    if own[0] is not None and (own[0] != dy or (not baseline and own[1] != dx)):
        got = f"dy={own[0]}" if baseline else f"dx={own[1]}, dy={own[0]}"
        raise ValueError(f"{name} was built for {got}; the data have dx={dx}, dy={dy}")
    module.to(device=device, dtype=dtype)
    x = torch.zeros(2, dx, device=device, dtype=dtype)
    y = torch.zeros(2, dy, device=device, dtype=dtype)
    with torch.no_grad():
        try:
            out = module(y) if baseline else module(x, y)
        except Exception as exc:  # noqa: BLE001 -- re-raised with context
            raise type(exc)(f"{name} failed on a batch of 2 rows (dx={dx}, dy={dy}): "
                            f"{exc}") from exc
    want = (2,) if baseline else (2, 2)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        sig = "log a(y) of shape (K,) for y of shape (K, dy)" if baseline else \
            "scores of shape (K, K), out[i, j] = T(x_i, y_j), for x (K, dx) and y (K, dy)"
        raise ValueError(f"{name} must return {sig}; got {_describe(out)} for K = 2")
    return module


# ---------------------------------------------------------------------------------
# data


def _check_sampler_batch(batch, n, dims, where):
    """A sampler's output as two float64 arrays (or tensors) of n rows; dims fixed once."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(f"sampler({n}) must return a pair (X, Y); got {_describe(batch)} "
                        f"{where}")
    out = []
    for label, a in zip(("X", "Y"), batch):
        if isinstance(a, torch.Tensor):
            if not (a.dtype.is_floating_point or a.dtype in (torch.int32, torch.int64,
                                                             torch.bool)):
                raise TypeError(f"sampler({n}) returned {label} of dtype {a.dtype} {where}; "
                                "it must hold real numbers")
            arr = a.detach()
        else:
            arr = as_real_array(a, f"sampler({n}) {label}")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0:
            raise ValueError(f"sampler({n}) must return {label} of shape ({n}, d); got shape "
                             f"{tuple(a.shape)} {where}")
        out.append(arr)
    shapes = (out[0].shape[1], out[1].shape[1])
    if dims is not None and shapes != dims:
        raise ValueError(f"sampler changed the dimensions {where}: X has {shapes[0]} and Y "
                         f"{shapes[1]} columns, the first batch had dx={dims[0]}, "
                         f"dy={dims[1]}")
    return out[0], out[1], shapes


def _to_device(a, device, dtype, label, where):
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    if not np.isfinite(a).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{label} contains non-finite values (first: {a[idx]!r} at index "
                         f"{idx}) {where}; shape {a.shape}")
    return torch.as_tensor(a, dtype=dtype, device=device)


class _ArrayStream:
    """Mini-batches of K train rows without replacement within an epoch (reshuffled)."""

    def __init__(self, X, Y, k, gen):
        self.X, self.Y, self.k, self.gen = X, Y, k, gen
        self.n = len(X)
        self.perm, self.pos = None, self.n

    def __call__(self, step):
        if self.pos + self.k > self.n:
            self.perm = torch.randperm(self.n, generator=self.gen, device=self.X.device)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.k]
        self.pos += self.k
        return self.X[idx], self.Y[idx]


class _SamplerStream:
    def __init__(self, sampler, k, dims, device, dtype):
        self.sampler, self.k, self.dims = sampler, k, dims
        self.device, self.dtype = device, dtype
        self.bad = None   # finiteness flags of tensor batches, checked at evaluations

    def __call__(self, step):
        where = f"at training step {step}"
        x, y, _ = _check_sampler_batch(self.sampler(self.k), self.k, self.dims, where)
        tensors = isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor)
        x = _to_device(x, self.device, self.dtype, "sampler X", where)
        y = _to_device(y, self.device, self.dtype, "sampler Y", where)
        if tensors:  # numpy batches are checked at once; tensors without a device sync
            flag = ~(torch.isfinite(x).all() & torch.isfinite(y).all())
            self.bad = flag if self.bad is None else self.bad | flag
        return x, y

    def check(self, upto):
        if self.bad is not None and bool(self.bad):
            raise ValueError(f"sampler returned non-finite values (NaN or inf) in a batch at or "
                             f"before training step {upto}")


# ---------------------------------------------------------------------------------
# the engine


def _check_params(bound, bound_params):
    """The bound's parameters with defaults; unknown ones raise TypeError."""
    params = dict(_BOUND_PARAMS[bound])
    if bound == "fdual":
        from ..estimators import _variational as _npvar
        from ._critics import FOutput
        div = bound_params.pop("divergence", "kl")
        fd = _npvar._resolve_fd(div, bound_params)
        params.update(divergence=fd.label, fd=fd, output=FOutput(fd))
        return params
    unknown = sorted(set(bound_params) - set(params))
    if unknown:
        valid = ", ".join(params) or "none"
        raise TypeError(f"mi_bound(bound={bound!r}) got unexpected parameter(s) {unknown}; "
                        f"valid: {valid}")
    params.update(bound_params)
    if bound == "interpolated":
        params["alpha"] = check_real(params["alpha"], "alpha", low=0.0, high=1.0)
    elif bound == "mine":
        params["momentum"] = check_real(params["momentum"], "momentum", low=0.0, high=1.0,
                                        low_open=False)
    elif bound == "js":
        params["shift"] = check_real(params["shift"], "shift")
    elif bound == "smile" and params["tau"] is not None:
        params["tau"] = check_real(params["tau"], "tau", low=0.0)
    return params


def _evaluate(critic, baseline, fn, ex, ey, k):
    """Per-batch values of the bound on consecutive blocks of K held-out rows (tensor)."""
    vals = []
    with torch.no_grad():
        for s in range(0, len(ex) - k + 1, k):
            x, y = ex[s:s + k], ey[s:s + k]
            lb = baseline(y) if baseline is not None else None
            vals.append(fn(critic(x, y).T, lb))
    return torch.stack(vals)


def _adam(params, lr):
    """Adam, fused where torch supports it (several times less per-step overhead on CPU)."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch, odd device
        return torch.optim.Adam(params, lr=lr)


def _summary(vals):
    v = vals.detach().to("cpu", torch.float64).numpy()
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))), v


def mi_bound(X=None, Y=None, *, sampler=None, bound="nwj", critic="separable", baseline=None,
             steps=2000, batch_size=None, lr=5e-4, hidden=(256, 256), embedding=32,
             activation="relu", train_frac=0.5, eval_size=None, eval_every=None,
             train_window=1000, device="auto", dtype="float32", num_threads=1,
             progress=False, rng=None, **bound_params) -> Estimate:
    r"""Neural lower bound on the mutual information :math:`I(X;Y)` from all in-batch pairs.

    A critic :math:`T(x, y)` is trained by Adam on mini-batches of K matched rows.  Each
    batch gives the :math:`K \times K` score matrix :math:`s_{ij} = T(x_j, y_i)`; the
    diagonal pairs are draws from :math:`P_{XY}` (the joint term), the :math:`K(K-1)`
    off-diagonal pairs draws from :math:`P_X \otimes P_Y` (the product term).  With
    :math:`\bar e = \frac{1}{K(K-1)}\sum_{i\ne j} e^{s_{ij}}` the bounds are (Poole et
    al. 2019, written as in their code):

    ``"nwj"`` (Nguyen, Wainwright & Jordan 2010; the f-dual bound of KL)
        :math:`\frac1K\sum_i s_{ii} - e^{-1}\,\bar e`.
    ``"dv"`` (Donsker–Varadhan)
        :math:`\frac1K\sum_i s_{ii} - \log \bar e`.
    ``"mine"`` (Belghazi et al. 2018)
        the DV value; the gradient of :math:`\bar e` is divided by its exponential
        moving average (``momentum``, default 0.9) instead of by :math:`\bar e` itself,
        which removes the mini-batch bias of the DV gradient.
    ``"infonce"`` (van den Oord et al. 2018)
        :math:`\log K + \frac1K\sum_i \big[s_{ii} - \log\sum_j e^{s_{ij}}\big]`;
        never above :math:`\log K` (``details["log_k_cap"]``).
    ``"tuba"``
        :math:`1 + \frac1K\sum_i [s_{ii} - \log a(y_i)] - \frac{1}{K(K-1)}
        \sum_{i\ne j} e^{s_{ij} - \log a(y_i)}` with a learned baseline
        :math:`\log a(y)` (an MLP on y, trained jointly).
    ``"js"``
        trained with the Jensen–Shannon f-GAN objective
        :math:`\frac1K\sum_i -\mathrm{sp}(-s_{ii}) - \frac{1}{K(K-1)}\sum_{i\ne j}
        \mathrm{sp}(s_{ij})` (:math:`\mathrm{sp}` = softplus), reported as NWJ of
        :math:`s + c` (parameter ``shift`` c, default 0 as in Poole et al.'s code).  The
        JS optimum is :math:`s = \log r`, :math:`r = p(x,y)/p(x)p(y)`, where NWJ is
        :math:`I - e^{-1}` with ``shift=0`` and exactly :math:`I` with ``shift=1``.
    ``"smile"`` (Song & Ermon 2020, parameter ``tau``, default 5; ``None``: no clip)
        trained with the JS objective; the value is
        :math:`\frac1K\sum_i s_{ii} - \log \frac{1}{K(K-1)}\sum_{i\ne j}
        e^{\mathrm{clip}(s_{ij}, -\tau, \tau)}`.
    ``"interpolated"`` (Poole et al. eq. 11, parameter ``alpha`` in (0, 1), default 0.01)
        TUBA with the baseline :math:`\alpha\, m_{-j}(y_i) + (1-\alpha)\, a(y_i)` that
        mixes the InfoNCE leave-one-out mean :math:`m_{-j}(y_i) = \frac{1}{K-1}
        \sum_{k\ne j} e^{s_{ik}}` with the learned :math:`a(y)`; :math:`\alpha \to 0`
        gives TUBA's single-sample baseline, :math:`\alpha \to 1` InfoNCE's.
    ``"fdual"`` (parameter ``divergence``, default ``"kl"``, with its family parameters)
        :math:`\frac1K\sum_i g_f(s_{ii}) - \frac{1}{K(K-1)}\sum_{i\ne j}
        f^*(g_f(s_{ij}))` with the f-GAN output activation :math:`g_f`
        (:func:`divest.torch.fdiv_output`).  For ``"kl"`` it is NWJ; for any other f it
        is a lower bound on :math:`D_f(P_{XY}\,\|\,P_X\otimes P_Y)`, **not** on the
        mutual information, and the estimate is named after that divergence.

    The reported value is the bound of the trained critic on a held-out sample, evaluated
    in disjoint batches of the training size K, so that it has the same finite-K form as
    the training objective (and InfoNCE the same cap :math:`\log K`).

    Parameters
    ----------
    X, Y : array_like or Tensor, shape (n, dx) and (n, dy), optional
        Paired samples (row i of X goes with row i of Y); 1-D input is one column.
        Numpy arrays, lists, pandas objects and torch tensors.  The rows are split at
        random into a training part (``train_frac``) and a held-out part; both are
        standardised column by column with the training part's mean and standard
        deviation (MI is unchanged).  Mini-batches are drawn from the training part
        without replacement within an epoch.
    sampler : callable, optional
        Instead of X and Y: ``sampler(k) -> (X, Y)`` returns k fresh matched rows each
        call (numpy arrays or tensors of shapes (k, dx), (k, dy)); it is called once per
        step and once for the held-out sample (``eval_size`` rows, drawn before
        training).  Its batches are used as they are (no standardisation).  The sampler
        owns its randomness: seed it for reproducible numbers.
    bound : str, default ``"nwj"``
        One of :func:`mi_bounds`.
    critic : {"separable", "concat"} or torch.nn.Module, default ``"separable"``
        ``"separable"``: :math:`T(x, y) = g(x)^\top h(y)`, two MLPs with hidden layers
        ``hidden`` to an ``embedding``-dimensional vector; ``"concat"``: one MLP on
        :math:`[x, y]`, evaluated on all :math:`K^2` pairs (K times the cost).  A module
        is trained further (warm start, as Poole et al.'s staircase trains one critic
        across MI levels): ``module(x, y)`` takes x of shape (K, dx) and y of shape
        (K, dy) and returns the (K, K) matrix ``out[i, j] = T(x_i, y_j)``; it is moved
        to ``device``/``dtype`` in place.  The trained critic is ``details["critic"]``:
        pass it back as ``critic=`` to continue training it.
    baseline : torch.nn.Module, optional
        For ``"tuba"`` and ``"interpolated"``: a module mapping y of shape (K, dy) to
        :math:`\log a(y)` of shape (K,) to train further (default: a new MLP with
        hidden layers ``hidden``); the trained one is ``details["baseline"]``.
    steps : int, default 2000
        Adam steps.  Adam's moments (and MINE's moving average) start afresh at each
        call, also with a warm-started critic.
    batch_size : int, optional
        K, the matched rows per step (default 64; with arrays at most the training part
        and half of the held-out part, whichever is smaller).
    lr : float, default 5e-4
        Adam learning rate.
    hidden : sequence of int, default (256, 256)
        Hidden layer widths of the built-in critics (and of the baseline).
    embedding : int, default 32
        Embedding size of the separable critic.
    activation : str, default ``"relu"``
        ``"relu"``, ``"elu"``, ``"tanh"``, ``"softplus"``, ``"leaky_relu"``, ``"gelu"``,
        ``"silu"``.
    train_frac : float in (0, 1), default 0.5
        With arrays: the fraction of rows used for training.
    eval_size : int, optional
        With a sampler: held-out rows (default ``64 * batch_size``).  Rounded down to a
        multiple of K; at least 2 K.
    eval_every : int, optional
        Steps between held-out evaluations of the history (default ``steps // 20``).
    train_window : int, default 1000
        The training-stream estimate is the mean of the per-step estimates over the last
        ``min(train_window, steps)`` steps.
    device : {"auto", "cpu", "cuda"} or torch.device, default ``"auto"``
    dtype : {"float32", "float64"} or torch dtype, default ``"float32"``
    num_threads : int or None, default 1
        CPU threads torch uses while training (restored afterwards); ``None`` keeps
        torch's setting.
    progress : bool, default False
        Show a tqdm progress bar.
    rng : None, int or numpy.random.Generator
        Seeds the split, the initial weights and the mini-batches (a numpy generator
        seeding ``torch.Generator`` s); same ``rng`` (and a seeded sampler) → same
        numbers on the CPU.
    **bound_params
        ``alpha`` (interpolated), ``tau`` (smile), ``momentum`` (mine), ``shift`` (js),
        ``divergence``
        and its family parameters such as ``alpha`` or ``pi`` (fdual).

    Returns
    -------
    Estimate
        ``method="neural"``, ``name="mi"`` (``fdual`` with f other than KL: the
        divergence's label), ``is_lower_bound=True`` (``False`` for ``"smile"`` with a
        finite ``tau``: the clipped partition term makes it a biased estimate, not a
        bound); ``n_p = n_q`` = held-out rows used.  ``value`` is the mean of the
        per-batch bound over the B held-out batches and ``standard_error`` the
        batch-wise one, :math:`\mathrm{sd}/\sqrt{B}` of the B batch values (conditional
        on the critic; the batches are disjoint, so the values are independent).
        ``details``: ``bound``, its parameters, ``critic`` (the trained module),
        ``baseline`` (module or None), ``critic_kind``, ``train_estimate`` (mean
        per-step estimate over the last ``train_window`` steps — Poole et al.'s
        training-stream number, computed on the batches the critic was fitted to),
        ``train_estimate_sd`` (the sd of those per-step values: the estimator's
        variance in their sense), ``train_window``, ``train_values`` (per-step
        estimates, numpy), ``history`` (dict of lists ``step``, ``train`` — mean
        per-step estimate since the previous entry — ``held_out`` and
        ``held_out_se``), ``held_out_batches`` (the B values), ``batch_size``,
        ``eval_batches``, ``steps``, ``lr``, ``log_k_cap`` (:math:`\log K`, InfoNCE
        only), ``n_train``/``n_held_out`` (arrays), ``device``, ``dtype`` and
        ``seconds``.

    Raises
    ------
    ValueError
        Rows of X and Y differ, fewer than 8 rows, NaN/inf, a sampler batch of the wrong
        shape or with changing dimensions, an unknown bound (the valid ones are
        listed), both arrays and a sampler (or neither), a batch size larger than the
        training part or than half the held-out part, a critic built for other
        dimensions.
    TypeError
        Non-numeric data, a sampler that does not return a pair, unknown bound
        parameters, a critic that is not a name or module.
    FloatingPointError
        The held-out value is NaN: the critic diverged (NWJ, DV and MINE exponentiate
        the scores; at large MI, or with heavy-tailed inputs such as the cubic
        staircase, float32 overflows).  Try a smaller ``lr`` or ``dtype="float64"``.

    Notes
    -----
    *Which numbers are bounds.*  For a fixed critic, the expectation of the per-batch
    NWJ, TUBA, JS (reported as NWJ), f-dual and interpolated values is at most the
    mutual information (resp. :math:`D_f`), and so is InfoNCE's (it is a bound for
    every K).  DV and MINE are the log of a batch mean: their per-batch value is biased
    upwards for the DV bound of the critic (Jensen), by :math:`O(1/K^2)` relative to the
    variance of :math:`e^{s}`; the SMILE value with a finite clip is not a bound.  The
    held-out value is an honest estimate of the chosen quantity for the trained critic;
    the training-stream number is optimistic (the critic was fitted to those batches)
    and is what Poole et al. plot.  NWJ, TUBA and DV have a variance that grows like
    :math:`e^{I}` (McAllester & Stratos 2020); InfoNCE's bias is large when
    :math:`I > \log K`.

    Cost: one forward/backward pass per step on 2K rows (separable) or :math:`K^2`
    pairs (concat), plus ``steps / eval_every`` passes over the held-out sample.

    References
    ----------
    .. [1] X. Nguyen, M. J. Wainwright, M. I. Jordan, "Estimating divergence
       functionals and the likelihood ratio by convex risk minimization", IEEE Trans.
       Inf. Theory 56(11), 2010.
    .. [2] M. D. Donsker, S. R. S. Varadhan, "Asymptotic evaluation of certain Markov
       process expectations for large time IV", Comm. Pure Appl. Math. 36(2), 1983.
    .. [3] M. I. Belghazi et al., "Mutual information neural estimation", ICML 2018.
    .. [4] A. van den Oord, Y. Li, O. Vinyals, "Representation learning with contrastive
       predictive coding", arXiv:1807.03748, 2018.
    .. [5] B. Poole, S. Ozair, A. van den Oord, A. Alemi, G. Tucker, "On variational
       bounds of mutual information", ICML 2019.
    .. [6] J. Song, S. Ermon, "Understanding the limitations of variational mutual
       information estimators", ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.torch import mi_bound
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 1))
    >>> Y = 0.8 * X + 0.6 * rng.normal(size=(2000, 1))   # I = -log(1 - 0.64) / 2 = 0.51
    >>> est = mi_bound(X, Y, bound="infonce", steps=200, hidden=(32,), rng=0, device="cpu")
    >>> est.name, est.is_lower_bound, est.n_p, round(est.details["log_k_cap"], 3)
    ('mi', True, 960, 4.159)
    >>> bool(0.2 < est.value < 0.51 + 4 * est.standard_error)
    True
    """
    t0 = time.perf_counter()
    bound = check_choice(bound, "bound", mi_bounds())
    params = _check_params(bound, dict(bound_params))
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr", low=0.0)
    train_frac = check_real(train_frac, "train_frac", low=0.0, high=1.0)
    eval_every = max(1, steps // 20) if eval_every is None else check_positive_int(
        eval_every, "eval_every")
    train_window = min(check_positive_int(train_window, "train_window"), steps)
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
    embedding = check_positive_int(embedding, "embedding")
    check_choice(activation, "activation", tuple(_ACTIVATIONS))
    num_threads = check_threads(num_threads)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    rng = check_rng(rng)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    if critic not in ("separable", "concat") and not isinstance(critic, nn.Module):
        raise TypeError(f"critic must be 'separable', 'concat' or a torch.nn.Module; got "
                        f"{_describe(critic)}")

    have_arrays = X is not None or Y is not None
    sizes = {}
    if have_arrays and sampler is not None:
        raise ValueError("pass either X and Y or sampler, not both; got X "
                         f"{_describe(X)}, Y {_describe(Y)} and sampler={sampler!r}")
    if sampler is not None:
        if not callable(sampler):
            raise TypeError(f"sampler must be a callable sampler(k) -> (X, Y); got "
                            f"{_describe(sampler)}")
        k = 64 if batch_size is None else batch_size
        n_eval = k * 64 if eval_size is None else check_positive_int(eval_size, "eval_size")
        if n_eval < 2 * k:
            raise ValueError(f"eval_size={n_eval} must be at least 2 * batch_size = {2 * k} "
                             "(the held-out value is averaged over batches of batch_size)")
        n_eval -= n_eval % k
        ex, ey, dims = _check_sampler_batch(sampler(n_eval), n_eval, None,
                                            "for the held-out sample")
        where = "in the held-out sample"
        ex, ey = (_to_device(a, dev, dt, f"sampler {lab}", where) for a, lab in
                  ((ex, "X"), (ey, "Y")))
        if not bool(torch.isfinite(ex).all() & torch.isfinite(ey).all()):
            raise ValueError(f"sampler returned non-finite values (NaN or inf) {where} "
                             f"(shapes {tuple(ex.shape)}, {tuple(ey.shape)})")
        stream = _SamplerStream(sampler, k, dims, dev, dt)
    else:
        if X is None or Y is None:
            raise ValueError("pass X and Y (paired samples of shapes (n, dx), (n, dy)) or "
                             f"sampler=; got X {_describe(X)} and Y {_describe(Y)}")
        X, Y = as_2d(X, "X", min_n=8), as_2d(Y, "Y", min_n=8)
        if len(X) != len(Y):
            raise ValueError(f"X and Y must have the same number of rows (paired samples); "
                             f"got shapes {X.shape} and {Y.shape}")
        n = len(X)
        perm = rng.permutation(n)
        n_tr = int(round(train_frac * n))
        tr, te = perm[:n_tr], perm[n_tr:]
        if batch_size is None:
            k = min(64, n_tr, len(te) // 2)
            if k < 2:
                raise ValueError(f"too few rows: X has shape {X.shape}; with train_frac="
                                 f"{train_frac} the training part needs 2 rows and the "
                                 "held-out part 4")
        else:
            k = batch_size
            if k > n_tr:
                raise ValueError(f"batch_size={k} is larger than the training part: "
                                 f"{n_tr} of the {n} rows of X (shape {X.shape}) with "
                                 f"train_frac={train_frac}")
            if 2 * k > len(te):
                raise ValueError(f"batch_size={k} is larger than half the held-out part "
                                 f"({len(te)} of the {n} rows of X, shape {X.shape}); the "
                                 "held-out value needs at least 2 batches of batch_size")
        te = te[:len(te) - len(te) % k]
        mx, my = X[tr].mean(0), Y[tr].mean(0)
        sx, sy = X[tr].std(0), Y[tr].std(0)
        sx, sy = np.where(sx > 0, sx, 1.0), np.where(sy > 0, sy, 1.0)
        Xs, Ys = (X - mx) / sx, (Y - my) / sy
        ex, ey = to_tensor(Xs[te], dev, dt), to_tensor(Ys[te], dev, dt)
        dims = (X.shape[1], Y.shape[1])
        sizes = {"n_train": int(n_tr), "n_held_out": int(len(te))}
        stream = None
        train_xy = (to_tensor(Xs[tr], dev, dt), to_tensor(Ys[tr], dev, dt))
    dx, dy = dims

    gen_init = torch_generator(rng, dev)
    gen_batch = torch_generator(rng, dev)
    if isinstance(critic, nn.Module):
        net = _check_pair_module(critic, "critic", dx, dy, dev, dt)
        kind = getattr(net, "kind", type(net).__name__)
    elif critic == "separable":
        net, kind = _SeparableCritic(dx, dy, hidden, embedding, activation, gen_init, dev,
                                     dt), critic
    else:
        net, kind = _ConcatCritic(dx, dy, hidden, activation, gen_init, dev, dt), critic
    base = None
    if bound in _BASELINE_BOUNDS:
        base = (_Baseline(dy, hidden, activation, gen_init, dev, dt) if baseline is None
                else _check_pair_module(baseline, "baseline", dx, dy, dev, dt, baseline=True))
    elif baseline is not None:
        raise ValueError(f"baseline is used by bound='tuba' and 'interpolated' only; got "
                         f"bound={bound!r}")
    if stream is None:
        stream = _ArrayStream(*train_xy, k, gen_batch)

    fn, efn = _bound_fn(bound, params), _eval_fn(bound, params)
    modules = [net] + ([base] if base is not None else [])
    opt = _adam([p for m in modules for p in m.parameters()], lr)
    values = torch.empty(steps, device=dev, dtype=dt)
    history = {"step": [], "train": [], "held_out": [], "held_out_se": []}
    last = 0
    it = range(1, steps + 1)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"mi {bound}", leave=False)
    with cpu_threads(num_threads, dev):
        for m in modules:
            m.train()
        for step in it:
            x, y = stream(step)
            value, objective = fn(net(x, y).T, base(y) if base is not None else None)
            opt.zero_grad(set_to_none=True)
            (-objective).backward()
            opt.step()
            values[step - 1] = value.detach()
            if step % eval_every == 0 or step == steps:
                if isinstance(stream, _SamplerStream):
                    stream.check(step)
                batches = _evaluate(net, base, efn, ex, ey, k)   # the last one is the result
                held, held_se, _ = _summary(batches)
                history["step"].append(step)
                history["train"].append(float(values[last:step].mean()))
                history["held_out"].append(held)
                history["held_out_se"].append(held_se)
                last = step
    value, se, batch_values = _summary(batches)
    train_values = values.detach().to("cpu", torch.float64).numpy()
    window = train_values[-train_window:]
    if not (math.isfinite(value) and math.isfinite(se)):
        raise FloatingPointError(f"the held-out {bound} bound is {value} (se {se}) after "
                                 f"{steps} steps; try a smaller lr or dtype='float64'")
    details = {"bound": bound, **{p: v for p, v in params.items() if p not in ("fd", "output")},
               "critic": net, "baseline": base, "critic_kind": kind,
               "train_estimate": float(window.mean()),
               "train_estimate_sd": float(window.std(ddof=1)) if len(window) > 1 else math.nan,
               "train_window": train_window, "train_values": train_values,
               "history": history, "held_out_batches": batch_values, "batch_size": k,
               "eval_batches": len(batch_values), "steps": steps, "lr": lr, **sizes,
               "device": str(dev), "dtype": str(dt).replace("torch.", "")}
    if bound == "infonce":
        details["log_k_cap"] = math.log(k)
    name = "mi"
    if bound == "fdual" and params["fd"].name != "kl":
        name = params["divergence"]
    details["seconds"] = time.perf_counter() - t0
    n_used = len(batch_values) * k
    lower = not (bound == "smile" and params["tau"] is not None)
    return Estimate.from_value(value, standard_error=se, method="neural", name=name,
                               n_p=n_used, n_q=n_used, is_lower_bound=lower, details=details)
