"""Frozen result objects returned by divest's estimators, and their typed parts.

An :class:`Estimate` carries its value, standard error and a 95% interval built by one
rule, :func:`compose`: the normal interval ``value -/+ z * se`` widened by the
:class:`Allowance` s the estimator read from the data (finite-sample bias trends, model
choice, heavy tails).  ``Estimate.interval(level)`` rebuilds it at any level.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

__all__ = ["Allowance", "ConfidenceInterval", "Estimate", "TailCheck", "compose"]

_Z95 = float(stats.norm.ppf(0.975))

#: an interval, scipy style (``low``, ``high``); unpacks like a tuple
ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])


@dataclass(frozen=True)
class Allowance:
    """A one- or two-sided widening of an interval, with where it comes from.

    Attributes
    ----------
    source : str
        What produced it, e.g. ``"learning_curve"``, ``"knn_trend"``, ``"smoothing"``,
        ``"model_spread"``, ``"tail_terms"``, ``"sample_tails"``.
    below, above : float
        Non-negative widths added below and above the normal interval; ``inf`` opens
        that end.
    reason : str
        One sentence: why (empty when both widths are 0).
    """

    source: str
    below: float = 0.0
    above: float = 0.0
    reason: str = ""

    def __post_init__(self):
        below, above = float(self.below), float(self.above)
        if not (below >= 0.0 and above >= 0.0):  # also rejects NaN
            raise ValueError(f"Allowance {self.source!r}: below and above must be "
                             f"non-negative; got below={self.below!r}, above={self.above!r}")
        object.__setattr__(self, "below", below)
        object.__setattr__(self, "above", above)


def compose(allowances) -> tuple[float, float]:
    """The total ``(below, above)`` of several allowances: sums, in order; ``inf`` absorbs.

    The one place where allowances are combined.  Sums of non-negative numbers with
    ``inf`` never give NaN, so an open end stays open whatever is added.

    >>> compose([Allowance("a", 0.1, 0.0), Allowance("b", 0.0, float("inf"))])
    (0.1, inf)
    """
    below = above = 0.0
    for a in allowances:
        below, above = below + a.below, above + a.above
    return below, above


@dataclass(frozen=True)
class TailCheck:
    """Generalized-Pareto shapes of an estimate's per-point terms (see ``tail_check``).

    Attributes
    ----------
    shapes : dict
        Term label -> fitted shape :math:`\\hat\\xi` of its upper tail.
    limit : float
        Shapes above it mark the term heavy-tailed (variance looks infinite).
    """

    shapes: dict
    limit: float

    @property
    def heavy(self) -> tuple[str, ...]:
        """Labels whose shape exceeds :attr:`limit`."""
        return tuple(k for k, v in self.shapes.items() if v > self.limit)

    @property
    def mean_infinite(self) -> bool:
        """Some term's shape exceeds 1: its mean looks infinite (the average estimates nothing)."""
        return any(v > 1.0 for v in self.shapes.values())

    @classmethod
    def from_details(cls, info) -> "TailCheck | None":
        """Read back from ``details["tail_check"]`` (``None`` when absent)."""
        if not info:
            return None
        shapes = {k[len("shape_"):]: float(v) for k, v in info.items() if k.startswith("shape_")}
        return cls(shapes, float(info.get("limit", 0.5)))


class _ReadOnlyDict(dict):
    """A dict that refuses to be changed: the diagnostics of a frozen result."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("Estimate.details is read-only; build a new Estimate with "
                        "dataclasses.replace(est, details={**est.details, ...})")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return (_ReadOnlyDict, (dict(self),))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        import copy
        return _ReadOnlyDict(copy.deepcopy(dict(self), memo))


def _interval(value, se, allowance, z, bounds=None):
    below, above = allowance
    if math.isinf(value):
        return value, value
    if math.isnan(se):
        return math.nan, math.nan
    lo, hi = value - z * se - below, value + z * se + above
    if bounds is not None:
        a, b = bounds
        lo, hi = min(max(lo, a), b), max(min(hi, b), a)
    return lo, hi


def _bounds(name, is_lower_bound):
    """The range the interval is clipped to: the divergence's values (not for bounds)."""
    if is_lower_bound:
        return None  # a variational bound of a fixed critic can be below the range
    from ._names import value_range
    return value_range(name)


@dataclass(frozen=True)
class Estimate:
    """The value of a divergence with its uncertainty and provenance.

    Attributes
    ----------
    value : float
        The estimate, in nats unless stated in ``details["base"]``.  May be ``inf``
        where the divergence is infinite.  Negative estimates of non-negative
        quantities are reported as they are, never clamped.
    standard_error : float
        Standard error of ``value``: 0 for a closed form, the integration error bound
        for quadrature, the sampling standard error for Monte Carlo and sample
        estimators; ``nan`` when it is not available (``details`` says why).
    confidence_interval : tuple of float
        Two-sided 95% interval, ``value -/+ 1.96 * standard_error``, widened on either
        side by the :attr:`allowances` (composed by :func:`compose`): room for a
        finite-sample bias or a heavy tail that the standard error does not contain
        (see :func:`divest.estimators.knn` and :func:`divest.estimators.fit_ratio`).
        For a lower bound it bounds the bound.  :meth:`interval` gives other levels.
    method : str
        How the number was obtained (``"closed_form"``, ``"quadrature"``,
        ``"monte_carlo"``, ...).
    name : str
        Canonical divergence name with its parameters, e.g. ``"alpha(alpha=0.5)"``.
    n_p, n_q : int or None
        Number of samples (or function evaluations) drawn from P and Q; ``None`` for
        exact methods.
    is_lower_bound : bool
        True when ``value`` estimates a variational lower bound of the divergence
        rather than the divergence itself.
    details : dict
        Method-specific diagnostics (number of intervals, ties, the training curve...);
        read-only.
    allowances : tuple of Allowance
        The widenings of the normal interval, each with its source and reason.

    Examples
    --------
    >>> from divest import Estimate
    >>> est = Estimate.from_value(0.5, standard_error=0.1, method="monte_carlo", name="kl")
    >>> float(est)
    0.5
    >>> est.confidence_interval
    (0.304..., 0.695...)
    >>> est.interval(0.9)
    ConfidenceInterval(low=0.335..., high=0.664...)
    """

    value: float
    standard_error: float
    confidence_interval: tuple[float, float]
    method: str
    name: str
    n_p: int | None = None
    n_q: int | None = None
    is_lower_bound: bool = False
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    allowances: tuple[Allowance, ...] = field(default=(), compare=False)

    def __post_init__(self):
        if not isinstance(self.details, _ReadOnlyDict):
            object.__setattr__(self, "details", _ReadOnlyDict(self.details or {}))
        object.__setattr__(self, "allowances", tuple(self.allowances))

    @classmethod
    def from_value(cls, value: float, *, standard_error: float = 0.0, method: str,
                   name: str, n_p: int | None = None, n_q: int | None = None,
                   is_lower_bound: bool = False, details: dict | None = None,
                   bias_allowance: tuple[float, float] | None = None,
                   allowances=()) -> "Estimate":
        """Build an estimate with the normal-approximation 95% interval.

        ``allowances`` (:class:`Allowance` s) widen the interval to
        ``[value - 1.96 se - below, value + 1.96 se + above]`` with ``(below, above)``
        their :func:`compose`.  ``bias_allowance = (below, above)`` is the same as one
        allowance with source ``"bias"``.
        """
        allowances = tuple(allowances)
        if bias_allowance is not None:
            below, above = (float(b) for b in bias_allowance)
            if not (below >= 0.0 and above >= 0.0):
                raise ValueError(f"bias_allowance must be two non-negative numbers; got "
                                 f"{bias_allowance!r}")
            allowances += (Allowance("bias", below, above),)
        value = float(value)
        se = float(standard_error)
        total = compose(allowances)
        bounds = _bounds(name, is_lower_bound)
        ci = _interval(value, se, total, _Z95, bounds)
        details = dict(details or {})
        if ci != _interval(value, se, total, _Z95):
            details["interval_clipped"] = (
                f"the interval is clipped to the values {name} can take, [{bounds[0]:g}, "
                f"{bounds[1]:g}] (the point estimate is not)")
        return cls(value=value, standard_error=se, confidence_interval=ci, method=method,
                   name=name, n_p=n_p, n_q=n_q, is_lower_bound=is_lower_bound,
                   details=details, allowances=allowances)

    def interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Two-sided interval at ``confidence_level``: ``value -/+ z se`` and the allowances.

        At 0.95 it equals :attr:`confidence_interval`.  An interval that an estimator
        built another way (no allowances recorded and not ``value -/+ 1.96 se``) is
        only available at 0.95.
        """
        level = float(confidence_level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"confidence_level must be in (0, 1); got {confidence_level!r}")
        ci95 = tuple(self.confidence_interval)
        if level == 0.95:
            return ConfidenceInterval(*ci95)
        bounds = _bounds(self.name, self.is_lower_bound)
        total = compose(self.allowances)
        if not _same(ci95, _interval(self.value, self.standard_error, total, _Z95, bounds)):
            raise ValueError(f"the interval of this {self.method} estimate was not built from "
                             "value -/+ z se and allowances; only confidence_level=0.95 is "
                             "available")
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        return ConfidenceInterval(*_interval(self.value, self.standard_error, total, z, bounds))

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        lb = ", lower bound" if self.is_lower_bound else ""
        text = f"{self.name}={self.value:.6g} ± {self.standard_error:.2g}"
        lo, hi = self.confidence_interval
        plain = _interval(self.value, self.standard_error, (0.0, 0.0), _Z95,
                          _bounds(self.name, self.is_lower_bound))
        if math.isfinite(self.value) and not (
                _close(lo, plain[0]) and _close(hi, plain[1])):
            text += f", 95% CI [{lo:.4g}, {hi:.4g}]"
        return f"Estimate({text} [{self.method}{lb}])"


def _same(u, v):
    return all(_close(a, b) for a, b in zip(u, v))


def _close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
