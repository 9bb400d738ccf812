"""The customer and deal formulas are blind to the cell: no hidden structure, pod-count, KPI or learning channel.

Principle 1: structure changes who owns what, who hands off to whom, the queues and the information;
a KPI regime changes only what agents are paid for. Both act through the organisation wired at set-up
(teams, pods, information sharing, hand-off delay and context kept, the shared reward's weight) and
through what the agents then decide. The formulas that turn an account's state into an outcome (churn
at a renewal, the win odds at a close, the price after a renewal, a week of CSM work on a book, a
week of SDR and AE queue work, a week of campaigns) therefore read the account, its owner and the
parameters, never the cell. The structural null test (one pod = the assembly line) cannot see a
channel that acts only with several pods, and the KPI null tests cannot see one keyed to the pod
count; these tests can: they move a pods company's accounts (4 pods, shared KPIs, staff learning)
and, for the queue, CSM and campaign work, its organisation into a model of every other cell (one
pod, siloed KPIs, learning off or paid noise) and require the same outcomes, bit for bit.
The market's draws are compared from each model's own streams, drawn privately: every model of one
seed otherwise reads the chunks the first one drew from a per-process store, which would hide a
channel there. ``benchmarks/planted_faults.py`` S6-S12 are the faults they were written for. Not
covered: a channel keyed to the transplanted organisation itself (its team count, say).
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest

from alignsim.agents import AE, CSM, Marketer
from alignsim.model import GTMModel, customers
from alignsim.model.pools import AccountPool, State

SEED, WEEKS = 4, 78
#: SDRs with room to work every lead of the queue built below (a quarter's leads worked again)
PARAMS = {"n_pods": 4, "sdr_leads_per_week": 400.0}
OTHER_CELLS = [
    ("assembly_line", "siloed", "off"),
    ("assembly_line", "shared", "placebo"),
    ("pod", "siloed", "off"),  # 4 pods as the reference: the KPI and learning labels alone differ
]


@functools.cache
def reference() -> GTMModel:
    """Pods (4), shared KPIs, staff learning from their reward: 78 weeks of accounts in every state."""
    return GTMModel("pod", "shared", seed=SEED, weeks=WEEKS, learning="reward", **PARAMS).run()


def other_cell(structure: str, kpi: str, learning: str) -> GTMModel:
    """A model of another cell holding a copy of the reference's accounts, week, ARR and series."""
    ref = reference()
    m = GTMModel(structure, kpi, seed=SEED, weeks=WEEKS, learning=learning, **PARAMS)
    m.accounts, m.week, m.arr_usd = copy.deepcopy(ref.accounts), ref.week, ref.arr_usd
    m.series = copy.deepcopy(ref.series)  # renewals record into it (its per-pod arrays need 4 pods)
    return m


def reference_and(structure: str, kpi: str, learning: str) -> list[GTMModel]:
    """A copy of the reference in its own cell, and one in another cell, each with its own copy of the accounts."""
    return [other_cell("pod", "shared", "reward"), other_cell(structure, kpi, learning)]


def assert_same_columns(a: AccountPool, b: AccountPool, columns: tuple[str, ...]) -> None:
    for column in columns:
        np.testing.assert_array_equal(a.view(column), b.view(column), err_msg=column)


@pytest.mark.parametrize(("structure", "kpi", "learning"), OTHER_CELLS)
def test_churn_and_win_odds_read_the_account_not_the_cell(structure: str, kpi: str, learning: str) -> None:
    ref, m = reference(), other_cell(structure, kpi, learning)
    cust, opp = ref.accounts.where(State.CUSTOMER), ref.accounts.where(State.OPPORTUNITY)
    assert len(cust) > 100 and len(opp) > 10  # enough rows to compare (loose: any model change moves the counts)
    np.testing.assert_array_equal(customers.churn_probability(m, cust), customers.churn_probability(ref, cust))
    np.testing.assert_array_equal(AE.win_logit(m, opp), AE.win_logit(ref, opp))


@pytest.mark.parametrize(("structure", "kpi", "learning"), OTHER_CELLS)
def test_a_renewal_reads_the_account_not_the_cell(structure: str, kpi: str, learning: str) -> None:
    """Every customer renews this week in both models: the same churn, the same prices after (expansion,
    contraction and the save's concession), the same renewal counts and dates."""
    cells = reference_and(structure, kpi, learning)
    for m in cells:
        cust = m.accounts.where(State.CUSTOMER)
        m.accounts.renewal_week[cust] = float(m.week)
        customers.renewals(m)
    a, b = (m.accounts for m in cells)
    assert (a.view("state") == State.CHURNED).sum() > (reference().accounts.view("state") == State.CHURNED).sum()
    assert_same_columns(a, b, ("state", "mrr_usd", "renewals", "renewal_week", "churned_week", "save_hours"))
    assert cells[0].arr_usd == cells[1].arr_usd


@pytest.mark.parametrize(("structure", "kpi", "learning"), OTHER_CELLS)
def test_a_week_of_csm_work_reads_the_books_not_the_cell(structure: str, kpi: str, learning: str) -> None:
    """The reference's CSMs work the reference's books for a week inside each model: the same adoption
    (value realised), relationships and renewal-save hours. The roster is the wiring (who owns which
    customer, with what hours and policy), so it moves with the accounts."""
    cells = reference_and(structure, kpi, learning)
    for m in cells:
        m.csms = reference().csms
        CSM.work_books(m)
    a, b = (m.accounts for m in cells)
    assert not np.array_equal(a.view("value_realised"), reference().accounts.view("value_realised"))
    assert_same_columns(a, b, ("value_realised", "relationship", "save_hours"))


#: the organisation wired at set-up and this week's help, which the campaigns and the funnel's queue work read
WIRING = (
    "marketers", "sdrs", "aes", "csms", "info_sharing", "handoff_keep", "handoff_delay", "world_key",
    "help_capacity", "ae_help_slots", "ae_trouble", "help_carried_opportunities",
)  # fmt: skip


def wire_like_reference(m: GTMModel) -> None:
    """Give ``m`` the reference's organisation and this week's help (``WIRING``)."""
    for name in WIRING:
        setattr(m, name, getattr(reference(), name))


#: what SDR and AE queue work, closing and onboarding write
QUEUE_COLUMNS = (
    "state", "sdr", "ae", "csm", "intent", "sql_week", "opp_end_week", "discount", "expectation",
    "contract_weeks", "multi_year", "mrr_usd", "context", "acquired_week", "ready_week",
)  # fmt: skip


def requeue_last_quarters_leads(m: GTMModel) -> None:
    """Put the leads SDRs decided on in the last 13 weeks (and did not see become opportunities) back in
    the queue, ready now: some 1,500 SDR decisions to compare instead of a week's ~150."""
    acc = m.accounts
    state = acc.view("state")
    again = np.flatnonzero(
        (acc.view("touch_week") >= m.week - 13) & np.isin(state, [State.DISQUALIFIED, State.SQL, State.EXPIRED])
    )
    acc.state[again], acc.ready_week[again], acc.sdr[again] = State.LEAD, float(m.week), -1
    acc.sql_week[again] = acc.touch_week[again] = np.nan
    acc.context[again] = m.handoff_keep  # as handed by marketing
    acc.intent[again] = acc.intent_created[again]
    assert len(again) > 1000


@pytest.mark.parametrize(("structure", "kpi", "learning"), OTHER_CELLS)
def test_a_week_of_queue_work_reads_the_queues_not_the_cell(structure: str, kpi: str, learning: str) -> None:
    """The reference's organisation (its rosters, hand-off wiring and this week's help) works a week of
    the reference's SDR and AE queues (this week's new MQLs and the last quarter's leads again) inside
    each model, then closes and onboards the week's deals: every account column ends the same, bit for bit."""
    cells = reference_and(structure, kpi, learning)
    Marketer.run_campaigns(cells[0])  # this week's MQLs, created once (the marketers read pod-level feedback)
    requeue_last_quarters_leads(cells[0])
    cells[1].accounts = copy.deepcopy(cells[0].accounts)
    for m in cells:
        wire_like_reference(m)
        m._sdrs_work()
        m._aes_work()
        m._close_deals()
    a, b = (m.accounts for m in cells)
    assert not np.array_equal(a.view("state"), reference().accounts.view("state"))
    assert_same_columns(a, b, QUEUE_COLUMNS)


#: what a week of campaigns writes into the rows it adds
CAMPAIGN_COLUMNS = (
    "key", "state", "fit", "intent", "intent_created", "theta", "segment", "pod", "marketer",
    "created_week", "ready_week", "context", "junk",
)  # fmt: skip


@pytest.mark.parametrize(("structure", "kpi", "learning"), OTHER_CELLS)
def test_a_week_of_campaigns_reads_the_market_and_the_wiring_not_the_cell(
    structure: str, kpi: str, learning: str
) -> None:
    """The reference's marketers (their reach, targeting policy and pods) run a week of campaigns on the
    same week of the market inside each model, reading the reference's CS feedback per pod (M11, in the
    copied series): the same MQLs and the same counts of MQLs and reached prospects (which programme
    spend and the staffing plan read), bit for bit. Both models read the same week of the seed's market
    (the same stored chunk: every model of one seed and market shares it). A channel from the structure,
    the pod count, the KPI or the learning mode into targeting, junk leads, the hand-off fields or the
    counts fails here."""
    cells = reference_and(structure, kpi, learning)
    before = cells[0].accounts.n
    for m in cells:
        wire_like_reference(m)
        m.tally.clear()
        Marketer.run_campaigns(m)
    a, b = (m.accounts for m in cells)
    assert a.n - before > 100  # a week's MQLs to compare
    assert a.n == b.n
    assert_same_columns(a, b, CAMPAIGN_COLUMNS)
    assert cells[0].tally == cells[1].tally
    assert cells[0].tally["reached"] > cells[0].tally["mqls"] > 100


@pytest.mark.parametrize(("structure", "kpi", "learning"), OTHER_CELLS)
def test_the_market_reads_the_seed_not_the_cell(structure: str, kpi: str, learning: str) -> None:
    """Each model's own market streams, drawn privately (no per-process store), give every cell the same
    prospects: a channel from the structure, the pod count, the KPI or the learning mode into the
    market's draws fails here. (The store would hide one: every model of a seed reads the chunks the
    first one drew, which is also why the structural null test cannot see such a channel.)"""
    from alignsim.model import market

    def private_weeks(m: GTMModel) -> list[market.Prospects]:
        stream = market.MarketStream([market._copy(rng) for rng in m.market.rngs], m.p, share=None)
        return [stream.week(week, 2.5) for week in range(0, 30, 3)]  # three blocks, across chunk boundaries

    ref = private_weeks(GTMModel("pod", "shared", seed=SEED, weeks=WEEKS, learning="reward", **PARAMS))
    other = private_weeks(GTMModel(structure, kpi, seed=SEED, weeks=WEEKS, learning=learning, n_pods=1))
    assert sum(len(week.key) for week in ref) > 1000
    for a, b in zip(ref, other, strict=True):
        for column, values in vars(a).items():
            np.testing.assert_array_equal(values, getattr(b, column), err_msg=column)
