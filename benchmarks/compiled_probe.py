"""What a compiled core would buy: CSMs' weekly book work compiled with numba, timed and checked bit for bit.

Issue 9's speed goals need the model about 1.5 times faster (benchmarks/README.md). This probe measures
the compiled route on one of the heaviest per-week functions, :meth:`alignsim.agents.csm.CSM.work_books`:
the same arithmetic in one loop over the customers (sums in row order, as ``np.bincount`` adds), swapped
in for the numpy version. It prints the time per call of each (the pod/shared cell, seeds 1-2, after a
warm-up) and whether full runs (every summary metric, the weekly series, the account pools) are
bit-identical, for the four cells at seeds 1-2 and with renewal saves off. It also counts how often
the compiled ``math.exp`` and ``math.log1p`` and a sum in index order differ from numpy's ``np.exp``,
``np.log1p`` and pairwise ``np.sum`` (what keeps a compiled core from being bit-identical wherever
the model uses them). Needs numba
(``pip install numba``; not a dependency of the model).

    python benchmarks/compiled_probe.py
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from alignsim.agents import csm as csm_module
from alignsim.agents.csm import CSM, ONBOARDING_WEEKS, ONBOARDING_WEIGHT, POTENTIAL_SLOPE, SAVE_WEIGHT
from alignsim.model import GTMModel
from alignsim.model import model as model_module
from alignsim.model.pools import State

CELLS = [(s, k) for s in ("assembly_line", "pod") for k in ("siloed", "shared")]
POOL_COLUMNS = ("state", "value_realised", "relationship", "save_hours", "mrr_usd", "renewal_week")


def compiled_work_books(cls, model, cust=None) -> None:  # noqa: ANN001 - mirrors CSM.work_books
    p, acc, staff = model.p, model.accounts, model.csms
    if cust is None:
        cust = acc.where(State.CUSTOMER)
    _work_books(
        cust, acc.csm[cust], acc.fit, acc.incident_damage, acc.acquired_week, acc.context, acc.value_realised,
        acc.relationship, staff.capacity * (1.0 - staff.lending), staff.policy("adoption_share"), model.week,
        p["fit_effect"], p["ticket_hours_per_customer_week"], p["adoption_base_rate"], p["adoption_rate_per_hour"],
        p["relationship_rate_per_hour"], p["relationship_decay_per_week"], _save_terms(model),
    )  # fmt: skip


def _save_terms(model) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """What M14's renewal saves read: (renewal week and save hours columns, week, effect, window)."""
    p, acc = model.p, model.accounts
    return acc.renewal_week, acc.save_hours, model.week, float(p["renewal_save_effect"]), float(p["save_window_weeks"])


@njit(cache=True)
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
    (at most 1). Relationship hours (:func:`_renewal_hours`) raise the relationship by
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
    relationship_hours = _renewal_hours(cust, owner, other_hours, *save_terms)
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


@njit(cache=True)
def _renewal_hours(cust, owner, hours, renewal_week, save_hours, week, save_effect, save_window):
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


@njit(cache=True)
def _at_least_zero(x):
    """``np.maximum(x, 0.0)``: NaN stays NaN."""
    return 0.0 if x < 0.0 else x


@njit(cache=True)
def _at_most_one(x):
    """``np.minimum(x, 1.0)``: NaN stays NaN."""
    return 1.0 if x > 1.0 else x


def runs(configs: list[dict]) -> list[tuple]:
    """Summary, weekly series and pool columns of each run (the status quo computed afresh for each)."""
    out = []
    for config in configs:
        model_module._status_quo_cached.cache_clear()
        model = GTMModel(**config).run()
        pool = {name: model.accounts.view(name).copy() for name in POOL_COLUMNS}
        out.append((model.summary(), model.timeseries(), pool))
    return out


def identical(a: tuple, b: tuple) -> bool:
    (sa, ta, pa), (sb, tb, pb) = a, b
    same_summary = all(sa[k] == sb[k] or (sa[k] != sa[k] and sb[k] != sb[k]) for k in sa)
    return same_summary and ta.equals(tb) and all(np.array_equal(pa[k], pb[k], equal_nan=True) for k in pa)


def per_call_us(work_books) -> float:  # noqa: ANN001
    """Mean time of one call, pod/shared, seeds 1-2, after a warm-up run."""
    spent = [0.0, 0]

    def timed(cls, model, cust=None) -> None:  # noqa: ANN001
        start = time.perf_counter()
        work_books(cls, model, cust)
        spent[0] += time.perf_counter() - start
        spent[1] += 1

    CSM.work_books = classmethod(timed)
    GTMModel(seed=99).run()
    spent[:] = [0.0, 0]
    runs([{"seed": s, "structure": "pod", "kpi": "shared"} for s in (1, 2)])
    return spent[0] / spent[1] * 1e6


@njit(cache=True)
def _compiled_exp_log1p_sum(x, u):
    exp, log1p, total = np.empty_like(x), np.empty_like(u), 0.0
    for i in range(len(x)):
        exp[i] = math.exp(x[i])
        log1p[i] = math.log1p(u[i])
        total += u[i]
    return exp, log1p, total


def elementary_functions() -> str:
    """How often compiled exp, log1p and an index-order sum differ from numpy's (1e6 draws, seed 1)."""
    rng = np.random.default_rng(1)
    x, u = 3.0 * rng.standard_normal(1_000_000), rng.random(1_000_000) - 0.5
    exp, log1p, total = _compiled_exp_log1p_sum(x, u)
    return (
        f"compiled vs numpy, 1e6 values: exp differs in {np.count_nonzero(exp != np.exp(x)):,},"
        f" log1p in {np.count_nonzero(log1p != np.log1p(u)):,}; index-order sum == np.sum: {total == u.sum()}"
    )


def main() -> None:
    configs = [{"seed": s, "structure": st, "kpi": k} for s in (1, 2) for st, k in CELLS]
    configs.append({"seed": 3, "structure": "pod", "kpi": "siloed", "renewal_save_effect": 0.0})
    numpy_version = CSM.work_books.__func__
    numpy_us = per_call_us(numpy_version)
    CSM.work_books = classmethod(numpy_version)
    expected = runs(configs)
    compiled_us = per_call_us(compiled_work_books)
    CSM.work_books = classmethod(compiled_work_books)
    same = [identical(a, b) for a, b in zip(expected, runs(configs), strict=True)]
    print(f"CSM.work_books per call: numpy {numpy_us:.0f} us, compiled {compiled_us:.0f} us")
    print(f"bit-identical runs: {sum(same)} of {len(same)}")
    print(elementary_functions())


csm_module.compiled_work_books = compiled_work_books  # for a reader poking at it in a REPL

if __name__ == "__main__":
    main()
