"""The GAN comparison (divest.torch.compare_gans) and its command line, on tiny runs."""

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from divest.torch import DATASETS, compare_gans  # noqa: E402
from divest.torch import _compare  # noqa: E402

TINY = dict(steps=4, batch_size=16, n_eval=60, critic={"width": 8},
            generator={"width": 8, "depth": 1}, device="cpu")


def test_compare_writes_tables_and_figures(tmp_path):
    res = compare_gans(["hinge", "fgan:kl"], ["ring", "mixture1d"], out_dir=tmp_path, **TINY)
    assert len(res.rows) == 2 * 2
    assert {(r["loss"], r["dataset"]) for r in res.summary} == {
        (lo, d) for lo in ("hinge", "fgan:kl") for d in ("ring", "mixture1d")}
    ring_hinge = next(r for r in res.summary if r["loss"] == "hinge" and r["dataset"] == "ring")
    assert {"w1_mean", "modes_captured_mean", "precision_mean", "recall_mean"} <= set(ring_hinge)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["results.md", "results.csv", "results.json", "samples_ring.png",
                            "curves_ring.png", "modes_ring.png", "samples_mixture1d.png",
                            "curves_mixture1d.png", "modes_mixture1d.png"])
    with open(tmp_path / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and rows[0]["loss"] == "hinge"
    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data) == {"rows", "summary", "config"} and data["config"]["seeds"] == [0]
    md = (tmp_path / "results.md").read_text()
    assert "| ring | hinge |" in md and "modes_captured" in md


def test_mode_curves_average_the_runs_that_evaluated_each_step():
    from divest.torch._compare import _mean_se_by_step
    hs = [{"step": [0, 1000, 2000], "modes_captured": [1, 4, 8]},
          {"step": [0, 1000], "modes_captured": [3, 6]},           # stopped (failed) early
          {"step": [0, 1000, 2000], "modes_captured": [2, float("nan"), 6]}]
    steps, mean, se = _mean_se_by_step(hs, "modes_captured")
    assert steps.tolist() == [0, 1000, 2000]
    np.testing.assert_allclose(mean, [2.0, 5.0, 7.0])
    # sample SD (ddof=1) over sqrt(runs at that step): sd 1 of 3 runs, then sd sqrt(2) of 2
    np.testing.assert_allclose(se, [1.0 / np.sqrt(3), 1.0, 1.0])


def test_summary_over_seeds():
    res = compare_gans(["hinge"], ["ring"], seeds=(0, 1), **TINY)
    w1 = [r["w1"] for r in res.rows]
    assert len(w1) == 2 and w1[0] != w1[1]
    assert res.summary[0]["w1_mean"] == pytest.approx(np.mean(w1))
    assert res.summary[0]["w1_sd"] == pytest.approx(np.std(w1, ddof=1))
    assert " ± " in res.to_markdown()
    again = compare_gans(["hinge"], ["ring"], seeds=(0,), **TINY)   # same seed, same numbers
    assert again.rows[0]["w1"] == res.rows[0]["w1"]


def test_compare_validation_and_defaults():
    with pytest.raises(ValueError, match="unknown dataset 'moons'"):
        compare_gans(["hinge"], ["moons"], **TINY)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        compare_gans(["nope"], ["ring"], **TINY)
    with pytest.raises(ValueError, match="seeds must not be empty"):
        compare_gans(["hinge"], ["ring"], seeds=(), **TINY)
    assert set(DATASETS) == {"ring", "grid", "mixture1d", "lines", "pacgan_ring",
                             "pacgan_grid", "notebook_ring"}
    assert _compare.DEFAULT_DATASETS == ("ring", "grid", "mixture1d", "lines")
    ring = DATASETS["pacgan_ring"][0]()                 # PacGAN's configs: unit circle
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 1.0)
    assert ring.std == 0.01 and DATASETS["pacgan_grid"][0]().std == 0.05
    assert _compare.DATASET_POOLS == {"pacgan_ring": 100_000, "pacgan_grid": 100_000}


def test_notebook_ring_is_the_notebooks_sample_mog():
    # Poole's notebook: thetas = linspace(0, 2 pi, 8); (x, y) = (sin, cos); std 0.01.  Its
    # 8 components are 7 distinct points, the one at angle 0 twice: the preset merges it
    from divest.torch._train import _mode_spec
    th = np.linspace(0, 2 * np.pi, 8)
    notebook = np.stack([np.sin(th), np.cos(th)], axis=1)
    ring = DATASETS["notebook_ring"][0]()
    spec = _mode_spec(ring)
    np.testing.assert_allclose(spec["centers"], notebook[:7], atol=1e-15)
    np.testing.assert_allclose(spec["weights"], [2 / 8] + [1 / 8] * 6)
    np.testing.assert_allclose(spec["std"], 0.01)
    # a sample's mode histogram has the notebook's weights (the duplicated mode twice as
    # often): each share within 4 binomial standard errors
    n = 40_000
    x = ring.rvs(size=n, random_state=0)
    nearest = ((x[:, None, :] - notebook[None, :7]) ** 2).sum(-1).argmin(1)
    share = np.bincount(nearest, minlength=7) / n
    w = spec["weights"]
    assert np.all(np.abs(share - w) < 4 * np.sqrt(w * (1 - w) / n))
    assert np.all(np.linalg.norm(x - notebook[nearest], axis=1) < 0.06)   # 6 sd


def test_failed_runs_are_recorded(monkeypatch):
    def boom(*args, **kwargs):
        raise FloatingPointError("diverged")
    monkeypatch.setattr(_compare, "train_gan", boom)
    res = compare_gans(["hinge"], ["lines"], **TINY)
    assert res.rows[0]["error"] == "diverged" and np.isnan(res.rows[0]["w1"])
    assert res.summary[0]["n_failed"] == 1


def test_command_line(tmp_path, capsys):
    code = _compare.main(["--losses", "hinge", "--datasets", "lines", "--steps", "3",
                          "--batch-size", "16", "--n-eval", "50", "--no-figures",
                          "--device", "cpu", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "| lines | hinge |" in out
    assert (tmp_path / "results.md").exists() and not (tmp_path / "samples_lines.png").exists()


def test_worker_processes_give_the_same_table():
    """Runs are seeded one by one: two loky processes and two threads give the rows of
    one process, in the same order, and the same learning curves."""
    from joblib import parallel_config
    one = compare_gans(["hinge", "fgan:kl"], ["ring"], seeds=(0, 1), **TINY)
    two = compare_gans(["hinge", "fgan:kl"], ["ring"], seeds=(0, 1), n_jobs=2, **TINY)
    with parallel_config(backend="threading"):
        threads = compare_gans(["hinge", "fgan:kl"], ["ring"], seeds=(0, 1), n_jobs=2, **TINY)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in one.rows]
    for other in (two, threads):
        assert repr([{k: v for k, v in r.items() if k != "seconds"} for r in other.rows]) \
            == repr(strip)                                          # nan == nan in repr
        assert other.curves.keys() == one.curves.keys()
        for key, hist in one.curves.items():
            timeless = {k: v for k, v in hist.items() if k != "seconds"}
            assert repr({k: v for k, v in other.curves[key].items() if k != "seconds"}) \
                == repr(timeless)
    with pytest.raises(ValueError, match="keep_runs=True needs n_jobs=1"):
        compare_gans(["hinge"], ["ring"], keep_runs=True, n_jobs=2, **TINY)
    with pytest.raises(ValueError, match="n_jobs"):
        compare_gans(["hinge"], ["ring"], n_jobs=0, **TINY)
    with pytest.warns(DeprecationWarning, match="workers"):
        old = compare_gans(["hinge"], ["ring"], seeds=(0,), workers=1, **TINY)
    assert old.rows[0]["w1"] == one.rows[0]["w1"]


def test_ensembles_give_the_same_table(tmp_path):
    """compare_gans(ensemble=True): the seeds of each (loss, dataset) trained as one
    ensemble give the rows and curves of separate runs (members are their single runs bit
    for bit); a loss computed through numpy falls back to single runs; failures are rows."""
    losses = ["hinge", "wgan_gp", "fgan:jeffreys"]
    tiny = {**TINY, "batch_size": 32}   # bit for bit needs batches of a multiple of 32 rows
    one = compare_gans(losses, ["ring", "lines"], seeds=(0, 1), **tiny)
    ens = compare_gans(losses, ["ring", "lines"], seeds=(0, 1), ensemble=True,
                       out_dir=tmp_path, **tiny)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in one.rows]
    assert repr([{k: v for k, v in r.items() if k != "seconds"} for r in ens.rows]) \
        == repr(strip)
    for key, hist in one.curves.items():
        assert repr({k: v for k, v in ens.curves[key].items() if k != "seconds"}) \
            == repr({k: v for k, v in hist.items() if k != "seconds"})
    assert (tmp_path / "samples_ring.png").exists()
    bad = compare_gans(["wgan_gp"], ["lines"], seeds=(0, 1), ensemble=True,
                       **{**TINY, "lr": 1e12, "steps": 30})
    assert all("non-finite" in r["error"] for r in bad.rows)
    assert bad.summary[0]["n_failed"] == 2
    with pytest.raises(TypeError, match="ensemble must be True or False"):
        compare_gans(["hinge"], ["lines"], ensemble="yes", **TINY)


def test_command_line_ensemble(tmp_path, capsys):
    code = _compare.main(["--losses", "hinge", "--datasets", "lines", "--steps", "3",
                          "--batch-size", "32", "--n-eval", "50", "--no-figures", "--seeds",
                          "0", "1", "--ensemble", "--device", "cpu", "--out", str(tmp_path)])
    assert code == 0
    assert "| lines | hinge |" in capsys.readouterr().out
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["seed"] for r in rows] == [0, 1]
