"""The customer success manager: onboards customers, answers tickets, drives adoption, renews (M1, M9, M14)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.agents.base import StaffAgent
from alignsim.model.compiled import kernel
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
        _work_books(
            cust, acc.csm[cust], acc.fit, acc.incident_damage, acc.acquired_week, acc.context, acc.value_realised,
            acc.relationship, staff.capacity * (1.0 - staff.lending), staff.policy("adoption_share"), model.week,
            p["fit_effect"], p["ticket_hours_per_customer_week"], p["adoption_base_rate"],
            p["adoption_rate_per_hour"], p["relationship_rate_per_hour"], p["relationship_decay_per_week"],
            _save_terms(model),
        )  # fmt: skip

    @staticmethod
    def _renewal_hours(model: GTMModel, cust: np.ndarray, owner: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """Each CSM's renewal/relationship ``hours`` spread over its book, per customer (M14).

        See :func:`_spread_renewal_hours`.
        """
        return _spread_renewal_hours(cust, owner, hours, *_save_terms(model))

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


def _save_terms(model: GTMModel) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """What M14's renewal saves read: (renewal week and save hours columns, week, effect, window)."""
    p, acc = model.p, model.accounts
    return acc.renewal_week, acc.save_hours, model.week, float(p["renewal_save_effect"]), float(p["save_window_weeks"])


@kernel
def _work_books(
    cust, owner, fit, incident_damage, acquired_week, context, value_realised, relationship,
    hours_on_hand, adoption, week, fit_effect, ticket_hours, adoption_base_rate, adoption_rate_per_hour,
    relationship_rate_per_hour, relationship_decay, save_terms,
):  # fmt: skip
    """The week's CSM work on customer rows ``cust`` (owners ``owner``), in place on the account columns.

    Per customer: tickets ``ticket_hours * max(1 + 2 fit_gap, 0) * (1 + incident damage)``, fit_gap
    ``fit_effect * (0.5 - fit)`` (M1). Per CSM: hours free after its book's tickets, ``max(hours_on_hand -
    tickets, 0)``, split ``adoption`` / ``1 - adoption``. Adoption hours go to the book pro rata, a customer
    in its first ``ONBOARDING_WEEKS`` weighted ``ONBOARDING_WEIGHT``; value realised moves toward the
    potential ``1 - POTENTIAL_SLOPE * fit_gap`` at rate ``base + per_hour * hours * (0.5 + 0.5 context)``
    (at most 1). Relationship hours (:func:`_spread_renewal_hours`) raise the relationship by
    ``rate_per_hour * hours * (1 - rel)``, which decays by ``relationship_decay`` a week, within [0, 1] (M9).
    Sums run in row order, as ``np.bincount`` does, so the figures equal the numpy expressions bit for bit.
    """
    n, n_staff = len(cust), len(hours_on_hand)
    fit_gap = np.empty(n)
    weight = np.empty(n)
    tickets = np.zeros(n_staff)
    weights = np.zeros(n_staff)
    for i in range(n):
        c = cust[i]
        fit_gap[i] = fit_effect * (0.5 - fit[c])
        tickets[owner[i]] += ticket_hours * _at_least_zero(1.0 + 2.0 * fit_gap[i]) * (1.0 + incident_damage[c])
        weight[i] = ONBOARDING_WEIGHT if week - acquired_week[c] < ONBOARDING_WEEKS else 1.0
        weights[owner[i]] += weight[i]
    adoption_hours = np.empty(n_staff)
    other_hours = np.empty(n_staff)
    for s in range(n_staff):
        free = _at_least_zero(hours_on_hand[s] - tickets[s])
        adoption_hours[s] = free * adoption[s]
        other_hours[s] = free * (1.0 - adoption[s])
    relationship_hours = _spread_renewal_hours(cust, owner, other_hours, *save_terms)
    for i in range(n):
        c, o = cust[i], owner[i]
        potential = 1.0 - POTENTIAL_SLOPE * fit_gap[i]
        rate = adoption_base_rate + adoption_rate_per_hour * (adoption_hours[o] * weight[i] / weights[o]) * (
            0.5 + 0.5 * context[c]
        )
        value = value_realised[c]
        value_realised[c] = value + _at_most_one(rate) * (potential - value)
        rel = relationship[c]
        rel = rel + relationship_rate_per_hour * relationship_hours[i] * (1.0 - rel) - relationship_decay * rel
        relationship[c] = _at_most_one(_at_least_zero(rel))


@kernel
def _spread_renewal_hours(cust, owner, hours, renewal_week, save_hours, week, save_effect, save_window):
    """Each CSM's renewal/relationship ``hours`` spread over its book, per customer.

    M14 (seeds 001, 003: CS paid on renewals): with renewal saves on, a customer whose renewal
    falls within ``save_window`` weeks gets ``SAVE_WEIGHT`` times the hours of another, and they
    count toward its renewal save (``save_hours``, read by :func:`alignsim.model.customers.save_fraction`).
    Off (``save_effect == 0``), the hours are spread evenly and no save is made.
    """
    n, n_staff = len(cust), len(hours)
    saving = save_effect != 0.0
    weight = np.ones(n)
    weights = np.zeros(n_staff)
    for i in range(n):
        if saving and renewal_week[cust[i]] - week < save_window:
            weight[i] = SAVE_WEIGHT
        weights[owner[i]] += weight[i]
    per_customer = np.empty(n)
    for i in range(n):
        per_customer[i] = hours[owner[i]] * weight[i] / weights[owner[i]]
        if weight[i] == SAVE_WEIGHT:
            save_hours[cust[i]] += per_customer[i]
    return per_customer


@kernel
def _at_least_zero(x):
    """``np.maximum(x, 0.0)``: NaN stays NaN."""
    return 0.0 if x < 0.0 else x


@kernel
def _at_most_one(x):
    """``np.minimum(x, 1.0)``: NaN stays NaN."""
    return 1.0 if x > 1.0 else x
