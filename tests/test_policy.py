"""The auto policy as a table: context -> rule, with no fitting; the method registry."""

import math

import numpy as np
import pytest

import divest as dv
from divest import _methods, _policy
from divest._names import resolve


def _sample_rule(name, d, n, m=None):
    ctx = _policy.SampleContext(resolve(name), n, n if m is None else m, d)
    return _policy.explain(_policy.SAMPLE_RULES, ctx)


@pytest.mark.parametrize("name,d,n,want", [
    ("kl", 1, 1000, "default"), ("kl", 1, 30_000, "knn-large-sample"),
    ("kl", 3, 30_000, "knn-large-sample"), ("kl", 4, 30_000, "default"),
    ("reverse_kl", 2, 25_000, "knn-large-sample"), ("reverse_kl", 2, 24_999, "default"),
    ("renyi(alpha=0.5)", 2, 30_000, "knn-large-sample"),
    ("squared_hellinger", 1, 30_000, "knn-large-sample"),
    ("pearson", 1, 30_000, "knn-large-sample"), ("pearson", 1, 1000, "power-growth"),
    ("pearson", 5, 30_000, "power-growth"), ("alpha(alpha=2)", 2, 1000, "power-growth"),
    ("renyi(alpha=3)", 2, 1000, "power-growth"), ("tsallis(alpha=1.5)", 4, 1000, "power-growth"),
    ("alpha(alpha=0.5)", 2, 1000, "default"), ("alpha(alpha=-1)", 2, 1000, "default"),
    ("jeffreys", 2, 1000, "default"), ("neyman", 2, 1000, "default"),
    ("js", 1, 30_000, "default"), ("tv", 2, 30_000, "default"), ("gan", 1, 1000, "default"),
    # behaviour change (registry): kNN estimates Neyman (c_{-1}), so auto's
    # large-sample rule applies to it as to alpha(alpha=-1)
    ("neyman", 1, 30_000, "knn-large-sample"),
    ("bhattacharyya", 10, 30_000, "default"),
    ("wasserstein", 1, 100, "ipm"), ("wasserstein(p=2)", 3, 10**6, "ipm"),
    ("mmd2(bandwidth=1)", 1, 100, "ipm"), ("mmd2", 1, 100, "ipm"), ("energy", 2, 100, "ipm"),
])
def test_sample_policy_table(name, d, n, want):
    rule = _sample_rule(name, d, n)
    assert rule.name == want
    assert rule.why and rule.condition


def test_sample_policy_counts_both_sizes():
    assert _sample_rule("kl", 1, 49_000, 1000).name == "knn-large-sample"
    assert _sample_rule("kl", 1, 48_999, 1000).name == "default"


@pytest.mark.parametrize("closed,d,dens,name,want", [
    (True, 1, True, "kl", "closed-form"), (True, 5, False, "mmd2(bandwidth=1)", "closed-form"),
    (False, 1, True, "energy", "energy-1d"), (False, 2, True, "energy", "no-density-method"),
    (False, 1, True, "wasserstein", "no-density-method"), (False, 1, False, "kl", "no-densities"),
    (False, 1, True, "js", "quadrature"), (False, 3, True, "js", "monte-carlo"),
])
def test_distribution_policy_table(closed, d, dens, name, want):
    ctx = _policy.DistributionContext(resolve(name), d, closed, dens)
    rule = _policy.explain(_policy.DISTRIBUTION_RULES, ctx)
    assert rule.name == want
    assert rule.error == (want.startswith("no-"))


@pytest.mark.parametrize("name,dens,want", [("kl", True, "knn-one-sample"),
                                             ("KL", True, "knn-one-sample"),
                                             ("js", True, "no-mixed-method"),
                                             ("kl", False, "no-mixed-method")])
def test_mixed_policy_table(name, dens, want):
    rule = _policy.explain(_policy.MIXED_RULES, _policy.MixedContext(resolve(name), dens))
    assert rule.name == want


def test_policy_tables_end_with_a_catch_all():
    for rules in (_policy.SAMPLE_RULES, _policy.DISTRIBUTION_RULES, _policy.MIXED_RULES):
        assert rules[-1].when(None) is True


@pytest.mark.parametrize("name,a", [("kl", 1.0), ("pearson", 2.0), ("alpha(alpha=2)", 2.0),
                                    ("alpha(alpha=3)", 3.0), ("alpha(alpha=0.5)", 1.0),
                                    ("renyi(alpha=1.5)", 1.5), ("jeffreys", 1.0),
                                    ("neyman", 1.0), ("js", 1.0), ("tv", 1.0)])
def test_growth_exponent_from_the_generator(name, a):
    # a > 1 within 2%: the exponent is read off f at u = 1e40 and 1e44
    got = _methods.growth_exponent(resolve(name))
    assert got == pytest.approx(a, rel=0.02) and (got > 1.0) == (a > 1.0)


def test_growth_exponent_of_a_user_generator_without_a_name_rule():
    # a registered divergence is planned by its generator, not by its name
    fd = dv.get_fdivergence("alpha", alpha=2.5)

    class Spec:
        is_f, density_based = True, True

    spec = Spec()
    spec.fd = fd
    assert _methods.growth_exponent(spec) == pytest.approx(2.5, rel=0.02)


def test_rules_are_documented_in_the_docstring():
    doc = dv.divergence.__doc__
    for rules in (_policy.SAMPLE_RULES, _policy.DISTRIBUTION_RULES, _policy.MIXED_RULES):
        for r in rules:
            assert f"({r.name})" in doc


def test_auto_provenance_names_the_rule():
    from scipy import stats
    est = dv.divergence(stats.t(3), stats.norm(), "js")
    assert est.details["auto"]["rule"] == "quadrature"
    assert est.details["auto"]["why"] == _policy.DISTRIBUTION_RULES[4].why
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0, 1, (300, 2)), rng.normal(0.5, 1, (300, 2))
    est = dv.divergence(X, Y, "energy")
    assert est.details["auto"]["rule"] == "ipm" and est.details["auto"]["method"] == "ipm"


# -- the registry ----------------------------------------------------------------------


def _accepts(method, label, X, Y):
    """Whether the estimator itself accepts the name (not a ValueError about the name)."""
    try:
        dv.divergence(X, Y, label, method=method, rng=0, **_CHEAP.get(method, {}))
    except ValueError as exc:
        if "does not estimate" in str(exc):
            return False
        raise
    return True


_CHEAP = {"classifier": {"model": "logistic", "cv": 2, "interval": "sampling"},
          "ulsif": {"cv": 2, "interval": "sampling"}, "kliep": {"cv": 2, "interval": "sampling"},
          "knn": {"k": 3, "se": "none"}, "variational": {"max_iter": 20}}


@pytest.mark.parametrize("method", ["knn", "classifier", "ulsif", "kliep", "variational", "ipm"])
def test_registry_agrees_with_what_each_estimator_accepts(method):
    # the estimator is called directly too (not only through divergence, which checks
    # the registry first): its own name check must agree
    from divest import estimators
    from divest.reference import STANDARD_NAMES
    rng = np.random.default_rng(1)
    X, Y = rng.normal(0, 1, (60, 1)), rng.normal(0.3, 1.2, (60, 1))
    for label in STANDARD_NAMES:
        spec = resolve(label)
        ok = _methods.supports(method, spec)[0]
        assert _accepts(method, label, X, Y) == ok, (method, label)
        if method == "ipm":
            continue
        fn = getattr(estimators, method)
        try:
            fn(X, Y, label, rng=0, **_CHEAP.get(method, {}))
            direct = True
        except ValueError as exc:
            direct = False
            assert label.split("(")[0] in str(exc) or spec.label in str(exc), str(exc)
        assert direct == ok, (method, label)


def test_unsupported_method_says_why_and_what_does():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0, 1, (50, 1)), rng.normal(1, 1, (50, 1))
    with pytest.raises(ValueError, match=r"knn.*tv.*classifier, ulsif, kliep"):
        dv.divergence(X, Y, "tv", method="knn")
    with pytest.raises(ValueError, match="integral probability metric"):
        dv.divergence(X, Y, "energy", method="classifier")


def test_claim_reads_pair_facts():
    from divest.reference import get_pair
    t3 = get_pair("t3-normal").facts
    assert _methods.claim("classifier", resolve("kl"), t3) == (False, "Var_P log(p/q) infinite")
    assert _methods.claim("knn", resolve("js"), t3)[0]
    ms = get_pair("mean-shift-d2").facts
    assert not _methods.claim("knn", resolve("pearson"), ms)[0]
    assert _methods.claim("classifier", resolve("pearson"), ms)[0]
    assert _methods.claim("variational", resolve("kl"), ms) == (False, "lower bound")
    assert _methods.claim("quadrature", resolve("kl"), t3)[0]
    assert not _methods.claim("classifier", resolve("kl"), get_pair("exp-gamma").facts)[0]


def test_methods_table_lists_every_method_and_name():
    from divest.reference import STANDARD_NAMES
    table = _methods.methods_table()
    for key in _methods.METHODS:
        assert key in table
    for label in STANDARD_NAMES:
        assert f"``{label}``" in table
    assert math.isfinite(len(table))


def test_claim_follows_the_influence_function_of_every_order():
    # reverse KL needs Neyman finite, Neyman needs alpha(-2), alpha(2) needs alpha(4)
    from divest._methods import PairFacts, influence_needs
    assert influence_needs(resolve("reverse_kl")) == ("neyman",)
    assert influence_needs(resolve("neyman")) == ("alpha(alpha=-2)",)
    assert influence_needs(resolve("alpha(alpha=2)")) == ("alpha(alpha=4)",)
    assert influence_needs(resolve("renyi(alpha=1.5)")) == ("alpha(alpha=3)",)
    assert influence_needs(resolve("js")) == ()
    infinite = {"neyman", "alpha(alpha=4)"}
    facts = PairFacts(finite_lookup=lambda label: label not in infinite)
    assert not _methods.claim("knn", resolve("reverse_kl"), facts)[0]
    assert not _methods.claim("classifier", resolve("jeffreys"), facts)[0]
    assert not _methods.claim("classifier", resolve("alpha(alpha=2)"), facts)[0]
    assert _methods.claim("classifier", resolve("kl"), facts)[0]
    assert _methods.claim("knn", resolve("neyman"), facts)[0]
    assert not _methods.claim("knn", resolve("alpha(alpha=1.5)"), PairFacts(ratio_bounded=False))[0]


def test_power_growth_compares_open_intervals_by_inclusion():
    # auto's power-growth rule moves to kNN when its interval is narrower than the kept
    # estimate's; two intervals with an infinite end have equal (infinite) widths, and
    # the one inside the other is the narrower
    from divest._divergence import _narrower
    inf = float("inf")
    assert _narrower((33.6, inf), (0.0, inf))
    assert not _narrower((0.0, inf), (33.6, inf))
    assert not _narrower((0.0, inf), (0.0, inf))
    assert _narrower((1.0, 2.0), (0.0, 5.0)) and not _narrower((0.0, 5.0), (1.0, 2.0))
    assert _narrower((1.0, 9.0), (0.0, inf)) and not _narrower((0.0, inf), (1.0, 9.0))
