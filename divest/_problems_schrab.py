r"""The synthetic two-sample problems of MMDAgg and MMD-FUSE (Schrab et al.; Biggs et al.).

Two samplers, vectorised re-implementations of the problems of the MMD-FUSE paper's power
experiments (Biggs, Schrab & Gretton 2023, Section 5 and the reference code
``sampler_mixture.py`` / ``sampler_perturbations.py``), used by
``benchmarks/power_curves.py`` to reproduce its power curves:

* :func:`four_gaussians` -- an equal-weight mixture of four Gaussians at
  :math:`(\pm\mu, \pm\mu)` where, in Y only, the component at :math:`(-\mu, -\mu)` has
  standard deviation :math:`\sigma` instead of 1 (:math:`\sigma = 1` is the null);
* :func:`perturbed_uniform` -- the uniform density on :math:`[0, 1]^d` plus :math:`p^d`
  smooth bumps with random signs (Schrab et al. 2023, Section 5.4), against the uniform;
  :func:`perturbed_uniform_density` is its density and :func:`perturbation_signs` draws the
  signs :math:`\theta`.

Randomness comes from ``rng`` (int, SeedSequence or Generator, normalised by
``np.random.default_rng``); the same ``rng`` gives the same draws.  The signs
:math:`\theta` are part of each draw (the reference seeds them per repetition), so each
call with a fresh ``rng`` tests a different perturbed density.

References
----------
Biggs, F., Schrab, A. & Gretton, A. (2023). MMD-FUSE: learning and combining kernels for
two-sample testing without data splitting. NeurIPS 36.
Schrab, A., Kim, I., Albert, M., Laurent, B., Guedj, B. & Gretton, A. (2023). MMD
aggregated two-sample test. JMLR 24(194), 1-81.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import _describe, check_positive_int, check_real, check_rng

__all__ = ["four_gaussians", "perturbation_signs", "perturbed_uniform",
           "perturbed_uniform_density"]


# ---------------------------------------------------------------------------------------
# mixture of four Gaussians

def four_gaussians(n, m, sigma, rng=None, d=2, mu=20.0):
    r"""Samples of two mixtures of four Gaussians differing in one component's spread.

    .. math::

        P = \tfrac14 \sum_{k=1}^{4} N(c_k, I_d), \qquad
        Q = \tfrac14 \sum_{k=1}^{3} N(c_k, I_d) + \tfrac14 N(c_4, \sigma^2 I_d),

    with centres :math:`c_1 = (\mu, \mu)`, :math:`c_2 = (-\mu, \mu)`,
    :math:`c_3 = (\mu, -\mu)`, :math:`c_4 = (-\mu, -\mu)` in the first two coordinates and
    0 in the others.  Each point picks its component uniformly at random (the component
    counts are multinomial, as in the reference sampler); :math:`\sigma = 1` is the null
    :math:`P = Q`.  This is the "mixture" problem of Biggs et al. (2023, Section 5), with
    d = 2, :math:`\mu = 20` and :math:`\sigma \in [0.5, 2]`.

    Parameters
    ----------
    n, m : int
        Sizes of X (drawn from P) and Y (drawn from Q), at least 1.
    sigma : float
        Standard deviation of the :math:`(-\mu, -\mu)` component of Q, > 0 (all its d
        coordinates).
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Source of randomness.
    d : int, default 2
        Dimension, at least 2.
    mu : float, default 20.0
        Half the distance between neighbouring centres.

    Returns
    -------
    X : ndarray, shape (n, d), float64
    Y : ndarray, shape (m, d), float64

    Raises
    ------
    ValueError
        ``n`` or ``m`` < 1, ``sigma`` <= 0 or not finite, ``d`` < 2, ``mu`` not finite.
    TypeError
        A parameter of the wrong type, or an invalid ``rng``.
    """
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    sigma = check_real(sigma, "sigma", low=0.0)
    d = check_positive_int(d, "d", minimum=2)
    mu = check_real(mu, "mu")
    rng = check_rng(rng)
    centres = np.zeros((4, d))
    centres[:, :2] = [[mu, mu], [-mu, mu], [mu, -mu], [-mu, -mu]]
    X = _mixture_draw(rng, n, centres, np.ones(4))
    Y = _mixture_draw(rng, m, centres, np.array([1.0, 1.0, 1.0, sigma]))
    return X, Y


def _mixture_draw(rng, size, centres, stds):
    comp = rng.integers(len(centres), size=size)
    noise = rng.standard_normal((size, centres.shape[1]))
    return centres[comp] + stds[comp, None] * noise


# ---------------------------------------------------------------------------------------
# perturbed uniform

def _bump(t):
    r"""Schrab et al.'s :math:`G(t)`: a positive then a negative smooth bump on (-1, 0).

    .. math::

        G(t) = \begin{cases}
          \exp\!\left(-\frac{1}{1 - (4t + 3)^2}\right) & -1 < t < -\tfrac12, \\
          -\exp\!\left(-\frac{1}{1 - (4t + 1)^2}\right) & -\tfrac12 < t < 0, \\
          0 & \text{otherwise},
        \end{cases}

    so :math:`\int G = 0`, :math:`\max |G| = e^{-1}` (at :math:`t = -3/4` and
    :math:`-1/4`) and G is infinitely differentiable.
    """
    t = np.asarray(t, dtype=np.float64)
    a = np.where(t < -0.5, 4.0 * t + 3.0, 4.0 * t + 1.0)
    inside = (t > -1.0) & (t < 0.0) & (t != -0.5)
    denom = np.where(inside, 1.0 - a * a, 1.0)
    val = np.exp(-1.0 / denom)
    return np.where(inside, np.where(t < -0.5, val, -val), 0.0)


def _check_perturbation_parameters(d, scale, perturbations, s):
    d = check_positive_int(d, "d")
    scale = check_real(scale, "scale", low=0.0, high=1.0, low_open=False, high_open=False)
    p = check_positive_int(perturbations, "perturbations")
    s = check_real(s, "s", low=0.0)
    return d, scale, p, s


def _check_theta(theta, d, p):
    arr = np.asarray(theta)
    if arr.size != p ** d or arr.ndim not in (1, d):
        raise ValueError(f"theta must hold p**d = {p ** d} signs (shape ({p ** d},) or "
                         f"{(p,) * d}) for perturbations={p}, d={d}; got {_describe(theta)}")
    flat = arr.reshape(-1).astype(np.float64)
    if not np.all(np.abs(flat) == 1.0):
        bad = flat[np.abs(flat) != 1.0][0]
        raise ValueError(f"theta must contain only -1 and +1; got a value {bad!r}")
    return flat


def perturbation_signs(d, rng=None, perturbations=2):
    r"""Random signs :math:`\theta \in \{-1, 1\}^{p^d}` of the perturbed uniform density.

    Independent fair signs, one per cell :math:`j \in \{1, \dots, p\}^d`, flattened in
    lexicographic order of j (last coordinate fastest, as ``itertools.product``).

    Parameters
    ----------
    d : int
        Dimension, at least 1.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
    perturbations : int, default 2
        Number p of bumps per coordinate, at least 1.

    Returns
    -------
    ndarray, shape (p**d,), float64 with values -1.0 and 1.0
    """
    d = check_positive_int(d, "d")
    p = check_positive_int(perturbations, "perturbations")
    rng = check_rng(rng)
    return np.where(rng.integers(2, size=p ** d) == 1, 1.0, -1.0)


def perturbed_uniform_density(x, theta, scale, perturbations=2, s=1):
    r"""Density of Schrab et al.'s perturbed uniform distribution on :math:`[0, 1]^d`.

    .. math::

        f_\theta(x) = \mathbb 1_{[0,1]^d}(x) \Big(1 + c_d\, p^{-s}
            \sum_{j \in \{1..p\}^d} \theta_j \prod_{r=1}^d G(p x_r - j_r)\Big),
        \qquad c_d = e^d p^s\, \mathrm{scale},

    with the bump G of Schrab et al. (2023, Section 5.4; see ``_bump``): on the cell
    :math:`\prod_r ((j_r - 1)/p, j_r/p)` the density is 1 plus :math:`\theta_j` times a
    product of d one-dimensional bumps, each a positive bump on the first half of the
    cell's side and a negative one on the second.  The multiplier :math:`c_d` is the one
    of the MMD-FUSE experiments ("this makes the perturbation stretch all the way to
    zero"): the :math:`p^s` cancels, so **s has no effect** on the density with this
    multiplier, and the perturbation reaches :math:`\pm\,\mathrm{scale}` (since
    :math:`\max|G| = e^{-1}`), so :math:`1 - \mathrm{scale} \le f_\theta \le
    1 + \mathrm{scale}` on :math:`[0, 1]^d`.  It integrates to 1 for every
    :math:`\theta` because :math:`\int G = 0`.

    Parameters
    ----------
    x : array_like, shape (k, d), or (k,) for d = 1
        Points; d is the number of columns.
    theta : array_like of -1 and +1, shape (p**d,) or (p,) * d
        The signs (:func:`perturbation_signs`), flattened with the last coordinate of the
        cell index fastest.
    scale : float in [0, 1]
        Amplitude of the perturbation (0: the uniform density).
    perturbations : int, default 2
        p.
    s : float, default 1
        Sobolev smoothness parameter of the reference (> 0); cancels, see above.

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    ValueError
        ``scale`` outside [0, 1], ``perturbations`` < 1, ``s`` <= 0, ``x`` not 1-D or 2-D,
        ``theta`` without p**d entries of ±1.
    """
    pts = np.asarray(x, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] < 1:
        raise ValueError(f"x must have shape (k, d) or (k,); got {_describe(x)}")
    d, scale, p, s = _check_perturbation_parameters(pts.shape[1], scale, perturbations, s)
    return _density(pts, _check_theta(theta, d, p), scale, p)


def _density(pts, flat_theta, scale, p):
    """The density at ``pts`` (k, d), vectorised: each point lies in at most one cell."""
    d = pts.shape[1]
    inside = np.all((pts >= 0.0) & (pts <= 1.0), axis=1)
    cell = np.clip(np.floor(pts * p), 0, p - 1).astype(np.intp)   # 0-based j - 1
    local = pts * p - cell - 1.0                                  # p x_r - j_r in [-1, 0]
    bumps = np.prod(_bump(local), axis=1)
    idx = np.ravel_multi_index(tuple(cell.T), (p,) * d)
    pert = math.e ** d * scale * flat_theta[idx] * bumps          # c_d p^-s = e^d scale
    return np.where(inside, 1.0 + pert, 0.0)


def perturbed_uniform(n, m, d, scale, rng=None, perturbations=2, s=1, *, theta=None,
                      return_theta=False):
    r"""Samples of Schrab et al.'s perturbed uniform (X) and of the uniform (Y) on [0, 1]^d.

    X has the density :math:`f_\theta` of :func:`perturbed_uniform_density` with signs
    :math:`\theta` drawn from ``rng`` first (:func:`perturbation_signs`; as in the
    reference, where each repetition seeds its own :math:`\theta`), Y is uniform on
    :math:`[0, 1]^d`; ``scale = 0`` is the null.  X is drawn by rejection from the uniform
    proposal with envelope :math:`1 + \mathrm{scale} \ge \max f_\theta` (acceptance rate
    :math:`1/(1 + \mathrm{scale}) \ge 1/2`), in vectorised batches: 500 points take about
    a millisecond.  This is the "perturbed uniform" problem of Biggs et al. (2023,
    Section 5) with p = 2, s = 1 and d = 1 (scale up to 0.5) or d = 2 (scale up to 1).

    Parameters
    ----------
    n, m : int
        Sizes of X (perturbed) and Y (uniform), at least 1.
    d : int
        Dimension, at least 1.
    scale : float in [0, 1]
        Amplitude of the perturbation.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Source of :math:`\theta` (when not given) and of the draws.
    perturbations : int, default 2
        Number p of bumps per coordinate, at least 1.
    s : float, default 1
        Smoothness parameter of the reference (> 0; no effect, see
        :func:`perturbed_uniform_density`).
    theta : array_like of -1 and +1, shape (p**d,), optional
        Fixed signs instead of random ones (then ``rng`` draws only the points).
    return_theta : bool, default False
        Also return the signs used.

    Returns
    -------
    X : ndarray, shape (n, d), float64
    Y : ndarray, shape (m, d), float64
    theta : ndarray, shape (p**d,)
        Only with ``return_theta=True``.

    Raises
    ------
    ValueError
        ``n``, ``m`` or ``d`` < 1, ``scale`` outside [0, 1], ``perturbations`` < 1,
        ``s`` <= 0, ``theta`` of the wrong size or not all ±1.
    """
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    d, scale, p, s = _check_perturbation_parameters(d, scale, perturbations, s)
    rng = check_rng(rng)
    flat_theta = perturbation_signs(d, rng, p) if theta is None else _check_theta(theta, d, p)
    X = _rejection(rng, n, d, flat_theta, scale, p)
    Y = rng.random((m, d))
    return (X, Y, flat_theta) if return_theta else (X, Y)


def _rejection(rng, n, d, flat_theta, scale, p):
    envelope = 1.0 + scale
    chunks, have = [], 0
    while have < n:
        need = n - have
        k = int(need * envelope * 1.1) + 16
        prop = rng.random((k, d))
        keep = rng.random(k) * envelope <= _density(prop, flat_theta, scale, p)
        acc = prop[keep][:need]
        chunks.append(acc)
        have += len(acc)
    return np.concatenate(chunks, axis=0)
