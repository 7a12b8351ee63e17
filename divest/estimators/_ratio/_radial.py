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
    training range, linear beyond it) in :math:`u = \log(1 + \lVert z\rVert^2/d)`.
    A logistic model on them represents exactly the log-ratios of Gaussian pairs with
    diagonal covariances (quadratic in :math:`z`) and, up to the spline's error, those
    of elliptical pairs such as a multivariate t against a normal,
    :math:`\log r = c + \lVert x\rVert^2/2 - \tfrac{\nu + d}{2}\log(1 + \lVert
    x\rVert^2/\nu)`: beyond the data the spline continues linearly in
    :math:`u \approx \log\lVert z\rVert^2`, the growth of a log term, while the
    squares carry the quadratic growth.  2d + n_knots + 2 features, so it stays
    cheap and well determined in d = 25-100, where the full degree-2 polynomial of
    the ``"logistic"`` model has d(d + 3)/2.
    """

    def __init__(self, n_knots=5):
        self.n_knots = n_knots

    def _u(self, Z):
        return np.log1p(np.sum(Z * Z, axis=1, keepdims=True) / Z.shape[1])

    def fit(self, X, y=None):
        from sklearn.preprocessing import SplineTransformer
        Z = np.asarray(X, dtype=float)
        self.spline_ = SplineTransformer(n_knots=self.n_knots, degree=3, knots="quantile",
                                         extrapolation="linear").fit(self._u(Z))
        return self

    def transform(self, X):
        Z = np.asarray(X, dtype=float)
        return np.hstack([Z, Z * Z, self.spline_.transform(self._u(Z))])

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)
