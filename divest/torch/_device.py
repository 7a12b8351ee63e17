"""Devices, dtypes and seeding for the torch backend."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from .._validation import _describe, check_choice, check_positive_int

__all__ = ["resolve_device"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device="auto") -> torch.device:
    """The torch device for ``device="auto" | "cpu" | "cuda" | "cuda:k"`` or a torch.device.

    ``"auto"`` is CUDA when ``torch.cuda.is_available()``, else the CPU.

    Examples
    --------
    >>> from divest.torch import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
    """
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if not (device in ("cpu", "cuda") or device.startswith("cuda:")):
            raise ValueError(f"device={device!r} is not valid; choose 'auto', 'cpu', 'cuda' or "
                             "'cuda:<index>'")
        dev = torch.device(device)
    else:
        raise TypeError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device; got "
                        f"{_describe(device)}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}: CUDA is not available on this machine "
                         "(use device='auto' or 'cpu')")
    return dev


def resolve_dtype(dtype) -> torch.dtype:
    """``"float32"``, ``"float64"`` or the matching torch dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"dtype must be float32 or float64; got {dtype}")
        return dtype
    check_choice(dtype, "dtype", tuple(_DTYPES))
    return _DTYPES[dtype]


def torch_generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded by one draw from the numpy generator."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return gen


def to_tensor(x, device, dtype) -> torch.Tensor:
    """A numpy array (or tensor) as a tensor on ``device`` with ``dtype``."""
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype)
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as a float64 numpy array (detached, on the CPU)."""
    return t.detach().to("cpu", torch.float64).numpy()


def check_threads(num_threads):
    """``None`` or a positive int (the ``num_threads`` option)."""
    return None if num_threads is None else check_positive_int(num_threads, "num_threads")


@contextmanager
def cpu_threads(num_threads, device):
    """Run a block with ``torch.set_num_threads(num_threads)`` on the CPU, then restore it.

    Small networks train fastest on one thread (intra-op parallelism only adds
    synchronisation, and on a loaded machine it can be several times slower).  ``None``
    or a CUDA device leaves the setting alone.
    """
    if num_threads is None or device.type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)
