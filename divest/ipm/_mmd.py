r"""Maximum mean discrepancy: the squared MMD and its four estimators.

For a kernel :math:`k`, :math:`\mathrm{MMD}^2(P, Q) = \mathbb{E}k(X, X') +
\mathbb{E}k(Y, Y') - 2\,\mathbb{E}k(X, Y)` with :math:`X, X' \sim P` and
:math:`Y, Y' \sim Q` independent.  The quadratic-time estimators (biased V-statistic,
unbiased U-statistic) share one chunked pass over the three Gram matrices that keeps
only row sums, so memory stays O(n + m) beyond one chunk; the same pass gives the
closed-form delete-one jackknife standard error.  The energy distance
(:mod:`divest.ipm._energy`) reuses it with :math:`k(x, y) = -\|x-y\|`.
"""

from __future__ import annotations

import math

import numpy as np

from .._result import Estimate
from .._validation import check_choice, check_positive_int
from ..estimators._common import check_samples
from ._kernels import _gram_blocks, check_chunk_size, resolve_kernel

__all__ = ["mmd"]

#: estimators of MMD^2
ESTIMATORS = ("biased", "block", "linear", "unbiased")


# --------------------------------------------------------------------------------------
# quadratic-time core (shared with the energy distance)
# --------------------------------------------------------------------------------------

class _RowSums:
    """Row sums of the three Gram matrices, and the kernel diagonals.

    Attributes: ``rx`` (n,) row sums of Kxx (diagonal included), ``ry`` (m,) of Kyy,
    ``cx`` (n,) row sums and ``cy`` (m,) column sums of Kxy, ``dx``/``dy`` diagonals.
    With weights ``a``/``b`` the "sums" are the products K @ b etc. (see ``_weighted``).
    """

    def __init__(self, X, Y, kern, *, chunk_size=None, a=None, b=None):
        n, m = X.shape[0], Y.shape[0]
        self.n, self.m = n, m
        wa = np.ones(n) if a is None else a
        wb = np.ones(m) if b is None else b
        self.rx, self.dx = self._within(X, kern, wa, chunk_size)
        self.ry, self.dy = self._within(Y, kern, wb, chunk_size)
        self.cx = np.empty(n)
        self.cy = np.zeros(m)
        for s, blk in _gram_blocks(X, Y, kern, chunk_size=chunk_size):
            blk = np.asarray(blk)
            self.cx[s:s + blk.shape[0]] = blk @ wb
            self.cy += wa[s:s + blk.shape[0]] @ blk

    @staticmethod
    def _within(A, kern, w, chunk_size):
        n = A.shape[0]
        r = np.empty(n)
        d = None if kern.diagonal is not None else np.empty(n)
        for s, blk in _gram_blocks(A, A, kern, chunk_size=chunk_size):
            blk = np.asarray(blk)
            rows = blk.shape[0]
            r[s:s + rows] = blk @ w
            if d is not None:
                idx = np.arange(rows)
                d[s:s + rows] = blk[idx, s + idx]
        if d is None:
            d = np.full(n, kern.diagonal)
        return r, d


def _value(S: _RowSums, estimator: str) -> float:
    """MMD^2 from unweighted row sums (biased V- or unbiased U-statistic)."""
    n, m = S.n, S.m
    sxx, syy, sxy = S.rx.sum(), S.ry.sum(), S.cx.sum()
    if estimator == "biased":
        return float(sxx / n ** 2 + syy / m ** 2 - 2.0 * sxy / (n * m))
    return float((sxx - S.dx.sum()) / (n * (n - 1)) + (syy - S.dy.sum()) / (m * (m - 1))
                 - 2.0 * sxy / (n * m))


def _weighted_value(S: _RowSums, a, b) -> float:
    """a'Kxx a + b'Kyy b - 2 a'Kxy b from the weighted products of ``_RowSums``."""
    return float(a @ S.rx + b @ S.ry - 2.0 * (a @ S.cx))


def _jackknife_se(S: _RowSums, estimator: str) -> float:
    r"""Two-sample delete-one jackknife (Arvesen 1969) standard error, in O(n + m).

    Deleting :math:`x_i` changes the within-X sum by its row and column (symmetric
    kernel) and the cross sum by its row; likewise for :math:`y_j`.
    """
    n, m = S.n, S.m
    sxx, syy, sxy = S.rx.sum(), S.ry.sum(), S.cx.sum()
    if estimator == "unbiased":
        oxx, oyy = sxx - S.dx.sum(), syy - S.dy.sum()
        txx, tyy = oxx / (n * (n - 1)), oyy / (m * (m - 1))
        loo_x = ((oxx - 2.0 * (S.rx - S.dx)) / ((n - 1) * (n - 2)) + tyy
                 - 2.0 * (sxy - S.cx) / ((n - 1) * m))
        loo_y = (txx + (oyy - 2.0 * (S.ry - S.dy)) / ((m - 1) * (m - 2))
                 - 2.0 * (sxy - S.cy) / (n * (m - 1)))
    else:
        txx, tyy = sxx / n ** 2, syy / m ** 2
        loo_x = ((sxx - 2.0 * S.rx + S.dx) / (n - 1) ** 2 + tyy
                 - 2.0 * (sxy - S.cx) / ((n - 1) * m))
        loo_y = (txx + (syy - 2.0 * S.ry + S.dy) / (m - 1) ** 2
                 - 2.0 * (sxy - S.cy) / (n * (m - 1)))
    var = ((n - 1) / n * np.sum((loo_x - loo_x.mean()) ** 2)
           + (m - 1) / m * np.sum((loo_y - loo_y.mean()) ** 2))
    return math.sqrt(var)


# --------------------------------------------------------------------------------------
# linear-time and block estimators
# --------------------------------------------------------------------------------------

def _linear_terms(X, Y, kern) -> np.ndarray:
    """h_i = k(x_{2i-1}, x_{2i}) + k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i}) - k(x_{2i}, y_{2i-1})
    over the first 2 * floor(min(n, m) / 2) points of each sample."""
    half = min(X.shape[0], Y.shape[0]) // 2
    x1, x2 = X[0:2 * half:2], X[1:2 * half:2]
    y1, y2 = Y[0:2 * half:2], Y[1:2 * half:2]
    return np.asarray(kern.paired(x1, x2) + kern.paired(y1, y2) - kern.paired(x1, y2)
                      - kern.paired(x2, y1))


def _block_terms(X, Y, kern, block_size: int, chunk_size=None) -> np.ndarray:
    """Unbiased MMD^2 of consecutive blocks of ``block_size`` points of X and of Y."""
    nb = min(X.shape[0], Y.shape[0]) // block_size
    out = np.empty(nb)
    for i in range(nb):
        sl = slice(i * block_size, (i + 1) * block_size)
        out[i] = _value(_RowSums(X[sl], Y[sl], kern, chunk_size=chunk_size), "unbiased")
    return out


# --------------------------------------------------------------------------------------
# public function and the Estimate helper
# --------------------------------------------------------------------------------------

def _mmd_iv(X, Y, kernel, bandwidth, estimator, block_size, chunk_size, kernel_params, *,
            arrays_checked=False):
    """Validated ``(X, Y, kernel, estimator, block_size, chunk_size)`` of :func:`mmd` (the
    kernel resolved, its median bandwidth computed); ``arrays_checked=True``: X and Y
    already come from ``check_samples``."""
    X, Y = check_samples(X, Y, checked=arrays_checked)
    check_choice(estimator, "estimator", ESTIMATORS)
    if estimator == "block":
        nmin = min(X.shape[0], Y.shape[0])
        if block_size is None:
            block_size = max(2, math.isqrt(nmin))
        block_size = check_positive_int(block_size, "block_size", minimum=2)
        if block_size > nmin:
            raise ValueError(f"block_size={block_size} exceeds the smaller sample size "
                             f"min(n, m) = {nmin} (X {X.shape}, Y {Y.shape})")
    elif block_size is not None:
        raise ValueError(f"block_size={block_size!r} is only used by estimator='block'; got "
                         f"estimator={estimator!r}")
    kern = resolve_kernel(kernel, bandwidth, X, Y, **kernel_params)
    if estimator != "linear":  # the linear statistic has no Gram chunks
        chunk_size = check_chunk_size(chunk_size)
    return X, Y, kern, estimator, block_size, chunk_size


def _terms_estimate(h: np.ndarray, what: str):
    """(mean, standard error, details) of i.i.d. terms h."""
    if h.size >= 2:
        return float(h.mean()), float(h.std(ddof=1) / math.sqrt(h.size)), {}
    return float(h.mean()), math.nan, {"standard_error": f"needs at least 2 {what}; got "
                                                          f"{h.size}"}


def _quadratic_estimate(X, Y, kern, estimator, *, name, method, chunk_size=None,
                        details=None) -> Estimate:
    """Biased / unbiased quadratic-time statistic with its jackknife standard error."""
    S = _RowSums(X, Y, kern, chunk_size=chunk_size)
    value = _value(S, estimator)
    info = dict(details or {})
    min_n = 3 if estimator == "unbiased" else 2
    if min(S.n, S.m) >= min_n:
        se = _jackknife_se(S, estimator)
        info["standard_error"] = "delete-one jackknife"
    else:
        se = math.nan
        info["standard_error"] = f"the jackknife needs n, m >= {min_n}"
    return Estimate.from_value(value, standard_error=se, method=method, name=name,
                               n_p=S.n, n_q=S.m, details=info)


def _mmd_estimate(X, Y, *, kernel="gaussian", bandwidth="median", estimator="unbiased",
                  block_size=None, chunk_size=None, **kernel_params) -> Estimate:
    """MMD^2 as an :class:`~divest.Estimate` with a standard error.

    Same parameters as :func:`mmd`.  Standard errors: delete-one jackknife of the U/V
    statistic (computed exactly from row sums, O(n + m) extra work), the sample standard
    deviation of the h-terms over sqrt(n // 2) for ``"linear"``, and of the block
    statistics over sqrt(#blocks) for ``"block"``.  ``details`` holds the kernel, the
    resolved bandwidth and the estimator.  X and Y come from ``check_samples``
    (``divest.divergence``).
    """
    X, Y, kern, estimator, block_size, chunk_size = _mmd_iv(
        X, Y, kernel, bandwidth, estimator, block_size, chunk_size, kernel_params,
        arrays_checked=True)
    details = {"kernel": kern.name, "bandwidth": kern.bandwidth, "kernel_params": kern.params,
               "estimator": estimator}
    method = f"mmd_{estimator}"
    if estimator in ("biased", "unbiased"):
        return _quadratic_estimate(X, Y, kern, estimator, name="mmd2", method=method,
                                   chunk_size=chunk_size, details=details)
    if estimator == "linear":
        h = _linear_terms(X, Y, kern)
        value, se, extra = _terms_estimate(h, "pairs")
        details["n_pairs"] = int(h.size)
    else:
        h = _block_terms(X, Y, kern, block_size, chunk_size)
        value, se, extra = _terms_estimate(h, "blocks")
        details.update(block_size=block_size, n_blocks=int(h.size))
    details.setdefault("standard_error", "sample standard deviation of i.i.d. terms")
    details.update(extra)
    return Estimate.from_value(value, standard_error=se, method=method, name="mmd2",
                               n_p=X.shape[0], n_q=Y.shape[0], details=details)


def mmd(X, Y, *, kernel="gaussian", bandwidth="median", estimator="unbiased",
        block_size=None, chunk_size=None, **kernel_params) -> float:
    r"""Squared maximum mean discrepancy :math:`\mathrm{MMD}^2` between two samples.

    Returns the **square**, :math:`\mathrm{MMD}^2_k(P, Q) = \mathbb{E}k(X,X') +
    \mathbb{E}k(Y,Y') - 2\,\mathbb{E}k(X,Y)`, the quantity named ``"mmd2"`` in
    ``divest.exact.closed_form(P, Q, "mmd2", bandwidth=s)``.  With
    :math:`K^{XX}, K^{YY}, K^{XY}` the Gram matrices:

    * ``"biased"`` (V-statistic, :math:`\ge 0` for a positive definite kernel):
      :math:`\frac{1}{n^2}\sum_{i,j} K^{XX}_{ij} + \frac{1}{m^2}\sum_{i,j} K^{YY}_{ij}
      - \frac{2}{nm}\sum_{i,j} K^{XY}_{ij}`; bias :math:`O(1/n + 1/m)`.
    * ``"unbiased"`` (U-statistic, default): the same with the diagonals removed,
      :math:`\frac{1}{n(n-1)}\sum_{i\ne j} K^{XX}_{ij} + \frac{1}{m(m-1)}\sum_{i\ne j}
      K^{YY}_{ij} - \frac{2}{nm}\sum_{i,j} K^{XY}_{ij}`; n ≠ m is fine.  It is unbiased,
      so it **can be negative** when P = Q or when the samples are small; the value is
      reported as it is, never clamped.
    * ``"linear"`` (Gretton et al. 2012, Lemma 14): the mean over
      :math:`i = 1..\lfloor \min(n, m)/2\rfloor` of :math:`h_i = k(x_{2i-1}, x_{2i}) +
      k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i}) - k(x_{2i}, y_{2i-1})`; unbiased, O(n)
      time; with n ≠ m the longer sample is truncated to the first
      :math:`2\lfloor\min(n,m)/2\rfloor` points (so are odd sample sizes).
    * ``"block"`` (B-test, Zaremba et al. 2013): the mean of the unbiased statistic over
      consecutive blocks of ``block_size`` points of X and Y (default
      :math:`\lfloor\sqrt{\min(n, m)}\rfloor`); unbiased, O(n · block_size) time; the
      points past the last full block of the smaller sample are not used.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        Sample of P (torch tensors are converted to numpy).
    Y : array_like, shape (m, d) or (m,)
        Sample of Q.
    kernel : str or callable, default ``"gaussian"``
        ``"gaussian"`` :math:`e^{-\|x-y\|^2/(2\sigma^2)}`, ``"laplace"``
        :math:`e^{-\|x-y\|/\sigma}`, ``"inverse_multiquadric"``
        :math:`(1+\|x-y\|^2/\sigma^2)^{-\beta}`, ``"polynomial"``
        :math:`(\gamma\,x\cdot y + c_0)^{\mathrm{degree}}` (KID: 3, 1/d, 1), ``"linear"``
        :math:`x\cdot y`, or a symmetric ``k(A, B, **kernel_params)``.
    bandwidth : "median" or positive float, default ``"median"``
        :math:`\sigma`; ``"median"`` is :func:`divest.ipm.median_bandwidth` of the pooled
        sample (the median pairwise Euclidean distance).
    estimator : {"unbiased", "biased", "linear", "block"}
    block_size : int, optional
        Block size of ``estimator="block"`` (>= 2, <= min(n, m)).
    chunk_size : int, optional
        Rows per chunk of the Gram computations (memory bound).
    **kernel_params
        ``beta`` (inverse_multiquadric); ``degree``, ``gamma``, ``coef0`` (polynomial).

    Returns
    -------
    float
        The estimate of :math:`\mathrm{MMD}^2`.

    Notes
    -----
    Cost: O((n + m)^2 d) time and O(n + m) memory beyond one chunk for the quadratic
    estimators (the Gram matrices are reduced chunk by chunk and never stored).  For a
    standard error use a two-sample test (``divest.two_sample_test``) or repeat.

    References
    ----------
    Gretton, A., Borgwardt, K., Rasch, M., Schölkopf, B., Smola, A. (2012). A kernel
    two-sample test. JMLR 13, 723-773.
    Zaremba, W., Gretton, A., Blaschko, M. (2013). B-test: a non-parametric, low variance
    kernel two-sample test. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.ipm import mmd
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> Y = np.array([[0.5], [3.0]])
    >>> mmd(X, Y, bandwidth=1.0, estimator="biased")
    0.2074...
    >>> mmd(X, Y, bandwidth=1.0)  # unbiased, diagonals removed
    -0.4541...
    """
    return _mmd(*_mmd_iv(X, Y, kernel, bandwidth, estimator, block_size, chunk_size,
                         kernel_params))


def _mmd(X, Y, kern, estimator, block_size, chunk_size):
    """MMD^2 from validated arguments (:func:`_mmd_iv`)."""
    if estimator == "linear":
        return float(_linear_terms(X, Y, kern).mean())
    if estimator == "block":
        return float(_block_terms(X, Y, kern, block_size, chunk_size).mean())
    return _value(_RowSums(X, Y, kern, chunk_size=chunk_size), estimator)
