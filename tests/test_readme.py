"""The README's code blocks run verbatim, and its shell commands name things that exist."""

import importlib.util
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from divest import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _blocks(lang):
    """``(line number, code)`` of every fenced block of ``lang`` in README.md, in order."""
    text = README.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
        if m.group(1) == lang:
            out.append((text[:m.start()].count("\n") + 1, m.group(2)))
    return out


def _needs_torch(code):
    return "divest.torch" in code


def _run(blocks, namespace):
    for line, code in blocks:
        exec(compile(code, f"README.md, block at line {line}", "exec"), namespace)


@pytest.fixture(scope="module")
def namespace():
    """The namespace after every python block that does not need torch, run in order."""
    ns = {"__name__": "readme"}
    blocks = [b for b in _blocks("python") if not _needs_torch(b[1])]
    # the blocks share one namespace, as a reader running them in order would; running
    # the torch blocks last is the same order only if no other block uses their names
    assert not any("dt." in code for _, code in blocks), "a non-torch block uses torch names"
    _run(blocks, ns)
    return ns


def test_readme_has_the_expected_blocks():
    py = _blocks("python")
    assert len(py) >= 4
    assert any(_needs_torch(code) for _, code in py)


def test_python_blocks_run_verbatim(namespace):
    # spot checks of what the README says the blocks give
    import divest as dv
    assert namespace["dv"] is dv
    assert namespace["X"].shape == namespace["Y"].shape == (2000, 2)
    assert namespace["est"].method == "quadrature"
    assert namespace["chi"].name == "pearson" and namespace["chi"].method == "knn"
    assert 0 <= namespace["res"].pvalue <= 1


def test_torch_block_runs_verbatim(namespace):
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: the README's torch block needs the torch extra")
    ns = dict(namespace)
    _run([b for b in _blocks("python") if _needs_torch(b[1])], ns)
    names = ns["dt"].gan_losses()
    assert "wgan_gp" in names and all(isinstance(n, str) for n in names)
    assert ns["run"].sample(5).shape == (5, 2)


def _extras():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return set(tomllib.load(fh)["project"]["optional-dependencies"])


def _markers():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return {m.split(":")[0] for m in tomllib.load(fh)["tool"]["pytest"]["ini_options"]
                ["markers"]}


def _check_command(words):
    """Raise AssertionError unless the command and its arguments exist."""
    prog, args = words[0], words[1:]
    if prog == "pip":
        assert args[0] == "install", words
        for arg in args[1:]:
            if arg == "-e":
                continue
            m = re.fullmatch(r"\.(?:\[([\w,]+)\])?", arg)
            if m:  # the project itself, with extras that must exist
                extras = set(m.group(1).split(",")) if m.group(1) else set()
                assert extras <= _extras(), (words, extras - _extras())
            else:
                assert re.fullmatch(r"[A-Za-z0-9_.-]+(==[\w.]+)?", arg), words
    elif prog == "divest":
        if args[:1] == ["gan"]:
            pytest.importorskip("torch")
            from divest.torch._compare import main as gan_main
            with pytest.raises(SystemExit) as exc:
                gan_main(args[1:] + ["--help"])
            assert exc.value.code == 0
        else:
            cli._parser().parse_args(args)  # SystemExit(2) on an unknown option
    elif prog == "python":
        assert args[:2] == ["-m", "pytest"], words
        assert importlib.util.find_spec("pytest") is not None
        rest = args[2:]
        if "-m" in rest:
            assert rest[rest.index("-m") + 1] in _markers(), words
        for path in (a for a in rest if a.startswith("tests/")):
            assert (ROOT / path).exists(), words
    elif prog == "sphinx-build":
        assert importlib.util.find_spec("sphinx") is not None
        assert "docs" in args and (ROOT / "docs" / "conf.py").exists(), words
    else:
        raise AssertionError(f"README names a command the test does not know: {words}")


def _commands(code):
    for line in code.splitlines():
        for part in line.split("&&"):
            if part.strip():
                yield shlex.split(part)


def test_bash_blocks_name_commands_that_exist():
    blocks = _blocks("bash")
    assert blocks
    for _, code in blocks:
        for words in _commands(code):
            _check_command(words)
    # inline commands in the text, e.g. `python -m pytest tests/test_torch_cuda.py`
    for cmd in re.findall(r"`((?:python -m pytest|divest) [^`]*)`",
                          README.read_text(encoding="utf-8")):
        _check_command(shlex.split(cmd))


def test_quick_start_installs_and_runs_crosscheck_then_the_tests():
    (_, first), (_, second) = _blocks("bash")[:2]
    first, second = list(_commands(first)), list(_commands(second))
    assert first[0][:2] == ["pip", "install"] and first[-1] == ["divest", "crosscheck"]
    assert second[-1] == ["python", "-m", "pytest"]
    assert any(w[:2] == ["pip", "install"] and any("dev" in a for a in w) for w in second)


def test_check_command_rejects_what_does_not_exist():
    for words in (["pip", "install", "-e", ".[nope]"], ["python", "-m", "pytest", "-m", "nope"],
                  ["frobnicate"]):
        with pytest.raises(AssertionError):
            _check_command(words)
    with pytest.raises(SystemExit):
        _check_command(["divest", "crosscheck", "--no-such-option"])
