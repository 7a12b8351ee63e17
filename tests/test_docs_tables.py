"""The docs' generated tables match the registries they are generated from."""

import pathlib
import runpy

import pytest

_DOCS = pathlib.Path(__file__).parent.parent / "docs"
_TABLES = runpy.run_path(str(_DOCS / "make_tables.py"))["tables"]()


@pytest.mark.parametrize("name", sorted(_TABLES))
def test_committed_table_is_up_to_date(name):
    committed = (_DOCS / "tables" / name).read_text()
    assert committed == _TABLES[name], f"run `python docs/make_tables.py` ({name} is stale)"


@pytest.mark.parametrize("name", sorted(_TABLES))
def test_table_is_included_in_the_docs(name):
    text = "".join(p.read_text() for p in _DOCS.glob("*.rst"))
    assert f"tables/{name}" in text
