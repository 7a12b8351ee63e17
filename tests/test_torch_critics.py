"""divest.torch building blocks: import guard, devices, f-GAN outputs, critics, penalties.

Everything runs on the CPU in float64 where exact comparisons are made.
"""

import dataclasses
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import divest as dv  # noqa: E402
import divest.torch as dtorch  # noqa: E402
from divest.estimators import _variational as V  # noqa: E402
from divest.torch import _critics  # noqa: E402

from _common import F_NAMES  # noqa: E402

F64 = torch.float64



# -------------------------------------------------------------------------------------
# optional dependency


def test_import_divest_without_torch():
    """``import divest`` works when torch cannot be imported; ``divest.torch`` names the extra."""
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is hidden for this test")
                return None
        sys.meta_path.insert(0, Block())
        import numpy as np
        import divest as dv
        print(dv.divergence(np.zeros(3) + [0, 1, 2], np.array([0.5, 1.5, 2.5]), "kl",
                            method="knn", k=1, rng=0).method)
        assert "torch" not in sys.modules
        try:
            import divest.torch
        except ImportError as exc:
            print("ERR", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "knn" in out.stdout
    assert "ERR" in out.stdout and "divest[torch]" in out.stdout


def test_resolve_device():
    assert dtorch.resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert dtorch.resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="device='tpu'"):
        dtorch.resolve_device("tpu")
    with pytest.raises(TypeError, match="device"):
        dtorch.resolve_device(3)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            dtorch.resolve_device("cuda")


# -------------------------------------------------------------------------------------
# the f-GAN output activation in torch against the numpy registry


@pytest.mark.parametrize("label", F_NAMES)
def test_fdiv_output_matches_the_registry(label):
    """(g_f(v), f*(g_f(v))) and their derivatives agree with divest.fdiv / the numpy estimator."""
    out = dtorch.fdiv_output(label)
    assert out.how == "analytic"
    fd = dv.get_fdivergence(label)
    comp, _ = V._composite(fd)
    lo, hi = V._clip_range(comp, 1e4)
    v = np.linspace(max(lo, -12.0), min(hi, 12.0), 97)
    vt = torch.tensor(v, dtype=F64, requires_grad=True)
    a, b = out(vt)
    a_ref = fd.activation(v)
    np.testing.assert_allclose(a.detach().numpy(), a_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.detach().numpy(), fd.conjugate(a_ref), rtol=1e-8, atol=1e-10)
    da = torch.autograd.grad(a.sum(), vt, retain_graph=True)[0].numpy()
    db = torch.autograd.grad(b.sum(), vt)[0].numpy()
    _, da_ref, _, db_ref = (np.asarray(t, float) * np.ones_like(v) for t in comp(v))
    np.testing.assert_allclose(da, da_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(db, db_ref, rtol=1e-6, atol=1e-9)


def half_pearson(name):
    """A user FDivergence (chi^2 / 2) that the torch backend has no closed forms for."""
    base = dv.get_fdivergence("pearson")
    return dv.FDivergence(name=name, f=lambda u: 0.5 * base.f(u),
                          f_prime=lambda u: 0.5 * base.f_prime(u),
                          conjugate=lambda t: 0.5 * base.conjugate(2 * np.asarray(t)),
                          conjugate_domain=base.conjugate_domain, activation=base.activation,
                          value_range=base.value_range, symmetric=False)


def test_fdiv_output_falls_back_to_the_numpy_callables():
    """A user divergence (no torch closed form) goes through its numpy callables, with gradients."""
    out = dtorch.fdiv_output(half_pearson("half_pearson_t"))
    assert out.how == "numerical"
    v = torch.linspace(-1.5, 3.0, 7, dtype=F64, requires_grad=True)
    a, b = out(v)
    vn = v.detach().numpy()
    # f*(t) = 1/2 pearson*(2t) = t + t^2/2 for t >= -1, else -1/2
    np.testing.assert_allclose(b.detach().numpy(), np.where(vn >= -1, vn + 0.5 * vn ** 2, -0.5),
                               rtol=1e-12)
    (db,) = torch.autograd.grad(b.sum(), v)
    np.testing.assert_allclose(db.numpy(), np.where(vn >= -1, 1 + vn, 0.0), rtol=1e-6,
                               atol=1e-8)


def test_fdiv_output_uses_a_user_closed_form_written_for_numpy():
    """A user FDivergence with a numpy-only composite: its closed-form derivatives are the
    gradients (evaluated on the CPU)."""
    base = half_pearson("half_pearson_c")

    def composite(v):
        v = np.asarray(v, float)
        inside = v >= -1.0
        return (v, np.ones_like(v), np.where(inside, v + 0.5 * v * v, -0.5),
                np.where(inside, 1.0 + v, 0.0))

    fd = dataclasses.replace(base, composite=composite)
    out = dtorch.fdiv_output(fd)
    assert out.how == "analytic"
    v = torch.linspace(-1.5, 3.0, 7, dtype=F64, requires_grad=True)
    b = out(v)[1]
    vn = v.detach().numpy()
    np.testing.assert_allclose(b.detach().numpy(), composite(vn)[2], rtol=1e-15)
    (db,) = torch.autograd.grad(b.sum(), v)
    np.testing.assert_allclose(db.numpy(), composite(vn)[3], rtol=1e-15)


def test_fdiv_output_does_not_use_a_closed_form_for_a_replaced_conjugate():
    """The FDivergence is authoritative: with its conjugate replaced, the closed form of
    the original is not used and the new conjugate is what the output computes."""
    kl = dv.get_fdivergence("kl")
    wrong = dataclasses.replace(kl, conjugate=lambda t: np.exp(np.asarray(t, float)))
    out = dtorch.fdiv_output(wrong)
    assert out.how == "numerical"
    b = out(torch.tensor([1.0], dtype=F64))[1]
    assert float(b) == pytest.approx(math.e)
    assert dtorch.fdiv_output(kl).how == "analytic"


# -------------------------------------------------------------------------------------
# MLP, spectral norm, clipping


def test_mlp_is_seeded_and_does_not_touch_the_global_rng():
    state = torch.random.get_rng_state()
    a = dtorch.MLP(3, width=5, depth=2, rng=1, device="cpu")
    b = dtorch.MLP(3, width=5, depth=2, rng=1, device="cpu")
    c = dtorch.MLP(3, width=5, depth=2, rng=2, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), state)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    assert a(x).shape == (4,)
    assert dtorch.MLP(3, 2, rng=0, device="cpu")(x).shape == (4, 2)


def test_mlp_validation():
    with pytest.raises(ValueError, match="activation='swish'"):
        dtorch.MLP(2, activation="swish")
    with pytest.raises(ValueError, match="width must be >= 1"):
        dtorch.MLP(2, width=0)


def test_spectral_norm_makes_each_layer_one_lipschitz():
    net = dtorch.MLP(4, width=16, depth=2, spectral_norm=True, rng=0, device="cpu",
                     dtype="float64")
    x = torch.randn(8, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    for _ in range(60):  # power iterations converge
        net(x)
    for layer in net.layers:
        if isinstance(layer, _critics._Linear):
            sigma = torch.linalg.matrix_norm(layer.effective_weight().detach(), ord=2)
            assert float(sigma) == pytest.approx(1.0, rel=1e-6)
    net.eval()
    # gradient norms of a 1-Lipschitz network are at most 1
    g = _critics._input_gradients(net, torch.randn(64, 4, dtype=F64))
    assert float(torch.linalg.vector_norm(g.detach(), dim=1).max()) <= 1.0 + 1e-6


def test_clip_weights():
    net = dtorch.clip_weights_(dtorch.MLP(2, width=8, rng=0, device="cpu", dtype="float64"),
                              0.05)
    vals = torch.cat([p.detach().ravel() for p in net.parameters()])
    assert float(vals.abs().max()) <= 0.05
    assert float(vals.abs().max()) == pytest.approx(0.05)  # the bound is active


# -------------------------------------------------------------------------------------
# gradient penalty: per-sample norms


def _half_sq(x):
    return 0.5 * (x * x).sum(dim=1)  # gradient x, norm |x| (different for every row)


def test_gradient_penalty_uses_per_sample_norms():
    """GP = mean_i (|grad f(xhat_i)| - 1)^2 with one epsilon per row, by hand."""
    g = torch.Generator().manual_seed(3)
    real = torch.randn(6, 3, dtype=F64, generator=g)
    fake = torch.randn(6, 3, dtype=F64, generator=g)
    pen, norms = dtorch.gradient_penalty(_half_sq, real, fake,
                                         generator=torch.Generator().manual_seed(9),
                                         return_norms=True)
    eps = torch.rand(6, 1, dtype=F64, generator=torch.Generator().manual_seed(9))
    xhat = eps * real + (1 - eps) * fake
    by_hand = torch.linalg.vector_norm(xhat, dim=1)
    torch.testing.assert_close(norms, by_hand)
    assert float(pen.detach()) == pytest.approx(float(((by_hand - 1) ** 2).mean()), rel=1e-12)
    # a batch-level norm (of the gradient of the batch sum) would give another number
    batch_norm = float(torch.linalg.vector_norm(xhat))  # the Frobenius norm of all gradients
    assert abs(float(pen.detach()) - (batch_norm - 1) ** 2) > 0.1


def test_gradient_penalty_of_a_batch_is_the_mean_over_its_rows():
    """Samples do not interact: the batch penalty averages the one-row penalties."""
    net = dtorch.MLP(2, width=8, rng=0, device="cpu", dtype="float64")
    real = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]], dtype=F64)
    fake = torch.tensor([[1.0, 1.0], [-2.0, 0.0], [3.0, 0.0]], dtype=F64)
    # eps = 1 everywhere: xhat = real rows (deterministic)
    batch = dtorch.gradient_penalty(net, real, real).detach()
    rows = [float(dtorch.gradient_penalty(net, real[i:i + 1], real[i:i + 1]).detach())
            for i in range(3)]
    assert float(batch) == pytest.approx(np.mean(rows), rel=1e-12)
    # the penalty is differentiable in the critic's weights (double backward)
    pen = dtorch.gradient_penalty(net, real, fake, generator=torch.Generator().manual_seed(0))
    pen.backward()
    assert all(p.grad is not None for name, p in net.named_parameters() if "weight" in name)


def test_one_sided_penalty_ignores_small_gradients():
    x = torch.tensor([[0.5, 0.0], [0.0, 3.0]], dtype=F64)
    two = dtorch.gradient_penalty(_half_sq, x, x).detach()
    one = dtorch.gradient_penalty(_half_sq, x, x, one_sided=True).detach()
    assert float(two) == pytest.approx((0.25 + 4.0) / 2)
    assert float(one) == pytest.approx(4.0 / 2)


def test_gradient_penalty_shape_errors():
    with pytest.raises(ValueError, match="same shape"):
        dtorch.gradient_penalty(_half_sq, torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="scalar critic"):
        dtorch.gradient_penalty(lambda x: x, torch.zeros(3, 2), torch.zeros(3, 2))


def test_r1_penalty():
    x = torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=F64)
    assert float(dtorch.r1_penalty(_half_sq, x).detach()) == pytest.approx((5.0 + 1.0) / 2)


# -------------------------------------------------------------------------------------
# MMD on features


def test_mmd2_weighted_equals_the_gaussian_closed_form():
    """Exact MMD^2 of N(0, s^2), N(m, t^2) with a Gaussian kernel, by quadrature nodes as weights.

    E k(X, Y) = h / sqrt(h^2 + s^2 + t^2) exp(-(a - b)^2 / (2 (h^2 + s^2 + t^2))).
    """
    from scipy import stats
    x = np.linspace(-12, 12, 1601)
    P, Q = stats.norm(0.0, 1.0), stats.norm(1.0, 1.5)
    wp, wq = torch.tensor(P.pdf(x)), torch.tensor(Q.pdf(x))
    xt = torch.tensor(x)[:, None]
    h = 0.8

    def ek(a, s, b, t):
        v = h * h + s * s + t * t
        return h / math.sqrt(v) * math.exp(-(a - b) ** 2 / (2 * v))

    exact = ek(0, 1, 0, 1) + ek(1, 1.5, 1, 1.5) - 2 * ek(0, 1, 1, 1.5)
    got = float(dtorch.mmd2(xt, xt, bandwidths=(h,), wx=wp, wy=wq))
    assert got == pytest.approx(exact, rel=1e-8)


def test_mmd2_unbiased_leaves_out_the_diagonal():
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=F64)
    y = torch.tensor([[0.5], [2.0]], dtype=F64)

    def k(a, b):
        return math.exp(-(a - b) ** 2 / 2)
    xs, ys = [0.0, 1.0, 3.0], [0.5, 2.0]
    exx = sum(k(a, b) for i, a in enumerate(xs) for j, b in enumerate(xs) if i != j) / 6
    eyy = 2 * k(0.5, 2.0) / 2
    exy = sum(k(a, b) for a in xs for b in ys) / 6
    got = float(dtorch.mmd2(x, y, bandwidths=(1.0,)))
    assert got == pytest.approx(exx + eyy - 2 * exy, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 rows"):
        dtorch.mmd2(x[:1], y, bandwidths=(1.0,))


@pytest.mark.parametrize("dtype, floor", [(torch.float32, 6.3e-27), (torch.float64, 1.2e-296)])
def test_mmd2_kernel_floor_changes_only_the_smallest_entries(dtype, floor):
    """The kernel's exponent is floored at log(tiny) + 27 (torch's CPU arithmetic is slow on
    the subnormal numbers of an underflowing exp and its gradient): values above the floor
    are exp's bit for bit, values below move by less than it and get zero gradient, and an
    MMD of far-apart samples is unchanged."""
    from divest.torch._critics import _FlooredGaussianSum, _floor
    low = math.log(torch.finfo(dtype).tiny) + 27.0
    e = torch.tensor([[0.0, -1.0, -50.0, low + 0.1, low - 0.1, low - 27.0, -1e4]],
                     dtype=dtype, requires_grad=True)
    got = _FlooredGaussianSum.apply(e, (1.0,), _floor(dtype))[0]
    want = torch.exp(e.detach())[0]
    assert torch.equal(got[:4], want[:4])                 # above the floor: exp's own
    assert (got - want).abs().max() < floor and torch.all(got >= want)
    assert torch.all(got[4:] == got[-1]) and got[-1] > 0
    got.sum().backward()
    assert torch.equal(e.grad[0, :4], want[:4]) and torch.all(e.grad[0, 4:] == 0)
    # two clusters 100 apart: every cross-kernel entry underflows, the MMD is unchanged
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g, dtype=dtype)
    y = torch.randn(30, 3, generator=g, dtype=dtype) + 100.0
    d2 = lambda a, b: torch.cdist(a, b) ** 2                       # noqa: E731
    k = lambda a, b: sum(torch.exp(-d2(a, b) / (2 * s * s))        # noqa: E731
                         for s in (0.5, 1.0, 2.0, 4.0, 8.0))
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    plain = ((kxx.sum() - kxx.diagonal().sum()) / (40 * 39)
             + (kyy.sum() - kyy.diagonal().sum()) / (30 * 29) - 2 * kxy.sum() / 1200)
    assert float(dtorch.mmd2(x, y)) == pytest.approx(float(plain), rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("block", [1 << 16, 7])
def test_mmd2_blocked_kernel_sum_is_autograds(dtype, block, monkeypatch):
    """The kernel sum computed in row blocks by hand (with its own backward) gives the
    numbers of the plain autograd expression bit for bit, values and gradients, alone and
    under vmap, in blocks that do not divide the rows; and its gradient is the derivative
    (gradcheck, gradgradcheck)."""
    from torch.func import vmap

    from divest.torch import _critics
    monkeypatch.setattr(_critics, "_BLOCK_ELEMENTS", block)
    bws = (0.5, 1.0, 2.0, 4.0, 8.0)
    low = math.log(torch.finfo(dtype).tiny) + 27.0

    def plain(d2):
        return sum(torch.exp(torch.clamp(-d2 / (2.0 * s * s), min=low)) for s in bws)

    g = torch.Generator().manual_seed(1)
    # squared distances from 0 to 2e3: the narrow kernels floor on the far entries
    d2 = (torch.rand(3, 13, 11, generator=g, dtype=dtype) * 45.0) ** 2
    w = torch.randn(3, 13, 11, generator=g, dtype=dtype)
    assert torch.any(-d2 / 0.5 < low) and torch.any(-d2 / 0.5 > low)
    for fn in (lambda t: _critics._gaussian_kernel_sum(t, bws),
               vmap(lambda t: _critics._gaussian_kernel_sum(t, bws))):
        a, b = d2.clone().requires_grad_(), d2.clone().requires_grad_()
        ka, kb = fn(a), plain(b)
        assert torch.equal(ka, kb)
        (ka * w).sum().backward()
        (kb * w).sum().backward()
        assert torch.equal(a.grad, b.grad)
    if dtype == torch.float64:
        x = (torch.rand(2, 5, 4, generator=g, dtype=dtype) * 3.0).requires_grad_()
        assert torch.autograd.gradcheck(lambda t: _critics._gaussian_kernel_sum(t, bws), (x,))
        assert torch.autograd.gradgradcheck(lambda t: _critics._gaussian_kernel_sum(t, bws),
                                            (x,))
