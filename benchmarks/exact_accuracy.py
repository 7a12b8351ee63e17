"""Accuracy and speed of divest's exact layer against the independent reference values.

Compares, on the five 1-D pairs that carry independent 30-digit values
(``divest.reference._INDEPENDENT``) and every divergence in them:

* ``divest.exact.quadrature`` (tail shells, log-space integrand, crossing points);
* ``divest.divergence(method="auto")`` (closed form where registered);
* the peer a user would write: ``scipy.integrate.quad`` of ``q * f(p / q)`` over the
  real line (or the support), with densities from ``pdf``.

Writes ``benchmarks/results/exact_accuracy.{md,json,png}``.

Run:  python benchmarks/exact_accuracy.py
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import integrate

import divest as dv
from divest.reference import _INDEPENDENT, get_pair

OUT = Path(__file__).resolve().parent / "results"


def _naive_quad(P, Q, label):
    """What a careful user writes: quad of q f(p/q) from pdfs, zero-density conventions by hand."""
    base = label.split("(")[0]
    if base in ("renyi", "bhattacharyya"):
        a = float(label.split("=")[1].rstrip(")")) if base == "renyi" else 0.5
        g = lambda x: P.pdf(x) ** a * Q.pdf(x) ** (1 - a)  # noqa: E731
    else:
        fd = dv.get_fdivergence(label)

        def g(x):
            # a careful user: the 0 f(0/0) = 0 and 0 f(a/0) = a f'(inf) conventions by hand
            p, q = P.pdf(x), Q.pdf(x)
            if q > 0:
                return q * fd.f(p / q)
            return p * fd.f_infinity if p > 0 else 0.0
    lo = min(P.support()[0], Q.support()[0])
    hi = max(P.support()[1], Q.support()[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            val, _ = integrate.quad(lambda x: float(g(x)), lo, hi, limit=200)
    if base == "renyi":
        return math.log(val) / (a - 1)
    if base == "bhattacharyya":
        return -math.log(val)
    return val


def _err(value, truth):
    if math.isinf(truth) or math.isinf(value) or math.isnan(value):
        return 0.0 if value == truth else math.inf
    return abs(value - truth) / max(1.0, abs(truth))


def main():
    OUT.mkdir(exist_ok=True)
    rows = []
    for pair_name, values in _INDEPENDENT.items():
        pair = get_pair(pair_name)
        for label, truth in values.items():
            rec = {"pair": pair_name, "divergence": label, "truth": truth}
            for meth, fn in [
                ("divest.quadrature", lambda: dv.exact.quadrature(pair.P, pair.Q, label).value),
                ("divest.auto", lambda: dv.divergence(pair.P, pair.Q, label).value),
                ("scipy.quad", lambda: _naive_quad(pair.P, pair.Q, label)),
            ]:
                t0 = time.perf_counter()
                try:
                    v = fn()
                except Exception as exc:  # the peer may raise
                    v = math.nan
                    rec[f"{meth} error"] = repr(exc)
                dt = time.perf_counter() - t0
                rec[meth] = v
                rec[f"{meth} relerr"] = _err(v, truth)
                rec[f"{meth} seconds"] = dt
            rows.append(rec)

    methods = ["divest.quadrature", "divest.auto", "scipy.quad"]
    summary = {}
    for m in methods:
        errs = np.array([r[f"{m} relerr"] for r in rows])
        secs = np.array([r[f"{m} seconds"] for r in rows])
        summary[m] = {
            "n": len(rows),
            "max_relerr_finite_cases": float(np.max(errs[np.isfinite(errs)])) if
            np.isfinite(errs).any() else math.inf,
            "median_relerr": float(np.median(errs)),
            "wrong_(relerr>1e-6_or_inf_mismatch)": int(np.sum(~(errs <= 1e-6))),
            "median_ms": float(1e3 * np.median(secs)),
        }

    md = ["# Exact layer accuracy vs independent 30-digit values", "",
          "Relative error `|value - truth| / max(1, |truth|)`; an infinite truth must be "
          "reported as `inf`.", "",
          "| method | cases | wrong (>1e-6 or inf missed) | median rel. error | max rel. error "
          "(finite) | median ms |", "|---|---|---|---|---|---|"]
    for m, s in summary.items():
        md.append(f"| {m} | {s['n']} | {s['wrong_(relerr>1e-6_or_inf_mismatch)']} | "
                  f"{s['median_relerr']:.1e} | {s['max_relerr_finite_cases']:.1e} | "
                  f"{s['median_ms']:.1f} |")
    md += ["", "## Cases the scipy.quad peer gets wrong", "",
           "| pair | divergence | truth | divest.quadrature | scipy.quad |",
           "|---|---|---|---|---|"]
    for r in rows:
        if not r["scipy.quad relerr"] <= 1e-6:
            md.append(f"| {r['pair']} | {r['divergence']} | {r['truth']:.10g} | "
                      f"{r['divest.quadrature']:.10g} | {r['scipy.quad']:.10g} |")
    text = "\n".join(md) + "\n"
    (OUT / "exact_accuracy.md").write_text(text)
    (OUT / "exact_accuracy.json").write_text(json.dumps(
        {"summary": summary, "rows": rows}, indent=1, default=str) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 4))
    x = np.arange(len(rows))
    for k, (m, mk) in enumerate(zip(methods, ["o", "s", "x"])):
        e = np.array([r[f"{m} relerr"] for r in rows])
        shown = np.where(np.isfinite(e), np.maximum(e, 1e-17), 1e2)
        ax.scatter(x + 0.2 * (k - 1), shown, marker=mk, label=m, s=18)
    ax.set_yscale("log")
    ax.axhline(1e-6, color="gray", ls=":", lw=1)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r['pair']}:{r['divergence']}" for r in rows], rotation=90, fontsize=5)
    ax.set_ylabel("relative error (1e2 = infinite/NaN mismatch)")
    ax.set_title("divest exact layer vs scipy.integrate.quad (careful user), against independent values")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "exact_accuracy.png", dpi=130)
    print(text)


if __name__ == "__main__":
    main()
