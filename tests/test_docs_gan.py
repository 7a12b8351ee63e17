"""docs/gan_protocols.rst: its Python blocks run verbatim (a resumed PacGAN-preset run, a
seed ensemble), and its tables of the GAN reproductions are generated from the committed
records:

records (``benchmarks/results/gan_*.jsonl``, ``gan_modes_v2/runs/*.jsonl``) -> the
benchmark's markdown report (its ``render_md`` / ``modes_md``) -> the docs page's tables
(``make_docs_tables.markdown_tables_to_rst``).  Each link is checked, and one figure of
each report is recomputed from the records by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _common import docs_tables_generator, run_rst_python_blocks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "gan_protocols.rst"


def _rendered(name, command):
    """(records, report) of benchmarks/<name>.py, checking the committed report is it."""
    module = docs_tables_generator()._benchmark_module(name)
    rows = module.load(RESULTS / f"{name}.jsonl")
    text = module.render_md(rows)
    assert (RESULTS / f"{name}.md").read_text() == text, (
        f"{name}.md is out of date: run python benchmarks/{command}")
    return rows, text


def test_gan_page_block_runs():
    pytest.importorskip("torch")
    ns, count = run_rst_python_blocks(DOC, "gan_protocols")
    assert count == 2
    assert ns["longer"].history["step"] == [0, 2, 4, 6, 8, 10, 12]
    assert ns["alone"].history["w1"] == ns["ens"][2].history["w1"]
    assert ns["ens"].summary()["modes_captured"][2] == 4
    assert ns["longer"].config["preset"] == "pacgan"


def _mean_se(vals, fmt):
    vals = np.asarray(vals, float)
    return f"{fmt.format(vals.mean())} ± {fmt.format(vals.std(ddof=1) / np.sqrt(vals.size))}"


def test_docs_tables_are_the_reports_tables():
    gen = docs_tables_generator()
    for source, target in gen.GAN_REPORTS:
        assert target.read_text() == gen.markdown_tables_to_rst(source), (
            f"{target.relative_to(ROOT)} is out of date: run python "
            "benchmarks/make_docs_tables.py")
        assert f"tables/{target.name}" in DOC.read_text()


def test_markdown_tables_become_list_tables(tmp_path):
    md = tmp_path / "report.md"
    md.write_text("# Title\n\nprose | with a pipe\n\n## ring\n\n| a | b \\| c | d |\n|---|---|---|\n"
                  "| `x` | 1 ± 0 |  |\n| y | **2** | 3 |\n\nmore prose\n")
    gen = docs_tables_generator()
    gen_root = gen.ROOT
    try:
        gen.ROOT = tmp_path
        text = gen.markdown_tables_to_rst(md)
    finally:
        gen.ROOT = gen_root
    assert text.splitlines()[2:] == [
        "", ".. list-table:: ring (``report.md``)", "   :header-rows: 1", "",
        "   * - a", "     - b \\| c", "     - d",
        "   * - ``x``", "     - 1 ± 0", "     -",
        "   * - y", "     - **2**", "     - 3"]


def test_unrolled_report_is_rendered_from_its_records():
    rows, text = _rendered("gan_unrolled", "gan_unrolled.py --report")
    # the unrolled runs on the notebook-scale ring, by hand: both mode rules and HQ %
    mine = sorted((r for r in rows if r.get("dataset") == "pacgan_ring"
                   and r["unrolled_steps"] == 5
                   and r.get("schedule", "alternating") == "alternating"),
                  key=lambda r: r["seed"])
    assert len(mine) == 5
    row = next(line for line in text.splitlines()
               if line.startswith("| pacgan_ring | minimax | alternating | 5 |"))
    assert _mean_se([r["modes_captured"] for r in mine], "{:.1f}") in row
    assert "/".join(str(int(r["modes_captured_20"])) for r in mine) in row
    assert _mean_se([100 * r["high_quality"] for r in mine], "{:.1f}") in row


def test_pacgan_report_is_rendered_from_its_records():
    rows, text = _rendered("gan_pacgan", "gan_pacgan.py report")
    # the plain GAN on the grid, on each device, by hand: each seed's curve from the
    # longest record holding it, read at the last step every seed reached
    devices = {r["device"].split(":")[0] for r in rows
               if r["dataset"] == "pacgan_grid" and r["pack"] == 1}
    assert devices
    for device in devices:
        mine = [r for r in rows if r["dataset"] == "pacgan_grid" and r["pack"] == 1
                and r["device"].split(":")[0] == device]
        longest = {}
        for r in mine:
            for i, seed in enumerate(r["seeds"]):
                if seed not in longest or r["steps"] > longest[seed]["steps"]:
                    longest[seed] = {"steps": r["steps"], "curve": r["curves"][i]}
        steps = min(v["steps"] for v in longest.values())
        modes = [c["modes_captured"][c["step"].index(steps)]
                 for c in (longest[s]["curve"] for s in sorted(longest)) if c]
        row = next(line for line in text.splitlines() if line.startswith(
            f"| grid | 1 | {steps:,} | {len(modes)} | {device} |"))
        assert _mean_se(modes, "{:.1f}") in row
        assert "| 17.3 ± 0.8 |" in row                     # PacGAN's Table 1


def test_modes_report_is_rendered_from_its_records():
    pytest.importorskip("torch")
    modes = docs_tables_generator()._benchmark_module("gan_modes")
    runs = RESULTS / "gan_modes_v2" / "runs"
    text = modes.modes_md([str(runs)])
    assert (RESULTS / "gan_modes_v2" / "modes.md").read_text() == text, (
        "gan_modes_v2/modes.md is out of date: run python benchmarks/gan_modes.py report "
        "benchmarks/results/gan_modes_v2/runs --out benchmarks/results/gan_modes_v2")
    # the minimax loss on the grid, by hand from the records: modes >= 1 and HQ %
    rows = [json.loads(line) for path in sorted(runs.glob("runs_*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]
    mine = {r["seed"]: r for r in rows if r["loss"] == "minimax" and r["dataset"] == "grid"}
    grid = text.split("## grid")[1]
    row = next(line for line in grid.splitlines() if line.startswith("| minimax |"))
    ordered = [mine[s] for s in sorted(mine)]
    assert _mean_se([r["modes_1"] for r in ordered], "{:.1f}") in row
    assert _mean_se([100 * r["high_quality_2500"] for r in ordered], "{:.1f}") in row
    assert "/".join(str(r["modes_1"]) for r in ordered) in row
