"""Exact values: closed forms (double-dispatch registry), 1-D quadrature and Monte Carlo."""

from ._closed_form import NoClosedForm, closed_form, closed_forms, register_closed_form
from ._monte_carlo import monte_carlo
from ._quadrature import quadrature



def _best_exact(P, Q, label):
    """The exact value of ``label`` for (P, Q): closed form, else 1-D quadrature, else None."""
    from .._names import resolve
    from .._result import Estimate
    from ..distributions import dimension
    try:
        return Estimate.from_value(closed_form(P, Q, label), method="closed_form", name=label)
    except NoClosedForm:
        pass
    spec = resolve(label)
    if spec.base == "energy" and dimension(P) == 1 and all(hasattr(D, "cdf") for D in (P, Q)):
        return quadrature(P, Q, label)
    if spec.density_based and dimension(P) == 1 and all(
            hasattr(D, "logpdf") or hasattr(D, "logpmf") for D in (P, Q)):
        return quadrature(P, Q, label)
    return None


__all__ = ["NoClosedForm", "closed_form", "closed_forms", "monte_carlo", "quadrature",
           "register_closed_form"]
