"""The code blocks of docs/hard_data.rst run verbatim, in order."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "hard_data.rst"


def test_hard_data_blocks_run():
    text = DOC.read_text(encoding="utf-8")
    blocks = [m for m in re.finditer(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text,
                                     flags=re.M)]
    assert len(blocks) == 1
    ns = {"__name__": "hard_data"}
    for m in blocks:
        code = "\n".join(line[3:] for line in m.group(1).splitlines())
        line = text[:m.start()].count("\n") + 1
        exec(compile(code, f"hard_data.rst, block at line {line}", "exec"), ns)
    assert ns["est"].details["resolution"] == [[0.1, 0.1], [0.1, 0.1]]
