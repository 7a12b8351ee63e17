"""One numeric definition per f-divergence, evaluated by numpy and by torch.

Every built-in divergence writes its output activation g_f, its conjugate f* and the
composite v -> (g_f(v), g_f'(v), f*(g_f(v)), (f* o g_f)'(v)) once, against the array
namespace of ``divest._backend``.  These tests check, for every registered divergence
(families at several parameters), on a grid of pre-activations up to |v| = 1e3:

* numpy and torch (float64) agree to 1e-12 relative, with the same infinities and no
  NaN where numpy has none (both evaluate the same definition);
* the composite equals the naive f*(g_f(v)) of the divergence's own ``conjugate`` and
  ``activation`` wherever that is finite and well conditioned (this is what catches an
  error in the shared formula, which numpy and torch would share);
* its derivatives are the derivatives of its values, gradients through
  ``divest.torch.fdiv_output`` are never NaN and finite wherever the value is, and
  second derivatives (an unrolled critic) are right.
"""

import math
import subprocess
import sys

import numpy as np
import pytest

import divest as dv
from divest import _backend, fdiv

torch = pytest.importorskip("torch")

F64 = torch.float64
EPS = np.finfo(float).eps

#: parameters at which each registered family is checked
FAMILY_PARAMS = {
    "js_weighted": [{"pi": p} for p in (0.05, 0.25, 0.5, 0.8, 0.99)],
    "alpha": [{"alpha": a} for a in (-3.0, -1.0, -0.5, 0.1, 0.5, 0.9, 1.1, 1.5, 2.0, 3.0, 6.0)],
}


def registered_labels():
    """A label for every registered f-divergence, each family at its FAMILY_PARAMS."""
    labels = []
    for base in dv.fdivergences():
        required = fdiv._REGISTRY[base][1]
        if not required:
            labels.append(base)
            continue
        if base not in FAMILY_PARAMS:
            raise ValueError(f"family {base!r} ({required}) has no test parameters in "
                             "FAMILY_PARAMS of tests/test_backend.py: add some")
        labels.extend(dv.get_fdivergence(base, **p).label for p in FAMILY_PARAMS[base])
    return labels


LABELS = registered_labels()


def v_grid():
    """Pre-activations from -1e3 to 1e3: log-spaced, zero, and some points near the ends."""
    mags = np.logspace(-6, 3, 181)
    extra = np.array([-2.0, -1.0, 1.0, 2.0, 30.0, -30.0, 50.0, -50.0, 700.0, -700.0, 745.0,
                      -745.0, 1000.0, -1000.0])
    return np.unique(np.concatenate([-mags, [0.0], mags, extra]))


V = v_grid()


def numpy_composite(fd, v=V):
    return [np.asarray(x, dtype=float) * np.ones_like(v) for x in fd.composite(v)]


def torch_composite(fd, v=V):
    out = fd.composite(torch.tensor(v, dtype=F64))
    return [torch.as_tensor(x, dtype=F64).expand(len(v)).numpy() for x in out]


def test_every_registered_divergence_is_covered():
    assert {lab.split("(")[0] for lab in LABELS} == set(dv.fdivergences())
    for label in LABELS:
        fd = dv.get_fdivergence(label)
        assert fd._closed_composite() is fd.composite is not None, label


# -------------------------------------------------------------------------------------
# the namespace


def test_get_backend_dispatch():
    assert _backend.get_backend(np.zeros(2)).name == "numpy"
    assert _backend.get_backend(1.0, [2.0]).name == "numpy"
    assert _backend.get_backend().name == "numpy"
    assert _backend.get_backend(np.zeros(2), torch.zeros(2)).name == "torch"
    nx = _backend.get_backend(torch.zeros(1))
    x = torch.tensor([-800.0, -30.0, 0.0, 25.0, 800.0], dtype=F64)
    # softplus is exact (torch.nn.functional.softplus is linear above 20)
    np.testing.assert_allclose(nx.softplus(x).numpy(), np.logaddexp(0.0, x.numpy()),
                               rtol=1e-15, atol=0)
    assert nx.asarray(torch.tensor([1, 2])).dtype == torch.get_default_dtype()


def test_importing_the_backend_or_using_it_on_numpy_does_not_import_torch():
    code = ("import sys, numpy as np, divest, divest._backend as b\n"
            "import divest as dv\n"
            "fd = dv.get_fdivergence('js')\n"
            "fd.composite(np.linspace(-3, 3, 5)); fd.activation(1.0); fd.conjugate(0.1)\n"
            "assert b.get_backend(np.zeros(2)).name == 'numpy'\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]


def test_wexp_torch_matches_lambertw_with_its_derivative():
    x = np.concatenate([-np.logspace(3, -4, 60), [0.0], np.logspace(-4, 3, 60), [499.9, 500.1]])
    ref = _backend.wexp_numpy(x)
    xt = torch.tensor(x, dtype=F64, requires_grad=True)
    nx = _backend.get_backend(xt)
    w = nx.wexp(xt)
    np.testing.assert_allclose(w.detach().numpy(), ref, rtol=1e-14, atol=0)
    (g,) = torch.autograd.grad(w.sum(), xt)
    np.testing.assert_allclose(g.numpy(), ref / (1.0 + ref), rtol=1e-14, atol=0)
    assert float(nx.wexp(torch.tensor([-1e3], dtype=F64))) == 0.0 == float(ref[0])


# -------------------------------------------------------------------------------------
# numpy and torch evaluate the same definition


@pytest.mark.parametrize("label", LABELS)
def test_numpy_and_torch_composites_agree(label):
    """To 1e-12 relative over |v| <= 1e3, same infinities, no NaN where numpy has none.

    The absolute floor 1e-14 covers results near 0 that come from cancellation of O(1)
    terms (e.g. Jeffreys' 1/w - log w - 1 near v = 0), where one ulp of a transcendental
    function in either library moves the result by about 1e-16.
    """
    fd = dv.get_fdivergence(label)
    with np.errstate(all="ignore"):
        ref = numpy_composite(fd)
    got = torch_composite(fd)
    for part, r, t in zip(("g", "g'", "f*(g)", "(f* o g)'"), ref, got):
        assert not np.any(np.isnan(t) & ~np.isnan(r)), (label, part, V[np.isnan(t)])
        np.testing.assert_allclose(t, r, rtol=1e-12, atol=1e-14,
                                   err_msg=f"{label}: {part}")


@pytest.mark.parametrize("label", LABELS)
def test_activation_and_conjugate_accept_tensors(label):
    fd = dv.get_fdivergence(label)
    v = V[np.abs(V) <= 40]
    with np.errstate(all="ignore"):
        a = fd.activation(v)
        b = fd.conjugate(a)
    at = fd.activation(torch.tensor(v, dtype=F64))
    bt = fd.conjugate(at)
    assert isinstance(at, torch.Tensor) and isinstance(bt, torch.Tensor)
    np.testing.assert_allclose(at.numpy(), a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bt.numpy(), b, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_f_and_f_prime_accept_tensors(label, dtype):
    # f and f_prime: numpy input unchanged; a tensor gives a tensor of its dtype, equal to
    # the numpy value (inf and the domain's ends included)
    fd = dv.get_fdivergence(label)
    u = np.concatenate([[0.0, 1e-300, 1e-8, 0.5, 1.0, 2.0, 1e8], np.logspace(-6, 6, 61)])
    u = u.astype(torch.empty((), dtype=dtype).numpy().dtype).astype(float)
    for part in ("f", "f_prime"):
        fn = getattr(fd, part)
        with np.errstate(all="ignore"):
            ref = np.asarray(fn(u), dtype=float)
            out = fn(torch.tensor(u, dtype=dtype))
        assert isinstance(out, torch.Tensor) and out.dtype == dtype, (label, part)
        with np.errstate(over="ignore"):  # float32: large values round to inf, as in torch
            expected = ref.astype(out.numpy().dtype)
        np.testing.assert_array_equal(out.numpy(), expected, err_msg=f"{label}: {part}")


# -------------------------------------------------------------------------------------
# the definition itself: against the naive conjugate of the activation


def naive_mismatches(fd, comp, v=V):
    """Grid points where comp's f*(g_f(v)) or g_f(v) disagree with fd's own callables.

    Compared where the naive ``fd.conjugate(fd.activation(v))`` is finite.  It carries
    the rounding of the activation times the slope of f*, the implied ratio
    r = (f* o g)'/g'; the tolerance is 1e-12 relative plus 64 eps (1 + |g|) |r| (the
    naive form loses everything where g rounds onto the end of dom f*: there r is huge
    and the point is skipped by the tolerance, not by hand).
    """
    with np.errstate(all="ignore"):
        a, da, b, db = (np.asarray(x, dtype=float) * np.ones_like(v) for x in comp(v))
        act = np.asarray(fd.activation(v), dtype=float)
        naive = np.asarray(fd.conjugate(act), dtype=float)
        r = np.abs(np.where(da != 0, db / np.where(da != 0, da, 1.0), np.inf))
        tol_b = 1e-12 * np.abs(b) + 64 * EPS * ((1.0 + np.abs(a)) * r + 1.0)
        bad_b = np.isfinite(naive) & ~(np.abs(b - naive) <= tol_b)
        bad_a = np.isfinite(act) & ~(np.abs(a - act) <= 4 * EPS * np.abs(act) + 1e-300)
    return v[bad_a | bad_b]


@pytest.mark.parametrize("label", LABELS)
def test_composite_is_the_conjugate_of_the_activation(label):
    fd = dv.get_fdivergence(label)
    assert naive_mismatches(fd, fd.composite).size == 0
    # the comparison is not vacuous: most of the grid is well conditioned
    with np.errstate(all="ignore"):
        assert np.isfinite(fd.conjugate(fd.activation(V))).mean() > 0.5


def test_a_planted_error_in_the_shared_formula_is_caught(monkeypatch):
    """An error in the one definition is shared by numpy and torch (their comparison
    passes), but the naive f*(g_f(v)) of the divergence's callables catches it."""
    fd = dv.get_fdivergence("alpha(alpha=0.5)")
    good = fdiv._log_softplus
    monkeypatch.setattr(fdiv, "_log_softplus", lambda nx, x: good(nx, x) * (1.0 + 1e-9))
    with np.errstate(all="ignore"):
        ref = numpy_composite(fd)
    np.testing.assert_allclose(torch_composite(fd)[2], ref[2], rtol=1e-12, atol=1e-14)
    assert naive_mismatches(fd, fd.composite).size > 10

    # a wrong weight in JS-weighted's f* o g_f (pi for 1 - pi), and a wrong constant in KL's
    js = dv.get_fdivergence("js_weighted(pi=0.25)")

    def swapped(nx, v):
        a, da, b, db = fdiv._js_weighted_fgan(0.25)["comp"](nx, v)
        return a, da, 0.25 * (nx.softplus(v) + math.log1p(-0.25)), db
    assert naive_mismatches(js, lambda v: swapped(_backend.get_backend(v), v)).size > 10
    kl = dv.get_fdivergence("kl")
    assert naive_mismatches(kl, lambda v: (v, 1.0, np.exp(v - 1.0 + 1e-9), 0.0)).size > 10


# -------------------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize("label", LABELS)
def test_derivatives_are_the_derivatives_of_the_values(label):
    """g' and (f* o g)' match autograd through the value formulas, over the whole grid.

    Compared where the value and autograd's chain rule are finite (the latter overflows
    through 1/w^2 for Jeffreys at large v, which is why the closed forms are used).
    The absolute floor covers torch's backward of expm1 and tanh, which computes e^-v
    as expm1(-v) + 1 and 1 - tanh(v)^2 and so returns 0 below about 1e-16.
    """
    fd = dv.get_fdivergence(label)
    vt = torch.tensor(V, dtype=F64, requires_grad=True)
    a, da, b, db = fd.composite(vt)
    for value, deriv, part in ((a, da, "g"), (b, db, "f*(g)")):
        (auto,) = torch.autograd.grad(value.sum(), vt, retain_graph=True)
        auto = auto.numpy()
        deriv = torch.as_tensor(deriv, dtype=F64).expand(len(V)).detach().numpy()
        ok = np.isfinite(auto) & np.isfinite(value.detach().numpy())
        assert ok.mean() > 0.8, (label, part)
        np.testing.assert_allclose(auto[ok], deriv[ok], rtol=1e-9, atol=1e-14,
                                   err_msg=f"{label}: derivative of {part}")


@pytest.mark.parametrize("label", LABELS)
def test_gradients_through_fdiv_output_at_extreme_v(label):
    """The gradients of divest.torch's output are the closed-form derivatives: never NaN,
    finite wherever the output is, equal to numpy's."""
    fd = dv.get_fdivergence(label)
    out = dv_torch().fdiv_output(fd)
    assert out.how == "analytic"
    vt = torch.tensor(V, dtype=F64, requires_grad=True)
    a, b = out(vt)
    ga = torch.autograd.grad(a.sum(), vt, retain_graph=True)[0].numpy()
    gb = torch.autograd.grad(b.sum(), vt)[0].numpy()
    with np.errstate(all="ignore"):
        _, da, _, db = numpy_composite(fd)
    for g, deriv, value in ((ga, da, a), (gb, db, b)):
        value = value.detach().numpy()
        assert not np.isnan(g).any(), (label, V[np.isnan(g)])
        finite = np.isfinite(value)
        assert np.isfinite(g[finite]).all(), (label, V[finite & ~np.isfinite(g)])
        np.testing.assert_allclose(g, deriv, rtol=1e-12, atol=1e-14, err_msg=label)


@pytest.mark.parametrize("label", LABELS)
def test_second_derivatives_for_an_unrolled_critic(label):
    fd = dv.get_fdivergence(label)
    v = np.linspace(-6.0, 6.0, 25) + 0.01
    vt = torch.tensor(v, dtype=F64, requires_grad=True)
    _, b = dv_torch().fdiv_output(fd)(vt)
    (g,) = torch.autograd.grad(b.sum(), vt, create_graph=True)
    # a constant derivative (reverse KL: f*(g(v)) = v - 1) has no graph, as in torch itself
    h = torch.autograd.grad(g.sum(), vt)[0] if g.requires_grad else torch.zeros_like(vt)
    step = 1e-5
    with np.errstate(all="ignore"):
        fd_h = (numpy_composite(fd, v + step)[3] - numpy_composite(fd, v - step)[3]) / (2 * step)
    ok = np.isfinite(fd_h) & (np.abs(v + 2.0) > 0.1)  # Pearson's f* has a kink at -2
    np.testing.assert_allclose(h.numpy()[ok], fd_h[ok], rtol=1e-5, atol=1e-7, err_msg=label)


@pytest.mark.parametrize("label", ["kl", "js", "alpha(alpha=0.5)", "jeffreys"])
def test_float32_tensors(label):
    fd = dv.get_fdivergence(label)
    v = np.linspace(-10.0, 10.0, 41)
    a, b = dv_torch().fdiv_output(fd)(torch.tensor(v, dtype=torch.float32))
    assert a.dtype == b.dtype == torch.float32
    ref = numpy_composite(fd, v)
    np.testing.assert_allclose(a.numpy(), ref[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), ref[2], rtol=1e-5, atol=1e-6)


def test_soft_clip_is_shared():
    from divest.estimators._variational import _soft_clip
    v = np.concatenate([[-1e3], np.linspace(-80.0, 80.0, 161), [1e3]])
    c, dc = _soft_clip(v, -7.0, 11.0)
    vt = torch.tensor(v, dtype=F64, requires_grad=True)
    ct = _soft_clip(vt, -7.0, 11.0)[0]
    np.testing.assert_allclose(ct.detach().numpy(), c, rtol=1e-15, atol=1e-15)
    (g,) = torch.autograd.grad(ct.sum(), vt)
    np.testing.assert_allclose(g.numpy(), dc, rtol=1e-12, atol=1e-15)
    assert np.all((c >= -7.0) & (c <= 11.0)) and np.all(np.diff(c) >= 0)


def dv_torch():
    import divest.torch
    return divest.torch
