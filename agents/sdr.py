"""The SDR: works the MQL queue and books meetings (SQLs) by a BANT read (M3, M7, M8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.agents.base import StaffAgent
from alignsim.model import draws
from alignsim.model.compiled import kernel, pairwise_sum
from alignsim.model.draws import Event, uniform_words
from alignsim.model.pools import State
from alignsim.model.queues import GOLDEN, order_queue
from alignsim.model.rewards import passed_on_count

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

SDR_INTENT_WEIGHT = 0.6  # BANT score = 0.6 intent + 0.4 fit (assumed)
MEETING_ACCEPT_PER_INTENT = 1.5  # P(prospect takes the meeting) = min(1, 1.5 x intent) (assumed)
FIT_WEIGHT = 1 - SDR_INTENT_WEIGHT
SQL, DISQUALIFIED = int(State.SQL), int(State.DISQUALIFIED)


class SDR(StaffAgent):
    """Works the MQL queue and books meetings (SQLs) by a BANT read (M3).

    Decision variables:
        qualification_threshold: lowest BANT score passed to an AE.
        help_share: share of the week lent to a swamped AE queue (first calls, discovery; M8).
    """

    role = "sdr"
    POLICY = {"qualification_threshold": (0.45, 0.0, 1.0), "help_share": (0.05, 0.0, 0.5)}
    SILOED_KPI = "meetings booked = SQLs (vanity) or SQLs accepted by an AE"
    CAPACITY_PARAM = "sdr_leads_per_week"
    CAPACITY_UNIT = "leads per week"

    @classmethod
    def work_queue(cls, model: GTMModel, team: int, queue: np.ndarray) -> None:
        """M3, M7, M8: the SDRs of ``team`` work its MQL queue and pass the leads that clear their bar.

        The queue is worked in the order ``sdr_queue_order`` (:func:`alignsim.model.queues.order_queue`):
        this week's arrivals as they come in, then the backlog newest first by default (speed to lead),
        so under overload the oldest leads expire instead of every lead going cold in a FIFO line.

        M3 (seed 003): the threshold is each SDR's own decision variable. M7 (seed 003;
        Oldroyd et al. HBR 2011): intent decays with the wait before first touch, and a pod's
        SDRs cannot work another pod's queue. M8 (seeds 000, 003): capacity lent by other
        teams works the queue at ``help_efficiency`` and the team's mean threshold.

        Args:
            model: the model.
            team: team index (see :class:`alignsim.agents.base.Roster`).
            queue: rows of the team's leads that are ready to be worked this week.
        """
        p, acc, staff = model.p, model.accounts, model.sdrs
        members = staff.teams[team]
        queue = order_queue(queue, acc.ready_week[queue], p["sdr_queue_order"], model.week)
        threshold = staff.policy("qualification_threshold") * p["sdr_threshold_effect"]
        rounding = draws.uniform_one(model.world_key, Event.WORK_ROUNDING, model.week * 4096 + team)
        work, touch, owner, bar = _plan_touches(
            queue, acc.ready_week, members, staff.capacity, staff.lending, threshold,
            float(model.help_capacity[team]), rounding, model.week,
        )  # fmt: skip
        cls._qualify(model, work, touch, owner, bar)

    @classmethod
    def _qualify(
        cls, model: GTMModel, work: np.ndarray, touch: np.ndarray, owner: np.ndarray, threshold: np.ndarray
    ) -> None:
        """The SDRs' BANT read of the leads ``work`` touched at ``touch``: meetings booked become SQLs (M3, M7)."""
        p, acc = model.p, model.accounts
        salts = draws.event_salts((Event.SDR_INTENT_NOISE, Event.SDR_FIT_NOISE, Event.MEETING))
        wait, decay_exponent, u = _wait_and_luck(
            work, touch, acc.created_week, acc.key, salts, p["lead_decay_per_week"]
        )
        # the transcendental functions stay numpy's (a compiled exp rounds differently: results would move)
        decay = np.exp(decay_exponent)
        noise = draws.normal_of(u[:, :2])
        sqls = _book_meetings(
            work, touch, owner, threshold, decay, noise, u[:, 2], acc.intent, acc.fit, acc.context, acc.touch_week,
            acc.sdr, acc.state, acc.sql_week, acc.ready_week, p["sdr_signal_noise_sd"], p["sdr_threshold_effect"],
            float(model.handoff_delay), model.handoff_keep,
        )  # fmt: skip
        model.tally["sqls"] += sqls
        model.tally["touched"] += len(work)
        model.tally["wait_weeks"] += float(wait.sum())

    @classmethod
    def siloed_kpi(cls, model: GTMModel, start: int, end: int) -> np.ndarray:
        """SQLs each SDR booked in [start, end).

        Without vanity KPIs (M13) only those an AE accepted at discovery by the time the trial is paid.
        """
        return passed_on_count(model, "sdr", "sql_week", "opp_end_week", start, end, model.sdrs.n)


@kernel
def _plan_touches(queue, ready_week, members, capacity, lending, threshold, help_capacity, rounding, week):  # noqa: ANN001, ANN202
    """Which leads of the ordered ``queue`` the team touches this week, when, by whom and at what bar (M3, M8).

    The team's capacity (its SDRs' own, less what they lend, plus the help lent to it, which works at
    the team's mean threshold) is rounded stochastically to whole leads; the leads are spread over the
    workers in proportion to capacity by a Weyl sequence, and lead ``i`` is touched ``i / capacity``
    into the week (not before it is ready).

    Returns:
        (rows touched, touch week, owner (-1: lent help), threshold each is read against).
    """
    k = members.shape[0]
    caps = np.empty(k + 1)
    bars = np.empty(k + 1)
    owners = np.empty(k + 1, dtype=np.int64)
    for j in range(k):
        caps[j] = capacity[members[j]] * (1.0 - lending[members[j]])
        bars[j] = threshold[members[j]]
        owners[j] = members[j]
    caps[k] = help_capacity
    bars[k] = pairwise_sum(bars[:k]) / k
    owners[k] = -1
    total = pairwise_sum(caps)
    n = min(queue.shape[0], int(total + rounding))
    edges = np.cumsum(caps) / total
    work = queue[:n].copy()
    touch = np.empty(n)
    owner = np.empty(n, dtype=np.int64)
    bar = np.empty(n)
    for i in range(n):
        # min: the last edge may round below 1 (numpy would have raised IndexError; a kernel must not read past)
        slot = min(np.searchsorted(edges, (i * GOLDEN) % 1.0, side="right"), k)
        owner[i] = owners[slot]
        bar[i] = bars[slot]
        at = week + i / total
        ready = ready_week[work[i]]
        touch[i] = at if at > ready else ready  # np.maximum: a NaN ready week stays NaN
    return work, touch, owner, bar


@kernel
def _wait_and_luck(work, touch, created_week, key, salts, decay_per_week):  # noqa: ANN001, ANN202
    """Each lead's wait before first touch, the exponent of its intent decay, and its three keyed uniforms."""
    n = work.shape[0]
    wait = np.empty(n)
    exponent = np.empty(n)
    rate = -decay_per_week
    for i in range(n):
        wait[i] = touch[i] - created_week[work[i]]
        exponent[i] = rate * wait[i]
    return wait, exponent, uniform_words(key[work], salts)


@kernel
def _book_meetings(  # noqa: ANN202, PLR0913
    work,
    touch,
    owner,
    threshold,
    decay,
    noise,
    meeting_u,
    intent,
    fit,
    context,
    touch_week,
    sdr,
    state,
    sql_week,
    ready_week,
    noise_sd,
    threshold_effect,
    handoff_delay,
    handoff_keep,
):  # noqa: ANN001
    """The BANT read and the meeting, in place on the account columns; returns the SQLs booked.

    Score = 0.6 intent read + 0.4 fit read, each read with noise that context reduces (M5); a meeting
    is booked if the score clears the SDR's bar and the prospect agrees (odds 1.5 x intent after the wait).
    """
    sqls = 0
    for i in range(work.shape[0]):
        row = work[i]
        intent[row] = intent[row] * decay[i]
        sd = noise_sd / (0.5 + 0.5 * context[row])
        score = SDR_INTENT_WEIGHT * (intent[row] + sd * noise[i, 0]) + FIT_WEIGHT * (fit[row] + sd * noise[i, 1])
        agrees = meeting_u[i] < MEETING_ACCEPT_PER_INTENT * intent[row]
        passed = agrees and (score >= threshold[i] or threshold_effect == 0.0)
        touch_week[row] = touch[i]
        sdr[row] = owner[i]
        state[row] = SQL if passed else DISQUALIFIED
        if passed:
            sql_week[row] = touch[i]
            ready_week[row] = touch[i] + handoff_delay
            context[row] = context[row] * handoff_keep
            sqls += 1
    return sqls
