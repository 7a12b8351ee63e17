"""docs/two_sample_tests.rst: its code block runs verbatim; its power tables are generated."""

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "two_sample_tests.rst"


def test_two_sample_page_block_runs():
    text = DOC.read_text(encoding="utf-8")
    blocks = list(re.finditer(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text,
                              flags=re.M))
    assert len(blocks) == 1
    ns = {"__name__": "two_sample_tests"}
    code = "\n".join(line[3:] for line in blocks[0].group(1).splitlines())
    exec(compile(code, "two_sample_tests.rst", "exec"), ns)
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
    e, i, t, k, reps = summary["cells"][0]
    assert f"{k / reps:.3f} ± " in text
