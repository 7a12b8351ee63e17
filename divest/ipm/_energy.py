r"""Energy distance in any dimension (Székely & Rizzo), chunked.

:math:`\mathcal{E}(P, Q) = 2\,\mathbb{E}\|X-Y\| - \mathbb{E}\|X-X'\| - \mathbb{E}\|Y-Y'\|`
equals :math:`\mathrm{MMD}^2` with the conditionally positive definite "kernel"
:math:`k(x, y) = -\|x-y\|`, so it reuses the MMD row-sum pass of :mod:`._mmd`.
"""

from __future__ import annotations

import numpy as np

from .._result import Estimate
from .._validation import check_choice
from ..estimators._common import check_samples
from ._kernels import _check_weights, _energy_kernel, check_chunk_size
from ._mmd import _quadratic_estimate, _RowSums, _value, _weighted_value

__all__ = ["energy_distance"]

_ESTIMATORS = ("biased", "unbiased")


def energy_distance(X, Y, *, estimator="unbiased", a=None, b=None, chunk_size=None) -> float:
    r"""Energy distance between two samples in any dimension (the squared form).

    .. math:: \mathcal{E} = 2\,\mathbb{E}\|X-Y\| - \mathbb{E}\|X-X'\| - \mathbb{E}\|Y-Y'\|

    with Euclidean norms.  This is the *squared* form: it is 0 iff P = Q and
    :math:`\sqrt{\mathcal E}` is a metric.  In 1-D,
    :math:`\mathcal{E} = 2\int (F_P - F_Q)^2\,dx` and ``scipy.stats.energy_distance``
    returns :math:`\sqrt{\mathcal{E}}` of the biased estimate, i.e.
    ``scipy.stats.energy_distance(x, y) == sqrt(energy_distance(x, y,
    estimator="biased"))`` (weights included).  The default is the unbiased
    U-statistic, as for :func:`divest.ipm.mmd`, ``divergence(X, Y, "energy")`` and
    ``two_sample_test(X, Y, "energy")``.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        Sample of P.
    Y : array_like, shape (m, d) or (m,)
        Sample of Q.
    estimator : {"unbiased", "biased"}, default ``"unbiased"``
        ``"biased"``: V-statistic, expectations over the empirical distributions
        (:math:`\frac{2}{nm}\sum_{ij}\|x_i-y_j\| - \frac{1}{n^2}\sum_{ij}\|x_i-x_j\| -
        \frac{1}{m^2}\sum_{ij}\|y_i-y_j\|`, always :math:`\ge 0`, matches scipy).
        ``"unbiased"``: U-statistic, the within-sample means over :math:`i \ne j`
        (divided by :math:`n(n-1)` and :math:`m(m-1)`); may be negative, reported as is.
    a, b : array_like, optional
        Weights of the points of X and Y (non-negative, summing to 1); only with
        ``estimator="biased"`` (pass it), where the expectations become weighted sums.
    chunk_size : int, optional
        Rows per chunk of the distance computations; memory stays O(n + m) beyond one
        chunk (the distance matrices are never stored).

    Returns
    -------
    float

    Notes
    -----
    Cost O((n + m)^2 d).  Distances for d <= 16 come from ``scipy.spatial.distance.cdist``.

    References
    ----------
    Székely, G. J., Rizzo, M. L. (2013). Energy statistics: a class of statistics based on
    distances. Journal of Statistical Planning and Inference 143, 1249-1272.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from divest.ipm import energy_distance
    >>> x, y = [0.0, 1.0, 3.0], [2.0, 5.0]
    >>> e = energy_distance(x, y, estimator="biased")
    >>> e
    2.1666...
    >>> bool(np.isclose(np.sqrt(e), stats.energy_distance(x, y)))
    True
    >>> energy_distance(x, y)   # the unbiased U-statistic (the default): 5 - 2 - 3
    0.0
    """
    return _energy_distance(*_energy_distance_iv(X, Y, estimator, a, b, chunk_size))


def _energy_distance_iv(X, Y, estimator, a, b, chunk_size):
    X, Y = check_samples(X, Y)
    check_choice(estimator, "estimator", _ESTIMATORS)
    a = _check_weights(a, "a", X.shape[0], "X")
    b = _check_weights(b, "b", Y.shape[0], "Y")
    if (a is not None or b is not None) and estimator != "biased":
        raise ValueError("weights a, b are only supported with estimator='biased' (the "
                         f"U-statistic has no weighted form); got estimator={estimator!r}")
    return X, Y, estimator, a, b, check_chunk_size(chunk_size)


def _energy_distance(X, Y, estimator, a, b, chunk_size):
    """The energy distance from validated arguments (:func:`_energy_distance_iv`)."""
    kern = _energy_kernel()
    if a is None and b is None:
        return _value(_RowSums(X, Y, kern, chunk_size=chunk_size), estimator)
    a = np.full(X.shape[0], 1.0 / X.shape[0]) if a is None else a
    b = np.full(Y.shape[0], 1.0 / Y.shape[0]) if b is None else b
    return _weighted_value(_RowSums(X, Y, kern, chunk_size=chunk_size, a=a, b=b), a, b)


def _energy_estimate(X, Y, *, estimator="unbiased", chunk_size=None) -> Estimate:
    """The energy distance as an :class:`~divest.Estimate` with a delete-one jackknife
    standard error (unweighted).  X and Y come from ``check_samples``
    (``divest.divergence``)."""
    check_choice(estimator, "estimator", _ESTIMATORS)
    return _quadratic_estimate(X, Y, _energy_kernel(), estimator, name="energy",
                               method=f"energy_{estimator}",
                               chunk_size=check_chunk_size(chunk_size),
                               details={"estimator": estimator})
