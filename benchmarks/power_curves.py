"""Power curves of MMD-FUSE, MMDAgg, MMDAggInc and the median-bandwidth MMD test, next to
the published ones (Biggs, Schrab & Gretton, NeurIPS 2023, Figures 2-3).

Protocol of the paper's notebooks (``experiment_mixture.ipynb``,
``experiment_perturbations.ipynb``): n = m = 500, alpha = 0.05, 200 repetitions per point.

Experiments (``--experiments``)
    ``mixture``       four Gaussians at (+-20, +-20) in d = 2; in Y the (-20, -20) component
                      has std sigma in (0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.2, 1.4, 1.6, 1.8, 2)
    ``perturbed_d1``  Schrab et al.'s perturbed uniform (p = 2, s = 1) vs uniform, d = 1,
                      scale in (0, .1, .2, .3, .4, .5)
    ``perturbed_d2``  the same in d = 2, scale in (0, .2, .4, .6, .8, 1)
    ``level``         null repetitions: mixture sigma = 1, perturbed d = 1 and d = 2 at
                      scale 0 (``--level-reps`` of them; e.g. 5000 in the full study)
Tests (``--tests``)
    ``mmdfuse`` (B = 2000), ``mmdagg``, ``mmdagginc`` (their published defaults),
    ``mmd`` (median bandwidth gaussian, B = 2000 permutations), all through
    ``divest.two_sample_test(..., alpha=0.05)``; ``mmd_agg`` (divest's own single-level
    aggregate, B = 2000) is available but not run by default.  A test that the installed
    ``two_sample_test`` does not know is skipped with a message.

Seeds: each (experiment, point, repetition) has the SeedSequence with entropy ``--seed``
and spawn key (experiment id, point index, repetition) -- the child that
``SeedSequence(seed).spawn(...)`` reaches along that path -- and its children 0 (the data,
shared by all tests of the repetition, as in the paper) and 1 + test id (the test's
permutations).  Results do not depend on ``--n-jobs``, on the order of the work, or on
which experiments, points and tests are selected.

Resumable: every finished (experiment, point, repetition, test) is appended as one JSON
line to ``benchmarks/results/power_curves.jsonl``; a restart skips the finished ones.
Work is ordered repetition-major, so a stopped run has all points at similar counts.

Run::

    python benchmarks/power_curves.py --reps 200 --n-jobs 2          # the study (hours)
    python benchmarks/power_curves.py --experiments level --level-reps 5000
    python benchmarks/power_curves.py --report                       # tables and plots only
    python benchmarks/power_curves.py --speed                        # timings, 3 runs each
    python benchmarks/power_curves.py --reps 3 --points 1 \
        --results benchmarks/results/power_curves_smoke.jsonl         # smoke run

``--report`` (no run) writes ``benchmarks/results/power_curves.md`` and
``benchmarks/results/power_curves_<experiment>.png`` (with ``--results X.jsonl``:
``X.md`` and ``X_<experiment>.png``) and includes ``power_speed.jsonl``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from divest._problems_schrab import four_gaussians, perturbed_uniform  # noqa: E402
from divest.twosample import two_sample_test  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
RESULTS = OUT / "power_curves.jsonl"
#: the counts behind the docs page (committed; docs/tables/power_curves.inc is made from it)
SUMMARY = OUT / "power_curves_summary.json"
DOCS_STATIC = ROOT / "docs" / "_static"
SPEED = OUT / "power_speed.jsonl"
MIRROR = Path("/work/.mirror/antoninschrab+mmdfuse-paper/repo")
ALPHA = 0.05
SAMPLE_SIZE = 500
DEFAULT_SEED = 20231210
B = 2000

# ---------------------------------------------------------------------------------------
# experiments: id (fixed: part of the seeds), x label, points, sampler

EXPERIMENTS = {
    "mixture": {
        "id": 0, "x": "sigma", "points": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0),
        "title": "Mixture of four Gaussians, d = 2 (std of the (-20, -20) component of Y)",
        "published": "mixture_vary_dif"},
    "perturbed_d1": {
        "id": 1, "x": "scale", "points": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
        "title": "Perturbed uniform, d = 1, p = 2 perturbations",
        "published": "perturbations_vary_dif_d1"},
    "perturbed_d2": {
        "id": 2, "x": "scale", "points": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "title": "Perturbed uniform, d = 2, p = 2 perturbations",
        "published": "perturbations_vary_dif_d2"},
    "level": {
        "id": 3, "x": "null", "points": ("mixture sigma=1", "perturbed d=1 scale=0",
                                         "perturbed d=2 scale=0"),
        "title": "Level: null repetitions"},
}
#: where each level point sits in the published power arrays (experiment, point index)
LEVEL_PUBLISHED = {0: ("mixture", 5), 1: ("perturbed_d1", 0), 2: ("perturbed_d2", 0)}


def sample(experiment, point_index, rng):
    """(X, Y) of one repetition, n = m = 500."""
    n = SAMPLE_SIZE
    if experiment == "level":
        experiment, point_index = LEVEL_PUBLISHED[point_index]
    x = EXPERIMENTS[experiment]["points"][point_index]
    if experiment == "mixture":
        return four_gaussians(n, n, x, rng, d=2, mu=20.0)
    d = 1 if experiment == "perturbed_d1" else 2
    return perturbed_uniform(n, n, d, x, rng, perturbations=2, s=1)


# ---------------------------------------------------------------------------------------
# tests: id (fixed: part of the seeds), call, published row

TESTS = {
    "mmdfuse": {"id": 0, "kwargs": {}, "published": "mmdfuse"},
    "mmdagg": {"id": 1, "kwargs": {}, "published": "mmdagg"},
    "mmdagginc": {"id": 2, "kwargs": {}, "published": "mmdagginc"},
    "mmd": {"id": 3, "kwargs": {"n_permutations": B}, "published": "mmd_median"},
    "mmd_agg": {"id": 4, "kwargs": {"n_permutations": B}, "published": None},
    # MMD-FUSE calibrated by sign flips of the pairs (x_i, y_i) instead of the published
    # permutations: compared with the published MMD-FUSE, not a column of its own
    "mmdfuse_wild": {"id": 5, "statistic": "mmdfuse", "kwargs": {"resampling": "wild_bootstrap"},
                     "published": None, "compare": "mmdfuse"},
}
DEFAULT_TESTS = ("mmdfuse", "mmdagg", "mmdagginc", "mmd")
#: the tests whose power is checked against a published curve (Targets, within-2-SE columns)
CHECKED = ("mmdfuse", "mmdagg", "mmdfuse_wild")


def statistic(name):
    """``two_sample_test``'s statistic of the study's test ``name``."""
    return TESTS[name].get("statistic", name)


def reference(name):
    """The published test that ``name``'s power is compared with (None: not compared)."""
    return TESTS[name]["published"] or TESTS[name].get("compare")


def run_test(name, X, Y, rng):
    return two_sample_test(X, Y, statistic(name), alpha=ALPHA, rng=rng,
                           **TESTS[name]["kwargs"])


def available_tests(names):
    """The tests the installed ``two_sample_test`` runs (probed on a tiny sample)."""
    X, Y = four_gaussians(12, 12, 1.0, 0)
    ok = []
    for name in names:
        try:
            res = run_test(name, X, Y, 0)
            if res.reject is None:
                raise ValueError(f"{name}: reject is None with alpha={ALPHA}")
        except (ValueError, KeyError, NotImplementedError, TypeError) as exc:
            print(f"skipping test {name!r}: two_sample_test raised {type(exc).__name__}: "
                  f"{exc}", file=sys.stderr)
            continue
        ok.append(name)
    return ok


# ---------------------------------------------------------------------------------------
# published values (results/*.npy of github.com/antoninschrab/mmdfuse-paper; rows in the
# notebooks' order, autotst from the *_autotst.npy files; 200 repetitions each)

PUBLISHED_TESTS = ("mmdfuse", "mmd_median", "mmd_split", "mmdagg", "mmdagginc", "deep_mmd",
                   "met", "scf", "ctt", "actt", "autotst")
PUBLISHED_REPS = 200
PUBLISHED = {
    "mixture_vary_dif": (
        (0.995, 0.945, 0.51, 0.135, 0.065, 0.035, 0.105, 0.235, 0.635, 0.84, 0.905),
        (0.055, 0.05, 0.03, 0.035, 0.065, 0.035, 0.04, 0.04, 0.03, 0.035, 0.05),
        (0.885, 0.615, 0.26, 0.095, 0.09, 0.05, 0.085, 0.145, 0.315, 0.495, 0.555),
        (0.995, 0.915, 0.46, 0.12, 0.09, 0.05, 0.105, 0.25, 0.675, 0.91, 0.945),
        (0.98, 0.805, 0.355, 0.095, 0.065, 0.02, 0.105, 0.205, 0.545, 0.78, 0.91),
        (0.845, 0.59, 0.25, 0.115, 0.075, 0.07, 0.105, 0.105, 0.34, 0.545, 0.68),
        (0.095, 0.07, 0.085, 0.075, 0.07, 0.06, 0.065, 0.1, 0.15, 0.29, 0.455),
        (0.785, 0.55, 0.285, 0.12, 0.115, 0.085, 0.11, 0.33, 0.6, 0.835, 0.935),
        (0.07, 0.04, 0.055, 0.04, 0.055, 0.035, 0.055, 0.025, 0.035, 0.04, 0.05),
        (0.975, 0.835, 0.3, 0.095, 0.08, 0.025, 0.085, 0.165, 0.415, 0.615, 0.77),
        (0.88, 0.59, 0.185, 0.085, 0.04, 0.07, 0.075, 0.145, 0.495, 0.765, 0.91)),
    "perturbations_vary_dif_d1": (
        (0.045, 0.085, 0.18, 0.505, 0.825, 0.975),
        (0.04, 0.06, 0.105, 0.29, 0.465, 0.675),
        (0.065, 0.075, 0.125, 0.24, 0.565, 0.825),
        (0.035, 0.08, 0.21, 0.605, 0.88, 0.985),
        (0.04, 0.085, 0.175, 0.525, 0.815, 0.985),
        (0.08, 0.06, 0.11, 0.31, 0.515, 0.84),
        (0.065, 0.1, 0.15, 0.26, 0.51, 0.735),
        (0.005, 0.005, 0.005, 0.03, 0.03, 0.255),
        (0.045, 0.075, 0.14, 0.355, 0.545, 0.81),
        (0.035, 0.03, 0.135, 0.415, 0.725, 0.94),
        (0.04, 0.08, 0.18, 0.365, 0.63, 0.875)),
    "perturbations_vary_dif_d2": (
        (0.045, 0.055, 0.17, 0.485, 0.885, 0.995),
        (0.05, 0.065, 0.065, 0.05, 0.06, 0.075),
        (0.05, 0.055, 0.1, 0.205, 0.415, 0.735),
        (0.045, 0.055, 0.145, 0.395, 0.83, 0.99),
        (0.03, 0.055, 0.13, 0.3, 0.73, 0.905),
        (0.035, 0.065, 0.12, 0.115, 0.25, 0.38),
        (0.04, 0.08, 0.095, 0.16, 0.23, 0.43),
        (0.06, 0.08, 0.1, 0.16, 0.255, 0.375),
        (0.035, 0.07, 0.06, 0.055, 0.07, 0.075),
        (0.045, 0.045, 0.115, 0.305, 0.725, 0.955),
        (0.04, 0.05, 0.13, 0.2, 0.425, 0.73)),
}
#: published mean runtimes in seconds (results/runtimes_vary_d_mean.npy, n = m = 500; a GPU,
#: JAX, compiled; mmdagg is the permutation variant) at d = 10 and d = 100
PUBLISHED_SPEED = {("mmdfuse", 500, 10): 0.0541, ("mmdfuse", 500, 100): 0.0546,
                   ("mmdagg", 500, 10): 0.0923, ("mmdagg", 500, 100): 0.0939}


def published(experiment, test):
    """Published power array of ``test`` (a PUBLISHED_TESTS name) or None."""
    arr = PUBLISHED.get(EXPERIMENTS[experiment].get("published"))
    if arr is None or test not in PUBLISHED_TESTS:
        return None
    return np.array(arr[PUBLISHED_TESTS.index(test)])


def check_published_against_mirror():
    """'identical' / 'differs: ...' / None (no mirror): the embedded values vs the .npy."""
    if not MIRROR.exists():
        return None
    bad = []
    for key, rows in PUBLISHED.items():
        arrs = []
        for suffix in ("", "_autotst"):
            raw = subprocess.run(["git", "-C", str(MIRROR), "show", f"HEAD:results/{key}"
                                  f"{suffix}.npy"], capture_output=True, check=True).stdout
            arrs.append(np.load(io.BytesIO(raw)))
        if not np.allclose(np.vstack(arrs), np.array(rows), atol=1e-6):
            bad.append(key)
    return "identical" if not bad else "differs: " + ", ".join(bad)


# ---------------------------------------------------------------------------------------
# running

def seed_sequence(root, *key):
    return np.random.SeedSequence(root, spawn_key=tuple(int(k) for k in key))


def run_unit(experiment, point_index, rep, tests, root):
    """Records of one repetition: its data once, then every test in ``tests``."""
    e = EXPERIMENTS[experiment]
    X, Y = sample(experiment, point_index, np.random.default_rng(
        seed_sequence(root, e["id"], point_index, rep, 0)))
    out = []
    for name in tests:
        rng = np.random.default_rng(seed_sequence(root, e["id"], point_index, rep,
                                                  1 + TESTS[name]["id"]))
        start = time.perf_counter()
        try:
            res = run_test(name, X, Y, rng)
        except Exception as exc:   # name the unit, then fail loudly
            raise RuntimeError(f"{name} failed at experiment={experiment}, "
                               f"point={point_index}, rep={rep}: {exc!r}") from exc
        wall = time.perf_counter() - start
        out.append({"experiment": experiment, "point": point_index,
                    "x": e["points"][point_index], "rep": rep, "test": name,
                    "reject": bool(res.reject), "pvalue": float(res.pvalue),
                    "seconds": float(res.details.get("seconds", wall)), "wall": wall,
                    "statistic_name": res.statistic_name, "seed": root, "n": X.shape[0],
                    "m": Y.shape[0], "d": X.shape[1]})
    return out


def read_jsonl(path):
    rows = []
    if not path.exists():
        return rows
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:   # a line cut by a kill: ignored, redone
                print(f"{path.name}:{lineno}: unreadable line ignored", file=sys.stderr)
    return rows


def _key(r):
    return (r["seed"], r["experiment"], r["point"], r["rep"], r["test"])


def plan(args, tests):
    done = {_key(r) for r in read_jsonl(args.results)}
    units = []
    for experiment in args.experiments:
        reps = args.level_reps if experiment == "level" else args.reps
        npts = len(EXPERIMENTS[experiment]["points"])
        points = range(npts) if args.points is None else [p for p in args.points if p < npts]
        for rep in range(reps):
            for p in points:
                todo = [t for t in tests if (args.seed, experiment, p, rep, t) not in done]
                if todo:
                    units.append((rep, EXPERIMENTS[experiment]["id"], experiment, p, todo))
    units.sort(key=lambda u: u[:2] + (u[3],))   # repetition-major
    return [(experiment, p, rep, todo) for rep, _, experiment, p, todo in units], len(done)


def run(args):
    from joblib import Parallel, delayed
    from tqdm import tqdm

    tests = available_tests(args.tests)
    if not tests:
        print("no test to run", file=sys.stderr)
        return
    units, n_done = plan(args, tests)
    total = sum(len(u[3]) for u in units)
    print(f"tests {', '.join(tests)}; {n_done} results already in {args.results.name}, "
          f"{total} to run in {len(units)} repetitions, n_jobs={args.n_jobs}")
    if not units:
        return
    args.results.parent.mkdir(parents=True, exist_ok=True)
    jobs = (delayed(run_unit)(e, p, r, todo, args.seed) for e, p, r, todo in units)
    parallel = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")
    with open(args.results, "a+") as fh:
        if fh.tell():   # a line cut by a kill: start on a fresh line
            fh.seek(fh.tell() - 1)
            if fh.read(1) != "\n":
                fh.write("\n")
    with tqdm(total=total, unit="test", smoothing=0.05) as bar:
        for records in parallel(jobs):
            # opened per repetition: a results file replaced while the study runs (a git
            # checkout or stash of it) still receives what comes after
            with open(args.results, "a") as fh:
                for rec in records:
                    fh.write(json.dumps(rec) + "\n")
            bar.update(len(records))


# ---------------------------------------------------------------------------------------
# speed

SPEED_SIZES = ((500, 10), (5000, 100))


def host():
    # beside this script (imported only by speed runs)
    from _machine import cpu_model, divest_commit
    return {"host": platform.node(), "machine": cpu_model(), "cpus": os.cpu_count(),
            "code": divest_commit(),
            "python": platform.python_version(), "numpy": np.__version__}


def gemm_floor(res, n, m, precision):
    """Seconds of the matrix products alone that a resampled test of ``res``'s kind needs
    on this machine: one product per kernel of its matrix (the pooled N x N kernel matrix
    for permutations, the n x n matrix H for the wild bootstrap) by the (B + 1) relabelling
    vectors, timed once here with random matrices of those shapes, times the number of
    kernels.  Since 2026-12-05 the engine multiplies by the symmetric matrices' upper block
    triangles only (about half the multiply-adds), so it can run below this floor; the
    kernel matrices, sorting and bookkeeping come on top."""
    det = res.details
    wild = det.get("resampling") == "wild_bootstrap"
    rows = n if wild else n + m
    cols = det["n_permutations"] + 1
    dtype = np.float32 if precision == "float32" else np.float64
    gen = np.random.default_rng(0)
    A = gen.random((rows, rows)).astype(dtype)
    V = gen.random((rows, cols)).astype(dtype)
    A @ V[:, :8]                                   # BLAS warm-up
    start = time.perf_counter()
    A @ V
    return len(det["kernels"]) * (time.perf_counter() - start)


def gemm_peak(precision) -> float:
    """FLOP/s of this machine's matrix multiply at its best: a 2000 x 2000 product in
    ``precision``, best of 5 (numpy's BLAS, its default threads)."""
    dtype = np.float32 if precision == "float32" else np.float64
    gen = np.random.default_rng(0)
    A, B = gen.random((2000, 2000)).astype(dtype), gen.random((2000, 2000)).astype(dtype)
    A @ B
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        A @ B
        best = min(best, time.perf_counter() - start)
    return 2 * 2000 ** 3 / best


def peak_floor(res, n, m, peak) -> float:
    """Seconds the symmetric products of a resampled test of ``res``'s kind need at least
    at ``peak`` FLOP/s: per kernel, half of the rows x rows matrix's multiply-adds with the
    B + 1 relabelling vectors (rows^2 (B + 1) / 2 multiply-adds, 2 FLOP each), the most
    that symmetry saves; kernel matrices, sorting and bookkeeping come on top."""
    det = res.details
    rows = n if det.get("resampling") == "wild_bootstrap" else n + m
    return len(det["kernels"]) * rows * rows * (det["n_permutations"] + 1) / peak


def run_speed(args):
    tests = available_tests([t for t in CHECKED if t in args.tests] or
                            ["mmdfuse", "mmdagg"])
    args.speed_results.parent.mkdir(parents=True, exist_ok=True)
    peaks = {}
    with open(args.speed_results, "a") as fh:
        for n, d in args.speed_sizes:
            rng = np.random.default_rng(seed_sequence(args.seed, 99, n, d))
            X, Y = rng.random((n, d)), rng.random((n, d))
            for name, precision in ((t, p) for t in tests for p in args.speed_precisions):
                for run_index in range(args.speed_runs):
                    load = os.getloadavg()[0]
                    start = time.perf_counter()
                    res = two_sample_test(X, Y, statistic(name), alpha=ALPHA, rng=run_index,
                                          precision=precision, **TESTS[name]["kwargs"])
                    wall = time.perf_counter() - start
                    rec = {"test": name, "precision": precision, "n": n, "m": n, "d": d,
                           "run": run_index,
                           "wall": wall, "seconds": float(res.details.get("seconds", wall)),
                           "pvalue": float(res.pvalue), "loadavg": load,
                           "date": time.strftime("%Y-%m-%d %H:%M:%S"), **host()}
                    if run_index == 0:
                        rec["gemm_floor"] = gemm_floor(res, n, n, precision)
                        peak = peaks.setdefault(precision, gemm_peak(precision))
                        rec["gemm_peak_gflops"] = peak / 1e9
                        rec["peak_floor"] = peak_floor(res, n, n, peak)
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    print(f"speed {name} ({precision}) n=m={n} d={d} run {run_index}: "
                          f"{wall:.2f} s "
                          f"(load {load:.1f})")


# ---------------------------------------------------------------------------------------
# report

def _rel(path):
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def _se(p, reps):
    return math.sqrt(p * (1 - p) / reps) if reps else float("nan")


def _fmt(x, nd=3):
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def aggregate(rows, seed):
    """{(experiment, point, test): (rejections, reps)} and {test: [seconds]}."""
    rej = defaultdict(lambda: [0, 0])
    seconds = defaultdict(list)
    seen = set()
    for r in rows:
        if r.get("seed") != seed or _key(r) in seen:   # duplicates (a rerun) count once
            continue
        seen.add(_key(r))
        cell = rej[(r["experiment"], r["point"], r["test"])]
        cell[0] += bool(r["reject"])
        cell[1] += 1
        seconds[r["test"]].append(r["seconds"])
    return {k: tuple(v) for k, v in rej.items()}, seconds


def agreement(p, reps, q):
    """(z, within): the two-proportion z-test of divest's rate p (reps) vs the published q.

    z = (p - q) / sqrt(pbar (1 - pbar) (1/reps + 1/200)) with the pooled rate pbar: the SE
    of the difference of two binomial rates, defined also when p or q is 0 or 1.
    """
    pbar = (p * reps + q * PUBLISHED_REPS) / (reps + PUBLISHED_REPS)
    se = math.sqrt(pbar * (1 - pbar) * (1 / reps + 1 / PUBLISHED_REPS))
    if se == 0:
        return 0.0, True   # both 0 or both 1
    z = (p - q) / se
    return z, abs(z) <= 2


def report(args):
    rows = read_jsonl(args.results)
    rej, seconds = aggregate(rows, args.seed)
    stem = args.results.with_suffix("")
    tests = [t for t in TESTS if any(k[2] == t for k in rej)]
    lines = ["# Power curves: divest vs the MMD-FUSE paper", "",
             "Generated by `python benchmarks/power_curves.py --report` from "
             f"`{_rel(args.results)}` (root seed {args.seed}, {len(rows)} lines).",
             "Protocol of Biggs, Schrab & Gretton (NeurIPS 2023): n = m = 500, alpha = 0.05; "
             "the published values are means over 200 repetitions (`results/*.npy` of "
             "github.com/antoninschrab/mmdfuse-paper).",
             "divest: rejection rate ± binomial SE sqrt(p(1-p)/reps) [reps]. "
             "`z` = (divest - published) / SE of the difference (two-proportion z-test: "
             "sqrt(pbar(1-pbar)(1/reps + 1/200)), pbar the pooled rate); *within 2 SE* "
             "means |z| <= 2.", ""]
    check = check_published_against_mirror()
    if check is not None:
        lines += [f"Embedded published arrays vs the mirror's .npy files: {check}.", ""]
    if not tests:
        lines += ["No results yet.", ""]
    for experiment, e in EXPERIMENTS.items():
        if experiment == "level":
            continue
        lines += _power_tables(experiment, e, tests, rej)
    lines += _level_table(tests, rej)
    lines += _targets(tests, rej)
    lines += _seconds_table(seconds)
    lines += _speed_table(args.speed_results)
    report_path = stem.with_name(stem.name + ".md")
    report_path.write_text("\n".join(lines) + "\n")
    print(f"wrote {report_path}")
    default = args.results.resolve() == RESULTS.resolve()
    for experiment in EXPERIMENTS:
        if experiment != "level":
            png = stem.with_name(f"{stem.name}_{experiment}.png")
            plot(experiment, tests, rej, png)
            if default:  # the docs page shows the study's plots
                DOCS_STATIC.mkdir(parents=True, exist_ok=True)
                (DOCS_STATIC / png.name).write_bytes(png.read_bytes())
    if default:
        SUMMARY.write_text(json.dumps(summary(rej, seconds, args.seed), indent=0) + "\n")
        print(f"wrote {SUMMARY}")


def summary(rej, seconds, seed) -> dict:
    """The rejection counts and mean seconds of the study: what the docs page shows."""
    return {"seed": seed, "alpha": ALPHA, "n": SAMPLE_SIZE,
            "cells": sorted([e, i, t, k, reps] for (e, i, t), (k, reps) in rej.items()),
            "seconds": {t: round(float(np.mean(s)), 4) for t, s in sorted(seconds.items())}}


def render_docs(summ: dict) -> str:
    """The docs' power tables (reStructuredText) from :func:`summary`'s counts."""
    rej = {(e, i, t): (k, reps) for e, i, t, k, reps in summ["cells"]}
    tests = [t for t in TESTS if any(k[2] == t for k in rej)]
    out = [".. This file is generated by benchmarks/make_docs_tables.py from",
           "   benchmarks/results/power_curves_summary.json; do not edit it by hand.", ""]
    for experiment, e in EXPERIMENTS.items():
        if experiment == "level":
            continue
        reps = [rej[(experiment, i, t)][1] for i in range(len(e["points"])) for t in tests
                if (experiment, i, t) in rej]
        if not reps:
            continue
        out += [f".. list-table:: {e['title']}: divest's rejection rate ± binomial SE "
                f"({min(reps)}-{max(reps)} repetitions per cell) and the paper's "
                "(200 repetitions)", "   :header-rows: 1", ""]
        head = [e["x"]] + [f"divest {t}" for t in tests] + [
            f"paper {TESTS[t]['published']}" for t in tests if TESTS[t]["published"]]
        out.append("   * - " + "\n     - ".join(head))
        for i, x in enumerate(e["points"]):
            cells = [f"{x:g}"]
            for t in tests:
                k, r = rej.get((experiment, i, t), (0, 0))
                cells.append(f"{k / r:.3f} ± {_se(k / r, r):.3f}" if r else "")
            for t in tests:
                if TESTS[t]["published"]:
                    cells.append(_fmt(published(experiment, TESTS[t]["published"])[i]))
            out.append("   * - " + "\n     - ".join(cells))
        out += ["", f".. image:: /_static/power_curves_{experiment}.png",
                f"   :alt: power curves, {experiment}", ""]
    out += _docs_level_table(rej, tests)
    if summ.get("seconds"):
        out += [".. list-table:: Mean seconds per test in the study (n = m = 500, one thread "
                "per test, float64)", "   :header-rows: 1", "", "   * - test\n     - seconds"]
        for t, sec in summ["seconds"].items():
            out.append(f"   * - {t}\n     - {sec:.3f}")
        out.append("")
    return "\n".join(out)


def _level_band(reps):
    """The two-sided 99% binomial interval of the rejection rate of an exact level-ALPHA
    test over ``reps`` null repetitions."""
    from scipy import stats
    return tuple(stats.binom.ppf([0.005, 0.995], reps, ALPHA) / reps)


def _docs_level_table(rej, tests):
    """The level study as a reStructuredText list-table (rate ± SE [reps], the 99% band)."""
    pts = EXPERIMENTS["level"]["points"]
    have = [t for t in tests if any(("level", i, t) in rej for i in range(len(pts)))]
    if not have:
        return []
    out = [".. list-table:: Level: rejection rate ± binomial SE [null repetitions] at "
           "alpha = 0.05 (the study's goal is 5,000 per cell); *in band*: inside the "
           "two-sided 99% binomial interval of an exact level-0.05 test",
           "   :header-rows: 1", "", "   * - null\n     - test\n     - rate\n     - in band"]
    for i, label in enumerate(pts):
        for t in have:
            k, reps = rej.get(("level", i, t), (0, 0))
            if reps:
                p = k / reps
                lo, hi = _level_band(reps)
                out.append(f"   * - {label}\n     - {t}\n     - {p:.3f} ± {_se(p, reps):.3f} "
                           f"[{reps}]\n     - {'yes' if lo <= p <= hi else 'no'}")
    return out + [""]


def _power_tables(experiment, e, tests, rej):
    pts = e["points"]
    have = [t for t in tests if any((experiment, i, t) in rej for i in range(len(pts)))]
    out = [f"## {experiment}: {e['title']}", ""]
    if not have:
        return out + ["No divest results for this experiment yet.", ""]
    head = [e["x"]]
    for t in have:
        head += [f"divest {t}"] + ([f"paper {TESTS[t]['published']}"]
                                   if TESTS[t]["published"] else [])
    for t in CHECKED:
        if t in have:
            head.append(f"{t} within 2 SE (z)")
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, x in enumerate(pts):
        cells = [f"{x:g}"]
        for t in have:
            k, reps = rej.get((experiment, i, t), (0, 0))
            p = k / reps if reps else float("nan")
            cells.append(f"{_fmt(p)} ± {_fmt(_se(p, reps))} [{reps}]" if reps else "")
            pub = published(experiment, TESTS[t]["published"]) if TESTS[t]["published"] \
                else None
            if TESTS[t]["published"]:
                cells.append(_fmt(pub[i]) if pub is not None else "")
        for t in CHECKED:
            if t not in have:
                continue
            k, reps = rej.get((experiment, i, t), (0, 0))
            pub = published(experiment, reference(t))
            if not reps or pub is None:
                cells.append("")
                continue
            z, ok = agreement(k / reps, reps, pub[i])
            cells.append(f"{'yes' if ok else '**no**'} ({z:+.1f})")
        out.append("| " + " | ".join(cells) + " |")
    out += ["", f"Published power of every test of the paper ({experiment}, 200 repetitions):",
            "", "| test | " + " | ".join(f"{x:g}" for x in pts) + " |",
            "|---|" + "---|" * len(pts)]
    for t in PUBLISHED_TESTS:
        out.append(f"| {t} | " + " | ".join(_fmt(v) for v in published(experiment, t)) + " |")
    return out + [""]


def _null_point(experiment, i) -> bool:
    """Whether point i of a power experiment is a null (sigma = 1, scale = 0)."""
    x = EXPERIMENTS[experiment]["points"][i]
    return x == (1.0 if experiment == "mixture" else 0.0)


def _targets(tests, rej):
    """Issue 17's targets, checked from the counts: power within 2 SE of the published
    MMDAgg and MMD-FUSE at every point (with the chance of that many misses when the two
    agree), level <= 0.05 + 2 SE, and divest's most powerful test against the paper's most
    powerful test at every alternative."""
    from scipy import stats
    out = ["## Targets (issue 17)", ""]
    p_miss = 2 * stats.norm.sf(2.0)
    for t in CHECKED:
        misses, total = [], 0
        for experiment, e in EXPERIMENTS.items():
            pub = published(experiment, reference(t)) if experiment != "level" else None
            if pub is None:
                continue
            for i, x in enumerate(e["points"]):
                k, reps = rej.get((experiment, i, t), (0, 0))
                if not reps:
                    continue
                total += 1
                z, within = agreement(k / reps, reps, pub[i])
                if not within:
                    misses.append(f"{experiment} {e['x']} = {x} (z = {z:+.1f})")
        if total:
            chance = stats.binom.sf(len(misses) - 1, total, p_miss)
            out.append(f"* **{t}: power within 2 SE of the published {reference(t)} value at "
                       f"{total - len(misses)} of {total} points.**  Outside: "
                       f"{', '.join(misses) or 'none'}.  If divest and the paper had the same "
                       f"power everywhere, each point would fall outside with probability "
                       f"{p_miss:.3f}; {len(misses)} or more of {total} then has probability "
                       f"{chance:.2f}.")
    pts = EXPERIMENTS["level"]["points"]
    rows = []
    for i, label in enumerate(pts):
        for t in tests:
            k, reps = rej.get(("level", i, t), (0, 0))
            if reps:
                bound = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / reps)
                rows.append((label, t, k / reps, reps, k / reps <= bound))
    if rows:
        low = min(r[3] for r in rows)
        bad = [f"{t} on {label} ({p:.3f})" for label, t, p, _, ok in rows if not ok]
        out.append(f"* **Level <= 0.05 + 2 SE: {sum(r[4] for r in rows)} of {len(rows)} "
                   f"(test, null) cells** (at least {low} of the 5,000 null repetitions "
                   f"each).  Above: {', '.join(bad) or 'none'}.")
    worse, lower, total = [], 0, 0
    for experiment, e in EXPERIMENTS.items():
        arr = PUBLISHED.get(e.get("published"))
        if arr is None:
            continue
        for i, x in enumerate(e["points"]):
            if _null_point(experiment, i):
                continue
            ours = [(rej[(experiment, i, t)][0] / rej[(experiment, i, t)][1],
                     rej[(experiment, i, t)][1], t) for t in tests if (experiment, i, t) in rej]
            if not ours:
                continue
            best, reps, name = max(ours)
            bpub, pname = max((arr[j][i], PUBLISHED_TESTS[j]) for j in range(len(arr)))
            total += 1
            lower += best < bpub
            z, _ = agreement(best, reps, bpub)
            if z < -2:
                worse.append(f"{experiment} {e['x']} = {x}: {name} {best:.3f} vs {pname} "
                             f"{bpub:.3f} (z = {z:+.1f})")
    if total:
        out.append(f"* **divest's most powerful test against the paper's most powerful test "
                   f"(of {len(PUBLISHED_TESTS)}) at {total} alternatives:** lower by more "
                   f"than 2 SE at {len(worse)} ({'; '.join(worse) or 'none'}); lower in the "
                   f"point estimate at {lower} (the best of several noisy rates is biased "
                   f"upwards, on both sides).")
    return out + [""]


def _level_table(tests, rej):
    pts = EXPERIMENTS["level"]["points"]
    have = [t for t in tests if any(("level", i, t) in rej for i in range(len(pts)))]
    out = ["## Level (null repetitions, alpha = 0.05)", ""]
    if not have:
        return out + ["No level results yet.", ""]
    out += ["Rejection rate ± SE [reps]; *in band*: inside the two-sided 99% binomial "
            "interval of a level-0.05 test with that many repetitions; published: the "
            "paper's value at the same null point (200 repetitions).", "",
            "| null | test | divest | in band | paper |", "|---|---|---|---|---|"]
    for i, label in enumerate(pts):
        pe, pi = LEVEL_PUBLISHED[i]
        for t in have:
            k, reps = rej.get(("level", i, t), (0, 0))
            if not reps:
                continue
            p = k / reps
            lo, hi = _level_band(reps)
            pub = published(pe, TESTS[t]["published"]) if TESTS[t]["published"] else None
            out.append(f"| {label} | {t} | {_fmt(p)} ± {_fmt(_se(p, reps))} [{reps}] | "
                       f"{'yes' if lo <= p <= hi else '**no**'} | "
                       f"{_fmt(pub[pi]) if pub is not None else ''} |")
    return out + [""]


def _seconds_table(seconds):
    out = ["## Time per test (n = m = 500, all experiments)", "",
           "| test | runs | mean s | median s |", "|---|---|---|---|"]
    for t, s in seconds.items():
        out.append(f"| {t} | {len(s)} | {np.mean(s):.3f} | {np.median(s):.3f} |")
    return out + [""]


def _speed_table(path):
    rows = read_jsonl(path)
    out = ["## Speed (uniform data on [0, 1]^d, `--speed`)", ""]
    if not rows:
        return out + ["No speed runs yet.", ""]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["test"], r.get("precision", "float64"), r["n"], r["d"],
                f"{r['host']}, {r.get('machine', 'CPU not recorded')}", r["cpus"],
                r.get("code", "not recorded"))].append(r)
    out += ["| test | precision | n = m | d | runs | median s | mean s | min s | max s | "
            "load | host (CPUs) | code | GEMM floor s | peak floor s (GFLOP/s) | "
            "paper (GPU) s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (t, prec, n, d, h, c, code), rs in sorted(groups.items()):
        w = [r["wall"] for r in rs]
        pub = PUBLISHED_SPEED.get((t, n, d))
        floors = [r["gemm_floor"] for r in rs if "gemm_floor" in r]
        peaks = [(r["peak_floor"], r["gemm_peak_gflops"]) for r in rs if "peak_floor" in r]
        peak = (f"{np.mean([p[0] for p in peaks]):.2f} ({np.mean([p[1] for p in peaks]):.0f})"
                if peaks else "")
        out.append(f"| {t} | {prec} | {n} | {d} | {len(w)} | {np.median(w):.2f} | "
                   f"{np.mean(w):.2f} | "
                   f"{min(w):.2f} | {max(w):.2f} | {np.mean([r['loadavg'] for r in rs]):.1f} | {h} ({c}) | "
                   f"{code} | "
                   f"{f'{np.mean(floors):.2f}' if floors else ''} | {peak} | "
                   f"{'' if pub is None else f'{pub:.3f}'} |")
    return out + ["", "Paper: mean of 10 runs of the compiled JAX code on a GPU "
                  "(`results/runtimes_vary_d_mean.npy`, n = m = 500; MMDAgg there is its "
                  "permutation variant).  GEMM floor: the matrix products alone (one per "
                  "kernel: the N x N kernel matrix, or the n x n wild-bootstrap matrix, by "
                  "the B + 1 relabelling vectors) timed on the same machine "
                  "(`gemm_floor`).  Rows of code from 2026-12-05 on (after 2ef1a4f) use "
                  "the matrices' symmetry: products with the upper block triangle only, "
                  "about half the multiply-adds of the floor's full product, so the floor "
                  "bounds them at about half its value.  Peak floor: the least time "
                  "those symmetric products can take, half of the full product's "
                  "multiply-adds at the machine's best matrix-multiply rate (a 2000 x 2000 "
                  "product, best of 5, in the row's precision; the rate in brackets), before "
                  "the kernel matrices and the rest.  Issue 17's targets (0.3 s at "
                  "n = m = 500, d = 10; 15 s at n = m = 5000, d = 100, on 2 cores) cannot "
                  "be met on a machine where the peak floor is above them.", ""]


COLORS = {"mmdfuse": "tab:red", "mmdagg": "tab:blue", "mmdagginc": "tab:green",
          "mmd": "tab:gray", "mmd_agg": "tab:purple"}


def plot(experiment, tests, rej, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = EXPERIMENTS[experiment]
    xs = np.array(e["points"], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for t in tests:
        color = COLORS.get(t)
        pts = [(x, rej[(experiment, i, t)]) for i, x in enumerate(xs)
               if (experiment, i, t) in rej]
        if pts:
            x = np.array([p[0] for p in pts])
            p = np.array([k / r for _, (k, r) in pts])
            se = np.array([_se(k / r, r) for _, (k, r) in pts])
            ax.errorbar(x, p, yerr=se, color=color, ls="-", marker="o", ms=3, capsize=2,
                        label=f"divest {t}")
        if TESTS[t]["published"]:
            ax.plot(xs, published(experiment, TESTS[t]["published"]), color=color, ls="--",
                    label=f"paper {TESTS[t]['published']}")
    ax.axhline(ALPHA, color="k", lw=0.5, ls=":")
    ax.set_xlabel(e["x"])
    ax.set_ylabel("power (rejection rate)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(e["title"], fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


# ---------------------------------------------------------------------------------------

def _sizes(text):
    out = []
    for item in text.split(","):
        n, d = item.lower().split("x")
        out.append((int(n), int(d)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", nargs="+", choices=list(EXPERIMENTS),
                    default=list(EXPERIMENTS))
    ap.add_argument("--tests", nargs="+", choices=list(TESTS), default=list(DEFAULT_TESTS))
    ap.add_argument("--reps", type=int, default=200, help="repetitions per power point")
    ap.add_argument("--level-reps", type=int, default=None,
                    help="repetitions per null point of 'level' (default: --reps)")
    ap.add_argument("--points", type=int, nargs="+", default=None,
                    help="indices of the points to run in each experiment (default: all)")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="the JSON-lines file of results (default %(default)s)")
    ap.add_argument("--report", action="store_true",
                    help="only write the report (.md next to --results) and the PNGs")
    ap.add_argument("--speed", action="store_true", help="timings instead of power")
    ap.add_argument("--speed-sizes", type=_sizes, default=list(SPEED_SIZES),
                    help="NxD list, default 500x10,5000x100")
    ap.add_argument("--speed-runs", type=int, default=3)
    ap.add_argument("--speed-precisions", nargs="+", choices=("float64", "float32"),
                    default=["float64", "float32"])
    ap.add_argument("--speed-results", type=Path, default=SPEED,
                    help="the JSON-lines file of timings (default %(default)s)")
    args = ap.parse_args(argv)
    if args.level_reps is None:
        args.level_reps = args.reps
    if args.report:
        report(args)
    elif args.speed:
        run_speed(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
