"""The customer success manager: onboards customers, answers tickets, drives adoption, renews (M1, M9, M14)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.agents.base import StaffAgent
from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

ONBOARDING_WEEKS = 13  # new customers get extra adoption attention this long (assumed)
ONBOARDING_WEIGHT = 4.0  # ... this many times the adoption hours of a settled customer
POTENTIAL_SLOPE = 1.2  # value potential = 1 + slope * (fit - 0.5) (assumed)
BALANCE_CELLS = 1 << 20  # largest (new customers x CSMs) load table dealt in one go (memory bound)
SAVE_WEIGHT = 4.0  # a customer up for renewal soon gets this many times the renewal hours of another (M14, assumed)


class CSM(StaffAgent):
    """Onboards, drives adoption, renews and expands customers (M9).

    Decision variables:
        adoption_share: share of non-ticket hours spent on adoption/onboarding
            (value realised); the rest goes to renewal/relationship/upsell work, first to the
            customers up for renewal soon (renewal saves, M14).
        help_share: share of the week lent to a swamped AE queue (technical validation, references; M8).
    """

    role = "csm"
    POLICY = {"adoption_share": (0.5, 0.05, 0.95), "help_share": (0.05, 0.0, 0.5)}
    SILOED_KPI = "reported logo retention, whole base (vanity) or retention of renewals due"
    CAPACITY_PARAM = "csm_hours_per_week"
    CAPACITY_UNIT = "hours per week"

    @classmethod
    def take_on(cls, model: GTMModel, rows: np.ndarray) -> None:
        """The AE -> CSM hand-off (M5): the week's new customers are dealt to the CSMs of their team.

        ``csm_assignment = "round_robin"``: round robin over the team's CSMs ordered by book size,
        smallest first (a week's few new customers go to the smallest books, counted in customers,
        whatever a CSM's ramp); ``"balance_load"``: each to the CSM with the fewest customers per hour
        of this week's capacity (:meth:`balanced_owners`; a hire in its first week gets none).
        """
        acc, staff = model.accounts, model.csms
        owners = acc.csm[acc.where(State.CUSTOMER)]
        book = np.bincount(owners[owners >= 0], minlength=staff.n)
        balance = model.p["csm_assignment"] == "balance_load"
        for team, members in enumerate(staff.teams):
            mine = rows[staff.team_of_pod[acc.pod[rows]] == team]
            if not len(mine):
                continue
            if balance:
                acc.csm[mine] = cls.balanced_owners(members, book[members], staff.capacity[members], len(mine))
            else:
                order = members[np.argsort(book[members], kind="stable")]
                acc.csm[mine] = order[np.arange(len(mine)) % len(order)]

    @staticmethod
    def balanced_owners(members: np.ndarray, book: np.ndarray, hours: np.ndarray, n: int) -> np.ndarray:
        """Owners of ``n`` new customers, each given in turn to the CSM whose book per hour would be lowest.

        Greedy water-filling, vectorised: CSM j's load after its t-th new customer is (book_j + t) / hours_j,
        rising in t, so the n smallest of all these loads are the n greedy choices (ties: lower index first).
        A CSM with no capacity this week gets none, unless no CSM of the team has any (then hours are
        ignored: the smallest books fill). Large batches go in chunks (greedy is sequential, so chunking
        gives the same choices) to keep the n x CSMs array small.

        Args:
            members: the CSMs' agent indices.
            book: customers each already has.
            hours: each one's capacity this week (ramping hires: less).
            n: new customers to deal.

        Returns:
            ``n`` owners (agent indices), grouped by CSM.
        """
        if not (hours > 0).any():
            hours = np.ones(len(members))
        book, counts = book.astype(float), np.zeros(len(members), dtype=np.int64)
        chunk = max(1, BALANCE_CELLS // len(members))
        for size in np.diff(np.r_[np.arange(0, n, chunk), n]):
            with np.errstate(divide="ignore"):
                load = (book[:, None] + np.arange(1, size + 1)[None, :]) / hours[:, None]
            got = np.bincount(np.argsort(load.ravel(), kind="stable")[:size] // size, minlength=len(members))
            book, counts = book + got, counts + got
        return np.repeat(members, counts)

    @classmethod
    def work_books(cls, model: GTMModel, cust: np.ndarray | None = None) -> None:
        """Every CSM answers its customers' tickets, then splits the hours left between adoption and relationship.

        One call for all CSMs (each works only its own book, through the ``csm`` owner column).
        M1 (seed 000): poor-fit customers open more tickets and can realise less value.
        M9 (seeds 001, 003): relationship work makes a customer happy while its champion
        stays (champion turnover itself is a customer process, :func:`alignsim.model.customers.champions`).
        ``cust``: the customer rows, ``where(State.CUSTOMER)``, if the caller has them.
        """
        p, acc, staff = model.p, model.accounts, model.csms
        if cust is None:
            cust = acc.where(State.CUSTOMER)
        owner = acc.csm[cust]
        fit_gap = p["fit_effect"] * (0.5 - acc.fit[cust])
        tickets = p["ticket_hours_per_customer_week"] * np.maximum(1.0 + 2.0 * fit_gap, 0.0)
        tickets *= 1.0 + acc.incident_damage[cust]
        free = np.maximum(staff.capacity * (1.0 - staff.lending) - np.bincount(owner, tickets, staff.n), 0.0)
        adoption = staff.policy("adoption_share")
        weight = np.where(model.week - acc.acquired_week[cust] < ONBOARDING_WEEKS, ONBOARDING_WEIGHT, 1.0)
        adoption_hours = (free * adoption)[owner] * weight / np.bincount(owner, weight, staff.n)[owner]
        relationship_hours = cls._renewal_hours(model, cust, owner, free * (1.0 - adoption))
        potential = 1.0 - POTENTIAL_SLOPE * fit_gap
        context_factor = 0.5 + 0.5 * acc.context[cust]
        rate = p["adoption_base_rate"] + p["adoption_rate_per_hour"] * adoption_hours * context_factor
        value = acc.value_realised[cust]
        acc.value_realised[cust] = value + np.minimum(rate, 1.0) * (potential - value)
        rel = acc.relationship[cust]
        gain = p["relationship_rate_per_hour"] * relationship_hours * (1.0 - rel)
        rel = rel + gain - p["relationship_decay_per_week"] * rel
        acc.relationship[cust] = np.clip(rel, 0.0, 1.0)

    @staticmethod
    def _renewal_hours(model: GTMModel, cust: np.ndarray, owner: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """Each CSM's renewal/relationship ``hours`` spread over its book, per customer.

        M14 (seeds 001, 003: CS paid on renewals): with renewal saves on, a customer whose renewal
        falls within ``save_window_weeks`` gets ``SAVE_WEIGHT`` times the hours of another, and they
        count toward its renewal save (:func:`alignsim.model.customers.save_fraction`). Off
        (``renewal_save_effect=0``), the hours are spread evenly and no save is made.
        """
        p, acc = model.p, model.accounts
        if p["renewal_save_effect"] == 0.0:
            return hours[owner] / np.bincount(owner, minlength=len(hours))[owner]
        window = acc.renewal_week[cust] - model.week < p["save_window_weeks"]
        weight = np.where(window, SAVE_WEIGHT, 1.0)
        per_customer = hours[owner] * weight / np.bincount(owner, weight, len(hours))[owner]
        up = cust[window]
        acc.save_hours[up] += per_customer[window]
        return per_customer

    @classmethod
    def siloed_kpi(cls, model: GTMModel, start: int, end: int) -> np.ndarray:
        """Retention of each CSM's book over [start, end).

        With vanity KPIs (M13) the reported number: churned over the whole book, which
        multi-year terms disguise (M10); without, over the customers up for renewal.
        """
        acc, snap, n = model.accounts, model.book_snapshots[start], model.csms.n
        rows, owner = snap["rows"], snap["owner"]
        churned = (acc.state[rows] == State.CHURNED) & (acc.churned_week[rows] < end)
        if model.p["vanity_kpis"]:  # reported retention: churned over the whole book (disguised)
            base = np.bincount(owner, minlength=n)
        else:  # retention of the customers who were up for renewal
            base = np.bincount(owner, churned | (acc.renewals[rows] > snap["renewals"]), n)
        lost = np.bincount(owner, churned, n)
        return 1.0 - np.divide(lost, base, out=np.zeros(n), where=base > 0)
