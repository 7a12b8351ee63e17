"""docs/gan_protocols.rst: its Python blocks run verbatim (a resumed PacGAN-preset run, a
seed ensemble)."""

from pathlib import Path

import pytest
from _common import run_rst_python_blocks

DOC = Path(__file__).resolve().parents[1] / "docs" / "gan_protocols.rst"


def test_gan_page_block_runs():
    pytest.importorskip("torch")
    ns, count = run_rst_python_blocks(DOC, "gan_protocols")
    assert count == 2
    assert ns["longer"].history["step"] == [0, 2, 4, 6, 8, 10, 12]
    assert ns["alone"].history["w1"] == ns["ens"][2].history["w1"]
    assert ns["ens"].summary()["modes_captured"][2] == 4
    assert ns["longer"].config["preset"] == "pacgan"
