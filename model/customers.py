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
from alignsim.model.compiled import kernel, pairwise_sum
from alignsim.model.draws import Event
from alignsim.model.pools import State, rows_before

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

INCIDENT_MEMORY_PER_WEEK = 0.97  # incident damage fades ~3% a week (assumed)
MAX_LOGIT_SHIFT = 5.0
CHURNED, CUSTOMER = int(State.CHURNED), int(State.CUSTOMER)


def onboard(m: GTMModel, rows: np.ndarray) -> None:
    """Turn won opportunities into customers (the CSMs take them on next: :meth:`CSM.take_on`)."""
    acc = m.accounts
    new_mrr_usd = _start_contracts(
        rows, acc.state, acc.acquired_week, acc.opp_end_week, acc.renewal_week, acc.contract_weeks, acc.mrr_usd,
        acc.initial_mrr_usd, acc.list_acv_usd, acc.discount, acc.context, acc.value_realised, acc.relationship,
        acc.incident_damage, acc.renewals, acc.champions_lost, acc.save_hours, m.handoff_keep,
    )  # fmt: skip
    schedule_champion_departure(m, rows, acc.acquired_week[rows])
    m.arr_usd += 12.0 * new_mrr_usd
    m.tally["new_customers"] += len(rows)
    m.tally["new_arr_usd"] += 12.0 * new_mrr_usd


@kernel
def _start_contracts(  # noqa: ANN202, PLR0913
    rows,
    state,
    acquired_week,
    opp_end_week,
    renewal_week,
    contract_weeks,
    mrr_usd,
    initial_mrr_usd,
    list_acv_usd,
    discount,
    context,
    value_realised,
    relationship,
    incident_damage,
    renewals,
    champions_lost,
    save_hours,
    handoff_keep,
):  # noqa: ANN001
    """The won ``rows`` become customers: a contract at list price less discount, a fresh account.

    Returns the new MRR in all (USD).
    """
    mrr = np.empty(rows.shape[0])
    for i in range(rows.shape[0]):
        r = rows[i]
        state[r] = CUSTOMER
        acquired_week[r] = opp_end_week[r]
        renewal_week[r] = acquired_week[r] + contract_weeks[r]
        mrr_usd[r] = list_acv_usd[r] * (1.0 - discount[r]) / 12.0
        initial_mrr_usd[r] = mrr_usd[r]
        context[r] = context[r] * handoff_keep  # the AE -> CSM hand-off (M5)
        value_realised[r] = 0.0
        relationship[r] = 0.5 * context[r]
        incident_damage[r] = 0.0
        renewals[r] = 0
        champions_lost[r] = 0
        save_hours[r] = 0.0
        mrr[i] = mrr_usd[r]
    return pairwise_sum(mrr)


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
    left = rows_before(cust, acc.champion_leaves_week, m.week + 1)
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
    m.tally["revenue_usd"] += _accrue(cust, acc.incident_damage, acc.revenue_usd, acc.mrr_usd)


@kernel
def _accrue(cust, incident_damage, revenue_usd, mrr_usd):  # noqa: ANN001, ANN202
    """Damage fades, a week's revenue is booked per customer; returns the week's revenue in all (USD)."""
    mrr = np.empty(cust.shape[0])
    for i in range(cust.shape[0]):
        c = cust[i]
        incident_damage[c] = incident_damage[c] * INCIDENT_MEMORY_PER_WEEK
        revenue_usd[c] = revenue_usd[c] + mrr_usd[c] * 12.0 / 52.0
        mrr[i] = mrr_usd[c]
    return pairwise_sum(mrr) * 12.0 / 52.0


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
    due = rows_before(cust, acc.renewal_week, m.week + 1)
    if len(due) == 0:
        return
    saved_due = save_fraction(m, due)
    churn = draws.uniform(acc.key[due], Event.CHURN, acc.renewals[due]) < churn_probability(m, due, saved_due)
    lost_mrr_usd, kept, saved, base, years = _renew(
        due, churn, saved_due, acc.state, acc.churned_week, acc.renewal_week, acc.save_hours, acc.renewals,
        acc.contract_weeks, acc.value_realised, acc.expectation, acc.relationship, acc.mrr_usd,
        p["expansion_relationship_weight"], p["expansion_per_renewal"], p["contraction_per_renewal"],
    )  # fmt: skip
    m.arr_usd -= 12.0 * lost_mrr_usd
    before = acc.mrr_usd[kept]
    # expansion and contraction are annual rates: compounded over the term (numpy's power: see compiled.py)
    acc.mrr_usd[kept] = before * base**years * (1.0 - p["save_concession"] * saved)
    m.arr_usd += 12.0 * (acc.mrr_usd[kept] - before).sum()
    m.series.record_renewals(m, due, churn)
    m.series.record_expansion(m, kept, before)


@kernel
def _renew(  # noqa: ANN202, PLR0913
    due,
    churn,
    saved_due,
    state,
    churned_week,
    renewal_week,
    save_hours,
    renewals,
    contract_weeks,
    value_realised,
    expectation,
    relationship,
    mrr_usd,
    relationship_weight,
    expansion,
    contraction,
):  # noqa: ANN001
    """The renewals ``due``: the churned leave; the kept renew for another term (M9, M10, M14).

    Returns:
        (MRR lost, USD; the rows kept; their save fractions; their annual MRR growth factor
        ``(1 + growth) (1 - shrink)``; their term in years).
    """
    n_kept = due.shape[0] - np.count_nonzero(churn)
    lost_mrr = np.empty(due.shape[0] - n_kept)
    kept = np.empty(n_kept, dtype=np.int64)
    saved, base, years = np.empty(n_kept), np.empty(n_kept), np.empty(n_kept)
    n_lost = k = 0
    for i in range(due.shape[0]):
        row = due[i]
        if churn[i]:
            lost_mrr[n_lost] = mrr_usd[row]
            n_lost += 1
            state[row] = CHURNED
            churned_week[row] = renewal_week[row]
            continue
        kept[k], saved[k] = row, saved_due[i]
        save_hours[row] = 0.0  # a save counts for the renewal it was made for
        renewals[row] += 1
        renewal_week[row] = renewal_week[row] + contract_weeks[row]
        surplus = value_realised[row] - expectation[row]
        # M9: successful customers (value realised) expand; a relationship alone renews but buys little more.
        # expansion_relationship_weight = 1 gates expansion by the relationship as much as by value (the old model).
        gate = 1.0 - relationship_weight * (1.0 - relationship[row])
        growth = expansion * _unit_clip(surplus + 0.5) * gate
        shrink = contraction * _unit_clip(-surplus - 0.2)
        base[k] = (1.0 + growth) * (1.0 - shrink)
        years[k] = contract_weeks[row] / 52.0
        k += 1
    return pairwise_sum(lost_mrr), kept, saved, base, years


@kernel
def _unit_clip(x):  # noqa: ANN001, ANN202
    """``np.clip(x, 0.0, 1.0)``: NaN stays NaN."""
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
