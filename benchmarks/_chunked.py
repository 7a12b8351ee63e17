"""Train a GAN ensemble in chunks, continuing from and saving to one checkpoint file.

The long studies (``gan_modes.py --chunk``, ``gan_pacgan.py``) train an ensemble for hours;
each saves the ensemble to one file every ``chunk`` steps, so a process stopped (a deadline,
the end of a session) continues from its last chunk, and gets the ensemble that did not
stop (``train_gan_ensemble(resume=...)``).  This module holds that loop once.
"""

from __future__ import annotations

import math
import os
import time


def load_state(path):
    """The ensemble state saved at ``path``, or None if there is none."""
    if not path or not os.path.exists(path):
        return None
    import torch
    return torch.load(path, map_location="cpu", weights_only=False)


def save_state(state, path):
    """Write ``state`` to ``path`` atomically (a process killed while writing leaves the
    previous checkpoint)."""
    import torch
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    torch.save(state, f"{path}.tmp")
    os.replace(f"{path}.tmp", path)


def train_in_chunks(train, steps, chunk=None, path=None, *, stop_at=math.inf,
                    on_chunk=None, beyond="stop"):
    """Train to ``steps`` in chunks ending at the multiples of ``chunk`` (and at ``steps``).

    Parameters
    ----------
    train : callable
        ``train(todo, state)`` trains the ensemble to step ``todo`` from ``state`` (None:
        from step 0) with ``checkpoint_every=todo`` and returns its ``GANEnsemble``.
    steps : int
        The budget.
    chunk : int, optional
        Save every this many steps; None trains to ``steps`` in one call.
    path : str, optional
        The checkpoint file: the ensemble continues from it and is saved there after each
        chunk.  None keeps no file.
    stop_at : float
        Wall time (``time.time()``) after which no chunk is started that would not finish
        by then, judged by the last chunk's time.
    on_chunk : callable, optional
        ``on_chunk(ens, start, end, seconds)`` after each chunk.
    beyond : {"stop", "restart"}
        What to do when the file holds a state past ``steps``: ``"stop"`` trains nothing
        (returns None and that state's step); ``"restart"`` trains afresh to ``steps``
        without saving (the file keeps the longer ensemble).

    Returns
    -------
    (GANEnsemble or None, int)
        The last chunk's ensemble (None if none was trained) and the step reached.  The loop
        also ends early when the ensemble holds no checkpoint at the chunk's end (every
        member failed before it).
    """
    if beyond not in ("stop", "restart"):
        raise ValueError(f"beyond must be 'stop' or 'restart'; got {beyond!r}")
    state = load_state(path)
    if state is not None and int(state["step"]) > steps:
        if beyond == "stop":
            return None, int(state["step"])
        state, path = None, None
    done = 0 if state is None else int(state["step"])
    ens, last = None, None
    while done < steps:
        if last is not None and time.time() + 1.1 * last > stop_at:
            break
        todo = steps if not chunk else min((done // chunk + 1) * chunk, steps)
        t0 = time.time()
        ens = train(todo, state)
        last = time.time() - t0
        if not ens.checkpoints or ens.checkpoints[-1][0] != todo:
            break
        state = ens.checkpoints[-1][1]
        if path:
            save_state(state, path)
        if on_chunk is not None:
            on_chunk(ens, done, todo, last)
        done = todo
    return ens, done
