"""Before/after RMSE of the accuracy benchmark's rows: the regression check of a change.

Reads two JSON files written by ``benchmarks/accuracy.py`` (``--tag``), keeps the rows
(pair, n, divergence, method) present in both, and writes a markdown table of the RMSE,
bias and 95% coverage before and after, with the ratio of the RMSEs and the RMSE's
standard error (``RMSE_se``: the delta-method SE of the root mean square over the
repetitions), flagging rows whose RMSE grew by more than two such SEs.

Run::

    python benchmarks/compare_accuracy.py benchmarks/results/accuracy.json \\
        benchmarks/results/acc_gaussian_model_1e3.json --out benchmarks/results/x.md
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np


def _stats(records):
    """(RMSE, its SE, bias, coverage, reps) of one row's records."""
    vals = np.array([r["value"] for r in records], dtype=float)
    truth = records[0]["truth"]
    err = vals[np.isfinite(vals)] - truth
    if err.size == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    sq = err ** 2
    mse = sq.mean()
    rmse = math.sqrt(mse)
    # delta method: sd(mean of squares) / (2 RMSE)
    se = (sq.std(ddof=1) / math.sqrt(sq.size) / (2 * rmse)) if sq.size > 1 and rmse > 0 \
        else math.nan
    cov = [r["covered"] for r in records if r.get("covered") is not None]
    return rmse, se, err.mean(), (np.mean(cov) if cov else math.nan), int(err.size)


def _rows(path):
    groups = {}
    for r in json.loads(Path(path).read_text())["records"]:
        groups.setdefault((r["pair"], r["n"], r["name"], r["method"]), []).append(r)
    return groups


def compare(before, after):
    a, b = _rows(before), _rows(after)
    lines = [f"# RMSE before and after: `{Path(before).name}` -> `{Path(after).name}`", "",
             "Rows present in both files (same samples and seeds: `benchmarks/accuracy.py`).  "
             "RMSE ± its delta-method SE; `worse` marks an RMSE that grew by more than two "
             "SEs of the difference.", "",
             "| pair | n | divergence | method | reps | RMSE before | RMSE after | after / before "
             "| bias before | bias after | coverage before | coverage after | |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    worse = 0
    for key in sorted(set(a) & set(b)):
        r0, s0, b0, c0, k0 = _stats(a[key])
        r1, s1, b1, c1, k1 = _stats(b[key])
        flag = ""
        if math.isfinite(r0) and math.isfinite(r1) and r1 - r0 > 2 * math.hypot(s0, s1):
            flag, worse = "worse", worse + 1
        ratio = r1 / r0 if r0 > 0 else math.nan
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {k1} | {r0:.3g} ± {s0:.2g} "
                     f"| {r1:.3g} ± {s1:.2g} | {ratio:.2f} | {b0:+.3g} | {b1:+.3g} | "
                     f"{c0:.2f} | {c1:.2f} | {flag} |")
    lines += ["", f"{len(set(a) & set(b))} rows compared; {worse} worse by more than 2 SE."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    md = compare(args.before, args.after)
    args.out.write_text(md)
    print(md)


if __name__ == "__main__":
    main()
