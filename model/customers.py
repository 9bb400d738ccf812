"""Customers: onboarding, champions, incidents, revenue, renewals, expansion (what CSMs do: agents/csm.py).

Churn happens only at a contract renewal (M10, seed 003). The probability is the customer's
own annual churn propensity theta (shifted-beta-geometric, Fader & Hardie 2007), moved on the
log-odds scale by what the organisation did (value realised against what was promised, the
relationship with a champion, recent incidents) and compounded over the term. Every random
event of a customer is its own keyed draw (:mod:`alignsim.model.draws`), so the same customer
meets the same luck in every cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit, logit

from alignsim.model import draws
from alignsim.model.draws import Event
from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

INCIDENT_MEMORY_PER_WEEK = 0.97  # incident damage fades ~3% a week (assumed)
MAX_LOGIT_SHIFT = 5.0


def onboard(m: GTMModel, rows: np.ndarray) -> None:
    """Turn won opportunities into customers (the CSMs take them on next: :meth:`CSM.take_on`)."""
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
    acc.champions_lost[rows] = 0
    acc.save_hours[rows] = 0.0
    schedule_champion_departure(m, rows, acc.acquired_week[rows])
    m.arr_usd += 12.0 * acc.mrr_usd[rows].sum()
    m.tally["new_customers"] += len(rows)
    m.tally["new_arr_usd"] += 12.0 * acc.mrr_usd[rows].sum()


def incidents(m: GTMModel) -> None:
    """M12 (seed 004): outages hit a share of customers; uninformed staff make it worse.

    Whether the staff a customer reaches were told follows the structure's information
    sharing; an uninformed answer multiplies the damage by ``1 + uninformed_amplifier``.
    """
    p, acc, week = m.p, m.accounts, m.week
    if draws.uniform_one(m.world_key, Event.INCIDENT_OCCURS, week) >= p["incidents_per_year"] / 52.0:
        return
    cust = acc.where(State.CUSTOMER)
    hit = cust[draws.uniform(acc.key[cust], Event.INCIDENT_HIT, week) < p["incident_reach"]]
    uninformed = draws.uniform(acc.key[hit], Event.INCIDENT_UNINFORMED, week) >= m.info_sharing
    acc.incident_damage[hit] += p["incident_damage"] * (1.0 + p["uninformed_amplifier"] * uninformed)
    m.tally["incidents"] += 1


def champions(m: GTMModel, cust: np.ndarray | None = None) -> None:
    """M9 (seeds 001, 003): a customer's champion may leave; the relationship built with them is lost.

    Only value realised survives a new decision-maker ("happy" vs "successful" customers). Each
    champion's tenure is exponential with the weekly hazard of ``champion_turnover_per_year``, drawn
    from the customer's own key (counter = champions it has had), so departures are the same events
    in every cell. ``cust``: the customer rows, ``where(State.CUSTOMER)``, if the caller has them.
    """
    acc = m.accounts
    if cust is None:
        cust = acc.where(State.CUSTOMER)
    left = cust[acc.champion_leaves_week[cust] < m.week + 1]
    acc.relationship[left] = 0.0
    acc.champions_lost[left] += 1
    schedule_champion_departure(m, left, acc.champion_leaves_week[left])
    m.tally["champion_changes"] += len(left)


def schedule_champion_departure(m: GTMModel, rows: np.ndarray, since_week: np.ndarray | float) -> None:
    """Draw when the current champion of ``rows`` leaves (never, if champion turnover is off)."""
    acc = m.accounts
    with np.errstate(divide="ignore", invalid="ignore"):  # no turnover: infinite tenure
        tenure = draws.exponential(acc.key[rows], Event.CHAMPION, acc.champions_lost[rows]) / m.champion_hazard_per_week
    acc.champion_leaves_week[rows] = since_week + tenure


def accrue_week(m: GTMModel, cust: np.ndarray | None = None) -> None:
    """A week passes for every customer: incident damage fades and a week of subscription revenue is collected.

    ``cust``: the customer rows, ``where(State.CUSTOMER)``, if the caller has them.
    """
    acc = m.accounts
    if cust is None:
        cust = acc.where(State.CUSTOMER)
    acc.incident_damage[cust] *= INCIDENT_MEMORY_PER_WEEK
    acc.revenue_usd[cust] += acc.mrr_usd[cust] * 12.0 / 52.0
    m.tally["revenue_usd"] += acc.mrr_usd[cust].sum() * 12.0 / 52.0


def save_fraction(m: GTMModel, rows: np.ndarray) -> np.ndarray:
    """How full the renewal save of each row's coming renewal is, in [0, 1] (M14).

    The CSM's renewal-save hours on the customer since its last renewal, over ``save_hours_full``.
    """
    return np.minimum(m.accounts.save_hours[rows] / m.p["save_hours_full"], 1.0)


def churn_probability(m: GTMModel, rows: np.ndarray, saved: np.ndarray | None = None) -> np.ndarray:
    """Churn probability at the end of a term: the annual propensity, compounded over the term.

    theta is an *annual* churn propensity (sBG, Fader & Hardie 2007). The organisation's doing
    (value realised against what was promised, the relationship with a champion, recent incidents)
    moves it on the log-odds scale to theta'; a y-year term compounds it, 1 - (1 - theta')^y, so a
    multi-year contract does not lower true annual churn, it only postpones (disguises) it until the
    renewal (M10, seed 003). With ``retention_effects=False`` theta' = theta, so a cohort on annual
    terms survives as the sBG curve S(t) = B(alpha, beta + t) / B(alpha, beta).

    Args:
        m: the model.
        rows: customer rows at the end of a term.
        saved: :func:`save_fraction` of ``rows`` if already computed (it is, at a renewal).
    """
    p, acc = m.p, m.accounts
    theta = acc.theta[rows]
    if p["retention_effects"]:
        shift = (
            p["churn_value_gap_coef"] * (acc.expectation[rows] - acc.value_realised[rows])
            - p["churn_relationship_coef"] * (acc.relationship[rows] - 0.5)
            - p["renewal_save_effect"] * ((save_fraction(m, rows) if saved is None else saved) - 0.5)
            + acc.incident_damage[rows]
        )
        theta = expit(logit(np.clip(theta, 1e-9, 1 - 1e-9)) + np.clip(shift, -MAX_LOGIT_SHIFT, MAX_LOGIT_SHIFT))
    term_years = acc.contract_weeks[rows] / 52.0
    return -np.expm1(term_years * np.log1p(-theta))


def renewals(m: GTMModel, cust: np.ndarray | None = None) -> None:
    """M10 (seed 003): customers whose contract ends this week renew (maybe expand or contract) or churn.

    M14 (seeds 001, 003): a renewal save (:func:`save_fraction`) keeps the logo but is bought
    with a price concession of up to ``save_concession`` of MRR, so a save is not free revenue.

    M9 (seed 001, "happy vs successful customers"): the relationship with a champion helps a
    customer renew (:func:`churn_probability`), but it expands on the value it realises: the growth
    is scaled by the value surplus only, and by the relationship just to the extent of
    ``expansion_relationship_weight`` (0 by default; 1 = a happy but unsuccessful customer expands
    like a successful one). So renewal saves keep logos this quarter while adoption builds the
    revenue that grows, which is what a CSM paid on reported logo retention can neglect.

    ``cust``: the customer rows, ``where(State.CUSTOMER)``, if the caller has them.
    """
    p, acc = m.p, m.accounts
    if cust is None:
        cust = acc.where(State.CUSTOMER)
    due = cust[acc.renewal_week[cust] < m.week + 1]
    if len(due) == 0:
        return
    saved_due = save_fraction(m, due)
    churn = draws.uniform(acc.key[due], Event.CHURN, acc.renewals[due]) < churn_probability(m, due, saved_due)
    lost, kept = due[churn], due[~churn]
    m.arr_usd -= 12.0 * acc.mrr_usd[lost].sum()
    acc.state[lost] = State.CHURNED
    acc.churned_week[lost] = acc.renewal_week[lost]
    saved = saved_due[~churn]
    acc.save_hours[kept] = 0.0  # a save counts for the renewal it was made for
    acc.renewals[kept] += 1
    acc.renewal_week[kept] += acc.contract_weeks[kept]
    surplus = acc.value_realised[kept] - acc.expectation[kept]
    # M9: successful customers (value realised) expand; a relationship alone renews but buys little more.
    # expansion_relationship_weight = 1 gates expansion by the relationship as much as by value (the old model).
    gate = 1.0 - p["expansion_relationship_weight"] * (1.0 - acc.relationship[kept])
    growth = p["expansion_per_renewal"] * np.clip(surplus + 0.5, 0.0, 1.0) * gate
    shrink = p["contraction_per_renewal"] * np.clip(-surplus - 0.2, 0.0, 1.0)
    years = acc.contract_weeks[kept] / 52.0  # expansion and contraction are annual rates
    before = acc.mrr_usd[kept].copy()
    concession = 1.0 - p["save_concession"] * saved
    acc.mrr_usd[kept] = before * ((1.0 + growth) * (1.0 - shrink)) ** years * concession
    m.arr_usd += 12.0 * (acc.mrr_usd[kept] - before).sum()
    m.series.record_renewals(m, due, churn)
    m.series.record_expansion(m, kept, before)
