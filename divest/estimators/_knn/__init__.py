r"""Nearest-neighbour estimators of divergences, entropy and cross-entropy.

Samples ``X ~ P`` have shape (n, d) and ``Y ~ Q`` shape (m, d) (1-D input is taken as
(n, 1)).  Distances are Euclidean.  For a point :math:`X_i`

* :math:`\rho_l(i)` is the distance to its l-th nearest neighbour in
  :math:`X \setminus \{X_i\}`,
* :math:`\nu_k(i)` is the distance to its k-th nearest neighbour in :math:`Y`.

Under local uniformity the probability mass of the ball of radius :math:`\rho_l(i)` is
:math:`U_X \sim \mathrm{Beta}(l, n-l)` and that of radius :math:`\nu_k(i)` is
:math:`U_Y \sim \mathrm{Beta}(k, m-k+1)`, with :math:`U_X \approx p(X_i) V_d \rho_l^d`,
:math:`U_Y \approx q(X_i) V_d \nu_k^d` and :math:`V_d = \pi^{d/2}/\Gamma(d/2+1)`.  Every
estimator below is a mean of per-point terms with the exact finite-sample moments of
these Beta laws as bias corrections:

* :math:`\mathbb{E}\log U_X = \psi(l) - \psi(n)`, :math:`\mathbb{E}\log U_Y = \psi(k) -
  \psi(m+1)` (KL, entropy, cross-entropy),
* :math:`\mathbb{E}\,U_X^{\beta} = \frac{\Gamma(l+\beta)\Gamma(n)}{\Gamma(l)\Gamma(n+\beta)}`,
  :math:`\mathbb{E}\,U_Y^{-\beta} = \frac{\Gamma(k-\beta)\Gamma(m+1)}{\Gamma(k)\Gamma(m+1-\beta)}`
  (the :math:`\int p^\alpha q^{1-\alpha}` family, :math:`\beta = 1-\alpha`).

As :math:`n, m \to \infty` these reduce to the published constants: :math:`\log\frac{m}{n-1}`
of Wang, Kulkarni & Verdú (2009) and :math:`B_{k,\alpha}\,(\frac{n-1}{m})^{1-\alpha}`,
:math:`B_{k,\alpha} = \frac{\Gamma(k)^2}{\Gamma(k-\alpha+1)\Gamma(k+\alpha-1)}`, of Póczos &
Schneider (2011); they differ from them by :math:`O(1/n + 1/m)`.

All neighbours come from one ``scipy.spatial.cKDTree`` query per pair of sets at the
largest rank needed (plus a small margin for the jackknife), reused for the estimate and
for every jackknife replicate; the rare points that need more neighbours are re-queried.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from ... import _methods, _names
from ..._result import Allowance, Estimate, compose
from ..._validation import _describe, check_choice, check_rng
from ...ipm._kernels import pow2_scale
from .._common import as_2d, check_samples, sample_tails, unbounded_tail_side
from ._chernoff import ChernoffEvaluator, _chernoff_alpha, _min_k_alpha
from ._driver import (_DEFAULT_K, _ESTIMATORS, _INTERVALS, _SE, _TIES, _all_identical,
                      _check_k, _check_workers, _run)
from ._entropy import cross_entropy, entropy
from ._js import JSEvaluator, _js_pi, _reference_sizes
from ._kl import KLEvaluator, OneSampleKLEvaluator

__all__ = ["cross_entropy", "entropy", "knn"]
#: data whose largest |coordinate| lies outside [2**-64, 2**64] are computed in a
#: power-of-two scaled frame (ipm._kernels.pow2_scale)
_FRAME_MIN, _FRAME_MAX = 2.0 ** -64, 2.0 ** 64


def knn(X, Y, name="kl", *, k=None, estimator="auto", ties="raise", workers=None, rng=None,
        se="jackknife", interval="bias_aware", **params) -> Estimate:
    r"""Nearest-neighbour estimate of a divergence :math:`D(P\|Q)` from samples.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        Sample of P.
    Y : array_like, shape (m, d) or (m,), or a distribution
        Sample of Q; or a frozen scipy.stats / divest distribution with ``logpdf`` (then
        the one-sample form below is used, ``name="kl"`` only).
    name : str
        ``"kl"``, ``"reverse_kl"``, ``"jeffreys"``, ``"alpha"`` (with ``alpha=``),
        ``"renyi"`` or ``"tsallis"`` (with ``alpha=``), ``"squared_hellinger"``,
        ``"bhattacharyya"``,
        ``"pearson"``, ``"neyman"``, ``"js"``, ``"js_weighted"`` (with ``pi=``) or
        ``"gan"``; parameters may also be given in the label, e.g.
        ``"alpha(alpha=0.5)"``.  Other divergences (``tv``, ...) have no
        nearest-neighbour estimator here: use :func:`divest.estimators.classifier`.
    k : int, optional
        Neighbour rank of the fixed-k estimators, ``1 <= k < n`` and ``k < m``.  Default 5
        (for the alpha family the smallest integer above :math:`2|1-\alpha|` if that is
        larger, so that the per-point terms have finite variance).  Giving ``k`` with
        ``estimator="auto"`` selects the fixed-k estimator.
    estimator : {"auto", "fixed", "adaptive"}
        For KL-type names, ``"adaptive"`` is the bias-reduced adaptive-k estimator and
        ``"fixed"`` the fixed-k one; ``"auto"`` is ``"adaptive"`` unless ``k`` is given.
        The alpha family, the JS names and the one-sample form only have ``"fixed"``.
    ties : {"raise", "jitter", "adaptive"}
        What to do when a distance the estimator uses is zero (duplicate points), which
        would put :math:`\log 0` into the estimate: ``"raise"`` a ValueError;
        ``"jitter"``: for data recorded to a resolution, *dequantise*: each coordinate
        whose values lie on a grid :math:`a + h\mathbb Z` (detected per coordinate, from
        the pooled samples or else each sample's own values:
        :func:`divest.estimators._resolution.resolution`) gets independent
        :math:`U(-h/2, h/2)` noise (drawn from ``rng``), and the estimator starts again.
        The dequantised densities are constant on each grid cell, so every divergence
        between them equals the divergence of the discretised distributions, which is
        therefore what is estimated, whatever the unit of the data
        (``details["resolution"]``, ``details["ties_treatment"]``).  Ties that are not
        on a grid (duplicated rows of continuous data) raise: noise of a size not set by
        the data would make the estimate depend on that size.  ``"adaptive"``: at such
        a point use the first positive distance and its rank (k is raised until the
        distance is positive; the digamma / Gamma corrections use the raised rank).  The
        count is reported in ``details["ties"]``.  A few duplicated rows barely move the
        ``"adaptive"`` estimate; on rounded data it is biased (the distances to the
        rank-raised neighbours still see the grid).
    workers : int or None
        Threads of the tree queries (-1: all cores; None: the ``OMP_NUM_THREADS``
        limit if set, else all cores).  The result does not depend on it.
    rng : None, int or numpy.random.Generator
        Randomness of the jackknife blocks, of the dequantising noise and of the
        mixture's reference subsample (JS names with :math:`\pi \ne n/(n+m)`).
    se : {"jackknife", "none"}
        Standard error by the delete-a-block jackknife (see Notes), or none (NaN).
    interval : {"bias_aware", "sampling"}
        ``"bias_aware"`` (default): the 95% interval is the jackknife one widened, on one
        side, by an allowance for the finite-sample bias read from the trend of the
        fixed-k estimates at ranks :math:`k_0, 2k_0, 4k_0` (see Notes);
        ``"sampling"``: value ± 1.96 SE only.  Needs ``se="jackknife"``.
    **params
        Parameters of the divergence (``alpha``).

    Returns
    -------
    Estimate
        ``method="knn"``, ``name`` the canonical label; ``details`` holds ``estimator``,
        ``k`` (or ``adaptive_k``, a summary of the ranks :math:`l_i, k_i`), ``ties``,
        ``ties_policy``, ``workers``, ``d``, ``n``, ``m``, ``se_method``,
        ``jackknife_blocks`` or ``se_note``, ``interval``, ``mixture_reference`` (JS
        names: ``pi``, the sizes ``n_r``, ``m_r`` of the mixture's reference sample and
        which sample was subsampled, ``None`` if neither), and with the bias-aware
        interval ``bias_trend`` (ranks, their estimates, the change per doubling, γ and
        the allowance) and ``bias_allowance`` (below, above).  ``sample_tails``
        compares the tails of X and Y (generalized-Pareto shapes of the distances
        from the pooled median); when P's is significantly heavier for a divergence
        with :math:`f'_\infty = \infty` (KL, Jeffreys, Pearson, alpha > 1), or Q's
        for one with :math:`f(0) = \infty` (reverse KL), the data cannot bound the
        divergence from above: the bias-aware interval's upper end is ``inf`` and
        ``sample_tails_note`` says why (``docs/conventions.rst``).  When the samples
        look separated (the smallest distance between a point of X and one of Y exceeds
        every within-sample nearest-neighbour distance), ``separated_supports`` holds
        that ``gap`` and the largest spacing ``within``, and the bias-aware interval's
        upper end reaches the divergence of disjoint supports (``inf`` for KL;
        Allowance ``"separated_supports"``): such samples cannot bound it.  For the KL
        names ``ratio_tail`` holds the generalized-Pareto shape (and its SE) of the
        rank-4k0 ratio estimates :math:`\hat p/\hat q` at X (reverse KL: :math:`\hat
        q/\hat p` at Y); a shape above 1 by more than 2 SE (an infinite mean: χ²
        looks infinite, e.g. a far small component of P where Q has no samples)
        opens the upper end (Allowance ``"ratio_tail"``,
        :func:`~divest.estimators._common.ratio_tail_check`).

    Raises
    ------
    ValueError
        Unsupported name (the message says which methods estimate it), NaN/inf, empty input,
        dimension mismatch, ``k`` out of range or too small for ``alpha``, all-identical
        samples, zero distances with ``ties="raise"``.

    Notes
    -----
    Wang, Kulkarni & Verdú (2009), fixed k:

    .. math:: \hat D_{KL} = \frac{d}{n}\sum_{i=1}^n \log\frac{\nu_k(i)}{\rho_k(i)}
              + \psi(m+1) - \psi(n),

    with :math:`\rho_k(i)` the distance from :math:`X_i` to its k-th nearest neighbour
    in :math:`X\setminus\{X_i\}` and :math:`\nu_k(i)` to its k-th nearest neighbour in
    Y.  The constant :math:`\psi(m+1)-\psi(n)` (:math:`=\log\frac{m}{n-1} + O(1/n)`, the
    paper's) makes the estimate exactly ``cross_entropy - entropy``.  Their bias-reduced
    adaptive choice: :math:`\epsilon_i = \max(\rho_1(i), \nu_1(i))`, :math:`l_i` and
    :math:`k_i` the numbers of points of :math:`X\setminus\{X_i\}` and of Y in the
    closed ball of radius :math:`\epsilon_i` (so one of :math:`\rho_{l_i}(i),
    \nu_{k_i}(i)` equals :math:`\epsilon_i`), and

    .. math:: \hat D_{KL} = \frac{d}{n}\sum_i \log\frac{\nu_{k_i}(i)}{\rho_{l_i}(i)}
              + \frac1n\sum_i \big(\psi(l_i) - \psi(k_i)\big) + \psi(m+1) - \psi(n).

    divest caps the ranks at :math:`l_i, k_i \le 32` (the 32-nd neighbour is then used):
    uncapped, their total is about :math:`n(1 + \chi^2(P\|Q))`, which makes the exact
    estimator quadratic in n for large divergences.  The adaptive estimator has less bias
    where the divergence is large and a larger variance where it is small.
    ``reverse_kl`` swaps X and Y, ``jeffreys`` is the sum of both.

    Póczos & Schneider (2011): with :math:`\beta = 1-\alpha`,

    .. math:: \widehat{\int p^\alpha q^{1-\alpha}} = \frac1n\sum_i
              \left(\frac{\rho_k(i)}{\nu_k(i)}\right)^{d\beta}
              \frac{\Gamma(k)\Gamma(n+\beta)}{\Gamma(k+\beta)\Gamma(n)}\,
              \frac{\Gamma(k)\Gamma(m+1-\beta)}{\Gamma(k-\beta)\Gamma(m+1)}
              \;\approx\; \frac{B_{k,\alpha}}{n}\sum_i
              \left(\frac{(n-1)\rho_k^d(i)}{m\,\nu_k^d(i)}\right)^{1-\alpha},

    :math:`B_{k,\alpha} = \Gamma(k)^2/(\Gamma(k-\alpha+1)\Gamma(k+\alpha-1))`: the Gamma
    functions are the moments :math:`1/\mathbb{E}[U_X^{\beta}]\mathbb{E}[U_Y^{-\beta}]`
    of the Beta laws of the ball masses (module docstring), finite iff
    :math:`k > |1-\alpha|` (checked).  Then ``alpha`` is :math:`(c-1)/(\alpha(\alpha-1))`,
    ``renyi`` :math:`\log c/(\alpha-1)`, ``tsallis`` :math:`(c-1)/(\alpha-1)`
    (Póczos & Schneider, 2011), ``squared_hellinger`` :math:`2-2c_{1/2}`,
    ``bhattacharyya`` :math:`-\log c_{1/2}`, ``pearson`` :math:`c_2-1`, ``neyman``
    :math:`c_{-1}-1`.

    JS names through the entropies of P, Q and the mixture :math:`M_\pi = \pi P +
    (1-\pi)Q` (:math:`\pi = 1/2` for ``js`` and ``gan``), read at a common radius: with
    R = X_R ∪ Y_R a sample of the mixture (the pooled sample X ∪ Y when
    :math:`\pi = n/(n+m)`; otherwise all of the sample that :math:`\pi` under-represents
    and a random subset of the other, drawn from ``rng``, reported in
    ``details["mixture_reference"]``), :math:`\varepsilon_i` the distance from
    :math:`X_i` to its k-th nearest neighbour in :math:`X_R\setminus\{X_i\}`
    (:math:`n'_i` points) and :math:`c_i` the number of points of :math:`Y_R`
    (:math:`m'` points) within :math:`\varepsilon_i`,

    .. math:: \widehat{\mathrm{JS}}_\pi = \frac{\pi}{n}\sum_i \big(\psi(k) -
              \psi(k + c_i) + \psi(n'_i + m' + 1) - \psi(n'_i + 1)\big)
              + \frac{1-\pi}{m}\sum_j \big(\ldots\big),

    the Y terms alike with the roles of X and Y swapped; ``gan`` is
    :math:`2\widehat{\mathrm{JS}} - \log 4`.  Each term estimates
    :math:`\log(p/m_\pi)` at the point (the Kozachenko–Leonenko estimates of p and of
    the mixture density in one ball, whose volume cancels, as in Kraskov et al.'s
    mutual-information estimator); it is consistent with k fixed, has mean exactly 0
    when P = Q (any n, m, k, d), and never exceeds its constant, so with R = X ∪ Y the
    value is at most :math:`H(\pi) + 1/(2(n+m))` (:math:`H(1/2) = \log 2`), reached by
    separated samples.  Values outside :math:`[0, H(\pi)]` are reported as they are
    and the interval is clipped to the range.  Derivation and references:
    :mod:`divest.estimators._knn._js`.

    One-sample form (Pérez-Cruz, 2008) when Y is a distribution with density q:
    :math:`\hat D_{KL} = -\hat H(X) - \frac1n\sum_i \log q(X_i)` with :math:`\hat H` the
    Kozachenko–Leonenko entropy (:func:`entropy`); infinite if some :math:`q(X_i) = 0`.

    All these estimators are consistent (n, m → ∞ with k fixed, under the regularity
    conditions of the papers) and biased at finite n: the bias is largest for large
    divergences, in higher dimension, and where P has much heavier tails than Q (there is
    no sample of Q where :math:`\log(p/q)` is largest, e.g. KL(t_3 ‖ N(0, 1))).  The bias
    is not included in the standard error.

    **Standard error.**  The samples are split at random (``rng``) into B = 20 blocks of
    X and 20 of Y; replicate b recomputes the estimator exactly (new neighbours, new n
    and m) without X-block b and Y-block b, and
    :math:`\widehat{se}^2 = \frac{B-1}{B}\sum_b (\hat D_{(b)} - \bar D)^2`.  The replicates
    reuse the neighbour tables, so the cost is a few times that of the estimate itself.
    The grouped (delete-d) jackknife is valid for non-smooth statistics such as these and
    tends to be conservative (Efron & Stein, 1981); it does not contain a finite-sample
    bias (see the bias-aware interval below).  The naive per-point standard error
    ignores the dependence of neighbour terms and under-covers; the naive bootstrap
    creates ties.  Measured coverage on the reference pairs: ``docs/tables/accuracy.rst``.

    **Bias-aware interval.**  The finite-sample bias of these estimators comes from the
    densities varying across the neighbour balls, whose mass grows like k/n: the
    estimates move steadily as k grows.  Modelling the bias at rank k as
    :math:`c\,(k/n)^\gamma`, the change per doubling of k is
    :math:`s = c\,(k/n)^\gamma(2^\gamma-1)`, so the bias at :math:`k_0` is
    :math:`s/(2^\gamma-1)`; s is read from the fixed-k estimates at
    :math:`k_0, 2k_0, 4k_0` on the same neighbour tables (:math:`k_0 = k`, or 1 for the
    adaptive estimator, whose balls are those of the nearest neighbour), and the
    allowance :math:`|s|/(2^\gamma-1)` is added to the side of the interval the trend
    points to.  The rate is unknown (:math:`2/d` for smooth densities in the interior,
    :math:`1/d` for Lipschitz ones, slower in the tails); divest takes the conservative
    :math:`\gamma = 1/(d+4)`, chosen for coverage on the reference pairs
    (:math:`1/(d+2)` under-covered KL on mean-shift-d10 and fixed k = 5 on
    correlated-shift-d2), at the price of wider intervals where the bias is small.  In
    dimension d > 10 the trend is flat and its sign often noise (on Gaussians in
    d = 25-50 the one-sided allowance pointed the wrong way in 3 of 5 samples): there
    the change :math:`v(k_0) - v(4k_0)` is compared with its jackknife SE (same blocks),
    and when within twice it the allowance goes on both sides, sized by twice that SE
    (``details["bias_trend"]["two_sided"]``).  The
    allowance is the :class:`~divest.Allowance` ``"knn_trend"`` of
    ``Estimate.allowances`` (with ``"ratio_tail"`` and ``"sample_tails"`` below; their
    :func:`~divest._result.compose` is ``details["bias_allowance"]``).  Neither the
    estimate nor its SE changes.  What the
    allowance cannot see: a bias that does not move with k, e.g. KL(t_3 ‖ N(0, 1)) (the
    log-ratio is largest where there are no samples of Q, and its variance under P is
    infinite; the tail comparison of the samples, ``details["sample_tails"]``, opens
    the interval's upper end there), or Pearson χ² with huge heavy-tailed ratios
    (mean-shift pairs with :math:`\chi^2` in the hundreds or more), where the intervals stay
    far from the truth: the Póczos–Schneider consistency proof assumes densities
    bounded away from 0 and infinity on a common support (a bounded ratio), which
    these pairs violate, and the per-point ratio estimates, capped by the sample's
    geometry, do not show the ratio's heavy tail (``divergence(X, Y, "pearson")``
    reads it from the classifier instead).

    Cost: one kd-tree per sample and one query of k + 4 neighbours per pair of samples
    (adaptive: 6, and 40 at the points whose ball holds more), then vectorised work on
    these tables; :math:`O((n+m)\log(n+m))` for small d.  The jackknife costs a few
    times the estimate (for the KL names less: a replicate recomputes only the terms of
    the points whose neighbours up to the distances they use it deletes, and reuses the
    others, bit for bit), Jeffreys twice KL (both directions), the JS names two to three
    times KL (an own-sample and an other-sample table for each of X and Y; the counts
    are exact, re-querying the points whose ball holds more than the table).  Timings:
    ``docs/tables/accuracy.rst``.

    References
    ----------
    Q. Wang, S. R. Kulkarni, S. Verdú (2009), Divergence estimation for multidimensional
    densities via k-nearest-neighbor distances, IEEE Trans. Inf. Theory 55(5), 2392–2405.
    B. Póczos, J. Schneider (2011), On the estimation of alpha-divergences, AISTATS.
    L. F. Kozachenko, N. N. Leonenko (1987), Sample estimate of the entropy of a random
    vector, Problems Inform. Transmission 23(2).  A. Kraskov, H. Stögbauer,
    P. Grassberger (2004), Estimating mutual information, Phys. Rev. E 69.  W. Gao, S. Oh,
    P. Viswanath (2018), Demystifying fixed k-nearest neighbor information estimators,
    IEEE Trans. Inf. Theory 64(8).
    F. Pérez-Cruz (2008), Kullback–Leibler divergence estimation of continuous
    distributions, IEEE ISIT.  B. Efron, C. Stein (1981), The jackknife estimate of
    variance, Ann. Statist. 9(3).

    Examples
    --------
    >>> import numpy as np
    >>> from divest.estimators import knn
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0.0, 1.0, size=(2000, 1))   # P = N(0, 1)
    >>> Y = rng.normal(1.0, 1.0, size=(2000, 1))   # Q = N(1, 1), KL(P||Q) = 0.5
    >>> est = knn(X, Y, "kl", rng=0)
    >>> round(est.value, 1), est.details["estimator"]
    (0.5, 'adaptive')
    >>> lo, hi = est.confidence_interval
    >>> bool(lo < 0.5 < hi)
    True
    >>> round(knn(X, Y, "bhattacharyya", k=5, se="none").value, 2)   # exact 0.125
    0.12
    """
    return _knn(*_knn_iv(X, Y, name, k, estimator, ties, workers, rng, se, interval, params))


class _KnnArgs(NamedTuple):
    """The validated arguments of :func:`knn` (``Y`` a distribution for the one-sample
    form; X and Y divided by ``scale`` when the data lie outside 2**±64)."""
    X: np.ndarray
    Y: object
    spec: object
    family: type
    mode: str
    k: int | None
    ties: str
    workers: int
    rng: np.random.Generator
    se: str
    interval: str
    scale: float


def _knn_iv(X, Y, name, k, estimator, ties, workers, rng, se, interval, params, *,
            arrays_checked=False):
    """Validated :class:`_KnnArgs` of :func:`knn`; ``arrays_checked=True``: X and Y (two
    samples) already come from ``check_samples`` (``divest.divergence``)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {_describe(name)}")
    spec = _names.resolve(name, **params)
    _methods.check_supports("knn", spec, caller="knn")
    check_choice(estimator, "estimator", _ESTIMATORS)
    check_choice(ties, "ties", _TIES)
    check_choice(se, "se", _SE)
    check_choice(interval, "interval", _INTERVALS)
    workers = _check_workers(workers)
    rng = check_rng(rng)

    if hasattr(Y, "logpdf") and not isinstance(Y, np.ndarray):
        if spec.base != "kl":
            raise ValueError(f"with a distribution as Y, knn estimates name='kl' only "
                             f"(one-sample form); got name={spec.label!r}; pass a sample of Q "
                             "instead")
        if estimator == "adaptive":
            raise ValueError("estimator='adaptive' needs a sample of Q; the one-sample form "
                             "with a distribution as Y is fixed-k (estimator='fixed' or "
                             "'auto')")
        X = as_2d(X, "X")
        _all_identical(X, "X")
        kk = _check_k(k, n=X.shape[0], shapes=(f"X {X.shape}",))
        return _KnnArgs(X, Y, spec, OneSampleKLEvaluator, "fixed", kk, ties, workers, rng, se,
                        interval, 1.0)

    X, Y = check_samples(X, Y, checked=arrays_checked)
    # Every estimate here is invariant under a common rescaling of X and Y; dividing both
    # by one power of two (exact) keeps distances, their logs and the jitter scale clear
    # of overflow and underflow for data near 1e±300 or subnormal.  Only data outside
    # 2**±64 are rescaled, so ordinary results stay bit-identical (log(d / 2) - log(r / 2)
    # need not equal log(d) - log(r) to the last bit).
    s = pow2_scale(X, Y)
    if _FRAME_MIN <= s <= _FRAME_MAX:
        s = 1.0
    if s != 1.0:
        X, Y = X / s, Y / s
    n = X.shape[0]
    m = Y.shape[0]
    _all_identical(X, "X")
    _all_identical(Y, "Y")
    shapes = (f"X {X.shape}", f"Y {Y.shape}")

    if KLEvaluator.supports(spec):
        mode = estimator
        if mode == "auto":
            mode = "adaptive" if k is None else "fixed"
        if mode == "adaptive":
            if k is not None:
                raise ValueError(f"k={k!r} is not used by estimator='adaptive' (the ranks are "
                                 "chosen per point); pass estimator='fixed' to use a fixed k")
            kk = None
        else:
            kk = _check_k(k, n=n, m=m, shapes=shapes)
        return _KnnArgs(X, Y, spec, KLEvaluator, mode, kk, ties, workers, rng, se, interval, s)

    if JSEvaluator.supports(spec):
        if estimator == "adaptive":
            raise ValueError(f"estimator='adaptive' exists for kl, reverse_kl and jeffreys "
                             f"only; name={spec.label!r} uses the fixed-k mixture-entropy "
                             "estimator (estimator='fixed' or 'auto')")
        kk = _check_k(k, n=n, m=m, shapes=shapes)
        n_r, m_r = _reference_sizes(n, m, _js_pi(spec))
        if kk >= min(n_r, m_r):
            raise ValueError(
                f"k={kk} is too large for name={spec.label!r} with samples of shape "
                f"{' and '.join(shapes)}: the mixture's sample (weight pi = "
                f"{_js_pi(spec):g}) has n_r={n_r} points of X and m_r={m_r} of Y; need "
                f"k < min(n_r, m_r) (more points of the under-represented sample, or a "
                "smaller k)")
        return _KnnArgs(X, Y, spec, JSEvaluator, "fixed", kk, ties, workers, rng, se,
                        interval, s)

    alpha = _chernoff_alpha(spec)
    if estimator == "adaptive":
        raise ValueError(f"estimator='adaptive' exists for kl, reverse_kl and jeffreys "
                         f"only; name={spec.label!r} uses the fixed-k Póczos–Schneider "
                         "estimator (estimator='fixed' or 'auto')")
    kmin = _min_k_alpha(alpha)
    if k is None:
        kk = _check_k(max(_DEFAULT_K, math.floor(2 * abs(1 - alpha)) + 1), n=n, m=m,
                      shapes=shapes)
    else:
        kk = _check_k(k, n=n, m=m, shapes=shapes)
    if kk < kmin:
        raise ValueError(
            f"k={kk} is too small for alpha={alpha:g} (name={spec.label!r}): the "
            f"Póczos–Schneider bias correction needs Gamma(k + 1 - alpha) = "
            f"Gamma({kk + 1 - alpha:g}) and Gamma(k - 1 + alpha) = Gamma({kk - 1 + alpha:g}) "
            f"with positive arguments, i.e. k > |1 - alpha| = {abs(1 - alpha):g}; "
            f"pass k >= {kmin}")
    return _KnnArgs(X, Y, spec, ChernoffEvaluator, "fixed", kk, ties, workers, rng, se,
                    interval, s)


def _knn(X, Y, spec, family, mode, k, ties, workers, rng, se, interval, s):
    """The estimate from validated arguments (:func:`_knn_iv`)."""
    trend = interval == "bias_aware" and se != "none"
    n, d = X.shape
    if family is OneSampleKLEvaluator:
        ev = family(Y, k=k, d=d, se=se, workers=workers, trend=trend)
        value, se_value, details, allowances = _run(ev, [X], ties=ties, rng=rng, se=se)
        details = {"estimator": ev.estimator, "k": k, **details, "workers": workers, "d": d,
                   "n": n, "m": None, "interval": interval}
        return Estimate.from_value(value, standard_error=se_value, method="knn",
                                   name=spec.label, n_p=n, n_q=None, details=details,
                                   allowances=allowances)

    m = Y.shape[0]
    if family is KLEvaluator:
        ev = family(spec, mode=mode, k=k, d=d, se=se, workers=workers, trend=trend)
    elif family is JSEvaluator:  # draws the mixture's sample from rng
        ev = family(spec, n=n, m=m, k=k, d=d, se=se, workers=workers, trend=trend, rng=rng)
    else:
        ev = family(spec, k=k, d=d, se=se, workers=workers, trend=trend)
    value, se_value, details, allowances = _run(ev, [X, Y], ties=ties, rng=rng, se=se)
    details = {"estimator": ev.estimator, "k": k, **details, "workers": workers, "d": d,
               "n": n, "m": m, "interval": interval}
    if family is JSEvaluator:
        details["mixture_reference"] = ev.reference_info
        if trend and "bias_trend" not in details and math.isfinite(se_value):
            details["bias_trend"] = {"note": f"no bias trend: rank {4 * k} needs more points "
                                             "in the mixture's sample"}
            details["bias_allowance"] = compose(())
    details["sample_tails"] = sample_tails(X, Y)
    if trend and math.isfinite(value):
        above, note = unbounded_tail_side(spec, details["sample_tails"])
        if note:
            details["sample_tails_note"] = note
            allowances += (Allowance("sample_tails", 0.0, above, note),)
            details["bias_allowance"] = compose(allowances)
        # the evaluator's trees, unless the ties policy dequantised the samples
        trees = ev.trees() if details.get("resolution") is None else {}
        gap = _separation_gap(X, Y, workers, trees)
        if gap is not None:
            gap = {key: v * s for key, v in gap.items()}  # in the data's units
            details["separated_supports"] = gap
            above = _singular_value(spec) - value
            if above > 0.0:  # inf where P ⟂ Q has an infinite divergence (KL, ...)
                allowances += (Allowance(
                    "separated_supports", 0.0, above,
                    f"the samples are separated (every point's nearest neighbour is in its "
                    f"own sample and the gap between them, {gap['gap']:.3g}, exceeds every "
                    f"within-sample nearest-neighbour distance, at most "
                    f"{gap['within']:.3g}): the data cannot tell P, Q with disjoint supports "
                    f"(divergence {_singular_value(spec):g}) from overlapping ones, so the "
                    f"interval's upper end reaches that value"),)
                details["bias_allowance"] = compose(allowances)
    return Estimate.from_value(value, standard_error=se_value, method="knn", name=spec.label,
                               n_p=n, n_q=m, details=details, allowances=allowances)


#: rows of X whose distances decide _separation_gap without the full queries when the
#: samples overlap
_GAP_PROBE = 1000


def _separation_gap(X, Y, workers, trees=None):
    """``{"gap", "within"}`` when X and Y look separated, else None.

    Criterion: the smallest distance between a point of X and one of Y (the gap) exceeds
    the largest nearest-neighbour distance within X and within Y.  Then single linkage at
    any scale the samples resolve (their own neighbour spacing) splits them into X and Y,
    every neighbour ball up to that spacing holds points of one sample only, and the
    nearest-neighbour estimates only see a lower bound of the log-ratio: samples of P, Q
    with disjoint supports (or supports overlapping only where neither sample reaches)
    look exactly like this.  Samples of overlapping densities interleave, so some
    cross distance is below the within-sample spacing and the criterion does not fire
    (it does not on the reference pairs).  A single isolated outlier makes the
    within-sample spacing large and the criterion silent: it errs towards not firing.
    ``trees``: k-d trees of X (key 0) and Y (key 1) already built.
    """
    if X.shape[0] < 2 or Y.shape[0] < 2:
        return None
    trees = trees or {}
    tx = trees[0] if 0 in trees else cKDTree(X)
    ty = trees[1] if 1 in trees else cKDTree(Y)
    # a subset's cross distances bound the gap from above and its within-sample
    # neighbour distances bound the spacing from below: where they already show
    # gap <= within (overlapping samples), the full queries are not needed
    sub = X[np.linspace(0, X.shape[0] - 1, min(X.shape[0], _GAP_PROBE)).astype(np.intp)]
    if float(np.min(ty.query(sub, k=1)[0])) <= float(np.max(tx.query(sub, k=2)[0][:, 1])):
        return None
    gap = float(np.min(ty.query(X, k=1, workers=workers)[0]))
    within = max(float(np.max(tx.query(X, k=2, workers=workers)[0][:, 1])),
                 float(np.max(ty.query(Y, k=2, workers=workers)[0][:, 1])))
    if not gap > within:
        return None
    return {"gap": gap, "within": within}


def _singular_value(spec):
    """The divergence of mutually singular P, Q: f(0) + f'(inf) (mapped for Rényi types;
    0 for gan, whose f(1) = -log 4 is not subtracted: D_f = E_Q f(p/q))."""
    fd = spec.fd if spec.is_f else spec.alpha_fd
    with np.errstate(all="ignore"):
        sv = fd.f_zero + fd.f_infinity
    if not spec.is_f:
        sv = float(spec.from_alpha_value(sv)[0])
    return float(sv) if not math.isnan(sv) else math.inf
