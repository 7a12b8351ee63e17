"""Sample-based estimators of divergences: X ~ P of shape (n, d), Y ~ Q of shape (m, d).

* :func:`knn` — nearest-neighbour estimators (KL, Rényi/alpha family, Hellinger,
  Bhattacharyya, Pearson), :func:`entropy` and :func:`cross_entropy`;
* :func:`fit_ratio` — a fitted density ratio p/q (classifier, uLSIF, KLIEP) giving
  every registered f-divergence; :func:`classifier`, :func:`ulsif`, :func:`kliep` are
  one-call front doors (a :class:`SeparationWarning` when the fitted ratio separates
  the samples perfectly);
* :func:`variational` — variational lower bounds with linear, kernel or user features,
  evaluated on held-out data.
"""

from ._knn import cross_entropy, entropy, knn
from ._ratio import DensityRatio, SeparationWarning, classifier, fit_ratio, kliep, ulsif
from ._variational import variational

__all__ = ["DensityRatio", "SeparationWarning", "classifier", "cross_entropy", "entropy",
           "fit_ratio", "kliep", "knn", "ulsif", "variational"]
