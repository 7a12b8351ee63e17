"""``divergence(X, Y, "kl")`` (method ``auto``) on the high-dimensional Gaussian hard pairs at
issue 16's sample size, with the learning-curve numbers behind its bias.

Issue 16's target: on Gaussian pairs in d = 25 and 50 with KL 1-5, ``auto``'s relative
RMSE is at most 10% at n = m = 5,000 over at least 10 seeds.  For each pair of
``divest.reference.hard_pairs()`` named below and each seed, the script draws n rows of
each sample (``pair.sample(n, rng=1000 + seed)``), runs ``divest.divergence(X, Y, "kl",
rng=seed)`` and records the estimate, its standard error and interval, the classifier
model ``auto`` chose, and the classifier's half-data estimate (``details["bias_trend"]
["value_half"]``: the same model fitted on half the training rows).

The report adds one exploratory column: the Richardson extrapolation ``2 v - v_half``,
which removes a bias of order 1/N (N the training rows) -- the order of the
finite-sample bias of a fixed-feature logistic model (``linear``, ``logistic``,
``radial``, ``spline``), whose p coefficients inflate the fitted log-ratios by about
p/N.  It is not what divest reports; it measures how much of ``auto``'s error in high
dimension is that bias.

Each finished run appends one JSON line to ``benchmarks/results/auto_highd.jsonl``; a
rerun skips the runs already there.  ``--report`` writes ``auto_highd.md``.

Run::

    python benchmarks/auto_highd.py --seeds 0 1 2 3 4 5 6 7 8 9
    python benchmarks/auto_highd.py --report
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results"
LOG = OUT / "auto_highd.jsonl"
PAIRS = ("gauss-shift-d25", "gauss-scale-d25", "gauss-ar1-d25", "gauss-shift-d50",
         "gauss-scale-d50", "gauss-ar1-d50", "gauss-shift-d100")
N = 5000
#: the fixed-feature logistic models, whose estimation bias is of order p/N
PARAMETRIC = ("linear", "logistic", "radial", "spline")


def _done(log):
    if not log.exists():
        return set()
    return {(r["pair"], r["n"], r["seed"]) for r in map(json.loads, log.read_text().splitlines())
            if r}


def run(pairs, seeds, n, log=LOG):
    import divest
    from divest import reference
    OUT.mkdir(exist_ok=True)
    done = _done(log)
    for name in pairs:
        pair = reference.get_pair(name)
        for seed in seeds:
            if (name, n, seed) in done:
                continue
            X, Y = pair.sample(n, rng=1000 + seed)
            t0 = time.perf_counter()
            est = divest.divergence(X, Y, "kl", rng=seed)
            bt = est.details.get("bias_trend", {})
            lo, hi = est.confidence_interval
            rec = {"pair": name, "n": n, "seed": seed, "truth": pair.values["kl"],
                   "value": est.value, "se": est.standard_error, "lo": lo,
                   "hi": hi if math.isfinite(hi) else None, "method": est.method,
                   "model": est.details.get("model"), "value_half": bt.get("value_half"),
                   "seconds": time.perf_counter() - t0}
            with log.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(rec, flush=True)


def _rmse(err):
    return float(np.sqrt(np.mean(np.square(err))))


def report(log=LOG):
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    lines = [f"# `auto` on {'the high-dimensional Gaussian hard pairs' if log == LOG else log.stem}", "",
             "Produced by `python benchmarks/auto_highd.py` (protocol in its docstring): "
             "`divergence(X, Y, \"kl\")` with the defaults, n = m rows per sample, one row per "
             "pair over seeds.  Relative RMSE = RMSE / truth (issue 16's target: <= 10% in "
             "d = 25 and 50).  Coverage: the reported 95% interval contains the truth.  "
             "Richardson: the exploratory `2 v - v_half` of the chosen fixed-feature "
             "classifier (not what divest reports; see the docstring).", "",
             "| pair | n | seeds | truth | models | mean | bias | std | relative RMSE | "
             "coverage | Richardson mean | Richardson relative RMSE | s/run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted({(r["pair"], r["n"]) for r in rows}):
        g = [r for r in rows if (r["pair"], r["n"]) == key]
        truth = g[0]["truth"]
        v = np.array([r["value"] for r in g])
        cover = np.mean([r["lo"] <= truth and (r["hi"] is None or truth <= r["hi"]) for r in g])
        rich = np.array([2 * r["value"] - r["value_half"] for r in g
                         if r["model"] in PARAMETRIC and r["value_half"] is not None])
        models = ", ".join(sorted({str(r["model"]) for r in g}))
        lines.append(
            f"| {key[0]} | {key[1]:,} | {len(g)} | {truth:.4g} | {models} | {v.mean():.4g} | "
            f"{v.mean() - truth:+.3g} | {v.std(ddof=1) if len(v) > 1 else math.nan:.3g} | "
            f"{_rmse(v - truth) / truth:.1%} | {cover:.2f} | "
            + (f"{rich.mean():.4g} | {_rmse(rich - truth) / truth:.1%}" if len(rich)
               else "n/a | n/a")
            + f" | {np.mean([r['seconds'] for r in g]):.0f} |")
    log.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", nargs="+", default=list(PAIRS))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--log", type=Path, default=LOG,
                    help="JSON lines file (the report is written beside it, .md)")
    args = ap.parse_args()
    if not args.report:
        run(args.pairs, args.seeds, args.n, args.log)
    report(args.log)


if __name__ == "__main__":
    main()
