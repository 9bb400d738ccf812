"""The SDR: works the MQL queue and books meetings (SQLs) by a BANT read (M3, M7, M8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.agents.base import StaffAgent
from alignsim.model import draws
from alignsim.model.draws import Event
from alignsim.model.pools import State
from alignsim.model.queues import GOLDEN, order_queue
from alignsim.model.rewards import passed_on_count

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

SDR_INTENT_WEIGHT = 0.6  # BANT score = 0.6 intent + 0.4 fit (assumed)
MEETING_ACCEPT_PER_INTENT = 1.5  # P(prospect takes the meeting) = min(1, 1.5 x intent) (assumed)


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
        caps = np.append(staff.capacity[members] * (1.0 - staff.lending[members]), model.help_capacity[team])
        thresholds = np.append(threshold[members], threshold[members].mean())
        owners = np.append(members, -1)
        total = caps.sum()
        rounding = draws.uniform_one(model.world_key, Event.WORK_ROUNDING, model.week * 4096 + team)
        n = min(len(queue), int(total + rounding))  # stochastic rounding of fractional capacity
        work, position = queue[:n], np.arange(n)
        slot = np.searchsorted(np.cumsum(caps) / total, (position * GOLDEN) % 1.0, side="right")
        touch = np.maximum(acc.ready_week[work], model.week + position / total)
        cls._qualify(model, work, touch, owners[slot], thresholds[slot])

    @classmethod
    def _qualify(
        cls, model: GTMModel, work: np.ndarray, touch: np.ndarray, owner: np.ndarray, threshold: np.ndarray
    ) -> None:
        p, acc = model.p, model.accounts
        wait = touch - acc.created_week[work]
        acc.intent[work] *= np.exp(-p["lead_decay_per_week"] * wait)
        noise_sd = p["sdr_signal_noise_sd"] / (0.5 + 0.5 * acc.context[work])
        u = draws.uniform_events(acc.key[work], (Event.SDR_INTENT_NOISE, Event.SDR_FIT_NOISE, Event.MEETING))
        intent_read = acc.intent[work] + noise_sd * draws.normal_of(u[:, 0])
        fit_read = acc.fit[work] + noise_sd * draws.normal_of(u[:, 1])
        score = SDR_INTENT_WEIGHT * intent_read + (1 - SDR_INTENT_WEIGHT) * fit_read
        # a meeting is booked only if the SDR pursues it and the prospect agrees to meet
        agrees = u[:, 2] < MEETING_ACCEPT_PER_INTENT * acc.intent[work]
        passed = agrees & ((score >= threshold) | (p["sdr_threshold_effect"] == 0.0))
        acc.touch_week[work] = touch
        acc.sdr[work] = owner
        acc.state[work] = np.where(passed, int(State.SQL), int(State.DISQUALIFIED))  # int: an IntEnum is slower
        sql = work[passed]
        acc.sql_week[sql] = touch[passed]
        acc.ready_week[sql] = touch[passed] + model.handoff_delay
        acc.context[sql] *= model.handoff_keep
        model.tally["sqls"] += len(sql)
        model.tally["touched"] += len(work)
        model.tally["wait_weeks"] += float(wait.sum())

    @classmethod
    def siloed_kpi(cls, model: GTMModel, start: int, end: int) -> np.ndarray:
        """SQLs each SDR booked in [start, end).

        Without vanity KPIs (M13) only those an AE accepted at discovery by the time the trial is paid.
        """
        return passed_on_count(model, "sdr", "sql_week", "opp_end_week", start, end, model.sdrs.n)
