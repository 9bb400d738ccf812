"""The shared KPI, and the pool look-ups every KPI uses, computed for a whole role at once.

Siloed KPIs are personal counts known when the quarter ends; each role's class says what its
siloed plan pays (``siloed_kpi`` in agents/). With ``vanity_kpis`` (M13, seed 003) they are
the raw counts each team can inflate; without, each counts only what the next stage
accepts. The shared KPI is the value of the accounts of the agent's team (its pod; the whole company
in the assembly line) touched in the trial, plus the team's book of customers (revenue collected
plus projected lifetime revenue, at gross margin, seed 000), per head of the team, read
``shared_reward_horizon_weeks`` after the trial began.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

#: pool column holding the week an account was touched, per role (the owner column is the role name)
TOUCH_WEEK = {"marketer": "created_week", "sdr": "touch_week", "ae": "opp_start_week"}


def touched(m: GTMModel, owner_col: str, week_col: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (and their owners in column ``owner_col``) whose ``week_col`` lies in weeks [start, end)."""
    acc = m.accounts
    week = acc.view(week_col)
    owner = acc.view(owner_col)
    rows = np.flatnonzero((week >= start) & (week < end) & (owner >= 0))
    return rows, owner[rows]


def passed_on_count(
    m: GTMModel, role: str, week_col: str, accepted_col: str, start: int, end: int, n: int
) -> np.ndarray:
    """Accounts each ``role`` agent handed on in [start, end) (by ``week_col``), as floats of length ``n``.

    With ``vanity_kpis`` (M13) every hand-on counts; without, only those the next stage accepted
    (``accepted_col`` reached). Marketers' and SDRs' siloed plans both pay this count.
    """
    rows, owner = touched(m, role, week_col, start, end)
    if not m.p["vanity_kpis"]:  # count only what the next stage accepted
        owner = owner[~np.isnan(m.accounts.view(accepted_col)[rows])]
    return np.bincount(owner, minlength=n).astype(float)


def book_snapshot(m: GTMModel) -> dict[str, np.ndarray]:
    """The CSMs' books at the start of a trial: who, whose, revenue and renewals so far; heads per pod."""
    acc = m.accounts
    rows = acc.where(State.CUSTOMER)
    return {
        "rows": rows,
        "owner": acc.csm[rows].copy(),
        "revenue": acc.revenue_usd[rows].copy(),
        "renewals": acc.renewals[rows].copy(),
        "heads": sum(np.bincount(r.pod, minlength=m.n_pods) for r in m.rosters),
    }


def cohort_ltv_usd(m: GTMModel, rows: np.ndarray, revenue_before: np.ndarray | float = 0.0) -> np.ndarray:
    """LTV of accounts as known today: gross margin x (revenue collected + projected revenue).

    Projection for an account still active: ARR / (company logo churn + 10% discount rate), the
    discounted form of the seed-000 formula with today's trailing renewal churn (10% if unknown).
    """
    acc = m.accounts
    churn = m.current.get("logo_churn_annual", np.nan)
    churn = 0.10 if not np.isfinite(churn) else churn
    active = acc.state[rows] == State.CUSTOMER
    projected = np.where(active, 12.0 * acc.mrr_usd[rows], 0.0) / (churn + m.p["discount_rate_per_year"])
    return m.p["gross_margin"] * (acc.revenue_usd[rows] - revenue_before + projected)


def shared_value_per_head_usd(m: GTMModel, start: int, end: int) -> np.ndarray:
    """The shared KPI of the trial of weeks [start, end): value of each team's accounts per head, USD, by pod.

    A team owns the accounts of its pod (the whole company in the assembly line, one pod).
    Its value is :func:`cohort_ltv_usd` of the accounts it touched in the trial (a lead created,
    a lead worked, an opportunity opened) plus that of its customers' book at the trial's start
    (revenue since then plus projected), read when the reward is paid. Each member is paid the
    team's value over its headcount at the trial's start (Holmstrom 1982: the output of a team
    shared by its members), so how much one person's choices move their pay falls with the number
    who share it; no constant sets that dilution.
    """
    acc, snap, pods = m.accounts, m.book_snapshots[start], m.n_pods
    in_window = np.zeros(acc.n, dtype=bool)
    for col in TOUCH_WEEK.values():
        week = acc.view(col)
        in_window |= (week >= start) & (week < end)
    rows = np.flatnonzero(in_window)
    # float even when no account was touched (bincount of empty weights returns ints)
    value = np.bincount(acc.pod[rows], cohort_ltv_usd(m, rows), pods).astype(float)
    book = snap["rows"]
    value += np.bincount(acc.pod[book], cohort_ltv_usd(m, book, snap["revenue"]), pods)
    return value / np.maximum(snap["heads"], 1)
