"""The account executive: runs opportunities over the sales cycle, sets terms and closes (M4, M7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

from alignsim.agents.base import StaffAgent
from alignsim.model import draws
from alignsim.model.compiled import kernel, pairwise_sum
from alignsim.model.draws import Event, uniform_words
from alignsim.model.market import segment_values
from alignsim.model.pools import State, rows_before
from alignsim.model.queues import order_queue
from alignsim.model.rewards import touched

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

AE_FIT_NOISE_SD = 0.3  # s.d. of an AE's fit read with no context (assumed)
OVERPROMISE_EXPECTATION = 0.6  # expectation above 1 when fully dishonest (assumed)
CYCLE_JITTER = (0.7, 1.3)  # an opportunity's cycle is the segment's x uniform(0.7, 1.3) (assumed)
LOST, OPPORTUNITY = int(State.LOST), int(State.OPPORTUNITY)
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
        owners = _round_robin(members, free)
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
        members = staff.teams[team] if team >= 0 else np.empty(0, dtype=np.int64)
        salts = draws.event_salts((Event.AE_FIT_NOISE, Event.CYCLE, Event.MULTI_YEAR))
        touch, exponent, u = _touch_and_luck(work, acc.ready_week, acc.sql_week, acc.key, salts, model.week,
                                             p["lead_decay_per_week"])  # fmt: skip
        # the deal's later luck (cycle length, multi-year push) is drawn with the fit read: one pass over the keys;
        # exp and the normal quantile stay numpy's and scipy's (compiled ones round differently)
        decay, fit_noise = np.exp(exponent), draws.normal_of(u[:, 0])
        terms = np.stack([staff.policy(name) for name in TERMS])
        qualified_out = _set_terms(
            work, owner, members, touch, decay, fit_noise, u, terms, acc.intent, acc.fit, acc.context, acc.segment,
            acc.ae, acc.opp_start_week, acc.state, acc.opp_end_week, acc.multi_year, acc.contract_weeks,
            acc.discount, acc.expectation, acc.list_acv_usd, segment_values(p, "cycle"), segment_values(p, "acv"),
            p["sales_cycle_scale"], bool(p["allow_multi_year"]), int(p["contract_weeks"]),
            p["overpromise_effect"] * OVERPROMISE_EXPECTATION,
        )  # fmt: skip
        model.tally["qualified_out"] += qualified_out

    @staticmethod
    def win_logit(model: GTMModel, rows: np.ndarray) -> np.ndarray:
        """Log-odds that an opportunity is won (assumed functional form, calibrated intercept)."""
        p, acc = model.p, model.accounts
        intent = acc.intent if p["intent_decay_at_close"] == 1.0 else _scatter(rows, AE.intent_at_close(model, rows))
        return _win_logit(
            rows, intent, acc.fit, acc.discount, acc.expectation, acc.multi_year, acc.context, p["win_base_logit"],
            4.0 * p["discount_effect"],
        )  # fmt: skip

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
        due = rows_before(opp, acc.opp_end_week, model.week + 1)
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


TERMS = ("qualify_out_threshold", "multi_year_push", "discount", "honesty")  # the rows of _set_terms' ``terms``


@kernel
def _round_robin(members, free):  # noqa: ANN001, ANN202
    """The free opportunity slots of ``members`` dealt round robin: every AE's first free slot, then every second..."""
    most = 0
    for m in members:
        most = max(most, free[m])
    owners = np.empty(free[members].sum(), dtype=np.int64)
    k = 0
    for rank in range(most):
        for m in members:  # ascending agent index, as a sort by (rank, owner) orders them
            if free[m] > rank:
                owners[k] = m
                k += 1
    return owners


@kernel
def _touch_and_luck(work, ready_week, sql_week, key, salts, week, decay_per_week):  # noqa: ANN001, ANN202
    """When each SQL is first worked, the exponent of its intent decay since the meeting, and its keyed uniforms."""
    n = work.shape[0]
    touch = np.empty(n)
    exponent = np.empty(n)
    rate = -decay_per_week
    for i in range(n):
        ready = ready_week[work[i]]
        touch[i] = week if week > ready else ready  # np.maximum: a NaN ready week stays NaN
        exponent[i] = rate * (touch[i] - sql_week[work[i]])
    return touch, exponent, uniform_words(key[work], salts)


@kernel
def _set_terms(  # noqa: ANN202, PLR0913
    work,
    owner,
    members,
    touch,
    decay,
    fit_noise,
    u,
    terms,
    intent,
    fit,
    context,
    segment,
    ae,
    opp_start_week,
    state,
    opp_end_week,
    multi_year,
    contract_weeks,
    discount,
    expectation,
    list_acv_usd,
    cycle_weeks,
    acv_usd,
    cycle_scale,
    allow_multi_year,
    term_weeks,
    overpromise,
):  # noqa: ANN001
    """Discovery on the SQLs ``work``: qualify out on a noisy fit read, set the terms of the rest (M4, M5).

    ``owner`` -1 is lent help (M8), working at the mean policy of the team's AEs ``members``; ``terms``
    holds every AE's policy, rows in the order of ``TERMS``. Returns the SQLs qualified out.
    """
    team_mean = np.empty(terms.shape[0])
    for t in range(terms.shape[0]):
        team_mean[t] = pairwise_sum(terms[t][members]) / members.shape[0] if members.shape[0] else np.nan
    low, high = CYCLE_JITTER
    qualified_out = 0
    for i in range(work.shape[0]):
        row, who = work[i], owner[i]
        intent[row] = intent[row] * decay[i]
        fit_read = fit[row] + fit_noise[i] * (AE_FIT_NOISE_SD * (1.0 - 0.7 * context[row]))
        if who >= 0:
            bar, push, off, honesty = terms[0, who], terms[1, who], terms[2, who], terms[3, who]
        else:
            bar, push, off, honesty = team_mean[0], team_mean[1], team_mean[2], team_mean[3]
        ae[row] = who
        opp_start_week[row] = touch[i]
        if not fit_read >= bar:
            state[row] = LOST
            qualified_out += 1
            continue
        state[row] = OPPORTUNITY
        cycle = cycle_weeks[segment[row]] * cycle_scale
        opp_end_week[row] = touch[i] + cycle * (low + (high - low) * u[i, 1])
        multi = allow_multi_year and u[i, 2] < push
        multi_year[row] = multi
        contract_weeks[row] = 2 * term_weeks if multi else term_weeks
        discount[row] = off
        expectation[row] = 1.0 + overpromise * (1.0 - honesty)
        list_acv_usd[row] = acv_usd[segment[row]]
    return qualified_out


@kernel
def _win_logit(rows, intent, fit, discount, expectation, multi_year, context, base, discount_weight):  # noqa: ANN001, ANN202
    """Log-odds of a win for ``rows`` (``intent`` is the intent the odds read, by row)."""
    out = np.empty(rows.shape[0])
    for i in range(rows.shape[0]):
        r = rows[i]
        out[i] = (
            base
            + 3.0 * intent[r]
            + 1.5 * (fit[r] - 0.5)
            + discount_weight * discount[r]
            + 2.0 * (expectation[r] - 1.0)
            - 0.5 * (1.0 if multi_year[r] else 0.0)
            + 0.5 * (context[r] - 0.5)
        )
    return out


def _scatter(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A column with ``values`` at ``rows`` (what :func:`_win_logit` reads by row)."""
    column = np.full(int(rows.max()) + 1 if len(rows) else 0, np.nan)
    column[rows] = values
    return column
