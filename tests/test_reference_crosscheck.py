"""Reference pairs, crosscheck and the command line."""

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import divest as dv
from divest import cli, reference
from divest._crosscheck import _relations


def test_reference_pairs_have_exact_values_consistent_with_theory():
    for name in reference.pairs():
        pair = reference.get_pair(name)
        vals = pair.values
        assert vals, name
        for label, v in vals.items():
            spec_range = None
            base = label.split("(")[0]
            if base in dv.fdivergences():
                spec_range = dv.get_fdivergence(label).value_range
            assert not math.isnan(v), (name, label)
            if spec_range is not None:
                assert spec_range.low - 1e-12 <= v <= spec_range.high + 1e-12, (name, label, v)


def test_required_pairs_exist():
    names = reference.pairs()
    for d in (1, 2, 5, 10):
        assert f"mean-shift-d{d}" in names
        assert reference.get_pair(f"mean-shift-d{d}").values["kl"] == pytest.approx(d / 2)
    for needed in ["scale-change-d2", "correlated-d2", "bimodal-normal", "t3-normal",
                   "normal-laplace", "disjoint-uniforms", "parallel-lines"]:
        assert needed in names
    lines = reference.get_pair("parallel-lines").values
    assert lines["kl"] == math.inf and lines["tv"] == 1.0
    assert lines["js"] == pytest.approx(math.log(2)) and lines["wasserstein(p=1)"] == 1.0
    assert reference.parallel_lines(2.5).values["wasserstein(p=1)"] == 2.5
    with pytest.raises(ValueError, match="available: .*normal-1-2"):
        reference.get_pair("nope")


def test_reference_sample_shapes_and_seed():
    pair = reference.get_pair("bimodal-normal")
    X, Y = pair.sample(50, rng=1)
    X2, _ = pair.sample(50, rng=1)
    assert X.shape == (50, 1) and Y.shape == (50, 1) and np.array_equal(X, X2)


def test_crosscheck_default_pair_passes():
    pair = reference.get_pair(reference.DEFAULT_PAIR)
    rep = dv.crosscheck(pair.P, pair.Q, n=20_000, rng=0, methods=EXACT_METHODS)
    assert rep.ok, rep.failures
    methods = {(r.name, r.method) for r in rep.rows}
    assert ("kl", "closed_form") in methods and ("kl", "quadrature") in methods
    assert ("js", "monte_carlo") in methods
    names = {c.name.split(":")[0] for c in rep.checks}
    assert {"Pinsker", "Bretagnolle-Huber", "H^2/2 <= TV", "JS <= log 2"} <= names
    assert any(r.status == "inf-missed" for r in rep.rows)  # neyman is infinite here
    text = str(rep)
    assert "all checks passed" in text and "Pinsker" in text
    md = rep.to_markdown()
    assert md.count("\n|") > 40
    json.loads(rep.to_json())


EXACT_METHODS = ["closed_form", "quadrature", "monte_carlo"]

# bounded divergences have bounded Monte Carlo integrands: their standard errors are honest
BOUNDED = ["js", "tv", "squared_hellinger", "gan", "js_weighted(pi=0.25)", "alpha(alpha=0.5)",
           "kl"]


@pytest.mark.parametrize("name", [p for p in reference.pairs() if p != "parallel-lines"])
def test_crosscheck_every_reference_pair(name):
    pair = reference.get_pair(name)
    rep = dv.crosscheck(pair.P, pair.Q, names=BOUNDED, n=5000, rng=1, pair_name=name,
                        methods=EXACT_METHODS)
    assert rep.ok, rep.failures


def test_crosscheck_catches_a_wrong_closed_form(monkeypatch):
    cc = dv.exact  # the exact reference of every crosscheck row comes from exact.closed_form
    real = cc.closed_form

    def wrong(P, Q, name, **kw):
        v = real(P, Q, name, **kw)
        return v * 1.01 if name == "kl" else v

    monkeypatch.setattr(cc, "closed_form", wrong)
    rep = dv.crosscheck(stats.norm(0, 1), stats.norm(1, 2), names=["kl", "js"], n=50_000, rng=0,
                        methods=EXACT_METHODS)
    assert not rep.ok
    bad = [r for r in rep.rows if r.status == "FAIL"]
    assert {(r.name, r.method) for r in bad} == {("kl", "quadrature"), ("kl", "monte_carlo")} or \
        ("kl", "quadrature") in {(r.name, r.method) for r in bad}


def test_relations_detect_violations():
    good = _relations({"kl": 0.5, "tv": 0.3, "squared_hellinger": 0.2, "js": 0.1,
                       "pearson": 1.0, "gan": 2 * 0.1 - math.log(4)})
    assert all(c.holds for c in good)
    bad = {c.name: c.holds for c in _relations({"kl": 0.01, "tv": 0.5})}
    assert bad["Pinsker: TV <= sqrt(KL/2)"] is False
    bad = {c.name.split(" (")[0]: c.holds for c in _relations({"js": 0.1, "gan": -1.0})}
    assert bad["identity gan = 2 JS - log 4"] is False


def test_crosscheck_argument_errors():
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        dv.crosscheck(stats.norm(), stats.norm(1), methods=["magic"])
    with pytest.raises(ValueError, match="unknown divergence"):
        dv.crosscheck(stats.norm(), stats.norm(1), names=["nope"])


def test_cli_crosscheck_and_pairs(tmp_path, capsys):
    png, js, md = tmp_path / "cc.png", tmp_path / "cc.json", tmp_path / "cc.md"
    rc = cli.main(["crosscheck", "--n", "3000", "--seed", "1", "--names", "kl,js,tv",
                   "--methods", "closed_form,quadrature,monte_carlo",
                   "--plot", str(png), "--json", str(js), "--markdown", str(md), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "normal-1-2" in out and "all checks passed" in out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(js.read_text())
    assert data["ok"] and {r["name"] for r in data["rows"]} == {"kl", "js", "tv"}
    assert md.read_text().startswith("### crosscheck")
    assert cli.main(["pairs"]) == 0
    assert "mean-shift-d10" in capsys.readouterr().out
    assert cli.main(["crosscheck", "--pair", "nope", "--quiet"]) == 2
    assert "available" in capsys.readouterr().err


def test_crosscheck_with_sample_estimators():
    pair = reference.get_pair(reference.DEFAULT_PAIR)
    rep = dv.crosscheck(pair.P, pair.Q, names=["kl", "js", "squared_hellinger"], n=5000,
                        n_samples=2000, rng=3,
                        methods=["closed_form", "quadrature", "knn", "classifier", "variational"])
    assert rep.ok, rep.failures
    got = {(r.name, r.method): r for r in rep.rows}
    assert ("kl", "knn") in got and ("js", "knn") in got  # knn estimates JS too
    assert got[("js", "variational")].status == "bound"
    for r in rep.rows:
        if r.method in ("knn", "classifier"):
            assert r.status in ("ok", "off") and abs(r.z) < 5, r


def test_crosscheck_flags_a_lower_bound_above_the_truth(monkeypatch):
    real = dv.estimators.variational

    def too_high(X, Y, name, **kw):
        est = real(X, Y, name, **kw)
        return dv.Estimate.from_value(est.value + 0.3, standard_error=est.standard_error,
                                      method="variational", name=est.name, is_lower_bound=True)

    monkeypatch.setattr(dv.estimators, "variational", too_high)
    rep = dv.crosscheck(stats.norm(0, 1), stats.norm(1, 2), names=["js"], n=2000,
                        n_samples=2000, rng=0, methods=["quadrature", "variational"])
    assert not rep.ok and "lower bound above the truth" in rep.failures[0]


def test_cli_gan_subcommand_is_dispatched(capsys):
    """`divest gan` hands its arguments to divest.torch's comparison (needs torch)."""
    pytest.importorskip("torch")
    from divest.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["gan", "--help"])
    assert exc.value.code == 0
    assert "Compare GAN losses" in capsys.readouterr().out


def _log_ratio(pair, pts):
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.atleast_1d(np.asarray(pair.P.logpdf(pts), float))
        lq = np.atleast_1d(np.asarray(pair.Q.logpdf(pts), float))
        return np.where(np.isfinite(lp), lp - lq, -np.inf)


@pytest.mark.parametrize("name", [n for n in reference.pairs() if n != "parallel-lines"])
def test_reference_ratio_bounded_flag_matches_the_densities(name):
    # sup log(p/q) over a wide grid (1-D, including 1e-20 near 0) or along rays out to
    # t = 100 in many directions (d > 1): an unbounded ratio reaches > 20 there
    pair = reference.get_pair(name)
    if pair.dim == 1:
        r = np.logspace(-20, 2, 400)
        pts = np.r_[-r[::-1], 0.0, r, 2.0 + r[r < 1], 2.0 - r[r < 1]]
    else:
        rng = np.random.default_rng(0)
        u = rng.normal(size=(2000, pair.dim))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        pts = np.concatenate([t * u for t in (1.0, 10.0, 100.0)])
    top = float(np.max(_log_ratio(pair, pts)))
    assert (top < 20) == pair.ratio_bounded, (name, top)


@pytest.mark.parametrize("name", [n for n in reference.pairs()
                                  if reference.get_pair(n).dim == 1
                                  and n not in ("disjoint-uniforms",)])
def test_reference_log_ratio_variance_flag_1d(name):
    # the truncated second moment of log r under P grows without bound (linearly in the
    # cut-off for t3: x^4 against a t3 density ~ x^-4) exactly when the flag is False
    from scipy import integrate

    pair = reference.get_pair(name)

    def moment(cut):
        def g(x):
            lr = _log_ratio(pair, np.array([x]))[0]
            return 0.0 if not np.isfinite(lr) else float(np.exp(pair.P.logpdf(x))) * lr ** 2
        half = name in ("exp-gamma", "nested-uniforms")  # supported on x > 0
        lo = 0.0 if half else -100.0
        pts = [p for p in (-1.0, 0.0, 1.0, 2.0, 3.0) if lo < p < 100.0]
        core = integrate.quad(g, lo, 100.0, points=pts, limit=400)[0]
        if cut <= 100.0:
            return core
        tails = integrate.quad(g, 100.0, cut, limit=400)[0]
        if not half:
            tails += integrate.quad(g, -cut, -100.0, limit=400)[0]
        return core + tails

    growth = moment(1e4) / moment(1e2)
    assert (growth < 1.01) == pair.log_ratio_variance_finite, (name, growth)


def test_reference_log_ratio_variance_flag_gaussian_pairs():
    # multivariate Gaussian pairs: log r is a quadratic polynomial of a Gaussian vector,
    # whose moments are all finite
    for name in reference.pairs():
        pair = reference.get_pair(name)
        if pair.dim > 1 and name != "parallel-lines":
            assert isinstance(pair.P, type(pair.Q))
            assert pair.log_ratio_variance_finite is True
    same = reference.parallel_lines(0.0)
    assert same.ratio_bounded and same.log_ratio_variance_finite
    assert not reference.parallel_lines(1.0).ratio_bounded


def test_reference_chi2_variance_flag_matches_the_densities():
    # int p^4 / q^3 < inf: Gaussians need 4 S_P^-1 - 3 S_Q^-1 positive definite; 1-D
    # pairs by quadrature, the integral over [-c, c] (and x >= c^-2 on a half-line)
    # growing from c = 1e2 to c = 1e4 exactly when it is infinite
    from scipy import integrate

    for name in reference.pairs():
        pair = reference.get_pair(name)
        if name in ("parallel-lines", "disjoint-uniforms"):
            assert pair.chi2_variance_finite is False
            continue
        if pair.dim > 1 or isinstance(pair.P, type(reference.get_pair("mean-shift-d2").P)):
            prec = 4 * np.linalg.inv(np.atleast_2d(pair.P.cov)) \
                - 3 * np.linalg.inv(np.atleast_2d(pair.Q.cov))
            finite = bool(np.all(np.linalg.eigvalsh(prec) > 0))
        else:
            half = name in ("exp-gamma", "nested-uniforms")

            def g(x):
                lr = _log_ratio(pair, np.array([x]))[0]
                if not np.isfinite(lr):
                    return 0.0
                with np.errstate(over="ignore"):
                    return float(np.exp(4 * lr + pair.Q.logpdf(x)))

            def integral(c):
                if half:  # in u = log x, which resolves a pole at 0
                    core = integrate.quad(lambda u: g(math.exp(u)) * math.exp(u),
                                          -2 * math.log(c), math.log(20.0), points=[0.0],
                                          limit=400)[0]
                else:
                    pts = [-1.0, 0.0, 1.0, 2.0, 3.0]
                    core = integrate.quad(g, -20.0, 20.0, points=pts, limit=400)[0]
                tail = integrate.quad(g, 20.0, c, limit=400)[0]
                if not half:
                    tail += integrate.quad(g, -c, -20.0, limit=400)[0]
                return core + tail

            with np.errstate(over="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a, b = integral(1e2), integral(1e4)
            finite = bool(np.isfinite(b) and b / a < 1.01)
        assert finite == pair.chi2_variance_finite, (name, finite)
