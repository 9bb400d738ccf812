"""The commented company profile ``alignsim init`` writes, with example values per segment."""

from __future__ import annotations

from typing import Any

from alignsim.experiments.profile import FIELDS, OBSERVED, SECTIONS

#: example values per segment (a plausible company of that kind; replace them with yours)
EXAMPLES: dict[str, dict[str, Any]] = {
    "mid-market": {
        "company.name": "Example mid-market SaaS",
        "headcount.marketers": 4,
        "headcount.sdrs": 6,
        "headcount.aes": 6,
        "headcount.csms": 12,
        "customers.count": 600,
        "deals.acv_usd": 32_000,
        "deals.sales_cycle_weeks": 8,
        "deals.contract_term_months": 12,
        "deals.gross_margin": 0.78,
        "leads.prospects_per_week": 300,
        "retention.heterogeneity": "medium",
        "observed": {
            "annual_logo_churn": 0.13,
            "grr": 0.86,
            "nrr": 0.95,
            "win_rate": 0.17,
            "mql_to_sql": 0.37,
            "cac_payback_months": 20,
            "speed_to_lead_hours": 45,
        },
    },
    "smb": {
        "company.name": "Example SMB self-serve-assisted SaaS",
        "headcount.marketers": 4,
        "headcount.sdrs": 6,
        "headcount.aes": 5,
        "headcount.csms": 6,
        "customers.count": 1500,
        "deals.acv_usd": 9_000,
        "deals.sales_cycle_weeks": 3,
        "deals.contract_term_months": 12,
        "deals.gross_margin": 0.8,
        "leads.prospects_per_week": 450,
        "retention.heterogeneity": "high",
        "observed": {
            "annual_logo_churn": 0.22,
            "grr": 0.8,
            "nrr": 0.9,
            "win_rate": 0.25,
            "mql_to_sql": 0.35,
            "speed_to_lead_hours": 48,
        },
    },
    "enterprise": {
        "company.name": "Example enterprise SaaS",
        "headcount.marketers": 4,
        "headcount.sdrs": 5,
        "headcount.aes": 8,
        "headcount.csms": 10,
        "customers.count": 150,
        "deals.acv_usd": 110_000,
        "deals.sales_cycle_weeks": 20,
        "deals.contract_term_months": 12,
        "deals.gross_margin": 0.75,
        "leads.prospects_per_week": 150,
        "retention.heterogeneity": "low",
        "observed": {
            "annual_logo_churn": 0.09,
            "grr": 0.9,
            "nrr": 1.02,
            "win_rate": 0.2,
            "mql_to_sql": 0.4,
            "cac_payback_months": 20,
        },
    },
}
#: values every segment's example shares
COMMON = {
    "company.structure": "assembly_line",
    "company.kpi": "siloed",
    "hiring.plan": "plan",
    "hiring.csm_coverage_arr_usd": 1_500_000,
    "hiring.sm_budget_share_of_arr": 0.4,
}


def init_template(segment: str = "mid-market") -> str:
    """The commented profile of an example company of ``segment`` (every field: unit, meaning, example)."""
    from alignsim.experiments.profile import DIRECT
    from alignsim.model.params import DEFAULTS

    example = {**COMMON, "company.segment": segment, **EXAMPLES[segment]}
    lines = [
        f"# alignsim company profile ({segment}): describe your company in business terms.",
        "# Replace the example values with yours; delete an [observed] KPI you do not measure.",
        "# Then: alignsim calibrate THIS_FILE   (fits what is not observed so today's organisation",
        "#       reproduces the [observed] KPIs; writes THIS_FILE's .calibrated.toml)",
        "#       alignsim compare --scenario THIS_FILE.calibrated.toml   (what if you moved to pods / shared KPIs)",
        "# Units are in each comment; fractions are 0-1 (0.12 = 12%).",
    ]
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        for spec in (f for f in FIELDS if f.section == section):
            what = spec.meaning
            allowed = "" if spec.kind == "text" else f"; allowed: {spec.allowed()}"
            if spec.name in example:
                lines.append(f"{spec.key} = {_toml(example[spec.name])}    # {what}{allowed}")
            else:
                default = DEFAULTS.get(DIRECT.get(spec.name, ""), None)
                shown = _toml(default) if default is not None else "..."
                lines.append(f"# {spec.key} = {shown}    # optional: {what}{allowed}")
    lines += [
        "",
        "# KPIs you measure today (each optional; trailing 12 months, defined as the model defines them)",
        "[observed]",
    ]
    for kpi in OBSERVED:
        value = example["observed"].get(kpi.key)
        text = f"{kpi.key} = {_toml(value)}" if value is not None else f"# {kpi.key} = ..."
        lines.append(
            f"{text}    # {kpi.meaning}; {kpi.unit}; measurement s.d. {kpi.tolerance:g} unless [tolerance] says"
        )
    lines += [
        "",
        "# Optional: one standard deviation of each observed KPI's measurement (same unit), e.g. win_rate = 0.03",
        "[tolerance]",
        "",
        "# Optional: raw model parameters (alignsim params) for anything the sections above do not cover",
        "[model]",
    ]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    return repr(float(value)) if not float(value).is_integer() else f"{float(value):.1f}"
