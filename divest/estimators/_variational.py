"""Variational lower bounds (placeholder, being written)."""

__all__ = ["variational"]


def variational(X, Y, name="kl", **kwargs):
    """Not implemented yet."""
    raise NotImplementedError("variational bounds are being written")
