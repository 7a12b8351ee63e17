"""GAN losses and scoring rules at the optimal critic equal their divergences.

P and Q are 1-D Gaussians; expectations are computed exactly (to ~1e-10) by composite
Gauss-Legendre quadrature whose nodes and weights are passed to the losses as weighted
"batches".  The pieces are split at the points where p = q, so that critics that jump
there (TV, hinge, EBGAN) are integrated exactly.  The expected values come from divest's
exact layer (1-D adaptive quadrature of the divergence, a different code path) or from
closed forms written in the test.
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

torch = pytest.importorskip("torch")

import divest as dv  # noqa: E402
from divest.distributions import Mixture  # noqa: E402
from divest.torch import gan_losses, get_gan_loss, get_scoring_rule, scoring_rules  # noqa: E402
from divest.torch import register_gan_loss  # noqa: E402
from divest.torch import _losses  # noqa: E402

from _common import F_NAMES, LOG2, LOG4  # noqa: E402

F64 = torch.float64
NARROW, WIDE = stats.norm(0.0, 1.0), stats.norm(0.5, 1.3)



def _crossings(P, Q):
    """Points where two normal densities are equal (roots of a quadratic in x)."""
    (m1, s1), (m2, s2) = (P.mean(), P.std()), (Q.mean(), Q.std())
    a = 1 / (2 * s2 ** 2) - 1 / (2 * s1 ** 2)
    b = m1 / s1 ** 2 - m2 / s2 ** 2
    c = m2 ** 2 / (2 * s2 ** 2) - m1 ** 2 / (2 * s1 ** 2) + math.log(s2 / s1)
    roots = [-c / b] if abs(a) < 1e-15 else np.roots([a, b, c]).real.tolist()
    return sorted(r for r in roots if -20 < r < 20)


def _nodes(P, Q, lim=20.0, pieces=30, order=20):
    """Gauss-Legendre nodes on [-lim, lim] split at the crossings; weights p dx and q dx."""
    brk = [-lim] + _crossings(P, Q) + [lim]
    t, w = np.polynomial.legendre.leggauss(order)
    xs, ws = [], []
    for a, b in zip(brk[:-1], brk[1:]):
        edges = np.linspace(a, b, pieces + 1)
        for lo, hi in zip(edges[:-1], edges[1:]):
            xs.append(0.5 * (hi - lo) * t + 0.5 * (hi + lo))
            ws.append(0.5 * (hi - lo) * w)
    x, w = np.concatenate(xs), np.concatenate(ws)
    return x, w * P.pdf(x), w * Q.pdf(x)


def _loss_at(loss, which, out_p, out_q, wp, wq):
    fn = loss.critic_loss if which == "critic" else loss.generator_loss
    return float(fn(torch.tensor(out_p, dtype=F64), torch.tensor(out_q, dtype=F64),
                    torch.tensor(wp), torch.tensor(wq)))


def _exact(P, Q, label):
    return dv.exact.quadrature(P, Q, label).value


def _at_optimum(name, P, Q, which="critic"):
    loss = get_gan_loss(name)
    x, wp, wq = _nodes(P, Q)
    v = loss.optimal_output(P.pdf(x), Q.pdf(x))
    return _loss_at(loss, which, v, v, wp, wq), loss


# -------------------------------------------------------------------------------------
# classic losses with a pointwise optimal critic


def test_minimax_at_the_optimal_critic():
    """Critic loss log 4 - 2 JS; the saturating generator loss E_Q log(1 - D*) = KL(Q||M) - log 2."""
    P, Q = NARROW, WIDE
    M = Mixture([P, Q])
    crit, loss = _at_optimum("minimax", P, Q)
    assert crit == pytest.approx(LOG4 - 2 * _exact(P, Q, "js"), abs=1e-9)
    gen, _ = _at_optimum("minimax", P, Q, "generator")
    assert gen == pytest.approx(_exact(Q, M, "kl") - LOG2, abs=1e-9)
    # -(critic loss) = E_P log D* + E_Q log(1 - D*) = the value of the game = 2 JS - log 4
    assert -crit == pytest.approx(_exact(P, Q, "gan"), abs=1e-9)


def test_nonsaturating_generator_loss_at_the_optimal_critic():
    """-E_Q log D* = KL(Q||P) - KL(Q||M) + log 2 (Arjovsky & Bottou 2017)."""
    P, Q = NARROW, WIDE
    M = Mixture([P, Q])
    gen, _ = _at_optimum("nonsaturating", P, Q, "generator")
    assert gen == pytest.approx(_exact(P, Q, "reverse_kl") - _exact(Q, M, "kl") + LOG2, abs=1e-9)
    # the minimax generator loss is a different function: the two are not swapped
    sat, _ = _at_optimum("minimax", P, Q, "generator")
    assert abs(gen - sat) > 0.1


def test_hinge_and_ebgan_at_the_optimal_critic_measure_tv():
    P, Q = NARROW, WIDE
    tv = _exact(P, Q, "tv")
    assert _at_optimum("hinge", P, Q)[0] == pytest.approx(2 - 2 * tv, abs=1e-9)
    ebgan, loss = _at_optimum("ebgan", P, Q)
    assert ebgan == pytest.approx(loss.extra["margin"] * (1 - tv), abs=1e-9)


def test_least_squares_at_the_optimal_critic():
    """Mao et al. (a, b, c) = (-1, 1, 0): critic 1 - chi2(P||M), generator objective chi2(P||M)."""
    P, Q = NARROW, WIDE
    chi2 = _exact(P, Mixture([P, Q]), "pearson")
    # independent: chi2(P||M) = 1/2 int (p - q)^2 / (p + q)
    direct = 0.5 * integrate.quad(lambda t: (P.pdf(t) - Q.pdf(t)) ** 2 / (P.pdf(t) + Q.pdf(t)),
                                  -30, 30, limit=200)[0]
    assert chi2 == pytest.approx(direct, rel=1e-8)
    crit, loss = _at_optimum("least_squares", P, Q)
    assert crit == pytest.approx(1 - chi2, abs=1e-9)
    x, wp, wq = _nodes(P, Q)
    v = loss.optimal_output(P.pdf(x), Q.pdf(x))
    data_term = 0.5 * float(np.sum(wp * v ** 2) / np.sum(wp))
    gen = _loss_at(loss, "generator", v, v, wp, wq)
    assert data_term + gen == pytest.approx(chi2, abs=1e-9)


@pytest.mark.parametrize("label", F_NAMES)
def test_fgan_at_the_optimal_critic(label):
    """Critic loss -D_f(P||Q) at v* = g_f^{-1}(f'(p/q)), for every registered f-divergence."""
    fd = dv.get_fdivergence(label)
    # Q wider than P keeps p/q bounded (finite chi2 etc.); Neyman needs the opposite
    P, Q = (WIDE, NARROW) if label == "neyman" else (NARROW, WIDE)
    loss = get_gan_loss(f"fgan:{label}")
    assert loss.name == f"fgan:{fd.label}"
    out = loss.extra["output"]
    x, wp, wq = _nodes(P, Q)
    target = torch.tensor(fd.f_prime(P.pdf(x) / Q.pdf(x)), dtype=F64)
    # invert the increasing g_f by bisection on v = sinh(s): T* = f'(p/q) reaches e^160 in
    # the tails, and its preimage must be resolved to full relative precision
    lo, hi = torch.full_like(target, -700.0), torch.full_like(target, 700.0)
    for _ in range(90):
        mid = 0.5 * (lo + hi)
        below = out(torch.sinh(mid))[0] < target
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    v = torch.sinh(0.5 * (lo + hi)).numpy()
    value = -_loss_at(loss, "critic", v, v, wp, wq)
    assert value == pytest.approx(_exact(P, Q, label), rel=1e-7, abs=1e-9)
    # the generator loss is -E_Q f*(T): critic loss = -(E_P T) - generator loss
    t_mean = float(np.sum(wp * out(torch.tensor(v))[0].numpy()) / np.sum(wp))
    gen = _loss_at(loss, "generator", v, v, wp, wq)
    assert -_loss_at(loss, "critic", v, v, wp, wq) == pytest.approx(t_mean + gen, abs=1e-10)


@pytest.mark.parametrize("name", ["wgan_clip", "wgan_gp", "wgan_lp", "wgan_sn"])
def test_wgan_at_the_kantorovich_potential(name):
    """With f' = sign(F_Q - F_P), E_P f - E_Q f = int |F_P - F_Q| = W1; critic loss -W1."""
    P, Q = NARROW, WIDE
    x = np.linspace(-20, 20, 400_001)
    slope = np.sign(Q.cdf(x) - P.cdf(x))
    f = integrate.cumulative_trapezoid(slope, x, initial=0.0)
    dx = x[1] - x[0]
    wp, wq = P.pdf(x) * dx, Q.pdf(x) * dx
    crit = _loss_at(get_gan_loss(name), "critic", f, f, wp, wq)
    w1 = integrate.quad(lambda u: abs(P.ppf(u) - Q.ppf(u)), 0, 1, limit=200)[0]
    assert crit == pytest.approx(-w1, abs=1e-6)


# -------------------------------------------------------------------------------------
# relativistic losses and MMD


def test_relativistic_two_atoms_closed_form():
    """RSGAN on two atoms: D_RS = a log(2a/(a+b)) + b log(2b/(a+b)), a = p1 q2, b = p2 q1."""
    loss = get_gan_loss("relativistic")
    p, q = np.array([0.7, 0.3]), np.array([0.2, 0.8])
    a, b = p[0] * q[1], p[1] * q[0]

    def crit(c):
        v = torch.tensor([c, 0.0], dtype=F64)
        return float(loss.critic_loss(v, v, torch.tensor(p), torch.tensor(q)))

    best = optimize.minimize_scalar(crit, bounds=(-20, 20), method="bounded",
                                    options={"xatol": 1e-10})
    d_rs = a * math.log(2 * a / (a + b)) + b * math.log(2 * b / (a + b))
    assert LOG2 - best.fun == pytest.approx(d_rs, abs=1e-8)
    assert best.x == pytest.approx(math.log(a / b), abs=1e-4)  # sigmoid(c*) = a / (a + b)
    # at P = Q the best critic is constant and the divergence is 0
    p2 = torch.tensor([0.4, 0.6])
    v = torch.tensor([1.3, -0.2], dtype=F64)
    assert float(loss.critic_loss(v, v, p2, p2)) >= LOG2 - 1e-12


def test_relativistic_average_matches_the_paper_formula():
    """RaSGAN critic/generator losses against a direct numpy transcription, and D_Ra >= 0."""
    loss = get_gan_loss("relativistic_average")
    rng = np.random.default_rng(0)
    r, f = rng.normal(size=5), rng.normal(size=7)
    wr, wf = rng.uniform(0.1, 1, 5), rng.uniform(0.1, 1, 7)
    wr, wf = wr / wr.sum(), wf / wf.sum()
    mr, mf = wr @ r, wf @ f

    def sp(t):
        return np.logaddexp(0, t)
    crit = wr @ sp(-(r - mf)) + wf @ sp(f - mr)   # -E log sig(C_r - E C_f) - E log(1 - sig(C_f - E C_r))
    gen = wf @ sp(-(f - mr)) + wr @ sp(r - mf)
    args = [torch.tensor(t) for t in (r, f, wr, wf)]
    assert float(loss.critic_loss(*args)) == pytest.approx(crit, rel=1e-12)
    assert float(loss.generator_loss(*args)) == pytest.approx(gen, rel=1e-12)
    # on two atoms the minimum critic loss is 2 log 2 at P = Q and below it otherwise
    p, q = torch.tensor([0.7, 0.3], dtype=F64), torch.tensor([0.2, 0.8], dtype=F64)

    def best(pp, qq):
        def fn(c):
            v = torch.tensor([c, 0.0], dtype=F64)
            return float(loss.critic_loss(v, v, pp, qq))
        return optimize.minimize_scalar(fn, bounds=(-30, 30), method="bounded").fun
    assert best(p, p) == pytest.approx(2 * LOG2, abs=1e-9)
    assert best(p, q) < 2 * LOG2 - 0.05


def test_mmd_loss_with_identity_features_is_mmd2():
    """Critic loss -MMD^2 and generator loss MMD^2 (sum of Gaussian kernels), exact for Gaussians."""
    P, Q = NARROW, WIDE
    loss = get_gan_loss("mmd")
    x, wp, wq = _nodes(P, Q, lim=14.0, pieces=8)
    xt = torch.tensor(x)[:, None]
    crit = float(loss.critic_loss(xt, xt, torch.tensor(wp), torch.tensor(wq)))

    def ek(a, s, b, t, h):
        v = h * h + s * s + t * t
        return h / math.sqrt(v) * math.exp(-(a - b) ** 2 / (2 * v))
    (m1, s1), (m2, s2) = (0.0, 1.0), (0.5, 1.3)
    exact = sum(ek(m1, s1, m1, s1, h) + ek(m2, s2, m2, s2, h) - 2 * ek(m1, s1, m2, s2, h)
                for h in (0.5, 1.0, 2.0, 4.0, 8.0))
    assert -crit == pytest.approx(exact, rel=1e-7)
    gen = float(loss.generator_loss(xt, xt, torch.tensor(wp), torch.tensor(wq)))
    assert gen == pytest.approx(exact, rel=1e-7)


# -------------------------------------------------------------------------------------
# scoring rules


def _spherical_divergence(P, Q):
    return integrate.quad(lambda t: math.hypot(P.pdf(t), Q.pdf(t)), -30, 30,
                          limit=200)[0] - math.sqrt(2)


@pytest.mark.parametrize("rule_name", ["log", "brier", "exponential", "misclassification",
                                       "hinge", "spherical"])
def test_scoring_rule_risk_at_the_optimal_discriminator(rule_name):
    """R(D*) = 2 L(1/2) - D_f with the divergence each rule names, and f from L."""
    P, Q = NARROW, WIDE
    rule = get_scoring_rule(rule_name)
    chi2_m = _exact(P, Mixture([P, Q]), "pearson")
    expected_df = {
        "log": 2 * _exact(P, Q, "js"), "brier": chi2_m / 2,
        "exponential": _exact(P, Q, "squared_hellinger"), "misclassification": _exact(P, Q, "tv"),
        "hinge": 2 * chi2_m, "spherical": _spherical_divergence(P, Q)}[rule_name]
    x, wp, wq = _nodes(P, Q)
    v = torch.tensor(np.log(P.pdf(x)) - np.log(Q.pdf(x)))  # logit of D* = p/(p+q)
    risk = float(rule.risk(v, v, torch.tensor(wp), torch.tensor(wq)))
    assert 2 * rule.half_risk - risk == pytest.approx(expected_df, abs=1e-8)
    # the generator f(u) = (1+u)(L(1/2) - L(u/(1+u))) integrates to the same divergence
    u = P.pdf(x) / Q.pdf(x)
    assert float(np.sum(wq * rule.generator(u))) == pytest.approx(expected_df, abs=1e-8)
    assert rule.generator(1.0) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("rule_name", ["log", "brier", "exponential", "spherical"])
def test_proper_scoring_rules_are_minimised_at_p_over_p_plus_q(rule_name):
    """Pointwise, eta l1(D) + (1 - eta) l0(D) is smallest at D = eta (the rule is proper)."""
    rule = get_scoring_rule(rule_name)
    assert rule.proper
    for eta in (0.1, 0.35, 0.5, 0.8):
        grid = torch.linspace(-6, 6, 2401, dtype=F64)
        risk = eta * rule.loss_real(grid) + (1 - eta) * rule.loss_fake(grid)
        best = float(torch.sigmoid(grid[torch.argmin(risk)]))
        assert best == pytest.approx(eta, abs=5e-3)
        assert float(risk.min()) == pytest.approx(float(rule.conditional_risk(eta)), abs=1e-6)


def test_hinge_is_not_proper_and_bounds_two_tv():
    rule = get_scoring_rule("hinge")
    assert not rule.proper
    P, Q = NARROW, WIDE
    x, wp, wq = _nodes(P, Q)
    v = torch.tensor(np.where(P.pdf(x) > Q.pdf(x), 40.0, -40.0))  # the Bayes classifier
    risk = float(rule.risk(v, v, torch.tensor(wp), torch.tensor(wq)))
    assert 2 - risk == pytest.approx(2 * _exact(P, Q, "tv"), abs=1e-8)


def test_scoring_gan_losses_use_the_rules():
    assert "score:brier" in gan_losses() and "score:misclassification" not in gan_losses()
    assert scoring_rules() == ("log", "brier", "exponential", "misclassification", "hinge",
                               "spherical")
    crit, _ = _at_optimum("score:exponential", NARROW, WIDE)
    assert 2.0 - crit == pytest.approx(_exact(NARROW, WIDE, "squared_hellinger"), abs=1e-8)


# -------------------------------------------------------------------------------------
# registry


def test_registry_lists_every_family_and_refuses_duplicates():
    names = gan_losses()
    for required in ("minimax", "nonsaturating", "wgan_clip", "wgan_gp", "wgan_sn", "hinge",
                     "least_squares", "relativistic", "relativistic_average", "mmd", "ebgan"):
        assert required in names
    for base in dv.fdivergences():
        assert any(n.startswith(f"fgan:{base}") for n in names)
    assert len(set(names)) == len(names)
    with pytest.raises(ValueError, match="already registered"):
        register_gan_loss(get_gan_loss("hinge"))
    import dataclasses
    with pytest.raises(ValueError, match="already registered"):
        register_gan_loss(dataclasses.replace(get_gan_loss("hinge"), name="fgan:mine"))
    with pytest.raises(ValueError, match="unknown GAN loss 'nope'"):
        get_gan_loss("nope")
    with pytest.raises(ValueError, match="fgan:renyi"):
        get_gan_loss("fgan:renyi(alpha=2)")
    with pytest.raises(TypeError, match="GANLoss"):
        register_gan_loss("hinge")
    with pytest.raises(ValueError, match="built in"):
        _losses._unregister("hinge")


def test_paper_defaults():
    wc, gp = get_gan_loss("wgan_clip"), get_gan_loss("wgan_gp")
    assert (wc.optimizer, wc.lr, wc.clip, wc.n_critic) == ("rmsprop", 5e-5, 0.01, 5)
    assert (gp.optimizer, gp.lr, gp.betas, gp.penalty, gp.n_critic) == ("adam", 1e-4, (0.0, 0.9),
                                                                         10.0, 5)
    assert get_gan_loss("fgan:kl").schedule == "single_step"
    assert get_gan_loss("wgan_sn").lipschitz == "spectral"


@pytest.mark.parametrize("name", gan_losses())
def test_zero_sum_flag_says_whether_the_generator_loss_is_minus_the_critic_loss(name):
    """``zero_sum`` is what unrolled GANs read to minimise the saddle objective: the sum of
    the generator and critic losses does not depend on the generated batch exactly for the
    losses that carry it (its gradient in the critic's outputs on fakes is 0)."""
    loss = get_gan_loss(name)
    gen = torch.Generator().manual_seed(0)
    shape = (16, 3) if loss.features else (16,)
    r = torch.randn(shape, generator=gen, dtype=F64)
    f = torch.randn(shape, generator=gen, dtype=F64).requires_grad_(True)
    total = loss.generator_loss(r, f) + loss.critic_loss(r, f)
    (g,) = torch.autograd.grad(total, f)
    assert (float(g.abs().max()) < 1e-12) == loss.zero_sum, float(g.abs().max())
