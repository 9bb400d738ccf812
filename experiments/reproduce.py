"""``alignsim reproduce``: run the preset experiments into ``results/`` and write its README.

The full plan runs every preset spec (see :data:`FULL_PLAN`) and then the reduced plan into
``results/quick/``. Every run is recomputed unless ``--resume`` is given, and then README.md says
how many runs were reused. Nothing in ``results/`` changes until every experiment has finished
(they are computed in ``results/.alignsim-staging/`` and then moved in). The reduced plan
(:data:`QUICK_PLAN`, ``--quick``) is small enough for a test to rerun in well under a minute and
compare byte for byte with the committed ``results/quick``.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from alignsim.experiments import spec as spec_mod
from alignsim.experiments.chart_writer import MAX_HELPERS
from alignsim.experiments.charts import ablation_applies, ablation_table, plot_experiment
from alignsim.experiments.errors import SystemFailureError, UserError
from alignsim.experiments.fileio import atomic_write_text, check_output_dir, os_error_line
from alignsim.experiments.html_report import write_report
from alignsim.experiments.metadata import git_commit, now_utc, other_model_code, versions
from alignsim.experiments.metrics import DECISION
from alignsim.experiments.report import cell_markdown, effects_lines, markdown_table
from alignsim.experiments.runner import prepare, run_sweep
from alignsim.experiments.store import MANIFEST, read_manifest
from alignsim.experiments.tables import CONTRASTS, EXACT_FLOATS, Experiment, fmt_ci, fmt_num

FULL_PLAN: list[tuple[str, dict[str, Any]]] = [
    ("global_morris", {}),
    ("structure_x_kpi", {}),
    ("structure_x_kpi_10y", {}),
    ("sweep_status_quo_weeks", {}),
    ("ablation", {}),
    ("sweep_handoff_context_loss", {}),
    ("sweep_handoff_delay_weeks", {}),
    ("sweep_queue_order", {}),
    ("sweep_ae_slot_refill", {}),
    ("sweep_csm_assignment", {}),
    ("counterfactual_staffing", {}),
    ("sweep_market_fit_mean", {}),
    ("sweep_prospects_per_week", {}),
    ("sweep_market_headroom", {}),
    ("sweep_market_headroom_10y", {}),
    ("sweep_n_pods", {}),
    ("sweep_sales_cycle_scale", {}),
    ("sweep_shared_kpi_weight", {}),
    ("sweep_shared_reward_horizon_weeks", {}),
    ("sweep_shared_signal_strength", {}),
    ("sweep_champion_turnover_per_year", {}),
    ("sweep_contract_weeks", {}),
    ("sweep_incidents_per_year", {}),
    ("sweep_discount_effect", {}),
    ("sweep_overpromise_effect", {}),
    ("sweep_intent_decay_at_close", {}),
    ("sweep_program_cost_basis", {}),
    ("phase_handoff_x_cycle", {}),
]
QUICK_PLAN: list[tuple[str, dict[str, Any]]] = [
    ("structure_x_kpi", {"replicates": 4, "weeks": 52}),
    ("sweep_handoff_context_loss", {"replicates": 2, "weeks": 52}),
    (
        "global_morris",
        {
            "replicates": 2,
            "weeks": 52,
            "base": {"scenario": "default", "status_quo_weeks": 52},
            "sample": {"inputs": ["handoff_context_loss", "prospects_per_week"], "n": 2, "seed": 2026},
        },
    ),
]
#: the sampled design whose findings open README.md
GLOBAL = "global_morris"
QUICK_DIR = "quick"
#: the experiment whose self-contained HTML report (report.html) a reproduction writes: the main comparison
REPORTED = "structure_x_kpi"
#: where a reproduction computes before it replaces anything in the results folder
STAGING = ".alignsim-staging"
#: the first line of the README.md a reproduction writes (how a folder it wrote is recognised)
README_TITLE = "# Results"


def load_plan(plan: list[tuple[str, dict[str, Any]]]) -> list[spec_mod.Spec]:
    """Validate every spec of ``plan``; specs needing mechanism ablations are skipped if the model has none."""
    specs = []
    for name, overrides in plan:
        raw = spec_mod.read_toml(spec_mod.resolve_spec_path(name), "spec")
        if spec_mod.ABLATE in raw.get("factors", {}) and not spec_mod.ablations():
            print(f"reproduce: skipping {name}: the model has no model.mechanisms.ABLATIONS yet", file=sys.stderr)
            continue
        specs.append(spec_mod.load_spec(name, overrides=overrides))
    return specs


def _refuse_foreign(roots: list[Path], experiments: list[Path]) -> None:
    """Refuse to replace what no reproduction wrote: a README.md of someone else's in a folder whose
    README a reproduction writes (``roots``), or a folder in an experiment's place without the
    manifest.json an experiment has.

    Raises:
        UserError: naming the file or folder.
    """
    for readme in (root / "README.md" for root in roots):
        if readme.is_file() and not readme.read_text(errors="replace").startswith(README_TITLE):
            raise UserError(
                f"option --out: {str(readme)!r} was not written by alignsim reproduce and would be replaced;"
                " allowed: a new or empty folder, or one a reproduction wrote (results/)"
            )
    for folder in experiments:
        if folder.is_dir() and any(folder.iterdir()) and not (folder / "manifest.json").is_file():
            raise UserError(
                f"option --out: {str(folder)!r} holds something other than an experiment (no manifest.json)"
                " and would be replaced; allowed: a new or empty folder, or one a reproduction wrote (results/)"
            )


def reproduce(
    out: Path,
    quick: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    resume: bool = False,
    yes: bool = False,
) -> int:
    """Recompute the plan(s) into ``out`` and write README.md; return the exit code (1 if any run failed).

    Every experiment is computed in ``out/.alignsim-staging/`` and only when all of them have finished are
    they moved into ``out`` (replacing the earlier folders) and README.md rewritten: an interrupted or failed
    reproduction leaves ``out`` as it was. By default every run is recomputed. With ``resume``, runs stored by
    an interrupted reproduction (in the staging folder) or in ``out`` are reused when their spec hash matches,
    and README.md and the output say how many were reused.

    Raises:
        UserError: before anything is written, if a spec, an option or ``out`` is invalid or the plan is past
            the size limits without ``yes``.
        SystemFailureError: ``out`` cannot be written, or the Dask scheduler does not answer.
    """
    from alignsim.experiments import budget
    from alignsim.experiments.commands import check_engine_options

    out = Path(out)
    jobs = [(s, Path(QUICK_DIR) / s.name) for s in load_plan(QUICK_PLAN)]
    if not quick:
        jobs = [(s, Path(s.name)) for s in load_plan(FULL_PLAN)] + jobs
    stage = out / STAGING
    roots = [out / QUICK_DIR] if quick else [out, out / QUICK_DIR]  # the folders whose README.md it writes
    if out.exists() and not out.is_dir():
        raise UserError(f"option --out: {str(out)!r} is a file; allowed: a folder path")
    check_output_dir(out)
    parallel = budget.default_workers() if workers is None else min(workers, budget.default_workers())
    estimate = budget.combine([budget.estimate_spec(spec, parallel, out, remote=bool(scheduler)) for spec, _ in jobs])
    budget.check(estimate, "the reproduction", yes)
    for part in (out, stage, *(out / rel for _, rel in jobs)):
        if part.exists() and not part.is_dir():
            raise UserError(f"option --out: {str(part)!r} is a file; allowed: a folder of experiment folders")
    _refuse_foreign(roots, [out / rel for _, rel in jobs])
    check_engine_options(engine, workers, scheduler)
    if progress:
        print(f"reproduce: {estimate.line()} (rough estimate)", file=sys.stderr)

    if not resume and stage.exists():
        shutil.rmtree(stage)
    origin = {}
    for spec, rel in jobs:
        origin[rel] = _stage_for_resume(spec, out / rel, stage / rel) if resume else "new"
        prepare(spec, stage / rel, engine, workers, scheduler)

    # the commit the runs are computed at: after the swap below, results/ itself makes the checkout dirty
    started, commit, clock = now_utc(), git_commit(), time.perf_counter()
    counts: dict[Path, dict[str, int]] = {}
    failed = 0
    try:
        for spec, rel in jobs:
            result = run_sweep(spec, stage / rel, engine, workers, scheduler, progress=progress)
            plot_experiment(stage / rel, workers=min(MAX_HELPERS, parallel))
            if spec.name == REPORTED:
                write_report(stage / rel)
            counts[rel] = dict(result.manifest["runs"], source=origin[rel])
            failed += result.failed
    except KeyboardInterrupt as exc:
        exc.advice = _left_as_it_was(out, stage, "interrupted")  # what the CLI prints instead of its default
        raise
    except (OSError, SystemFailureError) as exc:
        reason = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
        raise SystemFailureError(f"{reason}; {_left_as_it_was(out, stage, 'stopped')}") from None
    total = time.perf_counter() - clock
    _swap_in(out, stage, [rel for _, rel in jobs])
    for root in roots:
        mine = [(s, out / rel) for s, rel in jobs if (out / rel).parent == root]
        mine_counts = {out / rel: c for rel, c in counts.items() if (out / rel).parent == root}
        write_readme(
            root, mine, mine_counts, started, total, quick=root.name == QUICK_DIR, resume=resume, commit=commit
        )
    computed = sum(c["computed_this_invocation"] for c in counts.values())
    reused = sum(c["reused_from_earlier"] for c in counts.values())
    print(
        f"reproduce: {len(jobs)} experiments in {total:.0f} s: {computed} runs computed now, {reused} reused from"
        f" the store (spec hash checked), {failed} failed -> {out}",
        file=sys.stderr,
    )
    return 1 if failed else 0


def _left_as_it_was(out: Path, stage: Path, what: str) -> str:
    done = sum(_rows(p) for p in stage.rglob("runs.csv")) if stage.is_dir() else 0
    return (
        f"reproduce {what}: {out} is unchanged; the {done} runs finished so far are kept in {stage}:"
        " rerun with --resume to continue from them (or without it to start over)"
    )


def _rows(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return max(0, sum(1 for line in handle if line.endswith(b"\n")) - 1)
    except OSError:
        return 0


def _stage_for_resume(spec: spec_mod.Spec, final: Path, staged: Path) -> str:
    """Put what can be resumed into ``staged``; return where it came from ("staging", "results" or "new")."""
    if staged.is_dir() and any(staged.iterdir()):
        manifest = read_manifest(staged) or {}
        if manifest.get("spec_hash") == spec.hash() and not other_model_code(manifest):
            return "staging"
        shutil.rmtree(staged)
    manifest = read_manifest(final) if (final / MANIFEST).is_file() else None
    if manifest and other_model_code(manifest):
        print(f"reproduce: {final} was computed by other model code: recomputing it", file=sys.stderr)
        return "new"
    if manifest and manifest.get("spec_hash") == spec.hash():
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(final, staged, ignore=shutil.ignore_patterns("charts", "*.tmp"))
        return "results"
    if manifest:
        print(
            f"reproduce: {final} holds another version of {spec.name} (spec hash {manifest.get('spec_hash')},"
            f" now {spec.hash()}): recomputing it",
            file=sys.stderr,
        )
    return "new"


def _swap_in(out: Path, stage: Path, rels: list[Path]) -> None:
    """Move every finished experiment from the staging folder into ``out`` (the old folders go), then drop the stage."""
    trash = stage / ".replaced"
    for rel in rels:
        final, staged = out / rel, stage / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            (trash / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, trash / rel)
        os.replace(staged, final)
    shutil.rmtree(stage, ignore_errors=True)


def write_readme(
    root: Path,
    jobs: list[tuple[spec_mod.Spec, Path]],
    counts: dict[Path, dict[str, Any]],
    started: str,
    total_s: float,
    quick: bool,
    resume: bool = False,
    commit: str | None = None,
) -> None:
    """Write ``root/README.md``: provenance, headline table, effects, mechanisms, where pods/shared do not win.

    ``commit`` is the git commit the runs were computed at (default: the checkout's now).
    """
    folders = {spec.name: folder for spec, folder in jobs}
    parts = [_preamble(quick, started, total_s, counts, resume, git_commit() if commit is None else commit)]
    if GLOBAL in folders:
        parts.append(_global(folders[GLOBAL], root))
    parts.append(_experiment_list(root, jobs, counts))
    if "structure_x_kpi" in folders:
        parts.append(_headline(Experiment(folders["structure_x_kpi"])))
    if "ablation" in folders:
        parts.append(_mechanisms(Experiment(folders["ablation"])))
    parts.append(_no_win(root, [f for _, f in jobs]))
    atomic_write_text(root / "README.md", "\n\n".join(p for p in parts if p) + "\n")


def _preamble(
    quick: bool, started: str, total_s: float, counts: dict[Path, dict[str, Any]], resume: bool, commit: str | None
) -> str:
    what = "alignsim reproduce" + (" --quick" if quick else "") + (" --resume" if resume else "")
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    computed = sum(int(c.get("computed_this_invocation", 0)) for c in counts.values())
    reused = sum(int(c.get("reused_from_earlier", 0)) for c in counts.values())
    if reused:
        origin = (
            f"**Not every run was computed by this invocation: {computed} runs were computed, {reused} were"
            " verified from the store against their experiment's spec hash and reused** (they were computed by an"
            " earlier invocation, possibly at another git commit; per experiment in the table below)."
        )
    else:
        origin = f"Every number below was computed by this invocation ({computed} runs), none reused from earlier runs."
    note = (
        "Reduced reproduction (short horizon, few replicates): a test reruns it and compares runs.csv"
        " and summary.csv byte for byte."
        if quick
        else "The experiments are the preset specs in experiments/specs/."
    )
    return (
        f"{README_TITLE}{' (quick)' if quick else ''}\n\nProduced by `{what}` (started {started},"
        f" {total_s:.0f} s wall time; {vers}; git commit {commit}).\n{origin}\n{note}\n\n"
        "Intervals are 95% confidence intervals of the mean (Student t over replicates); differences"
        " are paired by replicate (common random numbers: replicate r uses the same seed in every cell)."
    )


def _experiment_list(root: Path, jobs: list[tuple[spec_mod.Spec, Path]], counts: dict[Path, dict[str, Any]]) -> str:
    rows = [
        [
            "experiment",
            "cells",
            "replicates",
            "runs",
            "computed now",
            "verified from store (spec hash)",
            "wall time (s, all invocations)",
            "charts",
        ]
    ]
    for spec, folder in jobs:
        charts = ", ".join(
            f"[{p.stem}]({p.relative_to(root).as_posix()})" for p in sorted((folder / "charts").glob("*.png"))
        )
        count = counts.get(folder, {})
        reused = int(count.get("reused_from_earlier", 0))
        rows.append(
            [
                spec.name,
                str(len(spec.cells)),
                str(spec.replicates),
                str(spec.n_runs),
                str(count.get("computed_this_invocation", "?")),
                f"{reused} ({spec.hash()})" if reused else "0",
                f"{_wall_seconds(folder, {}):.0f}",
                charts,
            ]
        )
    return "## Experiments\n\n" + markdown_table(rows)


def _wall_seconds(folder: Path, timings: dict[Path, float]) -> float:
    manifest = read_manifest(folder) or {}
    return float(manifest.get("wall_seconds_all_invocations", timings.get(folder, 0.0)))


def _global(folder: Path, root: Path) -> str:
    """The global analysis's findings (where each design wins over the plausible ranges), charts linked."""
    from alignsim.experiments.global_report import findings_lines
    from alignsim.experiments.sensitivity import SampledExperiment

    lines = findings_lines(SampledExperiment(folder))
    charts = [p for p in sorted((folder / "charts").glob("*.png")) if not p.stem.startswith("decision_map_")]
    charts += sorted((folder / "charts").glob("decision_map_pod_minus_assembly*.png"))
    lines += ["", *(f"![{p.stem}]({p.relative_to(root).as_posix()})" for p in charts)]
    return "\n".join(lines)


def _headline(exp: Experiment) -> str:
    weeks = exp.manifest["spec"].get("weeks", "default")
    lines = [
        f"## Headline: structure x KPI with its baselines ({exp.manifest['replicates']} replicates per cell,"
        f" {weeks} weeks)",
        "",
        "Fixed policy: nobody learns, everyone keeps the status quo's learned behaviour (learning = off);"
        " placebo: the same learning schedule paid noise; siloed / shared: staff learn from that KPI. Every"
        " cell starts from the status quo's learned behaviour (start_policy) and uses the same seeds.",
        "",
        cell_markdown(exp),
        "",
        "Paired effects and interaction (mean [95% CI]):",
        "",
    ]
    lines += [f"- {line}" for line in effects_lines(exp)]
    return "\n".join(lines)


def _mechanisms(exp: Experiment) -> str:
    if not ablation_applies(exp) or exp.runs.empty:
        return ""
    table = ablation_table(exp)
    full = table[table["ablate"] == "none"]
    if full.empty:
        return ""
    base = {f: float(full.iloc[0][f"{f}_adv"]) for f in ("structure", "kpi")}
    rows = [
        [
            "switched off",
            "pod - assembly_line firm value [95% CI]",
            "change vs full model",
            "shared - siloed firm value [95% CI]",
            "change vs full model",
        ]
    ]
    for _, row in table.iterrows():
        cells = [("nothing (full model)" if row["ablate"] == "none" else str(row["ablate"]))]
        for f in ("structure", "kpi"):
            cells.append(fmt_ci(row[f"{f}_adv"], row[f"{f}_low"], row[f"{f}_high"]))
            cells.append("" if row["ablate"] == "none" else fmt_num(row[f"{f}_adv"] - base[f]))
        rows.append(cells)
    ranked = {
        f: table[table["ablate"] != "none"]
        .assign(change=(table[f"{f}_adv"] - base[f]).abs())
        .sort_values("change", ascending=False)["ablate"]
        .head(3)
        for f in ("structure", "kpi")
    }
    return "\n".join(
        [
            "## Why: mechanism ablation",
            "",
            "firm-value advantage (paired by replicate, averaged over the other factor) with each mechanism switched"
            " off through its lever in `alignsim.model.mechanisms.ABLATIONS`. A large change means the mechanism"
            " carries the effect.",
            "",
            markdown_table(rows),
            "",
            f"The pod effect depends most on {', '.join(ranked['structure'])}; the shared-KPI effect on"
            f" {', '.join(ranked['kpi'])} (largest absolute changes; see docs/MODEL.md for each mechanism).",
        ]
    )


def _verdicts(folders: list[Path], losing: bool) -> list[str]:
    """Grouped lines: comparisons whose firm-value CI lies entirely below (losing) or above 0."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for folder in folders:
        path = folder / CONTRASTS
        if folder.name == "ablation" or not path.exists():
            continue
        frame = pd.read_csv(path, **EXACT_FLOATS)
        frame["context"] = frame["context"].fillna("")
        frame = frame[(frame["metric"] == DECISION) & frame["factor"].isin(["structure", "kpi"])]
        # a contrast among fixed-policy or placebo cells is a baseline, not a verdict on a design
        frame = frame[~frame["context"].str.contains("learning=off|learning=placebo", regex=True)]
        side = pd.to_numeric(frame["diff_ci95_t_high" if losing else "diff_ci95_t_low"], errors="coerce")
        for _, row in frame[(side < 0) if losing else (side > 0)].iterrows():
            parts = [p for p in str(row["context"]).split(";") if p]
            design = ("structure", "kpi", "learning")
            fixed = ", ".join(p for p in parts if p.split("=")[0] in design) or "-"
            where = ", ".join(p for p in parts if p.split("=")[0] not in design) or "default parameters"
            key = (folder.name, f"{row['level_b']} - {row['level_a']}", fixed)
            diff = fmt_ci(row["mean_diff_b_minus_a"], row["diff_ci95_t_low"], row["diff_ci95_t_high"])
            groups.setdefault(key, []).append(f"{where}: {diff}")
    return [
        f"- {name}: {what}{f' ({fixed})' if fixed != '-' else ''} at " + "; ".join(items)
        for (name, what, fixed), items in groups.items()
    ]


def _no_win(root: Path, folders: list[Path]) -> str:
    lines = [
        "## Where pods or shared KPIs do not win",
        "",
        "Firm-value comparisons whose 95% CI of the paired difference lies entirely below 0:",
        "",
    ]
    lines += _verdicts(folders, losing=True) or ["- none found in these experiments"]
    lines += ["", "## Where they win", "", "Firm-value comparisons whose 95% CI lies entirely above 0:", ""]
    lines += _verdicts(folders, losing=False) or ["- none found in these experiments"]
    return "\n".join(lines)
