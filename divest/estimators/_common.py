"""Validation and small helpers shared by the sample-based estimators."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite_array

__all__: list[str] = []


def is_samples(x) -> bool:
    """Whether ``x`` looks like a sample array (numpy array, list, tuple or torch tensor)."""
    return isinstance(x, (np.ndarray, list, tuple)) or type(x).__module__.startswith("torch")


def as_2d(x, name: str, *, min_n: int = 2) -> np.ndarray:
    """A sample array as float64 of shape (n, d); 1-D input is taken as (n, 1).

    Raises on NaN/inf, empty input, ranks other than 1 or 2, and fewer than ``min_n`` rows;
    the message names the parameter and the shape.
    """
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    arr = check_finite_array(x, name, ndim=(1, 2))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] < min_n:
        raise ValueError(f"{name} needs at least {min_n} samples (rows); got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (columns); got shape {arr.shape}")
    return arr


def check_samples(X, Y, *, min_n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate two sample arrays X ~ P (n, d) and Y ~ Q (m, d) of one dimension d."""
    X = as_2d(X, "X", min_n=min_n)
    Y = as_2d(Y, "Y", min_n=min_n)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same dimension (columns); got shapes {X.shape} "
                         f"and {Y.shape}")
    return X, Y


def trend_allowance(rise: float, gamma: float) -> tuple[tuple[float, float], float]:
    r"""One-sided allowance for a bias read from a resolution trend.

    ``rise`` is how much the estimate grows per doubling of the resolution (halving
    of the neighbour balls for kNN, doubling of the training size for a fitted ratio).
    With the bias modelled as :math:`c\,h^\gamma` in the resolution scale h, the bias
    left at the finest resolution is :math:`-\mathrm{rise}/(2^\gamma - 1)`: the
    allowance :math:`|\mathrm{rise}|/(2^\gamma - 1)` goes above the estimate when it
    rises (the truth is likely above), below otherwise.  Returns
    ``((below, above), size)``.
    """
    size = abs(rise) / (2.0 ** gamma - 1.0)
    return ((0.0, size) if rise > 0 else (size, 0.0)), size
