"""divest: divergences and distances between probability distributions, checked against each other.

The conventions (see the docs page "Conventions"): every divergence is D(P ‖ Q) with P first; an
f-divergence is defined by its generator f as E_Q[f(p/q)]; values are in nats.
"""

from . import distributions, estimators, exact, fdiv, ipm, reference, testing
from ._crosscheck import CrossCheckReport, CrossCheckRow, InequalityCheck, crosscheck
from ._discrete import discrete_divergence
from ._divergence import divergence
from ._result import Estimate
from .fdiv import FDivergence, fdivergences, get_fdivergence, register_fdivergence
from .twosample import TwoSampleResult, two_sample_test

__version__ = "0.1.0"

__all__ = [
    "CrossCheckReport",
    "CrossCheckRow",
    "Estimate",
    "FDivergence",
    "InequalityCheck",
    "TwoSampleResult",
    "crosscheck",
    "discrete_divergence",
    "distributions",
    "divergence",
    "estimators",
    "exact",
    "fdiv",
    "fdivergences",
    "get_fdivergence",
    "ipm",
    "reference",
    "register_fdivergence",
    "testing",
    "two_sample_test",
]
