r"""The permutation engine of :mod:`divest._permutation` on a torch device (CPU or CUDA).

The same algorithm and the same relabellings: the indicator batches are drawn by the
numpy generator exactly as the numpy engine draws them (:func:`divest._permutation.indicators`)
and copied to the device; the pooled matrices are computed **on the device** from the
pooled sample (the kernel's torch path), and every permuted statistic is a row of
:math:`A^\top M` dotted with :math:`A`, as in the numpy engine.  The statistics agree with
the numpy engine's to round-off (the matrix products add in another order, and torch
forms squared distances by the expansion :math:`\|a\|^2 + \|b\|^2 - 2a^\top b`, numpy's
``cdist`` directly), so the p-values agree except for a permuted statistic within
round-off of the observed one — which the tie tolerance of the p-value absorbs.

Memory planning: the budget is ``max_memory`` on the CPU; on CUDA it is at most 80% of
the device's free memory (``torch.cuda.mem_get_info``), and the plan of
:func:`divest._permutation.plan` (stored matrices or streamed row blocks, batch size)
is made within it.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .. import _permutation as _perm
from ._device import resolve_device

__all__: list[str] = []

#: fraction of the free CUDA memory the engine may plan with
_CUDA_FRACTION = 0.8


def memory_budget(device: torch.device, max_memory: int) -> int:
    """Bytes the engine may use on ``device``: ``max_memory``, and on CUDA at most
    80% of the free device memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(min(max_memory, _CUDA_FRACTION * free))
    return int(max_memory)


def _rows(src, Zt, i0, i1, j0=0):
    """Rows ``i0:i1``, columns ``j0:`` (``j0 <= i0``) of a source's pooled matrix, on Zt's
    device (diagonal written)."""
    if isinstance(src, _perm.Dense):
        blk = torch.as_tensor(src.matrix[i0:i1, j0:], device=Zt.device, dtype=Zt.dtype)
        return blk.clone()
    N = Zt.shape[0] - j0
    cols = Zt[j0:]
    step = max(1, _perm._BLOCK_ENTRIES // N)
    parts = []
    for s0 in range(i0, i1, step):
        s1 = min(s0 + step, i1)
        what = ("device=: the kernel must accept torch tensors and return one (built-in "
                "kernels do)")
        try:
            blk = src.fn(Zt[s0:s1], cols)
        except TypeError as exc:
            raise TypeError(f"{what}; called on tensors of shapes {(s1 - s0, Zt.shape[1])} "
                            f"and {tuple(cols.shape)} it raised: {exc}") from exc
        if not isinstance(blk, torch.Tensor):
            raise TypeError(f"{what}; got {type(blk).__name__} for a block of {s1 - s0} and "
                            f"{N} points")
        if tuple(blk.shape) != (s1 - s0, N):
            raise ValueError(f"the kernel returned an array of shape {tuple(blk.shape)} for "
                             f"blocks of {s1 - s0} and {N} points")
        parts.append(blk.to(Zt.dtype))
    out = parts[0] if len(parts) == 1 else torch.cat(parts)
    if src.diagonal is not None:
        k = i1 - i0
        idx = torch.arange(k, device=Zt.device)
        out[idx, idx + i0 - j0] = src.diagonal
    return out


def quadratic_null(sources, Z, n: int, m: int, n_permutations: int, rng, *, estimator: str,
                   max_memory: int = _perm.MAX_MEMORY, batch: int | None = None,
                   progress: bool = False, device="auto"):
    """:func:`divest._permutation.quadratic_null` on a torch device (float64).

    ``sources`` are the numpy engine's sources (:class:`~divest._permutation.Pooled`,
    whose ``fn`` must accept torch tensors, or :class:`~divest._permutation.Dense`);
    ``Z`` the pooled sample.  Returns ``(stats, scale, info)`` as numpy arrays, with
    ``info["device"]`` added.
    """
    begin = time.perf_counter()
    dev = resolve_device(device)
    Zt = torch.as_tensor(np.ascontiguousarray(Z), dtype=torch.float64, device=dev)
    N = n + m
    total = n_permutations + 1
    pl = _perm.plan(N, len(sources), total, memory_budget(dev, max_memory), batch)
    small_is_x, consts = _perm.constants(n, m, estimator)
    clock = _perm._Clock()
    with clock:
        stored = [_rows(s, Zt, 0, N) for s in sources] if pl.stored else None
        sums = [M.sum(dim=1) for M in stored] if pl.stored else None
    stats = np.empty((len(sources), total))
    scale = np.empty(len(sources))
    with _perm._progress_bar(progress, total) as bar:
        for j0 in range(0, total, pl.batch):
            c = min(pl.batch, total - j0)
            A = torch.from_numpy(_perm.indicators(j0, c, rng, n, m, small_is_x,
                                                  np.float64)).to(dev)
            for ell, src in enumerate(sources):
                if pl.stored:
                    u = _perm.triangle_u(A, stored[ell], _rowdot)
                    r = sums[ell]
                else:
                    u, r = _streamed_u(src, Zt, A, pl.block_rows, clock)
                st, first = _perm.combine(u, A @ r, r.sum(), consts)
                stats[ell, j0:j0 + c] = st.cpu().numpy()
                if j0 == 0:
                    scale[ell] = first
            bar.update(c)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    info = {**pl.describe(), "device": str(dev), "seconds_matrix": clock.seconds,
            "seconds_permutations": time.perf_counter() - begin - clock.seconds}
    return stats, scale, info


def _rowdot(A, B):
    return (A * B).sum(dim=1)


def _streamed_u(src, Zt, A, rows, clock):
    """``u_j = a_j' M a_j`` and ``r = M 1`` with M's upper block triangle computed on the
    device in row blocks (as the numpy engine's ``_streamed_u``)."""
    c, N = A.shape
    u = torch.zeros(c, dtype=torch.float64, device=A.device)
    r = torch.zeros(N, dtype=torch.float64, device=A.device)
    for i0 in range(0, N, rows):
        i1 = min(i0 + rows, N)
        with clock:
            Mb = _rows(src, Zt, i0, i1, i0)
        r[i0:i1] += Mb.sum(dim=1)
        r[i1:] += Mb[:, i1 - i0:].sum(dim=0)
        u += _perm.half_u(A, Mb, i0, _rowdot)
    return u, r
