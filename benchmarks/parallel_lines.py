"""Parallel lines (Arjovsky et al. 2017): divergences against theta, and saturating gradients.

P_theta is the segment {theta} x [0, 1] with U[0, 1] on it; Q = P_0.  For theta != 0,
KL = inf, JS = log 2, TV = 1 while W1 = |theta| varies smoothly.  This script

1. evaluates W1, JS, KL and TV against theta exactly (divest's closed forms) and from
   samples (n = 1000 per distribution): the classifier density-ratio estimator, the
   neural variational bounds (``divest.torch.variational``) and the neural
   Kantorovich dual (``divest.torch.wasserstein1``);
2. trains, for the generator at theta0 = 1 and the data at 0, the GAN discriminator (the
   f-GAN critic of the ``gan`` divergence: T = log D) and the WGAN-GP critic, and plots
   them and the generator's gradient d/dtheta of each generator loss along theta: the
   saturating minimax loss E log(1 - D) has a vanishing gradient where D is confident,
   the non-saturating -E log D is large, the WGAN critic's is close to 1 everywhere.

Run::

    python benchmarks/parallel_lines.py        # about a minute on 2 CPU cores

Writes ``benchmarks/results/parallel_lines.{md,json}``, ``parallel_lines_divergences.png``
and ``parallel_lines_gradients.png``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

import divest as dv
import divest.torch as dtorch
from divest.distributions import ParallelLines

OUT = Path(__file__).resolve().parent / "results"
THETAS = (-1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0)
N = 1000
NEURAL = dict(steps=600, critic={"width": 64}, device="cpu")


def estimates(theta, seed):
    X = ParallelLines(theta).rvs(N, random_state=seed)
    Y = ParallelLines(0.0).rvs(N, random_state=seed + 1)
    out = {}
    ratio = dv.estimators.fit_ratio(X, Y, method="classifier", rng=seed)
    for name in ("kl", "js", "tv"):
        est = ratio.divergence(name)
        out[f"classifier {name}"] = (est.value, est.standard_error)
        est = dtorch.variational(X, Y, name, rng=seed, **NEURAL)
        out[f"neural {name}"] = (est.value, est.standard_error)
    est = dtorch.wasserstein1(X, Y, rng=seed, **NEURAL)
    out["neural w1"] = (est.value, est.standard_error)
    out["exact-OT w1 (plug-in)"] = (dtorch.wasserstein1_exact(X, Y), 0.0)
    return out


def gradients(seed=0):
    """GAN discriminator and WGAN critic for data at 0 and generator at 1, along theta."""
    X = ParallelLines(0.0).rvs(4000, random_state=seed)      # data: P
    Y = ParallelLines(1.0).rvs(4000, random_state=seed + 1)  # generator at theta0 = 1: Q
    gan = dtorch.variational(X, Y, "gan", rng=seed, **NEURAL)  # T = log D, D(x) = P(real | x)
    wgan = dtorch.wasserstein1(X, Y, rng=seed, **NEURAL)
    grid = np.linspace(-0.5, 1.5, 201)
    u = np.random.default_rng(seed).uniform(size=200)

    def along(fn):
        # the generator's expected loss at theta: mean over the segment {theta} x [0, 1]
        return np.array([fn(np.column_stack([np.full_like(u, t), u])).mean() for t in grid])

    T = gan.details["critic_function"]
    d = along(lambda z: np.exp(T(z)))
    f = along(wgan.details["critic_function"])
    g = {"minimax E log(1 - D)": np.gradient(along(lambda z: np.log1p(-np.minimum(
            np.exp(T(z)), 1 - 1e-15))), grid),
         "non-saturating -E log D": np.gradient(along(lambda z: -T(z)), grid),
         "WGAN -E f": np.gradient(-f, grid)}
    return grid, {"D": d, "f": f}, g, {"gan_bound": gan.value, "w1": wgan.value}


def main():
    t0 = time.perf_counter()
    rows = []
    for i, theta in enumerate(THETAS):
        ex = {n: dv.exact.closed_form(ParallelLines(theta), ParallelLines(0.0), n)
              for n in ("kl", "js", "tv", "wasserstein(p=1)")}
        est = estimates(theta, 10 * i)
        rows.append({"theta": theta, "exact": ex, "estimates": est})
        print(theta, {k: round(v[0], 3) for k, v in est.items()}, flush=True)
    grid, crit, grads, vals = gradients()
    OUT.mkdir(exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    th = np.array(THETAS)
    tt = np.linspace(-1, 1, 401)
    axes[0].plot(tt, np.abs(tt), "k-", lw=1, label="exact W1 = |θ|")
    for key, mk in (("neural w1", "o"), ("exact-OT w1 (plug-in)", "x")):
        axes[0].errorbar(th, [r["estimates"][key][0] for r in rows],
                         yerr=[r["estimates"][key][1] for r in rows], fmt=mk, label=key)
    axes[0].set_title("Wasserstein-1")
    for ax, name, exact in ((axes[1], "js", math.log(2)), (axes[2], "tv", 1.0)):
        ax.plot(tt, np.where(tt == 0, 0.0, exact), "k-", lw=1, label=f"exact {name}")
        for key, mk in ((f"classifier {name}", "s"), (f"neural {name}", "o")):
            ax.errorbar(th, [r["estimates"][key][0] for r in rows],
                        yerr=[r["estimates"][key][1] for r in rows], fmt=mk, label=key)
        ax.set_title(name.upper() + " (KL = ∞ for θ ≠ 0)")
    for ax in axes:
        ax.set_xlabel("θ")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "parallel_lines_divergences.png", dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(grid, crit["D"], label="GAN discriminator D(θ, ·)")
    axes[0].plot(grid, crit["f"], label="WGAN-GP critic f(θ, ·)")
    axes[0].axvline(0, color="0.7", ls=":")
    axes[0].axvline(1, color="0.7", ls=":")
    axes[0].set_xlabel("θ (data at 0, generator trained against at 1)")
    axes[0].legend(fontsize=8)
    for k, v in grads.items():
        axes[1].plot(grid, v, label=k)
    axes[1].set_xlabel("θ")
    axes[1].set_ylabel("d/dθ of the generator loss")
    axes[1].legend(fontsize=8)
    axes[1].set_yscale("symlog", linthresh=1e-3)
    fig.tight_layout()
    fig.savefig(OUT / "parallel_lines_gradients.png", dpi=100)
    plt.close(fig)
    i1 = int(np.argmin(np.abs(grid - 1.0)))
    keys = list(rows[0]["estimates"])
    md = ["# Parallel lines: divergences against θ and the generator's gradients", "",
          f"n = {N} per distribution; neural critics: {NEURAL['steps']} Adam steps, width 64; "
          f"{time.perf_counter() - t0:.0f} s.", "",
          "| θ | exact W1 | exact JS | exact TV | exact KL | " + " | ".join(keys) + " |",
          "|---" * (5 + len(keys)) + "|"]
    for r in rows:
        e = r["exact"]
        md.append(f"| {r['theta']:g} | {e['wasserstein(p=1)']:.3g} | {e['js']:.4g} | "
                  f"{e['tv']:.3g} | {e['kl']} | " + " | ".join(
                      f"{r['estimates'][k][0]:.3g} ± {r['estimates'][k][1]:.2g}" for k in keys)
                  + " |")
    md += ["", "Generator at θ = 1 against a critic trained for data at 0 and generator at 1 "
           f"(held-out GAN bound {vals['gan_bound']:.3f}, at most 2 JS - log 4 = 0 here; "
           f"neural W1 {vals['w1']:.3f}):", "",
           "| generator loss | d/dθ at θ = 1 |", "|---|---|"]
    md += [f"| {k} | {v[i1]:.3g} |" for k, v in grads.items()]
    md += ["", "![divergences](parallel_lines_divergences.png)",
           "![gradients](parallel_lines_gradients.png)"]
    (OUT / "parallel_lines.md").write_text("\n".join(md) + "\n")
    (OUT / "parallel_lines.json").write_text(json.dumps(
        {"rows": rows, "gradient_at_1": {k: float(v[i1]) for k, v in grads.items()},
         **vals}, indent=1, default=float))
    print("\n".join(md))


if __name__ == "__main__":
    main()
