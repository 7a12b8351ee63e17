"""divest.distributions: Mixture and the toy distributions."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from divest.distributions import GaussianGrid, GaussianRing, Mixture, ParallelLines, dimension


def test_mixture_density_cdf_ppf():
    m = Mixture([stats.norm(-2, 1), stats.norm(3, 0.5)], [0.3, 0.7])
    total, _ = integrate.quad(m.pdf, -np.inf, np.inf)
    assert total == pytest.approx(1.0, abs=1e-10)
    x = np.linspace(-6, 6, 13)
    assert np.allclose(m.pdf(x), 0.3 * stats.norm(-2, 1).pdf(x) + 0.7 * stats.norm(3, 0.5).pdf(x))
    u = np.array([1e-9, 0.01, 0.3, 0.5, 0.9, 1 - 1e-9])
    assert np.allclose(m.cdf(m.ppf(u)), u, atol=1e-12)
    assert m.mean() == pytest.approx(0.3 * -2 + 0.7 * 3)
    assert m.var() == pytest.approx(0.3 * 1 + 0.7 * 0.25 + 0.3 * 0.7 * 25)
    # log-density stays finite far in the tails (log-sum-exp)
    assert np.isfinite(m.logpdf(200.0)) and m.pdf(200.0) == 0.0


def test_mixture_sampling_moments_and_reproducibility():
    m = Mixture([stats.norm(-2, 1), stats.norm(3, 0.5)], [0.3, 0.7])
    x = m.rvs(size=100_000, random_state=0)
    assert x.shape == (100_000,)
    se = math.sqrt(m.var() / x.size)
    assert abs(x.mean() - m.mean()) < 5 * se
    assert np.array_equal(m.rvs(size=10, random_state=3), m.rvs(size=10, random_state=3))
    assert not np.array_equal(m.rvs(size=10, random_state=3), m.rvs(size=10, random_state=4))
    # component proportions: binomial test
    frac = np.mean(x > 0.5)
    assert abs(frac - 0.7) < 5 * math.sqrt(0.21 / x.size) + 0.003


def test_mixture_validation():
    with pytest.raises(ValueError, match="weights must sum to 1"):
        Mixture([stats.norm(), stats.norm(1)], [0.5, 0.6])
    with pytest.raises(ValueError, match="weights must be positive"):
        Mixture([stats.norm(), stats.norm(1)], [1.5, -0.5])
    with pytest.raises(ValueError, match=r"weights must have shape \(2,\)"):
        Mixture([stats.norm(), stats.norm(1)], [1.0])
    with pytest.raises(ValueError, match="one dimension"):
        Mixture([stats.norm(), stats.multivariate_normal(np.zeros(2))])
    with pytest.raises(ValueError, match="must not be empty"):
        Mixture([])
    with pytest.raises(ValueError, match="non-finite"):
        Mixture([stats.norm(), stats.norm(1)], [np.nan, 0.5])
    with pytest.raises(TypeError, match="logpdf"):
        Mixture([object()])
    m2 = Mixture([stats.multivariate_normal(np.zeros(2)), stats.multivariate_normal(np.ones(2))])
    with pytest.raises(ValueError, match="1-D"):
        m2.cdf(np.zeros(2))


def test_ring_and_grid():
    ring = GaussianRing(n_modes=8, radius=2.0, std=0.02)
    assert ring.dim == 2 and dimension(ring) == 2
    assert np.allclose(np.linalg.norm(ring.centers, axis=1), 2.0)
    x = ring.rvs(size=4000, random_state=0)
    d = np.min(np.linalg.norm(x[:, None, :] - ring.centers[None], axis=2), axis=1)
    assert np.all(d < 0.02 * 6)  # every sample near a mode
    assert np.allclose(ring.mean(), 0.0, atol=1e-12)
    grid = GaussianGrid()
    assert grid.centers.shape == (25, 2)
    assert set(np.unique(grid.centers)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    y = grid.rvs(size=10_000, random_state=1)
    counts = np.bincount(np.argmin(np.linalg.norm(y[:, None] - grid.centers[None], axis=2), 1),
                         minlength=25)
    assert counts.min() > 0
    with pytest.raises(ValueError, match="std"):
        GaussianRing(std=0.0)


def test_parallel_lines():
    L = ParallelLines(0.7)
    x = L.rvs(size=500, random_state=0)
    assert x.shape == (500, 2) and np.all(x[:, 0] == 0.7)
    assert np.all((x[:, 1] >= 0) & (x[:, 1] <= 1))
    assert dimension(L) == 2
    with pytest.raises(ValueError, match="theta must be finite"):
        ParallelLines(np.inf)
