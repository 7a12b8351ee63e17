"""Validation and small helpers shared by the sample-based estimators."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .._validation import check_finite_array

__all__: list[str] = []


def is_samples(x) -> bool:
    """Whether ``x`` looks like a sample array (numpy array, list, tuple or torch tensor)."""
    return isinstance(x, (np.ndarray, list, tuple)) or type(x).__module__.startswith("torch")


def as_2d(x, name: str, *, min_n: int = 2, checked: bool = False) -> np.ndarray:
    """A sample array as float64 of shape (n, d); 1-D input is taken as (n, 1).

    Raises on NaN/inf, empty input, ranks other than 1 or 2, and fewer than ``min_n`` rows;
    the message names the parameter and the shape.  ``checked=True``: ``x`` is already
    the output of this function (validated once by the caller, e.g. ``divest.divergence``),
    so only its row and column counts are checked.
    """
    if checked:
        arr = x
    else:
        if type(x).__module__.startswith("torch"):
            x = x.detach().cpu().numpy()
        arr = check_finite_array(x, name, ndim=(1, 2))
        if arr.ndim == 1:
            arr = arr[:, None]
    if arr.shape[0] < min_n:
        raise ValueError(f"{name} needs at least {min_n} samples (rows); got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (columns); got shape {arr.shape}")
    return arr


def check_samples(X, Y, *, min_n: int = 2,
                  checked: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate two sample arrays X ~ P (n, d) and Y ~ Q (m, d) of one dimension d.

    ``checked=True``: X and Y are already the output of ``check_samples`` (the arrays are
    not converted or scanned again; only the sizes are checked against ``min_n``).
    """
    X = as_2d(X, "X", min_n=min_n, checked=checked)
    Y = as_2d(Y, "Y", min_n=min_n, checked=checked)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same dimension (columns); got shapes {X.shape} "
                         f"and {Y.shape}")
    return X, Y


def trend_allowance(rise: float, gamma: float) -> tuple[tuple[float, float], float]:
    r"""One-sided allowance for a bias read from a resolution trend.

    ``rise`` is how much the estimate grows per doubling of the resolution (halving
    of the neighbour balls for kNN, doubling of the training size for a fitted ratio).
    With the bias modelled as :math:`c\,h^\gamma` in the resolution scale h, the bias
    left at the finest resolution is :math:`-\mathrm{rise}/(2^\gamma - 1)`: the
    allowance :math:`|\mathrm{rise}|/(2^\gamma - 1)` goes above the estimate when it
    rises (the truth is likely above), below otherwise.  Returns
    ``((below, above), size)``.
    """
    size = abs(rise) / (2.0 ** gamma - 1.0)
    return ((0.0, size) if rise > 0 else (size, 0.0)), size


#: generalized-Pareto shape above which a sum's terms look to have infinite variance
TAIL_SHAPE_LIMIT = 0.5
#: fewer terms than this: no tail estimate (the largest 20% would be under 10 points)
_TAIL_MIN_TERMS = 50


def _tail_count(S: int) -> int:
    """How many of S values form the tail that :func:`pareto_shape` fits (as in PSIS)."""
    return int(min(0.2 * S, 3.0 * np.sqrt(S)))


def _comparison_tail_count(S: int) -> int:
    r"""How many of S values form the tail when two samples' shapes are compared.

    Twice PSIS's :math:`3\sqrt S` (capped at 20%): a difference of two shapes fitted
    the same way has little of the bias that a deeper threshold puts into one shape
    (both fits see the same pre-asymptotic bend for samples of one family, and the
    shape is scale-free), while its standard error falls by :math:`\sqrt 2`: the
    t5 tail against a normal is then seen in d = 10 at n = 5000, and Gaussians of
    different location and scale are not told apart more often than before
    (``tests/test_tails.py`` checks both).
    """
    return int(min(0.2 * S, 6.0 * np.sqrt(S)))


def pareto_shape(t, *, prior=True, tail=None) -> float:
    r"""Shape :math:`\hat\xi` of a generalized Pareto fit to the upper tail of ``t``.

    The exceedances of the largest :math:`M = \min(0.2 S, 3\sqrt S)` of the S values
    over the next one are fitted by the Zhang & Stephens (2009) estimator with the
    weak prior of Pareto-smoothed importance sampling (Vehtari, Simpson, Gelman, Yao
    and Gabry, JMLR 2024).  :math:`\hat\xi > 1/2` says the values have (or behave at
    this sample size as if they had) infinite variance, so that the central limit
    interval of their mean is not valid; :math:`\hat\xi \le 0` is a light (or
    bounded) tail.  ``prior=False`` leaves the prior out (for comparing two tails).
    ``tail`` is M (default PSIS's count above).  Returns ``nan`` for fewer than 50
    values or no spread in the tail.
    """
    s = np.sort(np.asarray(t, dtype=float).ravel())
    S = s.size
    if S < _TAIL_MIN_TERMS or not np.all(np.isfinite(s)):
        return float("nan")
    M = _tail_count(S) if tail is None else int(tail)
    x = s[-M:] - s[-M - 1]
    if x[-1] <= 0.0:
        return float("nan")
    x = x / x[-1]  # scale-free
    mm = 30 + int(np.sqrt(M))
    j = np.arange(1, mm + 1)
    xstar = x[max(int(M / 4 + 0.5) - 1, 0)]
    if xstar <= 0.0:
        xstar = x[x > 0][0]
    theta = 1.0 / x[-1] + (1.0 - np.sqrt(mm / (j - 0.5))) / (3.0 * xstar)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.log1p(-theta[:, None] * x).mean(axis=1)
        loglik = M * (np.log(-theta / k) - k - 1.0)
    ok = np.isfinite(loglik)
    if not ok.any():
        return float("nan")
    # posterior weights w_j = exp(L_j) / sum_i exp(L_i), computed in logs
    w = np.exp(loglik[ok] - special.logsumexp(loglik[ok]))
    th = float((theta[ok] * w).sum())
    xi = float(np.log1p(-th * x).mean())
    if not prior:
        return xi
    # the weakly informative prior towards 1/2 of PSIS (10 pseudo-observations)
    return (M * xi + 10 * 0.5) / (M + 10)


def tail_check(terms):
    r"""Heavy-tail check of an estimate built from sample means of ratio terms.

    ``terms`` maps a label to per-point terms that grow with the fitted ratio (e.g.
    :math:`2\hat r(X)` and :math:`\hat r(Y)^2` for uLSIF's Pearson estimate).  A
    heavy upper tail of any of them (:math:`\hat\xi > 1/2`, :func:`pareto_shape`)
    means that the fitted ratio is heavy-tailed where the samples have few points: the
    normal interval of the mean is not valid, and the divergence, whose unbounded
    part lives there, may be far above the estimate (sums of heavy-tailed terms are
    typically below their expectation).  The interval's upper end then becomes
    :math:`+\infty`.  Lower tails are not checked: the terms are bounded below.
    Returns ``((0, above), info)`` with ``above`` 0 or ``inf`` and ``info`` the
    shapes and a note.
    """
    info = {"limit": TAIL_SHAPE_LIMIT}
    heavy = []
    for label, t in terms.items():
        info[f"shape_{label}"] = shape = pareto_shape(t)
        if shape > TAIL_SHAPE_LIMIT:
            heavy.append(label)
    if not heavy:
        return (0.0, 0.0), info
    info["note"] = (
        f"heavy-tailed terms ({', '.join(heavy)}: generalized Pareto shape > "
        f"{TAIL_SHAPE_LIMIT}): the normal interval is not valid and the data cannot bound "
        "the divergence from above, so the 95% interval's upper end is infinite")
    return (0.0, math.inf), info

#: a ratio-tail shape must exceed 1 (an infinite mean) by this many standard errors
RATIO_TAIL_SE = 2.0


def ratio_tail_check(log_ratios):
    r"""Whether a density ratio looks like it has an infinite mean under its numerator's law.

    ``log_ratios`` maps a label (e.g. ``"p/q at X"``) to estimates of
    :math:`\log p/q` at the points of the numerator's sample (nearest-neighbour ones,
    say).  Under P the ratio :math:`r = p/q` has mean :math:`E_P r = E_Q r^2 =
    1 + \chi^2(P\|Q)`; a generalized-Pareto shape :math:`\hat\xi` of its upper tail
    (:func:`pareto_shape`, no prior, the PSIS tail count M) above 1 says that mean is
    infinite.  Then :math:`\mathrm{Var}_Q(r)`, the Q-side variance of the influence
    function of KL (and of every divergence with :math:`f'(\infty) = \infty`), is not
    finite: no standard error holds, and P's mass where Q's sample is thin (a far small
    component, a heavier tail) can carry any amount of the divergence.  The check fires
    when :math:`\hat\xi - 2\,\mathrm{SE} > 1` (2 = ``RATIO_TAIL_SE``),
    :math:`\mathrm{SE} = (1 + \hat\xi)/\sqrt M` (the asymptotic standard error of a
    shape estimate), so that the estimation noise of a nearest-neighbour ratio (its own
    tail has shape 1/k at rank k) does not fire it.  Returns ``((0, above), info)``,
    ``above`` 0 or ``inf``.
    """
    info = {"limit": 1.0}
    heavy = []
    for label, lr in log_ratios.items():
        lr = np.asarray(lr, dtype=float)
        lr = lr[np.isfinite(lr)]
        xi = pareto_shape(np.exp(lr - lr.max()), prior=False) if lr.size else float("nan")
        se = (1.0 + xi) / math.sqrt(_tail_count(lr.size)) if np.isfinite(xi) else float("nan")
        info[label] = {"shape": xi, "se": se}
        if np.isfinite(xi) and xi - RATIO_TAIL_SE * se > 1.0:
            heavy.append(f"{label}: shape {xi:.2f} +- {se:.2f}")
    if not heavy:
        return (0.0, 0.0), info
    info["note"] = (
        f"the estimated density ratio has a tail of infinite mean ({'; '.join(heavy)}: "
        f"generalized Pareto shape above 1 by more than {RATIO_TAIL_SE:g} SE), so chi^2 "
        "looks infinite: the variance of the estimate's influence function is not finite "
        "and mass where the other sample is thin can carry any amount of the divergence, "
        "so the 95% interval's upper end is infinite")
    return (0.0, math.inf), info


def _radial_shapes(A, B):
    """GPD shapes (no prior) of the distances of the rows of A and B from their pooled median."""
    center = np.median(np.vstack([A, B]), axis=0)
    ra = np.sqrt(((A - center) ** 2).sum(axis=1))
    rb = np.sqrt(((B - center) ** 2).sum(axis=1))
    ma, mb = _comparison_tail_count(ra.size), _comparison_tail_count(rb.size)
    return (pareto_shape(ra, prior=False, tail=ma), ma,
            pareto_shape(rb, prior=False, tail=mb), mb)


def _shape_difference(xa, ma, xb, mb):
    """Whether shape ``xa`` exceeds ``xb`` by more than 2 SE, and that SE (nan if undefined)."""
    if not (np.isfinite(xa) and np.isfinite(xb)):
        return False, float("nan")
    se = float(np.sqrt(max(1.0 + xa, 0.5) ** 2 / ma + max(1.0 + xb, 0.5) ** 2 / mb))
    return bool(xa - xb > 2.0 * se), se


def heavier_tail(A, B):
    r"""Whether the sample ``A`` has a significantly heavier tail than ``B``.

    Compares the generalized-Pareto shapes (:func:`pareto_shape`, no prior) of the
    distances of the rows of A and of B from their pooled coordinate-wise median: a
    polynomial tail has shape 1/(tail index) > 0, a Gaussian or exponential one about 0,
    a bounded support a negative shape.  A heavier tail of P than of Q means that
    :math:`\log p/q \to \infty` where Q has (almost) no samples, so that a
    divergence with :math:`f'_\infty = \infty` (KL, Pearson, Jeffreys, ...) may be
    much larger than any sample estimate, or infinite (KL of a Cauchy from a normal).
    Returns ``(heavier, info)``: heavier when the difference of shapes exceeds twice
    its standard error :math:`\sqrt{(1+\hat\xi_A)^2/M_A + (1+\hat\xi_B)^2/M_B}`.
    """
    xa, ma, xb, mb = _radial_shapes(A, B)
    heavier, se = _shape_difference(xa, ma, xb, mb)
    info = {"shape_a": xa, "shape_b": xb}
    if np.isfinite(se):
        info["se"] = se
    return heavier, info


def sample_tails(X, Y):
    """Whether P's sample (X) or Q's (Y) has the significantly heavier tail (``heavier_tail``)."""
    xp, mp, xq, mq = _radial_shapes(X, Y)  # the same distances serve both directions
    p_heavier, se = _shape_difference(xp, mp, xq, mq)
    q_heavier = _shape_difference(xq, mq, xp, mp)[0]
    return {"p_heavier": p_heavier, "q_heavier": q_heavier, "shape_p": xp, "shape_q": xq,
            "se": se if np.isfinite(se) else None}


def unbounded_tail_side(spec, tails):
    r"""Infinite allowance above when the heavier-tailed sample can hide an unbounded part.

    With :math:`f'_\infty = \infty` (KL, Pearson, Jeffreys, alpha > 1) P-mass where Q has
    almost none contributes without bound, with :math:`f(0) = \infty` (reverse KL,
    Neyman, alpha < 0) Q-mass where P has almost none: if that sample's tail is
    significantly heavier (:func:`sample_tails`), the data cannot bound the divergence
    from above.  Returns ``(above, note)``.
    """
    fd = spec.fd if spec.is_f else spec.alpha_fd
    sides = []
    if tails.get("p_heavier") and math.isinf(fd.f_infinity):
        sides.append("P's sample (X) has a heavier tail than Q's and f'(inf) = inf")
    if tails.get("q_heavier") and math.isinf(fd.f_zero):
        sides.append("Q's sample (Y) has a heavier tail than P's and f(0) = inf")
    if not sides:
        return 0.0, None
    return math.inf, ("; ".join(sides) + ": the divergence may be far larger than any sample "
                      "estimate (or infinite), so the 95% interval's upper end is infinite")
