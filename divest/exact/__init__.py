"""Exact values: closed forms (double-dispatch registry), 1-D quadrature and Monte Carlo."""

from ._closed_form import NoClosedForm, closed_form, closed_forms, register_closed_form
from ._monte_carlo import monte_carlo
from ._quadrature import quadrature

__all__ = ["NoClosedForm", "closed_form", "closed_forms", "monte_carlo", "quadrature",
           "register_closed_form"]
