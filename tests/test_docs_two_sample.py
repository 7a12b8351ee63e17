"""docs/two_sample_tests.rst: its code block runs verbatim; its power tables are generated."""

import json
from pathlib import Path

from _common import docs_tables_generator, run_rst_python_blocks

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "two_sample_tests.rst"


def test_two_sample_page_block_runs():
    ns, count = run_rst_python_blocks(DOC, "two_sample_tests")
    assert count == 1
    # the concentrated quarter of Y is a small-scale difference: the aggregated tests see it
    assert ns["fuse"].pvalue <= 0.01 and ns["agg"].reject
    assert ns["hits"]


def test_power_tables_are_generated_from_the_summary():
    gen = docs_tables_generator()
    summary = json.loads(gen.SOURCE_POWER.read_text())
    text = gen._power_module().render_docs(summary)
    assert gen.TARGET_POWER.read_text() == text, (
        "docs/tables/power_curves.inc is out of date: run python benchmarks/make_docs_tables.py")
    e, i, t, k, reps = next(c for c in summary["cells"] if c[0] != "level")   # power cells
    assert f"{k / reps:.3f} ± " in text


def test_learned_table_is_generated_from_the_records():
    gen = docs_tables_generator()
    learned = gen._benchmark_module("learned_tests")
    rows = learned.load(gen.SOURCE_LEARNED)
    text = learned.render_docs(rows)
    assert gen.TARGET_LEARNED.read_text() == text, (
        "docs/tables/learned_tests.inc is out of date: run python benchmarks/make_docs_tables.py")
    assert "tables/learned_tests.inc" in DOC.read_text()
    # the power of a row is its rejections over its test pairs, with the binomial SE
    blob = [r for r in rows if r["problem"] == "blob" and r["N"] == 360
            and "mmd_deep" in r["rejections"]]
    k = sum(r["rejections"]["mmd_deep"] for r in blob)
    tot = sum(r["n_tests"] for r in blob)
    p = k / tot
    assert f"{p:.3f} ± {(p * (1 - p) / tot) ** 0.5:.3f}" in text
