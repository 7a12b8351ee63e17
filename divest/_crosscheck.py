"""Run every applicable method on one pair of distributions and check them against each other."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from . import _names
from ._validation import check_positive_int, check_rng
from .distributions import dimension
from .exact import NoClosedForm, _best_exact, monte_carlo, quadrature
from .reference import STANDARD_NAMES, draw

__all__ = ["CrossCheckReport", "CrossCheckRow", "InequalityCheck", "crosscheck"]

#: absolute z-score above which an estimate is flagged as disagreeing with the exact value
Z_FAIL = 5.0

_EXACT_METHODS = ("closed_form", "quadrature", "monte_carlo")
#: sample estimators, run on n_samples draws of P and Q; ratio methods are fitted once
_SAMPLE_METHODS = ("knn", "classifier", "ulsif", "kliep", "variational", "ipm")
#: exact optimal transport in d > 1 runs on at most this many of the drawn points
_W_MAX_POINTS = 1000
_RATIO_METHODS = ("classifier", "ulsif", "kliep")
#: run only when asked for (training a network per divergence takes seconds to minutes)
_OPT_IN_METHODS = ("neural",)
_METHODS = _EXACT_METHODS + _SAMPLE_METHODS + _OPT_IN_METHODS


@dataclass(frozen=True)
class CrossCheckRow:
    """One method's estimate of one divergence.

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
        ``"ok"``, ``"FAIL"`` (``|z| > Z_FAIL`` for an exact or Monte Carlo method, or a
        lower bound above the truth), ``"off"`` (a sample estimator with
        ``|z| > Z_FAIL``: finite-sample bias, not a failure), ``"bound"`` (a lower bound
        not above the truth), ``"reference"`` (this row is the exact value),
        ``"no-exact"``, ``"inf-missed"`` (the truth is infinite, a finite-sample method
        cannot see it) or ``"error: ..."``.
    seconds : float
        Wall time of the method.
    """

    name: str
    method: str
    value: float
    standard_error: float
    exact: float | None
    z: float | None
    status: str
    seconds: float


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
        Samples per distribution for the sampling methods.
    seed : object
        The ``rng`` argument (for reproduction).
    """

    pair: str
    rows: tuple
    checks: tuple
    n: int
    seed: object = None
    failures: tuple = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        """True when every estimate agrees with the exact value and every relation holds."""
        return not self.failures

    def to_dict(self) -> dict:
        """Plain-data form (JSON-serialisable; infinities as strings)."""
        def clean(x):
            if isinstance(x, float) and not math.isfinite(x):
                return str(x)
            return x
        return {
            "pair": self.pair, "n": self.n, "seed": repr(self.seed), "ok": self.ok,
            "failures": list(self.failures),
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
        lines = [f"### crosscheck: {self.pair} (n = {self.n}, rng = {self.seed!r})", "",
                 "| divergence | exact | method | estimate | std. error | z | status | s |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            ex = "—" if r.exact is None else f"{r.exact:.6g}"
            z = "" if r.z is None else f"{r.z:+.2f}"
            lines.append(f"| {r.name} | {ex} | {r.method} | {r.value:.6g} | "
                         f"{r.standard_error:.2g} | {z} | {r.status} | {r.seconds:.3f} |")
        lines += ["", "| relation | lhs | rhs | holds |", "|---|---|---|---|"]
        for c in self.checks:
            lines.append(f"| {c.name} | {c.lhs:.6g} | {c.rhs:.6g} | {'yes' if c.holds else 'NO'} |")
        lines += ["", f"**{'all checks passed' if self.ok else 'FAILURES: ' + '; '.join(self.failures)}**"]
        return "\n".join(lines)

    def __str__(self) -> str:
        head = f"crosscheck: {self.pair}   (n = {self.n}, rng = {self.seed!r})"
        out = [head, "=" * len(head),
               f"{'divergence':22s} {'exact':>12s} {'method':12s} {'estimate':>12s} "
               f"{'std.err':>9s} {'z':>7s}  status"]
        prev = None
        for r in self.rows:
            ex = "—" if r.exact is None else f"{r.exact:.6g}"
            z = "" if r.z is None else f"{r.z:+.2f}"
            nm = r.name if r.name != prev else ""
            prev = r.name
            out.append(f"{nm:22s} {ex:>12s} {r.method:12s} {r.value:12.6g} "
                       f"{r.standard_error:9.2g} {z:>7s}  {r.status}")
        out += ["", "relations that must hold:"]
        for c in self.checks:
            out.append(f"  [{'ok' if c.holds else 'NO'}] {c.name}: {c.lhs:.6g} <= {c.rhs:.6g}")
        out += ["", "all checks passed" if self.ok else "FAILURES: " + "; ".join(self.failures)]
        return "\n".join(out)

    def plot(self, path):
        """Write a PNG: per divergence, each method's estimate with its 95% interval and the exact value."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = list(dict.fromkeys(r.name for r in self.rows))
        ncol = 4
        nrow = max(1, math.ceil(len(names) / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 2.6 * nrow), squeeze=False)
        colors = {"closed_form": "k", "quadrature": "tab:blue", "monte_carlo": "tab:orange",
                  "knn": "tab:green", "classifier": "tab:purple", "ulsif": "tab:brown",
                  "kliep": "tab:pink", "variational": "tab:gray", "ipm": "tab:olive",
                  "neural": "tab:cyan"}
        for ax, nm in zip(axes.ravel(), names):
            rows = [r for r in self.rows if r.name == nm and math.isfinite(r.value)]
            exact = next((r.exact for r in self.rows if r.name == nm), None)
            for i, r in enumerate(rows):
                err = 1.96 * r.standard_error if math.isfinite(r.standard_error) else 0.0
                ax.errorbar([i], [r.value], yerr=[err], fmt="o", capsize=4,
                            color=colors.get(r.method, "tab:green"))
            if exact is not None and math.isfinite(exact):
                ax.axhline(exact, color="tab:red", lw=1, ls="--", label="exact")
            ax.set_xticks(range(len(rows)))
            ax.set_xticklabels([r.method for r in rows], fontsize=7, rotation=35, ha="right")
            title = nm if exact is None or math.isfinite(exact) else f"{nm} (exact = inf)"
            ax.set_title(title, fontsize=9)
            ax.set_xlim(-0.7, max(len(rows), 1) - 0.3)
        for ax in axes.ravel()[len(names):]:
            ax.axis("off")
        fig.suptitle(f"divest crosscheck — {self.pair} (n = {self.n}; bars: 95% intervals; "
                     "dashed: exact)", fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


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


def _applicable(P, Q, spec, method):
    has_density = all(hasattr(D, "logpdf") or hasattr(D, "logpmf") for D in (P, Q))
    if method == "closed_form":
        return True
    if method == "neural":
        return spec.is_f
    if method in _SAMPLE_METHODS:
        from ._divergence import _IPM_NAMES, _KNN_NAMES
        if method == "ipm":
            return spec.base in _IPM_NAMES
        if method == "knn":
            return spec.base in _KNN_NAMES
        if method == "variational":
            return spec.is_f
        return spec.density_based
    if not spec.density_based or not has_density:
        return False
    if method == "quadrature":
        return dimension(P) == 1
    return method == "monte_carlo" and all(hasattr(D, "rvs") for D in (P, Q))


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
               progress=False, pair_name=None) -> CrossCheckReport:
    r"""Estimate many divergences of one pair by every applicable method and compare.

    For each divergence the exact value comes from its closed form, else from 1-D
    quadrature.  Every method is run and compared with it through
    :math:`z = (\hat D - D)/\sqrt{\mathrm{se}^2 + \mathrm{se}_{exact}^2}`; an estimate
    with :math:`|z| > 5` is a failure for the exact and Monte Carlo methods.  The
    sample estimators of :mod:`divest.estimators` run on ``n_samples`` draws of P
    and Q; a consistent estimator more than 5 standard errors away is marked
    ``"off"`` (finite-sample bias, reported but not a failure); a lower bound
    (``variational``) is a failure only if it exceeds the exact value by more than 5
    standard errors, and is otherwise ``"bound"``.  Relations that hold for every pair are
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
        Samples per distribution for Monte Carlo.
    n_samples : int
        Samples per distribution given to the sample estimators.
    rng : None, int or numpy.random.Generator
    progress : bool
        Show a progress bar (tqdm) on stderr.
    pair_name : str, optional
        Label used in the report.

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
    import time

    samples = {}
    sampled = _SAMPLE_METHODS + _OPT_IN_METHODS
    if any(m in sampled for m in meths):
        if all(hasattr(D, "rvs") for D in (P, Q)):
            samples["X"], samples["Y"] = draw(P, Q, n_samples, rng)
        else:
            meths = [m for m in meths if m not in sampled]
    ratios = {}

    rows, failures, exact_values = [], [], {}
    iterator = specs
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(specs, desc="crosscheck", unit="divergence")
    for spec in iterator:
        ref = _best_exact(P, Q, spec.label)
        if ref is not None:
            exact_values[spec.label] = ref.value
        for m in meths:
            if not _applicable(P, Q, spec, m):
                continue
            t0 = time.perf_counter()
            try:
                if m == "closed_form":
                    if ref is None or ref.method != "closed_form":
                        continue
                    est = ref
                elif m == "quadrature":
                    est = ref if (ref is not None and ref.method == "quadrature") else \
                        quadrature(P, Q, spec.label)
                elif m == "monte_carlo":
                    est = monte_carlo(P, Q, spec.label, n=n, rng=rng)
                else:
                    est = _sample_estimate(m, spec, samples, ratios, rng)
            except NoClosedForm:
                continue
            except (ValueError, FloatingPointError) as exc:
                rows.append(CrossCheckRow(spec.label, m, math.nan, math.nan, None, None,
                                          f"error: {exc}", time.perf_counter() - t0))
                failures.append(f"{spec.label}/{m}: {exc}")
                continue
            dt = time.perf_counter() - t0
            if ref is None:
                rows.append(CrossCheckRow(spec.label, m, est.value, est.standard_error, None,
                                          None, "no-exact", dt))
                continue
            is_ref = est is ref
            z = _z(est.value, est.standard_error, ref.value,
                   0.0 if is_ref else ref.standard_error)
            if is_ref:
                status = "reference"
            elif math.isinf(ref.value) and math.isfinite(est.value) and m != "quadrature":
                status = "inf-missed"
            elif est.is_lower_bound:
                status = "bound" if z <= Z_FAIL else "FAIL"
                if status == "FAIL":
                    failures.append(f"{spec.label}/{m}: lower bound above the truth, z = {z:+.2f}")
            elif abs(z) > Z_FAIL:
                status = "off" if m in _SAMPLE_METHODS else "FAIL"
                if status == "FAIL":
                    failures.append(f"{spec.label}/{m}: z = {z:+.2f}")
            else:
                status = "ok"
            rows.append(CrossCheckRow(spec.label, m, est.value, est.standard_error, ref.value,
                                      z, status, dt))
    checks = _relations(exact_values)
    failures += [f"relation violated: {c.name}" for c in checks if not c.holds]
    label = pair_name or f"P = {P!r}, Q = {Q!r}"
    return CrossCheckReport(pair=label, rows=tuple(rows), checks=tuple(checks), n=n, seed=seed,
                            failures=tuple(failures))
