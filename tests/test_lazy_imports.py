"""``import divest`` loads no optional or heavy test-only dependency."""

import subprocess
import sys

import pytest

HEAVY = ("hypothesis", "matplotlib", "torch")


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_import_divest_loads_no_hypothesis_matplotlib_or_torch():
    loaded = _run("import sys, divest\n"
                  f"print(*[m for m in {HEAVY!r} if m in sys.modules] or ['none'])")
    assert loaded == ["none"]


def test_running_the_main_entry_points_loads_none_of_them():
    # the public names, the command-line parser and the crosscheck module (whose plot
    # imports matplotlib only when it draws)
    loaded = _run("import sys, divest, divest.cli, divest._crosscheck\n"
                  "divest.cli._parser()\n"
                  "[getattr(divest, name) for name in divest.__all__ if name != 'testing']\n"
                  f"print(*[m for m in {HEAVY!r} if m in sys.modules] or ['none'])")
    assert loaded == ["none"]


def test_divest_testing_loads_on_attribute_access():
    pytest.importorskip("hypothesis")
    out = _run("import sys, divest\n"
               "assert 'testing' in divest.__all__ and 'testing' in dir(divest)\n"
               "print('hypothesis' in sys.modules)\n"
               "print(callable(divest.testing.check_divergence))\n"
               "print(divest.testing.strategies.__name__)\n"
               "print('hypothesis' in sys.modules)")
    assert out == ["False", "True", "divest.testing.strategies", "True"]


def test_divest_testing_assert_helpers_need_no_hypothesis():
    out = _run("import sys\n"
               "from divest.testing import assert_nonnegative, PmfPair\n"
               "import divest.testing as t\n"
               "print('hypothesis' in sys.modules, 'check_divergence' in dir(t))")
    assert out == ["False", "True"]


def test_unknown_attributes_still_raise():
    import divest
    import divest.testing
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        divest.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        divest.testing.nope  # noqa: B018
