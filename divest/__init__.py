"""divest: divergences and distances between probability distributions, checked against each other."""
from . import fdiv
from ._discrete import discrete_divergence
from ._result import Estimate
from .fdiv import FDivergence, fdivergences, get_fdivergence, register_fdivergence
from . import exact, distributions
