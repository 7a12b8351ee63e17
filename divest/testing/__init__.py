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

from . import strategies
from ._asserts import (assert_conjugate_tight, assert_consistent, assert_data_processing,
                       assert_fenchel_young, assert_identity, assert_joint_convexity,
                       assert_matches_exact, assert_nonnegative, assert_permutation_invariant,
                       assert_symmetric, assert_triangle_inequality, assert_unbiased,
                       assert_value_range)
from ._check import (CheckReport, PropertyFailure, PropertyResult, check_conjugate,
                     check_divergence)
from ._problems import DistributionPair, DivergenceName, GaussianParameters, PmfPair, SamplePair

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
