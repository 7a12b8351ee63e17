"""Scaling out (issue 19): a sweep on 1 and 2 joblib workers, and an out-of-core
linear-time MMD test on up to 10^8 rows streamed from dask arrays on a LocalCluster.

* ``sweep``: ``divest.rejection_rate`` (MMDAgg, n = m = 500, d = 10, its default
  B1 = 2000, B2 = 2000, 40 repetitions) with ``n_jobs=1`` and ``n_jobs=2`` (loky, workers
  started before the timing): wall time, the speed-up, and whether the p-values are
  identical.
* ``engine``: the MMD permutation test on the numpy engine and with ``device="cpu"``
  (and ``"cuda"`` where a GPU is present), n = m = 1000, 2000, 5000, d = 10, B = 1000.
* ``stream``: ``divest.streaming.mmd_test`` (linear, Gaussian kernel, bandwidth 4) on two
  dask arrays of N rows and d = 10 columns generated block by block by the workers
  (``dask.array.random.default_rng``; Y shifted by 0.002 per coordinate), blocks of
  10^6 rows, a ``dask.distributed.LocalCluster`` of 2 worker processes x 1 thread (memory
  limit 1 GB each).  Peak RSS is the largest sum, sampled every 0.2 s, of the resident
  memory of this process and all its children (scheduler, nanny and worker processes).

Results are appended to ``benchmarks/results/scaling.jsonl`` as they finish (a rerun adds
rows; ``--report`` rebuilds ``scaling.md`` from the file).

Run::

    python benchmarks/scaling.py sweep
    python benchmarks/scaling.py stream --rows 1e6 1e7 1e8
    python benchmarks/scaling.py engine --sizes 1000 2000 5000
    python benchmarks/scaling.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results"
LOG = OUT / "scaling.jsonl"


def _emit(rec):
    OUT.mkdir(parents=True, exist_ok=True)
    rec.update(host=platform.node(), cpus=os.cpu_count(), load=os.getloadavg()[0],
               when=time.strftime("%Y-%m-%d %H:%M:%S"))
    with open(LOG, "a") as fh:
        fh.write(json.dumps(rec) + "\n")
    print(json.dumps(rec))


def _sample(rng):
    return rng.normal(size=(500, 10)), rng.normal(0.05, size=(500, 10))


def run_sweep(reps):
    import divest
    times, results = {}, {}
    # start the loky workers first (joblib keeps them for the next call): the timing is
    # of the sweep, not of starting two Python processes
    divest.rejection_rate(_sample, "mmd", n_repetitions=2, n_permutations=99, n_jobs=2)
    from threadpoolctl import threadpool_limits
    for key, n_jobs, blas in (("1", 1, 1), ("1_blas2", 1, None), ("2", 2, None)):
        t = time.perf_counter()
        with threadpool_limits(limits=blas):   # loky gives each of 2 workers 1 thread
            results[key] = divest.rejection_rate(_sample, "mmdagg", n_repetitions=reps,
                                                 rng=0, n_jobs=n_jobs)
        times[key] = time.perf_counter() - t
    same = all(np.array_equal(results["1"].pvalues, r.pvalues) for r in results.values())
    _emit({"what": "sweep", "test": "mmdagg n=m=500 d=10 (B1=2000)", "repetitions": reps,
           "seconds_1": times["1"], "seconds_1_blas2": times["1_blas2"],
           "seconds_2": times["2"], "speedup": times["1"] / times["2"],
           "identical": same, "rate": results["1"].rate})


class _PeakRSS:
    """Largest total RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, every=0.2):
        import psutil
        self.proc, self.every, self.peak, self._stop = psutil.Process(), every, 0, False

    def _total(self):
        total = 0
        for p in [self.proc] + self.proc.children(recursive=True):
            try:
                total += p.memory_info().rss
            except Exception:   # a process that just ended
                pass
        return total

    def __enter__(self):
        def loop():
            while not self._stop:
                self.peak = max(self.peak, self._total())
                time.sleep(self.every)
        self._t = threading.Thread(target=loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()


def run_stream(rows_list, d=10, block=1_000_000):
    import dask.array as da
    from distributed import Client, LocalCluster

    from divest import streaming
    with _PeakRSS() as rss:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          memory_limit="1GB", dashboard_address=None) as cluster, \
                Client(cluster):
            base = rss.peak
            for N in rows_list:
                N = int(N)
                rss.peak = 0
                X = da.random.default_rng(1).standard_normal((N, d), chunks=(block, d))
                Y = da.random.default_rng(2).standard_normal((N, d), chunks=(block, d)) + 0.002
                t = time.perf_counter()
                res = streaming.mmd_test(X, Y, bandwidth=4.0, chunk_size=block)
                wall = time.perf_counter() - t
                _emit({"what": "stream", "rows": N, "d": d, "block_rows": block,
                       "seconds": wall, "peak_rss_gb": rss.peak / 1e9,
                       "cluster_idle_rss_gb": base / 1e9, "statistic": res.statistic,
                       "z": res.details["z"], "pvalue": res.pvalue,
                       "n_units": res.details["n_units"]})


def run_engine(sizes=(1000, 2000, 5000), B=1000, d=10, repeats=3):
    """The MMD permutation test (Gaussian kernel, median bandwidth, B permutations) on
    the numpy engine and on the torch engine (CPU; CUDA when available): best of
    ``repeats`` wall times."""
    import torch

    import divest
    devices = [None, "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for n in sizes:
        rng = np.random.default_rng(n)
        X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        best, pvals = {}, {}
        for dev in devices:
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                res = divest.two_sample_test(X, Y, "mmd", n_permutations=B, rng=0, device=dev)
                times.append(time.perf_counter() - t)
            best[str(dev)], pvals[str(dev)] = min(times), res.pvalue
        _emit({"what": "engine", "n": n, "m": n, "d": d, "B": B, "seconds": best,
               "pvalues": pvals, "torch_threads": torch.get_num_threads(),
               "plan": res.details["plan"]})


def _csv_table(title, header, body):
    out = [f".. csv-table:: {title}", "   :header: " + ", ".join(f'"{h}"' for h in header), ""]
    out += ["   " + ", ".join(f'"{c}"' for c in row) for row in body]
    return out + [""]


def render_docs(rows):
    """The docs' tables (reStructuredText) of the latest sweep, engine and streaming rows
    (``docs/tables/scaling.inc``, written by ``benchmarks/make_docs_tables.py``)."""
    sweep = [r for r in rows if r["what"] == "sweep"][-1:]
    engine = {(r["n"], r.get("cpus", 2)): r for r in rows if r["what"] == "engine"}
    stream = {r["rows"]: r for r in rows if r["what"] == "stream"}
    out = [".. generated by benchmarks/make_docs_tables.py from "
           "benchmarks/results/scaling.jsonl (python benchmarks/scaling.py); do not edit", ""]
    out += _csv_table("A sweep on 1 and 2 loky workers (divest.rejection_rate)",
                      ["test", "repetitions", "1 worker (1 BLAS thread) s",
                       "1 worker (2 BLAS threads) s", "2 workers s", "speed-up",
                       "identical p-values"],
                      [[r["test"], r["repetitions"], f"{r['seconds_1']:.1f}",
                        f"{r['seconds_1_blas2']:.1f}", f"{r['seconds_2']:.1f}",
                        f"{r['speedup']:.2f}", r["identical"]] for r in sweep])
    out += _csv_table("The MMD permutation test on the numpy and torch engines (B = 1000, "
                      "d = 10, best of 3)",
                      ["n = m", "CPU cores", "numpy s", "torch CPU s", "torch / numpy",
                       "CUDA s", "same p-values"],
                      [[f"{n:,}", c, f"{r['seconds']['None']:.3f}", f"{r['seconds']['cpu']:.3f}",
                        f"{r['seconds']['cpu'] / r['seconds']['None']:.2f}",
                        f"{r['seconds']['cuda']:.3f}" if "cuda" in r["seconds"] else "no GPU",
                        len(set(r["pvalues"].values())) == 1]
                       for (n, c), r in sorted(engine.items())])
    out += _csv_table("Linear-time MMD test streamed from dask arrays (LocalCluster, 2 worker "
                      "processes x 1 thread)",
                      ["rows per sample", "d", "wall s", "peak RSS GB (all processes)"],
                      [[f"{n:,}", r["d"], f"{r['seconds']:.1f}", f"{r['peak_rss_gb']:.2f}"]
                       for n, r in sorted(stream.items())])
    return "\n".join(out)


def read_rows():
    return [json.loads(line) for line in open(LOG)] if LOG.exists() else []


def report():
    rows = read_rows()
    lines = ["# Scaling out", "",
             "Produced by `python benchmarks/scaling.py` (see its docstring) on this machine "
             "(2 cores, no GPU).  `load` is the 1-minute load average when the row was "
             "written.  Targets of issue 19: >= 1.8x from 1 to 2 workers on a CPU-bound "
             "sweep; a linear-time MMD test on 10^8 rows (d = 10) from a dask array in "
             "<= 10 min with <= 2 GB peak RSS.", "",
             "## Sweep (divest.rejection_rate, loky)", "",
             "`1 worker`: n_jobs=1 with one BLAS thread (each loky worker of n_jobs=2 gets "
             "one); `1 worker, 2 BLAS threads`: n_jobs=1 with the BLAS default, for context "
             "(the matrix products of one test already use both cores).", "",
             "| test | repetitions | 1 worker s | 1 worker, 2 BLAS threads s | 2 workers s | "
             "speed-up (1 -> 2 workers) | identical p-values | load |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["what"] == "sweep":
            lines.append(f"| {r['test']} | {r['repetitions']} | {r['seconds_1']:.1f} | "
                         f"{r.get('seconds_1_blas2', float('nan')):.1f} | "
                         f"{r['seconds_2']:.1f} | {r['speedup']:.2f} | {r['identical']} | "
                         f"{r['load']:.2f} |")
    lines += ["", "## The permutation engine on torch (MMD test, Gaussian kernel, best of 3)", "",
              "`numpy`: the default engine; `torch cpu`: `device=\"cpu\"`; `cuda`: "
              "`device=\"cuda\"` (only where a GPU was present: the rows with a CUDA time ran "
              "on the GPU machine, whose CPU columns are its 16 cores).", "",
              "| n = m | d | B | CPU cores | numpy s | torch cpu s | torch / numpy | cuda s | "
              "same p-values | load |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["what"] == "engine":
            sec = r["seconds"]
            cuda = f"{sec['cuda']:.3f}" if "cuda" in sec else "no GPU"
            same = len(set(r["pvalues"].values())) == 1
            lines.append(f"| {r['n']:,} | {r['d']} | {r['B']} | {r.get('cpus', 2)} | "
                         f"{sec['None']:.3f} | "
                         f"{sec['cpu']:.3f} | {sec['cpu'] / sec['None']:.2f} | {cuda} | "
                         f"{same} | {r['load']:.2f} |")
    here = {r["n"]: r["seconds"]["None"] for r in rows
            if r["what"] == "engine" and r.get("cpus", 2) == 2}
    gpu = {r["n"]: r["seconds"]["cuda"] for r in rows
           if r["what"] == "engine" and "cuda" in r["seconds"]}
    both = sorted(set(here) & set(gpu))
    if both:
        lines += ["", "CUDA against the numpy engine on this 2-core machine (target of issue "
                  "19: >= 10x at n = m = 10^4, B = 1000): " + "; ".join(
                      f"n = {n:,}: {here[n] / gpu[n]:.0f}x" for n in both) + "."]
    lines += ["", "## Out-of-core linear-time MMD (dask arrays, LocalCluster 2 x 1 thread)", "",
              "| rows per sample | d | wall s | peak RSS GB (all processes) | z | p-value | load |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["what"] == "stream":
            lines.append(f"| {r['rows']:,} | {r['d']} | {r['seconds']:.1f} | "
                         f"{r['peak_rss_gb']:.2f} | {r['z']:.2f} | {r['pvalue']:.3g} | "
                         f"{r['load']:.2f} |")
    (OUT / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", nargs="?", choices=("sweep", "stream", "engine"))
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 2000, 5000])
    ap.add_argument("--rows", nargs="+", type=float, default=[1e6, 1e7, 1e8])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.what == "sweep":
        run_sweep(args.reps)
    elif args.what == "stream":
        run_stream(args.rows)
    elif args.what == "engine":
        run_engine(args.sizes)
    report()


if __name__ == "__main__":
    main()
