"""Run every applicable method on one pair of distributions and check them against each other."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from . import _methods, _names
from ._validation import bound_arguments, check_distribution, check_positive_int, check_rng
from .distributions import dimension
from .exact import NoClosedForm, _best_exact, monte_carlo, quadrature
from .reference import STANDARD_NAMES, draw

__all__ = ["CrossCheckReport", "CrossCheckRow", "InequalityCheck", "crosscheck"]

#: absolute z-score above which an estimate is flagged as disagreeing with the exact value; a
#: claimed 95% interval is checked with its sampling part widened from 1.96 to this many
#: standard errors (a family-wise level over the ~100 rows of a run)
Z_FAIL = 5.0
#: a standard error above ``SE_ABSURD * max(1, |exact|)`` carries no information
SE_ABSURD = 1e6
_Z95 = 1.959963984540054

_EXACT_METHODS = _methods.DISTRIBUTION_METHODS
#: exact methods without sampling error: judged by |z| alone
_DETERMINISTIC = ("closed_form", "quadrature")
#: every row status: whether it fails the run, and what it means (docs/cli.rst has this table)
STATUSES = {
    "reference": (False, "the row is the exact value the others are compared with"),
    "ok": (False, "within Z_FAIL SE (closed form, quadrature) or inside the claimed interval"),
    "open": (False, "covered only through an interval end that is open towards the exact value"),
    "bound": (False, "a lower bound not above the exact value beyond Z_FAIL SE"),
    "unclaimed": (False, "the method claims no interval for this divergence on this pair"),
    "inf-missed": (False, "the exact value is infinite; the finite estimate's interval is not "
                          "open above, and no interval is claimed for an infinite divergence"),
    "no-exact": (False, "no exact value to compare with"),
    "FAIL": (True, "the exact value is outside the claimed interval, an exact method is off "
                   "by more than Z_FAIL SE, or a lower bound is above the exact value"),
    "unreliable": (True, "an infinite, NaN or absurd SE without an interval open towards the "
                         "exact value"),
    "error": (True, "the method raised an error"),
}
#: statuses that fail the run
FAILING_STATUSES = tuple(k for k, (fails, _) in STATUSES.items() if fails)
#: sample estimators, run on n_samples draws of P and Q; ratio methods are fitted once
_SAMPLE_METHODS = tuple(m for m in _methods.SAMPLE_METHODS if m not in _methods.OPT_IN_METHODS)
#: exact optimal transport in d > 1 runs on at most this many of the drawn points
_W_MAX_POINTS = 1000
_RATIO_METHODS = ("classifier", "ulsif", "kliep")
#: run only when asked for (training a network per divergence takes seconds to minutes)
_OPT_IN_METHODS = _methods.OPT_IN_METHODS
_METHODS = _EXACT_METHODS + _SAMPLE_METHODS + _OPT_IN_METHODS


@dataclass(frozen=True)
class CrossCheckRow:
    """One method's estimate of one divergence, and its verdict.

    Attributes
    ----------
    name : str
        Divergence label.
    method : str
    value, standard_error : float
    exact : float or None
        The reference value (closed form, else quadrature), if any.
    z : float or None
        ``(value - exact) / sqrt(se^2 + se_exact^2)``; 0 when both are equal
        (including equal infinities), ``inf`` when an exact method disagrees.
    status : str
        The verdict of the row (the table in ``docs/cli.rst``).  Failing the run:
        ``"FAIL"`` (a closed form or quadrature more than :data:`Z_FAIL` standard errors
        from the exact value; the exact value outside a claimed interval; a lower bound
        more than :data:`Z_FAIL` standard errors above the exact value),
        ``"unreliable"`` (an infinite, NaN or absurd standard error, see
        ``_unreliable_se``, without an interval open towards the exact value) and
        ``"error: ..."``.  Not failing: ``"reference"`` (this row is the exact value),
        ``"ok"``, ``"open"`` (covered only through an interval end that is open
        towards the exact value), ``"bound"`` (a lower bound not above the exact
        value), ``"unclaimed"`` (the method claims no interval here; ``note`` says
        why), ``"inf-missed"`` (the exact value is infinite and the finite estimate's
        interval is not open above) and ``"no-exact"``.
    seconds : float
        Wall time of the method.
    interval : tuple of float
        The estimate's ``confidence_interval`` (bias-aware where the method makes
        it so); ``(nan, nan)`` for an error.
    claimed : bool
        Whether the verdict held the method to its interval (or, for closed forms and
        quadrature, to its error bound).
    note : str
        Why a row is not simply ``"ok"``.
    """

    name: str
    method: str
    value: float
    standard_error: float
    exact: float | None
    z: float | None
    status: str
    seconds: float
    interval: tuple = (math.nan, math.nan)
    claimed: bool = False
    note: str = ""

    @property
    def failed(self) -> bool:
        """Whether this row fails the run."""
        return self.status.split(":")[0] in FAILING_STATUSES


@dataclass(frozen=True)
class InequalityCheck:
    """A relation between divergences that must hold for every pair.

    Attributes
    ----------
    name : str
        E.g. ``"Pinsker: TV <= sqrt(KL/2)"``.
    lhs, rhs : float
    holds : bool
    """

    name: str
    lhs: float
    rhs: float
    holds: bool


@dataclass(frozen=True)
class CrossCheckReport:
    """Result of :func:`crosscheck`.

    Attributes
    ----------
    pair : str
        Description of the pair.
    rows : tuple of CrossCheckRow
    checks : tuple of InequalityCheck
    n : int
        Samples per distribution given to the sample estimators (``n_samples`` of
        :func:`crosscheck`).
    seed : object
        The ``rng`` argument (for reproduction).
    failures : tuple of str
        One line per failing row or violated relation; empty when the run passes.
    n_exact : int or None
        Draws per distribution for Monte Carlo (``n`` of :func:`crosscheck`).
    """

    pair: str
    rows: tuple
    checks: tuple
    n: int
    seed: object = None
    failures: tuple = field(default=(), compare=False)
    n_exact: int | None = None

    @property
    def ok(self) -> bool:
        """True when no row fails (see :attr:`CrossCheckRow.status`) and every relation holds."""
        return not self.failures

    def _sizes(self) -> str:
        methods = {r.method for r in self.rows}
        parts = []
        if methods & set(_SAMPLE_METHODS + _OPT_IN_METHODS):
            parts.append(f"sample estimators: n = {self.n} per distribution")
        if "monte_carlo" in methods and self.n_exact is not None:
            parts.append(f"Monte Carlo: {self.n_exact} draws")
        return "; ".join(parts + [f"rng = {self.seed!r}"])

    def _verdict(self, bullet="  - ") -> str:
        counts = {}
        for r in self.rows:
            key = r.status.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        tally = ", ".join(f"{k} {v}" for k, v in counts.items())
        if self.ok:
            return f"all checks passed ({tally})"
        return "\n".join([f"FAILED: {len(self.failures)} failure(s) ({tally})"]
                         + [bullet + f for f in self.failures])

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable; infinities and NaN as strings)."""
        def clean(x):
            if isinstance(x, float) and not math.isfinite(x):
                return str(x)
            if isinstance(x, tuple):
                return [clean(v) for v in x]
            return x
        return {
            "pair": self.pair, "n": self.n, "n_exact": self.n_exact, "seed": repr(self.seed),
            "ok": self.ok, "failures": list(self.failures),
            "rows": [{k: clean(v) for k, v in asdict(r).items()} for r in self.rows],
            "checks": [{k: clean(v) for k, v in asdict(c).items()} for c in self.checks],
        }

    def to_json(self, path=None) -> str:
        """JSON text; written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text

    def to_markdown(self) -> str:
        """The report as markdown tables."""
        lines = [f"### crosscheck: {self.pair} ({self._sizes()})", "",
                 "| divergence | exact | method | estimate | std. error | 95% interval | z | "
                 "status | note | s |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            ex = "—" if r.exact is None else f"{r.exact:.6g}"
            z = "" if r.z is None else f"{r.z:+.2f}"
            note = r.note.replace("|", "/")
            lines.append(f"| {r.name} | {ex} | {r.method} | {r.value:.6g} | "
                         f"{r.standard_error:.2g} | {_fmt_interval(r.interval)} | {z} | "
                         f"{r.status} | {note} | {r.seconds:.3f} |")
        lines += ["", "| relation | lhs | rhs | holds |", "|---|---|---|---|"]
        for c in self.checks:
            lines.append(f"| {c.name} | {c.lhs:.6g} | {c.rhs:.6g} | {'yes' if c.holds else 'NO'} |")
        verdict = self._verdict(bullet="- ").split("\n")
        lines += ["", f"**{verdict[0]}**"] + ([""] + verdict[1:] if len(verdict) > 1 else [])
        return "\n".join(lines)

    def __str__(self) -> str:
        head = f"crosscheck: {self.pair}   ({self._sizes()})"
        out = [head, "=" * len(head),
               f"{'divergence':22s} {'exact':>12s} {'method':12s} {'estimate':>12s} "
               f"{'std.err':>9s} {'95% interval':>22s} {'z':>7s}  status"]
        prev = None
        for r in self.rows:
            ex = "—" if r.exact is None else f"{r.exact:.6g}"
            z = "" if r.z is None else f"{r.z:+.2f}"
            nm = r.name if r.name != prev else ""
            prev = r.name
            note = f"  ({r.note})" if r.note else ""
            out.append(f"{nm:22s} {ex:>12s} {r.method:12s} {r.value:12.6g} "
                       f"{r.standard_error:9.2g} {_fmt_interval(r.interval):>22s} {z:>7s}  "
                       f"{r.status}{note}")
        out += ["", "relations that must hold:"]
        for c in self.checks:
            out.append(f"  [{'ok' if c.holds else 'NO'}] {c.name}: {c.lhs:.6g} <= {c.rhs:.6g}")
        out += ["", self._verdict()]
        return "\n".join(out)

    def plot(self, path):
        """Write a PNG: per divergence, each method's estimate with its 95% interval and the exact value.

        Each panel's y-range is set by the exact value and the point estimates
        (``_panel_limits``), not by the widest interval: a bar that leaves the panel
        ends in a triangle at the edge, and an estimate outside the panel is drawn as a
        hollow triangle at the edge with its value.  Methods whose row fails the run are
        labelled in red.
        """
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = list(dict.fromkeys(r.name for r in self.rows))
        ncol = 4
        nrow = max(1, math.ceil(len(names) / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 2.6 * nrow), squeeze=False)
        for ax, nm in zip(axes.ravel(), names):
            rows = [r for r in self.rows if r.name == nm and not math.isnan(r.value)]
            exact = next((r.exact for r in self.rows if r.name == nm), None)
            _plot_panel(ax, rows, exact)
            title = nm if exact is None or math.isfinite(exact) else f"{nm} (exact = inf)"
            ax.set_title(title, fontsize=9)
        for ax in axes.ravel()[len(names):]:
            ax.axis("off")
        fig.suptitle(f"divest crosscheck — {self.pair} ({self._sizes()}; bars: 95% intervals; "
                     "dashed: exact; triangles: clipped)", fontsize=10)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


_COLORS = {"closed_form": "k", "quadrature": "tab:blue", "monte_carlo": "tab:orange",
           "knn": "tab:green", "classifier": "tab:purple", "ulsif": "tab:brown",
           "kliep": "tab:pink", "variational": "tab:gray", "ipm": "tab:olive",
           "neural": "tab:cyan"}


def _fmt_interval(iv) -> str:
    lo, hi = iv
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"[{lo:.4g}, {hi:.4g}]"


def _bar(r):
    """The 95% interval drawn for a row: its own interval, else value -/+ 1.96 SE."""
    lo, hi = r.interval
    if math.isnan(lo) or math.isnan(hi):
        se = r.standard_error if math.isfinite(r.standard_error) else 0.0
        return r.value - _Z95 * se, r.value + _Z95 * se
    return lo, hi


def _panel_limits(values, exact, bars):
    """A y-range for one panel that no single outlier or huge error bar can flatten.

    The core range spans the exact value (if finite) and the point estimates that lie
    within 10 median deviations of it (the centre is the exact value, else the median
    estimate).  Interval ends may widen it on each side by at most the larger of the
    core span and three typical bar lengths (the median of the finite distances from
    the kept estimates to their interval ends); a tenth of the span is always added as
    a margin.

    Parameters
    ----------
    values : sequence of float
        Point estimates (non-finite ones are ignored).
    exact : float or None
    bars : sequence of (float, float)
        Interval ends, one pair per estimate.

    Returns
    -------
    (float, float)
    """
    has_exact = exact is not None and math.isfinite(exact)
    pts = [(v, b) for v, b in zip(values, bars) if math.isfinite(v)]
    if not pts:
        centre = exact if has_exact else 0.0
        return centre - 1.0, centre + 1.0
    finite = np.array([v for v, _ in pts])
    centre = float(exact) if has_exact else float(np.median(finite))
    dev = np.abs(finite - centre)
    typical = float(np.median(dev))
    keep = dev <= 10 * typical if typical > 0 else dev == 0
    kept = [pts[i] for i in np.flatnonzero(keep)]
    core = [v for v, _ in kept] + [centre]
    lo0, hi0 = min(core), max(core)
    span = hi0 - lo0
    if span == 0.0:
        span = 0.1 * max(1.0, abs(centre))
    lengths = [abs(e - v) for v, b in kept for e in b if math.isfinite(e)]
    reach = max(span, 3 * float(np.median(lengths))) if lengths else span
    ends = [e for _, b in pts for e in b if not math.isnan(e)]
    lo = min(lo0 - 0.1 * span, max(lo0 - reach, min(ends, default=lo0)))
    hi = max(hi0 + 0.1 * span, min(hi0 + reach, max(ends, default=hi0)))
    return lo, hi


def _plot_panel(ax, rows, exact):
    """One divergence: each method's estimate and interval, clipped to ``_panel_limits``."""
    bars = [_bar(r) for r in rows]
    lo, hi = _panel_limits([r.value for r in rows], exact, bars)
    pad = 0.02 * (hi - lo)
    for i, (r, (b_lo, b_hi)) in enumerate(zip(rows, bars)):
        color = _COLORS.get(r.method, "tab:green")
        top, bottom = min(b_hi, hi - pad), max(b_lo, lo + pad)
        if bottom < top:
            ax.vlines(i, bottom, top, color=color, lw=1.5)
        if b_hi > hi:  # the bar continues above the panel
            ax.plot([i], [hi - pad], marker="^", color=color, ms=6, ls="none")
        if b_lo < lo:
            ax.plot([i], [lo + pad], marker="v", color=color, ms=6, ls="none")
        if lo <= r.value <= hi:
            ax.plot([i], [r.value], "o", color=color, ms=5)
        else:
            edge = hi - pad if r.value > hi else lo + pad
            ax.plot([i], [edge], marker="^" if r.value > hi else "v", mfc="white",
                    color=color, ms=9, ls="none")
            ax.annotate(f"{r.value:.3g}", (i, edge), textcoords="offset points",
                        xytext=(4, -10 if r.value > hi else 4), fontsize=6, color=color)
    if exact is not None and math.isfinite(exact):
        ax.axhline(exact, color="tab:red", lw=1, ls="--", label="exact")
    ax.set_ylim(lo, hi)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r.method for r in rows], fontsize=7, rotation=35, ha="right")
    for label, r in zip(ax.get_xticklabels(), rows):
        if r.failed:
            label.set_color("red")
    ax.set_xlim(-0.7, max(len(rows), 1) - 0.3)


def _z(value, se, exact, se_exact):
    if exact is None:
        return None
    if value == exact:
        return 0.0
    if math.isinf(exact) or math.isinf(value):
        return math.inf if value > exact else -math.inf
    diff = value - exact
    if se == 0.0 and se_exact == 0.0:
        # two exact methods: agreement up to rounding
        return 0.0 if abs(diff) <= 1e-9 * max(1.0, abs(exact)) else math.copysign(math.inf, diff)
    # floor at a few ulps: constant integrands have a standard error made of rounding alone
    rounding = 8 * np.finfo(float).eps * max(1.0, abs(exact))
    return diff / math.sqrt(se ** 2 + se_exact ** 2 + rounding ** 2)


def _unreliable_se(value, se, exact):
    """Whether a standard error carries no information about the estimate.

    True for a NaN standard error, a non-finite one on a finite estimate, and one above
    ``SE_ABSURD * max(1, |exact|)`` (no interval built from it says anything about a
    divergence of that size).
    """
    if math.isnan(se):
        return not (math.isinf(value) and exact is not None and value == exact)
    if math.isinf(se):
        return math.isfinite(value)
    scale = max(1.0, abs(exact)) if exact is not None else max(1.0, abs(value))
    return se > SE_ABSURD * scale


def _claims_interval(est):
    """Whether the method claims ``est.confidence_interval`` for the divergence itself.

    For now: a lower bound (``is_lower_bound``) claims nothing about the divergence,
    and an interval with a NaN end or open at both ends claims nothing; a finite or
    half-open interval is claimed.  (The method registry's assumptions will refine
    this per method and divergence.)
    """
    if est.is_lower_bound:
        return False
    lo, hi = est.confidence_interval
    if math.isnan(lo) or math.isnan(hi):
        return False
    return not (lo == -math.inf and hi == math.inf)


def _widened(interval, se, exact, se_exact):
    """The 95% interval with its sampling part widened from 1.96 to :data:`Z_FAIL` SEs.

    The bias allowances of a bias-aware interval are kept as they are; ``se_exact``
    (the exact value's own error) widens both ends by :data:`Z_FAIL` times itself, and
    a few ulps of the exact value absorb rounding (an estimate of ``log 2`` with a zero
    standard error on disjoint supports).
    """
    lo, hi = interval
    rounding = 8 * np.finfo(float).eps * (max(1.0, abs(exact)) if math.isfinite(exact) else 1.0)
    extra = (Z_FAIL - _Z95) * (se if math.isfinite(se) else 0.0) + Z_FAIL * se_exact + rounding
    return lo - extra, hi + extra


class _Conditions:
    """What the exact values of the pair say: the facts the interval claims read.

    :func:`divest._methods.claim` holds the rule ("When an interval is claimed" in
    ``docs/conventions.rst``); crosscheck supplies it with which divergences of the pair
    are finite, read off their exact values (closed form or quadrature), and the
    reference pair's own facts when the CLI passes them.  Exact values that are not
    available impose nothing.
    """

    def __init__(self, P, Q, facts=None):
        import dataclasses

        self.P, self.Q, self._cache = P, Q, {}
        self.facts = dataclasses.replace(facts or _methods.PairFacts(),
                                         finite_lookup=self._finite)

    def _finite(self, label):
        if label not in self._cache:
            try:
                ref = _best_exact(self.P, self.Q, label)
            except (ValueError, FloatingPointError, NoClosedForm):
                ref = None
            self._cache[label] = None if ref is None else bool(math.isfinite(ref.value))
        return self._cache[label]

    def unclaimed_reason(self, method, spec, exact):
        """Why ``method`` claims no interval for ``spec`` on this pair ("" when it does)."""
        if math.isinf(exact):
            return "the divergence is infinite: no interval is claimed"
        claimed, reason = _methods.claim(method, spec, self.facts)
        return "" if claimed else reason


def _judge(method, est, exact, se_exact, unclaimed_reason):
    """The verdict of one row that is not the reference: ``(status, claimed, note, failure)``.

    ``failure`` is the line added to the report's failures, or None.  The rules are the
    table of ``docs/cli.rst``.  An interval end is *open* only when it is infinite: the
    method's own judgement that it cannot bound the divergence on that side.  An end
    clipped to the edge of the divergence's range (the 0 of ``[0, 7.6e19]``) is not:
    there the clip, not the method, hides an unusable standard error.
    """
    v, se = est.value, est.standard_error
    lo, hi = est.confidence_interval
    z = _z(v, se, exact, se_exact)
    if method in _DETERMINISTIC:
        if abs(z) > Z_FAIL:
            return "FAIL", True, "", f"z = {z:+.2f}"
        return "ok", True, "", None
    unreliable = _unreliable_se(v, se, exact)
    if est.is_lower_bound:
        note = "lower bound: no interval is claimed for the divergence"
        if v <= exact or (z <= Z_FAIL and not unreliable):
            return "bound", False, note, None
        if unreliable:
            return ("unreliable", False, f"lower bound above the exact value, SE = {se:.2g}",
                    f"lower bound above the truth with an unreliable SE = {se:.2g}")
        return "FAIL", False, note, f"lower bound above the truth, z = {z:+.2f}"
    w_lo, w_hi = _widened((lo, hi), se, exact, se_exact)
    covered = w_lo <= exact <= w_hi
    open_towards = (exact > v and hi == math.inf) or (exact < v and lo == -math.inf)
    if unreliable:
        if covered and open_towards:
            return "open", False, f"SE = {se:.2g}; the interval is open towards the exact value", \
                None
        return ("unreliable", False, f"SE = {se:.2g} carries no information",
                f"SE = {se:.2g} and the interval [{lo:.4g}, {hi:.4g}] is not open towards "
                f"the exact value")
    if math.isinf(exact) and math.isfinite(v):
        if hi == math.inf:
            return "open", False, "the interval is open above", None
        return "inf-missed", False, "the exact value is infinite; the interval is not open", None
    if not _claims_interval(est):
        return "unclaimed", False, "the method claims no interval", None
    if unclaimed_reason:
        return "unclaimed", False, unclaimed_reason, None
    if covered:
        return "ok", True, "", None
    return ("FAIL", True, f"outside the claimed interval (z = {z:+.2f})",
            f"exact value {exact:.6g} outside the claimed interval [{lo:.4g}, {hi:.4g}] "
            f"(sampling part widened to {Z_FAIL:g} SE), z = {z:+.2f}")


def _applicable(P, Q, spec, method):
    """Whether ``method`` runs for ``spec`` on (P, Q): the method registry decides (a
    closed form is looked up when run: a missing one skips the row)."""
    return _methods.applicable(method, P, Q, spec)[0]


def _exact_checked(fn, P, Q, label, **kwargs):
    """``fn(P, Q, label, **kwargs)`` (quadrature or monte_carlo) on P and Q that
    :func:`_crosscheck_iv` checked and the registry found applicable: the distributions
    are not checked again (the pair's own checks, e.g. discrete against continuous,
    still run)."""
    from .exact._monte_carlo import _monte_carlo, _monte_carlo_iv
    from .exact._quadrature import _quadrature, _quadrature_iv
    args = bound_arguments(fn, P, Q, label, **kwargs)
    if fn is quadrature:
        return _quadrature(*_quadrature_iv(**args, distributions_checked=True))
    return _monte_carlo(*_monte_carlo_iv(**args, distributions_checked=True))


def _sample_estimate(method, spec, samples, ratios, rng):
    """One sample estimator's estimate; density-ratio fits are made once and reused."""
    from . import estimators
    X, Y = samples["X"], samples["Y"]
    if method == "ipm":
        from ._divergence import _ipm_estimate
        if spec.base == "wasserstein" and X.shape[1] > 1:
            X, Y = X[:_W_MAX_POINTS], Y[:_W_MAX_POINTS]
        return _ipm_estimate(X, Y, spec, rng, {})
    if method == "neural":
        from . import torch as dtorch
        return dtorch.variational(X, Y, spec.label, rng=rng)
    if method in _RATIO_METHODS:
        if method not in ratios:
            ratios[method] = estimators.fit_ratio(X, Y, method=method, rng=rng)
        return ratios[method].divergence(spec.label)
    return getattr(estimators, method)(X, Y, spec.label, rng=rng)


def _relations(values):
    """Inequalities (and identities) between divergences that hold for every pair."""
    v = values.get
    out = []

    def add(name, lhs, rhs, tol=1e-9):
        if lhs is None or rhs is None or math.isnan(lhs) or math.isnan(rhs):
            return
        holds = lhs <= rhs + tol * max(1.0, abs(rhs) if math.isfinite(rhs) else 1.0)
        out.append(InequalityCheck(name, float(lhs), float(rhs), bool(holds)))

    kl, tv, h2, js = v("kl"), v("tv"), v("squared_hellinger"), v("js")
    if tv is not None and kl is not None:
        add("Pinsker: TV <= sqrt(KL/2)", tv, math.sqrt(kl / 2))
        add("Bretagnolle-Huber: TV <= sqrt(1 - exp(-KL))", tv, math.sqrt(-math.expm1(-kl)))
    if tv is not None and h2 is not None:
        add("H^2/2 <= TV", h2 / 2, tv)
        add("TV <= H sqrt(1 - H^2/4) <= H", tv, math.sqrt(h2) * math.sqrt(max(0.0, 1 - h2 / 4)))
    if kl is not None and v("pearson") is not None:
        add("KL <= log(1 + chi^2_Pearson)", kl, math.log1p(v("pearson")))
    if js is not None:
        add("JS <= log 2", js, math.log(2))
        if tv is not None:
            add("JS <= TV log 2", js, tv * math.log(2))
    if js is not None and v("gan") is not None:
        g = v("gan")
        add("identity gan = 2 JS - log 4 (|difference| <= 1e-9)", abs(g - (2 * js - math.log(4))),
            1e-9)
    if v("jeffreys") is not None and kl is not None and v("reverse_kl") is not None:
        j, s = v("jeffreys"), kl + v("reverse_kl")
        add("identity jeffreys = KL + reverse KL", 0.0 if j == s else abs(j - s), 1e-9 * max(1, abs(s)))
    if v("bhattacharyya") is not None and v("renyi(alpha=0.5)") is not None:
        b, r = v("bhattacharyya"), v("renyi(alpha=0.5)")
        add("identity bhattacharyya = renyi(1/2)/2", 0.0 if b == r / 2 else abs(b - r / 2),
            1e-9 * max(1, abs(b)))
    if v("renyi(alpha=0.5)") is not None and kl is not None:
        add("Renyi monotone in alpha: D_1/2 <= KL", v("renyi(alpha=0.5)"), kl)
        if v("renyi(alpha=2)") is not None:
            add("Renyi monotone in alpha: KL <= D_2", kl, v("renyi(alpha=2)"))
    if v("wasserstein(p=1)") is not None and v("wasserstein(p=2)") is not None:
        add("W1 <= W2", v("wasserstein(p=1)"), v("wasserstein(p=2)"))
    return out


def crosscheck(P, Q, *, names=None, methods=None, n=100_000, n_samples=5000, rng=None,
               progress=False, pair_name=None, facts=None, n_jobs=None) -> CrossCheckReport:
    r"""Estimate many divergences of one pair by every applicable method and compare.

    For each divergence the exact value comes from its closed form, else from 1-D
    quadrature, and every applicable method is compared with it.  A closed form or
    quadrature fails when
    :math:`|z| = |\hat D - D|/\sqrt{\mathrm{se}^2 + \mathrm{se}_{exact}^2} > 5`.
    Monte Carlo and the sample estimators (run on ``n_samples`` draws of P and Q) are
    held to their ``confidence_interval`` -- bias-aware for kNN and the density
    ratios -- where they claim it (``_claims_interval``, and a finite variance of
    the divergence's influence function as far as the exact values tell): the exact
    value outside the interval, whose sampling part is widened from 1.96 to 5
    standard errors, fails.  A lower bound (``is_lower_bound``) claims no interval
    and fails only above the exact value by more than 5 standard errors.  A NaN,
    infinite or absurd standard error fails unless the interval is open towards the
    exact value.  The statuses, and which of them fail, are the table of
    ``CrossCheckRow.status`` and ``docs/cli.rst``.  Relations that hold for
    every pair are
    checked on the exact values: Pinsker :math:`TV \le \sqrt{KL/2}`,
    Bretagnolle–Huber :math:`TV \le \sqrt{1 - e^{-KL}}`,
    :math:`H^2/2 \le TV \le H\sqrt{1 - H^2/4}`, :math:`KL \le \log(1 + \chi^2)`,
    :math:`JS \le \log 2`, :math:`JS \le TV \log 2`, the identities
    ``gan = 2 JS - log 4``, ``jeffreys = kl + reverse_kl``,
    ``bhattacharyya = renyi(1/2)/2``, monotonicity of Rényi in :math:`\alpha`, and
    :math:`W_1 \le W_2`.

    Parameters
    ----------
    P, Q : distributions
    names : sequence of str, optional
        Divergence labels (default: :data:`divest.reference.STANDARD_NAMES`).
    methods : sequence of str, optional
        Among ``closed_form``, ``quadrature``, ``monte_carlo``, ``knn``,
        ``classifier``, ``ulsif``, ``kliep``, ``variational``, ``ipm`` (default: all that
        apply), and ``neural`` (opt-in: :func:`divest.torch.variational`, a trained
        network per f-divergence; needs the ``torch`` extra).  ``ipm`` computes ``wasserstein`` (plug-in :math:`W_p` of the samples,
        exact OT on at most 1000 points per sample in d > 1), ``mmd2`` (unbiased) and
        ``energy`` (unbiased) with :mod:`divest.ipm`.
    n : int
        Draws per distribution for Monte Carlo (the CLI's ``--n-exact``).
    n_samples : int
        Samples per distribution given to the sample estimators (the CLI's
        ``--n-samples``; the report's ``n``).
    rng : None, int or numpy.random.Generator
    progress : bool
        Show a progress bar (tqdm) on stderr.
    pair_name : str, optional
        Label used in the report.
    facts : divest._methods.PairFacts, optional
        What is known of the pair beyond its exact values (e.g. ``ReferencePair.facts``:
        whether p/q is bounded); the interval claims (:func:`divest._methods.claim`)
        read them together with which divergences are finite.  Default: the pair's
        ``facts`` when P and Q are a reference pair's distributions
        (``pair = divest.reference.get_pair(name)``; ``crosscheck(pair.P, pair.Q)``),
        else none.
    n_jobs : int or None
        Methods run at once by ``joblib.Parallel(n_jobs=n_jobs)`` with the backend of the
        active ``joblib.parallel_config`` (None: its default, 1 when none is set).  The
        samples are drawn from ``rng`` first; each method then gets its own generator
        from ``SeedSequence`` spawning, so the report is the same for any ``n_jobs`` and
        backend.

    Returns
    -------
    CrossCheckReport

    Examples
    --------
    >>> from scipy import stats
    >>> import divest as dv
    >>> rep = dv.crosscheck(stats.norm(0, 1), stats.norm(1, 2), names=["kl", "js"], n=5000, rng=0,
    ...                     methods=["closed_form", "quadrature", "monte_carlo"])
    >>> [(r.name, r.method, r.status) for r in rep.rows]  # doctest: +NORMALIZE_WHITESPACE
    [('kl', 'closed_form', 'reference'), ('kl', 'quadrature', 'ok'), ('kl', 'monte_carlo', 'ok'),
     ('js', 'quadrature', 'reference'), ('js', 'monte_carlo', 'ok')]
    >>> rep.ok
    True
    """
    return _crosscheck(*_crosscheck_iv(P, Q, names, methods, n, n_samples, rng, progress,
                                       pair_name, facts, n_jobs))


def _reference_facts(P, Q):
    """The facts of the reference pair whose distributions P and Q are (the same
    objects, as ``pair.P, pair.Q``), else None."""
    from . import reference
    for name in reference.pairs() + reference.hard_pairs():
        pair = reference.get_pair(name)
        if pair.P is P and pair.Q is Q:
            return pair.facts
    return None


def _crosscheck_iv(P, Q, names, methods, n, n_samples, rng, progress, pair_name, facts,
                   n_jobs=None):
    check_distribution(P, "P")
    check_distribution(Q, "Q")
    names = list(STANDARD_NAMES if names is None else names)
    specs = [_names.resolve(nm) for nm in names]
    meths = list(_EXACT_METHODS + _SAMPLE_METHODS if methods is None else methods)
    for m in meths:
        if m not in _METHODS:
            raise ValueError(f"methods: unknown method {m!r}; valid: {', '.join(_METHODS)}")
    n = check_positive_int(n, "n", minimum=2)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=10)
    seed = rng
    rng = check_rng(rng)
    if facts is None:
        facts = _reference_facts(P, Q)
    elif not isinstance(facts, _methods.PairFacts):
        raise TypeError(f"facts must be a divest._methods.PairFacts (e.g. ReferencePair.facts) "
                        f"or None; got {type(facts).__name__}")
    from ._parallel import check_n_jobs
    n_jobs = check_n_jobs(n_jobs)
    return P, Q, specs, meths, n, n_samples, seed, rng, progress, pair_name, facts, n_jobs


def _method_estimates(P, Q, specs, method, refs, samples, n, seed):
    """Every estimate of one method, in the order of ``specs``: (label, estimate or
    exception or None (not applicable / no closed form), seconds).  One task of the
    parallel crosscheck; ``seed`` seeds this method's generator."""
    import time

    rng = np.random.default_rng(seed)
    ratios = {}
    out = []
    for spec in specs:
        ref = refs[spec.label]
        if not _applicable(P, Q, spec, method):
            continue
        t0 = time.perf_counter()
        try:
            if method == "closed_form":
                if ref is None or ref.method != "closed_form":
                    continue
                est = ref
            elif method == "quadrature":
                est = ref if (ref is not None and ref.method == "quadrature") else \
                    _exact_checked(quadrature, P, Q, spec.label)
            elif method == "monte_carlo":
                est = _exact_checked(monte_carlo, P, Q, spec.label, n=n, rng=rng)
            else:
                est = _sample_estimate(method, spec, samples, ratios, rng)
        except NoClosedForm:
            continue
        except (ValueError, FloatingPointError) as exc:
            out.append((spec.label, exc, time.perf_counter() - t0))
            continue
        out.append((spec.label, est, time.perf_counter() - t0))
    return out


def _crosscheck(P, Q, specs, meths, n, n_samples, seed, rng, progress, pair_name, facts,
                n_jobs=None):
    """The report from validated arguments (:func:`_crosscheck_iv`)."""
    from ._parallel import parallel_map, spawn_seeds

    samples = {}
    sampled = _SAMPLE_METHODS + _OPT_IN_METHODS
    if any(m in sampled for m in meths):
        if all(hasattr(D, "rvs") for D in (P, Q)):
            samples["X"], samples["Y"] = draw(P, Q, n_samples, rng)
        else:
            meths = [m for m in meths if m not in sampled]
    rows, failures = [], []
    conditions = _Conditions(P, Q, facts)
    refs = {spec.label: _best_exact(P, Q, spec.label) for spec in specs}
    exact_values = {k: r.value for k, r in refs.items() if r is not None}
    seeds = spawn_seeds(rng, len(meths))
    per_method = parallel_map(_method_estimates,
                              [(P, Q, specs, m, refs, samples, n, s) for m, s in zip(meths, seeds)],
                              n_jobs=n_jobs, progress=progress, desc="crosscheck",
                              unit="method")
    found = {(label, m): (est, dt) for m, results in zip(meths, per_method)
             for label, est, dt in results}
    for spec in specs:
        ref = refs[spec.label]
        for m in meths:
            if (spec.label, m) not in found:
                continue
            est, dt = found[spec.label, m]
            if isinstance(est, Exception):
                rows.append(CrossCheckRow(spec.label, m, math.nan, math.nan, None, None,
                                          f"error: {est}", dt))
                failures.append(f"{spec.label}/{m}: {est}")
                continue
            interval = tuple(float(e) for e in est.confidence_interval)
            if ref is None:
                note = "SE carries no information" if _unreliable_se(
                    est.value, est.standard_error, None) else ""
                rows.append(CrossCheckRow(spec.label, m, est.value, est.standard_error, None,
                                          None, "no-exact", dt, interval, False, note))
                continue
            is_ref = m == ref.method     # closed_form / quadrature: the exact value itself
            se_exact = 0.0 if is_ref else ref.standard_error
            z = _z(est.value, est.standard_error, ref.value, se_exact)
            if is_ref:
                status, claimed, note, failure = "reference", True, "", None
            else:
                status, claimed, note, failure = _judge(
                    m, est, ref.value, se_exact,
                    conditions.unclaimed_reason(m, spec, ref.value))
            if failure is not None:
                failures.append(f"{spec.label}/{m}: {failure}")
            rows.append(CrossCheckRow(spec.label, m, est.value, est.standard_error, ref.value,
                                      z, status, dt, interval, claimed, note))
    checks = _relations(exact_values)
    failures += [f"relation violated: {c.name}" for c in checks if not c.holds]
    label = pair_name or f"P = {P!r}, Q = {Q!r}"
    return CrossCheckReport(pair=label, rows=tuple(rows), checks=tuple(checks), n=n_samples,
                            seed=seed, failures=tuple(failures), n_exact=n)
