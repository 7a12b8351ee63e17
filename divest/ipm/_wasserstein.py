r"""Wasserstein-p distance between two weighted samples.

:math:`W_p(\mu, \nu) = \big(\min_{\pi \in \Pi(a, b)} \sum_{ij} \pi_{ij}\,
d(x_i, y_j)^p\big)^{1/p}` for :math:`\mu = \sum_i a_i \delta_{x_i}`,
:math:`\nu = \sum_j b_j \delta_{y_j}`.  Every method returns the p-th root :math:`W_p`
(POT's ``emd2`` returns the cost :math:`W_p^p`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._validation import _describe, check_choice, check_positive_int, check_real, check_rng
from ..estimators._common import check_samples
from ._kernels import _check_keywords, _check_weights, pairwise_distances, pow2_scale

__all__ = ["wasserstein"]

METHODS = ("auto", "exact", "sinkhorn", "sliced", "sorting")
#: ground metrics (all coincide with |x - y| in 1-D)
_METRICS = ("chebyshev", "cityblock", "euclidean", "manhattan")
#: options each method accepts
_OPTIONS = {"exact": ("numItermax",), "sorting": (),
            "sinkhorn": ("numItermax", "reg", "stopThr"),
            "sliced": ("n_projections", "rng")}

#: method="auto" solves exactly while n * m is at most this.  benchmarks/wasserstein.py
#: (2-core shared machine, d = 10, p = 1, one BLAS thread; cost matrix + POT network
#: simplex) measured the exact solver at 0.13 s for n = m = 1000, 0.6 s at 1500, 1.2 s
#: at 2000, 3.9 s at 3000 (8.7 s at 4000 in a separate run): time grows like
#: n^2.9 = (nm)^1.4, so above 2000 x 2000 it stops being practical as a default.  The
#: debiased Sinkhorn divergence was not faster than exact at any n <= 4000 there.
_EXACT_MAX_NM = 2000 * 2000
#: default relative entropic regularisation: reg = _SINKHORN_REL_REG * mean cost
_SINKHORN_REL_REG = 0.01
_SINKHORN_ITERS = 10_000
_SLICED_PROJECTIONS = 200


def _cost(X, Y, p, metric):
    M = pairwise_distances(X, Y, metric=metric)
    return M if p == 1.0 else M ** p


def _root(cost: float, p: float) -> float:
    """cost^(1/p), keeping the sign of a (round-off) negative cost."""
    return math.copysign(abs(cost) ** (1.0 / p), cost)


# --------------------------------------------------------------------------------------
# methods (unchecked cores: validated arrays and weights)
# --------------------------------------------------------------------------------------

def _exact(X, Y, a, b, p, metric, numItermax=None):
    import ot

    n, m = X.shape[0], Y.shape[0]
    if numItermax is None:
        numItermax = max(100_000, 50 * n * m)
    M = np.ascontiguousarray(_cost(X, Y, p, metric))
    if not np.isfinite(M).all():  # POT would report "Problem infeasible"
        raise ValueError(f"metric: the transport cost d(x, y)**p overflows to inf for p={p:g} "
                         f"(X {X.shape}, Y {Y.shape}); the callable metric's distances are too "
                         "large for float64 at this p: rescale the metric")
    a = np.full(n, 1.0 / n) if a is None else a
    b = np.full(m, 1.0 / m) if b is None else b
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cost, log = ot.emd2(a, b, M, numItermax=numItermax, log=True)
    code = int(log["result_code"])
    if code != 1:  # 1 = OPTIMAL; 0 infeasible, 2 unbounded, 3 iteration limit
        hint = (f" (numItermax={numItermax}); pass a larger numItermax or an approximate "
                "method ('sinkhorn', 'sliced')" if code == 3 else "")
        raise RuntimeError(f"wasserstein(method='exact'): POT's network simplex did not reach "
                           f"the optimum (result_code={code}: {log['warning']}){hint}; "
                           f"n={n}, m={m}")
    for w in caught:  # anything else POT had to say
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return _root(float(cost), p)


def _quantile_grid(x, w):
    """Sorted values and cumulative weights (last one exactly 1) of a weighted 1-D sample."""
    if w is None:
        return np.sort(x), np.arange(1, x.size + 1) / x.size
    order = np.argsort(x, kind="stable")
    c = np.cumsum(w[order])
    c[-1] = 1.0
    return x[order], c


def _sorting(x, y, a, b, p):
    r"""Exact 1-D W_p through the quantile functions, O((n + m) log(n + m)):
    :math:`W_p^p = \int_0^1 |F^{-1}(u) - G^{-1}(u)|^p du`."""
    if a is None and b is None and x.size == y.size:
        diff = np.abs(np.sort(x) - np.sort(y))
        return _root(float(np.mean(diff if p == 1.0 else diff ** p)), p)
    xs, cx = _quantile_grid(x, a)
    ys, cy = _quantile_grid(y, b)
    u = np.unique(np.concatenate(([0.0], cx, cy)))
    mid = 0.5 * (u[:-1] + u[1:])
    qx = xs[np.minimum(np.searchsorted(cx, mid), x.size - 1)]
    qy = ys[np.minimum(np.searchsorted(cy, mid), y.size - 1)]
    diff = np.abs(qx - qy)
    return _root(float(np.diff(u) @ (diff if p == 1.0 else diff ** p)), p)


def _entropic_cost(u, v, M, reg, numItermax, stopThr):
    """(<pi, M>, final marginal error) of the entropic plan: POT's Sinkhorn-Knopp
    iterations first (fast matrix-vector products), the log-domain ones (slow, but no
    underflow of exp(-M / reg)) where those break down numerically."""
    import ot

    for solver in ("sinkhorn", "sinkhorn_log"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # POT's own messages; the outcome is checked here
            val, log = ot.sinkhorn2(u, v, M, reg, method=solver, numItermax=numItermax,
                                    stopThr=stopThr, log=True, warn=False)
        val = float(val)
        err = float(log["err"][-1]) if log["err"] else math.inf
        broke = any("umerical errors" in str(w.message) for w in caught)
        if math.isfinite(val) and not math.isnan(err) and not broke:
            return val, err
    raise RuntimeError(f"wasserstein(method='sinkhorn'): numerical failure (value {val!r}, "
                       f"marginal error {err!r}) with reg={reg:g}; increase reg")


def _sinkhorn(X, Y, a, b, p, metric, reg=None, numItermax=_SINKHORN_ITERS, stopThr=1e-5):
    n, m = X.shape[0], Y.shape[0]
    a = np.full(n, 1.0 / n) if a is None else a
    b = np.full(m, 1.0 / m) if b is None else b
    # zero-weight points carry no mass; dropping them keeps log(a) finite
    X, a = X[a > 0], a[a > 0]
    Y, b = Y[b > 0], b[b > 0]
    Mxy = _cost(X, Y, p, metric)
    if reg is None:
        reg = _SINKHORN_REL_REG * float(a @ Mxy @ b)
        if reg == 0.0:  # every point of X coincides with every point of Y
            return 0.0, 0.0
        reg = check_real(reg, "reg", low=0)  # the default from the costs (inf if they overflow)
    parts = []
    for u, v, M in ((a, b, Mxy), (a, a, _cost(X, X, p, metric)), (b, b, _cost(Y, Y, p, metric))):
        val, err = _entropic_cost(u, v, M, reg, numItermax, stopThr)
        if not err < stopThr:
            warnings.warn(f"wasserstein(method='sinkhorn'): Sinkhorn iterations stopped at "
                          f"numItermax={numItermax} with marginal error {err:.3g} > "
                          f"stopThr={stopThr:g}; the value is not converged (increase "
                          "numItermax or reg)", UserWarning, stacklevel=3)
        parts.append(val)
    return _root(parts[0] - 0.5 * parts[1] - 0.5 * parts[2], p), reg


def _sliced(X, Y, a, b, p, n_projections=_SLICED_PROJECTIONS, rng=None):
    import ot

    gen = np.random.default_rng() if rng is None else rng
    proj = gen.standard_normal((X.shape[1], n_projections))
    proj /= np.linalg.norm(proj, axis=0, keepdims=True)
    return float(ot.sliced_wasserstein_distance(X, Y, a, b, p=p, projections=proj))


# --------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------

def _check_metric(metric):
    if callable(metric):
        return metric
    if isinstance(metric, str) and metric == "sqeuclidean":
        raise ValueError("metric='sqeuclidean' is not a metric; W_p uses the ground distance "
                         "d(x, y) and raises it to the power p: use metric='euclidean', p=2")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string or a callable; got {_describe(metric)}")
    return check_choice(metric, "metric", _METRICS)


def _auto_method(n, m, d, metric):
    if d == 1 and not callable(metric):
        return "sorting"
    if n * m <= _EXACT_MAX_NM:
        return "exact"
    # on CPU the Sinkhorn iterations are slower than the exact solver at these sizes
    # (benchmarks/wasserstein.py); sliced is O(n_projections (n + m) log(n + m))
    return "sliced" if metric == "euclidean" else "sinkhorn"


def wasserstein(X, Y, p=1, *, a=None, b=None, metric="euclidean", method="auto",
                **options) -> float:
    r"""Wasserstein-p distance :math:`W_p` between two (weighted) samples.

    .. math:: W_p(\mu, \nu) = \Big(\min_{\pi \ge 0,\ \pi 1 = a,\ \pi^T 1 = b}
              \sum_{i,j} \pi_{ij}\, d(x_i, y_j)^p\Big)^{1/p},
              \qquad \mu = \sum_i a_i \delta_{x_i},\ \nu = \sum_j b_j \delta_{y_j}.

    Always the p-th root :math:`W_p` (not the transport cost :math:`W_p^p` that
    ``ot.emd2`` returns).

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        Support of the first measure (n >= 2).
    Y : array_like, shape (m, d) or (m,)
        Support of the second measure (m >= 2).
    p : float >= 1, default 1
        Order.
    a, b : array_like, shape (n,) and (m,), optional
        Weights (non-negative, summing to 1 within 1e-8; rescaled to sum exactly to 1).
        Default uniform.
    metric : str or callable, default ``"euclidean"``
        Ground distance d: ``"euclidean"``, ``"cityblock"`` (``"manhattan"``),
        ``"chebyshev"``, or a vectorised ``metric(A, B)`` returning the
        ``(len(A), len(B))`` matrix of distances.  The cost is :math:`d^p` (so
        ``metric="euclidean", p=2`` is the usual :math:`W_2` with squared Euclidean cost;
        ``"sqeuclidean"`` is refused as it is not a metric).
    method : {"auto", "exact", "sorting", "sinkhorn", "sliced"}
        * ``"exact"``: POT's network simplex (``ot.emd2``) in float64 on the
          :math:`n \times m` cost matrix; O(nm) memory; time grew like
          :math:`(nm)^{1.4}` in ``benchmarks/wasserstein.py`` (~1-2.5 s at n = m = 2000,
          d = 10, on 2 cores).
          If the solver stops at its iteration limit (or reports an infeasible
          problem) a ``RuntimeError`` is raised — never a silent wrong number.
          Option ``numItermax`` (default ``max(1e5, 50 n m)``).
        * ``"sorting"``: exact in 1-D (d = 1) by matching quantile functions,
          :math:`W_p^p = \int_0^1 |F^{-1}(u) - G^{-1}(u)|^p du`, O((n+m) log(n+m)), weights
          supported; for p = 1 it equals ``scipy.stats.wasserstein_distance``.
        * ``"sinkhorn"`` (approximation): :math:`S^{1/p}` of the debiased Sinkhorn
          divergence :math:`S = \langle\pi_{ab}, C_{xy}\rangle - \frac12\langle\pi_{aa},
          C_{xx}\rangle - \frac12\langle\pi_{bb}, C_{yy}\rangle`, each :math:`\pi` the
          entropic plan of POT's ``ot.sinkhorn2`` (Sinkhorn-Knopp, log-domain where that
          underflows) (the convention of
          ``ot.bregman.empirical_sinkhorn_divergence``), :math:`C = d^p`.  Options
          ``reg`` (default 0.01 × the mean cost :math:`a^T C_{xy} b`), ``numItermax``
          (10 000), ``stopThr`` (1e-5, on the marginal violation); a ``UserWarning`` is
          issued if it does not converge.  Biased (about 1% with the default ``reg``),
          the bias shrinks with ``reg`` while the iterations grow; a round-off negative
          S gives a negative value (the sign is kept).  On CPU it is usually slower than
          ``"exact"`` at the same size; it is there for smooth, regularised values.
        * ``"sliced"`` (approximation, Euclidean only): the sliced distance
          :math:`SW_p = (\mathbb{E}_\theta W_p^p(\theta^T\mu, \theta^T\nu))^{1/p}` by POT
          over ``n_projections`` (200) random directions drawn from ``rng``;
          :math:`SW_p \le W_p` — a different quantity, not an estimate of :math:`W_p`.
        * ``"auto"``: ``"sorting"`` in 1-D; ``"exact"`` while :math:`nm \le 4\cdot10^6`
          (measured by ``benchmarks/wasserstein.py``); beyond, ``"sliced"`` for the
          Euclidean metric and ``"sinkhorn"`` for the others, with a ``UserWarning``
          naming the approximation.
    **options
        Method options listed above; unknown options raise ``TypeError``.

    Returns
    -------
    float
        :math:`W_p` (or the named approximation).

    References
    ----------
    Peyré, G., Cuturi, M. (2019). Computational Optimal Transport. Foundations and Trends
    in Machine Learning 11, 355-607.
    Feydy, J. et al. (2019). Interpolating between optimal transport and MMD using
    Sinkhorn divergences. AISTATS.
    Flamary, R. et al. (2021). POT: Python Optimal Transport. JMLR 22(78), 1-8.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.ipm import wasserstein
    >>> wasserstein([0.0, 1.0, 3.0], [1.0, 2.0, 6.0])        # sorting: (1 + 1 + 3) / 3
    1.666...
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> Y = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> wasserstein(X, Y, p=2)                               # exact: translate by (0, 1)
    1.0
    """
    return _wasserstein(*_wasserstein_iv(X, Y, p, a, b, metric, method, options))


def _wasserstein_iv(X, Y, p, a, b, metric, method, options, *, arrays_checked=False):
    """Validated arguments of :func:`wasserstein`, the solver's options included;
    ``arrays_checked=True``: X and Y already come from ``check_samples``."""
    X, Y = check_samples(X, Y, checked=arrays_checked)
    p = check_real(p, "p", low=1, low_open=False)
    n, m, d = X.shape[0], Y.shape[0], X.shape[1]
    a = _check_weights(a, "a", n, "X")
    b = _check_weights(b, "b", m, "Y")
    metric = _check_metric(metric)
    check_choice(method, "method", METHODS)
    allowed = set().union(*_OPTIONS.values()) if method == "auto" else _OPTIONS[method]
    _check_keywords(options, allowed, "option", f"method={method!r}")
    chosen = _auto_method(n, m, d, metric) if method == "auto" else method
    options = {k: v for k, v in options.items() if k in _OPTIONS[chosen]}
    if chosen == "sorting":
        if d != 1:
            raise ValueError(f"method='sorting' needs 1-D samples (d = 1); got X {X.shape}, "
                             f"Y {Y.shape}")
        if callable(metric):
            raise ValueError("method='sorting' uses |x - y|; a callable metric needs "
                             "method='exact' or 'sinkhorn'")
    if chosen == "sliced" and metric != "euclidean":
        raise ValueError(f"method='sliced' projects with the Euclidean inner product; got "
                         f"metric={metric!r}")
    return X, Y, p, a, b, metric, method, chosen, _check_options(chosen, options)


def _check_options(chosen, options):
    """The solver options validated (``reg`` in the data's cost units)."""
    if options.get("reg") is not None:
        options["reg"] = check_real(options["reg"], "reg", low=0)
    if "numItermax" in options and (chosen == "sinkhorn" or options["numItermax"] is not None):
        options["numItermax"] = check_positive_int(options["numItermax"], "numItermax")
    if "stopThr" in options:
        options["stopThr"] = check_real(options["stopThr"], "stopThr", low=0)
    if "n_projections" in options:
        options["n_projections"] = check_positive_int(options["n_projections"],
                                                      "n_projections")
    if chosen == "sliced":
        options["rng"] = check_rng(options.get("rng"))
    return options


def _wasserstein(X, Y, p, a, b, metric, method, chosen, options):
    """W_p from validated arguments (:func:`_wasserstein_iv`; ``chosen`` the solver)."""
    n, m = X.shape[0], Y.shape[0]
    # the built-in metrics are homogeneous, W_p(sX, sY) = s W_p(X, Y): compute in the frame
    # scaled by a power of two (exact), so that costs d^p of coordinates near 1e±300 neither
    # overflow (POT reported "Problem infeasible") nor underflow (W was 0)
    scale = 1.0 if callable(metric) else pow2_scale(X, Y)
    X, Y = X / scale, Y / scale
    if options.get("reg") is not None:
        options["reg"] = options["reg"] / scale ** p  # reg is in cost units d^p
    if chosen == "sorting":
        return _sorting(X[:, 0], Y[:, 0], a, b, p) * scale
    if chosen == "exact":
        return _exact(X, Y, a, b, p, metric, **options) * scale
    if chosen == "sliced":
        value = _sliced(X, Y, a, b, p, **options) * scale
        what = (f"the sliced Wasserstein distance SW_{p:g} (n_projections="
                f"{options.get('n_projections', _SLICED_PROJECTIONS)}), a lower bound of W_p")
    else:
        value, reg = _sinkhorn(X, Y, a, b, p, metric, **options)
        value, reg = value * scale, reg * scale ** p
        what = f"the debiased Sinkhorn divergence^(1/p) (reg={reg:.3g})"
    if method == "auto":
        warnings.warn(f"wasserstein(method='auto'): n*m = {n * m} exceeds the exact-solver "
                      f"threshold {_EXACT_MAX_NM}; returning {what}, an approximation of "
                      "W_p. Pass method='exact' for the exact value.", UserWarning,
                      stacklevel=3)
    return value
