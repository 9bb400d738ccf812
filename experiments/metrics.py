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
#: the decision metric (customer-based corporate valuation); LTV per customer rises when a company sells less
DECISION = "firm_value"
#: what every comparison shows: the decision metric and the economics a strategist reads beside it
HEADLINE = ("firm_value", "arr", "ltv_cohort", "logo_churn_standardised", "payback_months", "nrr")
TS_HEADLINE = ("arr_usd", "customers", "headcount", "logo_churn_annual", "speed_to_lead_weeks", "cash_contribution_usd")


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
