"""Mutual-information benchmark tasks: pairs (X, Y) with exactly known I(X; Y).

Two suites, both sampled with numpy only (``rng=`` is an int, a ``np.random.Generator``
or None, normalised by ``np.random.default_rng``):

* ``"beyond_normal"`` -- a numpy port of the 40 tasks of the *Beyond Normal* benchmark
  (Czyż et al., NeurIPS 2023; package ``benchmark-mi``, ``bmi.benchmark.BENCHMARK_TASKS``),
  with bmi's task ids and parameters.  The distributions are bmi's; the random streams are
  numpy's, not JAX's, so the samples are not bit-identical to bmi's.
* ``"staircase"`` -- the correlated-Gaussian staircase of Poole et al. (2019), X, Y in
  R^20 with per-coordinate correlation rho, I = -(20/2) log(1 - rho^2) in {2, 4, 6, 8, 10},
  and its "cubic" variant (Y -> Y**3).

Building blocks of the Beyond Normal tasks (all transforms act on X and Y separately and
are injective, so they leave the mutual information unchanged):

* bivariate normal, correlation 0.75: I = -1/2 log(1 - 0.75^2);
* multinormal "dense" d x d: unit variances, every off-diagonal correlation 0.5,
  I = 1/2 log(det S_XX det S_YY / det S);
* multinormal "2-pair" d x d (bmi's id ``multinormal-sparse-d-d-2-2.0``): bmi's latent-variable
  model with lambda = eta = 2, epsilon = 1 gives unit variances and corr(X_i, Y_i) = 4/5 for
  i = 1, 2, all other correlations 0, I = -log(1 - 0.8^2) = -log 0.36;
* Student-t d x d, identity dispersion, dof nu: I = h_d + h_d - h_2d with the entropy of a
  standard multivariate t, h_k = log[Gamma(nu/2) (nu pi)^(k/2) / Gamma((nu + k)/2)]
  + (nu + k)/2 [psi((nu + k)/2) - psi(nu/2)] (Arellano-Valle et al. 2013);
* additive noise: X ~ U(0, 1), Y = X + N, N ~ U(-eps, eps):
  I = eps - log(2 eps) for eps <= 1/2, 1/(4 eps) otherwise;
* transforms: ``normal_cdf`` (Phi, elementwise), ``half_cube`` (x sqrt|x|), ``asinh``,
  ``wiggly`` (x + 0.4 sin x + 0.2 sin(1.7x + 1) + 0.03 sin(3.3x - 2.5) on X,
  y - 0.4 sin 0.4y + 0.17 sin(1.3y + 3.5) + 0.02 sin(4.3y - 2.5) on Y), ``bimodal``
  (u -> F^-1(u) after normal_cdf, F the CDF of 0.3 N(0, 1) + 0.7 N(5, 1) on X and of
  0.5 N(-1, 1) + 0.5 N(3, 1) on Y), ``swissroll_x`` (u in [0, 1] -> (t cos t, t sin t)/21,
  t = 1.5 pi (1 + 2u), on X only) and ``spiral`` (x -> exp(s ||x||^2 A) x, A the so(d)
  generator of the plane of coordinates (1, 2) on X and (2, 3) on Y, s = 1/d).

The 40 Beyond Normal tasks, in bmi's (the paper's) order, which is the order of
``mi_tasks("beyond_normal")``:

=================================================  =====  =====  ==================
task id                                            dim_x  dim_y  I(X; Y) [nats]
=================================================  =====  =====  ==================
1v1-normal-0.75                                        1      1  0.4133392865922340
normal_cdf-1v1-normal-0.75                             1      1  0.4133392865922340
1v1-additive-0.1                                       1      1  1.7094379124341004
1v1-additive-0.75                                      1      1  0.3333333333333333
1v1-bimodal-0.75                                       1      1  0.4133392865922340
wiggly-1v1-normal-0.75                                 1      1  0.4133392865922340
half_cube-1v1-normal-0.75                              1      1  0.4133392865922340
student-identity-1-1-1                                 1      1  0.2241714275292361
asinh-student-identity-1-1-1                           1      1  0.2241714275292361
swissroll_x-normal_cdf-1v1-normal-0.75                 2      1  0.4133392865922340
multinormal-dense-2-2-0.5                              2      2  0.2938933324510594
multinormal-dense-3-3-0.5                              3      3  0.4133392865922341
multinormal-dense-5-5-0.5                              5      5  0.5928118328288694
multinormal-dense-25-25-0.5                           25     25  1.2921837216593168
multinormal-dense-50-50-0.5                           50     50  1.6242653743037039
multinormal-sparse-2-2-2-2.0                           2      2  1.0216512475319817
multinormal-sparse-3-3-2-2.0                           3      3  1.0216512475319817
multinormal-sparse-5-5-2-2.0                           5      5  1.0216512475319817
multinormal-sparse-25-25-2-2.0                        25     25  1.0216512475319817
student-identity-2-2-1                                 2      2  0.4319456220014413
student-identity-2-2-2                                 2      2  0.1931471805599454
student-identity-3-3-2                                 3      3  0.2909219226827648
student-identity-3-3-3                                 3      3  0.1787118530923628
student-identity-5-5-2                                 5      5  0.4481506769153292
student-identity-5-5-3                                 5      5  0.2985436226527582
normal_cdf-multinormal-sparse-3-3-2-2.0                3      3  1.0216512475319817
normal_cdf-multinormal-sparse-5-5-2-2.0                5      5  1.0216512475319817
normal_cdf-multinormal-sparse-25-25-2-2.0             25     25  1.0216512475319817
half_cube-multinormal-sparse-3-3-2-2.0                 3      3  1.0216512475319817
half_cube-multinormal-sparse-5-5-2-2.0                 5      5  1.0216512475319817
half_cube-multinormal-sparse-25-25-2-2.0              25     25  1.0216512475319817
spiral-multinormal-sparse-3-3-2-2.0                    3      3  1.0216512475319817
spiral-multinormal-sparse-5-5-2-2.0                    5      5  1.0216512475319817
spiral-multinormal-sparse-25-25-2-2.0                 25     25  1.0216512475319817
spiral-normal_cdf-multinormal-sparse-3-3-2-2.0         3      3  1.0216512475319817
spiral-normal_cdf-multinormal-sparse-5-5-2-2.0         5      5  1.0216512475319817
spiral-normal_cdf-multinormal-sparse-25-25-2-2.0      25     25  1.0216512475319817
asinh-student-identity-2-2-1                           2      2  0.4319456220014413
asinh-student-identity-3-3-2                           3      3  0.2909219226827648
asinh-student-identity-5-5-2                           5      5  0.4481506769153292
=================================================  =====  =====  ==================

The paper runs every estimator on *standardised* samples (bmi's ``transform_rescale``,
i.e. ``sklearn.preprocessing.scale``: each column of X and of Y minus its sample mean,
divided by its sample standard deviation), applied to all 40 tasks in its benchmark
workflow while ``bmi.benchmark.BENCHMARK_TASKS`` itself samples unscaled.  Accordingly
:meth:`MITask.sample` draws unscaled samples by default and ``standardize=True`` gives the
paper's protocol; an affine map of each coordinate leaves I(X; Y) unchanged.

References
----------
P. Czyż, F. Grabowski, J. E. Vogt, N. Beerenwinkel, A. Marx.  Beyond Normal: On the
Evaluation of Mutual Information Estimators.  NeurIPS 2023.

B. Poole, S. Ozair, A. van den Oord, A. A. Alemi, G. Tucker.  On Variational Bounds of
Mutual Information.  ICML 2019.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Callable

import numpy as np
from scipy import special

from ._validation import check_choice, check_positive_int, check_real, check_rng

__all__ = ["MITask", "STAIRCASE_MI", "get_mi_task", "mi_tasks", "staircase_schedule",
           "staircase_task"]

#: the mutual-information levels (nats) of the staircase of Poole et al. (2019)
STAIRCASE_MI = (2.0, 4.0, 6.0, 8.0, 10.0)

_Draw = Callable[[np.random.Generator, int], "tuple[np.ndarray, np.ndarray]"]


def _standardize(a: np.ndarray) -> np.ndarray:
    """Each column minus its mean, over its (ddof=0) standard deviation; sklearn's ``scale``."""
    std = a.std(axis=0)
    std[std == 0.0] = 1.0
    return (a - a.mean(axis=0)) / std


@dataclass(frozen=True)
class MITask:
    """A joint distribution of (X, Y) with exactly known mutual information.

    Attributes
    ----------
    name : str
        Task id (for the Beyond Normal tasks, bmi's id, e.g. ``"1v1-normal-0.75"``).
    dim_x, dim_y : int
        Dimensions of X and Y.
    mutual_information : float
        The exact I(X; Y) in nats.
    description : str
        What the distribution is (for the Beyond Normal tasks it starts with bmi's task name).

    Tasks come from :func:`get_mi_task` and :func:`staircase_task`; a new one takes a last
    argument ``_draw(generator, n) -> (x, y)`` that draws an unscaled sample.

    Examples
    --------
    >>> from divest.reference import get_mi_task
    >>> task = get_mi_task("1v1-normal-0.75")
    >>> round(task.mutual_information, 6)
    0.413339
    >>> x, y = task.sample(5, rng=0)
    >>> x.shape, y.shape, x.dtype
    ((5, 1), (5, 1), dtype('float64'))
    """

    name: str
    dim_x: int
    dim_y: int
    mutual_information: float
    description: str
    _draw: _Draw = field(repr=False, compare=False)

    def sample(self, n, rng=None, *, standardize: bool = False):
        """Draw ``n`` pairs (x_i, y_i) i.i.d. from the joint distribution.

        Parameters
        ----------
        n : int
            Number of pairs, >= 1.
        rng : None, int or numpy.random.Generator
            Normalised by ``np.random.default_rng``; the same seed gives the same sample.
        standardize : bool
            Standardise each column of X and of Y with the sample's own mean and standard
            deviation (the Beyond Normal paper's protocol); I(X; Y) is unchanged.

        Returns
        -------
        x : ndarray, shape (n, dim_x), float64
        y : ndarray, shape (n, dim_y), float64

        Examples
        --------
        >>> from divest.reference import get_mi_task
        >>> x, y = get_mi_task("student-identity-2-2-1").sample(1000, rng=1, standardize=True)
        >>> bool(abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12)
        True
        """
        n = check_positive_int(n, "n")
        return self._sample(check_rng(rng), n, standardize)

    def sampler(self, rng=None, *, standardize: bool = False):
        """A function ``draw(batch_size) -> (x, y)`` drawing fresh batches from one generator.

        For training loops (neural MI bounds) that draw a new batch at every step.  The
        first batch equals ``self.sample(batch_size, rng)`` for the same seed; with
        ``standardize=True`` each batch is standardised on its own.

        Examples
        --------
        >>> from divest.reference import staircase_task
        >>> draw = staircase_task(4.0).sampler(rng=0)
        >>> x1, y1 = draw(64)
        >>> x2, y2 = draw(64)
        >>> x1.shape, bool((x1 != x2).all())
        ((64, 20), True)
        """
        gen = check_rng(rng)

        def draw(batch_size):
            return self._sample(gen, check_positive_int(batch_size, "batch_size"), standardize)

        return draw

    def _sample(self, gen, n, standardize):
        x, y = self._draw(gen, n)
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(n, self.dim_x)
        y = np.ascontiguousarray(y, dtype=np.float64).reshape(n, self.dim_y)
        if standardize:
            x, y = _standardize(x), _standardize(y)
        return x, y


# ----------------------------------------------------------------------------------------
# Base distributions


def _gaussian_mi(cov: np.ndarray, dim_x: int) -> float:
    """I(X; Y) = 1/2 log(det S_XX det S_YY / det S) for (X, Y) ~ N(mu, S)."""
    logdet = [np.linalg.slogdet(m)[1] for m in (cov[:dim_x, :dim_x], cov[dim_x:, dim_x:], cov)]
    return max(0.0, 0.5 * float(logdet[0] + logdet[1] - logdet[2]))


def _gaussian(cov: np.ndarray, dim_x: int) -> _Draw:
    chol = np.linalg.cholesky(cov)

    def draw(gen, n):
        xy = gen.standard_normal((n, cov.shape[0])) @ chol.T
        return xy[:, :dim_x], xy[:, dim_x:]

    return draw


def _dense_covariance(dim_x: int, dim_y: int, off_diag: float = 0.5) -> np.ndarray:
    """bmi's ``task_multinormal_dense``: unit variances, every correlation ``off_diag``."""
    d = dim_x + dim_y
    return np.eye(d) * (1.0 - off_diag) + off_diag


def _two_pair_covariance(dim_x: int, dim_y: int, strength: float = 2.0) -> np.ndarray:
    """bmi's ``task_multinormal_2pair``: the correlation matrix of its latent-variable model.

    X_i = E_i + lambda Z_i (i < 2) or E_i + eta V_i (i >= 2), likewise Y_i with F_i and the
    same Z_i; lambda = eta = ``strength``, unit noise.  Every variance is 1 + strength^2,
    cov(X_i, Y_i) = strength^2 for i < 2, so corr = strength^2 / (1 + strength^2).
    """
    lam2 = strength ** 2
    cov = np.eye(dim_x + dim_y) * (1.0 + lam2)
    for i in range(2):
        cov[i, dim_x + i] = cov[dim_x + i, i] = lam2
    var = np.diag(cov)
    return cov / np.sqrt(np.outer(var, var))


def _t_entropy(k: int, df: float) -> float:
    """Differential entropy of the standard k-variate Student t (identity dispersion)."""
    h = 0.5 * (df + k)
    return float(special.gammaln(0.5 * df) - special.gammaln(h) + 0.5 * k * math.log(df * math.pi)
                 + h * (special.digamma(h) - special.digamma(0.5 * df)))


def _student_mi(dim_x: int, dim_y: int, df: float) -> float:
    """I(X; Y) of a Student t with identity dispersion: h(X) + h(Y) - h(X, Y)."""
    return _t_entropy(dim_x, df) + _t_entropy(dim_y, df) - _t_entropy(dim_x + dim_y, df)


def _student(dim_x: int, dim_y: int, df: float) -> _Draw:
    def draw(gen, n):
        z = gen.standard_normal((n, dim_x + dim_y))
        xy = z / np.sqrt(gen.chisquare(df, size=n) / df)[:, None]
        return xy[:, :dim_x], xy[:, dim_x:]

    return draw


def _additive_mi(eps: float) -> float:
    return 0.25 / eps if eps > 0.5 else eps - math.log(2.0 * eps)


def _additive(eps: float) -> _Draw:
    def draw(gen, n):
        x = gen.uniform(0.0, 1.0, size=(n, 1))
        return x, x + gen.uniform(-eps, eps, size=(n, 1))

    return draw


# ----------------------------------------------------------------------------------------
# Transforms (injective, applied to X and Y separately)


def _normal_cdf(a):
    return special.ndtr(a)


def _half_cube(a):
    return a * np.sqrt(np.abs(a))


def _wiggly_x(a):
    return a + 0.4 * np.sin(1.0 * a) + 0.2 * np.sin(1.7 * a + 1) + 0.03 * np.sin(3.3 * a - 2.5)


def _wiggly_y(a):
    return a - 0.4 * np.sin(0.4 * a) + 0.17 * np.sin(1.3 * a + 3.5) + 0.02 * np.sin(4.3 * a - 2.5)


def _mixture_quantile_of_normal(a, weights, means, iterations: int = 64):
    """F^-1(Phi(a)) for F the CDF of sum_k w_k N(m_k, 1), by bisection in both tails.

    bmi computes Phi first and inverts F by bisection on [-10, 10]; here the comparison
    F(z) < Phi(a) is made as S(z) > Phi(-a) (survival functions) for a > 0, so both tails
    keep full precision, and the bracket [a + min m, a + max m] always holds the root.
    """
    a = np.asarray(a, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(means, dtype=np.float64)
    upper = a > 0
    target = special.ndtr(np.where(upper, -a, a))
    lo, hi = a + m.min(), a + m.max()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        d = mid[..., None] - m
        below = np.where(upper, special.ndtr(-d) @ w > target, special.ndtr(d) @ w < target)
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _bimodal_x(a):
    return _mixture_quantile_of_normal(a, (0.3, 0.7), (0.0, 5.0))


def _bimodal_y(a):
    return _mixture_quantile_of_normal(a, (0.5, 0.5), (-1.0, 3.0))


def _swissroll(u):
    """[0, 1] -> R^2: t = 1.5 pi (1 + 2u), (t cos t, t sin t) / 21 (bmi's ``swissroll2d``)."""
    t = 1.5 * np.pi * (1.0 + 2.0 * u[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def _spiral(i: int, j: int, speed: float):
    """x -> exp(speed ||x||^2 A) x, A[i, j] = -1, A[j, i] = 1 (bmi's ``Spiral``, so_generator).

    exp(theta A) is the rotation by theta in the plane of coordinates (i, j); the norm is
    preserved, so the inverse rotates back by speed ||y||^2.
    """
    def spiral(a):
        theta = speed * np.einsum("ij,ij->i", a, a)
        c, s = np.cos(theta), np.sin(theta)
        out = a.copy()
        out[:, i] = c * a[:, i] - s * a[:, j]
        out[:, j] = s * a[:, i] + c * a[:, j]
        return out

    return spiral


def _transformed(draw: _Draw, fx=None, fy=None) -> _Draw:
    def new_draw(gen, n):
        x, y = draw(gen, n)
        return (x if fx is None else fx(x)), (y if fy is None else fy(y))

    return new_draw


# ----------------------------------------------------------------------------------------
# The Beyond Normal task list (bmi.benchmark.task_list.BENCHMARK_TASKS_LIST)


def _wrap(base: MITask, prefix: str, label: str, fx, fy, *, dim_x=None, name=None,
          description=None) -> MITask:
    return MITask(name or f"{prefix}-{base.name}", dim_x or base.dim_x, base.dim_y,
                  base.mutual_information, description or f"{label} @ {base.description}",
                  _transformed(base._draw, fx, fy))


def _normal_cdf_task(base):
    return _wrap(base, "normal_cdf", "Normal CDF", _normal_cdf, _normal_cdf)


def _half_cube_task(base):
    return _wrap(base, "half_cube", "Half-cube", _half_cube, _half_cube)


def _asinh_task(base):
    return _wrap(base, "asinh", "Asinh", np.arcsinh, np.arcsinh)


def _spiral_task(base):
    return _wrap(base, "spiral", "Spiral", _spiral(0, 1, 1.0 / base.dim_x),
                 _spiral(1, 2, 1.0 / base.dim_y))


def _binormal(rho: float = 0.75) -> MITask:
    cov = np.array([[1.0, rho], [rho, 1.0]])
    return MITask(f"1v1-normal-{rho}", 1, 1, -0.5 * math.log1p(-rho * rho),
                  f"Bivariate normal 1 × 1 (correlation {rho})", _gaussian(cov, 1))


def _dense(d: int, off_diag: float = 0.5) -> MITask:
    cov = _dense_covariance(d, d, off_diag)
    return MITask(f"multinormal-dense-{d}-{d}-{off_diag}", d, d, _gaussian_mi(cov, d),
                  f"Multinormal {d} × {d} (dense, all correlations {off_diag})",
                  _gaussian(cov, d))


def _two_pair(d: int, strength: float = 2.0) -> MITask:
    cov = _two_pair_covariance(d, d, strength)
    return MITask(f"multinormal-sparse-{d}-{d}-2-{strength}", d, d, _gaussian_mi(cov, d),
                  f"Multinormal {d} × {d} (2-pair, corr(X_i, Y_i) = 0.8 for i = 1, 2)",
                  _gaussian(cov, d))


def _student_task(d: int, df: int) -> MITask:
    return MITask(f"student-identity-{d}-{d}-{df}", d, d, _student_mi(d, d, df),
                  f"Student-t {d} × {d} (dof={df}, identity dispersion)",
                  _student(d, d, df))


def _additive_task(eps: float) -> MITask:
    return MITask(f"1v1-additive-{eps}", 1, 1, _additive_mi(eps),
                  f"Uniform 1 × 1 (additive noise={eps}): X ~ U(0, 1), Y = X + U(-{eps}, {eps})",
                  _additive(eps))


@cache
def _beyond_normal() -> dict[str, MITask]:
    binormal = _binormal(0.75)
    uniform = _normal_cdf_task(binormal)
    bistudent = _student_task(1, 1)
    one_dim = [
        binormal,
        uniform,
        _additive_task(0.1),
        _additive_task(0.75),
        # bmi: F^-1 applied to the uniform task, i.e. F^-1(Phi(.)) on the bivariate normal
        _wrap(binormal, "", "", _bimodal_x, _bimodal_y, name="1v1-bimodal-0.75",
              description="Bimodal 1 × 1: Phi of the bivariate normal (0.75) through the "
                          "quantiles of 0.3 N(0, 1) + 0.7 N(5, 1) (X), 0.5 N(-1, 1) + "
                          "0.5 N(3, 1) (Y)"),
        _wrap(binormal, "wiggly", "Wiggly", _wiggly_x, _wiggly_y),
        _half_cube_task(binormal),
        bistudent,
        _asinh_task(bistudent),
    ]
    embeddings = [_wrap(uniform, "swissroll_x", "", _swissroll, None, dim_x=2,
                        description="Swiss roll 2 × 1: X = swissroll(U), U, V uniform with "
                                    "the Gaussian copula of correlation 0.75")]
    multinormal = [_dense(d) for d in (2, 3, 5, 25, 50)] + [_two_pair(d) for d in (2, 3, 5, 25)]
    student = [_student_task(d, df) for d, df in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    bases = [_two_pair(d) for d in (3, 5, 25)]
    transformed = ([_normal_cdf_task(b) for b in bases] + [_half_cube_task(b) for b in bases]
                   + [_spiral_task(b) for b in bases]
                   + [_spiral_task(_normal_cdf_task(b)) for b in bases]
                   + [_asinh_task(_student_task(d, df)) for d, df in ((2, 1), (3, 2), (5, 2))])
    tasks = one_dim + embeddings + multinormal + student + transformed
    return {t.name: t for t in tasks}


# ----------------------------------------------------------------------------------------
# The staircase of Poole et al. (2019)

_STAIRCASE_KINDS = ("gaussian", "cubic")


def staircase_task(mi, *, dim: int = 20, kind: str = "gaussian") -> MITask:
    """The correlated Gaussian of the staircase of Poole et al. (2019) at level ``mi``.

    X ~ N(0, I_dim) and Y = rho X + sqrt(1 - rho^2) E with E ~ N(0, I_dim) independent, so
    each pair (X_i, Y_i) has correlation rho and

    .. math:: I(X; Y) = -\\frac{d}{2} \\log(1 - \\rho^2), \\qquad
              \\rho = \\sqrt{1 - e^{-2 I / d}}.

    ``kind="cubic"`` returns Y**3 instead of Y (an invertible map of each coordinate, so
    I(X; Y) is unchanged).  Named ``staircase-<kind>-<dim>-<mi>``.

    Parameters
    ----------
    mi : float
        The mutual information in nats, > 0.
    dim : int
        Dimension of X and of Y (20 in the paper).
    kind : {"gaussian", "cubic"}

    Returns
    -------
    MITask

    References
    ----------
    B. Poole, S. Ozair, A. van den Oord, A. A. Alemi, G. Tucker.  On Variational Bounds of
    Mutual Information.  ICML 2019 (the ``sample_correlated_gaussian`` / ``mi_to_rho`` of
    its notebook).

    Examples
    --------
    >>> from divest.reference import staircase_task
    >>> task = staircase_task(2.0)
    >>> task.name, task.dim_x, task.mutual_information
    ('staircase-gaussian-20-2', 20, 2.0)
    >>> x, y = staircase_task(2.0, kind="cubic").sample(3, rng=0)
    >>> y.shape
    (3, 20)
    """
    mi = check_real(mi, "mi", low=0.0)
    dim = check_positive_int(dim, "dim")
    kind = check_choice(kind, "kind", _STAIRCASE_KINDS)
    rho = math.sqrt(-math.expm1(-2.0 * mi / dim))
    noise = math.exp(-mi / dim)  # sqrt(1 - rho^2)

    def draw(gen, n):
        x = gen.standard_normal((n, dim))
        y = rho * x + noise * gen.standard_normal((n, dim))
        return x, (y ** 3 if kind == "cubic" else y)

    desc = (f"Staircase (Poole et al. 2019), {kind}: X ~ N(0, I_{dim}), "
            f"Y{'^3' if kind == 'cubic' else ''} with Y = rho X + sqrt(1 - rho^2) E, "
            f"rho = {rho:.6g}")
    return MITask(f"staircase-{kind}-{dim}-{mi:g}", dim, dim, mi, desc, draw)


def staircase_schedule(n_steps: int) -> np.ndarray:
    """The MI (nats) at each training step of the staircase: 2, 4, 6, 8, 10 in equal blocks.

    Step i (0-based) of ``n_steps`` gets ``STAIRCASE_MI[5 i // n_steps]``.  Poole et al.'s
    notebook (``mi_schedule``) uses ``round(linspace(0.5, 5.5 - 1e-9, n_steps)) * 2``, which
    gives the same blocks except at their boundaries, and MI 0 at step 0 (numpy rounds
    0.5 to 0); the schedule here never leaves the five levels.

    Examples
    --------
    >>> from divest.reference import staircase_schedule
    >>> staircase_schedule(10)
    array([ 2.,  2.,  4.,  4.,  6.,  6.,  8.,  8., 10., 10.])
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    levels = np.asarray(STAIRCASE_MI)
    return levels[(len(levels) * np.arange(n_steps)) // n_steps]


@cache
def _staircase() -> dict[str, MITask]:
    tasks = [staircase_task(mi, kind=kind) for kind in _STAIRCASE_KINDS for mi in STAIRCASE_MI]
    return {t.name: t for t in tasks}


_SUITES = {"beyond_normal": _beyond_normal, "staircase": _staircase}


def mi_tasks(suite: str = "beyond_normal") -> tuple[str, ...]:
    """Names of the mutual-information tasks of a suite, in the order of its paper.

    Parameters
    ----------
    suite : {"beyond_normal", "staircase"}
        ``"beyond_normal"``: the 40 tasks of Czyż et al. (2023), bmi's task ids in the order
        of ``bmi.benchmark.BENCHMARK_TASKS`` (1-D tasks, Swiss roll, multinormal, Student-t,
        transformed).  ``"staircase"``: the 10 tasks of Poole et al. (2019), Gaussian then
        cubic, MI 2, 4, ..., 10 in dimension 20.

    Examples
    --------
    >>> from divest.reference import mi_tasks
    >>> names = mi_tasks()
    >>> len(names), names[0]
    (40, '1v1-normal-0.75')
    >>> mi_tasks("staircase")[:2]
    ('staircase-gaussian-20-2', 'staircase-gaussian-20-4')
    """
    check_choice(suite, "suite", tuple(_SUITES))
    return tuple(_SUITES[suite]())


def get_mi_task(name: str) -> MITask:
    """The task called ``name`` (from any suite of :func:`mi_tasks`).

    Raises
    ------
    ValueError
        Unknown name; the message lists the valid ones.

    Examples
    --------
    >>> from divest.reference import get_mi_task
    >>> task = get_mi_task("multinormal-sparse-3-3-2-2.0")
    >>> task.dim_x, task.dim_y, round(task.mutual_information, 6)
    (3, 3, 1.021651)
    """
    for suite in _SUITES.values():
        if name in suite():
            return suite()[name]
    valid = [n for suite in _SUITES.values() for n in suite()]
    raise ValueError(f"unknown MI task {name!r}; available: {', '.join(valid)}")
