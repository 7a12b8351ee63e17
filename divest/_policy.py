"""``method="auto"`` as data: tables of rules (condition -> plan -> why).

:func:`divest.divergence` builds a context from its inputs (no fitting), takes the
first rule whose condition holds (:func:`explain`) and runs its plan.  The same tables
generate the "auto" part of ``divergence``'s docstring, the table in
``docs/conventions.rst`` and the provenance in ``details["auto"]``.  Policy
properties come from the registry (:mod:`divest._methods`: which methods estimate the
name) and from the generator (:func:`divest._methods.growth_exponent`), not from
names, so a registered divergence gets the plan its generator calls for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import _methods

__all__: list[str] = []

#: above this total sample size, auto prefers kNN in low dimension (speed; its bias has
#: shrunk: benchmarks/results/accuracy.md)
KNN_MIN_SAMPLES = 50_000
#: the largest dimension where auto prefers kNN at large sample sizes
KNN_MAX_DIM = 3


@dataclass(frozen=True)
class Rule:
    """One row of a policy table."""

    name: str
    when: Callable
    condition: str
    plan: tuple[str, ...]
    why: str
    error: bool = False  # the plan is a refusal: no method applies
    options: tuple = ()  # (option, value) pairs the plan passes to its method
    combine: str = "first"  # "first": the plan's first method that applies; "max": the largest

    def provenance(self) -> dict:
        """What ``details["auto"]`` records about the rule."""
        out = {"rule": self.name, "why": self.why}
        if self.options:
            out["options"] = dict(self.options)
        return out

    def plan_text(self) -> str:
        """The plan as text: methods joined by arrows, then the options it sets."""
        if self.error:
            return "refuse"
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options)
        plan = (f"max({', '.join(self.plan)})" if self.combine == "max"
                else " -> ".join(self.plan))
        return plan + (f" ({opts})" if opts else "")


@dataclass(frozen=True)
class SampleContext:
    """What the sample policy reads: the divergence, the sizes, the dimension."""

    spec: object
    n: int
    m: int
    d: int

    @property
    def ipm(self) -> bool:
        return _methods.supports("ipm", self.spec)[0]

    @property
    def knn(self) -> bool:
        """kNN estimates the name and auto may use it (``_methods.auto_supports``)."""
        return _methods.auto_supports("knn", self.spec)[0]

    @property
    def growth(self) -> float:
        return _methods.growth_exponent(self.spec) if self.spec.density_based else 1.0

    @property
    def ulsif_native(self) -> bool:
        """uLSIF estimates this divergence directly, not through a plug-in (Pearson)."""
        return self.spec.base == "pearson"


@dataclass(frozen=True)
class DistributionContext:
    """What the distribution policy reads (``closed_form``: one is available)."""

    spec: object
    d: int
    closed_form: bool
    densities: bool


@dataclass(frozen=True)
class MixedContext:
    """Samples of P with the distribution Q."""

    spec: object
    q_density: bool

    @property
    def knn(self) -> bool:
        return _methods.supports_one_sample(self.spec)[0]


SAMPLE_RULES = (
    Rule("ipm", lambda c: c.ipm,
         "the name is an integral probability metric (wasserstein, mmd2, energy)",
         ("ipm",), "divest.ipm computes these distances from the samples; no other sample "
         "method estimates them"),
    Rule("knn-large-sample", lambda c: c.knn and c.d <= KNN_MAX_DIM
         and c.n + c.m >= KNN_MIN_SAMPLES,
         f"nearest neighbours estimate the name (an auto candidate for it: not the JS "
         f"names, whose kNN estimate auto has not been measured on), d <= {KNN_MAX_DIM} and "
         f"n + m >= {KNN_MIN_SAMPLES}",
         ("knn",), "in low dimension at this size the kNN bias has shrunk and kNN is "
         "orders of magnitude faster than fitting a classifier"),
    Rule("power-growth", lambda c: c.growth > 1.0,
         "the generator grows like u^a with a > 1 (Pearson, alpha > 1)",
         ("classifier", "ulsif", "knn"),
         "the plug-in raises the fitted ratio to a power above 1, so a heavy-tailed fitted "
         "ratio explodes it: for Pearson uLSIF replaces the classifier when its held-out "
         "squared loss is lower by more than one SE, and the kNN value is used, with the "
         "open upper end, when the kept estimate's terms have a generalized-Pareto shape "
         "above 1 (an infinite-looking mean)"),
    Rule("default", lambda c: True, "otherwise", ("classifier",),
         "the cross-fitted classifier ratio estimates every density-based divergence in any "
         "dimension and had the lowest or near-lowest error on the reference pairs and, "
         "with its linear, radial and Gaussian models, on the hard pairs (heavy tails, "
         "d = 25-100; docs/tables/accuracy_hard.rst), where kNN and the kernel ratios were far off"),
)

DISTRIBUTION_RULES = (
    Rule("closed-form", lambda c: c.closed_form,
         "a closed form is registered for the pair and covers its parameters",
         ("closed_form",), "exact: standard error 0"),
    Rule("energy-1d", lambda c: c.spec.base == "energy" and c.d == 1,
         "energy distance of 1-D distributions", ("quadrature",),
         "the squared energy distance is 2 times the integral of (F - G)^2"),
    Rule("no-density-method", lambda c: not c.spec.density_based,
         "no closed form and the name is not density-based", (),
         "no numerical method for distributions computes it: draw samples and use a sample "
         "estimator", error=True),
    Rule("no-densities", lambda c: not c.densities,
         "no closed form and P or Q has no density", (),
         "quadrature and Monte Carlo need both densities", error=True),
    Rule("quadrature", lambda c: c.d == 1, "1-D pair with densities", ("quadrature",),
         "adaptive quadrature is accurate to about 1e-12 (reported as the standard error)"),
    Rule("monte-carlo", lambda c: True, "otherwise (d > 1, with densities)",
         ("monte_carlo",), "sample mean of the integrand; the standard error is the "
         "sampling one (option n, default 100 000 draws)"),
)

MIXED_RULES = (
    Rule("knn-one-sample", lambda c: c.knn and c.q_density,
         "samples of P, distribution Q with a density, and the one-sample kNN form "
         "estimates the name (kl)", ("knn",), "the one-sample kNN estimator uses Q's density at P's "
         "points and P's nearest-neighbour distances"),
    Rule("no-mixed-method", lambda c: True, "otherwise", (),
         "only the one-sample kNN estimator takes samples of P with a distribution Q: "
         "draw samples of Q (Q.rvs) and use a two-sample estimator", error=True),
)


def explain(rules, context) -> Rule:
    """The first rule of ``rules`` whose condition holds for ``context``."""
    for rule in rules:
        if rule.when(context):
            return rule
    raise LookupError("no rule matched: a policy table must end with a catch-all rule")


def rules_text(rules, indent: str = "") -> str:
    """The rules as a numbered list of plain text (for docstrings)."""
    import textwrap
    out = []
    for i, r in enumerate(rules, 1):
        plan = r.plan_text()
        cond = r.condition if r.condition.startswith("otherwise") else f"if {r.condition}"
        out.append(textwrap.fill(f"{i}. {cond}: ``{plan}`` ({r.name}): {r.why}.", width=88,
                                 initial_indent=indent, subsequent_indent=indent + "   ",
                                 break_on_hyphens=False))
    return "\n".join(out)


def rules_table(rules) -> str:
    """The rules as an RST list-table (for ``docs/conventions.rst``)."""
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 5 30 15 50", "",
             "   * - #", "     - condition", "     - plan", "     - why"]
    for i, r in enumerate(rules, 1):
        plan = "(error)" if r.error else ", ".join(f"``{p}``" for p in r.plan)
        if r.combine == "max":
            plan = f"the larger of {plan}"
        if r.options:
            plan += " with " + ", ".join(f"``{k}={v!r}``" for k, v in r.options)
        lines += [f"   * - {i}", f"     - {r.condition}", f"     - {plan}",
                  f"     - {r.why} (``{r.name}``)"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MIContext:
    """What the mutual-information policy reads: rows and the dimensions of X, Y and Z."""

    n: int
    dx: int
    dy: int
    dz: int = 0  # 0: no Z (plain mutual information)

    @property
    def gaussian_defined(self) -> bool:
        """Enough rows for the Gaussian form (its ``min_rows`` in the MI method table)."""
        from ._mi import MI_METHODS
        return self.n >= MI_METHODS["gaussian"].min_rows(self.dx, self.dy, self.dz, {})


MI_RULES = (
    Rule("gaussian-too-few-rows", lambda c: not c.gaussian_defined,
         "fewer rows than d_x + d_y (+ d_z) + 2", ("ksg",),
         "the sample covariance is singular, so the Gaussian-copula estimate is undefined; "
         "KSG on normal scores needs only more rows than k",
         options=(("marginals", "ranks"), ("k", 1))),
    Rule("copula-max", lambda c: True, "otherwise", ("ksg", "gaussian"),
         "both on normal scores (MI is invariant under monotone maps of each coordinate), "
         "keeping the larger: KSG is biased low in high dimension (least with k = 1) and the "
         "Gaussian-copula estimate misses non-Gaussian dependence (for one-dimensional X and "
         "Y it is a lower bound), so each is low where the other is accurate; this solved the "
         "most Beyond Normal tasks (benchmarks/results/mutual_information.md)",
         options=(("marginals", "ranks"), ("k", 1)), combine="max"),
)
