"""The golden snapshot of estimates holds (see tests/golden_snapshot.py).

The default run recomputes the exact side of every reference pair and the sample
estimators on three pairs at n = 300; ``-m slow`` recomputes every case.  Records must
agree to 1e-9 relative (bit-identical on the machine that wrote them; the tolerance only
absorbs another CPU's floating-point code paths) and raise the same error types.
"""

import math
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import golden_snapshot as golden  # noqa: E402

_REL = 1e-9


def _close(a, b):
    if a is None or b is None:
        return a is b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= _REL * max(1.0, abs(a), abs(b))


def _agree(new, old):
    if new.keys() != old.keys():
        return False
    for k in new:
        if k in ("value", "se"):
            if not _close(new[k], old[k]):
                return False
        elif k == "ci":
            if not all(_close(u, v) for u, v in zip(new[k], old[k])):
                return False
        elif new[k] != old[k]:
            return False
    return True


@pytest.fixture(scope="module")
def snapshot():
    return golden.load()


def _check(cases, snapshot):
    bad = [(k, v, snapshot.get(k)) for k, v in cases.items()
           if k not in snapshot or not _agree(v, snapshot[k])]
    assert not bad, f"{len(bad)} of {len(cases)} golden cases changed, e.g. {bad[:3]}"


def test_golden_exact_side(snapshot):
    from divest import reference
    cases = {}
    for p in reference.pairs():
        cases.update(golden.exact_cases(p))
    _check(cases, snapshot)


@pytest.mark.parametrize("pair", ["normal-1-2", "mean-shift-d2", "t3-normal"])
def test_golden_sample_estimators(pair, snapshot):
    _check(golden.sample_cases(pair, 300, 0), snapshot)


@pytest.mark.slow
def test_golden_every_case(snapshot):
    _check(golden.compute(n_jobs=2), snapshot)


def test_golden_comparison_can_fail(snapshot):
    key = next(k for k, v in snapshot.items() if "value" in v and math.isfinite(v["value"]))
    moved = {**snapshot[key], "value": snapshot[key]["value"] * (1 + 1e-6) + 1e-9}
    assert not _agree(moved, snapshot[key])
