"""The ``divest`` command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()]


_DEFAULT_N_EXACT = 100_000
_DEFAULT_N_SAMPLES = 5000


def _parser():
    from . import reference
    from ._crosscheck import _EXACT_METHODS, _OPT_IN_METHODS, _SAMPLE_METHODS
    p = argparse.ArgumentParser(prog="divest", description="Divergences between distributions, "
                                "computed every way they can be and checked against each other.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("crosscheck", help="run every method on a reference pair and compare "
                       "with the exact values", description="Run every applicable method on a "
                       "reference pair, compare each estimate with the exact value and check "
                       "the relations between divergences.  Exit status: 0 when every row "
                       "passes and every relation holds, 1 when one fails (statuses FAIL, "
                       "unreliable, error; see docs/cli.rst), 2 for invalid arguments.")
    c.add_argument("--pair", default=reference.DEFAULT_PAIR, metavar="NAME",
                   help=f"reference pair, see `divest pairs` (default: {reference.DEFAULT_PAIR})")
    c.add_argument("--n-exact", type=int, default=None, dest="n_exact", metavar="N",
                   help="Monte Carlo draws per distribution for the exact-side method "
                   f"monte_carlo (default: {_DEFAULT_N_EXACT})")
    c.add_argument("--n-samples", type=int, default=_DEFAULT_N_SAMPLES, dest="n_samples",
                   metavar="N", help="samples per distribution given to the sample "
                   f"estimators ({', '.join(_SAMPLE_METHODS + _OPT_IN_METHODS)}); the "
                   f"report's n (default: {_DEFAULT_N_SAMPLES})")
    c.add_argument("--n", type=int, default=None, dest="n_deprecated", metavar="N",
                   help="deprecated alias of --n-exact: sets the Monte Carlo draws, not the "
                   "sample estimators' n (default: unset)")
    c.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the "
                   "same report (default: 0)")
    c.add_argument("--n-jobs", type=int, default=None, dest="n_jobs", metavar="K",
                   help="methods run at once by joblib (separate processes); the report "
                   "does not depend on it (default: 1)")
    c.add_argument("--names", type=_csv, default=None, metavar="LIST",
                   help="comma-separated divergences, e.g. kl,js,'alpha(alpha=0.5)' "
                   "(default: the standard names of divest.reference.STANDARD_NAMES)")
    c.add_argument("--methods", type=_csv, default=None, metavar="LIST",
                   help=f"comma-separated methods among {','.join(_EXACT_METHODS)} (exact side) "
                   f"and {','.join(_SAMPLE_METHODS)} (sample estimators), and the opt-in "
                   f"{','.join(_OPT_IN_METHODS)} (needs torch) (default: all that apply, "
                   "without the opt-in ones)")
    c.add_argument("--plot", default=None, metavar="PNG",
                   help="write a PNG of the estimates against the exact values (default: none)")
    c.add_argument("--json", default=None, metavar="PATH",
                   help="write the report as JSON (default: none)")
    c.add_argument("--markdown", default=None, metavar="PATH",
                   help="write the report as markdown (default: none)")
    c.add_argument("--quiet", action="store_true",
                   help="no progress bar (default: show one on stderr)")
    sub.add_parser("pairs", help="list the built-in reference pairs",
                   description="List the built-in reference pairs, one a line: name "
                   "(the value of `divest crosscheck --pair`), dimension and "
                   "description; * marks the default pair.  Takes no options.")
    sub.add_parser("gan", help="compare GAN losses on toy datasets (needs the torch extra; "
                   "`divest gan --help`)", add_help=False)
    return p


def _n_exact(args):
    """The Monte Carlo size from ``--n-exact`` or the deprecated ``--n`` (with a note)."""
    if args.n_deprecated is None:
        return _DEFAULT_N_EXACT if args.n_exact is None else args.n_exact
    if args.n_exact is not None and args.n_exact != args.n_deprecated:
        raise ValueError(f"--n={args.n_deprecated} and --n-exact={args.n_exact} disagree; "
                         "--n is a deprecated alias of --n-exact: give only --n-exact")
    print("divest crosscheck: --n is deprecated; it sets --n-exact (Monte Carlo draws); "
          "the sample estimators use --n-samples", file=sys.stderr)
    return args.n_deprecated


def main(argv=None) -> int:
    """Entry point of the ``divest`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["gan"]:
        try:
            from .torch._compare import main as gan_main
        except ImportError as exc:
            print(f"divest gan: {exc}", file=sys.stderr)
            return 2
        return gan_main(argv[1:])
    args = _parser().parse_args(argv)
    from . import reference
    if args.command == "pairs":
        for name in reference.pairs():
            pair = reference.get_pair(name)
            mark = "*" if name == reference.DEFAULT_PAIR else " "
            print(f"{mark} {name:22s} d={pair.dim:<3d} {pair.description}")
        print("hard pairs (heavy tails, high dimension, ties, far components):")
        for name in reference.hard_pairs():
            pair = reference.get_pair(name)
            print(f"  {name:22s} d={pair.dim:<3d} {pair.description}")
        return 0
    from ._crosscheck import crosscheck
    try:
        n_exact = _n_exact(args)
        pair = reference.get_pair(args.pair)
        report = crosscheck(pair.P, pair.Q, names=args.names, methods=args.methods, n=n_exact,
                            n_samples=args.n_samples, rng=args.seed, progress=not args.quiet,
                            pair_name=f"{pair.name}: {pair.description}", facts=pair.facts,
                            n_jobs=args.n_jobs)
    except ValueError as exc:
        print(f"divest crosscheck: error: {exc}", file=sys.stderr)
        return 2
    print(report)
    if args.plot:
        report.plot(args.plot)
        print(f"plot written to {args.plot}")
    if args.json:
        report.to_json(args.json)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(report.to_markdown() + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
