"""Write the docs tables generated from the library's registries (run after changing them).

    python docs/make_tables.py

``tests/test_docs_tables.py`` fails when a committed table differs from what the
registries generate, so the docs cannot drift from the code.
"""

import pathlib

HERE = pathlib.Path(__file__).parent / "tables"


def tables() -> dict[str, str]:
    from divest import _methods, _policy
    return {
        "methods.inc": _methods.methods_table(),
        "auto_samples.inc": _policy.rules_table(_policy.SAMPLE_RULES),
        "auto_distributions.inc": _policy.rules_table(_policy.DISTRIBUTION_RULES),
        "auto_mixed.inc": _policy.rules_table(_policy.MIXED_RULES),
        "auto_mi.inc": _policy.rules_table(_policy.MI_RULES),
    }


def main():
    HERE.mkdir(exist_ok=True)
    for name, text in tables().items():
        (HERE / name).write_text(text)
        print(f"wrote docs/tables/{name}")


if __name__ == "__main__":
    main()
