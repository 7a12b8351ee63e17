r"""Density-ratio estimators of divergences: a classifier, uLSIF and KLIEP.

All three fit the density ratio :math:`r(x) = p(x)/q(x)` from samples ``X ~ P`` of
shape (n, d) and ``Y ~ Q`` of shape (m, d) and plug it into the divergence.  They are
*cross-fitted*: the samples are split into ``cv`` folds, a model is fitted on all
folds but one and evaluates :math:`\log r` at the points of the held-out fold, so that
every point of X and of Y carries an out-of-fold log-ratio.  The divergences are
averages of per-point terms built from these out-of-fold values (no point is scored by
a model that has seen it), and their standard error is the sampling one of those
averages.

Which expectation each plug-in uses
-----------------------------------
With :math:`f_0(u) = f(u) - f(1) - f'(1)(u-1) \ge 0` (the generator minus its tangent
at 1) and :math:`f_0^\diamond(v) = v f_0(1/v)`,

.. math:: D_f(P\|Q) = f(1) + \mathbb{E}_Q\big[f_0(r)\,\mathbf 1\{r \le 1\}\big]
          + \mathbb{E}_P\big[f_0^\diamond(1/r)\,\mathbf 1\{r > 1\}\big].

Where the ratio is small the integrand is averaged over the sample of Q, where it is
large over the sample of P: the argument of :math:`f_0` and :math:`f_0^\diamond` then
always lies in [0, 1], the integrands are bounded for every bounded divergence (JS,
TV, squared Hellinger, ...), and infinite log-ratios (a classifier that is certain)
give the limits :math:`f_0(0)` and :math:`f'_\infty` instead of ``inf * 0``.  A
plain :math:`\mathbb{E}_Q[f(\hat r)]` would instead average huge, rare values of
:math:`\hat r` over Q, and a plain :math:`\mathbb{E}_P[f(\hat r)/\hat r]` would blow up
where :math:`\hat r \to 0`.  This is the split that :func:`divest.exact.monte_carlo`
uses with exact densities.  Rényi and Bhattacharyya are mapped from the alpha-divergence
and squared Hellinger estimates (delta-method standard error).

Two forms are specific: the Donsker–Varadhan (self-normalised) KL,
``name="kl_dv"``, :math:`\mathbb{E}_P[\log\hat r] - \log\mathbb{E}_Q[\hat r]`, which is
invariant to a constant error in :math:`\log\hat r` (e.g. a miscalibrated intercept
or class prior) and, for a fixed :math:`\hat r` evaluated on points that did not fit
it, has expectation at most KL (it is a variational lower bound); and uLSIF's own
Pearson estimate (see :func:`ulsif`).

Standard errors
---------------
The reported standard error is :math:`\sqrt{s_P^2/n + s_Q^2/m}` with :math:`s_P^2`,
:math:`s_Q^2` the sample variances of the per-point out-of-fold terms of the
influence function of :math:`D_f` at the fitted ratio: :math:`f'(\hat r(x_i))` over X
and :math:`f(\hat r(y_j)) - \hat r(y_j) f'(\hat r(y_j))` over Y (for ``kl_dv`` and
uLSIF's Pearson, the terms of those averages, which are the same up to constants).
This is the sampling error of an efficient estimator.  The plug-in average's own
per-point variance ignores the error of the fitted ratio and is smaller than the
actual spread of the estimates; it is kept in
``details["standard_error_given_ratio"]``.  Neither includes the bias of the fitted
ratio.

Bias-aware intervals
--------------------
Where the ratio is hard to learn at the sample size (large or high-dimensional
divergences), the bias of the fitted ratio dominates the sampling error.  With
``interval="bias_aware"`` (the default) the interval is widened by
:class:`~divest.Allowance` s, each read from the data and combined by
:func:`divest._result.compose` (``Estimate.allowances``; their sum is
``details["bias_allowance"]``):

* ``"learning_curve"``.  In each fold the same model (for ``model="auto"`` the chosen
  one; for uLSIF and KLIEP the chosen :math:`\sigma`, :math:`\lambda` and the fold's
  kernel centres) is fitted once more on a seeded random half of that fold's training
  points (X and Y halved separately, so the class proportions stay) and scores the
  same held-out points; uLSIF's in-sample Pearson form is refitted on a random half of
  X and of Y.  The same plug-in on these gives :math:`\hat D_{N/2}`.  Modelling the
  bias in the training size N as :math:`c N^{-\gamma}`, the change per doubling is
  :math:`\delta = \hat D_N - \hat D_{N/2} = c N^{-\gamma}(1 - 2^\gamma)`, so the bias
  left in :math:`\hat D_N` is :math:`-\delta/(2^\gamma - 1)`, and the interval is

  .. math:: [\hat D - 1.96\,se - a_-,\ \hat D + 1.96\,se + a_+], \qquad
            a_+ = \frac{\max(\delta, 0)}{2^\gamma - 1}, \quad
            a_- = \frac{\max(-\delta, 0)}{2^\gamma - 1}:

  the estimate rose with the data (:math:`\delta > 0`), so the truth is likely above
  it, and vice versa.  :math:`\gamma = 1/3` (:math:`a = 3.85|\delta|`), a slower rate
  than the parametric one, chosen for the coverage of the accuracy benchmark
  (``docs/tables/accuracy.rst``); :math:`\delta` also carries the fitting noise of the
  half-data model, which widens the interval where the bias is small.  The estimate and
  its standard error do not change (the half fits draw their randomness after every
  draw of the full fit).  ``details["bias_trend"]`` holds :math:`\hat D_N`,
  :math:`\hat D_{N/2}`, :math:`\delta`, :math:`\gamma` and the allowance, or a note
  saying why there is none (perfectly separated samples, an infinite estimate or
  half-data estimate, too few points for a half fit).
* ``"smoothing"`` (KLIEP): a bias that does not move with the training size, the
  smoothing of the kernel model at its bandwidth, read from a refit at
  :math:`\sigma/\sqrt2` (see :func:`kliep`).  uLSIF's Pearson interval has none and
  assumes a bounded ratio (see :func:`ulsif`).
* ``"model_spread"`` (``model="auto"``): the candidates whose held-out log-loss the
  data cannot tell from the chosen one's (the mean of the paired per-point
  differences at most one standard error above zero, the one-standard-error rule;
  ``details["indistinguishable_models"]``) are equally supported by the data, and
  their estimates from the same out-of-fold fits on the selection sample may differ by
  more than the sampling error where the divergence lives in a region the samples
  barely reach.  The interval is widened to the spread of those estimates around the
  chosen model's, on each side, and its upper end is open when one of them is infinite
  or fails the heavy-tail check for a divergence with unbounded terms.
  ``details["model_spread"]`` holds the models, their values and the chosen model's
  value on the selection sample (the whole sample when ``n + m <= select_max``), and
  the allowance.
* ``"tail_terms"`` and ``"sample_tails"``: heavy-tail checks that open the upper end
  (:meth:`DensityRatio.divergence`).
* ``"kernel_dimension"``: uLSIF and KLIEP in d > 10 open the upper end (their
  one-bandwidth Gaussian-kernel ratio flattens there; measured on the hard pairs).
* ``"model_dimension"``: the classifier ``model="boosting"`` (chosen by ``"auto"`` or
  given) in d > 10 opens the upper end: trees split one coordinate at a time and miss
  log-ratios made of interactions of many coordinates (measured: KL 2.31 of the
  correlated Gaussian pair gauss-ar1-d50 estimated as 0.10 with a closed interval).

What no allowance sees is a model class that cannot represent the log-ratio (logistic
regression on quadratic features for exp-gamma, :math:`\log r = -\log x`, which is why
``model="auto"`` also tries the spline model) or a capacity limit of the model whose
half-data fits are as limited as the full ones.  The measured coverage of these
intervals on the reference pairs is in ``docs/tables/accuracy.rst``.

Properties and cost
-------------------
The plug-ins are consistent when the ratio model is (a well-specified classifier,
e.g. logistic regression on quadratic features for Gaussian pairs, has O(1/n)
bias); kernel models (uLSIF, KLIEP) smooth the ratio and bias large divergences
down.  Perfectly separated samples (disjoint supports) are reported as such, see
:meth:`DensityRatio.divergence`.  Fits run single-threaded (for these problem sizes
threads cost more than they save, and oversubscription on a busy machine is
catastrophic); their cost is K model fits (4K more for ``model="auto"``, 3K above
d = 10), and O(K (n + m) b) per kernel bandwidth for uLSIF and KLIEP (b kernel
centres), plus the EM iterations of KLIEP; the bias-aware interval (default) adds K
fits of the chosen model on half the training data.
"""

from __future__ import annotations

import numpy as np

from ..._result import Estimate
from ..._validation import _describe, check_choice, check_rng
from ...ipm._kernels import pow2_scale
from .._common import check_samples, sample_tails
from ._classifier import _fit_classifier
from ._crossfit import _check_cv
from ._density_ratio import DensityRatio, SeparationWarning, _ratio_divergence_iv
from ._kernel import _fit_kliep, _fit_ulsif
# private helpers other modules and tests import from here
from ._classifier import _indistinguishable, _log_loss, _point_log_loss  # noqa: F401
from ._crossfit import _seed  # noqa: F401
from ._kernel import _grid  # noqa: F401
from ._models import _auto_candidates, _fit_quiet, _seeded_clone  # noqa: F401
from ._plugin import _influence_se  # noqa: F401
from ._state import HalfFits, RatioFit, SmoothingFits  # noqa: F401

__all__ = ["DensityRatio", "SeparationWarning", "classifier", "fit_ratio", "kliep",
           "ulsif"]

_METHODS = ("classifier", "ulsif", "kliep")
_OPTIONS = {
    "classifier": ("refit", "select_max"),
    "ulsif": ("n_centers", "sigma", "lam", "refit"),
    "kliep": ("n_centers", "sigma", "max_iter", "tol", "refit"),
}
_INTERVALS = ("bias_aware", "sampling")
#: data whose largest |coordinate| lies outside [2**-64, 2**64] are fitted in a
#: power-of-two scaled frame (ipm._kernels.pow2_scale)
_FRAME_MIN, _FRAME_MAX = 2.0 ** -64, 2.0 ** 64


def fit_ratio(X, Y, method="classifier", *, model="auto", cv=5, rng=None,
              interval="bias_aware", **options) -> DensityRatio:
    r"""Fit the density ratio :math:`r(x) = p(x)/q(x)` from samples, cross-fitted.

    Parameters
    ----------
    X : array_like of shape (n, d) or (n,)
        Sample of P (1-D input is read as (n, 1)).
    Y : array_like of shape (m, d) or (m,)
        Sample of Q, same d.
    method : {"classifier", "ulsif", "kliep"}
        * ``"classifier"`` — probabilistic classification of X (label 1) against Y
          (label 0).  With :math:`D(x) = \Pr(\text{label}=1\mid x)` and class priors
          :math:`n/(n+m)`, :math:`m/(n+m)`, Bayes' rule gives
          :math:`D = np/(np + mq)`, so :math:`D/(1-D) = n p / (m q)` and
          :math:`\log r = \operatorname{logit} D + \log(m/n)` (the class-prior
          correction, with each fold's training counts).  The logit is read, in
          order, from ``decision_function`` or an MLP's forward pass when it
          reproduces ``predict_proba`` (logistic regression, gradient boosting,
          MLPs: no rounding of probabilities to 0 or 1), else from
          ``predict_log_proba`` (or the log of ``predict_proba``); a classifier
          that is certain gives :math:`\pm\infty`.  Consistent when the model
          class contains the true :math:`\log r` (logistic regression on
          quadratic features for Gaussian pairs) and the model is calibrated.
          Cost: K fits (4K more for ``model="auto"``, 3K above d = 10).
        * ``"ulsif"`` — unconstrained least-squares importance fitting (Kanamori, Hido
          & Sugiyama 2009): :math:`\hat r(x) = \sum_l \alpha_l K_\sigma(x, c_l)` with
          Gaussian kernels :math:`K_\sigma(x, c) = \exp(-|x-c|^2/2\sigma^2)` at up to
          ``n_centers`` random points :math:`c_l` of the training part of X,
          :math:`\tilde\alpha = (\hat H + \lambda I)^{-1}\hat h` with
          :math:`\hat H = \frac1m\sum_j \phi(y_j)\phi(y_j)^\top` and
          :math:`\hat h = \frac1n \sum_i \phi(x_i)` (means over each sample
          separately, so n ≠ m needs no correction), then
          :math:`\alpha = \max(\tilde\alpha, 0)` as in the paper.  The clipping is
          reported: ``details["frac_coefficients_clipped"]`` and
          ``details["frac_points_negative_before_clipping"]``.
          :math:`(\sigma, \lambda)` minimise the pooled held-out squared loss
          :math:`\frac12 \mathbb{E}_Q[\hat r^2] - \mathbb{E}_P[\hat r]` (K-fold).
          Cost: O(K (n + m) b^2) per grid point, b = ``n_centers``.
        * ``"kliep"`` — Kullback–Leibler importance estimation procedure (Sugiyama
          et al. 2008): the same kernel model with :math:`\alpha \ge 0` maximising
          :math:`\frac1n\sum_i \log \hat r(x_i)` subject to
          :math:`\frac1m \sum_j \hat r(y_j) = 1`.  With :math:`w_l = \alpha_l b_l`,
          :math:`b = \frac1m\sum_j\phi(y_j)`, this is maximum likelihood for mixture
          weights on the simplex; it is solved by EM (multiplicative) updates, which
          increase the objective monotonically and keep :math:`\alpha \ge 0` and the
          constraint exactly (the same optimum as the paper's projected gradient
          ascent, without a step size).  :math:`\sigma` maximises the pooled
          held-out log-likelihood of the ratio renormalised on the held-out Y,
          :math:`\mathbb{E}_{P,\mathrm{te}}[\log\hat r] - \log\mathbb{E}_{Q,\mathrm{te}}[\hat r]`:
          the plain held-out log-likelihood of the paper ignores the constraint on
          new points of Y and picks bandwidths so small that it fails there.
    model : "auto", "linear", "logistic", "radial", "gaussian", "spline", "boosting", "mlp" or a scikit-learn classifier
        Classifier route only.  ``"linear"``: standardise, L2-penalised logistic
        regression (C = 1) on the coordinates (exact for Gaussians that differ in
        the mean only, and well determined in any dimension); ``"logistic"``:
        standardise, degree-2 polynomial
        features, standardise, L2-penalised logistic regression (C = 1);
        ``"radial"``: standardise, then the coordinates, their squares and a cubic
        spline in :math:`\log(1 + \lVert z\rVert^2/d)` (5 quantile knots, linear
        beyond the largest value, constant below the 0.02 quantile), standardise,
        logistic regression with C = 10
        (:class:`~divest.estimators._ratio._radial.RadialFeatures`: diagonal Gaussian
        pairs exactly, elliptical heavy-tailed pairs such as a multivariate t against
        a normal up to the spline; 2d + 7 features, so usable in d = 25-100);
        ``"gaussian"``: standardise, then quadratic discriminant analysis (a normal
        distribution fitted to each sample, covariances with a ridge of 1e-3; the
        log-ratio is the difference of the two normal log-densities plus the log
        prior ratio): exact for any pair of Gaussians, with d(d + 3)/2 parameters a
        sample estimated in closed form, not by a penalised fit, so it stays accurate
        in d = 25-100 where the quadratic logistic model is shrunk or overfits (a
        correlated Gaussian pair's log-ratio has cross terms that the linear, radial
        and spline models lack);
        ``"spline"``: an additive logistic model (a GAM, Hastie & Tibshirani 1990)
        on normal scores,

        .. math:: \log\hat r(x) = b_0 + \sum_{j=1}^d \sum_{l=1}^{8}
                  \beta_{jl} B_l(z_j), \qquad z_j = \Phi^{-1}(\hat F_j(x_j)),

        where :math:`\hat F_j` is the empirical distribution function of coordinate
        j of the training points (rank-based inverse normal transform, linear
        beyond the extremes) and :math:`B_l` are cubic B-splines with 6 equally
        spaced knots on the range of :math:`z_j` (knots at normal quantiles: quantile
        knots in :math:`x_j`), continued linearly beyond it; L2 penalty C = 100 on
        the B-spline coefficients (the basis values lie in [0, 1] and are not
        standardised: standardising up-weights the rarely non-zero tail bases,
        which then overfit).  It represents log-ratios that no polynomial of
        low degree does, e.g. :math:`-\log x` for exp-gamma (P = Exp(1), Q =
        Gamma(2)), which in :math:`z` is about :math:`z^2/2` near x = 0; it has no
        interaction terms, so a correlated Gaussian pair needs ``"logistic"``.
        ``"boosting"``: HistGradientBoostingClassifier (200 trees of 7 leaves,
        learning rate 0.05, at least 40 points a leaf); ``"mlp"``: standardise +
        MLPClassifier with two hidden layers of 32 units, L2 penalty 0.01, 200
        epochs of Adam (no early stopping: scikit-learn's stops on validation
        accuracy, which is flat for overlapping classes); ``"auto"``: the one of
        these seven with the smallest out-of-fold log-loss (the spline model only
        in dimension d <= 10: in higher dimension its 8 d features cost more
        than they add; the Gaussian model only in d >= 10: below, the degree-2
        logistic model covers Gaussian pairs and the Gaussian model's unpenalised
        curvature inflates tail-weighted divergences such as Pearson's), compared
        on at most ``select_max`` points (a random subsample, in the proportion
        n : m, when n + m is larger; the chosen model is then cross-fitted on all
        the data).
        Any estimator with ``fit`` and ``predict_proba`` works: it is cloned for
        each fold and an unset ``random_state`` is seeded from ``rng``.
    cv : int
        Number of cross-fitting folds K >= 2 (also used for model and hyperparameter
        selection); at most min(n, m).
    rng : None, int or numpy.random.Generator
        Folds, kernel centres, subsamples and the models' seeds: the same ``rng``
        gives the same result.
    interval : {"bias_aware", "sampling"}
        ``"bias_aware"`` (default): also fit the same model on a random half of each
        fold's training points (one more set of K fits on half the data), so that
        :meth:`DensityRatio.divergence` can widen the 95% interval by the
        learning-curve allowance :math:`|\hat D_N - \hat D_{N/2}|/(2^{1/3} - 1)` on
        the side the trend points to (:mod:`divest.estimators._ratio`, "Bias-aware intervals").
        ``"sampling"``: no half fits; the interval is value -/+ 1.96 standard errors.
        The fitted ratio and the estimates are the same either way.
    **options
        ``refit`` (bool, default False): fit one more model on all the data for
        :meth:`DensityRatio.log_ratio` at new points, instead of averaging the fold
        models.  Classifier: ``select_max`` (int, default 4000).  uLSIF:
        ``n_centers`` (default 100), ``sigma`` and ``lam`` (a number or a grid;
        default the median pairwise distance times 2^-2, 2^-1.5, ..., 2, and
        10^-3, 10^-2.5, ..., 10).  KLIEP: ``n_centers``, ``sigma``, and the EM's
        ``max_iter`` (2000) and ``tol`` (1e-6, relative change of the objective;
        ``details["not_converged"]`` counts fits that hit ``max_iter``).

    Returns
    -------
    DensityRatio
        With ``details``: ``"cv"``, ``"frac_infinite_log_ratio"``,
        ``"perfectly_separated"``, ``"refit"``, ``"interval"``, ``"sample_tails"``
        (whether X's or Y's tail is significantly heavier, with the generalized-Pareto
        shapes; used by :meth:`DensityRatio.divergence`), and by method — classifier:
        ``"model"``, ``"log_loss"`` (out of fold), ``"prior_log_loss"`` (of the
        constant classifier; a model that does not beat it found no difference),
        ``"logit_source"``, ``"convergence_warnings"`` (scikit-learn convergence
        warnings, counted rather than shown), and for ``model="auto"``
        ``"cv_log_loss"`` by candidate, ``"selected_on"`` and, with the bias-aware
        interval, ``"indistinguishable_models"`` (the candidates within one standard
        error of the chosen one in held-out log-loss); uLSIF: ``"sigma"``,
        ``"lam"``, the grids, ``"cv_scores"``, ``"n_centers"``, the clipping
        fractions; KLIEP: ``"sigma"``, ``"sigma_grid"``, ``"cv_heldout_dv"``,
        ``"cv_heldout_loglik"``, ``"n_centers"``, ``"not_converged"`` (and
        ``"half_not_converged"`` for the half-data and :math:`\sigma/\sqrt2` fits of
        the bias-aware interval).

    Raises
    ------
    ValueError
        NaN/inf or empty samples, different dimensions, ``cv`` < 2 or larger than n
        or m, an unknown method, model or interval (the valid ones are listed).
    TypeError
        A model without ``predict_proba``, or an option the method does not take.

    References
    ----------
    T. Kanamori, S. Hido, M. Sugiyama, "A least-squares approach to direct importance
    estimation", JMLR 10 (2009).  M. Sugiyama, T. Suzuki, S. Nakajima, H. Kashima,
    P. von Bünau, M. Kawanabe, "Direct importance estimation for covariate shift
    adaptation", Ann. Inst. Stat. Math. 60 (2008).  M. Sugiyama, T. Suzuki, T. Kanamori,
    *Density Ratio Estimation in Machine Learning*, Cambridge University Press (2012),
    ch. 4 (probabilistic classification).

    Examples
    --------
    >>> import numpy as np
    >>> import divest as dv
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(1, 1, (1000, 1)), rng.normal(0, 1, (1000, 1))
    >>> ratio = dv.estimators.fit_ratio(X, Y, model="logistic", rng=0)
    >>> ratio.log_ratio([[0.5], [2.0]])  # exact: x - 1/2
    array([-0.0..., 1.4...])
    >>> kl = ratio.divergence("kl")  # exact 0.5
    >>> abs(kl.value - 0.5) < 4 * kl.standard_error
    True
    >>> round(ratio.divergence("tv").value, 1)  # exact 0.383
    0.4
    """
    return _fit_ratio(*_fit_ratio_iv(X, Y, method, model, cv, rng, interval, options))


def _fit_ratio_iv(X, Y, method, model, cv, rng, interval, options, *, arrays_checked=False):
    """Validated arguments of :func:`fit_ratio`; ``arrays_checked=True``: X and Y already
    come from ``check_samples`` (``divest.divergence``)."""
    X, Y = check_samples(X, Y, checked=arrays_checked)
    method = check_choice(method, "method", _METHODS)
    n, m = X.shape[0], Y.shape[0]
    cv = _check_cv(cv, n, m)
    interval = check_choice(interval, "interval", _INTERVALS)
    rng = check_rng(rng)
    unknown = sorted(set(options) - set(_OPTIONS[method]))
    if unknown:
        raise TypeError(f"fit_ratio(method={method!r}) got unexpected option(s) {unknown}; "
                        f"it takes {', '.join(_OPTIONS[method])}")
    if method != "classifier" and not (isinstance(model, str) and model == "auto"):
        raise ValueError(f"model={_describe(model)} applies to method='classifier' only; "
                         f"method={method!r} fits a kernel model")
    return X, Y, method, model, cv, rng, interval, options


def _fit_ratio(X, Y, method, model, cv, rng, interval, options):
    """The fitted ratio from validated arguments (:func:`_fit_ratio_iv`)."""
    # The density ratio is invariant under a common rescaling of X and Y: fit in the frame
    # divided by one power of two (exact) so that data near 1e±300 or subnormal neither
    # overflow nor underflow in the scaler, the kernels or the logits; lengths given or
    # reported (sigma, median_distance, sigma_grid) are in the data's own units.  Only
    # data outside 2**±64 are rescaled, so ordinary fits stay bit-identical.
    s = pow2_scale(X, Y)
    if _FRAME_MIN <= s <= _FRAME_MAX:
        s = 1.0
    if s != 1.0:
        X, Y = X / s, Y / s
        if options.get("sigma") is not None:
            options = {**options, "sigma": _scale_lengths(options["sigma"], 1.0 / s)}
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):  # small problems: threads cost more than they save
        ratio = _fit_in_frame(X, Y, method, model, cv, rng, interval, options)
    if s != 1.0:
        ratio._predictors = [lambda x, f=f: f(x / s) for f in ratio._predictors]
        for key in ("sigma", "median_distance", "sigma_grid"):
            if key in ratio.details:
                ratio.details[key] = _scale_lengths(ratio.details[key], s)
        ratio.details["scale"] = s
    return ratio


def _scale_lengths(v, factor):
    """A length (or a list of them) times ``factor``; other values unchanged."""
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return v
    if a.ndim == 0:
        return float(a) * factor
    return (a * factor).tolist()


def _fit_in_frame(X, Y, method, model, cv, rng, interval, options):
    n, m = X.shape[0], Y.shape[0]
    half = interval == "bias_aware"
    if method == "classifier":
        lp, lq, predictors, details, fit = _fit_classifier(X, Y, cv, rng, model, half,
                                                           **options)
    else:
        fitter = _fit_ulsif if method == "ulsif" else _fit_kliep
        lp, lq, predictors, details, fit = fitter(X, Y, cv, rng, half, **options)
    details["interval"] = interval
    if np.isnan(lp).any() or np.isnan(lq).any():
        raise FloatingPointError(f"{method}: the fitted log-ratio is NaN at "
                                 f"{int(np.isnan(lp).sum() + np.isnan(lq).sum())} point(s)")
    details["frac_infinite_log_ratio"] = float(
        (np.isinf(lp).sum() + np.isinf(lq).sum()) / (n + m))
    details["perfectly_separated"] = bool(lp.min() > lq.max())
    details["sample_tails"] = sample_tails(X, Y)
    atoms = _singular_atoms(X, Y)
    if atoms is not None:
        details["singular_atoms"] = atoms
    return DensityRatio(method, lp, lq, predictors, cv, details, fit)


def _singular_atoms(X, Y):
    """The sample fractions in repeated points of one sample that the other lacks, or None.

    A point that occurs at least twice in X (an atom: for a continuous law repeats have
    probability 0) and never in Y is P-mass where Q looks to have none, singular w.r.t. Q,
    and symmetrically for Y; a ratio model, smooth in x, cannot represent it.  Returns
    ``{"p_mass", "q_mass"}`` (fractions of X and of Y in such atoms) when one is positive.
    """
    def atoms(A, B):
        rows, inverse, counts = np.unique(A, axis=0, return_inverse=True, return_counts=True)
        rep = counts >= 2
        if not rep.any():
            return 0.0
        other = {r.tobytes() for r in np.ascontiguousarray(B)}
        lone = np.array([rep[i] and rows[i].tobytes() not in other for i in range(len(rows))])
        return float(counts[lone].sum() / A.shape[0]) if lone.any() else 0.0

    # + 0.0 maps -0.0 to 0.0 so that equal points have equal bytes
    X, Y = np.ascontiguousarray(X + 0.0), np.ascontiguousarray(Y + 0.0)
    p, q = atoms(X, Y), atoms(Y, X)
    return {"p_mass": p, "q_mass": q} if p or q else None


def _front(method, X, Y, name, cv, rng, separated, interval, params, *, model="auto",
           arrays_checked=False, **options):
    """classifier / ulsif / kliep: every argument validated once, before fitting.

    ``options`` are the method's fit options (``_OPTIONS[method]``); the keywords are
    those of the public functions, so that ``divest.divergence`` calls this with a public
    function's bound arguments and ``arrays_checked=True`` (X and Y from
    ``check_samples``).
    """
    target = _ratio_divergence_iv(name, separated, params)
    ratio = _fit_ratio(*_fit_ratio_iv(X, Y, method, model, cv, rng, interval, options,
                                      arrays_checked=arrays_checked))
    return ratio._divergence(*target)


def classifier(X, Y, name="kl", *, model="auto", cv=5, rng=None, refit=False, select_max=4000,
               separated="infinite", interval="bias_aware", **params) -> Estimate:
    r"""A divergence from a cross-fitted probabilistic classifier (density ratio).

    Fits :func:`fit_ratio` with ``method="classifier"`` and returns
    :meth:`DensityRatio.divergence`: every point of X and Y is scored by a model that
    did not see it, :math:`\log\hat r = \operatorname{logit}\hat D + \log(m/n)`, and
    the divergence is the split plug-in :math:`f(1) + \mathbb{E}_Q[f_0(\hat r)
    \mathbf 1\{\hat r\le1\}] + \mathbb{E}_P[f_0^\diamond(1/\hat r)\mathbf 1\{\hat r>1\}]`
    (bounded integrands for bounded divergences).  Consistent when the classifier is
    well specified and calibrated; the bias is that of the fitted log-ratio (for
    logistic regression on quadratic features with Gaussians, O(1/n); measured
    accuracy and coverage on the reference pairs: ``docs/tables/accuracy.rst``).
    When the out-of-fold scores separate the samples perfectly (disjoint
    supports), the values of disjoint supports are reported by default: KL = inf,
    JS = log 2, TV = 1 (``separated``; :meth:`DensityRatio.divergence`); a
    classifier that is certain gives the same through infinite log-ratios.
    Never NaN.

    Parameters
    ----------
    X, Y : array_like of shape (n, d) and (m, d)
        Samples of P and Q.
    name : str
        A registered f-divergence, ``"renyi"`` (with ``alpha``), ``"bhattacharyya"``
        or ``"kl_dv"`` (Donsker–Varadhan KL).
    model, cv, rng, refit, select_max, interval
        See :func:`fit_ratio`.
    separated : {"infinite", "model"}
        See :meth:`DensityRatio.divergence`.
    **params
        Parameters of the divergence (``alpha``, ``pi``).

    Returns
    -------
    Estimate
        ``method="classifier"``; the standard error is that of the influence
        function at the fitted ratio (:meth:`DensityRatio.divergence`); the 95%
        interval is widened by the learning-curve allowance unless
        ``interval="sampling"``; ``details`` holds the chosen model, the
        out-of-fold log-losses, the plug-in form, ``bias_trend`` and
        ``bias_allowance``.

    Examples
    --------
    >>> import numpy as np
    >>> import divest as dv
    >>> rng = np.random.default_rng(1)
    >>> X, Y = rng.normal(0, 1, (1000, 2)), rng.normal(0, 2, (1000, 2))
    >>> est = dv.estimators.classifier(X, Y, "js", model="logistic", rng=0)
    >>> est.method, est.name, est.details["model"]
    ('classifier', 'js', 'logistic')
    >>> abs(est.value - 0.1517) < 4 * est.standard_error + 0.01  # exact 0.1517
    True
    >>> below, above = est.details["bias_allowance"]  # one of them is 0
    >>> old = dv.estimators.classifier(X, Y, "js", model="logistic", rng=0,
    ...                                interval="sampling")  # value -/+ 1.96 se
    >>> old.value == est.value and old.details["bias_allowance"] == (0.0, 0.0)
    True
    >>> lo, hi = est.confidence_interval  # widened on the side the trend points to
    >>> bool(np.allclose((lo + below, hi - above), old.confidence_interval))
    True
    """
    return _front("classifier", X, Y, name, cv, rng, separated, interval, params, model=model,
                  refit=refit, select_max=select_max)


def ulsif(X, Y, name="pearson", *, cv=5, rng=None, n_centers=100, sigma=None, lam=None,
          refit=False, separated="infinite", interval="bias_aware", **params) -> Estimate:
    r"""A divergence from a uLSIF density-ratio fit (Kanamori, Hido & Sugiyama 2009).

    For ``name="pearson"`` (divest's :math:`\chi^2 = \int (p-q)^2/q
    = \mathbb{E}_Q[(r-1)^2] = \mathbb{E}_P[r] - 1`) it returns uLSIF's own estimate

    .. math:: \widehat{\chi^2} = 2\,\mathbb{E}_P[\hat r] - \mathbb{E}_Q[\hat r^2] - 1,

    the variational form :math:`\chi^2 = \sup_g 2\mathbb{E}_P[g] - \mathbb{E}_Q[g^2] - 1`
    (attained at :math:`g = r`; with :math:`\mathbb{E}_Q[r^2] = \mathbb{E}_P[r]` it
    equals :math:`\mathbb{E}_P[r] - 1`), whose regularised maximiser over the kernel
    model is the uLSIF fit.  In uLSIF's notation it is
    :math:`2\hat h^\top\alpha - \alpha^\top\hat H\alpha - 1`, twice the "PE" of
    Sugiyama et al., who define the Pearson divergence with a factor 1/2.  As in the
    paper it is evaluated in sample, with :math:`\alpha` refitted on all the data at
    the cross-validated :math:`(\sigma, \lambda)`: the fit is a stationary point of
    this objective, so first-order errors of :math:`\hat r` cancel (out of fold the
    same form estimates a lower bound).  The Gaussian-kernel model smooths the ratio,
    which biases steep or high-dimensional ratios down (large divergences, d >= 2).
    The standard error is
    :math:`\sqrt{\mathrm{var}(2\hat r(x_i))/n + \mathrm{var}(\hat r(y_j)^2)/m}`,
    the efficient influence function's: no regular estimator does better.  This form
    is also densratio's uLSIF (``alpha=0``), which selects :math:`(\sigma, \lambda)` on
    fixed grids by leave-one-out; the accuracy benchmark compares the two
    (``docs/tables/accuracy.rst``).
    Other names use the out-of-fold split plug-in of :meth:`DensityRatio.divergence`
    with the clipped ratio.

    The interval for Pearson assumes a bounded ratio :math:`p/q`, as uLSIF's
    convergence analysis does: the kernel model caps the ratio at a height set by
    :math:`\sigma` and :math:`\lambda`, so where :math:`p/q` is unbounded (P with a
    shifted mean or a wider spread in some direction than Q, as on mean-shift-d2)
    the estimate is biased low by more than any interval allows.  Use
    ``divergence(X, Y, "pearson")`` (``method="auto"``), which also fits the
    classifier and keeps uLSIF only where its held-out squared loss is better
    (``docs/conventions.rst``, "When an interval is claimed").

    Parameters
    ----------
    X, Y : array_like of shape (n, d) and (m, d)
        Samples of P and Q.
    name : str
        As for :func:`classifier`; default ``"pearson"``.
    cv, rng, n_centers, sigma, lam, refit, interval
        See :func:`fit_ratio`.
    separated : {"infinite", "model"}
        See :meth:`DensityRatio.divergence`.
    **params
        Parameters of the divergence.

    Returns
    -------
    Estimate
        ``method="ulsif"``; ``details`` has the chosen ``sigma`` and ``lam``, the
        cross-validation scores and the fraction of clipped coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> import divest as dv
    >>> rng = np.random.default_rng(2)
    >>> X, Y = rng.normal(0, 1, (1000, 1)), rng.normal(1, 2, (1000, 1))
    >>> est = dv.estimators.ulsif(X, Y, rng=0)  # exact 0.744
    >>> est.method, est.name, est.details["form"]
    ('ulsif', 'pearson', 'ulsif')
    >>> abs(est.value - 0.744) < 3 * est.standard_error
    True
    """
    return _front("ulsif", X, Y, name, cv, rng, separated, interval, params,
                  n_centers=n_centers, sigma=sigma, lam=lam, refit=refit)


def kliep(X, Y, name="kl", *, cv=5, rng=None, n_centers=100, sigma=None, max_iter=2000,
          tol=1e-6, refit=False, separated="infinite", interval="bias_aware",
          **params) -> Estimate:
    r"""A divergence from a KLIEP density-ratio fit (Sugiyama et al. 2008).

    KLIEP fits :math:`\hat r` by maximising :math:`\frac1n\sum_i \log\hat r(x_i)` under
    :math:`\frac1m\sum_j \hat r(y_j) = 1` (see :func:`fit_ratio`); the divergence is
    the out-of-fold split plug-in (``name="kl_dv"`` for the Donsker–Varadhan form
    :math:`\mathbb{E}_P[\log \hat r] - \log\mathbb{E}_Q[\hat r]`, a lower bound of KL
    for the fitted ratio).  The Gaussian-kernel model smooths the ratio, which biases
    large or high-dimensional divergences down, and the out-of-fold ratio is unstable
    where a kernel centre has little mass under Q.  Cost: 7 K EM fits of up to
    ``max_iter`` iterations (one per fold and grid bandwidth).

    **Smoothing allowance.**  The smoothing bias of the kernel model at the selected
    bandwidth does not shrink with the training size, so the learning-curve allowance
    of the bias-aware interval (:mod:`divest.estimators._ratio`) misses it.  With
    ``interval="bias_aware"`` each fold's model is also fitted at :math:`\sigma/\sqrt2`
    with the same training points and kernel centres (the cross-validation fit at the
    next smaller grid point is reused when the grid has it, as the default grid does
    unless :math:`\sigma` is its smallest point), giving the same plug-in
    :math:`\hat D_{\sigma/\sqrt2}`.
    Modelling the smoothing bias as :math:`c\,\sigma^\beta`, the change
    :math:`\Delta = \hat D_{\sigma/\sqrt2} - \hat D_\sigma = c\sigma^\beta
    (2^{-\beta/2} - 1)` gives the bias :math:`-\Delta/(1 - 2^{-\beta/2})` of
    :math:`\hat D_\sigma`, and the interval is widened by

    .. math:: s = \frac{|\Delta|}{1 - 2^{-\beta/2}} \quad (\beta = 1:\ s = 3.41|\Delta|)

    above the estimate when it rose at the finer bandwidth (:math:`\Delta > 0`), below
    otherwise, *in addition to* the learning-curve allowance on its side (the two
    biases add; the interval is then
    :math:`[\hat D - 1.96\,se - a_- - s_-,\ \hat D + 1.96\,se + a_+ + s_+]`).
    :math:`\beta = 1`, the slowest rate seen: the bias grows like :math:`\sigma` where
    the log-ratio is singular (exp-gamma, :math:`-\log x` at 0) and like
    :math:`\sigma^2` where it is smooth, and :math:`\beta = 2` (:math:`s = 2|\Delta|`)
    under-covered the former in the accuracy benchmark (``docs/tables/accuracy.rst``).
    The price is width where the smoothing bias is large.  Cost: none when the grid
    fit is reused; K more EM fits otherwise.
    ``details["smoothing_trend"]`` holds both bandwidths, ``value_fine``, the change
    :math:`\Delta`, :math:`\beta`, the allowance and whether the grid fits were
    reused, or a note saying why there is none.  ``interval="sampling"`` fits
    nothing more and gives value -/+ 1.96 standard errors as before.

    Parameters
    ----------
    X, Y : array_like of shape (n, d) and (m, d)
        Samples of P and Q.
    name : str
        As for :func:`classifier`; default ``"kl"``.
    cv, rng, n_centers, sigma, max_iter, tol, refit, interval
        See :func:`fit_ratio`.
    separated : {"infinite", "model"}
        See :meth:`DensityRatio.divergence`.
    **params
        Parameters of the divergence.

    Returns
    -------
    Estimate
        ``method="kliep"``; ``details`` has the chosen ``sigma`` and the held-out
        log-likelihoods; with ``interval="bias_aware"``, ``bias_trend`` (learning
        curve), ``smoothing_trend`` and their summed ``bias_allowance``.

    Examples
    --------
    >>> import numpy as np
    >>> import divest as dv
    >>> rng = np.random.default_rng(3)
    >>> X, Y = rng.normal(1, 1, (1000, 1)), rng.normal(0, 1, (1000, 1))
    >>> est = dv.estimators.kliep(X, Y, rng=0)  # exact 0.5
    >>> est.method, 0.35 < est.value < 0.6
    ('kliep', True)
    """
    return _front("kliep", X, Y, name, cv, rng, separated, interval, params,
                  n_centers=n_centers, sigma=sigma, max_iter=max_iter, tol=tol, refit=refit)
