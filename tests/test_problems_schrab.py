"""The MMD-FUSE / MMDAgg synthetic problems (divest._problems_schrab)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from divest._problems_schrab import (
    _bump,
    four_gaussians,
    perturbation_signs,
    perturbed_uniform,
    perturbed_uniform_density,
)

CENTRES = np.array([[20.0, 20.0], [-20.0, 20.0], [20.0, -20.0], [-20.0, -20.0]])
#: p-value below which a distributional check fails (fixed seeds: deterministic)
P_MIN = 1e-3


# ---------------------------------------------------------------------------------------
# an independent scalar transcription of the published formula (loops, no vectorisation)

def _G_scalar(t):
    if -1 < t < -0.5:
        return math.exp(-1 / (1 - (4 * t + 3) ** 2))
    if -0.5 < t < 0:
        return -math.exp(-1 / (1 - (4 * t + 1) ** 2))
    return 0.0


def _f_scalar(x, theta, scale, p=2, s=1):
    d = len(x)
    c = math.exp(d) * p ** s * scale
    total = 0.0
    for i, j in enumerate(itertools.product(range(1, p + 1), repeat=d)):
        total += theta[i] * math.prod(_G_scalar(x[r] * p - j[r]) for r in range(d))
    inside = all(0 <= v <= 1 for v in x)
    return (1.0 if inside else 0.0) + total * p ** (-s) * c


def _gauss_legendre_nodes(pieces, per_piece=40):
    """Nodes and weights on [0, 1] split at ``pieces`` equal sub-intervals."""
    t, w = np.polynomial.legendre.leggauss(per_piece)
    edges = np.linspace(0.0, 1.0, pieces + 1)
    nodes = np.concatenate([(a + b) / 2 + (b - a) / 2 * t for a, b in zip(edges, edges[1:])])
    weights = np.concatenate([(b - a) / 2 * w for a, b in zip(edges, edges[1:])])
    return nodes, weights


# ---------------------------------------------------------------------------------------
# the density

def test_bump_shape():
    t = np.array([-1.5, -1.0, -0.75, -0.5, -0.25, 0.0, 0.3])
    np.testing.assert_allclose(_bump(t), [0, 0, math.exp(-1), 0, -math.exp(-1), 0, 0])
    val, err = integrate.quad(lambda u: float(_bump(u)), -1, 0, points=[-0.5], epsabs=1e-13)
    assert abs(val) < 1e-10
    pos, _ = integrate.quad(lambda u: float(_bump(u)), -1, -0.5)
    assert pos > 0.05   # a real bump, not an identically zero G


@pytest.mark.parametrize("d", [1, 2, 3])
def test_density_matches_the_published_formula(d):
    rng = np.random.default_rng(d)
    theta = perturbation_signs(d, rng)
    x = np.concatenate([rng.uniform(-0.1, 1.1, size=(300, d)),
                        rng.integers(0, 9, size=(30, d)) / 8.0])   # cell edges, bump centres
    for scale in (0.3, 1.0):
        got = perturbed_uniform_density(x, theta, scale)
        want = [_f_scalar(row, theta, scale) for row in x]
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("d,scale", [(1, 0.5), (1, 1.0), (2, 0.6), (2, 1.0)])
def test_density_integrates_to_one_and_is_nonnegative(d, scale):
    nodes, weights = _gauss_legendre_nodes(8)   # smooth on each quarter of a cell
    grid = np.stack(np.meshgrid(*[nodes] * d, indexing="ij"), -1).reshape(-1, d)
    w = np.prod(np.stack(np.meshgrid(*[weights] * d, indexing="ij"), -1).reshape(-1, d), 1)
    for seed in range(3):
        theta = perturbation_signs(d, seed)
        f = perturbed_uniform_density(grid, theta, scale)
        assert abs(np.dot(w, f) - 1.0) < 1e-10
        assert f.min() >= 0.0
        # the perturbation reaches +-scale (bump centres are in the grid's neighbourhood)
        centres = (np.arange(4) + 0.5) / 4
        cgrid = np.stack(np.meshgrid(*[centres] * d, indexing="ij"), -1).reshape(-1, d)
        fc = perturbed_uniform_density(cgrid, theta, scale)
        np.testing.assert_allclose([fc.min(), fc.max()], [1 - scale, 1 + scale], rtol=1e-12)


def test_density_zero_outside_and_one_at_scale_zero():
    theta = perturbation_signs(2, 0)
    x = np.array([[-0.01, 0.5], [0.5, 1.01], [2.0, 2.0]])
    np.testing.assert_array_equal(perturbed_uniform_density(x, theta, 1.0), 0.0)
    y = np.random.default_rng(0).random((50, 2))
    np.testing.assert_array_equal(perturbed_uniform_density(y, theta, 0.0), 1.0)


def test_s_cancels_with_the_papers_multiplier():
    theta = perturbation_signs(2, 3)
    x = np.random.default_rng(1).random((100, 2))
    np.testing.assert_allclose(perturbed_uniform_density(x, theta, 0.7, s=1),
                               perturbed_uniform_density(x, theta, 0.7, s=3.5))


# ---------------------------------------------------------------------------------------
# the perturbed-uniform sampler

def _bin_probabilities_1d(edges, theta, scale):
    return np.array([integrate.quad(lambda u: float(perturbed_uniform_density([u], theta,
                                                                              scale)[0]),
                                    a, b, epsabs=1e-12)[0] for a, b in zip(edges, edges[1:])])


def test_sampler_matches_density_d1():
    n = 40_000
    X, Y, theta = perturbed_uniform(n, 10, 1, 1.0, rng=11, return_theta=True)
    assert X.shape == (n, 1) and Y.shape == (10, 1) and X.dtype == np.float64
    edges = np.linspace(0, 1, 33)
    probs = _bin_probabilities_1d(edges, theta, 1.0)
    counts = np.histogram(X[:, 0], edges)[0]
    assert stats.chisquare(counts, n * probs).pvalue > P_MIN
    # the check has power: the same draws against the density with flipped signs fail
    wrong = _bin_probabilities_1d(edges, -theta, 1.0)
    assert stats.chisquare(counts, n * wrong).pvalue < 1e-12
    # and a one-sample KS test against the CDF (quadrature of the density)
    grid = np.linspace(0, 1, 4001)
    cdf = integrate.cumulative_trapezoid(perturbed_uniform_density(grid, theta, 1.0), grid,
                                         initial=0.0)
    assert stats.kstest(X[:5000, 0], lambda u: np.interp(u, grid, cdf)).pvalue > P_MIN


def test_sampler_matches_density_d2():
    n = 40_000
    X, _, theta = perturbed_uniform(n, 5, 2, 1.0, rng=5, return_theta=True)
    k = 8   # 8 x 8 bins: each bin is a quarter of a cell's side, where G keeps its sign
    nodes, weights = np.polynomial.legendre.leggauss(30)
    probs = np.empty((k, k))
    for a in range(k):
        for b in range(k):
            u = (a + (nodes + 1) / 2) / k
            v = (b + (nodes + 1) / 2) / k
            pts = np.stack(np.meshgrid(u, v, indexing="ij"), -1).reshape(-1, 2)
            w = np.outer(weights, weights).reshape(-1) / (2 * k) ** 2
            probs[a, b] = np.dot(w, perturbed_uniform_density(pts, theta, 1.0))
    assert abs(probs.sum() - 1) < 1e-10
    counts = np.histogram2d(X[:, 0], X[:, 1], bins=k, range=[[0, 1], [0, 1]])[0]
    assert stats.chisquare(counts.ravel(), n * probs.ravel()).pvalue > P_MIN
    flipped = probs.copy()
    flipped[:4, :4] = 2 / k ** 2 - probs[:4, :4]   # the first cell's sign flipped
    assert stats.chisquare(counts.ravel(), n * flipped.ravel()).pvalue < 1e-12


def test_scale_zero_is_uniform():
    X, Y = perturbed_uniform(20_000, 20_000, 2, 0.0, rng=2)
    for Z in (X, Y):
        for col in Z.T:
            assert stats.kstest(col, "uniform").pvalue > P_MIN
    counts = np.histogram2d(X[:, 0], X[:, 1], bins=8, range=[[0, 1], [0, 1]])[0]
    assert stats.chisquare(counts.ravel()).pvalue > P_MIN


def test_theta_is_drawn_per_call_and_fixed_theta_is_used():
    thetas = {tuple(perturbed_uniform(5, 5, 2, 0.5, rng=s, return_theta=True)[2])
              for s in range(40)}
    assert len(thetas) > 4   # 16 possible sign patterns
    fixed = np.array([1.0, -1.0, -1.0, 1.0])
    _, _, th = perturbed_uniform(5, 5, 2, 0.5, rng=0, theta=fixed, return_theta=True)
    np.testing.assert_array_equal(th, fixed)


# ---------------------------------------------------------------------------------------
# the mixture

def _assign(Z):
    """Index of the nearest centre (the components are 40 units apart)."""
    return np.argmin(((Z[:, None, :2] - CENTRES[None]) ** 2).sum(-1), axis=1)


def test_mixture_components_and_spreads():
    n, m, sigma = 40_000, 40_000, 1.7
    X, Y = four_gaussians(n, m, sigma, rng=3, d=3)
    assert X.shape == (n, 3) and Y.shape == (m, 3) and Y.dtype == np.float64
    for Z, size, stds in ((X, n, (1, 1, 1, 1)), (Y, m, (1, 1, 1, sigma))):
        comp = _assign(Z)
        counts = np.bincount(comp, minlength=4)
        assert stats.chisquare(counts).pvalue > P_MIN    # uniform component choice
        for k in range(4):
            pts = Z[comp == k]
            centre = np.r_[CENTRES[k], 0.0]
            se_mean = stds[k] / math.sqrt(len(pts))
            assert np.all(np.abs(pts.mean(0) - centre) < 4 * se_mean)
            sd = pts.std(0, ddof=1)
            se_sd = stds[k] / math.sqrt(2 * (len(pts) - 1))
            assert np.all(np.abs(sd - stds[k]) < 4 * se_sd), (k, sd)


def test_mixture_sigma_one_is_the_null():
    X, Y = four_gaussians(20_000, 20_000, 1.0, rng=4)
    for col in range(2):
        assert stats.ks_2samp(X[:, col], Y[:, col]).pvalue > P_MIN


def test_mixture_only_the_last_component_changes():
    # shifting or rescaling another component would show up here
    X, Y = four_gaussians(30_000, 30_000, 0.5, rng=9)
    cx, cy = _assign(X), _assign(Y)
    for k in range(3):
        assert stats.ks_2samp(X[cx == k, 0], Y[cy == k, 0]).pvalue > P_MIN
    assert stats.ks_2samp(X[cx == 3, 0], Y[cy == 3, 0]).pvalue < 1e-12


# ---------------------------------------------------------------------------------------
# reproducibility and bad input

@pytest.mark.parametrize("draw", [lambda r: four_gaussians(50, 40, 1.3, r),
                                  lambda r: perturbed_uniform(50, 40, 2, 0.8, r)])
def test_same_rng_same_draws(draw):
    a, b, c = draw(7), draw(np.random.default_rng(7)), draw(8)
    for u, v, w in zip(a, b, c):
        np.testing.assert_array_equal(u, v)
        assert not np.array_equal(u, w)


def test_draws_are_fast():
    import time
    start = time.perf_counter()
    for seed in range(20):
        perturbed_uniform(500, 500, 2, 1.0, seed)
        four_gaussians(500, 500, 2.0, seed)
    assert (time.perf_counter() - start) / 20 < 0.05


@pytest.mark.parametrize("call,param,value", [
    (lambda: perturbed_uniform(10, 10, 1, 1.5, 0), "scale", "1.5"),
    (lambda: perturbed_uniform(10, 10, 1, -0.1, 0), "scale", "-0.1"),
    (lambda: perturbed_uniform(10, 10, 0, 0.5, 0), "d", "0"),
    (lambda: perturbed_uniform(0, 10, 1, 0.5, 0), "n", "0"),
    (lambda: perturbed_uniform(10, 0, 1, 0.5, 0), "m", "0"),
    (lambda: perturbed_uniform(10, 10, 1, 0.5, 0, perturbations=0), "perturbations", "0"),
    (lambda: perturbed_uniform(10, 10, 1, 0.5, 0, s=0), "s", "0"),
    (lambda: perturbed_uniform(10, 10, 2, 0.5, 0, theta=[1, -1]), "theta", "4"),
    (lambda: perturbed_uniform(10, 10, 1, 0.5, 0, theta=[1, 0.5]), "theta", "0.5"),
    (lambda: four_gaussians(10, 10, 1.0, 0, d=1), "d", "1"),
    (lambda: four_gaussians(10, 10, 0.0, 0), "sigma", "0.0"),
    (lambda: four_gaussians(10, 10, -2.0, 0), "sigma", "-2.0"),
    (lambda: four_gaussians(10, 10, float("nan"), 0), "sigma", "nan"),
    (lambda: four_gaussians(0, 10, 1.0, 0), "n", "0"),
    (lambda: perturbed_uniform_density([[0.5, 0.5]], [1, 1, 1, 1], 2.0), "scale", "2.0"),
    (lambda: perturbed_uniform_density([[0.5, 0.5]], [1, 1], 0.5), "theta", "4"),
])
def test_bad_parameters_raise(call, param, value):
    with pytest.raises(ValueError) as info:
        call()
    assert param in str(info.value) and value in str(info.value)
