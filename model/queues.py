"""Queues between stages: who is in a team's queue, and what expires while it waits (M7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.model.pools import State, rows_before

if TYPE_CHECKING:
    from alignsim.agents.base import Roster
    from alignsim.model.model import GTMModel

GOLDEN = 0.6180339887498949  # spreads queue positions evenly over staff (Weyl sequence)


def order_queue(rows: np.ndarray, ready_week: np.ndarray, order: str, week: int) -> np.ndarray:
    """``rows`` in the order a team works them this week.

    Both disciplines answer this week's arrivals in the order they arrive (a lead that waits for
    nobody is touched as it comes in). They differ in the backlog carried over from earlier weeks:

    - "newest_first" (speed to lead; Oldroyd et al., HBR 2011: a lead contacted within the hour is
      ~7x likelier to qualify): this week's arrivals first, then the backlog newest first, so under
      overload the oldest, coldest leads are the ones left to expire;
    - "oldest_first" (first in, first out): the backlog oldest first, then this week's arrivals.

    A stable sort keeps ties in pool order.

    Args:
        rows: pool rows in the queue.
        ready_week: when each became workable.
        order: "newest_first" or "oldest_first".
        week: the current week.
    """
    backlog = ready_week < week
    if order == "newest_first":
        within = np.where(backlog, -ready_week, ready_week)
        sequence = np.lexsort((within, backlog))  # arrivals (False) before backlog (True)
    else:
        sequence = np.argsort(ready_week, kind="stable")
    return rows[sequence]


def ready(m: GTMModel, state: State) -> np.ndarray:
    """Rows in ``state`` whose routing delay has passed by the end of this week."""
    acc = m.accounts
    rows = acc.where(state)
    return rows_before(rows, acc.ready_week, m.week + 1)


def team_queue(m: GTMModel, rows: np.ndarray, roster: Roster, team: int) -> np.ndarray:
    """The part of ``rows`` that belongs to ``team`` of ``roster`` (by the account's pod)."""
    return rows[roster.team_of_pod[m.accounts.pod[rows]] == team]


def expire_unworked(m: GTMModel, rows: np.ndarray, state: State) -> None:
    """Rows still waiting in ``state`` at the week's end expire once they have waited over ``lead_expiry_weeks``.

    The wait counts from ``ready_week`` (the routing delay does not count).
    """
    acc = m.accounts
    waiting = rows[acc.state[rows] == int(state)]
    late = (m.week + 1) - acc.ready_week[waiting] > m.p["lead_expiry_weeks"]
    acc.state[waiting[late]] = State.EXPIRED
    m.tally[f"{state.name.lower()}s_expired"] += int(late.sum())  # leads_expired, sqls_expired
