"""The allowances of the bias-aware interval of a density-ratio estimate: the learning
curve, KLIEP's smoothing, and the model choice (``model="auto"``)."""

from __future__ import annotations

import math

import numpy as np

from ..._result import Allowance
from .._common import tail_check, trend_allowance
from ._plugin import _plug_in, _ratio_terms, _ulsif_pearson
from ._state import HalfFits

#: rate of the bias model c N^-gamma of the learning-curve allowance (see the package
#: docstring of divest.estimators._ratio)
_GAMMA = 1.0 / 3.0
#: power of the bandwidth in KLIEP's smoothing bias c sigma^beta (see kliep)
_SMOOTH_BETA = 1.0
#: above this dimension uLSIF's and KLIEP's upper ends are open (Allowance
#: "kernel_dimension"): on the hard pairs in d = 25-50 (divest.reference.hard_pairs)
#: KLIEP gave 0.4 for KL 2 (gauss-shift-d50) and 0.08 for KL 1.13 (gauss-ar1-d25) with
#: closed intervals that never covered
KERNEL_MAX_DIM = 10
#: above this dimension the classifier models that split one coordinate at a time open
#: the upper end (Allowance "model_dimension"): on the hard pair gauss-ar1-d50 (KL 2.31,
#: a correlated Gaussian whose log-ratio is quadratic with cross terms) model="auto"
#: chose boosting and gave 0.10 with the interval [0, 0.11] in 10 of 10 seeds at
#: n = m = 5000 (benchmarks/results/auto_highd.md)
TREE_MAX_DIM = 10
#: the classifier models that TREE_MAX_DIM applies to
TREE_MODELS = ("boosting",)


def _allowance(source, part, info):
    """An :class:`Allowance` from a ``(below, above)`` part and its ``details`` entry."""
    below, above = part
    if not (below or above):
        return Allowance(source)
    side = "above" if above else "below"
    if source == "learning_curve":
        reason = (f"the estimate changed by {info['change_per_doubling']:+.3g} from half the "
                  "training data to all of it, so with a bias modelled as c N^-1/3 the truth "
                  f"is likely {side} the estimate")
    elif source == "smoothing":
        reason = (f"the estimate changed by {info['change']:+.3g} at the bandwidth "
                  "sigma/sqrt(2), so with a smoothing bias modelled as c sigma the truth is "
                  f"likely {side} the estimate")
    elif source == "model_spread":
        reason = (f"candidate models whose held-out log-loss is within one SE of the chosen "
                  f"one's ({', '.join(info['models'])}) give other estimates")
        if info.get("tail_opened"):
            reason += (f"; {', '.join(info['tail_opened'])} give(s) an infinite estimate or "
                       "heavy-tailed terms, so the upper end is open")
    else:  # tail_terms
        reason = info["note"]
    return Allowance(source, below, above, reason)


def _learning_curve_allowance(value, halves):
    r"""Allowance for the bias of the fitted ratio from the full- and half-data estimates.

    With the bias modelled as :math:`c N^{-\gamma}` in the training size N, the change
    per doubling of N is :math:`\delta = \hat D_N - \hat D_{N/2} = c N^{-\gamma}
    (1 - 2^\gamma)`, so the bias left in :math:`\hat D_N` is :math:`-\delta/(2^\gamma-1)`:
    the allowance :math:`|\delta|/(2^\gamma-1)` goes above the estimate when it rose
    with the data (:math:`\delta > 0`), below when it fell.
    """
    with np.errstate(invalid="ignore"):
        value_half = float(np.mean(halves))
    info = {"value_full": value, "value_half": value_half}
    if len(halves) > 1:
        info["half_values"] = [float(h) for h in halves]
    if not math.isfinite(value_half):
        info["note"] = "no allowance: the half-data estimate is not finite"
        return (0.0, 0.0), info
    delta = value - value_half
    allowance, size = trend_allowance(delta, _GAMMA)
    info.update({"change_per_doubling": delta, "gamma": _GAMMA, "allowance": size})
    return allowance, info


def _smoothing_allowance(change):
    r"""Allowance for KLIEP's smoothing bias from the change ``v(sigma/sqrt 2) - v(sigma)``.

    With the bias modelled as :math:`c\,\sigma^\beta`, halving :math:`\sigma^2` changes
    the estimate by :math:`\Delta = c\sigma^\beta(2^{-\beta/2} - 1)`, so the bias of
    :math:`v(\sigma)` is :math:`-\Delta/(1 - 2^{-\beta/2})`: it is the change to the
    finer bandwidth plus the trend allowance (:func:`trend_allowance`, rate
    :math:`\beta/2` per halving of :math:`\sigma^2`) for what is left there.  Goes
    above the estimate when it rose at the finer bandwidth, below otherwise.
    """
    _, rest = trend_allowance(change, _SMOOTH_BETA / 2.0)
    size = abs(change) + rest
    return ((0.0, size) if change > 0 else (size, 0.0)), size


def _bias_trend(ratio, spec, form, value):
    """The learning-curve allowance: ``(allowance, details["bias_trend"])``."""
    half = ratio._fit.half or HalfFits(note="no half-data fits were stored")
    if half.note is not None:
        return (0.0, 0.0), {"note": f"no allowance: {half.note}"}
    if ratio.details["perfectly_separated"]:
        return (0.0, 0.0), {"note": "no allowance: the out-of-fold log-ratios separate "
                                    "X from Y perfectly (no learning curve to read)"}
    if not math.isfinite(value):
        return (0.0, 0.0), {"note": "no allowance: the estimate is not finite"}
    halves = []
    try:
        if form == "ulsif":
            pairs = half.ratio_in_sample
            if not pairs:
                return (0.0, 0.0), {"note": "no allowance: the half-data in-sample uLSIF "
                                            "fit failed (every coefficient negative)"}
            halves = [_ulsif_pearson(rp, rq)[0] for rp, rq in pairs]
        else:
            halves = [_plug_in(spec, form, hp, hq)
                      for hp, hq in zip(half.log_ratio_p, half.log_ratio_q)]
    except (ValueError, FloatingPointError) as exc:
        return (0.0, 0.0), {"note": f"no allowance: the half-data estimate failed: {exc}"}
    return _learning_curve_allowance(value, halves)


def _model_spread(ratio, spec, form, value, unbounded):
    """Model-selection allowance: ``(allowance, details["model_spread"])``."""
    alts = ratio._fit.alternatives
    chosen = ratio.details["model"]
    info = {"models": sorted(k for k in alts if k != chosen)}
    if not info["models"]:
        info["note"] = "no allowance: no other candidate within one SE of the chosen one"
        return (0.0, 0.0), info
    if not math.isfinite(value):
        info["note"] = "no allowance: the estimate is not finite"
        return (0.0, 0.0), info
    try:
        ref = _plug_in(spec, form, *alts[chosen])
    except (ValueError, FloatingPointError) as exc:
        info["note"] = f"no allowance: the chosen model's estimate failed: {exc}"
        return (0.0, 0.0), info
    values, skipped = {}, {}
    for k in info["models"]:
        try:
            values[k] = _plug_in(spec, form, *alts[k])
        except (ValueError, FloatingPointError) as exc:
            skipped[k] = str(exc)
            continue
        if math.isnan(values[k]):
            skipped[k] = "NaN estimate"
            del values[k]
    info["value_chosen"], info["values"] = ref, values
    if skipped:
        info["skipped"] = skipped
    if not math.isfinite(ref) or not values:
        info["note"] = ("no allowance: the chosen model's estimate on the selection "
                        "sample is not finite, or no candidate gave an estimate")
        return (0.0, 0.0), info
    below = max(0.0, *(ref - v for v in values.values()))
    above = max(0.0, *(v - ref for v in values.values()))
    # an infinite candidate estimate, or heavy-tailed terms of an unbounded divergence:
    # the data cannot bound the divergence from above under that model
    opened = [k for k, v in values.items() if v == math.inf or (
        unbounded and math.isfinite(v)
        and tail_check(_ratio_terms(spec, form, *alts[k]))[0][1] > 0)]
    if opened:
        info["tail_opened"] = opened
        above = math.inf
    info["allowance"] = (below, above)
    return (below, above), info


def _smoothing_trend(ratio, spec, form, value):
    """KLIEP's smoothing allowance: ``(allowance, details["smoothing_trend"])``."""
    sm = ratio._fit.smoothing
    info = {"sigma": sm.sigma, "sigma_fine": sm.sigma_fine,
            "reused_cv_fits": sm.reused_cv_fits}
    if ratio.details["perfectly_separated"] or not math.isfinite(value):
        info["note"] = "no allowance: the estimate is not finite or the samples separate"
        return (0.0, 0.0), info
    try:
        fine = _plug_in(spec, form, sm.log_ratio_p, sm.log_ratio_q)
    except (ValueError, FloatingPointError) as exc:
        info["note"] = f"no allowance: the estimate at sigma/sqrt(2) failed: {exc}"
        return (0.0, 0.0), info
    info["value_fine"] = fine
    if not math.isfinite(fine):
        info["note"] = "no allowance: the estimate at sigma/sqrt(2) is not finite"
        return (0.0, 0.0), info
    allowance, size = _smoothing_allowance(fine - value)
    info.update({"change": fine - value, "beta": _SMOOTH_BETA, "allowance": size})
    return allowance, info
