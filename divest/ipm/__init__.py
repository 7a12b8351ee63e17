"""Integral probability metrics between samples: Wasserstein, MMD, energy distance.

X ~ P has shape (n, d) and Y ~ Q shape (m, d); 1-D input is taken as (n, 1).

* :func:`wasserstein` — W_p through POT's exact solver, 1-D sorting, or named
  approximations (debiased Sinkhorn divergence, sliced Wasserstein);
* :func:`mmd` — the squared maximum mean discrepancy MMD² (biased, unbiased,
  linear-time and block estimators);
* :func:`energy_distance` — the (squared) energy distance in any dimension;
* :func:`kernel_matrix`, :func:`median_bandwidth` — kernels (:data:`KERNELS`) and the
  median heuristic.
"""

from ._energy import energy_distance
from ._kernels import KERNELS, kernel_matrix, median_bandwidth
from ._mmd import mmd
from ._wasserstein import wasserstein

__all__ = ["KERNELS", "energy_distance", "kernel_matrix", "median_bandwidth", "mmd",
           "wasserstein"]
