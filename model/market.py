"""The market: a weekly stream of prospect accounts with hidden fit, intent and churn propensity.

Drawn from the market random stream only, in a fixed order that no policy influences, so
replicate r sees the same prospects in every structure x KPI cell (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Prospects:
    """One week's reachable prospects (columns of equal length).

    Attributes:
        marketer: which marketer reaches each prospect (their market slice).
        fit: hidden ICP fit in (0, 1).
        intent: hidden buying intent in (0, 1).
        theta: hidden churn probability per renewal, Beta(churn_alpha, churn_beta) (sBG).
        segment: 0 SMB, 1 mid-market, 2 enterprise.
        signal_noise: standard-normal noise of the marketer's fit signal.
        junk_draw: uniform draw deciding engagement-only (M2) leads.
        arrival: time of arrival inside the week, in weeks [0, 1).
    """

    marketer: np.ndarray
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


def draw_week(rng: np.random.Generator, p: dict[str, Any], n_marketers: int) -> Prospects:
    """Draw the prospects the marketers can reach this week."""
    n = int(rng.poisson(p["prospects_per_week"]))
    return Prospects(
        marketer=rng.integers(0, n_marketers, n),
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
