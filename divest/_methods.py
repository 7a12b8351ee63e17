"""The method registry: which method estimates which divergence, when its interval is claimed.

One table, :data:`METHODS`, read by every consumer: :func:`divest.divergence` (which
methods it accepts and what ``auto`` may pick), :func:`divest.crosscheck` (which rows
it runs), the estimators' error messages, the benchmarks (``claim``) and the docs'
methods x divergences table (:func:`methods_table`).  A method declares

* ``supports(spec)``: ``None`` if it estimates the divergence, else one sentence why
  not;
* ``auto_supports(spec)`` (optional): the same for ``method="auto"``, which may
  withhold names that the method estimates but auto's rules were not measured on;
* ``requires(P, Q, spec)`` (distribution methods): ``None`` if the pair has what the
  method needs (1-D densities, a sampler...), else why not;
* ``claim(spec, facts)``: whether its 95% interval is claimed on a pair with the given
  :class:`PairFacts`, and why not (the rule of "When an interval is claimed" in
  ``docs/conventions.rst``).

Only facts live here; how each method runs lives in its module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from . import fdiv as _fdiv

__all__: list[str] = []

#: names whose nearest-neighbour estimate is a mean of log ratios (Wang-Kulkarni-Verdú)
KNN_KL_NAMES = ("kl", "reverse_kl", "jeffreys")
#: names computed from the nearest-neighbour Chernoff coefficient
#: c_a = int p^a q^(1 - a) (Póczos-Schneider): a = alpha for the alpha family, 1/2 for
#: Hellinger and Bhattacharyya, 2 for Pearson, -1 for Neyman
KNN_CHERNOFF_NAMES = ("alpha", "renyi", "tsallis", "squared_hellinger", "bhattacharyya",
                      "pearson", "neyman")
#: names computed from nearest-neighbour entropies of P, Q and their mixture
#: M = pi P + (1 - pi) Q: JS_pi = H(M) - pi H(P) - (1 - pi) H(Q), gan = 2 JS - log 4
KNN_JS_NAMES = ("js", "js_weighted", "gan")
#: names the one-sample kNN form estimates (samples of P, the density of Q)
KNN_ONE_SAMPLE_NAMES = ("kl",)
#: distances between samples computed by divest.ipm
IPM_NAMES = ("wasserstein", "mmd2", "energy")


@dataclass(frozen=True)
class PairFacts:
    """What a pair of distributions satisfies, as far as the interval claims need.

    ``None`` means unknown.  :class:`divest.reference.ReferencePair` states them for
    the reference pairs (checked from the densities in the tests).

    Attributes
    ----------
    ratio_bounded : bool or None
        :math:`\\sup p/q < \\infty`.
    log_ratio_variance_finite : bool or None
        :math:`\\mathrm{Var}_P \\log(p/q) < \\infty`.
    chi2_finite : bool or None
        :math:`\\chi^2(P\\|Q) < \\infty`.
    chi2_variance_finite : bool or None
        :math:`\\int p^4/q^3 < \\infty`.
    """

    ratio_bounded: bool | None = None
    log_ratio_variance_finite: bool | None = None
    chi2_finite: bool | None = None
    chi2_variance_finite: bool | None = None
    #: optional ``label -> bool or None``: whether another divergence of the pair is
    #: finite (crosscheck reads it off the exact values)
    finite_lookup: Callable | None = None

    def is_finite(self, label: str) -> bool | None:
        """Whether the divergence ``label`` of the pair is finite (``None``: unknown)."""
        known = {"pearson": self.chi2_finite, "alpha(alpha=4)": self.chi2_variance_finite}
        if known.get(label) is not None:
            return known[label]
        return None if self.finite_lookup is None else self.finite_lookup(label)


@dataclass(frozen=True)
class Method:
    """One way of computing divergences (a row of the registry)."""

    name: str
    inputs: str  # "distributions" or "samples"
    summary: str
    supports: Callable
    requires: Callable | None = None
    lower_bound: bool = False
    opt_in: bool = False  # crosscheck runs it only when asked (cost)
    smoother: bool = False  # ratio capped by sample geometry or a kernel
    #: which of the supported names ``method="auto"`` may give the method (``None``: all
    #: of them); same signature as ``supports``
    auto_supports: Callable | None = None


# -- supports ------------------------------------------------------------------------


def _not_ipm(spec):
    if spec.base in IPM_NAMES:
        return ("an integral probability metric, not a functional of the density ratio "
                "(method 'ipm')")
    return None


def _density_based(spec):
    if spec.density_based:
        return None
    return _not_ipm(spec) or "not a density-based divergence"


def _knn(spec):
    if spec.base in KNN_KL_NAMES + KNN_CHERNOFF_NAMES + KNN_JS_NAMES:
        return None
    return _not_ipm(spec) or (
        "not a function of a mean of log-ratios, of a Chernoff coefficient "
        "int p^a q^(1-a) or of the entropies of P, Q and their mixture, the quantities "
        "nearest neighbours estimate (knn estimates "
        f"{', '.join(KNN_KL_NAMES + KNN_CHERNOFF_NAMES + KNN_JS_NAMES)})")


def _knn_auto(spec):
    if spec.base in KNN_JS_NAMES:
        return ("the kNN mixture-entropy estimate of the JS names is not an auto candidate: "
                "auto's kNN rule was chosen on measurements of the KL-type and Chernoff "
                "names (benchmarks/results/knn_js.md measures JS)")
    return _knn(spec)


def _f_only(spec):
    if spec.is_f:
        return None
    return _not_ipm(spec) or (
        "not an f-divergence, so no variational f-bound (bound the alpha-divergence or "
        "squared_hellinger and transform)")


def _ipm(spec):
    if spec.base in IPM_NAMES:
        return None
    return f"method 'ipm' computes {', '.join(IPM_NAMES)} only"


def _any(spec):
    return None


def _quadrature_spec(spec):
    if spec.density_based or spec.base == "energy":
        return None
    return "no 1-D integral form in divest (closed forms and sample methods only)"


# -- requires (distribution methods) ---------------------------------------------------


def _has_density(D):
    return hasattr(D, "logpdf") or hasattr(D, "logpmf")


def _requires_quadrature(P, Q, spec):
    from .distributions import dimension
    if dimension(P) != 1 or dimension(Q) != 1:
        return f"dimension {dimension(P)} > 1"
    if spec.base == "energy":
        return None if all(hasattr(D, "cdf") for D in (P, Q)) else "P or Q has no cdf"
    return None if all(_has_density(D) for D in (P, Q)) else "P or Q has no density"


def _requires_monte_carlo(P, Q, spec):
    if not all(_has_density(D) for D in (P, Q)):
        return "P or Q has no density"
    if not all(hasattr(D, "rvs") for D in (P, Q)):
        return "P or Q cannot be sampled (no rvs)"
    return None


# -- the registry ------------------------------------------------------------------------

METHODS: dict[str, Method] = {m.name: m for m in (
    # whether a closed form is registered for the pair (and covers its parameters) is
    # known only by asking exact.closed_form, which raises NoClosedForm otherwise
    Method("closed_form", "distributions", "exact formula registered for the pair's types",
           _any),
    Method("quadrature", "distributions", "adaptive 1-D integration of the densities",
           _quadrature_spec, _requires_quadrature),
    Method("monte_carlo", "distributions", "sample mean of the integrand under Q (or P)",
           _density_based, _requires_monte_carlo),
    Method("knn", "samples", "nearest-neighbour log-ratio means, Chernoff coefficients and "
           "mixture entropies", _knn, smoother=True, auto_supports=_knn_auto),
    Method("classifier", "samples", "cross-fitted probabilistic classifier density ratio",
           _density_based),
    Method("ulsif", "samples", "least-squares kernel density ratio (uLSIF)", _density_based,
           smoother=True),
    Method("kliep", "samples", "KL-importance-estimation kernel density ratio (KLIEP)",
           _density_based, smoother=True),
    Method("variational", "samples", "held-out variational lower bound, kernel critic",
           _f_only, lower_bound=True),
    Method("neural", "samples", "held-out variational lower bound, neural critic (torch)",
           _f_only, lower_bound=True, opt_in=True),
    Method("ipm", "samples", "integral probability metrics with divest.ipm", _ipm),
)}

DISTRIBUTION_METHODS = tuple(k for k, m in METHODS.items() if m.inputs == "distributions")
SAMPLE_METHODS = tuple(k for k, m in METHODS.items() if m.inputs == "samples")
#: methods run only when asked for (cost: a network trained per divergence)
OPT_IN_METHODS = tuple(k for k, m in METHODS.items() if m.opt_in)


def supports(method: str, spec) -> tuple[bool, str | None]:
    """``(ok, reason)``: whether ``method`` estimates the divergence ``spec``."""
    reason = METHODS[method].supports(spec)
    return reason is None, reason


def auto_supports(method: str, spec) -> tuple[bool, str | None]:
    """``(ok, reason)``: whether ``method="auto"`` may give ``spec`` to ``method`` (a
    supported name that the method's ``auto_supports`` does not withhold)."""
    m = METHODS[method]
    reason = (m.auto_supports or m.supports)(spec)
    return reason is None, reason


def applicable(method: str, P, Q, spec) -> tuple[bool, str | None]:
    """``(ok, reason)`` for distribution inputs: the divergence and the pair's needs."""
    m = METHODS[method]
    reason = m.supports(spec)
    if reason is None and m.requires is not None:
        reason = m.requires(P, Q, spec)
    return reason is None, reason


def supports_one_sample(spec) -> tuple[bool, str | None]:
    """``(ok, reason)``: whether samples of P with the distribution Q can estimate ``spec``."""
    if spec.base in KNN_ONE_SAMPLE_NAMES:
        return True, None
    return False, (f"the one-sample kNN form (samples of P, density of Q) estimates "
                   f"{', '.join(KNN_ONE_SAMPLE_NAMES)} only")


def methods_for(spec, inputs: str = "samples") -> tuple[str, ...]:
    """The methods of ``inputs`` kind that estimate ``spec``, in registry order."""
    return tuple(k for k, m in METHODS.items() if m.inputs == inputs and m.supports(spec) is None)


def check_supports(method: str, spec, caller: str | None = None) -> None:
    """Raise ``ValueError`` if ``method`` does not estimate ``spec``, saying why and what does."""
    reason = METHODS[method].supports(spec)
    if reason is None:
        return
    others = methods_for(spec, METHODS[method].inputs)
    alt = (f"; methods that estimate it: {', '.join(others)}" if others
           else "; no sample method estimates it")
    who = caller or f"method={method!r}"
    raise ValueError(f"{who} does not estimate name={spec.label!r}: {reason}{alt}")


# -- interval claims ---------------------------------------------------------------------


def claim(method: str, spec, facts: PairFacts | None = None) -> tuple[bool, str]:
    r"""Whether ``method`` claims its 95% interval for ``spec`` on a pair with ``facts``.

    The rule (``docs/conventions.rst``, "When an interval is claimed"):

    * exact methods (closed form, quadrature, Monte Carlo) always claim theirs;
    * variational lower bounds claim no interval for the divergence;
    * a normal interval needs the influence function of the divergence to have a
      finite variance: for KL :math:`\mathrm{Var}_P \log r` and :math:`\chi^2(P\|Q)`
      (its Q-part is :math:`-r(Y)`); for Pearson :math:`\int p^4/q^3` (its Q-part is
      :math:`1 - r(Y)^2`); divergences with a bounded generator at 0 and a bounded
      slope at infinity (JS, TV, squared Hellinger...) have bounded terms;
    * kNN, uLSIF and KLIEP ("smoothers": their ratio is capped by the sample geometry
      or the kernel) claim no Pearson interval when :math:`p/q` is unbounded.

    Unknown facts (``None``) do not withdraw a claim.  Divergences outside the rule
    (reverse KL, alpha-family, ...) are not claimed: ``(False, "no stated condition")``.
    """
    m = METHODS[method]
    facts = facts or PairFacts()
    if m.inputs == "distributions":
        return True, ""
    if m.lower_bound:
        return False, "lower bound"
    if m.name == "ipm":
        return True, ""
    if spec.base == "kl" and facts.log_ratio_variance_finite is False:
        return False, "Var_P log(p/q) infinite"
    for label in influence_needs(spec):
        if facts.is_finite(label) is False:
            what = {"pearson": "chi^2(P‖Q) infinite (Var_Q of the KL influence function)",
                    "alpha(alpha=4)": "int p^4/q^3 infinite (Var of the chi^2 influence "
                                      "function)"}.get(label, f"{label} infinite (the "
                                                                "influence function has "
                                                                "infinite variance)")
            return False, what
    if _power(spec) > 1.0 and facts.ratio_bounded is False and m.smoother:
        return False, "p/q unbounded (smoothing estimator of a power > 1)"
    if influence_needs(spec) or spec.base == "kl":
        return True, ""
    fd = spec.fd if spec.is_f else None
    if fd is not None and math.isfinite(fd.f_zero) and math.isfinite(fd.f_infinity):
        return True, ""
    if spec.base == "bhattacharyya" or (spec.base in ("renyi", "tsallis")
                                        and 0.0 < spec.params["alpha"] < 1.0):
        return True, ""
    return False, f"no stated condition for {spec.label}"


def _power(spec) -> float:
    """The order a of the alpha-type names (Pearson 2, Neyman -1); nan for the others."""
    if spec.base == "pearson":
        return 2.0
    if spec.base == "neyman":
        return -1.0
    if spec.base in ("alpha", "renyi", "tsallis"):
        return float(spec.params["alpha"])
    return math.nan


def influence_needs(spec) -> tuple[str, ...]:
    r"""Divergences of the pair that must be finite for ``spec``'s influence function to
    have a finite variance (the condition of a normal interval).

    KL needs :math:`\chi^2(P\|Q)` (its Q-part is :math:`-r(Y)`), reverse KL
    :math:`\chi^2(Q\|P)` (Neyman), Jeffreys both; the alpha-type names of order
    :math:`a \notin [0, 1]` (Pearson :math:`a = 2`, Neyman :math:`a = -1`, alpha,
    Rényi, Tsallis) need :math:`\int p^{2a} q^{1-2a} < \infty`, i.e.
    ``alpha(alpha=2a)`` finite.  Orders in (0, 1) have bounded terms.
    """
    needs = {"kl": ("pearson",), "reverse_kl": ("neyman",),
             "jeffreys": ("pearson", "neyman")}.get(spec.base)
    if needs is not None:
        return needs
    a = _power(spec)
    if math.isfinite(a) and not 0.0 <= a <= 1.0:
        b = 2.0 * a
        return (f"alpha(alpha={int(b) if b.is_integer() else b})",)
    return ()


# -- facts derived from the generator ------------------------------------------------------


def growth_exponent(spec) -> float:
    r"""The exponent :math:`a` of :math:`f(u) \sim u^a` as :math:`u \to \infty`, from f.

    Read off the generator: :math:`\log f(u) - \log u - \log\log u` changes by
    :math:`(a - 1)\log(u_2/u_1)` between two large :math:`u` when :math:`a > 1`, and
    stays put for :math:`u\log u` growth (KL: :math:`a = 1`).  Rényi-type names use
    their alpha-divergence.  Returns 1 for generators that grow at most like
    :math:`u \log u`.
    """
    import numpy as np
    fd = spec.fd if spec.is_f else (spec.alpha_fd if spec.density_based else None)
    if fd is None:
        return math.nan
    u1, u2 = 1e40, 1e44
    with np.errstate(all="ignore"):
        f1, f2 = (float(fd.f(np.array([u]))[0]) for u in (u1, u2))
    if not (f1 > 0 and f2 > 0 and math.isfinite(f1) and math.isfinite(f2)):
        return 1.0
    g = (math.log(f2) - math.log(u2) - math.log(math.log(u2))) - (
        math.log(f1) - math.log(u1) - math.log(math.log(u1)))
    a = 1.0 + g / math.log(u2 / u1)
    return a if a > 1.0 + 1e-6 else 1.0


# -- the docs' table ---------------------------------------------------------------------


def methods_table(names=None) -> str:
    """An RST table: divergences (rows) x methods (columns), "yes" or why not (footnoted)."""
    from . import _names
    from .reference import STANDARD_NAMES
    labels = list(STANDARD_NAMES if names is None else names)
    header = ["divergence"] + list(METHODS)
    rows, notes = [], {}
    for label in labels:
        spec = _names.resolve(label)
        cells = [f"``{label}``"]
        for m in METHODS.values():
            reason = m.supports(spec)
            if reason is None:
                cells.append("bound" if m.lower_bound else "yes")
            else:
                cells.append(f"no [{notes.setdefault(reason, len(notes) + 1)}]")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = " ".join("=" * w for w in widths)

    def fmt(r):
        return " ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    out = [line, fmt(header), line, *(fmt(r) for r in rows), line, ""]
    out += [f"[{i}] {reason}" for reason, i in notes.items()]
    return "\n".join(out) + "\n"
