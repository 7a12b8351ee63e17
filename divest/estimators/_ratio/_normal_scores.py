"""The normal-scores transformer of the spline model (imported when that model is built, so
that ``import divest`` does not import scikit-learn)."""

from __future__ import annotations

import numpy as np
from scipy import special
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["NormalScores"]


class NormalScores(TransformerMixin, BaseEstimator):
    r"""Per-coordinate normal scores :math:`z = \Phi^{-1}(\hat F(x))` (a scikit-learn transformer).

    :math:`\hat F` is the empirical distribution function of the training points,
    each coordinate separately: the i-th smallest of N values gets
    :math:`\Phi^{-1}((i - 1/2)/N)` (tied values the mean of their scores), points in
    between are interpolated linearly, and points beyond the extremes continue on
    the straight line through the outermost 1 % of the distinct values (so a ratio
    that grows in the tails keeps growing at new points).  A coordinate with a single
    value maps to 0.  Monotone, so it loses nothing a model of the coordinate could
    use; it puts equal numbers of points between equally spaced scores, which is what
    makes uniform spline knots on z quantile knots on x.
    """

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        N = X.shape[0]
        scores = special.ndtri((np.arange(N) + 0.5) / N)
        self.tables_ = []
        for col in np.sort(X, axis=0).T:
            values, inverse = np.unique(col, return_inverse=True)
            mean_score = np.bincount(inverse, weights=scores) / np.bincount(inverse)
            self.tables_.append((values, mean_score))
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        out = np.zeros_like(X)
        for j, (u, z) in enumerate(self.tables_):
            if u.size < 2:
                continue
            x = X[:, j]
            out[:, j] = np.interp(x, u, z)
            k = max(1, u.size // 100)
            lo, hi = x < u[0], x > u[-1]
            out[lo, j] = z[0] + (z[k] - z[0]) / (u[k] - u[0]) * (x[lo] - u[0])
            out[hi, j] = z[-1] + (z[-1] - z[-1 - k]) / (u[-1] - u[-1 - k]) * (x[hi] - u[-1])
        return out

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)
