r"""The synthetic two-sample problems of Liu et al. (ICML 2020): Blob and HDGM.

Both follow the authors' code (https://github.com/fengliu90/DK-for-TST) so that power
figures can be compared with the paper; each returns ``(X, Y)`` as float64 arrays with
rows in random order (the authors' arrays are ordered by mode; the order does not matter
to a permutation test, but a split by position would then be unbalanced).

References
----------
.. [1] F. Liu, W. Xu, J. Lu, G. Zhang, A. Gretton, D. J. Sutherland, "Learning deep kernels
   for non-parametric two-sample tests", ICML 2020, Section 6 ("Blob" and "HDGM");
   code: ``Deep_Kernel_Blob.py`` (``sample_blobs_Q``) and ``Deep_Kernel_HDGM.py``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_int, check_rng

__all__ = ["blob", "blob_covariances", "hdgm"]

#: centres of the 3 x 3 grid of Blob, in the authors' order (row, column)
_GRID = np.array([[i, j] for i in range(3) for j in range(3)], dtype=np.float64)


def blob_covariances() -> np.ndarray:
    r"""The nine 2 x 2 matrices :math:`\Sigma_i` of Blob's Q (the authors' ``sigma_mx_2``).

    Diagonal 0.03; off-diagonal :math:`-0.02 - 0.002 i` for :math:`i = 0..3`, 0 for the
    centre (:math:`i = 4`) and :math:`0.02 + 0.002 (i - 5)` for :math:`i = 5..8`.
    """
    S = np.zeros((9, 2, 2))
    for i in range(9):
        c = -0.02 - 0.002 * i if i < 4 else (0.0 if i == 4 else 0.02 + 0.002 * (i - 5))
        S[i] = [[0.03, c], [c, 0.03]]
    return S


def blob(n, m, rng=None, *, null=False):
    r"""Blob: a 3 x 3 grid of Gaussians, isotropic in P, rotated anisotropic in Q.

    P: :math:`X = U + c`, :math:`U \sim N(0, 0.03 I_2)`, :math:`c` uniform on the grid
    :math:`\{0, 1, 2\}^2`.  Q: :math:`Y = Z L_i + c_i` with :math:`Z \sim N(0, I_2)`
    (a row vector), :math:`c_i` uniform on the grid and :math:`L_i` the lower Cholesky
    factor of :math:`\Sigma_i` (:func:`blob_covariances`) — exactly the authors'
    ``np.matmul(Y, L) + locs[i]``.  Note that a row vector times :math:`L_i` has covariance
    :math:`L_i^\top L_i`, not the published :math:`\Sigma_i = L_i L_i^\top`: the diagonal
    becomes :math:`(0.03 + c^2/0.03,\ 0.03 - c^2/0.03)` with covariance
    :math:`c \sqrt{1 - (c/0.03)^2}`; this function reproduces the code, which produced the
    published power curves.

    Parameters
    ----------
    n, m : int
        Sizes of X and Y (the paper uses :math:`n = m = 9 \times` "samples per mode").
    rng : None, int or numpy.random.Generator
    null : bool, default False
        Draw Y from P as well (a null pair with the same geometry as X).

    Returns
    -------
    X, Y : ndarray, shapes (n, 2) and (m, 2)

    Examples
    --------
    >>> from divest._problems_liu import blob
    >>> X, Y = blob(360, 360, rng=0)
    >>> X.shape, Y.shape
    ((360, 2), (360, 2))
    """
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    rng = check_rng(rng)
    X = rng.normal(scale=np.sqrt(0.03), size=(n, 2)) + _GRID[rng.integers(9, size=n)]
    if null:
        Y = rng.normal(scale=np.sqrt(0.03), size=(m, 2)) + _GRID[rng.integers(9, size=m)]
        return X, Y
    chol = np.linalg.cholesky(blob_covariances())
    comp = rng.integers(9, size=m)
    Z = rng.normal(size=(m, 2))
    Y = np.einsum("ij,ijk->ik", Z, chol[comp]) + _GRID[comp]
    return X, Y


def hdgm(n, m, rng=None, *, d=10, null=False):
    r"""HDGM: a two-mode Gaussian mixture in :math:`\mathbb R^d`, correlated in Q.

    Both samples have exactly half of their points in each mode (the authors draw
    ``n`` points per mode; an odd size puts the extra point in mode 0).  Mode means
    :math:`\mu_0 = 0`, :math:`\mu_1 = 0.5 \cdot \mathbf 1_d`.  P: covariance :math:`I_d` in
    both modes.  Q: :math:`I_d` with entries (0, 1) and (1, 0) set to :math:`+0.5` in mode 0
    and :math:`-0.5` in mode 1.

    Parameters
    ----------
    n, m : int
        Sizes of X and Y (the paper's N; its Figure 3 uses d = 10).
    rng : None, int or numpy.random.Generator
    d : int, default 10
        Dimension (at least 2).
    null : bool, default False
        Draw Y from P (the authors' type-I check).

    Returns
    -------
    X, Y : ndarray, shapes (n, d) and (m, d)

    Examples
    --------
    >>> from divest._problems_liu import hdgm
    >>> X, Y = hdgm(100, 100, rng=0)
    >>> X.shape
    (100, 10)
    """
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    d = check_positive_int(d, "d", minimum=2)
    rng = check_rng(rng)
    mu = np.zeros((2, d))
    mu[1] += 0.5
    covs = [np.eye(d), np.eye(d)]
    covs[0][0, 1] = covs[0][1, 0] = 0.5
    covs[1][0, 1] = covs[1][1, 0] = -0.5

    def draw(size, correlated):
        sizes = (size - size // 2, size // 2)
        parts = [rng.multivariate_normal(mu[k], covs[k] if correlated else np.eye(d),
                                         size=sizes[k]) for k in range(2)]
        return rng.permutation(np.concatenate(parts))

    X = draw(n, False)
    Y = draw(m, not null)
    return X, Y
