"""Distributions used by divest: mixtures and the toy problems of the GAN literature.

They follow the interface of frozen ``scipy.stats`` distributions (``pdf``,
``logpdf``, ``rvs(size, random_state)``, ``mean``...) so that divest's exact and
sample-based methods treat them like any scipy distribution.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from ._validation import check_finite_array, check_positive_int, check_real, check_rng

__all__ = ["GaussianGrid", "GaussianRing", "Mixture", "ParallelLines", "dimension"]


def dimension(dist) -> int:
    """Dimension of a divest or frozen scipy.stats distribution (1 for univariate).

    Examples
    --------
    >>> from scipy import stats
    >>> dimension(stats.norm()), dimension(stats.multivariate_normal(np.zeros(3)))
    (1, 3)
    """
    if hasattr(dist, "dim") and not callable(dist.dim):
        return int(dist.dim)
    if hasattr(dist, "cov_object") or hasattr(dist, "cov"):
        mean = getattr(dist, "mean", None)
        if mean is not None and not callable(mean):
            return int(np.size(mean))
    return 1


def _value(obj, attr):
    """``obj.attr`` or ``obj.attr()`` (scipy's multivariate frozen objects store attributes)."""
    v = getattr(obj, attr)
    return v() if callable(v) else v


def _as_samples(x, d):
    """Samples of shape (n,) for d = 1 or (n, d)."""
    x = np.asarray(x, dtype=float)
    if d == 1:
        return x.reshape(-1) if x.ndim <= 1 or x.shape[-1] != 1 else x[..., 0]
    return x.reshape(-1, d)


class Mixture:
    r"""Finite mixture :math:`\sum_k w_k P_k` of frozen scipy.stats (or divest) distributions.

    Parameters
    ----------
    components : sequence of distributions
        Frozen continuous distributions of one common dimension, each with
        ``logpdf`` and ``rvs``.
    weights : array_like, optional
        Mixture weights, positive and summing to one; uniform by default.

    Notes
    -----
    ``logpdf`` is the log-sum-exp of the weighted component log-densities, so the
    density is accurate far in the tails.  ``cdf`` and ``ppf`` exist in 1-D.

    Examples
    --------
    >>> from scipy import stats
    >>> from divest.distributions import Mixture
    >>> m = Mixture([stats.norm(-2, 1), stats.norm(2, 1)], [0.5, 0.5])
    >>> round(float(m.pdf(0.0)), 6), m.mean(), round(m.var(), 6)
    (0.053991, 0.0, 5.0)
    >>> m.rvs(size=3, random_state=0).shape
    (3,)
    """

    def __init__(self, components, weights=None):
        components = list(components)
        if not components:
            raise ValueError("components must not be empty")
        for i, c in enumerate(components):
            if not (hasattr(c, "logpdf") and hasattr(c, "rvs")):
                raise TypeError(f"components[{i}] must have logpdf and rvs; got {type(c).__name__}")
        dims = {dimension(c) for c in components}
        if len(dims) != 1:
            raise ValueError(f"components must share one dimension; got dimensions {sorted(dims)}")
        if weights is None:
            weights = np.full(len(components), 1.0 / len(components))
        w = check_finite_array(weights, "weights", ndim=(1,))
        if w.shape != (len(components),):
            raise ValueError(f"weights must have shape ({len(components)},) to match components; "
                             f"got shape {w.shape}")
        if np.any(w <= 0):
            raise ValueError(f"weights must be positive; got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1; got sum {w.sum()!r}")
        self.components = tuple(components)
        self.weights = w
        self.dim = dims.pop()

    def __repr__(self) -> str:
        return f"Mixture({len(self.components)} components, dim={self.dim})"

    def logpdf(self, x):
        """Log-density, by log-sum-exp over components."""
        x = _as_samples(x, self.dim) if self.dim > 1 else np.asarray(x, dtype=float)
        logs = np.stack([np.asarray(c.logpdf(x), dtype=float) for c in self.components], axis=0)
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights).reshape((-1,) + (1,) * (logs.ndim - 1))
        return special.logsumexp(logs + logw, axis=0)

    def pdf(self, x):
        """Density."""
        return np.exp(self.logpdf(x))

    def _need_1d(self, what):
        if self.dim != 1:
            raise ValueError(f"{what} is defined for 1-D mixtures only; this one has dim={self.dim}")

    def cdf(self, x):
        """Cumulative distribution function (1-D)."""
        self._need_1d("cdf")
        x = np.asarray(x, dtype=float)
        return sum(w * c.cdf(x) for w, c in zip(self.weights, self.components))

    def sf(self, x):
        """Survival function (1-D), accurate in the right tail."""
        self._need_1d("sf")
        x = np.asarray(x, dtype=float)
        return sum(w * c.sf(x) for w, c in zip(self.weights, self.components))

    def ppf(self, u):
        """Quantile function (1-D), by bracketed root finding on the cdf/sf."""
        self._need_1d("ppf")
        u = np.asarray(u, dtype=float)
        out = np.empty(u.shape)
        for idx, ui in np.ndenumerate(u):
            qs = [c.ppf(ui) for c in self.components]
            lo, hi = min(qs), max(qs)
            if not 0 < ui < 1:
                out[idx] = lo if ui <= 0 else hi
                continue
            if lo == hi:
                out[idx] = lo
                continue
            g = (lambda t: self.cdf(t) - ui) if ui <= 0.5 else (lambda t: (1 - ui) - self.sf(t))
            out[idx] = optimize.brentq(g, lo, hi, xtol=1e-14 * max(1.0, abs(lo), abs(hi)))
        return out if out.ndim else float(out)

    def support(self):
        """Smallest interval containing every component's support (1-D)."""
        self._need_1d("support")
        sup = [c.support() for c in self.components]
        return min(s[0] for s in sup), max(s[1] for s in sup)

    def mean(self):
        """Mean (a vector in d > 1)."""
        ms = [np.asarray(_value(c, "mean"), dtype=float) for c in self.components]
        m = sum(w * mi for w, mi in zip(self.weights, ms))
        return float(m) if self.dim == 1 else m

    def var(self):
        """Variance (1-D); see :meth:`cov` in d > 1."""
        self._need_1d("var")
        return float(self.cov())

    def std(self):
        """Standard deviation (1-D)."""
        return math.sqrt(self.var())

    def cov(self):
        """Covariance matrix (law of total covariance)."""
        m = np.atleast_1d(np.asarray(self.mean(), dtype=float))
        total = np.zeros((self.dim, self.dim))
        for w, c in zip(self.weights, self.components):
            mc = np.atleast_1d(np.asarray(_value(c, "mean"), dtype=float))
            cc = _value(c, "cov") if hasattr(c, "cov") else c.var()
            total += w * (np.atleast_2d(cc) + np.outer(mc - m, mc - m))
        return float(total[0, 0]) if self.dim == 1 else total

    def rvs(self, size=1, random_state=None):
        """Draw ``size`` samples; ``random_state`` is an int, a Generator or None."""
        rng = check_rng(random_state)
        n = check_positive_int(size, "size", minimum=0) if np.ndim(size) == 0 else int(np.prod(size))
        counts = rng.multinomial(n, self.weights)
        labels = np.repeat(np.arange(len(self.components)), counts)
        shape = (n,) if self.dim == 1 else (n, self.dim)
        out = np.empty(shape)
        for k, c in enumerate(self.components):
            if counts[k]:
                out[labels == k] = np.asarray(c.rvs(size=counts[k], random_state=rng)).reshape(
                    (counts[k],) + shape[1:])
        out = out[rng.permutation(n)]
        if np.ndim(size) and self.dim == 1:
            out = out.reshape(size)
        return out


def _gaussian_mixture(centers, std):
    cov = std ** 2 * np.eye(centers.shape[1])
    return [stats.multivariate_normal(c, cov) for c in centers]


class GaussianRing(Mixture):
    """Equal-weight mixture of isotropic Gaussians on a circle (the "8 Gaussians" toy set).

    Parameters
    ----------
    n_modes : int
        Number of modes (default 8), at angles ``2 pi k / n_modes``.
    radius : float
        Radius of the circle (default 2).
    std : float
        Standard deviation of each mode (default 0.02).

    Examples
    --------
    >>> from divest.distributions import GaussianRing
    >>> ring = GaussianRing()
    >>> ring.centers.shape, ring.rvs(size=5, random_state=0).shape
    ((8, 2), (5, 2))
    """

    def __init__(self, n_modes=8, radius=2.0, std=0.02):
        n_modes = check_positive_int(n_modes, "n_modes")
        radius = check_real(radius, "radius", low=0.0)
        std = check_real(std, "std", low=0.0)
        ang = 2 * np.pi * np.arange(n_modes) / n_modes
        self.centers = radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        self.std = std
        super().__init__(_gaussian_mixture(self.centers, std))

    def __repr__(self) -> str:
        return f"GaussianRing(n_modes={len(self.centers)}, std={self.std:g})"


class GaussianGrid(Mixture):
    """Equal-weight mixture of isotropic Gaussians on a square grid (the "25 Gaussians" toy set).

    Parameters
    ----------
    n_per_side : int
        Modes per side (default 5: 25 modes at ``{-4, -2, 0, 2, 4}^2``).
    spacing : float
        Distance between neighbouring modes (default 2).
    std : float
        Standard deviation of each mode (default 0.05).

    Examples
    --------
    >>> from divest.distributions import GaussianGrid
    >>> GaussianGrid().centers.shape
    (25, 2)
    """

    def __init__(self, n_per_side=5, spacing=2.0, std=0.05):
        k = check_positive_int(n_per_side, "n_per_side")
        spacing = check_real(spacing, "spacing", low=0.0)
        std = check_real(std, "std", low=0.0)
        ticks = spacing * (np.arange(k) - (k - 1) / 2)
        gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
        self.centers = np.stack([gx.ravel(), gy.ravel()], axis=1)
        self.std = std
        super().__init__(_gaussian_mixture(self.centers, std))

    def __repr__(self) -> str:
        return f"GaussianGrid(n_modes={len(self.centers)}, std={self.std:g})"


class ParallelLines:
    r"""The degenerate 2-D distribution of :math:`(\theta, Z)`, :math:`Z \sim U[0, 1]`.

    Arjovsky et al.'s (2017) "parallel lines": for :math:`P_\theta` against
    :math:`P_0` with :math:`\theta \neq 0`, :math:`\mathrm{KL} = \infty`,
    :math:`\mathrm{JS} = \log 2`, :math:`\mathrm{TV} = 1` while
    :math:`W_p = |\theta|` varies smoothly.  It has no density with respect to
    Lebesgue measure on the plane, so only closed forms and sample methods apply.

    Parameters
    ----------
    theta : float
        Horizontal position of the line.

    Examples
    --------
    >>> import divest as dv
    >>> from divest.distributions import ParallelLines
    >>> dv.exact.closed_form(ParallelLines(0.5), ParallelLines(0.0), "js")
    0.6931...
    """

    dim = 2

    def __init__(self, theta=0.0):
        self.theta = check_real(theta, "theta")

    def __repr__(self) -> str:
        return f"ParallelLines(theta={self.theta:g})"

    def rvs(self, size=1, random_state=None):
        """Draw ``size`` points ``(theta, U)``."""
        rng = check_rng(random_state)
        n = check_positive_int(size, "size", minimum=0)
        return np.column_stack([np.full(n, self.theta), rng.uniform(size=n)])

    def mean(self):
        """Mean vector ``(theta, 1/2)``."""
        return np.array([self.theta, 0.5])
