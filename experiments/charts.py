"""Every chart of an experiment folder, drawn from its CSVs and manifest alone (PNG + SVG).

Charts (each drawn when the experiment's factors allow it):
    1. ``structure_x_kpi``: firm value, ARR, cohort LTV, standardised churn, payback, NRR per cell
       (95% CI of the mean).
    2. ``timeseries``: ARR, customers, logo churn, speed-to-lead per cell with 95% CI bands.
    3. ``interaction``: structure x KPI interaction plot for firm value and standardised churn.
    4. ``vanity_vs_truth``: each team's KPI next to company firm value, % change vs the baseline cell.
    5. ``sweep_<factor>``: headline metrics vs one factor, one line per cell, 95% CI bands.
    6. ``phase_<f1>_x_<f2>``: pod - assembly-line firm value over two factors with the break-even contour.
    7. ``ablation``: pod and shared-KPI firm-value advantage left with each mechanism switched off.

A sampled design (experiments/design.py) gets the charts of experiments/global_charts.py instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from alignsim.experiments import stats
from alignsim.experiments.chart_writer import ChartWriter, Rendered, RenderedCharts
from alignsim.experiments.metrics import DECISION, HEADLINE, TEAM_KPIS, TS_HEADLINE
from alignsim.experiments.palette import BAND_CI, LEARNING_STYLES, cell_color, cell_label
from alignsim.experiments.report import cell_labels
from alignsim.experiments.store import TIMESERIES
from alignsim.experiments.tables import EXACT_FLOATS, LEARNING, REWARD, Experiment, two_by_two
from alignsim.experiments.words import axis_label, cell_words, format_axis, mechanism_words, metric_words

CHART_DIR = "charts"
QUESTION = ("structure", "kpi")
MAX_TS_CELLS = 10
#: the writer of the plot_experiment call under way (None outside one)
_WRITER: ContextVar[RenderedCharts | None] = ContextVar("alignsim_chart_writer", default=None)


def plot_experiment(out_dir: Path, workers: int = 1) -> list[Path]:
    """Draw every applicable chart into ``out_dir/charts``; return the PNG paths.

    Args:
        out_dir: the experiment folder.
        workers: processes that draw the charts, each building and rendering whole charts (1: this
            process; see :mod:`alignsim.experiments.chart_writer`), used for the structure x KPI
            designs' four charts only. The files are the same either way.
    """
    exp = Experiment(out_dir)
    if exp.manifest.get("sample"):  # a sampled design: sensitivity and discovery charts
        from alignsim.experiments.global_charts import plot_global

        return plot_global(out_dir) if len(exp.runs) else []
    # only the 2 x 2's four charts repay a helper pool; a one-chart design draws faster in place
    # (alignsim plot of one sweep folder: 3.5 s in place, 3.8 s with helpers)
    helpers = workers if _question_only(exp) else 1
    source = exp.dir if helpers > 1 else exp  # a helper reads the folder; in place, the experiment read above
    with ChartWriter(exp.dir / CHART_DIR, helpers) as writer:
        for draw in CHARTS:
            writer.submit(drawn, draw, source)
    return writer.written


def drawn(draw: Callable[[Experiment], list[Path]], source: Experiment | Path) -> Rendered:
    """``draw``'s charts of an experiment (or of the one in folder ``source``), built and rendered, not written
    (a chart job: :meth:`ChartWriter.submit` runs it in a helper, or here)."""
    rendered = RenderedCharts()
    token = _WRITER.set(rendered)
    try:
        draw(source if isinstance(source, Experiment) else Experiment(source))
    finally:
        _WRITER.reset(token)
    return rendered.charts


# --- helpers ---------------------------------------------------------------------------
def _save(fig: Any, exp: Experiment, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.svg atomically together (a Ctrl-C or a full disk leaves the old ones).

    Inside :func:`plot_experiment`'s chart jobs (:func:`drawn`) kept as bytes for its writer to write;
    otherwise (the sampled designs' charts) rendered and written at once.
    """
    writer = _WRITER.get()
    if writer is not None:
        return [writer.save(fig, name)]
    with ChartWriter(exp.dir / CHART_DIR) as own:
        return [own.save(fig, name)]


def _question_only(exp: Experiment) -> bool:
    return set(exp.factors) <= {*QUESTION, LEARNING} and bool(set(exp.factors) & set(QUESTION))


def _is_baseline(cell: dict[str, Any]) -> bool:
    """A fixed-policy or placebo cell (drawn hatched beside the learned cells)."""
    return cell.get(LEARNING, REWARD) != REWARD


def _learned(exp: Experiment, **levels: Any) -> int | None:
    """The cell with these levels in which staff learn from their reward (if the design has baselines)."""
    if REWARD in exp.factors.get(LEARNING, []):
        levels[LEARNING] = REWARD
    return exp.find_cell(**levels)


def _present(exp: Experiment, metrics: tuple[str, ...]) -> list[str]:
    """The metrics the runs kept and could compute (NRR is undefined before a year: no blank panel)."""
    return [m for m in metrics if m in exp.metrics and m in exp.runs and exp.runs[m].notna().any()]


def _grid(n: int) -> tuple[Any, np.ndarray]:
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _reps_note(exp: Experiment) -> str:
    m = exp.manifest
    return f"{m['replicates']} replicates per cell, common random numbers, root seed {m['root_seed']}"


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


# --- 1. the 2 x 2 ----------------------------------------------------------------------
def chart_2x2(exp: Experiment) -> list[Path]:
    """Bars of the headline metrics (firm value first) per cell with 95% CI of the mean."""
    metrics = _present(exp, HEADLINE)
    if not _question_only(exp) or not metrics or exp.runs.empty:
        return []
    fig, axes = _grid(len(metrics))
    names = [cell_words(n) for n in cell_labels(exp)]
    for ax, metric in zip(axes, metrics, strict=False):
        for i, cell in enumerate(exp.cells):
            ci = stats.mean_ci(exp.values(i, metric).to_numpy())
            err = [[ci.mean - ci.ci_low], [ci.ci_high - ci.mean]] if math.isfinite(ci.ci_low) else None
            hatch, alpha = ("//", 0.45) if _is_baseline(cell) else (None, 1.0)
            ax.bar(i, ci.mean, color=cell_color(cell, i), alpha=alpha, hatch=hatch, yerr=err, capsize=5, label=names[i])
        ax.set_xticks(range(len(exp.cells)), names, rotation=25 if len(names) > 4 else 15, ha="right")
        ax.set_ylabel(axis_label(metric))
        format_axis(ax, metric)
        ax.set_title(metric_words(metric))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(len(labels), 5),
        fontsize=9,
        frameon=False,
        title=f"bars: mean; error bars: {BAND_CI}",
        title_fontsize=9,
    )
    fig.suptitle(f"Organisation design and KPIs: headline metrics per design ({_reps_note(exp)})")
    fig.tight_layout(rect=(0, 0.1 if len(labels) > 5 else 0.07, 1, 1))
    return _save(fig, exp, "structure_x_kpi")


# --- 2. time series --------------------------------------------------------------------
def read_timeseries(exp: Experiment, metrics: list[str]) -> pd.DataFrame:
    """timeseries.csv rows of ``metrics`` with a ``cell`` column."""
    path = exp.dir / TIMESERIES
    if not path.exists():
        return pd.DataFrame(columns=["run_id", "week", "metric", "value", "cell"])
    parts = []
    for chunk in pd.read_csv(path, chunksize=500_000, **EXACT_FLOATS):
        parts.append(chunk[chunk["metric"].isin(metrics)])
    frame = pd.concat(parts) if parts else pd.DataFrame(columns=["run_id", "week", "metric", "value"])
    # run ids repeat once per row: parse each distinct id once ("<cell>-<replicate>")
    codes, ids = pd.factorize(frame["run_id"])
    frame["cell"] = np.array([int(str(i).split("-")[0]) for i in ids], dtype=int)[codes]
    return frame


def chart_timeseries(exp: Experiment) -> list[Path]:
    """Weekly ARR, customers, logo churn and speed-to-lead per cell: mean line and 95% CI band."""
    if len(exp.cells) > MAX_TS_CELLS or not _question_only(exp):
        return []
    frame = read_timeseries(exp, list(TS_HEADLINE))
    present = set(frame["metric"].unique())  # once: iterating the column costs 0.2 s a pass
    metrics = [m for m in TS_HEADLINE if m in present]
    if not metrics:
        return []
    fig, axes = _grid(len(metrics))
    names = [cell_words(n) for n in cell_labels(exp)]
    for ax, metric in zip(axes, metrics, strict=False):
        rows = frame[frame["metric"] == metric]
        for i, cell in enumerate(exp.cells):
            _band_line(ax, rows[rows["cell"] == i], cell_color(cell, i), names[i])
        ax.set_xlabel("week")
        ax.set_ylabel(axis_label(metric))
        format_axis(ax, metric)
        ax.set_title(metric_words(metric))
    axes[0].legend(fontsize=8, title=f"line: mean; band: {BAND_CI}", title_fontsize=8)
    every = exp.manifest.get("timeseries_every_weeks")
    fig.suptitle(f"Week by week, per design (sampled every {every} weeks; {_reps_note(exp)})")
    fig.tight_layout()
    return _save(fig, exp, "timeseries")


def _band_line(ax: Any, rows: pd.DataFrame, color: str, name: str) -> None:
    weeks, means, lows, highs = weekly_mean_ci(rows)
    ax.plot(weeks, means, color=color, label=name, lw=1.6)
    ax.fill_between(weeks, lows, highs, color=color, alpha=0.2, lw=0)


def weekly_mean_ci(rows: pd.DataFrame) -> tuple[list[Any], list[float], list[float], list[float]]:
    """Weeks, and the mean and 95% CI of the mean of each week's ``value`` (one per run), as :func:`stats.mean_ci`.

    Weeks whose runs all have a finite value, as many as the other weeks, are computed together (a
    run per column: numpy reduces each row as it reduces one week's array, so the numbers are
    :func:`stats.mean_ci`'s to the bit); any other week goes through :func:`stats.mean_ci` itself.
    """
    by_week = rows.sort_values("week", kind="stable")  # a week's runs stay in file order, as groupby keeps them
    weeks, counts = np.unique(by_week["week"].to_numpy(), return_counts=True)
    values = by_week["value"].to_numpy(dtype=float)
    means, lows, highs = [], [], []
    runs = int(counts[0]) if len(counts) else 0
    whole = np.zeros(len(weeks), dtype=bool)
    if runs >= 2 and (counts == runs).all():
        table = values.reshape(len(weeks), runs)
        whole = np.isfinite(table).all(axis=1)
    if whole.any():
        mean = np.mean(table, axis=1)
        half = stats.t_quantile(0.5 + stats.CONFIDENCE / 2, runs - 1) * np.std(table, axis=1, ddof=1) / math.sqrt(runs)
    starts = np.concatenate(([0], np.cumsum(counts)))
    for i in range(len(weeks)):
        if whole[i]:
            m, lo, hi = float(mean[i]), float(mean[i] - half[i]), float(mean[i] + half[i])
        else:
            ci = stats.mean_ci(values[starts[i] : starts[i + 1]])
            m, lo, hi = ci.mean, ci.ci_low, ci.ci_high
        means.append(m)
        lows.append(lo)
        highs.append(hi)
    return weeks.tolist(), means, lows, highs


# --- 3. interaction --------------------------------------------------------------------
def chart_interaction(exp: Experiment) -> list[Path]:
    """Mean firm value and standardised churn by KPI regime, one line per structure, with 95% CI of the mean."""
    metrics = _present(exp, (DECISION, "logo_churn_standardised"))
    if not _question_only(exp) or any(len(exp.factors.get(f, [])) != 2 for f in QUESTION) or not metrics:
        return []
    kpis, structures = exp.factors["kpi"], exp.factors["structure"]
    fig, axes = _grid(len(metrics))
    for ax, metric in zip(axes, metrics, strict=False):
        for s in structures:
            cis = [stats.mean_ci(exp.values(_learned(exp, structure=s, kpi=k), metric).to_numpy()) for k in kpis]
            means = [c.mean for c in cis]
            err = [[c.mean - c.ci_low for c in cis], [c.ci_high - c.mean for c in cis]]
            ax.errorbar(
                range(len(kpis)),
                means,
                yerr=err,
                marker="o",
                capsize=5,
                lw=2,
                color=cell_color({"structure": s}),
                label=cell_words(s),
            )
        ax.set_xticks(range(len(kpis)), [cell_words(k) for k in kpis])
        ax.set_xlim(-0.4, len(kpis) - 0.6)
        ax.set_ylabel(axis_label(metric))
        format_axis(ax, metric)
        ax.set_title(f"{metric_words(metric)}{_interaction_note(exp, metric)}")
    axes[0].legend(fontsize=8, title=f"error bars: {BAND_CI}", title_fontsize=8)
    fig.suptitle("Does the KPI effect depend on the structure? (non-parallel lines = interaction)")
    fig.tight_layout()
    return _save(fig, exp, "interaction")


def _interaction_note(exp: Experiment, metric: str) -> str:
    y = two_by_two(exp, {}, metric)
    if y is None or not np.all(np.isfinite(y)):
        return ""
    res = stats.two_way_anova(y, paired=True)
    return f" (interaction: two-way ANOVA, replicate as block, p = {res.p_ab:.2g})"


# --- 4. vanity vs truth ----------------------------------------------------------------
def team_kpi_values(exp: Experiment, cell: int, kpi: str) -> pd.Series:
    """A team KPI per replicate; reported retention is 1 - reported_churn."""
    if kpi == "reported_retention":
        return 1.0 - exp.values(cell, "reported_churn")
    return exp.values(cell, kpi)


def chart_vanity(exp: Experiment) -> list[Path]:
    """Each team's own KPI next to company firm value: paired % change of each cell vs the baseline cell."""
    if not _question_only(exp) or len(exp.cells) < 2 or DECISION not in exp.metrics:
        return []
    source = {"reported_retention": "reported_churn"}
    kpis = [(k, name) for k, name in TEAM_KPIS if source.get(k, k) in exp.metrics]
    kpis.append((DECISION, "company: firm value (truth)"))
    fig, ax = plt.subplots(figsize=(11, 4.8))
    others = [i for i in range(1, len(exp.cells)) if not _is_baseline(exp.cells[i])]  # vs cell 0 (fixed policy)
    names = [cell_words(n) for n in cell_labels(exp)]
    width = 0.8 / len(others)
    for j, cell in enumerate(others):
        means, lows, highs = [], [], []
        for kpi, _ in kpis:
            change = ratio_of_means(team_kpi_values(exp, 0, kpi), team_kpi_values(exp, cell, kpi))
            means.append(change[0])
            lows.append(change[0] - change[1])
            highs.append(change[2] - change[0])
        xs = np.arange(len(kpis)) + (j - (len(others) - 1) / 2) * width
        ax.bar(
            xs,
            means,
            width,
            yerr=[lows, highs],
            capsize=3,
            color=cell_color(exp.cells[cell], cell),
            label=names[cell],
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(len(kpis) - 1.5, color="grey", ls=":", lw=1)
    ax.set_xticks(range(len(kpis)), [name for _, name in kpis], rotation=10)
    ax.set_ylabel(f"% change of the mean vs {names[0]}")
    ax.legend(
        fontsize=8,
        title="bars: 100 x (mean / baseline mean - 1); error bars: 95% paired-bootstrap CI",
        title_fontsize=8,
    )
    ax.set_title(f"Vanity vs truth: team KPIs vs company firm value, relative to {names[0]}")
    fig.tight_layout()
    return _save(fig, exp, "vanity_vs_truth")


def ratio_of_means(base: pd.Series, other: pd.Series, seed: int = 0) -> tuple[float, float, float]:
    """% change of the mean, 100 x (mean(other) / mean(base) - 1), with a 95% paired bootstrap CI.

    The ratio of the means, not the mean of per-replicate ratios (which overweights replicates
    with a small baseline and disagreed with the tables: +7.9% drawn where the means give +4.6%).
    """
    from scipy.stats import bootstrap

    common = base.index.intersection(other.index)
    b, o = base.loc[common].to_numpy(float), other.loc[common].to_numpy(float)
    keep = np.isfinite(b) & np.isfinite(o)
    b, o = b[keep], o[keep]
    if len(b) == 0 or b.mean() == 0:
        return (math.nan,) * 3

    def change(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return 100.0 * (np.mean(y, axis=axis) / np.mean(x, axis=axis) - 1.0)

    point = float(change(b, o))
    if len(b) < 3 or np.all(b == b[0]) and np.all(o == o[0]):
        return point, point, point
    ci = bootstrap(
        (b, o),
        change,
        paired=True,
        vectorized=True,
        n_resamples=2000,
        method="percentile",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return point, float(ci.low), float(ci.high)


# --- 5. one-factor sweeps --------------------------------------------------------------
def sweep_factor(exp: Experiment) -> str | None:
    """The single numeric non-question factor with >= 2 levels, if the design has exactly one."""
    swept = [f for f, v in exp.factors.items() if f not in (*QUESTION, LEARNING, "ablate") and len(v) >= 2]
    if len(swept) != 1 or not _numeric(exp.factors[swept[0]]):
        return None
    return swept[0]


def chart_sweep(exp: Experiment) -> list[Path]:
    """Headline metrics vs the swept factor; one line per combination of the other factors."""
    factor = sweep_factor(exp)
    metrics = _present(exp, HEADLINE)
    if factor is None or not metrics or exp.runs.empty:
        return []
    groups = _groups(exp, factor)
    fig, axes = _grid(len(metrics))
    for ax, metric in zip(axes, metrics, strict=False):
        for g, (context, cells) in enumerate(groups):
            cis = [stats.mean_ci(exp.values(c, metric).to_numpy()) for c in cells]
            xs = [exp.cells[c][factor] for c in cells]
            full = {**_base_question(exp), **context}
            color, style = cell_color(full, g), LEARNING_STYLES.get(full.get(LEARNING), "-")
            label = cell_words(cell_label(full))
            ax.plot(xs, [c.mean for c in cis], marker="o", color=color, ls=style, label=label, lw=1.6)
            ax.fill_between(xs, [c.ci_low for c in cis], [c.ci_high for c in cis], color=color, alpha=0.2, lw=0)
        ax.set_xlabel(_param_label(factor))
        ax.set_ylabel(axis_label(metric))
        format_axis(ax, metric)
        ax.set_title(f"{metric_words(metric)} vs {factor.replace('_', ' ')}")
    axes[0].legend(fontsize=8, title=f"line: mean; band: {BAND_CI}", title_fontsize=8)
    fig.suptitle(f"One-factor sweep of {factor} ({_reps_note(exp)})")
    fig.tight_layout()
    return _save(fig, exp, f"sweep_{factor}")


def _base_question(exp: Experiment) -> dict[str, Any]:
    """Structure and KPI fixed in the spec's [base] (they colour and label the lines too)."""
    base = exp.manifest.get("spec", {}).get("base", {})
    return {k: base[k] for k in QUESTION if k in base}


def _groups(exp: Experiment, factor: str) -> list[tuple[dict[str, Any], list[int]]]:
    groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for i, cell in enumerate(exp.cells):
        context = {k: v for k, v in cell.items() if k != factor}
        groups.setdefault(repr(sorted(context.items())), (context, []))[1].append(i)
    return [(ctx, sorted(cells, key=lambda c: exp.cells[c][factor])) for ctx, cells in groups.values()]


def _param_label(name: str) -> str:
    try:
        from alignsim.model.params import PARAMS

        unit = PARAMS[name].unit
    except (ImportError, KeyError):
        unit = ""
    return f"{name} ({unit})" if unit else f"{name} (dimensionless)"


# --- 6. phase diagram ------------------------------------------------------------------
def phase_factors(exp: Experiment) -> tuple[str, str] | None:
    """The two numeric factors of a phase grid that also varies structure (assembly_line, pod)."""
    if set(exp.factors.get("structure", [])) != {"assembly_line", "pod"}:
        return None
    grid = [f for f, v in exp.factors.items() if f not in (*QUESTION, "ablate") and len(v) >= 2 and _numeric(v)]
    return (grid[0], grid[1]) if len(grid) == 2 else None


def phase_table(exp: Experiment, metric: str = DECISION) -> pd.DataFrame:
    """Paired pod - assembly-line difference of ``metric`` at every grid point (and KPI level)."""
    fx, fy = phase_factors(exp)
    rows = []
    for i, cell in enumerate(exp.cells):
        if cell["structure"] != "assembly_line":
            continue
        j = exp.find_cell(**{**cell, "structure": "pod"})
        d = stats.paired_diff(*exp.paired(i, j, metric))
        rows.append(
            {
                **{k: v for k, v in cell.items() if k != "structure"},
                "diff": d.mean_diff,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
            }
        )
    return pd.DataFrame(rows).sort_values([fy, fx])


def chart_phase(exp: Experiment) -> list[Path]:
    """Heat map of pod - assembly-line firm value over two factors with the zero (break-even) contour."""
    pair = phase_factors(exp)
    if pair is None or DECISION not in exp.metrics or exp.runs.empty:
        return []
    fx, fy = pair
    table = phase_table(exp)
    panels = [(k, table[table["kpi"] == k]) for k in exp.factors["kpi"]] if "kpi" in table else [(None, table)]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 5), squeeze=False)
    limit = float(np.nanmax(np.abs(table["diff"]))) or 1.0
    for ax, (kpi, rows) in zip(axes[0], panels, strict=True):
        mesh = _phase_panel(ax, rows, fx, fy, limit)
        fixed = exp.manifest["spec"].get("base", {}).get("kpi", "siloed (default)")
        ax.set_title(cell_words(kpi) if kpi else f"KPIs: {fixed}")
    bar = fig.colorbar(mesh, ax=list(axes[0]))
    bar.set_label(f"pods minus assembly line: {axis_label(DECISION)}\n(mean of paired differences)")
    format_axis(bar.ax, DECISION)
    fig.suptitle(
        "Phase diagram: where pods beat the assembly line on firm value"
        f" (black line: break-even; dots: {BAND_CI} excludes 0)"
    )
    return _save(fig, exp, f"phase_{fx}_x_{fy}")


def _phase_panel(ax: Any, rows: pd.DataFrame, fx: str, fy: str, limit: float) -> Any:
    xs = sorted(rows[fx].unique())
    ys = sorted(rows[fy].unique())
    z = rows.pivot_table(index=fy, columns=fx, values="diff").reindex(index=ys, columns=xs).to_numpy()
    mesh = ax.pcolormesh(xs, ys, z, cmap="RdBu", vmin=-limit, vmax=limit, shading="nearest")
    if np.nanmin(z) < 0 < np.nanmax(z) and len(xs) > 1 and len(ys) > 1:
        contour = ax.contour(xs, ys, z, levels=[0.0], colors="black", linewidths=2)
        ax.clabel(contour, fmt={0.0: "break-even"}, fontsize=8)
    sure = rows[(rows["ci_low"] > 0) | (rows["ci_high"] < 0)]
    ax.scatter(sure[fx], sure[fy], s=10, color="black", label=f"{BAND_CI} excludes 0")
    ax.set_xlabel(_param_label(fx))
    ax.set_ylabel(_param_label(fy))
    return mesh


# --- 7. mechanism ablation -------------------------------------------------------------
def ablation_table(exp: Experiment, metric: str = DECISION) -> pd.DataFrame:
    """Per ablated mechanism: pod and shared-KPI advantage (paired, averaged over the other factor)."""
    rows = []
    for level in exp.factors["ablate"]:
        row: dict[str, Any] = {"ablate": level}
        for factor, (a, b), other in (
            ("structure", ("assembly_line", "pod"), "kpi"),
            ("kpi", ("siloed", "shared"), "structure"),
        ):
            diffs = [_paired_series(exp, level, factor, a, b, other, o, metric) for o in exp.factors[other]]
            per_rep = pd.concat(diffs, axis=1).dropna().mean(axis=1)
            ci = stats.mean_ci(per_rep.to_numpy())
            row.update({f"{factor}_adv": ci.mean, f"{factor}_low": ci.ci_low, f"{factor}_high": ci.ci_high})
        rows.append(row)
    return pd.DataFrame(rows)


def _paired_series(
    exp: Experiment, level: str, factor: str, a: str, b: str, other: str, o: str, metric: str
) -> pd.Series:
    ia = exp.find_cell(ablate=level, **{factor: a, other: o})
    ib = exp.find_cell(ablate=level, **{factor: b, other: o})
    return exp.values(ib, metric) - exp.values(ia, metric)


def ablation_applies(exp: Experiment) -> bool:
    """True for a structure x kpi x ablate design with both question factors at their two levels."""
    return (
        "ablate" in exp.factors
        and set(exp.factors.get("structure", [])) == {"assembly_line", "pod"}
        and {"siloed", "shared"} <= set(exp.factors.get("kpi", []))
    )


def _ablation_legend() -> list[Any]:
    from matplotlib.lines import Line2D

    return [
        Line2D([0], [0], color="black", ls="--", lw=1, label="full model (nothing off)"),
        Line2D([0], [0], color="black", marker="|", markersize=8, lw=1, label=f"error bars: {BAND_CI}"),
    ]


def chart_ablation(exp: Experiment) -> list[Path]:
    """Horizontal bars: firm-value advantage of pods and of shared KPIs with each mechanism switched off."""
    if not ablation_applies(exp) or DECISION not in exp.metrics or exp.runs.empty:
        return []
    table = ablation_table(exp)
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(table) + 2.2), sharey=True)
    titles = {"structure": "pods minus assembly line", "kpi": "shared minus siloed KPIs"}
    ys = np.arange(len(table))
    for ax, factor in zip(axes, ("structure", "kpi"), strict=True):
        full = table.loc[table["ablate"] == "none", f"{factor}_adv"]
        err = [table[f"{factor}_adv"] - table[f"{factor}_low"], table[f"{factor}_high"] - table[f"{factor}_adv"]]
        accent = cell_color({"structure": "pod", "kpi": "shared"})
        colors = ["#555555" if a == "none" else accent for a in table["ablate"]]
        ax.barh(ys, table[f"{factor}_adv"], xerr=err, color=colors, capsize=3)
        if len(full):
            ax.axvline(float(full.iloc[0]), color="black", ls="--", lw=1, label="full model (nothing off)")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"{titles[factor]}: {axis_label(DECISION)}, paired, mean over the other factor")
        format_axis(ax, DECISION, axis="x")
        ax.set_title(f"firm-value advantage of {titles[factor]}")
        ax.legend(handles=_ablation_legend(), fontsize=8)
    axes[0].set_yticks(ys, [mechanism_words(a) for a in table["ablate"]])
    axes[0].invert_yaxis()
    fig.suptitle(f"Mechanism ablation: how much advantage remains with each mechanism off ({_reps_note(exp)})")
    fig.tight_layout()
    return _save(fig, exp, "ablation")


#: every chart :func:`plot_experiment` draws when the design allows it, in order: the time series first,
#: the longest to build and render, so with helpers it starts first and ends no later than the others
CHARTS = (chart_timeseries, chart_2x2, chart_interaction, chart_vanity, chart_sweep, chart_phase, chart_ablation)
