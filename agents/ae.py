"""The account executive: runs opportunities over the sales cycle, sets terms and closes (M4, M7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

from alignsim.agents.base import StaffAgent
from alignsim.model import draws
from alignsim.model.draws import Event
from alignsim.model.market import segment_values
from alignsim.model.pools import State
from alignsim.model.queues import order_queue
from alignsim.model.rewards import touched

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

AE_FIT_NOISE_SD = 0.3  # s.d. of an AE's fit read with no context (assumed)
OVERPROMISE_EXPECTATION = 0.6  # expectation above 1 when fully dishonest (assumed)
CYCLE_JITTER = (0.7, 1.3)  # an opportunity's cycle is the segment's x uniform(0.7, 1.3) (assumed)
HELP_ROUNDING = 2048  # WORK_ROUNDING counter offset of the lent AE slots (the SDR queue's teams use 0..2047)


class AE(StaffAgent):
    """Runs opportunities over the sales cycle and closes (M4).

    Decision variables:
        qualify_out_threshold: lowest perceived fit worth a sales cycle.
        discount: share off list price offered.
        multi_year_push: probability of pushing a multi-year term.
        honesty: 1 = sets accurate expectations; lower over-promises.
        help_share: share of capacity lent to a swamped SDR queue (M8).
    """

    role = "ae"
    POLICY = {
        "qualify_out_threshold": (0.25, 0.0, 1.0),
        "discount": (0.1, 0.0, 0.4),
        "multi_year_push": (0.2, 0.0, 1.0),
        "honesty": (0.8, 0.0, 1.0),
        "help_share": (0.05, 0.0, 0.5),
    }
    SILOED_KPI = "bookings with multi-year kicker (vanity) or net new ARR"
    CAPACITY_PARAM = "ae_opportunity_slots"
    CAPACITY_UNIT = "concurrent opportunities"

    @classmethod
    def free_slots(cls, model: GTMModel) -> np.ndarray:
        """Opportunity slots each AE has free this week (capacity not lent out, less open opportunities)."""
        acc, staff = model.accounts, model.aes
        owner = acc.ae[acc.where(State.OPPORTUNITY)]
        busy = np.bincount(owner[owner >= 0], minlength=staff.n)  # -1: carried by lent help (M8)
        return np.maximum(np.floor(staff.capacity * (1.0 - staff.lending)) - busy, 0).astype(np.int64)

    @classmethod
    def work_queue(cls, model: GTMModel, team: int, queue: np.ndarray, free: np.ndarray) -> None:
        """M4, M7: the AEs of ``team`` take SQLs in ``ae_queue_order`` into their free slots, round robin.

        Args:
            model: the model.
            team: team index (see :class:`alignsim.agents.base.Roster`).
            queue: rows of the team's SQLs ready to be worked this week.
            free: free opportunity slots of every AE (see :meth:`free_slots`).
        """
        acc = model.accounts
        members = model.aes.teams[team]
        queue = order_queue(queue, acc.ready_week[queue], model.p["ae_queue_order"], model.week)
        owners = np.repeat(members, free[members])
        rank = np.arange(len(owners)) - np.repeat(np.cumsum(free[members]) - free[members], free[members])
        owners = owners[np.lexsort((owners, rank))]  # round robin over AEs with free slots
        n = min(len(queue), len(owners))
        cls._discover(model, queue[:n], owners[:n])

    @classmethod
    def help_work_queue(cls, model: GTMModel, team: int, queue: np.ndarray, carried: int) -> None:
        """M8: SQLs the team's AEs could not take go to the opportunity slots lent by its SDRs and CSMs.

        Such an opportunity has no AE owner (-1, like a lead worked by help): it runs on the team's mean
        AE policy, credits no AE's siloed bookings and no helper's siloed KPI, and counts in the team's
        shared value like any other. Lent slots already carrying a helped opportunity (``carried``, see
        :func:`alignsim.model.team_help.carried_opportunities`) are not free.
        """
        acc = model.accounts
        # stochastic rounding of the fractional lent slots, as the SDR queue rounds its work (no slot lost to a floor)
        rounding = draws.uniform_one(model.world_key, Event.WORK_ROUNDING, model.week * 4096 + HELP_ROUNDING + team)
        free = int(model.ae_help_slots[team] + rounding) - carried
        if free <= 0 or len(queue) == 0:
            return
        queue = order_queue(queue, acc.ready_week[queue], model.p["ae_queue_order"], model.week)[:free]
        model.tally["helped_opportunities"] += len(queue)
        cls._discover(model, queue, np.full(len(queue), -1, dtype=np.int64), team)

    @classmethod
    def _discover(cls, model: GTMModel, work: np.ndarray, owner: np.ndarray, team: int = -1) -> None:
        """Discovery call: qualify out on a fit read, then set the terms of the opportunities kept (M4, M5).

        ``owner`` -1 is lent help (M8): it works at the mean policy of ``team``'s AEs.
        """
        p, acc, staff = model.p, model.accounts, model.aes
        members = staff.teams[team] if team >= 0 else None

        def policy(name: str, who: np.ndarray) -> np.ndarray:
            values = staff.policy(name)
            if members is None:
                return values[who]
            return np.where(who >= 0, values[np.maximum(who, 0)], values[members].mean())

        touch = np.maximum(acc.ready_week[work], model.week)
        acc.intent[work] *= np.exp(-p["lead_decay_per_week"] * (touch - acc.sql_week[work]))
        noise_sd = AE_FIT_NOISE_SD * (1.0 - 0.7 * acc.context[work])
        # the deal's later luck (cycle length, multi-year push) drawn with the fit read: one pass over the keys
        u = draws.uniform_events(acc.key[work], (Event.AE_FIT_NOISE, Event.CYCLE, Event.MULTI_YEAR))
        fit_read = acc.fit[work] + draws.normal_of(u[:, 0]) * noise_sd
        accept = fit_read >= policy("qualify_out_threshold", owner)
        acc.ae[work] = owner
        acc.opp_start_week[work] = touch
        acc.state[work] = np.where(accept, int(State.OPPORTUNITY), int(State.LOST))  # int: an IntEnum is slower
        model.tally["qualified_out"] += int(len(accept) - np.count_nonzero(accept))
        opp, owner = work[accept], owner[accept]
        cycle = segment_values(p, "cycle")[acc.segment[opp]] * p["sales_cycle_scale"]
        low, high = CYCLE_JITTER
        jitter = low + (high - low) * u[accept, 1]
        acc.opp_end_week[opp] = touch[accept] + cycle * jitter
        pushed = u[accept, 2] < policy("multi_year_push", owner)
        multi = p["allow_multi_year"] & pushed
        acc.multi_year[opp] = multi
        acc.contract_weeks[opp] = np.where(multi, 2 * p["contract_weeks"], p["contract_weeks"])
        acc.discount[opp] = policy("discount", owner)
        over = p["overpromise_effect"] * OVERPROMISE_EXPECTATION * (1.0 - policy("honesty", owner))
        acc.expectation[opp] = 1.0 + over
        acc.list_acv_usd[opp] = segment_values(p, "acv")[acc.segment[opp]]

    @staticmethod
    def win_logit(model: GTMModel, rows: np.ndarray) -> np.ndarray:
        """Log-odds that an opportunity is won (assumed functional form, calibrated intercept)."""
        p, acc = model.p, model.accounts
        return (
            p["win_base_logit"]
            + 3.0 * AE.intent_at_close(model, rows)
            + 1.5 * (acc.fit[rows] - 0.5)
            + 4.0 * p["discount_effect"] * acc.discount[rows]
            + 2.0 * (acc.expectation[rows] - 1.0)
            - 0.5 * acc.multi_year[rows]
            + 0.5 * (acc.context[rows] - 0.5)
        )

    @staticmethod
    def intent_at_close(model: GTMModel, rows: np.ndarray) -> np.ndarray:
        """The buying intent the win odds read: the intent left after the lead's waits (M7), or with
        ``intent_decay_at_close`` < 1 only that share of its loss (in log terms) counted.

        The decay's source (Oldroyd et al. 2011) measures how contact and qualification odds fall with
        the wait, not close rates; at 0 a wait lowers the SDR's read and the meeting odds only.
        """
        acc, share = model.accounts, model.p["intent_decay_at_close"]
        if share == 1.0:
            return acc.intent[rows]
        created = acc.intent_created[rows]
        return created * (acc.intent[rows] / created) ** share

    @classmethod
    def close_due(cls, model: GTMModel) -> np.ndarray:
        """Close every opportunity whose cycle ends this week; return the rows won."""
        acc = model.accounts
        opp = acc.where(State.OPPORTUNITY)
        due = opp[acc.opp_end_week[opp] < model.week + 1]
        won = draws.uniform(acc.key[due], Event.WIN) < expit(cls.win_logit(model, due))
        acc.state[due[~won]] = State.LOST
        model.tally["opps_closed"] += len(due)
        return due[won]

    @classmethod
    def siloed_kpi(cls, model: GTMModel, start: int, end: int) -> np.ndarray:
        """New ARR of the deals each AE opened in [start, end) and won; vanity bookings add a multi-year kicker."""
        acc = model.accounts
        rows, owner = touched(model, "ae", "opp_start_week", start, end)
        won = np.isfinite(acc.acquired_week[rows])
        rows, owner = rows[won], owner[won]
        arr = 12.0 * acc.initial_mrr_usd[rows]
        if model.p["vanity_kpis"]:
            extra_years = acc.contract_weeks[rows] / model.p["contract_weeks"] - 1
            arr = arr * (1.0 + model.p["multiyear_booking_credit"] * extra_years)
        return np.bincount(owner, arr, model.aes.n)

    @classmethod
    def siloed_delay_weeks(cls, model: GTMModel) -> int:
        """AEs are paid on closed deals: those opened in a trial have all closed by the longest cycle."""
        longest = segment_values(model.p, "cycle").max() * model.p["sales_cycle_scale"] * CYCLE_JITTER[1]
        return int(np.ceil(longest))
