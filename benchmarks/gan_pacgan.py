"""PacGAN's Table 1 (Lin et al., NeurIPS 2018): GAN and PacGAN2-4 on the 2-D ring and grid.

Protocol (``divest.torch.train_gan(preset="pacgan")``, the settings of the authors'
``synthetic_data_experiments``): ring of 8 Gaussians of radius 1 and std 0.01
(``DATASETS["pacgan_ring"]``) and grid of 25 Gaussians at {-4, -2, 0, 2, 4}^2 with std 0.05
(``DATASETS["pacgan_grid"]``), training pools of 100,000 samples; generator with 4 hidden
layers of 400 ReLU units and batch normalisation, maxout critic (3 x 200 units, 5 pieces)
on packs of m samples (m = 1 is the plain GAN), weights N(0, 0.02^2); the non-saturating
loss; Adam(1e-4, beta = (0.8, 0.999)), both networks updated simultaneously from one batch
of 100 packs.  The authors train 400 epochs of 1,000 batches (400,000 steps), 10 trials per
row.  Every ``--eval-every`` steps each generator is scored on 2500 samples with
``divest.torch.mode_metrics``: modes with >= 1 high-quality sample (the authors'
``MetricLogger``), the percentage of high-quality samples (within 3 std of the nearest
mode), and the reverse KL of the HQ samples' mode histogram.  The authors' logger writes
no reverse KL; the table's definition is not in their code, so that column is the closest
reading, labelled as such.

The seeds of one (dataset, m) train together as one ``divest.torch.train_gan_ensemble``;
the 8 (dataset, m) configurations run in parallel processes (``--workers``), on the CPU or
a GPU (``--device``).  Each process trains in chunks of ``--chunk`` steps (continuing the
ensemble exactly from an in-memory checkpoint) and appends one JSON line per chunk to
``<out>`` with every member's learning curve so far (and, from 2026-12-07, the CPU model
and divest commit that produced it), so a run stopped at its deadline keeps every
finished chunk; ``--checkpoint-dir`` also saves the ensemble after each chunk
so a later process (another session) continues it.

Run::

    python benchmarks/gan_pacgan.py run --device cuda --workers 8 --steps 400000 \\
        --deadline 400 --out benchmarks/results/gan_pacgan.jsonl
    python benchmarks/gan_pacgan.py run --device cpu --datasets pacgan_grid --packs 1 \\
        --seeds 0 1 2 --steps 200000 --chunk 2000 --threads 1 \\
        --checkpoint-dir benchmarks/results/gan_pacgan_ckpt &    # the CPU curve, resumable:
    python benchmarks/gan_pacgan.py run --device cpu --datasets pacgan_grid --packs 1 \\
        --seeds 3 4 --steps 200000 --chunk 2000 --threads 1 \\
        --checkpoint-dir benchmarks/results/gan_pacgan_ckpt      # one seed group per core
    python benchmarks/gan_pacgan.py report benchmarks/results/gan_pacgan.jsonl

The second and third lines are the issue's CPU alternative to the 400,000-step table: the
plain GAN on the grid, 5 seeds, in two ensembles (one per core of this 2-core machine),
each continued from its checkpoint (one file per dataset, m and seed group).  PacGAN's
networks agree with their single runs only to float rounding (``train_gan_ensemble``), so
a seed's curve can depend on the ensemble it trained in: on the CPU, seeds 0, 1 and 3
train bit for bit alike in the ensembles {0..4}, {0, 1, 2} and {3, 4}, seeds 2 and 4
drift apart (an equally valid draw of the same training).  The checkpoints
are not committed (about 10 MB per seed), so a new checkout restarts from step 0; the
report takes each seed's curve from the longest record that holds it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
from _machine import cpu_model, divest_commit     # this folder is on sys.path
from _stats import fmt_mean_se, mean_se, plateau_text, plateaued

RESULTS = Path(__file__).resolve().parent / "results"

#: Table 1 of the paper (``synthetic_data_experiments/results/Table1.png`` in the authors'
#: repository): (modes, SE), (HQ %, SE), (reverse KL, SE); 10 trials, 400,000 steps
PUBLISHED = {
    ("pacgan_ring", 1): ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
    ("pacgan_ring", 2): ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
    ("pacgan_ring", 3): ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
    ("pacgan_ring", 4): ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    ("pacgan_grid", 1): ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
    ("pacgan_grid", 2): ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
    ("pacgan_grid", 3): ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
    ("pacgan_grid", 4): ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
}
CURVE_KEYS = ("step", "seconds", "modes_captured", "modes_captured_20", "high_quality",
              "reverse_kl_hq")


def _emit(path, rec):
    with open(path, "a") as fh:
        fh.write(json.dumps(rec) + "\n")
        fh.flush()


def run_config(ds, pack, seeds, steps, chunk, eval_every, device, out, stop_at,
               checkpoint_dir=None, threads=None):
    """Train the ensemble of (ds, pack) in chunks until ``steps`` or the wall time
    ``stop_at`` (no chunk is started that would not finish by then, judged by the last)."""
    import torch

    from _chunked import train_in_chunks     # this folder is on sys.path
    from divest.torch import DATASETS, train_gan_ensemble
    if threads:
        torch.set_num_threads(threads)
    # one file per (dataset, m, seeds): seed groups of one configuration may train in
    # separate processes (e.g. one per core) without overwriting each other
    ckpt_path = (os.path.join(checkpoint_dir,
                              f"{ds}_pack{pack}_s{'-'.join(map(str, seeds))}.pt")
                 if checkpoint_dir else None)
    target = DATASETS[ds][0]()

    def train(todo, state):
        return train_gan_ensemble(target, preset="pacgan", pack=pack, seeds=list(seeds),
                                  steps=todo, eval_every=eval_every, metrics=("modes",),
                                  device=device, checkpoint_every=todo, resume=state)

    def record(ens, start, end, seconds):
        rec = {"dataset": ds, "pack": pack, "seeds": list(seeds), "steps": end,
               "device": str(device), "chunk_seconds": seconds, "chunk_steps": end - start,
               "machine": cpu_model(), "commit": divest_commit(),
               "gpu": (torch.cuda.get_device_name(0) if str(device).startswith("cuda")
                       else None),
               "torch": torch.__version__, "errors": [str(e) if e else None
                                                      for e in ens.errors],
               "curves": [None if r is None else
                          {k: [float(v) for v in r.history[k]] for k in CURVE_KEYS}
                          for r in ens.runs]}
        _emit(out, rec)
        print(f"{ds} pack {pack}: {end} steps, {seconds:.0f} s for the chunk; modes "
              + " ".join(str(int(c["modes_captured"][-1])) if c else "x"
                         for c in rec["curves"]), flush=True)

    # a checkpoint further along than --steps is left as it is
    _, done = train_in_chunks(train, steps, chunk, ckpt_path, stop_at=stop_at,
                              on_chunk=record, beyond="stop")
    return done


def run(args):
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp
    stop_at = time.time() + args.deadline
    configs = [(ds, m) for m in args.packs for ds in args.datasets]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(run_config, ds, m, args.seeds, args.steps, args.chunk,
                            args.eval_every, args.device, args.out, stop_at,
                            args.checkpoint_dir, args.threads): (ds, m) for ds, m in configs}
        for f, key in futs.items():
            try:
                print(key, "stopped at", f.result(), "steps", flush=True)
            except Exception as exc:            # report and go on with the others
                print(key, "failed:", repr(exc), flush=True)


def _latest(rows):
    """Each (dataset, pack, device) at the largest step all its seeds reached.

    The seeds of one configuration may train in several ensembles (one per core, say), each
    with its own records; a seed's curve is taken from the longest record that holds it, and
    every curve is cut at the last step that all of them reached.  Returns, per key, a record
    with ``steps``, ``seeds``, ``curves`` (in seed order, ``None`` for a failed member) and
    ``ms_per_run_step`` (each ensemble's last chunk: seconds per step per member, averaged
    over the ensembles)."""
    per_seed = {}
    for r in rows:
        key = (r["dataset"], r["pack"], r["device"].split(":")[0])
        for i, seed in enumerate(r["seeds"]):
            old = per_seed.setdefault(key, {}).get(seed)
            if old is None or r["steps"] > old[0]["steps"]:
                per_seed[key][seed] = (r, i)
    best = {}
    for key, seeds in per_seed.items():
        steps = min(r["steps"] for r, _ in seeds.values())
        curves = []
        for seed in sorted(seeds):
            r, i = seeds[seed]
            c = r["curves"][i]
            if c is not None:
                n = sum(1 for st in c["step"] if st <= steps)
                c = {k: v[:n] for k, v in c.items()}
            curves.append(c)
        groups = {id(r): r for r, _ in seeds.values()}.values()
        best[key] = {"dataset": key[0], "pack": key[1], "steps": steps,
                     "seeds": sorted(seeds), "curves": curves,
                     "ms_per_run_step": float(np.mean(
                         [1000 * r["chunk_seconds"] / r["chunk_steps"] / len(r["seeds"])
                          for r in groups]))}
    return best


def ordering(best, ds, dev):
    """The issue's target "PacGAN2-4 ordered as published", read in modes (>= 1 HQ sample)
    at the last step that every configuration m = 1..4 of (``ds``, ``dev``) reached.

    A pair (a, b) of configurations is *ordered* by Table 1 when the published means differ
    by more than 2 standard errors of their difference; the measured pair agrees when its
    means differ in the same direction.  Returns ``(step, pairs)``, ``pairs`` a list of
    ``(a, b, published (mean, SE) of a and b, measured (mean, SE) of a and b, ordered)``;
    ``(None, [])`` when not every configuration has a curve."""
    keys = [(ds, m, dev) for m in (1, 2, 3, 4)]
    if not all(k in best for k in keys):
        return None, []
    curves = {k[1]: _ok_curves(best, k) for k in keys}
    step = _last_common_step(curves.values())
    meas = {m: _modes_at(cs, step) for m, cs in curves.items()}
    return step, [(a, b, pa, pb, meas[a], meas[b], ordered) for a, b in _PAIRS
                  for pa, pb, ordered in [_published_pair(ds, a, b)]]


_PAIRS = [(a, b) for a in (1, 2, 3, 4) for b in range(a + 1, 5)]


def _published_pair(ds, a, b):
    """Table 1's (mean, SE) of the modes of configurations a and b, and whether Table 1
    orders them (published means more than 2 SE of their difference apart)."""
    (pa, sa), (pb, sb) = PUBLISHED[(ds, a)][0], PUBLISHED[(ds, b)][0]
    return (pa, sa), (pb, sb), abs(pb - pa) > 2 * math.hypot(sa, sb)


def _ok_curves(best, key):
    return [c for c in best[key]["curves"] if c]


def _last_common_step(curve_sets):
    return int(max(set.intersection(*(set(cs[0]["step"]) for cs in curve_sets))))


def _modes_at(curves, step):
    return mean_se([c["modes_captured"][c["step"].index(step)] for c in curves])


def ordering_by_pair(best, ds, dev):
    """The pairs Table 1 orders (see :func:`ordering`), each read at the last step that
    both of its configurations reached, so a pair is not held back by a configuration
    outside it that stopped earlier.  Returns a list of ``(a, b, step, published (mean,
    SE) of a and b, measured (mean, SE) of a and b)`` for the pairs with both curves."""
    out = []
    for a, b in _PAIRS:
        pub_a, pub_b, ordered = _published_pair(ds, a, b)
        ka, kb = (ds, a, dev), (ds, b, dev)
        if not ordered or ka not in best or kb not in best:
            continue
        ca, cb = _ok_curves(best, ka), _ok_curves(best, kb)
        step = _last_common_step((ca, cb))
        out.append((a, b, step, pub_a, pub_b, _modes_at(ca, step), _modes_at(cb, step)))
    return out


def _verdict(pairs):
    """(agree, more than 2 SE apart, verdict) of ``(pa, pb, ma, mb)`` tuples: published
    and measured (mean, SE) of each pair that Table 1 orders."""
    agree = [p for p in pairs if (p[3][0] - p[2][0]) * (p[1][0] - p[0][0]) > 0]
    sig = [p for p in agree if abs(p[3][0] - p[2][0]) > 2 * math.hypot(p[2][1], p[3][1])]
    return len(agree), len(sig), ("met" if len(sig) == len(pairs) else
                                  "in the published order, not all more than 2 SE apart"
                                  if len(agree) == len(pairs) else "not met")


def _ordering_lines(best):
    name = {1: "GAN", 2: "PacGAN2", 3: "PacGAN3", 4: "PacGAN4"}
    out = []
    for ds, dev in sorted({(k[0], k[2]) for k in best}):
        step, pairs = ordering(best, ds, dev)
        if step is not None:
            ordered = [p for p in pairs if p[6]]
            n_agree, n_sig, verdict = _verdict([p[2:6] for p in ordered])
            cells = "; ".join(
                f"{name[a]} {'<' if pb[0] > pa[0] else '>'} {name[b]} (published "
                f"{pa[0]:g} vs {pb[0]:g}; measured {ma[0]:.1f} ± {ma[1]:.1f} vs "
                f"{mb[0]:.1f} ± {mb[1]:.1f})" for a, b, pa, pb, ma, mb, _ in ordered)
            out += [f"- {ds.split('_')[1]}, {dev}, at {step:,} steps (the last step all four "
                    f"reached): Table 1 orders {len(ordered)} of the 6 pairs (more than 2 SE "
                    f"apart): {cells}.  Measured in the same order: {n_agree} of "
                    f"{len(ordered)} ({n_sig} of them more than 2 SE apart): **{verdict}** "
                    f"at this step.  "
                    f"The other pairs are within 2 SE of each other in Table 1."]
        by_pair = ordering_by_pair(best, ds, dev)
        if by_pair and (step is None or any(p[2] != step for p in by_pair)):
            n_agree, n_sig, verdict = _verdict([p[3:] for p in by_pair])
            cells = "; ".join(
                f"{name[a]} {'<' if pb[0] > pa[0] else '>'} {name[b]} at {st:,} steps "
                f"(measured {ma[0]:.1f} ± {ma[1]:.1f} vs {mb[0]:.1f} ± {mb[1]:.1f})"
                for a, b, st, pa, pb, ma, mb in by_pair)
            which = ("each of these pairs" if step is not None else
                     "the pairs Table 1 orders among the configurations run here (not all "
                     "four are), each")
            out += [f"- {ds.split('_')[1]}, {dev}, {which} at the last step both "
                    f"of its configurations reached: {cells}.  Measured in the same order: "
                    f"{n_agree} of {len(by_pair)} ({n_sig} of them more than 2 SE apart): "
                    f"**{verdict}** at these steps."]
    return out


def load(path):
    """The records of ``gan_pacgan.jsonl`` (one per chunk of an ensemble)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def report(path, out_md, out_png):
    rows = load(path)
    text = render_md(rows)
    Path(out_md).write_text(text)
    print(text, end="")
    _plot(_latest(rows), out_png)


def _eval_intervals(best):
    """The evaluation intervals (steps) of the curves in ``best``."""
    return sorted({int(c["step"][1] - c["step"][0]) for r in best.values()
                   for c in r["curves"] if c and len(c["step"]) > 1})


def render_md(rows) -> str:
    """``gan_pacgan.md``: the longest run of each configuration beside Table 1, and the
    configurations at equal steps."""
    best = _latest(rows)
    lines = ["# PacGAN Table 1: GAN and PacGAN2-4 on the 2-D ring and grid", "",
             "Produced by `python benchmarks/gan_pacgan.py` (protocol in its docstring: preset "
             "`pacgan`, the authors' data, networks, loss, optimiser and batch of 100 packs).  "
             "Metrics on 2500 samples per run: modes with >= 1 high-quality sample (the "
             "authors' `MetricLogger`), HQ = within 3 std of the nearest mode, reverse KL of the "
             "HQ samples' mode histogram (the authors' code has no reverse KL; closest reading)."
             "  Mean ± SE over seeds.  **Published: 10 trials x 400,000 steps.**  A row with "
             "fewer steps is a learning-curve point at a smaller budget, not a reproduction of "
             "the published row.", "",
             "*Plateaued*: seeds whose learning curves (one evaluation every "
             + " or ".join(f"{e:,}" for e in _eval_intervals(best)) + " steps) "
             "changed by at most " + plateau_text() + "; a row that has not plateaued is "
             "still moving at its last step.", "",
             "| dataset | m | steps | seeds | device | modes | published | HQ % | published | "
             "reverse KL (HQ) | published | plateaued | ms per run-step |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(best):
        r = best[key]
        ok = [c for c in r["curves"] if c]
        pub = PUBLISHED.get((r["dataset"], r["pack"]))
        ps = [f"{a:g} ± {b:g}" for a, b in pub] if pub else ["n/a"] * 3
        ms = r["ms_per_run_step"]
        lines.append(
            f"| {r['dataset'].split('_')[1]} | {r['pack']} | {r['steps']:,} | {len(ok)} | "
            f"{key[2]} | {fmt_mean_se([c['modes_captured'][-1] for c in ok])} | {ps[0]} | "
            f"{fmt_mean_se([c['high_quality'][-1] for c in ok], 100)} | {ps[1]} | "
            f"{fmt_mean_se([c['reverse_kl_hq'][-1] for c in ok], fmt='{:.2f}')} | {ps[2]} | "
            f"{sum(bool(plateaued(c)) for c in ok)}/{len(ok)} | {ms:.1f} |")
    lines += ["", "## At equal steps (from the learning curves)", "",
              "Modes / HQ % (mean ± SE over seeds) of each configuration at the same step.",
              "", "| dataset | device | step | " + " | ".join(
                  "GAN" if m == 1 else f"PacGAN{m}" for m in (1, 2, 3, 4)) + " |",
              "|---|---|---|---|---|---|---|"]
    for ds, dev in sorted({(k[0], k[2]) for k in best}):
        curves = {m: [c for c in best[(ds, m, dev)]["curves"] if c]
                  for m in (1, 2, 3, 4) if (ds, m, dev) in best}
        marks = sorted({st for cs in curves.values() for st in cs[0]["step"]
                        if st and st % 5000 == 0})
        for st in marks:
            cells = []
            for m in (1, 2, 3, 4):
                cs = curves.get(m)
                if not cs or st not in cs[0]["step"]:
                    cells.append("")
                    continue
                j = cs[0]["step"].index(st)
                cells.append(fmt_mean_se([c["modes_captured"][j] for c in cs]) + " / "
                             + fmt_mean_se([c["high_quality"][j] for c in cs], 100, "{:.0f}"))
            lines.append(f"| {ds.split('_')[1]} | {dev} | {int(st):,} | " + " | ".join(cells)
                         + " |")
    lines += ["", "## Ordered as published?", "",
              "The issue's target: PacGAN2-4 ordered as in Table 1, read in modes at equal "
              "steps (the published order is at 400,000 steps; a smaller budget tests whether "
              "the order has appeared yet).", ""] + (_ordering_lines(best) or ["- none yet"])
    lines += ["", "At step 0 the grid's generator (weights N(0, 0.02^2)) puts every sample near "
              "the origin, which is one of the grid's modes: 1 mode and about 100% HQ, the "
              "collapse artefact that `mode_metrics` labels.", "", "Each seed's curve comes from the longest record that holds it (the seeds of one "
              "configuration may train in several ensembles, e.g. one per CPU core); every row "
              "is cut at the last step all its seeds reached.", "",
              "ms per run-step: the last chunk's wall time (with its evaluations) over its "
              "steps and over the seeds of its ensemble, averaged over the ensembles; the "
              "configurations and ensembles ran concurrently, so they shared the machine."]
    return "\n".join(lines) + "\n"


def _plot(best, out_png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    datasets = sorted({k[0] for k in best})
    if not datasets:
        return
    fig, axes = plt.subplots(2, len(datasets), figsize=(5 * len(datasets), 7), squeeze=False)
    for j, ds in enumerate(datasets):
        for key in sorted(k for k in best if k[0] == ds):
            ok = [c for c in best[key]["curves"] if c]
            n = min(len(c["step"]) for c in ok)
            step = np.array(ok[0]["step"][:n])
            for i, (name, scale) in enumerate((("modes_captured", 1), ("high_quality", 100))):
                v = np.array([c[name][:n] for c in ok]) * scale
                mean = v.mean(0)
                se = v.std(0, ddof=1) / math.sqrt(len(ok)) if len(ok) > 1 else 0 * mean
                lab = "GAN" if key[1] == 1 else f"PacGAN{key[1]}"
                axes[i, j].plot(step, mean, label=f"{lab} ({key[2]})", color=f"C{key[1] - 1}")
                axes[i, j].fill_between(step, mean - se, mean + se, alpha=0.2,
                                        color=f"C{key[1] - 1}")
                pub = PUBLISHED.get((ds, key[1]))
                if pub:
                    axes[i, j].axhline(pub[i][0], ls=":", lw=1, color=f"C{key[1] - 1}")
        axes[0, j].set(title=f"{ds} (dotted: published at 400k steps)",
                       ylabel="modes (>= 1 HQ sample)")
        axes[1, j].set(xlabel="generator step", ylabel="high-quality samples %")
        axes[0, j].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--datasets", nargs="+", default=["pacgan_ring", "pacgan_grid"])
    r.add_argument("--packs", nargs="+", type=int, default=[1, 2, 3, 4])
    r.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    r.add_argument("--steps", type=int, default=400_000)
    r.add_argument("--chunk", type=int, default=5000)
    r.add_argument("--eval-every", type=int, default=1000)
    r.add_argument("--device", default="cpu")
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    r.add_argument("--deadline", type=float, default=math.inf, help="seconds")
    r.add_argument("--checkpoint-dir", default=None)
    r.add_argument("--out", default=str(RESULTS / "gan_pacgan.jsonl"))
    s = sub.add_parser("report")
    s.add_argument("path", nargs="?", default=str(RESULTS / "gan_pacgan.jsonl"))
    s.add_argument("--out", default=str(RESULTS / "gan_pacgan"))
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        report(args.path, args.out + ".md", args.out + ".png")


if __name__ == "__main__":
    main()
