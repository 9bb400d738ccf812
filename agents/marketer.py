"""The marketer: turns the week's reachable prospects into MQLs (M1, M2, M11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.agents.base import StaffAgent
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
        reached = np.flatnonzero(pr.position < edges[-1])
        marketer = np.searchsorted(edges, pr.position[reached], side="right")
        breadth = staff.policy("breadth")
        keep = p["keep_share_narrow"] + (p["keep_share_broad"] - p["keep_share_narrow"]) * breadth
        keep = keep * (1.0 - staff.lending)
        signal = pr.fit[reached] + cls.fit_signal_noise_sd(model)[marketer] * pr.signal_noise[reached]
        order = cls._by_marketer_best_first(-signal, marketer, len(keep))
        counts = np.bincount(marketer, minlength=len(keep))
        group = marketer[order]
        rank = np.arange(len(order)) - (np.cumsum(counts) - counts)[group]
        picked = np.zeros(len(order), dtype=bool)  # the kept prospects in index order (a mask: no sort needed)
        picked[order[rank < np.floor(keep * counts + 0.5)[group]]] = True
        chosen = np.flatnonzero(picked)
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

    @staticmethod
    def _by_marketer_best_first(neg_signal: np.ndarray, marketer: np.ndarray, n_marketers: int) -> np.ndarray:
        """``np.lexsort((neg_signal, marketer))``: by marketer, then by ``neg_signal``, ties in index order.

        The same permutation, about twice as fast: when every ``neg_signal`` is distinct (no ties, no
        NaN; checked, else lexsort) the order by signal is unique, so numpy's fast unstable argsort gives
        it, and a stable radix sort of the small marketer indices then groups it by marketer.
        """
        order = np.argsort(neg_signal)
        ranked = neg_signal[order]
        if n_marketers <= np.iinfo(np.int16).max and (ranked[1:] > ranked[:-1]).all():
            return order[np.argsort(marketer[order].astype(np.int16), kind="stable")]
        return np.lexsort((neg_signal, marketer))

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
