"""Speed of ``divest.torch.mmd2`` (forward and backward) against the plain kernel sum, as
features spread apart.

An MMD-GAN critic spreads its features, so most entries of the Gaussian kernels underflow:
torch's CPU ``exp`` and the products of its backward pass then meet subnormal numbers, which
the CPU handles hundreds of times more slowly.  ``mmd2`` floors each exponent at
``log(tiny) + 27`` (a change below 6.3e-27 in float32); this script times it against the
same statistic with a plain ``exp`` (the code before 2026-12-06), for an ensemble of 5
members (``torch.func.vmap``, as ``train_gan_ensemble`` runs it) of 256 rows and 16
features of growing scale, on one thread, and checks that the two agree.

Run::

    python benchmarks/mmd_kernel_speed.py        # writes results/mmd_kernel_speed.md
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from divest.torch import mmd2

OUT = Path(__file__).resolve().parent / "results" / "mmd_kernel_speed.md"
BANDWIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0)


def plain_mmd2(fx, fy):
    """The unbiased statistic with a plain exp (mmd2's formula, no floor)."""
    def gram(a, b):
        d2 = torch.clamp((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T,
                         min=0.0)
        return sum(torch.exp(-d2 / (2.0 * s * s)) for s in BANDWIDTHS)
    n, m = len(fx), len(fy)
    kxx, kyy, kxy = gram(fx, fx), gram(fy, fy), gram(fx, fy)
    exx = (kxx.sum(dim=1).sum() - kxx.diagonal().contiguous().sum()) / (n * (n - 1))
    eyy = (kyy.sum(dim=1).sum() - kyy.diagonal().contiguous().sum()) / (m * (m - 1))
    return exx + eyy - 2.0 * kxy.sum(dim=1).sum() / (n * m)


def _time(fn, x, y, reps):
    f = torch.func.vmap(fn)
    f(x, y).sum().backward()                     # warm up
    t0 = time.perf_counter()
    for _ in range(reps):
        x.grad = None
        f(x, y).sum().backward()
    return 1000 * (time.perf_counter() - t0) / reps


def main(reps=20):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    lines = ["# mmd2 with its floored exponent against a plain exp", "",
             f"Produced by `python benchmarks/mmd_kernel_speed.py`: 5 members (vmap) x 256 rows "
             f"x 16 features, forward and backward, one CPU thread, {reps} repetitions; "
             f"torch {torch.__version__}.  *underflowing entries*: share of kernel entries "
             "(all bandwidths) whose plain exp is below the smallest normal float32.", "",
             "| feature scale | underflowing entries | plain exp (ms) | mmd2 (ms) | speed-up | "
             "max relative difference |", "|---|---|---|---|---|---|"]
    for scale in (0.3, 1.0, 3.0, 10.0, 30.0):
        x = (torch.randn(5, 256, 16, generator=g) * scale).requires_grad_()
        y = torch.randn(5, 256, 16, generator=g) * scale
        with torch.no_grad():
            d2 = torch.cdist(x, y) ** 2
            under = float(sum((-d2 / (2 * s * s) < -87.34).float().mean()
                              for s in BANDWIDTHS)) / len(BANDWIDTHS)
            a = torch.func.vmap(plain_mmd2)(x, y)
            b = torch.func.vmap(mmd2)(x, y)
            rel = float(((a - b).abs() / a.abs()).max())
        t_plain, t_new = _time(plain_mmd2, x, y, reps), _time(mmd2, x, y, reps)
        lines.append(f"| {scale:g} | {100 * under:.0f}% | {t_plain:.1f} | {t_new:.1f} | "
                     f"{t_plain / t_new:.2f}x | {rel:.1e} |")
        print(lines[-1], flush=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
