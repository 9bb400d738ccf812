"""The mechanisms M1-M13 of shared/domain.md, and M14 (renewal saves, issue 10): claim, source, code, lever.

``ABLATIONS[mid]`` is the parameter override that switches mechanism ``mid`` off; the
experiment layer uses it for the ablation chart and the tests check that each lever is
neutral when off and acts in the claimed direction when on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mechanism:
    """One claimed mechanism.

    Attributes:
        mid: identifier, "M1".."M14".
        name: short name.
        claim: what the seed documents claim, as the model implements it.
        source: seed document(s) or paper.
        code: where it lives.
        off: parameter overrides that switch it off.
    """

    mid: str
    name: str
    claim: str
    source: str
    code: str
    off: dict[str, Any]


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        "M1",
        "targeting and fit",
        "broad targeting brings more, worse-fitting leads; poor fit realises less value and opens more tickets",
        "seeds 000, 003",
        "Marketer.run_campaigns, CSM.work_books",
        {"fit_effect": 0.0},
    ),
    Mechanism(
        "M2",
        "MQL vs SQL definitions",
        "engagement-only MQLs without BANT waste SDR capacity",
        "seed 003",
        "Marketer.run_campaigns",
        {"mql_definition_gap": 0.0},
    ),
    Mechanism(
        "M3",
        "SDR pass-through",
        "the qualification threshold is the SDR's decision and follows what SDRs are paid for",
        "seed 003",
        "SDR.work_queue",
        {"sdr_threshold_effect": 0.0},
    ),
    Mechanism(
        "M4",
        "AE over-selling",
        "discounts, over-promising and multi-year pushes win deals; over-promising raises expectations"
        " (off: none of them changes the odds or expectations; discounts still cut price, and the"
        " qualify-out threshold still adapts)",
        "seeds 001, 003",
        "AE._discover, AE.win_logit",
        {"overpromise_effect": 0.0, "discount_effect": 0.0, "allow_multi_year": False},
    ),
    Mechanism(
        "M5",
        "hand-off context loss",
        "each hand-off between teams loses part of what is known about the account",
        "seeds 001, 004",
        "SDR._qualify, AE._discover, customers.onboard (context)",
        {"handoff_context_loss": 0.0, "handoff_delay_weeks": 0.0},
    ),
    Mechanism(
        "M6",
        "specialisation vs versatility",
        "assembly-line specialists are more productive than versatile pod members",
        "seed 003",
        "GTMModel._setup_organisation",
        {"specialisation_gain": 0.0},
    ),
    Mechanism(
        "M7",
        "pooled vs partitioned queues, lead decay",
        "leads decay while they wait; a pod cannot borrow another pod's idle capacity",
        "seed 003; Oldroyd et al. HBR 2011",
        "SDR.work_queue, AE.work_queue, queues.expire_unworked",
        {"lead_decay_per_week": 0.0, "lead_expiry_weeks": 104.0, "pod_capacity_pooling": True},
    ),
    Mechanism(
        "M8",
        "help across teams",
        "a team in trouble asks for help and receives it, if helping pays",
        "seeds 000, 003",
        "model/team_help.py (ask_for_help), SDR.work_queue, AE.help_work_queue",
        {"help_efficiency": 0.0},
    ),
    Mechanism(
        "M9",
        "happy vs successful customers",
        "champion turnover wipes the relationship; only value realised survives a new decision-maker",
        "seeds 001, 003",
        "customers.champions, CSM.work_books",
        {"champion_turnover_per_year": 0.0},
    ),
    Mechanism(
        "M10",
        "contracts disguise churn",
        "long (multi-year) contracts hide churn in the whole-base number (off: annual terms only);"
        " churn only at renewal is structural and has no switch",
        "seed 003",
        "customers.renewals",
        {"allow_multi_year": False},
    ),
    Mechanism(
        "M11",
        "outcome feedback to targeting",
        "renewal outcomes sharpen marketing's fit signal, sooner where information is shared",
        "seeds 002, 004",
        "Marketer.fit_signal_noise_sd",
        {"feedback_learning": 0.0},
    ),
    Mechanism(
        "M12",
        "incidents and uninformed staff",
        "outages raise churn; customer-facing staff who were not told make it worse",
        "seed 004",
        "customers.incidents",
        {"incidents_per_year": 0.0},
    ),
    Mechanism(
        "M13",
        "vanity metrics",
        "siloed KPIs that count raw volume let each team hit its number while LTV falls",
        "seed 003",
        "siloed_kpi of each role (agents/)",
        {"vanity_kpis": False},
    ),
    Mechanism(
        "M14",
        "renewal saves",
        "renewal work aimed at customers up for renewal soon keeps logos at that renewal, bought with a"
        " price concession; adoption work builds the value that survives and expands (off: renewal hours"
        " spread evenly, no save, no concession)",
        "seeds 001, 003 (CS paid on renewals; happy vs successful customers)",
        "CSM._renewal_hours, customers.save_fraction, customers.renewals",
        {"renewal_save_effect": 0.0},
    ),
)

BY_ID: dict[str, Mechanism] = {m.mid: m for m in MECHANISMS}
ABLATIONS: dict[str, dict[str, Any]] = {m.mid: dict(m.off) for m in MECHANISMS}


def markdown_table() -> str:
    """The mechanism table in Markdown, for docs/MODEL.md."""
    rows = ["| # | mechanism | claim (as modelled) | source | code | switched off by |", "|---|---|---|---|---|---|"]
    for m in MECHANISMS:
        off = ", ".join(f"`{k}={v!r}`" for k, v in m.off.items())
        rows.append(f"| {m.mid} | {m.name} | {m.claim} | {m.source} | `{m.code}` | {off} |")
    return "\n".join(rows)
