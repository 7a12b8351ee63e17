"""Nearest-neighbour estimators (placeholder, being written)."""

__all__ = ["cross_entropy", "entropy", "knn"]


def knn(X, Y, name="kl", **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("kNN estimators are being written")


def entropy(X, **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("kNN estimators are being written")


def cross_entropy(X, Y, **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("kNN estimators are being written")
