"""Numpy-backed pool of accounts: every lead, opportunity and customer is one row.

A row moves through the funnel by changing its ``state``; no Python object exists per
account. Arrays grow by doubling, so appending a week's leads is amortised O(n).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from alignsim.model.compiled import kernel


class State(IntEnum):
    """Where an account is. Every row is in exactly one state."""

    LEAD = 0  # MQL waiting for (or being worked by) an SDR
    DISQUALIFIED = 1  # an SDR did not pass it
    EXPIRED = 2  # waited too long in a queue and went cold
    SQL = 3  # meeting booked, waiting for an AE slot
    OPPORTUNITY = 4  # an AE is running the sales cycle
    LOST = 5  # lost or qualified out by the AE
    CUSTOMER = 6  # paying, active contract
    CHURNED = 7  # did not renew


#: states a row never leaves
TERMINAL = np.array([State.DISQUALIFIED, State.EXPIRED, State.LOST, State.CHURNED])
#: LIVE[s] is False for the terminal states: one gather replaces ``np.isin`` in :meth:`AccountPool.compact`
LIVE = np.ones(len(State), dtype=bool)
LIVE[TERMINAL] = False

FLOAT_FIELDS = (
    # hidden truth (never seen directly by staff)
    "fit",
    "intent",
    "intent_created",  # the intent when the lead was created, before any wait (M7, intent_decay_at_close)
    "theta",
    # what the current owner knows of the account, 1 = everything (M5)
    "context",
    # funnel timestamps in weeks (fractional inside a week); NaN = not reached
    "created_week",
    "ready_week",
    "touch_week",
    "sql_week",
    "opp_start_week",
    "opp_end_week",
    "acquired_week",
    "churned_week",
    "renewal_week",
    # deal terms set by the AE
    "discount",
    "expectation",
    "list_acv_usd",
    "mrr_usd",
    "initial_mrr_usd",
    # customer state
    "value_realised",
    "relationship",
    "save_hours",  # renewal-save hours on the coming renewal (M14)
    "incident_damage",
    "revenue_usd",
    "champion_leaves_week",
)
INT_FIELDS = (
    "state",
    "segment",
    "pod",
    "marketer",
    "sdr",
    "ae",
    "csm",
    "contract_weeks",
    "renewals",
    "champions_lost",
)
BOOL_FIELDS = ("junk", "initial", "multi_year")
#: the account's key for its own later draws (common random numbers, model/draws.py)
KEY_FIELDS = ("key",)


class AccountPool:
    """Growable struct-of-arrays holding every account ever seen.

    Attributes:
        n: number of rows in use; arrays are valid on ``[:n]``.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.n = 0
        self._live = np.empty(0, dtype=np.int64)
        self._live_upto = 0
        # _live plus the rows added since compact(); valid while n == _candidates_n (only add() and
        # compact() change the set, and state changes do not: where() filters by state on each call)
        self._candidates_rows = self._live
        self._candidates_n = 0
        self._capacity = capacity
        for name in FLOAT_FIELDS:
            setattr(self, name, np.full(capacity, np.nan))
        for name in INT_FIELDS:
            setattr(self, name, np.full(capacity, -1, dtype=np.int64))
        for name in BOOL_FIELDS:
            setattr(self, name, np.zeros(capacity, dtype=bool))
        for name in KEY_FIELDS:
            setattr(self, name, np.zeros(capacity, dtype=np.uint64))

    def _grow(self, needed: int) -> None:
        new_capacity = self._capacity
        while new_capacity < needed:
            new_capacity *= 2
        for name in FLOAT_FIELDS + INT_FIELDS + BOOL_FIELDS + KEY_FIELDS:
            old = getattr(self, name)
            fill = np.nan if name in FLOAT_FIELDS else (-1 if name in INT_FIELDS else 0)
            new = np.full(new_capacity, fill, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._capacity = new_capacity

    def add(self, count: int, **columns: np.ndarray | float | int) -> np.ndarray:
        """Append ``count`` rows with the given column values; return their indices."""
        if self.n + count > self._capacity:
            self._grow(self.n + count)
        rows = np.arange(self.n, self.n + count)
        for name, values in columns.items():
            getattr(self, name)[rows] = values
        self.n += count
        return rows

    def where(self, state: State) -> np.ndarray:
        """Indices (ascending) of the rows currently in ``state``.

        Scans only the live rows (not terminal at the last :meth:`compact`) plus rows added
        since; terminal states are absorbing, so no row in ``state`` is missed.
        """
        return _rows_in_state(self._candidates(), self.state, int(state))  # int: an IntEnum is slower

    def count_live(self) -> np.ndarray:
        """Rows currently in each non-terminal state, indexed by :class:`State`, in one scan.

        ``count_live()[s] == len(where(s))`` for every live state ``s``. Terminal states read 0:
        rows that reached one before the last :meth:`compact` are not scanned, so their counts
        would be partial.
        """
        counts = np.bincount(self.state[self._candidates()], minlength=len(State))
        return counts * LIVE

    def _candidates(self) -> np.ndarray:
        """Rows that may be in a live state (ascending; callers must not modify the array)."""
        if self._candidates_n != self.n:  # rows were added since the last call or compact()
            self._candidates_rows = np.concatenate((self._live, np.arange(self._live_upto, self.n)))
            self._candidates_n = self.n
        return self._candidates_rows

    def compact(self) -> None:
        """Forget rows that reached a terminal state (call once a week; keeps :meth:`where` fast).

        Every row's state must be a :class:`State` value (as ``metrics.check_invariants`` asserts).
        """
        rows = self._candidates()
        self._live = rows[LIVE[self.state[rows]]]
        self._live_upto = self.n
        self._candidates_rows, self._candidates_n = self._live, self.n

    def view(self, name: str) -> np.ndarray:
        """The used part of column ``name``."""
        return getattr(self, name)[: self.n]


@kernel
def _rows_in_state(rows, state, wanted):  # noqa: ANN001, ANN202
    """The ``rows`` whose ``state`` is ``wanted``, in order (one pass; no temporary mask)."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    k = 0
    for r in rows:
        if state[r] == wanted:
            out[k] = r
            k += 1
    return out[:k].copy()


@kernel
def rows_before(rows, week_column, week):  # noqa: ANN001, ANN201
    """The ``rows`` whose ``week_column`` value is below ``week`` (``rows[column[rows] < week]``), in order."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    k = 0
    for r in rows:
        if week_column[r] < week:
            out[k] = r
            k += 1
    return out[:k].copy()
