"""Long GAN runs across processes: a run resumed from a checkpoint is exactly the run that
did not stop (weights, optimiser and random states, history)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from divest.torch import DATASETS, train_gan  # noqa: E402

RING = DATASETS["ring"][0]


def _same_history(a, b):
    assert a["step"] == b["step"]
    for k in a:
        if k != "seconds":
            np.testing.assert_array_equal(np.array(a[k], float), np.array(b[k], float))


@pytest.mark.parametrize("kw", [dict(loss="nonsaturating"), dict(loss="wgan_gp"),
                                dict(preset="pacgan", pack=2, n_data=400)])
def test_resumed_run_is_the_uninterrupted_run(kw, tmp_path):
    base = dict(steps=8, eval_every=2, metrics=("w1", "mmd", "modes"), rng=3, device="cpu",
                **kw)
    full = train_gan(RING(), **base)
    train_gan(RING(), **{**base, "steps": 4}, checkpoint_every=4, checkpoint_dir=tmp_path)
    resumed = train_gan(RING(), **base, resume=tmp_path / "step_4.pt")
    _same_history(full.history, resumed.history)
    np.testing.assert_array_equal(full.sample(64, rng=1), resumed.sample(64, rng=1))
    assert resumed.history["seconds"][2] == pytest.approx(full.history["seconds"][2], abs=60)


def test_resume_from_memory_and_a_mid_window_checkpoint():
    """A checkpoint between two evaluations carries the partial loss averages."""
    base = dict(steps=9, eval_every=3, metrics=("w1",), rng=5, device="cpu")
    full = train_gan(RING(), **base)
    part = train_gan(RING(), **{**base, "steps": 5}, checkpoint_every=4)
    (step, state), = part.checkpoints
    assert step == 4 and state["accumulated"][2] == 1
    _same_history(full.history, train_gan(RING(), **base, resume=state).history)
    # resuming does not change the checkpoint: twice from it, the same run
    _same_history(full.history, train_gan(RING(), **base, resume=state).history)


def test_resume_refuses_other_options(tmp_path):
    part = train_gan(RING(), steps=4, eval_every=2, metrics=(), rng=0, device="cpu",
                     checkpoint_every=4)
    state = part.checkpoints[0][1]
    with pytest.raises(ValueError, match=r"resume: option batch_size is 32 here but 64 in "
                                         r"the checkpoint"):
        train_gan(RING(), steps=8, batch_size=32, metrics=(), rng=0, device="cpu",
                  resume=state)
    with pytest.raises(ValueError, match=r"resume: option data is"):      # another rng
        train_gan(RING(), steps=8, eval_every=2, metrics=(), rng=1, device="cpu",
                  resume=state)
    with pytest.raises(ValueError, match=r"resume: option unrolled_steps is 2 here but 0"):
        train_gan(RING(), steps=8, eval_every=2, metrics=(), rng=0, device="cpu",
                  unrolled_steps=2, resume=state)
    with pytest.raises(ValueError, match=r"steps=2 is below the checkpoint's step 4"):
        train_gan(RING(), steps=2, metrics=(), rng=0, device="cpu", resume=state)
    torch.save({"generator": {}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="has no training state"):
        train_gan(RING(), steps=8, metrics=(), rng=0, device="cpu", resume=tmp_path / "old.pt")
    with pytest.raises(ValueError, match="cannot read the checkpoint"):
        train_gan(RING(), steps=8, metrics=(), rng=0, device="cpu",
                  resume=tmp_path / "missing.pt")


def test_plateau_criterion():
    from divest.torch import plateau
    h = {"modes_captured": [1, 3, 5, 7, 8, 8, 8, 8]}
    assert plateau(h, "modes_captured", window=2, tol=0.5)[0]
    assert not plateau(h, "modes_captured", window=3, tol=0.5)[0]    # 8 vs (7+8+8)/3
    ok, why = plateau(h, "modes_captured", window=5, tol=0.5)
    assert not ok and "8 evaluations, fewer than 2 x window = 10" in why
    with pytest.raises(ValueError, match="metric 'w1' is not in the history"):
        plateau(h, "w1", tol=0.1)


def test_modes_study_continued_from_its_checkpoints_is_the_longer_study(tmp_path,
                                                                       monkeypatch):
    """benchmarks/gan_modes.py: a study asked again with more --steps continues each
    ensemble from its checkpoint; its rows are those of the study run at once."""
    import importlib
    from pathlib import Path
    # importable by name, here and in the study's spawned workers (they inherit sys.path)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    modes = importlib.import_module("gan_modes")
    common = ["run", "--ensemble", "--quick", "--losses", "nonsaturating", "--datasets",
              "ring", "--seeds", "0", "1", "--eval-every", "10", "--n-eval", "200"]
    cont, once, ck = tmp_path / "cont", tmp_path / "once", tmp_path / "ck"
    modes.main(common + ["--steps", "20", "--out", str(cont), "--checkpoint-dir", str(ck)])
    assert len(modes._done([str(cont)])) == 2 and len(list(ck.iterdir())) == 1
    # mark the checkpoint (its clock, outside the fingerprint) to see that it is continued
    path, = ck.iterdir()
    state = torch.load(path, weights_only=False)
    state["seconds"] = 1e6
    torch.save(state, path)
    modes.main(common + ["--steps", "40", "--out", str(cont), "--checkpoint-dir", str(ck)])
    modes.main(common + ["--steps", "40", "--out", str(once)])
    assert len(modes._done([str(cont)])) == 4           # the 20-step rows stay recorded
    a, b = modes.load([str(cont)])[0], modes.load([str(once)])[0]
    assert [r["steps"] for r in a] == [40, 40]
    assert all(r["seconds"] >= 1e6 / 2 for r in a)     # the clock went on from the mark
    for ra, rb in zip(a, b):
        assert ra["seed"] == rb["seed"]
        _same_history(ra["history"], rb["history"])
        assert ra["history"]["step"] == [0, 10, 20, 30, 40]
        for k in ("modes_1", "modes_20", "high_quality_2500", "w1", "mmd2", "samples"):
            assert ra[k] == rb[k], k
    assert modes.load([str(cont)])[4]["train_options"]["steps"] == 40
    table = modes.modes_md([str(cont)])
    assert "| 40 | 2 |" in table


def test_modes_study_in_chunks_is_the_study_at_once(tmp_path, monkeypatch):
    """gan_modes run --chunk: each ensemble saved every chunk steps and continued from
    there gives the rows of the ensemble trained at once; a chunk that would cut between
    two evaluations is refused."""
    import importlib
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    modes = importlib.import_module("gan_modes")
    common = ["run", "--ensemble", "--quick", "--losses", "nonsaturating", "--datasets",
              "ring", "--seeds", "0", "1", "--eval-every", "10", "--n-eval", "200",
              "--steps", "30"]
    chunked, once, ck = tmp_path / "chunked", tmp_path / "once", tmp_path / "ck"
    saved = []
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f: (saved.append(obj["step"]),
                                                       real_save(obj, f))[1])
    modes._train("nonsaturating", "ring", (0, 1), "cpu",
                 {"steps": 30, "batch_size": 64, "n_eval": 200, "eval_every": 10,
                  "critic": {"width": 32}, "generator": {"width": 32, "depth": 1}},
                 str(ck), chunk=20)
    assert saved == [20, 30]                       # every multiple of chunk, and the end
    monkeypatch.setattr(torch, "save", real_save)
    for p in ck.iterdir():
        p.unlink()
    modes.main(common + ["--out", str(chunked), "--checkpoint-dir", str(ck), "--chunk", "20"])
    modes.main(common + ["--out", str(once)])
    a, b = modes.load([str(chunked)])[0], modes.load([str(once)])[0]
    assert [r["steps"] for r in a] == [30, 30]
    for ra, rb in zip(a, b):
        _same_history(ra["history"], rb["history"])
        assert ra["history"]["step"] == [0, 10, 20, 30]
        for k in ("modes_1", "high_quality_2500", "w1", "samples"):
            assert ra[k] == rb[k], k
    with pytest.raises(SystemExit, match=r"--chunk must be a positive multiple of the "
                                         r"evaluation period 10 \(--eval-every\); got 15"):
        modes.main(common + ["--out", str(once), "--checkpoint-dir", str(ck), "--chunk", "15"])
    with pytest.raises(SystemExit, match="--chunk needs --ensemble and --checkpoint-dir"):
        modes.main(common + ["--out", str(once), "--chunk", "20"])


def test_modes_study_trains_the_steps_asked_and_scores_a_checkpoint_at_that_budget(
        tmp_path, monkeypatch):
    """gan_modes run --steps N into a study whose config.json holds a longer budget trains
    to N (the longest budget once leaked into the runs' options); a checkpoint already at N
    (a process stopped after its last chunk, before recording) is scored, not retrained."""
    modes = _bench("gan_modes", monkeypatch)
    common = ["run", "--ensemble", "--quick", "--datasets", "ring", "--seeds", "0", "1",
              "--eval-every", "10", "--n-eval", "200"]
    out, once, ck = tmp_path / "out", tmp_path / "once", tmp_path / "ck"
    modes.main(common + ["--losses", "minimax", "--steps", "30", "--out", str(out)])
    modes.main(common + ["--losses", "nonsaturating", "--steps", "20", "--out", str(out),
                         "--checkpoint-dir", str(ck), "--chunk", "10"])
    rows = [r for r in modes._done([str(out)]) if r["loss"] == "nonsaturating"]
    assert [r["steps"] for r in rows] == [20, 20]
    assert all(r["history"]["step"][-1] == 20 for r in rows)
    # the checkpoint at 20 steps with no rows recorded: scored as the runs trained at once
    modes.main(common + ["--losses", "nonsaturating", "--steps", "20", "--out", str(once),
                         "--checkpoint-dir", str(ck)])
    again = modes._done([str(once)])
    assert [r["steps"] for r in again] == [20, 20]
    for ra, rb in zip(rows, again):
        _same_history(ra["history"], rb["history"])
        for k in ("modes_1", "high_quality_2500", "w1", "samples"):
            assert ra[k] == rb[k], k


def test_modes_study_stops_an_ensemble_between_chunks_at_its_deadline(tmp_path,
                                                                       monkeypatch):
    """gan_modes run --chunk --deadline: an ensemble past the deadline stops after a chunk
    (no row: its checkpoint holds the steps so far), and the next call continues it to the
    rows of the ensemble trained at once; a worker whose task stopped writes no row."""
    import queue
    import time
    modes = _bench("gan_modes", monkeypatch)
    opts = {"steps": 30, "batch_size": 64, "n_eval": 200, "eval_every": 10,
            "critic": {"width": 32}, "generator": {"width": 32, "depth": 1}}
    ck, out, once = tmp_path / "ck", tmp_path / "out", tmp_path / "once"
    # past the deadline: the first chunk runs (its time unknown before), no second one
    assert modes._train("nonsaturating", "ring", (0, 1), "cpu", opts, str(ck), chunk=10,
                        stop_at=time.time() - 1) == []
    path, = ck.iterdir()
    assert torch.load(path, weights_only=False)["step"] == 10
    out.mkdir()
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)   # the worker's; not ours
    tasks = queue.Queue()
    tasks.put(("nonsaturating", "ring", (0, 1)))
    modes._worker("w", "cpu", (tasks,), opts, str(out), time.time() + 3600, str(ck), 10)
    assert torch.load(path, weights_only=False)["step"] == 30
    once.mkdir()
    tasks.put(("nonsaturating", "ring", (0, 1)))         # the ensemble trained at once
    modes._worker("once", "cpu", (tasks,), opts, str(once), time.time() + 3600)
    a, b = modes.load([str(out)])[0], modes.load([str(once)])[0]
    assert [r["steps"] for r in a] == [30, 30]
    for ra, rb in zip(a, b):
        _same_history(ra["history"], rb["history"])
        for k in ("modes_1", "high_quality_2500", "w1", "samples"):
            assert ra[k] == rb[k], k
    # a task stopped at the deadline: nothing written, the worker goes on to the next
    monkeypatch.setattr(modes, "_train", lambda *a, **k: [])
    tasks.put(("nonsaturating", "ring", (0, 1)))
    modes._worker("stopped", "cpu", (tasks,), opts, str(out), time.time() + 3600, str(ck), 10)
    assert not (out / "runs_stopped.jsonl").exists() and tasks.empty()


def test_modes_study_continues_only_the_runs_still_moving(monkeypatch):
    """gan_modes run --steps N: a run is done at N steps or when it failed; with
    --skip-plateaued also every run of a (loss, dataset) whose runs have all plateaued."""
    import importlib
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    modes = importlib.import_module("gan_modes")
    flat = {"step": list(range(0, 20001, 1000)), "modes_captured": [8.0] * 21,
            "high_quality": [0.9] * 21}
    moving = {**flat, "high_quality": [i / 40 for i in range(21)]}   # +12.5 points
    rows = {("a", "ring", 0): {"history": flat}, ("a", "ring", 1): {"history": flat},
            ("b", "ring", 0): {"history": flat}, ("b", "ring", 1): {"history": moving},
            ("c", "ring", 0): {"error": "non-finite", "steps": 20000},
            ("d", "ring", 0): {"history": moving, "steps": 60000}}
    assert modes._plateaued(rows[("a", "ring", 0)]) is True
    assert modes._plateaued(rows[("b", "ring", 1)]) is False
    assert modes._finished(rows, 20000) == set(rows)
    assert modes._finished(rows, 60000) == {("c", "ring", 0), ("d", "ring", 0)}
    assert modes._finished(rows, 60000, skip_plateaued=True) == {
        ("a", "ring", 0), ("a", "ring", 1), ("c", "ring", 0), ("d", "ring", 0)}
    # the longest record of a run wins, the later one among equals
    best = modes._best([{"loss": "a", "dataset": "ring", "seed": 0, "steps": 60000, "x": 1},
                        {"loss": "a", "dataset": "ring", "seed": 0, "steps": 20000, "x": 2},
                        {"loss": "b", "dataset": "ring", "seed": 0, "history": flat, "x": 3},
                        {"loss": "b", "dataset": "ring", "seed": 0, "steps": 20000, "x": 4}])
    assert best[("a", "ring", 0)]["x"] == 1 and best[("b", "ring", 0)]["x"] == 4


def _bench(name, monkeypatch):
    import importlib
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module(name)


class _FakeEnsemble:
    """What train_in_chunks reads of a GANEnsemble: its in-memory checkpoints."""

    def __init__(self, end, ok=True):
        self.checkpoints = [(end, {"step": end})] if ok else []


def test_chunk_loop_saves_at_multiples_and_continues_from_the_file(tmp_path, monkeypatch):
    """benchmarks/_chunked.train_in_chunks (gan_modes --chunk, gan_pacgan): chunks end at
    the multiples of chunk and at the budget, each continues from the state the previous
    one saved, a later call continues from the file, and a file further along than the
    budget is kept (left as it is, or trained afresh without saving)."""
    ch = _bench("_chunked", monkeypatch)
    path, calls, seen = str(tmp_path / "ens.pt"), [], []

    def train(todo, state):
        calls.append((todo, None if state is None else state["step"]))
        return _FakeEnsemble(todo)

    def on_chunk(ens, start, end, seconds):
        seen.append((start, end))

    assert ch.train_in_chunks(train, 10, 3, path, on_chunk=on_chunk)[1] == 10
    assert calls == [(3, None), (6, 3), (9, 6), (10, 9)]
    assert seen == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert ch.load_state(path)["step"] == 10
    calls.clear()
    assert ch.train_in_chunks(train, 14, 3, path)[1] == 14
    assert calls == [(12, 10), (14, 12)]                      # the next multiple, then 14
    calls.clear()
    assert ch.train_in_chunks(train, 5, 3, path) == (None, 14) and calls == []
    ens, done = ch.train_in_chunks(train, 5, 3, path, beyond="restart")
    assert (done, calls) == (5, [(3, None), (5, 3)])
    assert ch.load_state(path)["step"] == 14                  # the longer ensemble is kept
    calls.clear()
    assert ch.train_in_chunks(train, 7, None, None)[1] == 7 and calls == [(7, None)]
    with pytest.raises(ValueError, match="beyond must be 'stop' or 'restart'; got 'x'"):
        ch.train_in_chunks(train, 5, 3, path, beyond="x")


def test_chunk_loop_stops_at_its_deadline_and_when_every_member_failed(tmp_path,
                                                                      monkeypatch):
    ch = _bench("_chunked", monkeypatch)
    import time
    calls = []

    def train(todo, state):
        calls.append(todo)
        return _FakeEnsemble(todo)
    # past the deadline: the first chunk runs (no time known yet), no second one starts
    assert ch.train_in_chunks(train, 10, 3, str(tmp_path / "a.pt"),
                              stop_at=time.time() - 1)[1] == 3
    assert calls == [3]
    # no checkpoint at the chunk's end (every member failed): nothing saved, no more chunks
    ens, done = ch.train_in_chunks(lambda todo, state: _FakeEnsemble(todo, ok=False), 10, 3,
                                   str(tmp_path / "b.pt"))
    assert done == 0 and ens.checkpoints == [] and not (tmp_path / "b.pt").exists()


def test_pacgan_curve_in_chunks_is_the_curve_at_once(tmp_path, monkeypatch):
    """gan_pacgan run_config: an ensemble trained in chunks through its checkpoint file,
    over two processes' calls, records the learning curves of one trained at once."""
    pg = _bench("gan_pacgan", monkeypatch)
    ck, a, b = tmp_path / "ck", tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    kw = dict(seeds=[0, 1], eval_every=2, device="cpu", stop_at=float("inf"))
    assert pg.run_config("pacgan_ring", 2, steps=2, chunk=2, out=str(a), checkpoint_dir=str(ck),
                         **kw) == 2
    assert pg.run_config("pacgan_ring", 2, steps=6, chunk=2, out=str(a), checkpoint_dir=str(ck),
                         **kw) == 6
    assert pg.run_config("pacgan_ring", 2, steps=6, chunk=6, out=str(b), **kw) == 6
    chunked, once = pg.load(str(a)), pg.load(str(b))
    assert [r["steps"] for r in chunked] == [2, 4, 6] and len(once) == 1
    assert [r["chunk_steps"] for r in chunked] == [2, 2, 2]
    for ca, cb in zip(chunked[-1]["curves"], once[0]["curves"]):
        assert ca["step"] == cb["step"] == [0, 2, 4, 6]
        for k in pg.CURVE_KEYS:
            if k != "seconds":
                assert ca[k] == cb[k], k


def test_modes_report_states_the_steps_the_rows_trained(monkeypatch):
    """config.json holds the longest budget asked for (60,000 while a continuation runs);
    the report's budget line states the steps the recorded rows reached instead."""
    modes = _bench("gan_modes", monkeypatch)
    cfg = {"train_options": {"steps": 60000, "batch_size": 256}}
    rows = [{"steps": 20000}, {"history": {"step": [0, 10000, 20000]}},
            {"error": "non-finite"}]
    assert modes._recorded_options(rows, cfg) == {"steps": 20000, "batch_size": 256}
    rows.append({"steps": 60000})
    assert modes._recorded_options(rows, cfg)["steps"] == \
        "20,000 to 60,000 (each row's own: modes.md)"
    assert cfg["train_options"]["steps"] == 60000             # the config is not changed


def test_reports_mean_and_standard_error_over_seeds(monkeypatch):
    # the one rule behind every "mean ± SE" of the GAN studies' reports: SE = s / sqrt(n)
    # with ddof 1 (s of [1, 2, 4] is sqrt(7/3)); failed runs (None, nan) are left out
    st = _bench("_stats", monkeypatch)
    mean, se = st.mean_se([1.0, None, 2.0, float("nan"), 4.0])
    assert mean == pytest.approx(7 / 3) and se == pytest.approx(math.sqrt(7 / 3) / math.sqrt(3))
    assert st.mean_se([0.25], scale=100) == (25.0, pytest.approx(math.nan, nan_ok=True))
    assert st.fmt_mean_se([1.0, 2.0, 4.0], fmt="{:.2f}") == "2.33 ± 0.88"
    assert st.fmt_mean_se([0.5], 100) == "50.0"
    assert st.fmt_mean_se([None], empty="n/a") == "n/a"
