"""What a sampled design measures at each point: firm value and the paired design contrasts.

Every point of a sampled design (experiments/design.py) runs each factor combination with the same
replicate seeds, so a contrast is a paired difference within a replicate, then averaged over the
point's replicates:

- ``firm_value``: mean firm value (USD) of the cells whose staff learn from their KPIs
  (``learning = "reward"``, or all cells if the design has no learning factor).
- ``pod_minus_assembly``: firm value of pods minus the assembly line (USD), averaged over the
  KPI regimes (the structure main effect).
- ``shared_minus_siloed``: shared minus siloed KPIs (USD), averaged over the structures.
- ``interaction``: (pod, shared − pod, siloed) − (assembly line, shared − assembly line, siloed), USD.
- ``pod_minus_assembly_fixed_policy``: pods minus assembly line with nobody learning (``learning = "off"``),
  when the design has those cells.

``points.csv`` has, per point, the inputs and, per response, the mean over replicates, its
standard deviation over replicates and the number of replicates. The replicate noise of a point
mean is judged with the pooled within-point variance (many degrees of freedom) rather than a
point's own two or three replicates: see :func:`noise`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alignsim.experiments.design import POINT

METRIC = "firm_value"
RESPONSES = (
    "firm_value",
    "pod_minus_assembly",
    "shared_minus_siloed",
    "interaction",
    "pod_minus_assembly_fixed_policy",
)
#: what each response says in words (charts and reports)
RESPONSE_LABELS = {
    "firm_value": "firm value (mean of the designs), USD",
    "pod_minus_assembly": "pods minus assembly line, firm value USD",
    "shared_minus_siloed": "shared minus siloed KPIs, firm value USD",
    "interaction": "interaction (does shared help pods more?), USD",
    "pod_minus_assembly_fixed_policy": "pods minus assembly line, fixed policies, USD",
}
#: short names of the responses (tables, bar labels)
RESPONSE_SHORT = {
    "firm_value": "firm value",
    "pod_minus_assembly": "pods minus assembly line",
    "shared_minus_siloed": "shared minus siloed KPIs",
    "interaction": "interaction (shared in pods vs in the assembly line)",
    "pod_minus_assembly_fixed_policy": "pods minus assembly line, fixed policies",
}
#: the two designs each contrast compares (positive = the second wins), for "who wins where"
WINNER = {
    "pod_minus_assembly": ("assembly line ahead", "pods ahead"),
    "shared_minus_siloed": ("siloed KPIs ahead", "shared KPIs ahead"),
    "interaction": ("shared KPIs help the assembly line more", "shared KPIs help pods more"),
    "pod_minus_assembly_fixed_policy": ("assembly line ahead (fixed policies)", "pods ahead (fixed policies)"),
}
#: what a positive contrast means, as the subject of a sentence
WIN_PHRASE = {
    "pod_minus_assembly": "pods create more firm value than the assembly line",
    "shared_minus_siloed": "shared KPIs create more firm value than siloed KPIs",
    "interaction": "shared KPIs add more firm value in pods than in the assembly line",
    "pod_minus_assembly_fixed_policy": "with fixed policies, pods create more firm value than the assembly line",
}


def _cell_frame(runs: pd.DataFrame, cells: list[dict[str, Any]]) -> pd.DataFrame:
    """runs.csv's firm value as a table (point, replicate) x (structure, kpi, learning)."""
    meta = pd.DataFrame(cells)
    meta["cell"] = range(len(cells))
    for col, default in (("structure", "all"), ("kpi", "all"), ("learning", "reward")):
        if col not in meta:
            meta[col] = default
    rows = runs[["cell", "replicate", METRIC]].merge(meta[["cell", POINT, "structure", "kpi", "learning"]], on="cell")
    return rows.pivot_table(
        index=[POINT, "replicate"], columns=["structure", "kpi", "learning"], values=METRIC, aggfunc="first"
    )


def per_replicate(runs: pd.DataFrame, cells: list[dict[str, Any]]) -> pd.DataFrame:
    """Each response per (point, replicate): paired within the replicate (NaN where a cell is missing)."""
    wide = _cell_frame(runs, cells)
    out = pd.DataFrame(index=wide.index)

    def col(structure: str, kpi: str, learning: str = "reward") -> pd.Series:
        key = (structure, kpi, learning)
        return wide[key] if key in wide.columns else pd.Series(np.nan, index=wide.index)

    learned = [c for c in wide.columns if c[2] == "reward"] or list(wide.columns)
    out["firm_value"] = wide[learned].mean(axis=1, skipna=False)
    al_s, al_h = col("assembly_line", "siloed"), col("assembly_line", "shared")
    pod_s, pod_h = col("pod", "siloed"), col("pod", "shared")
    out["pod_minus_assembly"] = ((pod_s - al_s) + (pod_h - al_h)) / 2.0
    out["shared_minus_siloed"] = ((al_h - al_s) + (pod_h - pod_s)) / 2.0
    out["interaction"] = (pod_h - pod_s) - (al_h - al_s)
    fixed = [c for c in wide.columns if c[2] == "off"]
    fixed_al = [c for c in fixed if c[0] == "assembly_line"]
    fixed_pod = [c for c in fixed if c[0] == "pod"]
    if fixed_al and fixed_pod:
        out["pod_minus_assembly_fixed_policy"] = wide[fixed_pod[0]] - wide[fixed_al[0]]
    return out.dropna(axis=1, how="all")


def point_table(runs: pd.DataFrame, cells: list[dict[str, Any]], inputs: list[str]) -> pd.DataFrame:
    """One row per point: its inputs, then per response ``<r>_mean``, ``<r>_sd`` and ``<r>_n``."""
    reps = per_replicate(runs, cells)
    grouped = reps.groupby(level=POINT)
    table = pd.DataFrame(cells).drop_duplicates(POINT).set_index(POINT)[inputs]
    for name in reps.columns:
        table[f"{name}_mean"] = grouped[name].mean()
        table[f"{name}_sd"] = grouped[name].std(ddof=1)
        table[f"{name}_n"] = grouped[name].count()
    return table


def responses_in(table: pd.DataFrame) -> list[str]:
    """Responses present in a point table, in :data:`RESPONSES` order."""
    return [r for r in RESPONSES if f"{r}_mean" in table]


@dataclass(frozen=True)
class Noise:
    """Replicate noise of one response's point means, from the pooled within-point variance.

    Attributes:
        sd_within: pooled s.d. of one replicate around its point's mean (USD).
        df: its degrees of freedom (points x (replicates − 1)).
        replicates: replicates per point used.
        halfwidth: 95% CI half-width of a point mean with those replicates (t on ``df``).
        noise_share: share of the across-point variance of the point means that is replicate noise.
    """

    sd_within: float
    df: int
    replicates: int
    halfwidth: float
    noise_share: float

    def replicates_for(self, halfwidth: float) -> int:
        """Replicates a point needs for a 95% CI half-width of ``halfwidth`` (normal approximation)."""
        if not (math.isfinite(self.sd_within) and halfwidth > 0):
            return 0
        return max(1, math.ceil((1.959964 * self.sd_within / halfwidth) ** 2))

    def replicates_for_share(self, share: float, spread_var: float) -> int:
        """Replicates for replicate noise to be at most ``share`` of the across-point variance ``spread_var``."""
        if not (math.isfinite(self.sd_within) and spread_var > 0):
            return 0
        return max(1, math.ceil(self.sd_within**2 / (share * spread_var)))


def noise(table: pd.DataFrame, response: str) -> Noise:
    """:class:`Noise` of ``response`` in a point table."""
    sd, n = table[f"{response}_sd"].to_numpy(float), table[f"{response}_n"].to_numpy(float)
    ok = np.isfinite(sd) & (n >= 2)
    df = int(np.sum(n[ok] - 1))
    pooled = float(np.sqrt(np.sum((n[ok] - 1) * sd[ok] ** 2) / df)) if df > 0 else math.nan
    reps = int(np.median(n)) if len(n) else 0
    halfwidth = float(stats.t.ppf(0.975, df) * pooled / math.sqrt(reps)) if df > 0 and reps else math.nan
    spread = float(np.var(table[f"{response}_mean"].to_numpy(float), ddof=1))
    share = (pooled**2 / reps) / spread if df > 0 and reps and spread > 0 else math.nan
    return Noise(pooled, df, reps, halfwidth, share)
