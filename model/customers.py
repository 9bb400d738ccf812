"""Customers: onboarding, CSM work, champions, incidents, renewals, expansion.

Churn happens only at a contract renewal (M10, seed 003). At a renewal the probability is
the customer's own theta (shifted-beta-geometric, Fader & Hardie 2007) moved on the
log-odds scale by what the organisation did: value realised against what was promised,
the relationship with a champion, and recent incidents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit, logit

from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

ONBOARDING_WEEKS = 13  # new customers get extra adoption attention this long (assumed)
ONBOARDING_WEIGHT = 4.0  # ... this many times the adoption hours of a settled customer
POTENTIAL_SLOPE = 1.2  # value potential = 1 + slope * (fit - 0.5) (assumed)
INCIDENT_MEMORY_PER_WEEK = 0.97  # incident damage fades ~3% a week (assumed)
MAX_LOGIT_SHIFT = 5.0


def assign_csm(m: GTMModel, rows: np.ndarray) -> None:
    """Give each new customer to the least-loaded CSM of its pod (the AE -> CSM hand-off, M5)."""
    acc = m.accounts
    owners = acc.csm[acc.where(State.CUSTOMER)]
    book = np.bincount(owners[owners >= 0], minlength=m.n_staff["csm"])
    for group, members in enumerate(m.members["csm"]):
        mine = rows[m.csm_group_of_pod[acc.pod[rows]] == group]
        if len(mine):
            order = members[np.argsort(book[members], kind="stable")]
            acc.csm[mine] = order[np.arange(len(mine)) % len(order)]


def onboard(m: GTMModel, rows: np.ndarray) -> None:
    """Turn won opportunities into customers."""
    acc = m.accounts
    acc.state[rows] = State.CUSTOMER
    acc.acquired_week[rows] = acc.opp_end_week[rows]
    acc.renewal_week[rows] = acc.acquired_week[rows] + acc.contract_weeks[rows]
    acc.mrr_usd[rows] = acc.list_acv_usd[rows] * (1.0 - acc.discount[rows]) / 12.0
    acc.initial_mrr_usd[rows] = acc.mrr_usd[rows]
    acc.context[rows] *= m.handoff_keep
    acc.value_realised[rows] = 0.0
    acc.relationship[rows] = 0.5 * acc.context[rows]
    acc.incident_damage[rows] = 0.0
    acc.renewals[rows] = 0
    assign_csm(m, rows)
    m.arr_usd += 12.0 * acc.mrr_usd[rows].sum()
    m.tally["new_customers"] += len(rows)
    m.tally["new_arr_usd"] += 12.0 * acc.mrr_usd[rows].sum()


def incidents(m: GTMModel) -> None:
    """M12 (seed 004): outages hit a share of customers; uninformed staff make it worse.

    Whether the staff a customer reaches were told follows the structure's information
    sharing; an uninformed answer multiplies the damage by ``1 + uninformed_amplifier``.
    """
    p, acc = m.p, m.accounts
    if m.process_rng.random() >= p["incidents_per_year"] / 52.0:
        return
    cust = acc.where(State.CUSTOMER)
    hit = cust[m.process_rng.random(len(cust)) < p["incident_reach"]]
    uninformed = m.process_rng.random(len(hit)) >= m.info_sharing
    acc.incident_damage[hit] += p["incident_damage"] * (1.0 + p["uninformed_amplifier"] * uninformed)
    m.tally["incidents"] += 1


def customer_success(m: GTMModel) -> None:
    """CSMs answer tickets, then split their remaining hours between adoption and relationship.

    M1 (seed 000): poor-fit customers open more tickets and can realise less value.
    M9 (seeds 001, 003): relationship work makes a customer happy while its champion
    stays; champion turnover wipes the relationship, and only value realised remains.
    """
    p, acc = m.p, m.accounts
    cust = acc.where(State.CUSTOMER)
    owner = acc.csm[cust]
    n_csm = m.n_staff["csm"]
    fit_gap = p["fit_effect"] * (0.5 - acc.fit[cust])
    tickets = p["ticket_hours_per_customer_week"] * np.maximum(1.0 + 2.0 * fit_gap, 0.0)
    tickets *= 1.0 + acc.incident_damage[cust]
    free = np.maximum(m.capacity["csm"] - np.bincount(owner, tickets, n_csm), 0.0)
    adoption = m.policy("csm", "adoption_share")
    weight = np.where(m.week - acc.acquired_week[cust] < ONBOARDING_WEEKS, ONBOARDING_WEIGHT, 1.0)
    adoption_hours = (free * adoption)[owner] * weight / np.bincount(owner, weight, n_csm)[owner]
    relationship_hours = (free * (1.0 - adoption))[owner] / np.bincount(owner, minlength=n_csm)[owner]
    potential = 1.0 - POTENTIAL_SLOPE * fit_gap
    rate = p["adoption_base_rate"] + p["adoption_rate_per_hour"] * adoption_hours * (0.5 + 0.5 * acc.context[cust])
    value = acc.value_realised[cust]
    acc.value_realised[cust] = value + np.minimum(rate, 1.0) * (potential - value)
    rel = acc.relationship[cust]
    gain = p["relationship_rate_per_hour"] * relationship_hours * (1.0 - rel)
    rel = rel + gain - p["relationship_decay_per_week"] * rel
    champion_left = m.process_rng.random(len(cust)) < m.champion_hazard_per_week
    acc.relationship[cust] = np.where(champion_left, 0.0, np.clip(rel, 0.0, 1.0))
    acc.incident_damage[cust] *= INCIDENT_MEMORY_PER_WEEK
    acc.revenue_usd[cust] += acc.mrr_usd[cust] * 12.0 / 52.0
    m.tally["revenue_usd"] += acc.mrr_usd[cust].sum() * 12.0 / 52.0
    m.tally["champion_changes"] += int(champion_left.sum())


def churn_probability(m: GTMModel, rows: np.ndarray) -> np.ndarray:
    """Churn probability at renewal: theta, shifted on the log-odds scale by the organisation's doing.

    With ``retention_effects=False`` it is exactly theta, so a cohort's survival follows
    the sBG curve S(t) = B(alpha, beta + t) / B(alpha, beta).
    """
    p, acc = m.p, m.accounts
    theta = acc.theta[rows]
    if not p["retention_effects"]:
        return theta
    shift = (
        p["churn_value_gap_coef"] * (acc.expectation[rows] - acc.value_realised[rows])
        - p["churn_relationship_coef"] * (acc.relationship[rows] - 0.5)
        + acc.incident_damage[rows]
    )
    return expit(logit(np.clip(theta, 1e-9, 1 - 1e-9)) + np.clip(shift, -MAX_LOGIT_SHIFT, MAX_LOGIT_SHIFT))


def renewals(m: GTMModel) -> None:
    """M10 (seed 003): customers whose contract ends this week renew (maybe expand or contract) or churn."""
    p, acc = m.p, m.accounts
    cust = acc.where(State.CUSTOMER)
    due = cust[acc.renewal_week[cust] < m.week + 1]
    if len(due) == 0:
        return
    churn = m.process_rng.random(len(due)) < churn_probability(m, due)
    lost, kept = due[churn], due[~churn]
    m.arr_usd -= 12.0 * acc.mrr_usd[lost].sum()
    acc.state[lost] = State.CHURNED
    acc.churned_week[lost] = acc.renewal_week[lost]
    acc.renewals[kept] += 1
    acc.renewal_week[kept] += acc.contract_weeks[kept]
    surplus = acc.value_realised[kept] - acc.expectation[kept]
    growth = p["expansion_per_renewal"] * np.clip(surplus + 0.5, 0.0, 1.0) * acc.relationship[kept]
    shrink = p["contraction_per_renewal"] * np.clip(-surplus - 0.2, 0.0, 1.0)
    years = acc.contract_weeks[kept] / 52.0  # expansion and contraction are annual rates
    before = acc.mrr_usd[kept].copy()
    acc.mrr_usd[kept] = before * ((1.0 + growth) * (1.0 - shrink)) ** years
    m.arr_usd += 12.0 * (acc.mrr_usd[kept] - before).sum()
    m.series.record_renewals(m, due, churn)
