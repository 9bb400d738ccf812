"""Firm value (model/valuation.py): NPV, sBG book value, sBG fit, against hand computations and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from alignsim.model import valuation
from alignsim.model.valuation import (
    book_value_truncation_bound_usd,
    book_value_usd,
    firm_value_usd,
    fit_sbg_annual,
    npv_usd,
)


def surv(alpha: float, beta: float, years_survived: float, more_years: float) -> float:
    """P(survive more_years | survived years_survived) = B(alpha, beta+Y+t) / B(alpha, beta+Y)."""
    return float(np.exp(betaln(alpha, beta + years_survived + more_years) - betaln(alpha, beta + years_survived)))


# ---------------------------------------------------------------- (a) NPV
@pytest.mark.parametrize("d", [0.0, 0.1, 0.35])
@pytest.mark.parametrize("weeks", [1, 52, 260])
def test_npv_of_constant_cash_is_the_geometric_sum(d: float, weeks: int) -> None:
    cash = 1234.5
    v = (1.0 + d) ** (-1.0 / 52.0)  # one week's discount factor; week w is counted at its end: v ** w
    expected = cash * weeks if d == 0 else cash * v * (1.0 - v**weeks) / (1.0 - v)
    assert npv_usd(np.full(weeks, cash), d) == pytest.approx(expected, rel=1e-12)


def test_npv_without_discount_is_the_plain_sum_and_empty_is_zero() -> None:
    cash = np.array([5.0, -2.0, 7.5, 0.0, 1e6])
    assert npv_usd(cash, 0.0) == pytest.approx(cash.sum(), rel=1e-15)
    assert npv_usd(np.array([]), 0.1) == 0.0
    with pytest.raises(ValueError, match="discount_rate_per_year"):
        npv_usd(cash, -1.0)


# ---------------------------------------------------------------- (b) book value by hand
def test_book_value_of_a_tiny_book_equals_the_hand_sum() -> None:
    a, b, d, g, gm, horizon = 1.0, 3.0, 0.1, 0.05, 0.8, 3.0
    # A: annual, MRR 1000, renewal in 26 weeks (0.5 y), survived 2 years.
    #    contracted 0.5 y at 12,000/y, midpoint 0.25; renewals start at 0.5, 1.5, 2.5 (3.5 >= 3 is dropped),
    #    j-th pays 12,000 x 1.05^j over one year, midpoint j; S(j) = B(1, 5+j)/B(1, 5) = 5/(5+j) (alpha = 1).
    a_value = (
        12_000 * 0.5 * 1.1**-0.25
        + surv(a, b, 2, 1) * 12_000 * 1.05**1 * 1.1**-1.0
        + surv(a, b, 2, 2) * 12_000 * 1.05**2 * 1.1**-2.0
        + surv(a, b, 2, 3) * 12_000 * 1.05**3 * 1.1**-3.0
    )
    # B: biennial, MRR 500, renewal in 78 weeks (1.5 y), survived two biennial renewals (4 years).
    #    contracted 1.5 y at 6,000/y, midpoint 0.75; one renewal starts at 1.5 (the next at 3.5 is dropped),
    #    pays 6,000 x 1.05^2 for 2 years, midpoint 2.5; S(1) = B(1, 9)/B(1, 7) = 7/9.
    b_value = 6_000 * 1.5 * 1.1**-0.75 + surv(a, b, 4, 2) * 6_000 * 1.05**2 * 2 * 1.1**-2.5
    assert surv(a, b, 2, 3) == pytest.approx(5 / 8) and surv(a, b, 4, 2) == pytest.approx(7 / 9)
    got = book_value_usd(
        np.array([1000.0, 500.0]),
        np.array([26.0, 78.0]),
        np.array([1.0, 2.0]),
        np.array([2.0, 4.0]),
        alpha=a,
        beta=b,
        gross_margin=gm,
        discount_rate_per_year=d,
        expansion_per_year=g,
        max_years=horizon,
    )
    assert got == pytest.approx(gm * (a_value + b_value), rel=1e-12)


def test_book_value_with_expansion_by_renewal_index_equals_the_hand_sum() -> None:
    """Tenure-specific expansion: the j-th renewal from now applies g_j (the last rate to every later one)."""
    a, b, d, gm, horizon = 1.0, 3.0, 0.1, 0.8, 4.0
    rates = np.array([0.20, 0.0, 0.05])
    # biennial, MRR 1000, renewal in 1 year, new (Y = 0): contracted 1 y, midpoint 0.5; renewals start at
    # 1 and 3 (5 >= 4 is dropped); the 1st grows 1.2^2, the 2nd 1.2^2 x 1.0^2; S(j) = 3/(3 + 2j) (alpha = 1)
    hand = (
        12_000 * 1.0 * 1.1**-0.5
        + surv(a, b, 0, 2) * 12_000 * 2 * 1.2**2 * 1.1**-2.0
        + surv(a, b, 0, 4) * 12_000 * 2 * 1.2**2 * 1.1**-4.0
    )
    kwargs = {"alpha": a, "beta": b, "gross_margin": gm, "discount_rate_per_year": d, "max_years": horizon}
    got = book_value_usd(1000.0, 52.0, 2.0, 0.0, expansion_per_year=rates, **kwargs)
    assert got == pytest.approx(gm * hand, rel=1e-12)
    # one rate per renewal, all equal, is the scalar rate
    book = (np.array([1000.0, 500.0]), np.array([26.0, 78.0]), np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    same = book_value_usd(*book, expansion_per_year=np.full(3, 0.07), **kwargs)
    assert same == pytest.approx(book_value_usd(*book, expansion_per_year=0.07, **kwargs), rel=1e-12)
    with pytest.raises(ValueError, match="expansion_per_year"):
        book_value_usd(*book, expansion_per_year=np.array([0.1, -1.0]), **kwargs)


def test_truncation_bound_holds_and_chunking_does_not_change_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    book = (
        rng.uniform(100, 5000, 300),
        rng.uniform(0, 104, 300),
        rng.choice([0.5, 1.0, 2.0, 3.0], 300),
        rng.integers(0, 6, 300).astype(float),
    )
    kw = {"alpha": 0.8, "beta": 6.0, "gross_margin": 0.75, "discount_rate_per_year": 0.1, "expansion_per_year": 0.04}
    full = book_value_usd(*book, **kw, max_years=1500.0)
    assert book_value_truncation_bound_usd(*book, **kw, max_years=1500.0) < 1e-12 * full
    for horizon in (5.0, 20.0, 50.0):
        short = book_value_usd(*book, **kw, max_years=horizon)
        bound = book_value_truncation_bound_usd(*book, **kw, max_years=horizon)
        assert short < full <= short + bound
    one_block = book_value_usd(*book, **kw, max_years=50.0)
    monkeypatch.setattr(valuation, "_MAX_CELLS", 7)  # fewer cells than renewals: one customer per block
    assert book_value_usd(*book, **kw, max_years=50.0) == pytest.approx(one_block, rel=1e-12)


def test_book_value_rejects_a_diverging_or_unfitted_model() -> None:
    kw = {"gross_margin": 0.8, "discount_rate_per_year": 0.1}
    with pytest.raises(ValueError, match="expansion_per_year"):
        book_value_usd(1000.0, 10.0, 1.0, 0.0, alpha=1.0, beta=5.0, expansion_per_year=-1.5, **kw)
    # (1+g) >= (1+d): the value over a finite horizon is finite and grows with it; the tail bound is infinite
    grow = {"alpha": 1.0, "beta": 5.0, "expansion_per_year": 0.1, **kw}
    assert (
        0
        < book_value_usd(1000.0, 10.0, 1.0, 0.0, **grow, max_years=10.0)
        < book_value_usd(1000.0, 10.0, 1.0, 0.0, **grow, max_years=20.0)
    )
    assert book_value_truncation_bound_usd(1000.0, 10.0, 1.0, 0.0, **grow, max_years=10.0) == np.inf
    with pytest.raises(ValueError, match="alpha"):
        book_value_usd(1000.0, 10.0, 1.0, 0.0, alpha=np.nan, beta=5.0, expansion_per_year=0.0, **kw)
    empty = np.array([])
    assert book_value_usd(empty, empty, empty, empty, alpha=1.0, beta=5.0, expansion_per_year=0.0, **kw) == 0.0


# ---------------------------------------------------------------- (c) constant-churn limit
def test_near_degenerate_beta_approaches_the_constant_churn_closed_form() -> None:
    """theta ~ Beta(c k, (1-c) k) with k = 1e5 has mean c and variance s2 = c(1-c)/(k+1) ~ 9e-7.

    A customer with a full contracted year left (weeks_to_renewal = 52) is worth, with constant churn c,
    12 m gm (1+d)^-1/2 sum_{t>=0} x^t, x = (1-c)(1+g)/(1+d): the domain's ARPA gm (1+d)/(d + c - g + c g)
    with each year discounted at its midpoint. Under the sBG the t-th term has E[(1-theta)^t] instead of
    (1-c)^t, which is larger (Jensen: convex in theta) by t(t-1)/2 (1-c)^(t-2) s2 to second order, so the
    relative excess is s2 x^2 / ((1-c)^2 (1-x)^2) ~ 4.1e-5 (the mean of t(t-1) under weights x^t is
    2x^2/(1-x)^2). The next order is O(t^3 s2^1.5), ~1e-3 of that: require 0 < excess within 2% of it.
    """
    c, d, g, gm, mrr, k = 0.1, 0.1, 0.05, 0.8, 1000.0, 1e5
    x = (1 - c) * (1 + g) / (1 + d)
    arpa = 12 * mrr
    closed = arpa * gm * (1 + d) / (d + c - g + c * g) * (1 + d) ** -0.5
    assert closed == pytest.approx(arpa * gm * (1 + d) ** -0.5 / (1 - x), rel=1e-12)
    kw = {
        "alpha": c * k,
        "beta": (1 - c) * k,
        "gross_margin": gm,
        "discount_rate_per_year": d,
        "expansion_per_year": g,
        "max_years": 300.0,
    }
    got = book_value_usd(mrr, 52.0, 1.0, 0.0, **kw)
    assert book_value_truncation_bound_usd(mrr, 52.0, 1.0, 0.0, **kw) < 1e-12 * got  # x^300: truncation is nil
    s2 = c * (1 - c) / (k + 1)
    predicted = s2 * x**2 / ((1 - c) ** 2 * (1 - x) ** 2)
    excess = got / closed - 1
    assert excess > 0
    assert excess == pytest.approx(predicted, rel=0.02)


# ---------------------------------------------------------------- (d) sBG fit
def simulate_renewals(seed: int, n: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n customers, theta ~ Beta(alpha, beta), 70% annual / 30% biennial terms, observed 1..8 years (censored)."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n)
    term = np.where(rng.random(n) < 0.3, 2.0, 1.0)
    renewals_due = np.floor(rng.integers(1, 9, n) / term)
    survived = rng.geometric(1 - (1 - theta) ** term) - 1  # renewals survived before churning
    churned = survived < renewals_due
    return np.where(churned, survived, renewals_due) * term, churned, term


def test_sbg_fit_recovers_the_parameters_within_three_standard_errors() -> None:
    """Standard errors from the inverse observed information (central differences of the analytic gradient)
    at the estimate; with 20,000 customers they are ~0.06 on log(alpha), log(beta) and ~0.0025 on the mean
    churn alpha/(alpha+beta). A correct estimator misses 3 SE with probability ~0.3% per check; the seed is fixed.
    """
    alpha, beta, n = 1.2, 6.0, 20_000
    years, churned, term = simulate_renewals(7, n, alpha, beta)
    a_hat, b_hat = fit_sbg_annual(years, churned, term_years=term)
    x = np.log([a_hat, b_hat])

    def grad(z: np.ndarray) -> np.ndarray:
        return n * valuation._sbg_nll_and_grad(z, years, churned, np.ones(n), term)[1]  # (it is per customer)

    step = 1e-4
    hessian = np.column_stack([(grad(x + step * e) - grad(x - step * e)) / (2 * step) for e in np.eye(2)])
    cov = np.linalg.inv((hessian + hessian.T) / 2)
    se = np.sqrt(np.diag(cov))
    assert 0.02 < se[0] < 0.15 and 0.02 < se[1] < 0.15  # the sample is informative as intended
    assert np.all(np.abs(x - np.log([alpha, beta])) < 3 * se)
    jac = np.array([1.0, -1.0]) * a_hat * b_hat / (a_hat + b_hat) ** 2  # d mean / d(log alpha, log beta)
    assert abs(a_hat / (a_hat + b_hat) - alpha / (alpha + beta)) < 3 * np.sqrt(jac @ cov @ jac)


def test_sbg_gradient_matches_finite_differences() -> None:
    years, churned, term = simulate_renewals(1, 2000, 0.7, 4.0)
    for z in (np.log([1.0, 5.0]), np.log([0.3, 40.0])):
        nll, grad = valuation._sbg_nll_and_grad(z, years, churned, np.ones(2000), term)
        step = 1e-5
        numeric = [
            (
                valuation._sbg_nll_and_grad(z + step * e, years, churned, np.ones(2000), term)[0]
                - valuation._sbg_nll_and_grad(z - step * e, years, churned, np.ones(2000), term)[0]
            )
            / (2 * step)
            for e in np.eye(2)
        ]
        assert grad == pytest.approx(numeric, rel=1e-6)


def test_grouped_fit_equals_ungrouped_fit_and_annual_likelihood_is_the_briefs() -> None:
    years, churned, term = simulate_renewals(11, 5000, 0.9, 5.0)
    ungrouped = fit_sbg_annual(years, churned, term_years=term)
    groups, counts = np.unique(np.column_stack([years, churned, term]), axis=0, return_counts=True)
    grouped = fit_sbg_annual(groups[:, 0], groups[:, 1].astype(bool), counts, term_years=groups[:, 2])
    assert len(groups) < 40
    assert grouped == pytest.approx(ungrouped, rel=1e-5)
    # Annual terms: churn likelihood B(a, b+Y) - B(a, b+Y+1) = B(a+1, b+Y) (the brief's form).
    z = np.log([0.9, 5.0])
    y = np.array([0.0, 3.0])
    nll = valuation._sbg_nll_and_grad(z, y, np.array([True, True]), np.ones(2), np.ones(2))[0]
    assert nll == pytest.approx(-(betaln(1.9, 5.0) + betaln(1.9, 8.0) - 2 * betaln(0.9, 5.0)) / 2, rel=1e-12)


def test_fit_without_churn_is_unidentified() -> None:
    assert np.isnan(fit_sbg_annual(np.array([1.0, 2.0, 5.0]), np.array([False, False, False]))).all()
    assert np.isnan(fit_sbg_annual(np.array([1.0, 2.0]), np.array([True, False]), np.array([0.0, 3.0]))).all()


# ---------------------------------------------------------------- (e) monotone properties
book_strategy = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(10.0, 1e5), min_size=n, max_size=n),
        st.lists(st.floats(0.0, 104.0), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.25, 1.0, 2.0, 3.0]), min_size=n, max_size=n),
        st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(
    book=book_strategy,
    alpha=st.floats(0.2, 20.0),
    beta=st.floats(0.5, 50.0),
    d=st.floats(0.02, 0.3),
    more=st.floats(0.01, 1.0),
    g=st.floats(-0.3, 0.0),
)
def test_more_discount_or_more_churn_lowers_book_value(book, alpha, beta, d, more, g) -> None:
    arrays = [np.array(v) for v in book]
    kw = {"gross_margin": 0.7, "expansion_per_year": g, "max_years": 30.0}
    base = book_value_usd(*arrays, alpha=alpha, beta=beta, discount_rate_per_year=d, **kw)
    assert base > 0
    assert book_value_usd(*arrays, alpha=alpha, beta=beta, discount_rate_per_year=d * (1 + more), **kw) < base
    # Beta(alpha', beta) with alpha' > alpha (or beta' < beta) puts theta stochastically higher: more churn.
    assert book_value_usd(*arrays, alpha=alpha * (1 + more), beta=beta, discount_rate_per_year=d, **kw) < base
    assert book_value_usd(*arrays, alpha=alpha, beta=beta / (1 + more), discount_rate_per_year=d, **kw) < base
    # More years already survived: the posterior shifts to lower churn.
    longer = arrays[:3] + [arrays[3] + 1.0]
    assert book_value_usd(*longer, alpha=alpha, beta=beta, discount_rate_per_year=d, **kw) > base


# ---------------------------------------------------------------- (f) firm value by hand
def test_firm_value_of_a_tiny_company_equals_the_hand_sum() -> None:
    d = 0.1
    cash = np.array([100.0, -50.0, 200.0])
    # One annual customer: MRR 100, a full year contracted, no renewal survived; alpha=1, beta=9: S(1) = 9/10.
    # Horizon 2 years: contracted 1,200 at midpoint 0.5; the renewal at 1 pays 1,200 x 1.05 at midpoint 1.5
    # (the one at 2 is dropped). Gross margin 0.75.
    book = book_value_usd(
        100.0,
        52.0,
        1.0,
        0.0,
        alpha=1.0,
        beta=9.0,
        gross_margin=0.75,
        discount_rate_per_year=d,
        expansion_per_year=0.05,
        max_years=2.0,
    )
    book_by_hand = 0.75 * (1200 * 1.1**-0.5 + 0.9 * 1260 * 1.1**-1.5)
    assert book == pytest.approx(book_by_hand, rel=1e-12)
    npv_by_hand = 100 * 1.1 ** (-1 / 52) - 50 * 1.1 ** (-2 / 52) + 200 * 1.1 ** (-3 / 52)
    expected = npv_by_hand + book_by_hand * 1.1 ** (-3 / 52)
    assert firm_value_usd(cash, book, d) == pytest.approx(expected, rel=1e-12)
    assert firm_value_usd(cash, book, 0.0) == pytest.approx(250.0 + book, rel=1e-12)
    assert "firm value" in valuation.FIRM_VALUE_DEFINITION


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans(), st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0])), max_size=40))
def test_distinct_rows_are_numpys_unique_rows(rows):
    """distinct_rows (the sBG fit's triples, the book's (years, term) pairs) gives np.unique(axis=0)'s rows in
    its order, the row of each input row and the counts: ties, a bool column and -0.0 == 0.0 included."""
    ints = np.array([r[0] for r in rows], dtype=np.int64)
    flags = np.array([r[1] for r in rows], dtype=bool)
    floats = np.array([r[2] for r in rows], dtype=float)
    (a, b, c), row_of, counts = valuation.distinct_rows(ints, flags, floats)
    want, inverse, want_counts = np.unique(
        np.stack([ints, flags, floats], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(np.stack([a, b, c], axis=1), want)
    np.testing.assert_array_equal(row_of, inverse.ravel())
    np.testing.assert_array_equal(counts, want_counts)
    assert a.dtype == ints.dtype and b.dtype == flags.dtype and c.dtype == floats.dtype
