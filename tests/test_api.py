"""The public API: every exported name imports, and __all__ lists are sorted."""

import importlib
import importlib.util

import pytest

import divest

MODULES = ["divest", "divest.fdiv", "divest.exact", "divest.distributions", "divest.reference",
           "divest.estimators", "divest.ipm", "divest.streaming", "divest.twosample", "divest.testing",
           "divest.testing.strategies",
           pytest.param("divest.torch", marks=pytest.mark.skipif(
               importlib.util.find_spec("torch") is None, reason="torch not installed"))]


@pytest.mark.parametrize("modname", MODULES)
def test_all_names_import_and_are_sorted(modname):
    mod = importlib.import_module(modname)
    names = mod.__all__
    assert list(names) == sorted(names), f"{modname}.__all__ is not sorted"
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(mod, name) is not None, name
    ns = {}
    exec(f"from {modname} import *", ns)
    assert set(names) <= set(ns)


def test_design_contract_names():
    for name in ["fdivergences", "get_fdivergence", "register_fdivergence", "discrete_divergence",
                 "divergence", "crosscheck", "Estimate", "FDivergence"]:
        assert name in divest.__all__
    for name in ["closed_form", "register_closed_form", "quadrature", "monte_carlo"]:
        assert name in divest.exact.__all__
    assert "Mixture" in divest.distributions.__all__


def test_import_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, divest; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
