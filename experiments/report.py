"""Plain-text tables for the terminal and Markdown for results/README.md."""

from __future__ import annotations

import math
from typing import Any

from alignsim.experiments import stats
from alignsim.experiments.metrics import DECISION, HEADLINE, unit
from alignsim.experiments.palette import cell_label
from alignsim.experiments.tables import (
    FIXED,
    LEARNING,
    PLACEBO,
    REWARD,
    Experiment,
    baseline_pairs,
    fmt_ci,
    two_by_two,
)


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


def cell_labels(exp: Experiment) -> list[str]:
    """Row label of every cell.

    With a ``learning`` factor: the other factors, then what the cell is: ``fixed policy`` (learning off;
    with its KPI if the design runs the fixed policy under several KPIs), ``placebo (siloed schedule)``,
    or the KPI the staff learn from (``siloed``, ``shared``), e.g. ``pod / placebo (shared schedule)``.
    Without one: :func:`~alignsim.experiments.palette.cell_label`.
    """
    if LEARNING not in exp.factors:
        return [cell_label(cell) for cell in exp.cells]
    labels = []
    for cell in exp.cells:
        keys = tuple(k for k in cell if k not in (LEARNING, "kpi"))
        context = {k: cell[k] for k in keys}
        mode, kpi = cell[LEARNING], cell.get("kpi")
        if mode == FIXED:
            fixed = sum(1 for c in exp.cells if c[LEARNING] == FIXED and all(c[k] == v for k, v in context.items()))
            role = "fixed policy" + (f" ({kpi})" if kpi is not None and fixed > 1 else "")
        elif mode == PLACEBO:
            role = f"placebo ({kpi} schedule)" if kpi is not None else "placebo"
        elif mode == REWARD:
            role = str(kpi) if kpi is not None else "learned"
        else:
            role = f"learning={mode}" + (f" / {kpi}" if kpi is not None else "")
        labels.append(" / ".join([cell_label(cell, keys), role]) if keys else role)
    return labels


def cell_rows(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> list[list[str]]:
    """Header and one row per cell (labelled by :func:`cell_labels`): each metric as mean [95% CI of the mean]."""
    metrics = tuple(m for m in metrics if m in exp.metrics)
    rows = [["cell", "n", *[f"{m} ({unit(m)})" if unit(m) else m for m in metrics]]]
    for i, label in enumerate(cell_labels(exp)):
        cis = [stats.mean_ci(exp.values(i, m).to_numpy()) for m in metrics]
        n = str(cis[0].n) if cis else "0"
        rows.append([label, n, *[fmt_ci(c.mean, c.ci_low, c.ci_high) for c in cis]])
    return rows


def cell_table(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> str:
    """Aligned text version of :func:`cell_rows`."""
    return aligned(cell_rows(exp, metrics))


def effects_lines(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> list[str]:
    """Paired effects of pods and shared KPIs and their interaction (2 x 2), then every baseline comparison.

    With a ``learning`` factor the 2 x 2 is that of the cells learning from their KPI reward, and
    :func:`baseline_lines` follow.
    """
    lines = []
    if any(len(exp.factors.get(f, [])) != 2 for f in ("structure", "kpi")):
        return lines + baseline_lines(exp, metrics)
    learned = {LEARNING: REWARD} if REWARD in exp.factors.get(LEARNING, []) else {}
    (s0, s1), (k0, k1) = exp.factors["structure"], exp.factors["kpi"]
    for metric in (m for m in metrics if m in exp.metrics):
        y = two_by_two(exp, learned, metric)
        if y is None:
            continue
        pod = [stats.paired_diff(y[0, j], y[1, j]) for j in range(2)]
        kpi = [stats.paired_diff(y[i, 0], y[i, 1]) for i in range(2)]
        inter = stats.two_way_anova(y, paired=True)
        lines.append(
            f"{metric}{' (learned cells)' if learned else ''}: {s1}-{s0}"
            f" {fmt_ci(pod[0].mean_diff, pod[0].ci_low, pod[0].ci_high)} under {k0},"
            f" {fmt_ci(pod[1].mean_diff, pod[1].ci_low, pod[1].ci_high)} under {k1};"
            f" {k1}-{k0} {fmt_ci(kpi[0].mean_diff, kpi[0].ci_low, kpi[0].ci_high)} in {s0},"
            f" {fmt_ci(kpi[1].mean_diff, kpi[1].ci_low, kpi[1].ci_high)} in {s1};"
            f" interaction {fmt_ci(inter.contrast, inter.contrast_ci_low, inter.contrast_ci_high)}"
            f" (two-way ANOVA, replicate as block: F={inter.f_ab:.3g}, p={inter.p_ab:.3g})"
        )
    return lines + baseline_lines(exp, metrics)


def _significance(d: stats.PairedDiff) -> str:
    """'above' or 'below' when the 95% CI of the paired difference excludes 0, 'not' when it includes 0, else ''."""
    if not (math.isfinite(d.ci_low) and math.isfinite(d.ci_high)):
        return ""
    return "above" if d.ci_low > 0 else "below" if d.ci_high < 0 else "not"


def _diff_text(d: stats.PairedDiff) -> str:
    sig = _significance(d)
    words = {"above": "CI excludes 0", "below": "CI excludes 0", "not": "CI includes 0", "": "no CI"}[sig]
    return f"{fmt_ci(d.mean_diff, d.ci_low, d.ci_high)} ({words})"


def _fixed_structure_pairs(exp: Experiment) -> list[tuple[int, int]]:
    """(assembly-line, pod)-style pairs of fixed-policy cells differing only in a 2-level structure."""
    levels = exp.factors.get("structure", [])
    if len(levels) != 2 or FIXED not in exp.factors.get(LEARNING, []):
        return []
    pairs = []
    for i, cell in enumerate(exp.cells):
        if cell[LEARNING] == FIXED and cell["structure"] == levels[0]:
            j = exp.find_cell(**{**cell, "structure": levels[1]})
            if j is not None:
                pairs.append((i, j))
    return pairs


def baseline_lines(exp: Experiment, metrics: tuple[str, ...] = HEADLINE) -> list[str]:
    """Each learned cell minus its placebo and minus its fixed policy (paired by replicate), the structure effect
    under the fixed policy, and in words which of the decision metric's differences are significant.

    Empty if the design has no ``learning`` factor with baselines (see
    :func:`~alignsim.experiments.tables.baseline_pairs`).
    """
    pairs = baseline_pairs(exp)
    if not pairs:
        return []
    labels = cell_labels(exp)
    lines = []
    verdicts: dict[str, list[str]] = {"above": [], "below": [], "not": []}
    for metric in (m for m in metrics if m in exp.metrics):
        by_learned: dict[int, list[str]] = {}
        for a, b in pairs:
            d = stats.paired_diff(*exp.paired(a, b, metric))
            by_learned.setdefault(b, []).append(f"{labels[b]} - {labels[a]} {_diff_text(d)}")
            if metric == DECISION and _significance(d):
                verdicts[_significance(d)].append(f"{labels[b]} vs {labels[a]}")
        lines += [f"{metric}: " + "; ".join(parts) for parts in by_learned.values()]
        for a, b in _fixed_structure_pairs(exp):
            d = stats.paired_diff(*exp.paired(a, b, metric))
            lines.append(f"{metric}: {labels[b]} - {labels[a]} {_diff_text(d)}")
    if DECISION in exp.metrics and DECISION in metrics:
        words = [
            ("significantly above its baseline", verdicts["above"]),
            ("significantly below its baseline", verdicts["below"]),
            ("not significantly different", verdicts["not"]),
        ]
        lines.append(
            f"{DECISION} in words (learned cell vs baseline; significant = the 95% CI of the paired difference"
            " excludes 0): " + "; ".join(f"{what}: {', '.join(found) if found else 'none'}" for what, found in words)
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
