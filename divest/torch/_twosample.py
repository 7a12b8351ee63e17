r"""Learned two-sample tests of Liu et al. (2020): MMD-D, C2ST-S and C2ST-L.

Each test splits both samples at random into a training part and a test part
(``train_fraction`` of each sample trains, default one half as in the authors' code),
trains a network on the training part and runs a permutation test on the test part with
the trained network fixed.  Conditionally on the training part the test-part statistic
is a fixed function of exchangeable points, so the permutation p-value is exact at any
sample size, whatever the training did.  ``two_sample_test(X, Y, "mmd_deep" |
"c2st_sign" | "c2st_logit", ...)`` calls :func:`run_learned`.

**MMD-D** (the deep kernel).  With features :math:`\phi_\omega` (a fully connected network,
the authors' architecture for non-image data: ``depth`` hidden layers of ``width``
softplus units and a linear output of ``n_features`` units),

.. math::

    k_\omega(x, y) = \bigl[(1 - \epsilon)\,\kappa(\phi_\omega(x), \phi_\omega(y))
                     + \epsilon\bigr]\, q(x, y), \qquad
    \kappa(a, b) = e^{-\|a - b\|^2 / \sigma_\phi^2}, \quad
    q(x, y) = e^{-\|x - y\|^2 / \sigma_q^2},

:math:`\epsilon = 1 / (1 + e^{-e})` with :math:`e`, :math:`\sigma_\phi`, :math:`\sigma_q`
and :math:`\omega` learned together (the authors' ``MMDu``: ``sigma`` there is
:math:`\sigma_q^2`, ``sigma0`` is :math:`\sigma_\phi^2`).  Training maximises the authors'
objective with Adam, full batch by default (one step per epoch),

.. math::

    \hat J_\lambda = \frac{\widehat{\mathrm{MMD}}^2_u}{\sqrt{\hat\sigma^2_{H_1} + \lambda}},
    \qquad \lambda = 10^{-8}.

For :math:`n = m` (training parts of equal size, the authors' setting) both are the
authors' estimators: with :math:`H_{ij} = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j)
- k(x_j, y_i)`, :math:`\widehat{\mathrm{MMD}}^2_u = \sum_{i \ne j} H_{ij} / (n(n-1))` and
:math:`\hat\sigma^2_{H_1} = 4\bigl[\frac1n \sum_i (\frac1n \sum_j H_{ij})^2
- (\frac1{n^2}\sum_{ij} H_{ij})^2\bigr]` (the variance of :math:`\sqrt n` times the
statistic).  For :math:`n \ne m` the pairing of :math:`x_i` with :math:`y_i` does not exist:
the two-sample U-statistic is used, and :math:`\hat\sigma^2_{H_1} = 4[\mathrm{var}(a) +
\frac nm \mathrm{var}(b)]` with the row terms :math:`a_i = \overline{k(x_i, X_{-i})} -
\overline{k(x_i, Y)}` and :math:`b_j = \overline{k(y_j, Y_{-j})} - \overline{k(X, y_j)}`
(the same first-order variance, without the cross term of the arbitrary pairing).
The test statistic is the two-sample unbiased :math:`\widehat{\mathrm{MMD}}^2_u` of the
trained kernel on the test part, calibrated by divest's permutation engine
(:func:`divest._permutation.quadratic_null`; the authors use the one-sample U-statistic,
equal-size samples only).

**C2ST-S and C2ST-L** (Liu et al.'s deep classifier two-sample tests, after Lopez-Paz &
Oquab 2017 and Cheng & Cloninger 2019).  A classifier — the same network followed by a
linear layer to two classes (X is class 0, Y class 1), trained by cross-entropy with Adam
on mini-batches — gives the log-odds :math:`f(z) = \log \hat p(X \mid z) - \log \hat p(Y
\mid z)`.  On the test part (sizes :math:`n', m'`, :math:`N' = n' + m'`):

* ``"c2st_sign"``: the accuracy :math:`\hat t_S = \frac{1}{N'} \bigl[\#\{i: f(x_i) > 0\}
  + \#\{j: f(y_j) \le 0\}\bigr]`.  (The authors' code uses :math:`|\bar p_X - \bar p_Y|`,
  the difference of the rates of predicting X; for :math:`n' = m'` it equals
  :math:`|2 \hat t_S - 1|`, so ``alternative="two-sided"`` matches it and the default
  ``"greater"`` is its one-sided version);
* ``"c2st_logit"``: :math:`\hat t_L = \frac{1}{n'} \sum_i s(x_i) - \frac{1}{m'} \sum_j
  s(y_j)` with :math:`s = f` (``score="logit"``, the paper's description) or :math:`s =
  \hat p(X \mid \cdot) = \mathrm{sigmoid}(f)` (``score="probability"``, what the authors'
  code ``TST_LCE`` computes, there inside an absolute value).

Both are linear in the labels given the outputs: with the X-indicator :math:`a` of a
relabelling and predictions :math:`p_i = 1\{f(z_i) > 0\}`, the number correct is
:math:`2 a^\top p + N' - n' - 1^\top p`, and :math:`\hat t_L = a^\top s\,(1/n' + 1/m')
- 1^\top s / m'`; the B permuted statistics are one matrix-vector product.

Randomness: the numpy generator ``rng`` draws the split (one permutation of each sample),
then seeds the network's initial weights and a ``torch.Generator`` for the mini-batch
order, then draws the relabellings: the same ``rng`` gives the same result on the CPU.

References
----------
.. [1] F. Liu, W. Xu, J. Lu, G. Zhang, A. Gretton, D. J. Sutherland, "Learning deep kernels
   for non-parametric two-sample tests", ICML 2020; code
   https://github.com/fengliu90/DK-for-TST (``utils.py``: ``MMDu``, ``h1_mean_var_gram``,
   ``C2ST_NN_fit``, ``TST_C2ST``, ``TST_LCE``; ``Deep_Kernel_Blob.py``,
   ``Baselines_Blob.py``).
.. [2] D. Lopez-Paz, M. Oquab, "Revisiting classifier two-sample tests", ICLR 2017.
.. [3] X. Cheng, A. Cloninger, "Classification logit two-sample testing by neural
   networks", arXiv:1909.11298, 2019.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy.spatial.distance import cdist

from .. import _permutation as _perm
from .._validation import _describe, check_choice, check_positive_int, check_real
from ._critics import MLP
from ._device import check_threads, cpu_threads, resolve_device, to_numpy, torch_generator

__all__ = ["OPTIONS", "run_learned"]

_NET_OPTIONS = {"train_fraction": 0.5, "epochs": 1000, "width": 50, "depth": 3,
                "n_features": 50, "device": "auto", "num_threads": 1}

#: options of each learned statistic with their defaults (``two_sample_test(**options)``)
OPTIONS: dict[str, dict[str, object]] = {
    # Deep_Kernel_Blob.py: lr 5e-4, 1000 full-batch epochs, H = x_out = 50, lambda = 1e-8
    "mmd_deep": {**_NET_OPTIONS, "learning_rate": 5e-4, "batch_size": None,
                 "reg": 1e-8, "epsilon_init": 0.5, "bandwidths": "median"},
    # Baselines_HDGM.py: lr 1e-3, 1000 epochs of mini-batches of min(2n, 128)
    "c2st_sign": {**_NET_OPTIONS, "learning_rate": 1e-3, "batch_size": 128},
    "c2st_logit": {**_NET_OPTIONS, "learning_rate": 1e-3, "batch_size": 128,
                   "score": "logit"},
}

_SCORES = ("logit", "probability")


def run_learned(statistic, X, Y, n_permutations, *, rng, progress=False, **options) -> dict:
    """Train on one part of ``X`` and ``Y``, permutation-test on the other.

    Parameters
    ----------
    statistic : {"mmd_deep", "c2st_sign", "c2st_logit"}
    X, Y : ndarray, shapes (n, d) and (m, d)
        Validated float64 samples.
    n_permutations : int
        Number B of random relabellings of the test part.
    rng : numpy.random.Generator
        Draws the split, seeds the network and draws the relabellings.
    progress : bool
        Progress bar over the permutations (``"mmd_deep"``).
    **options
        The options of ``statistic`` (:data:`OPTIONS`), all of them:

        train_fraction : float in (0, 1)
            Share of each sample used for training, ``floor(train_fraction * n)`` rows of
            X (and likewise of Y); each part needs at least 2 rows of each sample.
        epochs : int
            Passes over the training part (``"mmd_deep"`` full batch: one Adam step each).
        learning_rate : float
            Adam's step size.
        batch_size : int or None
            ``"mmd_deep"``: None (full batch) or the rows drawn from each sample per step
            (``ceil(max(n, m) / batch_size)`` steps per epoch); C2ST: pooled rows per
            mini-batch.
        width, depth, n_features : int
            The network: ``depth`` hidden softplus layers of ``width`` units, linear
            output of ``n_features`` units (the C2ST adds a linear layer to 2 logits).
        reg : float
            ``"mmd_deep"``: the regulariser :math:`\\lambda` of the variance.
        epsilon_init : float in (0, 1)
            ``"mmd_deep"``: initial :math:`\\epsilon` (the authors' Blob code starts at
            sigmoid(~0) = 0.5, their HDGM code at 1e-10).
        bandwidths : "median" or (float, float)
            ``"mmd_deep"``: initial :math:`(\\sigma_q, \\sigma_\\phi)`; ``"median"``:
            square roots of the median squared distance between the training inputs and
            between their initial features.
        score : {"logit", "probability"}
            ``"c2st_logit"``: average the log-odds or the probability of class X.
        device : "auto", "cpu", "cuda" or torch.device
        num_threads : int or None
            CPU threads for torch during training (None: leave torch's setting).

    Returns
    -------
    dict
        ``statistic``, ``null`` (B permuted statistics), ``tolerance`` (tie tolerance),
        ``name`` and ``details`` (sizes of the parts, training budget and result, the
        learned kernel parameters, timings, device).
    """
    check_choice(statistic, "statistic", tuple(OPTIONS))
    opts = _check_options(statistic, X, Y, options)
    dev = resolve_device(opts.pop("device"))
    n_threads = check_threads(opts.pop("num_threads"))
    train_fraction = opts.pop("train_fraction")
    itr, ite = _split(X.shape[0], train_fraction, rng)
    jtr, jte = _split(Y.shape[0], train_fraction, rng)
    _check_parts(X, Y, train_fraction, len(itr), len(ite), len(jtr), len(jte))
    details = {"n": X.shape[0], "m": Y.shape[0], "train_fraction": train_fraction,
               "n_train": len(itr), "m_train": len(jtr), "n_test": len(ite),
               "m_test": len(jte), "device": str(dev), "num_threads": n_threads,
               **{k: opts[k] for k in ("epochs", "learning_rate", "batch_size")},
               "architecture": _architecture(X.shape[1], opts, statistic)}
    with cpu_threads(n_threads, dev):
        t0 = time.perf_counter()
        if statistic == "mmd_deep":
            model, info = train_deep_kernel(X[itr], Y[jtr], rng=rng, device=dev, **opts)
        else:
            score = opts.pop("score", "logit")
            model, info = train_classifier(X[itr], Y[jtr], rng=rng, device=dev, **opts)
        details["seconds_training"] = time.perf_counter() - t0
        details.update(info)
        t1 = time.perf_counter()
        if statistic == "mmd_deep":
            stat, null, tol, extra = deep_kernel_null(model, X[ite], Y[jte], n_permutations,
                                                      rng, progress=progress)
        else:
            kind = "sign" if statistic == "c2st_sign" else score
            stat, null, tol, extra = classifier_null(model, X[ite], Y[jte], n_permutations,
                                                     rng, kind=kind)
            if statistic == "c2st_logit":
                details["score"] = score
        details["seconds_testing"] = time.perf_counter() - t1
    details.update(extra)
    label = {k: details[k] for k in ("epochs", "learning_rate", "train_fraction")}
    if statistic == "c2st_logit":
        label["score"] = details["score"]
    name = f"{statistic}({', '.join(f'{k}={v!r}' for k, v in label.items())})"
    return {"statistic": float(stat), "null": null, "tolerance": float(tol), "name": name,
            "details": details}


# ----------------------------------------------------------------------------------------
# validation and the split
# ----------------------------------------------------------------------------------------

def _check_options(statistic, X, Y, options):
    known = OPTIONS[statistic]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(map(repr, unknown))} for statistic="
                        f"{statistic!r}; valid options: {', '.join(sorted(known))}")
    o = {**known, **options}
    o["train_fraction"] = check_real(o["train_fraction"], "train_fraction", low=0, high=1)
    o["epochs"] = check_positive_int(o["epochs"], "epochs")
    o["learning_rate"] = check_real(o["learning_rate"], "learning_rate", low=0)
    if o["batch_size"] is not None or statistic != "mmd_deep":
        # MMD-D's U-statistics need two rows of each sample per batch
        o["batch_size"] = check_positive_int(o["batch_size"], "batch_size",
                                             minimum=2 if statistic == "mmd_deep" else 1)
    for key in ("width", "n_features"):
        o[key] = check_positive_int(o[key], key)
    o["depth"] = check_positive_int(o["depth"], "depth", minimum=0)
    if statistic == "mmd_deep":
        o["reg"] = check_real(o["reg"], "reg", low=0, low_open=False)
        o["epsilon_init"] = check_real(o["epsilon_init"], "epsilon_init", low=0, high=1)
        o["bandwidths"] = _check_bandwidths(o["bandwidths"])
    if statistic == "c2st_logit":
        check_choice(o["score"], "score", _SCORES)
    return o


def _check_bandwidths(bw):
    if isinstance(bw, str):
        return check_choice(bw, "bandwidths", ("median",))
    try:
        pair = tuple(bw)
    except TypeError:
        pair = ()
    if len(pair) != 2:
        raise ValueError(f"bandwidths must be 'median' or a pair (sigma_q, sigma_phi) of "
                         f"positive numbers; got {_describe(bw)}")
    return tuple(check_real(v, f"bandwidths[{i}]", low=0) for i, v in enumerate(pair))


def _n_train(n, fraction) -> int:
    """Training rows of a sample of n: floor(fraction * n)."""
    return int(math.floor(fraction * n + 1e-9))


def _split(n, fraction, rng):
    """Training and test rows: a random permutation, its first floor(fraction * n) rows."""
    perm = rng.permutation(n)
    k = _n_train(n, fraction)
    return np.sort(perm[:k]), np.sort(perm[k:])


def _check_parts(X, Y, fraction, ntr, nte, mtr, mte):
    if min(ntr, nte, mtr, mte) < 2:
        raise ValueError(
            f"train_fraction={fraction!r} splits X of shape {X.shape} into {ntr} training "
            f"and {nte} test rows and Y of shape {Y.shape} into {mtr} and {mte}; each part "
            "needs at least 2 rows of each sample (more data, or a train_fraction nearer "
            "0.5)")


def _architecture(d, o, statistic):
    arch = {"input": d, "width": o["width"], "depth": o["depth"],
            "n_features": o["n_features"], "activation": "softplus"}
    if statistic != "mmd_deep":
        arch["head"] = "linear to 2 logits (X: class 0)"
    return arch


# ----------------------------------------------------------------------------------------
# MMD-D
# ----------------------------------------------------------------------------------------

def _sqdist(A, B):
    """Squared Euclidean distances, clipped at 0 (the authors' ``Pdist2``)."""
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return d.clamp_min(0.0)


def _median_sq(Z, cap=1000):
    """Median squared distance between distinct rows of Z (an even stride of <= cap)."""
    Z = Z[:: max(1, math.ceil(Z.shape[0] / cap))]
    D = _sqdist(Z, Z)
    iu = torch.triu_indices(Z.shape[0], Z.shape[0], offset=1, device=Z.device)
    med = float(D[iu[0], iu[1]].median())
    if not med > 0.0:
        med = float(D.max()) / 2
    return med


class DeepKernel(torch.nn.Module):
    r"""The kernel :math:`[(1-\epsilon)\kappa(\phi(x), \phi(y)) + \epsilon] q(x, y)`.

    Parameters ``logit_epsilon`` (:math:`\epsilon` = sigmoid), ``sigma_q`` and
    ``sigma_phi`` (lengths; their squares divide the squared distances) and the network
    ``phi``.
    """

    def __init__(self, phi, sigma_q, sigma_phi, epsilon, device):
        super().__init__()
        kw = {"device": device, "dtype": torch.float32}
        self.phi = phi
        self.sigma_q = torch.nn.Parameter(torch.tensor(float(sigma_q), **kw))
        self.sigma_phi = torch.nn.Parameter(torch.tensor(float(sigma_phi), **kw))
        logit = math.log(epsilon) - math.log1p(-epsilon)
        self.logit_epsilon = torch.nn.Parameter(torch.tensor(logit, **kw))

    def epsilon(self):
        return torch.sigmoid(self.logit_epsilon)

    def gram(self, Fa, Fb, Za, Zb):
        """Kernel matrix from features ``Fa, Fb`` and inputs ``Za, Zb`` (one dtype)."""
        eps = self.epsilon().to(Fa.dtype)
        s_phi2 = self.sigma_phi.to(Fa.dtype) ** 2
        s_q2 = self.sigma_q.to(Fa.dtype) ** 2
        return (((1 - eps) * torch.exp(-_sqdist(Fa, Fb) / s_phi2) + eps)
                * torch.exp(-_sqdist(Za, Zb) / s_q2))

    def parameters_dict(self) -> dict:
        with torch.no_grad():
            return {"epsilon": float(self.epsilon()), "sigma_q": abs(float(self.sigma_q)),
                    "sigma_phi": abs(float(self.sigma_phi))}


def mmd_objective(K, n, m, reg):
    r"""``(J, MMD^2_u, sigma^2_H1)`` of a pooled kernel matrix ``K`` (X first, n rows).

    :math:`J = \mathrm{MMD}^2_u / \sqrt{\hat\sigma^2_{H_1} + \lambda}`: the authors'
    one-sample estimators when ``n == m``, the two-sample ones otherwise (module docstring).
    """
    Kxx, Kyy, Kxy = K[:n, :n], K[n:, n:], K[:n, n:]
    if n == m:
        H = Kxx + Kyy - Kxy - Kxy.T
        mmd2 = (H.sum() - H.diagonal().sum()) / (n * (n - 1))
        rows = H.sum(1) / n
        var = 4.0 * ((rows * rows).mean() - (H.sum() / n ** 2) ** 2)
    else:
        sx = (Kxx.sum(1) - Kxx.diagonal()) / (n - 1)
        sy = (Kyy.sum(1) - Kyy.diagonal()) / (m - 1)
        a = sx - Kxy.mean(1)
        b = sy - Kxy.mean(0)
        mmd2 = sx.mean() + sy.mean() - 2.0 * Kxy.mean()
        var = 4.0 * (a.var(unbiased=False) + (n / m) * b.var(unbiased=False))
    return mmd2 / torch.sqrt(var + reg), mmd2, var


def train_deep_kernel(X, Y, *, rng, device, epochs, learning_rate, batch_size, width, depth,
                      n_features, reg, epsilon_init, bandwidths):
    """Train the deep kernel on ``X``, ``Y`` by maximising :func:`mmd_objective` with Adam.

    Returns the :class:`DeepKernel` (evaluation mode) and a dict of details.
    """
    n, m = X.shape[0], Y.shape[0]
    phi = MLP(X.shape[1], n_features, width=width, depth=depth, activation="softplus",
              rng=rng, device=device, dtype="float32")
    gen = torch_generator(rng, device)
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    Yt = torch.as_tensor(Y, dtype=torch.float32, device=device)
    Z = torch.cat([Xt, Yt])
    if bandwidths == "median":
        with torch.no_grad():
            sq, sp = math.sqrt(_median_sq(Z)), math.sqrt(_median_sq(phi(Z)))
    else:
        sq, sp = bandwidths
    kernel = DeepKernel(phi, sq, sp, epsilon_init, device)
    opt = torch.optim.Adam(kernel.parameters(), lr=learning_rate)
    full = batch_size is None or batch_size >= max(n, m)
    steps_per_epoch = 1 if full else math.ceil(max(n, m) / batch_size)
    history = np.empty(epochs)
    for ep in range(epochs):
        for _ in range(steps_per_epoch):
            if full:
                Zb, nb, mb = Z, n, m
            else:
                ix = torch.randperm(n, generator=gen, device=device)[:batch_size]
                iy = torch.randperm(m, generator=gen, device=device)[:batch_size]
                Zb, nb, mb = torch.cat([Xt[ix], Yt[iy]]), len(ix), len(iy)
            K = kernel.gram(kernel.phi(Zb), kernel.phi(Zb), Zb, Zb)
            J = mmd_objective(K, nb, mb, reg)[0]
            if not torch.isfinite(J):
                raise FloatingPointError(
                    f"statistic='mmd_deep': the training objective became {float(J)} at "
                    f"epoch {ep} (learning_rate={learning_rate!r}); lower the learning rate "
                    "or rescale X and Y")
            opt.zero_grad()
            (-J).backward()
            opt.step()
        history[ep] = float(J.detach())
    kernel.eval()
    with torch.no_grad():
        J, mmd2, var = mmd_objective(kernel.gram(kernel.phi(Z), kernel.phi(Z), Z, Z), n, m,
                                     reg)
    info = {"reg": reg, "epsilon_init": epsilon_init, "bandwidths_init": (sq, sp),
            "steps": epochs * steps_per_epoch, "objective": "MMD^2_u / sqrt(var_H1 + reg)",
            "objective_final": float(J), "objective_first_epoch": float(history[0]),
            "mmd2_train": float(mmd2), "var_h1_train": float(var),
            "kernel_parameters": kernel.parameters_dict()}
    return kernel, info


def _features(model, A, device):
    with torch.no_grad():
        F = model.phi(torch.as_tensor(A, dtype=torch.float32, device=device))
    return to_numpy(F)


def deep_kernel_null(kernel, X, Y, B, rng, *, progress=False):
    """Unbiased MMD² of the trained ``kernel`` on ``X``, ``Y`` and B permuted values.

    The kernel is evaluated in float64 (numpy) from the float32 features.  Returns
    ``(statistic, null, tolerance, details)``.
    """
    device = next(kernel.parameters()).device
    Z = np.concatenate([X, Y])
    F = _features(kernel, Z, device)
    d = Z.shape[1]
    par = kernel.parameters_dict()
    eps, s_q2, s_phi2 = par["epsilon"], par["sigma_q"] ** 2, par["sigma_phi"] ** 2

    def fn(A, C):
        kq = np.exp(-cdist(A[:, :d], C[:, :d], "sqeuclidean") / s_q2)
        kp = np.exp(-cdist(A[:, d:], C[:, d:], "sqeuclidean") / s_phi2)
        return ((1.0 - eps) * kp + eps) * kq

    src = _perm.Pooled(fn, np.concatenate([Z, F], axis=1), diagonal=0.0)
    st, scale, info = _perm.quadratic_null([src], X.shape[0], Y.shape[0], B, rng,
                                           estimator="unbiased", progress=progress)
    return st[0, 0], st[0, 1:], _perm.TIE_RTOL * scale[0], {"estimator": "unbiased",
                                                            "plan": info}


# ----------------------------------------------------------------------------------------
# C2ST-S and C2ST-L
# ----------------------------------------------------------------------------------------

class Classifier(torch.nn.Module):
    """The authors' ``ModelLatentF`` followed by ``features @ w + b`` (2 logits)."""

    def __init__(self, phi, n_features, generator, device):
        super().__init__()
        kw = {"device": device, "dtype": torch.float32}
        self.phi = phi
        # C2ST_NN_fit: w_C2ST = torch.randn([x_out, 2]), b_C2ST = torch.randn([1, 2])
        self.w = torch.nn.Parameter(torch.randn(n_features, 2, generator=generator, **kw))
        self.b = torch.nn.Parameter(torch.randn(1, 2, generator=generator, **kw))

    def forward(self, z):
        return self.phi(z) @ self.w + self.b

    def log_odds(self, z):
        """:math:`f(z) = \\log \\hat p(X|z) - \\log \\hat p(Y|z)` (logit 0 minus logit 1)."""
        out = self(z)
        return out[:, 0] - out[:, 1]


def train_classifier(X, Y, *, rng, device, epochs, learning_rate, batch_size, width, depth,
                     n_features):
    """Train the C2ST classifier (cross-entropy, Adam, shuffled mini-batches).

    Returns the :class:`Classifier` and a dict of details (final training loss and
    accuracy).
    """
    n, m = X.shape[0], Y.shape[0]
    phi = MLP(X.shape[1], n_features, width=width, depth=depth, activation="softplus",
              rng=rng, device=device, dtype="float32")
    gen = torch_generator(rng, device)
    model = Classifier(phi, n_features, gen, device)
    Z = torch.as_tensor(np.concatenate([X, Y]), dtype=torch.float32, device=device)
    lab = torch.cat([torch.zeros(n, dtype=torch.long, device=device),
                     torch.ones(m, dtype=torch.long, device=device)])
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    N = n + m
    bs = min(batch_size, N)
    for _ in range(epochs):
        order = torch.randperm(N, generator=gen, device=device)
        for s in range(0, N, bs):
            idx = order[s:s + bs]
            loss = loss_fn(model(Z[idx]), lab[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        out = model(Z)
        loss = float(loss_fn(out, lab))
        acc = float(((out[:, 0] - out[:, 1] <= 0).long() == lab).float().mean())
    if not math.isfinite(loss):
        raise FloatingPointError(f"the classifier's training loss is {loss} "
                                 f"(learning_rate={learning_rate!r}); lower the learning "
                                 "rate or rescale X and Y")
    info = {"steps": epochs * math.ceil(N / bs), "objective": "cross-entropy",
            "loss_final": loss, "accuracy_train": acc}
    return model, info


def classifier_null(model, X, Y, B, rng, *, kind):
    """C2ST statistic on ``X``, ``Y`` and B permuted values, the outputs held fixed.

    ``kind``: ``"sign"`` (accuracy), ``"logit"`` or ``"probability"`` (difference of the
    mean scores of X and Y).  Returns ``(statistic, null, tolerance, details)``.
    """
    device = next(model.parameters()).device
    n, m = X.shape[0], Y.shape[0]
    N = n + m
    with torch.no_grad():
        f = to_numpy(model.log_odds(torch.as_tensor(np.concatenate([X, Y]),
                                                    dtype=torch.float32, device=device)))
    if kind == "sign":
        s = (f > 0).astype(np.float64)  # predicted X
    elif kind == "logit":
        s = f
    else:
        s = 1.0 / (1.0 + np.exp(-f))
    null = np.empty(B)
    size = max(1, 2 ** 24 // N)
    for j0 in range(0, B, size):
        masks = _perm.draw_assignments(rng, n, m, min(size, B - j0))
        null[j0:j0 + masks.shape[0]] = masks @ s
    total = s.sum()
    obs = s[:n].sum()
    if kind == "sign":
        def stat(ax):
            return (2.0 * ax + (N - n) - total) / N
        tol = 0.5 / N
        extra = {"n_correct_test": int(round(stat(obs) * N))}
    else:
        def stat(ax):
            return ax / n - (total - ax) / m
        tol = _perm.TIE_RTOL * max(abs(obs / n), abs((total - obs) / m), 1e-300)
        extra = {"mean_score_x": float(obs / n), "mean_score_y": float((total - obs) / m)}
    return stat(obs), stat(null), tol, extra
