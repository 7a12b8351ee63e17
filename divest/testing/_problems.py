"""Frozen containers for the examples the strategies draw.

Hypothesis prints a failing example with ``repr``, so every container here has a short
``repr`` from which the example can be rebuilt: probability vectors as lists of floats
(``repr`` of a float round-trips), Gaussian parameters as nested lists, sample sets by
their sizes, seed and distribution pair (``pair.sample(n, m, rng=seed)`` redraws them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
from scipy import stats

from .. import _names
from .. import fdiv as _fdiv

__all__ = ["DistributionPair", "DivergenceName", "GaussianParameters", "PmfPair", "SamplePair"]


def _frozen_array(x) -> np.ndarray:
    arr = np.array(x, dtype=float)
    arr.setflags(write=False)
    return arr


def fmt_array(x) -> str:
    """A numpy array as a (round-trippable) nested list of floats."""
    return repr(np.asarray(x, dtype=float).tolist())


def fmt_value(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v)


class _ReprInHypothesis:
    """Make hypothesis print the class's ``repr`` (it prints dataclasses field by field)."""

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))


@dataclass(frozen=True, eq=False, repr=False)
class PmfPair(_ReprInHypothesis):
    """Two probability vectors of the same length, drawn by :func:`strategies.pmf_pairs`.

    Attributes
    ----------
    p, q : ndarray
        Read-only float64 arrays, each non-negative and summing to one.
    overlap : str
        How the supports relate: ``"identical"``, ``"overlapping"`` or ``"disjoint"``.

    Unpacks as ``p, q = pair``.

    Examples
    --------
    >>> from divest.testing import PmfPair
    >>> pair = PmfPair([0.5, 0.5], [1.0, 0.0])
    >>> pair
    PmfPair(p=[0.5, 0.5], q=[1.0, 0.0])
    >>> p, q = pair
    """

    p: np.ndarray
    q: np.ndarray
    overlap: str = "overlapping"

    def __post_init__(self):
        object.__setattr__(self, "p", _frozen_array(self.p))
        object.__setattr__(self, "q", _frozen_array(self.q))

    def __iter__(self):
        return iter((self.p, self.q))

    def __repr__(self) -> str:
        return f"PmfPair(p={fmt_array(self.p)}, q={fmt_array(self.q)})"


@dataclass(frozen=True, eq=False, repr=False)
class GaussianParameters(_ReprInHypothesis):
    """Mean and positive-definite covariance of a Gaussian, drawn by
    :func:`strategies.gaussian_parameters`.

    Attributes
    ----------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)
        Symmetric positive definite.

    Examples
    --------
    >>> from divest.testing import GaussianParameters
    >>> g = GaussianParameters([0.0, 1.0], [[2.0, 0.0], [0.0, 0.5]])
    >>> g.dim, g.condition_number
    (2, 4.0)
    >>> g.distribution().mean
    array([0., 1.])
    """

    mean: np.ndarray
    cov: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "mean", _frozen_array(np.atleast_1d(self.mean)))
        object.__setattr__(self, "cov", _frozen_array(np.atleast_2d(self.cov)))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return self.mean.size

    @property
    def condition_number(self) -> float:
        """Ratio of the largest to the smallest eigenvalue of ``cov``."""
        ev = np.linalg.eigvalsh(self.cov)
        return float(ev[-1] / ev[0])

    def distribution(self):
        """The frozen ``scipy.stats.multivariate_normal``."""
        return stats.multivariate_normal(self.mean, self.cov)

    def __repr__(self) -> str:
        return f"N(mean={fmt_array(self.mean)}, cov={fmt_array(self.cov)})"


def label_of(name, params=None) -> str:
    """Canonical label of a divergence name with parameters (``"alpha(alpha=0.5)"``)."""
    return _names.resolve(name, **dict(params or {})).label


@dataclass(frozen=True, eq=False, repr=False)
class DistributionPair(_ReprInHypothesis):
    """Two distributions with the exact values of their divergences.

    Drawn by :func:`strategies.distribution_pairs`.

    Attributes
    ----------
    P, Q : distributions
        Frozen scipy.stats or divest distributions with ``rvs``.
    exact : Mapping[str, float]
        Exact values by canonical label (``"kl"``, ``"alpha(alpha=0.5)"``), in nats;
        may be ``inf``.
    tolerance : Mapping[str, float]
        Absolute accuracy of each exact value: the quadrature error bound where the
        value comes from quadrature, else rounding (1e-9 relative).
    description : str
        What P and Q are (the reference pair's name, or the Gaussian parameters).
    family : str
        ``"gaussian"`` or ``"reference"``.
    gaussians : tuple of GaussianParameters, or None
        The parameters of P and Q for the Gaussian family (used for projections).

    Examples
    --------
    >>> from divest.testing import DistributionPair, GaussianParameters
    >>> pair = DistributionPair.from_gaussians(GaussianParameters([1.0], [[1.0]]),
    ...                                        GaussianParameters([0.0], [[1.0]]), ["kl", "tv"])
    >>> pair.value("kl")
    0.5
    >>> X, Y = pair.sample(100, rng=0)
    >>> X.shape, Y.shape
    ((100, 1), (100, 1))
    """

    P: Any
    Q: Any
    exact: Mapping[str, float]
    tolerance: Mapping[str, float]
    description: str
    family: str
    gaussians: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "exact", MappingProxyType(dict(self.exact)))
        object.__setattr__(self, "tolerance", MappingProxyType(dict(self.tolerance)))

    @classmethod
    def from_gaussians(cls, gp: GaussianParameters, gq: GaussianParameters, names, *,
                       skip_missing=False):
        """The pair N(gp) ‖ N(gq) with the closed forms of ``names`` (labels).

        A name without a closed form for this pair raises
        :class:`~divest.exact.NoClosedForm`, or is left out with ``skip_missing=True``.
        """
        from ..exact import NoClosedForm, closed_form
        P, Q = gp.distribution(), gq.distribution()
        exact = {}
        for label in names:
            try:
                exact[label] = closed_form(P, Q, label)
            except NoClosedForm:
                if not skip_missing:
                    raise
        tol = {k: rounding_tolerance(v) for k, v in exact.items()}
        return cls(P, Q, exact, tol, f"P={gp!r}, Q={gq!r}", "gaussian", (gp, gq))

    @property
    def dim(self) -> int:
        """Dimension of the sample space."""
        from ..distributions import dimension
        return dimension(self.P)

    def value(self, name, **params) -> float:
        """The exact value of ``name``; KeyError (listing what is available) if absent."""
        label = label_of(name, params)
        if label not in self.exact:
            raise KeyError(f"this pair has no exact value of {label!r}; it has "
                           f"{', '.join(self.exact) or 'none'}")
        return self.exact[label]

    def sample(self, n, m=None, rng=None):
        """Draw ``n`` samples of P and ``m`` (default ``n``) of Q, shapes (n, d) and (m, d)."""
        from .._validation import check_positive_int, check_rng
        n = check_positive_int(n, "n")
        m = n if m is None else check_positive_int(m, "m")
        rng = check_rng(rng)
        X = np.asarray(self.P.rvs(size=n, random_state=rng), dtype=float).reshape(n, -1)
        Y = np.asarray(self.Q.rvs(size=m, random_state=rng), dtype=float).reshape(m, -1)
        return X, Y

    def __repr__(self) -> str:
        vals = ", ".join(f"{k!r}: {fmt_value(v)}" for k, v in self.exact.items())
        return f"DistributionPair({self.family}: {self.description}; exact={{{vals}}})"


def rounding_tolerance(v: float) -> float:
    """Accuracy of a closed-form value: 1e-9 relative (0 for an infinite value)."""
    return 0.0 if math.isinf(v) else 1e-9 * max(1.0, abs(v))


@dataclass(frozen=True, eq=False, repr=False)
class SamplePair(_ReprInHypothesis):
    """Samples X ~ P and Y ~ Q from a :class:`DistributionPair`, drawn by
    :func:`strategies.sample_pairs`.

    Attributes
    ----------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (m, d)
    pair : DistributionPair
        Where the samples come from; ``pair.exact`` holds the exact divergences.
    seed : int
        ``pair.sample(n, m, rng=seed)`` redraws X and Y.

    Examples
    --------
    >>> from divest.testing import DistributionPair, GaussianParameters, SamplePair
    >>> pair = DistributionPair.from_gaussians(GaussianParameters([1.0], [[1.0]]),
    ...                                        GaussianParameters([0.0], [[1.0]]), ["kl"])
    >>> s = SamplePair.draw(pair, 50, 40, seed=3)
    >>> s.X.shape, s.Y.shape, s.exact["kl"]
    ((50, 1), (40, 1), 0.5)
    """

    X: np.ndarray
    Y: np.ndarray
    pair: DistributionPair
    seed: int

    @classmethod
    def draw(cls, pair: DistributionPair, n: int, m: int | None = None, *, seed: int = 0):
        X, Y = pair.sample(n, m, rng=seed)
        X.setflags(write=False)
        Y.setflags(write=False)
        return cls(X, Y, pair, int(seed))

    @property
    def exact(self) -> Mapping[str, float]:
        """The exact divergences of the pair the samples come from."""
        return self.pair.exact

    def __iter__(self):
        return iter((self.X, self.Y))

    def __repr__(self) -> str:
        return (f"SamplePair(n={self.X.shape[0]}, m={self.Y.shape[0]}, seed={self.seed}, "
                f"pair={self.pair!r})")


@dataclass(frozen=True, repr=False)
class DivergenceName(_ReprInHypothesis):
    """A registered f-divergence name with valid parameters, drawn by
    :func:`strategies.fdivergence_names`.

    Attributes
    ----------
    name : str
        The registered name (``"alpha"``).
    params : Mapping[str, float]
        Its parameters (``{"alpha": 0.5}``), empty for a divergence without any.

    Examples
    --------
    >>> from divest.testing import DivergenceName
    >>> d = DivergenceName("alpha", {"alpha": 0.5})
    >>> d, d.label, d.fdivergence()
    (DivergenceName('alpha(alpha=0.5)'), 'alpha(alpha=0.5)', FDivergence('alpha(alpha=0.5)'))
    """

    name: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __hash__(self):
        return hash((self.name, tuple(sorted(self.params.items()))))

    @property
    def label(self) -> str:
        """Name with parameters, as accepted everywhere in divest."""
        return label_of(self.name, self.params)

    def fdivergence(self) -> _fdiv.FDivergence:
        """The :class:`~divest.FDivergence`."""
        return _fdiv.get_fdivergence(self.name, **self.params)

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"DivergenceName({self.label!r})"
