"""Power of the learned tests of Liu et al. (ICML 2020) on Blob and HDGM, next to the paper.

Protocol of the authors' scripts (``Deep_Kernel_Blob.py``, ``Deep_Kernel_HDGM.py``,
``Baselines_*.py`` of https://github.com/fengliu90/DK-for-TST): a *trial* draws one
training pair (N points per sample), trains the network on all of it, then tests
``--tests`` fresh pairs of the same size (the authors: 100) with the trained network
fixed; the power of a trial is its rejection rate at alpha = 0.05, and the paper averages
``--reps`` trials (the authors: K = 10).  Per trial:

* ``mmd_deep``  MMD-D: the deep kernel trained on the training pair
  (``divest.torch._twosample.train_deep_kernel``), permutation test (B = 200, the authors'
  ``mmd2_permutations``) of its unbiased MMD^2 on each test pair;
* ``c2st_sign``, ``c2st_logit``  one classifier trained on the training pair (the authors
  fit C2ST-S and C2ST-L with the same seed, hence the same network), then accuracy /
  mean log-odds difference on each test pair, B = 200 permutations;
* the no-training tests on each test pair: ``two_sample_test(X, Y, "mmd")`` (median
  bandwidth, B = 200) and, when ``two_sample_test`` knows them, ``"mmdagg"`` and
  ``"mmdfuse"`` (their defaults), all with alpha = 0.05.

The authors' budgets per problem (their scripts): Blob: MMD-D lr 5e-4, width = features
= 50, initial epsilon = sigmoid(~0) = 0.5, sigma_q^2 ~ U(0, 0.3) and sigma_phi^2 ~
U(0, 0.002) (here their means: 0.15, 0.001); C2ST lr 5e-4, batches of min(2 n, 128)
(n per mode).  HDGM (d = 10): MMD-D lr 5e-5, width = features = 3 d, epsilon 1e-10,
sigma_q^2 = 2 d, sigma_phi^2 = 0.1; C2ST lr 1e-3, batches of min(2 n, 128).  All: 1000
epochs for MMD-D (full batch) and, here, for the C2ST (the authors' HDGM budget; their
Blob script runs 500 * 18 n / batch epochs, 4500 at n = 40, not affordable here).
``--epochs`` overrides both.

Resumable: each finished trial (problem, N, trial, test pairs, epochs) is one JSON line of
``benchmarks/results/learned_tests.jsonl`` (the trial's numbers of every method at once);
a restart skips the finished ones.  ``benchmarks/results/learned_tests.md`` is rewritten
at the end (or with ``--report``).

Run::

    python benchmarks/learned_tests.py --quick          # Blob N = 360 and HDGM N = 500,
                                                        # 1 trial x 20 test pairs each
    python benchmarks/learned_tests.py --reps 10 --tests 100 --problems blob --n 360
    python benchmarks/learned_tests.py --report
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from divest._problems_liu import blob, hdgm  # noqa: E402
from divest.torch import _twosample as lt  # noqa: E402
from divest.twosample import two_sample_test  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
RESULTS = OUT / "learned_tests.jsonl"
REPORT = OUT / "learned_tests.md"
ALPHA = 0.05
B = 200
SEED = 20200221
PROBLEMS = {"blob": 0, "hdgm": 1}
METHODS = ("mmd_deep", "c2st_sign", "c2st_logit", "mmd", "mmdagg", "mmdfuse")

#: published power (Liu et al. 2020), problem -> N per sample -> method -> value.  Only
#: the numbers printed in the paper's results as listed by paperswithcode ("Results from
#: the Paper": Blob, 9 modes of 40 points; HDGM, d = 10, N = 4000) are given; the other
#: curves of the paper's Figure 3 are plots, not transcribed here.
PUBLISHED = {"blob": {360: {"mmd_deep": 0.985}}, "hdgm": {4000: {"mmd_deep": 0.659}}}


def sampler(problem):
    return {"blob": lambda N, rng: blob(N, N, rng),
            "hdgm": lambda N, rng: hdgm(N, N, rng, d=10)}[problem]


def budgets(problem, N, epochs):
    """The authors' training settings for ``problem`` at N points per sample."""
    per_mode = N // 9 if problem == "blob" else N // 2
    batch = min(2 * per_mode, 128)
    if problem == "blob":
        deep = {"learning_rate": 5e-4, "width": 50, "depth": 3, "n_features": 50,
                "epsilon_init": 0.5, "bandwidths": (math.sqrt(0.15), math.sqrt(0.001))}
        c2st = {"learning_rate": 5e-4, "width": 50, "depth": 3, "n_features": 50,
                "batch_size": batch}
    else:
        d = 10
        deep = {"learning_rate": 5e-5, "width": 3 * d, "depth": 3, "n_features": 3 * d,
                "epsilon_init": 1e-10, "bandwidths": (math.sqrt(2 * d), math.sqrt(0.1))}
        c2st = {"learning_rate": 1e-3, "width": 3 * d, "depth": 3, "n_features": 3 * d,
                "batch_size": batch}
    deep.update(epochs=epochs, batch_size=None, reg=1e-8)
    c2st.update(epochs=epochs)
    return deep, c2st


def seeds(problem, N, trial):
    """SeedSequence of a trial: child 0 the training pair, 1 the training, 2.. test pairs."""
    return np.random.SeedSequence(SEED, spawn_key=(PROBLEMS[problem], N, trial))


def run_trial(problem, N, trial, n_tests, epochs, methods):
    dev = torch.device("cpu")
    ss = seeds(problem, N, trial)
    draw = sampler(problem)
    kids = ss.spawn(2 + n_tests)
    Xtr, Ytr = draw(N, np.random.default_rng(kids[0]))
    deep_opts, c2st_opts = budgets(problem, N, epochs)
    rec = {"problem": problem, "N": N, "trial": trial, "n_tests": n_tests, "epochs": epochs,
           "B": B, "alpha": ALPHA, "rejections": {}, "seconds_training": {},
           "seconds_testing": defaultdict(float), "skipped": {}}
    train_rng = np.random.default_rng(kids[1])
    models = {}
    if "mmd_deep" in methods:
        t = time.perf_counter()
        models["mmd_deep"], info = lt.train_deep_kernel(Xtr, Ytr, rng=train_rng, device=dev,
                                                        **deep_opts)
        rec["seconds_training"]["mmd_deep"] = time.perf_counter() - t
        rec["mmd_deep_kernel"] = info["kernel_parameters"]
        rec["mmd_deep_objective"] = info["objective_final"]
    if {"c2st_sign", "c2st_logit"} & set(methods):
        t = time.perf_counter()
        models["c2st"], info = lt.train_classifier(Xtr, Ytr, rng=train_rng, device=dev,
                                                   **c2st_opts)
        rec["seconds_training"]["c2st"] = time.perf_counter() - t
        rec["c2st_accuracy_train"] = info["accuracy_train"]
    rej = defaultdict(int)
    for k in range(n_tests):
        rng = np.random.default_rng(kids[2 + k])
        X, Y = draw(N, rng)
        for i, meth in enumerate(methods):
            prng = np.random.default_rng([rng.integers(2**63), i])
            t = time.perf_counter()
            if meth == "mmd_deep":
                st, null, tol, _ = lt.deep_kernel_null(models["mmd_deep"], X, Y, B, prng)
                reject = (1 + np.sum(null >= st - tol)) / (1 + B) <= ALPHA
            elif meth in ("c2st_sign", "c2st_logit"):
                kind = "sign" if meth == "c2st_sign" else "logit"
                st, null, tol, _ = lt.classifier_null(models["c2st"], X, Y, B, prng,
                                                      kind=kind)
                reject = (1 + np.sum(null >= st - tol)) / (1 + B) <= ALPHA
            else:
                if meth in rec["skipped"]:
                    continue
                kw = {"n_permutations": B} if meth == "mmd" else {}
                try:
                    reject = two_sample_test(X, Y, meth, rng=prng, alpha=ALPHA, **kw).reject
                except (ValueError, TypeError, NotImplementedError, ImportError) as exc:
                    rec["skipped"][meth] = f"{type(exc).__name__}: {exc}"[:300]
                    continue
            rec["seconds_testing"][meth] += time.perf_counter() - t
            rej[meth] += bool(reject)
    rec["rejections"] = {m: rej[m] for m in methods if m not in rec["skipped"]}
    rec["seconds_testing"] = dict(rec["seconds_testing"])
    return rec


def load(path):
    if not path.exists():
        return []
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def key(r):
    return (r["problem"], r["N"], r["trial"], r["n_tests"], r["epochs"])


def _groups(rows):
    groups = defaultdict(list)
    for r in rows:
        groups[(r["problem"], r["N"], r["epochs"])].append(r)
    return groups


def table(rows):
    """One dict per (problem, N, epochs, method) with trials, power, SE, the published
    value and the seconds of training (per trial) and testing (per pair)."""
    out = []
    for (prob, N, ep), rs in sorted(_groups(rows).items()):
        for meth in METHODS:
            have = [r for r in rs if meth in r["rejections"]]
            if not have:
                continue
            tot = sum(r["n_tests"] for r in have)
            p = sum(r["rejections"][meth] for r in have) / tot
            tr_key = "c2st" if meth.startswith("c2st") else meth
            trs = [r["seconds_training"][tr_key] for r in have
                   if r["seconds_training"].get(tr_key) is not None]
            out.append({"problem": prob, "N": N, "epochs": ep, "method": meth,
                        "trials": len(have), "tests": tot // len(have), "power": p,
                        "se": math.sqrt(max(p * (1 - p), 0.0) / tot),
                        "published": PUBLISHED.get(prob, {}).get(N, {}).get(meth),
                        "training": float(np.mean(trs)) if trs else None,
                        "testing": sum(r["seconds_testing"].get(meth, 0.0)
                                       for r in have) / tot})
    return out


def render_docs(rows) -> str:
    """The docs' table (reStructuredText) of :func:`table`."""
    out = [".. This file is generated by benchmarks/make_docs_tables.py from",
           "   benchmarks/results/learned_tests.jsonl; do not edit it by hand.", "",
           ".. list-table:: Power at alpha = 0.05 of tests trained once per trial on their "
           "own training pair, on fresh test pairs (trials x test pairs; SE binomial over "
           "all test pairs)", "   :header-rows: 1", "",
           "   * - problem\n     - N per sample\n     - method\n     - trials x tests"
           "\n     - power ± SE\n     - published"]
    for t in table(rows):
        pub = "–" if t["published"] is None else f"{t['published']:.3f}"
        out.append(f"   * - {t['problem']}\n     - {t['N']}\n     - ``{t['method']}``"
                   f"\n     - {t['trials']} x {t['tests']}"
                   f"\n     - {t['power']:.3f} ± {t['se']:.3f}\n     - {pub}")
    return "\n".join(out) + "\n"


def report(rows, path, note=""):
    groups = _groups(rows)
    lines = ["# Learned two-sample tests (Liu et al., ICML 2020): Blob and HDGM power", "",
             "Written by `benchmarks/learned_tests.py`.  Power at alpha = 0.05: rejections of "
             "fresh test pairs by a network trained once per trial on its own training pair "
             "(the authors' protocol; the authors: 10 trials x 100 test pairs).  "
             "`SE` is the binomial standard error over all test pairs "
             "(sqrt(p(1-p)/(trials x tests)); it ignores the variation between trained "
             "networks, which only more trials measure).  B = 200 permutations.", ""]
    if note:
        lines += [note, ""]
    lines += ["| problem | N per sample | epochs | method | trials x tests | power | SE | "
              "published | training s / trial | testing s / pair |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for t in table(rows):
        pub = "-" if t["published"] is None else f"{t['published']:.3f}"
        tr = "-" if t["training"] is None else f"{t['training']:.1f}"
        lines.append(f"| {t['problem']} | {t['N']} | {t['epochs']} | {t['method']} | "
                     f"{t['trials']} x {t['tests']} | {t['power']:.3f} | {t['se']:.3f} | "
                     f"{pub} | {tr} | {t['testing']:.3f} |")
    lines += ["", f"Budget of these rows: {len(rows)} trial(s), "
              f"{sum(r.get('seconds', 0.0) for r in rows):.0f} s of wall time in all "
              "(one torch thread, float32 training on the CPU)."]
    for (prob, N, ep), rs in sorted(groups.items()):
        acc = [r["c2st_accuracy_train"] for r in rs if "c2st_accuracy_train" in r]
        kp = [r["mmd_deep_kernel"] for r in rs if "mmd_deep_kernel" in r]
        if acc:
            lines.append(f"* {prob}, N = {N}: C2ST training accuracy "
                         f"{', '.join(f'{a:.3f}' for a in acc)}")
        if kp:
            lines.append(f"* {prob}, N = {N}: learned MMD-D kernel " + "; ".join(
                ", ".join(f"{k} {v:.3g}" for k, v in p.items()) for p in kp))
    skipped = {m: why for r in rows for m, why in r.get("skipped", {}).items()}
    if skipped:
        lines += ["", "Skipped (``two_sample_test`` refused them when this ran):", ""]
        lines += [f"* `{m}`: {why}" for m, why in sorted(skipped.items())]
    lines += ["", "Published values: Liu et al. (2020) as listed under \"Results from the "
              "Paper\" on paperswithcode.com (MMD-D only: Blob with 40 points per mode, "
              "N = 360, 0.985; HDGM d = 10, N = 4000, 0.659).  The other curves of the "
              "paper's Figure 3 (C2ST-S, C2ST-L, MMD-O, ME, SCF and the other N) are plots "
              "and are not transcribed here.", "",
              "Not reproduced: the authors' Blob C2ST budget (500 * 18 n / batch epochs) — "
              "here the same number of epochs as MMD-D; the authors' random initial "
              "bandwidths on Blob — here their means; their one-sample (paired) U-statistic "
              "in the test — here the two-sample unbiased MMD^2 (divest's engine); "
              "float32 training on CPU instead of CUDA.  Any row with fewer than the "
              "authors' 10 x 100 is a smaller budget than theirs; a row at another N than "
              "a published one (e.g. HDGM at N = 500: the published N = 4000 trains on a "
              "full-batch 8000 x 8000 kernel every epoch, too slow for a CPU run) has no "
              "published counterpart.", ""]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="+", default=["blob", "hdgm"], choices=PROBLEMS)
    ap.add_argument("--n", type=int, nargs="+", default=None,
                    help="points per sample (default: Blob 360, HDGM 4000; --quick: 360, 500)")
    ap.add_argument("--reps", type=int, default=None,
                    help="trials, i.e. trained networks (default 10; --quick: 1)")
    ap.add_argument("--tests", type=int, default=None,
                    help="fresh test pairs per trial (default 100; --quick: 20)")
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--quick", action="store_true",
                    help="1 trial x 20 test pairs; HDGM at N = 500")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", action="store_true", help="only rewrite the report")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    md = args.results.with_suffix(".md")
    note = (f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
            f"(shared), torch {torch.__version__}, {args.threads} thread(s).")
    if args.report:
        report(load(args.results), md, note)
        return
    if args.reps is None:
        args.reps = 1 if args.quick else 10
    if args.tests is None:
        args.tests = 20 if args.quick else 100
    done = {key(r) for r in load(args.results)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for prob in args.problems:
        sizes = args.n or [360 if prob == "blob" else (500 if args.quick else 4000)]
        for N in sizes:
            for trial in range(args.reps):
                k = (prob, N, trial, args.tests, args.epochs)
                if k in done:
                    continue
                t0 = time.perf_counter()
                rec = run_trial(prob, N, trial, args.tests, args.epochs, args.methods)
                rec["seconds"] = time.perf_counter() - t0
                with args.results.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                print(f"{prob} N={N} trial {trial}: {rec['rejections']} of {args.tests} "
                      f"({rec['seconds']:.0f} s)", flush=True)
    report(load(args.results), md, note)


if __name__ == "__main__":
    main()
