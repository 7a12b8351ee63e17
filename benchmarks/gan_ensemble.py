"""Seed ensembles (issue 18): runs x steps per second of ``train_gan_ensemble`` against
separate single-run processes on the same cores, at divest's default toy size.

Problem: the ring of 8 Gaussians (``DATASETS["ring"]``), divest's default networks
(generator 3 x 128 ReLU, critic 2 x 128 leaky ReLU), batch 64, ``metrics=()`` (training
only; the members' evaluations are not batched and cost what they cost in a single run),
``steps`` generator steps (default 1000) per run.

* ``single``: one ``train_gan`` run in this process on one thread;
* ``separate``: ``--cores`` single runs at once in separate processes (joblib/loky
  workers started before the timing), one thread each: the throughput of the machine
  without ensembles (the fastest of 3 timings, so noise does not inflate the speed-ups);
* ``ensemble``: ``train_gan_ensemble`` with S seeds in one process, on 1 and on
  ``--cores`` threads;
* ``per_core``: S seeds as ``--cores`` ensembles of S / cores members in separate
  processes, one thread each (where a single run already keeps a core's matrix unit busy,
  one ensemble per core beats one ensemble on all cores).

``--kinds`` times a subset (the bit-for-bit check always runs).  Each row records the CPU
model and the divest commit; the report keeps one table per machine.

Throughput is runs x steps / wall seconds (set-up included: data pool, networks).  Each
configuration appends one JSON line to ``benchmarks/results/gan_ensemble.jsonl`` as it
finishes; ``--report`` writes ``gan_ensemble.md`` and ``gan_ensemble.png``.  Before the
timing, member 1 of a 3-member ensemble is checked bit for bit against its single run
(weights and learning curve), and the result is recorded.

Run (on an otherwise idle machine)::

    python benchmarks/gan_ensemble.py --losses nonsaturating wgan_gp --sizes 8 16 32 64
    python benchmarks/gan_ensemble.py --roofline     # FLOPs per run-step, sgemm peak
    python benchmarks/gan_ensemble.py --report

``--roofline`` bounds what any CPU implementation can reach: the matrix products' FLOPs
of one run-step (torch profiler) against the machine's best float32 matrix multiply; the
report states that ceiling beside the measured speed-ups.
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
LOG = OUT / "gan_ensemble.jsonl"


def _single(loss, seed, steps):
    from divest.torch import DATASETS, train_gan
    t0 = time.perf_counter()
    train_gan(DATASETS["ring"][0](), loss, steps=steps, metrics=(), rng=seed, device="cpu",
              num_threads=1)
    return time.perf_counter() - t0


def _compare(loss, device="cpu"):
    """Member 1 of a 3-member ensemble against its single run on ``device``: (identical
    weights and learning curve, largest weight difference, parameters on the device).
    On CUDA batched products may round otherwise than cuBLAS's single ones."""
    import torch

    from divest.torch import DATASETS, train_gan, train_gan_ensemble
    ring = DATASETS["ring"][0]()
    kw = {"steps": 60, "eval_every": 20, "metrics": ("w1", "modes"), "device": device}
    ens = train_gan_ensemble(ring, loss, seeds=[0, 1, 2], **kw)
    alone = train_gan(ring, loss, rng=1, **kw)
    pairs = list(zip(
        list(alone.generator.state_dict().values()) + list(alone.critic.state_dict().values()),
        list(ens[1].generator.state_dict().values()) + list(ens[1].critic.state_dict().values())))
    same = all(torch.equal(a, b) for a, b in pairs) and all(
        alone.history[k] == ens[1].history[k] for k in alone.history if k != "seconds")
    diff = max(float((a.double() - b.double()).abs().max()) for a, b in pairs)
    on_device = all(p.device.type == device for p in ens[1].generator.parameters())
    return same, diff, on_device


def run_cuda(losses, sizes, steps):
    """The same throughput on a GPU: one run, then ensembles of ``sizes`` members."""
    import torch

    from divest.torch import DATASETS, train_gan, train_gan_ensemble
    meta = {"steps": steps, "device": "cuda", "machine": torch.cuda.get_device_name(0),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    for loss in losses:
        same, diff, on_device = _compare(loss, "cuda")
        _append({"loss": loss, "kind": "cuda_check", "identical": same, "max_abs_diff": diff,
                 "on_device": on_device, **meta})
        ring = DATASETS["ring"][0]()
        train_gan(ring, loss, steps=20, metrics=(), rng=0, device="cuda")    # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        train_gan(ring, loss, steps=steps, metrics=(), rng=0, device="cuda")
        torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        _append({"loss": loss, "kind": "cuda_single", "runs": 1, "threads": 1,
                 "seconds": secs, "run_steps_per_s": steps / secs, **meta})
        for S in sizes:
            t0 = time.perf_counter()
            ens = train_gan_ensemble(ring, loss, seeds=range(S), steps=steps, metrics=(),
                                     device="cuda")
            torch.cuda.synchronize()
            secs = time.perf_counter() - t0
            _append({"loss": loss, "kind": "cuda_ensemble", "runs": S, "threads": 1,
                     "seconds": secs, "run_steps_per_s": S * steps / secs,
                     "failed": sum(r is None for r in ens.runs),
                     "peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9, **meta})


def _step_flops(loss, steps=(10, 20)):
    """FLOPs of the matrix products of one generator step of one run (with its critic
    steps), from the torch profiler's counts (``with_flops``: mm, addmm, bmm and their
    backward): the difference between runs of ``steps[1]`` and ``steps[0]`` steps, per step,
    so the set-up cancels."""
    from torch.profiler import ProfilerActivity, profile

    from divest.torch import DATASETS, train_gan
    counts = []
    for k in steps:
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            train_gan(DATASETS["ring"][0](), loss, steps=k, metrics=(), rng=0, device="cpu",
                      num_threads=1)
        counts.append(sum(e.flops for e in prof.key_averages()))
    return (counts[1] - counts[0]) / (steps[1] - steps[0])


def _sgemm_peak(threads, size=2000, repeats=5):
    """FLOP/s of torch's float32 matrix multiply on ``threads`` threads at its best: a
    ``size`` x ``size`` product, best of ``repeats``."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        A = torch.rand(size, size, generator=gen)
        B = torch.rand(size, size, generator=gen)
        A @ B
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            A @ B
            best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    return 2 * size ** 3 / best


def run_roofline(losses, cores):
    """The ceiling matrix products put on any CPU implementation: FLOPs per run-step and
    the machine's float32 matrix-multiply peak on 1 and ``cores`` threads."""
    meta = {"machine": _machine(), "date": time.strftime("%Y-%m-%d")}
    peaks = {t: _sgemm_peak(t) for t in sorted({1, cores})}
    for loss in losses:
        _append({"loss": loss, "kind": "roofline", "flops_per_step": _step_flops(loss),
                 "sgemm_flops": {str(t): p for t, p in peaks.items()}, "cores": cores,
                 **meta})


def _machine():
    """The CPU model and its cores (rows before 2026-12-07 recorded only "x86_64, 2 cores";
    see ``_LEGACY``)."""
    return f"{cpu_model()}, {os.cpu_count()} cores"


def _append(rec):
    OUT.mkdir(exist_ok=True)
    with LOG.open("a") as f:
        f.write(json.dumps(rec) + "\n")
    print(json.dumps(rec), flush=True)


def _ensemble_seconds(loss, seeds, steps, threads):
    from divest.torch import DATASETS, train_gan_ensemble
    return train_gan_ensemble(DATASETS["ring"][0](), loss, seeds=seeds, steps=steps,
                              metrics=(), device="cpu", num_threads=threads).seconds


KINDS = ("single", "separate", "ensemble", "per_core")
#: the baseline's timings: a short one (1000 steps of a single run take seconds) varies by
#: a third between calls on this machine, so the fastest of these sets the baseline (rows
#: before 2026-12-07, 15:00 UTC timed it once)
SEPARATE_REPEATS = 3


def run(losses, sizes, steps, cores, kinds=KINDS):
    from joblib import Parallel, delayed

    from divest.torch import DATASETS, train_gan_ensemble
    meta = {"steps": steps, "machine": _machine(), "commit": divest_commit(),
            "date": time.strftime("%Y-%m-%d")}
    for loss in losses:
        _append({"loss": loss, "kind": "bitwise", "identical": _compare(loss)[0], **meta})
        _single(loss, 0, 20)                       # warm-up (imports, allocator)
        if "single" in kinds:
            secs = _single(loss, 0, steps)
            _append({"loss": loss, "kind": "single", "runs": 1, "threads": 1,
                     "seconds": secs, "run_steps_per_s": steps / secs, **meta})
        with Parallel(n_jobs=cores) as par:
            par(delayed(_single)(loss, s, 20) for s in range(cores))      # start workers
            if "separate" in kinds:     # the baseline at its best of SEPARATE_REPEATS
                times = []
                for _ in range(SEPARATE_REPEATS):
                    t0 = time.perf_counter()
                    par(delayed(_single)(loss, s, steps) for s in range(cores))
                    times.append(time.perf_counter() - t0)
                secs = min(times)
                _append({"loss": loss, "kind": "separate", "runs": cores, "threads": 1,
                         "seconds": secs, "run_steps_per_s": cores * steps / secs,
                         "all_seconds": times, **meta})
            for S in sizes if "per_core" in kinds else ():
                # one ensemble of S / cores members per core, one thread each
                groups = [list(range(S))[c::cores] for c in range(cores)]
                par(delayed(_ensemble_seconds)(loss, g, 20, 1) for g in groups)   # warm-up
                t0 = time.perf_counter()
                par(delayed(_ensemble_seconds)(loss, g, steps, 1) for g in groups)
                secs = time.perf_counter() - t0
                _append({"loss": loss, "kind": "per_core", "runs": S, "threads": 1,
                         "seconds": secs, "run_steps_per_s": S * steps / secs, **meta})
        for S in sizes if "ensemble" in kinds else ():
            for threads in sorted({1, cores}):
                ens = train_gan_ensemble(DATASETS["ring"][0](), loss, seeds=range(S),
                                         steps=steps, metrics=(), device="cpu",
                                         num_threads=threads)
                _append({"loss": loss, "kind": "ensemble", "runs": S, "threads": threads,
                         "seconds": ens.seconds, "run_steps_per_s": S * steps / ens.seconds,
                         "failed": sum(r is None for r in ens.runs), **meta})


def _cpu_section(loss, rows):
    """The CPU table of ``loss`` for one machine's rows (its latest row of each
    configuration), with the ceiling of its roofline."""
    latest = _latest(rows)
    sep = latest.get((loss, "separate", 2, 1))
    bit = latest.get((loss, "bitwise", None, None))
    lines = []
    if bit:
        lines += [f"Member 1 of a 3-member ensemble identical bit for bit to its single "
                  f"run (weights and curve, 60 steps): **{bit['identical']}**.", ""]
    lines += ["| configuration | runs | threads | seconds | runs x steps / s | "
              "vs separate processes |", "|---|---:|---:|---:|---:|---:|"]
    for key, r in sorted(latest.items(), key=lambda kv: (kv[0][1] != "single",
                                                          kv[0][1] != "separate",
                                                          kv[0][2] or 0, kv[0][3] or 0)):
        if key[0] != loss or r["kind"] not in KINDS:
            continue
        ratio = r["run_steps_per_s"] / sep["run_steps_per_s"] if sep else float("nan")
        lines.append(f"| {r['kind']} | {r['runs']} | {r['threads']} | {r['seconds']:.1f} | "
                     f"{r['run_steps_per_s']:.0f} | {ratio:.2f}x |")
    roof = latest.get((loss, "roofline", None, None))
    if roof and sep:
        peak = roof["sgemm_flops"][str(roof["cores"])]
        flops = roof["flops_per_step"]
        best = max((r["run_steps_per_s"] for k, r in latest.items()
                    if k[0] == loss and r["kind"] in ("ensemble", "per_core")),
                   default=float("nan"))
        lines += ["", f"**Ceiling.** One run-step's matrix products are "
                  f"{flops / 1e6:.1f} MFLOP (torch profiler, `--roofline`, "
                  f"{roof['date']}).  At this machine's best float32 matrix multiply, "
                  f"{peak / 1e9:.0f} GFLOP/s on {roof['cores']} threads (a 2000 x 2000 "
                  f"product, best of 5), no CPU implementation of these training steps (the "
                  f"products a single run computes, which each member must reproduce bit for "
                  f"bit) exceeds {peak / flops:.0f} runs x steps / s, "
                  f"**{peak / flops / sep['run_steps_per_s']:.1f}x** separate processes, "
                  f"before any elementwise work.  The best ensemble above runs its products "
                  f"at {best * flops / 1e9:.0f} GFLOP/s ({best * flops / peak:.0%} of that "
                  f"peak); separate processes at {sep['run_steps_per_s'] * flops / 1e9:.0f} "
                  f"GFLOP/s.  A 5x speed-up would need "
                  f"{5 * sep['run_steps_per_s'] * flops / 1e9:.0f} GFLOP/s."]
    steps = {r["steps"] for r in rows if "steps" in r}
    dates = sorted({r["date"] for r in rows if "date" in r})
    commits = sorted({r["commit"] for r in rows if "commit" in r})
    lines += ["", f"Steps per run: {', '.join(map(str, sorted(steps)))}; measured "
                  f"{', '.join(dates)}" + (f" (divest {', '.join(commits)})" if commits else "")
              + ".", ""]
    return lines


#: how rows without a CPU model were labelled.  Their throughput rows (2026-12-04) ran on
#: the earlier Intel machine; their roofline row (2026-12-05: 183 GFLOP/s, the sgemm peak of
#: the AMD EPYC of that day's other benchmarks) on another machine, so it sets no ceiling
#: for them.
_LEGACY = "x86_64, 2 cores"


def _latest(rows):
    out = {}
    for r in rows:
        out[(r["loss"], r["kind"], r.get("runs"), r.get("threads"))] = r
    return out


def report():
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    lines = ["# Seed ensembles: throughput at the default toy size", "",
             "Generated by `python benchmarks/gan_ensemble.py --report` from "
             "`gan_ensemble.jsonl` (latest row of each configuration and machine).  Ring of 8 "
             "Gaussians, divest's default networks, batch 64, no metrics; throughput = runs x "
             "generator steps / wall seconds.  Speed-up is against `separate` (single-run "
             "processes on all cores at once, on the same machine).  Speeds of different "
             "machines are not comparable: one table per CPU, the most recent machine first "
             "(rows recorded as `x86_64, 2 cores` are from this project's earlier Intel "
             "machine, whose model the script did not record then; the ceiling once printed "
             "beside them divided an AMD EPYC's matrix-multiply peak, measured on 2026-12-05, "
             "by the Intel machine's throughput, so it is no longer shown there).", ""]
    cpu_rows = [r for r in rows if "device" not in r]
    machines = sorted({r["machine"] for r in cpu_rows},
                      key=lambda m: max(r["date"] for r in cpu_rows if r["machine"] == m),
                      reverse=True)
    latest = _latest(rows)
    for loss in sorted({r["loss"] for r in rows}):
        lines += [f"## `{loss}`", ""]
        for machine in machines:
            mine = [r for r in cpu_rows if r["loss"] == loss and r["machine"] == machine
                    and not (machine == _LEGACY and r["kind"] == "roofline")]
            if mine:
                lines += [f"### CPU: {machine}", ""]
                lines += _cpu_section(loss, mine)
        cuda = sorted((r for r in latest.values() if r["loss"] == loss
                       and r["kind"] in ("cuda_single", "cuda_ensemble")),
                      key=lambda r: (r["kind"] != "cuda_single", r["runs"]))
        check = latest.get((loss, "cuda_check", None, None))
        if cuda:
            # the CPU baseline of that time: the latest separate-process row of this loss
            # measured on or before the CUDA rows' date
            base = [r for r in cpu_rows if r["loss"] == loss and r["kind"] == "separate"
                    and r["date"] <= cuda[0]["date"]]
            sep = base[-1] if base else None
            one = [r for r in cuda if r["kind"] == "cuda_single"]
            lines += [f"### CUDA: {cuda[0]['machine']}", "",
                      f"torch {cuda[0]['torch']}, {cuda[0]['date']}, {cuda[0]['steps']} steps "
                      f"per run, set-up included; `vs separate CPU processes` is against the "
                      f"CPU machine of that time ({sep['machine'] if sep else 'none recorded'}).", ""]
            if check:
                lines += [f"Member 1 of a 3-member CUDA ensemble against its single CUDA run "
                          f"(60 steps): identical **{check['identical']}**, largest weight "
                          f"difference {check['max_abs_diff']:.2e}; parameters on the GPU: "
                          f"{check['on_device']}.", ""]
            lines += ["| configuration | runs | seconds | runs x steps / s | vs one CUDA run | "
                      "vs separate CPU processes |", "|---|---:|---:|---:|---:|---:|"]
            for r in cuda:
                vs1 = r["run_steps_per_s"] / one[0]["run_steps_per_s"] if one else float("nan")
                vsc = r["run_steps_per_s"] / sep["run_steps_per_s"] if sep else float("nan")
                lines.append(f"| {r['kind'].replace('cuda_', 'CUDA ')} | {r['runs']} | "
                             f"{r['seconds']:.1f} | {r['run_steps_per_s']:.0f} | {vs1:.1f}x | "
                             f"{vsc:.1f}x |")
            lines.append("")
    (OUT / "gan_ensemble.md").write_text("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:   # pragma: no cover
        return
    losses = sorted({r["loss"] for r in rows})
    # CPU rows of the most recent machine only: another machine's speeds do not compare
    latest = _latest([r for r in rows if "device" in r or r["machine"] == machines[0]])
    fig, axes = plt.subplots(1, len(losses), figsize=(5 * len(losses), 3.6), squeeze=False)
    for ax, loss in zip(axes[0], losses):
        for threads in sorted({r["threads"] for r in latest.values()
                               if r["loss"] == loss and r["kind"] == "ensemble"}):
            pts = sorted((r["runs"], r["run_steps_per_s"]) for r in latest.values()
                         if r["loss"] == loss and r["kind"] == "ensemble"
                         and r["threads"] == threads)
            ax.plot(*np.array(pts).T, "o-", label=f"ensemble, {threads} thread(s)")
        pts = sorted((r["runs"], r["run_steps_per_s"]) for r in latest.values()
                     if r["loss"] == loss and r["kind"] == "per_core")
        if pts:
            ax.plot(*np.array(pts).T, "^-", label="one ensemble per core, 1 thread each")
        pts = sorted((r["runs"], r["run_steps_per_s"]) for r in latest.values()
                     if r["loss"] == loss and r["kind"] == "cuda_ensemble")
        if pts:
            ax.plot(*np.array(pts).T, "s-", label="ensemble, CUDA")
        for kind, style in (("single", ":"), ("separate", "--")):
            r = [r for r in latest.values() if r["loss"] == loss and r["kind"] == kind]
            if r:
                ax.axhline(r[0]["run_steps_per_s"], ls=style, color="k",
                           label=f"{kind} ({r[0]['runs']} process{'es' if r[0]['runs'] > 1 else ''})")
        ax.set(xscale="log", xlabel="members S", ylabel="runs x steps / s",
               title=f"{loss}\nCPU: {machines[0]}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "gan_ensemble.png", dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--losses", nargs="+", default=["nonsaturating", "wgan_gp"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS,
                    help="CPU configurations to time (default all)")
    ap.add_argument("--report", action="store_true", help="only write the table and plot")
    ap.add_argument("--roofline", action="store_true",
                    help="only measure FLOPs per run-step and the matrix-multiply peak")
    args = ap.parse_args()
    if args.roofline:
        run_roofline(args.losses, args.cores)
    elif not args.report and args.device == "cuda":
        run_cuda(args.losses, args.sizes, args.steps)
    elif not args.report:
        run(args.losses, args.sizes, args.steps, args.cores, args.kinds)
    report()


if __name__ == "__main__":
    main()
