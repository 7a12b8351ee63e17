"""Density-ratio estimators (placeholder, being written)."""

__all__ = ["DensityRatio", "classifier", "fit_ratio", "kliep", "ulsif"]


class DensityRatio:
    """Not implemented yet."""


def fit_ratio(X, Y, method="classifier", **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("density-ratio estimators are being written")


def classifier(X, Y, name="kl", **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("density-ratio estimators are being written")


def ulsif(X, Y, name="pearson", **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("density-ratio estimators are being written")


def kliep(X, Y, name="kl", **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("density-ratio estimators are being written")
