"""The code blocks of docs/hard_data.rst run verbatim, in order."""

from pathlib import Path

from _common import docs_tables_generator, run_rst_python_blocks

DOC = Path(__file__).resolve().parents[1] / "docs" / "hard_data.rst"


def test_hard_data_blocks_run():
    ns, count = run_rst_python_blocks(DOC, "hard_data")
    assert count == 1
    assert ns["est"].details["resolution"] == [[0.1, 0.1], [0.1, 0.1]]


def test_hard_accuracy_page_is_generated_from_the_results():
    import json
    gen = docs_tables_generator()
    results = json.loads(gen.SOURCE_HARD.read_text())
    text = gen.render(results, gen.HEADER_HARD, mean_se=True)
    assert gen.TARGET_HARD.read_text() == text, (
        "docs/tables/accuracy_hard.rst is out of date: run python benchmarks/make_docs_tables.py")
    row = next(r for r in results["rows"] if r["mean_se"] == r["mean_se"])  # a finite SE
    assert f'"{row["truth"]:.4g}", "{row["method"]}"' in text
    assert f'"{row["mean_se"]:.2g}"' in text


def test_coverage_page_is_generated_from_the_results():
    gen = docs_tables_generator()
    coverage = gen._benchmark_module("coverage_hard")
    rows = coverage.read_rows(gen.SOURCE_COVERAGE)
    assert gen.TARGET_COVERAGE.read_text() == coverage.render_docs(rows), (
        "docs/tables/coverage_hard.inc is out of date: run python benchmarks/make_docs_tables.py")
    # the Wilson interval is the binomial one: 99 of 100 covered lies in (0.94, 1.0)
    lo, hi = coverage.wilson(99, 100)
    assert 0.94 < lo < 0.96 and hi > 0.99
    assert all(r["coverage"] == r["covered"] / r["reps"] and r["closed"] <= r["reps"]
               for r in rows)
