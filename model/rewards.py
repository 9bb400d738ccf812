"""The shared KPI, and the pool look-ups every KPI uses, computed for a whole role at once.

Siloed KPIs are personal counts known when the quarter ends; each role's class says what its
siloed plan pays (``siloed_kpi`` in agents/). With ``vanity_kpis`` (M13, seed 003) they are
the raw counts each team can inflate; without, each counts only what the next stage
accepts. The shared KPI is the LTV of the accounts the agent touched in
the trial (revenue collected plus projected lifetime revenue, at gross margin, seed 000),
read ``shared_reward_horizon_weeks`` after the trial began, blended with the company's
figure per head (``shared_reward_dilution``).
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
    """The CSMs' books at the start of a trial: who, whose, revenue and renewals so far."""
    acc = m.accounts
    rows = acc.where(State.CUSTOMER)
    return {
        "rows": rows,
        "owner": acc.csm[rows].copy(),
        "revenue": acc.revenue_usd[rows].copy(),
        "renewals": acc.renewals[rows].copy(),
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


def shared_value_usd(m: GTMModel, role: str, start: int, end: int) -> np.ndarray:
    """Each ``role`` agent's shared reward (USD of LTV) for the trial of weeks [start, end)."""
    n = m.roster(role).n
    if role == "csm":
        snap = m.book_snapshots[start]
        owner, value = snap["owner"], cohort_ltv_usd(m, snap["rows"], snap["revenue"])
    else:
        rows, owner = touched(m, role, TOUCH_WEEK[role], start, end)
        value = cohort_ltv_usd(m, rows)
    dilution = m.p["shared_reward_dilution"]
    return (1.0 - dilution) * np.bincount(owner, value, n) + dilution * value.sum() / n
