"""Frozen result objects returned by divest's estimators."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

__all__ = ["Estimate"]

_Z95 = float(stats.norm.ppf(0.975))


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
        side by a documented allowance for finite-sample bias where the estimator
        estimates one (``details["bias_allowance"]``, see
        :func:`divest.estimators.knn` and :func:`divest.estimators.fit_ratio`), unless an
        estimator documents another construction.  For a lower bound it bounds the bound.
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
        Method-specific diagnostics (number of intervals, ties, the training curve...).

    Examples
    --------
    >>> from divest import Estimate
    >>> est = Estimate.from_value(0.5, standard_error=0.1, method="monte_carlo", name="kl")
    >>> float(est)
    0.5
    >>> est.confidence_interval
    (0.304..., 0.695...)
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

    @classmethod
    def from_value(cls, value: float, *, standard_error: float = 0.0, method: str,
                   name: str, n_p: int | None = None, n_q: int | None = None,
                   is_lower_bound: bool = False, details: dict | None = None,
                   bias_allowance: tuple[float, float] = (0.0, 0.0)) -> "Estimate":
        """Build an estimate with the normal-approximation 95% interval.

        ``bias_allowance = (below, above)`` (non-negative) widens the interval to
        ``[value - 1.96 se - below, value + 1.96 se + above]``: room for a finite-sample
        bias that the standard error does not contain.
        """
        value = float(value)
        se = float(standard_error)
        below, above = (float(b) for b in bias_allowance)
        if not (below >= 0.0 and above >= 0.0):
            raise ValueError(f"bias_allowance must be two non-negative numbers; got "
                             f"{bias_allowance!r}")
        if math.isinf(value):
            ci = (value, value)
        elif math.isnan(se):
            ci = (math.nan, math.nan)
        else:
            ci = (value - _Z95 * se - below, value + _Z95 * se + above)
        return cls(value=value, standard_error=se, confidence_interval=ci, method=method,
                   name=name, n_p=n_p, n_q=n_q, is_lower_bound=is_lower_bound,
                   details=dict(details or {}))

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        lb = ", lower bound" if self.is_lower_bound else ""
        return (f"Estimate({self.name}={self.value:.6g} ± {self.standard_error:.2g} "
                f"[{self.method}{lb}])")
