"""Plain-text tables for the terminal and Markdown for results/README.md."""

from __future__ import annotations

import math
from typing import Any

from alignsim.experiments import stats
from alignsim.experiments.metrics import HEADLINE, unit
from alignsim.experiments.palette import cell_label
from alignsim.experiments.tables import Experiment, fmt_ci, two_by_two


def aligned(rows: list[list[str]]) -> str:
    """Left-aligned text table (first row is the header, underlined)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(summary: dict[str, float]) -> str:
    """metric / value / unit table of one run."""
    rows = [["metric", "value", "unit"]]
    rows += [[m, _num(v), unit(m)] for m, v in summary.items()]
    return aligned(rows)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.6g}"
    return str(value)


def cell_rows(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> list[list[str]]:
    """Header and one row per cell: each metric as mean [95% CI of the mean]."""
    metrics = tuple(m for m in metrics if m in exp.metrics)
    rows = [["cell", "n", *[f"{m} ({unit(m)})" if unit(m) else m for m in metrics]]]
    for i, cell in enumerate(exp.cells):
        cis = [stats.mean_ci(exp.values(i, m).to_numpy()) for m in metrics]
        n = str(cis[0].n) if cis else "0"
        rows.append([cell_label(cell), n, *[fmt_ci(c.mean, c.ci_low, c.ci_high) for c in cis]])
    return rows


def cell_table(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> str:
    """Aligned text version of :func:`cell_rows`."""
    return aligned(cell_rows(exp, metrics))


def effects_lines(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> list[str]:
    """Paired effects of pods and shared KPIs, and the interaction, for a 2 x 2 experiment."""
    lines = []
    if any(len(exp.factors.get(f, [])) != 2 for f in ("structure", "kpi")):
        return lines
    (s0, s1), (k0, k1) = exp.factors["structure"], exp.factors["kpi"]
    for metric in (m for m in metrics if m in exp.metrics):
        y = two_by_two(exp, {}, metric)
        if y is None:
            continue
        pod = [stats.paired_diff(y[0, j], y[1, j]) for j in range(2)]
        kpi = [stats.paired_diff(y[i, 0], y[i, 1]) for i in range(2)]
        inter = stats.two_way_anova(y, paired=True)
        lines.append(
            f"{metric}: {s1}-{s0} {fmt_ci(pod[0].mean_diff, pod[0].ci_low, pod[0].ci_high)} under {k0},"
            f" {fmt_ci(pod[1].mean_diff, pod[1].ci_low, pod[1].ci_high)} under {k1};"
            f" {k1}-{k0} {fmt_ci(kpi[0].mean_diff, kpi[0].ci_low, kpi[0].ci_high)} in {s0},"
            f" {fmt_ci(kpi[1].mean_diff, kpi[1].ci_low, kpi[1].ci_high)} in {s1};"
            f" interaction {fmt_ci(inter.contrast, inter.contrast_ci_low, inter.contrast_ci_high)}"
            f" (two-way ANOVA, replicate as block: F={inter.f_ab:.3g}, p={inter.p_ab:.3g})"
        )
    return lines


def markdown_table(rows: list[list[str]]) -> str:
    """A Markdown table (first row is the header)."""
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def cell_markdown(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> str:
    """Markdown version of :func:`cell_rows`."""
    return markdown_table(cell_rows(exp, metrics))
