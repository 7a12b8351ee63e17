"""The features of the ``"radial"`` classifier model (imported when that model is built, so
that ``import divest`` does not import scikit-learn)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["RadialFeatures"]


class RadialFeatures(TransformerMixin, BaseEstimator):
    r"""Coordinates, their squares and a spline in the log-radius (a scikit-learn transformer).

    For standardised input :math:`z \in \mathbb R^d` the features are :math:`z_j`,
    :math:`z_j^2` and a cubic B-spline basis (``n_knots`` uniform knots over the
    training range, linear beyond it) in :math:`u = \log(1 + \lVert z\rVert^2/d)`,
    held constant below the training sample's ``low_quantile`` of u.
    A logistic model on them represents exactly the log-ratios of Gaussian pairs with
    diagonal covariances (quadratic in :math:`z`) and, up to the spline's error, those
    of elliptical pairs such as a multivariate t against a normal,
    :math:`\log r = c + \lVert x\rVert^2/2 - \tfrac{\nu + d}{2}\log(1 + \lVert
    x\rVert^2/\nu)`: beyond the data the spline continues linearly in
    :math:`u \approx \log\lVert z\rVert^2`, the growth of a log term, while the
    squares carry the quadratic growth.  2d + n_knots + 2 features, so it stays
    cheap and well determined in d = 25-100, where the full degree-2 polynomial of
    the ``"logistic"`` model has d(d + 3)/2.

    Toward the centre the spline is held constant (u below its ``low_quantile``
    in the training sample): an elliptical pair's log-ratio is smooth at the origin,
    where the squares carry its curvature, and the few points of the innermost
    quantiles let the outermost basis function (scaled up by the standardisation that
    follows in the pipeline) bend steeply: out-of-fold log-ratios far above any true
    one and influence-function standard errors far above the estimates' spread on the
    Gaussian pairs in d = 50 (``tests/test_ratio.py``,
    ``benchmarks/results/accuracy_hard.md``).  The upper end (the tails, where
    heavy-tailed pairs' KL lives) keeps its linear continuation.  The quantile is a
    compromise: the constraint reaches the tails through the shared squares, and a
    larger one lowers the KL of t5-normal-d10, which is already underestimated.
    """

    def __init__(self, n_knots=5, low_quantile=0.02):
        self.n_knots = n_knots
        self.low_quantile = low_quantile

    @staticmethod
    def _radius(Z):
        return np.log1p(np.sum(Z * Z, axis=1, keepdims=True) / Z.shape[1])

    def fit(self, X, y=None):
        from sklearn.preprocessing import SplineTransformer
        Z = np.asarray(X, dtype=float)
        u = self._radius(Z)
        self.u_low_ = float(np.quantile(u, self.low_quantile))
        self.spline_ = SplineTransformer(n_knots=self.n_knots, degree=3, knots="quantile",
                                         extrapolation="linear").fit(np.maximum(u, self.u_low_))
        return self

    def transform(self, X):
        Z = np.asarray(X, dtype=float)
        u = np.maximum(self._radius(Z), self.u_low_)
        return np.hstack([Z, Z * Z, self.spline_.transform(u)])

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)
