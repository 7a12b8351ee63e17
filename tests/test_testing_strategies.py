"""Tests of divest.testing.strategies: what the strategies draw, and their option errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from threadpoolctl import threadpool_limits

import divest as dv
from divest import reference
from divest.testing import DistributionPair, DivergenceName, GaussianParameters, PmfPair
from divest.testing import strategies as dst

FEW = settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # the closed forms solve 2x2 systems: with a loaded machine, BLAS threads only contend
    with threadpool_limits(1):
        yield


def _support(x):
    return np.asarray(x) > 0


# ------------------------------------------------------------------------------------
# probability vectors and pmf pairs


@FEW
@given(dst.probability_vectors(min_size=2, max_size=5, min_mass=0.01))
def test_probability_vectors_are_pmfs(p):
    assert 2 <= p.size <= 5
    assert abs(p.sum() - 1.0) < 1e-12
    pos = p[p > 0]
    assert pos.size >= 1 and pos.min() >= 0.01 - 1e-12


@FEW
@given(dst.probability_vectors(size=st.sampled_from([3, 7]), allow_zeros=False, min_mass=0.0))
def test_probability_vectors_size_strategy_and_full_support(p):
    assert p.size in (3, 7) and (p > 0).all()


def test_probability_vectors_shrink_to_point_masses_and_equal_masses():
    # the simplest vector is a point mass; with full support, the uniform one
    assert find(dst.probability_vectors(size=3), lambda p: True).tolist() == [1.0, 0.0, 0.0]
    full = dst.probability_vectors(size=3, allow_zeros=False)
    assert find(full, lambda p: True).tolist() == [1 / 3] * 3
    two = find(dst.probability_vectors(size=4), lambda p: (p > 0).sum() == 2)
    assert sorted(two.tolist()) == [0.0, 0.0, 0.5, 0.5]


@pytest.mark.parametrize("overlap", dst.OVERLAPS)
def test_pmf_pairs_supports(overlap):
    @FEW
    @given(dst.pmf_pairs(overlap=overlap, max_size=6))
    def check(pair):
        sp, sq = _support(pair.p), _support(pair.q)
        assert pair.overlap == overlap and pair.p.shape == pair.q.shape
        assert abs(pair.p.sum() - 1) < 1e-12 and abs(pair.q.sum() - 1) < 1e-12
        if overlap == "identical":
            assert (sp == sq).all()
        elif overlap == "overlapping":
            assert (sp & sq).any()
        else:
            assert not (sp & sq).any() and sp.any() and sq.any()
    check()


def test_pmf_pairs_find_different_supports_when_overlapping():
    pair = find(dst.pmf_pairs(size=3), lambda pr: (_support(pr.p) != _support(pr.q)).any())
    assert (_support(pair.p) & _support(pair.q)).any()


@FEW
@given(dst.pmf_pairs(overlap=st.sampled_from(dst.OVERLAPS), allow_zeros=True))
def test_pmf_pairs_overlap_strategy(pair):
    assert pair.overlap in dst.OVERLAPS


@FEW
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.just(n), dst.markov_kernels(n_inputs=n, n_outputs=st.integers(1, 4)))))
def test_markov_kernels_are_row_stochastic(nk):
    n, K = nk
    assert K.shape[0] == n and 1 <= K.shape[1] <= 4
    assert (K >= 0).all() and np.allclose(K.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_pmf_pair_repr_round_trips():
    pair = find(dst.pmf_pairs(size=3, allow_zeros=False), lambda pr: pr.p[0] > 0.4)
    again = eval(repr(pair), {"PmfPair": PmfPair})
    assert (again.p == pair.p).all() and (again.q == pair.q).all()
    p, q = pair
    assert p is pair.p and q is pair.q
    with pytest.raises(ValueError):
        pair.p[0] = 1.0  # read-only


def test_hypothesis_prints_the_short_repr():
    @settings(max_examples=10, database=None)
    @given(dst.pmf_pairs(size=2))
    def fails(pair):
        assert pair.p[0] < 0  # always fails

    with pytest.raises(AssertionError) as info:
        fails()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "pair=PmfPair(p=[1.0, 0.0], q=[1.0, 0.0])" in notes


# ------------------------------------------------------------------------------------
# Gaussians and distribution pairs


@FEW
@given(dst.gaussian_parameters(dim=st.integers(1, 4), max_mean=1.5, min_variance=0.5,
                               max_variance=3.0, max_condition=5.0))
def test_gaussian_parameters_bounds(g):
    ev = np.linalg.eigvalsh(g.cov)
    assert np.allclose(g.cov, g.cov.T, rtol=0, atol=0)
    assert ev.min() >= 0.5 * (1 - 1e-9) and ev.max() <= 3.0 * (1 + 1e-9)
    assert g.condition_number <= 5.0 * (1 + 1e-9)
    assert np.abs(g.mean).max() <= 1.5
    assert g.distribution().cov.shape == (g.dim, g.dim)


def test_gaussian_parameters_shrink_to_standard_normal():
    g = find(dst.gaussian_parameters(dim=2), lambda g: True)
    assert g.mean.tolist() == [0.0, 0.0] and np.allclose(g.cov, np.eye(2), rtol=0, atol=1e-15)
    assert repr(g) == "N(mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])"


NAMES = ["kl", "js", "tv", "alpha(alpha=0.5)", "wasserstein(p=1)", "mmd2(bandwidth=1)"]


@FEW
@given(dst.distribution_pairs(names=NAMES, families="gaussian"))
def test_gaussian_pairs_carry_closed_forms(pair):
    assert pair.family == "gaussian" and tuple(pair.exact) == tuple(NAMES)
    gp, gq = pair.gaussians
    P, Q = gp.distribution(), gq.distribution()
    for label in NAMES:
        assert pair.exact[label] == dv.exact.closed_form(P, Q, label)
        assert 0 < pair.tolerance[label] <= 1e-9 * max(1, abs(pair.exact[label]))
    # the reduced names forced a pair that reduces to one dimension
    if pair.dim > 1:
        assert np.allclose(gq.cov, gp.cov) or (np.allclose(gq.mean, gp.mean))


@settings(max_examples=15, suppress_health_check=list(HealthCheck))
@given(dst.distribution_pairs(names=["kl", "squared_hellinger"], families="reference"))
def test_reference_pairs_carry_their_values(pair):
    name = pair.description.split("'")[1]
    ref = reference.get_pair(name)
    assert pair.P is ref.P and pair.Q is ref.Q
    for label in ("kl", "squared_hellinger"):
        est = ref.exact(label)
        assert pair.value(label) == est.value
        assert pair.tolerance[label] >= est.standard_error


@FEW
@given(dst.distribution_pairs(names=["pearson"], families="gaussian", finite=True))
def test_finite_option_rejects_infinite_values(pair):
    assert math.isfinite(pair.exact["pearson"])


@settings(max_examples=3, database=None)
@given(dst.distribution_pairs(families="gaussian", dim=1))
def test_distribution_pairs_default_names_and_lookup(pair):
    assert {"kl", "tv", "mmd2(bandwidth=1)"} <= set(pair.exact)
    assert pair.value("alpha", alpha=0.5) == pair.exact["alpha(alpha=0.5)"]
    with pytest.raises(KeyError, match="has no exact value of 'renyi\\(alpha=3\\)'"):
        pair.value("renyi(alpha=3)")
    assert repr(pair).startswith("DistributionPair(gaussian: P=N(mean=[")


@FEW
@given(dst.sample_pairs(n=st.integers(5, 30), m=st.integers(5, 30), dim=2, names=["kl"]))
def test_sample_pairs_shapes_and_reproducible(s):
    assert s.X.shape[1] == s.Y.shape[1] == 2
    X, Y = s.pair.sample(len(s.X), len(s.Y), rng=s.seed)
    assert (X == s.X).all() and (Y == s.Y).all()
    assert s.exact is s.pair.exact and math.isfinite(s.exact["kl"])
    assert f"seed={s.seed}" in repr(s)


# ------------------------------------------------------------------------------------
# names


def test_fdivergence_names_cover_the_registry():
    for name in dv.fdivergences():
        d = find(dst.fdivergence_names(), lambda d, name=name: d.name == name)
        assert d.fdivergence().name == name
        assert dv.get_fdivergence(d.label).label == d.label


@FEW
@given(dst.fdivergence_names(alpha=st.floats(-3, 4).filter(lambda a: a not in (0, 1)),
                             pi=0.3))
def test_fdivergence_names_parameters_are_valid(d):
    assert isinstance(d, DivergenceName)
    fd = d.fdivergence()
    assert fd.f_one == pytest.approx(dv.discrete_divergence([1.0], [1.0], d.label))
    if d.name == "js_weighted":
        assert d.params == {"pi": 0.3}


@FEW
@given(dst.fdivergence_names(include_parameterized=False))
def test_fdivergence_names_without_families(d):
    assert d.params == {} and d.name not in ("alpha", "js_weighted")


# ------------------------------------------------------------------------------------
# bad options: InvalidArgument at definition time, naming the option and the value


BAD = [
    (lambda: dst.probability_vectors(size=0), r"size=0 must be >= 1"),
    (lambda: dst.probability_vectors(min_size=0), r"min_size=0 must be >= 1"),
    (lambda: dst.probability_vectors(min_size=5, max_size=3), r"max_size=3 must be >= min_size=5"),
    (lambda: dst.probability_vectors(size=3, max_size=4), r"give size or min_size/max_size"),
    (lambda: dst.probability_vectors(size=2.5), r"size=2.5 must be an integer"),
    (lambda: dst.probability_vectors(min_mass=-0.1), r"min_mass=-0.1 must be >= 0"),
    (lambda: dst.probability_vectors(size=4, min_mass=0.3), r"min_mass=0.3 is too large .* 4"),
    (lambda: dst.probability_vectors(allow_zeros="yes"), r"allow_zeros='yes' must be True or"),
    (lambda: dst.pmf_pairs(overlap="partial"), r"overlap='partial' must be one of"),
    (lambda: dst.pmf_pairs(overlap="disjoint", allow_zeros=False),
     r"overlap='disjoint' needs zero masses; got allow_zeros=False"),
    (lambda: dst.pmf_pairs(overlap="disjoint", size=1),
     r"needs vectors of length >= 2; got size=1"),
    (lambda: dst.pmf_pairs(overlap="disjoint", min_size=1),
     r"needs vectors of length >= 2; got min_size=1"),
    (lambda: dst.markov_kernels(n_inputs=0), r"n_inputs=0 must be >= 1"),
    (lambda: dst.gaussian_parameters(dim=0), r"dim=0 must be >= 1"),
    (lambda: dst.gaussian_parameters(max_condition=0.5), r"max_condition=0.5 must be >= 1"),
    (lambda: dst.gaussian_parameters(min_variance=0), r"min_variance=0.0 must be > 0"),
    (lambda: dst.gaussian_parameters(min_variance=2, max_variance=1),
     r"max_variance=1.0 must be >= min_variance=2.0"),
    (lambda: dst.gaussian_parameters(max_mean=math.nan), r"max_mean=nan must be a finite real"),
    (lambda: dst.distribution_pairs(names=["kl", "chi3"]), r"names: 'chi3' is not a valid"),
    (lambda: dst.distribution_pairs(names=[]), r"names must not be empty"),
    (lambda: dst.distribution_pairs(families=["gaussian", "cauchy"]), r"families=.*'cauchy'"),
    (lambda: dst.distribution_pairs(finite=1), r"finite=1 must be True or False"),
    (lambda: dst.sample_pairs(n=0), r"n=0 must be >= 1"),
    (lambda: dst.sample_pairs(seed=-1), r"seed=-1 must be >= 0"),
    (lambda: dst.sample_pairs(pairs=dst.distribution_pairs(), names=["kl"]),
     r"give pairs or names/families/dim, not both"),
    (lambda: dst.sample_pairs(pairs="normal-1-2"), r"pairs='normal-1-2' must be a strategy"),
    (lambda: dst.fdivergence_names(alpha=1), r"alpha=1 is not a valid parameter"),
    (lambda: dst.fdivergence_names(pi=1.5), r"pi=1.5 is not a valid parameter"),
    (lambda: dst.fdivergence_names(names=["kl", "chi3"]), r"names=.* registered f-divergence"),
    (lambda: dst.fdivergence_names(names=["alpha"], include_parameterized=False),
     r"no f-divergence left"),
]


@pytest.mark.parametrize("make, match", BAD, ids=[m for _, m in BAD])
def test_invalid_options_raise_at_definition(make, match):
    with pytest.raises(InvalidArgument, match=match):
        make()


def test_invalid_drawn_option_raises_when_drawn():
    strat = dst.probability_vectors(size=st.just(0))  # fine to define
    with pytest.raises(InvalidArgument, match=r"size=0 must be >= 1"):
        find(strat, lambda p: True)
    with pytest.raises(InvalidArgument, match=r"overlap='most' must be one of"):
        find(dst.pmf_pairs(overlap=st.just("most")), lambda p: True)


def test_reference_dimension_filter():
    pair = find(dst.distribution_pairs(names=["kl"], families="reference", dim=5),
                lambda pr: True)
    assert pair.dim == 5
    with pytest.raises(InvalidArgument, match=r"dim=7: no reference pair"):
        find(dst.distribution_pairs(families="reference", dim=7), lambda pr: True)


def test_containers_validate_and_describe():
    g = GaussianParameters([0.0, 1.0], [[2.0, 0.0], [0.0, 0.5]])
    pair = DistributionPair.from_gaussians(g, g, ["kl"])
    assert pair.exact["kl"] == pytest.approx(0.0, abs=1e-15) and pair.dim == 2
    X, Y = pair.sample(5, 3, rng=1)
    assert X.shape == (5, 2) and Y.shape == (3, 2)
    with pytest.raises(ValueError, match="n must be >= 1"):
        pair.sample(0)
