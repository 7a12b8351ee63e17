"""Property-based tests (hypothesis) of discrete_divergence: the axioms and classical
inequalities every divergence must satisfy on arbitrary probability mass functions.

Tolerances: every computed value carries a relative rounding error of a few ulp times
the number of categories (<= 8 here), so comparisons allow 1e-12 * max(1, |value|).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import divest as dv

from _common import F_NAMES, LOG2, LOG4
from _common import OTHER_NAMES as RENYI
ALL = F_NAMES + RENYI
FD = {n: dv.get_fdivergence(n) for n in F_NAMES}
SYMMETRIC = [n for n in F_NAMES if FD[n].symmetric] + ["bhattacharyya", "renyi(alpha=0.5)"]
# Rényi divergence is jointly convex for alpha in [0, 1] only (van Erven & Harremoës 2014)
JOINTLY_CONVEX = F_NAMES + ["renyi(alpha=0.5)", "bhattacharyya"]

RTOL = 1e-12


def D(p, q, name):
    return dv.discrete_divergence(p, q, name)


def tol(*vals):
    finite = [abs(v) for v in vals if math.isfinite(v)]
    return RTOL * max([1.0] + finite)


def assert_le(a, b, *extra, msg=""):
    """a <= b up to rounding, with inf handled exactly."""
    if b == math.inf:
        return
    assert a != math.inf, f"{msg}: inf > {b}"
    assert a <= b + tol(a, b, *extra), f"{msg}: {a!r} > {b!r}"


def assert_close(a, b, msg=""):
    if math.isinf(a) or math.isinf(b):
        assert a == b, f"{msg}: {a!r} != {b!r}"
    else:
        assert abs(a - b) <= tol(a, b), f"{msg}: {a!r} != {b!r}"


# ------------------------------------------------------------------------------------
# strategies

MASS = st.one_of(st.just(0.0), st.floats(1e-9, 1.0), st.floats(1e-3, 1.0))


def _normalise(w):
    return w / w.sum()


@st.composite
def pmfs(draw, n, zeros=True):
    elems = MASS if zeros else st.floats(1e-9, 1.0)
    w = draw(hnp.arrays(np.float64, n, elements=elems).filter(lambda a: a.sum() > 0))
    return _normalise(w)


@st.composite
def pmf_pair(draw, min_n=2, max_n=8, zeros=True):
    n = draw(st.integers(min_n, max_n))
    return draw(pmfs(n, zeros)), draw(pmfs(n, zeros))


@st.composite
def pmf_pairs2(draw, min_n=2, max_n=6):
    """Two pairs on the same alphabet (for joint convexity)."""
    n = draw(st.integers(min_n, max_n))
    return tuple(draw(pmfs(n)) for _ in range(4))


@st.composite
def coarse_graining(draw, n):
    k = draw(st.integers(1, n))
    return np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))), k


@st.composite
def markov_kernel(draw, n):
    m = draw(st.integers(1, 6))
    rows = [draw(hnp.arrays(np.float64, m, elements=st.one_of(st.just(0.0),
                                                              st.floats(1e-6, 1.0)))
                 .filter(lambda a: a.sum() > 0)) for _ in range(n)]
    return np.array([_normalise(r) for r in rows])


# ------------------------------------------------------------------------------------
# axioms


@settings(max_examples=150)
@given(pmf_pair())
def test_nonnegativity_and_value_range(pq):
    p, q = pq
    for name in ALL:
        v = D(p, q, name)
        assert not math.isnan(v), name
        floor = -LOG4 if name == "gan" else 0.0
        assert v >= floor - tol(v), (name, v)
        if name in FD:
            vr = FD[name].value_range
            assert vr.low - tol(v) <= v <= vr.high + tol(v), (name, v, vr)


@settings(max_examples=60)
@given(st.integers(1, 8).flatmap(lambda n: pmfs(n)))
def test_identity(p):
    for name in ALL:
        v = D(p, p, name)
        if name == "gan":
            assert v == pytest.approx(-LOG4, abs=1e-15)
        else:
            assert v == 0.0, (name, v)


@settings(max_examples=80)
@given(pmf_pair())
def test_positive_when_different(pq):
    # identity of indiscernibles for strictly convex f: D = f(1) only if p == q
    p, q = pq
    tv = D(p, q, "tv")
    if tv > 1e-6:
        for name in ALL:
            if name == "tv":
                continue
            floor = -LOG4 if name == "gan" else 0.0
            assert D(p, q, name) > floor, name


@settings(max_examples=100)
@given(pmf_pair())
def test_symmetry(pq):
    p, q = pq
    for name in SYMMETRIC:
        assert_close(D(p, q, name), D(q, p, name), msg=name)


@settings(max_examples=100)
@given(pmf_pair(zeros=False))
def test_reversal_is_the_dual_generator(pq):
    # D_f(Q||P) = D_g(P||Q) with g(u) = u f(1/u): the pairs of the registry
    p, q = pq
    assert_close(D(p, q, "kl"), D(q, p, "reverse_kl"), msg="kl")
    assert_close(D(p, q, "pearson"), D(q, p, "neyman"), msg="pearson")
    assert_close(D(p, q, "alpha(alpha=3)"), D(q, p, "alpha(alpha=-2)"), msg="alpha")
    assert_close(D(p, q, "js_weighted(pi=0.25)"), D(q, p, "js_weighted(pi=0.75)"), msg="jsw")


# ------------------------------------------------------------------------------------
# data processing inequality


@settings(max_examples=100)
@given(st.integers(2, 8).flatmap(
    lambda n: st.tuples(pmfs(n), pmfs(n), coarse_graining(n))))
def test_dpi_coarse_graining(args):
    p, q, (labels, k) = args
    pk = np.bincount(labels, weights=p, minlength=k)
    qk = np.bincount(labels, weights=q, minlength=k)
    for name in ALL:
        assert_le(D(pk, qk, name), D(p, q, name), msg=name)


@settings(max_examples=100)
@given(st.integers(2, 6).flatmap(
    lambda n: st.tuples(pmfs(n), pmfs(n), markov_kernel(n))))
def test_dpi_markov_kernel(args):
    p, q, K = args
    pk, qk = p @ K, q @ K
    for name in ALL:
        assert_le(D(pk, qk, name), D(p, q, name), msg=name)


# ------------------------------------------------------------------------------------
# joint convexity


# mixture weights: the endpoints, or far enough from them that lam * p never underflows to
# 0 while p > 0 (that would change the support of the mixture and is no library matter)
LAMBDAS = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-6, 1.0 - 1e-6))


@settings(max_examples=100)
@given(pmf_pairs2(), LAMBDAS)
def test_joint_convexity(pairs, lam):
    p1, q1, p2, q2 = pairs
    pm = lam * p1 + (1 - lam) * p2
    qm = lam * q1 + (1 - lam) * q2
    for name in JOINTLY_CONVEX:
        d1, d2 = D(p1, q1, name), D(p2, q2, name)
        # 0 * inf = 0: a component with weight 0 does not count
        rhs = (lam * d1 if lam > 0 else 0.0) + ((1 - lam) * d2 if lam < 1 else 0.0)
        assert_le(D(pm, qm, name), rhs, d1, d2, msg=name)


# ------------------------------------------------------------------------------------
# classical inequalities


@settings(max_examples=150)
@given(pmf_pair())
def test_pinsker_and_bretagnolle_huber(pq):
    p, q = pq
    tv, kl = D(p, q, "tv"), D(p, q, "kl")
    assert_le(tv, math.sqrt(kl / 2) if math.isfinite(kl) else math.inf, msg="Pinsker")
    assert_le(tv, math.sqrt(-math.expm1(-kl)), msg="Bretagnolle-Huber")
    # both ways round
    kl_r = D(q, p, "kl")
    assert_le(tv, math.sqrt(-math.expm1(-kl_r)), msg="Bretagnolle-Huber reversed")


@settings(max_examples=150)
@given(pmf_pair())
def test_hellinger_tv_sandwich(pq):
    p, q = pq
    tv, h2 = D(p, q, "tv"), D(p, q, "squared_hellinger")
    assert_le(0.5 * h2, tv, msg="H^2/2 <= TV")
    assert_le(tv, math.sqrt(h2) * math.sqrt(max(0.0, 1 - h2 / 4)), msg="TV <= H sqrt(1-H^2/4)")


@settings(max_examples=150)
@given(pmf_pair())
def test_kl_below_log_one_plus_chi2(pq):
    p, q = pq
    assert_le(D(p, q, "kl"), math.log1p(D(p, q, "pearson")), msg="KL <= log(1+chi2)")
    # and the chain KL <= chi^2
    assert_le(D(p, q, "kl"), D(p, q, "pearson"), msg="KL <= chi2")


@settings(max_examples=100)
@given(pmf_pair())
def test_js_bounds(pq):
    p, q = pq
    js = D(p, q, "js")
    assert_le(js, LOG2, msg="JS <= log 2")
    assert_le(js, D(p, q, "tv") * LOG2, msg="JS <= TV log 2")
    assert_close(D(p, q, "gan"), 2 * js - LOG4, msg="gan = 2 JS - log 4")


@settings(max_examples=100)
@given(pmf_pair())
def test_f_divergence_at_most_tv_times_range(pq):
    # convexity with f(1) = 0: f(u) <= (1-u) f(0) on [0,1] and f(u) <= (u-1) f'_inf on
    # [1, inf), so D_f <= TV (f(0) + f'_inf), the top of value_range; equality if disjoint
    p, q = pq
    tv = D(p, q, "tv")
    for name in F_NAMES:
        fd = FD[name]
        # for f0 = f - f(1) - f'(1)(u-1): f0(0) + f0'_inf = f(0) + f'_inf - f(1)
        bound = fd.f_zero + fd.f_infinity - fd.f_one
        v = D(p, q, name) - fd.f_one
        if math.isinf(bound):
            continue
        assert_le(v, tv * bound, msg=name)


RENYI_ORDERS = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]


@settings(max_examples=100)
@given(pmf_pair())
def test_renyi_nondecreasing_in_alpha(pq):
    p, q = pq
    vals = [D(p, q, "kl") if a == 1.0 else dv.discrete_divergence(p, q, "renyi", alpha=a)
            for a in RENYI_ORDERS]
    for a, lo, hi in zip(RENYI_ORDERS, vals[:-1], vals[1:]):
        assert_le(lo, hi, msg=f"renyi at alpha={a}")


@settings(max_examples=100)
@given(pmf_pair())
def test_bhattacharyya_is_half_renyi_half(pq):
    p, q = pq
    assert_close(D(p, q, "bhattacharyya"), 0.5 * D(p, q, "renyi(alpha=0.5)"),
                 msg="B = R_1/2 / 2")
    # and B = -log(1 - H^2/2), checked where it is well conditioned (1 - H^2/2 >= 1/2;
    # near H^2 = 2 the rounding of H^2 is amplified by 1/(1 - H^2/2))
    h2 = D(p, q, "squared_hellinger")
    if h2 <= 1.0:
        assert_close(D(p, q, "bhattacharyya"), -math.log1p(-h2 / 2), msg="B from H^2")
