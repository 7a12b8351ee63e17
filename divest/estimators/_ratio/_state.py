"""The private state of a density-ratio fit: what :class:`DensityRatio` reads besides its
public ``details``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HalfFits", "RatioFit", "SmoothingFits"]

@dataclass(frozen=True)
class HalfFits:
    """Out-of-fold log-ratios of the same model fitted on halves of the training folds.

    ``log_ratio_p``, ``log_ratio_q``: one array per half (the learning-curve allowance);
    ``ratio_in_sample``: uLSIF's in-sample ratios ``(r at X half, r at Y half)`` per half,
    or None when that fit failed; ``note``: why there are no half fits (then empty).
    """

    log_ratio_p: tuple = ()
    log_ratio_q: tuple = ()
    ratio_in_sample: list | None = None
    note: str | None = None


@dataclass(frozen=True)
class SmoothingFits:
    """KLIEP's out-of-fold log-ratios at the bandwidth ``sigma_fine`` = sigma/sqrt(2)."""

    log_ratio_p: np.ndarray
    log_ratio_q: np.ndarray
    sigma: float
    sigma_fine: float
    reused_cv_fits: bool


@dataclass(frozen=True)
class RatioFit:
    """What a fit hands to :class:`DensityRatio` besides its public ``details``.

    Attributes
    ----------
    dim : int
        Dimension d of the samples.
    half : HalfFits or None
        Half-data fits of the bias-aware interval (None: ``interval="sampling"``).
    alternatives : dict or None
        ``model="auto"`` with the bias-aware interval: the chosen model and the
        candidates within one SE of it in held-out log-loss -> their out-of-fold
        ``(log_ratio_p, log_ratio_q)`` on the selection sample.
    ratio_in_sample : tuple of ndarray or None
        uLSIF: the ratio fitted on all the data at X and at Y (its Pearson form).
    smoothing : SmoothingFits or None
        KLIEP with the bias-aware interval: the fits at sigma/sqrt(2).
    """

    dim: int
    half: HalfFits | None = None
    alternatives: dict | None = None
    ratio_in_sample: tuple | None = None
    smoothing: SmoothingFits | None = None
