"""Each mechanism M1-M14: acts in the claimed direction when on, neutral when its lever is off.

Direction tests compare paired runs (same seed = same market, common random numbers) over
6 seeds and require the mean paired difference to exceed 2 standard errors
(:func:`tests.support.assert_positive`). Neutrality tests require exact equality where the
lever removes the only channel, or a difference within 2 standard errors otherwise.
Policies are fixed (``adaptive=False``) unless the mechanism is about learning.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from alignsim.agents import AE, Marketer
from alignsim.model import GTMModel, customers
from alignsim.model.mechanisms import ABLATIONS, MECHANISMS
from alignsim.model.pools import State
from tests.support import assert_positive, assert_share_near, paired, run

SDR_T = ("sdr", "qualification_threshold")
HONESTY, DISCOUNT = ("ae", "honesty"), ("ae", "discount")
HELP = {("marketer", "help_share"): 0.4, ("ae", "help_share"): 0.4}
NO_HELP = {("marketer", "help_share"): 0.0, ("ae", "help_share"): 0.0}
AE_HELP = {("sdr", "help_share"): 0.3, ("csm", "help_share"): 0.3}
NO_AE_HELP = {("sdr", "help_share"): 0.0, ("csm", "help_share"): 0.0}
#: pods whose SDRs pass nearly everything: the AE queues overflow (about 3,000 SQLs expire in 156 weeks)
AE_SWAMPED = {"structure": "pod"}
LOW_BAR = {("sdr", "qualification_threshold"): 0.15}
RENEWAL_HOURS, ADOPTION_HOURS = {("csm", "adoption_share"): 0.3}, {("csm", "adoption_share"): 0.7}


def same_outcome(a: dict, b: dict, **base) -> None:
    for seed in (0, 1):
        pd.testing.assert_frame_equal(run(seed, **base, **a).timeseries(), run(seed, **base, **b).timeseries())


def test_every_mechanism_has_lever_source_and_known_parameters() -> None:
    from alignsim.model.params import PARAMS

    assert [m.mid for m in MECHANISMS] == [f"M{i}" for i in range(1, 15)]
    for m in MECHANISMS:
        assert m.source and m.off and set(m.off) <= set(PARAMS)


UNTARGETED = {"weeks": 260, "targeting_noise_sd": 3.0}  # customers span the whole market's fit range


def renewal_churn_by_fit(**params) -> tuple[float, float, float]:
    """(per-renewal churn of the worse-fit half, of the better-fit half, binomial SE of the difference).

    Pools the new customers of three seeds; SE = sqrt(sum p(1-p)/n) over the two halves.
    """
    ledger = pd.concat([run(seed, **UNTARGETED, **params).customer_ledger() for seed in range(3)])
    ledger = ledger[~ledger["initial"]]
    churned = ledger["churned_week"].notna()
    low = ledger["fit"] < ledger["fit"].median()
    rates, variances = [], []
    for half in (low, ~low):
        events, exposures = churned[half].sum(), (ledger["renewals"][half] + churned[half]).sum()
        rate = events / exposures
        rates.append(rate)
        variances.append(rate * (1 - rate) / exposures)
    return rates[0], rates[1], float(np.sqrt(sum(variances)))


def test_m1_poor_fit_customers_churn_more() -> None:
    low, high, se = renewal_churn_by_fit()
    assert low - high > 2 * se


def test_m1_off_fit_does_not_change_churn() -> None:
    low, high, se = renewal_churn_by_fit(fit_effect=0.0)
    assert abs(low - high) < 2.5 * se


def test_m1_poorer_market_churns_more() -> None:
    assert_positive(paired("logo_churn", {"market_fit_mean": 0.3}, {"market_fit_mean": 0.7}))


def test_m2_definition_gap_wastes_sdr_capacity() -> None:
    assert_positive(paired("mql_to_sql", {"mql_definition_gap": 0.0}, {"mql_definition_gap": 0.8}))


@pytest.mark.parametrize("breadth", [0.2, 0.8])
def test_m2_engagement_only_share_follows_breadth(breadth: float) -> None:
    """M2: a marketer at breadth b pulls in engagement-only MQLs at the rate mql_definition_gap x b.

    The junk draw is independent of targeting, so among the marketers' MQLs of one run the share is
    gap x b in expectation; tolerance 4 binomial SE of the n MQLs (n is 14,000-23,000 here, so
    4 SE is at most 0.012, while the two breadths' expected shares differ by 0.18). Measured: 0.0600
    and 0.2389 against 0.06 and 0.24.
    """
    m = run(0, policy={("marketer", "breadth"): breadth})
    acc = m.accounts
    junk = acc.view("junk")[acc.view("marketer") >= 0]
    assert_share_near(junk, m.p["mql_definition_gap"] * breadth)


def test_m2_off_no_engagement_only_leads() -> None:
    assert not run(0, mql_definition_gap=0.0).accounts.view("junk").any()
    assert run(0, mql_definition_gap=0.5).accounts.view("junk").any()


def test_m3_sdr_threshold_sets_pass_through() -> None:
    assert_positive(paired("mql_to_sql", {"policy": {SDR_T: 0.2}}, {"policy": {SDR_T: 0.8}}))
    assert_positive(paired("win_rate", {"policy": {SDR_T: 0.8}}, {"policy": {SDR_T: 0.2}}))


def test_m3_off_threshold_has_no_effect() -> None:
    same_outcome({"policy": {SDR_T: 0.2}}, {"policy": {SDR_T: 0.8}}, sdr_threshold_effect=0.0)


def test_m4_overpromising_wins_more_and_churns_more() -> None:
    assert_positive(paired("win_rate", {"policy": {HONESTY: 0.0}}, {"policy": {HONESTY: 1.0}}))
    assert_positive(paired("logo_churn", {"policy": {HONESTY: 0.0}}, {"policy": {HONESTY: 1.0}}))


def test_m4_discount_wins_more_at_lower_price() -> None:
    assert_positive(paired("win_rate", {"policy": {DISCOUNT: 0.4}}, {"policy": {DISCOUNT: 0.0}}))


def test_m4_off_honesty_has_no_effect() -> None:
    same_outcome({"policy": {HONESTY: 0.0}}, {"policy": {HONESTY: 1.0}}, overpromise_effect=0.0)


def test_m4_off_no_multi_year_contracts() -> None:
    push = {("ae", "multi_year_push"): 1.0}
    assert run(0, policy=push).customer_ledger()["multi_year"].any()
    assert not run(0, policy=push, allow_multi_year=False).customer_ledger()["multi_year"].any()


def test_m5_context_loss_lowers_win_rate() -> None:
    assert_positive(paired("win_rate", {"handoff_context_loss": 0.0}, {"handoff_context_loss": 0.8}))


@pytest.mark.parametrize("structure", ["assembly_line", "pod"])
def test_m5_each_handoff_keeps_its_share_of_context(structure: str) -> None:
    """M5: every hand-off keeps 1 - loss x (1 - info sharing) of what is known, no more and no less.

    A lead that never became an SQL was handed once (marketing -> SDR), an SQL that did not become a
    customer twice (SDR -> AE), a customer three times (AE -> CSM; the initial book is set up as if
    handed the same way), so each row's context is that share to the power of its hand-offs (exact
    up to rounding).
    """
    m = run(0, structure=structure, weeks=52, handoff_context_loss=0.4)
    keep = 1.0 - 0.4 * (1.0 - m.info_sharing)
    acc = m.accounts
    state, context, sql = acc.view("state"), acc.view("context"), np.isfinite(acc.view("sql_week"))
    customer = np.isin(state, [State.CUSTOMER, State.CHURNED])
    handoffs = {1: (acc.view("marketer") >= 0) & ~sql, 2: sql & ~customer, 3: customer}
    for n, rows in handoffs.items():
        assert rows.sum() > 0
        np.testing.assert_allclose(context[rows], keep**n, rtol=1e-12)


def test_m5_off_context_is_never_lost() -> None:
    m = run(0, handoff_context_loss=0.0)
    new = ~m.accounts.view("initial")
    assert np.all(m.accounts.view("context")[new] == 1.0)


def test_m6_specialisation_adds_capacity_when_capacity_binds() -> None:
    busy = {"prospects_per_week": 600}
    assert_positive(paired("new_customers", {"specialisation_gain": 0.5}, {"specialisation_gain": 0.0}, base=busy))


def test_m6_off_assembly_staff_have_pod_capacity() -> None:
    line = run(0, weeks=1, specialisation_gain=0.0)
    pods = run(0, weeks=1, structure="pod")
    for role in ("sdr", "ae", "csm"):
        assert np.array_equal(line.roster(role).capacity, pods.roster(role).capacity)


def test_m6_pods_get_no_specialisation_gain() -> None:
    """M6 belongs to the assembly line's specialists: pods' capacity is the same whatever the gain."""
    plain = run(0, weeks=1, structure="pod", specialisation_gain=0.0)
    gained = run(0, weeks=1, structure="pod", specialisation_gain=0.5)
    for role in ("sdr", "ae", "csm"):
        assert np.array_equal(plain.roster(role).capacity, gained.roster(role).capacity)
    line = run(0, weeks=1, specialisation_gain=0.5)
    assert np.all(line.roster("ae").capacity == 1.5 * plain.roster("ae").capacity)


@pytest.mark.parametrize(("structure", "delay"), [("assembly_line", 0.5), ("pod", 0.0)])
def test_m7_only_the_assembly_line_waits_for_hand_offs(structure: str, delay: float) -> None:
    """handoff_delay_weeks = 0.5: the assembly line's leads and SQLs wait half a week in routing before
    the next stage can work them; a pod's are ready when created (its people sit together). Exact."""
    acc = run(0, weeks=26, structure=structure, handoff_delay_weeks=0.5).accounts
    lead, sql = acc.view("marketer") >= 0, np.isfinite(acc.view("sql_week"))
    created = np.where(sql, acc.view("sql_week"), acc.view("created_week"))
    assert lead.sum() > 0 and sql.sum() > 0
    np.testing.assert_allclose(acc.view("ready_week")[lead] - created[lead], delay, atol=1e-9)


def test_m7_leads_decay_while_waiting() -> None:
    assert_positive(paired("sqls", {"lead_decay_per_week": 0.0}, {"lead_decay_per_week": 2.0}))


def test_m7_partitioned_pods_lose_leads_pooled_pods_keep() -> None:
    """4 marketers over 3 pods: pod 0 gets twice the leads for the same SDRs while total capacity
    suffices; partitioned, pod 0's overflow expires; pooled, other pods' idle SDRs work it."""
    pods = {"structure": "pod", "n_pods": 3}
    assert_positive(paired("sqls", {"pod_capacity_pooling": True}, {"pod_capacity_pooling": False}, base=pods))


def test_m7_off_intent_does_not_decay() -> None:
    decayed = run(0, weeks=20).accounts
    kept = run(0, weeks=20, lead_decay_per_week=0.0).accounts
    assert decayed.view("intent").sum() < kept.view("intent").sum()


def test_m7_decay_at_close_lowers_the_win_rate_of_leads_that_waited() -> None:
    """The assembly line's leads wait for hand-offs: counting their lost intent at the close lowers its win rate."""
    assert_positive(paired("win_rate", {"intent_decay_at_close": 0.0}, {"intent_decay_at_close": 1.0}))


def test_m7_decay_at_close_reads_that_share_of_the_logged_loss() -> None:
    """Hand computation: intent 0.5 at creation, 0.2 after the waits; half the log-loss counts: 0.5 x 0.4^0.5."""
    m = run(0, weeks=1, intent_decay_at_close=0.5)
    rows = m.accounts.add(1, intent=0.2, intent_created=0.5)
    assert m.accounts.intent_created[rows][0] == 0.5  # what the marketer stores for every lead it creates
    assert AE.intent_at_close(m, rows)[0] == pytest.approx(0.5 * 0.4**0.5)
    m.p["intent_decay_at_close"] = 1.0
    assert AE.intent_at_close(m, rows)[0] == 0.2


def test_m7_decay_at_close_is_neutral_without_decay() -> None:
    same_outcome({"intent_decay_at_close": 0.0}, {"intent_decay_at_close": 1.0}, lead_decay_per_week=0.0)


def test_every_lead_remembers_its_intent_at_creation() -> None:
    acc = run(0, weeks=26).accounts
    leads = np.flatnonzero(~acc.view("initial"))
    created = acc.view("intent_created")[leads]
    assert np.all(created > 0) and np.all(acc.view("intent")[leads] <= created)


def test_programme_spend_per_mql_rises_with_breadth_and_per_reach_does_not() -> None:
    """Same reach (fixed marketers), broader targeting: more MQLs, so more spend per MQL, the same per reach."""
    broad, narrow = {"policy": {("marketer", "breadth"): 0.9}}, {"policy": {("marketer", "breadth"): 0.3}}
    fixed = {"hiring": "fixed", "weeks": 26}
    for seed in (0, 1):
        by_mql = [run(seed, **fixed, **b).series.data for b in (broad, narrow)]
        by_reach = [run(seed, **fixed, program_cost_basis="reach", **b).series.data for b in (broad, narrow)]
        assert by_mql[0]["mqls"].sum() > by_mql[1]["mqls"].sum()
        assert by_mql[0]["sm_cost_usd"].sum() > by_mql[1]["sm_cost_usd"].sum()
        assert by_reach[0]["reached"].sum() == by_reach[1]["reached"].sum()
        assert by_reach[0]["sm_cost_usd"].sum() == pytest.approx(by_reach[1]["sm_cost_usd"].sum())


def test_programme_spend_equals_hand_computation() -> None:
    from alignsim.model.metrics import programme_usd

    p = {"program_cost_basis": "mql", "program_cost_per_lead_usd": 900.0, "program_cost_per_reached_usd": 277.0}
    assert programme_usd(p, 10, 40) == 9000.0
    assert programme_usd({**p, "program_cost_basis": "reach"}, 10, 40) == 277.0 * 40
    m = run(0, weeks=13, program_cost_basis="reach")
    d = m.series.data
    payroll = d["sm_cost_usd"][:13] - m.p["program_cost_per_reached_usd"] * d["reached"][:13]
    assert np.all(payroll > 0) and np.ptp(payroll[:4]) == 0.0  # what is left is the (unchanged) payroll


def test_m8_help_works_leads_that_would_expire() -> None:
    swamped = {"prospects_per_week": 500, "n_sdrs": 4}
    assert_positive(paired("sqls", {"policy": HELP}, {"policy": NO_HELP}, base=swamped))


def test_m8_off_help_changes_nothing() -> None:
    same_outcome({"policy": HELP}, {"policy": NO_HELP}, help_efficiency=0.0, prospects_per_week=500, n_sdrs=4)


def test_m8_help_to_a_swamped_ae_queue_takes_sqls_that_would_expire() -> None:
    """SDRs and CSMs lending help_share to an overflowing AE queue: fewer SQLs expire, more deals are won."""
    helped, alone = {"policy": {**AE_HELP, **LOW_BAR}}, {"policy": {**NO_AE_HELP, **LOW_BAR}}
    assert_positive(paired("sqls_expired", alone, helped, base=AE_SWAMPED))
    assert_positive(paired("new_customers", helped, alone, base=AE_SWAMPED))


def test_m8_off_help_to_the_ae_queue_changes_nothing() -> None:
    same_outcome(
        {"policy": {**AE_HELP, **LOW_BAR}}, {"policy": {**NO_AE_HELP, **LOW_BAR}}, help_efficiency=0.0, **AE_SWAMPED
    )


def test_m9_champion_turnover_raises_churn() -> None:
    assert_positive(paired("logo_churn", {"champion_turnover_per_year": 1.0}, {"champion_turnover_per_year": 0.0}))


def test_m9_off_no_champion_changes() -> None:
    m = run(0, champion_turnover_per_year=0.0)
    assert m.tally["champion_changes"] == 0
    assert np.all(m.accounts.view("relationship")[m.accounts.where(State.CUSTOMER)] > 0)


@functools.cache
def csm_rewards(adoption_share: float, seed: int, expansion_relationship_weight: float = 0.0) -> tuple[float, float]:
    """(mean siloed KPI, mean shared reward) paid to CSMs holding ``adoption_share`` fixed all run.

    Every trial is paid both parts (kpi="blend") but nothing moves (learning rate and exploration 0).
    """
    m = GTMModel(
        seed=seed,
        kpi="blend",
        learning="reward",
        learning_rate=0.0,
        exploration_sd=0.0,
        expansion_relationship_weight=expansion_relationship_weight,
    )
    m.set_policy("csm", "adoption_share", adoption_share)
    paid: dict[str, list[float]] = {"siloed": [], "shared": []}
    learner = m.roster("csm").learner
    pay = learner.pay

    def record(key, part, reward, groups=None, shared_by=None):
        paid[part].append(float(np.mean(reward)))
        return pay(key, part, reward, groups=groups, shared_by=shared_by)

    learner.pay = record
    m.run()
    return float(np.mean(paid["siloed"])), float(np.mean(paid["shared"]))


def csm_reward_differences(expansion_relationship_weight: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed (siloed KPI, shared reward) at adoption_share 0.3 minus at 0.7."""
    diffs = np.array(
        [
            np.subtract(
                csm_rewards(0.3, s, expansion_relationship_weight), csm_rewards(0.7, s, expansion_relationship_weight)
            )
            for s in range(6)
        ]
    )
    return diffs[:, 0], diffs[:, 1]


def test_m9_siloed_csms_gain_from_saves_the_firm_from_adoption() -> None:
    """Issue 10 item 5: reported retention pays renewal saves, firm value pays adoption.

    Less adoption (more renewal hours, saves: M14) keeps more logos at each renewal, so the siloed
    KPI is higher; more adoption builds value that expands, so the firm value after five years is
    higher (learning off, 6 seeds, assembly line; measured z = +5.4). When every CSM moves at once,
    the team's shared reward (read 78 weeks after the trial, projecting each active account's ARR at
    the company's logo churn) pays the saves too: the company's churn falls and lifts every
    account's projection, while the durable value adoption builds is not yet seen. One CSM's own
    perturbation barely moves the company's churn, so the signal a learner gets differs
    (results/shared_signal: +0.028 / +0.048 towards adoption, assembly line / pods).
    """
    siloed, shared = csm_reward_differences()
    assert_positive(siloed)
    assert_positive(shared)
    assert_positive(paired("firm_value", {"policy": ADOPTION_HOURS}, {"policy": RENEWAL_HOURS}, base={"weeks": 260}))


def test_m9_relationship_driven_expansion_makes_the_shared_reward_pay_saves_more() -> None:
    """With expansion gated by the relationship too (lever at 1), the shared reward pays saves more than at 0."""
    _, shared_at_0 = csm_reward_differences(0.0)
    _, shared_at_1 = csm_reward_differences(1.0)
    assert_positive(shared_at_1 - shared_at_0)


def test_m10_churn_only_at_renewal() -> None:
    ledger = run(0, policy={("ae", "multi_year_push"): 0.5}).customer_ledger()
    gone = ledger.dropna(subset=["churned_week"])
    tenure = gone["churned_week"] - gone["acquired_week"]
    terms = tenure / gone["contract_weeks"]
    assert np.allclose(terms, np.round(terms)) and (np.round(terms) >= 1).all()


def test_m10_long_contracts_disguise_churn() -> None:
    """With two-year terms half the base cannot churn in a year: reported churn < renewal churn."""
    diffs = np.array(
        [
            (lambda s: s["logo_churn"] - s["reported_churn"])(run(seed, contract_weeks=104).summary())
            for seed in range(6)
        ]
    )
    assert_positive(diffs)


def test_m10_off_annual_terms_report_true_churn() -> None:
    s = run(0, weeks=208, allow_multi_year=False).summary()
    assert s["reported_churn"] == pytest.approx(s["logo_churn"], abs=0.02)


def test_m11_feedback_sharpens_targeting() -> None:
    assert_positive(paired("mean_customer_fit", {"feedback_learning": 5.0}, {"feedback_learning": 0.0}))


def test_m11_off_targeting_noise_stays_constant() -> None:
    m = run(0, feedback_learning=0.0)
    assert np.all(Marketer.fit_signal_noise_sd(m) == m.p["targeting_noise_sd"])
    assert np.all(Marketer.fit_signal_noise_sd(run(0)) < m.p["targeting_noise_sd"])


def test_m11_more_information_sharing_brings_the_feedback_sooner() -> None:
    """M11: CS outcomes reach marketing feedback_delay_weeks x (1 - information sharing) late.

    On one finished run (104 weeks: renewal outcomes accumulate all along) the marketers' fit-signal
    noise is read with no information shared and with all of it: all of it sees a year's more
    outcomes, so every marketer's noise is strictly lower.
    """
    m = run(0, weeks=104)
    noise = {}
    for share in (0.0, 1.0):
        m.info_sharing = share
        noise[share] = Marketer.fit_signal_noise_sd(m)
    assert np.all(noise[1.0] < noise[0.0])


def test_m12_incidents_raise_churn() -> None:
    assert_positive(paired("logo_churn", {"incidents_per_year": 12.0}, {"incidents_per_year": 0.0}))


def test_m12_uninformed_staff_make_it_worse() -> None:
    assert_positive(
        paired(
            "logo_churn", {"uninformed_amplifier": 3.0}, {"uninformed_amplifier": 0.0}, base={"incidents_per_year": 8.0}
        )
    )


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_m12_informed_answers_follow_information_sharing(share: float) -> None:
    """M12: a customer hit by an incident reaches informed staff with probability = information sharing.

    One incident (every week has one at 52 per year) is applied to a finished run's customers with
    the model's information sharing set to ``share``: each hit customer's damage grows by
    incident_damage (informed) or by incident_damage x (1 + uninformed_amplifier) (not), nothing
    else; the share not informed is 1 - ``share`` within 4 binomial SE of the n hits (exact at 0, 1).
    """
    m = run(0, weeks=26, incidents_per_year=52.0, incident_reach=1.0)
    m.info_sharing = share
    before = m.accounts.incident_damage.copy()
    customers.incidents(m)
    rows = m.accounts.where(State.CUSTOMER)
    delta = m.accounts.incident_damage[rows] - before[rows]
    plain, worse = m.p["incident_damage"], m.p["incident_damage"] * (1.0 + m.p["uninformed_amplifier"])
    uninformed = np.isclose(delta, worse)
    assert np.all(uninformed | np.isclose(delta, plain))
    assert_share_near(uninformed, 1.0 - share)


def test_m12_off_no_incident_damage() -> None:
    m = run(0, incidents_per_year=0.0)
    assert m.accounts.view("incident_damage")[m.accounts.view("state") == State.CUSTOMER].max() == 0.0


def final_mean_policy(variable: str, **params) -> np.ndarray:
    values = []
    for seed in range(6):
        pol = run(seed, adaptive=True, weeks=260, **params).policies()
        last = pol[(pol["week"] == pol["week"].max()) & (pol["variable"] == variable)]
        values.append(last["value"].mean())
    return np.array(values)


def test_m13_vanity_kpis_push_marketing_to_volume() -> None:
    """Siloed marketers paid on raw MQL count target more broadly than those paid on accepted MQLs."""
    assert_positive(final_mean_policy("breadth", vanity_kpis=True) - final_mean_policy("breadth", vanity_kpis=False))


def test_m13_off_has_no_effect_without_learning() -> None:
    same_outcome({"vanity_kpis": True}, {"vanity_kpis": False})


def test_m14_renewal_saves_make_renewal_hours_keep_more_logos() -> None:
    """Moving CSM hours from adoption to renewal work cuts logo churn by more when those hours make saves.

    Per seed: (churn at adoption 0.7 - churn at 0.3) with saves on, minus the same with saves off
    (renewal hours spread evenly over the book), 6 seeds, beyond 2 SE.
    """
    on = paired("logo_churn", {"policy": ADOPTION_HOURS}, {"policy": RENEWAL_HOURS})
    off = paired(
        "logo_churn",
        {"policy": ADOPTION_HOURS, "renewal_save_effect": 0.0},
        {"policy": RENEWAL_HOURS, "renewal_save_effect": 0.0},
    )
    assert_positive(on - off)


def test_m14_a_save_is_bought_with_a_price_concession() -> None:
    """The same saves with a 10% concession at a full save leave less revenue retained (NRR) than free ones."""
    assert_positive(paired("nrr", {"save_concession": 0.0}, {"save_concession": 0.1}))


def test_m14_save_hours_go_to_customers_up_for_renewal_and_reset_at_it() -> None:
    """After week 59's work: exactly the customers renewing within 7 weeks of week 60 carry save hours.

    The last CSM work (week 59) credits renewals due before week 59 + ``save_window_weeks``; the
    renewals of week 59 then clear theirs, so what is left is [60, 67) and nothing outside it.
    """
    m = run(0, weeks=60)
    acc = m.accounts
    cust = acc.where(State.CUSTOMER)
    assert not np.isnan(acc.save_hours[cust]).any()  # every customer starts at 0 (onboarding, initial book)
    saved = acc.save_hours[cust] > 0
    weeks_to_renewal = acc.renewal_week[cust] - m.week
    assert saved.any()
    np.testing.assert_array_equal(saved, (weeks_to_renewal >= 0) & (weeks_to_renewal < m.p["save_window_weeks"] - 1))


def test_m14_renewal_hours_go_four_to_one_to_customers_up_for_renewal() -> None:
    """Each CSM's renewal hours are all spent, and a customer in the window gets 4x those of one outside it."""
    from alignsim.agents.csm import CSM, SAVE_WEIGHT

    m = GTMModel(seed=0, weeks=30, adaptive=False).run()
    cust = m.accounts.where(State.CUSTOMER)
    owner = m.accounts.csm[cust]
    window = m.accounts.renewal_week[cust] - m.week < m.p["save_window_weeks"]
    hours = np.linspace(10.0, 30.0, m.csms.n)
    per_customer = CSM._renewal_hours(m, cust, owner, hours)
    np.testing.assert_allclose(np.bincount(owner, per_customer, m.csms.n), hours)
    for csm in range(m.csms.n):
        mine = owner == csm
        inside, outside = per_customer[mine & window], per_customer[mine & ~window]
        if len(inside) and len(outside):
            np.testing.assert_allclose(inside / outside[0], SAVE_WEIGHT)
    assert SAVE_WEIGHT == 4.0


def test_m14_a_save_costs_its_concession_at_the_renewal_and_is_then_cleared() -> None:
    """Hand-set saves of 0, 8, 16 and 32 hours on four customers renewing now (no expansion, contraction
    or churn): their MRR falls by save_concession x min(hours / save_hours_full, 1), and the hours reset.
    """
    from alignsim.model import customers

    m = run(0, weeks=30, expansion_per_renewal=0.0, contraction_per_renewal=0.0)
    acc = m.accounts
    rows = acc.where(State.CUSTOMER)[:4]
    acc.renewal_week[rows] = m.week
    acc.save_hours[rows] = 0.0
    unsaved = customers.churn_probability(m, rows)
    acc.save_hours[rows] = [0.0, 8.0, 16.0, 32.0]
    saved = customers.churn_probability(m, rows)
    assert saved[0] == unsaved[0] and np.all(saved[1:] < unsaved[1:])
    acc.save_hours[rows[3]] = 16.0
    assert customers.churn_probability(m, rows)[3] == saved[3]  # a save is full at save_hours_full
    acc.save_hours[rows[3]] = 32.0
    acc.theta[rows] = 0.0  # certain to renew
    before = acc.mrr_usd[rows].copy()
    customers.renewals(m)
    assert np.all(acc.state[rows] == State.CUSTOMER)
    np.testing.assert_allclose(acc.mrr_usd[rows] / before, 1.0 - 0.05 * np.array([0.0, 0.5, 1.0, 1.0]))
    assert np.all(acc.save_hours[rows] == 0.0)


def test_m14_off_no_save_is_made_and_its_other_parameters_do_nothing() -> None:
    m = run(0, renewal_save_effect=0.0)
    assert np.all(np.nan_to_num(m.accounts.view("save_hours")) == 0.0)
    same_outcome(
        {"renewal_save_effect": 0.0},
        {"renewal_save_effect": 0.0, "save_window_weeks": 26.0, "save_hours_full": 2.0, "save_concession": 0.5},
    )


@pytest.mark.parametrize("mid", list(ABLATIONS))
def test_every_ablation_is_a_valid_run(mid: str) -> None:
    m = run(0, weeks=40, **ABLATIONS[mid])
    m.check_invariants()
