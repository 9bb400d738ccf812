"""Metrics: weekly series, the run summary, the customer ledger, and pool invariants.

Every metric has a definition and a unit in :data:`METRIC_INFO` (formulas from
shared/domain.md). Churn is counted only among customers up for renewal unless the name
says "reported" (the disguised whole-base number, seed 003).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln

from alignsim.agents import ROLES
from alignsim.model import firm
from alignsim.model.pools import State
from alignsim.model.team_help import lent_fte

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

YEAR_WEEKS = 52
SNAPSHOT_WEEKS = 13

METRIC_INFO: dict[str, tuple[str, str]] = {
    "firm_value": (
        "USD",
        "the decision metric (McCarthy, Fader & Hardie 2017): NPV at discount_rate_per_year of the"
        " weekly cash contribution (gross profit - S&M payroll - programme spend - CS payroll - hiring"
        " cost) over the run, plus book_value discounted from the horizon",
    ),
    "book_value": (
        "USD",
        "value at the horizon of the customers still active: expected gross profit over the next"
        " valuation_horizon_years, net of cost to serve (CS payroll per USD of ARR), with the run's"
        " expansion_per_year, each renewal survived with the sBG probability given its years survived,"
        " discounted",
    ),
    "ltv": (
        "USD",
        "seed 000's formula (Skok): ARPA x gross margin / logo_churn, ARPA = ARR / customers at the end;"
        " confounded: it rises when a company sells less (fewer, older, better-served customers), so it"
        " cannot rank designs on its own",
    ),
    "ltv_cohort": (
        "USD",
        "mean over customers acquired in the run of the gross profit each is expected to bring over"
        " valuation_horizon_years from acquisition: first ARR, sBG survival (fitted to the run's cohorts,"
        " right-censored), at its k-th renewal the run's expansion at the k-th renewal (tenure-specific"
        " NRR of survivors; 4th and later pooled), discounted at discount_rate_per_year",
    ),
    "logo_churn_standardised": (
        "fraction per year",
        "renewal churn of the last 52 weeks by renewal index (1st, 2nd,"
        " 3rd, 4th+), annualised, weighted by a fixed reference tenure mix (0.35, 0.25,"
        " 0.15, 0.25): a young base does not read as worse retention",
    ),
    "arr_per_csm": ("USD per CSM", "ARR at the end / CSMs at the end (benchmark $1-2M)"),
    "new_arr_per_ae": (
        "USD per selling FTE-year",
        "new ARR booked / (ramped AE-years + the FTE-years SDRs and CSMs lent to AE queues, M8) (benchmark"
        " ~$1.0-1.25M quota)",
    ),
    "helped_opportunities": ("opportunities", "SQLs taken on by help lent to a swamped AE queue during the run (M8)"),
    "sqls_expired": ("leads", "SQLs that waited in an AE queue past lead_expiry_weeks and were lost"),
    "leads_expired": ("leads", "MQLs that waited in an SDR queue past lead_expiry_weeks and were lost"),
    "win_rate_of_sqls": (
        "fraction",
        "customers won / SQLs an AE decided on or let expire (qualified out, closed"
        " after a cycle, or expired in the AE queue)",
    ),
    "expansion_per_year": (
        "fraction per year",
        "net MRR change per year of term of the customers who renewed (expansion less contraction)",
    ),
    "sbg_alpha": ("", "sBG alpha of the annual churn propensity, fitted to the run's new cohorts"),
    "sbg_beta": ("", "sBG beta, fitted likewise"),
    "headcount": ("people", "staff of all four roles at the end"),
    "hires": ("people", "people hired during the run (staffing plan)"),
    "logo_churn": (
        "fraction per year",
        "customers lost at renewal / customers up for renewal, last 52 weeks, annualised by the mean term",
    ),
    "reported_churn": (
        "fraction per year",
        "customers of 52 weeks ago lost since / all customers 52 weeks ago"
        " (whole base: the disguised number); NaN before week 52",
    ),
    "grr": ("fraction", "MRR today of customers active 52 weeks ago, each capped at its MRR then, / their MRR then"),
    "nrr": ("fraction", "MRR today of customers active 52 weeks ago / their MRR then (with expansion)"),
    "cac": ("USD per customer", "sales and marketing cost (marketer, SDR, AE pay + programmes) / new customers"),
    "cac_ratio": ("USD per USD of new ARR", "sales and marketing cost / new ARR booked"),
    "ltv_to_cac": ("ratio", "ltv / cac"),
    "payback_months": ("months", "cac / (mean first MRR of new customers x gross margin)"),
    "arr": ("USD", "annual recurring revenue of active contracts at the end"),
    "customers": ("customers", "active customers at the end"),
    "new_customers": ("customers", "customers acquired during the run"),
    "mqls": ("leads", "marketing qualified leads created during the run"),
    "sqls": ("leads", "sales qualified leads (meetings booked) during the run"),
    "bookings": ("USD", "new ARR booked during the run (first-year net ACV)"),
    "win_rate": (
        "fraction",
        "opportunities won / opportunities closed (won or lost after a cycle); excludes AE"
        " qualify-outs and expired SQLs (see win_rate_of_sqls)",
    ),
    "mql_to_sql": ("fraction", "sqls / mqls"),
    "mean_customer_fit": ("fit in [0, 1]", "mean hidden ICP fit of customers acquired during the run"),
    "speed_to_lead_weeks": ("weeks", "mean time from MQL creation to first SDR touch"),
}
#: each decision variable's mean incumbent at the end (what staff learned to do): policy_<role>_<variable>
METRIC_INFO.update(
    {
        f"policy_{cls.role}_{name}": (
            f"policy units in [{low:g}, {high:g}]",
            f"mean over {cls.role}s at the end of the incumbent {name} (without the last quarter's exploration;"
            f" default {default:g}): what they learned to do",
        )
        for cls in ROLES
        for name, (default, low, high) in cls.POLICY.items()
    }
)
METRIC_INFO["variables_still_drifting"] = (
    f"decision variables (of {sum(len(cls.POLICY) for cls in ROLES)})",
    "decision variables whose mean incumbent moved over the last 52 weeks by more than the 95% band of a"
    " learner paid noise (learning_diagnostics 'moved'): 0 = policies have settled; 0 with learning off",
)
SUMMARY_METRICS: tuple[str, ...] = tuple(METRIC_INFO)

SERIES_INFO: dict[str, tuple[str, str]] = {
    "arr_usd": ("USD", "ARR of active contracts at the end of the week"),
    "customers": ("customers", "active customers at the end of the week"),
    "new_customers": ("customers/week", "customers acquired this week"),
    "logo_churn_annual": ("fraction per year", "trailing-52-week renewal churn, annualised"),
    "reported_churn_annual": (
        "fraction per year",
        "customers of 52 weeks ago lost since / all customers then (NaN before week 52)",
    ),
    "reported_retention": ("fraction", "1 - reported_churn_annual (CS's siloed vanity KPI)"),
    "nrr": ("fraction", "trailing-52-week net revenue retention (quarterly, carried forward)"),
    "grr": ("fraction", "trailing-52-week gross revenue retention (quarterly, carried forward)"),
    "speed_to_lead_weeks": ("weeks", "mean wait before first SDR touch of leads worked this week"),
    "mqls": ("leads/week", "MQLs created this week (marketing's siloed KPI)"),
    "sqls": ("leads/week", "SQLs booked this week (SDRs' siloed KPI)"),
    "bookings_usd": ("USD/week", "new ARR booked this week (AEs' siloed KPI)"),
    "lead_queue": ("leads", "MQLs waiting for an SDR"),
    "sql_queue": ("leads", "SQLs waiting for an AE slot"),
    "opportunities": ("opportunities", "open opportunities"),
    "sm_cost_usd": ("USD/week", "sales and marketing cost this week (S&M payroll + programme spend)"),
    "headcount": ("people", "staff of all four roles at the end of the week (ramping hires included)"),
    "csms": ("people", "customer success managers at the end of the week"),
    "cash_contribution_usd": ("USD/week", "gross profit - S&M cost - CS payroll - hiring cost, this week"),
}
TIMESERIES_METRICS: tuple[str, ...] = tuple(SERIES_INFO)


class WeeklySeries:
    """Per-week counters kept as numpy arrays (index = week number, 0-based)."""

    COUNTERS = (
        "due",
        "churned",
        "due_term_weeks",
        "customers_start",
        "mqls",
        "sqls",
        "touched",
        "wait_weeks",
        "new_customers",
        "new_arr_usd",
        "opps_closed",
        "sm_cost_usd",
        "revenue_usd",
        "cs_cost_usd",
        "hiring_cost_usd",
        "hires",
        "qualified_out",
        "leads_expired",
        "sqls_expired",
        "ae_fte",
        "ae_help_fte",
        "helped_opportunities",
        "renewed_mrr_before_usd",
        "renewed_mrr_after_usd",
        "renewed_term_weeks",
        "renewed",
        "reached",
    )
    TENURE_BUCKETS = 4  # renewal index 1, 2, 3, 4+ (for the tenure-standardised churn)

    def __init__(self, weeks: int, n_pods: int) -> None:
        self.weeks = weeks
        self.data = {name: np.zeros(weeks + 1) for name in self.COUNTERS}
        self.due_by_tenure = np.zeros((weeks + 1, self.TENURE_BUCKETS))
        self.churned_by_tenure = np.zeros((weeks + 1, self.TENURE_BUCKETS))
        # renewals survived, MRR before and after, and term weeks, by renewal index (1st, 2nd, 3rd, 4th+)
        self.renewed_by_tenure = np.zeros((4, self.TENURE_BUCKETS))
        self.outcomes = np.zeros((weeks + 1, n_pods))
        self.snapshots: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.retention = {"nrr": np.nan, "grr": np.nan}
        # week of each churn and the churner's acquisition week (rows), in a growing array read every week
        # by trailing_churn; the first _n_churns columns are filled
        self._churns = np.empty((2, 256))
        self._n_churns = 0

    def start_week(self, m: GTMModel) -> None:
        t = m.week
        cust = m.accounts.where(State.CUSTOMER)
        self.data["customers_start"][t] = len(cust)
        if t % SNAPSHOT_WEEKS == 0 or t == self.weeks - YEAR_WEEKS:  # the latter for summary()
            self.snapshots[t] = (cust, m.accounts.mrr_usd[cust].copy())
            self._update_retention(m, t)

    def _update_retention(self, m: GTMModel, t: int) -> None:
        then = self.snapshots.get(t - YEAR_WEEKS)
        if then is not None and t % SNAPSHOT_WEEKS == 0:
            nrr, grr = retention_ratios(m, *then)
            self.retention = {"nrr": nrr, "grr": grr}
            self.snapshots.pop(t - YEAR_WEEKS - SNAPSHOT_WEEKS, None)

    def record_renewals(self, m: GTMModel, due: np.ndarray, churned: np.ndarray) -> None:
        t, acc = m.week, m.accounts
        self.data["due"][t] += len(due)
        self.data["churned"][t] += churned.sum()
        lost = due[churned]
        acquired = acc.acquired_week[lost]
        k = len(lost)
        n = self._n_churns = self._n_churns + k
        if n > self._churns.shape[1]:
            self._churns = np.concatenate((self._churns, np.empty((2, max(n, 2 * self._churns.shape[1])))), axis=1)
        self._churns[0, n - k : n] = float(t)
        self._churns[1, n - k : n] = acquired
        self.data["due_term_weeks"][t] += acc.contract_weeks[due].sum()
        np.add.at(self.outcomes[t], acc.pod[due], 1.0)
        survived_before = acc.renewals[due] - ~churned  # the renewers' count already includes this renewal
        bucket = np.minimum(survived_before, self.TENURE_BUCKETS - 1)
        self.due_by_tenure[t] += np.bincount(bucket, minlength=self.TENURE_BUCKETS)
        self.churned_by_tenure[t] += np.bincount(bucket[churned], minlength=self.TENURE_BUCKETS)

    def record_expansion(self, m: GTMModel, kept: np.ndarray, mrr_before: np.ndarray) -> None:
        """MRR of the customers who renewed this week, before and after expansion or contraction."""
        t, acc = m.week, m.accounts
        self.data["renewed"][t] += len(kept)
        self.data["renewed_mrr_before_usd"][t] += mrr_before.sum()
        self.data["renewed_mrr_after_usd"][t] += acc.mrr_usd[kept].sum()
        self.data["renewed_term_weeks"][t] += acc.contract_weeks[kept].sum()
        bucket = np.minimum(acc.renewals[kept] - 1, self.TENURE_BUCKETS - 1)  # the count includes this renewal
        for row, values in enumerate((np.ones(len(kept)), mrr_before, acc.mrr_usd[kept], acc.contract_weeks[kept])):
            self.renewed_by_tenure[row] += np.bincount(bucket, values, self.TENURE_BUCKETS)

    def churns(self) -> tuple[np.ndarray, np.ndarray]:
        """The week of every churn so far and the churner's acquisition week (views: do not modify)."""
        n = self._n_churns
        return self._churns[0, :n], self._churns[1, :n]

    def outcomes_seen(self, before_week: float) -> np.ndarray:
        """Renewal outcomes per pod recorded before ``before_week`` (M11 feedback)."""
        upto = int(np.floor(before_week))
        return self.outcomes[: max(upto, 0)].sum(axis=0)

    def end_week(self, m: GTMModel) -> dict[str, float]:
        t, d, tally = m.week - 1, self.data, m.tally
        for name in (
            "mqls",
            "sqls",
            "touched",
            "wait_weeks",
            "new_customers",
            "new_arr_usd",
            "opps_closed",
            "revenue_usd",
            "hiring_cost_usd",
            "hires",
            "qualified_out",
            "leads_expired",
            "sqls_expired",
            "helped_opportunities",
            "reached",
        ):
            d[name][t] = tally[name]
        d["sm_cost_usd"][t] = m.sm_payroll_usd_per_week + programme_usd(m.p, tally["mqls"], tally["reached"])
        d["cs_cost_usd"][t] = m.cs_payroll_usd_per_week
        d["ae_fte"][t] = m.aes.capacity.sum() / m.aes.capacity_per_head
        d["ae_help_fte"][t] = sum(lent_fte(r) for r in (m.sdrs, m.csms))  # their lending is to AE queues only
        live = m.accounts.count_live()  # one scan for the four head counts below, not four where() calls
        churn, reported = trailing_churn(self, t + 1)
        return {
            "arr_usd": m.arr_usd,
            "customers": float(live[State.CUSTOMER]),
            "new_customers": float(tally["new_customers"]),
            "logo_churn_annual": churn,
            "reported_churn_annual": reported,
            "reported_retention": 1.0 - reported,
            "nrr": self.retention["nrr"],
            "grr": self.retention["grr"],
            "speed_to_lead_weeks": tally["wait_weeks"] / tally["touched"] if tally["touched"] else np.nan,
            "mqls": float(tally["mqls"]),
            "sqls": float(tally["sqls"]),
            "bookings_usd": tally["new_arr_usd"],
            "lead_queue": float(live[State.LEAD]),
            "sql_queue": float(live[State.SQL]),
            "opportunities": float(live[State.OPPORTUNITY]),
            "sm_cost_usd": d["sm_cost_usd"][t],
            "headcount": float(sum(r.n for r in m.rosters)),
            "csms": float(m.csms.n),
            "cash_contribution_usd": cash_contribution_usd(m.p, d, t),
        }


def programme_usd(p: dict, mqls: float, reached: float) -> float:
    """Marketing programme spend on ``mqls`` MQLs kept from ``reached`` prospects, USD (``program_cost_basis``)."""
    if p["program_cost_basis"] == "reach":
        return p["program_cost_per_reached_usd"] * reached
    return p["program_cost_per_lead_usd"] * mqls


def cash_contribution_usd(p: dict, d: dict[str, np.ndarray], t: int | slice) -> np.ndarray | float:
    """Weekly cash contribution (firm value's cash flow): gross profit - S&M - CS payroll - hiring cost, USD."""
    return p["gross_margin"] * d["revenue_usd"][t] - d["sm_cost_usd"][t] - d["cs_cost_usd"][t] - d["hiring_cost_usd"][t]


def trailing_churn(series: WeeklySeries, end: int) -> tuple[float, float]:
    """(renewal churn annualised, reported whole-base churn) over weeks [end-52, end)."""
    start = max(end - YEAR_WEEKS, 0)
    d = series.data
    due, churned = d["due"][start:end].sum(), d["churned"][start:end].sum()
    if due == 0:
        return np.nan, np.nan
    per_renewal = churned / due
    mean_term = d["due_term_weeks"][start:end].sum() / due
    annual = 1.0 - (1.0 - per_renewal) ** (YEAR_WEEKS / mean_term)
    base = d["customers_start"][start]
    if end < YEAR_WEEKS or not base:
        return float(annual), np.nan
    # same cohort: only churners who were already customers when the window began
    weeks, acquired = series.churns()
    lost = np.count_nonzero((weeks >= start) & (acquired < start))
    return float(annual), float(lost / base)


def retention_ratios(m: GTMModel, rows: np.ndarray, mrr_then: np.ndarray) -> tuple[float, float]:
    """(NRR, GRR) of the customers ``rows`` whose MRR was ``mrr_then``."""
    if mrr_then.sum() <= 0:
        return np.nan, np.nan
    acc = m.accounts
    now = np.where(acc.state[rows] == State.CUSTOMER, acc.mrr_usd[rows], 0.0)
    return float(now.sum() / mrr_then.sum()), float(np.minimum(now, mrr_then).sum() / mrr_then.sum())


def fit_sbg(survived: np.ndarray, churned: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (alpha, beta) of a shifted-beta-geometric model (Fader & Hardie 2007).

    Args:
        survived: renewals each customer survived.
        churned: whether it then churned (False = still active: right-censored).
    """

    def nll(log_ab: np.ndarray) -> float:
        a, b = np.exp(log_ab)
        base = betaln(a, b)
        ll = np.where(churned, betaln(a + 1, b + survived) - base, betaln(a, b + survived) - base)
        return -float(ll.sum())

    result = minimize(nll, x0=np.log([1.0, 5.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    return tuple(float(v) for v in np.exp(result.x))


def sbg_survival(alpha: float, beta: float, periods: np.ndarray) -> np.ndarray:
    """S(t) = B(alpha, beta + t) / B(alpha, beta)."""
    return np.exp(betaln(alpha, beta + periods) - betaln(alpha, beta))


def summarise(m: GTMModel) -> dict[str, float]:
    """The run's headline metrics (see :data:`METRIC_INFO`)."""
    p, d, acc = m.p, m.series.data, m.accounts
    churn, reported = trailing_churn(m.series, m.week)
    new = np.flatnonzero((acc.view("state") >= State.CUSTOMER) & ~acc.view("initial"))
    customers_now = len(acc.where(State.CUSTOMER))
    sm_cost, n_new, new_arr = d["sm_cost_usd"].sum(), d["new_customers"].sum(), d["new_arr_usd"].sum()
    arpa = m.arr_usd / customers_now if customers_now else np.nan
    gm = p["gross_margin"]
    ltv = arpa * gm / churn if churn and churn > 0 else np.nan
    cac = sm_cost / n_new if n_new else np.nan
    first_mrr = acc.initial_mrr_usd[new].mean() if len(new) else np.nan
    snap = m.series.snapshots.get(m.week - YEAR_WEEKS)
    nrr, grr = retention_ratios(m, *snap) if snap is not None else (np.nan, np.nan)
    return {
        **firm.summary(m),
        "ltv": ltv,
        "logo_churn": churn,
        "reported_churn": reported,
        "grr": grr,
        "nrr": nrr,
        "cac": cac,
        "cac_ratio": sm_cost / new_arr if new_arr else np.nan,
        "ltv_to_cac": ltv / cac if cac else np.nan,
        "payback_months": cac / (first_mrr * gm) if n_new else np.nan,
        "arr": m.arr_usd,
        "customers": float(customers_now),
        "new_customers": float(n_new),
        "mqls": d["mqls"].sum(),
        "sqls": d["sqls"].sum(),
        "bookings": new_arr,
        "win_rate": n_new / d["opps_closed"].sum() if d["opps_closed"].sum() else np.nan,
        "mql_to_sql": d["sqls"].sum() / d["mqls"].sum() if d["mqls"].sum() else np.nan,
        "mean_customer_fit": float(acc.fit[new].mean()) if len(new) else np.nan,
        "speed_to_lead_weeks": d["wait_weeks"].sum() / d["touched"].sum() if d["touched"].sum() else np.nan,
        **final_policies(m),
    }


def mean_policies(m: GTMModel) -> dict[str, float]:
    """``policy_<role>_<variable>``: each decision variable's mean incumbent now (the fixed policy if not learning)."""
    out = {}
    for roster in m.rosters:
        policy = roster.incumbent(m.learning_mode)
        for j, name in enumerate(roster.learner.names):
            out[f"policy_{roster.role}_{name}"] = float(policy[:, j].mean())
    return out


def final_policies(m: GTMModel) -> dict[str, float]:
    """Mean incumbent of every decision variable at the end, and how many still drift."""
    out = mean_policies(m)
    moved = 0
    if m.learning_mode != "off":  # the "moved" column of learning_diagnostics(), without its frames
        trials = m.learning_window_trials()
        moved = sum(int(np.count_nonzero(r.learner.moved(last=trials))) for r in m.rosters)
    out["variables_still_drifting"] = float(moved)
    return out


def customer_ledger(m: GTMModel) -> pd.DataFrame:
    """One row per customer ever acquired.

    Columns: customer_id (pool row), acquired_week, churned_week (NaN while active),
    contract_weeks, renewals (survived), theta, fit, mrr (USD/month; at churn for the
    churned), initial_mrr, segment, pod, initial (on the books at week 0), discount,
    expectation, value_realised, multi_year, csm, ae (-1 for the initial base and for deals closed by lent help, M8).
    """
    acc = m.accounts
    rows = np.flatnonzero(acc.view("state") >= State.CUSTOMER)
    cols = {
        "acquired_week": "acquired_week",
        "churned_week": "churned_week",
        "contract_weeks": "contract_weeks",
        "renewals": "renewals",
        "theta": "theta",
        "fit": "fit",
        "mrr": "mrr_usd",
        "initial_mrr": "initial_mrr_usd",
        "segment": "segment",
        "pod": "pod",
        "initial": "initial",
        "discount": "discount",
        "expectation": "expectation",
        "value_realised": "value_realised",
        "multi_year": "multi_year",
        "csm": "csm",
        "ae": "ae",
    }
    frame = pd.DataFrame({out: getattr(acc, col)[rows] for out, col in cols.items()})
    frame.insert(0, "customer_id", rows)
    return frame


def check_invariants(m: GTMModel) -> None:
    """Assert the pools are consistent. Raises AssertionError naming the broken invariant."""
    acc = m.accounts
    state = acc.view("state")
    assert np.isin(state, [s.value for s in State]).all(), "every account is in exactly one known state"
    cust = state == State.CUSTOMER
    churned = state == State.CHURNED
    assert np.isfinite(acc.view("acquired_week")[cust | churned]).all(), "customers have an acquisition week"
    assert np.isnan(acc.view("churned_week")[cust]).all(), "active customers have no churn week"
    assert np.isfinite(acc.view("churned_week")[churned]).all(), "churned customers have a churn week"
    arr = 12.0 * acc.view("mrr_usd")[cust].sum()
    assert abs(arr - m.arr_usd) <= 1e-6 * max(1.0, arr), f"ARR {m.arr_usd} != sum of active contracts {arr}"
    assert (acc.view("mrr_usd")[cust] > 0).all(), "active contracts have positive MRR"
    for roster in m.rosters:
        assert (roster.capacity >= 0).all() and (roster.lending >= 0).all(), f"{roster.role} capacity is non-negative"
        high = roster.cls.POLICY["help_share"][2]
        assert (roster.lending <= high + 1e-12).all(), f"{roster.role} lends at most {high}"
    assert (m.help_capacity >= 0).all() and (m.ae_help_slots >= 0).all(), "help capacity is non-negative"
    owner = acc.view("ae")[state == State.OPPORTUNITY]
    busy = np.bincount(owner[owner >= 0], minlength=m.aes.n)
    assert (busy <= np.floor(m.aes.capacity) + 1e-9).all(), "no AE runs more opportunities than slots"
    for name in ("intent", "context", "relationship"):
        values = acc.view(name)
        finite = values[np.isfinite(values)]
        assert (finite >= 0).all() and (finite <= 1 + 1e-9).all(), f"{name} stays in [0, 1]"
    assert all((v >= 0).all() for v in m.series.data.values()), "weekly counts are non-negative"
