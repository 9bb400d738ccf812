"""The marketer: turns the week's reachable prospects into MQLs (M1, M2, M11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.agents.base import StaffAgent
from alignsim.model.compiled import kernel
from alignsim.model.pools import State
from alignsim.model.rewards import passed_on_count

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

JUNK_INTENT = 0.02  # buying intent of an engagement-only MQL (M2)


class Marketer(StaffAgent):
    """Runs campaigns that turn reached prospects into MQLs (M1, M2, M11).

    Decision variables:
        breadth: 0 = only the best-fitting prospects, 1 = everyone who engages (volume).
        help_share: share of capacity lent to a swamped SDR queue (M8).
    """

    role = "marketer"
    POLICY = {"breadth": (0.5, 0.0, 1.0), "help_share": (0.05, 0.0, 0.5)}
    SILOED_KPI = "MQLs created (vanity) or MQLs accepted as SQLs"
    CAPACITY_PARAM = "prospects_per_week"
    CAPACITY_UNIT = "prospects reached per week"

    @classmethod
    def run_campaigns(cls, model: GTMModel) -> None:
        """M1, M2, M11: every marketer turns its slice of this week's prospects into MQLs.

        One call for all marketers: they share the week's market draw (each reaches its own
        slice of it). Targeting (M1, seeds 000 and 003): a marketer keeps the share of its
        prospects with the best fit signal; broader targeting keeps more (volume) of worse
        fit. The fit signal is noisy; renewal outcomes fed back from CS sharpen it (M11,
        seeds 002 and 004). Broad campaigns also pull in engagement-only MQLs with no buying
        intent when marketing and sales define a qualified lead differently (M2, seed 003).
        """
        p, acc, staff = model.p, model.accounts, model.marketers
        # each marketer reaches a slice of the market as wide as its capacity (ramping hires: narrower)
        edges = np.cumsum(staff.capacity) / p["prospects_per_week"]
        pr = model.market.week(model.week, edges[-1])
        breadth = staff.policy("breadth")
        keep = p["keep_share_narrow"] + (p["keep_share_broad"] - p["keep_share_narrow"]) * breadth
        keep = keep * (1.0 - staff.lending)
        reached, marketer, neg_signal, counts = _read_prospects(
            pr.position, pr.fit, pr.signal_noise, edges, cls.fit_signal_noise_sd(model)
        )
        order = np.argsort(neg_signal)  # numpy's sort is the fastest; ties are put in index order below
        chosen = _keep_best(order, neg_signal, marketer, np.floor(keep * counts + 0.5))
        kept, owner = reached[chosen], marketer[chosen]
        junk = pr.junk_draw[kept] < p["mql_definition_gap"] * breadth[owner]
        created = model.week + pr.arrival[kept]
        intent = np.where(junk, JUNK_INTENT, pr.intent[kept])
        acc.add(
            len(kept),
            key=pr.key[kept],
            state=State.LEAD,
            fit=pr.fit[kept],
            intent=intent,
            intent_created=intent,
            theta=pr.theta[kept],
            segment=pr.segment[kept],
            pod=staff.pod[owner],
            marketer=owner,
            created_week=created,
            ready_week=created + model.handoff_delay,
            context=model.handoff_keep,
            junk=junk,
            revenue_usd=0.0,
        )
        model.tally["mqls"] += len(kept)
        model.tally["reached"] += len(reached)  # programme spend with program_cost_basis = "reach"

    @classmethod
    def fit_signal_noise_sd(cls, model: GTMModel) -> np.ndarray:
        """M11: each marketer's fit-signal noise, sharpened by the renewal outcomes it has seen."""
        p = model.p
        delay = p["feedback_delay_weeks"] * (1.0 - model.info_sharing)
        # outcomes seen per pod (the assembly line is one pod): marketers learn from their own team's renewals
        seen = model.series.outcomes_seen(model.week - delay)[model.marketers.pod]
        return p["targeting_noise_sd"] / np.sqrt(1.0 + p["feedback_learning"] * seen / 100.0)

    @classmethod
    def siloed_kpi(cls, model: GTMModel, start: int, end: int) -> np.ndarray:
        """MQLs each marketer created in [start, end); without vanity KPIs only those that became SQLs (M13)."""
        return passed_on_count(model, "marketer", "created_week", "sql_week", start, end, model.marketers.n)


@kernel
def _read_prospects(position, fit, signal_noise, edges, noise_sd):  # noqa: ANN001, ANN202
    """Which marketer reaches each of the week's prospects, and its fit signal (M1, M11).

    Prospect ``i`` falls to the marketer whose slice of the market (``edges``, cumulative reach) holds
    its position; the marketer reads its fit with its own noise ``noise_sd``.

    Returns:
        (prospects reached, their marketers, minus their fit signals, prospects reached per marketer).
    """
    reached = np.flatnonzero(position < edges[-1])
    n = reached.shape[0]
    marketer = np.empty(n, dtype=np.int64)
    neg_signal = np.empty(n)
    counts = np.zeros(edges.shape[0], dtype=np.int64)
    for i in range(n):
        j = reached[i]
        marketer[i] = np.searchsorted(edges, position[j], side="right")
        neg_signal[i] = -(fit[j] + noise_sd[marketer[i]] * signal_noise[j])
        counts[marketer[i]] += 1
    return reached, marketer, neg_signal, counts


@kernel
def _keep_best(order, neg_signal, marketer, quota):  # noqa: ANN001, ANN202
    """Each marketer keeps its ``quota`` prospects with the best signal, ties to the earlier prospect.

    ``order`` sorts ``neg_signal`` (any sort): with no ties it is the one order by signal; with ties a
    stable sort replaces it. Returns the kept positions, ascending.
    """
    for k in range(1, order.shape[0]):
        if not neg_signal[order[k - 1]] < neg_signal[order[k]]:  # a tie (or NaN): the order is not unique
            order = np.argsort(neg_signal, kind="mergesort")
            break
    taken = np.zeros(quota.shape[0], dtype=np.int64)
    picked = np.zeros(order.shape[0], dtype=np.bool_)
    for i in order:
        g = marketer[i]
        if taken[g] < quota[g]:
            picked[i] = True
        taken[g] += 1
    return np.flatnonzero(picked)
