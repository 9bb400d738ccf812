"""Code names in words, for what a client reads (reports, the dashboard): levels, cell labels, metrics."""

from __future__ import annotations

import re

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
