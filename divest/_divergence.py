"""The front door ``divest.divergence``."""

from __future__ import annotations

import numpy as np

from . import _names
from ._result import Estimate
from ._validation import check_choice
from .distributions import dimension
from .exact import NoClosedForm, closed_form, monte_carlo, quadrature

__all__ = ["divergence"]

_DIST_METHODS = ("auto", "closed_form", "quadrature", "monte_carlo")
_SAMPLE_METHODS = ("knn", "classifier", "ulsif", "kliep", "variational", "neural")
_DIVERGENCE_PARAMS = ("alpha", "pi", "p", "bandwidth")


def _is_samples(x) -> bool:
    return isinstance(x, (np.ndarray, list, tuple)) or type(x).__module__.startswith("torch")


def divergence(P, Q, name="kl", *, method="auto", rng=None, **options) -> Estimate:
    r"""Divergence :math:`D(P\,\|\,Q)` between two distributions, by the best available method.

    For distributions (frozen scipy.stats objects or those of
    :mod:`divest.distributions`), ``method="auto"`` uses, in order:

    1. ``"closed_form"`` if one is registered for the pair and covers its parameters
       (exact; standard error 0);
    2. ``"quadrature"`` for 1-D pairs with densities (error ~1e-12, reported as the
       standard error);
    3. ``"monte_carlo"`` otherwise (``n`` samples from each, default 100 000; the
       standard error is the sampling one).

    ``details["auto"]`` records why each earlier method was skipped.

    Parameters
    ----------
    P, Q : distributions
        P first: the divergence is :math:`D(P\|Q)`.
    name : str
        Any divergence name: f-divergences (:func:`divest.fdivergences`), ``renyi``,
        ``bhattacharyya``, ``wasserstein`` (closed forms only), ``mmd2`` (closed forms
        only).  Parameters in the name (``"alpha(alpha=0.5)"``) or as keywords.
    method : {"auto", "closed_form", "quadrature", "monte_carlo"}
    rng : None, int or numpy.random.Generator
        Randomness for Monte Carlo.
    **options
        Divergence parameters (``alpha``, ``pi``, ``p``, ``bandwidth``) and method
        options (``n`` for Monte Carlo, ``rtol`` for quadrature).

    Returns
    -------
    Estimate

    Raises
    ------
    NotImplementedError
        For sample arrays: the sample-based estimators (kNN, classifier and kernel
        density ratios, variational bounds) are not part of this release yet.
    ValueError
        Unknown name or method, or no method applies to the pair.

    Examples
    --------
    >>> from scipy import stats
    >>> import divest as dv
    >>> dv.divergence(stats.norm(0, 1), stats.norm(1, 2), "kl").method
    'closed_form'
    >>> est = dv.divergence(stats.t(3), stats.norm(), "js")
    >>> est.method, round(est.value, 10)
    ('quadrature', 0.0219693197)
    """
    params = {k: options.pop(k) for k in list(options) if k in _DIVERGENCE_PARAMS}
    spec = _names.resolve(name, **params)
    if _is_samples(P) or _is_samples(Q):
        check_choice(method, "method", ("auto",) + _SAMPLE_METHODS)
        raise NotImplementedError(
            "divergence() between sample arrays needs the sample-based estimators "
            f"({', '.join(_SAMPLE_METHODS)}), which are not implemented in this release; "
            "pass distributions (scipy.stats frozen or divest.distributions) instead")
    check_choice(method, "method", _DIST_METHODS)
    unknown = set(options) - {"n", "rtol", "max_intervals"}
    if unknown:
        raise TypeError(f"divergence() got unexpected option(s) {sorted(unknown)}")
    if method == "closed_form":
        return _closed(P, Q, spec)
    if method == "quadrature":
        return quadrature(P, Q, spec.label, **_pick(options, "rtol", "max_intervals"))
    if method == "monte_carlo":
        return monte_carlo(P, Q, spec.label, rng=rng, **_pick(options, "n"))
    skipped = {}
    try:
        return _closed(P, Q, spec)
    except NoClosedForm as exc:
        skipped["closed_form"] = str(exc)
    if not spec.density_based:
        raise ValueError(f"{spec.label}: no closed form for this pair and no numerical method "
                         f"for distributions ({skipped['closed_form']}); use sample estimators")
    if dimension(P) == 1 and dimension(Q) == 1:
        est = quadrature(P, Q, spec.label, **_pick(options, "rtol", "max_intervals"))
    else:
        skipped["quadrature"] = f"dimension {dimension(P)} > 1"
        est = monte_carlo(P, Q, spec.label, rng=rng, **_pick(options, "n"))
    est.details["auto"] = skipped
    return est


def _pick(options, *keys):
    return {k: options[k] for k in keys if k in options}


def _closed(P, Q, spec) -> Estimate:
    value = closed_form(P, Q, spec.label)
    return Estimate.from_value(value, standard_error=0.0, method="closed_form", name=spec.label)
