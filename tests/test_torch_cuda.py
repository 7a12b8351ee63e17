"""The torch backend on CUDA: the same code, the same numbers as on the CPU.

Skipped where no GPU is visible (CI has none).  On a GPU machine run
``python -m pytest tests/test_torch_cuda.py``; ``benchmarks/gpu_session.sh`` does, and
records the result.  What is checked:

* float64 computations moved from the CPU to CUDA agree to 1e-10 (networks, every GAN
  loss at the optimal critic, the per-sample gradient penalty, MMD on learned features);
* training on CUDA is deterministic with a seed, converges like on the CPU (the same
  tolerances as the CPU tests: ``tests/test_torch_train.py``,
  ``tests/test_torch_variational.py``), and keeps every tensor on the device;
* CUDA tensors are accepted as inputs and results come back as numpy / Python floats.
"""

import copy
import math

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

import divest as dv  # noqa: E402
import divest.torch as dtorch  # noqa: E402
from divest.torch import (compare_gans, gan_losses, get_gan_loss, train_gan,  # noqa: E402
                          variational, wasserstein1, wasserstein1_exact)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

F64 = torch.float64
CUDA = torch.device("cuda")
TARGET = stats.norm(2.0, 0.5)
SMALL = {"width": 32, "depth": 2}


@pytest.fixture(scope="module")
def gaussians():
    """P = N((1, 0), I), Q = N(0, I) in 2-D: KL = 0.5, W1 = 1."""
    rng = np.random.default_rng(20240501)
    return rng.normal(size=(4000, 2)) + [1.0, 0.0], rng.normal(size=(4000, 2))


def test_auto_is_cuda_and_tensors_land_there():
    assert dtorch.resolve_device("auto") == CUDA or dtorch.resolve_device("auto").type == "cuda"
    net = dtorch.MLP(3, width=8, rng=0, device="cuda")
    assert all(p.device.type == "cuda" for p in net.parameters())
    again = dtorch.MLP(3, width=8, rng=0, device="cuda")
    x = torch.randn(5, 3, device="cuda")
    torch.testing.assert_close(net(x), again(x), rtol=0, atol=0)


def test_a_network_gives_the_cpu_numbers_in_float64():
    net = dtorch.MLP(4, width=16, depth=3, rng=1, device="cpu", dtype="float64")
    x = torch.randn(64, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    on_gpu = copy.deepcopy(net).to(CUDA)
    torch.testing.assert_close(on_gpu(x.to(CUDA)).cpu(), net(x), rtol=1e-12, atol=1e-12)
    sn = dtorch.MLP(4, width=16, depth=2, spectral_norm=True, rng=1, device="cpu",
                    dtype="float64").eval()
    torch.testing.assert_close(copy.deepcopy(sn).to(CUDA)(x.to(CUDA)).cpu(), sn(x),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", [n for n in gan_losses() if n != "mmd"])
def test_every_gan_loss_gives_the_cpu_value(name):
    """Critic and generator losses on the same outputs and weights, CPU vs CUDA (float64)."""
    loss = get_gan_loss(name)
    g = torch.Generator().manual_seed(5)
    out_p, out_q = torch.randn(200, dtype=F64, generator=g), torch.randn(200, dtype=F64,
                                                                       generator=g)
    wp, wq = torch.rand(200, dtype=F64, generator=g), torch.rand(200, dtype=F64, generator=g)
    wp, wq = wp / wp.sum(), wq / wq.sum()
    for fn in ("critic_loss", "generator_loss"):
        cpu = getattr(loss, fn)(out_p, out_q, wp, wq)
        gpu = getattr(loss, fn)(out_p.to(CUDA), out_q.to(CUDA), wp.to(CUDA), wq.to(CUDA))
        assert gpu.device.type == "cuda"
        assert float(gpu) == pytest.approx(float(cpu), rel=1e-10, abs=1e-12), (name, fn)


def test_gradient_penalty_and_mmd_on_cuda_match_the_cpu():
    net = dtorch.MLP(3, width=8, rng=0, device="cpu", dtype="float64")
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(6, 3, dtype=F64, generator=g), torch.randn(6, 3, dtype=F64,
                                                                         generator=g)
    net_gpu = copy.deepcopy(net).to(CUDA)
    gen = torch.Generator(device=CUDA).manual_seed(9)
    pen, norms = dtorch.gradient_penalty(net_gpu, real.to(CUDA), fake.to(CUDA),
                                         generator=gen, return_norms=True)
    assert norms.shape == (6,) and norms.device.type == "cuda"
    # the CUDA generator draws other epsilons: check the per-row definition on its own draw
    eps_gpu = torch.rand(6, 1, dtype=F64, device=CUDA,
                         generator=torch.Generator(device=CUDA).manual_seed(9))
    xh = (eps_gpu * real.to(CUDA) + (1 - eps_gpu) * fake.to(CUDA)).requires_grad_(True)
    gr, = torch.autograd.grad(net_gpu(xh).sum(), xh)
    torch.testing.assert_close(norms, torch.linalg.vector_norm(gr, dim=1))
    assert float(pen.detach()) == pytest.approx(float(((norms - 1) ** 2).mean()), rel=1e-12)
    x, y = real[:, :2], fake[:, :2]
    cpu = dtorch.mmd2(x, y, bandwidths=(1.0,))
    gpu = dtorch.mmd2(x.to(CUDA), y.to(CUDA), bandwidths=(1.0,))
    assert float(gpu) == pytest.approx(float(cpu), rel=1e-10)


def test_train_gan_on_cuda_converges_and_is_deterministic():
    kw = dict(generator="location_scale", critic={"width": 32}, steps=400, batch_size=128,
              lr=(0.01, 2e-3), metrics=("w1",), rng=0, device="cuda")
    a = train_gan(TARGET, "nonsaturating", **kw)
    assert all(p.device.type == "cuda" for p in a.generator.parameters())
    mu, sigma = float(a.generator.mean[0]), float(a.generator.std[0])
    assert math.hypot(mu - 2.0, sigma - 0.5) <= 0.2
    assert a.history["w1"][0] > 1.5 and a.history["w1"][-1] < 0.3
    b = train_gan(TARGET, "nonsaturating", **{**kw, "steps": 30})
    c = train_gan(TARGET, "nonsaturating", **{**kw, "steps": 30})
    for key in ("critic_loss", "generator_loss", "w1"):
        np.testing.assert_array_equal(b.history[key], c.history[key])
    s = b.sample(10, rng=0)
    assert isinstance(s, np.ndarray) and s.shape == (10, 1)
    np.testing.assert_array_equal(s, c.sample(10, rng=0))


@pytest.mark.parametrize("loss, options", [
    ("wgan_gp", {"n_critic": 2}),
    ("wgan_sn", {"n_critic": 2}),
    ("mmd", {"n_critic": 2}),
    ("fgan:js", {"schedule": "single_step"}),
    ("nonsaturating", {"unrolled_steps": 2}),
])
def test_every_training_path_runs_on_cuda(loss, options):
    run = train_gan(dv.distributions.GaussianRing(n_modes=8, radius=2.0, std=0.02), loss,
                    critic={"width": 32}, generator={"width": 32}, steps=20, batch_size=64,
                    n_eval=200, metrics=("w1", "mmd", "kl", "modes"), rng=0, device="cuda",
                    **options)
    assert np.isfinite(run.history["w1"]).all()
    assert run.config["device"] in ("cuda", "cuda:0")


def test_neural_kl_on_cuda_is_close_to_and_below_the_truth(gaussians):
    X, Y = gaussians
    est = variational(X, Y, "kl", critic=SMALL, steps=300, rng=0, device="cuda")
    assert est.is_lower_bound and est.details["device"].startswith("cuda")
    assert est.value <= 0.5 + 2.5 * est.standard_error
    assert abs(est.value - 0.5) <= 0.1 + 4 * est.standard_error
    again = variational(X, Y, "kl", critic=SMALL, steps=300, rng=0, device="cuda")
    assert again.value == est.value
    # CUDA tensors as inputs: the same numbers as the numpy arrays
    t = variational(torch.as_tensor(X, device=CUDA), torch.as_tensor(Y, device=CUDA), "kl",
                    critic=SMALL, steps=300, rng=0, device="cuda")
    assert t.value == pytest.approx(est.value, rel=1e-6)


def test_neural_w1_on_cuda_against_exact_ot(gaussians):
    X, Y = gaussians[0][:2000], gaussians[1][:2000]
    est = wasserstein1(X, Y, critic=SMALL, steps=300, rng=0, device="cuda")
    ix, iy = est.details["test_indices"]
    exact = wasserstein1_exact(X[ix], Y[iy])
    assert est.value <= exact + 1e-9
    assert abs(est.value - 1.0) <= 0.1 + 4 * est.standard_error


def test_compare_gans_on_cuda(tmp_path):
    res = compare_gans(["hinge", "wgan_gp"], ["ring"], steps=20, n_eval=200, batch_size=64,
                       critic={"width": 16}, generator={"width": 16, "depth": 1},
                       device="cuda", out_dir=tmp_path)
    assert len(res.rows) == 2 and not any(r["error"] for r in res.rows)
    assert (tmp_path / "results.md").exists()
