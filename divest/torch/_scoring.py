r"""Proper scoring rules as discriminator losses, and the f-divergences they bound.

A discriminator :math:`D(x)\in(0,1)` (the probability that x is real, here
:math:`D = \sigma(v)` for a logit v) is trained with a loss :math:`\ell_1(D)` on real and
:math:`\ell_0(D)` on generated samples.  With balanced classes its risk is
:math:`R(D) = \mathbb{E}_P[\ell_1(D)] + \mathbb{E}_Q[\ell_0(D)]`.  For a proper scoring
rule the pointwise minimiser is :math:`D^* = p/(p+q)`, and with the conditional risk
:math:`L(\eta) = \eta\,\ell_1(\eta) + (1-\eta)\,\ell_0(\eta)` (concave),

.. math:: R(D^*) = \int (p+q)\, L\!\left(\tfrac{p}{p+q}\right) = 2L(\tfrac12) - D_f(P\,\|\,Q),
          \qquad f(u) = (1+u)\big(L(\tfrac12) - L(\tfrac{u}{1+u})\big),

so :math:`2L(\frac12) - R(D) \le D_f(P\|Q)` for every discriminator, with equality at
:math:`D^*` (Reid & Williamson 2011; Mohamed & Lakshminarayanan 2016, section 3.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_choice

__all__ = ["ScoringRule", "get_scoring_rule", "scoring_rules"]


@dataclass(frozen=True)
class ScoringRule:
    r"""A scoring rule used as a discriminator loss.

    Attributes
    ----------
    name : str
    loss_real, loss_fake : callable
        :math:`\ell_1` and :math:`\ell_0` as functions of the logit ``v`` (torch tensors,
        elementwise), :math:`D = \sigma(v)`.
    conditional_risk : callable
        :math:`L(\eta)` on ``[0, 1]`` (numpy), the risk at :math:`D = \eta` of a point whose
        probability of being real is :math:`\eta`.
    divergence : str
        The f-divergence :math:`D_f = 2L(\frac12) - R(D^*)` in divest's names.
    proper : bool
        Whether :math:`D^* = p/(p+q)` minimises the risk (hinge: no, its minimiser is
        the Bayes classifier :math:`\mathrm{sign}(p - q)`).
    notes : str
    """

    name: str
    loss_real: Callable
    loss_fake: Callable
    conditional_risk: Callable
    divergence: str
    proper: bool = True
    notes: str = ""

    @property
    def half_risk(self) -> float:
        r""":math:`L(\frac12)`."""
        return float(self.conditional_risk(np.float64(0.5)))

    def generator(self, u):
        r"""The generator :math:`f(u) = (1+u)(L(\frac12) - L(u/(1+u)))` of the bounded divergence.

        Examples
        --------
        >>> from divest.torch import get_scoring_rule
        >>> round(float(get_scoring_rule("log").generator(1.0)), 12)
        0.0
        """
        u = np.asarray(u, dtype=float)
        return (1.0 + u) * (self.half_risk - self.conditional_risk(u / (1.0 + u)))

    def risk(self, v_real, v_fake, w_real=None, w_fake=None):
        """:math:`R(D)`: mean real loss plus mean fake loss (weighted means with weights)."""
        from ._critics import _wmean
        return _wmean(self.loss_real(v_real), w_real) + _wmean(self.loss_fake(v_fake), w_fake)


def _entropy(eta):
    eta = np.asarray(eta, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(np.where(eta > 0, eta * np.log(np.where(eta > 0, eta, 1.0)), 0.0)
                 + np.where(eta < 1, (1 - eta) * np.log(np.where(eta < 1, 1 - eta, 1.0)), 0.0))


def _spherical(v, sign):
    d = torch.sigmoid(v)
    norm = torch.sqrt(d * d + (1.0 - d) ** 2)
    return -(d if sign > 0 else 1.0 - d) / norm


def _misclassified(v, sign):
    # D < 1/2 misclassifies a real point, D > 1/2 a generated one; a tie counts 1/2
    return (torch.sign(-sign * v) + 1.0) * 0.5


_RULES = {
    "log": ScoringRule(
        "log", lambda v: F.softplus(-v), lambda v: F.softplus(v), _entropy,
        "2 * js  (= gan + log 4)",
        notes="Bernoulli log loss: the GAN discriminator; R(D*) = log 4 - 2 JS(P||Q)."),
    "brier": ScoringRule(
        "brier", lambda v: torch.sigmoid(-v) ** 2, lambda v: torch.sigmoid(v) ** 2,
        lambda e: np.asarray(e, dtype=float) * (1.0 - np.asarray(e, dtype=float)),
        "pearson(P || (P+Q)/2) / 2  (= triangular discrimination / 4)",
        notes="Brier (squared) loss: R(D*) = int pq/(p+q) = 1/2 - chi2(P||M)/2, M = (P+Q)/2."),
    "exponential": ScoringRule(
        "exponential", lambda v: torch.exp(-0.5 * v), lambda v: torch.exp(0.5 * v),
        lambda e: 2.0 * np.sqrt(np.asarray(e, dtype=float) * (1.0 - np.asarray(e, dtype=float))),
        "squared_hellinger",
        notes="Boosting loss sqrt((1-D)/D), sqrt(D/(1-D)): R(D*) = 2 int sqrt(pq) = 2 - H^2."),
    "misclassification": ScoringRule(
        "misclassification", lambda v: _misclassified(v, 1.0), lambda v: _misclassified(v, -1.0),
        lambda e: np.minimum(np.asarray(e, dtype=float), 1.0 - np.asarray(e, dtype=float)),
        "tv",
        notes="0-1 loss: R(D*) = int min(p, q) = 1 - TV.  Its gradient is 0 almost everywhere, "
              "so it is a diagnostic, not a training loss."),
    "hinge": ScoringRule(
        "hinge", lambda v: F.relu(1.0 - torch.tanh(0.5 * v)),
        lambda v: F.relu(1.0 + torch.tanh(0.5 * v)),
        lambda e: 4.0 * np.asarray(e, dtype=float) * (1.0 - np.asarray(e, dtype=float)),
        "2 * pearson(P || (P+Q)/2)  at D*; its own minimiser gives 2 * tv",
        proper=False,
        notes="Hinge loss on the margin t = 2D - 1: not strictly proper.  At D* = p/(p+q) "
              "R = 2 - int (p-q)^2/(p+q); at its minimiser sign(p - q) R = 2 - 2 TV."),
    "spherical": ScoringRule(
        "spherical", lambda v: _spherical(v, 1.0), lambda v: _spherical(v, -1.0),
        lambda e: -np.sqrt(np.asarray(e, dtype=float) ** 2 + (1.0 - np.asarray(e, dtype=float))
                           ** 2),
        "f(u) = sqrt(1 + u^2) - (1 + u)/sqrt(2), i.e. int sqrt(p^2 + q^2) - sqrt(2)",
        notes="Spherical score D/||(D, 1-D)||: R(D*) = -int sqrt(p^2 + q^2)."),
}


def scoring_rules() -> tuple[str, ...]:
    """Names of the scoring rules.

    Examples
    --------
    >>> from divest.torch import scoring_rules
    >>> scoring_rules()
    ('log', 'brier', 'exponential', 'misclassification', 'hinge', 'spherical')
    """
    return tuple(_RULES)


def get_scoring_rule(name: str) -> ScoringRule:
    r"""Look up a scoring rule by name.

    Parameters
    ----------
    name : str
        One of :func:`scoring_rules`.

    Returns
    -------
    ScoringRule

    References
    ----------
    .. [1] S. Mohamed, B. Lakshminarayanan, "Learning in implicit generative models",
       arXiv:1610.03483, 2016.
    .. [2] M. D. Reid, R. C. Williamson, "Information, divergence and risk for binary
       experiments", JMLR 12, 2011.

    Examples
    --------
    >>> import math, torch
    >>> from divest.torch import get_scoring_rule
    >>> rule = get_scoring_rule("exponential")
    >>> rule.divergence, rule.half_risk
    ('squared_hellinger', 1.0)
    >>> float(rule.risk(torch.zeros(3), torch.zeros(3)))   # D = 1/2 everywhere: 2 L(1/2)
    2.0
    """
    check_choice(name, "name", tuple(_RULES))
    return _RULES[name]
