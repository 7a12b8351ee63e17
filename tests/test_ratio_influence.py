"""The influence-function standard error of the density-ratio plug-ins, by brute force.

``_influence_se(fd, log_ratio_p, log_ratio_q)`` is
:math:`\\sqrt{\\mathrm{var}(a)/n + \\mathrm{var}(b)/m}` with per-point terms a over the n
points of X and b over the m points of Y.  Two independent checks, both with n != m
(swapping n and m, or the two samples' terms, fails them):

* the terms are the partial derivatives of :math:`D(p, q) = \\sum_k q_k f(p_k/q_k)` in
  the mass of P at a point of X and of Q at a point of Y, computed here by central
  finite differences of the generator f alone (no ``f_prime``);
* on a discrete pair, the standard deviation of the plug-in :math:`D_f(\\hat p\\|\\hat q)`
  over multinomial samples of sizes n and m is the standard error (delta method).
"""

import math

import numpy as np
import pytest

import divest as dv
from divest.estimators._ratio import _influence_se

NAMES = ["kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "jeffreys",
         "alpha(alpha=0.5)", "alpha(alpha=2)", "js_weighted(pi=0.25)"]

#: hand-built out-of-fold log-ratios: n = 7 points of X, m = 11 points of Y
LR_P = np.array([-1.2, -0.4, 0.1, 0.5, 0.9, 1.6, 2.3])
LR_Q = np.array([-2.1, -1.5, -1.0, -0.6, -0.3, 0.2, 0.4, 0.7, 1.1, -0.8, -1.7])


def _functional(f, p, q):
    """D(p, q) = sum_k q_k f(p_k / q_k) over the atoms (p, q need not be normalised)."""
    return float(np.sum(q * f(p / q)))


def _terms_by_finite_differences(f, lr_p, lr_q):
    """dD/dp at the X atoms and dD/dq at the Y atoms, central differences of D itself."""
    r = np.exp(np.r_[lr_p, lr_q])
    q = np.ones_like(r)  # the ratio is p/q at each atom; the scale of q does not matter
    p = r * q
    n = lr_p.size

    def partial(which, k):
        h = 1e-6 * (p[k] if which == "p" else q[k])
        lo, hi = p.copy(), p.copy()
        qlo, qhi = q.copy(), q.copy()
        if which == "p":
            lo[k] -= h
            hi[k] += h
        else:
            qlo[k] -= h
            qhi[k] += h
        return (_functional(f, hi, qhi) - _functional(f, lo, qlo)) / (2.0 * h)

    a = np.array([partial("p", k) for k in range(n)])
    b = np.array([partial("q", k) for k in range(n, r.size)])
    return a, b


def _se(a, b, n, m):
    return math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / m)


@pytest.mark.parametrize("name", NAMES)
def test_influence_terms_are_the_derivatives_of_the_generator(name):
    fd = dv.get_fdivergence(name)
    a, b = _terms_by_finite_differences(fd.f, LR_P, LR_Q)
    n, m = LR_P.size, LR_Q.size
    expected = _se(a, b, n, m)
    assert _influence_se(fd, LR_P, LR_Q) == pytest.approx(expected, rel=1e-6)
    # the test can tell the sizes (and the samples' terms) apart: n != m, var(a) != var(b)
    swapped_sizes = _se(a, b, m, n)
    swapped_terms = math.sqrt(b.var(ddof=1) / n + a.var(ddof=1) / m)
    for wrong in (swapped_sizes, swapped_terms):
        assert abs(wrong - expected) > 1e-3 * expected, name


def test_influence_se_infinite_where_a_term_is():
    fd = dv.get_fdivergence("kl")
    assert _influence_se(fd, np.r_[LR_P, -np.inf], LR_Q) == math.inf  # r = 0 at a point of X
    assert _influence_se(fd, LR_P, np.r_[LR_Q, np.inf]) == math.inf  # r = inf at a point of Y
    # r = inf at a point of X: f'(inf) = inf for KL, so the SE is infinite; JS has
    # bounded terms, and its SE stays finite with r = inf on X and r = 0 on Y
    assert _influence_se(fd, np.r_[LR_P, np.inf], LR_Q) == math.inf
    js = dv.get_fdivergence("js")
    assert math.isfinite(_influence_se(js, np.r_[LR_P, np.inf], np.r_[LR_Q, -np.inf]))


# a discrete pair on four atoms, and sample sizes n != m with integer expected counts
P = np.array([0.05, 0.15, 0.3, 0.5])
Q = np.array([0.4, 0.3, 0.2, 0.1])
N, M = 400, 4000


@pytest.mark.parametrize("name", ["kl", "pearson", "reverse_kl", "squared_hellinger", "js"])
def test_influence_se_is_the_spread_of_the_plug_in(name):
    # the plug-in D_f(p_hat || q_hat) over 3000 pairs of multinomial samples of sizes
    # N and M: its standard deviation is the influence-function SE (delta method),
    # here evaluated on "samples" that hold each atom in its expected proportion.
    # Relative sampling error of the simulated sd: about 1/sqrt(2 * 3000) = 1.3 %.
    fd = dv.get_fdivergence(name)
    rng = np.random.default_rng(12)
    R = 3000
    ph = rng.multinomial(N, P, size=R) / N
    qh = rng.multinomial(M, Q, size=R) / M
    assert (qh > 0).all() and (ph > 0).all()
    values = np.sum(qh * fd.f(ph / qh), axis=1)
    spread = values.std(ddof=1)
    lr = np.log(P / Q)
    lr_p = np.repeat(lr, (N * P).round().astype(int))
    lr_q = np.repeat(lr, (M * Q).round().astype(int))
    assert lr_p.size == N and lr_q.size == M
    se = _influence_se(fd, lr_p, lr_q)
    assert se == pytest.approx(spread, rel=0.06), (name, se, spread)
    # with the sizes swapped the formula is > 15 % off, so the simulation tells them
    # apart -- except for squared Hellinger and JS, whose two influence terms have the
    # same variance under P as under Q (for H^2 both are 1 - BC^2, BC = sum sqrt(pq)):
    # there the swap does not matter in the population, and the finite-difference
    # test above (unequal sample variances) is the one that sees it
    a = np.asarray(fd.f_prime(np.exp(lr_p)))
    uq = np.exp(lr_q)
    b = np.asarray(fd.f(uq)) - uq * np.asarray(fd.f_prime(uq))
    if name not in ("squared_hellinger", "js"):
        assert abs(_se(a, b, M, N) / spread - 1.0) > 0.15, name
