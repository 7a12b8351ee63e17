r"""Seed ensembles: S independent GAN runs trained in one process with batched networks.

Each member is the run :func:`~divest.torch.train_gan` gives for its seed, bit for bit
on the CPU (tested): the ensemble draws every member's data, weights and batches from
that member's own random generators in the single run's order, stacks the S networks'
parameters (``torch.func.stack_module_state``), evaluates them with ``torch.vmap`` (one
batched matrix product per layer instead of S small ones) and updates the stacked
parameters with one optimiser whose arithmetic is elementwise.  What the S runs share is
the Python overhead and the kernel launches of a step, which dominate small networks.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from .._validation import _describe, check_rng
from ._device import cpu_threads, to_numpy
from ._train import (GANRun, _check_options, _config, _critic_update, _evaluate, _fingerprint,
                     _load_checkpoint, _optimizer, _preset_error, _preset_options, _setup,
                     _unroll_rule, _unrolled_params, _unrolled_surrogate, train_gan)

__all__ = ["GANEnsemble", "train_gan_ensemble"]

#: the options _check_options resolves (its parameters)
_CHECKED = tuple(inspect.signature(_check_options).parameters)


@dataclass(frozen=True, eq=False)
class GANEnsemble:
    """The result of :func:`train_gan_ensemble`: one :class:`GANRun` per seed.

    Attributes
    ----------
    seeds : tuple
        The members' seeds, in order.
    runs : tuple of GANRun or None
        ``runs[i]`` is the run of ``seeds[i]`` (``None`` where it failed).
    errors : tuple of str or None
        Why a member failed (the error :func:`train_gan` would raise for that seed: a
        non-finite loss or sample), else ``None``.  The other members are unaffected.
    seconds : float
        Wall time of the whole ensemble.
    config : dict
        The options every member shares (``GANRun.config`` of the first member without
        its seed) plus ``ensemble_size``.
    checkpoints : tuple
        ``(step, path)`` for checkpoints written to ``checkpoint_dir``, or
        ``(step, state)`` kept in memory (``checkpoint_every``).

    Examples
    --------
    >>> from divest.torch import DATASETS, train_gan, train_gan_ensemble
    >>> ring = DATASETS["pacgan_ring"][0]()
    >>> opts = dict(steps=20, batch_size=64, n_data=2000, metrics=("modes",), device="cpu")
    >>> ens = train_gan_ensemble(ring, seeds=[0, 1, 2], **opts)
    >>> len(ens), ens.errors
    (3, (None, None, None))

    Each member is the run its seed gives alone, and ``summary`` averages the members'
    last evaluations:

    >>> ens[0].history["mode_kl"] == train_gan(ring, rng=0, **opts).history["mode_kl"]
    True
    >>> mean, se, n = ens.summary()["high_quality"]
    >>> n
    3
    """

    seeds: tuple
    runs: tuple
    errors: tuple
    seconds: float
    config: dict = field(default_factory=dict)
    checkpoints: tuple = ()

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def __getitem__(self, i) -> GANRun | None:
        return self.runs[i]

    def summary(self, metrics=("modes_captured", "high_quality", "reverse_kl_hq", "w1",
                               "mmd2")) -> dict:
        """Mean and standard error over the successful members of each metric's last value.

        Returns ``{metric: (mean, se, n)}`` for the metrics the runs recorded (``se`` is
        ``nan`` for n < 2).
        """
        out = {}
        ok = [r for r in self.runs if r is not None]
        for m in metrics:
            vals = np.array([r.history[m][-1] for r in ok if r.history.get(m)], dtype=float)
            if vals.size:
                se = float(vals.std(ddof=1) / math.sqrt(vals.size)) if vals.size > 1 \
                    else math.nan
                out[m] = (float(vals.mean()), se, int(vals.size))
        return out

    def __repr__(self) -> str:
        failed = sum(r is None for r in self.runs)
        return (f"GANEnsemble(loss={self.config.get('loss')!r}, seeds={list(self.seeds)}, "
                f"failed={failed}, seconds={self.seconds:.1f})")


class _Stacked:
    """S modules of one architecture evaluated together: stacked parameters, vmapped call."""

    def __init__(self, modules):
        self.modules = modules
        self.params, self.buffers = stack_module_state(modules)
        self.base = copy.deepcopy(modules[0])

        def call(p, b, x):
            return functional_call(self.base, (p, b), (x,))

        self._call = vmap(call)
        self._plan = _mlp_plan(self.base)
        # the fast path keeps weight matrices transposed, (S, in, out): the same numbers
        # in every product, and contiguous gradients (no transposed copies)
        self._transposed = set()
        if self._plan is not None:
            for prefix, act in self._plan[0]:
                k = None if act is not None else prefix + "weight"
                if k is not None and self.params[k].shape[1] > 1:
                    self.params[k] = (self.params[k].detach().transpose(1, 2).contiguous()
                                      .requires_grad_(True))
                    self._transposed.add(k)

    def __call__(self, x):
        return self.call_with(self.params, x)

    def call_with(self, params, x):
        """The stacked networks at the stacked ``params`` (same layout as ``self.params``)."""
        if self._plan is not None:
            return _mlp_forward(self._plan, params, x)
        return self._call(params, self.buffers, x)

    def named_parameters(self):      # what the unrolled update reads (as a critic module's)
        return iter(self.params.items())

    def named_buffers(self):
        return iter(self.buffers.items())

    def train(self, mode=True):
        self.base.train(mode)

    def requires_grad_(self, flag):
        for p in self.params.values():
            p.requires_grad_(flag)

    def member(self, i):
        """Module i with the stacked parameters and buffers of slot i copied in."""
        m = self.modules[i]
        with torch.no_grad():
            for k, p in m.named_parameters():
                p.copy_(self.params[k][i].T if k in self._transposed else self.params[k][i])
            for k, b in m.named_buffers():
                if k in self.buffers:
                    b.copy_(self.buffers[k][i])
        return m


# How each stacked affine layer is computed, per (x shape, weight shape, dtype, threads):
# measured once per process by _probe_layer.  BLAS libraries choose their kernels by
# shape, operand layout, thread count and processor (MKL on an AMD processor sums narrow
# products in another order for a transposed operand than for a plain one, where on an
# Intel processor the two agree), so no fixed rule reproduces the single runs everywhere.
_LAYER_MODES: dict = {}


def _affine(mode, x, w, b):
    """The stacked ``F.linear`` of x (S, n, in) with w stored transposed (S, in, out)."""
    if mode == "bmm":
        return torch.baddbmm(b[:, None, :], x, w)
    if mode == "bmm_view":      # the weight as the single runs hold it, (S, out, in), seen
        #                         transposed: the operand layouts of F.linear's addmm
        return torch.baddbmm(b[:, None, :], x, w.transpose(1, 2).contiguous().transpose(1, 2))
    # each member's F.linear, its weight in the single run's layout
    return torch.stack([F.linear(x[i], w[i].T.contiguous(), b[i]) for i in range(len(w))])


def _probe_layer(xshape, wshape, dtype) -> str:
    """The first of ``bmm``, ``bmm_view`` whose forward, backward and double backward
    (gradient penalties) equal, member by member and bit for bit, the single runs'
    ``F.linear`` on random data; else ``each`` (exact by construction)."""
    S, n, d_in = xshape
    d_out = wshape[2]
    gen = torch.Generator().manual_seed(20261204)
    rnd = lambda *shape: torch.randn(shape, generator=gen, dtype=dtype)  # noqa: E731
    x, w, b = rnd(S, n, d_in), rnd(S, d_out, d_in), rnd(S, d_out)
    up, h = rnd(S, n, d_out), rnd(S, n, d_in)

    def derivatives(f, xs, ws, bs, up, h):
        y = f(xs, ws, bs)
        gx, gw, gb = torch.autograd.grad(y, (xs, ws, bs), up, create_graph=True)
        g2, = torch.autograd.grad((gx * h).sum(), ws)
        return y, gx, gw, gb, g2

    ref = [derivatives(F.linear, *(t[i].clone().requires_grad_(True) for t in (x, w, b)),
                       up[i], h[i]) for i in range(S)]
    for mode in ("bmm", "bmm_view"):
        leaves = [x.clone().requires_grad_(True),
                  w.transpose(1, 2).contiguous().requires_grad_(True),
                  b.clone().requires_grad_(True)]
        got = derivatives(lambda xs, ws, bs: _affine(mode, xs, ws, bs), *leaves, up, h)
        if all(torch.equal(got[0][i], r[0]) and torch.equal(got[1][i], r[1])
               and torch.equal(got[2][i].T, r[2]) and torch.equal(got[3][i], r[3])
               and torch.equal(got[4][i].T, r[4]) for i, r in enumerate(ref)):
            return mode
    return "each"


def _layer_mode(x, w) -> str:
    if x.device.type != "cpu":      # bit-for-bit is a CPU property; GPUs batch
        return "bmm"
    key = (tuple(x.shape), tuple(w.shape), x.dtype, torch.get_num_threads())
    mode = _LAYER_MODES.get(key)
    if mode is None:
        with torch.enable_grad():
            mode = _LAYER_MODES[key] = _probe_layer(tuple(x.shape), tuple(w.shape), x.dtype)
    return mode


def _mlp_plan(module):
    """The layers of a divest MLP (or MLP generator) without spectral normalisation, as
    ``[(param prefix or None, activation module or None), ...]``, else None."""
    from ._critics import MLP, _Linear
    from ._generators import MLPGenerator
    from ._train import _WithInput
    prefix, with_input = "", False
    if isinstance(module, MLPGenerator) and type(module.net) is MLP:
        module, prefix = module.net, "net."
    elif type(module) is _WithInput and type(module.phi) is MLP:
        module, prefix, with_input = module.phi, "phi.", True
    if type(module) is not MLP or module.spectral_norm:
        return None
    plan = []
    for i, layer in enumerate(module.layers):
        if isinstance(layer, _Linear):
            plan.append((f"{prefix}layers.{i}.", None))
        else:
            plan.append((None, layer))
    return plan, module.out_features, with_input


def _mlp_forward(plan, params, x):
    """The stacked MLPs on x of shape (S, n, d): one ``baddbmm`` per affine layer (the
    bias added inside the product, as ``F.linear`` does in a single run)."""
    layers, out_features, with_input = plan
    if with_input:         # MMD-GAN's features [x, phi(x)]
        from ._train import _ContiguousGrad
        f = _ContiguousGrad.apply(_mlp_forward((layers, out_features, False), params, x))
        return torch.cat([_ContiguousGrad.apply(x), f if f.dim() == 3 else f[..., None]],
                         dim=2)
    for prefix, act in layers:
        if act is not None:
            x = act(x)
            continue
        w, b = params[prefix + "weight"], params[prefix + "bias"]
        if b.shape[1] == 1:        # one output unit: _linear's sum of products
            x = (x * w).sum(dim=-1, keepdim=True) + b[:, None, :]
        else:                      # w is stored transposed, (S, in, out)
            x = _affine(_layer_mode(x, w), x, w, b)
    return x[..., 0] if out_features == 1 else x


class _StackedAdam(torch.optim.Adam):
    """``torch.optim.Adam(fused=True)`` on stacked parameters (members along dim 0), each
    member's slice updated with its single run's arithmetic.

    The CPU kernel walks a tensor in 64-byte units, vectorised, and finishes its last
    elements with scalar code, which rounds otherwise (contracted multiply-adds).  A member
    whose parameter is not a whole number of units has such a scalar tail in its single run
    but not inside the stacked tensor, so those parameters are updated slice by slice (one
    fused call on the list of the members' slices: each slice is walked as the single run
    walks its tensor); the others in one pass.  The state (``step``, ``exp_avg``,
    ``exp_avg_sq``) is Adam's, so checkpoints and the unrolled critic's continuation read it
    as before.
    """

    def __init__(self, params, lr, betas):
        params = list(params)
        super().__init__(params, lr=lr, betas=tuple(betas), fused=True)
        self._sliced = [p for p in params
                        if (p.numel() // p.shape[0]) % (64 // p.element_size())]

    @torch.no_grad()
    def step(self, closure=None):
        sliced = [p for p in self._sliced if p.grad is not None]
        grads = [p.grad for p in sliced]
        for p in sliced:
            p.grad = None
        try:
            loss = super().step(closure)
        finally:
            for p, g in zip(sliced, grads):
                p.grad = g
        if not sliced:
            return loss
        from torch.optim.optimizer import _get_scalar_dtype
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        for p in sliced:
            state = self.state[p]
            if not state:       # as Adam's _init_group, fused
                state["step"] = torch.zeros((), dtype=_get_scalar_dtype(is_fused=True),
                                            device=p.device)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"].add_(1)
            S = p.shape[0]
            torch._fused_adam_(list(p.unbind(0)), list(p.grad.unbind(0)),
                               list(state["exp_avg"].unbind(0)),
                               list(state["exp_avg_sq"].unbind(0)), [], [state["step"]] * S,
                               amsgrad=group["amsgrad"], lr=group["lr"], beta1=beta1,
                               beta2=beta2, weight_decay=group["weight_decay"],
                               eps=group["eps"], maximize=group["maximize"], grad_scale=None,
                               found_inf=None)
        return loss


def _stacked_optimizer(kind, params, lr, betas):
    """:func:`~divest.torch._train._optimizer` for stacked parameters: Adam on the CPU
    through :class:`_StackedAdam`."""
    params = list(params)
    if kind == "adam" and params and params[0].device.type == "cpu":
        return _StackedAdam(params, lr, betas)
    return _optimizer(kind, params, lr, betas)


def _check_same_architecture(modules, what):
    ref = [(k, tuple(p.shape), p.dtype) for k, p in modules[0].state_dict().items()]
    for i, m in enumerate(modules[1:], 1):
        if type(m) is not type(modules[0]) or [
                (k, tuple(p.shape), p.dtype) for k, p in m.state_dict().items()] != ref:
            raise ValueError(f"the {what}s of an ensemble must share one architecture; member "
                             f"{i} differs from member 0 ({type(m).__name__} vs "
                             f"{type(modules[0]).__name__})")


def _check_seeds(seeds) -> tuple:
    if isinstance(seeds, (int, np.integer)) or seeds is None:
        raise TypeError(f"seeds must be a sequence of seeds (ints or numpy Generators), one per "
                        f"member; got {_describe(seeds)}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one member; got an empty sequence")
    for i, s in enumerate(seeds):
        if s is None:
            raise ValueError(f"seeds[{i}] is None: each member needs a reproducible seed (an "
                             f"int or a numpy Generator)")
        check_rng(s)
    return seeds


def train_gan_ensemble(target, loss=None, *, seeds, preset=None, n_jobs=None,
                       **options) -> GANEnsemble:
    r"""Train one GAN per seed, all in one process with batched networks.

    Member i is the run ``train_gan(target, loss, rng=seeds[i], preset=preset,
    **options)``: the same data, initial weights, batches, updates and evaluations, bit
    for bit on the CPU for the configurations stated in the Notes (the ensemble stacks
    the members' parameters and evaluates them with batched products; every operation
    acts on each member's slice alone).  The members share the cost of a step's Python
    overhead and kernel launches, which dominate the toy networks, so S runs take less
    than S times one run (``benchmarks/gan_ensemble.py`` measures how much).

    Parameters
    ----------
    target
        As for :func:`train_gan`.
    loss : str or GANLoss, optional
        As for :func:`train_gan` (default the preset's, else ``"nonsaturating"``).
    seeds : sequence of int or numpy.random.Generator
        One seed per member (``rng`` of its run).
    preset : str, optional
        As for :func:`train_gan`; each member's networks are the preset's, seeded from
        its own seed.
    n_jobs : int, optional
        Workers (joblib) for the members' evaluations (exact W1, MMD, kNN KL, modes),
        which the batching does not share; ``None``: one.
    **options
        Any option of :func:`train_gan` except ``rng`` (use ``seeds``) and a callable
        ``optimizer`` (only the built-in optimisers are known to act elementwise); each
        raises, saying so.  Unrolled GANs (``unrolled_steps``) unroll every member's
        critic at once.  Generator and critic modules passed as options are copied for
        each member.
        ``checkpoint_every``, ``checkpoint_dir`` and ``resume`` work as for
        :func:`train_gan`, on the whole ensemble: a checkpoint holds every member's
        state, and ``resume=`` with the same target, seeds and options continues exactly
        the ensemble that did not stop.

    Returns
    -------
    GANEnsemble
        ``runs[i]`` is a :class:`GANRun` (``None`` with the reason in ``errors[i]`` if
        member i failed; the others go on).  Its ``history["seconds"]`` is the
        ensemble's elapsed time, and ``config["ensemble_size"]`` is S.

    Notes
    -----
    divest's MLPs (the default networks, dict options, the ``unrolled`` and
    ``wgan_gp_toy`` presets, MMD-GAN's feature critic) are evaluated with one
    ``torch.baddbmm`` per layer; other modules with ``torch.vmap``, including those with
    batch normalisation or spectral normalisation (their buffers are stacked too).
    Gradient penalties and R1 use one backward pass of the summed critic outputs over the
    stacked inputs, the per-sample gradients of each member.

    **When members are bit for bit their single runs.**  Tested on the CPU, float32 and
    float64: every built-in loss (an f-GAN loss of a user f-divergence computed through
    numpy raises), the
    penalties, clipping, spectral normalisation, packing and both schedules, with divest's
    MLPs of width >= 8 and ``batch_size / pack`` a multiple of 32 (divest's defaults 64
    and 256 are).  Otherwise members agree with their single runs to float rounding at
    each step, and then drift apart as any two roundings of a chaotic training do: torch's
    vectorised ``softplus`` and ``sigmoid`` round a value in a vector's tail otherwise
    than inside it.  The BLAS library picks its kernel by shape, operand layout, thread
    count and processor (MKL on AMD processors sums narrow products in another order for
    a transposed weight than for a plain one; on Intel processors they agree), so the
    first time a process meets a layer shape it measures, on random data, which way of
    batching that layer reproduces the single runs' ``F.linear`` bit for bit (forward,
    backward and the double backward of gradient penalties): one batched product, the
    same with the single runs' weight layout, or else each member's own product.  Adam
    updates a parameter whose per-member size is not a whole number of its CPU kernel's
    64-byte units (a 2-vector bias) member by member, as the kernel finishes such a tensor
    with scalar code.  The tests check 17-member ensembles over 30 steps, optimiser state
    included.
    PacGAN's networks (batch normalisation, maxout) agree to rounding, and so do unrolled
    GANs with ``unrolled_backprop=True``: the generator's gradient sums many second-order
    paths, which autograd accumulates in another order in a batch (without
    ``unrolled_backprop`` they are bit for bit).  On a GPU batched products may sum in
    another order: members agree to rounding.

    Examples
    --------
    >>> from divest.torch import DATASETS, train_gan, train_gan_ensemble
    >>> ring = DATASETS["ring"][0]()
    >>> ens = train_gan_ensemble(ring, "nonsaturating", seeds=[0, 1, 2], steps=20,
    ...                          metrics=("w1",), device="cpu")
    >>> len(ens), ens.errors
    (3, (None, None, None))
    >>> alone = train_gan(ring, "nonsaturating", rng=1, steps=20, metrics=("w1",),
    ...                   device="cpu")
    >>> alone.history["w1"] == ens[1].history["w1"]
    True
    """
    t0 = time.perf_counter()
    seeds = _check_seeds(seeds)
    if options.get("rng") is not None:
        raise TypeError(f"train_gan_ensemble: rng={_describe(options['rng'])} is not taken: an "
                        f"ensemble takes seeds=[...] (one rng per member) instead of rng")
    if callable(options.get("optimizer")):
        raise ValueError("train_gan_ensemble: a callable optimizer is not supported (only "
                         "'adam', 'rmsprop' and 'sgd' are known to update each member's slice "
                         "alone); pass one of those names")
    progress = options.pop("progress", False)
    from .._parallel import check_n_jobs
    n_jobs = check_n_jobs(n_jobs)

    if loss is not None:
        options["loss"] = loss
    members = []
    for s in seeds:
        kw = {**options, "rng": s}
        if preset is not None:
            try:
                preset_opts = _preset_options(target, preset, kw)
                kw = {**preset_opts, **kw}
            except ValueError as exc:
                raise ValueError(f"preset={preset!r}: {exc}") from exc
        kw.setdefault("loss", "nonsaturating")
        members.append(kw)
    if preset is None and isinstance(options.get("generator"), torch.nn.Module):
        for kw in members:
            kw["generator"] = copy.deepcopy(options["generator"])
    if preset is None and isinstance(options.get("critic"), torch.nn.Module):
        for kw in members:
            kw["critic"] = copy.deepcopy(options["critic"])
    # every option train_gan takes, resolved per member exactly as train_gan resolves them
    defaults = train_gan.__wrapped__.__kwdefaults__
    unknown = sorted(set(options) - set(defaults) - {"loss"})
    if unknown:
        raise TypeError(f"train_gan_ensemble got unexpected option(s) {', '.join(unknown)}; it "
                        f"takes train_gan's options")
    resolved, setups = [], []
    try:
        for kw in members:
            full = {**defaults, **kw}
            full["loss"] = kw["loss"]
            o = _check_options(**{k: full[k] for k in _CHECKED})
            resolved.append((o, full))
            setups.append(_setup(target, o["loss"],
                                 full["generator"], full["critic"], o["lipschitz"], o["pack"],
                                 full["latent_dim"], o["n_data"], o["n_eval"], o["rng"],
                                 o["dev"], o["dt"]))
    except ValueError as exc:       # as train_gan: say which options the preset set
        if preset is None:
            raise
        raise _preset_error(preset, preset_opts, options, exc) from exc
    o = {**resolved[0][0], "checkpoint_dir": resolved[0][1]["checkpoint_dir"]}
    try:
        return _train(target, seeds, o, setups, progress, n_jobs, t0,
                      preset=preset,
                      overridden=sorted(set(options) & set(preset_opts)) if preset else [])
    except RuntimeError as exc:
        if "vmap" not in str(exc) and "functorch" not in str(exc):
            raise
        raise ValueError(f"train_gan_ensemble: loss {o['loss'].name!r} or a network cannot be "
                         f"batched by torch.vmap ({str(exc).splitlines()[0][:160]}); train "
                         f"these seeds one by one with train_gan") from exc


def _train(target, seeds, o, setups, progress, n_jobs, t0, *, preset, overridden):
    S = len(seeds)
    loss, steps, B, pack = o["loss"], o["steps"], o["batch_size"], o["pack"]
    n_critic, schedule, lipschitz = o["n_critic"], o["schedule"], o["lipschitz"]
    unrolled_steps = o["unrolled_steps"]
    penalty, clip, r1 = o["penalty"], o["clip"], o["r1"]
    metrics, eval_every, dev, dt = o["metrics"], o["eval_every"], o["dev"], o["dt"]
    n_eval = o["n_eval"]
    data_np = [st[0] for st in setups]
    eval_np = [st[1] for st in setups]
    mode_spec = setups[0][2]
    d = data_np[0].shape[1]
    if len({len(x) for x in data_np}) != 1:
        raise ValueError("the members' training pools differ in size; an ensemble needs one "
                         "size (a distribution target, or one sample array)")
    data = torch.stack([st[3] for st in setups])                  # (S, n, d)
    Gs, Cs = [st[4] for st in setups], [st[5] for st in setups]
    _check_same_architecture(Gs, "generator")
    _check_same_architecture(Cs, "critic")
    gens = [st[6] for st in setups]
    eval_seeds = [st[7] for st in setups]
    z_eval = torch.stack([st[8] for st in setups])
    G, C = _Stacked(Gs), _Stacked(Cs)
    latent = Gs[0].latent_dim
    opt_g = _stacked_optimizer(o["optimizer"], list(G.params.values()), o["lr_g"], o["betas"])
    opt_c = _stacked_optimizer(o["optimizer"], list(C.params.values()), o["lr_c"], o["betas"])
    rows = torch.arange(S, device=dev)[:, None]

    def clip_():
        with torch.no_grad():
            for p in C.params.values():
                p.clamp_(-clip, clip)

    if lipschitz == "clip":
        clip_()

    def real_batch():
        idx = torch.stack([torch.randint(data.shape[1], (B,), generator=g, device=dev)
                           for g in gens])
        x = data[rows, idx]
        return x if pack == 1 else x.reshape(S, B // pack, pack * d)

    def fake_batch():
        z = torch.stack([torch.randn(B, latent, generator=g, device=dev, dtype=dt)
                         for g in gens])
        if pack == 1:
            return G(z)
        b = B // pack
        return torch.cat([G(z[:, j * b:(j + 1) * b].contiguous()) for j in range(pack)], dim=2)

    def input_gradients(x):
        x = x.detach().requires_grad_(True)
        out = C(x)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        return g.reshape(S, g.shape[1], -1)

    def critic_objective(xr, xf):
        lc = vmap(loss.critic_loss)(C(xr), C(xf))
        if lipschitz in ("gp", "lp"):
            n = xr.shape[1]
            eps = torch.stack([torch.rand((n,) + (1,) * (xr.dim() - 2), generator=g,
                                          device=dev, dtype=xr.dtype) for g in gens])
            xhat = eps * xr.detach() + (1.0 - eps) * xf.detach()
            norms = torch.linalg.vector_norm(input_gradients(xhat), dim=2)
            dv = norms - 1.0
            if lipschitz == "lp":
                dv = F.relu(dv)
            lc = lc + penalty * vmap(torch.mean)(dv * dv)
        if r1 > 0:
            g = input_gradients(xr)
            lc = lc + 0.5 * r1 * vmap(torch.mean)((g * g).sum(dim=2))
        return lc

    def gen_loss(r, f):
        if r is None:
            return vmap(lambda f_: loss.generator_loss(None, f_))(f)
        return vmap(loss.generator_loss)(r, f)

    def critic_step():
        return _critic_update(real_batch, fake_batch, critic_objective, opt_c,
                              clip_ if lipschitz == "clip" else None).tolist()

    def critic_loss_sum(r, f):
        return vmap(loss.critic_loss)(r, f).sum()

    def unrolled_critic(batches):
        """As train_gan: every member's critic after one unrolled update per batch."""
        params = {k: v.detach().requires_grad_(True) for k, v in C.params.items()}
        rule = _unroll_rule(o["unrolled_optimizer"], C, opt_c, lr=o["unrolled_lr"],
                            betas=o["betas"], clip=clip if lipschitz == "clip" else None)
        cur, _, _ = _unrolled_params(C, loss, params, batches, rule, o["unrolled_backprop"],
                                     call=C.call_with, critic_loss=critic_loss_sum)
        return lambda x: C.call_with(cur, x)

    def surrogate(crit, real, xf):
        return _unrolled_surrogate(loss, crit, real, xf,
                                   critic_loss=vmap(loss.critic_loss), generator_loss=gen_loss)

    def generator_step():
        C.requires_grad_(False)
        try:
            crit = C
            if unrolled_steps:     # as train_gan: K critic updates on fresh batches, unrolled
                C.train(False)
                batches = []
                for _ in range(unrolled_steps):
                    xr = real_batch()
                    with torch.set_grad_enabled(o["unrolled_backprop"]):
                        batches.append((xr, fake_batch()))
                crit = unrolled_critic(batches)
            xf = fake_batch()
            if unrolled_steps:
                lg = surrogate(crit, real_batch, xf)
            else:
                r = crit(real_batch()) if loss.generator_uses_real else None
                lg = gen_loss(r, crit(xf))
            opt_g.zero_grad(set_to_none=True)
            lg.sum().backward()
            opt_g.step()
        finally:
            C.requires_grad_(True)
            C.train(True)
        return lg.detach().tolist()

    cparams, gparams = list(C.params.values()), list(G.params.values())

    def single_step():
        xr = real_batch()
        xf = fake_batch()
        lc = critic_objective(xr, xf)
        if unrolled_steps:     # as train_gan: the unroll reuses this step's batch
            C.train(False)
            try:
                crit = unrolled_critic(
                    [(xr, xf if o["unrolled_backprop"] else xf.detach())] * unrolled_steps)
                lg = surrogate(crit, lambda: xr, xf)
            finally:
                C.train(True)
        else:
            lg = gen_loss(C(xr), C(xf))
        gc = torch.autograd.grad(lc.sum(), cparams, retain_graph=True)
        gg = torch.autograd.grad(lg.sum(), gparams)
        for p, g in zip(cparams, gc):
            p.grad = g.contiguous()   # fused Adam reads the gradient in the parameter's layout
        for p, g in zip(gparams, gg):
            p.grad = g.contiguous()   # fused Adam reads the gradient in the parameter's layout
        opt_c.step()
        opt_g.step()
        if lipschitz == "clip":
            clip_()
        return lc.detach().tolist(), lg.detach().tolist()

    histories = [{"step": [], "seconds": [], "critic_loss": [], "generator_loss": []}
                 for _ in range(S)]
    notes: list[list] = [[] for _ in range(S)]
    errors: list = [None] * S
    eval_rngs = [np.random.default_rng(s) for s in eval_seeds]
    offset = 0.0          # seconds of the ensemble before a resumed checkpoint
    checkpoints: list = []
    fingerprint = {**_fingerprint(o, latent, d, [a for pair in zip(data_np, eval_np)
                                                 for a in pair]),
                   "ensemble": [_seed_repr(s) for s in seeds], "eval_seeds": list(eval_seeds)}

    def record(step, lc_mean, lg_mean):
        G.train(False)
        with torch.no_grad():
            fake_all = to_numpy(G(z_eval)).reshape(S, n_eval, d)
        G.train(True)
        live = []
        for i in range(S):
            if errors[i] is not None:
                continue
            if not np.all(np.isfinite(fake_all[i])):
                errors[i] = (f"the generator produced non-finite samples at step {step} "
                             f"(loss {loss.name}); lower the learning rate")
                continue
            live.append(i)
        done = _evaluate_members([(fake_all[i], eval_np[i], eval_rngs[i]) for i in live],
                                 mode_spec, metrics, n_jobs)
        now = time.perf_counter() - t0 + offset
        for i, (vals, why, rng_state) in zip(live, done):
            eval_rngs[i].bit_generator.state = rng_state
            notes[i].extend(f"step {step}: {w}" for w in why)
            h = histories[i]
            h["step"].append(step)
            h["seconds"].append(now)
            h["critic_loss"].append(lc_mean[i])
            h["generator_loss"].append(lg_mean[i])
            for k, v in vals.items():
                h.setdefault(k, []).append(v)

    def checkpoint(step):
        state = {"ensemble_step": step, "step": step,
                 "generator": _copy(G.params, G.buffers), "critic": _copy(C.params, C.buffers),
                 "optimizer_g": copy.deepcopy(opt_g.state_dict()),
                 "optimizer_c": copy.deepcopy(opt_c.state_dict()),
                 "torch_generators": [g.get_state() for g in gens],
                 "eval_rngs": [copy.deepcopy(r.bit_generator.state) for r in eval_rngs],
                 "histories": copy.deepcopy(histories), "notes": copy.deepcopy(notes),
                 "errors": list(errors), "accumulated": (list(lc_sum), list(lg_sum), count),
                 "seconds": time.perf_counter() - t0 + offset, "fingerprint": fingerprint}
        if o["checkpoint_dir"] is None:
            checkpoints.append((step, state))
        else:
            os.makedirs(o["checkpoint_dir"], exist_ok=True)
            path = os.path.join(os.fspath(o["checkpoint_dir"]), f"step_{step}.pt")
            torch.save(state, path)
            checkpoints.append((step, path))

    lc_sum, lg_sum, count = [0.0] * S, [0.0] * S, 0
    first = 1
    if o["resume_state"] is None:
        record(0, [math.nan] * S, [math.nan] * S)
    else:
        if "ensemble_step" not in o["resume_state"]:
            raise ValueError("resume: this checkpoint is a single run's (train_gan); resume "
                             "it with train_gan")
        old = o["resume_state"]["fingerprint"].get("ensemble")
        if old != fingerprint["ensemble"]:
            raise ValueError(f"resume: seeds are {fingerprint['ensemble']} here but {old} in "
                             f"the checkpoint; pass the checkpoint's seeds")
        state = _load_checkpoint(o["resume_state"], fingerprint, steps)
        with torch.no_grad():
            for stacked, key in ((G, "generator"), (C, "critic")):
                for k, v in state[key][0].items():
                    stacked.params[k].copy_(v)
                for k, v in state[key][1].items():
                    stacked.buffers[k].copy_(v)
        opt_g.load_state_dict(copy.deepcopy(state["optimizer_g"]))
        opt_c.load_state_dict(copy.deepcopy(state["optimizer_c"]))
        for g, st in zip(gens, state["torch_generators"]):
            g.set_state(st)
        for r, st in zip(eval_rngs, state["eval_rngs"]):
            r.bit_generator.state = st
        histories = copy.deepcopy(state["histories"])
        notes = copy.deepcopy(state["notes"])
        errors = list(state["errors"])
        lc_sum, lg_sum, count = (list(state["accumulated"][0]), list(state["accumulated"][1]),
                                 state["accumulated"][2])
        offset = state["seconds"]
        first = state["step"] + 1
    it = range(first, steps + 1)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"train_gan_ensemble[{loss.name} x {S}]", initial=first - 1,
                  total=steps)
    G.train(True)
    C.train(True)
    with cpu_threads(o["num_threads"], dev):
        for step in it:
            if schedule == "single_step":
                lc, lg = single_step()
            else:
                per = [critic_step() for _ in range(n_critic)]
                lc = [sum(v[i] for v in per) / n_critic for i in range(S)]
                lg = generator_step()
            for i in range(S):
                if errors[i] is None and not (math.isfinite(lc[i]) and math.isfinite(lg[i])):
                    errors[i] = (f"loss {loss.name} became non-finite at step {step} (critic "
                                 f"{lc[i]}, generator {lg[i]}); lower the learning rate")
                lc_sum[i] += lc[i]
                lg_sum[i] += lg[i]
            count += 1
            if step % eval_every == 0 or step == steps:
                record(step, [v / count for v in lc_sum], [v / count for v in lg_sum])
                lc_sum, lg_sum, count = [0.0] * S, [0.0] * S, 0
            if o["checkpoint_every"] is not None and step % o["checkpoint_every"] == 0:
                checkpoint(step)
            if all(e is not None for e in errors):
                break
    G.train(False)
    C.train(False)
    seconds = time.perf_counter() - t0 + offset
    config = {**_config(o, opt_c, latent, len(data_np[0]), d), "ensemble_size": S}
    if preset is not None:
        config.update(preset=preset, preset_overridden=overridden)
    runs = []
    for i in range(S):
        if errors[i] is not None:
            runs.append(None)
            continue
        g, c = G.member(i), C.member(i)
        g.eval()
        c.eval()
        runs.append(GANRun(generator=g, critic=c, loss=loss, history=histories[i],
                           target_eval=eval_np[i], mode_spec=mode_spec,
                           config={**config, "seed": _seed_repr(seeds[i])},
                           notes=tuple(notes[i]), seconds=seconds, _device=dev, _dtype=dt))
    return GANEnsemble(seeds=tuple(seeds), runs=tuple(runs), errors=tuple(errors),
                       seconds=seconds, config=config, checkpoints=tuple(checkpoints))


def _copy(params, buffers):
    return ({k: v.detach().clone() for k, v in params.items()},
            {k: v.detach().clone() for k, v in buffers.items()})


def _seed_repr(seed):
    return int(seed) if isinstance(seed, (int, np.integer)) else repr(seed)


def _evaluate_one(fake, real, mode_spec, metrics, rng_state):
    rng = np.random.default_rng()
    rng.bit_generator.state = rng_state
    vals, why = _evaluate(fake, real, mode_spec, metrics, rng)
    return vals, why, rng.bit_generator.state


def _evaluate_members(items, mode_spec, metrics, n_jobs):
    """Each member's metrics with its own evaluation rng (state in, state out)."""
    from .._parallel import parallel_map
    args = [(fake, real, mode_spec, metrics, rng.bit_generator.state)
            for fake, real, rng in items]
    if n_jobs in (None, 1) or len(args) < 2:
        return [_evaluate_one(*a) for a in args]
    return parallel_map(_evaluate_one, args, n_jobs=n_jobs)

