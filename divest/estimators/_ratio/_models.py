"""The classifier model zoo of the classifier route, and how a log-ratio is read from a
fitted classifier (its logit, never rounded probabilities)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from ..._validation import check_choice

_MODELS = ("auto", "linear", "logistic", "radial", "gaussian", "spline", "boosting", "mlp")
_AUTO_CANDIDATES = ("linear", "logistic", "radial", "gaussian", "spline", "boosting", "mlp")
_LOGISTIC_C = 1.0
#: L2 parameter of the radial model: weaker than the logistic model's, so the squares
#: that carry a heavy-tailed P's log-ratio beyond Q's sample are not shrunk away (on
#: t5 vs N(0, I) in d = 3, n = m = 5000, C = 1 left 0.27-0.35 of the true 0.42)
_RADIAL_C = 10.0
#: ridge of the Gaussian model's covariances, in standardised units (keeps them invertible
#: when a fold holds fewer points than dimensions; far below the sampling noise otherwise)
_GAUSSIAN_RIDGE = 1e-3
#: the smallest d where ``model="auto"`` tries the Gaussian model.  Below it the degree-2
#: logistic model represents Gaussian log-ratios with few penalised coefficients, and the
#: unpenalised curvature of the Gaussian model costs more than it adds where the
#: divergence weighs the ratio's tails: on the 1-D mean shift (n = m = 1000, 10
#: repetitions) the classifier's Pearson chi^2 RMSE went from 0.41 to 70 with it
_GAUSSIAN_MIN_DIM = 10
#: the spline model: knots per coordinate, L2 parameter C, and the largest d where
#: ``model="auto"`` tries it (see fit_ratio)
_SPLINE_KNOTS = 6
_SPLINE_C = 100.0
_SPLINE_MAX_DIM = 10


def _make_model(kind, seed):
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler

    from ._normal_scores import NormalScores
    from ._radial import RadialFeatures
    if kind == "linear":
        return make_pipeline(StandardScaler(), LogisticRegression(C=_LOGISTIC_C, max_iter=5000))
    if kind == "radial":
        return make_pipeline(StandardScaler(), RadialFeatures(), StandardScaler(),
                             LogisticRegression(C=_RADIAL_C, max_iter=5000))
    if kind == "gaussian":
        return make_pipeline(StandardScaler(),
                             QuadraticDiscriminantAnalysis(reg_param=_GAUSSIAN_RIDGE))
    if kind == "logistic":
        return make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False),
                             StandardScaler(), LogisticRegression(C=_LOGISTIC_C, max_iter=5000))
    if kind == "spline":
        return make_pipeline(NormalScores(),
                             SplineTransformer(n_knots=_SPLINE_KNOTS, degree=3, knots="uniform",
                                               extrapolation="linear"),
                             LogisticRegression(C=_SPLINE_C, max_iter=5000))
    if kind == "boosting":
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=7,
                                              min_samples_leaf=40, early_stopping=False,
                                              random_state=seed)
    # no early stopping: scikit-learn stops on validation accuracy, which is flat for
    # overlapping classes and stops the fit far too early
    return make_pipeline(StandardScaler(),
                         MLPClassifier(hidden_layer_sizes=(32, 32), alpha=1e-2, max_iter=200,
                                       random_state=seed))


def _check_model(model):
    if isinstance(model, str):
        return check_choice(model, "model", _MODELS)
    missing = [a for a in ("fit", "predict_proba") if not callable(getattr(model, a, None))]
    if missing:
        raise TypeError(f"model must be one of {', '.join(map(repr, _MODELS))} or a "
                        f"scikit-learn classifier with fit and predict_proba; "
                        f"{type(model).__name__} has no {' or '.join(missing)}")
    return model


def _auto_candidates(d):
    """The models ``model="auto"`` compares in dimension d (no spline model above
    ``_SPLINE_MAX_DIM``, no Gaussian model below ``_GAUSSIAN_MIN_DIM``)."""
    return tuple(k for k in _AUTO_CANDIDATES
                 if (k != "spline" or d <= _SPLINE_MAX_DIM)
                 and (k != "gaussian" or d >= _GAUSSIAN_MIN_DIM))


def _seeded_clone(model, seed):
    from sklearn.base import clone
    mdl = clone(model)
    try:
        params = mdl.get_params(deep=True)
    except Exception:  # not a full scikit-learn estimator: use it as it is
        return mdl
    fix = {k: seed for k, v in params.items()
           if (k == "random_state" or k.endswith("__random_state")) and v is None}
    if fix:
        mdl.set_params(**fix)
    return mdl


_ACTIVATIONS = {
    "identity": lambda a: a,
    "logistic": special.expit,
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
}


def _mlp_output(model, Z):
    """The pre-sigmoid output of a binary MLPClassifier (alone or last in a Pipeline).

    ``predict_proba`` of an MLP rounds to exactly 0 or 1 beyond |logit| ~ 37, which
    would turn into spurious infinite log-ratios; the forward pass from the public
    ``coefs_`` and ``intercepts_`` gives the logit itself.  None if not applicable.
    """
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    head, mlp = None, model
    if isinstance(model, Pipeline):
        head, mlp = model[:-1], model[-1]
    if not (isinstance(mlp, MLPClassifier) and getattr(mlp, "out_activation_", None) == "logistic"
            and mlp.activation in _ACTIVATIONS):
        return None
    a = np.asarray(head.transform(Z) if head is not None else Z, dtype=float)
    act = _ACTIVATIONS[mlp.activation]
    last = len(mlp.coefs_) - 1
    with np.errstate(over="ignore", under="ignore"):
        for i, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
            a = a @ W + b
            if i < last:
                a = act(a)
    return a[:, 0]


def _logit(model, Z):
    """log P(label=1|x) - log P(label=0|x), stably; and which output it came from."""
    classes = list(getattr(model, "classes_", [0, 1]))
    if sorted(classes) != [0, 1]:
        raise ValueError(f"the fitted model has classes {classes}; expected the labels 0 (Y) "
                         "and 1 (X)")
    pos, neg = classes.index(1), classes.index(0)
    proba = np.asarray(model.predict_proba(Z), dtype=float)
    if proba.shape != (Z.shape[0], 2) or np.isnan(proba).any():
        raise ValueError(f"model.predict_proba returned an array of shape {proba.shape} "
                         f"{'with NaN ' if np.isnan(proba).any() else ''}for {Z.shape[0]} points")
    candidates = []
    dec_fn = getattr(model, "decision_function", None)
    if callable(dec_fn):
        try:
            candidates.append((dec_fn(Z), "decision_function"))
        except Exception:  # e.g. a pipeline whose last step lacks it
            pass
    try:
        out = _mlp_output(model, Z)
    except Exception:  # an unusual pipeline: fall back to the probabilities
        out = None
    if out is not None:
        candidates.append((out, "mlp_forward_pass"))
    for dec, source in candidates:
        dec = np.asarray(dec, dtype=float)
        if dec.shape == (Z.shape[0],) and np.all(np.isfinite(dec)):
            # a score is the logit if it reproduces the probabilities (sign: classes_[1])
            s = dec if pos == 1 else -dec
            if np.allclose(special.expit(s), proba[:, pos], rtol=1e-6, atol=1e-12):
                return s, source
    with np.errstate(divide="ignore", invalid="ignore"):
        if callable(getattr(model, "predict_log_proba", None)):
            lp = np.asarray(model.predict_log_proba(Z), dtype=float)
            source = "predict_log_proba"
        else:
            lp = np.log(proba)
            source = "log(predict_proba)"
        s = lp[:, pos] - lp[:, neg]
    if np.isnan(s).any():
        raise FloatingPointError("the classifier gave probability 0 to both labels at "
                                 f"{int(np.isnan(s).sum())} point(s)")
    return s, source


def _fit_quiet(model, Z, lab):
    """Fit, counting (not showing) scikit-learn's convergence warnings."""
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(Z, lab)
    count = 0
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            count += 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return count
