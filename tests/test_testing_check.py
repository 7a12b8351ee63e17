"""Tests of divest.testing.check_divergence / check_conjugate and the assert_* helpers.

Dogfooding: divest's own exact functions and estimators pass the checks.  Then the
behaviour a user relies on: which properties run, that each property can fail (with the
message and the counterexample), determinism under a seed, and option errors.
"""

from __future__ import annotations

import doctest
import importlib
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special
from threadpoolctl import threadpool_limits

import divest as dv
from divest.testing import (CheckReport, DistributionPair, GaussianParameters,
                            PropertyFailure, assert_consistent, assert_data_processing,
                            assert_identity, assert_matches_exact, assert_nonnegative,
                            assert_permutation_invariant, assert_symmetric, check_conjugate,
                            check_divergence)

from _common import F_NAMES, OTHER_NAMES

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # the closed forms solve 2x2 systems: with a loaded machine, BLAS threads only contend
    with threadpool_limits(1):
        yield


def kl(p, q):
    return float(special.rel_entr(p, q).sum())


def tv(p, q):
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def props(report):
    return [r.property for r in report.results]


def failed(report):
    return [r.property for r in report.failures]


# ------------------------------------------------------------------------------------
# dogfooding


@pytest.mark.parametrize("name", F_NAMES + OTHER_NAMES)
def test_discrete_divergence_passes(name):
    report = check_divergence(lambda p, q: dv.discrete_divergence(p, q, name), name=name,
                              max_examples=6)
    assert report.passed
    expected = {"nonnegative", "identity", "permutation", "data_processing", "exact"}
    assert expected <= set(props(report))
    if name == "tv":
        assert {"symmetry", "triangle"} <= set(props(report))


def test_discrete_in_bits_and_metrics_pass():
    check_divergence(lambda p, q: dv.discrete_divergence(p, q, "kl", base=2), name="kl", base=2,
                     max_examples=10)
    for name in ("js", "squared_hellinger"):  # their square roots are metrics
        report = check_divergence(lambda p, q: math.sqrt(dv.discrete_divergence(p, q, name)),
                                  metric=True, max_examples=10,
                                  properties=["symmetry", "triangle"])
        assert props(report) == ["symmetry", "triangle"]


CLOSED_FORMS = ["kl", "reverse_kl", "jeffreys", "squared_hellinger", "alpha(alpha=2)",
                "renyi(alpha=0.5)", "bhattacharyya", "tv", "js", "wasserstein(p=2)",
                "mmd2(bandwidth=1)"]


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_closed_forms_pass(name):
    report = check_divergence(lambda P, Q: dv.exact.closed_form(P, Q, name),
                              kind="distributions", name=name, max_examples=4)
    assert report.passed
    assert "exact" in props(report)
    if name in ("tv", "wasserstein(p=2)"):
        assert "triangle" in props(report)


def test_divergence_on_reference_pairs_passes():
    # closed forms and 1-D quadrature through divest.divergence, on the reference pairs
    report = check_divergence(lambda P, Q: dv.divergence(P, Q, "squared_hellinger").value,
                              kind="distributions", name="squared_hellinger",
                              families=("reference",), properties=["exact", "symmetry"],
                              max_examples=6)
    assert report.passed


def test_knn_estimator_passes():
    report = check_divergence(lambda X, Y: dv.estimators.knn(X, Y, "kl", se="none"),
                              kind="samples", name="kl", max_examples=5)
    assert report.passed and props(report) == ["permutation", "consistency"]


@pytest.mark.parametrize("name", F_NAMES)
def test_registered_conjugates_pass(name):
    report = check_conjugate(dv.get_fdivergence(name), max_examples=12)
    assert report.passed
    assert props(report) == ["fenchel_young", "tight", "domain", "activation"]


# ------------------------------------------------------------------------------------
# which properties run


def test_default_properties_follow_kind_name_and_declarations():
    def run(fn=kl, **kw):
        return props(check_divergence(fn, max_examples=2, raise_on_failure=False, **kw))
    assert run() == ["nonnegative", "identity", "permutation", "data_processing",
                     "joint_convexity"]
    assert run(name="js") == ["nonnegative", "value_range", "identity", "symmetry",
                              "permutation", "data_processing", "joint_convexity", "exact"]
    assert run(fn=tv, name="tv")[3:5] == ["symmetry", "triangle"]
    assert "joint_convexity" not in run(name="renyi(alpha=2)")
    assert run(properties="exact", name="kl") == ["exact"]
    assert props(check_divergence(lambda X, Y: 0.0, kind="samples", max_examples=2,
                                  properties=["permutation"])) == ["permutation"]


def test_report_and_failure_objects():
    # 10 examples find the joint-convexity violation under this seed (only under some)
    report = check_divergence(lambda p, q: -kl(p, q), name="kl", max_examples=10,
                              raise_on_failure=False, rng=0)
    assert isinstance(report, CheckReport) and not report.passed
    assert failed(report) == ["nonnegative", "value_range", "identity", "data_processing",
                              "joint_convexity", "exact"]
    r = report["nonnegative"]
    assert r.examples >= 1 and r.shrink_calls >= 0 and "is below 0" in r.message
    assert r.counterexample.startswith("PmfPair(")
    assert "minus the exact value: a sign error?" in report["exact"].message
    with pytest.raises(KeyError, match="no property 'triangle'"):
        report["triangle"]
    with pytest.raises(PropertyFailure) as info:
        check_divergence(lambda p, q: -kl(p, q), name="kl", max_examples=10,
                         properties=["nonnegative"])
    assert isinstance(info.value, AssertionError)
    assert str(info.value) == str(info.value.report)
    assert info.value.report.failures[0].message == r.message


def test_same_seed_same_examples():
    def run(rng):
        return check_divergence(lambda p, q: kl(q, p), name="kl", properties=["exact"],
                                max_examples=20, rng=rng, raise_on_failure=False)
    def key(report):
        return [(r.property, r.examples, r.shrink_calls, r.counterexample, r.message)
                for r in report.results]
    a, b = run(0), run(0)
    assert key(a) == key(b) and not a.passed
    assert run(np.random.default_rng(1)).seed == run(np.random.default_rng(1)).seed
    assert not run(None).passed


def test_seeded_checks_do_not_depend_on_loaded_modules(tmp_path, monkeypatch):
    # hypothesis mixes constants from the source of every loaded local module into its
    # draws; a seeded check must draw the same examples before and after an import (in
    # the full suite, modules imported by earlier tests made seeded checks miss failures)
    def seen():
        calls = []

        def recording_kl(p, q):
            calls.append((tuple(np.asarray(p)), tuple(np.asarray(q))))
            return kl(p, q)
        assert check_divergence(recording_kl, name="kl", properties=["exact"],
                                max_examples=40, rng=3).passed
        return calls
    before = seen()
    values = ", ".join(f"{k / 211!r}" for k in range(1, 211))
    (tmp_path / "divest_constants_probe.py").write_text(f"VALUES = ({values})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("divest_constants_probe")
    assert seen() == before


# ------------------------------------------------------------------------------------
# each property can fail


def test_identity_fails():
    report = check_divergence(lambda p, q: tv(p, q) + 0.1, max_examples=10,
                              properties=["identity"], raise_on_failure=False)
    assert "fn(p, p) = 0.1" in report["identity"].message
    report = check_divergence(lambda p, q: 0.0, max_examples=20, properties=["identity"],
                              raise_on_failure=False)
    assert "although p != q" in report["identity"].message


def test_symmetry_and_triangle_fail_when_declared():
    report = check_divergence(kl, name="kl", metric=True, max_examples=30,
                              allow_zeros=False, raise_on_failure=False)
    assert failed(report) == ["symmetry", "triangle"]
    assert "not symmetric" in report["symmetry"].message


def test_permutation_fails_for_a_position_dependent_function():
    def weighted(p, q):
        return float(np.sum(np.arange(1, len(p) + 1) * np.abs(np.asarray(p) - q)))
    report = check_divergence(weighted, max_examples=20, properties=["permutation"],
                              raise_on_failure=False)
    assert "changes under a permutation" in report["permutation"].message


def test_data_processing_catches_euclidean_distance():
    def l2(p, q):
        return float(np.linalg.norm(np.asarray(p) - q))
    # a metric, but no divergence: merging categories can move pmfs apart in L2
    report = check_divergence(l2, max_examples=100, properties=["data_processing"],
                              raise_on_failure=False)
    # (the exact shrunk example depends on hypothesis's shrinking budget, so only its form
    # is pinned: a pmf pair and a Markov kernel merging categories)
    res = report["data_processing"]
    assert not res.passed
    assert res.counterexample.startswith("pair=PmfPair(p=[") and "kernel=[[" in res.counterexample


def test_joint_convexity_catches_a_concave_function():
    # 50 examples find the violation under this seed (only under some)
    report = check_divergence(lambda p, q: math.sqrt(tv(p, q)), max_examples=50,
                              properties=["joint_convexity"], raise_on_failure=False, rng=0)
    assert "joint convexity fails" in report["joint_convexity"].message


def test_exceptions_nan_and_non_numbers_are_failures():
    def naive_kl(p, q):  # log(0) on zero masses
        if np.any(np.asarray(p) == 0):
            raise ValueError("log of zero")
        return kl(p, q)
    report = check_divergence(naive_kl, max_examples=20, properties=["nonnegative"],
                              raise_on_failure=False)
    assert "raised ValueError: log of zero" in report["nonnegative"].message
    assert check_divergence(naive_kl, max_examples=10, properties=["nonnegative"],
                            allow_zeros=False).passed
    report = check_divergence(lambda p, q: math.nan, max_examples=5, properties=["nonnegative"],
                              raise_on_failure=False)
    assert report["nonnegative"].message == "fn(p, q) returned nan"
    report = check_divergence(lambda p, q: "0.0", max_examples=5, properties=["nonnegative"],
                              raise_on_failure=False)
    assert "not a real number" in report["nonnegative"].message


def test_nondeterministic_failure_is_reported_as_such():
    calls = []

    def once_negative(p, q):
        calls.append(1)
        return -1.0 if len(calls) == 1 else kl(p, q)
    report = check_divergence(once_negative, max_examples=10, properties=["nonnegative"],
                              raise_on_failure=False)
    assert "did not reproduce" in report["nonnegative"].message


def test_wrong_gaussian_closed_form_is_caught():
    def kl_no_logdet(P, Q):  # forgets the log-determinant term
        m, S = np.atleast_1d(P.mean), np.atleast_2d(P.cov)
        mq, Sq = np.atleast_1d(Q.mean), np.atleast_2d(Q.cov)
        Si = np.linalg.inv(Sq)
        return 0.5 * (np.trace(Si @ S) + (mq - m) @ Si @ (mq - m) - m.size)
    report = check_divergence(kl_no_logdet, kind="distributions", name="kl", max_examples=10,
                              properties=["exact"], raise_on_failure=False)
    assert "but divest's kl = " in report["exact"].message


def test_swapped_estimator_is_diagnosed():
    # KL(P || Q) = 0.597 and KL(Q || P) = 1.153 for P = N(1, 1/2), Q = N(0, 1)
    pair = DistributionPair.from_gaussians(GaussianParameters([1.0], [[0.5]]),
                                           GaussianParameters([0.0], [[1.0]]), ["kl"])
    with pytest.raises(AssertionError, match="do not approach the exact kl") as info:
        assert_consistent(lambda X, Y: dv.estimators.knn(Y, X, "kl", se="none"), pair)
    assert "are the arguments swapped?" in str(info.value)
    assert_consistent(lambda X, Y: dv.estimators.knn(X, Y, "kl", se="none"), pair)


# ------------------------------------------------------------------------------------
# the single-property helpers


def test_helpers_pass_and_fail():
    p, q = [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]
    assert_nonnegative(kl, p, q)
    assert_identity(kl, p, q)
    assert_symmetric(tv, p, q)
    assert_permutation_invariant(kl, p, q, [2, 0, 1])
    assert_data_processing(kl, p, q, np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]))
    assert_matches_exact(kl, p, q, "kl")
    with pytest.raises(AssertionError, match="not symmetric"):
        assert_symmetric(kl, p, q)
    with pytest.raises(AssertionError, match=r"fn\(p, q\) = inf but divest's kl = "):
        assert_matches_exact(kl, q, p, "kl", exact=1.0)
    with pytest.raises(ValueError, match="needs name= or exact="):
        assert_matches_exact(kl, p, q)


# ------------------------------------------------------------------------------------
# option errors


@pytest.mark.parametrize("kw, exc, match", [
    ({"kind": "pmf"}, ValueError, r"kind='pmf' is not valid"),
    ({"name": "chi3"}, ValueError, r"unknown divergence name='chi3'"),
    ({"properties": ["exact"]}, ValueError, r"property 'exact' needs name="),
    ({"properties": ["consistency"]}, ValueError, r"properties='consistency' is not valid"),
    ({"params": {"alpha": 2}}, ValueError, r"params=.* given without name"),
    ({"name": "tv", "base": 2}, ValueError, r"base=2.0 applies only to logarithmic"),
    ({"name": "mmd2(bandwidth=1)"}, ValueError, r"has no exact value for pmfs"),
    ({"max_examples": 0}, ValueError, r"max_examples must be >= 1"),
    ({"replicates": 1}, ValueError, r"replicates must be >= 2"),
    ({"families": "cauchy"}, Exception, r"families"),
])
def test_invalid_options(kw, exc, match):
    with pytest.raises(exc, match=match):
        check_divergence(kl, **kw)


def test_not_callable():
    with pytest.raises(TypeError, match="fn must be callable"):
        check_divergence("kl")
    with pytest.raises(TypeError, match="must be callable"):
        check_conjugate(lambda u: u, None)


# ------------------------------------------------------------------------------------
# the how-to page


def test_howto_page_examples_run():
    result = doctest.testfile(str(DOCS / "howto_property_testing.rst"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0
