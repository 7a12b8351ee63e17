r"""Mutual information :math:`I(X;Y) = \mathrm{KL}(P_{XY}\,\|\,P_X\otimes P_Y)` from paired samples.

The front door :func:`mutual_information` validates its input once (``_mi_iv``), picks a
method (:data:`MI_METHODS`; ``auto`` by the rule table ``divest._policy.MI_RULES``) and
runs an unchecked core.  Each method builds the product of the marginals the way its
theory needs:

* ``ksg`` and ``gaussian`` never build it: KSG counts marginal neighbours, the Gaussian
  form reads the covariance blocks;
* ``knn``, ``classifier`` and ``variational`` are two-sample divergence estimators: the
  joint sample is one half of the rows, the product sample the other half with ``Y``
  re-paired by a random cyclic permutation (no row keeps its own partner, and no point of
  the product sample shares a coordinate with the joint sample, which is what biases the
  "same rows, shuffled Y" recipe);
* ``neural`` scores all in-batch pairs (:func:`divest.torch.mi_bound`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special, stats

from ._result import Allowance, Estimate
from ._validation import _describe, check_choice, check_finite_array, check_positive_int, check_rng

__all__ = ["mutual_information"]

#: marginal transforms (MI is invariant under invertible maps of each coordinate)
MARGINALS = ("ranks", "standardize", "none")


@dataclass(frozen=True)
class MIMethod:
    """One row of the MI method table: what it is, whether it bounds, what it accepts."""

    name: str
    summary: str
    run: Callable
    is_lower_bound: bool = False
    conditional: bool = False  # accepts Z= (conditional mutual information)
    min_rows: Callable = lambda dx, dy, dz, opts: 4
    marginals: str = "none"  # default transform of the marginals
    options: tuple | None = ()  # the options it takes besides ``marginals``; None: any

    def takes(self, option) -> bool:
        return self.options is None or option in self.options or option == "marginals"


# -- input validation ------------------------------------------------------------------


def _as_2d(x, name):
    from .estimators._common import as_2d
    # C order: pandas frames come column-major, and the sums must not depend on it
    return np.ascontiguousarray(as_2d(x, name, min_n=1))


def _check_columns(arr, name):
    const = np.flatnonzero(np.ptp(arr, axis=0) == 0)
    if const.size:
        raise ValueError(f"{name} has constant column(s) {const.tolist()} (shape {arr.shape}): "
                         f"a constant carries no information and leaves the neighbour and "
                         f"covariance computations undefined; drop those columns")


def _mi_iv(X, Y, method, options):
    """Validate the front door's arguments: ``(X, Y, Z, method, options)``."""
    if callable(X) and not hasattr(X, "__array__") and not hasattr(X, "to_numpy"):
        raise TypeError("X must be a sample array (numpy, list, pandas, torch); got a "
                        "callable: a sampler goes to divest.torch.mi_bound(sampler=...)")
    check_choice(method, "method", ("auto",) + tuple(MI_METHODS))
    X, Y = _as_2d(X, "X"), _as_2d(Y, "Y")
    options = dict(options)
    Z = options.pop("Z", None)
    if Z is not None:
        Z = _as_2d(Z, "Z")
    for arr, name in ((Y, "Y"), (Z, "Z")):
        if arr is not None and arr.shape[0] != X.shape[0]:
            raise ValueError(f"X and {name} must have the same number of rows (paired "
                             f"samples); got X of shape {X.shape} and {name} of shape "
                             f"{arr.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"X and Y need at least 2 rows; got X of shape {X.shape}")
    for arr, name in ((X, "X"), (Y, "Y"), (Z, "Z")):
        if arr is not None:
            _check_columns(arr, name)
    if method != "auto":
        spec = MI_METHODS[method]
        if Z is not None and not spec.conditional:
            ok = [m for m, s in MI_METHODS.items() if s.conditional]
            raise ValueError(f"conditional mutual information (Z=) is estimated by method "
                             f"{' or '.join(map(repr, ok))}; got method={method!r}")
        dz = 0 if Z is None else Z.shape[1]
        need = spec.min_rows(X.shape[1], Y.shape[1], dz, options)
        if X.shape[0] < need:
            raise ValueError(f"method {method!r} needs at least {need} rows here; got X of "
                             f"shape {X.shape} and Y of shape {Y.shape}")
    marginals = options.get("marginals")
    if marginals is not None:
        check_choice(marginals, "marginals", MARGINALS)
    return X, Y, Z, method, options


def mutual_information(X, Y, *, method="auto", rng=None, **options) -> Estimate:
    r"""Mutual information :math:`I(X;Y)` in nats from paired samples.

    .. math::

        I(X;Y) = \mathrm{KL}(P_{XY}\,\|\,P_X\otimes P_Y)
               = \mathbb{E}\Big[\log\frac{p(x,y)}{p(x)\,p(y)}\Big] .

    Parameters
    ----------
    X : array_like, shape (n, d_x) or (n,)
        Samples of X (numpy, lists, pandas, torch).
    Y : array_like, shape (n, d_y) or (n,)
        Samples of Y, paired row by row with ``X``.
    method : str
        ``"auto"`` or one of the methods below.
    rng : None, int or numpy.random.Generator
        Randomness (splits, permutations, subsamples, model fitting).
    **options
        ``Z`` (array, shape (n, d_z)): estimate the conditional mutual information
        :math:`I(X;Y\mid Z)` (methods ``ksg`` and ``gaussian``).  ``marginals``:
        ``"ranks"`` (normal scores :math:`\Phi^{-1}(\mathrm{rank}/(n+1))` of every
        column; MI is invariant under invertible maps of each coordinate, so this only
        changes the estimator's finite-sample behaviour), ``"standardize"`` or
        ``"none"``.  Other options go to the method (``k``, ``variant``, ``workers``
        (threads and processes of the neighbour searches; None, the default, as in
        :func:`divest.estimators.knn`) and ``interval`` for ``ksg``: ``"bias_aware"``
        widens the interval on the side
        the estimates at k, 2k, 4k trend to, as :func:`divest.estimators.knn` does;
        ``"sampling"`` is value -/+ 1.96 SE;
        the estimator's options for ``knn``, ``classifier``, ``variational``;
        :func:`divest.torch.mi_bound`'s for ``neural``).

    Returns
    -------
    Estimate
        ``name="mi"`` (``"cmi"`` with ``Z``); ``is_lower_bound`` for the variational and
        neural bounds; ``details["auto"]`` says which rule ``auto`` used and why.

    Notes
    -----
    Methods:

    <<METHODS>>

    ``auto`` takes the first rule that holds:

    <<MI_RULES>>

    References
    ----------
    Kraskov, Stögbauer & Grassberger (2004), Estimating mutual information, Phys. Rev. E
    69, 066138.  Frenzel & Pompe (2007), Partial mutual information for coupling analysis
    of multivariate time series, PRL 99, 204101.  Ince et al. (2017), A statistical
    framework for neuroimaging data analysis based on mutual information estimated via a
    Gaussian copula, Hum. Brain Mapp. 38.  Czyż et al. (2023), Beyond normal: on the
    evaluation of mutual information estimators, NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> import divest as dv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)   # MI = -log(0.6) = 0.511
    >>> est = dv.mutual_information(x, y, method="gaussian")
    >>> round(est.value, 2)
    0.51
    >>> round(dv.mutual_information(x, y, method="ksg", rng=0).value, 1)
    0.5
    """
    X, Y, Z, method, options = _mi_iv(X, Y, method, options)
    rng = check_rng(rng)
    return _mutual_information(X, Y, Z, method, rng, options)


def _mutual_information(X, Y, Z, method, rng, options):
    if method != "auto":
        return _run(method, X, Y, Z, rng, options)
    from . import _policy
    ctx = _policy.MIContext(n=X.shape[0], dx=X.shape[1], dy=Y.shape[1],
                            dz=0 if Z is None else Z.shape[1])
    rule = _policy.explain(_policy.MI_RULES, ctx)
    options = {**dict(rule.options), **options}
    plan = rule.plan if rule.combine == "max" else rule.plan[:1]
    # options go to every candidate that takes them, or raise (never dropped silently)
    unused = [o for o in options if not any(MI_METHODS[m].takes(o) for m in plan)]
    if unused:
        raise TypeError(f"mutual_information(method='auto') got option(s) {sorted(unused)} "
                        f"that no method of its plan {rule.plan_text()} takes; pass method= "
                        f"explicitly")
    candidates = [_run(m, X, Y, Z, rng, {o: v for o, v in options.items()
                                         if MI_METHODS[m].takes(o)}) for m in plan]
    best = max(candidates, key=lambda e: e.value)
    details = dict(best.details)
    details["auto"] = rule.provenance() | {
        "plan": rule.plan_text(), "candidates": {e.method: e.value for e in candidates}}
    return dataclasses.replace(best, details=details)


def _run(method, X, Y, Z, rng, options):
    """Run one method: transform the marginals, then the method's unchecked core."""
    spec = MI_METHODS[method]
    marginals = options.pop("marginals", spec.marginals)
    X, Y = _transform(X, marginals), _transform(Y, marginals)
    if Z is not None:
        Z = _transform(Z, marginals)
    if method == "gaussian":
        options["_copula_1d"] = marginals == "ranks" and X.shape[1] == Y.shape[1] == 1
    est = spec.run(X, Y, Z, rng, options)
    details = dict(est.details)
    details["marginals"] = marginals
    return dataclasses.replace(est, details=details)


# -- marginal transforms ---------------------------------------------------------------


def _transform(A, marginals):
    if marginals == "none":
        return A
    if marginals == "standardize":
        return (A - A.mean(axis=0)) / A.std(axis=0)
    ranks = stats.rankdata(A, axis=0, method="average")
    return special.ndtri(ranks / (A.shape[0] + 1.0))


# -- KSG ---------------------------------------------------------------------------------


def _max_norm_tree(A):
    from sklearn.neighbors import KDTree
    return KDTree(A, metric="chebyshev", leaf_size=20)


def _count_chunk(A, queries, radii, tree=None):
    tree = _max_norm_tree(A) if tree is None else tree
    return tree.query_radius(queries, r=radii, count_only=True)


def _counts(A, radii, workers, rows=None):
    """For each row of A (or each row of ``rows``), the number of other rows of A within
    max-norm distance ``radii`` (one radius per queried row).

    scikit-learn's KDTree counts about 2.5 times faster than cKDTree here but holds the
    GIL, so with ``workers != 1`` the rows are counted in chunks by joblib processes.
    """
    Q = A if rows is None else A[rows]
    # the rows of A rearranged along the leaves of a k-d tree of A, so the tree built on
    # them reads contiguous memory (about 25% faster at 10^5 rows), and the queries sent
    # in that tree's leaf order (neighbouring queries visit the same nodes: about 20%);
    # counts do not depend on either order and are returned in the given order
    leaves = np.asarray(_max_norm_tree(A).get_arrays()[1])
    A = A[leaves]
    tree = _max_norm_tree(A)
    from .estimators._knn._neighbours import locality_order
    order = locality_order(leaves[np.asarray(tree.get_arrays()[1])], rows)
    Qo, ro = Q[order], radii[order]
    n_jobs = _n_workers(workers)
    if n_jobs == 1 or Q.shape[0] < 20_000:
        counts = _count_chunk(A, Qo, ro, tree)
    else:
        from joblib import Parallel, delayed
        chunks = np.array_split(np.arange(Q.shape[0]), n_jobs)
        counts = np.concatenate(Parallel(n_jobs=n_jobs)(
            delayed(_count_chunk)(A, Qo[c], ro[c]) for c in chunks))
    out = np.empty_like(counts)
    out[order] = counts
    return out - 1


def _n_workers(workers):
    import os
    if workers == -1:
        return os.cpu_count() or 1
    return int(workers)


#: above this many rows, the bias trend (the estimates at 2k and 4k) is evaluated on this
#: many query rows drawn at random (against all rows); the value at k uses every row
_TREND_ROWS = 10_000


def _ksg_value(X, Y, Z, ks, variant, workers, rng=None):
    """KSG estimates for each k of ``ks`` (Kraskov et al. 2004; Frenzel & Pompe 2007 with
    ``Z``).

    The estimate at ``ks[0]`` averages every row's terms.  Those at the larger k only
    serve the bias trend; above ``_TREND_ROWS`` rows their terms are averaged over a
    random subset of query rows (neighbours still searched among all rows) and shifted
    by the full-sample estimate at ``ks[0]`` minus the subset's, so each is an unbiased
    estimate of its full-sample value whose difference from the estimate at ``ks[0]``
    has the small variance of a paired difference.
    """
    from scipy.spatial import cKDTree
    blocks = (X, Y) if Z is None else (X, Y, Z)
    J = np.hstack(blocks)
    n = J.shape[0]
    # J's rows rearranged along the leaves of a k-d tree of J, so the tree built on them
    # reads contiguous memory (about 25% faster at 10^5 rows in 10 dimensions)
    leaves = cKDTree(J).indices
    tree = (cKDTree(J[leaves]), leaves)
    dist, idx = _query(tree, J, None, ks[0], workers)
    eps = dist[:, ks[0]]
    if not np.all(eps > 0):
        i = int(np.argmin(eps))
        raise ValueError(f"ksg: row {i} has {ks[0]} or more exact duplicates in (X, Y): the "
                         f"KSG estimator needs continuous data (distinct rows); got "
                         f"{int(np.sum(eps == 0))} such rows of {n}")
    terms = _ksg_terms(X, Y, Z, ks[0], variant, workers, eps, idx[:, 1:], None)
    values = [_ksg_constant(ks[0], variant, Z, n) - terms.mean()]
    if len(ks) == 1:
        return values
    rows = None
    if n > _TREND_ROWS:
        rows = np.sort(rng.choice(n, _TREND_ROWS, replace=False))
        dist, idx = _query(tree, J, rows, ks[-1], workers)
        shift = terms.mean() - terms[rows].mean()
    else:
        dist, idx = _query(tree, J, None, ks[-1], workers)
        shift = 0.0
    for k in ks[1:]:
        t = _ksg_terms(X, Y, Z, k, variant, workers, dist[:, k], idx[:, 1:k + 1], rows)
        values.append(_ksg_constant(k, variant, Z, n) - (t.mean() + shift))
    return values


def _query(tree, J, rows, k, workers):
    """Max-norm distances and indices of the k + 1 nearest rows of J (self included) to
    each row of J (or of ``rows``).

    ``tree`` is ``(cKDTree of J[leaves], leaves)``.  Queries are sent in the tree's leaf
    order (neighbouring queries visit the same nodes: about 35% faster at 10^5 rows in
    10 dimensions) and returned in the given order, with indices into J.
    """
    tree, leaves = tree
    from .estimators._knn._neighbours import locality_order
    order = locality_order(leaves[tree.indices], rows)
    Q = J[order] if rows is None else J[rows[order]]
    dist, idx = np.empty((len(order), k + 1)), np.empty((len(order), k + 1), dtype=np.intp)
    dist[order], nbr = tree.query(Q, k=k + 1, p=np.inf, workers=workers)
    idx[order] = leaves[nbr]
    return dist, idx


def _ksg_constant(k, variant, Z, n):
    if Z is not None:
        return special.digamma(k)
    if variant == 1:
        return special.digamma(k) + special.digamma(n)
    return special.digamma(k) - 1.0 / k + special.digamma(n)


def _ksg_terms(X, Y, Z, k, variant, workers, eps, nbr, rows):
    """Per-row terms of KSG (the estimate is a constant minus their mean) for the rows
    ``rows`` (all rows if None), whose joint k-th neighbour distances are ``eps`` and
    neighbour indices ``nbr`` (k columns)."""
    if Z is None:
        if variant == 1:
            r = np.nextafter(eps, 0.0)
            nx, ny = _counts(X, r, workers, rows), _counts(Y, r, workers, rows)
            return special.digamma(nx + 1) + special.digamma(ny + 1)
        Xq, Yq = (X, Y) if rows is None else (X[rows], Y[rows])
        ex = np.abs(X[nbr] - Xq[:, None, :]).max(axis=(1, 2))
        ey = np.abs(Y[nbr] - Yq[:, None, :]).max(axis=(1, 2))
        nx = _counts(X, np.nextafter(ex, np.inf), workers, rows)
        ny = _counts(Y, np.nextafter(ey, np.inf), workers, rows)
        return special.digamma(nx) + special.digamma(ny)
    r = np.nextafter(eps, 0.0)
    nxz = _counts(np.hstack([X, Z]), r, workers, rows)
    nyz = _counts(np.hstack([Y, Z]), r, workers, rows)
    nz = _counts(Z, r, workers, rows)
    return special.digamma(nxz + 1) + special.digamma(nyz + 1) - special.digamma(nz + 1)


def _ksg_trend(ks, values, d):
    """Allowance for KSG's finite-sample bias from the trend of the estimates over k.

    The estimates at k, 2k, 4k (same rows) move with the size of the neighbour boxes;
    with the bias modelled as c (k/n)^gamma, gamma = 1/(d + 4), the bias left at k is the
    change per doubling over 2^gamma - 1, put on the side the trend points to: the rule
    of :func:`divest.estimators.knn` (``_knn._driver._bias_allowance``).
    """
    from .estimators._knn._driver import _bias_allowance
    (below, above), info = _bias_allowance(list(ks), list(values), d)
    reason = (f"KSG estimates at k = {', '.join(map(str, ks))}: {', '.join(f'{v:.4g}' for v in values)}; "
              f"the bias left at k = {ks[0]} is about the change per doubling of k over "
              f"2^gamma - 1 with gamma = 1/(d + 4) = {info.get('gamma', math.nan):.3g}")
    return Allowance("ksg_trend", below, above, reason), info


def _parts(n, k):
    """Numbers b of disjoint parts whose spread gives the KSG standard error.

    2-5 parts up to 20,000 rows; above, parts of about 5,000 rows (cheaper than one
    estimate on all rows, and more degrees of freedom).  Parts keep at least
    ``max(20, 4 k)`` rows.
    """
    bs = (2, 3, 4, 5) if n <= 20_000 else (n // 5_000,)
    return tuple(b for b in bs if n // b >= max(20, 4 * k))


def _subsample_se(estimate, n, k, rng, n_jobs=1):
    """Standard error of an estimate at n rows from its spread over disjoint parts.

    For each b of :func:`_parts` the rows are split at random into b parts; the
    variance of the b part estimates, times ``(n / b) / n``, estimates the variance at
    n rows (the variance of KSG scales like 1/n; Holmes & Nemenman 2019).  The
    estimates are pooled with weights b - 1 (their degrees of freedom).  With
    ``n_jobs > 1`` the parts are estimated by joblib processes (same splits, same result).
    """
    splits = [np.array_split(rng.permutation(n), b) for b in _parts(n, k)]
    flat = [p for parts in splits for p in parts]
    if n_jobs > 1 and len(flat) > 1:
        from joblib import Parallel, delayed
        vals = Parallel(n_jobs=n_jobs)(delayed(estimate)(p) for p in flat)
    else:
        vals = [estimate(p) for p in flat]
    num = den = 0.0
    start = 0
    for parts in splits:
        b = len(parts)
        v = np.array(vals[start:start + b])
        start += b
        num += (b - 1) * v.var(ddof=1) / b
        den += b - 1
    return math.sqrt(num / den) if den else math.nan


def _ksg(X, Y, Z, rng, options):
    k = check_positive_int(options.pop("k", 3), "k")
    variant = options.pop("variant", 1)
    if variant not in (1, 2):
        raise ValueError(f"variant must be 1 or 2 (KSG estimator 1 or 2); got {variant!r}")
    if Z is not None and variant != 1:
        raise ValueError("conditional KSG (Z=) is implemented for variant=1 (Frenzel & "
                         f"Pompe 2007); got variant={variant!r}")
    from .estimators._knn._driver import _check_workers
    workers = _check_workers(options.pop("workers", None))
    interval = check_choice(options.pop("interval", "bias_aware"), "interval",
                            ("bias_aware", "sampling"))
    _no_more(options, "ksg")
    n = X.shape[0]
    if k >= n:
        raise ValueError(f"k must be smaller than the number of rows; got k={k} with X of "
                         f"shape {X.shape}")
    from .estimators._knn._driver import _TREND_FACTORS  # k, 2k, 4k as knn's trend
    trend = interval == "bias_aware" and _TREND_FACTORS[-1] * k < n
    ks = tuple(f * k for f in _TREND_FACTORS) if trend else (k,)
    values = _ksg_value(X, Y, Z, ks, variant, workers, rng)
    value = values[0]

    # above 20,000 rows the parts (about 5,000 rows each) go to joblib processes
    n_jobs = _n_workers(workers) if n > 20_000 else 1
    inner = 1 if n_jobs > 1 else workers

    def part(rows):
        return _ksg_value(X[rows], Y[rows], None if Z is None else Z[rows], (k,), variant,
                          inner)[0]

    se = _subsample_se(part, n, k, rng, n_jobs)
    details = {"k": k, "variant": variant,
               "standard_error": "spread of the estimate over disjoint parts of the rows, "
                                 "scaled to n (Holmes & Nemenman 2019)" if math.isfinite(se)
               else f"not available: parts need at least {max(20, 4 * k)} rows and there "
                    f"are {n} rows"}
    allowances = ()
    if trend:
        d = X.shape[1] + Y.shape[1] + (0 if Z is None else Z.shape[1])
        allowance, details["ksg_trend"] = _ksg_trend(ks, values, d)
        allowances = (allowance,)
    return Estimate.from_value(value, standard_error=se, method="ksg",
                               name="mi" if Z is None else "cmi", n_p=n, n_q=n,
                               details=details, allowances=allowances)


# -- Gaussian closed form ----------------------------------------------------------------


def _logdet_bias(p, n):
    """E[log det S] - log det Sigma for the sample covariance (divisor n - 1) of n normal rows."""
    i = np.arange(1, p + 1)
    return float(np.sum(special.digamma((n - i) / 2.0) - math.log((n - 1) / 2.0)))


def _canonical_correlations2(S, ix, iy, iz):
    """Squared canonical correlations of the X and Y blocks of S (partial, given Z)."""
    if iz.size:
        A = np.r_[ix, iy]
        S = S[np.ix_(A, A)] - S[np.ix_(A, iz)] @ np.linalg.solve(S[np.ix_(iz, iz)],
                                                                    S[np.ix_(iz, A)])
        ix, iy = np.arange(ix.size), np.arange(ix.size, ix.size + iy.size)
    Sxy = S[np.ix_(ix, iy)]
    M = np.linalg.solve(S[np.ix_(ix, ix)], Sxy) @ np.linalg.solve(S[np.ix_(iy, iy)], Sxy.T)
    return np.clip(np.linalg.eigvals(M).real, 0.0, 1.0)


def _logdet(S):
    sign, val = np.linalg.slogdet(S)
    return val if sign > 0 else -math.inf


def _gaussian(X, Y, Z, rng, options):
    copula_1d = options.pop("_copula_1d", False) and Z is None
    _no_more(options, "gaussian")
    n, dx, dy = X.shape[0], X.shape[1], Y.shape[1]
    blocks = [X, Y] if Z is None else [X, Y, Z]
    S = np.cov(np.hstack(blocks), rowvar=False).reshape(sum(b.shape[1] for b in blocks), -1)
    ix, iy = np.arange(dx), np.arange(dx, dx + dy)
    iz = np.arange(dx + dy, S.shape[0])

    def h(idx):  # log det of a block and its bias under normality
        if idx.size == 0:
            return 0.0, 0.0
        return _logdet(S[np.ix_(idx, idx)]), _logdet_bias(idx.size, n)

    # I(X;Y|Z) = 1/2 [log det S_xz + log det S_yz - log det S_z - log det S_xyz]
    parts = [(h(np.r_[ix, iz]), 1), (h(np.r_[iy, iz]), 1), (h(iz), -1),
             (h(np.r_[ix, iy, iz]), -1)]
    plug = 0.5 * sum(s * v for (v, _), s in parts)
    bias = 0.5 * sum(s * b for (_, b), s in parts)
    if not math.isfinite(plug):
        raise ValueError(f"gaussian: the sample covariance of (X, Y{', Z' if Z is not None else ''})"
                         f" is singular (collinear columns); got X of shape {X.shape} and Y of "
                         f"shape {Y.shape}")
    value = plug - bias
    # canonical correlations rho_i of X and Y (given Z): Var ~ sum rho_i^2 / n, plus the
    # chi-square spread d_x d_y / (2 n^2) of the independent case
    rho2 = _canonical_correlations2(S, ix, iy, iz)
    var = float(np.sum(rho2)) / n + dx * dy / (2.0 * n * n)
    details = {"plug_in": plug, "bias_correction": -bias,
               "standard_error": "delta method on the canonical correlations "
                                 "(exact under joint normality as n grows)"}
    if copula_1d:
        details["bound"] = (
            "X and Y are 1-D and their normal scores are normal, so the joint entropy is "
            "at most the Gaussian one: the Gaussian-copula MI is a lower bound on I(X;Y), "
            "equal to it for a Gaussian copula and 0 for uncorrelated scores")
    else:
        details["assumes"] = (
            "joint normality (of the normal scores with marginals='ranks'): otherwise the "
            "value is the MI of the normal distribution with the same covariance, which "
            "can be far from the truth either way (0 for uncorrelated but dependent "
            "variables)")
    return Estimate.from_value(value, standard_error=math.sqrt(var), method="gaussian",
                               name="mi" if Z is None else "cmi", n_p=n, n_q=n,
                               is_lower_bound=copula_1d, details=details)


# -- two-sample estimators on (joint, product) --------------------------------------------


def _joint_and_product(X, Y, rng):
    """Disjoint halves: the joint sample, and the product sample re-paired cyclically."""
    n = X.shape[0]
    perm = rng.permutation(n)
    a, b = perm[: n // 2], perm[n // 2:]
    cycle = rng.permutation(b.size)
    partner = np.empty_like(cycle)
    partner[cycle] = np.roll(cycle, 1)  # one cycle through all rows: no fixed point
    return np.hstack([X[a], Y[a]]), np.hstack([X[b], Y[b[partner]]])


def _two_sample(estimator, method, lower_bound):
    def run(X, Y, Z, rng, options):
        joint, product = _joint_and_product(X, Y, rng)
        est = estimator()(joint, product, "kl", rng=rng, **options)
        details = dict(est.details)
        details["product"] = ("joint sample: half of the rows; product sample: the other half "
                              "with Y re-paired by a random cyclic permutation")
        return dataclasses.replace(est, name="mi", method=method, details=details,
                                   is_lower_bound=lower_bound)
    return run


def _knn_estimator():
    from .estimators import knn
    return knn


def _classifier_estimator():
    from .estimators import classifier
    return classifier


def _variational_estimator():
    from .estimators import variational
    return variational


def _neural(X, Y, Z, rng, options):
    try:
        from .torch import mi_bound
    except ImportError as exc:
        raise ImportError("method='neural' needs PyTorch: pip install 'divest[torch]'") from exc
    return mi_bound(X, Y, rng=rng, **options)


def _no_more(options, method):
    if options:
        raise TypeError(f"mutual_information(method={method!r}) got unexpected option(s) "
                        f"{sorted(options)}")


def _ksg_rows(dx, dy, dz, opts):
    k = opts.get("k", 3)
    return int(k) + 1 if isinstance(k, (int, np.integer)) and k > 0 else 2


MI_METHODS = {
    "ksg": MIMethod("ksg", "Kraskov–Stögbauer–Grassberger kNN estimator 1 or 2 (max-norm, "
                    "k neighbours); Frenzel–Pompe with Z", _ksg, conditional=True,
                    min_rows=_ksg_rows, marginals="standardize",
                    options=("k", "variant", "workers", "interval")),
    "gaussian": MIMethod("gaussian", "closed form under joint normality (canonical "
                         "correlations), unbiased log-determinants; Gaussian copula with "
                         "marginals='ranks'", _gaussian, conditional=True,
                         min_rows=lambda dx, dy, dz, o: dx + dy + dz + 2),
    "knn": MIMethod("knn", "kNN estimate of KL(joint || product) on disjoint halves",
                    _two_sample(_knn_estimator, "knn", False), min_rows=lambda *a: 8,
                    marginals="standardize", options=None),
    "classifier": MIMethod("classifier", "cross-fitted classifier density ratio, joint vs "
                           "product on disjoint halves",
                           _two_sample(_classifier_estimator, "classifier", False),
                           min_rows=lambda *a: 20, options=None),
    "variational": MIMethod("variational", "NWJ/f-dual lower bound with a kernel critic, "
                            "joint vs product on disjoint halves",
                            _two_sample(_variational_estimator, "variational", True),
                            is_lower_bound=True, min_rows=lambda *a: 20, options=None),
    "neural": MIMethod("neural", "neural critic over all in-batch pairs "
                       "(divest.torch.mi_bound), held-out lower bound", _neural,
                       is_lower_bound=True, min_rows=lambda *a: 4, options=None),
}


def _methods_text(indent):
    import textwrap
    out = []
    for m in MI_METHODS.values():
        tags = [t for t, on in (("lower bound", m.is_lower_bound), ("takes Z", m.conditional))
                if on]
        extra = f" ({', '.join(tags)})" if tags else ""
        out.append(textwrap.fill(f"* ``{m.name}``: {m.summary}{extra}.", width=88,
                                 initial_indent=indent, subsequent_indent=indent + "  ",
                                 break_on_hyphens=False))
    return "\n".join(out)


def _document():
    """Fill the methods and auto rules of ``mutual_information``'s docstring from the tables."""
    from . import _policy
    indent = " " * 4
    doc = mutual_information.__doc__
    doc = doc.replace("<<METHODS>>", _methods_text(indent).lstrip())
    doc = doc.replace("<<MI_RULES>>", _policy.rules_text(_policy.MI_RULES, indent).lstrip())
    mutual_information.__doc__ = doc


_document()
