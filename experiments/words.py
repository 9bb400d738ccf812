"""Code names in words, for what a client reads (reports, the dashboard): levels, cell labels, metrics."""

from __future__ import annotations

import re
from typing import Any

#: factor levels as a reader says them
LEVEL_WORDS = {
    "assembly_line": "assembly line",
    "pod": "pods",
    "siloed": "siloed KPIs",
    "shared": "shared KPIs",
    "blend": "blended KPIs",
    "fixed policy": "fixed policy (nobody learns)",
}
#: metric names in words (the unit is shown beside, from the model's METRIC_INFO)
METRIC_WORDS = {
    "firm_value": "Firm value",
    "book_value": "Value of the customer book",
    "arr": "ARR",
    "ltv": "LTV (seed 000 formula)",
    "ltv_cohort": "Cohort LTV with expansion",
    "logo_churn": "Annual logo churn",
    "logo_churn_standardised": "Annual logo churn, standardised tenure mix",
    "payback_months": "CAC payback",
    "nrr": "Net revenue retention",
    "grr": "Gross revenue retention",
    "win_rate": "Win rate",
    "mql_to_sql": "MQL to SQL conversion",
    "cac": "Customer acquisition cost",
    "customers": "Customers",
    "headcount": "Headcount",
    "arr_per_csm": "ARR per CSM",
    "new_arr_per_ae": "New ARR per AE-year",
    "speed_to_lead_weeks": "Speed to lead",
}


def metric_words(metric: str) -> str:
    """``firm_value`` -> ``Firm value``; an unknown name with its underscores as spaces."""
    return METRIC_WORDS.get(metric, metric.replace("_", " ").capitalize())


def cell_words(label: str) -> str:
    """``pod / placebo (siloed schedule)`` -> ``pods, placebo (siloed-KPI schedule)``."""
    parts = []
    for part in label.split(" / "):
        schedule = re.fullmatch(r"placebo \((\w+) schedule\)", part)
        if schedule:
            parts.append(f"placebo ({schedule.group(1)}-KPI schedule)")
        else:
            parts.append(LEVEL_WORDS.get(part, part.replace("_", " ")))
    return ", ".join(parts)


def axis_label(metric: str) -> str:
    """``Firm value (USD)``: the metric in words with its unit."""
    from alignsim.experiments.metrics import unit

    found = unit(metric)
    return f"{metric_words(metric)} ({found})" if found else metric_words(metric)


def format_axis(ax, metric: str, axis: str = "y") -> None:  # noqa: ANN001 - a matplotlib Axes
    """USD axes as $1.2M / $350k, every other axis in plain numbers (never a 1e7 offset)."""
    from matplotlib.ticker import ScalarFormatter

    from alignsim.experiments.metrics import unit

    target = ax.yaxis if axis == "y" else ax.xaxis
    if unit(metric).startswith("USD"):
        target.set_major_formatter(UsdFormatter())
    else:
        plain = ScalarFormatter(useOffset=False)
        plain.set_scientific(False)
        target.set_major_formatter(plain)


def _usd_formatter_class() -> type:
    from matplotlib.ticker import Formatter

    class _UsdFormatter(Formatter):
        """$ ticks with as many decimals as the tick spacing needs (never two equal labels)."""

        ticks: tuple[float, ...] = ()

        def set_locs(self, locs: object) -> None:
            self.ticks = tuple(float(v) for v in locs)  # type: ignore[union-attr]

        def __reduce__(self) -> tuple[Any, tuple[()], dict[str, Any]]:
            return UsdFormatter, (), self.__dict__  # a local class: pickled by its factory (charts render elsewhere)

        def __call__(self, x: float, pos: int | None = None) -> str:
            locs = [v for v in self.ticks if v == v]
            top = max((abs(v) for v in locs), default=abs(x))
            step = min((abs(b - a) for a, b in zip(locs, locs[1:], strict=False) if b != a), default=top or 1.0)
            return usd(x, top=top, step=step)

    return _UsdFormatter


def UsdFormatter() -> object:  # noqa: N802 - reads as the matplotlib Formatter it returns
    """A matplotlib tick formatter for USD axes ($1.2M, $150k)."""
    return _usd_formatter_class()()


def usd(value: float, top: float | None = None, step: float | None = None) -> str:
    """$1.2M, $350k, $900, -$2.5M; on an axis (``top``: largest tick, ``step``: tick spacing) the
    unit follows the largest tick and the decimals the spacing, so neighbouring ticks never read alike."""
    import math

    sign = "-" if value < 0 else ""
    v = abs(value)
    scale_of = abs(top) if top is not None else v
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if scale_of >= size or size == 1.0:
            x = v / size
            spacing = max(0, -math.floor(math.log10(step / size))) if step else None
            decimals = spacing if spacing is not None else (0 if x >= 10 else 1)
            text = f"{x:,.{decimals}f}"
            if not step and "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}${text}{suffix}"
    return f"{sign}${v:,.0f}"


def mechanism_words(mid: str) -> str:
    """``M5`` -> ``M5 hand-off context loss off``; ``none`` -> ``full model (nothing off)``."""
    if mid == "none":
        return "full model (nothing off)"
    try:
        from alignsim.model.mechanisms import MECHANISMS

        names = {m.mid: m.name for m in MECHANISMS}
    except ImportError:
        names = {}
    return f"{mid} {names[mid]} off" if mid in names else f"{mid} off"
