"""Retention: with retention_effects=False churn is exactly sBG; the sBG fit recovers known parameters."""

from __future__ import annotations

import numpy as np
from scipy import stats

from alignsim.model.metrics import fit_sbg, sbg_survival
from tests.support import run

SBG_RUN = {
    "weeks": 520,
    "retention_effects": False,
    "allow_multi_year": False,
    "initial_customers": 0,
    "prospects_per_week": 600,
    "ae_opportunity_slots": 80,
    "churn_alpha": 0.8,
    "churn_beta": 3.0,
}


def kaplan_meier_by_renewal(ledger, horizon_weeks: int, periods: int):
    """Discrete KM survival over renewals, with Greenwood standard errors.

    A customer acquired at week a has had floor((horizon - a) / term) renewals come due.
    """
    due = np.floor((horizon_weeks - ledger["acquired_week"]) / ledger["contract_weeks"]).astype(int)
    churned = ledger["churned_week"].notna().to_numpy()
    lived = ledger["renewals"].to_numpy()
    survival, greenwood, s, g = [1.0], [0.0], 1.0, 0.0
    for k in range(periods):
        at_risk = ((lived >= k) & (due > k)).sum()
        events = (churned & (lived == k)).sum()
        hazard = events / at_risk
        s *= 1 - hazard
        g += events / (at_risk * (at_risk - events))
        survival.append(s)
        greenwood.append(g)
    survival = np.array(survival)
    return survival, survival * np.sqrt(greenwood)


def test_churn_is_theta_compounded_over_the_term_without_retention_effects() -> None:
    """theta is an annual propensity: an annual renewal churns with theta, a y-year one with 1 - (1 - theta)^y."""
    from alignsim.model.customers import churn_probability
    from alignsim.model.pools import State

    model = run(0, **{**SBG_RUN, "weeks": 156})
    acc = model.accounts
    rows = np.flatnonzero(acc.view("state") == State.CUSTOMER)[:200]
    assert np.allclose(churn_probability(model, rows), acc.theta[rows], rtol=1e-12, atol=0)
    acc.contract_weeks[rows] = 104  # the same customers on two-year terms
    # rtol 1e-9: the naive 1 - (1 - theta)^2 loses digits for small theta; the model uses expm1/log1p
    assert np.allclose(churn_probability(model, rows), 1 - (1 - acc.theta[rows]) ** 2, rtol=1e-9, atol=0)


def test_multi_year_terms_do_not_lower_true_annual_churn() -> None:
    """A cohort's survival per year is the same on one- and two-year terms (M10 only postpones churn)."""
    from alignsim.model.customers import churn_probability

    model = run(0, **{**SBG_RUN, "weeks": 104})
    acc = model.accounts
    rows = np.flatnonzero(np.isfinite(acc.view("theta")))
    acc.contract_weeks[rows] = 52
    annual = 1 - churn_probability(model, rows)
    acc.contract_weeks[rows] = 104
    biennial = 1 - churn_probability(model, rows)
    assert np.allclose(annual**2, biennial, rtol=1e-12)


def test_cohort_survival_follows_sbg_curve() -> None:
    """KM survival over renewals matches S(t) = B(a, b + t) / B(a, b) within 3 Greenwood SEs."""
    ledger = run(0, **SBG_RUN).customer_ledger()
    km, se = kaplan_meier_by_renewal(ledger, SBG_RUN["weeks"], periods=6)
    expected = sbg_survival(SBG_RUN["churn_alpha"], SBG_RUN["churn_beta"], np.arange(7))
    assert len(ledger) > 2000
    assert np.all(np.abs(km - expected) <= 3 * se + 1e-12), (km, expected, se)


def test_retention_effects_change_churn() -> None:
    on = run(0, **{**SBG_RUN, "weeks": 208, "retention_effects": True}).summary()["logo_churn"]
    off = run(0, **{**SBG_RUN, "weeks": 208}).summary()["logo_churn"]
    assert on != off


def test_sbg_fit_recovers_known_parameters() -> None:
    """MLE on 20,000 simulated customers observed for 8 renewals is within 15% of the truth."""
    rng = np.random.default_rng(1)
    alpha, beta = 1.2, 6.0
    theta = rng.beta(alpha, beta, 20000)
    lifetime = stats.geom.rvs(theta, random_state=rng) - 1  # renewals survived before churning
    churned = lifetime < 8
    survived = np.minimum(lifetime, 8)
    a_hat, b_hat = fit_sbg(survived, churned)
    assert abs(a_hat / alpha - 1) < 0.15 and abs(b_hat / beta - 1) < 0.15
