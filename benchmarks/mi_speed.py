"""Speed of the mutual-information estimators at issue 15's sizes.

* KSG (``divest.mutual_information(method="ksg")``, k = 3, the default bias-aware
  interval and the standard error from disjoint parts included) at N = 100,000 rows on
  correlated Gaussians (Y = X / 2 + noise), with ``workers=1`` and ``workers=2``,
  for X and Y of 5 + 5 columns (joint d = 10) and 10 + 10 columns; beside it
  scikit-learn's ``mutual_info_regression`` (KSG, k = 3, 1-D X and Y only: it estimates
  one column at a time) on the 1 + 1 case.
* One staircase bound: ``divest.torch.mi_bound`` with the staircase sampler (d = 20,
  MI = 2 nats), NWJ, 20,000 steps of batch 64, separable and concat critics, CPU, one
  thread.

Wall and CPU seconds, the machine's load average before each run (other processes
share the 2 cores; a load near 2 means the timings are pessimistic), and the estimate.
Writes ``benchmarks/results/mi_speed.md`` and ``mi_speed.jsonl`` (appended; rerun with
``--report-only`` to rebuild the table).

Run::

    python benchmarks/mi_speed.py             # KSG and staircase
    python benchmarks/mi_speed.py --only ksg
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _machine import cpu_model, divest_commit

OUT = Path(__file__).resolve().parent / "results"
LOG = OUT / "mi_speed.jsonl"
N = 100_000
#: rows written before the machine was recorded (an Intel machine, about twice as fast
#: per core as the AMD EPYC of 2026-12-04 on this code)
OLD_MACHINE = "earlier machine (not recorded)"


def _gaussian(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = 0.5 * X + rng.standard_normal((n, d))
    return X, Y, d * 0.5 * np.log(1.25)


def _timed(fn):
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c, load


def run_ksg(emit, dims=(5, 10)):
    import divest
    for d in dims:
        X, Y, truth = _gaussian(N, d, 0)
        for workers in (1, 2):
            est, wall, cpu, load = _timed(lambda: divest.mutual_information(
                X, Y, method="ksg", rng=0, workers=workers))
            lo, hi = est.confidence_interval
            emit({"what": f"divest KSG, N = {N:,}, X and Y of {d} columns (joint d = {2 * d})",
                  "workers": workers, "wall": wall, "cpu": cpu, "load": load,
                  "estimate": f"{est.value:.4f} ± {est.standard_error:.4f} [{lo:.3f}, {hi:.3f}] "
                              f"(truth {truth:.4f})"})
    from sklearn.feature_selection import mutual_info_regression
    X, Y, truth = _gaussian(N, 1, 0)
    for label, fn in (
            ("divest KSG", lambda: divest.mutual_information(X, Y, method="ksg", rng=0).value),
            ("sklearn mutual_info_regression", lambda: float(mutual_info_regression(
                X, Y[:, 0], n_neighbors=3, random_state=0)[0]))):
        val, wall, cpu, load = _timed(fn)
        emit({"what": f"{label}, N = {N:,}, 1 + 1 columns", "workers": 1, "wall": wall,
              "cpu": cpu, "load": load, "estimate": f"{val:.4f} (truth {truth:.4f})"})


def run_staircase(emit):
    from divest.reference import staircase_task
    from divest.torch import mi_bound
    for critic in ("separable", "concat"):
        sampler = staircase_task(2.0, dim=20).sampler(rng=0)
        est, wall, cpu, load = _timed(lambda: mi_bound(
            sampler=sampler, bound="nwj", critic=critic, steps=20_000, batch_size=64, rng=0))
        emit({"what": f"staircase NWJ, {critic} critic, 20,000 steps of 64, MI 2, CPU 1 thread",
              "workers": 1, "wall": wall, "cpu": cpu, "load": load,
              "estimate": f"{est.value:.3f} ± {est.standard_error:.3f} held-out (truth 2)"})


def report():
    rows = [json.loads(line) for line in LOG.read_text().splitlines()]
    lines = ["# Mutual-information speed", "",
             "Produced by `python benchmarks/mi_speed.py` on this machine (2 cores, no GPU). "
             "`load` is the 1-minute load average just before the run: other processes "
             "shared the cores when it is above about 0.5, and the wall time is then "
             "pessimistic; it lags (a 1-minute average), so rows measured right after other jobs were paused (SIGSTOP) still show their load.  Targets of issue 15: KSG at N = 10^5, d = 10 in <= 10 s on 2 "
             "cores; one staircase bound (20k steps, batch 64, separable) <= 60 s on CPU.", "",
             "| what | workers | wall s | CPU s (this process) | load | estimate | machine | code |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['what']} | {r['workers']} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                     f"{r['load']:.2f} | {r['estimate']} | {r.get('machine', OLD_MACHINE)} | "
                     f"{r.get('commit', 'ab74d25')} |")
    (OUT / "mi_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("ksg", "staircase"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--dims", type=int, nargs="+", default=[5, 10],
                    help="KSG: columns of X and of Y (joint d twice that)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if not args.report_only:
        sections = ("ksg", "staircase") if args.only is None else (args.only,)
        machine, commit = cpu_model(), divest_commit()
        # a rerun replaces the rows of the same section, machine and code
        kept = [line for line in (LOG.read_text().splitlines() if LOG.exists() else [])
                if (json.loads(line).get("section"), json.loads(line).get("machine"),
                    json.loads(line).get("commit")) not in
                {(s, machine, commit) for s in sections}]
        LOG.write_text("".join(line + "\n" for line in kept))
        for section in sections:
            def emit(row, section=section):
                row = {"section": section, **row, "machine": machine, "commit": commit}
                with LOG.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(row, flush=True)

            if section == "ksg":
                run_ksg(emit, tuple(args.dims))
            else:
                run_staircase(emit)
    report()


if __name__ == "__main__":
    main()
