"""Exact divergences between probability mass functions."""

from __future__ import annotations

import numpy as np
from scipy import special

from . import _names
from ._validation import check_base, check_pmf

__all__ = ["discrete_divergence"]


def discrete_divergence(p, q, name="kl", *, base=None, axis=-1, keepdims=False,
                        normalize=False, **params):
    r"""Exact divergence between two probability mass functions, vectorised over ``axis``.

    For an f-divergence,

    .. math:: D_f(p \,\|\, q) = \sum_i q_i f(p_i / q_i)

    with the conventions :math:`0 f(0/0) = 0` and :math:`0 f(a/0) = a f'_\infty`
    (so disjoint supports give ``inf`` for KL and chi-squared, ``log 2`` for JS and 1
    for TV).  Also ``renyi`` (parameter ``alpha`` > 0, not 1),
    :math:`\frac{1}{\alpha-1}\log\sum_i p_i^\alpha q_i^{1-\alpha}`, ``tsallis`` (same
    ``alpha``), :math:`(\sum_i p_i^\alpha q_i^{1-\alpha} - 1)/(\alpha - 1)`, and
    ``bhattacharyya``, :math:`-\log \sum_i \sqrt{p_i q_i}`.

    The sum is evaluated as :math:`f(1) + \sum_i q_i f_0(p_i/q_i)` with the
    non-negative :math:`f_0(u) = f(u) - f(1) - f'(1)(u-1)` (the extra terms sum to
    zero), taking each ratio smaller-over-larger, so the result is never below
    :math:`f(1)` through rounding and never overflows, even for subnormal masses.

    Parameters
    ----------
    p, q : array_like
        Probability vectors along ``axis``; other axes broadcast.
    name : str
        A registered f-divergence (:func:`divest.fdivergences`), ``"renyi"``,
        ``"tsallis"`` or ``"bhattacharyya"``; parameters as keyword arguments or in the name
        (``"alpha(alpha=0.5)"``).
    base : float, optional
        Logarithm base for logarithmic divergences (KL, JS, Rényi...); default nats.
        Refused for non-logarithmic ones (chi-squared, TV, Hellinger, alpha).
    axis : int
        Axis holding the probabilities.
    keepdims : bool
        Keep the reduced axis with length one.
    normalize : bool
        Rescale ``p`` and ``q`` to sum to one instead of raising.
    **params
        Parameters of the divergence (``alpha``, ``pi``).

    Returns
    -------
    ndarray or float
        The divergence; a Python float for 1-D input.

    Raises
    ------
    ValueError
        NaN/inf, negative or non-normalised input, empty input, shapes that do not
        broadcast, unknown names or invalid parameters.

    See Also
    --------
    scipy.stats.entropy : ``entropy(p, q)`` equals ``discrete_divergence(p, q, "kl")``.

    Examples
    --------
    >>> import divest as dv
    >>> dv.discrete_divergence([0.5, 0.5], [0.9, 0.1], "kl")
    0.5108...
    >>> dv.discrete_divergence([1, 0], [0, 1], "js", base=2)
    1.0
    >>> dv.discrete_divergence([[1, 0], [0.5, 0.5]], [0.5, 0.5], "tv")
    array([0.5, 0. ])
    """
    return _discrete_divergence(*_discrete_divergence_iv(p, q, name, base, axis, normalize,
                                                         params), keepdims)


def _discrete_divergence_iv(p, q, name, base, axis, normalize, params):
    """``(p, q, spec, base, axis)``: pmfs checked and broadcast to one shape."""
    spec = _names.resolve(name, **params)
    if not spec.density_based:
        valid = [n for n in _names.all_names() if _names.resolve_base_is_density(n)]
        raise ValueError(f"name={name!r} is not defined for pmfs by discrete_divergence; valid: "
                         f"{', '.join(valid)}")
    base = check_base(base)
    if base is not None and not spec.logarithmic:
        raise ValueError(f"base={base!r} applies only to logarithmic divergences; "
                         f"{spec.label!r} is not measured in a logarithmic unit")
    p = check_pmf(p, "p", axis=axis, normalize=normalize)
    q = check_pmf(q, "q", axis=axis, normalize=normalize)
    try:
        pb, qb = np.broadcast_arrays(p, q)
    except ValueError as exc:
        raise ValueError(f"p and q do not broadcast: shapes {p.shape} and {q.shape}") from exc
    if p.shape[axis] != q.shape[axis]:
        raise ValueError(f"p and q must have the same length along axis {axis}; got shapes "
                         f"{p.shape} and {q.shape}")
    return pb, qb, spec, base, axis


def _discrete_divergence(pb, qb, spec, base, axis, keepdims):
    """The divergence from validated arguments (:func:`_discrete_divergence_iv`)."""
    out = _discrete_core(pb, qb, spec, axis)
    out = _names.to_base(out, base)
    if keepdims:
        out = np.expand_dims(out, axis)
    if np.ndim(out) == 0:
        return float(out)
    return out


def _discrete_core(p, q, spec, axis):
    """Unchecked core: p, q validated arrays of equal shape."""
    fd = spec.fd if spec.is_f else spec.alpha_fd
    terms = fd._perspective0(p, q)
    value = fd.f_one + terms.sum(axis=axis)
    if not spec.is_f:
        a = spec.params.get("alpha", 0.5)
        c = spec.chernoff(value)
        value, _ = spec.from_alpha_value(value)
        far = ~(c >= 0.5) | ~np.isfinite(c)
        if np.any(far):
            # far from identity (affinity < 1/2, tiny or huge): log sum p^a q^(1-a) directly by
            # log-sum-exp, with no cancellation in 1 - c and no overflow of the terms
            with np.errstate(divide="ignore", invalid="ignore"):
                logt = a * np.log(p) + (1.0 - a) * np.log(q)
            # zero masses: p^a q^(1-a) = 0, except q = 0 < p with a > 1 (infinite)
            logt = np.where((p == 0) | (q == 0), -np.inf, logt)
            if a > 1:
                logt = np.where((q == 0) & (p > 0), np.inf, logt)
            logc = special.logsumexp(logt, axis=axis)
            direct = spec.from_log_chernoff(logc)
            value = np.where(far, direct, value)
    return value
