"""The code blocks of docs/hard_data.rst run verbatim, in order."""

from pathlib import Path

from _common import run_rst_python_blocks

DOC = Path(__file__).resolve().parents[1] / "docs" / "hard_data.rst"


def test_hard_data_blocks_run():
    ns, count = run_rst_python_blocks(DOC, "hard_data")
    assert count == 1
    assert ns["est"].details["resolution"] == [[0.1, 0.1], [0.1, 0.1]]


def test_hard_accuracy_page_is_generated_from_the_results():
    import importlib.util
    import json
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "make_docs_tables", root / "benchmarks" / "make_docs_tables.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    results = json.loads(gen.SOURCE_HARD.read_text())
    text = gen.render(results, gen.HEADER_HARD, mean_se=True)
    assert gen.TARGET_HARD.read_text() == text, (
        "docs/tables/accuracy_hard.rst is out of date: run python benchmarks/make_docs_tables.py")
    row = next(r for r in results["rows"] if r["mean_se"] == r["mean_se"])  # a finite SE
    assert f'"{row["truth"]:.4g}", "{row["method"]}"' in text
    assert f'"{row["mean_se"]:.2g}"' in text
