"""Implementations of the ``alignsim`` subcommands (argument parsing is in :mod:`alignsim.experiments.cli`).

Each handler checks everything first (the input, the output folder can be written, the engine is
there, the design is not too large), raising :class:`UserError` (exit 2) or :class:`SystemFailureError`
(exit 1) before anything is computed or written; then works, and returns the exit code.

Where results go by default (nothing rewrites earlier results unless asked):
    run        nowhere without --out.
    compare    ./alignsim-out/structure_x_kpi-<design hash>/
    sweep      ./alignsim-out/<spec name>-<design hash>/
A folder holding another design is refused with what differs; --force replaces it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import SystemFailureError, UserError, listed, one_line, shown
from alignsim.experiments.fileio import (
    atomic_write_files,
    check_output_dir,
    check_output_file,
    check_utf8,
    describe,
    json_text,
    make_dirs,
    missing_dirs,
    remove_empty,
)
from alignsim.experiments.metadata import provenance, refuse_other_model_code
from alignsim.experiments.scenario import check_params, full_params, load_scenario

EXIT_OK = 0
EXIT_FAILED_RUNS = 1
#: default parent of compare and sweep output folders, in the current directory
DEFAULT_OUT_ROOT = Path("alignsim-out")
#: what compare varies itself (a --set of these would be overridden by the design; adaptive=false would
#: switch learning off in every cell)
COMPARE_OWN = ("structure", "kpi", "learning", "adaptive")
SCHEDULER_RE = re.compile(r"^(?:(?P<proto>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss")
SCHEDULER_PROBE_SECONDS = 5.0


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


# --- run --------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    """``alignsim run``: one model run."""
    from alignsim.experiments import budget
    from alignsim.experiments.report import summary_table

    params = run_params(args)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_output_dir(out)
        check_run_folder(out)
    estimate = budget.estimate_design([params], 1, 1, out, n_metrics=40, ts_every=1, n_ts=40)
    budget.check(estimate, "this run", args.yes)
    model = _run_with_progress(args.seed, params, show=not args.no_progress)
    summary = {k: float(v) for k, v in model.summary().items()}
    frame = model.timeseries()
    print(summary_table(summary))
    if out is not None:
        record = {"summary": summary, "params": params, "seed": args.seed, "metadata": provenance()}
        created = make_dirs(out)
        try:
            atomic_write_files(
                {
                    out / "summary.json": json_text(record),
                    out / "timeseries.csv": frame.to_csv(float_format="%.17g", lineterminator="\n"),
                }
            )
        except BaseException:
            remove_empty(created)
            raise
        print(f"\nwrote {out / 'summary.json'} and {out / 'timeseries.csv'}", file=sys.stderr)
    return EXIT_OK


def _run_with_progress(seed: int, params: dict[str, Any], show: bool) -> Any:
    """The run, with a progress bar (weeks, ETA) on stderr; a status-quo start counts as its weeks in one step."""
    from tqdm import tqdm

    from alignsim.experiments.stopping import check_stop
    from alignsim.model import GTMModel
    from alignsim.model.model import starts_from_status_quo

    before = params["status_quo_weeks"] if starts_from_status_quo(params) else 0
    with tqdm(
        total=before + params["weeks"], unit="week", file=sys.stderr, disable=not show, dynamic_ncols=True
    ) as bar:
        bar.set_description("status quo" if before else "run")
        model = GTMModel(seed=seed, **params)  # learns the status quo first, when the run starts from it
        bar.update(before)
        bar.set_description("run")
        model.run(on_week=lambda _week: (check_stop(), bar.update(1)))  # a stop lost in a finalizer: raised here
    return model


RUN_FILES = ("summary.json", "timeseries.csv")


def check_run_folder(out: Path) -> None:
    """Refuse an ``out`` holding anything but an earlier ``alignsim run``'s two files (which a run replaces).

    Raises:
        UserError: the folder holds other files (an experiment's results, a user's own), or a summary.json
            that no ``alignsim run`` wrote.
    """
    if not out.is_dir():
        return
    other = sorted(e.name for e in out.iterdir() if e.name not in RUN_FILES)
    summary = out / RUN_FILES[0]
    if not other and summary.exists():
        try:
            record = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            record = None
        if not (isinstance(record, dict) and {"summary", "params", "seed"} <= set(record)):
            other = [RUN_FILES[0] + " (not written by alignsim run)"]
    if other:
        raise UserError(
            f"option --out: {str(out)!r} holds {listed(other)}; allowed: a new or empty folder, or one an earlier"
            f" alignsim run wrote ({' and '.join(RUN_FILES)}, which this run replaces)"
        )


def cmd_params(args: argparse.Namespace) -> int:
    """``alignsim params``: every parameter with default, unit, allowed values, plausible range and meaning."""
    from alignsim.experiments.report import aligned
    from alignsim.model.params import PARAMS

    rows = [["name", "default", "unit", "allowed", "plausible", "meaning"]]
    rows += [
        [
            p.name,
            repr(p.default),
            p.unit,
            p.allowed(),
            f"{p.plausible[0]:g} to {p.plausible[1]:g}" if p.plausible else "",
            p.meaning,
        ]
        for p in PARAMS.values()
    ]
    print(aligned(rows))
    return EXIT_OK


# --- checks shared by compare, sweep and reproduce ---------------------------------------------
def check_engine_options(engine: str, workers: int | None, scheduler: str | None) -> None:
    """Check --engine, --workers and --scheduler before anything is written.

    Raises:
        UserError: an unknown engine, a scheduler without ``--engine dask``, Dask not installed, or a
            malformed scheduler address (exit 2).
        SystemFailureError: the scheduler does not answer (exit 1).
    """
    from alignsim.experiments.engines import check_engine

    where = parse_scheduler(scheduler) if scheduler else None
    if engine == "dask" and importlib.util.find_spec("distributed") is None:
        raise UserError(
            "option --engine: 'dask' needs the optional Dask extra, which is not installed;"
            " install it with: pip install 'alignsim[dask]' (or use --engine local)"
        )
    check_engine(engine, workers, scheduler)
    if where:
        probe_scheduler(scheduler, *where)


def parse_scheduler(address: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` (or ``HOST:PORT``, tls/ws/wss) -> (host, port).

    Raises:
        UserError: the address is malformed.
    """
    bad = UserError(
        f"option --scheduler: got {address!r}; allowed: a Dask scheduler address tcp://HOST:PORT"
        " (e.g. tcp://10.0.0.5:8786, as printed by 'dask scheduler')"
    )
    match = SCHEDULER_RE.match(address.strip())
    if not match or (match["proto"] and match["proto"] not in SCHEDULER_PROTOCOLS):
        raise bad
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise bad
    return match["host"].strip("[]"), port


def probe_scheduler(address: str, host: str, port: int) -> None:
    """Open (and close) a TCP connection to the scheduler, so a dead address fails in seconds, not after 30 s.

    Raises:
        SystemFailureError: nothing answers at that address.
    """
    try:
        with socket.create_connection((host, port), timeout=SCHEDULER_PROBE_SECONDS):
            pass
    except OSError as exc:
        reason = describe(exc) if exc.strerror else f"no answer within {SCHEDULER_PROBE_SECONDS:.0f} s"
        raise SystemFailureError(
            f"option --scheduler: cannot reach the Dask scheduler at {address} ({reason}); start it with"
            " 'dask scheduler' (and workers with 'dask worker ADDRESS'), check the address, or use --engine local"
        ) from None


def workers_for(args: argparse.Namespace) -> int:
    """Parallel workers to assume for estimates (all cores for a command without --workers)."""
    from alignsim.experiments.budget import default_workers

    cores = default_workers()
    workers = getattr(args, "workers", None)
    return min(workers, cores) if workers else cores


def chart_workers(args: argparse.Namespace) -> int:
    """Processes that draw the charts (1: this one), at most ``chart_writer.MAX_HELPERS``."""
    from alignsim.experiments.chart_writer import MAX_HELPERS

    return min(MAX_HELPERS, workers_for(args))


def design_folder(spec: Any) -> Path:
    """Default output folder of a design: ./alignsim-out/<name>-<first 8 hex of the design hash>."""
    return DEFAULT_OUT_ROOT / f"{spec.name}-{spec.hash()[:8]}"


def _is_alignsim_manifest(manifest: Any) -> bool:
    return isinstance(manifest, dict) and "spec_hash" in manifest


def read_folder_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of an existing output folder (checked to be UTF-8 JSON), or None.

    Raises:
        UserError: the manifest or runs file is not UTF-8, or the manifest is not JSON.
    """
    from alignsim.experiments.store import MANIFEST, RUNS, TIMESERIES

    path = out / MANIFEST
    if not path.is_file():
        return None
    check_utf8(path, "manifest")
    for name, what in ((RUNS, "runs file"), (TIMESERIES, "time-series file")):
        if (out / name).is_file():
            check_utf8(out / name, what)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(
            f"manifest {str(path)!r}: not JSON ({one_line(exc)}); allowed: a folder written by alignsim"
            " (use another --out)"
        ) from None


def describe_difference(manifest: dict[str, Any], spec: Any) -> str:
    """In plain words, what the stored design has that this one does not (or vice versa)."""
    old = manifest.get("spec") or {}
    if not isinstance(old, dict):  # a hand-edited manifest
        return f"its manifest's spec is {shown(old)}, not a table"
    new = spec.raw
    diffs = []
    for key in sorted(set(old) | set(new), key=lambda k: (k in ("base", "factors"), k)):
        if key in ("name", "description"):
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            a, b = (a if isinstance(a, dict) else {"": a}), (b if isinstance(b, dict) else {"": b})
            for sub in sorted(set(a) | set(b)):
                if a.get(sub) != b.get(sub):
                    diffs.append(f"{key}.{sub} {_show(a.get(sub))} there, {_show(b.get(sub))} here")
        elif a != b:
            diffs.append(f"{key} {_show(a)} there, {_show(b)} here")
    if not diffs:
        there = (manifest.get("versions") or {}).get("alignsim", "?")
        from alignsim.experiments.metadata import versions

        diffs.append(
            f"the same spec, but the model's parameters differ (alignsim {there} there,"
            f" {versions().get('alignsim', '?')} here, or a scenario file changed)"
        )
    return "; ".join(diffs[:4]) + ("; ..." if len(diffs) > 4 else "")


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value, default=str)


def check_design(out: Path, spec: Any, force: bool) -> bool:
    """Refuse a folder with another design unless ``force``; return True if the folder is to be replaced.

    Raises:
        UserError: the folder holds another design (and no --force), or is not an alignsim folder.
    """
    if not out.is_dir() or not any(out.iterdir()):
        return False
    manifest = read_folder_manifest(out)
    if not _is_alignsim_manifest(manifest):
        raise UserError(
            f"option --out: {str(out)!r} is not empty and has no manifest.json written by alignsim;"
            " allowed: an empty or new folder, or one made by alignsim (--force only replaces alignsim results)"
        )
    if force:
        return True
    if manifest.get("spec_hash") != spec.hash():
        raise UserError(
            f"option --out: {str(out)!r} holds results of a different spec ({manifest.get('spec_name')!r}:"
            f" {describe_difference(manifest, spec)}); rerun with --force to replace them, or choose another"
            " --out folder (without --out every design gets its own folder)"
        )
    refuse_other_model_code(manifest, out, "--force to replace them, or another --out folder")
    return False


def check_design_size(spec: Any, out: Path, args: argparse.Namespace) -> Any:
    """Refuse a design past the size limits without --yes; return the estimate.

    Raises:
        UserError: too many runs, too long, or more memory or disk than is free.
    """
    from alignsim.experiments import budget

    estimate = budget.estimate_spec(spec, workers_for(args), out, remote=bool(args.scheduler))
    budget.check(estimate, f"design {spec.name!r}", args.yes)
    return estimate


# --- compare and sweep ------------------------------------------------------------------------
def _runs_done(out: Path) -> int:
    from alignsim.experiments.store import RUNS

    try:
        with open(out / RUNS, "rb") as handle:
            return max(0, sum(1 for line in handle if line.endswith(b"\n")) - 1)
    except OSError:
        return 0


def _sweep(spec: Any, out: Path, args: argparse.Namespace) -> tuple[Any, int]:
    """Check, run and chart one spec; return (result, exit code)."""
    from alignsim.experiments.charts import plot_experiment
    from alignsim.experiments.runner import prepare, run_sweep
    from alignsim.experiments.store import RUNS, TIMESERIES

    if out.exists() and not out.is_dir():
        raise UserError(f"option --out: {str(out)!r} is a file; allowed: a folder path")
    replace = check_design(out, spec, getattr(args, "force", False))
    check_output_dir(out, append=(RUNS, TIMESERIES))
    estimate = check_design_size(spec, out, args)
    check_engine_options(args.engine, args.workers, args.scheduler)
    if replace:
        shutil.rmtree(out)
    prepare(spec, out, args.engine, args.workers, args.scheduler)
    if not args.no_progress:
        print(f"{spec.name}: {estimate.line()} (rough estimate)", file=sys.stderr)
    created = missing_dirs(out)
    try:
        result = run_sweep(spec, out, args.engine, args.workers, args.scheduler, progress=not args.no_progress)
        plot_experiment(out, workers=chart_workers(args))
    except BaseException:
        if created and _runs_done(out) == 0:  # nothing was computed: leave nothing behind
            with contextlib.suppress(OSError):
                shutil.rmtree(out)
            remove_empty(created[:-1])
        raise
    runs = result.manifest["runs"]
    print(
        f"{spec.name}: {runs['done']}/{runs['planned']} runs done ({runs['computed_this_invocation']} now,"
        f" {runs['reused_from_earlier']} reused), {runs['failed']} failed, {result.seconds:.1f} s -> {out}",
        file=sys.stderr,
    )
    if result.failed:
        print(f"{spec.name}: {result.failed} run(s) failed; see {out / 'failures.csv'}", file=sys.stderr)
    return result, (EXIT_FAILED_RUNS if result.failed else EXIT_OK)


def compare_spec(args: argparse.Namespace) -> Any:
    """The structure x KPI spec with --reps, --seed, --weeks, --scenario and --set applied."""
    from alignsim.experiments.spec import load_spec, read_toml, resolve_spec_path

    raw = read_toml(resolve_spec_path("structure_x_kpi"), "spec")
    base = dict(raw.get("base", {}))
    if args.scenario:
        path = Path(args.scenario)
        base["scenario"] = str(path.resolve()) if path.is_file() else args.scenario
    sets = parse_sets(args.sets)
    for name in (*COMPARE_OWN, "weeks"):
        if name in sets:
            allowed = (
                "use --weeks"
                if name == "weeks"
                else "compare runs both structures, both KPIs and every learning mode (reward, placebo, off)"
            )
            raise UserError(f"option --set: got {name}={sets[name]!r}; allowed: any other parameter ({allowed})")
    base.update(sets)
    overrides = {"replicates": args.reps, "root_seed": args.seed, "weeks": args.weeks, "base": base}
    return load_spec("structure_x_kpi", overrides=overrides)


def cmd_compare(args: argparse.Namespace) -> int:
    """``alignsim compare``: the structure x KPI 2 x 2 beside its fixed-policy and placebo baselines (same seeds)."""
    from alignsim.experiments.engines import started_early

    with started_early(args.engine, args.workers, args.scheduler):  # workers import while the spec is checked
        spec = compare_spec(args)
        out = Path(args.out) if args.out else design_folder(spec)
        _, code = _sweep(spec, out, args)
    from alignsim.experiments.report import cell_table, effects_lines
    from alignsim.experiments.tables import Experiment

    exp = Experiment(out)
    weeks = spec.cell_params[0]["weeks"]
    print(
        f"structure x KPI with baselines: {len(spec.cells)} cells, {spec.replicates} replicates per cell with the"
        f" same seeds in every cell (root seed {spec.root_seed}), {weeks} weeks.\n"
        "Per structure: fixed policy = nobody learns (learning off; siloed and shared identical by construction,"
        " run once); placebo = the same learning schedule (trials, perturbations) paid pure noise, under the"
        " siloed and the shared schedule; siloed, shared = staff learn from their KPI reward.\n"
        "mean [95% CI of the mean, Student t]"
    )
    if spec.replicate_params:
        k = len(spec.replicate_params)
        print(
            f"Calibrated company: replicate r runs every cell at calibrated draw r mod {k} ({k} parameter sets the"
            " observed KPIs cannot rule out), so the intervals carry the calibration's uncertainty"
            + (f"; only {spec.replicates} of the {k} draws are used: raise --reps" if spec.replicates < k else ".")
        )
    print(cell_table(exp))
    print(
        "\npaired differences (same replicate seed), mean [95% CI of the mean difference, Student t];"
        " learned cell minus baseline:"
    )
    for line in effects_lines(exp):
        print("  " + line)
    return code


def cmd_sweep(args: argparse.Namespace) -> int:
    """``alignsim sweep SPEC``: run any experiment spec."""
    from alignsim.experiments.engines import started_early

    with started_early(args.engine, args.workers, args.scheduler):  # workers import while the spec is checked
        spec = sweep_spec(args)
        out = Path(args.out) if args.out else design_folder(spec)
        _, code = _sweep(spec, out, args)
    return code


def sweep_spec(args: argparse.Namespace) -> Any:
    """The spec of ``alignsim sweep SPEC``, with --scenario applied."""
    from alignsim.experiments.spec import load_spec

    overrides = None
    if getattr(args, "scenario", None):
        from alignsim.experiments.spec import read_toml, resolve_spec_path

        path = resolve_spec_path(args.spec)
        base = read_toml(path, "spec").get("base", {})
        if not isinstance(base, dict):  # as load_spec would say, before --scenario is merged into it
            raise UserError(f"spec {path.name}: field 'base': got {shown(base)}; allowed: a table of parameters")
        base = dict(base)
        given = Path(args.scenario)
        base["scenario"] = str(given.resolve()) if given.is_file() else args.scenario
        overrides = {"base": base}
    return load_spec(args.spec, overrides=overrides)


# --- report ----------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    """``alignsim report DIR``: a self-contained HTML report (no network) of one experiment folder."""
    from alignsim.experiments.html_report import write_report

    folder = Path(args.dir)
    if not (folder / "manifest.json").is_file():
        raise UserError(
            f"argument DIR: {args.dir!r} has no manifest.json; allowed: an experiment folder alignsim wrote"
        )
    if not (folder / "runs.csv").is_file():  # as plot: a report of no runs would say "n/a" everywhere
        raise UserError(
            f"argument DIR: {args.dir!r} has no runs.csv, so there is nothing to report; allowed: a folder whose"
            " sweep has run (rerun it with alignsim sweep/compare --out)"
        )
    if args.out:
        check_output_file(Path(args.out), allowed="a file path for the HTML report")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # as every other --out: made when missing
    target = write_report(folder, Path(args.out) if args.out else None)
    print(f"wrote {target}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """``alignsim export DIR --format parquet|xlsx``."""
    from alignsim.experiments.export import export

    # the default folder, DIR/export, is checked as an explicit --out is (it may be a file)
    check_output_dir(Path(args.out) if args.out else Path(args.dir) / "export", option="--out")
    for path in export(Path(args.dir), args.format, Path(args.out) if args.out else None):
        print(path)
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    """``alignsim dashboard``: serve the SolaraViz app (experiments/dashboard.py) until Ctrl-C."""
    import subprocess

    missing = [m for m in ("solara", "mesa.visualization") if importlib.util.find_spec(m.split(".")[0]) is None]
    if missing or importlib.util.find_spec("solara_assets") is None:
        raise UserError('dashboard: the browser front end is not installed; allowed: pip install "alignsim[viz]" first')
    if not 1 <= args.port <= 65535:
        raise UserError(f"option --port: got {args.port}; allowed: an integer in [1, 65535]")
    try:  # an address the server could not bind would end in pages of the server's warnings
        socket.getaddrinfo(args.host, args.port)
    except (OSError, UnicodeError):
        raise UserError(
            f"option --host: got {args.host!r}; allowed: an address or host name of this machine (e.g. 127.0.0.1)"
        ) from None
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "alignsim.experiments.dashboard",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
    ]
    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:  # a venv over system packages: Jupyter's config and widget front ends
        for var, sub in (("JUPYTER_CONFIG_PATH", ("etc", "jupyter")), ("JUPYTER_PATH", ("share", "jupyter"))):
            extra = [str(Path(p).joinpath(*sub)) for p in (sys.prefix, sys.base_prefix)]
            env[var] = os.pathsep.join(filter(None, [env.get(var), *extra]))
        # solara-assets installs the offline front end as data files under the prefix that installed it
        cdn = [Path(p) / "share" / "solara" / "cdn" for p in (sys.prefix, sys.base_prefix)]
        found = next((str(c) for c in cdn if c.is_dir() and any(c.iterdir())), None)
        if found and "SOLARA_ASSETS_PROXY_CACHE_DIR" not in env:
            env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = found
    print(f"alignsim dashboard on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        return subprocess.run(cmd, check=False, env=env).returncode
    except KeyboardInterrupt:
        return EXIT_OK


# --- company profiles ------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    """``alignsim init``: print a commented company profile of a segment."""
    from alignsim.experiments.profile import SEGMENTS
    from alignsim.experiments.profile_template import init_template

    if args.segment not in SEGMENTS:
        raise UserError(f"option --segment: got {args.segment!r}; allowed: one of {', '.join(SEGMENTS)}")
    sys.stdout.write(init_template(args.segment))
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``alignsim calibrate PROFILE``: history-match today's organisation, report, write the calibrated profile."""
    from alignsim.experiments.calibrate import calibrate, calibrated_path, impossible_message
    from alignsim.experiments.calibration import Settings
    from alignsim.experiments.calibration_report import calibrated_profile_text, summary_text, write_outputs
    from alignsim.experiments.fileio import atomic_write_text
    from alignsim.experiments.profile import is_profile, load_profile
    from alignsim.experiments.scenario import read_toml

    path = Path(args.profile)
    if not path.is_file():
        raise UserError(
            f"argument PROFILE: {args.profile!r}: no such file; allowed: a company profile TOML (alignsim init)"
        )
    data = read_toml(path, "company profile")
    if not is_profile(data):
        raise UserError(
            f"company profile {args.profile!r}: no [company] table; allowed: a profile as alignsim init writes"
        )
    profile = load_profile(path, data, calibrated=False)
    settings = Settings(args.waves, args.points, args.reps, args.seed, args.weeks)  # calibrate() checks it first
    check_engine_options(args.engine, args.workers, args.scheduler)
    stem = path.name.removesuffix(".toml").removesuffix(".calibrated")
    out = Path(args.out) if args.out else Path("alignsim-out") / f"calibrate-{stem}"
    check_output_dir(out, option="--out")
    cal = calibrate(profile, settings, out, args.engine, args.workers, args.scheduler, not args.no_progress, args.force)
    write_outputs(cal, out)
    print(summary_text(cal))
    if not cal.feasible:  # an outcome, not bad input: the report says how close each point came (exit 1)
        sys.stderr.write(
            f"alignsim calibrate: {impossible_message(cal)}; no calibrated profile written"
            f" (how close each point came: {out / 'calibration.md'})\n"
        )
        return EXIT_FAILED_RUNS
    target = calibrated_path(path)
    atomic_write_text(target, calibrated_profile_text(cal))
    print(f"wrote {target} (report: {out / 'calibration.md'})")
    return EXIT_OK


# --- global analysis -------------------------------------------------------------------------
def _sampled_spec(args: argparse.Namespace, methods: tuple[str, ...]) -> Any:
    from alignsim.experiments.spec import load_spec

    spec = load_spec(args.spec)
    if spec.sample is None or spec.design not in methods:
        raise UserError(
            f"{args.command}: spec {args.spec!r} has design {spec.design!r}; allowed: a sampled design"
            f" ({', '.join(repr(m) for m in methods)}; see experiments/design.py)"
        )
    return spec


def _analyse(spec: Any, args: argparse.Namespace) -> tuple[Path, int, Any]:
    from alignsim.experiments.global_report import analyse

    out = Path(args.out) if args.out else design_folder(spec)
    _, code = _sweep(spec, out, args)
    return out, code, analyse(out)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``alignsim sensitivity SPEC``: Morris or Sobol indices of firm value and the design contrasts."""
    from alignsim.experiments.global_report import FINDINGS, findings_lines

    out, code, exp = _analyse(_sampled_spec(args, ("morris", "sobol")), args)
    if exp is not None:
        print("\n".join(findings_lines(exp)))
        print(f"\ntables: {out}/sensitivity.csv, replicates.csv, points.csv; charts: {out}/charts; {FINDINGS}")
    return code


def cmd_discover(args: argparse.Namespace) -> int:
    """``alignsim discover SPEC``: where in the plausible ranges each design wins (boxes with coverage, density)."""
    from alignsim.experiments.global_report import FINDINGS, region_lines, share_lines

    out, code, exp = _analyse(_sampled_spec(args, ("morris", "sobol", "lhs")), args)
    if exp is not None:
        print("\n".join(["Over the plausible ranges:", *share_lines(exp), "", "Regions:", *region_lines(exp)]))
        print(f"\ntables: {out}/discovery.csv, shares.csv, points.csv; charts: {out}/charts; {FINDINGS}")
    return code


# --- plot and reproduce -----------------------------------------------------------------------
def cmd_plot(args: argparse.Namespace) -> int:
    """``alignsim plot DIR``: redraw every chart from the CSVs."""
    from alignsim.experiments.charts import plot_experiment
    from alignsim.experiments.store import MANIFEST, RUNS

    root = Path(args.dir)
    if not root.is_dir():
        raise UserError(f"plot: {str(root)!r} is not a folder; allowed: a folder written by alignsim compare/sweep")
    folders = [root] if (root / MANIFEST).is_file() else sorted(p.parent for p in root.rglob(MANIFEST))
    if not folders:
        raise UserError(
            f"plot: {str(root)!r} holds no experiment (no {MANIFEST}); allowed: a folder written by"
            " alignsim compare/sweep/reproduce, or a folder of such folders"
        )
    for folder in folders:
        if not (folder / RUNS).is_file():
            raise UserError(
                f"plot: {str(folder)!r} has no {RUNS}, so there is nothing to draw (the old charts are left as they"
                " are); allowed: a folder whose sweep has run (rerun it with alignsim sweep/compare --out)"
            )
        read_folder_manifest(folder)
        check_output_dir(folder / "charts", option="plot")
    for folder in folders:
        for path in plot_experiment(folder, workers=chart_workers(args)):
            print(path)
    return EXIT_OK


def cmd_reproduce(args: argparse.Namespace) -> int:
    """``alignsim reproduce [--quick] [--resume]``: the preset experiments and results/README.md;
    ``--studies``: the learning studies instead."""
    from alignsim.experiments.reproduce import reproduce

    if args.studies:
        from alignsim.experiments.reproduce_studies import reproduce_studies

        given = {"quick": args.quick, "resume": args.resume, "engine": args.engine != "local"}
        given |= {"workers": args.workers is not None, "scheduler": args.scheduler is not None}
        for option, used in given.items():
            if used:
                raise UserError(
                    f"option --{option}: not with --studies; allowed: --studies alone (each study reruns all its"
                    f" runs, on the workers its recorded command names) or the preset experiments with --{option}"
                )
        return reproduce_studies(Path(args.out), progress=not args.no_progress)

    return reproduce(
        Path(args.out),
        quick=args.quick,
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.no_progress,
        resume=args.resume,
        yes=args.yes,
    )
