"""Metric names, units and definitions for tables and chart axes.

The model's ``alignsim.model.metrics.METRIC_INFO`` (metric -> (unit, definition)) is used when present;
otherwise a metric is labelled by its name alone.
"""

from __future__ import annotations

import importlib

TEAM_KPIS = (
    ("mqls", "marketing: MQLs"),
    ("sqls", "SDRs: SQLs"),
    ("bookings", "AEs: bookings"),
    ("reported_retention", "CS: reported retention"),
)
HEADLINE = ("ltv", "logo_churn", "nrr", "cac")
TS_HEADLINE = ("arr_usd", "customers", "logo_churn_annual", "speed_to_lead_weeks")


def metric_info() -> dict[str, tuple[str, str]]:
    """The model's metric table, or an empty dict if the model does not expose one."""
    try:
        module = importlib.import_module("model.metrics")
    except ImportError:
        return {}
    info = getattr(module, "METRIC_INFO", None)
    return dict(info) if isinstance(info, dict) else {}


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
