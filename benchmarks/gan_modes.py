"""Mode collapse on the 8-Gaussian ring and the 25-Gaussian grid for every GAN loss.

The VEEGAN / PacGAN table: for each loss of ``divest.torch.gan_losses()`` and each seed, a
generator is trained with ``divest.torch.train_gan`` (the loss's paper defaults), and the
final generator is scored on 2500 samples with ``divest.torch.mode_metrics``: modes
captured with at least 1 high-quality sample (PacGAN's code) and with at least 20 (the
stricter variant earlier tables used), the percentage of high-quality samples (within 3 σ
of the nearest mode, in σ), the reverse KL of the HQ samples' mode histogram (PacGAN's)
and of all samples' (labelled), and the collapse label; plus exact W1 and MMD² against
held-out target samples.  Rows written before these fields existed carry only the
>= 20 count (``modes_pacgan``, a misnomer kept for reading them) and the all-sample KL.

The runs are independent, so the script spreads them over worker processes: some on the
GPU (several processes share it) and some on the CPU (one torch thread each).  Each
worker appends one JSON line per finished run to ``<out>/runs_<worker>.jsonl``; a rerun
skips the runs already there (``--resume DIR``), and ``--deadline`` stops taking new runs
after so many seconds, so a long study can be split over several sessions.  With
``--chunk`` it also stops a running ensemble between two chunks, before a chunk that would
end past the deadline (judged by the last chunk's time): its checkpoint holds the steps so
far, no row is written, and the same call continues it later.

With ``--ensemble`` the seeds of each (loss, dataset) train together as one
``divest.torch.train_gan_ensemble`` (each member is its single run bit for bit at batch
sizes that are multiples of 32, such as the default 256), cheapest losses first.

The second study (issue 18 (c), from 2026-12-04): every loss, ring and grid, 5 seeds,
20,000 steps at batch 256 (learning curves every 1000 steps, so the plateau criterion
``divest.torch.plateau`` can be read off each run), one CPU core, spanning sessions::

    python benchmarks/gan_modes.py run --ensemble --steps 20000 --eval-every 1000 \
        --seeds 0 1 2 3 4 --out benchmarks/results/gan_modes_v2/runs --deadline 4500
    python benchmarks/gan_modes.py report benchmarks/results/gan_modes_v2/runs \
        --out benchmarks/results/gan_modes_v2

Continuing it to a plateau (from 2026-12-06): ``--checkpoint-dir`` saves each ensemble's
state when it finishes, and the same call with more ``--steps`` continues each ensemble
from its checkpoint (the same runs, bit for bit, as runs trained to that budget at once;
an ensemble without a checkpoint is trained afresh); ``--skip-plateaued`` leaves the rows
whose every run has plateaued at the steps they have; ``--chunk N`` also saves each
ensemble every N steps, so a process stopped mid-run (an MMD-GAN ensemble takes hours on
one core) continues from its last chunk.  Each row records its steps, the table shows
them, and ``report`` keeps each run's longest record::

    python benchmarks/gan_modes.py run --ensemble --steps 60000 --eval-every 1000 \
        --seeds 0 1 2 3 4 --out benchmarks/results/gan_modes_v2/runs --skip-plateaued \
        --checkpoint-dir benchmarks/results/gan_modes_v2/ckpt --chunk 2000 --deadline 9000

Usage::

    python benchmarks/gan_modes.py run --steps 5000 --seeds 0 1 2 --gpu-workers 10 \\
        --cpu-workers 5 --out /tmp/modes             # the study (a GPU machine)
    python benchmarks/gan_modes.py report /tmp/modes --out benchmarks/results/gan_modes
    python benchmarks/gan_modes.py run --quick --out /tmp/m && \\
        python benchmarks/gan_modes.py report /tmp/m --out /tmp/m_report   # smoke test

``report`` writes ``results.md`` (the summary over seeds), ``results.csv``,
``results.json``, ``modes.md`` (the VEEGAN/PacGAN-format table), ``samples_<ds>.png``,
``curves_<ds>.png`` (W1 and MMD² of the first seed) and ``modes_<ds>.png`` (modes and
HQ % against the step, mean ± SE over the seeds, one panel per loss).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import queue
import re
import time

import numpy as np

from _stats import fmt_mean_se, plateau_text, plateaued     # this folder is on sys.path

#: rough relative cost of one generator step (CPU, batch 256), to start the slow runs first
_COST = {"mmd": 8.0, "wgan_gp": 2.0, "wgan_lp": 2.0, "wgan_sn": 1.6, "wgan_clip": 1.3}


def _tasks(losses, datasets, seeds):
    tasks = [(loss, ds, seed) for seed in seeds for ds in datasets for loss in losses]
    # every loss's first seed first (a partial study still covers every loss), the
    # slow losses first within a seed
    return sorted(tasks, key=lambda t: (seeds.index(t[2]), -_COST.get(t[0], 1.0)))


def _done(dirs):
    rows = []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "runs_*.jsonl"))):
            with open(path) as fh:
                for line in fh:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:   # a line cut off when a call was stopped
                        pass
    return rows


def _next(queues):
    for q in queues:
        try:
            return q.get_nowait()
        except queue.Empty:
            pass
    return None


def _scored(row, run, seed):
    """``row`` with the final metrics, PacGAN's metrics on 2500 fresh samples, the curve
    and (seed 0 only: the report draws them) 1000 samples of a finished run."""
    from divest.torch import mode_metrics
    from divest.torch._compare import _final_metrics
    row.update(_final_metrics(run, seed), error="")
    fake = run.sample(2500, rng=seed + 1)
    spec = run.mode_spec
    pac = mode_metrics(fake, spec["centers"], spec["std"], weights=spec["weights"])
    row.update(modes_1=int(pac["modes_captured"]), modes_20=int(pac["modes_captured_20"]),
               high_quality_2500=float(pac["high_quality"]),
               reverse_kl_hq_2500=float(pac["reverse_kl_hq"]),
               mode_kl_2500=float(pac["mode_kl"]), collapsed=pac["collapsed"],
               history={k: [float(v) for v in vals] for k, vals in run.history.items()
                        if k in ("step", "w1", "mmd2", "high_quality", "modes_captured",
                                 "modes_captured_20", "reverse_kl_hq", "mode_kl")},
               samples=np.round(run.sample(1000, rng=seed), 4).tolist() if seed == 0 else [])
    return row


def _ckpt_path(ckpt_dir, loss, ds, seeds):
    """Where an ensemble's checkpoint lies: one file per (dataset, loss, seeds)."""
    name = f"{ds}__{loss}__s{'-'.join(str(s) for s in seeds)}"
    return os.path.join(ckpt_dir, re.sub(r"[^A-Za-z0-9_.=-]", "_", name) + ".pt")


def _train(loss, ds, seeds, device, opts, ckpt_dir=None, chunk=None, stop_at=math.inf):
    """[(seed, run or None, error or "")] for the seeds: one ensemble when ``seeds`` is a
    tuple (members are their single runs), else one ``train_gan`` run.  With ``ckpt_dir``
    an ensemble continues from its checkpoint there (if any: the same run, bit for bit, as
    one trained to ``steps`` at once) and saves its state at the end, and with ``chunk``
    also at every multiple of ``chunk`` steps (a stopped process loses less than a chunk).
    A chunked ensemble starts no chunk that would end after ``stop_at`` (wall time, judged
    by the last chunk's time); stopped short of ``steps`` it gives ``[]``: its checkpoint
    holds the steps so far and the same call continues it."""
    from divest.torch import train_gan, train_gan_ensemble
    from divest.torch._compare import DATASETS
    if isinstance(seeds, (tuple, list)):
        from _chunked import load_state, train_in_chunks  # this folder is on sys.path
        path = _ckpt_path(ckpt_dir, loss, ds, seeds) if ckpt_dir else None

        def train(todo, state):
            extra = {} if path is None else {"checkpoint_every": todo, "resume": state}
            return train_gan_ensemble(DATASETS[ds][0](), loss, seeds=list(seeds),
                                      device=device, **{**opts, "steps": todo}, **extra)
        try:
            # a checkpoint further along than asked: train this one afresh, keep that file
            ens, done = train_in_chunks(train, opts["steps"], chunk if path else None, path,
                                        beyond="restart", stop_at=stop_at)
            if ens is None:   # the file holds this budget already: its runs, nothing to train
                ens = train(opts["steps"], load_state(path))
            elif done < opts["steps"] and ens.checkpoints and ens.checkpoints[-1][0] == done:
                return []     # stopped at the deadline, saved at ``done`` (not a failure)
        except ValueError as exc:
            if "cannot be batched" not in str(exc):
                raise
            return [r for s in seeds for r in _train(loss, ds, s, device, opts)]
        return [(s, run, err or "") for s, run, err in zip(seeds, ens.runs, ens.errors)]
    try:
        return [(seeds, train_gan(DATASETS[ds][0](), loss, rng=seeds, device=device, **opts),
                 "")]
    except FloatingPointError as exc:
        return [(seeds, None, str(exc))]


def _worker(wid, device, queues, opts, out, deadline, ckpt_dir=None, chunk=None):
    import torch
    torch.set_num_threads(1)
    path = os.path.join(out, f"runs_{wid}.jsonl")
    while time.time() < deadline:
        task = _next(queues)
        if task is None:
            return
        loss, ds, seeds = task
        t0 = time.perf_counter()
        results = _train(loss, ds, seeds, device, opts, ckpt_dir, chunk, stop_at=deadline)
        if not results:
            print(f"[{wid} {device}] {ds} {loss}: stopped at the deadline between two chunks; "
                  f"its checkpoint holds the steps so far", flush=True)
            continue
        seconds = (time.perf_counter() - t0) / len(results)
        for seed, run, error in results:
            row = {"loss": loss, "dataset": ds, "seed": seed, "device": device, "worker": wid,
                   "steps": opts["steps"]}
            if isinstance(seeds, (tuple, list)):
                row["ensemble"] = len(seeds)
            if run is None:
                row["error"] = error
                row["seconds"] = seconds
            else:
                _scored(row, run, seed)
                # an ensemble's time is shared by its members; a run continued from its
                # checkpoint adds the time before it (history["seconds"] is the ensemble's)
                row["seconds"] = max(seconds, run.history["seconds"][-1] / len(results))
            with open(path, "a") as fh:
                fh.write(json.dumps(row, default=float) + "\n")
            print(f"[{wid} {device}] {ds} {loss} seed {seed}: {row['seconds']:.0f} s, modes "
                  f"{row.get('modes_1')}, HQ {row.get('high_quality_2500')}", flush=True)


def _steps(r, default=None):
    """The steps a recorded run trained (rows before 2026-12-06 say it by their curve)."""
    if "steps" in r:
        return int(r["steps"])
    h = r.get("history") or {}
    return int(h["step"][-1]) if h.get("step") else default


def _best(rows):
    """One row per (loss, dataset, seed): the longest run, the last written among equals."""
    by_key: dict = {}
    for r in rows:
        k = (r["loss"], r["dataset"], r["seed"])
        if k not in by_key or (_steps(r, 0) or 0) >= (_steps(by_key[k], 0) or 0):
            by_key[k] = r
    return by_key


def _finished(best, steps, skip_plateaued=False) -> set:
    """The (loss, dataset, seed) of ``best`` (:func:`_best`) that need no more training:
    runs that trained ``steps`` or longer, and failed runs; with ``skip_plateaued`` also
    every run of a (loss, dataset) whose finished runs have all plateaued (``_stats.PLATEAU``)."""
    done = {k for k, r in best.items() if r.get("error") or (_steps(r) or 0) >= steps}
    if skip_plateaued:
        flat: dict = {}
        for (loss, ds, _), r in best.items():
            if not r.get("error"):
                flat.setdefault((loss, ds), []).append(bool(_plateaued(r)))
        done |= {k for k in best if all(flat.get(k[:2], [False]))}
    return done


def _write_config(path, cfg):
    """Write the study's ``config.json``; a call that continues a study with a subset of its
    losses, datasets or seeds (``--losses``) extends the lists already there instead of
    replacing them, since ``report`` orders and selects the losses by that list."""
    # a copy: the caller's train options are the runs' own (until 2026-12-06 the longest
    # budget written here leaked into them, and a call with fewer --steps trained to it)
    cfg = {**cfg, "train_options": dict(cfg["train_options"])}
    if os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh)
        a, b = dict(old.get("train_options", {})), dict(cfg["train_options"])
        if {k: v for k, v in a.items() if k != "steps"} != \
                {k: v for k, v in b.items() if k != "steps"}:
            raise SystemExit(f"{path} holds a study with train_options {a}, not {b} (only "
                             "steps may differ: a longer call continues the runs): pass "
                             "another --out")
        # the longest budget asked for; each row records its own steps
        cfg["train_options"]["steps"] = max(a.get("steps", 0), b["steps"])
        for key in ("losses", "datasets", "seeds"):
            cfg[key] = list(old.get(key, [])) + [v for v in cfg[key]
                                                 if v not in old.get(key, [])]
    with open(path, "w") as fh:
        json.dump(cfg, fh, indent=1)


def run(args):
    import multiprocessing as mp
    from divest.torch import gan_losses
    losses = args.losses or list(gan_losses())
    opts = {"steps": args.steps, "batch_size": args.batch_size, "n_eval": args.n_eval,
            "eval_every": args.eval_every or max(1, args.steps // 5)}
    if args.quick:
        opts.update(critic={"width": 32}, generator={"width": 32, "depth": 1})
    if args.chunk is not None:
        if not (args.ensemble and args.checkpoint_dir):
            raise SystemExit("--chunk needs --ensemble and --checkpoint-dir (it saves the "
                             "ensembles there)")
        if args.chunk < 1 or args.chunk % opts["eval_every"]:
            # a chunk ending between two evaluations would add one to the learning curve
            raise SystemExit(f"--chunk must be a positive multiple of the evaluation period "
                             f"{opts['eval_every']} (--eval-every); got {args.chunk}")
    os.makedirs(args.out, exist_ok=True)
    done = _finished(_best(_done([args.out] + args.resume)), args.steps, args.skip_plateaued)
    todo = [t for t in _tasks(losses, args.datasets, args.seeds) if t not in done]
    runs_todo = list(todo)           # (loss, dataset, seed): this call's runs
    if args.ensemble:     # one task per (loss, dataset): its seeds not done yet, together
        groups: dict = {}
        for loss, ds, seed in todo:
            groups.setdefault((loss, ds), []).append(seed)
        # the cheap losses first: a partial study on few cores then covers most losses
        todo = sorted(((loss, ds, tuple(seeds)) for (loss, ds), seeds in groups.items()),
                      key=lambda t: _COST.get(t[0], 1.0))
    _write_config(os.path.join(args.out, "config.json"),
                  {"train_options": opts, "losses": losses, "datasets": args.datasets,
                   "seeds": args.seeds, "ensemble": args.ensemble,
                   "gpu_workers": args.gpu_workers, "cpu_workers": args.cpu_workers})
    n_todo = len(runs_todo)
    print(f"{n_todo} runs to do ({len(done)} already done)", flush=True)
    ctx = mp.get_context("spawn")
    # small networks run about as fast on one CPU thread as on a GPU (launch-bound), except
    # MMD-GAN (its kernel matrices): MMD runs go to the GPU workers when there are any;
    # every worker takes the slow (n_critic = 5) runs first
    gpu_only, heavy, light = ctx.Queue(), ctx.Queue(), ctx.Queue()
    for t in todo:
        cost = _COST.get(t[0], 1.0)
        if args.ensemble and not args.gpu_workers:   # one queue, in todo's order (cheap first)
            light.put(t)
            continue
        (gpu_only if cost > 2 and args.gpu_workers else heavy if cost > 1 else light).put(t)
    deadline = time.time() + args.deadline
    ck = args.checkpoint_dir
    procs = [ctx.Process(target=_worker, args=(f"g{i}{args.tag}", "cuda",
                                               (gpu_only, heavy, light), opts, args.out,
                                               deadline, ck, args.chunk))
             for i in range(args.gpu_workers)]
    procs += [ctx.Process(target=_worker, args=(f"c{i}{args.tag}", "cpu", (heavy, light), opts,
                                                args.out, deadline, ck, args.chunk))
              for i in range(args.cpu_workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    now = _finished(_best(_done([args.out] + args.resume)), args.steps, args.skip_plateaued)
    # this call's runs only (another process may finish other runs of the study meanwhile)
    left = sum(t not in now for t in runs_todo)
    print(f"finished; {left} runs left", flush=True)
    return 0


def report(args):
    from divest.torch._compare import GANComparison, _summarise, _write
    rows, losses, datasets, seeds, cfg = load(args.dirs)
    for r in rows:
        if r.get("error"):
            for c in ("w1", "mmd2", "kl", "precision", "recall", "modes_captured",
                      "high_quality", "mode_kl"):
                r[c] = math.nan
    curves = {(r["loss"], r["dataset"], r["seed"]): r["history"] for r in rows
              if "history" in r}
    samples = {(r["loss"], r["dataset"], r["seed"]): np.asarray(r["samples"]) for r in rows
               if r.get("samples") and r["seed"] == seeds[0]}
    clean = [{k: v for k, v in r.items() if k not in ("history", "samples")} for r in rows]
    config = {"losses": losses, "seeds": seeds,
              "datasets": {d: d for d in datasets},
              "train_options": _recorded_options(rows, cfg),
              "devices": sorted({r["device"] for r in rows}),
              "seconds": float(sum(r["seconds"] for r in rows))}
    from divest.torch._compare import DATASETS
    config["datasets"] = {d: DATASETS[d][1] for d in datasets}
    res = GANComparison(tuple(clean), tuple(_summarise(clean, losses, datasets)), curves,
                        config)
    os.makedirs(args.out, exist_ok=True)
    _write(res, args.out, samples, datasets, losses)
    print(_modes_table(rows, losses, datasets, seeds, cfg, os.path.join(args.out, "modes.md")))
    return 0


def _recorded_options(rows, cfg):
    """The study's train options with the steps the rows trained: config.json holds the
    longest budget asked for, which rows still being continued have not reached."""
    opts = dict(cfg.get("train_options", {}))
    steps = sorted({_steps(r) for r in rows if not r.get("error")} - {None})
    if steps:
        opts["steps"] = (steps[0] if len(steps) == 1 else
                         f"{steps[0]:,} to {steps[-1]:,} (each row's own: modes.md)")
    return opts


def _short(text):
    """The divergence of a loss's description, without the commentary."""
    for cut in (": ", " (the saturating", " at the optimal critic", " through", " = 1/2",
                " (coding", " (>=", " with a sum", " (Zhao", "  (=", " (at D*", "  at D*",
                ", i.e."):
        text = text.split(cut)[0]
    return text.removeprefix("the ").replace("||", "‖").replace("|", "\\|")


def _m20(r):
    """Modes with >= 20 HQ samples (older rows call it modes_pacgan)."""
    return r["modes_20"] if "modes_20" in r else r["modes_pacgan"]


def _se(vals, scale=1.0, fmt="{:.1f}"):
    """mean ± standard error over the seeds (the mean alone for one seed)."""
    return fmt_mean_se(vals, scale, fmt)


def _plateaued(r) -> bool | None:
    """The plateau criterion (``_stats.PLATEAU``) of a finished run."""
    return plateaued(r.get("history") or {})


def _modes_table(rows, losses, datasets, seeds, cfg, path):
    from divest.torch import get_gan_loss
    opts = cfg.get("train_options", {})
    lines = ["# Mode collapse: every GAN loss on the ring and the grid", "",
             "Metrics as PacGAN's code defines them (`divest.torch.mode_metrics`), on 2500 "
             "generated samples: a sample is *high quality* (HQ) within 3 σ of its nearest "
             "mode; *modes ≥ 1* = modes with at least one HQ sample (PacGAN's rule); "
             "*modes ≥ 20* = with at least 20 (the stricter variant of earlier tables); "
             "*reverse KL (HQ)* = KL(histogram of the HQ samples over the modes ‖ the mixture "
             "weights) in nats (PacGAN's); *reverse KL (all)* = the same over all samples "
             "assigned to their nearest mode (a diffuse generator scores well on it); W1 = "
             "exact W1 to 2500 held-out target samples.  Mean ± standard error over the "
             "seeds that finished; *runs* = finished runs (failed: non-finite training).  "
             "*Plateaued*: runs whose learning curves (every "
             f"{opts.get('eval_every', '?')} steps) changed by at most "
             + plateau_text() + "; n/a for rows without curves.",
             "",
             f"Training: `train_gan` with each loss's paper defaults, the *steps* of each "
             f"row per run, batch {opts.get('batch_size')}, default MLP generator and "
             f"critic; seeds {seeds}"
             + (" (trained together: `train_gan_ensemble`, members = single runs)"
                if cfg.get("ensemble") else "") + ".  Devices: "
             f"{', '.join(sorted({r['device'] for r in rows}))}.", ""]
    for ds in datasets:
        n_modes = 8 if ds == "ring" else 25
        lines += [f"## {ds} ({n_modes} modes)", "",
                  "| loss | minimises (optimal critic) | modes ≥ 1 | per seed | modes ≥ 20 | "
                  "HQ % | reverse KL (HQ) | reverse KL (all) | W1 | plateaued | steps | runs | "
                  "s/run |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for loss in losses:
            g = [r for r in rows if r["loss"] == loss and r["dataset"] == ds]
            if not g:
                continue
            ok = [r for r in g if not r.get("error")]
            div = _short(get_gan_loss(loss).divergence)
            new = ok and all("modes_1" in r for r in ok)
            plat = [_plateaued(r) for r in ok]
            lines.append(
                f"| {loss} | {div} | "
                + (_se([r["modes_1"] for r in ok]) if new else "n/a") + " | "
                + "/".join((str(r["modes_1"]) if "modes_1" in r else "n/a")
                           if not r.get("error") else "✗"
                           for r in sorted(g, key=lambda r: r["seed"])) + " | "
                + f"{_se([_m20(r) for r in ok])} | "
                f"{_se([r['high_quality_2500'] for r in ok], 100)} | "
                + (_se([r["reverse_kl_hq_2500"] for r in ok], fmt="{:.2f}") if new else "n/a")
                + f" | {_se([r['mode_kl_2500'] for r in ok], fmt='{:.2f}')} | "
                f"{_se([r['w1'] for r in ok], fmt='{:.3f}')} | "
                + (f"{sum(bool(p) for p in plat)}/{len(plat)}" if plat and None not in plat
                   else "n/a") + " | "
                + ("/".join(f"{n:,}" for n in sorted({_steps(r, opts.get("steps"))
                                                      for r in ok})) or "–")
                + f" | {len(ok)}" + (f" ({len(g) - len(ok)} failed)" if len(g) > len(ok) else "")
                + f" | {np.mean([r['seconds'] for r in g]):.0f} |")
        lines.append("")
    lines += _equal_budget(rows, losses, datasets)
    if path is not None:
        with open(path, "w") as fh:
            fh.write("\n".join(lines))
    return "\n".join(lines)


#: the budget at which every row is compared in the equal-budget section (every row of the
#: study reached it)
EQUAL_BUDGET = 20_000


def _at_step(r, key, step):
    """The learning curve's value of ``key`` at ``step``, or None where it has no such point."""
    h = r.get("history") or {}
    steps = [int(s) for s in h.get("step", [])]
    return h[key][steps.index(step)] if step in steps and key in h else None


def _equal_budget(rows, losses, datasets, step=EQUAL_BUDGET):
    """Every loss at one budget, read from the learning curves (the evaluation at ``step``
    on the training run's evaluation samples, not the 2500 fresh samples of the tables
    above), so rows trained to different budgets compare at equal steps."""
    head = "| loss | " + " | ".join(f"{ds}: modes ≥ 1 | {ds}: HQ %" for ds in datasets) + " |"
    lines = [f"## Every loss at {step:,} steps (equal budget)", "",
             f"Read from each run's learning curve at step {step:,} (its evaluation samples, "
             "so a row trained to exactly this budget can differ from the tables above by "
             "sampling noise); mean ± standard error over the runs that reached it "
             "(failed runs excluded).", "", head,
             "|---|" + "---|---|" * len(datasets)]
    for loss in losses:
        cells = []
        for ds in datasets:
            got = [r for r in rows if r["loss"] == loss and r["dataset"] == ds
                   and not r.get("error")]
            # _se leaves out the runs without that point (None) and writes "–" for none
            cells += [_se([_at_step(r, "modes_captured", step) for r in got]),
                      _se([_at_step(r, "high_quality", step) for r in got], 100)]
        lines.append(f"| {loss} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def load(dirs):
    """(rows, losses, datasets, seeds, config) of the runs in ``dirs``: one row per (loss,
    dataset, seed), the longest run winning (the last written among equals); losses in the
    order of the first directory's ``config.json``."""
    rows = _done(dirs)
    if not rows:
        raise SystemExit(f"no runs_*.jsonl in {dirs}")
    cfg_path = os.path.join(dirs[0], "config.json")
    cfg = {}
    if os.path.exists(cfg_path):
        with open(cfg_path) as fh:
            cfg = json.load(fh)
    by_key = _best(rows)
    rows = sorted(by_key.values(), key=lambda r: (r["dataset"], r["seed"]))
    losses = [n for n in cfg.get("losses", []) if any(r["loss"] == n for r in rows)] or \
        list(dict.fromkeys(r["loss"] for r in rows))
    datasets = [d for d in ("ring", "grid", "mixture1d", "lines") if any(r["dataset"] == d
                                                                        for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    return rows, losses, datasets, seeds, cfg


def modes_md(dirs) -> str:
    """The text of ``modes.md`` for the runs in ``dirs`` (what ``report`` writes)."""
    rows, losses, datasets, seeds, cfg = load(dirs)
    return _modes_table(rows, losses, datasets, seeds, cfg, None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--losses", nargs="+", default=None)
    r.add_argument("--datasets", nargs="+", default=["ring", "grid"])
    r.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    r.add_argument("--steps", type=int, default=5000)
    r.add_argument("--batch-size", type=int, default=256)
    r.add_argument("--n-eval", type=int, default=2500)
    r.add_argument("--eval-every", type=int, default=None)
    r.add_argument("--gpu-workers", type=int, default=0)
    r.add_argument("--cpu-workers", type=int, default=1)
    r.add_argument("--deadline", type=float, default=math.inf,
                   help="seconds from now: no run starts after it, and with --chunk no "
                        "chunk that would end after it")
    r.add_argument("--resume", nargs="*", default=[], help="directories of earlier runs")
    r.add_argument("--tag", default="", help="suffix of the worker files")
    r.add_argument("--ensemble", action="store_true",
                   help="train the seeds of each (loss, dataset) as one train_gan_ensemble "
                        "(members are their single runs; faster per run)")
    r.add_argument("--checkpoint-dir", default=None,
                   help="with --ensemble: save each ensemble's state here and continue from "
                        "it when --steps grows (the same runs, bit for bit)")
    r.add_argument("--chunk", type=int, default=None,
                   help="with --checkpoint-dir: also save each ensemble every CHUNK steps "
                        "(a multiple of --eval-every), so a stopped run continues from there")
    r.add_argument("--skip-plateaued", action="store_true",
                   help="a (loss, dataset) whose every finished run has plateaued is done "
                        "at any steps (continue only the rows still moving)")
    r.add_argument("--quick", action="store_true", help="small networks (smoke test)")
    r.add_argument("--out", required=True)
    s = sub.add_parser("report")
    s.add_argument("dirs", nargs="+")
    s.add_argument("--out", required=True)
    args = p.parse_args(argv)
    return run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    raise SystemExit(main())
