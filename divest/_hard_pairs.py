"""Hard reference pairs: heavy tails, high dimension, ties and a far-away mixture component.

The catalogue behind :func:`divest.reference.hard_pairs` (issue 16).  This module holds the
two distribution classes the pairs need (:class:`Rounded`, :class:`LogNormal`, exported by
:mod:`divest.reference`) and the exact computations for the pairs that divest's closed forms
and 1-D quadrature do not cover:

* centred isotropic Student t / normal pairs: every f-divergence (and Rényi) equals the one
  between the laws of :math:`T = |X|^2` (the density ratio is a function of T), which are
  1-D and known -- :math:`T/d \\sim F(d, \\nu)` under :math:`t_\\nu(0, I_d)`,
  :math:`T \\sim \\chi^2_d` under :math:`N(0, I_d)` -- so :func:`divest.exact.quadrature`
  of the two laws of T is exact (``_radial_exact``);
* multivariate log-normals: f-divergences are invariant under the bijection ``exp``, so the
  values are the Gaussian closed forms of ``log X`` (``_lognormal_exact``);
* rounded data: the divergence of the two discrete laws, summed over the grid
  (``_rounded_exact``);
* the 2-D mixture with a far-away component: tensor Gauss-Legendre quadrature with an error
  estimate from a coarser rule, total variation in closed form through the noncentral
  chi-square law (``_FarMixtureExact``).

Nothing here imports :mod:`divest.reference`; it builds the pairs from
:func:`hard_pair_specs`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats
from scipy.stats._distn_infrastructure import rv_frozen
from scipy.stats._multivariate import multivariate_normal_frozen, multivariate_t_frozen

from . import _names
from ._discrete import discrete_divergence
from ._result import Estimate
from ._validation import check_real, check_rng
from .distributions import Mixture
from .exact import _best_exact, quadrature
from .exact._common import finish

__all__ = ["LogNormal", "Rounded"]


# ---------------------------------------------------------------------------------------
# distributions

class Rounded:
    r"""A continuous distribution with independent coordinates, rounded to a grid.

    :math:`X_i = h\,\mathrm{round}(Y_i / h)` with independent :math:`Y_i \sim`
    ``marginals[i]``: the law of data recorded at resolution ``h`` (ties).  The grid
    point :math:`kh` carries the mass of the cell :math:`[(k - \tfrac12)h, (k + \tfrac12)h)`,
    computed from log-CDFs (or log-survival functions on the right of the median) so
    that tail cells keep their relative accuracy; the probability mass function is the
    product over coordinates.

    Parameters
    ----------
    marginals : frozen 1-D scipy.stats distribution, or a sequence of them
        The continuous law of each coordinate (one distribution: ``dim = 1``).
    h : float
        Grid resolution, positive.

    Attributes
    ----------
    marginals : tuple
        The continuous marginals.
    h : float
        The resolution.
    dim : int
        Number of coordinates.

    Notes
    -----
    ``logpmf`` is a log-mass with respect to counting measure on the grid, not a
    density: divest's exact layer recognises discrete laws by scipy's discrete classes,
    so in 1-D pass :meth:`to_rv_discrete` to :func:`divest.divergence` and
    :mod:`divest.exact` (a 1-D ``Rounded`` has no ``ppf``, so 1-D quadrature refuses
    it).  In higher dimension :func:`divest.exact.monte_carlo` is correct for two
    ``Rounded`` laws on the same grid (the ratio of masses is the density ratio with
    respect to counting measure).  ``divest.reference`` computes the exact
    divergences of two rounded laws by summing over the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from divest.reference import Rounded
    >>> R = Rounded([stats.norm(0.5, 1), stats.norm(0.5, 1)], 0.1)
    >>> X = R.rvs(size=4, random_state=0)
    >>> X.shape, bool(np.allclose(X * 10, np.round(X * 10)))
    ((4, 2), True)
    >>> m = float(R.pmf([0.5, 0.5]))       # P(|Y_i - 0.5| < 0.05)^2
    >>> bool(abs(m - (stats.norm.cdf(0.05) - stats.norm.cdf(-0.05)) ** 2) < 1e-15)
    True
    >>> float(R.pmf([0.55, 0.5]))          # off the grid
    0.0
    """

    def __init__(self, marginals, h):
        if isinstance(marginals, rv_frozen) or not np.iterable(marginals):
            marginals = [marginals]
        marginals = tuple(marginals)
        if not marginals:
            raise ValueError("marginals must not be empty")
        for i, m in enumerate(marginals):
            if not (isinstance(m, rv_frozen) and all(hasattr(m, a) for a in
                                                     ("logcdf", "logsf", "rvs", "ppf"))):
                raise TypeError(f"marginals[{i}] must be a frozen 1-D scipy.stats "
                                f"distribution; got {type(m).__name__}")
        self.marginals = marginals
        self.h = check_real(h, "h", low=0.0, low_open=True)
        self.dim = len(marginals)

    def __repr__(self) -> str:
        return f"Rounded({self.dim} coordinates, h={self.h:g})"

    def _log_cell(self, i, k):
        """Log-mass of the cells k (integer-valued floats) of coordinate i."""
        dist, h = self.marginals[i], self.h
        a, b = (k - 0.5) * h, (k + 0.5) * h
        right = a >= float(dist.median())
        with np.errstate(all="ignore"):
            lsa, lsb = dist.logsf(a), dist.logsf(b)
            lca, lcb = dist.logcdf(a), dist.logcdf(b)
            out = np.where(right, lsa + np.log1p(-np.exp(lsb - lsa)),
                           lcb + np.log1p(-np.exp(lca - lcb)))
        zero = np.where(right, np.isneginf(lsa), np.isneginf(lcb))
        return np.where(zero, -np.inf, out)

    def logpmf(self, x):
        """Log of the probability mass at the grid points ``x`` (``-inf`` off the grid)."""
        x, single = _points(x, self.dim)
        k = np.round(x / self.h)
        on_grid = np.all(np.abs(x / self.h - k) <= 1e-6, axis=1)
        out = np.zeros(x.shape[0])
        for i in range(self.dim):
            out = out + self._log_cell(i, k[:, i])
        out = np.where(on_grid, out, -np.inf)
        return float(out[0]) if single else out

    def pmf(self, x):
        """Probability mass at the grid points ``x``."""
        return np.exp(self.logpmf(x))

    def rvs(self, size=1, random_state=None):
        """Draws, shape ``(size,)`` in 1-D and ``(size, dim)`` otherwise."""
        rng = check_rng(random_state)
        n = int(np.prod(size))
        y = np.column_stack([np.asarray(m.rvs(size=n, random_state=rng), dtype=float)
                             for m in self.marginals])
        x = np.round(y / self.h) * self.h
        return x[:, 0] if self.dim == 1 else x

    def grid(self, tail=1e-16):
        """Grid points of each coordinate carrying all but ``tail`` of its mass on each side.

        Returns a list of ``dim`` arrays ``k h`` (k integers, increasing).
        """
        out = []
        for dist in self.marginals:
            out.append(_cell_points(dist.ppf(tail), dist.isf(tail), self.h))
        return out

    def to_rv_discrete(self, points=None):
        """The 1-D law as ``scipy.stats.rv_discrete(values=(points, masses))``.

        ``points`` defaults to :meth:`grid` (a mass below 1e-16 left out on each side);
        pass a common grid to put two laws on the same points (masses renormalised to
        one over ``points``).

        Examples
        --------
        >>> from scipy import stats
        >>> from divest.reference import Rounded
        >>> D = Rounded(stats.norm(), 0.5).to_rv_discrete()    # cells [-0.25, 0.25), ...
        >>> round(float(D.pmf(0.0)), 6), round(float(D.pmf(0.5)), 6)
        (0.197413, 0.174666)
        """
        if self.dim != 1:
            raise ValueError(f"to_rv_discrete is for 1-D laws; this one has dim={self.dim}")
        pts = self.grid()[0] if points is None else np.asarray(points, dtype=float)
        mass = np.exp(self._log_cell(0, np.round(pts / self.h)))
        return stats.rv_discrete(values=(pts, mass / mass.sum()))


def _points(x, d):
    """Points as an (n, d) float array, and whether a single point was given (a scalar
    in 1-D, a vector of length d otherwise)."""
    x = np.asarray(x, dtype=float)
    single = x.ndim == 0 if d == 1 else x.ndim == 1
    if d > 1 and x.shape[-1] != d:
        raise ValueError(f"x must have shape (n, {d}) or ({d},); got shape {x.shape}")
    return x.reshape(-1, d), single


def _cell_points(lo, hi, h):
    """Grid points k h whose cells cover [lo, hi] (so the mass outside is at most that of
    the two tails beyond lo and hi)."""
    k_lo = math.floor(lo / h + 0.5)
    k_hi = math.ceil(hi / h - 0.5)
    return np.arange(k_lo, k_hi + 1, dtype=float) * h


class LogNormal:
    r"""Multivariate log-normal: :math:`X = \exp(Z)` coordinatewise, :math:`Z \sim N(\mu, \Sigma)`.

    Its density is :math:`\phi_{\mu,\Sigma}(\log x) / \prod_i x_i` on :math:`(0, \infty)^d`.
    Every f-divergence (and Rényi divergence) between two log-normals equals the one
    between the underlying normals, since ``exp`` is a bijection.

    Parameters
    ----------
    mean : array_like, shape (d,)
    cov : array_like, shape (d, d)
        Mean and covariance of :math:`\log X`.

    Attributes
    ----------
    normal : scipy.stats.multivariate_normal
        The law of :math:`\log X`.
    dim : int

    Examples
    --------
    >>> import numpy as np
    >>> from divest.reference import LogNormal
    >>> L = LogNormal(np.zeros(2), np.eye(2))
    >>> X = L.rvs(size=5, random_state=0)
    >>> X.shape, bool((X > 0).all())
    ((5, 2), True)
    >>> round(float(L.logpdf([1.0, 1.0])), 6)     # = log phi_2(0) = -log(2 pi)
    -1.837877
    """

    def __init__(self, mean, cov):
        self.normal = stats.multivariate_normal(np.asarray(mean, float), np.asarray(cov, float))
        self.dim = int(np.size(self.normal.mean))

    def __repr__(self) -> str:
        return f"LogNormal(dim={self.dim})"

    def logpdf(self, x):
        """Log-density (``-inf`` outside the positive orthant)."""
        x, single = _points(x, self.dim)
        pos = np.all(x > 0, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.log(np.where(pos[:, None], x, 1.0))
        out = np.atleast_1d(self.normal.logpdf(lx)) - lx.sum(axis=1)
        out = np.where(pos, out, -np.inf)
        return float(out[0]) if single else out

    def pdf(self, x):
        """Density."""
        return np.exp(self.logpdf(x))

    def rvs(self, size=1, random_state=None):
        """Draws, shape ``(size, dim)`` (``(size,)`` in 1-D)."""
        z = np.asarray(self.normal.rvs(size=size, random_state=random_state), dtype=float)
        return np.exp(z.reshape(-1, self.dim) if self.dim > 1 else z.reshape(-1))


# ---------------------------------------------------------------------------------------
# exact values

def _with_details(est, method, label, note):
    details = dict(est.details)
    details["reduction"] = note
    return Estimate.from_value(est.value, standard_error=est.standard_error, method=method,
                               name=label, details=details)


def _radial_law(dist):
    """Law of T = |X|^2 for a centred Student t or normal with identity scale matrix."""
    if isinstance(dist, rv_frozen) and dist.dist.name in ("t", "norm"):
        shapes, loc, scale = dist.dist._parse_args(*dist.args, **dist.kwds)
        if loc != 0 or scale != 1:
            raise ValueError("the radial reduction needs loc 0 and scale 1")
        return stats.f(1, shapes[0]) if dist.dist.name == "t" else stats.chi2(1)
    if isinstance(dist, multivariate_t_frozen):
        d = dist.dim
        if not (np.all(dist.loc == 0) and np.array_equal(dist.shape, np.eye(d))):
            raise ValueError("the radial reduction needs loc 0 and shape I")
        return stats.f(d, dist.df, scale=d)
    if isinstance(dist, multivariate_normal_frozen):
        d = int(np.size(dist.mean))
        if not (np.all(dist.mean == 0) and np.array_equal(dist.cov, np.eye(d))):
            raise ValueError("the radial reduction needs mean 0 and covariance I")
        return stats.chi2(d)
    raise TypeError(f"no radial law for {type(dist).__name__}")


def _radial_exact(P, Q):
    r"""Exact density-based divergences of a centred isotropic t / normal pair.

    :math:`p(x)/q(x) = g(|x|^2)`, so :math:`D_f(P\|Q) = \mathbb E_Q f(g(T)) = D_f(P_T\|Q_T)`
    with :math:`P_T, Q_T` the laws of :math:`T = |X|^2` (their density ratio is g): a 1-D
    integral, done by :func:`divest.exact.quadrature` (adaptive Gauss-Kronrod with its
    error estimate and the divergence test of its tail shells: ``inf`` where the integral
    diverges, as Pearson does for t against a normal).
    """
    TP, TQ = _radial_law(P), _radial_law(Q)
    note = "radial: the divergence between the laws of |X|^2 (F and chi-square)"

    def exact(label):
        if not _names.resolve(label).density_based:
            return None
        return _with_details(quadrature(TP, TQ, label), "quadrature", label, note)
    return exact


def _lognormal_exact(P, Q):
    """Density-based divergences of two :class:`LogNormal` laws: those of their normals."""
    note = "invariance: the value for the normal laws of log X (exp is a bijection)"

    def exact(label):
        if not _names.resolve(label).density_based:
            return None
        est = _best_exact(P.normal, Q.normal, label)
        return None if est is None else _with_details(est, est.method, label, note)
    return exact


def _rounded_log_masses(P, Q, tail):
    """Joint log-masses of two :class:`Rounded` laws on a common tensor grid (flattened)."""
    if P.dim != Q.dim or P.h != Q.h:
        raise ValueError("the two rounded laws need the same dimension and resolution")
    lps, lqs = [], []
    for i in range(P.dim):
        lo = min(P.marginals[i].ppf(tail), Q.marginals[i].ppf(tail))
        hi = max(P.marginals[i].isf(tail), Q.marginals[i].isf(tail))
        k = np.round(_cell_points(lo, hi, P.h) / P.h)
        lps.append(P._log_cell(i, k))
        lqs.append(Q._log_cell(i, k))
    lp, lq = lps[0], lqs[0]
    for a, b in zip(lps[1:], lqs[1:]):
        lp = (lp[..., None] + a).reshape(-1)
        lq = (lq[..., None] + b).reshape(-1)
    return lp, lq


def _rounded_exact(P, Q):
    r"""Exact divergences of two :class:`Rounded` laws by summing over the grid.

    The grid covers, in every coordinate, all but 1e-16 of each marginal's mass on each
    side (the pmfs are renormalised over it); the same sum with 1e-12 left out gives the
    error estimate (the change from dropping 1e4 times more mass).  Coordinates are
    independent, so the masses are products of 1-D cell masses.
    """
    cache = {}

    def pmfs(tail):
        if tail not in cache:
            lp, lq = _rounded_log_masses(P, Q, tail)
            cache[tail] = (np.exp(lp - special.logsumexp(lp)), np.exp(lq - special.logsumexp(lq)))
        return cache[tail]

    def exact(label):
        if not _names.resolve(label).density_based:
            return None
        fine = float(discrete_divergence(*pmfs(1e-16), label, normalize=True))
        coarse = float(discrete_divergence(*pmfs(1e-12), label, normalize=True))
        return Estimate.from_value(fine, standard_error=abs(fine - coarse), method="sum",
                                   name=label, details={
                                       "n_points": int(pmfs(1e-16)[0].size),
                                       "truncation": "each coordinate's grid leaves out less "
                                       "than 1e-16 of every marginal's mass on each side"})
    return exact


class _FarMixtureExact:
    r"""Exact divergences of :math:`P = (1-w) N(0, I_2) + w N(m, s^2 I_2)` against
    :math:`Q = N(0, I_2)`, :math:`s < 1`.

    Density-based divergences by tensor-product composite Gauss-Legendre quadrature over
    the box reaching 12 standard deviations beyond both components (Gaussian mass outside
    below 1e-30); unit panels with 20 nodes each, and the same with 10 nodes for the
    error estimate.  The integrands are analytic except that of total variation (a kink
    on p = q), which is in closed form instead: :math:`\{p > q\}` is the disc where the
    small component's density exceeds Q's, so :math:`TV = w\,(N_s(A) - Q(A))` with both
    masses noncentral chi-square probabilities.
    """

    def __init__(self, w, m, s):
        self.w, self.m, self.s = float(w), np.asarray(m, float), float(s)
        self._cache = {}

    def _log_densities(self, nodes):
        x, wx = _gauss_legendre(min(-12.0, float(self.m.min()) - 12 * self.s),
                                max(12.0, float(self.m.max()) + 12 * self.s), nodes)
        lq1 = stats.norm.logpdf(x)
        lq = lq1[:, None] + lq1[None, :]
        lc = (stats.norm.logpdf(x, self.m[0], self.s)[:, None]
              + stats.norm.logpdf(x, self.m[1], self.s)[None, :])
        lp = np.logaddexp(math.log1p(-self.w) + lq, math.log(self.w) + lc)
        return lp.ravel(), lq.ravel(), (wx[:, None] * wx[None, :]).ravel()

    def _grid_value(self, spec, nodes):
        if nodes not in self._cache:
            self._cache[nodes] = self._log_densities(nodes)
        lp, lq, wt = self._cache[nodes]
        fd = spec.fd if spec.is_f else spec.alpha_fd
        return float(np.sum(wt * fd._log_perspective0(lp, lq)))

    def tv(self):
        """Total variation in closed form (noncentral chi-square probabilities)."""
        w, m, s, d = self.w, self.m, self.s, self.m.size
        # log(N_s / Q)(x) = -a |x - c|^2 + b with a = 1/(2 s^2) - 1/2 > 0
        a = 0.5 / s**2 - 0.5
        c = m / (1.0 - s**2)
        b = a * float(c @ c) - float(m @ m) / (2 * s**2) - d * math.log(s)
        rho2 = b / a                            # A = {|x - c|^2 < rho2}
        q_a = stats.ncx2(d, float(c @ c)).cdf(rho2)
        n_a = stats.ncx2(d, float((m - c) @ (m - c)) / s**2).cdf(rho2 / s**2)
        return w * (n_a - q_a)

    def __call__(self, label):
        spec = _names.resolve(label)
        if not spec.density_based:
            return None
        if spec.base == "tv":
            return Estimate.from_value(self.tv(), method="closed_form", name=label)
        fine, err = finish(spec, self._grid_value(spec, 20), 0.0)
        coarse, _ = finish(spec, self._grid_value(spec, 10), 0.0)
        return Estimate.from_value(fine, standard_error=abs(fine - coarse), method="quadrature",
                                   name=label, details={"rule": "tensor Gauss-Legendre, unit "
                                                        "panels, 20 nodes (error: against 10)"})


def _gauss_legendre(lo, hi, nodes):
    """Composite Gauss-Legendre nodes and weights on unit panels covering [lo, hi]."""
    edges = np.arange(math.floor(lo), math.ceil(hi) + 1.0)
    t, wt = np.polynomial.legendre.leggauss(nodes)
    mid, half = 0.5 * (edges[:-1] + edges[1:]), 0.5 * np.diff(edges)
    return ((mid[:, None] + half[:, None] * t).ravel(), (half[:, None] * wt).ravel())


# ---------------------------------------------------------------------------------------
# the catalogue

def _mvt(nu, d):
    return stats.multivariate_t(np.zeros(d), np.eye(d), df=nu)


def _std_normal(d):
    return stats.norm(0, 1) if d == 1 else stats.multivariate_normal(np.zeros(d), np.eye(d))


def _student(nu, d):
    return stats.t(nu) if d == 1 else _mvt(nu, d)


def _ar1(d, rho):
    i = np.arange(d)
    return rho ** np.abs(i[:, None] - i[None, :])


def hard_pair_specs() -> list[dict]:
    """The hard pairs as dicts of ReferencePair arguments (built by divest.reference).

    Keys: name, description, P, Q, exact_method (label -> Estimate or None, or None for
    divest's own closed forms / quadrature), facts (ratio_bounded,
    log_ratio_variance_finite, chi2_variance_finite) and independent_from (the name of a
    standard pair whose independent values apply, or None).
    """
    specs = []

    def add(name, description, P, Q, facts, exact_method=None, independent_from=None):
        specs.append(dict(name=name, description=description, P=P, Q=Q, facts=facts,
                          exact_method=exact_method, independent_from=independent_from))

    # -- heavy tails: Student t against the normal and against another t --------------
    # (ratio bounded, Var_P log r finite, int p^4/q^3 finite):
    # t_nu vs N: r = p/q ~ exp(|x|^2/2) |x|^-(nu+d) is unbounded; log r ~ |x|^2/2 has a
    # finite variance under P iff E|X|^4 < inf iff nu > 4; p^4/q^3 grows like exp(3|x|^2/2)
    # times a power, so its integral is infinite (and so is Pearson chi^2).
    for nu in (3, 5, 10):
        for d in (1, 3, 10):
            P, Q = _student(nu, d), _std_normal(d)
            desc = (f"heavy tails: P = Student t({nu}), Q = N(0, 1)" if d == 1 else
                    f"heavy tails: P = t_{nu}(0, I_{d}), Q = N(0, I_{d})")
            add(f"t{nu}-normal-d{d}", desc, P, Q, (False, nu > 4, False),
                _radial_exact(P, Q), "t3-normal" if (nu, d) == (3, 1) else None)
    # t_a vs t_b: p/q ~ |x|^(b - a) in the tails.  a = 3 < b = 10: unbounded, log r ~
    # 7 log|x| has finite variance under P (t has all log-moments), int p^4/q^3 ~
    # int r^(17) dr = inf (and Pearson: int p^2/q ~ int r^(b - 2a - 1) dr = inf).
    # a = 10 > b = 3: p/q bounded (tends to 0), so everything is finite.
    for a, b, facts in ((3, 10, (False, True, False)), (10, 3, (True, True, True))):
        for d in (1, 3, 10):
            P, Q = _student(a, d), _student(b, d)
            desc = (f"heavy tails: P = Student t({a}), Q = Student t({b})" if d == 1 else
                    f"heavy tails: P = t_{a}(0, I_{d}), Q = t_{b}(0, I_{d})")
            add(f"t{a}-t{b}-d{d}", desc, P, Q, facts, _radial_exact(P, Q))

    # -- high dimension: Gaussians in d = 25, 50, 100 (closed forms) ---------------------
    for d in (25, 50, 100):
        mu = 2.0 / math.sqrt(d)
        # log r linear in x: unbounded, Gaussian under P (finite variance); int p^4/q^3
        # of a mean shift is finite
        add(f"gauss-shift-d{d}",
            f"P = N(mu 1_{d}, I_{d}), mu = 2/sqrt({d}), Q = N(0, I_{d}) (KL = 2)",
            stats.multivariate_normal(np.full(d, mu), np.eye(d)), _std_normal(d),
            (False, True, True))
        # Q wider in every direction: r <= (1.5)^(d/2), all moments finite
        add(f"gauss-scale-d{d}",
            f"P = N(0, I_{d}), Q = N(0, 1.5 I_{d}) (KL = {d / 2 * (1 / 1.5 - 1 + math.log(1.5)):.3f})",
            _std_normal(d), stats.multivariate_normal(np.zeros(d), 1.5 * np.eye(d)),
            (True, True, True))
        # AR(1) covariance, eigenvalues in ((1-rho)/(1+rho), (1+rho)/(1-rho)) = (0.54, 1.86):
        # P wider than Q along the top eigenvectors, so r is unbounded; log r is a quadratic
        # form (finite variance); int p^a q^(1-a) < inf iff a < 1/(1 - 1/lambda_max), about
        # 2.2 here: Pearson (a = 2) finite, int p^4/q^3 (a = 4) infinite
        add(f"gauss-ar1-d{d}",
            f"P = N(0, S), S_ij = 0.3^|i-j| ({d} x {d}), Q = N(0, I_{d}) "
            f"(KL = {-(d - 1) / 2 * math.log(1 - 0.09):.3f})",
            stats.multivariate_normal(np.zeros(d), _ar1(d, 0.3)), _std_normal(d),
            (False, True, False))

    # -- log-normal ------------------------------------------------------------------------
    # the image of normal-1-2 under exp: every f-divergence and tail fact is that pair's
    # (Q's normal is wider: r bounded, all moments finite)
    add("lognormal-1-2", "P = exp N(0, 1), Q = exp N(1, 2^2) (log-normals; the values of "
        "normal-1-2)", stats.lognorm(s=1.0), stats.lognorm(s=2.0, scale=math.e),
        (True, True, True), independent_from="normal-1-2")
    # Q's normal is wider (cov 2 I against I): r bounded; 4 S_P^-1 - 3 S_Q^-1 = 2.5 I > 0
    P3, Q3 = LogNormal(np.zeros(3), np.eye(3)), LogNormal(np.ones(3), 2.0 * np.eye(3))
    add("lognormal-d3", "P = exp N(0, I_3), Q = exp N(1_3, 2 I_3) (coordinatewise; KL = "
        "3/2 (1/2 - 1 + log 2 + 1/2))", P3, Q3, (True, True, True), _lognormal_exact(P3, Q3))

    # -- ties: rounded data (the truth is the divergence of the discrete laws) ----------------
    # normal-1-2 rounded to 0.5: Q's normal is wider, the ratio of cell masses tends to 0
    # in both tails (bounded), all moments finite.  rv_discrete on a common grid leaving out
    # less than 1e-16 of each law's mass per side; its values are divest's categorical sums.
    R1P, R1Q = Rounded(stats.norm(0, 1), 0.5), Rounded(stats.norm(1, 2), 0.5)
    pts = _cell_points(min(R1P.marginals[0].ppf(1e-16), R1Q.marginals[0].ppf(1e-16)),
                       max(R1P.marginals[0].isf(1e-16), R1Q.marginals[0].isf(1e-16)), 0.5)
    add("rounded-normal-1-2", "ties: normal-1-2 rounded to 0.5 (P = N(0, 1), Q = N(1, 2^2))",
        R1P.to_rv_discrete(pts), R1Q.to_rv_discrete(pts), (True, True, True))
    # 2-D shift by 0.5 per coordinate, rounded: log of the ratio of cell masses is
    # asymptotically linear in x (unbounded ratio; finite moments, as for the continuous
    # mean shift)
    for h, tag in ((0.1, "0.1"), (1.0, "1")):
        RP = Rounded([stats.norm(0.5, 1), stats.norm(0.5, 1)], h)
        RQ = Rounded([stats.norm(0, 1), stats.norm(0, 1)], h)
        add(f"rounded{tag}-shift-d2",
            f"ties: P = N((0.5, 0.5), I_2), Q = N(0, I_2), both rounded to {tag} "
            "(continuous KL = 0.25)", RP, RQ, (False, True, True), _rounded_exact(RP, RQ))

    # -- a far-away small component ---------------------------------------------------------
    # 1-D: r = 0.98 + 0.02 exp(8x - 32) is unbounded, log r ~ 8x (finite variance), and
    # int p^4/q^3 is a finite sum of Gaussian integrals; divest's 1-D quadrature gives the
    # values (Pearson: 0.02^2 e^64 - 0.0396, about 2.5e24)
    add("mixture-far-d1", "P = 0.98 N(0, 1) + 0.02 N(8, 1), Q = N(0, 1) (far, small component)",
        Mixture([stats.norm(0, 1), stats.norm(8, 1)], [0.98, 0.02]), stats.norm(0, 1),
        (False, True, True))
    # 2-D, narrower far component: r = 0.98 + 0.02 N_s/Q is bounded (s < 1: the ratio of
    # the two Gaussians tends to 0), so every moment is finite
    m2, s2 = np.array([5.0, 5.0]), 0.5
    add("mixture-far-d2", "P = 0.98 N(0, I_2) + 0.02 N((5, 5), 0.5^2 I_2), Q = N(0, I_2)",
        Mixture([_std_normal(2), stats.multivariate_normal(m2, s2**2 * np.eye(2))],
                [0.98, 0.02]), _std_normal(2), (True, True, True),
        _FarMixtureExact(0.02, m2, s2))
    return specs
