r"""The Jensen–Shannon family (js, js_weighted, gan) from nearest-neighbour entropies of
P, Q and their mixture, read at a common radius.

With :math:`M_\pi = \pi P + (1-\pi) Q` and :math:`m_\pi` its density,

.. math:: \mathrm{JS}_\pi(P\|Q) = H(M_\pi) - \pi H(P) - (1-\pi) H(Q)
          = \pi\,\mathbb{E}_P\log\frac{p}{m_\pi}(X)
          + (1-\pi)\,\mathbb{E}_Q\log\frac{q}{m_\pi}(Y),

(:math:`H(M_\pi) = -\pi\,\mathbb{E}_P\log m_\pi(X) - (1-\pi)\,\mathbb{E}_Q\log
m_\pi(Y)`), so each point of X needs an estimate of :math:`\log(p/m_\pi)` at it, and
each point of Y one of :math:`\log(q/m_\pi)`.

**The estimator.**  Let R = X_R ∪ Y_R be a sample of the mixture: the pooled sample
when :math:`\pi = n/(n+m)`, else a subsample (below).  For a point :math:`X_i` (every
point of X), let :math:`\varepsilon_i` be the distance to its k-th nearest neighbour in
:math:`X_R\setminus\{X_i\}` (:math:`n'_i` points), and :math:`c_i` the number of points
of :math:`Y_R` (:math:`m'` points) within :math:`\varepsilon_i`.  The ball of radius
:math:`\varepsilon_i` holds k points of its own sample and :math:`k + c_i` of the
mixture's: the Kozachenko–Leonenko estimates of p and of the mixture density read at
this one radius (the device of Kraskov, Stögbauer & Grassberger's mutual-information
estimator) have the same ball volume, which cancels, and

.. math:: t_i = \psi(k) - \psi(k + c_i) + \psi(n'_i + m' + 1) - \psi(n'_i + 1).

The points of Y give :math:`u_j` the same way (own ball in :math:`Y_R`, counts in
:math:`X_R`), and

.. math:: \widehat{\mathrm{JS}}_\pi = \frac{\pi}{n}\sum_{i=1}^n t_i +
          \frac{1-\pi}{m}\sum_{j=1}^m u_j,
          \qquad \widehat{\mathrm{gan}} = 2\,\widehat{\mathrm{JS}}_{1/2} - \log 4.

Only the order of the distances from each point enters (no density, volume or
dimension constant).  Where ties are resolved by ``ties="adaptive"`` (the own-sample
rank raised to the first positive distance, l), :math:`\psi(l) - \psi(l + c_i)`
replaces :math:`\psi(k) - \psi(k + c_i)`; points shared by X and Y are no ties here
(they are counted, no distance is logged).

**Why it is consistent with k fixed.**  As :math:`n \to\infty` the own ball of
:math:`X_i = x` has P-mass :math:`\approx G/n'`, :math:`G \sim \mathrm{Gamma}(k, 1)`,
and the Y-count given G is Poisson with mean :math:`\lambda G`,
:math:`\lambda = m' q(x) / (n' p(x))` (at Lebesgue points of p and q, i.e. almost
everywhere).  Then :math:`G \mid c \sim \mathrm{Gamma}(k + c, 1 + \lambda)`, so
:math:`\mathbb{E}[\log G \mid c] = \psi(k + c) - \log(1 + \lambda)` and, averaging,

.. math:: \mathbb{E}\,\psi(k + c) = \psi(k) + \log(1 + \lambda),

exactly, for every k: :math:`\psi(k) - \psi(k + c)` is an unbiased estimate of
:math:`-\log(1+\lambda) = \log\frac{n' p}{n' p + m' q}`, which is
:math:`\log(p/m_\pi) - \log\frac{n'+m'}{n'}` when :math:`n'/(n'+m') = \pi`.  The
constant :math:`\psi(n'+m'+1) - \psi(n'+1) = \log\frac{n'+m'}{n'} + O(1/n)` is the exact
finite-sample one: when P = Q the ranks are exchangeable, :math:`k + c` is negative
hypergeometric and :math:`\mathbb{E}\,\psi(k + c) = \psi(k) + \psi(n'+m'+1) -
\psi(n'+1)`, so **the estimate has mean exactly 0 when P = Q**, for every n, m, k and
d.  The terms are bounded above by the constant and :math:`\mathbb{E}\,c \le k\,m'/n'`,
so the means converge (no moment or tail condition on P, Q is needed: JS is bounded),
and the average of the weakly dependent terms concentrates, as for the
Wang–Kulkarni–Verdú and KSG estimators (Gao, Oh & Viswanath, 2018, prove KSG's
fixed-k consistency with the same Gamma–Poisson limit).  The finite-sample bias comes
from the ratio q/p varying across the own ball (not from the densities varying: the
volume cancels); it shrinks like the ball, :math:`(k/n)^{1/d}` to :math:`(k/n)^{2/d}`,
and the driver's bias trend (ranks k, 2k, 4k) widens the interval where it shows.

**The mixture's sample.**  When :math:`\pi = n/(n+m)` (``js`` with n = m,
``js_weighted(pi=n/(n+m))``), R is the pooled sample X ∪ Y and nothing is dropped.
Otherwise the pooled sample is a sample of :math:`M_{n/(n+m)}`, and no fixed-k count
turns it into one of :math:`M_\pi` (that needs :math:`\log(\pi + (1-\pi)q/p)`, with the
ratio inside the logarithm).  R then keeps every point of the sample that :math:`\pi`
under-represents and a random subset (drawn from ``rng``, once) of the other, of the
size that makes :math:`n_r/(n_r+m_r) = \pi` up to rounding; ``details
["mixture_reference"]`` reports ``n_r``, ``m_r`` and which sample was subsampled.
Every point of X and of Y is still a query point; only the balls and counts use R.  A
query point of R is left out of its own ball (:math:`n'_i = n_r - 1`), one outside R
is not (:math:`n'_i = n_r`); the constants follow.  The weight :math:`n'_i/(n'_i+m')`
differs from :math:`\pi` by :math:`O(1/(n+m))`.

**At the bounds.**  The estimate is not clamped.  Every term is at most its constant
(:math:`c_i \ge 0`), reached when no point of the other sample lies in the own ball
(separated samples): with R the pooled sample the estimate is then :math:`\psi(N) -
\pi\psi(n) - (1-\pi)\psi(m) = H(\pi) + \frac{1}{2N} + O(N^{-2})`, :math:`N = n+m`,
:math:`H(\pi) = -\pi\log\pi - (1-\pi)\log(1-\pi)` the largest value (:math:`\log 2` for
JS), and it can never exceed that.  When P = Q its mean is 0 and about half the
estimates are negative.  :class:`~divest.Estimate` clips the interval (not the value)
to :math:`[0, H(\pi)]` and says so in ``details["interval_clipped"]``.

References: L. F. Kozachenko, N. N. Leonenko (1987), Problems Inform. Transmission
23(2); A. Kraskov, H. Stögbauer, P. Grassberger (2004), Estimating mutual information,
Phys. Rev. E 69, 066138; Q. Wang, S. R. Kulkarni, S. Verdú (2009), IEEE Trans. Inf.
Theory 55(5); W. Gao, S. Oh, P. Viswanath (2018), Demystifying fixed k-nearest neighbor
information estimators, IEEE Trans. Inf. Theory 64(8); Z. Szabó (2014), Information
theoretical estimators toolbox, JMLR 15 (JS from the entropy of a subsampled mixture).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from ... import _methods
from ._driver import _TREND_FACTORS, Evaluator, _query_width
from ._neighbours import _Neighbours, _count

#: names estimated from the entropies of P, Q and their mixture (the method registry
#: holds the list)
_JS_NAMES = _methods.KNN_JS_NAMES
_LOG4 = 2.0 * math.log(2.0)


def _js_pi(spec) -> float:
    """The mixture weight of P: ``pi`` of js_weighted, 1/2 for js and gan."""
    return float(spec.params["pi"]) if spec.base == "js_weighted" else 0.5


def _reference_sizes(n, m, pi):
    """``(n_r, m_r)``: all of the sample that ``pi`` under-represents and as many of the
    other as make ``n_r / (n_r + m_r)`` nearest ``pi`` (at least 1)."""
    m_need = n * (1.0 - pi) / pi
    if m_need < m:  # Y over-represented: keep X, subsample Y
        return n, max(1, int(round(m_need)))
    return max(1, min(n, int(round(m * pi / (1.0 - pi))))), m


def _mixture_reference(n, m, pi, rng):
    """Indices ``(ix, iy, subsampled)`` of the points of X and Y that form the mixture's
    sample (:func:`_reference_sizes`; the subset drawn from ``rng`` only when needed);
    ``subsampled`` is ``"X"``, ``"Y"`` or None."""
    n_r, m_r = _reference_sizes(n, m, pi)
    ix, iy, sub = np.arange(n), np.arange(m), None
    if n_r < n:
        ix, sub = np.sort(rng.choice(n, size=n_r, replace=False)), "X"
    elif m_r < m:
        iy, sub = np.sort(rng.choice(m, size=m_r, replace=False)), "Y"
    return ix, iy, sub


def _js_terms(l, c, n_own, m_other):
    """psi(l) - psi(l + c) + psi(n' + m' + 1) - psi(n' + 1) per point."""
    return (special.digamma(l) - special.digamma(l + c)
            + special.digamma(n_own + m_other + 1) - special.digamma(n_own + 1))


class JSEvaluator(Evaluator):
    """JS-type names (js, js_weighted, gan): the fixed-k estimate of the module
    docstring from X, Y and the mixture's sample R (drawn here, from ``rng``)."""

    names = _JS_NAMES

    def __init__(self, spec, *, n, m, k, d, se, workers, trend, rng):
        super().__init__(k=k, d=d, se=se, workers=workers, trend=trend)
        self.spec = spec
        self.pi = _js_pi(spec)
        self.kq = _query_width(k, se, trend)
        self.reference = _mixture_reference(n, m, self.pi, rng)

    @property
    def reference_info(self):
        ix, iy, sub = self.reference
        return {"pi": self.pi, "n_r": len(ix), "m_r": len(iy), "subsampled": sub}

    @property
    def trend_k0(self):
        # the trend's largest rank must exist within the mixture's sample
        ix, iy, _ = self.reference
        if self.trend and self.k * _TREND_FACTORS[-1] < min(len(ix), len(iy)):
            return self.k
        return None

    def prepare(self, arrays):
        ix, iy, _ = self.reference
        self.sizes = [len(a) for a in arrays]
        self.tables = []
        for a, own_idx, other_idx in ((0, ix, iy), (1, iy, ix)):
            A, B = arrays[a], arrays[1 - a]
            own = np.full(len(A), -1, dtype=np.int64)
            own[own_idx] = np.arange(len(own_idx))
            w = self.workers
            ball = _Neighbours(cKDTree(A[own_idx]), A, self.kq, self_query=True, workers=w,
                               own=own)
            count = _Neighbours(cKDTree(B[other_idx]), A, self.kq, self_query=False,
                                workers=w)
            self.tables.append((ball, count, own >= 0))

    def evaluate(self, alive, positive, kfix=None):
        ix, iy, _ = self.reference
        k = self.k if kfix is None else kfix
        refs = (ix, iy)
        # alive points of each sample's part of R
        ref_alive = [None if al is None else al[r] for al, r in zip(alive, refs)]
        sizes_r = [_count(ra, len(r)) for ra, r in zip(ref_alive, refs)]
        means, nties = [], 0
        for a in (0, 1):
            ball, count, in_ref = self.tables[a]
            need = alive[a]
            l, eps, zero = ball.view(ref_alive[a]).kth(need, k, positive)
            rows = np.arange(self.sizes[a]) if need is None else np.flatnonzero(need)
            z = int(np.count_nonzero(zero[rows]))
            nties += z
            if z and not positive:
                continue
            if not np.all(eps[rows] > 0):  # ties="adaptive" found no positive distance
                raise ValueError("the samples have too few distinct points for a "
                                 "nearest-neighbour estimate (a positive neighbour "
                                 "distance does not exist)")
            if not np.all(np.isfinite(eps[rows])):  # too few points left in R
                return math.nan, nties, {}
            (c,) = count.view(ref_alive[1 - a]).count(need, eps)
            n_own = sizes_r[a] - in_ref[rows]
            means.append(float(np.mean(_js_terms(l[rows], c[rows], n_own, sizes_r[1 - a]))))
        if nties and not positive:
            return math.nan, nties, {}
        value = self.pi * means[0] + (1.0 - self.pi) * means[1]
        if self.spec.base == "gan":
            value = 2.0 * value - _LOG4
        return value, nties, {}

    def size_check(self, sizes):
        nb, mb = sizes
        if nb - 1 < self.k or mb - 1 < self.k:
            return f"replicate sizes n={nb}, m={mb} with k={self.k}"
        return None

    def total_terms(self, sizes):
        return sizes[0] + sizes[1]
