"""Queues between stages: who is in a team's queue, and what expires while it waits (M7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.agents.base import Roster
    from alignsim.model.model import GTMModel

GOLDEN = 0.6180339887498949  # spreads queue positions evenly over staff (Weyl sequence)


def ready(m: GTMModel, state: State) -> np.ndarray:
    """Rows in ``state`` whose routing delay has passed by the end of this week."""
    acc = m.accounts
    rows = acc.where(state)
    return rows[acc.ready_week[rows] < m.week + 1]


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
