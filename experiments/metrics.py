"""Metric names, units and definitions for tables and chart axes.

Units and definitions come from the model's ``METRIC_INFO`` and ``SERIES_INFO``; a metric the model
does not declare is labelled by its name (and a unit suffix such as ``_usd``) alone.
"""

from __future__ import annotations

TEAM_KPIS = (
    ("mqls", "marketing: MQLs"),
    ("sqls", "SDRs: SQLs"),
    ("bookings", "AEs: bookings"),
    ("reported_retention", "CS: reported retention"),
)
HEADLINE = ("ltv", "logo_churn", "nrr", "cac")
TS_HEADLINE = ("arr_usd", "customers", "logo_churn_annual", "speed_to_lead_weeks")


def metric_info() -> dict[str, tuple[str, str]]:
    """The model's metric table (summary metrics and weekly series): metric -> (unit, definition)."""
    from alignsim.model.metrics import METRIC_INFO, SERIES_INFO

    return {**SERIES_INFO, **METRIC_INFO}


SUFFIX_UNITS = (("_usd", "USD"), ("_weeks", "weeks"), ("_annual", "fraction per year"))


def unit(metric: str) -> str:
    """Unit of ``metric``: from METRIC_INFO, else from a unit suffix of the name, else ""."""
    entry = metric_info().get(metric)
    if entry:
        return str(entry[0])
    for suffix, found in SUFFIX_UNITS:
        if metric.endswith(suffix):
            return found
    return ""


def definition(metric: str) -> str:
    """Definition of ``metric`` (the name itself if unknown)."""
    entry = metric_info().get(metric)
    return str(entry[1]) if entry and len(entry) > 1 else metric


def label(metric: str) -> str:
    """Axis label: ``name (unit)`` or just the name."""
    found = unit(metric)
    return f"{metric} ({found})" if found else metric
