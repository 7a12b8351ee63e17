"""The front door ``divest.divergence``."""

from __future__ import annotations

from . import _names
from ._result import Estimate
from ._validation import check_choice
from .distributions import dimension
from .estimators._common import check_samples, is_samples
from .exact import NoClosedForm, closed_form, monte_carlo, quadrature

__all__ = ["divergence"]

_DIST_METHODS = ("auto", "closed_form", "quadrature", "monte_carlo")
_SAMPLE_METHODS = ("knn", "classifier", "ulsif", "kliep", "variational", "neural")


#: divergences whose nearest-neighbour estimators are consistent (see estimators.knn)
_KNN_NAMES = ("kl", "reverse_kl", "jeffreys", "renyi", "tsallis", "alpha", "squared_hellinger",
              "bhattacharyya", "pearson")


#: above this total sample size, auto prefers kNN in low dimension (speed; its bias has shrunk)
_AUTO_KNN_MIN_SAMPLES = 50_000


def _auto_sample_method(spec, n, m, d) -> str:
    """The estimator ``divergence(X, Y, method="auto")`` uses (the rule in its docstring)."""
    if not spec.density_based:
        raise ValueError(f"no sample estimator for {spec.label!r} in divergence(); "
                         "wasserstein and mmd2 have closed forms only in this release")
    if spec.base in _KNN_NAMES and d <= 3 and n + m >= _AUTO_KNN_MIN_SAMPLES:
        return "knn"
    return "classifier"


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

    For sample arrays ``X ~ P`` of shape (n, d) and ``Y ~ Q`` of shape (m, d) (1-D
    arrays are read as (n, 1)), ``method`` names an estimator of
    :mod:`divest.estimators`: ``"knn"``, ``"classifier"``, ``"ulsif"``, ``"kliep"``
    or ``"variational"`` (a lower bound).  ``method="auto"`` uses the cross-fitted
    classifier density ratio (every f-divergence, any dimension), which had the lowest
    or near-lowest RMSE on the reference pairs at n = 1000 (``benchmarks/accuracy.py``);
    for the divergences nearest neighbours estimate consistently (KL, reverse KL,
    Jeffreys, Rényi, alpha, squared Hellinger, Bhattacharyya, Pearson) in dimension
    d <= 3 with n + m >= 50 000 samples it uses kNN instead, which is then both
    accurate and orders of magnitude faster.  ``details["auto"]`` says which.

    Parameters
    ----------
    P, Q : distributions or sample arrays
        P first: the divergence is :math:`D(P\|Q)`.
    name : str
        Any divergence name: f-divergences (:func:`divest.fdivergences`), ``renyi``,
        ``bhattacharyya``, ``wasserstein`` (closed forms only), ``mmd2`` (closed forms
        only).  Parameters in the name (``"alpha(alpha=0.5)"``) or as keywords.
    method : str
        For distributions: "auto", "closed_form", "quadrature", "monte_carlo"; for
        samples: "auto", "knn", "classifier", "ulsif", "kliep", "variational".
    rng : None, int or numpy.random.Generator
        Randomness for Monte Carlo.
    **options
        Divergence parameters (``alpha``, ``pi``, ``p``, ``bandwidth``) and method
        options (``n`` for Monte Carlo, ``rtol`` for quadrature; for samples, the
        keyword arguments of the chosen estimator, e.g. ``k`` or ``model``).

    Returns
    -------
    Estimate

    Raises
    ------
    NotImplementedError
        ``method="neural"``: neural critics come with the torch backend.
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
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(0, 1, (2000, 1)), rng.normal(1, 1, (2000, 1))
    >>> est = dv.divergence(X, Y, "kl", method="knn", rng=0)  # exact value 0.5
    >>> est.method, abs(est.value - 0.5) < 4 * est.standard_error + 0.02
    ('knn', True)
    """
    # divergence parameters are the ones the name takes; the rest are method options
    takes = _names.accepted_params(name)
    params = {k: options.pop(k) for k in list(options) if k in takes}
    spec = _names.resolve(name, **params)
    if is_samples(P) or is_samples(Q):
        return _divergence_samples(P, Q, spec, method, rng, options)
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
    densities = all(hasattr(D, "logpdf") or hasattr(D, "logpmf") for D in (P, Q))
    if not densities:
        raise ValueError(f"{spec.label}: no closed form for this pair ({skipped['closed_form']}) "
                         "and P or Q has no density for quadrature or Monte Carlo")
    if dimension(P) == 1 and dimension(Q) == 1:
        est = quadrature(P, Q, spec.label, **_pick(options, "rtol", "max_intervals"))
    else:
        skipped["quadrature"] = f"dimension {dimension(P)} > 1"
        est = monte_carlo(P, Q, spec.label, rng=rng, **_pick(options, "n"))
    est.details["auto"] = skipped
    return est


def _divergence_samples(X, Y, spec, method, rng, options) -> Estimate:
    from . import estimators
    check_choice(method, "method", ("auto",) + _SAMPLE_METHODS)
    if method == "neural":
        raise NotImplementedError("method='neural' needs the torch backend (divest.torch), which "
                                  "is not part of this release")
    X, Y = check_samples(X, Y)
    chosen = _auto_sample_method(spec, X.shape[0], Y.shape[0], X.shape[1]) \
        if method == "auto" else method
    est = getattr(estimators, chosen)(X, Y, spec.label, rng=rng, **options)
    if method == "auto":
        est.details["auto"] = {"method": chosen, "rule": "knn for KL/Renyi-type names when "
                               "d <= 3 and n + m >= 50000, classifier otherwise"}
    return est


def _pick(options, *keys):
    return {k: options[k] for k in keys if k in options}


def _closed(P, Q, spec) -> Estimate:
    value = closed_form(P, Q, spec.label)
    return Estimate.from_value(value, standard_error=0.0, method="closed_form", name=spec.label)
