"""Mutual-information benchmark tasks (divest.reference.mi_tasks): exact MI, checked independently.

Every check below is written from the definitions (bmi's source for the Beyond Normal tasks,
Poole et al.'s notebook for the staircase), not from divest's code:

* closed form: the test recomputes I(X; Y) by another route (equicorrelation determinant,
  scipy's multivariate-t entropy, the additive-noise entropy by quadrature, 2-D quadrature
  of the joint density for the bivariate normal and the bimodal task);
* Monte Carlo on every task: the test maps the task's samples back to the base
  distribution with its own inverse of the transform (norm.ppf, sinh, the inverse spiral,
  ...), then averages log p(x, y) - log p(x) - log p(y) with the base densities from scipy.
  The mean must be within 4 standard errors of the task's MI.  This checks the sampler
  (the transform and base distribution it uses) and the value together;
* each transform is checked to be injective (strictly monotone per coordinate, or a
  norm-preserving rotation, or an embedding with a left inverse).
"""

import math

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from divest.reference import (
    MITask, STAIRCASE_MI, get_mi_task, mi_tasks, staircase_schedule, staircase_task,
)

#: bmi.benchmark.BENCHMARK_TASKS (benchmark-mi, cbg-ethz/bmi, task_list.py), in order
BMI_NAMES = (
    "1v1-normal-0.75", "normal_cdf-1v1-normal-0.75", "1v1-additive-0.1", "1v1-additive-0.75",
    "1v1-bimodal-0.75", "wiggly-1v1-normal-0.75", "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1", "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    "multinormal-dense-2-2-0.5", "multinormal-dense-3-3-0.5", "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5", "multinormal-dense-50-50-0.5",
    "multinormal-sparse-2-2-2-2.0", "multinormal-sparse-3-3-2-2.0",
    "multinormal-sparse-5-5-2-2.0", "multinormal-sparse-25-25-2-2.0",
    "student-identity-2-2-1", "student-identity-2-2-2", "student-identity-3-3-2",
    "student-identity-3-3-3", "student-identity-5-5-2", "student-identity-5-5-3",
    "normal_cdf-multinormal-sparse-3-3-2-2.0", "normal_cdf-multinormal-sparse-5-5-2-2.0",
    "normal_cdf-multinormal-sparse-25-25-2-2.0",
    "half_cube-multinormal-sparse-3-3-2-2.0", "half_cube-multinormal-sparse-5-5-2-2.0",
    "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0", "spiral-multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0",
    "asinh-student-identity-2-2-1", "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
)

MC_N = 20_000


# ---------------------------------------------------------------------------------------
# The definitions, written out from bmi's source


def gaussian_cov(name):
    """The base covariance of a Gaussian-based task (bmi's parameters)."""
    if "1v1-normal-0.75" in name:
        return np.array([[1.0, 0.75], [0.75, 1.0]]), 1
    d = int(name.split("multinormal-")[1].split("-")[1])
    if "dense" in name:
        return np.full((2 * d, 2 * d), 0.5) + 0.5 * np.eye(2 * d), d
    # latent model: X_i = E_i + 2 Z_i (i < 2) or E_i + 2 V_i; Y_i = F_i + 2 Z_i or F_i + 2 W_i
    cov = 5.0 * np.eye(2 * d)
    for i in range(2):
        cov[i, d + i] = cov[d + i, i] = 4.0
    return cov / 5.0, d


def wiggly_x(a):
    return a + 0.4 * np.sin(a) + 0.2 * np.sin(1.7 * a + 1) + 0.03 * np.sin(3.3 * a - 2.5)


def wiggly_y(a):
    return a - 0.4 * np.sin(0.4 * a) + 0.17 * np.sin(1.3 * a + 3.5) + 0.02 * np.sin(4.3 * a - 2.5)


def invert_increasing(f, lo=-15.0, hi=15.0, m=2_000_001):
    grid = np.linspace(lo, hi, m)
    values = f(grid)
    assert np.all(np.diff(values) > 0)
    return lambda y: np.interp(y, values, grid)


MIX_X = ((0.3, 0.7), (0.0, 5.0))
MIX_Y = ((0.5, 0.5), (-1.0, 3.0))


def mixture(z, mix, fn):
    return sum(w * fn(z - m) for w, m in zip(*mix))


def bimodal_inverse(z, mix):
    """Phi^-1(F(z)): back from the bimodal variable to the Gaussian one (tails by sf/isf)."""
    cdf, sf = mixture(z, mix, stats.norm.cdf), mixture(z, mix, stats.norm.sf)
    return np.where(cdf < 0.5, stats.norm.ppf(cdf), stats.norm.isf(sf))


def spiral_reference(a, i, j, speed):
    """bmi's Spiral: expm(speed ||a||^2 A) @ a, A = so_generator(n, i, j), one point at a time."""
    gen = np.zeros((a.shape[1],) * 2)
    gen[i, j], gen[j, i] = -1.0, 1.0
    return np.stack([linalg.expm(gen * speed * (p @ p)) @ p for p in a])


def spiral_inverse(b, i, j, speed):
    theta = -speed * np.sum(b * b, axis=1)   # a rotation keeps the norm
    c, s = np.cos(theta), np.sin(theta)
    a = b.copy()
    a[:, i], a[:, j] = c * b[:, i] - s * b[:, j], s * b[:, i] + c * b[:, j]
    return a


def swissroll_inverse(x):
    t = 21.0 * np.linalg.norm(x, axis=1)
    return ((t / (1.5 * np.pi) - 1.0) / 2.0)[:, None]


def base_samples(name, x, y):
    """Undo the transforms of task ``name`` (outermost first); return the base sample."""
    if name.startswith("spiral-"):
        x = spiral_inverse(x, 0, 1, 1.0 / x.shape[1])
        y = spiral_inverse(y, 1, 2, 1.0 / y.shape[1])
        return base_samples(name[len("spiral-"):], x, y)
    if name.startswith("swissroll_x-"):
        return base_samples(name[len("swissroll_x-"):], swissroll_inverse(x), y)
    if name.startswith("normal_cdf-"):
        return base_samples(name[len("normal_cdf-"):], stats.norm.ppf(x), stats.norm.ppf(y))
    if name.startswith("half_cube-"):
        inv = lambda v: np.sign(v) * np.abs(v) ** (2.0 / 3.0)  # noqa: E731
        return base_samples(name[len("half_cube-"):], inv(x), inv(y))
    if name.startswith("asinh-"):
        return base_samples(name[len("asinh-"):], np.sinh(x), np.sinh(y))
    if name.startswith("wiggly-"):
        return base_samples(name[len("wiggly-"):], invert_increasing(wiggly_x)(x),
                            invert_increasing(wiggly_y)(y))
    if name == "1v1-bimodal-0.75":
        return "1v1-normal-0.75", bimodal_inverse(x, MIX_X), bimodal_inverse(y, MIX_Y)
    return name, x, y


def log_ratio(name, x, y):
    """log p(x, y) - log p(x) - log p(y) for the base distribution ``name``."""
    if name.startswith("student-identity-"):
        dx, dy, df = (int(v) for v in name.split("-")[2:])
        t = lambda d: stats.multivariate_t(np.zeros(d), np.eye(d), df=df)  # noqa: E731
        return (t(dx + dy).logpdf(np.hstack([x, y])) - t(dx).logpdf(x).reshape(-1)
                - t(dy).logpdf(y).reshape(-1))
    if name.startswith("1v1-additive-"):
        eps = float(name.split("-")[2])
        return -math.log(2 * eps) - np.log(additive_density_y(y[:, 0], eps))
    cov, d = gaussian_cov(name)
    mvn = lambda c: stats.multivariate_normal(np.zeros(len(c)), c)  # noqa: E731
    return (mvn(cov).logpdf(np.hstack([x, y])) - mvn(cov[:d, :d]).logpdf(x).reshape(-1)
            - mvn(cov[d:, d:]).logpdf(y).reshape(-1))


def additive_density_y(y, eps):
    """Density of X + N, X ~ U(0, 1), N ~ U(-eps, eps): the convolution of the boxes."""
    overlap = np.clip(np.minimum(y + eps, 1.0) - np.maximum(y - eps, 0.0), 0.0, None)
    return overlap / (2 * eps)


# ---------------------------------------------------------------------------------------
# The list, shapes, reproducibility


def test_forty_tasks_with_bmis_names_in_order():
    assert len(mi_tasks()) == 40
    assert mi_tasks() == BMI_NAMES
    assert mi_tasks("beyond_normal") == BMI_NAMES
    assert len(mi_tasks("staircase")) == 10


def test_unknown_names():
    with pytest.raises(ValueError, match="1v1-normal-0.75"):
        get_mi_task("1v1-normal-0.5")
    with pytest.raises(ValueError, match="beyond_normal"):
        mi_tasks("nope")


@pytest.mark.parametrize("name", BMI_NAMES + mi_tasks("staircase"))
def test_shapes_dtype_reproducibility(name):
    task = get_mi_task(name)
    assert isinstance(task, MITask) and task.name == name
    assert task.mutual_information > 0
    x, y = task.sample(7, rng=3)
    assert x.shape == (7, task.dim_x) and y.shape == (7, task.dim_y)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert np.isfinite(x).all() and np.isfinite(y).all()
    x2, y2 = task.sample(7, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, y3 = task.sample(7, rng=4)
    assert not np.array_equal(x, x3) and not np.array_equal(y, y3)


def test_dims():
    dims = {n: (get_mi_task(n).dim_x, get_mi_task(n).dim_y) for n in BMI_NAMES}
    assert dims["swissroll_x-normal_cdf-1v1-normal-0.75"] == (2, 1)
    assert dims["multinormal-dense-50-50-0.5"] == (50, 50)
    assert dims["asinh-student-identity-5-5-2"] == (5, 5)
    assert sum(d == (1, 1) for d in dims.values()) == 9


def test_sampler_draws_fresh_batches_from_one_generator():
    task = get_mi_task("multinormal-dense-3-3-0.5")
    draw = task.sampler(rng=11)
    (x1, y1), (x2, y2) = draw(32), draw(32)
    x0, y0 = task.sample(32, rng=11)
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(y1, y0)
    assert not np.array_equal(x1, x2)
    xa, _ = task.sampler(rng=11)(32)
    np.testing.assert_array_equal(xa, x1)
    with pytest.raises(ValueError):
        draw(0)


def test_standardize():
    task = get_mi_task("half_cube-multinormal-sparse-3-3-2-2.0")
    x, y = task.sample(500, rng=0, standardize=True)
    for a in (x, y):
        np.testing.assert_allclose(a.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(a.std(axis=0), 1.0, rtol=1e-12)
    raw_x, _ = task.sample(500, rng=0)
    np.testing.assert_allclose(x, (raw_x - raw_x.mean(0)) / raw_x.std(0))


def test_bad_arguments():
    task = get_mi_task("1v1-normal-0.75")
    with pytest.raises(ValueError):
        task.sample(0)
    with pytest.raises(TypeError):
        task.sample(2.5)
    with pytest.raises(ValueError):
        staircase_task(2.0, kind="quadratic")
    with pytest.raises(ValueError):
        staircase_task(0.0)


# ---------------------------------------------------------------------------------------
# Exact values by a second route


@pytest.mark.parametrize("d", [2, 3, 5, 25, 50])
def test_dense_closed_form(d):
    # det of a k x k equicorrelation matrix with rho: (1 - rho)^(k - 1) (1 + (k - 1) rho)
    logdet = lambda k: (k - 1) * math.log(0.5) + math.log(1 + (k - 1) * 0.5)  # noqa: E731
    expected = 0.5 * (2 * logdet(d) - logdet(2 * d))
    assert get_mi_task(f"multinormal-dense-{d}-{d}-0.5").mutual_information == pytest.approx(
        expected, rel=1e-12)


def test_two_pair_closed_form():
    expected = 2 * (-0.5 * math.log(1 - 0.8 ** 2))
    two_pair = [n for n in BMI_NAMES if "multinormal-sparse" in n]
    assert len(two_pair) == 16
    for name in two_pair:
        assert get_mi_task(name).mutual_information == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", [n for n in BMI_NAMES if "student-identity" in n])
def test_student_closed_form_from_scipy_entropy(name):
    dx, dy, df = (int(v) for v in name.split("student-identity-")[1].split("-"))
    h = lambda d: stats.multivariate_t(np.zeros(d), np.eye(d), df=df).entropy()  # noqa: E731
    assert get_mi_task(name).mutual_information == pytest.approx(
        h(dx) + h(dy) - h(dx + dy), rel=1e-10)


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_additive_noise_by_quadrature(eps):
    # I = h(Y) - h(Y | X) = h(Y) - log(2 eps), h(Y) by quadrature of the trapezoid density
    f = lambda y: -additive_density_y(np.array([y]), eps)[0] * math.log(  # noqa: E731
        additive_density_y(np.array([y]), eps)[0])
    points = sorted({-eps, eps, 1 - eps, 1 + eps})
    h = sum(integrate.quad(f, a, b)[0] for a, b in zip(points[:-1], points[1:]))
    assert get_mi_task(f"1v1-additive-{eps}").mutual_information == pytest.approx(
        h - math.log(2 * eps), rel=1e-9)


def test_bivariate_normal_by_quadrature():
    rho = 0.75
    def integrand(y, x):
        q = (x * x - 2 * rho * x * y + y * y) / (1 - rho * rho)
        log_p = -math.log(2 * math.pi) - 0.5 * math.log(1 - rho * rho) - 0.5 * q
        log_px_py = -math.log(2 * math.pi) - 0.5 * (x * x + y * y)
        return math.exp(log_p) * (log_p - log_px_py)
    value = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-11)[0]
    assert get_mi_task("1v1-normal-0.75").mutual_information == pytest.approx(value, abs=1e-8)


def test_bimodal_by_quadrature_in_its_own_coordinates():
    # joint density of (F1^-1(Phi(G1)), F2^-1(Phi(G2))): phi_rho(g1(z1), g2(z2)) g1' g2',
    # g = Phi^-1 o F, g' = f / phi(g); marginals f1, f2 (the mixtures)
    z1 = np.linspace(-8.0, 13.0, 2101)
    z2 = np.linspace(-9.0, 11.0, 2001)
    g1, g2 = bimodal_inverse(z1, MIX_X), bimodal_inverse(z2, MIX_Y)
    f1, f2 = mixture(z1, MIX_X, stats.norm.pdf), mixture(z2, MIX_Y, stats.norm.pdf)
    rho = 0.75
    a, b = np.meshgrid(g1, g2, indexing="ij")
    log_c = (-0.5 * np.log(1 - rho ** 2)
             - (rho ** 2 * (a ** 2 + b ** 2) - 2 * rho * a * b) / (2 * (1 - rho ** 2)))
    p = np.exp(log_c) * np.outer(f1, f2)
    value = integrate.simpson(integrate.simpson(p * log_c, x=z2, axis=1), x=z1)
    assert integrate.simpson(integrate.simpson(p, x=z2, axis=1), x=z1) == pytest.approx(1, abs=1e-6)
    assert get_mi_task("1v1-bimodal-0.75").mutual_information == pytest.approx(value, abs=1e-6)


# ---------------------------------------------------------------------------------------
# Monte Carlo on every task, through its own samples


@pytest.mark.parametrize("name", BMI_NAMES)
def test_monte_carlo_mi_of_the_samples(name):
    task = get_mi_task(name)
    x, y = task.sample(MC_N, rng=20231)
    base, bx, by = base_samples(name, x, y)
    assert np.isfinite(bx).all() and np.isfinite(by).all()
    values = log_ratio(base, bx, by)
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(len(values))
    assert abs(mean - task.mutual_information) < 4 * se, (mean, se, task.mutual_information)


def test_bimodal_marginals_are_the_mixtures():
    x, y = get_mi_task("1v1-bimodal-0.75").sample(MC_N, rng=5)
    assert stats.kstest(x[:, 0], lambda z: mixture(z, MIX_X, stats.norm.cdf)).pvalue > 1e-3
    assert stats.kstest(y[:, 0], lambda z: mixture(z, MIX_Y, stats.norm.cdf)).pvalue > 1e-3


def test_swissroll_lies_on_the_roll():
    x, y = get_mi_task("swissroll_x-normal_cdf-1v1-normal-0.75").sample(2000, rng=2)
    u = swissroll_inverse(x)[:, 0]
    t = 1.5 * np.pi * (1 + 2 * u)
    np.testing.assert_allclose(x, np.stack([t * np.cos(t), t * np.sin(t)], 1) / 21, atol=1e-12)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(y[:, 0], "uniform").pvalue > 1e-3


# ---------------------------------------------------------------------------------------
# The transforms are injective


@pytest.mark.parametrize("f", [stats.norm.cdf, lambda a: a * np.sqrt(np.abs(a)), np.arcsinh,
                               wiggly_x, wiggly_y,
                               lambda a: stats.norm.ppf(mixture(a, MIX_X, stats.norm.cdf)),
                               lambda a: stats.norm.ppf(mixture(a, MIX_Y, stats.norm.cdf))])
def test_coordinatewise_transforms_are_strictly_increasing(f):
    grid = np.linspace(-6, 6, 100_001)
    assert np.all(np.diff(f(grid)) > 0)


def test_wiggly_derivatives_bounded_away_from_zero():
    # |sum of the sine terms' derivatives| <= 0.4 + 0.34 + 0.099 < 1 (X), 0.16 + 0.221 + 0.086 (Y)
    assert 0.4 + 0.2 * 1.7 + 0.03 * 3.3 < 1 and 0.4 * 0.4 + 0.17 * 1.3 + 0.02 * 4.3 < 1


@pytest.mark.parametrize("d", [3, 5, 25])
def test_spiral_is_bmis_rotation_and_invertible(d):
    rng = np.random.default_rng(d)
    plain = get_mi_task(f"multinormal-sparse-{d}-{d}-2-2.0")
    spiral = get_mi_task(f"spiral-multinormal-sparse-{d}-{d}-2-2.0")
    x0, y0 = plain.sample(50, rng=rng.integers(1 << 30))
    x1, y1 = spiral.sample(50, rng=np.random.default_rng(0))
    xs, ys = plain.sample(50, rng=np.random.default_rng(0))   # same stream: the base sample
    np.testing.assert_allclose(x1, spiral_reference(xs, 0, 1, 1.0 / d), atol=1e-12)
    np.testing.assert_allclose(y1, spiral_reference(ys, 1, 2, 1.0 / d), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(x1, axis=1), np.linalg.norm(xs, axis=1))
    np.testing.assert_allclose(spiral_inverse(spiral_reference(x0, 0, 1, 1 / d), 0, 1, 1 / d),
                               x0, atol=1e-12)
    np.testing.assert_allclose(spiral_inverse(spiral_reference(y0, 1, 2, 1 / d), 1, 2, 1 / d),
                               y0, atol=1e-12)


def test_transformed_tasks_share_the_base_stream():
    """Each transformed task is its base task's sample pushed through the transform."""
    for name, base, fx in [
        ("half_cube-1v1-normal-0.75", "1v1-normal-0.75", lambda a: a * np.sqrt(np.abs(a))),
        ("asinh-student-identity-3-3-2", "student-identity-3-3-2", np.arcsinh),
        ("normal_cdf-multinormal-sparse-5-5-2-2.0", "multinormal-sparse-5-5-2-2.0",
         stats.norm.cdf),
    ]:
        x, y = get_mi_task(name).sample(100, rng=9)
        bx, by = get_mi_task(base).sample(100, rng=9)
        np.testing.assert_allclose(x, fx(bx), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(y, fx(by), rtol=1e-12, atol=1e-15)
        assert get_mi_task(name).mutual_information == get_mi_task(base).mutual_information


# ---------------------------------------------------------------------------------------
# The staircase of Poole et al. (2019)


@pytest.mark.parametrize("mi", STAIRCASE_MI)
def test_staircase_correlation_matches_mi(mi):
    task = staircase_task(mi)
    assert task.mutual_information == mi and task.dim_x == task.dim_y == 20
    rho = math.sqrt(1 - math.exp(-2 * mi / 20))
    assert -10 * math.log(1 - rho ** 2) == pytest.approx(mi, rel=1e-12)
    n = 20_000
    x, y = task.sample(n, rng=int(mi))
    r = np.array([np.corrcoef(x[:, i], y[:, i])[0, 1] for i in range(20)])
    se = (1 - rho ** 2) / math.sqrt(n)
    assert np.all(np.abs(r - rho) < 4 * se)
    cross = np.corrcoef(x[:, 0], y[:, 1])[0, 1]
    assert abs(cross) < 4 / math.sqrt(n)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=4 / math.sqrt(2 * n) * 1.5)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=4 / math.sqrt(2 * n) * 1.5)


def test_staircase_cubic_is_gaussian_cubed():
    for mi in STAIRCASE_MI:
        xg, yg = staircase_task(mi, kind="gaussian").sample(200, rng=1)
        xc, yc = staircase_task(mi, kind="cubic").sample(200, rng=1)
        np.testing.assert_array_equal(xg, xc)
        np.testing.assert_allclose(np.cbrt(yc), yg, rtol=1e-12, atol=1e-15)
        assert staircase_task(mi, kind="cubic").mutual_information == mi


def test_staircase_other_dimension_and_names():
    task = staircase_task(3.0, dim=5)
    assert (task.name, task.dim_x, task.dim_y) == ("staircase-gaussian-5-3", 5, 5)
    assert mi_tasks("staircase") == tuple(
        f"staircase-{k}-20-{m:g}" for k in ("gaussian", "cubic") for m in STAIRCASE_MI)
    assert get_mi_task("staircase-cubic-20-8") == staircase_task(8.0, kind="cubic")


def test_staircase_schedule_equal_blocks_like_pooles():
    s = staircase_schedule(20_000)
    assert [int(np.sum(s == m)) for m in STAIRCASE_MI] == [4000] * 5
    assert np.all(np.diff(s) >= 0) and s[0] == 2.0 and s[-1] == 10.0
    for n in (1, 2, 7, 10, 17, 1000, 20_000):
        s = staircase_schedule(n)
        assert len(s) == n and set(s) <= set(STAIRCASE_MI)
        # Poole et al.'s mi_schedule: the same blocks up to one step at each boundary
        poole = np.round(np.linspace(0.5, 5.5 - 1e-9, n)) * 2.0
        assert np.sum(s != poole) <= 5


# ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", BMI_NAMES)
def test_monte_carlo_mi_large_sample(name):
    task = get_mi_task(name)
    x, y = task.sample(400_000, rng=7)
    base, bx, by = base_samples(name, x, y)
    values = log_ratio(base, bx, by)
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(len(values))
    assert abs(mean - task.mutual_information) < 4 * se
