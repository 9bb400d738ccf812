"""Implementations of the ``alignsim`` subcommands (argument parsing is in :mod:`alignsim.experiments.cli`).

Each handler validates everything first (raising :class:`UserError` before anything is written),
then works, and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import UserError
from alignsim.experiments.fileio import atomic_write_json, atomic_write_text
from alignsim.experiments.metadata import provenance
from alignsim.experiments.scenario import check_params, full_params, load_scenario

EXIT_OK = 0
EXIT_FAILED_RUNS = 1


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["n_pods=3", ...]`` -> checked parameter values.

    Raises:
        UserError: a malformed item, unknown parameter or bad value.
    """
    values: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"option --set: got {item!r}; allowed: NAME=VALUE with a parameter name")
        values.update(check_params({name.strip(): value.strip()}, where="option --set"))
    return values


def run_params(args: argparse.Namespace) -> dict[str, Any]:
    """Full parameters of ``alignsim run``: defaults < scenario < --set < --structure/--kpi/--weeks."""
    values: dict[str, Any] = {}
    if args.scenario:
        values.update(load_scenario(args.scenario))
    values.update(parse_sets(args.sets))
    for name in ("structure", "kpi", "weeks"):
        if getattr(args, name) is not None:
            values.update(check_params({name: getattr(args, name)}, where=f"option --{name}"))
    return full_params(values, where="parameters")


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        raise UserError(f"option --out: {str(out)!r} is a file; allowed: a folder path")


def cmd_run(args: argparse.Namespace) -> int:
    """``alignsim run``: one model run."""
    from alignsim.experiments.report import summary_table

    params = run_params(args)
    out = Path(args.out) if args.out else None
    _check_out(out)
    from alignsim.model import GTMModel

    model = GTMModel(seed=args.seed, **params).run()
    summary = {k: float(v) for k, v in model.summary().items()}
    frame = model.timeseries()
    print(summary_table(summary))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        record = {"summary": summary, "params": params, "seed": args.seed, "metadata": provenance()}
        atomic_write_json(out / "summary.json", record)
        atomic_write_text(out / "timeseries.csv", frame.to_csv(float_format="%.17g"))
        print(f"\nwrote {out / 'summary.json'} and {out / 'timeseries.csv'}", file=sys.stderr)
    return EXIT_OK


def cmd_params(args: argparse.Namespace) -> int:
    """``alignsim params``: every parameter with default, unit, allowed values and meaning."""
    from alignsim.experiments.report import aligned
    from alignsim.model.params import PARAMS

    rows = [["name", "default", "unit", "allowed", "meaning"]]
    rows += [[p.name, repr(p.default), p.unit, p.allowed(), p.meaning] for p in PARAMS.values()]
    print(aligned(rows))
    return EXIT_OK


def _sweep(spec: Any, out: Path, args: argparse.Namespace) -> tuple[Any, int]:
    """Validate, run and chart one spec; return (result, exit code)."""
    from alignsim.experiments.charts import plot_experiment
    from alignsim.experiments.runner import prepare, run_sweep

    prepare(spec, out, args.engine, args.workers, args.scheduler)
    result = run_sweep(spec, out, args.engine, args.workers, args.scheduler, progress=not args.no_progress)
    plot_experiment(out)
    runs = result.manifest["runs"]
    print(
        f"{spec.name}: {runs['done']}/{runs['planned']} runs done ({runs['computed_this_invocation']} now,"
        f" {runs['reused_from_earlier']} reused), {runs['failed']} failed, {result.seconds:.1f} s -> {out}",
        file=sys.stderr,
    )
    if result.failed:
        print(f"{spec.name}: {result.failed} run(s) failed; see {out / 'failures.csv'}", file=sys.stderr)
    return result, (EXIT_FAILED_RUNS if result.failed else EXIT_OK)


def cmd_compare(args: argparse.Namespace) -> int:
    """``alignsim compare``: the structure x KPI 2 x 2 with common random numbers."""
    from alignsim.experiments.report import cell_table, effects_lines
    from alignsim.experiments.spec import load_spec
    from alignsim.experiments.tables import Experiment

    overrides = {"replicates": args.reps, "root_seed": args.seed, "weeks": args.weeks}
    spec = load_spec("structure_x_kpi", overrides=overrides)
    out = Path(args.out)
    _, code = _sweep(spec, out, args)
    exp = Experiment(out)
    weeks = spec.cell_params[0]["weeks"]
    print(
        f"structure x KPI, {spec.replicates} replicates per cell, root seed {spec.root_seed}, {weeks} weeks;"
        " mean [95% CI of the mean, Student t]"
    )
    print(cell_table(exp))
    print("\npaired differences (same replicate seed) [95% CI]:")
    for line in effects_lines(exp):
        print("  " + line)
    return code


def cmd_sweep(args: argparse.Namespace) -> int:
    """``alignsim sweep SPEC``: run any experiment spec."""
    from alignsim.experiments.spec import load_spec

    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / spec.name
    _, code = _sweep(spec, out, args)
    return code


def cmd_plot(args: argparse.Namespace) -> int:
    """``alignsim plot DIR``: redraw every chart from the CSVs."""
    from alignsim.experiments.charts import plot_experiment
    from alignsim.experiments.store import MANIFEST

    root = Path(args.dir)
    folders = [root] if (root / MANIFEST).is_file() else sorted(p.parent for p in root.rglob(MANIFEST))
    if not folders:
        raise UserError(
            f"plot: {str(root)!r} holds no experiment (no {MANIFEST}); allowed: a folder written by"
            " alignsim compare/sweep/reproduce, or a folder of such folders"
        )
    for folder in folders:
        for path in plot_experiment(folder):
            print(path)
    return EXIT_OK


def cmd_reproduce(args: argparse.Namespace) -> int:
    """``alignsim reproduce [--quick]``: the preset experiments and results/README.md."""
    from alignsim.experiments.reproduce import reproduce

    return reproduce(
        Path(args.out),
        quick=args.quick,
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.no_progress,
        fresh=args.fresh,
    )
