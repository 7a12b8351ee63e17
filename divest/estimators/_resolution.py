"""The resolution of rounded data, and uniform dequantisation at that resolution.

Data recorded to a resolution (rounded to 0.1, integer counts, prices in cents) put
every value of a coordinate on a grid ``a + h Z``.  Adding independent noise
``U(-h/2, h/2)`` to each such coordinate (*dequantisation*, Theis, van den Oord &
Bethge 2016; Uria, Murray & Larochelle 2013) turns a distribution on the grid cells
into a density that is constant on each cell, ``p~(x) = P_h(cell(x)) / h^d``.  For two
distributions on the same grid the density ratio is then constant on each cell and
equal to the ratio of the cell probabilities, so every f-divergence is unchanged:

.. math:: D_f(\\tilde P \\,\\|\\, \\tilde Q) = \\sum_c Q_h(c)\\, f\\big(P_h(c)/Q_h(c)\\big)
          = D_f(P_h \\,\\|\\, Q_h).

A continuous estimator run on the dequantised samples therefore estimates the
divergence of the *discretised* distributions, whatever the unit of the data: the
noise is set by the data's own grid, not by an arbitrary scale.
"""

from __future__ import annotations

import numpy as np

#: relative tolerance when checking that every gap between distinct values is a whole
#: multiple of the smallest one (values printed with limited digits carry float error)
_GRID_RTOL = 1e-6
#: the grid step is looked for among the smallest gap between distinct values divided by
#: 1, 2, ..., _MAX_DIVISOR
_MAX_DIVISOR = 10


def grid_spacing(values):
    """The spacing h of the grid a + h Z that holds every value, or None.

    Parameters
    ----------
    values : array of shape (n,)
        One coordinate of the pooled samples.

    Returns
    -------
    float or None
        h when the values take at least two distinct values, some value repeats, and
        every distinct value lies on a grid whose step is the smallest gap between
        distinct values divided by 1, 2, ..., 10 (to a relative 1e-6); None otherwise (no ties, or ties that are
        not on a grid, e.g. a continuous coordinate with an atom at 0).

    Examples
    --------
    >>> import numpy as np
    >>> grid_spacing(np.array([0.1, 0.3, 0.3, 0.7, -0.2]))
    0.1
    >>> grid_spacing(np.array([0.0, 0.0, 0.31, 1.7])) is None
    True
    """
    u = np.unique(np.asarray(values, dtype=float))
    if u.size < 2 or u.size == np.size(values):
        return None
    # float error of values stored in decimal: far below 1e-9 of their magnitude
    tol = _GRID_RTOL * 1e-3 * float(np.max(np.abs(u)))
    gap = float(np.diff(u).min())
    span = float(u[-1] - u[0])
    # the grid step is the smallest gap or a whole fraction of it (values 0.1, 0.3, 0.6:
    # smallest gap 0.2, grid 0.1)
    for j in range(1, _MAX_DIVISOR + 1):
        h = gap / j
        if h <= 1e3 * tol:
            return None
        # refine h from the whole range (the smallest gap carries the most rounding
        # error), then require every value to sit on the grid u[0] + h Z
        h = span / np.round(span / h)
        off = (u - u[0]) - np.round((u - u[0]) / h) * h
        if np.max(np.abs(off)) <= tol + _GRID_RTOL * h:
            short = float(f"{h:.10g}")  # 0.1, not 0.09999999999999999
            return short if abs(short - h) <= _GRID_RTOL * h else float(h)
    return None


def resolution(arrays):
    """Grid spacing of each coordinate of each sample: ``out[i][j]`` for sample i,
    coordinate j (None: not dequantised).

    A coordinate whose pooled values (all samples together) have ties and lie on one
    grid gets that grid's spacing in every sample; otherwise each sample's own values
    are looked at (X rounded to 0.01 against a continuous Y: X's coordinate gets 0.01,
    Y's None).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.1, 1.25], [0.2, 2.5], [0.2, 1.25]])
    >>> Y = np.array([[0.4, 3.14159], [0.5, 0.917]])
    >>> resolution([X, Y])
    [[0.1, 1.25], [0.1, None]]
    """
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    pooled = np.concatenate(arrays, axis=0)
    out = [[None] * pooled.shape[1] for _ in arrays]
    for j in range(pooled.shape[1]):
        h = grid_spacing(pooled[:, j])
        for i, a in enumerate(arrays):
            out[i][j] = h if h is not None else grid_spacing(a[:, j])
    return out


def dequantize(arrays, spacing, rng):
    """Add U(-h/2, h/2) noise to every coordinate of each sample with a grid spacing h
    (``spacing`` as returned by :func:`resolution`); other coordinates unchanged."""
    out = []
    for a, hs in zip(arrays, spacing):
        h = np.array([0.0 if s is None else s for s in hs])
        out.append(a + rng.uniform(-0.5, 0.5, size=a.shape) * h)
    return out
