"""The market: a weekly stream of prospect accounts with hidden fit, intent and churn propensity.

Drawn from per-block market streams, in a fixed order and number that no policy or headcount
influences, so replicate r sees the same prospects in every structure x KPI cell
(common random numbers). Each prospect also gets a key for its own later luck
(:mod:`alignsim.model.draws`) and a position in the market: the marketers reach the prospects
whose position falls inside their combined reach, so a prospect is reached by the same slice of
the marketing team in every cell that has that reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alignsim.model.draws import new_keys


@dataclass
class Prospects:
    """One week's reachable prospects (columns of equal length).

    Attributes:
        key: 64-bit key of the account's own later draws (common random numbers).
        position: where the prospect sits in the market, in units of the starting marketing team's
            reach: positions in [0, 1) are reachable by the starting team, up to ``market_headroom``.
        fit: hidden ICP fit in (0, 1).
        intent: hidden buying intent in (0, 1).
        theta: hidden annual churn propensity, Beta(churn_alpha, churn_beta) (sBG).
        segment: 0 SMB, 1 mid-market, 2 enterprise.
        signal_noise: standard-normal noise of the marketer's fit signal.
        junk_draw: uniform draw deciding engagement-only (M2) leads.
        arrival: time of arrival inside the week, in weeks [0, 1).
    """

    key: np.ndarray
    position: np.ndarray
    fit: np.ndarray
    intent: np.ndarray
    theta: np.ndarray
    segment: np.ndarray
    signal_noise: np.ndarray
    junk_draw: np.ndarray
    arrival: np.ndarray


def beta_from_mean(mean: float, concentration: float) -> tuple[float, float]:
    """Beta(a, b) parameters with the given mean and a + b = concentration."""
    return mean * concentration, (1.0 - mean) * concentration


def draw_segments(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    """Segment of ``n`` accounts: 0 SMB, 1 mid-market, 2 enterprise."""
    u = rng.random(n)
    return np.where(u < p["share_smb"], 0, np.where(u < 1.0 - p["share_enterprise"], 1, 2))


def draw_fit(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    """Hidden ICP fit of ``n`` accounts."""
    return rng.beta(*beta_from_mean(p["market_fit_mean"], p["market_fit_concentration"]), n)


class MarketStream:
    """The market cut into blocks of one starting-team reach, each with its own random stream.

    Block b holds ``prospects_per_week`` expected prospects a week at positions in [b, b + 1).
    Whether a block is drawn (it is reached) never shifts the draws of another block, so cells
    whose headcount differs still see the same prospects wherever both reach (common random
    numbers), at a cost proportional to the reach, not to the whole market. A block is drawn a
    quarter (``CHUNK_WEEKS``) at a time, always in whole chunks, so the values do not depend on
    the week in which a cell first reaches it.

    Args:
        rngs: one generator per block (``market_headroom`` of them).
        p: parameters.
    """

    CHUNK_WEEKS = 13

    def __init__(self, rngs: list[np.random.Generator], p: dict[str, Any]) -> None:
        self.rngs = rngs
        self.p = p
        self._chunks: dict[int, tuple[int, np.ndarray, Prospects]] = {}  # block -> (chunk, week of row, rows)

    def week(self, week: int, reach: float) -> Prospects:
        """Prospects of ``week`` in the blocks that ``reach`` (in starting-team reaches) covers."""
        parts = [self._block_week(b, week) for b in range(len(self.rngs)) if b < reach]
        if not parts:
            parts = [self._block_week(0, week)]
        return Prospects(*(np.concatenate(cols) for cols in zip(*(vars(x).values() for x in parts), strict=True)))

    def _block_week(self, block: int, week: int) -> Prospects:
        chunk = week // self.CHUNK_WEEKS
        cached = self._chunks.get(block)
        while cached is None or cached[0] < chunk:  # draw every chunk in turn: the stream stays aligned
            nxt = 0 if cached is None else cached[0] + 1
            cached = (nxt, *self._draw_chunk(block))
            self._chunks[block] = cached
        _, weeks, rows = cached
        sel = np.flatnonzero(weeks == week % self.CHUNK_WEEKS)
        return Prospects(*(col[sel] for col in vars(rows).values()))

    def _draw_chunk(self, block: int) -> tuple[np.ndarray, Prospects]:
        rng, p = self.rngs[block], self.p
        counts = rng.poisson(p["prospects_per_week"], self.CHUNK_WEEKS)
        n = int(counts.sum())
        weeks = np.repeat(np.arange(self.CHUNK_WEEKS), counts)
        return weeks, Prospects(
            key=new_keys(rng, n),
            position=block + rng.random(n),
            fit=draw_fit(rng, n, p),
            intent=rng.beta(*beta_from_mean(p["intent_mean"], 4.0), n),
            theta=rng.beta(p["churn_alpha"], p["churn_beta"], n),
            segment=draw_segments(rng, n, p),
            signal_noise=rng.standard_normal(n),
            junk_draw=rng.random(n),
            arrival=rng.random(n),
        )


def segment_values(p: dict[str, Any], key: str) -> np.ndarray:
    """Per-segment parameter, e.g. ``segment_values(p, "acv")`` -> list ACV by segment."""
    names = {
        "acv": ("acv_smb_usd", "acv_mm_usd", "acv_ent_usd"),
        "cycle": ("cycle_smb_weeks", "cycle_mm_weeks", "cycle_ent_weeks"),
    }[key]
    return np.array([p[n] for n in names], dtype=float)
