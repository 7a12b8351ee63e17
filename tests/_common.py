"""Names and constants shared by the test modules."""

import math

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)

#: every registered f-divergence, families at several parameters
F_NAMES = ["kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "jeffreys", "js",
           "js_weighted(pi=0.25)", "js_weighted(pi=0.5)", "js_weighted(pi=0.8)", "gan", "tv",
           "alpha(alpha=-1)", "alpha(alpha=0.5)", "alpha(alpha=2)", "alpha(alpha=3)"]
#: the density-based quantities that are not f-divergences
OTHER_NAMES = ["renyi(alpha=0.5)", "renyi(alpha=2)", "renyi(alpha=3)", "tsallis(alpha=0.5)",
               "tsallis(alpha=2)", "bhattacharyya"]


def rst_python_blocks(path):
    """``(line, code)`` of every ``.. code-block:: python`` of a reStructuredText page, in
    order, with the directive's three-space indent removed."""
    import re
    from pathlib import Path
    text = Path(path).read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 1,
             "\n".join(line[3:] for line in m.group(1).splitlines()))
            for m in re.finditer(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text,
                                 flags=re.M)]


def run_rst_python_blocks(path, namespace_name):
    """Run every Python block of the page in one namespace (verbatim); return it and the
    number of blocks."""
    from pathlib import Path
    blocks = rst_python_blocks(path)
    ns = {"__name__": namespace_name}
    for line, code in blocks:
        exec(compile(code, f"{Path(path).name}, block at line {line}", "exec"), ns)
    return ns, len(blocks)


def docs_tables_generator():
    """benchmarks/make_docs_tables.py as a module (the docs' generated measurement pages)."""
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "make_docs_tables", root / "benchmarks" / "make_docs_tables.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen
