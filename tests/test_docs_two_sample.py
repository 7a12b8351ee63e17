"""docs/two_sample_tests.rst: its code block runs verbatim; its power tables are generated."""

import importlib.util
import json
from pathlib import Path

from _common import run_rst_python_blocks

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "two_sample_tests.rst"


def test_two_sample_page_block_runs():
    ns, count = run_rst_python_blocks(DOC, "two_sample_tests")
    assert count == 1
    # the concentrated quarter of Y is a small-scale difference: the aggregated tests see it
    assert ns["fuse"].pvalue <= 0.01 and ns["agg"].reject
    assert ns["hits"]


def test_power_tables_are_generated_from_the_summary():
    spec = importlib.util.spec_from_file_location("make_docs_tables",
                                                  ROOT / "benchmarks" / "make_docs_tables.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    summary = json.loads(gen.SOURCE_POWER.read_text())
    text = gen._power_module().render_docs(summary)
    assert gen.TARGET_POWER.read_text() == text, (
        "docs/tables/power_curves.inc is out of date: run python benchmarks/make_docs_tables.py")
    e, i, t, k, reps = next(c for c in summary["cells"] if c[0] != "level")   # power cells
    assert f"{k / reps:.3f} ± " in text
