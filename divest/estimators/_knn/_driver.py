"""The shared driver of the nearest-neighbour estimators: option checks, the ties policy
(raise; jitter, i.e. dequantise at the data's resolution; adaptive), the delete-a-block
jackknife and the bias-trend allowance.

Each family of estimators (KL-type, Chernoff/alpha-type, entropy) is one
:class:`Evaluator` subclass; :func:`_run` drives any of them through the same steps."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..._result import Allowance, compose
from ..._validation import _describe, check_positive_int
from .._common import ratio_tail_check, trend_allowance
from .._resolution import dequantize, resolution
from ._neighbours import _MARGIN

_ESTIMATORS = ("auto", "fixed", "adaptive")
_TIES = ("raise", "jitter", "adaptive")
_SE = ("jackknife", "none")
#: number of blocks of the delete-a-block jackknife
_N_BLOCKS = 20
_DEFAULT_K = 5
_INTERVALS = ("bias_aware", "sampling")
#: the fixed-k ranks k0, 2 k0, 4 k0 of the bias trend (k0 = 1 for the adaptive estimator)
_TREND_FACTORS = (1, 2, 4)
#: the bias trend assumes a rate (k/n)^gamma with gamma = 1/(d + offset) (see knn's Notes)
_TREND_GAMMA_OFFSET = 4.0
#: above this dimension the sign of the bias trend is checked against its jackknife noise
#: (see _bias_allowance); up to it the one-sided allowance covered the reference pairs
TREND_SIGN_DIM = 10


def _all_identical(arr, name):
    if arr.shape[0] > 1 and np.all(arr == arr[0]):
        raise ValueError(f"{name}: all {arr.shape[0]} rows are identical (shape {arr.shape}); "
                         "nearest-neighbour estimators need distinct points (a point mass has "
                         "no density)")


def _ties_message(count, total):
    return (f"{count} of the {total} per-point terms use a zero nearest-neighbour distance "
            "(duplicate points within X, within Y or shared by X and Y), and log 0 is "
            "undefined; pass ties='adaptive' (raise k at those points until the distance is "
            "positive) or, for data recorded to a resolution (values on a grid such as "
            "multiples of 0.1), ties='jitter' (uniform noise of one grid step: estimates the "
            "divergence of the discretised distributions)")


class Evaluator:
    """One family of nearest-neighbour estimators, as the driver (:func:`_run`) sees it.

    An evaluator holds the validated options of one estimate (rank ``k``, dimension
    ``d``, ...); the driver calls

    * :meth:`prepare` with the samples (again after ``ties="jitter"``), which builds the
      neighbour tables,
    * :meth:`evaluate` for the estimate, each jackknife replicate (``alive`` masks of
      the samples' rows) and each rank of the bias trend (``kfix``),
    * :meth:`size_check`, :meth:`total_terms` and :attr:`trend_k0` for the jackknife,
      the ties message and the bias trend.

    ``supports(spec)`` says whether the family estimates a resolved name (the method
    registry, :mod:`divest._methods`, holds the lists the families read).
    """

    #: canonical base names the family estimates
    names: tuple = ()
    #: ``details["estimator"]`` of the result
    estimator = "fixed"

    @classmethod
    def supports(cls, spec) -> bool:
        return getattr(spec, "base", spec) in cls.names

    def __init__(self, *, k, d, se, workers, trend):
        self.k, self.d, self.se, self.workers, self.trend = k, d, se, workers, trend

    @property
    def trend_k0(self):
        """First rank of the bias trend (None: no trend)."""
        return self.k if self.trend else None

    def prepare(self, arrays) -> None:
        """Build the neighbour tables of the samples ``arrays``."""
        raise NotImplementedError

    def evaluate(self, alive, positive, kfix=None):
        """``(value, ties, info)`` on the alive rows of each sample (None: all rows).

        ``positive``: use the first positive distance where a neighbour distance is 0
        (else the value is NaN and ``ties`` counts the zero distances); ``kfix``: the
        fixed-k estimate at that rank (bias trend).
        """
        raise NotImplementedError

    def jackknife(self, blocks, masks, kfix=None):
        """The estimates of the jackknife replicates: ``masks[r]`` holds the alive rows of
        each sample in replicate r, which deletes the rows whose ``blocks`` id is r
        (``kfix``: of the fixed-k estimate at that rank, as :meth:`evaluate`).  Families
        may compute them faster than one :meth:`evaluate` per replicate."""
        return [self.evaluate(a, True, kfix=kfix)[0] for a in masks]

    def trees(self):
        """The k-d trees of the samples built by :meth:`prepare`, by sample index (those
        the family builds; others are absent)."""
        return {}

    def log_ratios(self, kfix):
        """Fixed-rank estimates of the log density ratios whose tails bound the estimate
        (:func:`~divest.estimators._common.ratio_tail_check`), by label; empty for
        families without such a check."""
        return {}

    def size_check(self, sizes):
        """None, or why jackknife replicates of these sample sizes are impossible."""
        raise NotImplementedError

    def total_terms(self, sizes) -> int:
        """Number of per-point terms (for the ties message)."""
        return sizes[0]


def _run(ev, arrays, *, ties, rng, se):
    """Estimate, apply the ties policy, compute the jackknife standard error and the bias
    allowance with the :class:`Evaluator` ``ev``.

    The jackknife deletes blocks from every array of ``arrays``; the bias trend starts
    at ``ev.trend_k0`` (None: no allowance).  Returns ``(value, se, details,
    allowances)`` (a tuple of :class:`~divest._result.Allowance`).
    """
    sizes = [len(a) for a in arrays]
    total_terms = ev.total_terms(sizes)
    trend_k0, d = ev.trend_k0, ev.d
    ev.prepare(arrays)
    evaluate, size_check = ev.evaluate, ev.size_check
    nones = [None] * len(sizes)
    value, nties, info = evaluate(nones, ties == "adaptive")
    details = {"ties": nties, "ties_policy": ties}
    if nties and ties == "raise":
        raise ValueError(_ties_message(nties, total_terms))
    if nties and ties == "jitter":
        spacing = resolution(arrays)
        if all(h is None for hs in spacing for h in hs):
            raise ValueError(
                f"ties='jitter': {nties} of the {total_terms} per-point terms use a zero "
                "nearest-neighbour distance, but no coordinate of the samples lies on a grid "
                "(values recorded to a resolution, such as multiples of 0.1): the ties are "
                "duplicated rows of otherwise continuous data, and noise of a size not set "
                "by the data would make the estimate depend on that size; pass "
                "ties='adaptive' (raise k at those points until the distance is positive)")
        arrays = dequantize(arrays, spacing, rng)
        details["resolution"] = spacing
        details["ties_treatment"] = (
            "dequantised: U(-h/2, h/2) noise on each coordinate recorded to a grid of step "
            "h (details['resolution'], per sample and coordinate), which leaves the "
            "divergence of the discretised distributions unchanged, so that is what is "
            "estimated")
        ev.prepare(arrays)
        value, nties2, info = evaluate(nones, False)
        if nties2:
            raise ValueError(
                f"ties='jitter' dequantised the coordinates on a grid (steps {spacing}) but "
                f"{nties2} of the {total_terms} per-point terms still use a zero "
                "nearest-neighbour distance (ties in coordinates off any grid); pass "
                "ties='adaptive'")
    details.update(info)
    se_value, note = math.nan, None
    details["se_method"] = "none"
    if se == "none":
        note = "se='none'"
    elif math.isinf(value):
        note = "the estimate is infinite"
    else:
        B = min(_N_BLOCKS, *sizes)
        replicate_sizes = [s - -(-s // B) for s in sizes]
        note = size_check(replicate_sizes) if B >= 2 else "fewer than 2 points"
        if note is None:
            blocks = [rng.permutation(s) % B for s in sizes]
            masks = [[blk != b for blk in blocks] for b in range(B)]  # rows kept per replicate
            reps = np.array(ev.jackknife(blocks, masks))
            details["se_method"] = f"delete-a-block jackknife ({B} blocks)"
            if np.all(np.isfinite(reps)):
                se_value = _jackknife_se(reps)
                details["jackknife_blocks"] = B
            else:
                note = "a jackknife replicate is not finite"
        else:
            note = f"the jackknife replicates would be too small: {note}"
    if note is not None:
        details["se_note"] = note
    allowances = ()
    if trend_k0 is not None and math.isfinite(se_value):
        ks = [trend_k0 * f for f in _TREND_FACTORS]
        if ks[-1] < min(sizes):
            vals = [evaluate(nones, True, kfix=kb)[0] for kb in ks]
            noise = None
            if d > TREND_SIGN_DIM:
                # jackknife SE of the change v(k0) - v(4 k0), same blocks as the SE
                noise = _jackknife_se(np.array(ev.jackknife(blocks, masks, kfix=ks[0]))
                                      - np.array(ev.jackknife(blocks, masks, kfix=ks[-1])))
            (below, above), details["bias_trend"] = _bias_allowance(ks, vals, d, noise)
            if below and above:
                allowances = (Allowance(
                    "knn_trend", below, above,
                    f"in d = {d} the change of the fixed-k estimates over ranks "
                    f"{ks[0]}..{ks[-1]} ({vals[0] - vals[-1]:+.3g}) is within twice its "
                    f"jackknife SE ({noise:.3g}): the trend does not show on which side the "
                    "bias lies, so the allowance, sized by that noise, goes on both"),)
            elif below or above:
                side = "above" if above else "below"
                allowances = (Allowance(
                    "knn_trend", below, above,
                    f"the fixed-k estimates change by "
                    f"{details['bias_trend']['change_per_doubling']:+.3g} per doubling of k, "
                    f"so with a bias modelled as c (k/n)^gamma the truth is likely {side} "
                    "the estimate"),)
            log_ratios = ev.log_ratios(ks[-1])
            if log_ratios:
                (_, up), details["ratio_tail"] = ratio_tail_check(log_ratios)
                details["ratio_tail"]["rank"] = ks[-1]
                if up:
                    allowances += (Allowance("ratio_tail", 0.0, up,
                                             details["ratio_tail"]["note"]),)
        else:
            details["bias_trend"] = {"note": f"no bias trend: rank {ks[-1]} needs more than "
                                             f"{min(sizes)} points per sample"}
        details["bias_allowance"] = compose(allowances)
    return value, se_value, details, allowances


def _jackknife_se(reps):
    """Delete-a-block jackknife SE from the B replicates (Efron & Stein 1981)."""
    B = reps.size
    return float(math.sqrt((B - 1) / B * np.sum((reps - reps.mean()) ** 2)))


def _bias_allowance(ks, values, d, noise=None):
    r"""Allowance for the finite-sample bias from the trend of the fixed-k estimates.

    The bias of a k-NN estimate grows with the volume of the neighbour balls, i.e. with
    k/n; modelled as :math:`c\,(k/n)^\gamma`, the change per doubling of k is
    :math:`s = c (k/n)^\gamma (2^\gamma - 1)`, so the bias at rank k is
    :math:`s / (2^\gamma - 1)`.  With :math:`\gamma = 1/(d+4)` (see knn's Notes) and s
    the mean change per doubling over ranks k, 2k, 4k, the allowance is put on the side
    the trend points to.

    In dimension d > ``TREND_SIGN_DIM`` the trend is flat (gamma is small) and its sign
    is often noise: on Gaussians in d = 25-50 (``divest.reference.hard_pairs``) the
    one-sided allowance pointed the wrong way in 3 of 5 samples.  There ``noise``, the
    jackknife SE of the change :math:`v(k) - v(4k)`, is given; when the change is within
    twice it, the allowance goes on both sides, sized by the larger of the observed
    change and twice the noise (per doubling, over :math:`2^\gamma - 1`).
    """
    if not all(math.isfinite(v) for v in values):
        return (0.0, 0.0), {"ks": ks, "values": values, "note": "a trend value is not finite"}
    gamma = 1.0 / (d + _TREND_GAMMA_OFFSET)
    slope = (values[0] - values[-1]) / math.log2(ks[-1] / ks[0])
    # estimates falling with k (slope > 0): they rise as the balls shrink, and the
    # bias at small k is negative too, so the truth lies above
    allowance, size = trend_allowance(slope, gamma)
    info = {"ks": ks, "values": values, "change_per_doubling": -slope, "gamma": gamma}
    if noise is not None:
        info["change_se"] = noise
        total = values[0] - values[-1]
        if abs(total) < 2.0 * noise:
            per_doubling = max(abs(total), 2.0 * noise) / math.log2(ks[-1] / ks[0])
            _, size = trend_allowance(per_doubling, gamma)
            allowance = (size, size)
            info["two_sided"] = True
    info["allowance"] = size
    return allowance, info


def _query_width(k, se, trend):
    """Neighbours to query for fixed rank k (jackknife margin; ranks up to 4k for the trend)."""
    kq = k + (_MARGIN if se == "jackknife" else 0)
    return max(kq, k * _TREND_FACTORS[-1]) if trend else kq


def _check_workers(workers):
    """``workers`` as a thread count for scipy's tree queries (None: :func:`default_threads`)."""
    if workers is None:
        from ..._parallel import default_threads
        return default_threads()
    if isinstance(workers, bool) or not isinstance(workers, (numbers.Integral, np.integer)):
        raise TypeError(f"workers must be None or an integer (-1 for all cores); got "
                        f"{_describe(workers)}")
    workers = int(workers)
    if workers == 0 or workers < -1:
        raise ValueError(f"workers must be a positive integer or -1 (all cores); got {workers}")
    return workers


def _check_k(k, *, n, m=None, shapes, default=_DEFAULT_K):
    k = default if k is None else check_positive_int(k, "k")
    limits = [n] if m is None else [n, m]
    if k >= min(limits):
        sizes = f"n={n}" if m is None else f"n={n}, m={m}"
        need = "1 <= k < n" if m is None else "1 <= k < n and k < m"
        raise ValueError(f"k={k} is too large for samples of shape {' and '.join(shapes)} "
                         f"({sizes}); need {need}")
    return k
