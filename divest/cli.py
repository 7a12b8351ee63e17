"""The ``divest`` command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _parser():
    from . import reference
    p = argparse.ArgumentParser(prog="divest", description="Divergences between distributions, "
                                "computed every way they can be and checked against each other.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("crosscheck", help="run every method on a reference pair and compare "
                       "with the exact values")
    c.add_argument("--pair", default=reference.DEFAULT_PAIR,
                   help=f"reference pair (default {reference.DEFAULT_PAIR}; see `divest pairs`)")
    c.add_argument("--n", type=int, default=100_000, help="samples per distribution "
                   "for the sampling methods (default 100000)")
    c.add_argument("--n-samples", type=int, default=5000, dest="n_samples",
                   help="samples per distribution for the sample estimators (default 5000)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--names", type=_csv, default=None,
                   help="comma-separated divergences, e.g. kl,js,'alpha(alpha=0.5)'")
    c.add_argument("--methods", type=_csv, default=None,
                   help="comma-separated methods among closed_form,quadrature,monte_carlo,"
                   "knn,classifier,ulsif,kliep,variational,ipm (default: all that apply), "
                   "and the opt-in neural (needs torch)")
    c.add_argument("--plot", default=None, metavar="PNG", help="write estimates vs exact values")
    c.add_argument("--json", default=None, metavar="PATH", help="write the report as JSON")
    c.add_argument("--markdown", default=None, metavar="PATH", help="write the report as markdown")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("pairs", help="list the built-in reference pairs")
    sub.add_parser("gan", help="compare GAN losses on toy datasets (needs the torch extra; "
                   "`divest gan --help`)", add_help=False)
    return p


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
        return 0
    from ._crosscheck import crosscheck
    try:
        pair = reference.get_pair(args.pair)
        report = crosscheck(pair.P, pair.Q, names=args.names, methods=args.methods, n=args.n,
                            n_samples=args.n_samples, rng=args.seed, progress=not args.quiet,
                            pair_name=f"{pair.name}: {pair.description}")
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
