r"""Property-based testing of divergence code: hypothesis strategies and property checks.

For people who write their own divergence, loss or estimator and want to test it:

* :func:`check_divergence` runs a battery of properties (non-negativity, identity,
  symmetry, triangle inequality, data processing, joint convexity, invariance under
  relabelling, agreement with divest's exact values, consistency of sample estimators)
  with hypothesis and raises an ``AssertionError`` with the shrunk counterexample;
* :func:`check_conjugate` checks a convex conjugate through the Fenchel–Young inequality;
* the ``assert_*`` helpers check one property on given inputs;
* :mod:`divest.testing.strategies` draws probability vectors, pmf pairs, Gaussians,
  distribution pairs with exact divergences, sample sets and divergence names.

Examples
--------
>>> from scipy.special import rel_entr
>>> from divest.testing import check_divergence
>>> check_divergence(lambda p, q: rel_entr(p, q).sum(), name="kl", max_examples=20).passed
True
"""

from ._asserts import (assert_conjugate_tight, assert_consistent, assert_data_processing,
                       assert_fenchel_young, assert_identity, assert_joint_convexity,
                       assert_matches_exact, assert_nonnegative, assert_permutation_invariant,
                       assert_symmetric, assert_triangle_inequality, assert_unbiased,
                       assert_value_range)
from ._problems import DistributionPair, DivergenceName, GaussianParameters, PmfPair, SamplePair

#: names that need hypothesis, imported on first access so that the ``assert_*`` helpers and
#: the problem types work without it
_LAZY = {"strategies": None, "CheckReport": "_check", "PropertyFailure": "_check",
         "PropertyResult": "_check", "check_conjugate": "_check", "check_divergence": "_check"}

__all__ = [
    "CheckReport",
    "DistributionPair",
    "DivergenceName",
    "GaussianParameters",
    "PmfPair",
    "PropertyFailure",
    "PropertyResult",
    "SamplePair",
    "assert_conjugate_tight",
    "assert_consistent",
    "assert_data_processing",
    "assert_fenchel_young",
    "assert_identity",
    "assert_joint_convexity",
    "assert_matches_exact",
    "assert_nonnegative",
    "assert_permutation_invariant",
    "assert_symmetric",
    "assert_triangle_inequality",
    "assert_unbiased",
    "assert_value_range",
    "check_conjugate",
    "check_divergence",
    "strategies",
]


def __getattr__(name):
    if name in _LAZY:
        import importlib
        sub = _LAZY[name]
        module = importlib.import_module(f".{sub or name}", __name__)
        value = module if sub is None else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
