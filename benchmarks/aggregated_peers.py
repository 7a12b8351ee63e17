"""divest's MMDAgg, MMDAggInc and MMD-FUSE beside the authors' packages, on the same data.

The authors' packages (``mmdagg``, ``agginc``, ``mmdfuse``; JAX) are not on PyPI: install
them from their repositories into an environment with JAX and divest, e.g.::

    python -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install "jax[cpu]" psutil
    /tmp/jaxenv/bin/pip install git+https://github.com/antoninschrab/mmdagg \
        git+https://github.com/antoninschrab/agginc git+https://github.com/antoninschrab/mmdfuse
    /tmp/jaxenv/bin/pip install -e .
    /tmp/jaxenv/bin/python benchmarks/aggregated_peers.py

What is compared:

1. the deterministic parts, exactly (JAX in float64): every kernel's bandwidth and observed
   MMD² of MMDAgg (wild bootstrap and permutations) and MMDAggInc;
2. the random parts, in distribution: MMD-FUSE's p-values on the same data (B = 2000 each;
   the two use different random draws, so they differ by Monte Carlo error, whose SE is
   computed), MMDAgg's and MMDAggInc's decisions on the same data sets;
3. the time per test (the packages in their default float32, after JIT compilation).

Writes ``benchmarks/results/aggregated_peers.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"

#: why rows with n != m may differ: a quirk of the package, not a divest choice
UNEQUAL_NOTE = (
    "Rows with n != m: the package takes the bandwidths' distances as "
    "`output[jnp.triu_indices(output.shape[0])]` of the (m x n) matrix of distances "
    "between the first 500 rows of X and of Y; when m > n those indices run past the last "
    "column and JAX clamps them (it does not raise), so some distances are read twice and "
    "others never; when m < n the triangle covers only the first m columns. divest "
    "takes the upper triangle of the square block of the first min(500, n, m) rows of each "
    "(`divest._aggregated.agg_bandwidths`). The bandwidths, hence the statistics, then "
    "differ where that changes the smallest distance, the 5% order statistic or the "
    "largest one (the 150 x 200 row); with equal sizes they agree to rounding.")


def _peers():
    try:
        import jax
        from agginc import agginc
        from mmdagg import mmdagg
        from mmdfuse import mmdfuse
    except ImportError as exc:  # pragma: no cover - an environment without the packages
        sys.exit(f"the authors' packages are not importable ({exc}); see the module docstring")
    return jax, mmdagg, agginc, mmdfuse


def _singles(ref: dict) -> list:
    """The package's single tests in their numeric order ("Single test 1.10" after 1.9)."""
    keys = [k for k in ref if k.startswith("Single test")]
    keys.sort(key=lambda k: tuple(int(x) for x in k.split()[-1].split(".")))
    return [ref[k] for k in keys]


def _data(rng, n, m, d, shift):
    X = rng.normal(size=(n, d))
    Y = rng.normal(size=(m, d))
    Y[:, 0] += shift
    return X, Y


def _compare(test, ref, ours, n, m, d, resampling) -> dict:
    """Largest relative differences of the bandwidths and observed statistics per kernel."""
    singles = _singles(ref)
    bw_ref = np.array([float(v["Bandwidth"]) for v in singles])
    st_ref = np.array([float(v["MMD"]) for v in singles])
    bw = np.array([k["bandwidth"] for k in ours.details["kernels"]])
    st = np.array([k["statistic"] for k in ours.details["kernels"]])
    return {"test": test, "n": n, "m": m, "d": d, "resampling": resampling,
            "bandwidth_rel": float(np.max(np.abs(bw / bw_ref - 1))),
            "statistic_rel": float(np.max(np.abs(st - st_ref)) / np.max(np.abs(st_ref)))}


def exact_parts(jax, mmdagg, agginc, reps: int) -> list[dict]:
    """Bandwidths and observed MMD² per kernel: divest vs the packages (float64)."""
    import jax.numpy as jnp

    from divest import two_sample_test
    rows = []
    rng = np.random.default_rng(0)
    cases = [(200, 200, 1), (200, 200, 2), (200, 200, 10), (150, 200, 2), (120, 90, 10)]
    for (n, m, d) in cases:
        for r in range(reps):
            X, Y = _data(rng, n, m, d, 0.3)
            _, ref = mmdagg(jnp.asarray(X), jnp.asarray(Y), return_dictionary=True, B1=200,
                            B2=200)
            ours = two_sample_test(X, Y, "mmdagg", rng=r, B1=200, B2=200)
            rows.append(_compare("mmdagg", ref, ours, n, m, d, ours.details["resampling"]))
            if n == m:
                _, ref = agginc("mmd", jnp.asarray(X), jnp.asarray(Y), return_dictionary=True,
                                B1=100, B2=100)
                inc = two_sample_test(X, Y, "mmdagginc", rng=r, B1=100, B2=100)
                rows.append(_compare("mmdagginc", ref, inc, n, m, d, "wild_bootstrap"))
    return rows


def random_parts(jax, mmdagg, agginc, mmdfuse, reps: int) -> dict:
    """MMD-FUSE p-values and MMDAgg/MMDAggInc decisions on the same data sets."""
    import jax.numpy as jnp

    from divest import two_sample_test
    rng = np.random.default_rng(1)
    key = jax.random.PRNGKey(0)
    fuse, agg, inc = [], [], []
    for r in range(reps):
        X, Y = _data(rng, 200, 200, 2, 0.35)
        key, sub = jax.random.split(key)
        _, p_ref = mmdfuse(jnp.asarray(X), jnp.asarray(Y), sub, return_p_val=True)
        ours = two_sample_test(X, Y, "mmdfuse", rng=r)
        fuse.append((float(p_ref), ours.pvalue))
        agg.append((int(mmdagg(jnp.asarray(X), jnp.asarray(Y), seed=r)),
                    int(two_sample_test(X, Y, "mmdagg", rng=r).reject)))
        inc.append((int(agginc("mmd", jnp.asarray(X), jnp.asarray(Y), seed=r)),
                    int(two_sample_test(X, Y, "mmdagginc", rng=r).reject)))
    p = np.array(fuse)
    # two independent Monte Carlo p-values with B = 2000 each: SE of the difference
    se = np.sqrt(2 * np.clip(p.mean(axis=1), 1e-3, None) * (1 - p.mean(axis=1)) / 2000)
    return {"fuse_pvalues": p.tolist(), "fuse_max_z": float(np.max(np.abs(p[:, 0] - p[:, 1]) / se)),
            "fuse_mean_abs_diff": float(np.mean(np.abs(p[:, 0] - p[:, 1]))),
            "agg": np.array(agg).tolist(), "inc": np.array(inc).tolist()}


def timings(jax, mmdagg, agginc, mmdfuse, runs: int) -> list[dict]:
    import jax.numpy as jnp

    from divest import two_sample_test
    rng = np.random.default_rng(2)
    out = []
    for (n, d) in ((500, 10),):
        X, Y = _data(rng, n, n, d, 0.0)
        Xj, Yj = jnp.asarray(X, dtype=jnp.float32), jnp.asarray(Y, dtype=jnp.float32)
        key = jax.random.PRNGKey(0)
        peers = {"mmdfuse": lambda: int(mmdfuse(Xj, Yj, key)),
                 "mmdagg": lambda: int(mmdagg(Xj, Yj)),
                 "mmdagginc": lambda: int(agginc("mmd", Xj, Yj))}
        for name, fn in peers.items():
            fn()  # JIT compilation
            t = []
            for _ in range(runs):
                s = time.perf_counter()
                fn()
                t.append(time.perf_counter() - s)
            out.append({"who": "authors (JAX, float32)", "test": name, "n": n, "d": d,
                        "seconds": float(np.median(t))})
            for prec in (("float64", "float32") if name != "mmdagginc" else ("float64",)):
                kw = {} if name == "mmdagginc" else {"precision": prec}
                t = []
                for r in range(runs):
                    s = time.perf_counter()
                    two_sample_test(X, Y, name, rng=r, **kw)
                    t.append(time.perf_counter() - s)
                out.append({"who": f"divest ({prec})", "test": name, "n": n, "d": d,
                            "seconds": float(np.median(t))})
    return out


def report(res: dict) -> str:
    lines = ["# divest's aggregated tests beside the authors' packages", "",
             f"Command: `{res['command']}`", ""]
    lines += ["## Deterministic parts (JAX in float64)", "",
              "Largest relative difference over the kernels of each data set, over "
              f"{res['reps_exact']} data sets per row.", "",
              "| test | n | m | d | resampling | bandwidths | observed MMD² |",
              "|---|---|---|---|---|---|---|"]
    groups = {}
    for row in res["exact"]:
        k = (row["test"], row["n"], row["m"], row["d"], row["resampling"])
        groups.setdefault(k, []).append(row)
    for k, rows in groups.items():
        lines.append(f"| {' | '.join(map(str, k))} | "
                     f"{max(r['bandwidth_rel'] for r in rows):.1e} | "
                     f"{max(r['statistic_rel'] for r in rows):.1e} |")
    lines += ["", UNEQUAL_NOTE]
    rp = res["random"]
    agg, inc = np.array(rp["agg"]), np.array(rp["inc"])
    R = len(agg)
    lines += ["", "## Random parts (independent draws on the same data)", "",
              f"{R} data sets, n = m = 200, d = 2, mean shift 0.35 in one coordinate.", "",
              f"- MMD-FUSE p-values (B = 2000 each): mean |difference| "
              f"{rp['fuse_mean_abs_diff']:.4f}; largest difference in SEs of two "
              f"independent Monte Carlo p-values: {rp['fuse_max_z']:.2f}.",
              f"- MMDAgg rejection rate: authors {agg[:, 0].mean():.3f}, divest "
              f"{agg[:, 1].mean():.3f} (SE {math.sqrt(0.25 / R):.3f} at most); same decision "
              f"on {np.mean(agg[:, 0] == agg[:, 1]):.3f} of the data sets.",
              f"- MMDAggInc rejection rate: authors {inc[:, 0].mean():.3f}, divest "
              f"{inc[:, 1].mean():.3f}; same decision on {np.mean(inc[:, 0] == inc[:, 1]):.3f}.",
              "", "## Seconds per test, n = m = 500, d = 10 (median of runs; this machine)", "",
              "| test | who | seconds |", "|---|---|---|"]
    for t in res["timings"]:
        lines.append(f"| {t['test']} | {t['who']} | {t['seconds']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps-exact", type=int, default=3)
    ap.add_argument("--reps-random", type=int, default=40)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    jax, mmdagg, agginc, mmdfuse = _peers()
    jax.config.update("jax_enable_x64", True)
    res = {"command": "python benchmarks/aggregated_peers.py " + " ".join(argv or sys.argv[1:]),
           "reps_exact": args.reps_exact,
           "exact": exact_parts(jax, mmdagg, agginc, args.reps_exact),
           "random": random_parts(jax, mmdagg, agginc, mmdfuse, args.reps_random)}
    jax.config.update("jax_enable_x64", False)
    res["timings"] = timings(jax, mmdagg, agginc, mmdfuse, args.runs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "aggregated_peers.json").write_text(json.dumps(res, indent=1))
    text = report(res)
    (RESULTS / "aggregated_peers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
