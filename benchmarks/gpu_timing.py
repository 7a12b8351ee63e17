"""Critic-training and GAN-training speed of divest.torch on the CPU and on CUDA.

For each configuration the script times two calls that differ only in the number of
steps and reports the difference per step (the per-step cost, free of set-up and
evaluation) next to the whole call's wall time:

* ``variational``: the neural KL bound (``divest.torch.variational``) on correlated
  Gaussians in d = 20 (the bound-tightness staircase), batch 64 … 4096, critic width
  128 and 512;
* ``train_gan``: one generator update (with its ``n_critic`` critic updates) on the
  8-Gaussian ring for the non-saturating loss, WGAN-GP and MMD-GAN, batch 256 and 1024.

The CPU rows use ``--cpu-threads`` torch threads.  Usage::

    python benchmarks/gpu_timing.py --out benchmarks/results/gpu_timing   # CPU and CUDA
    python benchmarks/gpu_timing.py --devices cpu --quick                  # a smoke run

Writes ``<out>.md``, ``<out>.json`` and ``<out>.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from divest.distributions import GaussianRing
from divest.torch import train_gan, variational


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn, device):
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _per_step(call, steps, device):
    """(seconds per step from two step counts, wall seconds of the longer call)."""
    call(max(2, steps // 10))            # warm-up: allocator, kernels, cuDNN/cuBLAS handles
    t_short = _timed(lambda: call(steps // 2), device)
    t_long = _timed(lambda: call(steps), device)
    return max(t_long - t_short, 0.0) / (steps - steps // 2), t_long


def bench_variational(device, batch, width, steps, threads):
    rng = np.random.default_rng(0)
    d, rho = 20, 0.8
    cov = np.eye(2 * d)
    cov[:d, d:] = cov[d:, :d] = rho * np.eye(d)
    XY = rng.multivariate_normal(np.zeros(2 * d), cov, size=max(8 * batch, 4000))
    X = XY[:, :d]
    Y = rng.normal(size=X.shape)

    def call(k):
        variational(X, Y, "kl", critic={"width": width, "depth": 2}, steps=k,
                    batch_size=batch, eval_every=k, rng=0, device=device,
                    num_threads=threads)
    return _per_step(call, steps, device)


def bench_gan(device, loss, batch, steps, threads):
    target = GaussianRing(n_modes=8, radius=2.0, std=0.02)

    def call(k):
        train_gan(target, loss, steps=k, batch_size=batch, n_eval=500, metrics=(), rng=0,
                  device=device, num_threads=threads)
    return _per_step(call, steps, device)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda when "
                   "available")
    p.add_argument("--cpu-threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="few configurations and steps")
    p.add_argument("--out", default="benchmarks/results/gpu_timing")
    args = p.parse_args(argv)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    quick = args.quick
    rows = []
    var_cfg = ([(64, 128)] if quick else
               [(64, 128), (256, 128), (1024, 128), (4096, 128), (1024, 512)])
    gan_cfg = ([("nonsaturating", 256)] if quick else
               [("nonsaturating", 256), ("nonsaturating", 1024), ("wgan_gp", 256),
                ("wgan_gp", 1024), ("mmd", 256)])
    for device in devices:
        for batch, width in var_cfg:
            steps = 20 if quick else (100 if device == "cpu" else 400)
            per, wall = bench_variational(device, batch, width, steps, args.cpu_threads)
            rows.append({"task": "variational kl (d=20)", "device": device, "batch": batch,
                         "width": width, "steps": steps, "ms_per_step": 1e3 * per,
                         "wall_s": wall})
            print(rows[-1], flush=True)
        for loss, batch in gan_cfg:
            steps = 10 if quick else (100 if device == "cpu" else 400)
            per, wall = bench_gan(device, loss, batch, steps, args.cpu_threads)
            rows.append({"task": f"train_gan {loss} (ring)", "device": device, "batch": batch,
                         "width": 128, "steps": steps, "ms_per_step": 1e3 * per,
                         "wall_s": wall})
            print(rows[-1], flush=True)
    env = {"torch": torch.__version__, "python": platform.python_version(),
           "cpu_threads": args.cpu_threads,
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    _write(rows, env, args.out)
    return 0


def _write(rows, env, out):
    with open(out + ".json", "w") as fh:
        json.dump({"rows": rows, "env": env}, fh, indent=1)
    keys = sorted({(r["task"], r["batch"], r["width"]) for r in rows},
                  key=lambda k: (k[0], k[2], k[1]))
    devices = list(dict.fromkeys(r["device"] for r in rows))
    lines = ["# divest.torch training speed, CPU vs CUDA", "",
             f"torch {env['torch']}, Python {env['python']}, GPU: {env['gpu']}, CPU rows with "
             f"{env['cpu_threads']} torch thread(s).  ms/step: the difference of two runs "
             "(steps/2 and steps) per step; wall: the longer run, set-up and final held-out "
             "evaluation included.", "",
             "| task | batch | width | " + " | ".join(f"{d} ms/step" for d in devices)
             + (" | speed-up |" if len(devices) > 1 else " |"),
             "|---|---|---|" + "---|" * len(devices) + ("---|" if len(devices) > 1 else "")]
    for task, batch, width in keys:
        cells, vals = [], []
        for d in devices:
            r = [r for r in rows if (r["task"], r["batch"], r["width"], r["device"])
                 == (task, batch, width, d)]
            vals.append(r[0]["ms_per_step"] if r else float("nan"))
            cells.append(f"{vals[-1]:.2f}" if r else "–")
        extra = f" {vals[0] / vals[-1]:.1f}× |" if len(devices) > 1 and vals[-1] > 0 else " |"
        lines.append(f"| {task} | {batch} | {width} | " + " | ".join(cells) + " |"
                     + (extra if len(devices) > 1 else ""))
    with open(out + ".md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [f"{t.split(' (')[0]}\nb={b} w={w}" for t, b, w in keys]
    xs = np.arange(len(keys))
    for i, d in enumerate(devices):
        v = [next((r["ms_per_step"] for r in rows if (r["task"], r["batch"], r["width"],
                                                     r["device"]) == (*k, d)), np.nan)
             for k in keys]
        ax.bar(xs + (i - (len(devices) - 1) / 2) * 0.4, v, width=0.4, label=d)
    ax.set_xticks(xs, labels, fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("ms per step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
