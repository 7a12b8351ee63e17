"""docs/scaling_out.rst: its Python block runs verbatim (a Dask LocalCluster included);
its table is generated from benchmarks/results/scaling.jsonl."""

from pathlib import Path

import pytest
from _common import docs_tables_generator, run_rst_python_blocks

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "scaling_out.rst"


def test_scaling_page_block_runs():
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    ns, count = run_rst_python_blocks(DOC, "scaling_out")
    assert count == 1
    assert ns["power"].rate > 0.5 and ns["power"].n_repetitions == 40


def test_scaling_table_is_generated_from_the_results():
    gen = docs_tables_generator()
    scaling = gen._benchmark_module("scaling")
    assert gen.TARGET_SCALING.read_text() == scaling.render_docs(scaling.read_rows()), (
        "docs/tables/scaling.inc is out of date: run python benchmarks/make_docs_tables.py")
