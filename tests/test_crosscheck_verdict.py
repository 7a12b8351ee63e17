"""The verdict of ``divest crosscheck``: what fails the run, and what does not."""

import copy
import json
import math
import re
from pathlib import Path

import pytest
from scipy import stats

import divest as dv
from divest import _crosscheck as cc
from divest import cli, reference

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.rst"
P, Q = stats.norm(0, 1), stats.norm(1, 2)          # the default pair
KL = math.log(2) + (1 + 1) / 8 - 0.5               # KL(N(0,1) || N(1,4))
SMALL = dict(n=4000, n_samples=600, rng=0)


def _fake(value, se, interval=None, lower_bound=False, name="kl", method="knn"):
    if interval is None:
        return dv.Estimate.from_value(value, standard_error=se, method=method, name=name,
                                      is_lower_bound=lower_bound)
    return dv.Estimate(value=value, standard_error=se, confidence_interval=interval,
                       method=method, name=name, is_lower_bound=lower_bound)


def _patch_knn(monkeypatch, make):
    """Make the kNN estimator return ``make(name)`` instead of estimating."""
    monkeypatch.setattr(dv.estimators, "knn", lambda X, Y, name, **kw: make(name))


def _kl_rows(monkeypatch, est):
    _patch_knn(monkeypatch, lambda name: est)
    rep = dv.crosscheck(P, Q, names=["kl"], methods=["closed_form", "knn"], **SMALL)
    return rep, {r.method: r for r in rep.rows}["knn"]


def test_default_pair_passes_with_sample_estimators():
    pair = reference.get_pair(reference.DEFAULT_PAIR)
    rep = dv.crosscheck(pair.P, pair.Q, names=["kl", "js", "tv", "squared_hellinger"],
                        methods=["closed_form", "quadrature", "monte_carlo", "knn",
                                 "classifier", "variational"], **SMALL)
    assert rep.ok, rep.failures
    statuses = {r.status for r in rep.rows}
    assert statuses <= {"reference", "ok", "bound"}, statuses
    assert all(r.claimed for r in rep.rows if r.method in ("knn", "classifier"))


def test_an_estimate_outside_its_claimed_interval_fails_the_run(monkeypatch):
    # 0.2 above the truth with a tight interval: the z-score was "off" (not a failure)
    rep, row = _kl_rows(monkeypatch, _fake(KL + 0.2, 0.01))
    assert row.status == "FAIL" and row.claimed and row.failed
    assert not rep.ok and "outside the claimed interval" in rep.failures[0]
    assert "FAILED" in str(rep) and "FAILED" in rep.to_markdown()
    assert json.loads(rep.to_json())["ok"] is False


def test_the_verdict_uses_the_bias_aware_interval_not_the_z_score(monkeypatch):
    # 20 SE off, but the interval's bias allowance reaches the truth: claimed and covered
    est = _fake(KL + 0.2, 0.01, interval=(KL - 0.05, KL + 0.22))
    rep, row = _kl_rows(monkeypatch, est)
    assert abs(row.z) > 5 and row.status == "ok" and rep.ok
    assert row.interval == est.confidence_interval


@pytest.mark.parametrize("offset_se, fails", [(4.5, False), (5.5, True)])
def test_the_claimed_interval_is_checked_at_five_standard_errors(monkeypatch, offset_se, fails):
    # the 95% interval's sampling part is widened from 1.96 to Z_FAIL SE (family-wise level)
    rep, row = _kl_rows(monkeypatch, _fake(KL + offset_se * 0.01, 0.01))
    assert row.failed is fails and rep.ok is not fails


@pytest.mark.parametrize("se, interval", [
    (math.inf, (0.0, 1.0)),                     # an infinite SE with a finite interval
    (3.9e19, None),                             # an absurd SE (interval value -/+ 7.6e19)
    (math.nan, (0.3, 0.5)),                     # a NaN SE
])
def test_an_unusable_standard_error_is_never_ok(monkeypatch, se, interval):
    rep, row = _kl_rows(monkeypatch, _fake(KL + 0.01, se, interval))
    assert row.status == "unreliable" and row.failed and not rep.ok


def test_an_unusable_standard_error_passes_only_through_an_open_end(monkeypatch):
    # SE = inf and the interval (-inf, inf): the method claims nothing
    rep, row = _kl_rows(monkeypatch, _fake(KL + 0.01, math.inf, (-math.inf, math.inf)))
    assert row.status == "open" and not row.failed and rep.ok
    # open towards the truth (below): passes; open only on the other side: fails
    rep, row = _kl_rows(monkeypatch, _fake(KL + 0.5, 1e12, (-math.inf, KL + 1)))
    assert row.status == "open" and rep.ok
    rep, row = _kl_rows(monkeypatch, _fake(KL + 0.5, 1e12, (KL + 0.4, math.inf)))
    assert row.status == "unreliable" and not rep.ok
    # an end clipped to the edge of the divergence's range is not open: [0, 2] for H^2
    h2 = 0.2983887  # squared Hellinger of the default pair
    for interval, status in (((0.0, 2.0), "unreliable"), ((0.0, math.inf), "open")):
        _patch_knn(monkeypatch, lambda name: _fake(h2 - 0.1, 1e12, interval, name=name))
        rep = dv.crosscheck(P, Q, names=["squared_hellinger"],
                            methods=["closed_form", "knn"], **SMALL)
        assert rep.rows[1].status == status, interval


def test_lower_bounds_claim_no_interval_and_fail_only_above_the_truth(monkeypatch):
    real = dv.estimators.variational

    def shifted(delta):
        def est(X, Y, name, **kw):
            e = real(X, Y, name, **kw)
            return _fake(e.value + delta, e.standard_error, lower_bound=True, name=name,
                         method="variational")
        return est

    kw = dict(names=["js"], methods=["quadrature", "variational"], **SMALL)
    monkeypatch.setattr(dv.estimators, "variational", shifted(-0.1))   # far below: fine
    row = dv.crosscheck(P, Q, **kw).rows[1]
    assert row.status == "bound" and not row.claimed and "no interval" in row.note
    monkeypatch.setattr(dv.estimators, "variational", shifted(+0.3))   # far above: fails
    rep = dv.crosscheck(P, Q, **kw)
    assert rep.rows[1].status == "FAIL" and "lower bound above the truth" in rep.failures[0]


def test_no_interval_is_claimed_where_the_influence_function_has_infinite_variance(
        monkeypatch):
    # reverse KL needs chi^2(Q||P) = neyman(P||Q) finite; it is infinite on the default pair
    _patch_knn(monkeypatch, lambda name: _fake(10.0, 0.01, name=name))
    rep = dv.crosscheck(P, Q, names=["reverse_kl", "kl"], methods=["closed_form", "knn"],
                        **SMALL)
    rows = {r.name: r for r in rep.rows if r.method == "knn"}
    assert rows["reverse_kl"].status == "unclaimed" and "neyman" in rows["reverse_kl"].note
    assert rows["kl"].status == "FAIL"  # chi^2(P||Q) is finite: KL's interval is claimed
    assert [f.split(":")[0] for f in rep.failures] == ["kl/knn"]


@pytest.mark.parametrize("interval, status", [((34.0, math.inf), "open"),
                                              ((34.0, 46.0), "inf-missed")])
def test_an_infinite_truth_is_covered_only_by_an_interval_open_above(monkeypatch, interval,
                                                                     status):
    # KL(U(0, 2) || U(0, 1)) = inf; an infinite divergence has no claimed interval
    _patch_knn(monkeypatch, lambda name: _fake(40.0, 3.0, interval, name=name))
    rep = dv.crosscheck(stats.uniform(0, 2), stats.uniform(0, 1), names=["kl"],
                        methods=["closed_form", "quadrature", "knn"], **SMALL)
    (knn,) = [r for r in rep.rows if r.method == "knn"]
    assert knn.exact == math.inf and knn.status == status and rep.ok


def test_the_header_states_the_n_the_estimators_used():
    rep = dv.crosscheck(P, Q, names=["kl"], methods=["closed_form", "monte_carlo", "knn"],
                        n=3000, n_samples=700, rng=0)
    assert rep.n == 700 and rep.n_exact == 3000
    head = str(rep).splitlines()[0]
    assert "n = 700 per distribution" in head and "Monte Carlo: 3000 draws" in head
    assert rep.to_markdown().splitlines()[0].count("700") == 1
    assert json.loads(rep.to_json())["n"] == 700


def test_cli_exit_status_and_json_agree_with_the_verdict(monkeypatch, tmp_path, capsys):
    args = ["crosscheck", "--n-exact", "3000", "--n-samples", "600", "--names", "kl",
            "--methods", "closed_form,knn", "--quiet", "--json"]
    assert cli.main(args + [str(tmp_path / "good.json")]) == 0
    assert json.loads((tmp_path / "good.json").read_text())["ok"] is True
    _patch_knn(monkeypatch, lambda name: _fake(KL + 0.2, 0.01, name=name))
    assert cli.main(args + [str(tmp_path / "bad.json")]) == 1
    data = json.loads((tmp_path / "bad.json").read_text())
    assert data["ok"] is False and data["failures"]
    assert "FAILED" in capsys.readouterr().out


def test_cli_n_is_a_deprecated_alias_of_n_exact(tmp_path, capsys):
    base = ["crosscheck", "--names", "kl", "--methods", "closed_form,monte_carlo", "--quiet",
            "--n-samples", "50"]
    out = tmp_path / "r.json"
    assert cli.main(base + ["--n", "2500", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["n_exact"] == 2500
    assert "--n is deprecated" in capsys.readouterr().err
    assert cli.main(base + ["--n-exact", "2600", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["n_exact"] == 2600
    assert cli.main(base + ["--n", "2500", "--n-exact", "2600"]) == 2
    assert "--n-exact" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["crosscheck"], ["pairs"]])
def test_every_cli_option_has_help_with_its_default(command):
    parser = cli._parser()
    sub = parser._subparsers._group_actions[0].choices[command[0]]
    for action in sub._actions:
        if action.dest == "help":
            continue
        assert action.help and "default" in action.help, action.option_strings


def test_every_gan_option_has_help_with_its_default(capsys):
    pytest.importorskip("torch")
    from divest.torch._compare import main as gan_main
    with pytest.raises(SystemExit):
        gan_main(["--help"])
    text = capsys.readouterr().out
    options = re.findall(r"^  (--[\w-]+)", text, flags=re.M)
    assert len(options) >= 10
    blocks = re.split(r"^  (?=--)", text.split("options:")[1], flags=re.M)[1:]
    for block in blocks:
        if not block.startswith("--help"):
            assert "default" in block, block


def test_docs_table_says_exactly_which_statuses_fail():
    text = DOCS.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^   \* - ``([\w-]+)``\n     - (yes|no)\b", text, flags=re.M))
    assert set(rows) == set(cc.STATUSES), set(rows) ^ set(cc.STATUSES)
    for status, (fails, _) in cc.STATUSES.items():
        assert (rows[status] == "yes") is fails, status


def test_panel_limits_ignore_a_huge_error_bar_and_an_outlier():
    values = [0.44, 0.45, 0.46, 5.6e13]
    bars = [(0.40, 0.50), (-7e19, 7e19), (0.42, 0.48), (-1e14, 2e14)]
    lo, hi = cc._panel_limits(values, 0.443, bars)
    assert lo < 0.40 and hi > 0.50 and hi - lo < 1.0
    # interval ends widen the view by at most three typical bar lengths (here 0.1)
    lo, hi = cc._panel_limits([1.0, 1.1, 1.05], 1.05,
                              [(0.9, 1.1), (1.0, 1.2), (-1e6, 1e6)])
    assert 0.7 - 1e-9 <= lo < 0.9 and 1.2 < hi <= 1.4 + 1e-9


def test_plot_writes_a_png_with_clipped_panels(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    _patch_knn(monkeypatch, lambda name: _fake(KL, 3.9e19, name=name))
    rep = dv.crosscheck(P, Q, names=["kl"], methods=["closed_form", "monte_carlo", "knn"],
                        **SMALL)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    cc._plot_panel(ax, list(rep.rows), KL)
    lo, hi = ax.get_ylim()
    plt.close(fig)
    assert hi < 5 * KL and lo > -5 * KL  # the 3.9e19 bar is clipped, not drawn to scale
    png = rep.plot(tmp_path / "cc.png")
    assert Path(png).read_bytes()[:4] == b"\x89PNG"


def test_crosscheck_reads_a_reference_pairs_facts_itself(monkeypatch):
    # mean-shift-d1: p/q is unbounded and chi^2 finite, so kNN claims no Pearson interval
    # (a smoother's ratio is capped); the facts come from the pair without facts=
    pair = reference.get_pair("mean-shift-d1")
    assert cc._crosscheck_iv(pair.P, pair.Q, None, None, 10, 10, 0, False, None,
                             None)[-2] == pair.facts
    _patch_knn(monkeypatch, lambda name: _fake(1.0, 0.01, name=name))
    kw = dict(names=["pearson"], methods=["closed_form", "knn"], **SMALL)
    rows = [{r.method: r for r in dv.crosscheck(pair.P, pair.Q, **kw_).rows}["knn"]
            for kw_ in (kw, {**kw, "facts": pair.facts})]
    assert [r.status for r in rows] == ["unclaimed", "unclaimed"]
    assert rows[0].note == rows[1].note and "bounded" in rows[0].note
    # equal but distinct distributions are not the pair: no facts, the interval is claimed
    P2, Q2 = copy.copy(pair.P), copy.copy(pair.Q)
    other = {r.method: r for r in dv.crosscheck(P2, Q2, **kw).rows}["knn"]
    assert other.status == "FAIL" and other.claimed
    with pytest.raises(TypeError, match="facts must be"):
        dv.crosscheck(pair.P, pair.Q, facts={"ratio_bounded": False}, **kw)
