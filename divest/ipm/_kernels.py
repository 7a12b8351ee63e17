r"""Kernels, pairwise distances, chunked Gram matrices and the median bandwidth.

Kernels (:math:`\sigma` is the bandwidth, :math:`d` the dimension):

================================  =======================================================
``"gaussian"``                    :math:`\exp(-\|x-y\|_2^2 / (2\sigma^2))`
``"laplace"``                     :math:`\exp(-\|x-y\|_2 / \sigma)` (Euclidean norm, the
                                  usual choice in the MMD literature; scikit-learn's
                                  ``laplacian_kernel`` uses the L1 norm instead)
``"inverse_multiquadric"``        :math:`(1 + \|x-y\|_2^2/\sigma^2)^{-\beta}`, ``beta=0.5``
``"polynomial"``                  :math:`(\gamma\, x\cdot y + c_0)^{\mathrm{degree}}`, KID
                                  convention ``degree=3``, ``gamma=1/d``, ``coef0=1``
``"linear"``                      :math:`x\cdot y`
callable                          ``k(A, B, **kernel_params)`` returning the
                                  ``(len(A), len(B))`` matrix; assumed symmetric
================================  =======================================================

Squared distances.  For numpy input of dimension ``d <= 16`` they come from
:func:`scipy.spatial.distance.cdist` (accurate to round-off in every entry).  Above that,
and always for torch tensors, they come from
:math:`\|x-c\|^2 + \|y-c\|^2 - 2 (x-c)\cdot(y-c)` with ``c`` the mean of the row chunk
(the centring shrinks the cancellation error); that expression can be negative by a
round-off amount and is then clipped at 0 — only such round-off is clipped, true
squared distances are never negative.  When both arguments are the same array the
diagonal is set to exactly 0.

Backends.  numpy input gives float64 numpy output.  When either argument is a torch
tensor the computation uses torch operations on the tensor's device and returns a torch
tensor (the common floating dtype of the inputs; integers become float64), so gradients
flow through :func:`gram` and :func:`pairwise_distances`.  torch is imported only when a
tensor is passed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist, pdist

from .._validation import (_describe, check_choice, check_finite_array, check_positive_int,
                           check_real, check_rng)
from ..estimators._common import as_2d

__all__ = ["KERNELS", "METRICS", "gram", "kernel_matrix", "median_bandwidth",
           "pairwise_distances", "resolve_kernel"]

#: names of the built-in kernels
KERNELS: tuple[str, ...] = ("gaussian", "inverse_multiquadric", "laplace", "linear", "polynomial")
#: names of the built-in ground metrics of :func:`pairwise_distances`
METRICS: tuple[str, ...] = ("chebyshev", "cityblock", "euclidean", "manhattan", "sqeuclidean")

#: kernels with a bandwidth sigma
_RADIAL = ("gaussian", "inverse_multiquadric", "laplace")
#: keyword parameters each built-in kernel accepts
_KERNEL_PARAMS = {"gaussian": (), "laplace": (), "inverse_multiquadric": ("beta",),
                  "linear": (), "polynomial": ("coef0", "degree", "gamma")}
#: numpy inputs up to this dimension use scipy's cdist (exact differences); above, the
#: BLAS expansion |x|^2 + |y|^2 - 2 x.y is faster
_CDIST_MAX_DIM = 16
#: a row chunk holds at most this many matrix entries (2**22 float64 = 32 MiB)
_CHUNK_ELEMENTS = 2 ** 22
#: default number of pooled points the median bandwidth uses (2 million pairs)
_MEDIAN_MAX_POINTS = 2000
#: seed of the subsample of median_bandwidth when rng is None (reproducible bandwidth)
_MEDIAN_SEED = 0


# --------------------------------------------------------------------------------------
# backend helpers
# --------------------------------------------------------------------------------------

def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _common_backend(A, B):
    """(A, B, torch-module-or-None): both numpy float64, or both torch of one dtype."""
    if not (_is_torch(A) or _is_torch(B)):
        return np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64), None
    import torch

    ref = A if _is_torch(A) else B
    A = A if _is_torch(A) else torch.as_tensor(np.asarray(A), device=ref.device)
    B = B if _is_torch(B) else torch.as_tensor(np.asarray(B), device=ref.device)
    dtype = torch.promote_types(A.dtype, B.dtype)
    if not dtype.is_floating_point:
        dtype = torch.float64
    return A.to(dtype), B.to(dtype), torch


def _to_numpy_2d(x) -> np.ndarray:
    if _is_torch(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _check_pair_shapes(A, B, name_a="A", name_b="B"):
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"{name_a} and {name_b} must be 2-D (n, d) arrays; got shapes "
                         f"{tuple(A.shape)} and {tuple(B.shape)}")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"{name_a} and {name_b} must have the same dimension (columns); got "
                         f"shapes {tuple(A.shape)} and {tuple(B.shape)}")


def check_chunk_size(chunk_size):
    """``chunk_size`` validated: None (the default chunks) or a positive integer."""
    return None if chunk_size is None else check_positive_int(chunk_size, "chunk_size")


def _chunk_rows(n_cols: int, chunk_size) -> int:
    """Rows per chunk for ``n_cols`` columns (``chunk_size`` already checked)."""
    if chunk_size is None:
        return max(1, _CHUNK_ELEMENTS // max(1, n_cols))
    return chunk_size


def _zero_diagonal(block, start: int, xp) -> None:
    """Set block[i, start + i] = 0 (the diagonal of the full matrix inside a row chunk)."""
    rows = block.shape[0]
    hi = min(rows, block.shape[1] - start)
    if hi > 0:
        if xp is None:
            idx = np.arange(hi)
        else:
            idx = xp.arange(hi, device=block.device)
        block[idx, idx + start] = 0.0


#: relative size below which an expanded squared distance is recomputed directly
_RECOMPUTE_REL = 1e-8


def _sqdist_block(A, B, xp, start=None):
    """Squared Euclidean distances of a row chunk ``A`` to ``B``; ``start`` is the offset
    of the chunk when ``B`` is the full array the chunk comes from (diagonal set to 0)."""
    if xp is None and A.shape[1] <= _CDIST_MAX_DIM:
        return cdist(A, B, "sqeuclidean")  # exact zero for identical rows
    c = A.mean(0)
    Ac, Bc = A - c, B - c
    scale = (Ac * Ac).sum(1)[:, None] + (Bc * Bc).sum(1)[None, :]
    D2 = scale - 2.0 * (Ac @ Bc.T)
    # where the expansion cancelled more than 8 digits (near-duplicate rows) its round-off
    # (~eps * scale) would dominate: those few entries are recomputed from the differences,
    # so duplicate rows get exactly 0 in any dimension and on any backend
    small = D2 <= _RECOMPUTE_REL * scale
    if bool(small.any()):
        i, j = np.nonzero(small) if xp is None else small.nonzero(as_tuple=True)
        D2[i, j] = ((Ac[i] - Bc[j]) ** 2).sum(1)
    D2 = D2.clip(min=0.0)  # round-off only: a true squared distance is >= 0
    if start is not None:
        _zero_diagonal(D2, start, xp)
    return D2


def _distance_block(A, B, metric, xp, start=None):
    """One row chunk of the distance matrix for a built-in metric (in the scaled frame of
    :func:`pow2_scale`, so that squares of coordinates near 1e±300 neither overflow nor
    underflow)."""
    A, B, s = _scaled_pair(A, B)
    if metric == "sqeuclidean":
        return _sqdist_block(A, B, xp, start) * (s * s)
    if metric == "euclidean":
        return _sqdist_block(A, B, xp, start) ** 0.5 * s
    if xp is None:
        return cdist(A, B, metric) * s
    p = 1.0 if metric == "cityblock" else math.inf
    return xp.cdist(A, B, p=p) * s


def _concat(blocks, xp):
    if len(blocks) == 1:
        return blocks[0]
    return np.concatenate(blocks, axis=0) if xp is None else xp.cat(blocks, dim=0)


def pow2_scale(*arrays) -> float:
    """A power of two s with ``max |x| / s`` in [1, 2) over the arrays (1 if all are 0).

    Dividing by a power of two is exact (outside the subnormal range), so distances and
    radial kernels computed from ``x / s`` and rescaled are bit-identical to the direct
    computation wherever that does not overflow or underflow, and stay right where it
    would (coordinates near 1e±300, whose squares leave the float range, or subnormals).
    """
    m = 0.0
    for a in arrays:
        if _is_torch(a):
            if a.numel():
                m = max(m, float(a.detach().abs().max()))
        elif np.size(a):
            m = max(m, float(np.max(np.abs(a))))
    if not (0.0 < m < math.inf):
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1] - 1)


def _scaled_pair(A, B):
    """``(A / s, B / s, s)`` with ``s = pow2_scale(A, B)`` (the scaled frame)."""
    s = pow2_scale(A, B)
    if s == 1.0:
        return A, B, 1.0
    return A / s, B / s, s


# --------------------------------------------------------------------------------------
# pairwise distances
# --------------------------------------------------------------------------------------

def _resolve_metric(metric):
    if callable(metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string or a callable; got {_describe(metric)}")
    check_choice(metric, "metric", METRICS)
    return "cityblock" if metric == "manhattan" else metric


def _check_block(block, shape, what, xp):
    """Validate the output of a user callable (shape and finiteness)."""
    if xp is None:
        block = np.asarray(block, dtype=np.float64)
        finite = bool(np.isfinite(block).all())
    else:
        finite = bool(xp.isfinite(block).all())
    if tuple(block.shape) != shape:
        raise ValueError(f"{what} returned shape {tuple(block.shape)}; expected {shape}")
    if not finite:
        raise ValueError(f"{what} returned non-finite values (shape {tuple(block.shape)})")
    return block


def pairwise_distances(A, B, *, metric="euclidean", chunk_size=None):
    r"""Matrix of distances :math:`d(a_i, b_j)`, computed in row chunks.

    Parameters
    ----------
    A, B : array_like or torch.Tensor, shapes (n, d) and (m, d)
        Points (already validated: finite, 2-D).
    metric : str or callable, default ``"euclidean"``
        ``"euclidean"`` :math:`\|a-b\|_2`, ``"sqeuclidean"`` :math:`\|a-b\|_2^2`,
        ``"cityblock"`` (alias ``"manhattan"``) :math:`\|a-b\|_1`, ``"chebyshev"``
        :math:`\|a-b\|_\infty`, or a vectorised callable ``metric(A_chunk, B)`` returning
        the ``(len(A_chunk), len(B))`` matrix of non-negative distances.
    chunk_size : int, optional
        Rows per chunk; the default keeps each chunk at about 4 million entries.

    Returns
    -------
    ndarray or torch.Tensor, shape (n, m)
        float64 for numpy input; see the module notes for torch and for the round-off
        clipping of the Euclidean metrics (the diagonal is exactly 0 when ``B is A``).

    Examples
    --------
    >>> import numpy as np
    >>> from divest.ipm._kernels import pairwise_distances
    >>> pairwise_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0]]))
    array([[0.],
           [5.]])
    """
    same = B is A
    A, B, xp = _common_backend(A, B)
    _check_pair_shapes(A, B)
    metric = _resolve_metric(metric)
    rows = _chunk_rows(B.shape[0], check_chunk_size(chunk_size))
    blocks = []
    for s in range(0, A.shape[0], rows):
        a = A[s:s + rows]
        if callable(metric):
            blk = _check_block(metric(a, B), (a.shape[0], B.shape[0]), "metric", xp)
            if (blk < 0).any():
                raise ValueError("metric returned negative distances")
        else:
            blk = _distance_block(a, B, metric, xp, s if same else None)
        blocks.append(blk)
    return _concat(blocks, xp)


# --------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------

class _Kernel:
    """A validated kernel: ``k(A, B)`` returns the ``(len(A), len(B))`` matrix.

    Attributes
    ----------
    name : str
        Built-in kernel name, ``"callable"`` for a user function, or ``"energy"`` for the
        negative Euclidean distance used by the energy distance.
    bandwidth : float or None
        The resolved bandwidth (None for kernels without one).
    params : dict
        The resolved kernel parameters.
    diagonal : float or None
        The constant value of k(x, x) when there is one (1 for radial kernels, 0 for the
        energy kernel), else None.
    """

    def __init__(self, name, bandwidth=None, params=None, fn=None, frame=None):
        self.name = name
        self.bandwidth = bandwidth
        # (b, unit): the bandwidth is b * unit with unit a power of two, b exact even where
        # b * unit is subnormal (the median bandwidth of subnormal data)
        self._frame = frame if frame is not None else (bandwidth, 1.0)
        self.params = dict(params or {})
        self._fn = fn
        self.diagonal = 1.0 if name in _RADIAL else (0.0 if name == "energy" else None)

    def __repr__(self):
        items = ([f"bandwidth={self.bandwidth:.6g}"] if self.bandwidth is not None else [])
        items += [f"{k}={v!r}" for k, v in sorted(self.params.items())]
        return f"Kernel({self.name!r}{''.join(', ' + i for i in items)})"

    def __call__(self, A, B):
        same = B is A
        A, B, xp = _common_backend(A, B)
        _check_pair_shapes(A, B)
        return self._block(A, B, xp, 0 if same else None)

    def _block(self, A, B, xp, start=None):
        """Kernel values of a row chunk ``A`` (offset ``start`` in ``B`` when same)."""
        name = self.name
        mod = np if xp is None else xp
        if name == "callable":
            out = self._fn(A, B, **self.params)
            return _check_block(out, (A.shape[0], B.shape[0]), "kernel", xp)
        if name in ("linear", "polynomial"):
            G = A @ B.T
            if name == "linear":
                return G
            p = self.params
            return (p["gamma"] * G + p["coef0"]) ** p["degree"]
        A, B, scale = _scaled_pair(A, B)
        return self._radial(_sqdist_block(A, B, xp, start), scale, mod)

    def _radial(self, D2, scale, mod):
        """Energy or radial kernel from squared distances ``D2`` in a frame scaled by 1/scale
        (a power of two: the bandwidth is scaled alike, so the values are bit-identical)."""
        if self.name == "energy":
            return -(D2 ** 0.5) * scale
        b, unit = self._frame
        s = b * (unit / scale)  # unit / scale is a power of two: exact
        if self.name == "gaussian":
            return mod.exp(D2 * (-0.5 / s ** 2))
        if self.name == "laplace":
            return mod.exp(D2 ** 0.5 * (-1.0 / s))
        return (1.0 + D2 / s ** 2) ** (-self.params["beta"])  # inverse_multiquadric

    def paired(self, A, B, *, chunk_size=256):
        """``k(a_i, b_i)`` for the rows of two equally long arrays (linear cost)."""
        A, B, xp = _common_backend(A, B)
        if self.name == "callable":
            out = [self._block(A[s:s + chunk_size], B[s:s + chunk_size], xp)
                   for s in range(0, A.shape[0], chunk_size)]
            diag = [o.diagonal() for o in out]
            return np.concatenate(diag) if xp is None else xp.cat(diag)
        # every built-in kernel is a function of the row-wise difference or inner product
        mod = np if xp is None else xp
        if self.name in ("linear", "polynomial"):
            G = (A * B).sum(1)
            if self.name == "linear":
                return G
            p = self.params
            return (p["gamma"] * G + p["coef0"]) ** p["degree"]
        A, B, scale = _scaled_pair(A, B)
        return self._radial(((A - B) ** 2).sum(1), scale, mod)


def _rescaled(kern: _Kernel, factor: float) -> _Kernel:
    """The radial kernel ``kern`` with its bandwidth multiplied by ``factor`` (frame kept)."""
    b, unit = kern._frame
    return _Kernel(kern.name, bandwidth=b * factor * unit, params=kern.params,
                   frame=(b * factor, unit))


def _energy_kernel() -> _Kernel:
    """k(x, y) = -||x - y||: MMD^2 with this conditionally positive definite kernel is
    the energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'|."""
    return _Kernel("energy")


def _check_keywords(given, allowed, what: str, where: str) -> None:
    """Raise TypeError for keywords outside ``allowed``, listing the valid ones."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        valid = ", ".join(sorted(allowed)) if allowed else "none"
        raise TypeError(f"unknown {what}(s) {', '.join(map(repr, unknown))} for {where}; "
                        f"valid {what}s: {valid}")


def _kernel_params(name, kernel_params, d):
    _check_keywords(kernel_params, _KERNEL_PARAMS[name], "parameter", f"kernel {name!r}")
    if name == "inverse_multiquadric":
        return {"beta": check_real(kernel_params.get("beta", 0.5), "beta", low=0)}
    if name == "polynomial":
        gamma = kernel_params.get("gamma")
        return {"degree": check_positive_int(kernel_params.get("degree", 3), "degree"),
                "gamma": 1.0 / d if gamma is None else check_real(gamma, "gamma", low=0),
                "coef0": check_real(kernel_params.get("coef0", 1.0), "coef0", low=0,
                                    low_open=False)}
    return {}


def resolve_kernel(kernel, bandwidth, X, Y=None, **kernel_params) -> _Kernel:
    """Validate a kernel specification and return the kernel function ``k(A, B)``.

    Parameters
    ----------
    kernel : str or callable
        One of :data:`KERNELS` or a user function ``k(A, B, **kernel_params)`` returning
        the ``(len(A), len(B))`` matrix (assumed symmetric; its output is checked for
        shape and finiteness).
    bandwidth : "median", positive float or None
        The bandwidth :math:`\\sigma` of the radial kernels (gaussian, laplace,
        inverse_multiquadric); ``"median"`` is :func:`median_bandwidth` of the pooled
        ``X`` and ``Y``.  Kernels without a bandwidth (linear, polynomial, callable)
        accept only ``"median"`` (the default, ignored) or None.
    X, Y : array_like or torch.Tensor, shapes (n, d), (m, d)
        The samples (validated by the caller); used for the median bandwidth and for the
        polynomial default ``gamma = 1/d``.
    **kernel_params
        ``beta`` (inverse_multiquadric, default 0.5); ``degree`` (3), ``gamma`` (1/d),
        ``coef0`` (1) for polynomial; anything for a callable.

    Returns
    -------
    callable
        ``k(A, B)`` returning the Gram block; it has attributes ``name``, ``bandwidth``,
        ``params``, ``diagonal`` and a method ``paired(A, B)`` giving ``k(a_i, b_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.ipm._kernels import resolve_kernel
    >>> k = resolve_kernel("gaussian", 1.0, np.zeros((2, 1)))
    >>> k(np.array([[0.0], [1.0]]), np.array([[0.0]]))
    array([[1.        ],
           [0.60653066]])
    """
    d = int(X.shape[1])
    if callable(kernel):
        if not (bandwidth is None or (isinstance(bandwidth, str) and bandwidth == "median")):
            raise ValueError(f"bandwidth={bandwidth!r} is not used by a callable kernel; pass "
                             "it through the kernel's own parameters")
        return _Kernel("callable", params=kernel_params, fn=kernel)
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a string or a callable; got {_describe(kernel)}")
    check_choice(kernel, "kernel", KERNELS)
    params = _kernel_params(kernel, kernel_params, d)
    if kernel not in _RADIAL:
        if not (bandwidth is None or (isinstance(bandwidth, str) and bandwidth == "median")):
            raise ValueError(f"bandwidth={bandwidth!r} is not used by kernel {kernel!r} "
                             "(only gaussian, laplace and inverse_multiquadric have one)")
        return _Kernel(kernel, params=params)
    if isinstance(bandwidth, str):
        check_choice(bandwidth, "bandwidth", ("median",))
        b, unit = _median_frame(X, Y)
        return _Kernel(kernel, bandwidth=b * unit, params=params, frame=(b, unit))
    if bandwidth is None:
        raise ValueError(f"kernel {kernel!r} needs a bandwidth: 'median' or a positive number")
    bw = check_real(bandwidth, "bandwidth", low=0)
    return _Kernel(kernel, bandwidth=bw, params=params)


def _gram_blocks(A, B, kern, *, chunk_size=None):
    """Yield ``(start, block)`` row chunks of the Gram matrix ``k(A, B)``.

    ``A``/``B`` must already share a backend (see :func:`_common_backend`) and
    ``chunk_size`` be checked (:func:`check_chunk_size`); when ``B is A`` the diagonal of the squared distances is exactly 0.
    """
    same = B is A
    A, B, xp = _common_backend(A, B)
    if same:
        B = A
    rows = _chunk_rows(B.shape[0], chunk_size)
    for s in range(0, A.shape[0], rows):
        yield s, kern._block(A[s:s + rows], B, xp, s if same else None)


def gram(A, B, kern, *, chunk_size=None):
    """Gram matrix ``K[i, j] = k(a_i, b_j)`` computed in row chunks.

    Parameters
    ----------
    A, B : array_like or torch.Tensor, shapes (n, d) and (m, d)
        Points (validated by the caller).  Pass the same object twice for the
        within-sample matrix: its squared distances then have an exact zero diagonal.
    kern : callable
        A kernel from :func:`resolve_kernel`, or any ``k(A, B)`` returning the
        ``(len(A), len(B))`` block.
    chunk_size : int, optional
        Rows per chunk (default: about 4 million entries per chunk), bounding the
        temporaries; the result itself is ``n * m`` entries.

    Returns
    -------
    ndarray (float64) or torch.Tensor, shape (n, m)

    Examples
    --------
    >>> import numpy as np
    >>> from divest.ipm._kernels import gram, resolve_kernel
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> gram(X, X, resolve_kernel("linear", None, X), chunk_size=2)
    array([[0., 0., 0.],
           [0., 1., 2.],
           [0., 2., 4.]])
    """
    if not isinstance(kern, _Kernel):
        kern = _Kernel("callable", fn=kern)
    same = B is A
    A2, B2, xp = _common_backend(A, B)
    _check_pair_shapes(A2, B2)
    blocks = [blk for _, blk in _gram_blocks(A2, A2 if same else B2, kern,
                                             chunk_size=check_chunk_size(chunk_size))]
    return _concat(blocks, xp)


# --------------------------------------------------------------------------------------
# median bandwidth
# --------------------------------------------------------------------------------------

def median_bandwidth(X, Y=None, *, max_points=_MEDIAN_MAX_POINTS, rng=None) -> float:
    r"""The median heuristic: median pairwise Euclidean distance of the pooled sample.

    .. math:: \sigma = \operatorname{median}\{\|z_i - z_j\|_2 : i < j\},
       \qquad z = (x_1, \dots, x_n, y_1, \dots, y_m),

    for use as the bandwidth of :math:`k(x, y) = \exp(-\|x-y\|^2 / (2\sigma^2))` — the
    same parametrisation as ``divest.exact.closed_form(P, Q, "mmd2", bandwidth=sigma)``.
    The median of an even number of distances is the mean of the two middle ones
    (``numpy.median``).  Distances of a point to itself are excluded; distances between
    distinct but identical points (ties) are included.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
    Y : array_like, shape (m, d) or (m,), optional
        Pooled with ``X`` when given.
    max_points : int, default 2000
        When the pooled sample is larger, the median is taken over a uniform random
        subsample of this many points (without replacement).
    rng : int, Generator or None
        Draws that subsample.  None uses a fixed seed (0), so that the bandwidth — and
        every statistic computed with it — is reproducible; the subsample is only drawn
        when the pooled sample exceeds ``max_points``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the median is 0 (at least half of the point pairs coincide, e.g. all points
        identical): no bandwidth can be derived; pass a positive number instead.

    Notes
    -----
    Other libraries (checked in their sources; please report differences):

    * hyppo (``hyppo.tools.compute_kern``, metric ``"gaussian"``) pools the samples, takes
      the median of the off-diagonal Euclidean distances of the full pooled matrix (every
      pair twice, so the same median) without subsampling, and uses
      ``gamma = 1 / (2 med^2)`` in scikit-learn's rbf — the same kernel as here.  A zero
      median is silently replaced by 1.
    * alibi-detect (``sigma_median``) takes the (lower) middle element of the sorted
      *squared* distances it is given, excluding the diagonal zeros only when the two
      arguments are the same array, and sets ``sigma = sqrt(med2 / 2)``, i.e. its kernel is
      :math:`\exp(-\|x-y\|^2/\mathrm{med}^2)` — a bandwidth :math:`\sqrt{2}` times smaller
      than here.  Which points its detectors pass (reference only, or pooled) depends on
      the detector and version; we have not verified every one.

    References
    ----------
    Gretton, A. et al. (2012). A kernel two-sample test. JMLR 13, 723-773.

    Examples
    --------
    >>> from divest.ipm import median_bandwidth
    >>> median_bandwidth([0.0, 1.0], [3.0, 7.0])  # distances 1, 3, 7, 2, 6, 4
    3.5
    """
    b, unit = _median_frame(X, Y, max_points=max_points, rng=rng)
    return b * unit


def _median_frame(X, Y=None, *, max_points=_MEDIAN_MAX_POINTS, rng=None):
    """The median bandwidth as ``(b, unit)``: ``b * unit`` with ``unit`` a power of two and
    ``b`` computed from the data divided by ``unit`` (exact; squares of coordinates near
    1e±300 stay in range, and ``b`` keeps its precision where ``b * unit`` is subnormal)."""
    Z = as_2d(_to_numpy_2d(X) if _is_torch(X) else X, "X", min_n=1)
    if Y is not None:
        Yb = as_2d(_to_numpy_2d(Y) if _is_torch(Y) else Y, "Y", min_n=1)
        if Yb.shape[1] != Z.shape[1]:
            raise ValueError(f"X and Y must have the same dimension (columns); got shapes "
                             f"{Z.shape} and {Yb.shape}")
        Z = np.concatenate([Z, Yb], axis=0)
    max_points = check_positive_int(max_points, "max_points", minimum=2)
    if Z.shape[0] < 2:
        raise ValueError(f"the median bandwidth needs at least 2 pooled points; got shape "
                         f"{Z.shape}")
    if Z.shape[0] > max_points:
        gen = check_rng(_MEDIAN_SEED if rng is None else rng)
        Z = Z[gen.choice(Z.shape[0], size=max_points, replace=False)]
    s = pow2_scale(Z)
    med = float(np.median(pdist(Z / s, "euclidean")))
    if not med > 0.0:
        raise ValueError(
            f"bandwidth='median': the median pairwise distance of the pooled sample (shape "
            f"{Z.shape}) is 0 — at least half of the point pairs coincide (all points "
            "identical?); pass a positive bandwidth")
    return med, s


def kernel_matrix(X, Y=None, *, kernel="gaussian", bandwidth="median", chunk_size=None,
                  **kernel_params):
    r"""Kernel (Gram) matrix :math:`K_{ij} = k(x_i, y_j)` of two samples.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (n, d) or (n,)
    Y : array_like or torch.Tensor, shape (m, d) or (m,), optional
        Defaults to ``X`` (the within-sample matrix, exact kernel diagonal).
    kernel : str or callable, default ``"gaussian"``
        One of ``"gaussian"``, ``"inverse_multiquadric"``, ``"laplace"``, ``"linear"``,
        ``"polynomial"`` (formulas in :mod:`divest.ipm`), or ``k(A, B, **kernel_params)``.
    bandwidth : "median", positive float or None, default ``"median"``
        Bandwidth :math:`\sigma` of the radial kernels; ``"median"`` is
        :func:`median_bandwidth` of the pooled X and Y.
    chunk_size : int, optional
        Rows per chunk of the computation.
    **kernel_params
        ``beta`` (inverse_multiquadric), ``degree``, ``gamma``, ``coef0`` (polynomial).

    Returns
    -------
    ndarray of float64, shape (n, m), or a torch.Tensor for torch input

    Examples
    --------
    >>> from divest.ipm import kernel_matrix
    >>> kernel_matrix([[0.0], [1.0]], kernel="gaussian", bandwidth=1.0)
    array([[1.        , 0.60653066],
           [0.60653066, 1.        ]])
    >>> kernel_matrix([[1.0, 2.0]], [[3.0, 4.0]], kernel="polynomial")  # (11/2 + 1)^3
    array([[274.625]])
    """
    Xa = _validated(X, "X")
    Ya = Xa if Y is None else _validated(Y, "Y")
    if Xa.shape[1] != Ya.shape[1]:
        raise ValueError(f"X and Y must have the same dimension (columns); got shapes "
                         f"{tuple(Xa.shape)} and {tuple(Ya.shape)}")
    kern = resolve_kernel(kernel, bandwidth, Xa, None if Y is None else Ya, **kernel_params)
    return gram(Xa, Ya, kern, chunk_size=chunk_size)


def _validated(x, name):
    """A 2-D finite sample: numpy float64 via as_2d, torch tensors checked in torch."""
    if not _is_torch(x):
        return as_2d(x, name, min_n=1)
    import torch

    if x.dtype.is_complex:
        raise TypeError(f"{name} must be array-like of real numbers; got a complex tensor of "
                        f"shape {tuple(x.shape)} and dtype {x.dtype} (take .real or .abs() "
                        "explicitly)")
    t = x if x.dtype.is_floating_point else x.to(torch.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D or 2-D tensor; got shape "
                         f"{tuple(x.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains non-finite values; shape {tuple(x.shape)}")
    return t


# --------------------------------------------------------------------------------------
# validation shared by wasserstein, mmd and energy_distance
# --------------------------------------------------------------------------------------

#: tolerance on the sum of sample weights
_WEIGHT_ATOL = 1e-8


def _check_weights(w, name: str, n: int, sample: str):
    """Validate sample weights: None (uniform) or 1-D, length n, finite, >= 0, sum 1.

    Returns float64 weights renormalised to sum exactly to 1 (the deviation is within
    ``_WEIGHT_ATOL``), or None.
    """
    if w is None:
        return None
    arr = check_finite_array(_to_numpy_2d(w) if _is_torch(w) else w, name, ndim=(1,))
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one weight per row of {sample} ({n}); got shape "
                         f"{arr.shape}")
    if np.any(arr < 0):
        i = int(np.argmax(arr < 0))
        raise ValueError(f"{name} must be non-negative; found {float(arr[i])!r} at index {i}; shape "
                         f"{arr.shape}")
    total = float(arr.sum())
    if abs(total - 1.0) > _WEIGHT_ATOL:
        raise ValueError(f"{name} must sum to 1 (within {_WEIGHT_ATOL:g}); it sums to "
                         f"{total!r} (shape {arr.shape}); divide it by its sum")
    return arr / total
