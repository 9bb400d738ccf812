"""Derived tables of an experiment folder, computed from runs.csv and manifest.json alone.

- ``summary.csv``: one row per cell: n_runs, and per metric ``<m>_mean``, ``<m>_sd``,
  ``<m>_ci95_t_low``/``_high`` (Student t 95% CI of the mean), ``<m>_p10``/``_p90`` (spread of runs).
- ``contrasts.csv``: paired differences (same replicate) between cells that differ in one factor,
  level k minus the factor's first level, with t CI, paired t test and Cohen's d_z.
- ``interaction.csv``: when ``structure`` and ``kpi`` are 2-level factors, the two-way ANOVA
  (replicate as block) and the interaction contrast for every metric, per level of other factors.
- ``baselines.csv``: when ``learning`` is a factor with level ``reward``, every cell that learns from
  its reward against its baselines (paired by replicate): its placebo (``learning=placebo``, same
  other factors) and its fixed policy (``learning=off``, same other factors; under any KPI if the
  design runs the fixed policy under one KPI only, since then the KPI changes nothing).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignsim.experiments import stats
from alignsim.experiments.errors import UserError, one_line
from alignsim.experiments.fileio import atomic_write_lines, check_utf8, csv_line
from alignsim.experiments.store import MANIFEST, RUNS, read_manifest

SUMMARY = "summary.csv"
CONTRASTS = "contrasts.csv"
INTERACTION = "interaction.csv"
BASELINES = "baselines.csv"
#: the learning factor and its levels: learned from the KPI reward, placebo (paid noise), off (fixed policy)
LEARNING, REWARD, PLACEBO, FIXED = "learning", "reward", "placebo", "off"
SUMMARY_STATS = ("mean", "sd", "ci95_t_low", "ci95_t_high", "p10", "p90")
#: read floats exactly: pandas 3 does by default (and deprecates the option); pandas 2's default parser
#: can land one ulp off, which changed summary/contrasts/interaction.csv between pandas versions
EXACT_FLOATS: dict[str, Any] = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def read_runs(path: Path) -> pd.DataFrame:
    """runs.csv as a frame, floats parsed exactly (the same with pandas 2 and 3).

    Raises:
        UserError: the file is not UTF-8 text or not a CSV with the run columns.
    """
    check_utf8(path, "runs file")
    try:
        frame = pd.read_csv(path, **EXACT_FLOATS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UserError(
            f"runs file {str(path)!r}: not a readable CSV ({one_line(exc)}); allowed: a file written by alignsim"
        ) from None
    missing = [c for c in ("run_id", "cell", "replicate") if c not in frame.columns]
    if missing:
        raise UserError(f"runs file {str(path)!r}: no column {missing[0]!r}; allowed: a file written by alignsim")
    return frame


class Experiment:
    """An experiment folder's runs and manifest, read-only."""

    def __init__(self, out_dir: Path) -> None:
        self.dir = Path(out_dir)
        try:
            manifest = read_manifest(self.dir)
        except UnicodeDecodeError:
            raise UserError(
                f"manifest {str(self.dir / MANIFEST)!r}: not UTF-8 text; allowed: a file written by alignsim"
            ) from None
        if manifest is None:
            raise FileNotFoundError(f"{self.dir} has no manifest.json")
        try:
            self.manifest: dict[str, Any] = manifest
            self.factors: dict[str, list[Any]] = manifest["factors"]
            self.cells: list[dict[str, Any]] = manifest["cells"]
            self.metrics: list[str] = manifest["metrics"]
        except (KeyError, TypeError) as exc:
            raise UserError(
                f"{str(self.dir / MANIFEST)!r}: not an alignsim manifest (no {one_line(exc)}); allowed: a file"
                " written by alignsim"
            ) from None
        path = self.dir / RUNS
        self.runs = read_runs(path) if path.exists() else pd.DataFrame(columns=["cell", "replicate"])
        self._by_cell = {int(c): g.set_index("replicate").sort_index() for c, g in self.runs.groupby("cell")}

    def values(self, cell: int, metric: str) -> pd.Series:
        """Metric values of one cell, indexed by replicate."""
        rows = self._by_cell.get(int(cell))
        if rows is None:
            return pd.Series([], dtype=float, name=metric, index=pd.Index([], name="replicate"))
        return rows[metric].astype(float)

    def find_cell(self, **levels: Any) -> int | None:
        """Index of the cell with these factor values (other factors ignored), first match."""
        for i, cell in enumerate(self.cells):
            if all(cell.get(k) == v for k, v in levels.items()):
                return i
        return None

    def paired(self, cell_a: int, cell_b: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Values of two cells on the replicates both have, in replicate order."""
        a, b = self.values(cell_a, metric), self.values(cell_b, metric)
        common = a.index.intersection(b.index)
        return a.loc[common].to_numpy(), b.loc[common].to_numpy()


def write_tables(out_dir: Path) -> None:
    """Write summary.csv, contrasts.csv and (if applicable) interaction.csv atomically.

    A sampled design (experiments/design.py) gets summary.csv and, once every run is done, the tables of
    experiments/global_report.py (points, sensitivity, replicates, discovery, shares, findings.md).
    """
    exp = Experiment(out_dir)
    atomic_write_lines(exp.dir / SUMMARY, summary_lines(exp))
    if exp.manifest.get("sample"):  # a sampled design: per-point contrasts, sensitivity, discovery, findings
        from alignsim.experiments.global_report import analyse

        analyse(out_dir)
        return
    atomic_write_lines(exp.dir / CONTRASTS, contrast_lines(exp))
    lines = interaction_lines(exp)
    if lines:
        atomic_write_lines(exp.dir / INTERACTION, lines)
    lines = baseline_lines(exp)
    if lines:
        atomic_write_lines(exp.dir / BASELINES, lines)


def summary_lines(exp: Experiment) -> list[str]:
    """Lines of summary.csv."""
    factors = list(exp.factors)
    header = ["cell", *factors, "n_runs"]
    header += [f"{m}_{s}" for m in exp.metrics for s in SUMMARY_STATS]
    lines = [csv_line(header)]
    for i, cell in enumerate(exp.cells):
        row: list[Any] = [i, *(cell[f] for f in factors)]
        cis = [stats.mean_ci(exp.values(i, m).to_numpy()) for m in exp.metrics]
        row.append(int((exp.runs["cell"] == i).sum()))
        for ci in cis:
            row += [ci.mean, ci.sd, ci.ci_low, ci.ci_high, ci.p10, ci.p90]
        lines.append(csv_line(row))
    return lines


#: the columns of a paired difference, shared by contrasts.csv and baselines.csv (see :func:`_diff_fields`)
DIFF_HEADER = (
    "n_pairs",
    "mean_a",
    "mean_b",
    "mean_diff_b_minus_a",
    "diff_ci95_t_low",
    "diff_ci95_t_high",
    "paired_t",
    "p_value",
    "cohens_dz",
)
CONTRAST_HEADER = ("factor", "level_a", "level_b", "cell_a", "cell_b", "context", "metric", *DIFF_HEADER)


def _diff_fields(d: stats.PairedDiff) -> tuple[Any, ...]:
    """A paired difference as the values of :data:`DIFF_HEADER`."""
    return (d.n, d.mean_a, d.mean_b, d.mean_diff, d.ci_low, d.ci_high, d.t, d.p_value, d.cohens_dz)


def contrast_pairs(exp: Experiment) -> list[tuple[str, int, int, str]]:
    """(factor, cell_a, cell_b, context) for cells differing only in ``factor``, a at its first level."""
    pairs = []
    for factor, levels in exp.factors.items():
        if len(levels) < 2:
            continue
        for i, cell in enumerate(exp.cells):
            if cell[factor] != levels[0]:
                continue
            others = {k: v for k, v in cell.items() if k != factor}
            context = _levels(others)
            for level in levels[1:]:
                j = exp.find_cell(**others, **{factor: level})
                if j is not None:
                    pairs.append((factor, i, j, context))
    return pairs


def contrast_lines(exp: Experiment) -> list[str]:
    """Lines of contrasts.csv."""
    lines = [csv_line(CONTRAST_HEADER)]
    for factor, i, j, context in contrast_pairs(exp):
        for metric in exp.metrics:
            d = stats.paired_diff(*exp.paired(i, j, metric))
            lines.append(
                csv_line((factor, exp.cells[i][factor], exp.cells[j][factor], i, j, context, metric, *_diff_fields(d)))
            )
    return lines


INTERACTION_FIELDS = (
    "n_per_cell",
    "ss_a",
    "ss_b",
    "ss_ab",
    "ss_block",
    "ss_error",
    "df_error",
    "f_a",
    "f_b",
    "f_ab",
    "p_a",
    "p_b",
    "p_ab",
    "contrast",
    "contrast_ci_low",
    "contrast_ci_high",
    "eta2_partial_ab",
)


def two_by_two(exp: Experiment, context: dict[str, Any], metric: str) -> np.ndarray | None:
    """(2, 2, n) array y[structure, kpi, replicate] on common replicates, or None if incomplete."""
    levels_s, levels_k = exp.factors["structure"], exp.factors["kpi"]
    cells = [[exp.find_cell(**context, structure=s, kpi=k) for k in levels_k] for s in levels_s]
    if any(c is None for row in cells for c in row):
        return None
    series = [[exp.values(c, metric) for c in row] for row in cells]
    common = series[0][0].index
    for s in itertools.chain(*series):
        common = common.intersection(s.index)
    if len(common) < 2:
        return None
    return np.array([[s.loc[common].to_numpy() for s in row] for row in series])


def interaction_contexts(exp: Experiment) -> list[dict[str, Any]]:
    """Combinations of the factors other than structure and kpi (one empty dict if none)."""
    others = [f for f in exp.factors if f not in ("structure", "kpi")]
    return [dict(zip(others, combo, strict=True)) for combo in itertools.product(*(exp.factors[f] for f in others))]


def interaction_lines(exp: Experiment) -> list[str]:
    """Lines of interaction.csv (empty if the design has no 2 x 2 structure x kpi)."""
    if any(len(exp.factors.get(f, [])) != 2 for f in ("structure", "kpi")):
        return []
    a0, a1 = exp.factors["structure"]
    b0, b1 = exp.factors["kpi"]
    lines = [csv_line(("context", "metric", "factor_a", "factor_b", *INTERACTION_FIELDS))]
    for context in interaction_contexts(exp):
        label = ";".join(f"{k}={v}" for k, v in context.items())
        for metric in exp.metrics:
            y = two_by_two(exp, context, metric)
            if y is None or not np.all(np.isfinite(y)):
                continue
            res = stats.two_way_anova(y, paired=True).as_dict()
            lines.append(
                csv_line(
                    (label, metric, f"structure:{a0}->{a1}", f"kpi:{b0}->{b1}", *(res[k] for k in INTERACTION_FIELDS))
                )
            )
    return lines


def baseline_pairs(exp: Experiment) -> list[tuple[int, int]]:
    """(baseline cell, learned cell) pairs: each ``learning=reward`` cell with its placebo, then its fixed policy.

    The placebo has the same other factors. The fixed policy has the same other factors if the design runs
    it under this KPI, else the same other factors but the KPI (under ``learning=off`` nobody learns from
    the KPI, so it changes nothing). Empty if the design has no learning factor with a reward level.
    """
    levels = exp.factors.get(LEARNING, [])
    if REWARD not in levels:
        return []
    pairs = []
    for i, cell in enumerate(exp.cells):
        if cell[LEARNING] != REWARD:
            continue
        others = {k: v for k, v in cell.items() if k != LEARNING}
        for mode in (PLACEBO, FIXED):
            if mode not in levels:
                continue
            j = exp.find_cell(**others, **{LEARNING: mode})
            if j is None and mode == FIXED:
                j = exp.find_cell(**{k: v for k, v in others.items() if k != "kpi"}, **{LEARNING: mode})
            if j is not None:
                pairs.append((j, i))
    return pairs


BASELINE_HEADER = ("cell_a", "cell_b", "baseline_a", "learned_b", "metric", *DIFF_HEADER)


def _levels(cell: dict[str, Any]) -> str:
    return ";".join(f"{k}={v}" for k, v in cell.items())


def baseline_lines(exp: Experiment) -> list[str]:
    """Lines of baselines.csv (empty if the design has no baselines): learned minus baseline, paired."""
    pairs = baseline_pairs(exp)
    if not pairs:
        return []
    lines = [csv_line(BASELINE_HEADER)]
    for a, b in pairs:
        for metric in exp.metrics:
            d = stats.paired_diff(*exp.paired(a, b, metric))
            lines.append(csv_line((a, b, _levels(exp.cells[a]), _levels(exp.cells[b]), metric, *_diff_fields(d))))
    return lines


def fmt_num(value: float) -> str:
    """Readable number: thousands separators from 1,000 up, else 3 significant digits."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_ci(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` (NaN-safe; the interval is left out when undefined)."""
    if not math.isfinite(mean):
        return "n/a"
    if not (math.isfinite(low) and math.isfinite(high)):
        return fmt_num(mean)
    return f"{fmt_num(mean)} [{fmt_num(low)}, {fmt_num(high)}]"
