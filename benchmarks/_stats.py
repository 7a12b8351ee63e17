"""Mean and standard error over seeds, as the GAN studies' reports print them.

``gan_modes``, ``gan_pacgan`` and ``gan_unrolled`` report every figure as the mean over
seeds ± its standard error, s / sqrt(n) with the sample standard deviation s (ddof 1).
This module holds that rule once, and the plateau criterion of their long runs.
"""

from __future__ import annotations

import math

import numpy as np


def mean_se(vals, scale=1.0):
    """``(mean, standard error)`` of the finite values of ``vals`` times ``scale``.

    None and non-finite values are left out (a failed run); the standard error of one
    value is nan, and no value gives ``(nan, nan)``.
    """
    v = np.asarray([x for x in vals if x is not None and math.isfinite(x)], float) * scale
    if v.size == 0:
        return math.nan, math.nan
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
    return float(v.mean()), se


def fmt_mean_se(vals, scale=1.0, fmt="{:.1f}", empty="–"):
    """``"mean ± SE"`` of :func:`mean_se`; the mean alone for one value, ``empty`` for none."""
    mean, se = mean_se(vals, scale)
    if math.isnan(mean):
        return empty
    return fmt.format(mean) + (f" ± {fmt.format(se)}" if math.isfinite(se) else "")


#: the plateau criterion of a long GAN run (``divest.torch.plateau`` over the last two
#: windows of ``PLATEAU_WINDOW`` evaluations): modes captured (PacGAN's rule) within half
#: a mode, HQ within 2 points; ``gan_modes`` and ``gan_pacgan`` read it from here
PLATEAU = {"modes_captured": 0.5, "high_quality": 0.02}
PLATEAU_WINDOW = 5


def plateaued(history):
    """Whether a learning curve (a dict of lists) has plateaued by :data:`PLATEAU`; None
    when it lacks one of the metrics."""
    from divest.torch import plateau
    if not history or not all(k in history for k in PLATEAU):
        return None
    return all(plateau(history, k, window=PLATEAU_WINDOW, tol=tol)[0]
               for k, tol in PLATEAU.items())


def plateau_text():
    """The criterion in words, for the reports."""
    return (", ".join(f"{tol:g} in {k}" for k, tol in PLATEAU.items())
            + f" between the last two windows of {PLATEAU_WINDOW} evaluations "
            "(`divest.torch.plateau`)")
