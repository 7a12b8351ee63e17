"""Long GAN runs across processes: a run resumed from a checkpoint is exactly the run that
did not stop (weights, optimiser and random states, history)."""

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
