"""What each KPI pays each agent for a policy trial, computed for a whole role at once.

Siloed KPIs are personal counts known when the quarter ends. With ``vanity_kpis`` (M13,
seed 003) they are the raw counts each team can inflate; without, each counts only what
the next stage accepts. The shared KPI is the LTV of the accounts the agent touched in
the trial (revenue collected plus projected lifetime revenue, at gross margin, seed 000),
read ``shared_reward_horizon_weeks`` after the trial began, blended with the company's
figure per head (``shared_reward_dilution``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.model.market import segment_values
from alignsim.model.metrics import LTV_DISCOUNT_RATE_PER_YEAR
from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

#: pool column holding the week an account was touched, and the owner column, per role
TOUCH = {"marketer": ("created_week", "marketer"), "sdr": ("touch_week", "sdr"), "ae": ("opp_start_week", "ae")}


def _touched(m: GTMModel, role: str, start: int, end: int, when: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (and their owners) the role touched in weeks [start, end), by column ``when``."""
    acc = m.accounts
    week_col, owner_col = TOUCH[role]
    week = acc.view(when or week_col)
    owner = acc.view(owner_col)
    rows = np.flatnonzero((week >= start) & (week < end) & (owner >= 0))
    return rows, owner[rows]


def book_snapshot(m: GTMModel) -> dict[str, np.ndarray]:
    """The CSMs' books at the start of a trial: who, whose, revenue and renewals so far."""
    acc = m.accounts
    rows = acc.where(State.CUSTOMER)
    return {"rows": rows, "owner": acc.csm[rows].copy(), "revenue": acc.revenue_usd[rows].copy(),
            "renewals": acc.renewals[rows].copy()}


def siloed_kpi(m: GTMModel, role: str, start: int, end: int) -> np.ndarray:
    """Each agent's siloed KPI for weeks [start, end)."""
    acc, vanity, n = m.accounts, m.p["vanity_kpis"], m.n_staff[role]
    if role == "csm":
        return _csm_retention(m, start, end)
    if role == "ae":  # deals opened in the trial and won (paid once they have closed: siloed_delay)
        rows, owner = _touched(m, role, start, end)
        won = np.isfinite(acc.acquired_week[rows])
        rows, owner = rows[won], owner[won]
        arr = 12.0 * acc.initial_mrr_usd[rows]
        if vanity:
            arr = arr * (1.0 + m.p["multiyear_booking_credit"] * (acc.contract_weeks[rows] / m.p["contract_weeks"] - 1))
        return np.bincount(owner, arr, n)
    when = "created_week" if role == "marketer" else "sql_week"
    rows, owner = _touched(m, role, start, end, when=when)
    if not vanity:  # count only what the next stage accepted
        accepted = acc.sql_week[rows] if role == "marketer" else acc.opp_end_week[rows]
        owner = owner[~np.isnan(accepted)]
    return np.bincount(owner, minlength=n).astype(float)


def siloed_delay(m: GTMModel, role: str) -> int:
    """Weeks after a trial ends until its siloed KPI is known.

    AEs are paid on closed deals: the deals opened in a trial have all closed by the longest
    sales cycle (x 1.3, the cycle-length jitter). Other siloed KPIs are known at once.
    """
    if role != "ae":
        return 0
    longest = segment_values(m.p, "cycle").max() * m.p["sales_cycle_scale"] * 1.3
    return int(np.ceil(longest))


def _csm_retention(m: GTMModel, start: int, end: int) -> np.ndarray:
    acc, snap, n = m.accounts, m.book_snapshots[start], m.n_staff["csm"]
    rows, owner = snap["rows"], snap["owner"]
    churned = (acc.state[rows] == State.CHURNED) & (acc.churned_week[rows] < end)
    if m.p["vanity_kpis"]:  # reported retention: churned over the whole book (disguised)
        base = np.bincount(owner, minlength=n)
    else:  # retention of the customers who were up for renewal
        base = np.bincount(owner, churned | (acc.renewals[rows] > snap["renewals"]), n)
    lost = np.bincount(owner, churned, n)
    return 1.0 - np.divide(lost, base, out=np.zeros(n), where=base > 0)


def cohort_ltv_usd(m: GTMModel, rows: np.ndarray, revenue_before: np.ndarray | float = 0.0) -> np.ndarray:
    """LTV of accounts as known today: gross margin x (revenue collected + projected revenue).

    Projection for an account still active: ARR / (company logo churn + 10% discount rate), the
    discounted form of the seed-000 formula with today's trailing renewal churn (10% if unknown).
    """
    acc = m.accounts
    churn = m.current.get("logo_churn_annual", np.nan)
    churn = 0.10 if not np.isfinite(churn) else churn
    active = acc.state[rows] == State.CUSTOMER
    projected = np.where(active, 12.0 * acc.mrr_usd[rows], 0.0) / (churn + LTV_DISCOUNT_RATE_PER_YEAR)
    return m.p["gross_margin"] * (acc.revenue_usd[rows] - revenue_before + projected)


def shared_value_usd(m: GTMModel, role: str, start: int, end: int) -> np.ndarray:
    """Each agent's shared reward (USD of LTV) for the trial of weeks [start, end)."""
    n = m.n_staff[role]
    if role == "csm":
        snap = m.book_snapshots[start]
        owner, value = snap["owner"], cohort_ltv_usd(m, snap["rows"], snap["revenue"])
    else:
        rows, owner = _touched(m, role, start, end)
        value = cohort_ltv_usd(m, rows)
    dilution = m.p["shared_reward_dilution"]
    return (1.0 - dilution) * np.bincount(owner, value, n) + dilution * value.sum() / n
