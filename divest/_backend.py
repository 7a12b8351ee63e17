r"""A small array namespace for numpy and torch, in the style of POT's ``ot.backend``.

Numeric definitions that both the numpy code and the optional torch backend evaluate
(the f-GAN composites :math:`f^*\circ g_f` of :mod:`divest.fdiv`, the smooth clip of the
variational estimators) are written once against the namespace returned by
:func:`get_backend`::

    def softplus_gap(nx, v):
        return nx.softplus(v) - nx.softplus(-v)      # = v, for numpy arrays and tensors

Only the handful of operations these definitions use are provided.  Each numpy operation
is the numpy function the code used before the namespace existed (``softplus`` is
``np.logaddexp(0.0, x)``, ``sigmoid`` is ``scipy.special.expit``), so numpy results are
unchanged bit for bit; each torch operation computes the same mathematical function
(``softplus`` is ``logaddexp(x, 0)``, not ``torch.nn.functional.softplus``, whose
linear branch above 20 differs from the exact value) and is differentiable by autograd,
twice where torch's own operations are.

PyTorch is imported only when :func:`get_backend` is given a tensor (which cannot exist
before torch is imported), so ``import divest`` never imports it.
"""

from __future__ import annotations

import math
import sys
from contextlib import nullcontext
from functools import lru_cache

import numpy as np
from scipy import special

__all__ = ["NumpyBackend", "NumpyFunction", "get_backend"]


def wexp_numpy(x):
    """:math:`W(e^x)` for the principal branch of Lambert W, for any real x without overflow.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    numpy.ndarray
        The solution w > 0 of :math:`w + \\log w = x` (0 where :math:`e^x` underflows).
    """
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = x < 500
    with np.errstate(all="ignore"):
        out[small] = special.lambertw(np.exp(x[small])).real
    xb = x[~small]
    if xb.size:
        w = xb - np.log(xb)  # solve w + log w = x by Newton's method
        for _ in range(8):
            w = w - (w + np.log(w) - xb) / (1.0 + 1.0 / w)
        out[~small] = w
    return out


class NumpyBackend:
    """The numpy namespace (float64 arrays)."""

    name = "numpy"
    inf = math.inf

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    expm1 = staticmethod(np.expm1)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)
    cosh = staticmethod(np.cosh)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    ones_like = staticmethod(np.ones_like)
    sigmoid = staticmethod(special.expit)
    wexp = staticmethod(wexp_numpy)

    @staticmethod
    def softplus(x):
        """:math:`\\log(1 + e^x)` without overflow."""
        return np.logaddexp(0.0, x)

    @staticmethod
    def asarray(x):
        """``x`` as a float64 array."""
        return np.asarray(x, dtype=float)

    @staticmethod
    def below(top, like):
        """The largest float64 below ``top``."""
        return np.nextafter(top, -np.inf)

    @staticmethod
    def errstate():
        """Silence floating-point warnings (infinities are results here, not errors)."""
        return np.errstate(all="ignore")


class TorchBackend:
    """The torch namespace (floating tensors, any device, differentiable).

    Built by :func:`_torch_backend` on first use, which imports torch.
    """

    name = "torch"
    inf = math.inf

    def __init__(self, torch):
        self._torch = torch
        for op in ("exp", "log", "log1p", "expm1", "sqrt", "tanh", "cosh", "where", "sigmoid",
                   "ones_like"):
            setattr(self, op, getattr(torch, op))
        self._wexp = _make_torch_wexp(torch)

    def softplus(self, x):
        """:math:`\\log(1 + e^x)`, exact for every x (no linear branch)."""
        return self._torch.logaddexp(x, self._torch.zeros_like(x))

    def maximum(self, x, y):
        """Elementwise maximum; ``y`` may be a Python number."""
        t = self._torch
        return t.clamp_min(x, y) if isinstance(y, (int, float)) else t.maximum(x, y)

    def minimum(self, x, y):
        """Elementwise minimum; ``y`` may be a Python number."""
        t = self._torch
        return t.clamp_max(x, y) if isinstance(y, (int, float)) else t.minimum(x, y)

    def asarray(self, x):
        """A floating tensor (integer and boolean tensors become the default float dtype)."""
        t = self._torch
        return x if x.is_floating_point() else x.to(t.get_default_dtype())

    def below(self, top, like):
        """The largest number of ``like``'s dtype below ``top``."""
        t = self._torch
        top = t.tensor(top, dtype=like.dtype)
        return float(t.nextafter(top, t.tensor(-math.inf, dtype=like.dtype)))

    def wexp(self, x):
        """:math:`W(e^x)`, differentiable (:math:`dW/dx = W/(1+W)`, twice as well)."""
        return self._wexp(x)

    @staticmethod
    def errstate():
        return nullcontext()


def _make_torch_wexp(torch):
    class _WExp(torch.autograd.Function):
        """W(e^x) by Newton's method; the backward pass uses the saved output.  Elementwise,
        so ``torch.vmap`` (``train_gan_ensemble``) applies it to the batched tensor as it
        is: each entry gets the numbers it gets alone."""

        @staticmethod
        def forward(x):
            with torch.no_grad():
                big = x > 1.0
                xc = torch.clamp(x, min=1.0)
                w = torch.where(big, xc - torch.log(xc), torch.exp(torch.clamp(x, max=1.0)))
                tiny = torch.finfo(x.dtype).tiny
                for _ in range(8):
                    w = torch.clamp(w - (w + torch.log(w) - x) / (1.0 + 1.0 / w), min=tiny)
                # below -40, W(e^x) = e^x to double precision (and 0 where it underflows)
                return torch.where(x < -40.0, torch.exp(x), w)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, grad):
            (w,) = ctx.saved_tensors
            return grad * (w / (1.0 + w))

        @staticmethod
        def vmap(info, in_dims, x):
            return _WExp.apply(x), in_dims[0]

    return _WExp.apply


@lru_cache(maxsize=1)
def _torch_backend() -> TorchBackend:
    import torch
    return TorchBackend(torch)


_NUMPY = NumpyBackend()


def get_backend(*arrays):
    """The namespace for ``arrays``: torch if any is a torch tensor, numpy otherwise.

    Parameters
    ----------
    *arrays
        Arrays, tensors or Python numbers.

    Returns
    -------
    NumpyBackend or TorchBackend

    Examples
    --------
    >>> import numpy as np
    >>> from divest._backend import get_backend
    >>> nx = get_backend(np.zeros(2))
    >>> nx.name, float(nx.softplus(np.float64(0.0)))
    ('numpy', 0.693...)
    """
    torch = sys.modules.get("torch")
    if torch is not None and any(isinstance(a, torch.Tensor) for a in arrays):
        return _torch_backend()
    return _NUMPY


class NumpyFunction:
    """A numpy callable (an FDivergence's ``f``, ``f_prime``) that also accepts tensors.

    Numpy input (arrays, scalars) goes to the wrapped function unchanged, bit for bit.  A
    torch tensor is evaluated by the same numpy definition in float64 and returned as a
    tensor of its dtype and device, so the two backends agree by construction; the result
    carries no gradient (these callables define the divergence; the differentiable
    pieces the torch backend trains with are the composites, written against
    :func:`get_backend`).
    """

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(x, torch.Tensor):
            out = self.fn(x.detach().to("cpu", torch.float64).numpy())
            return torch.as_tensor(np.asarray(out, dtype=np.float64)).to(x.device, x.dtype)
        return self.fn(x)

    def __eq__(self, other):
        if isinstance(other, NumpyFunction):
            return self.fn == other.fn
        return NotImplemented

    def __hash__(self):
        return hash(self.fn)

    def __repr__(self) -> str:
        return f"NumpyFunction({getattr(self.fn, '__qualname__', self.fn)!r})"
