"""Statistics against scipy (and textbook identities) on known data."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from alignsim.experiments import stats
from alignsim.experiments.fileio import format_value

DATA = np.array([4.1, 5.3, 6.0, 5.5, 4.8, 6.2, 5.9, 5.1])


def test_mean_ci_matches_scipy_t_interval():
    ci = stats.mean_ci(DATA)
    low, high = sps.t.interval(0.95, len(DATA) - 1, loc=DATA.mean(), scale=sps.sem(DATA))
    assert ci.n == 8
    assert ci.mean == pytest.approx(DATA.mean())
    assert ci.sd == pytest.approx(DATA.std(ddof=1))
    assert (ci.ci_low, ci.ci_high) == pytest.approx((low, high))
    assert (ci.p10, ci.p90) == pytest.approx(tuple(np.percentile(DATA, [10, 90])))


def test_mean_ci_small_and_nan():
    assert math.isnan(stats.mean_ci([3.0]).ci_low)
    assert stats.mean_ci([3.0]).mean == 3.0
    assert stats.mean_ci([]).n == 0
    assert stats.mean_ci([1.0, np.nan, 3.0]).n == 2


def test_paired_diff_matches_ttest_rel():
    rng = np.random.default_rng(0)
    a = rng.normal(10, 2, 12)
    b = a + rng.normal(0.7, 0.5, 12)
    d = stats.paired_diff(a, b)
    ref = sps.ttest_rel(b, a)
    low, high = ref.confidence_interval(0.95)
    assert d.mean_diff == pytest.approx(np.mean(b - a))
    assert d.t == pytest.approx(ref.statistic)
    assert d.p_value == pytest.approx(ref.pvalue)
    assert (d.ci_low, d.ci_high) == pytest.approx((low, high))
    assert d.cohens_dz == pytest.approx(np.mean(b - a) / np.std(b - a, ddof=1))


def test_paired_diff_constant_difference():
    d = stats.paired_diff([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert d.mean_diff == 1.0 and d.p_value == 0.0 and math.isnan(d.cohens_dz)


def test_paired_diff_constant_up_to_rounding_is_constant():
    # the quick reproduction's churn rates: b - a is 1/60 in every pair, but not bit for bit
    a = np.array([0.1, 0.35, 0.7, 0.05])
    b = a + 1.0 / 60.0
    assert np.std(b - a, ddof=1) > 0  # rounding noise, which ttest_rel turns into t ~ 1e14 with a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = stats.paired_diff(a, b)
    assert d.t == math.inf and d.p_value == 0.0 and math.isnan(d.cohens_dz)
    assert d.mean_diff == pytest.approx(1.0 / 60.0)
    # the same values up to rounding (a difference of 1e-17): nothing to test, not t = +-1 or inf
    same = stats.paired_diff(np.array([0.3, 0.7, 0.1]), np.array([0.1 + 0.2, 0.7, 0.1]))
    assert 0 < abs(same.mean_diff) < 1e-16 and math.isnan(same.t) and math.isnan(same.p_value)
    # a real, if tiny, spread is still tested
    small = stats.paired_diff(a, b + np.array([0.0, 1e-9, -1e-9, 2e-9]))
    assert math.isfinite(small.t) and small.p_value < 1e-6
    # ... judged against each pair's own values, so one large replicate does not swallow the others
    mixed_a = np.array([1e12, 0.5, 0.4, 0.3])
    mixed = stats.paired_diff(mixed_a, mixed_a + np.array([0.0, 1e-4, 2e-4, 1.5e-4]))
    assert math.isfinite(mixed.t) and mixed.p_value < 0.1


def _two_by_two(seed=1, n=6, inter=2.0):
    rng = np.random.default_rng(seed)
    block = rng.normal(0, 3, n)
    y = np.empty((2, 2, n))
    for i in range(2):
        for j in range(2):
            y[i, j] = 10 + 1.5 * i - 1.0 * j + inter * i * j + block + rng.normal(0, 1, n)
    return y


def test_unblocked_anova_matches_ols_and_one_way_identities():
    y = _two_by_two()
    res = stats.two_way_anova(y, paired=False)
    ols = stats.ols_interaction(y)
    assert res.f_ab == pytest.approx(ols["t_ab"] ** 2)
    assert res.p_ab == pytest.approx(ols["p_ab"])
    assert res.contrast == pytest.approx(ols["b_ab"])
    # total SS decomposes; cell-mean comparison equals scipy's one-way ANOVA over the 4 cells
    total = float(np.sum((y - y.mean()) ** 2))
    assert res.ss_a + res.ss_b + res.ss_ab + res.ss_error == pytest.approx(total)
    f_cells = ((res.ss_a + res.ss_b + res.ss_ab) / 3) / (res.ss_error / res.df_error)
    assert f_cells == pytest.approx(sps.f_oneway(*y.reshape(4, -1)).statistic)


def test_blocked_anova_interaction_equals_paired_contrast_test():
    y = _two_by_two(seed=3)
    res = stats.two_way_anova(y, paired=True)
    per_rep = (y[1, 1] - y[1, 0]) - (y[0, 1] - y[0, 0])
    ref = sps.ttest_1samp(per_rep, 0.0)
    # in a 2 x 2 randomised block design, F_AB with the pooled error equals t^2 only when the
    # error is homogeneous; the contrast CI is the one-sample t CI of the per-replicate contrast
    low, high = ref.confidence_interval(0.95)
    assert (res.contrast_ci_low, res.contrast_ci_high) == pytest.approx((low, high))
    assert res.contrast == pytest.approx(per_rep.mean())
    assert res.df_error == 3 * (y.shape[2] - 1)
    assert res.ss_block > 0
    assert 0 <= res.p_ab <= 1 and 0 <= res.eta2_partial_ab <= 1


def test_anova_detects_interaction_and_its_absence():
    assert stats.two_way_anova(_two_by_two(inter=5.0, n=10)).p_ab < 0.01
    assert stats.two_way_anova(_two_by_two(inter=0.0, n=10, seed=7)).p_ab > 0.01


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40))
def test_mean_ci_property_matches_scipy(values):
    x = np.array(values)
    ci = stats.mean_ci(x)
    assert ci.ci_low <= ci.mean <= ci.ci_high or ci.sd == 0
    if ci.sd > 1e-9 * max(1.0, abs(ci.mean)):
        low, high = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
        assert (ci.ci_low, ci.ci_high) == pytest.approx((low, high), rel=1e-9, abs=1e-9)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_csv_float_format_round_trips(value):
    assert float(format_value(value)) == value
