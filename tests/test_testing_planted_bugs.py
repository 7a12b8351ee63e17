"""Proof that divest.testing catches wrong divergence code.

Each entry of PLANTED is a deliberately wrong implementation next to the correct one and
the check a user would run on both.  The tests assert that the check raises an
AssertionError naming the property that caught the bug (with the message the user sees)
and that the correct implementation passes the very same check.

``benchmarks/planted_bugs.py`` loads PLANTED from this file and tabulates which property
caught each bug and after how many examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from scipy import special
from scipy.spatial import cKDTree

from divest.testing import PropertyFailure, check_conjugate, check_divergence

# ------------------------------------------------------------------------------------
# implementations, each with its planted bug behind a flag


def kl(p, q):
    return float(special.rel_entr(p, q).sum())


def kl_swapped_arguments(p, q):
    return float(special.rel_entr(q, p).sum())  # BUG: D(Q || P)


def _js(p, q, half=True):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    m = 0.5 * (p + q)
    total = special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()
    return float(0.5 * total if half else total)  # BUG (half=False): 2 JS


def js(p, q):
    return _js(p, q)


def js_without_half(p, q):
    return _js(p, q, half=False)


def _kl_with(log):
    def kl_log(p, q):
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        s = p > 0
        with np.errstate(divide="ignore"):
            return float(np.sum(p[s] * log(p[s] / q[s])))
    return kl_log


kl_natural_log = _kl_with(np.log)
kl_log2 = _kl_with(np.log2)  # BUG: bits, while the function claims nats


def pearson_f(u):
    return (u - 1.0) ** 2


def pearson_conjugate(t):
    # sup_{u >= 0} tu - (u-1)^2: u = 1 + t/2 for t >= -2, else u = 0
    return np.where(t >= -2.0, t + 0.25 * t * t, -1.0)


def pearson_conjugate_wrong_sign(t):
    return np.where(t >= -2.0, t - 0.25 * t * t, -1.0)  # BUG: the sign of t^2/4


def _wkv_kl(X, Y, k=3, off_by_one=False):
    r"""Wang-Kulkarni-Verdu fixed-k KL: d mean log(nu_k / rho_l) + psi(l) - psi(k) + log(m/(n-1)),
    l = k.  The query within X asks for k + 1 neighbours because the point itself comes
    first; the bug carries that + 1 into the digamma term, psi(l + 1)."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    n, d = X.shape
    m = len(Y)
    rho = cKDTree(X).query(X, k=k + 1)[0][:, k]
    nu = cKDTree(Y).query(X, k=k)[0][:, k - 1]
    rank = k + 1 if off_by_one else k  # BUG (off_by_one): the self-match counted in l
    return float(d * np.mean(np.log(nu / rho)) + special.digamma(rank) - special.digamma(k)
                 + math.log(m / (n - 1)))


def wkv_kl(X, Y):
    return _wkv_kl(X, Y)


def wkv_kl_digamma_off_by_one(X, Y):
    return _wkv_kl(X, Y, off_by_one=True)


def _mmd2(X, Y, bandwidth=1.0, keep_diagonal=False):
    """Unbiased MMD^2 (U-statistic) with the Gaussian kernel exp(-|x-y|^2 / (2 bw^2))."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)

    def gram(A, B):
        sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
        return np.exp(-np.maximum(sq, 0.0) / (2 * bandwidth ** 2))
    n, m = len(X), len(Y)
    kxx, kyy = gram(X, X), gram(Y, Y)
    if not keep_diagonal:
        np.fill_diagonal(kxx, 0.0)
        np.fill_diagonal(kyy, 0.0)
    # BUG (keep_diagonal): k(x_i, x_i) = 1 stays in sums divided by n (n - 1)
    return float(kxx.sum() / (n * (n - 1)) + kyy.sum() / (m * (m - 1)) - 2 * gram(X, Y).mean())


def mmd2_unbiased(X, Y):
    return _mmd2(X, Y)


def mmd2_keeps_diagonal(X, Y):
    return _mmd2(X, Y, keep_diagonal=True)


# ------------------------------------------------------------------------------------
# the catalogue


@dataclass(frozen=True)
class Planted:
    """One planted bug: the wrong and the right implementation and the check to run."""

    bug: str
    wrong: Callable
    right: Callable
    check: Callable
    options: dict = field(default_factory=dict)
    #: the property that must catch it, and a regex of the message the user sees
    caught_by: str = ""
    message: str = ""
    #: options of the test run only, to keep the suite fast (the benchmark uses defaults)
    fast: dict = field(default_factory=dict)

    def run(self, fn, **extra):
        if self.check is check_conjugate:
            return self.check(pearson_f, fn, **self.options, **extra)
        return self.check(fn, **self.options, **extra)


#: in the tests, discrete checks run 25 examples per property (100 by default) and sample
#: checks do not shrink; hypothesis finds these bugs within the first few examples either way
FAST = {"max_examples": 25}

PLANTED = [
    Planted("KL with swapped arguments", kl_swapped_arguments, kl, check_divergence,
            {"kind": "discrete", "name": "kl"}, "exact", r"are the arguments swapped\?", FAST),
    Planted("Jensen-Shannon without the 1/2", js_without_half, js, check_divergence,
            {"kind": "discrete", "name": "js"}, "exact", r"twice the exact value", FAST),
    Planted("KL in log2 instead of ln", kl_log2, kl_natural_log, check_divergence,
            {"kind": "discrete", "name": "kl"}, "exact", r"log base 2 instead of the natural log",
            FAST),
    Planted("Pearson conjugate with a wrong sign", pearson_conjugate_wrong_sign,
            pearson_conjugate, check_conjugate, {}, "fenchel_young",
            r"Fenchel-Young fails at u = .*, t = .*: f\*\(t\) = .* < t u - f\(u\)"),
    Planted("kNN (WKV) KL with an off-by-one digamma term", wkv_kl_digamma_off_by_one, wkv_kl,
            check_divergence, {"kind": "samples", "name": "kl", "sizes": (200, 800, 3200)},
            "consistency", r"the estimates do not approach the exact kl", {"shrink": False}),
    Planted("unbiased MMD^2 that keeps the diagonal", mmd2_keeps_diagonal, mmd2_unbiased,
            check_divergence,
            {"kind": "samples", "name": "mmd2", "params": {"bandwidth": 1.0}, "unbiased": True,
             "symmetric": True, "sizes": (50, 100, 200)},
            "unbiased", r"the mean of 200 estimates at n = 10, m = 10 is .* standard errors",
            {"shrink": False}),
]
IDS = [p.bug for p in PLANTED]


@pytest.mark.parametrize("planted", PLANTED, ids=IDS)
def test_planted_bug_is_caught(planted):
    with pytest.raises(AssertionError, match=planted.message) as info:
        planted.run(planted.wrong, **planted.fast)
    err = info.value
    assert isinstance(err, PropertyFailure)
    caught = [r.property for r in err.report.failures]
    assert planted.caught_by in caught, (caught, str(err))
    first = err.report[planted.caught_by]
    assert first.examples >= 1 and first.counterexample
    assert f"falsified after {first.examples} example" in str(err)


@pytest.mark.parametrize("planted", PLANTED, ids=IDS)
def test_correct_implementation_passes(planted):
    report = planted.run(planted.right, **planted.fast)
    assert report.passed
    assert planted.caught_by in [r.property for r in report.results]


def test_user_sees_the_counterexample_and_the_diagnosis():
    # the whole message for one bug, as printed by pytest
    with pytest.raises(AssertionError) as info:
        check_divergence(kl_swapped_arguments, name="kl", max_examples=25)
    text = str(info.value)
    assert text.startswith("check_divergence(kl_swapped_arguments, kind='discrete', name='kl'): "
                           "1 of 7 properties failed")
    assert "[exact] falsified after" in text
    assert "counterexample: PmfPair(p=[" in text
    assert "D(P || Q) with P first" in text
