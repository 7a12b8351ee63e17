"""Sphinx configuration for divest.

Two pages are generated from the library at build time, so that they cannot drift
from the code:

* ``_autogen/fdiv_table.rst`` -- the table of f-divergences, from the registry
  (:func:`divest.fdivergences`), included by ``fdivergences.rst``;
* ``_autogen/api_sections.rst`` -- the API reference, from the ``__all__`` of
  ``divest`` and of each public submodule, included by ``api.rst``.  The
  autosummary stub pages for it are written to ``generated/``.

Both folders are ignored by git.  Build with::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import pkgutil
import sys
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger("divest.docs")

HERE = Path(__file__).resolve().parent
AUTOGEN = HERE / "_autogen"
GENERATED = HERE / "generated"

# The docs document the checkout they live in, installed or not.
sys.path.insert(0, str(HERE.parent))

import divest  # noqa: E402

# -- project information ----------------------------------------------------------

project = "divest"
author = "the divest developers"
copyright = "the divest developers"
try:
    from importlib.metadata import version as _dist_version

    release = _dist_version("divest")
except Exception:  # not installed: read nothing, claim nothing
    release = "unknown"
version = release

# -- general configuration --------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # formulas render offline: MathJax 3 ships in the wheel of sphinx-mathjax-offline (the
    # ``docs`` extra), is copied to _static/mathjax and mathjax_path points there, not to a CDN
    "sphinx-mathjax-offline",
    "numpydoc",
]

templates_path = ["_templates"]
# _autogen/ holds fragments that are included, not documents of their own.
exclude_patterns = ["_build", "_autogen", "Thumbs.db", ".DS_Store"]
root_doc = "index"

autosummary_generate = True
autosummary_generate_overwrite = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML -------------------------------------------------------------------------

html_theme = "alabaster"
html_theme_options = {
    "description": "divergences, estimated and cross-checked",
    "fixed_sidebar": True,
    "page_width": "1320px",
    "sidebar_width": "220px",
    "body_max_width": "none",
}
html_static_path = ["_static"]  # _static/custom.css is picked up by alabaster
html_title = f"divest {release}"


# =================================================================================
# Generated page 1: the table of f-divergences, straight from the registry.

#: Example parameters for the families in the registry.  A family added to the
#: registry without an entry here makes the build fail with a message saying so.
FAMILY_EXAMPLE_PARAMS: dict[str, dict[str, float]] = {
    "js_weighted": {"pi": 0.5},
    "alpha": {"alpha": 0.5},
}


def _rst_cell_literal(text: str) -> str:
    return f"``{text}``"


def _fmt_number(x: float) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if math.isnan(x):
        return "nan"
    if x == 0:
        return "0"  # also -0.0
    return f"{x:.6g}".replace("-", "−")


def write_fdiv_table() -> Path:
    """Write ``_autogen/fdiv_table.rst``: one row per registered f-divergence."""
    rows = []
    notes = []
    for name in divest.fdivergences():
        params = FAMILY_EXAMPLE_PARAMS.get(name, {})
        try:
            fd = divest.get_fdivergence(name, **params)
        except (ValueError, TypeError) as exc:
            logger.warning(
                "docs/conf.py: cannot instantiate f-divergence %r for the table (%s); "
                "add example parameters to FAMILY_EXAMPLE_PARAMS in docs/conf.py",
                name, exc,
            )
            continue
        label = f"``{name}``"
        if params:
            shown = ", ".join(f"{k} = {v:g}" for k, v in params.items())
            label += f" ({shown})"
            notes.append(f"``{name}`` is a family; its row is for {shown}.")
        integral = fd.integral.strip().replace("`", "'")
        rows.append([
            label,
            f":math:`{integral}`" if integral else "(not stated)",
            _rst_cell_literal(repr(fd.conjugate_domain)),
            _rst_cell_literal(repr(fd.value_range)),
            _fmt_number(fd.f_one),
            _fmt_number(fd.f_zero),
            _fmt_number(fd.f_infinity),
            ", ".join(k for k, on in (("symmetric", fd.symmetric),
                                      ("logarithmic", fd.logarithmic)) if on) or "–",
        ])

    header = [
        "name", "D_f(P‖Q)", "dom f*", "value range",
        "f(1)", "f(0)", "f′(∞)", "properties",
    ]
    lines = [
        ".. This file is generated by docs/conf.py from divest.fdivergences(); do not edit.",
        "",
        ".. list-table:: Registered f-divergences (generated from the registry)",
        "   :header-rows: 1",
        "   :widths: auto",
        "   :class: fdiv-table",
        "",
    ]
    for row in [header, *rows]:
        first = True
        for cell in row:
            lines.append(f"   {'*' if first else ' '} - {cell}")
            first = False
    lines.append("")
    if notes:
        lines.append("Family parameters used in this table: " + " ".join(notes))
        lines.append("")
    AUTOGEN.mkdir(exist_ok=True)
    out = AUTOGEN / "fdiv_table.rst"
    _write_if_changed(out, "\n".join(lines) + "\n")
    return out


# =================================================================================
# Generated page 2: the API reference, from the __all__ lists.

#: Submodules documented first, in this order; any other public submodule of
#: divest that defines ``__all__`` follows in alphabetical order.
MODULE_ORDER = [
    "divest.fdiv",
    "divest.exact",
    "divest.distributions",
    "divest.reference",
    "divest.crosscheck",
    "divest.estimators",
    "divest.ipm",
    "divest.twosample",
    "divest.streaming",
    "divest.testing",
    "divest.testing.strategies",
    "divest.torch",
    "divest.cli",
]

MODULE_TITLES = {
    "divest": "Top-level API (``import divest as dv``)",
    "divest.fdiv": "f-divergences and the registry (``divest.fdiv``)",
    "divest.exact": "Exact values (``divest.exact``)",
    "divest.distributions": "Distributions (``divest.distributions``)",
    "divest.reference": "Reference pairs (``divest.reference``)",
    "divest.crosscheck": "Cross-checks (``divest.crosscheck``)",
    "divest.estimators": "Sample-based estimators (``divest.estimators``)",
    "divest.ipm": "Integral probability metrics (``divest.ipm``)",
    "divest.twosample": "Two-sample tests (``divest.twosample``)",
    "divest.streaming": "Out-of-core statistics (``divest.streaming``)",
    "divest.testing": "Testing helpers (``divest.testing``)",
    "divest.testing.strategies": "Hypothesis strategies (``divest.testing.strategies``)",
    "divest.torch": "PyTorch backend (``divest.torch``, optional extra)",
    "divest.cli": "Command line (``divest.cli``)",
}

#: Documented even before ``divest.__all__`` exists (the fallback below).
TOP_LEVEL_FALLBACK = [
    "Estimate", "FDivergence", "discrete_divergence", "fdivergences",
    "get_fdivergence", "register_fdivergence",
]


def _import_optional(modname: str):
    """Import a submodule; ``None`` if it does not exist or needs a missing extra."""
    try:
        return importlib.import_module(modname)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        absent = missing == modname or modname.startswith(missing + ".")
        if absent or (missing and not missing.startswith("divest")):
            # the module does not exist yet, or an optional dependency (torch) is absent
            logger.info("docs/conf.py: not documenting %s (%s)", modname, exc)
            return None
        raise


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    if module is divest:
        # until divest.__all__ exists: the curated names plus whatever divest's own
        # submodules export at the top level
        found = [n for n in dir(module) if not n.startswith("_")
                 and not inspect.ismodule(getattr(module, n))
                 and (getattr(getattr(module, n), "__module__", "") or "").startswith("divest")]
        return sorted(set(TOP_LEVEL_FALLBACK) | set(found))
    return []


def _discover_submodules() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(divest.__path__, prefix="divest.",
                                      onerror=lambda name: None):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        if len(parts) > 3:
            continue
        found.append(info.name)
    return found


def _api_sections() -> list[tuple[str, object, list[str]]]:
    """(module name, module, documented names) for every public module."""
    order = ["divest"] + MODULE_ORDER
    rest = sorted(set(_discover_submodules()) - set(order))
    seen_objects: set[int] = set()
    sections = []
    queue = list(order) + rest
    done: set[str] = set()
    while queue:
        modname = queue.pop(0)
        if modname in done:
            continue
        done.add(modname)
        module = divest if modname == "divest" else _import_optional(modname)
        if module is None or (modname != "divest" and not hasattr(module, "__all__")):
            continue
        names = []
        for name in _public_names(module):
            if not hasattr(module, name):
                logger.warning("docs/conf.py: %s.__all__ names %r, which does not exist",
                               modname, name)
                continue
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                if obj.__name__.startswith("divest") and obj.__name__ not in done:
                    queue.append(obj.__name__)
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj) or callable(obj)):
                # constants and other data: documented by their module's docstring
                continue
            if id(obj) in seen_objects:  # re-exported; documented where first listed
                continue
            seen_objects.add(id(obj))
            names.append(name)
        if names:
            sections.append((modname, module, names))
    return sections


def write_api_sections(sections) -> Path:
    """Write ``_autogen/api_sections.rst``: one autosummary table per module."""
    lines = [
        ".. This file is generated by docs/conf.py from the __all__ lists; do not edit.",
        "",
    ]
    documented = {f"{mod}.{name}" for mod, _m, names in sections for name in names}
    for modname, module, names in sections:
        title = MODULE_TITLES.get(modname, f"``{modname}``")
        lines += [title, "-" * (len(title) + 4), ""]
        lines += [f".. automodule:: {modname}", "   :no-members:"]
        if modname in documented:
            # e.g. the function divest.crosscheck shadows the module divest.crosscheck:
            # show the module's docstring without a second index entry for the name
            lines.append("   :no-index:")
        lines += ["", f".. currentmodule:: {modname}", ""]
        lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names]
        lines.append("")
    AUTOGEN.mkdir(exist_ok=True)
    out = AUTOGEN / "api_sections.rst"
    _write_if_changed(out, "\n".join(lines) + "\n")
    return out


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate_api_stubs(app) -> None:
    """Write the autosummary stubs for the included API fragment into ``generated/``.

    autosummary only scans documents for its directives, and ``_autogen/`` holds
    included fragments, so the stubs for ``api_sections.rst`` are generated here.
    """
    from sphinx.ext.autosummary.generate import generate_autosummary_docs

    generate_autosummary_docs(
        [str(AUTOGEN / "api_sections.rst")],
        output_dir=str(GENERATED),
        app=app,
        imported_members=False,
        overwrite=True,
    )


def _prune_stale_stubs(sections) -> None:
    """Remove stub pages of names that are no longer documented (renamed, removed)."""
    if not GENERATED.is_dir():
        return
    wanted = {f"{mod}.{name}" for mod, _m, names in sections for name in names}
    for stub in GENERATED.glob("*.rst"):
        if stub.stem not in wanted:
            stub.unlink()


def setup(app):
    write_fdiv_table()
    sections = _api_sections()
    write_api_sections(sections)
    _prune_stale_stubs(sections)
    # before autosummary's own builder-inited handler (priority 500)
    app.connect("builder-inited", _generate_api_stubs, priority=400)
    return {"parallel_read_safe": True}
