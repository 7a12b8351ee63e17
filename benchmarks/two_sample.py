"""Calibration, power and speed of divest's two-sample tests, next to hyppo and scipy.

Writes ``benchmarks/results/two_sample.{md,json,png}``:

1. **Type-I error** at alpha = 0.05 over ``--reps`` (default 500) null repetitions per
   statistic (N(0, I_3) vs N(0, I_3), n = 40, m = 60; ``mmd_linear`` at n = m = 500), with
   the binomial 99% band around 0.05.
2. **Power** at alpha = 0.05 on a Gaussian mean shift, a scale change, Blobs (3 x 3 grid of
   Gaussians, rotated anisotropic components in Q) and an HDGM-style mixture in d = 10,
   divest's statistics next to ``hyppo.ksample.MMD`` / ``Energy`` (``auto=False``: the
   permutation test, not hyppo's default chi-square shortcut) and
   ``scipy.stats.permutation_test`` with the same U-statistic MMD, all at the same B.
3. **Time** in one run: divest vs hyppo's MMD test at n = m = 1000, d = 10, B = 1000; the
   permutation stage vs this machine's float64 matrix-multiply throughput; an MMD test at
   n = m = 10**4, d = 10, B = 1000 (time and peak memory, in a fresh subprocess).

Run::

    python benchmarks/two_sample.py --quick     # about 3 minutes: fewer repetitions; the
                                                # peers timed at B = 20 and scaled to 1000
    python benchmarks/two_sample.py             # about 20 minutes on 2 cores

The machine may be shared: the load average is recorded with the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist, pdist

from divest.twosample import two_sample_test

OUT = Path(__file__).resolve().parent / "results"
ALPHA = 0.05


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------

def null_pair(rng, n, m, d=3):
    return rng.normal(size=(n, d)), rng.normal(size=(m, d))


def mean_shift(rng, n, d=10, delta=0.5):
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    Y[:, 0] += delta
    return X, Y


def scale_change(rng, n, d=10, sigma=1.25):
    return rng.normal(size=(n, d)), sigma * rng.normal(size=(n, d))


def blobs(rng, n, eps=4.0, spacing=10.0):
    """Gretton et al. (2012b): 3 x 3 grid of unit Gaussians (P); in Q each component has
    eigenvalues (eps, 1) rotated by 45 degrees."""
    grid = np.array([(i, j) for i in range(3) for j in range(3)], dtype=float) * spacing
    rot = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2.0)
    L = rot @ np.diag([np.sqrt(eps), 1.0])
    X = grid[rng.integers(9, size=n)] + rng.normal(size=(n, 2))
    Y = grid[rng.integers(9, size=n)] + rng.normal(size=(n, 2)) @ L.T
    return X, Y


def hdgm(rng, n, d=10, rho=0.7):
    """HDGM-style (after Liu et al. 2020): P = Q = mixture of N(0, .) and N(0.5 * 1, .);
    P's components are isotropic, Q's have correlation +rho (first component) or -rho
    (second) between coordinates (0, 1), (2, 3), ..."""
    mu = np.stack([np.zeros(d), 0.5 * np.ones(d)])
    X = mu[rng.integers(2, size=n)] + rng.normal(size=(n, d))
    comp = rng.integers(2, size=n)
    Y = np.empty((n, d))
    for k, r in ((0, rho), (1, -rho)):
        S = np.eye(d)
        for i in range(0, d - 1, 2):
            S[i, i + 1] = S[i + 1, i] = r
        idx = comp == k
        Y[idx] = mu[k] + rng.normal(size=(idx.sum(), d)) @ np.linalg.cholesky(S).T
    return X, Y


SCENARIOS = {
    "mean shift (d=10, delta=0.5, n=m=100)": lambda rng: mean_shift(rng, 100),
    "scale change (d=10, sigma=1.25, n=m=100)": lambda rng: scale_change(rng, 100),
    "Blobs (eps=4, n=m=200)": lambda rng: blobs(rng, 200),
    "HDGM-style (d=10, rho=0.7, n=m=200)": lambda rng: hdgm(rng, 200),
}


# ----------------------------------------------------------------------------------------
# tests: divest and peers, each callable(X, Y, B, seed) -> p-value
# ----------------------------------------------------------------------------------------

def divest(statistic, **opts):
    def run(X, Y, B, seed):
        return two_sample_test(X, Y, statistic, n_permutations=B, rng=seed, **opts).pvalue
    return run


def hyppo_test(kind):
    from hyppo.ksample import MMD, Energy

    def run(X, Y, B, seed):
        test = MMD() if kind == "MMD" else Energy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "number of replications is low (under 1000)"
            return float(test.test(X, Y, reps=B, auto=False, random_state=seed).pvalue)
    return run


def scipy_mmd(X, Y, B, seed):
    """scipy.stats.permutation_test with the unbiased Gaussian MMD^2 (median bandwidth of
    the pooled sample, as divest's); multivariate samples through index arrays."""
    Z = np.concatenate([X, Y])
    bw = float(np.median(pdist(Z)))

    def stat(i, j):
        x, y = Z[i.astype(int)], Z[j.astype(int)]
        n, m = len(x), len(y)
        g = -0.5 / bw ** 2
        kxx = np.exp(g * cdist(x, x, "sqeuclidean"))
        kyy = np.exp(g * cdist(y, y, "sqeuclidean"))
        kxy = np.exp(g * cdist(x, y, "sqeuclidean"))
        return ((kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1))
                - 2 * kxy.mean())

    n = len(X)
    res = stats.permutation_test((np.arange(n), np.arange(n, len(Z))), stat,
                                 permutation_type="independent", n_resamples=B,
                                 alternative="greater", vectorized=False, random_state=seed)
    return float(res.pvalue)


def peers_available():
    import importlib.util
    return importlib.util.find_spec("hyppo") is not None


# ----------------------------------------------------------------------------------------
# 1. type-I error
# ----------------------------------------------------------------------------------------

TYPE1 = [
    ("mmd (U, gaussian, median)", "mmd", {}, 199, (40, 60)),
    ("mmd (V, gaussian, median)", "mmd", {"estimator": "biased"}, 199, (40, 60)),
    ("mmd (U, laplace)", "mmd", {"kernel": "laplace"}, 199, (40, 60)),
    ("energy (V)", "energy", {}, 199, (40, 60)),
    ("mmd_agg (7 bandwidths)", "mmd_agg", {}, 199, (40, 60)),
    ("wasserstein (W1, exact)", "wasserstein", {}, 199, (40, 60)),
    ("c2st (logistic, binomial)", "c2st", {}, 0, (40, 60)),
    ("c2st (LDA, permutation B=19)", "c2st", {"calibration": "permutation",
                                               "classifier": "lda"}, 19, (40, 60)),
    ("mmd_linear (asymptotic)", "mmd_linear", {}, 0, (500, 500)),
]


def type_one(reps):
    lo, hi = (int(v) for v in stats.binom.interval(0.99, reps, ALPHA))
    rows = []
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    for label, statistic, opts, B, (n, m) in TYPE1:
        if opts.get("classifier") == "lda":  # refitted B + 1 times per test: a fast one
            opts = {**opts, "classifier": LinearDiscriminantAnalysis()}
        rng = np.random.default_rng(1000)
        t0 = time.perf_counter()
        rejected = 0
        for r in range(reps):
            X, Y = null_pair(rng, n, m)
            rejected += two_sample_test(X, Y, statistic, n_permutations=max(B, 1), rng=r,
                                        **opts).pvalue <= ALPHA
        rate = rejected / reps
        rows.append({"test": label, "n": n, "m": m, "B": B or None, "reps": reps,
                     "rejected": int(rejected), "rate": rate,
                     "band99": [lo / reps, hi / reps], "inside": bool(lo <= rejected <= hi),
                     "not_above": bool(rejected <= hi),
                     "seconds": time.perf_counter() - t0})
        print(f"type-I {label}: {rate:.3f} ({rejected}/{reps}), band [{lo / reps:.3f}, "
              f"{hi / reps:.3f}]", flush=True)
    return rows


# ----------------------------------------------------------------------------------------
# 2. power
# ----------------------------------------------------------------------------------------

def power(reps, peer_reps, B):
    methods = [("divest mmd (U)", divest("mmd"), reps),
               ("divest energy", divest("energy"), reps),
               ("divest mmd_agg", divest("mmd_agg"), reps),
               ("divest c2st (binomial)", divest("c2st"), reps),
               ("divest mmd_linear", divest("mmd_linear"), reps),
               ("divest wasserstein (W1)", divest("wasserstein"), peer_reps),
               ("scipy permutation_test (MMD U)", scipy_mmd, peer_reps)]
    if peers_available():
        methods += [("hyppo MMD (auto=False)", hyppo_test("MMD"), peer_reps),
                    ("hyppo Energy (auto=False)", hyppo_test("Energy"), peer_reps)]
    rows = []
    for scen, gen in SCENARIOS.items():
        data = [gen(np.random.default_rng([7, r])) for r in range(max(reps, peer_reps))]
        for label, fn, R in methods:
            t0 = time.perf_counter()
            p = np.array([fn(X, Y, B, r) for r, (X, Y) in enumerate(data[:R])])
            rate = float(np.mean(p <= ALPHA))
            rows.append({"scenario": scen, "test": label, "reps": R, "B": B, "power": rate,
                         "se": float(np.sqrt(rate * (1 - rate) / R)),
                         "power_on_peer_data": float(np.mean(p[:peer_reps] <= ALPHA)),
                         "peer_reps": min(R, peer_reps),
                         "seconds_per_test": (time.perf_counter() - t0) / R})
            print(f"power {scen} | {label}: {rate:.3f} (R={R})", flush=True)
    return rows


# ----------------------------------------------------------------------------------------
# 3. time
# ----------------------------------------------------------------------------------------

def matmul_gflops(N, c, repeat=3):
    """Best-of-``repeat`` float64 GFLOP/s of an (N x N) @ (N x c) product."""
    rng = np.random.default_rng(0)
    M, A = rng.random((N, N)), rng.random((N, c))
    M @ A
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        M @ A
        best = min(best, time.perf_counter() - t0)
    return 2.0 * N * N * c / best / 1e9, best


def timing_1000(hyppo_B, peer_B):
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(1000, 10)), rng.normal(size=(1000, 10))
    B = 1000
    rows = {}
    two_sample_test(X[:50], Y[:50], n_permutations=9, rng=0)  # imports
    for label, statistic in (("divest mmd (U)", "mmd"), ("divest energy", "energy")):
        runs = []
        for _ in range(3):  # the machine is shared: best and worst of three runs
            t0 = time.perf_counter()
            res = two_sample_test(X, Y, statistic, n_permutations=B, rng=0)
            runs.append((time.perf_counter() - t0, res.details["plan"]))
        best = min(runs, key=lambda r: r[0])
        rows[label] = {"seconds": best[0], "seconds_worst": max(r[0] for r in runs), "B": B,
                       "measured_B": B, "plan": best[1], "pvalue": res.pvalue}
        print(f"time n=m=1000 {label}: {best[0]:.2f} s", flush=True)
    peers = [("scipy permutation_test (MMD U)", scipy_mmd, peer_B)]
    if peers_available():
        hyppo_test("MMD")(X[:30], Y[:30], 9, 0)  # numba compilation, not timed
        hyppo_test("Energy")(X[:30], Y[:30], 9, 0)
        peers = [("hyppo MMD (auto=False)", hyppo_test("MMD"), hyppo_B),
                 ("hyppo Energy (auto=False)", hyppo_test("Energy"), peer_B)] + peers
    for label, fn, Bp in peers:
        t0 = time.perf_counter()
        fn(X, Y, Bp, 0)
        sec = time.perf_counter() - t0
        # the peers recompute the statistic per permutation: time is linear in B
        rows[label] = {"seconds": sec * (B + 1) / (Bp + 1), "B": B, "measured_B": Bp,
                       "extrapolated": Bp != B}
        print(f"time n=m=1000 {label}: {sec:.1f} s at B={Bp}", flush=True)
    ref = rows["divest mmd (U)"]["seconds"]
    for r in rows.values():
        r["ratio_to_divest_mmd"] = r["seconds"] / ref
    return rows


def throughput():
    """The permutation stage (relabellings, matrix products, reductions) of an MMD test at
    n = m = 1000, B = 1000 vs the pure (N x N) @ (N x (B + 1)) matmul, measured in turn
    three times each (the machine is shared): best of each."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(1000, 10)), rng.normal(size=(1000, 10))
    N, c = 2000, 1001
    stage, mm = np.inf, np.inf
    for _ in range(3):
        res = two_sample_test(X, Y, "mmd", n_permutations=c - 1, rng=0)
        stage = min(stage, res.details["plan"]["seconds_permutations"])
        mm = min(mm, matmul_gflops(N, c, repeat=1)[1])
    print(f"throughput: stage {stage:.3f} s, matmul {mm:.3f} s", flush=True)
    return [{"case": "n=m=1000 (N=2000), B=1000, matrix stored", "matmul_GFLOPs":
             2.0 * N * N * c / mm / 1e9, "matmul_seconds": mm, "stage_seconds": stage,
             "ratio": stage / mm}]


BIG_SCRIPT = textwrap.dedent("""
    import json, time, tracemalloc
    import numpy as np
    from divest.twosample import two_sample_test

    def status(key):  # kB -> bytes
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(10000, 10)), rng.normal(size=(10000, 10))
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
        f.write("5")
    tracemalloc.start()
    t0 = time.perf_counter()
    res = two_sample_test(X, Y, "mmd", n_permutations=1000, rng=0)
    sec = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"seconds": sec, "pvalue": res.pvalue, "plan": res.details["plan"],
                      "tracemalloc_peak_bytes": peak, "peak_rss_bytes": status("VmHWM"),
                      "rss_before_test_bytes": before}))
""")


def timing_big():
    out = subprocess.run([sys.executable, "-c", BIG_SCRIPT], capture_output=True, text=True,
                         check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    N, c = 20000, 1001
    res["flops"] = 2.0 * N * N * c
    gf, best = matmul_gflops_streamed(N, c, res["plan"]["block_rows"])
    res["matmul_GFLOPs_streamed_shape"] = gf
    res["matmul_seconds_streamed_shape"] = best
    print(f"time n=m=1e4: {res['seconds']:.1f} s, peak RSS {res['peak_rss_bytes'] / 1e9:.2f} GB",
          flush=True)
    return res


def matmul_gflops_streamed(N, c, rows, repeat=2):
    """GFLOP/s of the streamed engine's product shape (c x N) @ (N x rows), scaled to the
    full N x N matrix (N / rows products)."""
    rng = np.random.default_rng(0)
    At, Mb = rng.random((c, N)), rng.random((rows, N))
    At @ Mb.T
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        At @ Mb.T
        best = min(best, time.perf_counter() - t0)
    gf = 2.0 * N * rows * c / best / 1e9
    return gf, 2.0 * N * N * c / (gf * 1e9)


# ----------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------

def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def write_report(res):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "two_sample.json").write_text(json.dumps(res, indent=2, default=float))
    md = ["# Two-sample tests: calibration, power, speed\n",
          f"Machine: {res['machine']['cpus']} CPUs ({res['machine']['processor']}), "
          f"load average {res['machine']['load_start']} at start and "
          f"{res['machine']['load_end']} at the end (shared machine: timings are under "
          f"contention).  Command: `{res['command']}`; total {res['total_seconds']:.0f} s.\n"]
    t1 = res["type_one"]
    md.append(f"## Type-I error at alpha = 0.05 ({t1[0]['reps']} null repetitions; "
              "N(0, I_3) vs N(0, I_3))\n")
    md.append(_table(["test", "n, m", "B", "rejection rate", "99% band", "inside",
                      "not above", "s"],
                     [[r["test"], f"{r['n']}, {r['m']}", r["B"] or "-", f"{r['rate']:.3f}",
                       f"[{r['band99'][0]:.3f}, {r['band99'][1]:.3f}]",
                       "yes" if r["inside"] else "no",
                       "yes" if r["not_above"] else "**no**", f"{r['seconds']:.0f}"]
                      for r in t1]))
    md.append("\nThe permutation tests are exact (rate 0.05 in expectation): they must be inside "
              "the band.  c2st is discrete (accuracies tie; the binomial calibration is exact "
              "conditionally on the predictions, and a label-blind classifier that predicts "
              "one class makes it degenerate), so its tests are conservative: their rate must "
              "not be above the band, and is expected below 0.05.  mmd_linear is asymptotic.\n")
    md.append(f"## Power at alpha = 0.05 (B = {res['power'][0]['B']})\n")
    scen = list(dict.fromkeys(r["scenario"] for r in res["power"]))
    tests = list(dict.fromkeys(r["test"] for r in res["power"]))
    look = {(r["scenario"], r["test"]): r for r in res["power"]}
    rows = []
    for t in tests:
        cells = [t]
        for s in scen:
            r = look[(s, t)]
            cell = f"{r['power']:.2f} ± {r['se']:.2f} (R={r['reps']})"
            if r["reps"] > r["peer_reps"]:
                cell += f"; {r['power_on_peer_data']:.2f} on the first {r['peer_reps']}"
            cells.append(cell)
        rows.append(cells)
    md.append(_table(["test"] + scen, rows))
    md.append("\n± one binomial standard error; R repetitions.  The peers and Wasserstein run "
              "on the first R data sets of divest's; divest's power on those same data sets "
              "follows the semicolon.\n")
    sec = [[t] + [f"{look[(s, t)]['seconds_per_test']:.3f}" for s in scen] for t in tests]
    md.append("Seconds per test:\n")
    md.append(_table(["test"] + scen, sec))
    md.append("\n## Time: n = m = 1000, d = 10, B = 1000\n")
    rows = [[k, f"{v['seconds']:.2f}", v["measured_B"],
             "extrapolated (linear in B)" if v.get("extrapolated") else
             (f"measured, best of 3 (worst {v['seconds_worst']:.2f} s)" if "seconds_worst" in v
              else "measured once"),
             f"{v['ratio_to_divest_mmd']:.0f}x"] for k, v in res["time_1000"].items()]
    md.append(_table(["test", "seconds (B=1000)", "B run", "how", "vs divest mmd"], rows))
    md.append("\n## Permutation stage vs matrix-multiply throughput\n")
    rows = [[r["case"], f"{r['matmul_GFLOPs']:.1f}", f"{r['matmul_seconds']:.3f}",
             f"{r['stage_seconds']:.3f}", f"{r['ratio']:.2f}"] for r in res["throughput"]]
    big = res["time_big"]
    rows.append(["n=m=10^4 (N=20000), B=1000, streamed in blocks of "
                 f"{big['plan']['block_rows']} rows",
                 f"{big['matmul_GFLOPs_streamed_shape']:.1f}",
                 f"{big['matmul_seconds_streamed_shape']:.2f}",
                 f"{big['plan']['seconds_permutations']:.2f}",
                 f"{big['plan']['seconds_permutations'] / big['matmul_seconds_streamed_shape']:.2f}"])
    md.append(_table(["case", "matmul GFLOP/s", "pure matmul s", "permutation stage s",
                      "stage / matmul"], rows))
    md.append("\nThe pure matmul is the same product on random matrices, timed alone "
              "(best of repeats); the stage adds drawing the relabellings and the reductions.\n")
    md.append("## MMD test at n = m = 10^4, d = 10, B = 1000\n")
    md.append(_table(["seconds", "kernel matrix s", "permutation stage s",
                      "peak RSS of the process (VmHWM)", "RSS before the test",
                      "tracemalloc peak (numpy arrays)", "plan"],
                     [[f"{big['seconds']:.1f}", f"{big['plan']['seconds_matrix']:.1f}",
                       f"{big['plan']['seconds_permutations']:.1f}",
                       f"{big['peak_rss_bytes'] / 1e9:.2f} GB",
                       f"{big['rss_before_test_bytes'] / 1e9:.2f} GB",
                       f"{big['tracemalloc_peak_bytes'] / 1e9:.2f} GB",
                       f"stored={big['plan']['matrix_stored']}, batch="
                       f"{big['plan']['batch_size']}"]]))
    (OUT / "two_sample.md").write_text("\n".join(md) + "\n")
    plot(res)


def plot(res):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [1, 2]})
    t1 = res["type_one"]
    ax = axes[0]
    ax.barh(range(len(t1)), [r["rate"] for r in t1], color="tab:blue")
    lo, hi = t1[0]["band99"]
    ax.axvspan(lo, hi, color="tab:green", alpha=0.2, label="binomial 99% band")
    ax.axvline(ALPHA, color="k", lw=1)
    ax.set_yticks(range(len(t1)), [r["test"] for r in t1], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("rejection rate under H0 (alpha = 0.05)")
    ax.legend(fontsize=8)
    ax = axes[1]
    scen = list(dict.fromkeys(r["scenario"] for r in res["power"]))
    tests = list(dict.fromkeys(r["test"] for r in res["power"]))
    look = {(r["scenario"], r["test"]): r for r in res["power"]}
    w = 0.8 / len(tests)
    for k, t in enumerate(tests):
        ax.bar(np.arange(len(scen)) + k * w, [look[(s, t)]["power"] for s in scen], w,
               yerr=[look[(s, t)]["se"] for s in scen], label=t)
    ax.set_xticks(np.arange(len(scen)) + 0.4 - w / 2, [s.split(" (")[0] for s in scen])
    ax.set_ylabel("power (alpha = 0.05)")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.07))
    fig.tight_layout()
    fig.savefig(OUT / "two_sample.png", dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repetitions; hyppo's MMD timed at B=100 and scaled")
    ap.add_argument("--reps", type=int, help="null repetitions per statistic (500; quick 100)")
    ap.add_argument("--power-reps", type=int, help="repetitions for divest (200; quick 40)")
    ap.add_argument("--peer-reps", type=int,
                    help="repetitions for peers and wasserstein (50; quick 10)")
    ap.add_argument("--B", type=int, default=199, help="permutations in the power study")
    ap.add_argument("--sections", default="time,type1,power",
                    help="comma-separated subset of time,type1,power to run; the others are "
                         "taken from an existing results/two_sample.json")
    ap.add_argument("--hyppo-B", type=int,
                    help="permutations of hyppo's timed MMD test (1000; quick 20)")
    ap.add_argument("--peer-time-B", type=int,
                    help="permutations of the other timed peers (100; quick 20)")
    args = ap.parse_args(argv)
    q = args.quick
    reps = args.reps or (100 if q else 500)
    preps = args.power_reps or (40 if q else 200)
    peer = args.peer_reps or (10 if q else 50)
    hyppo_B = args.hyppo_B or (20 if q else 1000)
    peer_B = args.peer_time_B or (20 if q else 100)
    sections = set(args.sections.split(","))
    unknown = sections - {"time", "type1", "power"}
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}; choose from time, type1, power")
    start = time.perf_counter()
    res = {}
    if sections != {"time", "type1", "power"}:
        res = json.loads((OUT / "two_sample.json").read_text())
    res["machine"] = {"cpus": os.cpu_count(), "processor": platform.processor() or
                      platform.machine(), "load_start": os.getloadavg()[0]}
    res["command"] = "python benchmarks/two_sample.py " + " ".join(argv or sys.argv[1:])
    if "time" in sections:
        res["time_1000"] = timing_1000(hyppo_B, peer_B)
        res["throughput"] = throughput()
        res["time_big"] = timing_big()
    if "type1" in sections:
        res["type_one"] = type_one(reps)
    if "power" in sections:
        res["power"] = power(preps, peer, args.B)
    res["machine"]["load_end"] = os.getloadavg()[0]
    res["total_seconds"] = time.perf_counter() - start
    write_report(res)
    print((OUT / "two_sample.md").read_text())


if __name__ == "__main__":
    main()
