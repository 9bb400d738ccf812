"""One fixed palette and labels for the cells (Okabe-Ito colours, colour-blind safe)."""

from __future__ import annotations

from typing import Any

CELL_COLORS = {
    ("assembly_line", "siloed"): "#E69F00",
    ("assembly_line", "shared"): "#D55E00",
    ("pod", "siloed"): "#56B4E9",
    ("pod", "shared"): "#0072B2",
}
STRUCTURE_COLORS = {"assembly_line": "#E69F00", "pod": "#0072B2"}
KPI_COLORS = {"siloed": "#999999", "shared": "#009E73", "blend": "#CC79A7"}
OTHER_COLORS = ("#009E73", "#CC79A7", "#F0E442", "#000000", "#999999")
#: line style of a learning mode in charts that show several (reward solid, the baselines broken)
LEARNING_STYLES = {"reward": "-", "placebo": "--", "off": ":"}
BAND_CI = "95% CI of mean"
BAND_SPREAD = "10-90% spread"


def cell_color(cell: dict[str, Any], index: int = 0) -> str:
    """Colour of a cell: by (structure, kpi) when both are known, else by structure, kpi, or index."""
    key = (cell.get("structure"), cell.get("kpi"))
    if key in CELL_COLORS:
        return CELL_COLORS[key]
    if key[0] in STRUCTURE_COLORS:
        return STRUCTURE_COLORS[key[0]]
    if key[1] in KPI_COLORS:
        return KPI_COLORS[key[1]]
    return OTHER_COLORS[index % len(OTHER_COLORS)]


def cell_label(cell: dict[str, Any], keys: tuple[str, ...] | None = None) -> str:
    """``"pod / shared"``-style label of the cell's values for ``keys`` (default all factors)."""
    keys = tuple(cell) if keys is None else keys
    parts = [str(cell[k]) if k in ("structure", "kpi") else f"{k}={cell[k]}" for k in keys if k in cell]
    return " / ".join(parts) if parts else "all runs"
