"""What a strategist decides on: firm value, and the metrics reported beside it.

Firm value is customer-based corporate valuation for a subscription business (Gupta, Lehmann &
Stuart 2004; McCarthy, Fader & Hardie 2017, J. Marketing 81(1)), computed from the run itself:

    firm_value = sum_w cash_w (1+d)^(-w/52)  +  book_W (1+d)^(-W/52)

- ``cash_w`` is the week's cash contribution: subscription gross profit - S&M payroll -
  programme spend - CS payroll - hiring cost (:func:`alignsim.model.metrics.cash_contribution_usd`).
- ``book_W`` is the value at the horizon of the customers still active: their expected gross
  profit over the next ``valuation_horizon_years`` (contracted revenue to the next renewal, then
  each renewal survived with the conditional sBG probability given the years each has survived),
  with the run's own expansion, less the cost to serve them (CS payroll per USD of ARR at the
  horizon), discounted at ``discount_rate_per_year`` (:func:`alignsim.model.valuation.book_value_usd`).
- The sBG (alpha, beta) of the annual churn propensity is fitted by maximum likelihood to the
  renewals of the customers acquired in the run (right-censored); if none of them has churned yet
  the market's prior (``churn_alpha``, ``churn_beta``) is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.model.pools import State
from alignsim.model.valuation import book_value_usd, distinct_rows, fit_sbg_annual, npv_usd

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

YEAR_WEEKS = 52
#: reference mix of renewals by how many the customer had survived (1st, 2nd, 3rd, 4th+), assumed:
#: a mature base; fixed so that a young base does not read as worse retention
REFERENCE_TENURE_MIX = np.array([0.35, 0.25, 0.15, 0.25])


def sbg_fit(m: GTMModel) -> tuple[float, float]:
    """(alpha, beta) of the annual churn propensity, fitted to the customers acquired in the run."""
    acc = m.accounts
    new = np.flatnonzero((acc.view("state") >= State.CUSTOMER) & ~acc.view("initial"))
    churned = acc.state[new] == State.CHURNED
    if not churned.any():
        return m.p["churn_alpha"], m.p["churn_beta"]
    # the likelihood depends only on (renewals, churned, term): fit on the distinct triples, weighted
    (renewals, lost, weeks), _, count = distinct_rows(acc.renewals[new], churned, acc.contract_weeks[new])
    term = weeks / YEAR_WEEKS
    alpha, beta = fit_sbg_annual(renewals * term, lost, count, term_years=term)
    if not (np.isfinite(alpha) and np.isfinite(beta)):
        return m.p["churn_alpha"], m.p["churn_beta"]
    return alpha, beta


def _growth_per_year(
    renewed: float | np.ndarray,
    mrr_before: float | np.ndarray,
    mrr_after: float | np.ndarray,
    term_weeks: float | np.ndarray,
) -> float | np.ndarray:
    """Net MRR change per year of ``renewed`` renewals: (after / before) ** (1 / mean term in years) - 1."""
    years = term_weeks / renewed / YEAR_WEEKS
    return (mrr_after / mrr_before) ** (1.0 / years) - 1.0


def expansion_per_year(m: GTMModel) -> float:
    """Net MRR change per year of the customers who renewed during the run (expansion - contraction)."""
    d = m.series.data
    before, after = d["renewed_mrr_before_usd"].sum(), d["renewed_mrr_after_usd"].sum()
    if before <= 0:
        return 0.0
    return float(_growth_per_year(d["renewed"].sum(), before, after, d["renewed_term_weeks"].sum()))


def expansion_by_renewal(m: GTMModel) -> np.ndarray:
    """Net MRR change per year at the 1st, 2nd, 3rd and 4th-or-later renewal (tenure-specific NRR - 1).

    Each as :func:`expansion_per_year` over the renewals of that index survived in the run; an index
    with no renewal (or no MRR before it) takes the run-level rate.
    """
    count, before, after, term_weeks = m.series.renewed_by_tenure
    rates = np.full(len(count), expansion_per_year(m))
    seen = (count > 0) & (before > 0)
    rates[seen] = _growth_per_year(count[seen], before[seen], after[seen], term_weeks[seen])
    return rates


def book_value_at_horizon_usd(m: GTMModel, alpha: float, beta: float, growth: float) -> float:
    """Expected discounted gross profit, net of the cost to serve, of the customers active at the horizon."""
    p, acc = m.p, m.accounts
    cust = acc.where(State.CUSTOMER)
    if len(cust) == 0:
        return 0.0
    term = acc.contract_weeks[cust] / YEAR_WEEKS
    cost_to_serve = m.cs_payroll_usd_per_week * YEAR_WEEKS / m.arr_usd if m.arr_usd > 0 else 0.0
    return book_value_usd(
        acc.mrr_usd[cust],
        np.maximum(acc.renewal_week[cust] - m.week, 0.0),
        term,
        acc.renewals[cust] * term,
        alpha=alpha,
        beta=beta,
        gross_margin=p["gross_margin"] - cost_to_serve,
        discount_rate_per_year=p["discount_rate_per_year"],
        expansion_per_year=growth,
        max_years=p["valuation_horizon_years"],
    )


def firm_value_usd(m: GTMModel, alpha: float, beta: float, growth: float, book_usd: float | None = None) -> float:
    """NPV of the weekly cash contribution plus the discounted book at the horizon (see module docstring).

    ``book_usd``: :func:`book_value_at_horizon_usd` of the same arguments if already computed (else it is).
    """
    from alignsim.model.metrics import cash_contribution_usd

    d, rate = m.series.data, m.p["discount_rate_per_year"]
    cash = cash_contribution_usd(m.p, d, slice(0, m.week))
    book = book_value_at_horizon_usd(m, alpha, beta, growth) if book_usd is None else book_usd
    return npv_usd(cash, rate) + book * (1.0 + rate) ** (-m.week / YEAR_WEEKS)


def ltv_cohort_usd(m: GTMModel, alpha: float, beta: float, growth: np.ndarray) -> float:
    """Mean value at acquisition of the customers acquired in the run: gross profit over the valuation horizon.

    First ARR, contracted for the first term, then the sBG survival of a new customer (0 years
    survived) and at its j-th renewal the run's expansion at that renewal index (``growth``, from
    :func:`expansion_by_renewal`: tenure-specific NRR), discounted; not net of cost to serve (a
    per-customer figure, comparable with seed 000's formula).
    """
    p, acc = m.p, m.accounts
    new = np.flatnonzero((acc.view("state") >= State.CUSTOMER) & ~acc.view("initial"))
    if len(new) == 0:
        return np.nan
    term = acc.contract_weeks[new] / YEAR_WEEKS
    total = book_value_usd(
        acc.initial_mrr_usd[new],
        acc.contract_weeks[new].astype(float),
        term,
        np.zeros(len(new)),
        alpha=alpha,
        beta=beta,
        gross_margin=p["gross_margin"],
        discount_rate_per_year=p["discount_rate_per_year"],
        expansion_per_year=growth,
        max_years=p["valuation_horizon_years"],
    )
    return total / len(new)


def logo_churn_standardised(m: GTMModel) -> float:
    """Annual renewal churn over the last 52 weeks, re-weighted to :data:`REFERENCE_TENURE_MIX`.

    Churn per renewal is computed for customers at their 1st, 2nd, 3rd and 4th+ renewal, annualised
    by the mean term, and averaged with fixed weights (re-normalised over the buckets with renewals).
    Under the sBG a young base churns more at equal quality; this removes that tenure-mix effect.
    """
    series, end = m.series, m.week
    start = max(end - YEAR_WEEKS, 0)
    due = series.due_by_tenure[start:end].sum(axis=0)
    churned = series.churned_by_tenure[start:end].sum(axis=0)
    if due.sum() == 0:
        return np.nan
    d = series.data
    mean_term_years = d["due_term_weeks"][start:end].sum() / d["due"][start:end].sum() / YEAR_WEEKS
    seen = due > 0
    per_renewal = np.divide(churned, due, out=np.zeros_like(due), where=seen)
    annual = 1.0 - (1.0 - per_renewal) ** (1.0 / mean_term_years)
    weights = REFERENCE_TENURE_MIX * seen
    return float((annual * weights).sum() / weights.sum())


def summary(m: GTMModel) -> dict[str, float]:
    """Firm value and the economics reported beside it (definitions in ``METRIC_INFO``)."""
    d = m.series.data
    alpha, beta = sbg_fit(m)
    growth = expansion_per_year(m)
    ae_years = (d["ae_fte"].sum() + d["ae_help_fte"].sum()) / YEAR_WEEKS  # M8 helpers sell too
    decided = d["opps_closed"].sum() + d["qualified_out"].sum() + d["sqls_expired"].sum()
    book = book_value_at_horizon_usd(m, alpha, beta, growth)  # valued once: firm value includes it
    return {
        "firm_value": firm_value_usd(m, alpha, beta, growth, book),
        "book_value": book,
        "ltv_cohort": ltv_cohort_usd(m, alpha, beta, expansion_by_renewal(m)),
        "logo_churn_standardised": logo_churn_standardised(m),
        "arr_per_csm": m.arr_usd / m.csms.n,
        "new_arr_per_ae": d["new_arr_usd"].sum() / ae_years if ae_years > 0 else np.nan,
        "sqls_expired": float(d["sqls_expired"].sum()),
        "helped_opportunities": float(d["helped_opportunities"].sum()),
        "leads_expired": float(d["leads_expired"].sum()),
        "win_rate_of_sqls": d["new_customers"].sum() / decided if decided else np.nan,
        "expansion_per_year": growth,
        "sbg_alpha": alpha,
        "sbg_beta": beta,
        "headcount": float(sum(r.n for r in m.rosters)),
        "hires": float(d["hires"].sum()),
    }
