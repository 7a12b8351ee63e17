"""The code blocks of docs/howto_mi_bounds.rst run verbatim, in order."""

from pathlib import Path

import pytest
from _common import rst_python_blocks

DOC = Path(__file__).resolve().parents[1] / "docs" / "howto_mi_bounds.rst"


def _blocks():
    return rst_python_blocks(DOC)


def test_howto_blocks_run():
    pytest.importorskip("torch")
    blocks = _blocks()
    assert len(blocks) == 5
    ns = {"__name__": "howto"}
    for line, code in blocks:
        exec(compile(code, f"howto_mi_bounds.rst, block at line {line}", "exec"), ns)
    assert ns["est"].is_lower_bound
    assert 0 <= ns["solved"] <= 5
