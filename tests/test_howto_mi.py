"""The code blocks of docs/howto_mi_bounds.rst run verbatim, in order."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "howto_mi_bounds.rst"


def _blocks():
    text = DOC.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text, flags=re.M):
        code = "\n".join(line[3:] for line in m.group(1).splitlines())
        out.append((text[:m.start()].count("\n") + 1, code))
    return out


def test_howto_blocks_run():
    pytest.importorskip("torch")
    blocks = _blocks()
    assert len(blocks) == 5
    ns = {"__name__": "howto"}
    for line, code in blocks:
        exec(compile(code, f"howto_mi_bounds.rst, block at line {line}", "exec"), ns)
    assert ns["est"].is_lower_bound
    assert 0 <= ns["solved"] <= 5
