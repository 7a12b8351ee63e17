r"""Compare GAN losses on the toy problems of the literature: a table and figures.

:func:`compare_gans` trains one generator per (loss, dataset, seed) with
:func:`divest.torch.train_gan`, evaluates the final generator on held-out target
samples, and writes a results table (markdown, CSV, JSON) and PNGs (a sample plot per
loss and dataset, metric curves).  :func:`main` is the ``divest gan`` command line.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .._validation import _describe, check_positive_int
from ..distributions import (GaussianGrid, GaussianRing, Mixture, ParallelLines,
                             _gaussian_mixture)
from ._losses import gan_losses, get_gan_loss
from ._metrics import precision_recall
from ._train import train_gan

__all__ = ["DATASETS", "GANComparison", "compare_gans"]


def _notebook_ring(n_mixture=8, std=0.01, radius=1.0):
    """The mixture of ``sample_mog`` in Poole's Unrolled GAN notebook (poolio/unrolled_gan).

    ``thetas = linspace(0, 2 pi, n_mixture)`` includes both ends, so its first and last
    components coincide at (x, y) = (r sin 0, r cos 0): n_mixture - 1 distinct modes,
    that one with weight 2 / n_mixture.  The duplicate is merged, so mode metrics count
    n_mixture - 1 modes.
    """
    thetas = np.linspace(0, 2 * np.pi, n_mixture)[:-1]   # the last one is the first again
    centers = radius * np.stack([np.sin(thetas), np.cos(thetas)], axis=1)
    weights = np.full(len(centers), 1.0 / n_mixture)
    weights[0] += 1.0 / n_mixture
    return Mixture(_gaussian_mixture(centers, std), weights)


#: the toy targets: name -> (factory, description)
DATASETS = {
    "ring": (lambda: GaussianRing(n_modes=8, radius=2.0, std=0.02),
             "8 Gaussians on a circle of radius 2, std 0.02 (the Unrolled GAN / VEEGAN ring)"),
    "grid": (lambda: GaussianGrid(n_per_side=5, spacing=2.0, std=0.05),
             "25 Gaussians on {-4,-2,0,2,4}^2, std 0.05"),
    "mixture1d": (lambda: Mixture([stats.norm(-2.0, 0.5), stats.norm(2.0, 0.5)]),
                  "1-D mixture 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2)"),
    "lines": (lambda: ParallelLines(0.0), "the segment {0} x [0, 1] (Arjovsky et al.)"),
    "pacgan_ring": (lambda: GaussianRing(n_modes=8, radius=1.0, std=0.01),
                    "PacGAN's ring: 8 Gaussians on the unit circle, std 0.01 (training pool "
                    "of 100,000)"),
    "pacgan_grid": (lambda: GaussianGrid(n_per_side=5, spacing=2.0, std=0.05),
                    "PacGAN's grid: 25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (training pool "
                    "of 100,000)"),
    "notebook_ring": (_notebook_ring,
                      "the ring of Poole's Unrolled GAN notebook: 8 Gaussians of std 0.01 at "
                      "angles linspace(0, 2 pi, 8) on the unit circle, so 7 distinct modes, "
                      "the one at angle 0 with weight 2/8"),
}

#: datasets of ``compare_gans(datasets=None)``
DEFAULT_DATASETS = ("ring", "grid", "mixture1d", "lines")
#: training-pool sizes (``train_gan``'s ``n_data``) of the paper presets; others: 20,000
DATASET_POOLS = {"pacgan_ring": 100_000, "pacgan_grid": 100_000}

#: the losses of ``quick=True``: every built-in but the scoring-rule variants, plus f-GANs
#: for five divergences
_QUICK_FGANS = ("fgan:kl", "fgan:reverse_kl", "fgan:js", "fgan:pearson",
                "fgan:squared_hellinger")

#: columns of the results table (the metrics of the final generator)
_COLUMNS = ("w1", "mmd2", "kl", "precision", "recall", "modes_captured",
            "modes_captured_20", "high_quality", "reverse_kl_hq", "mode_kl", "seconds")


@dataclass(frozen=True)
class GANComparison:
    """Results of :func:`compare_gans`.

    Attributes
    ----------
    rows : tuple of dict
        One per (loss, dataset, seed): ``loss``, ``dataset``, ``seed``, the final metrics
        (``w1``, ``mmd2``, ``kl``, ``precision``, ``recall`` and, for the mixtures,
        ``modes_captured`` (>= 1 HQ sample, PacGAN's code), ``modes_captured_20``,
        ``high_quality``, ``reverse_kl_hq`` (PacGAN's), ``mode_kl`` (over all samples);
        see :func:`mode_metrics`), ``seconds``, and ``error``
        (the message when training failed, e.g. diverged; the metrics are then ``nan``).
    summary : tuple of dict
        One per (loss, dataset): the mean and standard deviation over seeds of each
        metric (keys ``<metric>_mean``, ``<metric>_sd``, ``<metric>_se`` = sd / sqrt(n), ``<metric>_n``) and ``n_failed``.
    curves : dict
        ``(loss, dataset, seed) -> history`` of each run (see :class:`GANRun`).
    config : dict
        Losses, datasets, seeds and the training options used.
    files : tuple of str
        The files written (empty without ``out_dir``).
    runs : dict
        ``(loss, dataset, seed) -> GANRun`` when ``keep_runs=True``, else empty.
    """

    rows: tuple
    summary: tuple
    curves: dict
    config: dict
    files: tuple = ()
    runs: dict = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The summary as a markdown table (mean ± standard error over seeds), after a
        line stating the budget and the metric definitions."""
        cols = [c for c in _COLUMNS if any(f"{c}_mean" in r for r in self.summary)]
        cfg = self.config.get("train_options", {})
        budget = (f"Budget: {cfg.get('steps', '?')} generator steps, batch "
                  f"{cfg.get('batch_size', '?')}, {len(self.config.get('seeds', []))} "
                  f"seed(s); mean ± standard error over seeds.  Metrics on the final "
                  f"generator: modes_captured = modes with >= 1 high-quality sample "
                  f"(PacGAN's code), modes_captured_20 = with >= 20, high_quality = "
                  f"fraction within 3 std of its mode, reverse_kl_hq = KL of the HQ "
                  f"samples' mode histogram to the weights (PacGAN), mode_kl = the same over "
                  f"all samples (divest.torch.mode_metrics).")
        head = "| dataset | loss | " + " | ".join(cols) + " | failed |"
        lines = [budget, "", head, "|" + "---|" * (len(cols) + 3)]
        for r in self.summary:
            cells = []
            for c in cols:
                m, s = r.get(f"{c}_mean", math.nan), r.get(f"{c}_se", math.nan)
                cells.append(_fmt(m) if not np.isfinite(s) or s == 0 else
                             f"{_fmt(m)} ± {_fmt(s)}")
            lines.append(f"| {r['dataset']} | {r['loss']} | " + " | ".join(cells)
                         + f" | {r['n_failed']} |")
        return "\n".join(lines)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.3g}"


def _final_metrics(run, rng) -> dict:
    out = {k: v[-1] for k, v in run.history.items()
           if k in _COLUMNS and v and k != "seconds"}
    fake = run.sample(len(run.target_eval), rng=rng)
    k = 3 if min(len(fake), len(run.target_eval)) > 3 else 1
    pr = precision_recall(run.target_eval, fake, k=k)
    out.update(precision=pr["precision"], recall=pr["recall"])
    return out


def _summarise(rows, losses, datasets) -> list:
    out = []
    for ds in datasets:
        for loss in losses:
            group = [r for r in rows if r["loss"] == loss and r["dataset"] == ds]
            if not group:
                continue
            s = {"dataset": ds, "loss": loss,
                 "n_failed": sum(1 for r in group if r.get("error"))}
            for c in _COLUMNS:
                vals = np.array([r[c] for r in group if c in r and r[c] is not None], float)
                vals = vals[np.isfinite(vals)]
                if vals.size:
                    s[f"{c}_mean"] = float(vals.mean())
                    s[f"{c}_sd"] = float(vals.std(ddof=1)) if vals.size > 1 else math.nan
                    s[f"{c}_se"] = s[f"{c}_sd"] / math.sqrt(vals.size)
                    s[f"{c}_n"] = int(vals.size)
            out.append(s)
    return out


def compare_gans(losses=None, datasets=None, seeds=(0,), *, quick=False, steps=None,
                 batch_size=None, n_eval=None, out_dir=None, figures=True, keep_runs=False,
                 progress=False, device="auto", n_jobs=None, workers=None, ensemble=False,
                 **train_options) -> GANComparison:
    r"""Train every loss on every toy dataset for every seed and tabulate the results.

    Parameters
    ----------
    losses : sequence of str, optional
        GAN loss names (default: every name of :func:`gan_losses`; with ``quick=True``
        every built-in loss except the ``score:`` variants, plus ``fgan:`` for KL,
        reverse KL, JS, Pearson and squared Hellinger).
    datasets : sequence of str, optional
        Keys of :data:`DATASETS` (default ``DEFAULT_DATASETS``: ``ring``, ``grid``,
        ``mixture1d``, ``lines``; also the paper presets ``pacgan_ring`` and
        ``pacgan_grid``, trained on PacGAN's pool of 100,000 samples unless ``n_data`` is
        given).
    seeds : sequence of int, default (0,)
        Each seed is the ``rng`` of one :func:`train_gan` run (data, weights, batches).
    quick : bool, default False
        Defaults for a smoke-level comparison on a CPU: 200 steps, batch 64, 500
        evaluation samples, critic and generator of width 64; the full mode (meant for
        a machine with many cores, see ``n_jobs``) uses 20 000 steps, batch 256, 2500
        evaluation samples and the default networks.
    steps, batch_size, n_eval : int, optional
        Override the mode's values.
    out_dir : str or path, optional
        Write ``results.md``, ``results.csv`` (one row per run), ``results.json`` (rows,
        summary, config) and, with ``figures=True``, ``samples_<dataset>.png`` (one
        panel per loss), ``curves_<dataset>.png`` (held-out W1 and MMD² against the
        step) and, on datasets with modes, ``modes_<dataset>.png`` (modes and HQ %
        against the step, mean ± SE over the seeds, one panel per loss).
    keep_runs : bool, default False
        Keep every :class:`GANRun` in ``runs`` (memory: the networks).
    progress : bool
        Print one line per finished run.
    device : str
    n_jobs : int or None
        Runs trained at once by ``joblib.Parallel(n_jobs=n_jobs)`` with the backend of
        the active ``joblib.parallel_config`` (``loky`` processes by default; ``dask``
        with a ``dask.distributed`` client spreads the runs over a cluster; ``ray``
        after ``ray.util.joblib.register_ray()``).  None: the configured default (1, in
        this process, when none).  Every run is seeded by its own seed and trains on
        one torch thread (``train_gan``'s ``num_threads=1``), so the table is the same
        for any ``n_jobs`` and backend.  The toy problems' networks are small: a step
        is bound by kernel launches, and one CPU thread is about as fast as a GPU
        (measured on an H100: 3.9 ms per non-saturating step on the CPU, 5.4 ms on
        CUDA, batch 256), so workers, not a GPU, are what speeds up a full comparison.
        Several processes can share one GPU (``device="cuda"``).  Not with
        ``keep_runs=True``.
    workers : int, optional
        Deprecated alias of ``n_jobs`` (a ``DeprecationWarning``).
    ensemble : bool, default False
        Train the seeds of each (loss, dataset) together, as one
        :func:`train_gan_ensemble` (one task per (loss, dataset) for ``n_jobs``).  The
        table is the same, since each member is its single run bit for bit; a loss that
        cannot be batched (an f-GAN loss of a user f-divergence computed through numpy)
        falls back to single
        runs.  A row's ``seconds`` is then its ensemble's time divided by the number of
        seeds.
    **train_options
        Passed to every :func:`train_gan` call (e.g. ``lr``, ``n_critic``,
        ``generator``); the losses' paper defaults apply otherwise.

    Returns
    -------
    GANComparison

    Notes
    -----
    A run that fails (non-finite losses or samples) is recorded with its error and
    ``nan`` metrics, and counted in ``n_failed``.  With the paper defaults some losses
    learn slowly (WGAN with clipping: RMSProp at 5e-5); short runs compare early
    training, not converged models.

    Examples
    --------
    >>> from divest.torch import compare_gans
    >>> res = compare_gans(["hinge", "wgan_gp"], ["mixture1d"], steps=20, n_eval=100,
    ...                    device="cpu")  # doctest: +SKIP
    >>> print(res.to_markdown())          # doctest: +SKIP
    """
    t0 = time.perf_counter()
    if losses is None:
        losses = (tuple(n for n in gan_losses() if not n.startswith(("fgan:", "score:")))
                  + _QUICK_FGANS) if quick else gan_losses()
    losses = [get_gan_loss(n).name for n in _as_names(losses, "losses")]
    datasets = list(DEFAULT_DATASETS) if datasets is None else _as_names(datasets, "datasets")
    for ds in datasets:
        if ds not in DATASETS:
            raise ValueError(f"datasets: unknown dataset {ds!r}; choose from "
                             f"{', '.join(DATASETS)}")
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    steps = (200 if quick else 20_000) if steps is None else check_positive_int(steps, "steps")
    batch_size = (64 if quick else 256) if batch_size is None else batch_size
    n_eval = (500 if quick else 2500) if n_eval is None else n_eval
    opts = {"steps": steps, "batch_size": batch_size, "n_eval": n_eval, "device": device,
            **train_options}
    if quick:
        opts.setdefault("critic", {"width": 64})
        opts.setdefault("generator", {"width": 64, "depth": 2})

    if workers is not None:
        import warnings
        warnings.warn("compare_gans(workers=) is deprecated; use n_jobs= (joblib)",
                      DeprecationWarning, stacklevel=2)
        if n_jobs is not None:
            raise TypeError("give n_jobs or its deprecated alias workers, not both")
        n_jobs = check_positive_int(workers, "workers")
    from .._parallel import check_n_jobs, parallel_iter
    n_jobs = check_n_jobs(n_jobs)
    if keep_runs and not (n_jobs == 1 or n_jobs is None and _serial()):
        raise ValueError(f"keep_runs=True needs n_jobs=1 (the runs stay with the workers); "
                         f"got n_jobs={n_jobs}")
    if not isinstance(ensemble, (bool, np.bool_)):
        raise TypeError(f"ensemble must be True or False; got {ensemble!r}")
    tasks = [(loss, ds, seed, figures and out_dir is not None and seed == seeds[0])
             for ds in datasets for loss in losses for seed in seeds]
    results = {}

    def done(key, out):
        results[key] = out
        row = out[0]
        if progress:
            print(f"[compare_gans] {row['dataset']:10s} {row['loss']:28s} seed "
                  f"{row['seed']}: w1 {_fmt(row.get('w1'))}, {row['seconds']:.1f} s"
                  + (f" FAILED: {row['error']}" if row["error"] else ""), flush=True)

    if ensemble:
        groups = [(loss, ds) for ds in datasets for loss in losses]
        outs = parallel_iter(_one_ensemble, [g + (seeds, figures and out_dir is not None,
                                                  opts, keep_runs) for g in groups],
                             n_jobs=n_jobs)
        for (loss, ds), group in zip(groups, outs):
            for seed, out in zip(seeds, group):
                done((loss, ds, seed, figures and out_dir is not None and seed == seeds[0]),
                     out)
    else:
        outs = parallel_iter(_one_run, [task + (opts, keep_runs) for task in tasks],
                             n_jobs=n_jobs)
        for task, out in zip(tasks, outs):     # in the order of the tasks, as they finish
            done(task, out)
    rows, curves, runs, samples = [], {}, {}, {}
    for task in tasks:                      # the order of the tasks, whatever finished first
        row, history, run, fake = results[task]
        key = task[:3]
        rows.append(row)
        if history is not None:
            curves[key] = history
        if run is not None:
            runs[key] = run
        if fake is not None:
            samples[key] = fake
    summary = _summarise(rows, losses, datasets)
    config = {"losses": losses, "datasets": {d: DATASETS[d][1] for d in datasets},
              "seeds": seeds, "quick": bool(quick), "train_options": _jsonable(opts),
              "seconds": time.perf_counter() - t0}
    files: list[str] = []
    res = GANComparison(tuple(rows), tuple(summary), curves, config, (), runs)
    if out_dir is not None:
        files = _write(res, os.fspath(out_dir), samples if figures else None, datasets,
                       losses)
    return GANComparison(tuple(rows), tuple(summary), curves, config, tuple(files), runs)


def _serial():
    """Whether the active joblib configuration runs n_jobs=None in this process."""
    from joblib.parallel import get_active_backend
    backend, n_jobs = get_active_backend()
    return backend.effective_n_jobs(n_jobs) == 1


def _pool(ds, opts) -> dict:
    """The paper's training pool for a preset dataset unless ``n_data`` is given."""
    return {} if "n_data" in opts or ds not in DATASET_POOLS else {"n_data": DATASET_POOLS[ds]}


def _outcome(loss, ds, seed, run, error, want_samples, opts, keep_run, seconds):
    """(row, history, run or None, samples or None) of a finished or failed run."""
    row = {"loss": loss, "dataset": ds, "seed": seed}
    history = fake = None
    if run is None:
        row.update({c: math.nan for c in _COLUMNS}, error=error)
    else:
        row.update(_final_metrics(run, seed), error="")
        history = run.history
        if want_samples:
            fake = run.sample(min(opts["n_eval"], 1000), rng=seed)
    row["seconds"] = seconds
    return row, history, run if keep_run else None, fake


def _one_run(loss, ds, seed, want_samples, opts, keep_run):
    """One (loss, dataset, seed) run: (row, history, run or None, samples or None)."""
    t1 = time.perf_counter()
    run, error = None, ""
    try:
        run = train_gan(DATASETS[ds][0](), loss, rng=seed, **opts, **_pool(ds, opts))
    except FloatingPointError as exc:
        error = str(exc)
    return _outcome(loss, ds, seed, run, error, want_samples, opts, keep_run,
                    time.perf_counter() - t1)


def _one_ensemble(loss, ds, seeds, want_samples, opts, keep_run):
    """Every seed of (loss, dataset) as one ensemble: ``_one_run``'s output for each seed."""
    from ._ensemble import train_gan_ensemble
    t1 = time.perf_counter()
    try:
        ens = train_gan_ensemble(DATASETS[ds][0](), loss, seeds=seeds, **opts,
                                 **_pool(ds, opts))
    except ValueError as exc:
        if "cannot be batched" not in str(exc):
            raise
        return [_one_run(loss, ds, s, want_samples and i == 0, opts, keep_run)
                for i, s in enumerate(seeds)]
    seconds = (time.perf_counter() - t1) / len(seeds)
    return [_outcome(loss, ds, seed, run, error, want_samples and i == 0, opts, keep_run,
                     seconds)
            for i, (seed, run, error) in enumerate(zip(seeds, ens.runs, ens.errors))]


def _as_names(x, what):
    if isinstance(x, str):
        return [x]
    try:
        names = list(x)
    except TypeError:
        raise TypeError(f"{what} must be a name or a sequence of names; got "
                        f"{_describe(x)}") from None
    if not names:
        raise ValueError(f"{what} must not be empty")
    return names


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else str(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return repr(obj)


def _write(res, out_dir, samples, datasets, losses) -> list:
    os.makedirs(out_dir, exist_ok=True)
    files = []
    path = os.path.join(out_dir, "results.md")
    with open(path, "w") as fh:
        fh.write("# GAN comparison\n\n")
        for d, desc in res.config["datasets"].items():
            fh.write(f"* `{d}`: {desc}\n")
        fh.write(f"\nSeeds {res.config['seeds']}; options "
                 f"`{json.dumps(res.config['train_options'])}`.\n\n")
        fh.write(res.to_markdown() + "\n")
    files.append(path)
    path = os.path.join(out_dir, "results.csv")
    keys = ["loss", "dataset", "seed"] + list(_COLUMNS) + ["error"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in res.rows:
            w.writerow({k: r.get(k, "") for k in keys})
    files.append(path)
    path = os.path.join(out_dir, "results.json")
    with open(path, "w") as fh:
        json.dump(_jsonable({"rows": res.rows, "summary": res.summary, "config": res.config}),
                  fh, indent=1)
    files.append(path)
    if samples is not None:
        files += _figures(res, out_dir, samples, datasets, losses)
    return files


def _figures(res, out_dir, samples, datasets, losses) -> list:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = []
    for ds in datasets:
        target = DATASETS[ds][0]()
        ref = np.asarray(target.rvs(size=1000, random_state=0), float).reshape(1000, -1)
        ncol = min(6, len(losses))
        nrow = math.ceil(len(losses) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.6 * nrow), squeeze=False)
        seed = res.config["seeds"][0]
        for ax, loss in zip(axes.ravel(), losses):
            fake = samples.get((loss, ds, seed))
            if ref.shape[1] == 1:
                bins = np.linspace(ref.min() - 1, ref.max() + 1, 60)
                ax.hist(ref[:, 0], bins=bins, density=True, color="0.8")
                if fake is not None:
                    ax.hist(np.clip(fake[:, 0], bins[0], bins[-1]), bins=bins, density=True,
                            histtype="step", color="tab:red")
            else:
                ax.scatter(ref[:, 0], ref[:, 1], s=2, color="0.7")
                if fake is not None:
                    ax.scatter(fake[:, 0], fake[:, 1], s=2, color="tab:red", alpha=0.6)
                lo, hi = ref.min(0) - 1.0, ref.max(0) + 1.0
                ax.set_xlim(lo[0], hi[0])
                ax.set_ylim(lo[1], hi[1])
            ax.set_title(loss if fake is not None else f"{loss} (failed)", fontsize=8)
            ax.tick_params(labelsize=6)
        for ax in axes.ravel()[len(losses):]:
            ax.axis("off")
        fig.suptitle(f"{ds}: generated (red) vs target (grey), seed {seed}", fontsize=10)
        fig.tight_layout()
        path = os.path.join(out_dir, f"samples_{ds}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        files.append(path)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        colors = plt.cm.tab20(np.linspace(0.0, 1.0, max(len(losses), 2)))
        for i, loss in enumerate(losses):
            h = res.curves.get((loss, ds, seed))
            if h is None:
                continue
            for ax, key in zip(axes, ("w1", "mmd2")):
                if key in h:
                    ax.plot(h["step"], h[key], label=loss, lw=1, color=colors[i],
                            ls=("-", "--", ":")[i % 3])
        for ax, key in zip(axes, ("held-out W1 (exact OT)", "held-out MMD² (Gaussian)")):
            ax.set_xlabel("generator step")
            ax.set_title(f"{ds}: {key}", fontsize=10)
        axes[0].set_yscale("log")
        axes[1].set_yscale("symlog", linthresh=1e-4)
        axes[1].legend(fontsize=6, ncol=2)
        fig.tight_layout()
        path = os.path.join(out_dir, f"curves_{ds}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        files.append(path)
        path = _mode_curves(res, out_dir, ds, losses, plt)
        if path is not None:
            files.append(path)
    return files


def _mean_se_by_step(histories, key):
    """Steps, mean and standard error over the runs that evaluated each step."""
    by_step = {}
    for h in histories:
        for s, v in zip(h["step"], h[key]):
            if v is not None and np.isfinite(v):
                by_step.setdefault(int(s), []).append(float(v))
    steps = np.array(sorted(by_step))
    vals = [np.asarray(by_step[s]) for s in steps]
    mean = np.array([v.mean() for v in vals])
    se = np.array([v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0 for v in vals])
    return steps, mean, se


def _mode_curves(res, out_dir, ds, losses, plt):
    """``modes_<ds>.png``: modes (>= 1 HQ) and HQ % against the step, one panel per loss,
    mean ± SE over the seeds; None where no run of ``ds`` recorded mode metrics."""
    per_loss = {loss: [h for (lo, d, _), h in res.curves.items()
                       if lo == loss and d == ds and h.get("modes_captured")]
                for loss in losses}
    per_loss = {k: v for k, v in per_loss.items() if v}
    if not per_loss:
        return None
    from ._train import _mode_spec
    # a run records mode metrics only when its target has a mode spec
    n_modes = len(_mode_spec(DATASETS[ds][0]())["centers"])
    ncol = min(6, len(per_loss))
    nrow = math.ceil(len(per_loss) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.7 * ncol, 2.2 * nrow), squeeze=False,
                             sharex=True)
    for ax, (loss, hs) in zip(axes.ravel(), per_loss.items()):
        ax2 = ax.twinx()
        for a, key, scale, color, top in ((ax, "modes_captured", 1.0, "tab:blue", n_modes),
                                          (ax2, "high_quality", 100.0, "tab:red", 100.0)):
            s, m, e = _mean_se_by_step(hs, key)
            a.plot(s, scale * m, color=color, lw=1)
            a.fill_between(s, scale * (m - e), scale * (m + e), color=color, alpha=0.2, lw=0)
            a.set_ylim(-0.03 * top, 1.03 * top)
            a.tick_params(labelsize=6, colors=color, axis="y")
        ax.tick_params(labelsize=6, axis="x")
        ax.set_title(f"{loss} ({len(hs)} runs)", fontsize=7)
    for ax in axes.ravel()[len(per_loss):]:
        ax.axis("off")
    fig.suptitle(f"{ds}: modes with >= 1 HQ sample (blue, of {n_modes}) and HQ % (red) "
                 "against the generator step, mean ± SE over seeds", fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, f"modes_{ds}.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    """The ``divest gan`` command: run :func:`compare_gans` and write its files.

    Examples
    --------
    ``divest gan --quick --out results/gan`` (minutes on 2 CPU cores);
    ``divest gan --losses hinge wgan_gp --datasets ring grid --seeds 0 1 2 --steps 20000
    --n-jobs 16 --out results/gan_full``.
    """
    import argparse
    p = argparse.ArgumentParser(prog="divest gan", description="Compare GAN losses on toy "
                                "datasets: a results table (md, csv, json) and PNGs.")
    p.add_argument("--quick", action="store_true", help="smoke-level CPU run: 200 steps, "
                   "batch 64, 500 evaluation samples, width-64 networks, the built-in losses "
                   "except score:*, and five f-GANs (default: off, that is 20000 steps, "
                   "batch 256, 2500 evaluation samples, every loss)")
    p.add_argument("--losses", nargs="+", default=None, metavar="LOSS",
                   help="GAN losses to train (default: all, a subset with --quick): "
                   f"{' '.join(gan_losses())}")
    p.add_argument("--datasets", nargs="+", default=None, choices=list(DATASETS),
                   metavar="DATASET", help=f"toy datasets among {', '.join(DATASETS)} "
                   f"(default: {' '.join(DEFAULT_DATASETS)})")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="SEED",
                   help="one run per seed, which sets data, weights and batches (default: 0)")
    p.add_argument("--steps", type=int, default=None, metavar="N", help="training steps per "
                   "run (default: 200 with --quick, else 20000)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="batch size "
                   "(default: 64 with --quick, else 256)")
    p.add_argument("--n-eval", type=int, default=None, metavar="N", help="generated samples "
                   "per run for the evaluation metrics (default: 500 with --quick, else 2500)")
    p.add_argument("--device", default="auto", help="torch device: auto (CUDA when "
                   "available), cpu or cuda (default: auto)")
    p.add_argument("--n-jobs", "--workers", dest="n_jobs", type=int, default=1,
                   metavar="K", help="runs trained at once by joblib (separate processes), "
                   "one torch thread each; the results do not depend on it (--workers is "
                   "its old name; default: 1)")
    p.add_argument("--ensemble", action="store_true", help="train the seeds of each "
                   "(loss, dataset) together with batched networks (train_gan_ensemble); "
                   "the same table, faster for several seeds (default: one run at a time)")
    p.add_argument("--no-figures", action="store_true", help="do not write "
                   "samples_<dataset>.png and curves_<dataset>.png (default: write them)")
    p.add_argument("--out", default="gan_comparison", metavar="DIR",
                   help="output directory (default: gan_comparison)")
    args = p.parse_args(argv)
    res = compare_gans(args.losses, args.datasets, args.seeds, quick=args.quick,
                       steps=args.steps, batch_size=args.batch_size, n_eval=args.n_eval,
                       out_dir=args.out, figures=not args.no_figures, device=args.device,
                       n_jobs=args.n_jobs, ensemble=args.ensemble, progress=True)
    print(res.to_markdown())
    print("\nwrote: " + ", ".join(res.files))
    return 0
