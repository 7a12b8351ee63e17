r"""Property batteries run by hypothesis: :func:`check_divergence` and :func:`check_conjugate`."""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from scipy import stats

from .. import _names
from .. import fdiv as _fdiv
from .._validation import check_choice, check_positive_int, check_real, check_rng
from . import _asserts as A
from . import strategies as S
from ._problems import GaussianParameters, fmt_array

__all__ = ["CheckReport", "PropertyFailure", "PropertyResult", "check_conjugate",
           "check_divergence"]

KINDS = ("discrete", "distributions", "samples")

#: the properties each kind can run, in the order they run
_BY_KIND = {
    "discrete": ("nonnegative", "value_range", "identity", "symmetry", "triangle", "permutation",
                 "data_processing", "joint_convexity", "exact"),
    "distributions": ("nonnegative", "value_range", "identity", "symmetry", "triangle",
                      "data_processing", "exact"),
    "samples": ("symmetry", "permutation", "consistency", "unbiased"),
}
_NEEDS_NAME = ("value_range", "exact", "consistency", "unbiased")
_DEFAULT_EXAMPLES = {"discrete": 100, "distributions": 25, "samples": 10}
#: names that are metrics (triangle inequality checked by default)
_METRIC_NAMES = ("tv", "wasserstein")
#: unbiasedness is checked at this small sample size, with this many repetitions
UNBIASED_N = 10
UNBIASED_REPLICATES = 200
#: pmfs this far apart in total variation must have a divergence above its value at p = q
_SEPARATED_TV = 1e-3
#: mixture weights: the endpoints, or far enough from them that weight * p never underflows
_WEIGHTS = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-6, 1.0 - 1e-6))
#: scale factors of the random linear maps applied to Gaussians
_SCALE = st.floats(0.5, 2.0)


# ------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class PropertyResult:
    """The outcome of one property of a check.

    Attributes
    ----------
    property : str
        Its name (``"nonnegative"``, ``"exact"``, ...).
    passed : bool
        Whether no example falsified it.
    examples : int
        Examples run (passed), or the number of examples hypothesis needed to find the
        first failure (failed).
    shrink_calls : int
        Further calls spent shrinking the failing example to a simpler one (0 if passed).
    counterexample : str or None
        ``repr`` of the shrunk failing example.
    message : str
        What went wrong on that example ('' if passed).
    seconds : float
        Wall time of the property.
    """

    property: str
    passed: bool
    examples: int
    shrink_calls: int = 0
    counterexample: str | None = None
    message: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        """The failure as the user sees it (several lines)."""
        if self.passed:
            return f"[{self.property}] passed ({self.examples} examples)"
        return (f"[{self.property}] falsified after {self.examples} example"
                f"{'' if self.examples == 1 else 's'} (then {self.shrink_calls} shrinking "
                f"calls)\n  " + self.message.replace("\n", "\n  ")
                + f"\n  counterexample: {self.counterexample}")


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`check_divergence` or :func:`check_conjugate`.

    Attributes
    ----------
    target : str
        What was checked, e.g. ``"check_divergence(my_kl, kind='discrete', name='kl')"``.
    results : tuple of PropertyResult
        One per property run, in order.
    seed : int or None
        The hypothesis seed (None: random).
    """

    target: str
    results: tuple
    seed: int | None

    @property
    def passed(self) -> bool:
        """Whether every property passed."""
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple:
        """The failed :class:`PropertyResult` objects."""
        return tuple(r for r in self.results if not r.passed)

    def __getitem__(self, prop: str) -> PropertyResult:
        for r in self.results:
            if r.property == prop:
                return r
        raise KeyError(f"no property {prop!r} in this report; it has "
                       f"{', '.join(r.property for r in self.results)}")

    def __str__(self) -> str:
        bad = self.failures
        ok = [f"{r.property} ({r.examples})" for r in self.results if r.passed]
        head = (f"{self.target}: {len(bad)} of {len(self.results)} properties failed "
                f"(seed {self.seed})" if bad else
                f"{self.target}: all {len(self.results)} properties passed (seed {self.seed})")
        lines = [head]
        if ok:
            lines.append("passed (examples): " + ", ".join(ok))
        lines += ["", *[r.describe() + "\n" for r in bad]] if bad else []
        return "\n".join(lines).rstrip()


class PropertyFailure(AssertionError):
    """A property check failed; ``report`` holds the :class:`CheckReport`."""

    def __init__(self, report: CheckReport):
        super().__init__(str(report))
        self.report = report


PropertyFailure.__module__ = "divest.testing"


# ------------------------------------------------------------------------------------
# running one property under hypothesis


def _fmt_example(example) -> str:
    if isinstance(example, dict):
        return ", ".join(f"{k}={fmt_array(v) if isinstance(v, np.ndarray) else repr(v)}"
                         for k, v in example.items())
    return repr(example)


def _settings(max_examples: int, shrink: bool) -> settings:
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                    phases=phases, suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet, report_multiple_bugs=False, print_blob=False)


_CONSTANTS_LOCK = threading.Lock()


@contextmanager
def _seeded_draws(seed):
    """Make a seeded search draw the same examples whatever modules are loaded.

    Recent hypothesis releases mix constants found in the source of every *local* module
    imported so far (any module outside site-packages and the standard library) into
    about 5% of the values drawn.  A seed alone therefore does not fix the examples: one
    more imported module (a test's helper, a script, a notebook's code) changes them, and
    a seeded check that found a failure can then miss it.  For a seeded search this swaps
    in an empty set of local constants (hypothesis' own constants stay) and empties the
    cache of permitted constants on the way in and out.  The lock serialises seeded
    searches within a process; a hypothesis without this internal leaves the search
    unchanged, and ``test_seeded_checks_do_not_depend_on_loaded_modules`` then fails.
    """
    if seed is None:
        yield
        return
    try:
        from hypothesis.internal.conjecture import providers
        get, clear, empty = (providers._get_local_constants,
                             providers.CONSTANTS_CACHE.cache.clear, providers.Constants())
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - other hypothesis
        yield
        return
    with _CONSTANTS_LOCK:
        providers._get_local_constants = lambda: empty
        clear()
        try:
            yield
        finally:
            providers._get_local_constants = get
            clear()


def run_property(prop, strategy, test, *, max_examples, seed, shrink=True) -> PropertyResult:
    """Run ``test(example)`` on examples of ``strategy``; record the first failure and the
    shrunk counterexample (the last failing call is hypothesis' final replay of it)."""
    state = {"calls": 0, "first": None, "last": None}

    def body(example):
        state["calls"] += 1
        try:
            test(example)
        except AssertionError as exc:
            if state["first"] is None:
                state["first"] = state["calls"]
            state["last"] = (example, exc)
            raise

    runner = _settings(max_examples, shrink)(given(strategy)(body))
    if seed is not None:
        runner = hyp_seed(seed)(runner)
    t0 = time.perf_counter()
    try:
        with _seeded_draws(seed):
            runner()
    except AssertionError:
        pass
    except Flaky as exc:
        example, first = state["last"] or (None, None)
        return PropertyResult(prop, False, state["first"] or state["calls"],
                              max(0, state["calls"] - (state["first"] or 0)),
                              _fmt_example(example),
                              f"the result changed between two calls on the same input, so "
                              f"the failure did not reproduce (is fn random? fix its seed); "
                              f"first failure: {first}; hypothesis: {type(exc).__name__}",
                              time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    if state["last"] is None:
        return PropertyResult(prop, True, state["calls"], seconds=seconds)
    example, exc = state["last"]
    return PropertyResult(prop, False, state["first"], state["calls"] - state["first"] - 1,
                          _fmt_example(example), str(exc), seconds)


def _target_name(fn) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _finish(target, results, seed, raise_on_failure) -> CheckReport:
    report = CheckReport(target, tuple(results), seed)
    if raise_on_failure and not report.passed:
        raise PropertyFailure(report)
    return report


def _tol(value, name) -> float:
    return check_real(value, name, low=0.0, low_open=False)


def _check_seed(rng):
    if rng is None:
        return None
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng) % 2 ** 32
    return int(check_rng(rng).integers(0, 2 ** 32))


# ------------------------------------------------------------------------------------
# the context of one check_divergence call


@dataclass(frozen=True, repr=False)
class _Ctx:
    fn: object
    kind: str
    spec: object            # resolved name, or None
    base: float | None
    baseline: float         # the value at p = q
    vrange: tuple | None    # (low, high) of a named f-divergence, in fn's unit
    rtol: float
    atol: float
    allow_zeros: bool
    families: tuple
    dim: object
    sizes: tuple
    replicates: int
    z: float
    allowance: float

    @property
    def label(self):
        return None if self.spec is None else self.spec.label

    def __repr__(self) -> str:
        return f"<check of {_target_name(self.fn)}: kind={self.kind!r}, name={self.label!r}>"

    def unit(self, nats):
        return nats if self.base is None else nats / math.log(self.base)


#: non-f names that are symmetric in P and Q
_SYMMETRIC_NAMES = ("bhattacharyya", "wasserstein", "mmd2", "energy")


def _name_symmetric(spec) -> bool:
    if spec.is_f:
        return spec.fd.symmetric
    if spec.base in ("renyi", "tsallis"):
        return spec.params["alpha"] == 0.5
    return spec.base in _SYMMETRIC_NAMES


def _jointly_convex(spec) -> bool:
    # Renyi divergence is jointly convex for alpha in [0, 1] only (van Erven & Harremoes
    # 2014); Tsallis is alpha times the alpha-divergence, an f-divergence
    return spec.is_f or spec.base in ("bhattacharyya", "tsallis") or (
        spec.base == "renyi" and spec.params["alpha"] <= 1.0)


def _default_properties(kind, spec, symmetric, metric, unbiased):
    named = spec is not None
    sym = symmetric if symmetric is not None else (
        bool(metric) or (named and kind != "samples" and _name_symmetric(spec)))
    tri = metric if metric is not None else (named and kind != "samples"
                                             and spec.base in _METRIC_NAMES)
    density = not named or spec.density_based
    wanted = {
        "nonnegative": True,
        "value_range": named and spec.is_f,
        "identity": True,
        "symmetry": bool(sym) or bool(tri),
        "triangle": bool(tri),
        "permutation": True,
        "data_processing": density,
        "joint_convexity": not named or _jointly_convex(spec),
        "exact": named and (kind != "discrete" or spec.density_based),
        "consistency": named,
        "unbiased": named and bool(unbiased),
    }
    return [p for p in _BY_KIND[kind] if wanted[p]]


# ------------------------------------------------------------------------------------
# discrete properties


def _pairs(ctx, size=None):
    return _pmf_pairs(ctx.allow_zeros, size)


@lru_cache(maxsize=None)
def _pmf_pairs(allow_zeros, size):
    overlap = st.sampled_from(S.OVERLAPS) if allow_zeros else "identical"
    return S.pmf_pairs(size=size, max_size=None if size else 6, overlap=overlap,
                       allow_zeros=allow_zeros)


def _tv(p, q) -> float:
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


@st.composite
def _pair_with(draw, pairs, key, extra):
    """A pmf pair and ``key`` drawn from ``extra(n)``, a strategy for its length n."""
    pair = draw(pairs)
    return {"pair": pair, key: draw(extra(pair.p.size))}


@st.composite
def _two_pairs(draw, ctx):
    n = draw(S._integers(2, 6))
    pairs = _pairs(ctx, size=n)
    return {"pair1": draw(pairs), "pair2": draw(pairs), "weight": draw(_WEIGHTS)}


@lru_cache(maxsize=None)
def _permutations(n):
    return st.permutations(range(n))


@lru_cache(maxsize=None)
def _kernels(n):
    return S.markov_kernels(n_inputs=n)


@lru_cache(maxsize=None)
def _vectors(n, allow_zeros):
    return S.probability_vectors(size=n, allow_zeros=allow_zeros)


def _discrete_property(prop, ctx):
    fn, kw = ctx.fn, {"rtol": ctx.rtol, "atol": ctx.atol}
    if prop == "nonnegative":
        return _pairs(ctx), lambda pr: A.assert_nonnegative(fn, pr.p, pr.q, lower=ctx.baseline,
                                                            **kw)
    if prop == "value_range":
        return _pairs(ctx), lambda pr: A.assert_value_range(fn, pr.p, pr.q, low=ctx.vrange[0],
                                                            high=ctx.vrange[1], **kw)
    if prop == "identity":
        def identity(pr):
            far = pr.q if _tv(pr.p, pr.q) >= _SEPARATED_TV else None
            A.assert_identity(fn, pr.p, far, value=ctx.baseline, atol=ctx.atol)
        return _pairs(ctx), identity
    if prop == "symmetry":
        return _pairs(ctx), lambda pr: A.assert_symmetric(fn, pr.p, pr.q, **kw)
    if prop == "triangle":
        strat = _pair_with(_pairs(ctx), "r", lambda n: _vectors(n, ctx.allow_zeros))
        return strat, lambda ex: A.assert_triangle_inequality(fn, ex["pair"].p, ex["pair"].q,
                                                              ex["r"], **kw)
    if prop == "permutation":
        strat = _pair_with(_pairs(ctx), "permutation", _permutations)
        return strat, lambda ex: A.assert_permutation_invariant(
            fn, ex["pair"].p, ex["pair"].q, list(ex["permutation"]), **kw)
    if prop == "data_processing":
        strat = _pair_with(_pairs(ctx), "kernel", _kernels)
        return strat, lambda ex: A.assert_data_processing(fn, ex["pair"].p, ex["pair"].q,
                                                          ex["kernel"], **kw)
    if prop == "joint_convexity":
        def convex(ex):
            (p1, q1), (p2, q2) = ex["pair1"], ex["pair2"]
            A.assert_joint_convexity(fn, p1, q1, p2, q2, ex["weight"], **kw)
        return _two_pairs(ctx), convex
    # exact
    return _pairs(ctx), lambda pr: A.assert_matches_exact(fn, pr.p, pr.q, ctx.label,
                                                          base=ctx.base, **kw)


# ------------------------------------------------------------------------------------
# distribution properties


def _dist_pairs(ctx, families=None):
    return S.distribution_pairs(names=(ctx.label or "kl",), families=families or ctx.families,
                                dim=ctx.dim)


@st.composite
def _projected(draw, ctx):
    """A Gaussian pair and a full-rank linear map A (k x d, k <= d): rows of an orthogonal
    matrix scaled by factors in [0.5, 2]."""
    pair = draw(_dist_pairs(ctx, families=("gaussian",)))
    d = pair.dim
    k = draw(S._integers(1, d))
    R = S._rotations(draw, d)
    scale = np.array(draw(S._lists_of(_SCALE, k)))
    return {"pair": pair, "A": scale[:, None] * R[:k]}


def _image(g, Amat):
    """The image of a Gaussian under x -> A x."""
    cov = Amat @ g.cov @ Amat.T
    return stats.multivariate_normal(Amat @ g.mean, 0.5 * (cov + cov.T))


@st.composite
def _gaussian_triples(draw, ctx):
    """Three Gaussians of one dimension (with one covariance where the name's closed form
    needs a pair that reduces to 1-D)."""
    d = draw(st.integers(1, 3) if ctx.dim is None else S._int_option(ctx.dim, "dim", 1))
    g = S.gaussian_parameters(dim=d)
    P, Q, R = draw(g), draw(g), draw(g)
    if ctx.label is not None and S._needs_reduction(ctx.label, d):
        Q, R = (GaussianParameters(G.mean, P.cov) for G in (Q, R))
    return {"P": P, "Q": Q, "R": R}


def _kl_separated(pair) -> bool:
    """Whether P and Q are clearly different (KL >= 1e-6), so D(P||Q) must exceed D(P||P)."""
    if pair.family == "reference":
        return True
    from ..exact import closed_form
    return closed_form(pair.P, pair.Q, "kl") >= 1e-6


def _distribution_property(prop, ctx):
    fn, kw = ctx.fn, {"rtol": ctx.rtol, "atol": ctx.atol}
    if prop == "nonnegative":
        return _dist_pairs(ctx), lambda pr: A.assert_nonnegative(fn, pr.P, pr.Q,
                                                                 lower=ctx.baseline, **kw)
    if prop == "value_range":
        return _dist_pairs(ctx), lambda pr: A.assert_value_range(
            fn, pr.P, pr.Q, low=ctx.vrange[0], high=ctx.vrange[1], **kw)
    if prop == "identity":
        def identity(pr):
            A.assert_identity(fn, pr.P, pr.Q if _kl_separated(pr) else None, value=ctx.baseline,
                              atol=ctx.atol)
        return _dist_pairs(ctx), identity
    if prop == "symmetry":
        return _dist_pairs(ctx), lambda pr: A.assert_symmetric(fn, pr.P, pr.Q, **kw)
    if prop == "triangle":
        return _gaussian_triples(ctx), lambda ex: A.assert_triangle_inequality(
            fn, ex["P"].distribution(), ex["Q"].distribution(), ex["R"].distribution(), **kw)
    if prop == "data_processing":
        def dpi(ex):
            pair, (gp, gq) = ex["pair"], ex["pair"].gaussians
            ip, iq = _image(gp, ex["A"]), _image(gq, ex["A"])
            A.assert_data_processing(fn, pair.P, pair.Q, lambda D: ip if D is pair.P else iq,
                                     **kw)
        return _projected(ctx), dpi
    # exact

    def exact(pr):
        A.assert_matches_exact(fn, pr.P, pr.Q, ctx.label, exact=ctx.unit(pr.exact[ctx.label]),
                               tolerance_exact=ctx.unit(pr.tolerance[ctx.label]),
                               kind="distributions", base=ctx.base, **kw)
    return _dist_pairs(ctx), exact


# ------------------------------------------------------------------------------------
# sample properties


def _tame_pairs(ctx, names):
    return S._moderate_pairs(names, ctx.families, ctx.dim)


@st.composite
def _shuffled(draw, ctx):
    s = draw(S.sample_pairs(pairs=_tame_pairs(ctx, ("kl",))))
    return {"samples": s, "perm_x": draw(_permutations(len(s.X))),
            "perm_y": draw(_permutations(len(s.Y)))}


def _seeded_pairs(ctx):
    return st.fixed_dictionaries({"pair": _tame_pairs(ctx, (ctx.label,)),
                                  "seed": st.integers(0, 2 ** 32 - 1)})


def _sample_property(prop, ctx):
    fn, kw = ctx.fn, {"rtol": ctx.rtol, "atol": ctx.atol}
    stat = {"z": ctx.z, "atol": ctx.allowance, "base": ctx.base}
    if prop == "symmetry":
        strat = S.sample_pairs(pairs=_tame_pairs(ctx, ("kl",)))
        return strat, lambda s: A.assert_symmetric(fn, s.X, s.Y, **kw)
    if prop == "permutation":
        return _shuffled(ctx), lambda ex: A.assert_permutation_invariant(
            fn, ex["samples"].X, ex["samples"].Y, list(ex["perm_x"]), list(ex["perm_y"]), **kw)
    if prop == "consistency":
        return _seeded_pairs(ctx), lambda ex: A.assert_consistent(
            fn, ex["pair"], ctx.label, sizes=ctx.sizes, replicates=ctx.replicates,
            rng=ex["seed"], **stat)
    # unbiased
    return _seeded_pairs(ctx), lambda ex: A.assert_unbiased(
        fn, ex["pair"], ctx.label, n=UNBIASED_N, replicates=UNBIASED_REPLICATES, rng=ex["seed"],
        **stat)


_BUILDERS = {"discrete": _discrete_property, "distributions": _distribution_property,
             "samples": _sample_property}


# ------------------------------------------------------------------------------------
# public entry points


def check_divergence(fn, *, kind="discrete", name=None, params=None, symmetric=None,
                     metric=None, unbiased=False, base=None, properties=None,
                     max_examples=None, rng=0, rtol=A.RTOL, atol=A.ATOL, allow_zeros=True,
                     families=("gaussian",), dim=None, sizes=(250, 1000, 4000), replicates=5,
                     z=5.0, allowance=0.0, shrink=True, raise_on_failure=True) -> CheckReport:
    r"""Run a battery of properties of a divergence function with hypothesis.

    Each property is searched with hypothesis for a counterexample, which is then shrunk
    to a simple one.  On failure an ``AssertionError`` (:class:`PropertyFailure`) lists
    every failed property with its shrunk counterexample, the message of the check and
    how many examples hypothesis needed to find it.

    ===================== ======================= =============================================
    property              kinds                   checks (run by default when)
    ===================== ======================= =============================================
    ``nonnegative``       discrete, distributions D(p‖q) >= D(p‖p) (always)
    ``value_range``       discrete, distributions within the f-divergence's range (named f)
    ``identity``          discrete, distributions D(p‖p) = 0 (f(1) for ``gan``) and
                                                  D(p‖q) > D(p‖p) for p != q (always)
    ``symmetry``          all                     D(p‖q) = D(q‖p) (declared, or a symmetric
                                                  name; samples: declared only)
    ``triangle``          discrete, distributions D(p,r) <= D(p,q) + D(q,r) (``metric=True``,
                                                  or ``tv`` / ``wasserstein``)
    ``permutation``       discrete, samples       relabelling the categories of both pmfs
                                                  alike; shuffling the rows of X and Y (always)
    ``data_processing``   discrete, distributions D(pK‖qK) <= D(p‖q), K a random Markov
                                                  kernel; for Gaussians a random linear map
                                                  (no name, or f-divergence, Rényi, Tsallis,
                                                  Bhattacharyya)
    ``joint_convexity``   discrete                D(mixture) <= mixture of D (no name, f,
                                                  Bhattacharyya, Tsallis, Rényi alpha <= 1)
    ``exact``             discrete, distributions equal to divest's exact value (named)
    ``consistency``       samples                 the mean estimate at the largest of ``sizes``
                                                  within z SE of the exact value (named; see
                                                  :func:`assert_consistent`)
    ``unbiased``          samples                 the mean of 200 estimates at n = m = 10
                                                  within z SE of the exact value
                                                  (``unbiased=True``)
    ===================== ======================= =============================================

    Parameters
    ----------
    fn : callable
        ``fn(p, q)`` for pmfs (kind ``"discrete"``), ``fn(P, Q)`` for frozen
        distributions (``"distributions"``), ``fn(X, Y)`` for sample arrays of shapes
        (n, d) and (m, d) (``"samples"``); returns a float (or an
        :class:`~divest.Estimate`).  It should be deterministic.
    kind : {"discrete", "distributions", "samples"}
    name : str, optional
        The divergence fn claims to compute (``"kl"``, ``"js"``, ``"alpha(alpha=0.5)"``,
        ``"mmd2(bandwidth=1)"``...): enables the comparison with divest's exact values
        and sets the defaults below.  Without it only the generic axioms are checked.
    params : dict, optional
        Parameters of ``name`` (``{"alpha": 0.5}``).
    symmetric : bool, optional
        Declare fn symmetric (default: as the named divergence; never for samples).
    metric : bool, optional
        Declare fn a metric (symmetry and triangle inequality).
    unbiased : bool
        Declare a sample estimator unbiased (the ``unbiased`` property).
    base : float, optional
        The logarithm base fn reports in (default: nats).
    properties : sequence of str, optional
        Run exactly these (default: all that apply, see the table).
    max_examples : int, optional
        Examples per property (default 100 discrete, 25 distributions, 10 samples).
    rng : None, int or numpy.random.Generator
        Seed of hypothesis (default 0: the same examples on every run; None: fresh ones).
    rtol, atol : float
        Rounding tolerance of the equalities and inequalities.
    allow_zeros : bool
        Whether the pmfs may have zero masses (then also disjoint supports).
    families, dim
        The distribution pairs for ``"distributions"`` and ``"samples"`` (see
        :func:`strategies.distribution_pairs`; default Gaussian pairs in 1 to 3
        dimensions, for samples 1 to 2 with moderate parameters).
    sizes, replicates, z, allowance
        The ``consistency`` property: sample sizes, runs per size, tolerance in standard
        errors and an absolute allowance for a known finite-sample bias.  ``z`` and
        ``allowance`` also apply to ``unbiased``.
    shrink : bool
        Shrink a failing example (costs further calls of fn; off makes a failing sample
        check faster).
    raise_on_failure : bool
        Raise :class:`PropertyFailure` (an AssertionError) when a property fails;
        otherwise just return the report.

    Returns
    -------
    CheckReport

    Raises
    ------
    PropertyFailure
        A property failed (``raise_on_failure=True``).
    ValueError, TypeError
        Invalid options: unknown kind, name or property, a property that needs a name.

    Notes
    -----
    Each property is one hypothesis search (``max_examples`` examples, then shrinking
    on failure), seeded by ``rng`` and without the example database, so a run is
    reproducible.  A seeded run also ignores the constants that hypothesis collects from
    the source of the modules imported so far, which would otherwise change the examples
    whenever another module is imported.  Call it from a plain test function, not from
    inside a ``@given`` test (hypothesis refuses nested searches).  Cost: with 100
    examples per property, a discrete check takes about a second or two plus the time of
    ``fn``; a sample check calls ``fn`` ``len(sizes) * replicates`` times per example of
    ``consistency`` and 200 times per example of ``unbiased``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import rel_entr
    >>> from divest.testing import check_divergence
    >>> def kl(p, q):
    ...     return rel_entr(p, q).sum()
    >>> check_divergence(kl, name="kl", max_examples=20).passed
    True
    >>> def kl_swapped(p, q):
    ...     return rel_entr(q, p).sum()
    >>> report = check_divergence(kl_swapped, name="kl", max_examples=20,
    ...                           raise_on_failure=False)
    >>> [r.property for r in report.failures]
    ['exact']
    >>> print(report["exact"].message)
    fn(p, q) = ... but divest's kl = ...
      - fn's value matches the divergence with the arguments swapped, D(Q || P) = ...: are the arguments swapped? (divest's convention is D(P || Q) with P first)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {fn!r}")
    if not isinstance(allow_zeros, (bool, np.bool_)):
        raise TypeError(f"allow_zeros must be True or False; got {allow_zeros!r}")
    kind = check_choice(kind, "kind", KINDS)
    spec = None
    if name is not None:
        spec = _names.resolve(name, **dict(params or {}))
    elif params:
        raise ValueError(f"params={params!r} given without name")
    base = None if base is None else check_real(base, "base", low=0.0, exclude=(1.0,))
    if base is not None and spec is not None and not spec.logarithmic:
        raise ValueError(f"base={base!r} applies only to logarithmic divergences; "
                         f"{spec.label!r} is not one")
    chosen = _default_properties(kind, spec, symmetric, metric, unbiased)
    if properties is not None:
        props = [properties] if isinstance(properties, str) else list(properties)
        for p in props:
            check_choice(p, "properties", _BY_KIND[kind])
            if p in _NEEDS_NAME and spec is None:
                raise ValueError(f"property {p!r} needs name= (the divergence fn computes)")
        chosen = [p for p in _BY_KIND[kind] if p in props]
    if kind == "discrete" and spec is not None and not spec.density_based:
        raise ValueError(f"name={spec.label!r} has no exact value for pmfs; kind='discrete' "
                         "supports f-divergences, renyi and bhattacharyya")
    n_ex = (_DEFAULT_EXAMPLES[kind] if max_examples is None
            else check_positive_int(max_examples, "max_examples"))
    families = S._families(families)
    if kind == "distributions" and "data_processing" in chosen and "gaussian" not in families:
        chosen.remove("data_processing")
    fd = spec.fd if spec is not None and spec.is_f else None
    ctx = _Ctx(fn=fn, kind=kind, spec=spec, base=base, baseline=0.0, vrange=None,
               rtol=_tol(rtol, "rtol"), atol=_tol(atol, "atol"),
               allow_zeros=bool(allow_zeros),
               families=families, dim=dim, sizes=tuple(A.check_sizes(sizes)),
               replicates=check_positive_int(replicates, "replicates", minimum=2),
               z=check_real(z, "z", low=0.0), allowance=_tol(allowance, "allowance"))
    if fd is not None:
        ctx = _Ctx(**{**ctx.__dict__, "baseline": ctx.unit(fd.f_one),
                      "vrange": (ctx.unit(fd.value_range.low), ctx.unit(fd.value_range.high))})
    seed = _check_seed(rng)
    results = []
    for prop in chosen:
        strategy, test = _BUILDERS[kind](prop, ctx)
        results.append(run_property(prop, strategy, test, max_examples=n_ex, seed=seed,
                                    shrink=shrink))
    shown = ", ".join([f"kind={kind!r}"] + ([f"name={spec.label!r}"] if spec else []))
    return _finish(f"check_divergence({_target_name(fn)}, {shown})", results, seed,
                   raise_on_failure)


# ------------------------------------------------------------------------------------
# conjugates

_U = st.one_of(st.just(1.0), st.just(0.0), st.floats(1e-6, 1e4))
_U_POS = st.one_of(st.just(1.0), st.floats(1e-4, 1e3))
_T = st.floats(-30.0, 30.0)


def check_conjugate(f, conjugate=None, *, f_prime=None, domain=None, max_examples=100, rng=0,
                    rtol=1e-7, atol=1e-9, raise_on_failure=True) -> CheckReport:
    r"""Check a convex conjugate :math:`f^*(t) = \sup_{u \ge 0}(tu - f(u))` against f.

    Properties (each searched by hypothesis over u in [0, 1e4] and t in [-30, 30]):

    * ``fenchel_young``: :math:`f^*(t) \ge tu - f(u)` for all u, t
      (:func:`assert_fenchel_young`): fails where the conjugate is too small;
    * ``tight``: :math:`f^*(f'(u)) = u f'(u) - f(u)` (:func:`assert_conjugate_tight`):
      fails where it is too large on the range of f';
    * ``domain`` (when a domain is known): :math:`f^*` is finite inside it and ``inf``
      outside;
    * ``activation`` (for an :class:`~divest.FDivergence`): the output activation maps
      every real into the domain of :math:`f^*`.

    Parameters
    ----------
    f : callable or FDivergence
        The generator; an FDivergence supplies ``conjugate``, ``f_prime``, ``domain``
        and its activation.
    conjugate : callable
        The conjugate to check (vectorised or scalar).
    f_prime : callable, optional
        The derivative of f (default: central differences).
    domain : Interval, optional
        Where the conjugate is finite (:class:`divest.fdiv.Interval`).
    max_examples, rng, rtol, atol, raise_on_failure
        As in :func:`check_divergence`.

    Returns
    -------
    CheckReport

    Examples
    --------
    >>> import divest as dv
    >>> from divest.testing import check_conjugate
    >>> check_conjugate(dv.get_fdivergence("pearson")).passed
    True
    >>> f = lambda u: (u - 1.0) ** 2
    >>> report = check_conjugate(f, lambda t: t - t * t / 4, raise_on_failure=False)
    >>> [r.property for r in report.failures]
    ['fenchel_young', 'tight']
    """
    activation = None
    if isinstance(f, _fdiv.FDivergence):
        fd = f
        f, conjugate = fd.f, fd.conjugate if conjugate is None else conjugate
        f_prime = fd.f_prime if f_prime is None else f_prime
        domain = fd.conjugate_domain if domain is None else domain
        activation = fd.activation
        target = f"check_conjugate({fd.label})"
    else:
        target = f"check_conjugate({_target_name(f)}, {_target_name(conjugate)})"
    if not callable(f) or not callable(conjugate):
        raise TypeError("f and conjugate must be callable (or pass an FDivergence)")
    n_ex = check_positive_int(max_examples, "max_examples")
    seed = _check_seed(rng)
    kw = {"rtol": _tol(rtol, "rtol"), "atol": _tol(atol, "atol")}
    checks = [
        ("fenchel_young", st.fixed_dictionaries({"u": _U, "t": _T}),
         lambda ex: A.assert_fenchel_young(f, conjugate, ex["u"], ex["t"], **kw)),
        ("tight", _U_POS, lambda u: A.assert_conjugate_tight(f, conjugate, u, f_prime=f_prime,
                                                             **kw)),
    ]
    if domain is not None:
        def in_domain(t):
            ct = A._f_call(conjugate, t, f"conjugate({t!r})")
            inside = bool(domain.contains(t))
            if inside != math.isfinite(ct):
                raise AssertionError(f"conjugate({t!r}) = {ct!r} but t is "
                                     f"{'inside' if inside else 'outside'} the domain {domain!r}")
        ends = [x for x in (domain.low, domain.high) if math.isfinite(x)]
        checks.append(("domain", st.one_of(_T, st.sampled_from(ends)) if ends else _T,
                       in_domain))
    if activation is not None:
        def activated(v):
            t = A._f_call(activation, v, f"activation({v!r})")
            if not (domain.contains(t) and math.isfinite(A._f_call(conjugate, t, "conjugate"))):
                raise AssertionError(f"activation({v!r}) = {t!r} lies outside the domain "
                                     f"{domain!r} of the conjugate")
        checks.append(("activation", st.floats(-50.0, 50.0), activated))
    results = [run_property(prop, strat, test, max_examples=n_ex, seed=seed)
               for prop, strat, test in checks]
    return _finish(target, results, seed, raise_on_failure)
