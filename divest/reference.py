"""Named reference pairs of distributions with their exact divergences.

Each :class:`ReferencePair` holds two distributions and computes the exact value of
every divergence that applies to it (closed forms where registered, 30-digit-class
quadrature in 1-D otherwise).  Tests, benchmarks and ``divest crosscheck`` use them.
For five 1-D pairs it also carries *independent* values computed outside divest by
arbitrary-precision quadrature (``ReferencePair.independent``).

Beside these standard pairs (:func:`pairs`) it holds *hard* pairs (:func:`hard_pairs`),
the data on which sample estimators fail quietly (issue 16), each with exact values checked
independently in ``tests/test_hard_pairs.py``:

* heavy tails: multivariate Student t (nu = 3, 5, 10) against N(0, I) and t_3 against t_10
  both ways, in d = 1, 3, 10 (``t5-normal-d3``, ``t3-t10-d10``, ...), exact by the radial
  reduction to the laws of :math:`|X|^2` and 1-D quadrature;
* high dimension: Gaussian mean shift, scale change and AR(1) correlation in d = 25, 50, 100
  with KL between 0.9 and 4.7 (``gauss-shift-d50``, ...), closed forms;
* log-normals (``lognormal-1-2``, ``lognormal-d3``), whose values are those of the normals;
* ties: normals rounded to a grid (:class:`Rounded`; ``rounded-normal-1-2``,
  ``rounded0.1-shift-d2``, ``rounded1-shift-d2``), whose truth is the divergence of the
  discrete laws, summed over the grid;
* a far-away small mixture component (``mixture-far-d1``, ``mixture-far-d2``).

:func:`get_pair` finds both kinds; :func:`pairs` lists only the standard ones.

It also holds mutual-information benchmark tasks, joint distributions of (X, Y) with exact
I(X; Y) (:class:`MITask`, :func:`mi_tasks`, :func:`get_mi_task`): the 40 tasks of the
Beyond Normal benchmark (Czyż et al. 2023) and the correlated-Gaussian staircase of
Poole et al. (2019) (:func:`staircase_task`, :data:`STAIRCASE_MI`, :func:`staircase_schedule`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Callable

import numpy as np
from scipy import stats

from . import _names
from ._hard_pairs import LogNormal, Rounded, hard_pair_specs
from ._mi_tasks import (
    STAIRCASE_MI, MITask, get_mi_task, mi_tasks, staircase_schedule, staircase_task,
)
from ._result import Estimate
from ._validation import check_positive_int, check_rng
from .distributions import Mixture, ParallelLines, dimension
from .exact import _best_exact

__all__ = ["DEFAULT_PAIR", "LogNormal", "MITask", "ReferencePair", "Rounded", "STAIRCASE_MI",
           "STANDARD_NAMES", "get_mi_task", "get_pair", "hard_pairs", "mi_tasks", "pairs",
           "parallel_lines", "staircase_schedule", "staircase_task"]

#: the divergences evaluated on every reference pair (where they apply)
STANDARD_NAMES = (
    "kl", "reverse_kl", "jeffreys", "pearson", "neyman", "squared_hellinger", "bhattacharyya",
    "js", "js_weighted(pi=0.25)", "gan", "tv", "alpha(alpha=0.5)", "alpha(alpha=2)",
    "renyi(alpha=0.5)", "renyi(alpha=2)", "wasserstein(p=1)", "wasserstein(p=2)",
    "mmd2(bandwidth=1)", "energy",
)

#: the pair used by ``divest crosscheck`` when none is given
DEFAULT_PAIR = "normal-1-2"

_INF = math.inf

# Independent values: arbitrary-precision (30-digit) quadrature from the densities alone,
# from ``shared/reference_values.json``.  The total-variation entries of four pairs there
# were off by 1e-8 to 6e-7 (the integrand |p - q| has kinks where the densities cross);
# the values below were recomputed with mpmath at 30 digits, splitting the integral at
# every crossing point and at the kink of the Laplace density.
_INDEPENDENT = {
    "normal-1-2": {
        "kl": 0.4431471805599453, "reverse_kl": 1.3068528194400546, "jeffreys": 1.75,
        "squared_hellinger": 0.2983890756947196, "bhattacharyya": 0.16157177565710487,
        "tv": 0.39006566012105566105, "js": 0.128174973054398, "gan": -1.1299444150110947,
        "js_weighted(pi=0.25)": 0.08775093338337368, "alpha(alpha=0.5)": 0.5967781513894392,
        "renyi(alpha=0.5)": 0.32314355131420974, "pearson": 0.7440263415096852, "neyman": _INF,
        "alpha(alpha=2)": 0.3720131707548426, "renyi(alpha=2)": 0.5561964294493769,
    },
    "normal-laplace": {
        "kl": 0.07209320815813793, "reverse_kl": 0.22579135264472744,
        "jeffreys": 0.29788456080286535, "squared_hellinger": 0.050436858796312344,
        "bhattacharyya": 0.02554186323474803, "tv": 0.117473677257097808760642169609,
        "js": 0.021930395883506034, "gan": -1.3424335693528786,
        "js_weighted(pi=0.25)": 0.014700340570995472, "alpha(alpha=0.5)": 0.10087371759262469,
        "renyi(alpha=0.5)": 0.05108372646949606, "pearson": 0.10150145132700063, "neyman": _INF,
        "alpha(alpha=2)": 0.050750725663500314, "renyi(alpha=2)": 0.0966742048508595,
    },
    "t3-normal": {
        "kl": 0.6454609613413818, "reverse_kl": 0.06915159848517623,
        "jeffreys": 0.714612559826558, "squared_hellinger": 0.05319652302196317,
        "bhattacharyya": 0.026958395587852006, "tv": 0.098593524404405358295,
        "js": 0.02196931968112236, "gan": -1.3423557217576458,
        "js_weighted(pi=0.25)": 0.02024621720965612, "alpha(alpha=0.5)": 0.10639304604392634,
        "renyi(alpha=0.5)": 0.05391679117570401, "pearson": _INF, "neyman": 0.08728462719314402,
        "alpha(alpha=2)": _INF, "renyi(alpha=2)": _INF,
    },
    "bimodal-normal": {
        "kl": 0.18357053813728808, "reverse_kl": 0.3475434175146416,
        "jeffreys": 0.5311139556519296, "squared_hellinger": 0.10952594118173391,
        "bhattacharyya": 0.056319558168098895, "tv": 0.25279954726401293952,
        "js": 0.05069162419428892, "gan": -1.2849111127313129,
        "js_weighted(pi=0.25)": 0.03579198371441894, "alpha(alpha=0.5)": 0.21905188236346781,
        "renyi(alpha=0.5)": 0.11263911633619779, "pearson": 0.32172646822035855, "neyman": _INF,
        "alpha(alpha=2)": 0.16086323411017928, "renyi(alpha=2)": 0.27893881247227786,
    },
    "exp-gamma": {
        "kl": 0.5772156649015329, "reverse_kl": 0.42278433509846713, "jeffreys": 1.0,
        "squared_hellinger": 0.22754614909448398, "bhattacharyya": 0.12078223763524522,
        "tv": 0.36787944117144233, "js": 0.10636566694758184, "gan": -1.1735630272247268,
        "js_weighted(pi=0.25)": 0.08577808513617946, "alpha(alpha=0.5)": 0.45509229818896796,
        "renyi(alpha=0.5)": 0.24156447527049044, "pearson": _INF, "neyman": 1.0,
        "alpha(alpha=2)": _INF, "renyi(alpha=2)": _INF,
    },
}


@dataclass(frozen=True, eq=False)
class ReferencePair:
    r"""Two distributions P, Q with the exact values of their divergences.

    Attributes
    ----------
    name : str
        Identifier used by :func:`get_pair` and ``divest crosscheck --pair``.
    description : str
        What P and Q are.
    P, Q : distributions
        Frozen scipy.stats or divest distributions.
    independent : dict
        Values computed outside divest (arbitrary-precision quadrature), where available.
    ratio_bounded : bool or None
        Whether the density ratio :math:`p/q` is bounded (``None``: not stated).  The
        nonparametric ratio estimators (kNN, uLSIF, KLIEP) claim their intervals for
        Pearson :math:`\chi^2` and the alpha-family with :math:`\alpha > 1` only then
        (``docs/conventions.rst``, "When an interval is claimed").
    log_ratio_variance_finite : bool or None
        Whether :math:`\mathrm{Var}_P[\log r(X)]` is finite, :math:`r = p/q`
        (``None``: not stated): the P-part of the influence function of KL.  Not for
        t3-normal: :math:`\log r \approx x^2/2` and :math:`\mathbb E_{t_3} X^4 =
        \infty`.  The Q-part, :math:`-r(Y)`, has variance :math:`\chi^2(P\|Q)`
        (``values["pearson"]``), infinite for exp-gamma.
    chi2_variance_finite : bool or None
        Whether :math:`\int p^4/q^3 < \infty`, i.e. whether the influence function
        of Pearson :math:`\chi^2` has a finite variance (its Q-part is
        :math:`1 - r(Y)^2`, its P-part :math:`2 r(X)`).  Not for correlated-d2: for
        Gaussians :math:`\int p^a q^{1-a}` is finite only while
        :math:`a\Sigma_P^{-1} + (1-a)\Sigma_Q^{-1}` is positive definite, there for
        :math:`a < 2.25`.
    exact_method : callable or None
        For pairs whose distributions divest's closed forms and 1-D quadrature do not
        cover (the hard pairs: multivariate t, rounded data, a 2-D mixture, log-normals):
        ``exact_method(label)`` returns the exact :class:`~divest.Estimate` of the
        divergence ``label`` or None; :meth:`exact` asks it first.

    Examples
    --------
    >>> from divest.reference import get_pair
    >>> pair = get_pair("mean-shift-d5")
    >>> pair.dim, pair.values["kl"]
    (5, 2.5)
    >>> X, Y = pair.sample(100, rng=0)
    >>> X.shape, Y.shape
    ((100, 5), (100, 5))
    """

    name: str
    description: str
    P: object
    Q: object
    independent: dict = field(default_factory=dict)
    ratio_bounded: bool | None = None
    log_ratio_variance_finite: bool | None = None
    chi2_variance_finite: bool | None = None
    exact_method: Callable[[str], Estimate | None] | None = field(default=None, repr=False)

    @property
    def facts(self):
        """What the interval claims need to know of the pair (:class:`divest._methods.PairFacts`)."""
        from ._methods import PairFacts
        chi2 = self.values.get("pearson")
        return PairFacts(ratio_bounded=self.ratio_bounded,
                         log_ratio_variance_finite=self.log_ratio_variance_finite,
                         chi2_finite=None if chi2 is None else math.isfinite(chi2),
                         chi2_variance_finite=self.chi2_variance_finite)

    @property
    def dim(self) -> int:
        """Dimension of the sample space."""
        return dimension(self.P)

    def exact(self, name: str, **params) -> Estimate | None:
        """Exact value of one divergence (the pair's ``exact_method``, else a closed form or
        1-D quadrature), or None if unavailable."""
        label = _names.resolve(name, **params).label
        if self.exact_method is not None:
            est = self.exact_method(label)
            if est is not None:
                return est
        return _best_exact(self.P, self.Q, label)

    @cached_property
    def exact_estimates(self) -> dict[str, Estimate]:
        """Exact values (as :class:`~divest.Estimate`) of every standard divergence that applies."""
        out = {}
        for label in STANDARD_NAMES:
            est = self.exact(label)
            if est is not None:
                out[label] = est
        return out

    @property
    def values(self) -> dict[str, float]:
        """Exact values by divergence label (only the divergences that have one)."""
        return {k: v.value for k, v in self.exact_estimates.items()}

    def sample(self, n, rng=None):
        """Draw ``n`` samples from each of P and Q as arrays of shape (n, dim)."""
        return draw(self.P, self.Q, check_positive_int(n, "n"), check_rng(rng))

    def __repr__(self) -> str:
        return f"ReferencePair({self.name!r}: {self.description})"


def draw(P, Q, n, rng):
    """``n`` samples of each of P and Q as float arrays of shape (n, dim) (P drawn first)."""
    X = np.asarray(P.rvs(size=n, random_state=rng), dtype=float).reshape(n, -1)
    Y = np.asarray(Q.rvs(size=n, random_state=rng), dtype=float).reshape(n, -1)
    return X, Y


#: (ratio p/q bounded, Var_P log(p/q) finite, int p^4/q^3 finite) by pair, with the
#: reason; checked from the densities in tests/test_reference_crosscheck.py
_TAILS = {
    "normal-1-2": (True, True, True),           # Q wider: log r = -x^2/2 + (x-1)^2/8 + c
    "normal-laplace": (True, True, True),       # log r = -x^2/2 + |x| + c
    "t3-normal": (False, False, False),         # log r ~ x^2/2, E_P X^4 = inf for t3
    "bimodal-normal": (True, True, True),       # components of sd 1 under Q of sd 2.5
    "exp-gamma": (False, True, False),          # r = 1/x at 0; Var(log X) = pi^2/6
    "mean-shift-large": (False, True, True),    # log r linear in x: Gaussian under P
    "mean-shift-d1": (False, True, True),
    "mean-shift-d2": (False, True, True),
    "mean-shift-d5": (False, True, True),
    "mean-shift-d10": (False, True, True),
    "scale-change-d2": (True, True, True),      # Q = N(0, 4 I) wider in every direction
    "correlated-d2": (False, True, False),      # P's variance 1.8 > 1 along (1, 1)
    "correlated-shift-d2": (False, True, True),  # same covariance, shifted: log r linear
    "disjoint-uniforms": (False, False, False),  # p > 0 where q = 0: KL = inf
    "nested-uniforms": (True, True, True),      # r = 2 on [0, 1]
    "parallel-lines": (False, False, False),    # singular: P not absolutely continuous
}


def _mvn(mean, cov):
    return stats.multivariate_normal(np.asarray(mean, float), np.asarray(cov, float))


def _build() -> dict[str, ReferencePair]:
    pairs = [
        ReferencePair("normal-1-2", "P = N(0, 1), Q = N(1, 2^2)", stats.norm(0, 1),
                      stats.norm(1, 2)),
        ReferencePair("normal-laplace", "P = N(0, 1), Q = Laplace(0, 1)", stats.norm(0, 1),
                      stats.laplace(0, 1)),
        ReferencePair("t3-normal", "heavy tails: P = Student t(3), Q = N(0, 1)", stats.t(3),
                      stats.norm(0, 1)),
        ReferencePair("bimodal-normal", "P = 0.5 N(-2, 1) + 0.5 N(2, 1), Q = N(0, 2.5^2)",
                      Mixture([stats.norm(-2, 1), stats.norm(2, 1)], [0.5, 0.5]),
                      stats.norm(0, 2.5)),
        ReferencePair("exp-gamma", "P = Exponential(1), Q = Gamma(2, 1)", stats.expon(),
                      stats.gamma(2)),
        ReferencePair("mean-shift-large", "P = N(3, 1), Q = N(0, 1) (KL = 4.5)",
                      stats.norm(3, 1), stats.norm(0, 1)),
    ]
    for d in (1, 2, 5, 10):
        pairs.append(ReferencePair(
            f"mean-shift-d{d}", f"P = N(1_{d}, I_{d}), Q = N(0, I_{d}) (KL = {d / 2:g})",
            _mvn(np.ones(d), np.eye(d)), _mvn(np.zeros(d), np.eye(d))))
    pairs += [
        ReferencePair("scale-change-d2", "P = N(0, I_2), Q = N(0, 4 I_2)",
                      _mvn(np.zeros(2), np.eye(2)), _mvn(np.zeros(2), 4 * np.eye(2))),
        ReferencePair("correlated-d2", "P = N(0, [[1, .8], [.8, 1]]), Q = N(0, I_2)",
                      _mvn(np.zeros(2), [[1.0, 0.8], [0.8, 1.0]]), _mvn(np.zeros(2), np.eye(2))),
        ReferencePair("correlated-shift-d2",
                      "P = N((1, -1), S), Q = N(0, S), S = [[1, .8], [.8, 1]]",
                      _mvn([1.0, -1.0], [[1.0, 0.8], [0.8, 1.0]]),
                      _mvn(np.zeros(2), [[1.0, 0.8], [0.8, 1.0]])),
        ReferencePair("disjoint-uniforms", "P = U(0, 1), Q = U(2, 3)", stats.uniform(0, 1),
                      stats.uniform(2, 1)),
        ReferencePair("nested-uniforms", "P = U(0, 1), Q = U(0, 2)", stats.uniform(0, 1),
                      stats.uniform(0, 2)),
        ReferencePair("parallel-lines", "P = (1, U), Q = (0, U), U ~ U[0, 1] (theta = 1)",
                      ParallelLines(1.0), ParallelLines(0.0)),
    ]
    out = {}
    for p in pairs:
        object.__setattr__(p, "independent", dict(_INDEPENDENT.get(p.name, {})))
        bounded, finite, chi2_finite = _TAILS[p.name]
        object.__setattr__(p, "ratio_bounded", bounded)
        object.__setattr__(p, "log_ratio_variance_finite", finite)
        object.__setattr__(p, "chi2_variance_finite", chi2_finite)
        out[p.name] = p
    return out


_PAIRS = _build()


def pairs() -> tuple[str, ...]:
    """Names of the reference pairs.

    Examples
    --------
    >>> from divest import reference
    >>> "normal-1-2" in reference.pairs()
    True
    """
    return tuple(_PAIRS)


@cache
def _hard() -> dict[str, ReferencePair]:
    """The hard pairs, built on first use."""
    out = {}
    for spec in hard_pair_specs():
        src = spec["independent_from"]
        bounded, finite, chi2_finite = spec["facts"]
        out[spec["name"]] = ReferencePair(
            spec["name"], spec["description"], spec["P"], spec["Q"],
            independent=dict(_INDEPENDENT[src]) if src else {}, ratio_bounded=bounded,
            log_ratio_variance_finite=finite, chi2_variance_finite=chi2_finite,
            exact_method=spec["exact_method"])
    return out


def hard_pairs() -> tuple[str, ...]:
    """Names of the hard reference pairs: heavy tails, high dimension, ties, far components.

    They are kept apart from :func:`pairs` (which the tests and the golden snapshot run
    over); :func:`get_pair` finds both.  See the module docstring for the list.  Exact
    values are available for at least ``kl`` on every pair (``pair.values``); divergences
    that cannot be computed reliably for a pair are absent from its values.

    Examples
    --------
    >>> from divest import reference
    >>> "t5-normal-d3" in reference.hard_pairs(), "t5-normal-d3" in reference.pairs()
    (True, False)
    >>> pair = reference.get_pair("t5-normal-d3")
    >>> pair.dim, round(pair.values["kl"], 4), pair.values["pearson"]
    (3, 0.4208, inf)
    >>> X, Y = pair.sample(10, rng=0)
    >>> X.shape, Y.shape
    ((10, 3), (10, 3))
    """
    return tuple(_hard())


def get_pair(name: str = DEFAULT_PAIR) -> ReferencePair:
    """The reference pair called ``name``, standard (:func:`pairs`) or hard (:func:`hard_pairs`).

    Raises
    ------
    ValueError
        Unknown name; the message lists the valid ones.
    """
    if name in _PAIRS:
        return _PAIRS[name]
    hard = _hard()
    if name not in hard:
        raise ValueError(f"unknown reference pair {name!r}; available: {', '.join(_PAIRS)}; "
                         f"hard pairs: {', '.join(hard)}")
    return hard[name]


def parallel_lines(theta: float) -> ReferencePair:
    """The parallel-lines pair P = (theta, U), Q = (0, U) at any theta."""
    same = float(theta) == 0.0
    return ReferencePair(f"parallel-lines({theta:g})",
                         f"P = ({theta:g}, U), Q = (0, U), U ~ U[0, 1]",
                         ParallelLines(theta), ParallelLines(0.0),
                         ratio_bounded=same, log_ratio_variance_finite=same,
                         chi2_variance_finite=same)
