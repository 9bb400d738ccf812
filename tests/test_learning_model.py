"""Learning inside GTMModel: which reward reaches which agent, and whether the learner's signals are real.

Covers, with the model (the learner alone is tested in tests/test_policy_learning.py):

1. KPI null with learning on: regimes whose reward definitions coincide (siloed = blend at
   weight 0, shared = blend at weight 1) give bit-identical runs, so ``kpi`` has no channel but the
   reward weights; with learning off the regime has no channel at all; placebo runs reproduce.
2. Rewards by hand: each role's siloed KPI and the shared value per head on a hand-built pool with
   literal expected numbers, and every reward the learner is paid during a run recomputed with plain
   Python loops from the documented definitions (agents/*.py, model/rewards.py): the right number,
   to the right agent, its own pod's shared value, at the right week.
3. Each decision variable not already covered by tests/test_mechanisms.py (M3 threshold, M4
   honesty and discount win rate, M8 both help shares together) moves the outcome it acts on, in
   the claimed direction, with learning off and paired seeds.
4. Learning diagnostics: a placebo reward moves policies but shows no reward-perturbation
   correlation; the real reward shows the two strongest gradients of the default model.
5. Shared rewards are one number per team: the whole company in the assembly line, a pod in pods.
6. ``learning="off"`` from the role defaults is ``adaptive=False`` bit for bit.

Every run starts from the role defaults (``start_policy="default"``): what is tested is the
mechanics of rewards and learning, not the reorganisation experiment; the last two tests, about
the status quo itself, are the exceptions.

Statistical tolerances. Direction claims (section 3) compare paired runs (the same seed is the same
market: common random numbers) over 4 seeds and require the mean paired difference to exceed
t(0.95, 3) = 2.353 standard errors (SE = sd / sqrt(4)): a one-sided paired t-test at 5%. Correlation
claims (section 4) use the band 3 / sqrt(n) for a correlation over n paid (agent, trial) pairs (see
the tests' docstrings for the multiple-comparison reasoning). Every other assertion is exact.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alignsim.agents import ROLES
from alignsim.model import GTMModel, draws
from alignsim.model.pools import State
from tests.support import assert_positive

SEED = 3
ROLE_NAMES = tuple(cls.role for cls in ROLES)
STRUCTURES = ("assembly_line", "pod")


def build(seed: int = SEED, **params) -> GTMModel:
    """A model starting from the role defaults (these tests are about the mechanics, not the reorganisation)."""
    return GTMModel(seed=seed, **{"start_policy": "default", **params})


def finished(seed: int = SEED, **params) -> GTMModel:
    return build(seed, **params).run()


def assert_identical(a: GTMModel, b: GTMModel) -> None:
    """Bit-identical runs: summary (NaN equals NaN), weekly series, customer ledger and policy history."""
    sa, sb = a.summary(), b.summary()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert (math.isnan(sa[key]) and math.isnan(sb[key])) or sa[key] == sb[key], f"summary[{key!r}] differs"
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries(), check_exact=True)
    pd.testing.assert_frame_equal(a.customer_ledger(), b.customer_ledger(), check_exact=True)
    pd.testing.assert_frame_equal(a.policies(), b.policies(), check_exact=True)


# ------------------------------------------------------------------ 1. KPI null with learning on
NULL_WEEKS = 104  # shared rewards (horizon 78 weeks) are paid at weeks 78, 91 and 104


@pytest.mark.parametrize("structure", STRUCTURES)
def test_kpi_regimes_with_the_same_reward_give_identical_runs(structure: str) -> None:
    """kpi="siloed" is blend at weight 0 and kpi="shared" blend at weight 1: bit-identical runs with learning.

    Any channel by which the regime's name (not its reward weights) reaches the model breaks this. The
    control: siloed and shared differ in policies, so the regime does reach the learner.
    """
    common = {"structure": structure, "weeks": NULL_WEEKS, "learning": "reward"}
    siloed = finished(kpi="siloed", **common)
    assert_identical(siloed, finished(kpi="blend", shared_kpi_weight=0.0, **common))
    shared = finished(kpi="shared", **common)
    assert_identical(shared, finished(kpi="blend", shared_kpi_weight=1.0, **common))
    assert not siloed.policies()["value"].equals(shared.policies()["value"])


@pytest.mark.parametrize("structure", STRUCTURES)
def test_with_learning_off_the_kpi_regime_has_no_channel(structure: str) -> None:
    """learning="off" (adaptive left True): siloed, shared and a 50/50 blend are bit-identical runs."""
    common = {"structure": structure, "weeks": NULL_WEEKS, "learning": "off"}
    siloed = finished(kpi="siloed", **common)
    assert_identical(siloed, finished(kpi="shared", **common))
    assert_identical(siloed, finished(kpi="blend", shared_kpi_weight=0.5, **common))


def test_placebo_runs_are_reproducible() -> None:
    """learning="placebo": the same seed twice gives the same run; siloed = blend at weight 0 here too."""
    common = {"structure": "pod", "weeks": NULL_WEEKS, "learning": "placebo"}
    first = finished(kpi="blend", **common)
    assert_identical(first, finished(kpi="blend", **common))
    assert_identical(finished(kpi="siloed", **common), finished(kpi="blend", shared_kpi_weight=0.0, **common))
    assert first.policies()["week"].nunique() == NULL_WEEKS // first.p["review_weeks"] + 1  # trials did run


# ------------------------------------------------------------------ 2. rewards by hand
# A tiny pod company: 2 pods; marketers 0,2 / sdrs 0,2,4 / aes 0,2 / csm 0 in pod 0 (8 heads), the
# others in pod 1 (7 heads); six initial customers, rows 0..5, pod = row % 2, csm = pod.
TINY = {
    "structure": "pod",
    "n_pods": 2,
    "kpi": "blend",
    "weeks": 13,
    "hiring": "fixed",
    "initial_customers": 6,
    "n_marketers": 4,
    "n_sdrs": 5,
    "n_aes": 4,
    "n_csms": 2,
}
NAN = float("nan")


def add_row(m: GTMModel, state: State, pod: int, **columns: float) -> int:
    """Append one account; owners default to -1 (nobody), weeks to NaN, revenue to 0."""
    return int(m.accounts.add(1, state=int(state), pod=pod, **{"revenue_usd": 0.0, **columns})[0])


@pytest.mark.parametrize("vanity", [True, False])
def test_kpis_and_shared_value_of_a_hand_built_pool(vanity: bool) -> None:
    """Trial of weeks [0, 13) on hand-made rows: every role's siloed KPI and the shared value, by hand.

    Expected numbers are literal, from the definitions: marketer = MQLs created in the window
    (without vanity: only those with an SQL week); SDR = SQLs booked in the window (without: only
    those an AE took on, opp_end_week set); AE = 12 x first MRR of deals opened in the window and won,
    x (1 + multiyear_booking_credit x extra years) with vanity; CSM = 1 - churned in the window /
    book (without vanity: / customers churned or renewed in the window). Shared value per head of a
    pod = gross margin x (revenue + 12 MRR / (logo churn + discount rate) if active) summed over the
    pod's accounts touched in the window and its book at the start (revenue since then), / the pod's
    heads at the start. Rows just outside the window carry value, so an off-by-one shows.
    """
    m = build(0, vanity_kpis=vanity, **TINY)
    acc, p = m.accounts, m.p
    assert acc.n == 6 and list(acc.view("pod")) == [0, 1, 0, 1, 0, 1] and list(acc.view("csm")) == [0, 1, 0, 1, 0, 1]
    for row in range(6):  # the book at week 0 (snapshot revenue 0); the trial then moves it
        acc.mrr_usd[row], acc.revenue_usd[row] = 100.0 * (row + 1), 10.0 * (row + 1)
    acc.state[[0, 1, 3]] = State.CHURNED
    acc.churned_week[[0, 1, 3]] = [5.0, 13.0, 12.5]  # row 1 churns at the window's end: not in it
    acc.renewals[2] += 1  # row 2 renewed in the window
    lead, sql, opp, cust = State.LEAD, State.SQL, State.OPPORTUNITY, State.CUSTOMER
    # fmt: off
    add_row(m, sql, 0, marketer=0, created_week=0.0, sdr=0, touch_week=1.0, sql_week=1.0)  # A
    add_row(m, lead, 0, marketer=0, created_week=12.99)  # B
    add_row(m, cust, 0, marketer=2, created_week=13.0, mrr_usd=300.0, revenue_usd=100.0)  # C: after the window
    add_row(m, cust, 1, marketer=1, created_week=-0.5, mrr_usd=400.0)  # D: before it
    add_row(m, sql, 1, marketer=3, created_week=5.0, sdr=1, touch_week=6.0, sql_week=6.0)  # E
    add_row(m, cust, 0, marketer=2, created_week=1.0, sdr=2, touch_week=1.5, sql_week=1.5, ae=0,  # F
            opp_start_week=2.0, opp_end_week=10.0, acquired_week=10.0, contract_weeks=104,
            initial_mrr_usd=1000.0, mrr_usd=1000.0, revenue_usd=500.0)
    add_row(m, opp, 0, marketer=0, created_week=2.0, sdr=0, touch_week=3.0, sql_week=3.0, ae=2,  # G
            opp_start_week=12.0, opp_end_week=20.0)
    add_row(m, cust, 1, marketer=1, created_week=-3.0, sdr=3, touch_week=-2.0, sql_week=-2.0, ae=3,  # H
            opp_start_week=4.0, opp_end_week=12.0, acquired_week=12.0, contract_weeks=52,
            initial_mrr_usd=2000.0, mrr_usd=2100.0)
    add_row(m, cust, 1, marketer=1, created_week=-5.0, sdr=1, touch_week=-4.0, sql_week=-4.0, ae=1,  # I
            opp_start_week=13.0, opp_end_week=20.0, acquired_week=20.0, contract_weeks=52,
            initial_mrr_usd=5000.0, mrr_usd=5000.0)
    add_row(m, State.DISQUALIFIED, 0, marketer=2, created_week=-1.0, sdr=4, touch_week=12.5)  # J
    add_row(m, sql, 1, marketer=1, created_week=10.0, sdr=3, touch_week=13.0, sql_week=13.0)  # K
    add_row(m, sql, 0, marketer=0, created_week=-2.0, sdr=-1, touch_week=4.0, sql_week=4.0)  # L: worked by help
    # fmt: on
    m.current["logo_churn_annual"] = 0.3
    credit = p["multiyear_booking_credit"]
    expected = {
        "marketer": [3, 1, 1, 1] if vanity else [2, 1, 1, 1],  # A B G | K | F | E  (no SQL: B)
        "sdr": [2, 1, 1, 0, 0] if vanity else [1, 0, 1, 0, 0],  # A G | E | F   (taken on: G, F)
        "ae": [12_000.0 * (1 + credit), 0, 0, 24_000.0] if vanity else [12_000.0, 0, 0, 24_000.0],  # F | - | G | H
        "csm": [1 - 1 / 3, 1 - 1 / 3] if vanity else [1 - 1 / 2, 0.0],  # rows 0 2 4 | 1 3 5
    }
    for role, kpi in expected.items():
        reward, shared_by = m.reward(role, "siloed", 0)
        assert shared_by is None
        np.testing.assert_allclose(reward, kpi, rtol=1e-12, err_msg=role)
        np.testing.assert_allclose(m.roster(role).cls.siloed_kpi(m, 0, 13), kpi, rtol=1e-12, err_msg=role)

    gm, life = p["gross_margin"], 12.0 / (0.3 + p["discount_rate_per_year"])
    touched = [500.0 + life * 1000.0, 0.0 + life * 2100.0]  # F in pod 0; H in pod 1 (leads are worth 0)
    book = [10.0 + (30.0 + life * 300.0) + (50.0 + life * 500.0), 20.0 + 40.0 + (60.0 + life * 600.0)]
    per_head = [gm * (touched[0] + book[0]) / 8, gm * (touched[1] + book[1]) / 7]
    for role in ROLE_NAMES:
        reward, shared_by = m.reward(role, "shared", 0)
        pods = np.array([a.pod for a in m.roster(role).agents])
        np.testing.assert_array_equal(shared_by, pods)
        np.testing.assert_allclose(reward, [per_head[pod] for pod in pods], rtol=1e-12, err_msg=role)


def own_book(m: GTMModel) -> dict:
    """Books and heads at a trial's start, read with plain loops: (row, csm, revenue, renewals) per customer."""
    acc = m.accounts
    state, csm, revenue, renewals = (acc.view(c).tolist() for c in ("state", "csm", "revenue_usd", "renewals"))
    customers = [(i, csm[i], revenue[i], renewals[i]) for i in range(acc.n) if state[i] == State.CUSTOMER]
    heads = [0] * m.n_pods
    for roster in m.rosters:
        for agent in roster.agents:
            heads[agent.pod] += 1
    return {"customers": customers, "heads": heads}


def hand_siloed(m: GTMModel, role: str, start: int, book: dict) -> list[float]:
    """A role's siloed KPI for the trial begun at ``start``, one plain loop over the pool (agents/*.py docstrings)."""
    acc, p = m.accounts, m.p
    end, vanity, n = start + p["review_weeks"], p["vanity_kpis"], m.roster(role).n
    col = {c: acc.view(c).tolist() for c in ("marketer", "sdr", "ae", "state", "renewals")}
    for c in ("created_week", "sql_week", "opp_start_week", "opp_end_week", "acquired_week", "churned_week"):
        col[c] = acc.view(c).tolist()
    col["initial_mrr_usd"], col["contract_weeks"] = (
        acc.view("initial_mrr_usd").tolist(),
        acc.view("contract_weeks").tolist(),
    )
    out = [0.0] * n
    if role in ("marketer", "sdr"):
        week, accepted = ("created_week", "sql_week") if role == "marketer" else ("sql_week", "opp_end_week")
        for i in range(acc.n):
            owner = col[role][i]
            if owner >= 0 and start <= col[week][i] < end and (vanity or not math.isnan(col[accepted][i])):
                out[owner] += 1.0
    elif role == "ae":
        for i in range(acc.n):
            owner = col["ae"][i]
            if owner >= 0 and start <= col["opp_start_week"][i] < end and not math.isnan(col["acquired_week"][i]):
                extra_years = col["contract_weeks"][i] / p["contract_weeks"] - 1
                out[owner] += (
                    12.0 * col["initial_mrr_usd"][i] * (1 + p["multiyear_booking_credit"] * extra_years * vanity)
                )
    else:
        base, lost = [0] * n, [0] * n
        for row, owner, _, renewals_then in book["customers"]:
            churned = col["state"][row] == State.CHURNED and col["churned_week"][row] < end
            if vanity or churned or col["renewals"][row] > renewals_then:
                base[owner] += 1
            lost[owner] += churned
        out = [1.0 - lost[i] / base[i] if base[i] else 1.0 for i in range(n)]
    return out


def hand_shared_per_head(m: GTMModel, start: int, book: dict) -> list[float]:
    """Value per head of each pod for the trial begun at ``start`` (rewards.shared_value_per_head_usd), by loops."""
    acc, p = m.accounts, m.p
    end = start + p["review_weeks"]
    churn = m.current.get("logo_churn_annual", NAN)
    churn = 0.10 if not math.isfinite(churn) else churn
    state, mrr, revenue, pod = (acc.view(c).tolist() for c in ("state", "mrr_usd", "revenue_usd", "pod"))
    weeks = [acc.view(c).tolist() for c in ("created_week", "touch_week", "opp_start_week")]

    def ltv(row: int, revenue_then: float) -> float:
        projected = 12.0 * mrr[row] / (churn + p["discount_rate_per_year"]) if state[row] == State.CUSTOMER else 0.0
        return p["gross_margin"] * (revenue[row] - revenue_then + projected)

    value = [0.0] * m.n_pods
    for row in range(acc.n):
        if any(start <= week[row] < end for week in weeks):
            value[pod[row]] += ltv(row, 0.0)
    for row, _, revenue_then, _ in book["customers"]:
        value[pod[row]] += ltv(row, revenue_then)
    return [v / max(h, 1) for v, h in zip(value, book["heads"], strict=True)]


def test_every_reward_paid_is_the_hand_computed_one_to_its_own_agent() -> None:
    """Pods, blend KPI, 104 weeks: each learner.pay call is intercepted and checked against hand loops.

    Siloed: the role's own KPI, agent by agent. Shared: each agent gets its own pod's value per head
    (the two pods' values differ, so a reward sent to the wrong pod or agent fails) and ``shared_by`` is
    each agent's pod. Schedule: siloed paid review_weeks after the start (AEs: plus the longest sales
    cycle, 20 x 1.3 = 26 weeks, rounded up to a review), shared after shared_reward_horizon_weeks.
    """
    m = build(1, structure="pod", kpi="blend", weeks=104)
    books = {0: own_book(m)}
    paid, csm_retention = [], []
    for roster in m.rosters:

        def spy(key, part, reward, groups=None, shared_by=None, _role=roster.role, _pay=roster.learner.pay):
            roster_now = m.roster(_role)
            if part == "siloed":
                expected = hand_siloed(m, _role, key, books[key])
                assert shared_by is None
            else:
                per_head = hand_shared_per_head(m, key, books[key])
                assert per_head[0] != pytest.approx(per_head[1], rel=1e-6)  # the check can tell pods apart
                pods = [agent.pod for agent in roster_now.agents]
                expected = [per_head[pod] for pod in pods]
                np.testing.assert_array_equal(shared_by, pods)
            np.testing.assert_allclose(reward, expected, rtol=1e-9, err_msg=f"{_role} {part} {key}")
            if _role == "csm" and part == "siloed":
                csm_retention.extend(expected)
            paid.append((_role, part, key, m.week))
            return _pay(key, part, reward, groups=groups, shared_by=shared_by)

        roster.learner.pay = spy
    while m.week < 104:
        m.step()
        if m.week % m.p["review_weeks"] == 0:
            books[m.week] = own_book(m)

    review, horizon = m.p["review_weeks"], m.p["shared_reward_horizon_weeks"]
    ae_delay = math.ceil(max(m.p[f"cycle_{s}_weeks"] for s in ("smb", "mm", "ent")) * m.p["sales_cycle_scale"] * 1.3)
    expected = set()
    for start in range(0, 104, review):
        for role in ROLE_NAMES:
            due = start + review + (ae_delay if role == "ae" else 0)
            for part, week in (("siloed", due), ("shared", start + horizon)):
                week = math.ceil(week / review) * review  # paid at the first review on or after it
                if week <= 104:
                    expected.add((role, part, start, week))
    assert sorted(paid) == sorted(expected) and len(paid) == len(set(paid))
    assert {part for _, part, _, _ in paid} == {"siloed", "shared"}
    assert min(csm_retention) < 1.0  # some CSM lost a customer: the retention check bites


# ------------------------------------------------------------------ 3. decision variables, learning off
DV_WEEKS = 78
DV_SEEDS = range(4)
T95 = float(stats.t.ppf(0.95, len(DV_SEEDS) - 1))  # 2.353: one-sided paired t-test at 5% with 4 seeds


@functools.cache
def outcomes(seed: int, policy: tuple = ()) -> dict[str, float]:
    """Outcomes of one fixed-policy run (learning off), cached: the default arm is shared by every test."""
    m = build(seed, weeks=DV_WEEKS, learning="off")
    for (role, name), value in policy:
        m.set_policy(role, name, value)
    m.run()
    acc, d = m.accounts, m.series.data
    new = ~acc.view("initial")
    won = new & (acc.view("state") >= State.CUSTOMER)
    active = acc.view("state") == State.CUSTOMER
    return {
        "mqls": d["mqls"].sum(),
        "mean_lead_fit": acc.view("fit")[new & (acc.view("marketer") >= 0)].mean(),
        "first_mrr_per_new_customer": acc.view("initial_mrr_usd")[won].mean(),
        "multi_year_share": acc.view("multi_year")[won].mean(),
        "qualified_out": d["qualified_out"].sum(),
        "value_realised": acc.view("value_realised")[active].mean(),
    }


@pytest.mark.parametrize(
    ("role", "name", "value", "metric", "sign"),
    [
        ("marketer", "breadth", 0.8, "mqls", +1),
        ("marketer", "breadth", 0.8, "mean_lead_fit", -1),
        ("ae", "discount", 0.3, "first_mrr_per_new_customer", -1),
        ("ae", "multi_year_push", 0.6, "multi_year_share", +1),
        ("ae", "qualify_out_threshold", 0.5, "qualified_out", +1),
        ("csm", "adoption_share", 0.8, "value_realised", +1),
    ],
)
def test_a_decision_variable_moved_alone_moves_its_outcome(
    role: str, name: str, value: float, metric: str, sign: int
) -> None:
    """Raising one variable above its default (others at default, learning off) moves ``metric`` by ``sign``.

    breadth: more MQLs of worse fit; discount: lower first MRR per new customer; multi-year push: more
    multi-year contracts; qualify-out threshold: more qualified out; adoption share: more value realised
    by active customers. Paired over 4 seeds, mean > 2.353 SE (module docstring).
    """
    assert value > next(cls for cls in ROLES if cls.role == role).POLICY[name][0]
    diffs = np.array([outcomes(s, (((role, name), value),))[metric] - outcomes(s)[metric] for s in DV_SEEDS])
    assert_positive(sign * diffs, z=T95)


SWAMPED = {"weeks": DV_WEEKS, "learning": "off", "sdr_leads_per_week": 8.0, "hiring": "fixed"}


@functools.cache
def help_run(seed: int, lender: str | None) -> dict[str, float]:
    """SDRs at half capacity; only ``lender``'s role has help_share 0.3 (the other role, or both, 0)."""
    m = build(seed, **SWAMPED)
    for role in ("marketer", "ae"):
        m.set_policy(role, "help_share", 0.3 if role == lender else 0.0)
    lent = {"marketer": 0.0, "ae": 0.0}
    while m.week < DV_WEEKS:
        m.step()
        for role in lent:
            lent[role] += m.roster(role).lending.sum()
    return {**lent, "touched": m.series.data["touched"].sum(), "mqls": m.series.data["mqls"].sum()}


@pytest.mark.parametrize("lender", ["marketer", "ae"])
def test_help_share_lends_capacity_to_a_swamped_queue(lender: str) -> None:
    """help_share 0.3 vs 0 (the other role's 0 in both): the role lends, and more leads are worked.

    With no help share nobody lends at all (exact); with it the role lends and the SDR queue gets more
    leads worked (paired, 4 seeds, mean > 2.353 SE). Marketers lend their own campaign time: fewer MQLs.
    """
    other = "ae" if lender == "marketer" else "marketer"
    diffs = {k: [] for k in ("lent", "touched", "mqls")}
    for seed in DV_SEEDS:
        helped, alone = help_run(seed, lender), help_run(seed, None)
        assert alone["marketer"] == alone["ae"] == 0.0 and helped[other] == 0.0
        diffs["lent"].append(helped[lender])
        diffs["touched"].append(helped["touched"] - alone["touched"])
        diffs["mqls"].append(helped["mqls"] - alone["mqls"])
    assert_positive(np.array(diffs["lent"]), z=T95)
    assert_positive(np.array(diffs["touched"]), z=T95)
    if lender == "marketer":
        assert_positive(-np.array(diffs["mqls"]), z=T95)


# ------------------------------------------------------------------ 4. placebo and learning diagnostics
DIAG_WEEKS = 156
DIAG_COLUMNS = ["corr_siloed", "n_siloed", "corr_shared", "n_shared", "policy", "drift", "moved"]


def check_layout(diag: pd.DataFrame) -> None:
    """One row per role and decision variable, in the rosters' order, with the documented columns first."""
    rows = [(cls.role, name) for cls in ROLES for name in cls.POLICY]
    assert list(diag.index) == rows
    assert list(diag.columns[:4]) == DIAG_COLUMNS[:4] and set(DIAG_COLUMNS) <= set(diag.columns)


def test_the_drift_band_is_calibrated_for_a_learner_paid_noise() -> None:
    """Paid noise, each variable's last-year drift over its band (``drift_logit`` / (``drift_band_logit`` /
    1.96)) is a standard normal draw, so ``variables_still_drifting`` counts about 5% of the variables.

    The band is the learner's own accounting of the steps it took (exact for Gaussian directions
    independent of the pay); this checks it in the whole model, hires, delays and mirrored pairs
    included. 8 independent runs (2 structures x 2 KPIs x 2 seeds, no seed shared: the placebo's walks
    are keyed by seed, so cells of one seed walk alike) x 11 variables = 88 z: the sample s.d. of 88
    standard normals is 1 +- 0.075, so [0.75, 1.30] is about +-3.5 s.d. (one variable's band shared by
    the role's variables makes the 88 not quite independent; the margin allows for it). Measured: s.d.
    1.05 here; 1.01 (5.5% beyond 1.96) over 80 other runs started from the status quo's policies (880
    z). A band that ignored steps (too narrow) or counted them twice (too wide) fails.
    """
    z = []
    for i, (structure, kpi) in enumerate((s, k) for s in STRUCTURES for k in ("siloed", "shared")):
        for seed in (40 + 2 * i, 41 + 2 * i):
            diag = finished(seed, structure=structure, kpi=kpi, weeks=260, learning="placebo").learning_diagnostics()
            z.extend(diag["drift_logit"] / (diag["drift_band_logit"] / 1.96))
    z = np.asarray(z)
    assert len(z) == 88 and np.isfinite(z).all()
    assert 0.75 < z.std() < 1.30, f"placebo drift z: s.d. {z.std():.2f}, {np.mean(np.abs(z) > 1.96):.0%} beyond 1.96"


def test_a_placebo_reward_moves_policies_without_a_gradient() -> None:
    """learning="placebo", pods, blend KPI: noise is paid, policies move, no corr leaves 3 / sqrt(n).

    Under no relation corr x sqrt(n) is about standard normal (measured over 720 placebo
    correlations, 20 seeds x 2 structures x 18: sd 0.96, max |z| 2.82). 22 correlations are tested (11
    variables x 2 parts), each two-sided at 3 sd (p = 0.0027): the chance that a correct model fails
    somewhere is at most 22 x 0.0027 = 5.9% (Bonferroni) for a seed picked at random; the seed is fixed.
    Twice DIAG_WEEKS: the learner pays each mirrored pair once, so a run has half as many payments.
    """
    m = build(SEED, structure="pod", kpi="blend", weeks=2 * DIAG_WEEKS, learning="placebo")
    for _ in range(40):
        m.step()
    for role in ROLE_NAMES:  # what is paid is the keyed noise, not the KPI
        np.testing.assert_array_equal(
            m.reward(role, "shared", 26)[0], draws.placebo_reward(SEED, role, "shared", 26, m.roster(role).n)
        )
    m.run()
    diag = m.learning_diagnostics()
    check_layout(diag)
    for part in ("siloed", "shared"):
        n, corr = diag[f"n_{part}"], diag[f"corr_{part}"]
        assert (n >= 30).all(), f"too few {part} payments for the band: {n.min()}"
        band = 3.0 / np.sqrt(n)
        assert (corr.abs() < band).all(), f"placebo {part} correlation beyond 3/sqrt(n):\n{diag[[corr.name, n.name]]}"
    for roster in m.rosters:  # the noise did move every incumbent policy off its default
        start = m.starting_headcount[roster.role]
        z0 = roster.learner.to_logit(roster.default_policy)
        assert (roster.learner.z[:start] != z0).all(axis=0).all(), roster.role


@pytest.mark.parametrize("structure", STRUCTURES)
def test_the_siloed_reward_teaches_breadth_up_and_the_threshold_down(structure: str) -> None:
    """Defaults, kpi="siloed": the two strongest signals, marketer breadth (+) and SDR threshold (-), beyond 3/sqrt(n).

    Measured corr x sqrt(n) over 4 seeds x 2 structures: breadth +4.8..+7.8, threshold -5.8..-7.2 (the
    placebo band is 3). Nothing is paid on the shared part: n_shared = 0, corr_shared NaN.
    """
    diag = finished(SEED, structure=structure, kpi="siloed", weeks=DIAG_WEEKS).learning_diagnostics()
    check_layout(diag)
    band = 3.0 / np.sqrt(diag["n_siloed"])
    assert diag.loc[("marketer", "breadth"), "corr_siloed"] > band[("marketer", "breadth")]
    assert diag.loc[("sdr", "qualification_threshold"), "corr_siloed"] < -band[("sdr", "qualification_threshold")]
    assert (diag["n_shared"] == 0).all() and diag["corr_shared"].isna().all()


# ------------------------------------------------------------------ 5. shared rewards are one number per team
@pytest.mark.parametrize("structure", STRUCTURES)
def test_the_shared_reward_is_one_number_per_team(structure: str) -> None:
    """kpi="shared": the assembly line pays every agent of every role one number (one team, nobody's
    peer: the learner compares each with its own running mean); pods pay each pod's members one number,
    different between the pods, the same for every role of the pod."""
    m = build(SEED, structure=structure, kpi="shared", weeks=104)
    for _ in range(40):
        m.step()
    for start in (13, 26):
        per_pod = {}
        for role in ROLE_NAMES:
            reward, shared_by = m.reward(role, "shared", start)
            pods = np.array([a.pod for a in m.roster(role).agents])
            np.testing.assert_array_equal(shared_by, pods)
            for pod in np.unique(pods):
                values = set(reward[pods == pod].tolist())
                assert len(values) == 1, f"{role}: pod {pod} members are paid {values}"
                per_pod.setdefault(int(pod), set()).update(values)
        assert all(len(v) == 1 for v in per_pod.values()), per_pod  # every role of a pod: the same number
        assert sorted(per_pod) == ([0] if structure == "assembly_line" else [0, 1])
        if structure == "pod":
            assert per_pod[0] != per_pod[1]


# ------------------------------------------------------------------ 6. learning off = adaptive False
@pytest.mark.parametrize("structure", STRUCTURES)
def test_learning_off_is_adaptive_false(structure: str) -> None:
    """learning="off" and adaptive=False (whatever ``learning`` says) are the same run, bit for bit.

    The control: learning="reward" changes the policy history.
    """
    common = {"structure": structure, "kpi": "blend", "weeks": NULL_WEEKS}
    off = finished(learning="off", **common)
    assert_identical(off, finished(adaptive=False, **common))
    assert_identical(off, finished(adaptive=False, learning="placebo", **common))
    assert off.policies()["week"].unique().tolist() == [0]  # no trial ever started
    assert not off.policies().equals(finished(learning="reward", **common).policies())


@pytest.mark.parametrize("learning", ["reward", "placebo"])
def test_summary_counts_the_variables_the_diagnostics_call_still_drifting(learning: str) -> None:
    """summary()["variables_still_drifting"] (computed without frames) counts learning_diagnostics()["moved"]."""
    model = GTMModel("pod", "siloed", seed=3, learning=learning, weeks=156, start_policy="default").run()
    moved = model.learning_diagnostics()["moved"]
    assert model.summary()["variables_still_drifting"] == float(moved.sum())
    assert 0 < moved.sum() < len(moved) or learning == "placebo"  # siloed learning moves some variables, not all


def test_the_status_quo_never_reads_pod_or_shared_reward_parameters() -> None:
    """status_quo_policies computes the status quo at the defaults of the parameters it never reads.

    That is only right if an assembly line under siloed KPIs really ignores them: run it (uncached)
    with each of them moved and the learned policies must be bit-identical. A parameter that leaks into
    the assembly line fails here, and must then leave STATUS_QUO_UNREAD.
    """
    from alignsim.model import model as model_module

    moved = {
        "n_pods": 3,
        "info_sharing_pod": 0.9,
        "pod_capacity_pooling": True,
        "shared_kpi_weight": 0.2,
        "shared_reward_horizon_weeks": 13,
    }
    assert set(moved) == set(model_module.STATUS_QUO_UNREAD)
    base = {**model_module.STATUS_QUO, "weeks": 78}

    def learned(**params):
        return model_module._status_quo_cached.__wrapped__(5, tuple(sorted({**base, **params}.items())))

    reference = learned()
    for name, value in moved.items():
        assert learned(**{name: value}) == reference, f"the status quo reads {name}"
    # and a cell starts from it whatever its pod parameters
    cell = GTMModel("pod", "shared", seed=5, status_quo_weeks=78, weeks=1, n_pods=3, shared_reward_horizon_weeks=13)
    for role, policy in reference.items():
        learner = cell.roster(role).learner
        assert np.allclose(learner.policy.mean(axis=0), list(policy.values()), rtol=0, atol=1e-12), role


@pytest.mark.parametrize(
    ("structure", "kpi", "learning"),
    [("pod", "siloed", "reward"), ("pod", "siloed", "placebo"), ("assembly_line", "shared", "off")],
)
def test_the_status_quo_length_reaches_a_cell_only_through_its_start_policies(
    monkeypatch, structure: str, kpi: str, learning: str
) -> None:
    """``status_quo_weeks`` changes a cell only by the policies it inherits (results/sweep_status_quo_weeks).

    The README reads that sweep as "the same company at week 0, only the inherited policies differ".
    A cell whose status quo learned 300 weeks (past the market's shared chunks, so its stream goes on
    from a copy), handed the policies of a 26-week status quo, must be bit-identical to the cell whose
    status quo learned 26 weeks, in the cells the sweep's contrasts rest on (reward, the placebo
    baseline, the fixed policy). A channel from the length of the status quo into these cells fails
    here. The control: with its own status quo the cell differs.
    """
    from alignsim.model import model as model_module

    cell = {"structure": structure, "kpi": kpi, "seed": 5, "weeks": 52, "learning": learning}
    short = GTMModel(status_quo_weeks=26, **cell)
    inherited = model_module.status_quo_policies(short.seed, short.p)
    short.run()
    longer = GTMModel(status_quo_weeks=300, **cell).run()
    assert longer.summary()["policy_marketer_breadth"] != short.summary()["policy_marketer_breadth"]
    monkeypatch.setattr(model_module, "status_quo_policies", lambda seed, params: inherited)
    assert_identical(short, GTMModel(status_quo_weeks=300, **cell).run())
