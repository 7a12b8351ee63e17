"""Tests of divest.discrete_divergence against scipy and direct numpy formulas."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

import divest as dv

from _common import F_NAMES, LOG2, LOG4, OTHER_NAMES

ALL_NAMES = F_NAMES + OTHER_NAMES
LOGARITHMIC = {"kl", "reverse_kl", "jeffreys", "js", "js_weighted", "gan", "renyi",
               "bhattacharyya"}


def base_name(label):
    return label.split("(")[0]


def D(p, q, name="kl", **kw):
    return dv.discrete_divergence(p, q, name, **kw)


# ------------------------------------------------------------------------------------
# direct formulas (numpy, with the 0 log 0 = 0 conventions where they matter)


def _param(label):
    if "=" not in label:
        return None
    return float(label.split("=")[1].rstrip(")"))


def direct(p, q, label):
    """The textbook definition of each divergence for strictly positive pmfs."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    name, a = base_name(label), _param(label)
    if name == "kl":
        return np.sum(p * np.log(p / q))
    if name == "reverse_kl":
        return np.sum(q * np.log(q / p))
    if name == "pearson":
        return np.sum((p - q) ** 2 / q)
    if name == "neyman":
        return np.sum((p - q) ** 2 / p)
    if name == "squared_hellinger":
        return np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)
    if name == "jeffreys":
        return np.sum((p - q) * np.log(p / q))
    if name == "js":
        m = (p + q) / 2
        return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    if name == "js_weighted":
        m = a * p + (1 - a) * q
        return a * np.sum(p * np.log(p / m)) + (1 - a) * np.sum(q * np.log(q / m))
    if name == "gan":
        s = p + q
        return np.sum(p * np.log(p / s)) + np.sum(q * np.log(q / s))
    if name == "tv":
        return 0.5 * np.sum(np.abs(p - q))
    if name == "alpha":
        return (np.sum(p ** a * q ** (1 - a)) - 1) / (a * (a - 1))
    if name == "renyi":
        return np.log(np.sum(p ** a * q ** (1 - a))) / (a - 1)
    if name == "tsallis":
        return (np.sum(p ** a * q ** (1 - a)) - 1) / (a - 1)
    if name == "bhattacharyya":
        return -np.log(np.sum(np.sqrt(p * q)))
    raise AssertionError(label)


def random_pmfs(seed, n, size=None, conc=1.0):
    rng = np.random.default_rng(seed)
    shape = (n,) if size is None else (size, n)
    p = rng.dirichlet(np.full(n, conc), size=size)
    q = rng.dirichlet(np.full(n, conc), size=size)
    return p.reshape(shape), q.reshape(shape)


# ------------------------------------------------------------------------------------
# scipy agreement


@pytest.mark.parametrize("seed,n", [(0, 2), (1, 5), (2, 17), (3, 100)])
def test_kl_equals_scipy_entropy(seed, n):
    p, q = random_pmfs(seed, n)
    assert D(p, q, "kl") == pytest.approx(stats.entropy(p, q), rel=1e-12, abs=1e-15)
    assert D(p, q, "kl", base=2) == pytest.approx(stats.entropy(p, q, base=2), rel=1e-12,
                                                   abs=1e-15)
    assert D(p, q, "kl", base=10) == pytest.approx(stats.entropy(p, q, base=10), rel=1e-12)
    assert D(p, q, "kl", base=math.e) == pytest.approx(D(p, q, "kl"), rel=1e-15)
    # direction: KL(p||q), not KL(q||p)
    assert D(p, q, "reverse_kl") == pytest.approx(stats.entropy(q, p), rel=1e-12)


@pytest.mark.parametrize("seed,n", [(0, 2), (1, 5), (2, 17), (3, 100)])
def test_js_equals_scipy_jensenshannon_squared(seed, n):
    p, q = random_pmfs(seed, n)
    assert D(p, q, "js") == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-10)
    assert D(p, q, "js", base=2) == pytest.approx(jensenshannon(p, q, base=2) ** 2, rel=1e-10)


def test_js_scipy_disjoint_and_zeros():
    p, q = [0.5, 0.5, 0.0], [0.0, 0.2, 0.8]
    assert D(p, q, "js") == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-12)
    assert D([1, 0], [0, 1], "js", base=2) == 1.0


def test_kl_with_zeros_equals_scipy():
    p = [0.5, 0.5, 0.0]
    q = [0.25, 0.25, 0.5]
    assert D(p, q, "kl") == pytest.approx(stats.entropy(p, q), rel=1e-14)
    assert D(q, p, "kl") == stats.entropy(q, p) == math.inf


@pytest.mark.parametrize("axis", [0, -1, 1, -2])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vectorised_like_scipy_entropy(axis, keepdims):
    p, q = random_pmfs(7, 6, size=4)  # (4, 6): rows are pmfs
    if axis in (0, -2):
        p, q = p.T, q.T  # (6, 4): columns are pmfs
    got = D(p, q, "kl", axis=axis, keepdims=keepdims)
    ref = stats.entropy(p, q, axis=axis, keepdims=keepdims)
    assert isinstance(got, np.ndarray)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("axis", [0, -1])
def test_vectorised_every_name_equals_loop(axis):
    p, q = random_pmfs(8, 5, size=3)
    if axis == 0:
        p, q = p.T, q.T
    for name in ALL_NAMES:
        got = D(p, q, name, axis=axis)
        cols = [D(np.take(p, i, axis=1 - axis % 2), np.take(q, i, axis=1 - axis % 2), name)
                for i in range(3)]
        np.testing.assert_allclose(got, cols, rtol=1e-14, atol=1e-16, err_msg=name)


def test_broadcasting_like_scipy():
    p, _ = random_pmfs(9, 4, size=3)
    q = random_pmfs(10, 4)[1]
    np.testing.assert_allclose(D(p, q, "kl"), stats.entropy(p, q, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(D(q, p, "kl"), stats.entropy(q, p, axis=-1), rtol=1e-12)
    # docstring example
    np.testing.assert_array_equal(D([[1, 0], [0.5, 0.5]], [0.5, 0.5], "tv"), [0.5, 0.0])
    # a 3-D batch along the middle axis
    p3 = np.random.default_rng(11).dirichlet(np.ones(5), size=(2, 3)).transpose(0, 2, 1)
    q3 = np.random.default_rng(12).dirichlet(np.ones(5), size=(2, 3)).transpose(0, 2, 1)
    np.testing.assert_allclose(D(p3, q3, "kl", axis=1), stats.entropy(p3, q3, axis=1),
                               rtol=1e-12)


def test_returns_python_float_for_1d():
    out = D([0.5, 0.5], [0.9, 0.1], "kl")
    assert type(out) is float
    assert out == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1),
                                rel=1e-14)
    assert type(D([[0.5, 0.5]], [0.9, 0.1], "kl")) is np.ndarray


# ------------------------------------------------------------------------------------
# every name against its direct formula


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("seed,n,conc", [(0, 2, 1.0), (1, 3, 0.5), (2, 10, 1.0),
                                         (3, 10, 5.0), (4, 50, 0.3)])
def test_every_name_against_direct_formula(name, seed, n, conc):
    p, q = random_pmfs(seed, n, conc=conc)
    # Dirichlet(0.3) can draw masses ~1e-30; keep pmfs strictly positive for the direct formula
    assert np.all(p > 0) and np.all(q > 0)
    ref = direct(p, q, name)
    got = D(p, q, name)
    # both sums of n terms: relative error ~n eps (sum |terms|) / |value|, here < 1e-11
    assert got == pytest.approx(ref, rel=1e-10, abs=1e-13), (name, got, ref)


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if "(" in n])
def test_name_with_parameters_as_keyword_or_label(name):
    p, q = random_pmfs(5, 6)
    key, val = name.split("(")[1].rstrip(")").split("=")
    assert D(p, q, base_name(name), **{key: float(val)}) == D(p, q, name)


def test_asymmetric_direction():
    # p first: D(P||Q) = sum q f(p/q)
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.2, 0.3, 0.5])
    assert D(p, q, "pearson") == pytest.approx(np.sum((p - q) ** 2 / q), rel=1e-14)
    assert D(p, q, "neyman") == pytest.approx(np.sum((p - q) ** 2 / p), rel=1e-14)
    assert D(p, q, "pearson") != pytest.approx(D(p, q, "neyman"), rel=1e-3)
    assert D(p, q, "kl") == pytest.approx(D(q, p, "reverse_kl"), rel=1e-14)
    assert D(p, q, "alpha", alpha=2) == pytest.approx(0.5 * D(p, q, "pearson"), rel=1e-14)
    assert D(p, q, "alpha", alpha=-1) == pytest.approx(0.5 * D(p, q, "neyman"), rel=1e-14)
    assert D(p, q, "alpha", alpha=0.5) == pytest.approx(
        2 * D(p, q, "squared_hellinger"), rel=1e-14)
    assert D(p, q, "js_weighted", pi=0.5) == pytest.approx(D(p, q, "js"), rel=1e-14)
    assert D(p, q, "js_weighted", pi=0.3) == pytest.approx(
        D(q, p, "js_weighted", pi=0.7), rel=1e-14)


# ------------------------------------------------------------------------------------
# zeros and extreme masses

DISJOINT = {
    "kl": math.inf, "reverse_kl": math.inf, "pearson": math.inf, "neyman": math.inf,
    "squared_hellinger": 2.0, "jeffreys": math.inf, "js": LOG2, "gan": 0.0, "tv": 1.0,
    "js_weighted(pi=0.25)": -0.25 * math.log(0.25) - 0.75 * math.log(0.75),
    "js_weighted(pi=0.5)": LOG2,
    "js_weighted(pi=0.8)": -0.8 * math.log(0.8) - 0.2 * math.log(0.2),
    "alpha(alpha=-1)": math.inf, "alpha(alpha=0.5)": 4.0, "alpha(alpha=2)": math.inf,
    "alpha(alpha=3)": math.inf, "renyi(alpha=0.5)": math.inf, "renyi(alpha=2)": math.inf,
    "renyi(alpha=3)": math.inf, "bhattacharyya": math.inf,
    "tsallis(alpha=0.5)": 2.0, "tsallis(alpha=2)": math.inf,  # (0 - 1)/(alpha - 1)
}


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("p,q", [([0.5, 0.5, 0, 0], [0, 0, 0.3, 0.7]), ([1.0, 0.0], [0.0, 1.0]),
                                 ([0.0, 0.2, 0.0, 0.8], [0.9, 0.0, 0.1, 0.0])])
def test_disjoint_supports(name, p, q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = D(p, q, name)
        back = D(q, p, name)
    exp = DISJOINT[name]
    if math.isinf(exp):
        assert got == math.inf and back == math.inf
    else:
        assert got == pytest.approx(exp, rel=1e-14, abs=1e-15)
        # reversing the arguments swaps pi and 1 - pi: the same entropy value
        assert back == pytest.approx(exp, rel=1e-14, abs=1e-15)


def test_disjoint_supports_in_bits():
    assert D([1, 0], [0, 1], "js", base=2) == pytest.approx(1.0, rel=1e-15)
    assert D([1, 0], [0, 1], "gan", base=2) == pytest.approx(0.0, abs=1e-15)
    assert D([1, 0], [0, 1], "kl", base=2) == math.inf


def test_p_zero_where_q_positive():
    p, q = [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]
    assert D(p, q, "kl") == pytest.approx(LOG2, rel=1e-14)
    assert D(p, q, "reverse_kl") == math.inf
    assert D(p, q, "pearson") == pytest.approx(1.0, rel=1e-14)  # .25 + .25 + .5
    assert D(p, q, "neyman") == math.inf
    assert D(p, q, "jeffreys") == math.inf
    assert D(p, q, "tv") == pytest.approx(0.5, rel=1e-14)
    assert D(p, q, "squared_hellinger") == pytest.approx(
        2 * (math.sqrt(0.5) - 0.5) ** 2 + 0.5, rel=1e-14)
    assert D(p, q, "renyi", alpha=2) == pytest.approx(math.log(2.0), rel=1e-14)  # sum p^2/q
    assert D(p, q, "renyi", alpha=0.5) == pytest.approx(
        -2 * math.log(2 * math.sqrt(0.125)), rel=1e-14)
    assert D(p, q, "alpha", alpha=-1) == math.inf  # sum q^2/p
    assert D(p, q, "alpha", alpha=3) == pytest.approx((0.25 / 0.0625 - 1) / 6, rel=1e-14)


def direct_with_zeros(p, q, label):
    """Textbook formulas with the 0 f(0/0) = 0 and a/0 conventions, via scipy.special."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    name, a = base_name(label), _param(label)
    rel = special.rel_entr
    if name == "kl":
        return rel(p, q).sum()
    if name == "reverse_kl":
        return rel(q, p).sum()
    if name == "jeffreys":
        return rel(p, q).sum() + rel(q, p).sum()
    if name == "js":
        m = (p + q) / 2
        return 0.5 * rel(p, m).sum() + 0.5 * rel(q, m).sum()
    if name == "js_weighted":
        m = a * p + (1 - a) * q
        return a * rel(p, m).sum() + (1 - a) * rel(q, m).sum()
    if name == "gan":
        m = (p + q) / 2
        return rel(p, m).sum() + rel(q, m).sum() - LOG4
    if name == "tv":
        return 0.5 * np.abs(p - q).sum()
    if name == "squared_hellinger":
        return ((np.sqrt(p) - np.sqrt(q)) ** 2).sum()
    if name == "bhattacharyya":
        with np.errstate(divide="ignore"):
            return -np.log(np.sqrt(p * q).sum())
    if name in ("alpha", "renyi", "tsallis"):
        # sum p^a q^(1-a) over the joint support; a mass of one where the other is 0
        # contributes 0 (0 < a < 1) or makes the sum infinite (a > 1: q = 0 < p;
        # a < 0: p = 0 < q)
        both = (p > 0) & (q > 0)
        if (a > 1 and np.any((q == 0) & (p > 0))) or (a < 0 and np.any((p == 0) & (q > 0))):
            return np.inf
        c = (p[both] ** a * q[both] ** (1 - a)).sum()
        return {"alpha": (c - 1) / (a * (a - 1)), "tsallis": (c - 1) / (a - 1),
                "renyi": np.log(c) / (a - 1)}[name]
    if name == "pearson":
        return np.inf if np.any((q == 0) & (p > 0)) else np.sum(
            np.divide((p - q) ** 2, q, out=np.zeros_like(p), where=q > 0))
    if name == "neyman":
        return np.inf if np.any((p == 0) & (q > 0)) else np.sum(
            np.divide((p - q) ** 2, p, out=np.zeros_like(p), where=p > 0))
    raise AssertionError(label)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_random_pmfs_with_zeros_against_direct(name):
    rng = np.random.default_rng(123)
    checked = 0
    for _ in range(40):
        n = int(rng.integers(2, 9))
        p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        p[rng.random(n) < 0.3] = 0.0
        q[rng.random(n) < 0.3] = 0.0
        if p.sum() == 0 or q.sum() == 0:
            continue
        p, q = p / p.sum(), q / q.sum()
        with np.errstate(divide="ignore"):
            ref = direct_with_zeros(p, q, name)
        got = D(p, q, name)
        if math.isinf(ref):
            assert got == math.inf, (name, p, q)
        else:
            assert got == pytest.approx(ref, rel=1e-10, abs=1e-13), (name, p, q)
        checked += 1
    assert checked > 20


TRICKY = [
    ([0.5, 0.5, 0, 0], [0, 0, 0.3, 0.7]),
    ([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]),
    ([0.25, 0.25, 0.5], [0.5, 0.5, 0.0]),
    ([1.0, 0.0, 0.0], [1.0, 0.0, 0.0]),
    ([1.0, 0.0], [0.5, 0.5]),
    ([5e-324, 1.0], [1.0, 5e-324]),
    ([0.0, 1.0], [5e-324, 1.0]),
    ([5e-324, 1.0], [1e-323, 1.0]),
    ([1e-300, 1.0], [1.0, 1e-300]),
    ([1e-200, 1.0 - 1e-16, 0.0], [0.5, 0.5 - 1e-17, 1e-310]),
]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_no_nan_no_warning_on_tricky_inputs(name):
    for p, q in TRICKY:
        with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise",
                                                    over="raise"):
            warnings.simplefilter("error")
            vals = [D(p, q, name), D(q, p, name),
                    D(np.array([p, q]), np.array([q, p]), name)]
            bits = D(p, q, name, base=2) if base_name(name) in LOGARITHMIC else vals[0]
        for v in vals + [bits]:
            assert not np.any(np.isnan(v)), (name, p, q, v)
        floor = -LOG4 if name == "gan" else 0.0
        for v in vals:
            assert np.all(np.asarray(v) >= floor - 1e-15), (name, p, q, v)


def test_subnormal_masses():
    eps = 5e-324
    p, q = [eps, 1.0], [1.0, eps]
    nlog = -math.log(eps)  # 744.44...
    # KL = eps log(eps) + 1 * log(1/eps); the first term is below the smallest double
    assert D(p, q, "kl") == pytest.approx(nlog, rel=1e-14)
    assert D(p, q, "reverse_kl") == pytest.approx(nlog, rel=1e-14)
    assert D(p, q, "jeffreys") == pytest.approx(2 * nlog, rel=1e-14)
    assert D(p, q, "tv") == 1.0
    assert D(p, q, "js") == pytest.approx(LOG2, rel=1e-15)
    assert D(p, q, "squared_hellinger") == pytest.approx(2.0, rel=1e-15)
    # 1/eps = 2e323 is not representable: the correct float answer is inf (or > 1e300)
    assert D(p, q, "pearson") >= 1e300
    # subnormal in q where p = 0: p f(0/q) terms; reverse KL = eps * log(eps / 0) = inf
    # q = [eps, 1] sums to 1 only after rounding; KL to the normalised q is log(1 + eps) = eps
    assert D([0.0, 1.0], [eps, 1.0], "kl") == pytest.approx(0.0, abs=1e-300)
    assert D([0.0, 1.0], [eps, 1.0], "reverse_kl") == math.inf
    # two subnormals in proportion 1:2
    assert D([eps, 1.0], [2 * eps, 1.0], "kl") == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("tiny", [1e-40, 5e-324])
def test_bhattacharyya_renyi_nearly_disjoint(tiny):
    p, q = [tiny, 1.0], [1.0, tiny]
    bc = 2 * math.sqrt(tiny)  # sum sqrt(p q)
    assert D(p, q, "bhattacharyya") == pytest.approx(-math.log(bc), rel=1e-12)
    assert D(p, q, "renyi", alpha=0.5) == pytest.approx(-2 * math.log(bc), rel=1e-12)


@pytest.mark.parametrize("tiny", [1e-10, 1e-20, 1e-32])
def test_bhattacharyya_renyi_small_affinity(tiny):
    # BC = 2 sqrt(tiny) far below 1: must be computed without forming 1 - BC
    p, q = [tiny, 1.0], [1.0, tiny]
    bc = 2 * math.sqrt(tiny)
    assert D(p, q, "bhattacharyya") == pytest.approx(-math.log(bc), rel=1e-13)
    assert D(p, q, "renyi", alpha=0.5) == pytest.approx(-2 * math.log(bc), rel=1e-13)
    # renyi(0.25): sum p^.25 q^.75 = tiny^.25 + tiny^.75
    assert D(p, q, "renyi", alpha=0.25) == pytest.approx(
        math.log(tiny ** 0.25 + tiny ** 0.75) / (0.25 - 1), rel=1e-13)


def test_renyi_large_alpha_no_intermediate_overflow():
    eps = 5e-324
    assert D([eps, 1.0], [1.0, eps], "renyi", alpha=2) == pytest.approx(-math.log(eps),
                                                                       rel=1e-12)


# ------------------------------------------------------------------------------------
# identity


@pytest.mark.parametrize("p", [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5],
                               [5e-324, 1.0], list(np.random.default_rng(0).dirichlet(
                                   np.ones(30)))])
def test_identity_exact(p):
    for name in ALL_NAMES:
        v = D(p, p, name)
        if name == "gan":
            assert v == pytest.approx(-LOG4, abs=1e-15)
        else:
            assert v == 0.0, (name, v)


@pytest.mark.parametrize("name", [
    pytest.param(n) for n in ALL_NAMES])
def test_never_below_f_one_through_rounding(name):
    # near-identical pmfs: the true divergence is ~1e-17..1e-13 above f(1); the docstring
    # promises the computed one is never below f(1)
    rng = np.random.default_rng(2024)
    floor = -LOG4 if name == "gan" else 0.0
    for _ in range(500):
        q = rng.dirichlet(np.ones(5))
        p = q * (1 + rng.normal(0, 10 ** rng.uniform(-12, -6), 5))
        p /= p.sum()
        v = D(p, q, name)
        assert v >= floor, (name, p.tolist(), q.tolist(), v)


# ------------------------------------------------------------------------------------
# errors


def test_nan_and_inf_inputs():
    with pytest.raises(ValueError, match=r"^p .*non-finite"):
        D([np.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^q .*non-finite"):
        D([0.5, 0.5], [0.5, np.inf])
    with pytest.raises(ValueError, match=r"^q "):
        D([0.5, 0.5], [-np.inf, 1.0])


def test_negative_entries():
    with pytest.raises(ValueError, match=r"^p must be non-negative.*-0\.1"):
        D([-0.1, 1.1], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^q must be non-negative"):
        D([0.5, 0.5], [1.5, -0.5], "tv")
    with pytest.raises(ValueError, match="non-negative"):
        D([-0.1, 1.1], [0.5, 0.5], normalize=True)


def test_not_normalised():
    with pytest.raises(ValueError, match=r"^p is not normalised.*normalize"):
        D([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^q is not normalised.*normalize"):
        D([0.5, 0.5], [0.2, 0.2])
    with pytest.raises(ValueError, match="normalize"):
        D([[0.5, 0.5], [0.5, 0.6]], [0.5, 0.5], "js")
    # rounding-level deviations are accepted
    assert D([0.5, 0.5 + 1e-13], [0.5, 0.5]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="normalize"):
        D([0.5, 0.5 + 1e-6], [0.5, 0.5])


def test_sum_zero():
    with pytest.raises(ValueError, match=r"^p sums to 0"):
        D([0.0, 0.0], [0.5, 0.5], normalize=True)


def test_normalize_true_rescales():
    assert D([1, 3], [2, 2], "kl", normalize=True) == pytest.approx(
        stats.entropy([1, 3], [2, 2]), rel=1e-14)
    assert D([1, 3], [2, 2], "tv", normalize=True) == pytest.approx(0.25, rel=1e-14)
    p = np.array([[1.0, 2.0], [3.0, 1.0], [4.0, 1.0]])  # pmfs along axis 0
    q = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(D(p, q, "kl", axis=0, normalize=True),
                               stats.entropy(p, q, axis=0), rtol=1e-14)


def test_empty_and_scalar():
    with pytest.raises(ValueError, match=r"^p must not be empty"):
        D([], [])
    with pytest.raises(ValueError, match=r"^q must not be empty"):
        D([1.0], np.zeros((0,)))
    with pytest.raises(ValueError, match=r"^p must be at least 1-dimensional"):
        D(1.0, [1.0])


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="p and q"):
        D([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="p and q"):
        D(np.full((2, 3), 1 / 3), np.full((4, 3), 1 / 3))
    # broadcastable shapes with different lengths along the axis
    with pytest.raises(ValueError, match="p and q.*same length"):
        D(np.ones((3, 1)), np.full((1, 4), 0.25))


def test_non_numeric_input():
    with pytest.raises(TypeError, match=r"^p must be array-like"):
        D(["a", "b"], [0.5, 0.5])
    with pytest.raises(TypeError, match=r"^q must be array-like"):
        D([0.5, 0.5], ["x", 0.5])


def test_ragged_input_names_parameter():
    with pytest.raises(TypeError, match=r"^q must be array-like"):
        D([0.5, 0.5], [[0.5, 0.5], [1.0]])


@pytest.mark.parametrize("name", ["tv", "pearson", "neyman", "squared_hellinger",
                                  "alpha(alpha=0.5)", "alpha(alpha=2)"])
def test_base_refused_for_non_logarithmic(name):
    with pytest.raises(ValueError, match="base"):
        D([0.5, 0.5], [0.2, 0.8], name, base=2)


@pytest.mark.parametrize("name", ["kl", "reverse_kl", "jeffreys", "js", "js_weighted(pi=0.3)",
                                  "gan", "renyi(alpha=2)", "bhattacharyya"])
def test_base_converts_logarithmic(name):
    p, q = [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]
    nats = D(p, q, name)
    assert D(p, q, name, base=2) == pytest.approx(nats / LOG2, rel=1e-14)
    assert D(p, q, name, base=10) == pytest.approx(nats / math.log(10), rel=1e-14)


@pytest.mark.parametrize("base", [1, 1.0, 0, -2, math.nan, math.inf])
def test_invalid_base(base):
    with pytest.raises(ValueError, match="base"):
        D([0.5, 0.5], [0.2, 0.8], "kl", base=base)


def test_invalid_base_type():
    with pytest.raises(TypeError, match="base"):
        D([0.5, 0.5], [0.2, 0.8], "kl", base="2")


def test_ambiguous_hellinger_names_the_choice():
    # 'hellinger' means H, H^2 or H^2/2 depending on the source: refused, saying which
    with pytest.raises(ValueError, match="squared_hellinger"):
        D([0.5, 0.5], [0.2, 0.8], "hellinger")


@pytest.mark.parametrize("bad", ["kullback", "chi_sq", "KLD"])
def test_unknown_name(bad):
    with pytest.raises(ValueError) as info:
        D([0.5, 0.5], [0.2, 0.8], bad)
    msg = str(info.value)
    assert bad in msg
    for name in list(dv.fdivergences()) + ["renyi", "bhattacharyya"]:
        assert name in msg


@pytest.mark.parametrize("bad", ["wasserstein", "mmd2(bandwidth=1)"])
def test_non_pmf_quantity_refused(bad):
    with pytest.raises(ValueError) as info:
        D([0.5, 0.5], [0.2, 0.8], bad)
    msg = str(info.value)
    assert "name" in msg
    for name in list(dv.fdivergences()) + ["renyi", "bhattacharyya"]:
        assert name in msg


def test_bad_parameters():
    with pytest.raises(ValueError, match="alpha"):
        D([0.5, 0.5], [0.2, 0.8], "renyi")
    for a in (1.0, 0.0, -0.5):
        with pytest.raises(ValueError, match="alpha"):
            D([0.5, 0.5], [0.2, 0.8], "renyi", alpha=a)
    with pytest.raises(ValueError, match="alpha"):
        D([0.5, 0.5], [0.2, 0.8], "alpha", alpha=1)
    with pytest.raises(ValueError, match="pi"):
        D([0.5, 0.5], [0.2, 0.8], "js_weighted", pi=1.2)
    with pytest.raises(ValueError, match="unexpected"):
        D([0.5, 0.5], [0.2, 0.8], "kl", alpha=2)
    with pytest.raises(ValueError, match="unexpected"):
        D([0.5, 0.5], [0.2, 0.8], "bhattacharyya", alpha=2)
    with pytest.raises(ValueError, match="alpha"):
        D([0.5, 0.5], [0.2, 0.8], "renyi(alpha=2)", alpha=3)


def test_axis_out_of_range():
    with pytest.raises((ValueError, IndexError), match="axis"):
        D([[0.5, 0.5]], [[0.5, 0.5]], "kl", axis=2)
