"""The ``alignsim`` command: run, compare, sweep, sensitivity, discover, plot, reproduce, params.

Exit codes: 0 success; 1 some runs failed (see failures.csv) or the system failed (a full disk, a
folder that cannot be written, an unreachable Dask scheduler: one line on stderr, finished runs
kept); 2 bad input (one line on stderr, nothing written); 130 interrupted by Ctrl-C, SIGTERM or SIGHUP
in any command (one line on stderr; every file is written atomically, so nothing partial is left;
rerun the same command to resume).

Where results go (nothing overwrites earlier results unless asked):
    run        only with --out.
    compare    --out, else ./alignsim-out/structure_x_kpi-<design hash>/ (a new folder per design).
    sweep      --out, else ./alignsim-out/<spec name>-<design hash>/ (also sensitivity, discover).
    reproduce  --out (default results/): recomputes every run in a staging folder and swaps the
               finished experiments in; --resume reuses stored runs and says so; --studies reruns
               the learning studies instead, each writing its folder when all its runs are done.
A folder holding another design is refused; --force replaces it.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from alignsim import __version__
from alignsim.experiments.argparsing import EXIT_USAGE
from alignsim.experiments.argparsing import OneLineParser as _Parser
from alignsim.experiments.argparsing import int_at_least as _int_at_least
from alignsim.experiments.argparsing import path_text as _path
from alignsim.experiments.errors import SystemFailureError, UserError, one_line

EXIT_FAILED_RUNS = 1
EXIT_SYSTEM = 1
EXIT_INTERRUPTED = 130


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
    parser.add_argument(
        "--yes",
        action="store_true",
        help="start even a design past the size limits (more than 20,000 runs, more than 2 h estimated,"
        " or more memory or disk than is free); without it such a design is refused with the estimates",
    )


def _force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the results in --out if they are of another design (or start them over)",
    )


def _set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any parameter (repeatable; see 'alignsim params')",
    )


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
    _set_option(run)
    run.add_argument("--scenario", type=_path, help="scenario TOML file or preset name (experiments/scenarios)")
    run.add_argument("--out", type=_path, help="folder for summary.json and timeseries.csv")
    run.add_argument(
        "--yes", action="store_true", help="start even a run estimated to need more memory or disk than is free"
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    cmp_ = sub.add_parser("compare", help="the 2 x 2 structure x KPI with replicates (common random numbers)")
    cmp_.add_argument("--reps", type=_positive_int, default=10, help="replicates per cell (default 10)")
    cmp_.add_argument("--seed", type=_nonneg_int, default=1, help="root seed (default 1)")
    cmp_.add_argument("--weeks", type=_positive_int, default=None, help="horizon in weeks (default: spec's)")
    cmp_.add_argument(
        "--scenario",
        type=_path,
        help="scenario TOML file or preset name for every cell (default: experiments/scenarios/default)",
    )
    _set_option(cmp_)
    cmp_.add_argument(
        "--out",
        type=_path,
        help="output folder (default ./alignsim-out/structure_x_kpi-<design hash>: one folder per design,"
        " so a rerun of the same command resumes and a different one never collides)",
    )
    _force_option(cmp_)
    _engine_options(cmp_)

    sweep = sub.add_parser("sweep", help="run an experiment spec (TOML)")
    sweep.add_argument("spec", help="spec file, or a preset name from experiments/specs")
    sweep.add_argument(
        "--scenario", type=_path, help="scenario or company profile for every cell (replaces the spec's base.scenario)"
    )
    sweep.add_argument(
        "--out",
        type=_path,
        help="output folder (default ./alignsim-out/<spec name>-<design hash>; never results/:"
        " use 'alignsim reproduce' for that)",
    )
    _force_option(sweep)
    _engine_options(sweep)

    for name, designs, what in (
        (
            "sensitivity",
            "'morris' or 'sobol'",
            "Morris or Sobol indices of firm value and each design contrast over the plausible ranges",
        ),
        (
            "discover",
            "'morris', 'sobol' or 'lhs'",
            "scenario discovery: the regions of the plausible ranges where each design wins",
        ),
    ):
        gsa = sub.add_parser(
            name,
            help=f"run a sampled spec (design {designs}) and report {what}",
            description=f"Run (or resume) a sampled spec (design = {designs}: every design at every"
            f" point, same seeds) and write {what}, with the tables, charts and findings.md (the same runs serve"
            " both commands).",
        )
        gsa.add_argument("spec", help="spec file, or a preset name from experiments/specs (e.g. global_morris)")
        gsa.add_argument("--out", type=_path, help="output folder (default ./alignsim-out/<spec name>-<design hash>)")
        _force_option(gsa)
        _engine_options(gsa)

    plot = sub.add_parser("plot", help="redraw every chart of an experiment folder (or of its subfolders)")
    plot.add_argument("dir", help="experiment folder, or a folder of experiment folders (e.g. results)")

    rep = sub.add_parser(
        "reproduce",
        help="recompute the preset experiments into results/ and write results/README.md",
        description="Recompute every run of the preset experiments (in OUT/.alignsim-staging/, so OUT is"
        " untouched until all of them have finished), then swap them into OUT and write OUT/README.md."
        " With --resume, runs already stored (from an interrupted reproduce, or in OUT) are reused when their"
        " spec hash matches, and the output and README.md say how many.",
    )
    rep.add_argument("--quick", action="store_true", help="only the reduced reproduction (about a minute)")
    rep.add_argument(
        "--studies",
        action="store_true",
        help="instead of the preset experiments, rerun the learning studies (learning_diagnostics.md, shared_signal,"
        " policy_attribution, policy_attribution_5y, settled_policies) with the commands their READMEs record,"
        " one after another (about an hour on 2 cores); each writes its files once all its runs have finished",
    )
    rep.add_argument("--out", type=_path, default="results", help="results folder (default results)")
    mode = rep.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume",
        action="store_true",
        help="reuse stored runs whose spec hash matches instead of recomputing them (reported in README.md)",
    )
    mode.add_argument("--fresh", action="store_true", help="recompute every run (the default; kept for old scripts)")
    _engine_options(rep)

    html = sub.add_parser(
        "report",
        help="write one self-contained HTML report of an experiment folder (and a PDF where Chromium is installed)",
    )
    html.add_argument("dir", help="experiment folder (e.g. results/structure_x_kpi)")
    html.add_argument("--out", type=_path, help="HTML file to write (default DIR/report.html)")

    exp = sub.add_parser(
        "export", help="write an experiment folder's tables as parquet files or one xlsx workbook (besides the CSVs)"
    )
    exp.add_argument("dir", help="experiment folder")
    exp.add_argument("--format", required=True, help="parquet or xlsx (needs: pip install 'alignsim[export]')")
    exp.add_argument("--out", type=_path, help="folder to write into (default DIR/export)")

    dash = sub.add_parser(
        "dashboard", help="the model in the browser (Mesa SolaraViz; needs: pip install 'alignsim[viz]')"
    )
    dash.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    dash.add_argument("--port", type=_positive_int, default=8765, help="port (default 8765)")

    init = sub.add_parser(
        "init",
        help="print a commented company profile (business terms) to fill in: alignsim init > mycompany.toml",
    )
    init.add_argument("--segment", default="mid-market", help="smb, mid-market (default) or enterprise")

    cal = sub.add_parser(
        "calibrate",
        help="fit the unobserved parameters so today's organisation reproduces the profile's observed KPIs",
        description="History matching in waves (Sobol points, common random numbers): reports observed vs"
        " simulated KPIs, which parameters the KPIs pin down and which stay loose, and writes"
        " PROFILE.calibrated.toml beside the profile. Interrupt and rerun to resume.",
    )
    cal.add_argument("profile", help="company profile TOML (alignsim init writes one)")
    cal.add_argument("--waves", type=_positive_int, default=5, help="history-matching waves (default 5)")
    cal.add_argument(
        "--points", type=_positive_int, default=64, help="Sobol points per wave, a power of 2 (default 64)"
    )
    cal.add_argument("--reps", type=_positive_int, default=3, help="replicates per point, same seeds (default 3)")
    cal.add_argument("--seed", type=_nonneg_int, default=1, help="root seed (default 1)")
    cal.add_argument("--weeks", type=_positive_int, default=52, help="weeks simulated per run: the KPIs' window (52)")
    cal.add_argument(
        "--out", type=_path, help="folder for the waves and the report (default ./alignsim-out/calibrate-<profile>)"
    )
    _force_option(cal)
    _engine_options(cal)

    sub.add_parser("params", help="list every model parameter")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``alignsim``; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (exit 2, one line) and --help (exit 0)
        return int(exc.code or 0)
    from alignsim.experiments import commands, stopping

    handler = getattr(commands, f"cmd_{args.command}")
    stopping.install_stop_handlers()  # SIGTERM/SIGHUP stop every command as Ctrl-C does, not silently
    try:
        return handler(args)
    except UserError as exc:
        return _fail(args.command, exc, EXIT_USAGE)
    except SystemFailureError as exc:
        return _fail(args.command, exc, EXIT_SYSTEM)
    except KeyboardInterrupt as exc:  # Ctrl-C (or SIGTERM, which the runner turns into a KeyboardInterrupt)
        stopping.stop_acted_on()
        what = f"stopped by {exc}" if str(exc) else "interrupted"
        resume = "nothing was written (a run has nothing to resume)" if args.command == "run" else None
        message = one_line(getattr(exc, "advice", "")) or f"{what}; {resume or 'rerun the same command to resume'}"
        sys.stderr.write(f"alignsim {args.command}: {message}\n")
        return EXIT_INTERRUPTED
    except OSError as exc:  # a read or write the command could not get past (full disk, permissions, network)
        from alignsim.experiments.fileio import os_error_line

        return _fail(args.command, os_error_line(exc), EXIT_SYSTEM)
    except MemoryError:
        return _fail(
            args.command,
            "out of memory; use fewer --workers or a smaller design, then rerun the same command",
            EXIT_SYSTEM,
        )


def command() -> int:
    """The ``alignsim`` command (console script, ``python -m alignsim``): :func:`main`, then a quick exit.

    At exit the interpreter collects every object the command leaves (the scientific stack it
    imported, the experiment it charted): 0.3-0.6 s after a sweep's work is done, on one core.
    Frozen first, they are left to the operating system, which frees a process's memory at once.
    Nothing is lost: every file is written and closed, and every child process ended, before
    :func:`main` returns, and exit handlers still run.
    """
    code = main()
    gc.freeze()
    return code


def _fail(command: str, message: object, code: int) -> int:
    sys.stderr.write(f"alignsim {command}: error: {one_line(message)}\n")
    return code


if __name__ == "__main__":
    sys.exit(command())
