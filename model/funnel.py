"""Acquisition: marketing -> SDR qualification -> AE selling, vectorised over all staff.

Each stage takes the rows in its state, groups them by the team that owns the queue
(the whole company in the assembly line, one pod otherwise), hands them to the staff in
FIFO order, and applies each row's owner's decision variables through an owner column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

from alignsim.model.customers import onboard
from alignsim.model.market import draw_week, segment_values
from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

GOLDEN = 0.6180339887498949  # spreads queue positions evenly over staff (Weyl sequence)
JUNK_INTENT = 0.02  # buying intent of an engagement-only MQL (M2)
SDR_INTENT_WEIGHT = 0.6  # BANT score = 0.6 intent + 0.4 fit (assumed)
AE_FIT_NOISE_SD = 0.3  # s.d. of an AE's fit read with no context (assumed)
OVERPROMISE_EXPECTATION = 0.6  # expectation above 1 when fully dishonest (assumed)
MEETING_ACCEPT_PER_INTENT = 1.5  # P(prospect takes the meeting) = min(1, 1.5 x intent) (assumed)


def marketing(m: GTMModel) -> None:
    """M1, M2, M11: marketers turn reached prospects into MQLs.

    Targeting (M1, seeds 000 and 003): a marketer keeps the share of its prospects with
    the best fit signal; broader targeting keeps more (volume) of worse fit. The fit
    signal is noisy; renewal outcomes fed back from CS sharpen it (M11, seeds 002 and
    004). Broad campaigns also pull in engagement-only MQLs with no buying intent when
    marketing and sales define a qualified lead differently (M2, seed 003).
    """
    p, acc = m.p, m.accounts
    pr = draw_week(m.market_rng, p, m.n_staff["marketer"])
    breadth = m.policy("marketer", "breadth")
    keep = p["keep_share_narrow"] + (p["keep_share_broad"] - p["keep_share_narrow"]) * breadth
    keep = keep * (1.0 - m.lending["marketer"])
    signal = pr.fit + m.targeting_noise_sd()[pr.marketer] * pr.signal_noise
    order = np.lexsort((-signal, pr.marketer))
    counts = np.bincount(pr.marketer, minlength=len(keep))
    rank = np.arange(len(order)) - (np.cumsum(counts) - counts)[pr.marketer[order]]
    kept = np.sort(order[rank < np.floor(keep * counts + 0.5)[pr.marketer[order]]])
    owner = pr.marketer[kept]
    junk = pr.junk_draw[kept] < p["mql_definition_gap"] * breadth[owner]
    created = m.week + pr.arrival[kept]
    acc.add(
        len(kept), state=State.LEAD, fit=pr.fit[kept], intent=np.where(junk, JUNK_INTENT, pr.intent[kept]),
        theta=pr.theta[kept], segment=pr.segment[kept], pod=m.pod_of["marketer"][owner], marketer=owner,
        created_week=created, ready_week=created + m.handoff_delay, context=m.handoff_keep, junk=junk,
        revenue_usd=0.0,
    )
    m.tally["mqls"] += len(kept)


def _expire_unworked(m: GTMModel, idx: np.ndarray, state: State) -> None:
    """Rows of ``idx`` still waiting in ``state`` at the week's end expire once they have
    waited in the queue (since ready: routing delay does not count) over ``lead_expiry_weeks``."""
    acc = m.accounts
    waiting = idx[acc.state[idx] == int(state)]
    late = (m.week + 1) - acc.ready_week[waiting] > m.p["lead_expiry_weeks"]
    acc.state[waiting[late]] = State.EXPIRED


def qualification(m: GTMModel) -> None:
    """M3, M7, M8: SDRs work the MQL queue newest-first and pass leads whose BANT read clears their threshold.

    M3 (seed 003): the threshold is each SDR's own decision variable. M7 (seed 003;
    Oldroyd et al. HBR 2011): intent decays with the wait before first touch, and a pod's
    SDRs cannot work another pod's queue. M8 (seeds 000, 003): capacity lent by other
    teams works the queue at ``help_efficiency`` and the team's mean threshold.
    """
    p, acc = m.p, m.accounts
    idx = acc.where(State.LEAD)
    idx = idx[acc.ready_week[idx] < m.week + 1]
    sdr_capacity = m.capacity["sdr"]
    threshold = m.policy("sdr", "qualification_threshold") * p["sdr_threshold_effect"]
    for group, members in enumerate(m.members["sdr"]):
        queue = idx[m.group_of_pod[acc.pod[idx]] == group]
        if len(queue) == 0:
            continue
        # newest first: SDR teams work fresh inbound before it cools (speed to lead); under
        # overload the oldest leads expire instead of every lead going cold in a FIFO line
        queue = queue[np.argsort(-acc.ready_week[queue], kind="stable")]
        caps = np.append(sdr_capacity[members], m.help_capacity[group])
        thresholds = np.append(threshold[members], threshold[members].mean())
        owners = np.append(members, -1)
        total = caps.sum()
        n = min(len(queue), int(total + m.process_rng.random()))
        work, position = queue[:n], np.arange(n)
        slot = np.searchsorted(np.cumsum(caps) / total, (position * GOLDEN) % 1.0, side="right")
        touch = np.maximum(acc.ready_week[work], m.week + position / total)
        _qualify(m, work, touch, owners[slot], thresholds[slot])
    _expire_unworked(m, idx, State.LEAD)


def _qualify(m: GTMModel, work: np.ndarray, touch: np.ndarray, owner: np.ndarray, threshold: np.ndarray) -> None:
    p, acc = m.p, m.accounts
    wait = touch - acc.created_week[work]
    acc.intent[work] *= np.exp(-p["lead_decay_per_week"] * wait)
    noise_sd = p["sdr_signal_noise_sd"] / (0.5 + 0.5 * acc.context[work])
    noise = m.process_rng.standard_normal((3, len(work)))
    noise[:2] *= noise_sd
    score = SDR_INTENT_WEIGHT * (acc.intent[work] + noise[0]) + (1 - SDR_INTENT_WEIGHT) * (acc.fit[work] + noise[1])
    # a meeting is booked only if the SDR pursues it and the prospect agrees to meet
    agrees = ndtr(noise[2]) < MEETING_ACCEPT_PER_INTENT * acc.intent[work]  # ndtr: normal -> uniform draw
    passed = agrees & ((score >= threshold) | (p["sdr_threshold_effect"] == 0.0))
    acc.touch_week[work] = touch
    acc.sdr[work] = owner
    acc.state[work] = np.where(passed, State.SQL, State.DISQUALIFIED)
    sql = work[passed]
    acc.sql_week[sql] = touch[passed]
    acc.ready_week[sql] = touch[passed] + m.handoff_delay
    acc.context[sql] *= m.handoff_keep
    m.tally["sqls"] += len(sql)
    m.tally["touched"] += len(work)
    m.tally["wait_weeks"] += float(wait.sum())


def selling(m: GTMModel) -> None:
    """M4, M7: AEs take SQLs into free opportunity slots, qualify out, set terms, and close.

    M4 (seeds 001, 003): discount, multi-year push and honesty are the AE's decision
    variables; discounts and over-promising raise the odds of winning, over-promising also
    raises what the customer expects (and so churn if value falls short).
    """
    acc = m.accounts
    idx = acc.where(State.SQL)
    idx = idx[acc.ready_week[idx] < m.week + 1]
    active = acc.where(State.OPPORTUNITY)
    busy = np.bincount(acc.ae[active], minlength=m.n_staff["ae"])
    free = np.maximum(np.floor(m.capacity["ae"] * (1.0 - m.lending["ae"])) - busy, 0).astype(np.int64)
    for group, members in enumerate(m.members["ae"]):
        queue = idx[m.group_of_pod[acc.pod[idx]] == group]
        if len(queue) == 0 or free[members].sum() == 0:
            continue
        queue = queue[np.argsort(acc.ready_week[queue], kind="stable")]
        owners = np.repeat(members, free[members])
        rank = np.arange(len(owners)) - np.repeat(np.cumsum(free[members]) - free[members], free[members])
        owners = owners[np.lexsort((owners, rank))]  # round robin over AEs with free slots
        n = min(len(queue), len(owners))
        _discover(m, queue[:n], owners[:n])
    _expire_unworked(m, idx, State.SQL)
    _close(m)


def _discover(m: GTMModel, work: np.ndarray, owner: np.ndarray) -> None:
    p, acc = m.p, m.accounts
    touch = np.maximum(acc.ready_week[work], m.week)
    acc.intent[work] *= np.exp(-p["lead_decay_per_week"] * (touch - acc.sql_week[work]))
    noise_sd = AE_FIT_NOISE_SD * (1.0 - 0.7 * acc.context[work])
    fit_read = acc.fit[work] + m.process_rng.standard_normal(len(work)) * noise_sd
    accept = fit_read >= m.policy("ae", "qualify_out_threshold")[owner]
    acc.ae[work] = owner
    acc.opp_start_week[work] = touch
    acc.state[work] = np.where(accept, State.OPPORTUNITY, State.LOST)
    opp, owner = work[accept], owner[accept]
    cycle = segment_values(p, "cycle")[acc.segment[opp]] * p["sales_cycle_scale"]
    acc.opp_end_week[opp] = touch[accept] + cycle * m.process_rng.uniform(0.7, 1.3, len(opp))
    multi = p["allow_multi_year"] & (m.process_rng.random(len(opp)) < m.policy("ae", "multi_year_push")[owner])
    acc.multi_year[opp] = multi
    acc.contract_weeks[opp] = np.where(multi, 2 * p["contract_weeks"], p["contract_weeks"])
    acc.discount[opp] = m.policy("ae", "discount")[owner]
    over = p["overpromise_effect"] * OVERPROMISE_EXPECTATION * (1.0 - m.policy("ae", "honesty")[owner])
    acc.expectation[opp] = 1.0 + over
    acc.list_acv_usd[opp] = segment_values(p, "acv")[acc.segment[opp]]


def win_logit(m: GTMModel, rows: np.ndarray) -> np.ndarray:
    """Log-odds that an opportunity is won (assumed functional form, calibrated intercept)."""
    p, acc = m.p, m.accounts
    return (
        p["win_base_logit"] + 3.0 * acc.intent[rows] + 1.5 * (acc.fit[rows] - 0.5)
        + 4.0 * p["discount_effect"] * acc.discount[rows] + 2.0 * (acc.expectation[rows] - 1.0)
        - 0.5 * acc.multi_year[rows] + 0.5 * (acc.context[rows] - 0.5)
    )


def _close(m: GTMModel) -> None:
    acc = m.accounts
    opp = acc.where(State.OPPORTUNITY)
    due = opp[acc.opp_end_week[opp] < m.week + 1]
    won = m.process_rng.random(len(due)) < 1.0 / (1.0 + np.exp(-win_logit(m, due)))
    acc.state[due[~won]] = State.LOST
    m.tally["opps_closed"] += len(due)
    onboard(m, due[won])
