"""Exact values: closed forms, 1-D quadrature and Monte Carlo."""
from ._quadrature import quadrature
__all__ = ["quadrature"]
