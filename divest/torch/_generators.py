"""Generators for :func:`divest.torch.train_gan`: location-scale families and MLPs.

A generator is a ``torch.nn.Module`` with an integer attribute ``latent_dim``: it maps
standard normal noise of shape (n, latent_dim) to samples of shape (n, d).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._validation import check_finite_array, check_positive_int, check_rng
from ._critics import MLP
from ._device import resolve_device, resolve_dtype

__all__ = ["LocationScale", "MLPGenerator"]


class LocationScale(nn.Module):
    r"""The location-scale generator :math:`x = \mu + \sigma \odot z`, :math:`z \sim N(0, I_d)`.

    With ``full_covariance=True`` it is :math:`x = \mu + L z` with :math:`L` lower
    triangular with a positive diagonal (so :math:`\mathrm{Cov} = LL^\top`).  The
    parameters are ``loc`` (:math:`\mu`) and ``log_scale`` (:math:`\log\sigma`, or the log
    of the diagonal of :math:`L`) plus the strict lower triangle ``offdiag``.

    Parameters
    ----------
    dim : int
        Dimension d (``latent_dim = dim``).
    loc : float or array_like, default 0
        Initial :math:`\mu`.
    scale : float or array_like, default 1
        Initial :math:`\sigma` (positive).
    full_covariance : bool, default False
    device, dtype
        As for :class:`~divest.torch.MLP`.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import LocationScale
    >>> g = LocationScale(1, loc=2.0, scale=0.5, device="cpu")
    >>> g(torch.tensor([[0.0], [2.0]])).ravel().tolist()
    [2.0, 3.0]
    >>> g.mean.tolist(), g.std.tolist()
    ([2.0], [0.5])
    """

    def __init__(self, dim, *, loc=0.0, scale=1.0, full_covariance=False, device="auto",
                 dtype="float32"):
        super().__init__()
        self.latent_dim = check_positive_int(dim, "dim")
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        loc = np.array(np.broadcast_to(check_finite_array(loc, "loc"), (dim,)))
        scale = np.array(np.broadcast_to(check_finite_array(scale, "scale"), (dim,)))
        if np.any(scale <= 0):
            raise ValueError(f"scale must be positive; got {scale.tolist()}")
        self.loc = nn.Parameter(torch.tensor(loc, device=dev, dtype=dt))
        self.log_scale = nn.Parameter(torch.tensor(np.log(scale), device=dev, dtype=dt))
        self.full_covariance = bool(full_covariance)
        if self.full_covariance:
            self.offdiag = nn.Parameter(torch.zeros(dim * (dim - 1) // 2, device=dev, dtype=dt))

    def scale_tril(self) -> torch.Tensor:
        """The matrix L (diagonal unless ``full_covariance``)."""
        L = torch.diag(torch.exp(self.log_scale))
        if self.full_covariance and self.latent_dim > 1:
            i, j = torch.tril_indices(self.latent_dim, self.latent_dim, offset=-1)
            L = L.index_put((i.to(L.device), j.to(L.device)), self.offdiag)
        return L

    def forward(self, z):
        if self.full_covariance:
            return self.loc + z @ self.scale_tril().T
        return self.loc + torch.exp(self.log_scale) * z

    @property
    def mean(self) -> torch.Tensor:
        """:math:`\\mu` (detached)."""
        return self.loc.detach().clone()

    @property
    def std(self) -> torch.Tensor:
        """Per-coordinate standard deviations (detached)."""
        L = self.scale_tril().detach()
        return torch.sqrt((L * L).sum(dim=1))


class MLPGenerator(nn.Module):
    """An MLP generator: noise of dimension ``latent_dim`` to samples of dimension ``dim``.

    Parameters
    ----------
    dim : int
        Output dimension d.
    latent_dim : int, optional
        Noise dimension (default ``max(2, dim)``).
    width, depth, activation
        As for :class:`~divest.torch.MLP` (defaults 128, 3, ``"relu"``).
    rng, device, dtype
        As for :class:`~divest.torch.MLP`.

    Examples
    --------
    >>> import torch
    >>> from divest.torch import MLPGenerator
    >>> g = MLPGenerator(2, width=16, rng=0, device="cpu")
    >>> g.latent_dim, g(torch.zeros(3, g.latent_dim)).shape
    (2, torch.Size([3, 2]))
    """

    def __init__(self, dim, *, latent_dim=None, width=128, depth=3, activation="relu", rng=None,
                 device="auto", dtype="float32"):
        super().__init__()
        dim = check_positive_int(dim, "dim")
        self.latent_dim = max(2, dim) if latent_dim is None else check_positive_int(
            latent_dim, "latent_dim")
        self.net = MLP(self.latent_dim, dim, width=width, depth=depth,
                       activation=activation, rng=check_rng(rng), device=device, dtype=dtype)
        self.dim = dim

    def forward(self, z):
        out = self.net(z)
        return out[:, None] if out.dim() == 1 else out
