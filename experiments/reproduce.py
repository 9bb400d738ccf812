"""``alignsim reproduce``: run the preset experiments into ``results/`` and write its README.

The full plan runs every preset spec (see :data:`FULL_PLAN`) and then the reduced plan into
``results/quick/``. The reduced plan (:data:`QUICK_PLAN`, ``--quick``) is small enough for a test
to rerun in well under a minute and compare byte for byte with the committed ``results/quick``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from alignsim.experiments import spec as spec_mod
from alignsim.experiments.charts import ablation_applies, ablation_table, plot_experiment
from alignsim.experiments.fileio import atomic_write_text
from alignsim.experiments.metadata import git_commit, now_utc, versions
from alignsim.experiments.metrics import DECISION
from alignsim.experiments.report import cell_markdown, effects_lines, markdown_table
from alignsim.experiments.runner import prepare, run_sweep
from alignsim.experiments.store import MANIFEST, read_manifest
from alignsim.experiments.tables import CONTRASTS, Experiment, fmt_ci, fmt_num

FULL_PLAN: list[tuple[str, dict[str, Any]]] = [
    ("structure_x_kpi", {}),
    ("baseline_fixed_policy", {}),
    ("ablation", {}),
    ("sweep_handoff_context_loss", {}),
    ("sweep_handoff_delay_weeks", {}),
    ("sweep_queue_order", {}),
    ("counterfactual_staffing", {}),
    ("sweep_market_fit_mean", {}),
    ("sweep_prospects_per_week", {}),
    ("sweep_n_pods", {}),
    ("sweep_sales_cycle_scale", {}),
    ("sweep_shared_kpi_weight", {}),
    ("sweep_champion_turnover_per_year", {}),
    ("sweep_contract_weeks", {}),
    ("sweep_incidents_per_year", {}),
    ("phase_handoff_x_cycle", {}),
]
QUICK_PLAN: list[tuple[str, dict[str, Any]]] = [
    ("structure_x_kpi", {"replicates": 4, "weeks": 52}),
    ("sweep_handoff_context_loss", {"replicates": 2, "weeks": 52}),
]
QUICK_DIR = "quick"


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


def reproduce(
    out: Path,
    quick: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    fresh: bool = False,
) -> int:
    """Run the plan(s) and write README.md; return the exit code (1 if any run failed).

    With ``fresh``, earlier folders of the plan (those with a manifest.json) are deleted first;
    otherwise they are resumed, and a folder holding another version of a spec is refused.

    Raises:
        UserError: before anything is written, if a spec or an existing output folder is invalid.
    """
    jobs = [(s, out / QUICK_DIR / s.name) for s in load_plan(QUICK_PLAN)]
    if not quick:
        jobs = [(s, out / s.name) for s in load_plan(FULL_PLAN)] + jobs
    if fresh:
        for _, folder in jobs:
            if (folder / MANIFEST).is_file():
                shutil.rmtree(folder)
    for spec, folder in jobs:
        prepare(spec, folder, engine, workers, scheduler)
    started, clock = now_utc(), time.perf_counter()
    timings, failed = {}, 0
    for spec, folder in jobs:
        result = run_sweep(spec, folder, engine, workers, scheduler, progress=progress)
        plot_experiment(folder)
        timings[folder] = result.seconds
        failed += result.failed
    total = time.perf_counter() - clock
    roots = [out / QUICK_DIR] if quick else [out, out / QUICK_DIR]
    for root in roots:
        mine = [(s, f) for s, f in jobs if f.parent == root]
        write_readme(root, mine, timings, started, total, quick=root.name == QUICK_DIR)
    print(f"reproduce: {len(jobs)} experiments in {total:.0f} s, {failed} failed runs -> {out}", file=sys.stderr)
    return 1 if failed else 0


def write_readme(
    root: Path,
    jobs: list[tuple[spec_mod.Spec, Path]],
    timings: dict[Path, float],
    started: str,
    total_s: float,
    quick: bool,
) -> None:
    """Write ``root/README.md``: headline table, effects, mechanisms, where pods/shared do not win."""
    parts = [_preamble(quick, started, total_s), _experiment_list(root, jobs, timings)]
    folders = {spec.name: folder for spec, folder in jobs}
    if "structure_x_kpi" in folders:
        parts.append(_headline(Experiment(folders["structure_x_kpi"])))
    if "baseline_fixed_policy" in folders:
        parts.append(_baseline(Experiment(folders["baseline_fixed_policy"])))
    if "ablation" in folders:
        parts.append(_mechanisms(Experiment(folders["ablation"])))
    parts.append(_no_win(root, [f for _, f in jobs]))
    atomic_write_text(root / "README.md", "\n\n".join(p for p in parts if p) + "\n")


def _preamble(quick: bool, started: str, total_s: float) -> str:
    what = "alignsim reproduce --quick" if quick else "alignsim reproduce"
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    note = (
        "Reduced reproduction (short horizon, few replicates): a test reruns it and compares runs.csv"
        " and summary.csv byte for byte."
        if quick
        else "Every number below is recomputed by that command from the preset specs in experiments/specs/."
    )
    return (
        f"# Results{' (quick)' if quick else ''}\n\nProduced by `{what}` (started {started},"
        f" {total_s:.0f} s wall time; {vers}; git commit {git_commit()}).\n{note}\n\n"
        "Intervals are 95% confidence intervals of the mean (Student t over replicates); differences"
        " are paired by replicate (common random numbers: replicate r uses the same seed in every cell)."
    )


def _experiment_list(root: Path, jobs: list[tuple[spec_mod.Spec, Path]], timings: dict[Path, float]) -> str:
    rows = [["experiment", "cells", "replicates", "runs", "wall time (s, all invocations)", "charts"]]
    for spec, folder in jobs:
        charts = ", ".join(
            f"[{p.stem}]({p.relative_to(root).as_posix()})" for p in sorted((folder / "charts").glob("*.png"))
        )
        rows.append(
            [
                spec.name,
                str(len(spec.cells)),
                str(spec.replicates),
                str(spec.n_runs),
                f"{_wall_seconds(folder, timings):.0f}",
                charts,
            ]
        )
    return "## Experiments\n\n" + markdown_table(rows)


def _wall_seconds(folder: Path, timings: dict[Path, float]) -> float:
    manifest = read_manifest(folder) or {}
    return float(manifest.get("wall_seconds_all_invocations", timings.get(folder, 0.0)))


def _headline(exp: Experiment) -> str:
    weeks = exp.manifest["spec"].get("weeks", "default")
    lines = [
        f"## Headline: structure x KPI ({exp.manifest['replicates']} replicates per cell, {weeks} weeks)",
        "",
        cell_markdown(exp),
        "",
        "Paired effects and interaction (mean [95% CI]):",
        "",
    ]
    lines += [f"- {line}" for line in effects_lines(exp)]
    return "\n".join(lines)


def _baseline(exp: Experiment) -> str:
    lines = [
        f"## Baseline: fixed policies ({exp.manifest['replicates']} replicates per cell, nobody learns)",
        "",
        "Every decision variable stays at its default, so siloed and shared KPIs are identical by construction:"
        " the KPI effects above come only through what people learn to do under each plan, and the structure"
        " effect here is the structure alone.",
        "",
        cell_markdown(exp),
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
        frame = pd.read_csv(path, float_precision="round_trip")
        frame["context"] = frame["context"].fillna("")
        frame = frame[(frame["metric"] == DECISION) & frame["factor"].isin(["structure", "kpi"])]
        side = pd.to_numeric(frame["diff_ci95_t_high" if losing else "diff_ci95_t_low"], errors="coerce")
        for _, row in frame[(side < 0) if losing else (side > 0)].iterrows():
            parts = [p for p in str(row["context"]).split(";") if p]
            fixed = ", ".join(p for p in parts if p.split("=")[0] in ("structure", "kpi")) or "-"
            where = ", ".join(p for p in parts if p.split("=")[0] not in ("structure", "kpi")) or "default parameters"
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
