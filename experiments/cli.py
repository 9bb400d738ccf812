"""The ``alignsim`` command: run, compare, sweep, plot, reproduce, params.

Exit codes: 0 success; 1 some runs failed (see failures.csv), or a system error such as a full disk
(one line on stderr); 2 bad input (one line on stderr, nothing written); 130 interrupted by Ctrl-C or
SIGTERM (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from alignsim import __version__
from alignsim.experiments.errors import SystemFailureError, UserError, one_line

EXIT_FAILED_RUNS = 1
EXIT_SYSTEM = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error on one line and exit 2."""
        sys.stderr.write(f"{self.prog}: error: {one_line(message)}\n")
        sys.exit(EXIT_USAGE)


def _int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with the one-line error the CLI uses."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: an integer >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"got {value}; allowed: an integer >= {minimum}")
        return value

    return parse


_positive_int, _nonneg_int = _int_at_least(1), _int_at_least(0)


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=_positive_int, default=None, help="parallel workers (default: all cores)")
    parser.add_argument("--engine", default="local", help="local (process pool, default) or dask")
    parser.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address tcp://HOST:PORT (with --engine dask; else a LocalCluster)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = _Parser(prog="alignsim", description="Go-to-market alignment simulator: experiments and charts.")
    parser.add_argument("--version", action="version", version=f"alignsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="one run: print the summary, write summary.json and timeseries.csv")
    run.add_argument("--structure", help="assembly_line or pod")
    run.add_argument("--kpi", help="siloed, shared or blend")
    run.add_argument("--seed", type=_nonneg_int, default=1, help="model seed (default 1)")
    run.add_argument("--weeks", help="horizon in weeks (default 260)")
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any parameter (repeatable; see 'alignsim params')",
    )
    run.add_argument("--scenario", help="scenario TOML file or preset name (experiments/scenarios)")
    run.add_argument("--out", help="folder for summary.json and timeseries.csv")

    cmp_ = sub.add_parser("compare", help="the 2 x 2 structure x KPI with replicates (common random numbers)")
    cmp_.add_argument("--reps", type=_positive_int, default=10, help="replicates per cell (default 10)")
    cmp_.add_argument("--seed", type=_nonneg_int, default=1, help="root seed (default 1)")
    cmp_.add_argument("--weeks", type=_positive_int, default=None, help="horizon in weeks (default: spec's)")
    cmp_.add_argument("--out", default="results/compare", help="output folder (default results/compare)")
    _engine_options(cmp_)

    sweep = sub.add_parser("sweep", help="run an experiment spec (TOML)")
    sweep.add_argument("spec", help="spec file, or a preset name from experiments/specs")
    sweep.add_argument("--out", help="output folder (default results/<spec name>)")
    _engine_options(sweep)

    plot = sub.add_parser("plot", help="redraw every chart of an experiment folder (or of its subfolders)")
    plot.add_argument("dir", help="experiment folder, or a folder of experiment folders (e.g. results)")

    rep = sub.add_parser("reproduce", help="run the preset experiments into results/ and write results/README.md")
    rep.add_argument("--quick", action="store_true", help="only the reduced reproduction (about a minute)")
    rep.add_argument("--out", default="results", help="results folder (default results)")
    rep.add_argument(
        "--fresh",
        action="store_true",
        help="delete earlier experiment folders of the plan first (instead of resuming them)",
    )
    _engine_options(rep)

    sub.add_parser("params", help="list every model parameter")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``alignsim``; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (exit 2, one line) and --help (exit 0)
        return int(exc.code or 0)
    from alignsim.experiments import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return handler(args)
    except UserError as exc:
        sys.stderr.write(f"alignsim {args.command}: error: {one_line(exc)}\n")
        return EXIT_USAGE
    except SystemFailureError as exc:
        sys.stderr.write(f"alignsim {args.command}: error: {one_line(exc)}\n")
        return EXIT_SYSTEM
    except KeyboardInterrupt:
        sys.stderr.write(f"alignsim {args.command}: interrupted; rerun the same command to resume\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
