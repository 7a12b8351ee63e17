"""divest: divergences and distances between probability distributions, checked against each other.

The conventions (see the docs page "Conventions"): every divergence is D(P ‖ Q) with P first; an
f-divergence is defined by its generator f as E_Q[f(p/q)]; values are in nats.
"""

from . import distributions, estimators, exact, fdiv, ipm, reference, streaming
from ._crosscheck import CrossCheckReport, CrossCheckRow, InequalityCheck, crosscheck
from ._discrete import discrete_divergence
from ._divergence import divergence
from ._mi import mutual_information
from ._result import Estimate
from .fdiv import FDivergence, fdivergences, get_fdivergence, register_fdivergence
from .twosample import RejectionRate, TwoSampleResult, rejection_rate, two_sample_test

__version__ = "0.1.0"

#: submodules imported on first attribute access: ``divest.testing`` needs hypothesis, which
#: ``import divest`` must not import
_LAZY_SUBMODULES = ("testing",)

__all__ = [
    "CrossCheckReport",
    "CrossCheckRow",
    "Estimate",
    "FDivergence",
    "InequalityCheck",
    "RejectionRate",
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
    "mutual_information",
    "reference",
    "register_fdivergence",
    "rejection_rate",
    "streaming",
    "testing",
    "two_sample_test",
]


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
