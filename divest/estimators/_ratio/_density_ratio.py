"""The fitted density ratio: :class:`DensityRatio` and its divergences."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from ... import _methods, _names
from ... import fdiv as _fdiv
from ..._result import Allowance, Estimate, compose
from ..._validation import _describe, check_choice
from ...exact._common import finish, split_terms
from .._common import as_2d, tail_check, unbounded_tail_side
from ._allowances import (KERNEL_MAX_DIM, TREE_MAX_DIM, TREE_MODELS, _allowance, _bias_trend, _model_spread,
                          _smoothing_trend)
from .._knn import _singular_value
from ._plugin import _dv_kl, _influence_se, _ratio_terms, _ulsif_pearson
from ._state import RatioFit

__all__ = ["DensityRatio", "SeparationWarning"]

_DV = "kl_dv"
#: below this many points in a sample, the separation warning says that overlapping
#: distributions are separated by chance too
_FEW_POINTS = 100


class SeparationWarning(UserWarning):
    r"""The out-of-fold log-ratios separate X from Y perfectly.

    Every point of X is scored above every point of Y, so the unregularised ratio fit
    does not exist (its objective grows without bound as the ratio goes to
    :math:`+\infty` on X and 0 on Y).  The estimate returned is then either the value
    of disjoint supports (``separated="infinite"``: KL = inf, JS = log 2, TV = 1, with
    no standard error and the interval collapsed on the value) or the fitted model's,
    set by its regularisation (``separated="model"``): neither is a sampling estimate
    with an error bar, and with few points distributions that overlap are separated
    by chance too.  Filter it with
    ``warnings.filterwarnings("ignore", category=SeparationWarning)``.
    """


def _separation_message(label, value, n, m, separated):
    """What a divergence of perfectly separated samples means, for the warning."""
    if separated == "infinite":
        meaning = (f"{label} = {value:g} is the value of disjoint supports (the limit of the "
                   "unregularised fit: ratio +inf on X and 0 on Y), not an estimate with an "
                   "error bar; separated='model' gives the fitted model's value")
    else:
        meaning = (f"{label} = {value:g} is the fitted model's value, set by its "
                   "regularisation if it has one (the unregularised fit does not exist), and "
                   "its interval does not account for that; separated='infinite' gives the "
                   "value of disjoint supports")
    text = (f"the out-of-fold log-ratios separate X (n={n}) from Y (m={m}) perfectly: "
            f"{meaning}")
    if min(n, m) < _FEW_POINTS:
        text += (f".  With fewer than {_FEW_POINTS} points in a sample, distributions that "
                 "overlap are also separated by chance: more samples tell the two apart")
    return text


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside divest (the
    user's call of ``classifier``, ``fit_ratio(...).divergence``, ``divergence``, ...)."""
    frame, level = sys._getframe(1), 1  # the frame that calls warnings.warn
    while frame is not None and frame.f_globals.get("__name__", "").startswith("divest."):
        frame, level = frame.f_back, level + 1
    return level


def _resolve(name, params):
    """(spec, is_dv) for a density-based divergence name or ``"kl_dv"``."""
    base, _ = _fdiv.parse_label(name)
    if base == _DV:
        if params or name.strip() != _DV:
            raise ValueError(f"name={name!r} takes no parameters; got {params}")
        return _names.resolve("kl"), True
    spec = _names.resolve(name, **params)
    _methods.check_supports("classifier", spec, caller="density-ratio estimators")
    return spec, False


def _ratio_divergence_iv(name, separated, params):
    """``(spec, is_dv, separated)`` of :meth:`DensityRatio.divergence`'s arguments."""
    spec, dv = _resolve(name, params)
    separated = check_choice(separated, "separated", ("infinite", "model"))
    return spec, dv, separated


class DensityRatio:
    r"""A cross-fitted density ratio :math:`r = p/q`, made by :func:`fit_ratio`.

    Attributes
    ----------
    method : str
        ``"classifier"``, ``"ulsif"`` or ``"kliep"``.
    n_p, n_q : int
        Sizes n of the sample X ~ P and m of the sample Y ~ Q.
    dim : int
        Dimension d of the sample space.
    cv : int
        Number of cross-fitting folds K.
    log_ratio_p : ndarray of shape (n,)
        Out-of-fold :math:`\log \hat r` at the points of X (each from the fold model
        that did not see the point); may hold ``+inf``/``-inf`` where a classifier is
        certain.
    log_ratio_q : ndarray of shape (m,)
        Out-of-fold :math:`\log \hat r` at the points of Y.
    details : dict
        Diagnostics of the fit: the chosen model or hyperparameters, the
        cross-validation scores, the fraction of clipped coefficients (uLSIF), the
        fraction of infinite log-ratios, whether the out-of-fold scores separate X
        from Y perfectly, the ``interval`` option, ...

    Notes
    -----
    :meth:`log_ratio` at new points averages :math:`\log \hat r` over the K fold
    models (a geometric mean of their ratios; no extra fit), unless the ratio was
    made with ``refit=True``, in which case one more model, fitted on all the data
    with the selected hyperparameters, is used.  :meth:`divergence` always uses the
    out-of-fold values ``log_ratio_p`` and ``log_ratio_q``.  What the bias-aware
    interval needs besides them (the half-data fits, the candidate models' fits, ...)
    is private state of the fit (a ``RatioFit``, not part of ``details``); the
    constructor, called by :func:`fit_ratio`, refuses ``details`` keys that start
    with ``_``.

    Examples
    --------
    >>> import numpy as np
    >>> import divest as dv
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(0, 1, (500, 2)), rng.normal(0, 2, (500, 2))
    >>> ratio = dv.estimators.fit_ratio(X, Y, "ulsif", rng=0)
    >>> ratio
    DensityRatio(method='ulsif', n_p=500, n_q=500, dim=2, cv=5)
    >>> ratio.log_ratio_p.shape, ratio.ratio(np.zeros((3, 2))).shape
    ((500,), (3,))
    >>> ratio.divergence("squared_hellinger").name  # exact 0.4
    'squared_hellinger'
    """

    def __init__(self, method, log_ratio_p, log_ratio_q, predictors, cv, details, fit):
        private = sorted(k for k in details if str(k).startswith("_"))
        if private:
            raise ValueError(f"details must hold public diagnostics only; got the keys "
                             f"{private} (private state goes in fit=RatioFit(...))")
        if not isinstance(fit, RatioFit):
            raise TypeError(f"fit must be a RatioFit; got {_describe(fit)}")
        self.method = method
        self.log_ratio_p = log_ratio_p
        self.log_ratio_q = log_ratio_q
        self.n_p = int(log_ratio_p.shape[0])
        self.n_q = int(log_ratio_q.shape[0])
        self.cv = int(cv)
        self.details = details
        self._predictors = predictors  # callables x -> log r(x)
        self._fit = fit
        self.dim = int(fit.dim)

    def __repr__(self) -> str:
        return (f"DensityRatio(method={self.method!r}, n_p={self.n_p}, n_q={self.n_q}, "
                f"dim={self.dim}, cv={self.cv})")

    def log_ratio(self, x) -> np.ndarray:
        r"""The fitted :math:`\log p(x)/q(x)` at new points.

        Parameters
        ----------
        x : array_like of shape (k, d) or (k,) (read as (k, 1))

        Returns
        -------
        ndarray of shape (k,)
            The average of the fold models' log-ratios (or the refitted model's);
            ``+inf``/``-inf`` where a classifier is certain.
        """
        x = as_2d(x, "x", min_n=1)
        if x.shape[1] != self.dim:
            raise ValueError(f"x must have {self.dim} columns like the fitted samples; got "
                             f"shape {x.shape}")
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=1), np.errstate(invalid="ignore"):
            out = np.mean([pred(x) for pred in self._predictors], axis=0)
        if np.isnan(out).any():
            raise FloatingPointError("the fold models disagree infinitely (+inf and -inf) at "
                                     f"{int(np.isnan(out).sum())} point(s) of x")
        return out

    def ratio(self, x) -> np.ndarray:
        """The fitted ratio p(x)/q(x) = exp(log_ratio(x)) (``inf`` where it overflows)."""
        with np.errstate(over="ignore"):
            return np.exp(self.log_ratio(x))

    def divergence(self, name="kl", *, separated="infinite", **params) -> Estimate:
        r"""A divergence from the fitted ratio (out-of-fold plug-in).

        Parameters
        ----------
        name : str
            Any registered f-divergence (:func:`divest.fdivergences`), ``"renyi"``
            (param ``alpha``), ``"bhattacharyya"``, or ``"kl_dv"`` for the
            Donsker–Varadhan form of KL,
            :math:`\mathbb{E}_P[\log\hat r] - \log \mathbb{E}_Q[\hat r]`.
        separated : {"infinite", "model"}
            What to report when the out-of-fold log-ratios separate the samples
            perfectly (every point of X above every point of Y;
            ``details["perfectly_separated"]``).  The unregularised fit does not
            exist then: the likelihood of the classifier (and the objectives of
            uLSIF and KLIEP) grows without bound as the ratio goes to
            :math:`+\infty` on X and 0 on Y.  ``"infinite"`` (default) reports the
            divergence of that limiting ratio, the value of disjoint supports
            (KL = inf, JS = log 2, TV = 1, squared Hellinger = 2); ``"model"`` keeps
            the fitted model's finite ratios, whose values are then set by its
            regularisation.  Either way a :class:`SeparationWarning` says what the
            returned value means.
        **params
            Parameters of the divergence (``alpha``, ``pi``).

        Returns
        -------
        Estimate
            ``method`` is the ratio's method.  ``details["form"]`` says which
            plug-in was used: ``"split"`` (:mod:`divest.estimators._ratio`:
            :math:`\mathbb{E}_Q` where :math:`\hat r \le 1`, :math:`\mathbb{E}_P`
            where :math:`\hat r > 1`), ``"donsker_varadhan"`` or, for a uLSIF ratio
            and ``name="pearson"``, ``"ulsif"`` (:func:`ulsif`).  The standard error
            of the split form is that of the influence function of :math:`D_f` at
            the fitted ratio, :math:`\sqrt{\mathrm{var}_P(f'(\hat r))/n
            + \mathrm{var}_Q(f(\hat r) - \hat r f'(\hat r))/m}` (the sampling error
            of an efficient estimator; the conditional standard error of the
            plug-in average alone, which ignores the error of the fitted ratio and is
            too small, is in ``details["standard_error_given_ratio"]``).
            It is ``inf`` when the fitted ratio is 0 at a point of X or infinite at
            a point of Y (where the influence function is unbounded), and ``nan``
            with an infinite value.  ``details["interval"]`` is the ratio's
            ``interval`` option; with ``"bias_aware"`` the 95% interval is widened by
            ``details["bias_allowance"]`` = (below, above), the learning-curve
            allowance :math:`|\delta|/(2^\gamma-1)`, :math:`\gamma = 1/3`, put
            above when :math:`\delta = \hat D_N - \hat D_{N/2} > 0` and below
            otherwise (:mod:`divest.estimators._ratio`, "Bias-aware intervals"), and
            ``details["bias_trend"]`` holds ``value_full``, ``value_half``,
            ``change_per_doubling`` (:math:`\delta`), ``gamma`` and ``allowance``,
            or a ``note`` saying why there is no allowance (perfectly separated
            samples, an infinite estimate or half-data estimate, too few points for
            a half fit, a ratio without half fits).  For a KLIEP ratio the
            smoothing allowance (:func:`kliep`) is added on its side, and
            ``details["smoothing_trend"]`` describes it.  For ``model="auto"`` the
            model-choice allowance (:mod:`divest.estimators._ratio`) is added:
            ``details["model_spread"]`` holds ``models``, their ``values``,
            ``value_chosen`` on the selection sample, ``allowance`` (below, above),
            ``tail_opened`` (the models whose estimate is infinite or whose terms
            failed the heavy-tail check) and ``skipped`` (candidates whose estimate
            failed or was NaN), or a ``note``.  Two heavy-tail checks
            open an end of the bias-aware interval (``inf`` in the allowance):
            ``details["tail_check"]``, the generalized-Pareto shapes of the
            estimate's per-point terms (shape > 1/2: the sum behaves as if its
            variance were infinite, the ratio is heavy-tailed where the samples
            are sparse, and the upper end is open), and
            ``details["sample_tails"]`` from :func:`fit_ratio` (P's sample
            heavier-tailed than Q's with :math:`f'_\infty = \infty`, or Q's with
            :math:`f(0) = \infty`: the upper end is open and
            ``details["sample_tails_note"]`` says why).  When one sample has
            repeated points the other lacks (atoms, singular w.r.t. the other law;
            ``details["singular_atoms"]`` holds their sample fractions), which a
            smooth ratio model cannot represent, the upper end reaches the value of
            mutually singular laws (``inf`` for KL, ``log 2`` for JS).  uLSIF and
            KLIEP in dimension d > 10, whose one-bandwidth Gaussian-kernel ratio
            flattens there, and the classifier ``model="boosting"`` in d > 10, whose
            trees miss log-ratios made of interactions of many coordinates, leave the
            upper end open.  Each widening
            is also an :class:`~divest.Allowance` in ``Estimate.allowances`` (sources
            ``"learning_curve"``, ``"smoothing"``, ``"model_spread"``,
            ``"tail_terms"``, ``"sample_tails"``, ``"singular_atoms"``,
            ``"kernel_dimension"``, ``"model_dimension"``, each with its reason; widenings of
            width 0 are not listed), and ``details["bias_allowance"]`` is their
            :func:`~divest._result.compose`.  With ``"sampling"`` there are none and
            the allowance is (0, 0).
        """
        return self._divergence(*_ratio_divergence_iv(name, separated, params))

    def _divergence(self, spec, dv, separated) -> Estimate:
        """:meth:`divergence` from validated arguments (:func:`_ratio_divergence_iv`)."""
        lp, lq = self.log_ratio_p, self.log_ratio_q
        n, m = self.n_p, self.n_q
        details = dict(self.details)
        limit = separated == "infinite" and self.details["perfectly_separated"]
        if limit:
            lp, lq = np.full(n, np.inf), np.full(m, -np.inf)
            details["separation"] = (
                "the out-of-fold log-ratios separate X from Y perfectly: reported is the "
                "limit of the unregularised fit, ratio +inf on X and 0 on Y (the value of "
                "disjoint supports); separated='model' gives the fitted model's values")
        if dv:
            value, se, form = *_dv_kl(lp, lq), "donsker_varadhan"

            def terms():
                return _ratio_terms(spec, form, lp, lq)
        elif self.method == "ulsif" and spec.base == "pearson" and not limit:
            rp, rq = self._fit.ratio_in_sample
            value, se = _ulsif_pearson(rp, rq)
            form = "ulsif"

            def terms():
                return {"p": 2.0 * rp, "q": rq * rq}
        else:
            fd = spec.fd if spec.is_f else spec.alpha_fd
            tp, tq = split_terms(fd, lp, lq)
            v0 = float(tq.mean() + tp.mean())
            se_if = _influence_se(fd, lp, lq)
            with np.errstate(invalid="ignore", over="ignore"):
                se_cond = math.sqrt(tq.var(ddof=1) / m + tp.var(ddof=1) / n) \
                    if math.isfinite(v0) else math.nan
            value, se = finish(spec, v0, se_if)
            details["standard_error_given_ratio"] = finish(spec, v0, se_cond)[1]
            form = "split"

            def terms():
                return _ratio_terms(spec, form, lp, lq)
        details["form"] = form
        if math.isinf(value):
            se = math.nan
            details["standard_error_note"] = (
                "the estimate is infinite: the fitted ratio is 0 or infinite at some sample "
                "points (a certain classifier, or disjoint supports); no standard error")
        tails = (0.0, 0.0)
        fd_ = spec.fd if spec.is_f else spec.alpha_fd
        unbounded = dv or math.isinf(fd_.f_infinity) or math.isinf(fd_.f_zero)
        if math.isfinite(value) and not limit and unbounded:
            # per-point terms that grow with the fitted ratio (bounded divergences have
            # bounded terms: nothing to check)
            tails, details["tail_check"] = tail_check(terms())
        allowances = []
        if self.details.get("interval", "sampling") == "bias_aware":
            part, details["bias_trend"] = _bias_trend(self, spec, form, value)
            allowances.append(_allowance("learning_curve", part, details["bias_trend"]))
            if self._fit.smoothing is not None:
                part, details["smoothing_trend"] = _smoothing_trend(self, spec, form, value)
                allowances.append(_allowance("smoothing", part, details["smoothing_trend"]))
            if self._fit.alternatives is not None and not limit:
                part, details["model_spread"] = _model_spread(self, spec, form, value,
                                                                   unbounded)
                allowances.append(_allowance("model_spread", part, details["model_spread"]))
            allowances.append(_allowance("tail_terms", tails, details.get("tail_check", {})))
            above, note = unbounded_tail_side(spec, self.details.get("sample_tails", {}))
            if note and math.isfinite(value):
                details["sample_tails_note"] = note
                allowances.append(Allowance("sample_tails", 0.0, above, note))
            if self.method in ("ulsif", "kliep") and self.dim > KERNEL_MAX_DIM \
                    and math.isfinite(value) and not limit:
                allowances.append(Allowance(
                    "kernel_dimension", 0.0, math.inf,
                    f"{self.method}'s ratio model is a sum of Gaussian kernels of one "
                    f"bandwidth, which in d = {self.dim} > {KERNEL_MAX_DIM} flattens the "
                    "ratio and gives far too small values that its learning curve does not "
                    "reveal (hard reference pairs: KL 2 estimated as 0.4 in d = 50): the "
                    "upper end is open; use the classifier (model='auto')"))
            model = self.details.get("model")
            if model in TREE_MODELS and self.dim > TREE_MAX_DIM and math.isfinite(value) \
                    and not limit:
                allowances.append(Allowance(
                    "model_dimension", 0.0, math.inf,
                    f"the classifier {model!r} (gradient-boosted trees) splits one "
                    f"coordinate at a time, so in d = {self.dim} > {TREE_MAX_DIM} it cannot "
                    "represent a log-ratio made of interactions of many coordinates (a "
                    "correlated Gaussian's is quadratic with cross terms) and gives far too "
                    "small values that its learning curve does not reveal (hard reference "
                    "pair gauss-ar1-d50: KL 2.31 estimated as 0.10 with the interval "
                    "[0, 0.11]): the upper end is open"))
            atoms = self.details.get("singular_atoms")
            if atoms and not limit and math.isfinite(value):
                top = _singular_value(spec)
                if top > value:
                    allowances.append(Allowance(
                        "singular_atoms", 0.0, top - value,
                        f"{atoms['p_mass']:.0%} of X and {atoms['q_mass']:.0%} of Y sit on "
                        f"repeated points the other sample lacks (atoms, singular w.r.t. the "
                        f"other law), which a smooth ratio model cannot represent: the "
                        f"interval's upper end reaches the value of mutually singular laws, "
                        f"{top:g}"))
        allowances = tuple(a for a in allowances if a.below or a.above)
        details["bias_allowance"] = compose(allowances)
        if self.details["perfectly_separated"]:
            warnings.warn(_separation_message(spec.label, value, n, m, separated),
                          SeparationWarning, stacklevel=_caller_level())
        return Estimate.from_value(value, standard_error=se, method=self.method,
                                   name=spec.label, n_p=n, n_q=m, details=details,
                                   allowances=allowances)
