r"""Two-sample tests of :math:`H_0: P = Q` from samples ``X ~ P`` (n, d) and ``Y ~ Q`` (m, d).

:func:`two_sample_test` runs one of several statistics and returns a
:class:`TwoSampleResult`.  Every permutation-calibrated kernel or distance statistic goes
through one engine (:mod:`divest._permutation`): the pooled :math:`N \times N` matrix
(:math:`N = n + m`) is computed once and all permuted statistics come from batched matrix
products with indicator vectors of the relabellings.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from . import _permutation as _perm
from ._validation import _describe, check_choice, check_positive_int, check_real, check_rng
from .estimators._common import check_samples

__all__ = ["ALTERNATIVES", "RejectionRate", "STATISTICS", "TwoSampleResult", "rejection_rate",
           "two_sample_test"]

#: names accepted by ``two_sample_test(statistic=...)``
STATISTICS: tuple[str, ...] = ("c2st", "c2st_logit", "c2st_sign", "energy", "mmd", "mmd_agg",
                                "mmd_deep", "mmd_linear", "mmdagg", "mmdagginc", "mmdfuse",
                                "wasserstein")
#: statistics whose tests train a network (``divest.torch``; the torch extra)
_LEARNED = ("c2st_logit", "c2st_sign", "mmd_deep")
#: statistics defined by a decision at a level alpha (no single-level p-value of their own)
_DECISION = ("mmdagg", "mmdagginc")
#: default number of permutations when ``n_permutations=None``
_DEFAULT_PERMUTATIONS = 999
#: statistics with another default B (the published one); None: B is set by their own options
_PERMUTATIONS_DEFAULT: dict[str, int | None] = {"mmdfuse": 2000, "mmdagg": None,
                                                "mmdagginc": None}
#: names accepted by ``two_sample_test(alternative=...)``
ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")

_ESTIMATORS = ("biased", "unbiased")
_CALIBRATIONS = ("binomial", "permutation")
_RADIAL = ("gaussian", "inverse_multiquadric", "laplace")
#: bandwidths of "mmd_agg": the median bandwidth times these factors (2**-4 ... 2**2: the
#: within-cluster scale of multi-modal data is often far below the median distance)
_AGG_FACTORS = (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
#: "wasserstein" in d > 1 solves one exact transport problem per permutation; refuse above
_WASSERSTEIN_MAX_PAIRS = 250_000
#: fewest disjoint pairs L = min(n, m) // 2 below which "mmd_linear" warns.  Type-I error at
#: alpha = 0.05 of its z-test with the median bandwidth, 4000 null repetitions each (SE
#: 0.0035), over N(0, I) and t3 in d = 1 and 5 and exponential in d = 1: L = 2: 0.12-0.17,
#: L = 5: 0.08-0.10, L = 10: 0.06-0.07, L = 15: 0.056-0.065, L = 20: 0.053-0.059,
#: L = 25: 0.051-0.057, L = 50: 0.049-0.055.  Below 25 pairs a UserWarning points to the
#: permutation-calibrated "mmd" (exact at any size).
_MMD_LINEAR_MIN_PAIRS = 25

#: ``precision=`` of the aggregated tests: the dtype of the kernel matrices in the products
_PRECISIONS = {"float64": np.float64, "float32": np.float32}
_ENGINE_OPTIONS = {"max_memory": _perm.MAX_MEMORY, "batch_size": None}
_KERNEL_OPTIONS = {"kernel": "gaussian", "kernel_params": None}
#: the quadratic engine's options: ``device`` (None: numpy; "auto", "cpu", "cuda": torch)
_QUADRATIC_OPTIONS = {**_ENGINE_OPTIONS, "device": None}
#: options of each statistic with their defaults (``progress`` is accepted by all)
_OPTIONS: dict[str, dict[str, Any]] = {
    "mmd": {**_KERNEL_OPTIONS, "bandwidth": "median", "estimator": "unbiased",
            **_QUADRATIC_OPTIONS},
    "energy": {"estimator": "unbiased", **_QUADRATIC_OPTIONS},
    "mmd_agg": {**_KERNEL_OPTIONS, "bandwidths": None, "estimator": "unbiased",
                **_QUADRATIC_OPTIONS},
    "mmd_linear": {**_KERNEL_OPTIONS, "bandwidth": "median"},
    "wasserstein": {"p": 1, "metric": "euclidean"},
    "c2st": {"classifier": None, "test_size": 0.5, "calibration": "binomial"},
    "mmdagg": {"kernel": "laplace_gaussian", "number_bandwidths": 10, "bandwidths": None,
               "weights": "uniform", "B1": 2000, "B2": 2000, "B3": 50, "resampling": "auto",
               "alpha": 0.05, "precision": "float64", **_ENGINE_OPTIONS},
    "mmdagginc": {"R": 200, "number_bandwidths": 10, "bandwidths": None, "weights": "uniform",
                  "B1": 500, "B2": 500, "B3": 50, "alpha": 0.05},
    "mmdfuse": {"kernel": ("laplace", "gaussian"), "number_bandwidths": 10,
                "bandwidths": None, "lambda_multiplier": 1.0, "resampling": "permutation",
                "precision": "float64", **_ENGINE_OPTIONS},
}


@dataclass(frozen=True)
class TwoSampleResult:
    """The outcome of a two-sample test.

    Attributes
    ----------
    statistic : float
        The observed test statistic (its definition depends on ``statistic_name``; see
        :func:`two_sample_test`).
    pvalue : float
        The p-value for the requested alternative, in :math:`(0, 1]`.  For permutation
        calibration it is :math:`(1 + \\#\\{b : T_b \\ge T - \\tau\\}) / (1 + B)`
        (``"greater"``), never 0; ``details["tie_tolerance"]`` holds :math:`\\tau`.
    null_distribution : ndarray, shape (B,)
        The B permuted statistics, in the order the permutations were drawn (read-only).
        Empty for the calibrations that use no permutations (``"mmd_linear"``, ``"c2st"``
        with ``calibration="binomial"``).
    statistic_name : str
        The statistic with its main options, e.g. ``"mmd(kernel='gaussian',
        estimator='unbiased')"``.
    method : str
        How the p-value was obtained: ``"permutation"``, ``"asymptotic normal"`` or
        ``"exact conditional (hypergeometric)"``.
    details : dict
        ``n``, ``m``, ``alternative``, ``n_permutations``, the p-values of all three
        alternatives (``"pvalues"``), the tie tolerance, the resolved kernel bandwidth(s),
        the engine's memory plan, ``"seconds"`` and statistic-specific diagnostics.
    reject : bool or None
        The decision at level ``alpha``: for the tests defined by a decision
        (``"mmdagg"``, ``"mmdagginc"``) the published rule; for the others
        ``pvalue <= alpha``.  None when no ``alpha`` was given.
    alpha : float or None
        The level of ``reject`` (None when no level was given).

    Examples
    --------
    >>> import numpy as np
    >>> from divest.twosample import two_sample_test
    >>> rng = np.random.default_rng(0)
    >>> res = two_sample_test(rng.normal(size=(50, 2)), rng.normal(1.0, size=(60, 2)),
    ...                          n_permutations=199, rng=1)
    >>> res.pvalue, res.null_distribution.shape
    (0.005, (199,))
    """

    statistic: float
    pvalue: float
    null_distribution: np.ndarray = field(compare=False)
    statistic_name: str
    method: str
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    reject: bool | None = None
    alpha: float | None = None

    def __repr__(self) -> str:
        B = self.null_distribution.size
        perms = f", B={B}" if B else ""
        decision = "" if self.reject is None else f", reject={self.reject} at alpha={self.alpha:g}"
        return (f"TwoSampleResult({self.statistic_name}={self.statistic:.6g}, "
                f"pvalue={self.pvalue:.4g}{decision} [{self.method}{perms}])")


# ----------------------------------------------------------------------------------------
# the public function
# ----------------------------------------------------------------------------------------

def two_sample_test(X, Y, statistic="mmd", *, n_permutations=None, alternative="greater",
                    rng=None, **options) -> TwoSampleResult:
    r"""Test whether two samples come from the same distribution.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (n, d) or (n,)
        Sample of P; 1-D input is taken as (n, 1).
    Y : array_like or torch.Tensor, shape (m, d) or (m,)
        Sample of Q, same dimension d; ``m`` may differ from ``n``.
    statistic : str, default ``"mmd"``
        One of :data:`STATISTICS` (see Notes): ``"mmd"``, ``"energy"``, ``"mmd_agg"``,
        ``"mmdagg"``, ``"mmdagginc"``, ``"mmdfuse"``, ``"wasserstein"``, ``"c2st"``,
        ``"mmd_linear"``, and the learned tests ``"mmd_deep"``, ``"c2st_sign"``,
        ``"c2st_logit"`` (they train a network: ``divest[torch]``).
    n_permutations : int or None, default None
        Number B of random relabellings of the pooled sample; None: 999, or the published
        2000 for ``"mmdfuse"`` (ignored by ``"mmd_linear"`` and by ``"c2st"`` with
        ``calibration="binomial"``).  ``"mmdagg"`` and ``"mmdagginc"`` take their
        resampling sizes from their options ``B1`` and ``B2`` and refuse this one.
    alternative : {"greater", "less", "two-sided"}, default ``"greater"``
        ``"greater"``: the statistic is larger than under exchangeability (the samples
        differ; the usual choice for every statistic here).  ``"less"``: smaller (the
        samples are *more alike* than random relabellings, e.g. copied data).
        ``"two-sided"``: twice the smaller one-sided p-value, at most 1 (the convention
        of ``scipy.stats.permutation_test``; the permutation null is not symmetric, so
        this is not a ``|T|`` test).  ``"mmd_agg"``, ``"mmdagg"`` and ``"mmdagginc"``
        support only ``"greater"``.
    rng : int, numpy.random.Generator or None
        Source of the permutations (and of the data split of ``"c2st"``).  The same seed
        gives the identical result, whatever ``max_memory`` or ``batch_size``.
    **options
        Options of the chosen statistic (an unknown one raises ``TypeError`` listing the
        valid ones).  All accept ``progress=False`` (a tqdm bar over the permutations) and
        ``alpha=None`` (a level in (0, 1): the result's ``reject`` is then
        ``pvalue <= alpha``; ``"mmdagg"`` and ``"mmdagginc"`` are defined by their
        decision at ``alpha``, default 0.05).

        * ``"mmd"``: ``kernel="gaussian"`` (any name of ``divest.ipm.KERNELS`` or a callable
          ``k(A, B)``), ``bandwidth="median"``, ``kernel_params=None`` (dict, e.g.
          ``{"degree": 2}``), ``estimator="unbiased"`` or ``"biased"``, ``max_memory``
          (bytes, default 1 GiB), ``batch_size`` (permutations per matrix product),
          ``device=None`` (None: the numpy engine; ``"auto"``, ``"cpu"``, ``"cuda"``: the
          same engine on torch, the pooled matrix computed on that device and the same
          relabellings, see :mod:`divest.torch._permutation`; needs ``divest[torch]``).
        * ``"energy"``: ``estimator="unbiased"`` (equal to ``divest.ipm.energy_distance``,
          the same default) or ``"biased"``, ``max_memory``, ``batch_size``, ``device``.
        * ``"mmd_agg"``: ``kernel="gaussian"`` (a radial kernel), ``bandwidths=None`` (the
          median bandwidth times 2**k, k = -4, ..., 2), ``kernel_params``, ``estimator``,
          ``max_memory``, ``batch_size``, ``device``.
        * ``"mmdagg"``: ``kernel="laplace_gaussian"`` (a collection name:
          ``"laplace_gaussian"``, ``"all_matern_l1"``, ``"all_matern_l2"``,
          ``"all_matern_l1_l2"``, ``"all"``; a kernel name: ``"gaussian"``, ``"laplace"``,
          ``"imq"``, ``"matern_{0,1,2,3,4}.5_{l1,l2}"``; a callable ``k(A, B)``; or a list of
          names and callables), ``number_bandwidths=10``, ``bandwidths=None`` (the same
          bandwidths for every named kernel), ``weights="uniform"`` (``"centred"``,
          ``"increasing"``, ``"decreasing"``), ``B1=2000`` (draws for the quantiles),
          ``B2=2000`` (for the level correction), ``B3=50`` (bisection steps),
          ``resampling="auto"`` (``"wild_bootstrap"`` when n = m, as published, else
          ``"permutation"``), ``alpha=0.05``, ``precision="float64"`` (or ``"float32"``:
          matrix products in single precision, about twice as fast), ``max_memory``,
          ``batch_size``.
        * ``"mmdagginc"``: ``R=200`` (superdiagonals), ``number_bandwidths=10``,
          ``bandwidths=None``, ``weights="uniform"``, ``B1=500``, ``B2=500``, ``B3=50``,
          ``alpha=0.05``.
        * ``"mmdfuse"``: ``kernel=("laplace", "gaussian")`` (names, callables or a list),
          ``number_bandwidths=10``, ``bandwidths=None``, ``lambda_multiplier=1.0``,
          ``resampling="permutation"`` (as published; or ``"wild_bootstrap"`` for n = m:
          random swaps of :math:`x_i` and :math:`y_i`, also exact, with n x n instead of
          2n x 2n matrices, about four times fewer multiply-adds), ``precision="float64"``,
          ``max_memory``, ``batch_size``.
        * ``"mmd_linear"``: ``kernel``, ``bandwidth``, ``kernel_params``.
        * ``"mmd_deep"``, ``"c2st_sign"``, ``"c2st_logit"`` (``divest[torch]``):
          ``train_fraction=0.5`` (of each sample, to train; the rest is tested),
          ``epochs=1000``, ``learning_rate`` (5e-4 for MMD-D, 1e-3 for the classifiers),
          ``batch_size`` (None: full batch for MMD-D; 128 for the classifiers), ``width=50``,
          ``depth=3``, ``n_features=50``, ``device="auto"``, ``num_threads=1``; MMD-D also
          ``reg=1e-8``, ``epsilon_init=0.5``, ``bandwidths="median"`` (initial
          :math:`\sigma_q`, :math:`\sigma_\phi`); ``"c2st_logit"`` also ``score="logit"``
          (or ``"probability"``).  The split, the budget and the trained parameters are
          recorded in ``details``.
        * ``"wasserstein"``: ``p=1``, ``metric="euclidean"``.
        * ``"c2st"``: ``classifier=None`` (standardise + ``LogisticRegression()``; or any
          scikit-learn classifier with ``fit`` and ``predict``, cloned for each fit),
          ``test_size=0.5`` (fraction of each sample held out), ``calibration="binomial"``
          or ``"permutation"``.

    Returns
    -------
    TwoSampleResult

    Raises
    ------
    ValueError
        n or m < 2, dimensions that differ, NaN or inf in the samples, B < 1, an unknown
        statistic, alternative or option value, ``"wasserstein"`` in d > 1 with
        ``n * m > 250000``, ``"mmd_linear"`` with fewer than 4 points in a sample
        (it warns below 50), a statistic that evaluates to NaN (a non-radial kernel
        overflowing on huge values); ``alpha`` outside (0, 1), or too small for B
        (:math:`1/(B + 1) > \alpha`: the test could never reject; for ``"mmdagg"`` and
        ``"mmdagginc"``: :math:`B_2 \alpha < 1`); ``resampling="wild_bootstrap"`` with
        n ≠ m; a learned test with too few rows to split.
    TypeError
        An unknown option, or an option of the wrong type; ``n_permutations`` for
        ``"mmdagg"`` / ``"mmdagginc"`` (they take ``B1`` and ``B2``).

    Warns
    -----
    UserWarning
        ``"mmd_linear"`` below 50 points per sample; a resampled test (``"mmd"``,
        ``"energy"``, ``"mmd_agg"``, ``"mmdfuse"``, ``"wasserstein"``, ``"mmdagg"``,
        ``"mmdagginc"``; the learned tests on their held-out parts) whose samples are so
        small that its relabellings (or sign flips) give fewer than ``1 / alpha`` distinct
        values of the statistic: it can then reject only by chance (e.g. n = m = 3 at
        alpha = 0.05: 10 distinct values).

    See Also
    --------
    divest.ipm.mmd, divest.ipm.energy_distance, divest.ipm.wasserstein

    Notes
    -----
    **Permutation p-values.**  With :math:`T` the observed statistic and :math:`T_1, \dots,
    T_B` the statistics of B uniformly random relabellings of the pooled sample (X gets
    n of the N points),

    .. math::

        p_{\ge} = \frac{1 + \#\{b : T_b \ge T - \tau\}}{1 + B}, \qquad
        p_{\le} = \frac{1 + \#\{b : T_b \le T + \tau\}}{1 + B},

    and two-sided :math:`\min(1, 2 \min(p_\ge, p_\le))`.  The +1 counts the observed
    labelling, so :math:`p \ge 1/(1 + B)` and :math:`P(p \le \alpha) \le \alpha` under
    :math:`H_0` exactly, for any B (Phipson & Smyth 2010).  The tie tolerance is
    :math:`\tau = 10^{-10} \cdot s`, where :math:`s` is the size of the numbers the
    statistic is computed from (for MMD and energy the largest of its three averaged
    terms, e.g. the mean kernel value; for Wasserstein :math:`|T|`); permuted statistics
    that equal :math:`T` up to round-off count as ties (towards a larger p-value).

    **Statistics.**

    * ``"mmd"``: :math:`\mathrm{MMD}^2` between the empirical distributions, the U-statistic
      (diagonal terms dropped, :math:`1/(n(n-1))`, :math:`1/(m(m-1))`, :math:`2/(nm)`) or the
      biased V-statistic; equal to ``divest.ipm.mmd`` with the same options.  A
      ``"median"`` bandwidth is computed **once** on the pooled sample, which every
      relabelling leaves unchanged, so the permutation test stays exact.
    * ``"energy"``: :math:`2\,\overline{\|X-Y\|} - \overline{\|X-X'\|} - \overline{\|Y-Y'\|}`,
      i.e. MMD² with the matrix :math:`-\|z_i - z_j\|` (Székely & Rizzo 2013).
    * ``"mmd_agg"`` (MMDAgg-style aggregation over bandwidths, after Schrab et al. 2023):
      for each bandwidth :math:`\sigma_\ell` the MMD² of the observed and of the *same* B
      relabellings is standardised by the mean and standard deviation of its B + 1
      values, :math:`z_\ell = (T_\ell - \bar T_\ell) / \mathrm{sd}(T_\ell)`; the statistic
      is :math:`\max_\ell z_\ell`, calibrated by the same permutations (the max over the
      grid of each relabelling), which corrects for trying several bandwidths.  This is a
      single-level permutation test with an exact level, not the published MMDAgg
      procedure (which uses weights and a second set of draws: that is ``"mmdagg"``).  ``details["pvalues_per
      _bandwidth"]`` gives the uncorrected p-value of each bandwidth.
    * ``"wasserstein"``: :math:`W_p` of ``divest.ipm.wasserstein``, recomputed for every
      relabelling: :math:`O(N \log N)` per permutation in 1-D, one exact transport problem
      (roughly cubic in N) per permutation in d > 1, refused when
      :math:`n m > 250\,000`.
    * ``"c2st"`` (classifier two-sample test, Lopez-Paz & Oquab 2017): a fraction
      ``test_size`` of each sample is held out (stratified, drawn from ``rng``), the
      classifier is trained to tell X (label 1) from Y (label 0) on the rest, and the
      statistic is its held-out accuracy.  ``calibration="binomial"``: given the
      classifier's held-out predictions, under :math:`H_0` the held-out labels are a random
      arrangement, so the number of correct predictions is :math:`2H + n_{te} - k - t_x`
      with :math:`H` hypergeometric (:math:`k` predicted ones, :math:`t_x` held-out X
      points); the p-value is exact for any classifier, n and m (with a balanced held-out
      set this is the Binomial(:math:`n_{te}`, 1/2) test of the paper, made exact).
      ``calibration="permutation"``: the split and the fit are redone for each of B
      relabellings (B fits).
    * ``"mmd_linear"``: the linear-time estimate of Gretton et al. (2012, §6),
      :math:`\bar h` over :math:`L = \lfloor \min(n, m)/2 \rfloor` disjoint pairs,
      :math:`h_i = k(x_{2i-1}, x_{2i}) + k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i}) -
      k(x_{2i}, y_{2i-1})`, pairs taken in the given order (points beyond :math:`2L` are
      unused), with the asymptotic normal p-value of :math:`z = \sqrt{L}\,\bar h / s_h`.
      No permutations; its cost is linear in n.  Below 25 pairs (``min(n, m) < 50``)
      the normal approximation's type-I error exceeds 0.06 at :math:`\alpha = 0.05`
      (0.13 at 5 points per sample): a ``UserWarning`` says so (also in
      ``details["warning"]``) and the permutation-calibrated ``"mmd"`` is the test to use.

    * ``"mmdagg"`` (Schrab et al. 2023, as in the authors' ``mmdagg`` package): for each
      kernel :math:`\ell` of the collection (by default Laplace and Gaussian kernels,
      :math:`e^{-\|x-y\|_1/\lambda}` and :math:`e^{-\|x-y\|_2^2/\lambda^2}`, with 10
      bandwidths each spaced geometrically from half the smallest inter-sample distance
      of the first 500 points (half the larger of 0.1 and the 5% quantile when some
      distance is below 0.1) to twice the larger of 0.3 and the largest distance) the MMD² is computed for the
      data and for B1 + B2 wild-bootstrap draws (n = m: the one-sample U-statistic
      :math:`\sum_{i \ne j} \epsilon_i \epsilon_j H_{ij} / (n(n-1))`) or relabellings
      (n ≠ m: the two-sample U-statistic).  Kernel :math:`\ell` rejects when its p-value
      among the observed and the B1 draws is at most :math:`u_\alpha w_\ell`
      (weights :math:`w` summing to 1); :math:`u_\alpha` is the largest u, found by B3
      bisection steps, at which the B2 draws reject with frequency at most alpha.  The
      test rejects when one kernel does (``reject``; ``details["kernels"]`` lists each
      kernel's bandwidth, weight, MMD², p-value, threshold and decision).  The
      statistic is :math:`c = \min_\ell p_\ell / w_\ell`, its null distribution the B2
      values of c, and ``pvalue`` :math:`= (1 + \#\{b: c_b \le c\})/(1 + B_2)` (valid
      and conservative: the observed p-values are ranked among draws that include the
      observed statistic; ``pvalue <= alpha`` implies ``reject``; ``reject`` is the
      published rule,
      :math:`\#\{b: c_b \le c\} \le \alpha B_2`).  Bandwidths for n < m come from the
      leading square block of the cross distances (the package reads past the matrix).
    * ``"mmdagginc"`` (Schrab et al. 2022, the ``agginc`` package): the same aggregation
      with Gaussian kernels and incomplete U-statistics over the pairs :math:`(i, i + r)`,
      :math:`r = 1, \dots, R`, of the first :math:`\min(n, m)` points of each sample, wild
      bootstrap; cost :math:`O(\min(n,m) R)` per draw and bandwidth.
    * ``"mmdfuse"`` (Biggs, Schrab & Gretton 2023, the ``mmdfuse`` package): for Laplace
      :math:`e^{-\sqrt 2 \|x-y\|_1/\lambda}` and Gaussian :math:`e^{-\|x-y\|^2/(2
      \lambda^2)}` kernels with 10 bandwidths each, evenly spaced from half the 5% to twice
      the 95% quantile of the pooled distances, :math:`M_\ell =
      \widehat{\mathrm{MMD}}^2_\ell\, n(n-1)\sqrt{n(n-1)} / \|K_\ell\|_F` (n the smaller
      size, :math:`K_\ell` the pooled matrix without its diagonal) and the statistic
      :math:`\frac1\lambda \log \frac1L \sum_\ell e^{\lambda M_\ell}` (λ =
      ``lambda_multiplier``; the package omits the :math:`1/\lambda`, which leaves the
      p-value unchanged), calibrated by permutations (or, with
      ``resampling="wild_bootstrap"`` and n = m, by sign flips of the pairs
      :math:`(x_i, y_i)`, a subgroup of the permutations: each flip's
      :math:`\widehat{\mathrm{MMD}}^2_\ell` is an affine function of
      :math:`\epsilon^\top H_\ell \epsilon`, as in MMDAgg's wild bootstrap).
    * ``"mmd_deep"``, ``"c2st_sign"``, ``"c2st_logit"`` (Liu et al. 2020): each sample is
      split at random; a deep kernel (MMD-D, trained to maximise
      :math:`\widehat{\mathrm{MMD}}^2_u / \hat\sigma_{H_1}`) or a classifier (C2ST) is
      trained on the first part, and the permutation test runs on the second with the
      trained network fixed: exact at any size, whatever the training did.  C2ST-S is
      the held-out accuracy, C2ST-L the mean log-odds over X minus over Y (see
      ``divest.torch._twosample``).

    **Cost and memory.**  The engine costs one kernel/distance matrix (:math:`N^2 d`) and
    :math:`2 N^2 (B + 1)` flops of matrix products; its working arrays stay below
    ``max_memory`` (default 1 GiB): the :math:`8 N^2`-byte matrix is kept when it takes at
    most half of it (otherwise it is recomputed in row blocks for each batch), plus
    :math:`N \times c` float64 indicators (and their product) for a batch of c
    permutations.  ``details["plan"]`` says what was chosen.  At n = m = 10⁴ (N = 2·10⁴),
    d = 10 and B = 1000 a test took 33-54 s with a peak resident memory of 0.52 GB on a
    shared 2-core machine (``benchmarks/two_sample.py``); most of it is the
    :math:`8 \cdot 10^{11}` flops of matrix products.

    References
    ----------
    Gretton, A. et al. (2012). A kernel two-sample test. JMLR 13, 723-773.
    Székely, G. J. & Rizzo, M. L. (2013). Energy statistics: a class of statistics based
    on distances. J. Stat. Plan. Inference 143, 1249-1272.
    Lopez-Paz, D. & Oquab, M. (2017). Revisiting classifier two-sample tests. ICLR.
    Schrab, A. et al. (2023). MMD aggregated two-sample test. JMLR 24(194), 1-81.
    Schrab, A., Kim, I., Guedj, B. & Gretton, A. (2022). Efficient aggregated kernel tests
    using incomplete U-statistics. NeurIPS.
    Biggs, F., Schrab, A. & Gretton, A. (2023). MMD-FUSE: learning and combining kernels
    for two-sample testing without data splitting. NeurIPS.
    Liu, F. et al. (2020). Learning deep kernels for non-parametric two-sample tests. ICML.
    Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero. Stat.
    Appl. Genet. Mol. Biol. 9(1), 39.

    Examples
    --------
    >>> import numpy as np
    >>> from divest.twosample import two_sample_test
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = rng.normal(size=(80, 3)) + [0.8, 0.0, 0.0]
    >>> res = two_sample_test(X, Y, "mmd", n_permutations=499, rng=0)
    >>> res.pvalue  # the smallest possible: 1 / (1 + B)
    0.002
    >>> two_sample_test(X, rng.normal(size=(70, 3)), "energy", n_permutations=99, rng=0).pvalue
    0.71
    >>> two_sample_test(X, Y, "c2st", rng=0).method
    'exact conditional (hypergeometric)'
    """
    return _two_sample_test(*_two_sample_test_iv(X, Y, statistic, n_permutations, alternative,
                                                 rng, options))


def _two_sample_test_iv(X, Y, statistic, n_permutations, alternative, rng, options):
    """``(X, Y, statistic, B, alternative, rng, progress, opts)`` (opts with defaults).

    ``B`` is None for the statistics whose resampling sizes are their own options
    (``"mmdagg"``: ``B1``, ``B2``); ``opts["alpha"]`` is the validated level or None.
    """
    X, Y = check_samples(X, Y, min_n=2)
    if not isinstance(statistic, str):
        raise TypeError(f"statistic must be a string, one of {', '.join(map(repr, STATISTICS))}"
                        f"; got {_describe(statistic)}")
    check_choice(statistic, "statistic", STATISTICS)
    default_B = _PERMUTATIONS_DEFAULT.get(statistic, _DEFAULT_PERMUTATIONS)
    if n_permutations is None:
        B = default_B
    elif default_B is None and statistic in _PERMUTATIONS_DEFAULT:
        raise TypeError(f"statistic={statistic!r} takes its resampling sizes from the options "
                        f"B1 (quantiles) and B2 (level correction), not n_permutations="
                        f"{n_permutations!r}")
    else:
        B = check_positive_int(n_permutations, "n_permutations")
    check_choice(alternative, "alternative", ALTERNATIVES)
    rng = check_rng(rng)
    opts = _check_options(statistic, options)
    progress = opts.pop("progress")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False; got {_describe(progress)}")
    if opts["alpha"] is not None:
        opts["alpha"] = check_real(opts["alpha"], "alpha", low=0, high=1)
        _check_resolution(statistic, B, opts)
        _warn_few_relabellings(statistic, X.shape[0], Y.shape[0], opts)
    return X, Y, statistic, B, alternative, rng, bool(progress), opts


#: statistics whose null distribution is their values over random relabellings (or sign
#: flips) of the whole pooled sample
_RELABELLED = ("energy", "mmd", "mmd_agg", "mmdagg", "mmdagginc", "mmdfuse", "wasserstein")


def _mmdagg_resampling(resampling, n: int, m: int) -> str:
    """``"mmdagg"``'s resampling: ``"auto"`` is the wild bootstrap when n = m (as
    published), else permutations."""
    if resampling == "auto":
        return "wild_bootstrap" if n == m else "permutation"
    return resampling


def _wild(statistic, n: int, m: int, opts) -> bool:
    """Whether the test's null comes from sign flips of (x_i, y_i) pairs (an option the
    caller left out takes the statistic's default)."""
    if statistic == "mmdagginc":
        return True
    if statistic not in ("mmdagg", "mmdfuse") or n != m:
        return False
    chosen = opts.get("resampling", _OPTIONS[statistic]["resampling"])
    return _mmdagg_resampling(chosen, n, m) == "wild_bootstrap"


def _check_wild_sizes(statistic, X, Y):
    """The wild bootstrap pairs x_i with y_i: refuse samples of unequal size."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"statistic={statistic!r} with resampling='wild_bootstrap' needs "
                         f"samples of equal size (it swaps x_i and y_i); got shapes "
                         f"{X.shape} and {Y.shape}: use resampling='permutation'")


def _distinct_resamples(statistic, n: int, m: int, opts) -> int | None:
    """How many distinct values the statistic can take over the resampling of its null
    (None when that is more than a million): sign flips of the min(n, m) pairs up to a
    global flip (the wild bootstrap of ``"mmdagg"`` with n = m and of ``"mmdagginc"``),
    else the C(n + m, n) relabellings, halved when n = m (swapping the two groups leaves
    the statistics unchanged)."""
    if _wild(statistic, n, m, opts):
        pairs = min(n, m)
        return 2 ** (pairs - 1) if pairs <= 21 else None
    if n + m > 40:
        return None
    # the classifiers' statistics change sign when the groups swap; the others do not
    symmetric = statistic not in ("c2st_logit", "c2st_sign")
    k = math.comb(n + m, n) // (2 if n == m and symmetric else 1)
    return k if k <= 10 ** 6 else None


def _warn_few_relabellings(statistic, n, m, opts):
    """Warn when the samples are too small for the resampled test to reject at alpha
    (for the learned tests: their held-out parts)."""
    where = "samples of"
    if statistic in _LEARNED:
        f = opts.get("train_fraction")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            return                       # the learned test's own validation raises
        from .torch._twosample import _n_train
        n, m = n - _n_train(n, f), m - _n_train(m, f)
        where = "held-out parts of"
        if min(n, m) < 2:
            return                       # the split check raises
    elif statistic not in _RELABELLED:
        return
    k = _distinct_resamples(statistic, n, m, opts)
    alpha = opts["alpha"]
    if k is not None and 1.0 / k > alpha:
        how = "sign flips of the pairs" if _wild(statistic, n, m, opts) else "relabellings"
        warnings.warn(f"statistic={statistic!r} with {where} {n} and {m} points: the "
                      f"{how} give at most {k} distinct values of the statistic, so a "
                      f"p-value below 1/{k} = {1.0 / k:.3g} > alpha={alpha} arises only by "
                      f"chance from the random draws; the test has almost no power at this "
                      f"level (more data is needed)", UserWarning, stacklevel=4)


def _check_resolution(statistic, B, opts):
    """A permutation p-value is at least 1 / (B + 1): refuse a B that cannot reach alpha."""
    no_permutations = statistic == "mmd_linear" or (
        statistic == "c2st" and opts.get("calibration") == "binomial")
    if B is None or no_permutations:
        return
    alpha = opts["alpha"]
    if 1.0 / (B + 1) > alpha:
        raise ValueError(f"n_permutations={B} is too small for alpha={alpha}: the smallest "
                         f"permutation p-value is 1/(B + 1) = {1.0 / (B + 1):.4g}, so the test "
                         f"could never reject; use n_permutations >= "
                         f"{math.ceil(1.0 / alpha) - 1}")


def _two_sample_test(X, Y, statistic, B, alternative, rng, progress, opts):
    """The test from validated arguments (:func:`_two_sample_test_iv`)."""
    start = time.perf_counter()
    if statistic in _DECISION:
        result = _RUNNERS[statistic](X, Y, B, alternative, rng, progress, **opts)
    else:
        alpha = opts.pop("alpha")
        result = _RUNNERS[statistic](X, Y, B, alternative, rng, progress, **opts)
        if alpha is not None:
            result = replace(result, reject=bool(result.pvalue <= alpha), alpha=alpha)
    if math.isnan(result.statistic) or np.isnan(result.null_distribution).any():
        # distances and radial kernels are computed in a scaled frame and cannot overflow;
        # a NaN comes from a kernel that does (linear, polynomial, a callable) at this scale
        biggest = max(float(np.max(np.abs(X))), float(np.max(np.abs(Y))))
        raise ValueError(f"statistic={statistic!r}: the statistic evaluated to NaN on X of "
                         f"shape {X.shape} and Y of shape {Y.shape} (largest |value| "
                         f"{biggest:.3g}); the kernel overflows at this magnitude: rescale X "
                         "and Y, or use a radial kernel")
    result.details["seconds"] = time.perf_counter() - start
    return result


def _statistic_options(statistic):
    """The options of ``statistic`` with their defaults (``progress`` and ``alpha`` too)."""
    if statistic in _LEARNED:
        from .torch._twosample import OPTIONS as learned  # ImportError names the extra
        own = learned[statistic]
    else:
        own = _OPTIONS[statistic]
    return {"alpha": None, **own, "progress": False}


def _check_options(statistic, options):
    defaults = _statistic_options(statistic)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(map(repr, unknown))} for statistic="
                        f"{statistic!r}; valid options: {', '.join(sorted(defaults))}")
    return {**defaults, **options}


# ----------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------

def _result(statistic, null, pvals, alternative, name, method, details):
    null = np.asarray(null, dtype=np.float64)
    null.setflags(write=False)
    details = {**details, "pvalues": pvals, "alternative": alternative}
    return TwoSampleResult(statistic=float(statistic), pvalue=float(pvals[alternative]),
                           null_distribution=null, statistic_name=name, method=method,
                           details=details)


def _permutation_result(stat, null, tol, alternative, name, details, method="permutation"):
    pvals = _perm.pvalues(stat, null, tol)
    return _result(stat, null, pvals, alternative, name, method,
                   {**details, "n_permutations": null.size, "tie_tolerance": float(tol)})


def _label(statistic, **params):
    inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{statistic}({inner})"


def _check_engine(max_memory, batch_size, estimator):
    max_memory = check_positive_int(max_memory, "max_memory", minimum=2 ** 20)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    return max_memory, batch_size, check_choice(estimator, "estimator", _ESTIMATORS)


def _kernel(kernel, bandwidth, X, Y, kernel_params):
    from .ipm._kernels import resolve_kernel
    if kernel_params is None:
        kernel_params = {}
    if not isinstance(kernel_params, dict):
        raise TypeError(f"kernel_params must be a dict or None; got {_describe(kernel_params)}")
    return resolve_kernel(kernel, bandwidth, X, Y, **kernel_params)


def _pooled_kernel(kern, Z, estimator):
    diag = 0.0 if estimator == "unbiased" else kern.diagonal
    return _perm.Pooled(kern, Z, diagonal=diag)


def _batches(rng, n, m, B, size):
    """The B relabellings as X-masks, in batches (the engine's order)."""
    for j0 in range(0, B, size):
        yield _perm.draw_assignments(rng, n, m, min(size, B - j0))


def _mask_batch_size(N):
    return max(1, 2 ** 24 // N)


# ----------------------------------------------------------------------------------------
# MMD, energy distance and their aggregation (the matrix engine)
# ----------------------------------------------------------------------------------------

def _run_quadratic(X, Y, B, rng, progress, sources, estimator, max_memory, batch_size,
                   device=None):
    Z = np.concatenate([X, Y], axis=0)
    srcs = [src(Z) for src in sources]
    if device is None:
        st, scale, info = _perm.quadratic_null(srcs, X.shape[0], Y.shape[0], B, rng,
                                               estimator=estimator, max_memory=max_memory,
                                               batch=batch_size, progress=progress)
    else:
        from .torch._permutation import quadratic_null  # ImportError names the extra
        st, scale, info = quadratic_null(srcs, Z, X.shape[0], Y.shape[0], B, rng,
                                         estimator=estimator, max_memory=max_memory,
                                         batch=batch_size, progress=progress, device=device)
    return st, scale, {"n": X.shape[0], "m": Y.shape[0], "estimator": estimator, "plan": info}


def _run_mmd(X, Y, B, alternative, rng, progress, *, kernel, bandwidth, kernel_params,
             estimator, max_memory, batch_size, device):
    max_memory, batch_size, estimator = _check_engine(max_memory, batch_size, estimator)
    kern = _kernel(kernel, bandwidth, X, Y, kernel_params)
    st, scale, details = _run_quadratic(
        X, Y, B, rng, progress, [lambda Z: _pooled_kernel(kern, Z, estimator)], estimator,
        max_memory, batch_size, device)
    bw = kern.bandwidth
    details.update(kernel=kern.name, bandwidth=bw)
    name = _label("mmd", kernel=kern.name, estimator=estimator)
    return _permutation_result(st[0, 0], st[0, 1:], _perm.TIE_RTOL * scale[0], alternative,
                               name, details)


def _neg_distance(A, B):
    from .ipm._kernels import pairwise_distances
    return -pairwise_distances(A, B)


def _run_energy(X, Y, B, alternative, rng, progress, *, estimator, max_memory, batch_size,
                device):
    max_memory, batch_size, estimator = _check_engine(max_memory, batch_size, estimator)
    st, scale, details = _run_quadratic(
        X, Y, B, rng, progress, [lambda Z: _perm.Pooled(_neg_distance, Z, diagonal=0.0)],
        estimator, max_memory, batch_size, device)
    name = _label("energy", estimator=estimator)
    return _permutation_result(st[0, 0], st[0, 1:], _perm.TIE_RTOL * scale[0], alternative,
                               name, details)


def _run_mmd_agg(X, Y, B, alternative, rng, progress, *, kernel, bandwidths, kernel_params,
                 estimator, max_memory, batch_size, device):
    from .estimators._ratio import _grid
    from .ipm._kernels import _rescaled
    if alternative != "greater":
        raise ValueError(f"statistic='mmd_agg' supports only alternative='greater'; got "
                         f"alternative={alternative!r}")
    max_memory, batch_size, estimator = _check_engine(max_memory, batch_size, estimator)
    if not isinstance(kernel, str) or kernel not in _RADIAL:
        raise ValueError(f"statistic='mmd_agg' needs a kernel with a bandwidth, one of "
                         f"{', '.join(map(repr, _RADIAL))}; got kernel={_describe(kernel)}")
    if bandwidths is None:
        # the median kernel rescaled: its bandwidth keeps full precision in its own frame
        # (subnormal data), unlike median * factor rounded in the data's units
        base = _kernel(kernel, "median", X, Y, kernel_params)
        kerns = [_rescaled(base, f) for f in _AGG_FACTORS]
        bws = np.array([k.bandwidth for k in kerns])
    else:
        bws = np.sort(_grid(bandwidths, "bandwidths", None))
        kerns = [_kernel(kernel, float(bw), X, Y, kernel_params) for bw in bws]
    sources = [(lambda Z, k=k: _pooled_kernel(k, Z, estimator)) for k in kerns]
    st, scale, details = _run_quadratic(X, Y, B, rng, progress, sources, estimator,
                                        max_memory, batch_size, device)
    mean = st.mean(axis=1, keepdims=True)
    sd = st.std(axis=1, keepdims=True)
    flat = (sd[:, 0] == 0.0)  # every relabelling gives the same value: no information
    sd[flat] = 1.0
    z = (st - mean) / sd
    z[flat] = 0.0
    agg = z.max(axis=0)
    per_bw = [_perm.pvalues(s[0], s[1:], _perm.TIE_RTOL * c)["greater"]
              for s, c in zip(st, scale)]
    details.update(kernel=kernel, bandwidths=[float(b) for b in bws],
                   statistics_per_bandwidth=[float(s) for s in st[:, 0]],
                   pvalues_per_bandwidth=per_bw)
    tol = _perm.TIE_RTOL * float(np.max(scale / sd[:, 0]))
    name = _label("mmd_agg", kernel=kernel, estimator=estimator, n_bandwidths=len(bws))
    return _permutation_result(agg[0], agg[1:], tol, alternative, name, details)


# ----------------------------------------------------------------------------------------
# statistics recomputed per permutation
# ----------------------------------------------------------------------------------------

def _progress(progress, total):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not progress, desc="permutations", unit="perm")


def _run_wasserstein(X, Y, B, alternative, rng, progress, *, p, metric):
    from .ipm import wasserstein
    p = check_real(p, "p", low=1, low_open=False)
    n, m = X.shape[0], Y.shape[0]
    d = X.shape[1]
    if d > 1 and n * m > _WASSERSTEIN_MAX_PAIRS:
        raise ValueError(
            f"statistic='wasserstein' solves one exact transport problem per permutation; "
            f"n * m = {n} * {m} = {n * m} exceeds {_WASSERSTEIN_MAX_PAIRS} in d = {d} "
            f"(shapes {X.shape} and {Y.shape}); use statistic='energy' or 'mmd', or subsample")
    method = "sorting" if d == 1 and isinstance(metric, str) else "exact"

    def stat(A, C):
        return wasserstein(A, C, p=p, metric=metric, method=method)

    observed = stat(X, Y)
    Z = np.concatenate([X, Y], axis=0)
    null = np.empty(B)
    j = 0
    with _progress(progress, B) as bar:
        for masks in _batches(rng, n, m, B, _mask_batch_size(n + m)):
            for mask in masks:
                null[j] = stat(Z[mask], Z[~mask])
                j += 1
            bar.update(len(masks))
    name = _label("wasserstein", p=p, metric=metric)
    return _permutation_result(observed, null, _perm.TIE_RTOL * abs(observed), alternative, name,
                               {"n": n, "m": m, "p": p, "metric": metric})


def _default_classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression())


def _check_classifier(classifier):
    if classifier is None:
        return _default_classifier()
    missing = [a for a in ("fit", "predict") if not callable(getattr(classifier, a, None))]
    if missing:
        raise TypeError(f"classifier must be None or a scikit-learn classifier with fit and "
                        f"predict; {type(classifier).__name__} has no {' or '.join(missing)}")
    return classifier


class _C2ST:
    """Held-out accuracy of a classifier telling label 1 (X) from label 0 (Y)."""

    def __init__(self, Z, n, m, classifier, test_size):
        self.Z = Z
        self.classifier = classifier
        self.tx = min(n - 1, max(1, int(round(test_size * n))))
        self.ty = min(m - 1, max(1, int(round(test_size * m))))
        self.convergence_warnings = 0

    def __call__(self, xmask, rng):
        """(number correct, number of predicted ones, held-out size) for labels ``xmask``."""
        from .estimators._ratio import _fit_quiet, _seed, _seeded_clone
        ix, iy = np.flatnonzero(xmask), np.flatnonzero(~xmask)
        ix, iy = rng.permutation(ix), rng.permutation(iy)
        test = np.concatenate([ix[:self.tx], iy[:self.ty]])
        train = np.concatenate([ix[self.tx:], iy[self.ty:]])
        model = _seeded_clone(self.classifier, _seed(rng))
        self.convergence_warnings += _fit_quiet(model, self.Z[train],
                                                xmask[train].astype(np.int64))
        pred = np.asarray(model.predict(self.Z[test])).astype(np.int64).ravel()
        truth = xmask[test].astype(np.int64)
        if pred.shape != truth.shape or not np.isin(pred, (0, 1)).all():
            raise ValueError(f"classifier.predict must return labels 0/1 for the "
                             f"{truth.size} held-out points; got {_describe(pred)}")
        return int((pred == truth).sum()), int(pred.sum()), truth.size


def _run_c2st(X, Y, B, alternative, rng, progress, *, classifier, test_size, calibration):
    from .ipm._kernels import pow2_scale
    default = classifier is None
    classifier = _check_classifier(classifier)
    test_size = check_real(test_size, "test_size", low=0, high=1)
    check_choice(calibration, "calibration", _CALIBRATIONS)
    n, m = X.shape[0], Y.shape[0]
    Z = np.concatenate([X, Y], axis=0)
    if default:
        # the default (standardise + logistic) is scale-free; the exact power-of-two rescaling
        # keeps the standardisation's variances in range for data near 1e±300
        Z = Z / pow2_scale(Z)
    c2st = _C2ST(Z, n, m, classifier, test_size)
    details = {"n": n, "m": m, "test_size": test_size, "calibration": calibration,
               "classifier": repr(classifier)}
    name = _label("c2st", calibration=calibration)
    observed = np.zeros(n + m, dtype=bool)
    observed[:n] = True
    if calibration == "binomial":
        correct, k, nte = c2st(observed, rng)
        h = (correct - nte + k + c2st.tx) // 2  # true positives
        law = stats.hypergeom(nte, k, c2st.tx)
        pg, pl = float(law.sf(h - 1)), float(law.cdf(h))
        pvals = {"greater": pg, "less": pl, "two-sided": min(1.0, 2 * min(pg, pl))}
        details.update(n_test=nte, n_correct=correct, n_predicted_x=k,
                       convergence_warnings=c2st.convergence_warnings)
        return _result(correct / nte, np.empty(0), pvals, alternative, name,
                       "exact conditional (hypergeometric)", details)
    masks = np.concatenate(list(_batches(rng, n, m, B, _mask_batch_size(n + m))))
    correct, _, nte = c2st(observed, rng)
    null = np.empty(B)
    with _progress(progress, B) as bar:
        for b, mask in enumerate(masks):
            null[b] = c2st(mask, rng)[0] / nte
            bar.update(1)
    details.update(n_test=nte, n_correct=correct, convergence_warnings=c2st.convergence_warnings)
    # accuracies are counts / n_test: half a count separates distinct values
    return _permutation_result(correct / nte, null, 0.5 / nte, alternative, name, details)


# ----------------------------------------------------------------------------------------
# linear-time MMD (asymptotic normal)
# ----------------------------------------------------------------------------------------

def _run_mmd_linear(X, Y, B, alternative, rng, progress, *, kernel, bandwidth, kernel_params):
    n, m = X.shape[0], Y.shape[0]
    L = min(n, m) // 2
    if L < 2:
        raise ValueError(f"statistic='mmd_linear' needs at least 4 points in each sample "
                         f"(2 disjoint pairs); got shapes {X.shape} and {Y.shape}")
    small = None
    if L < _MMD_LINEAR_MIN_PAIRS:
        small = (f"statistic='mmd_linear': {L} disjoint pairs (shapes {X.shape} and "
                 f"{Y.shape}) are fewer than the {_MMD_LINEAR_MIN_PAIRS} its normal "
                 f"approximation needs (min(n, m) >= {2 * _MMD_LINEAR_MIN_PAIRS}): the p-value "
                 "is anti-conservative (a true null is rejected in 13% of tests at alpha = "
                 "0.05 with 5 points each); use statistic='mmd' (permutation p-value, exact "
                 "at any size)")
        warnings.warn(small, UserWarning, stacklevel=3)
    from .ipm._mmd import _linear_terms
    kern = _kernel(kernel, bandwidth, X, Y, kernel_params)
    h = _linear_terms(X, Y, kern)
    stat = float(h.mean())
    sd = float(h.std(ddof=1))
    if not sd > 0.0:
        raise ValueError(f"statistic='mmd_linear': the {L} terms h_i are all equal ({stat!r}), "
                         "so their variance is 0 and the normal approximation is undefined "
                         f"(degenerate samples of shapes {X.shape} and {Y.shape}?)")
    se = sd / math.sqrt(L)
    z = stat / se
    pvals = _normal_pvalues(z)
    details = {"n": n, "m": m, "n_pairs": L, "standard_error": se, "z": z,
               "kernel": kern.name, "bandwidth": kern.bandwidth}
    if small:
        details["warning"] = small
    name = _label("mmd_linear", kernel=kern.name)
    return _result(stat, np.empty(0), pvals, alternative, name, "asymptotic normal", details)


def _normal_pvalues(z):
    """The p-values of the three alternatives for a standard-normal z."""
    pg, pl = float(stats.norm.sf(z)), float(stats.norm.cdf(z))
    return {"greater": pg, "less": pl, "two-sided": min(1.0, 2 * min(pg, pl))}


# ----------------------------------------------------------------------------------------
# aggregated tests: MMDAgg, MMDAggInc, MMD-FUSE (divest._aggregated)
# ----------------------------------------------------------------------------------------

def _only_greater(statistic, alternative):
    if alternative != "greater":
        raise ValueError(f"statistic={statistic!r} supports only alternative='greater'; got "
                         f"alternative={alternative!r}")


def _tie_rtol(dtype, N) -> float:
    """Relative tie tolerance: the engine's in float64; in a lower precision, its round-off
    over sums of N terms (ties then count towards a larger, conservative p-value)."""
    if np.dtype(dtype) == np.float64:
        return _perm.TIE_RTOL
    return max(_perm.TIE_RTOL, float(np.finfo(dtype).eps) * N)


def _resampling_sizes(B1, B2, B3, alpha):
    B1 = check_positive_int(B1, "B1")
    B2 = check_positive_int(B2, "B2")
    B3 = check_positive_int(B3, "B3")
    if alpha is None:
        raise TypeError("alpha must be a level in (0, 1) for a test defined by its decision at "
                        "alpha; got None")
    if B2 * alpha < 1:
        raise ValueError(f"B2={B2} is too small for alpha={alpha}: with B2 * alpha < 1 the "
                         "level correction is set so that none of the B2 draws rejects, and "
                         "the p-value (1 + #)/(1 + B2) can never reach alpha; use B2 >= "
                         f"{math.ceil(1 / alpha)}")
    return B1, B2, B3


def _decision_result(dec, members, weights, stats, name, method, details, alpha):
    per_kernel = [{**mem.describe(), "weight": float(w), "statistic": float(st),
                   "pvalue": float(p), "threshold": float(t), "reject": bool(r)}
                  for mem, w, st, p, t, r in zip(members, weights, stats[:, 0],
                                                 dec["pvalues_per_kernel"], dec["thresholds"],
                                                 dec["reject_per_kernel"])]
    details = {**details, "kernels": per_kernel, "u_alpha": dec["u_alpha"],
               "n_permutations": int(stats.shape[1] - 1)}
    null = np.asarray(dec["null"], dtype=np.float64)
    null.setflags(write=False)
    pvals = {"greater": float(dec["pvalue"])}
    details.update(pvalues=pvals, alternative="greater")
    return TwoSampleResult(statistic=dec["statistic"], pvalue=pvals["greater"],
                           null_distribution=null, statistic_name=name, method=method,
                           details=details, reject=dec["reject"], alpha=alpha)


def _collection(kernel, X, Y, number_bandwidths, bandwidths, profiles, collections, scheme):
    from . import _aggregated as agg
    names = agg.kernel_names(kernel, profiles, collections)
    number_bandwidths = agg.check_number_bandwidths(number_bandwidths)
    bandwidths = agg.check_bandwidths(bandwidths)
    members = agg.members(names, X, Y, profiles=profiles, number_bandwidths=number_bandwidths,
                          bandwidths=bandwidths, scheme=scheme)
    return members, number_bandwidths, bandwidths


def _run_mmdagg(X, Y, B, alternative, rng, progress, *, kernel, number_bandwidths, bandwidths,
                weights, B1, B2, B3, resampling, alpha, precision, max_memory, batch_size):
    from . import _aggregated as agg
    _only_greater("mmdagg", alternative)
    B1, B2, B3 = _resampling_sizes(B1, B2, B3, alpha)
    check_choice(resampling, "resampling", agg.RESAMPLINGS)
    max_memory, batch_size, _ = _check_engine(max_memory, batch_size, "unbiased")
    n, m = X.shape[0], Y.shape[0]
    resampling = _mmdagg_resampling(resampling, n, m)
    if resampling == "wild_bootstrap":
        _check_wild_sizes("mmdagg", X, Y)
    members, L, bws = _collection(kernel, X, Y, number_bandwidths, bandwidths, agg.PROFILES,
                                  agg.COLLECTIONS, "agg")
    w = agg.collection_weights(members, weights, L, bws)
    dtype = _PRECISIONS[check_choice(precision, "precision", tuple(_PRECISIONS))]
    mats = agg.Matrices(np.concatenate([X, Y]), members)
    details = {"n": n, "m": m, "resampling": resampling, "B1": B1, "B2": B2, "B3": B3,
               "weights": weights}
    if resampling == "wild_bootstrap":
        stats, scale = agg.wild_null((mats.wild_h(mem, n, dtype) for mem in members), n,
                                     1 + B1 + B2, rng, dtype=dtype)
        method = "wild bootstrap, MMDAgg level correction"
    else:
        stats, scale, info, _ = agg.permutation_null(mats, members, n, m, B1 + B2, rng,
                                                     max_memory=max_memory, batch=batch_size,
                                                     progress=progress, dtype=dtype,
                                                     frobenius=False)
        details["plan"] = info
        method = "permutation, MMDAgg level correction"
    dec = agg.aggregate_decision(stats, B1, w, alpha, B3, _tie_rtol(dtype, n + m) * scale)
    name = _label("mmdagg", kernel=kernel if isinstance(kernel, str) else "custom",
                  n_kernels=len(members), weights=weights)
    return _decision_result(dec, members, w, stats, name, method, details, alpha)


def _run_mmdagginc(X, Y, B, alternative, rng, progress, *, R, number_bandwidths, bandwidths,
                   weights, B1, B2, B3, alpha):
    from . import _aggregated as agg
    _only_greater("mmdagginc", alternative)
    B1, B2, B3 = _resampling_sizes(B1, B2, B3, alpha)
    R = check_positive_int(R, "R")
    members, L, bws = _collection("gaussian", X, Y, number_bandwidths, bandwidths,
                                  agg.PROFILES, agg.COLLECTIONS, "agg")
    w = agg.collection_weights(members, weights, L, bws)
    stats, scale, pairs = agg.incomplete_null(X, Y, R, [mem.bandwidth for mem in members],
                                              1 + B1 + B2, rng)
    dec = agg.aggregate_decision(stats, B1, w, alpha, B3, _perm.TIE_RTOL * scale)
    n, m = X.shape[0], Y.shape[0]
    details = {"n": n, "m": m, "R": min(R, min(n, m) - 1), "n_pairs": pairs,
               "points_used": min(n, m), "B1": B1, "B2": B2, "B3": B3, "weights": weights}
    name = _label("mmdagginc", R=R, n_kernels=len(members), weights=weights)
    return _decision_result(dec, members, w, stats, name,
                            "wild bootstrap (incomplete U-statistics), MMDAgg level correction",
                            details, alpha)


def _run_mmdfuse(X, Y, B, alternative, rng, progress, *, kernel, number_bandwidths,
                 bandwidths, lambda_multiplier, resampling, precision, max_memory, batch_size):
    from . import _aggregated as agg
    lam = check_real(lambda_multiplier, "lambda_multiplier", low=0)
    check_choice(resampling, "resampling", _FUSE_RESAMPLINGS)
    check_choice(precision, "precision", tuple(_PRECISIONS))
    max_memory, batch_size, _ = _check_engine(max_memory, batch_size, "unbiased")
    n, m = X.shape[0], Y.shape[0]
    if resampling == "wild_bootstrap":
        _check_wild_sizes("mmdfuse", X, Y)
    members, L, bws = _collection(kernel, X, Y, number_bandwidths, bandwidths,
                                  agg.FUSE_PROFILES, {}, "fuse")
    mats = agg.Matrices(np.concatenate([X, Y]), members)
    if bws is None:  # bandwidths from the pooled distances, per norm
        per_norm = {norm: agg.fuse_bandwidths(mats.distances(norm), L)
                    for norm in {mem.norm for mem in members if mem.function is None}}
        members = _with_fuse_bandwidths(members, per_norm, L)
    dtype = _PRECISIONS[precision]
    details = {"n": n, "m": m, "resampling": resampling, "lambda_multiplier": lam}
    if resampling == "wild_bootstrap":
        sums = []

        def matrices():
            for mem in members:
                H, sc, s = mats.wild_h(mem, n, dtype, sums=True)
                sums.append(s)
                yield H, sc

        # scale: the mean absolute kernel value, the size of the averages MMD² cancels
        u, scale = agg.wild_null(matrices(), n, B + 1, rng, dtype=dtype)
        mmd2 = np.array([agg.wild_mmd2(row, s, n) for row, s in zip(u, sums)])
        frob = np.sqrt([s.squares for s in sums])
        method = "wild bootstrap (sign flips of the pairs)"
    else:
        mmd2, scale, info, frob = agg.permutation_null(
            mats, members, n, m, B, rng, max_memory=max_memory, batch=batch_size,
            progress=progress, dtype=dtype)
        details["plan"] = info
        method = "permutation"
    if min(frob) == 0.0:
        raise ValueError(f"statistic='mmdfuse': a kernel of the collection is 0 off the "
                         f"diagonal on the pooled sample of shapes {X.shape} and {Y.shape} "
                         "(bandwidth far below every distance), so its MMD cannot be "
                         "normalised")
    fused = agg.fuse_statistics(mmd2, frob, min(n, m), lam)
    details["kernels"] = [{**mem.describe(), "statistic": float(s), "frobenius": float(f)}
                          for mem, s, f in zip(members, mmd2[:, 0], frob)]
    # the fused statistic moves by at most the largest normalised change of one kernel's MMD²
    c = min(n, m) * (min(n, m) - 1.0)
    tol = _tie_rtol(dtype, n + m) * float(
        np.max(scale * c * math.sqrt(c) / np.asarray(frob)))
    name = _label("mmdfuse", n_kernels=len(members), lambda_multiplier=lam)
    return _permutation_result(fused[0], fused[1:], tol, alternative, name, details, method)


#: ``"mmdfuse"``'s resamplings: the published permutations, or sign flips of the pairs
_FUSE_RESAMPLINGS = ("permutation", "wild_bootstrap")


def _with_fuse_bandwidths(members, per_norm, L):
    out, seen = [], {}
    for mem in members:
        if mem.function is not None:
            out.append(mem)
            continue
        i = seen.get(mem.label, 0)
        seen[mem.label] = i + 1
        out.append(replace(mem, bandwidth=float(per_norm[mem.norm][i % L])))
    return out


# ----------------------------------------------------------------------------------------
# learned tests (divest.torch): a network trained on one part, permutations on the other
# ----------------------------------------------------------------------------------------

def _learned_runner(statistic):
    def run(X, Y, B, alternative, rng, progress, **opts):
        from .torch._twosample import run_learned
        out = run_learned(statistic, X, Y, B, rng=rng, progress=progress, **opts)
        return _permutation_result(out["statistic"], out["null"], out["tolerance"],
                                   alternative, out["name"], out["details"])
    run.__name__ = f"_run_{statistic}"
    return run


_RUNNERS = {**{name: _learned_runner(name) for name in _LEARNED},
            "mmd": _run_mmd, "energy": _run_energy, "mmd_agg": _run_mmd_agg,
            "wasserstein": _run_wasserstein, "c2st": _run_c2st, "mmd_linear": _run_mmd_linear,
            "mmdagg": _run_mmdagg, "mmdagginc": _run_mmdagginc, "mmdfuse": _run_mmdfuse}


# ----------------------------------------------------------------------------------------
# rejection-rate studies (power and level): a sweep of independent tests
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RejectionRate:
    """How often a test rejects on repeated samples (power, or level under the null).

    Attributes
    ----------
    rate : float
        The fraction of the ``n_repetitions`` tests that rejected at ``alpha``.
    standard_error : float
        The binomial standard error :math:`\\sqrt{r(1 - r)/R}`.
    confidence_interval : tuple of float
        The exact 95% Clopper–Pearson interval of the rejection probability.
    pvalues : ndarray, shape (R,)
        The p-values in the order of the repetitions (read-only).
    rejections : ndarray of bool, shape (R,)
        The decisions (read-only); for MMDAgg/MMDAggInc the published rule, else
        ``pvalue <= alpha``.
    alpha : float
    n_repetitions : int
    statistic_name : str
    details : dict
        ``"seconds"``, ``"n_jobs"`` (as given), the options passed to every test.
    """

    rate: float
    standard_error: float
    confidence_interval: tuple[float, float]
    pvalues: np.ndarray = field(compare=False)
    rejections: np.ndarray = field(compare=False)
    alpha: float
    n_repetitions: int
    statistic_name: str
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        lo, hi = self.confidence_interval
        return (f"RejectionRate({self.statistic_name}: {self.rate:.4g} ± "
                f"{self.standard_error:.2g} [{lo:.3g}, {hi:.3g}] over {self.n_repetitions} "
                f"tests at alpha={self.alpha:g})")


def _one_repetition(sample, seed, statistic, n_permutations, alpha, options):
    """One test on one drawn pair: (pvalue, reject, statistic_name)."""
    gen = np.random.default_rng(seed)
    drawn = sample(gen)
    if not (isinstance(drawn, tuple) and len(drawn) == 2):
        raise TypeError(f"sample(rng) must return a tuple (X, Y); got {_describe(drawn)}")
    X, Y = drawn
    res = two_sample_test(X, Y, statistic, n_permutations=n_permutations, rng=gen,
                          alpha=alpha, **options)
    return res.pvalue, bool(res.reject), res.statistic_name


def rejection_rate(sample, statistic="mmd", *, n_repetitions=200, alpha=0.05,
                   n_permutations=None, n_jobs=None, rng=None, progress=False,
                   **options) -> RejectionRate:
    r"""Estimate a test's power (or level) by repeating it on fresh samples.

    Repetition i draws ``X, Y = sample(rng_i)`` and runs
    ``two_sample_test(X, Y, statistic, alpha=alpha, rng=rng_i, **options)``; the rate is
    the fraction of rejections, with its binomial standard error and the exact
    Clopper–Pearson 95% interval.  The generators ``rng_i`` are spawned from ``rng``
    before any work starts (``numpy.random.SeedSequence(rng).spawn(n_repetitions)`` for
    an int; a Generator's own ``spawn``), so repetition i gives the same result whoever
    runs it: the result is identical for any ``n_jobs`` and any joblib backend.

    Parameters
    ----------
    sample : callable
        ``sample(rng) -> (X, Y)`` with ``rng`` a ``numpy.random.Generator``; draws one pair
        of samples (P = Q for a level study).  Sent to the workers, so with process or
        cluster backends it must be picklable by cloudpickle (a lambda or closure is).
    statistic : str
        One of :data:`STATISTICS`.
    n_repetitions : int, default 200
    alpha : float, default 0.05
    n_permutations : int, optional
        As in :func:`two_sample_test`.
    n_jobs : int or None
        Repetitions run at once by ``joblib.Parallel(n_jobs=n_jobs)``, with the backend of
        the active ``joblib.parallel_config`` (``"loky"`` processes by default,
        ``"threading"``, ``"dask"`` with a ``dask.distributed`` client, ``"ray"`` after
        ``ray.util.joblib.register_ray()``).  None: the configured default (1 when none).
    rng : None, int, Generator or SeedSequence
        Root of the repetitions' seeds.
    progress : bool
        A tqdm bar of finished repetitions.
    **options
        Passed to every :func:`two_sample_test` call.

    Returns
    -------
    RejectionRate

    Examples
    --------
    >>> import numpy as np
    >>> from divest.twosample import rejection_rate
    >>> def shifted(rng):
    ...     return rng.normal(size=(50, 1)), rng.normal(0.5, size=(50, 1))
    >>> res = rejection_rate(shifted, "mmd", n_repetitions=20, n_permutations=199, rng=0)
    >>> res.rate, res.n_repetitions
    (0.5, 20)
    """
    from ._parallel import check_n_jobs, parallel_map, spawn_seeds

    if not callable(sample):
        raise TypeError(f"sample must be a callable sample(rng) -> (X, Y); got "
                        f"{_describe(sample)}")
    check_choice(statistic, "statistic", STATISTICS)
    R = check_positive_int(n_repetitions, "n_repetitions")
    alpha = check_real(alpha, "alpha", low=0, high=1)
    n_jobs = check_n_jobs(n_jobs)
    _check_options(statistic, {"alpha": alpha, **options})    # before any work starts
    t0 = time.perf_counter()
    seeds = spawn_seeds(rng, R)
    out = parallel_map(_one_repetition,
                       [(sample, s, statistic, n_permutations, alpha, options) for s in seeds],
                       n_jobs=n_jobs, progress=progress, desc="rejection_rate",
                       unit="test")
    pvalues = np.array([o[0] for o in out], dtype=float)
    rejections = np.array([o[1] for o in out], dtype=bool)
    for a in (pvalues, rejections):
        a.flags.writeable = False
    k = int(rejections.sum())
    rate = k / R
    ci = stats.binomtest(k, R).proportion_ci(0.95, method="exact")
    return RejectionRate(rate=rate, standard_error=math.sqrt(rate * (1 - rate) / R),
                         confidence_interval=(float(ci.low), float(ci.high)),
                         pvalues=pvalues, rejections=rejections, alpha=alpha,
                         n_repetitions=R, statistic_name=out[0][2],
                         details={"seconds": time.perf_counter() - t0, "n_jobs": n_jobs,
                                  "n_permutations": n_permutations, "options": dict(options)})
