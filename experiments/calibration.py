"""Calibrate a company profile: find the parameters the observed KPIs cannot rule out (history matching).

Method: history matching in waves (Craig et al. 1997; Vernon, Goldstein & Bower 2010; for agent-based
models Andrianakis et al. 2015, PLoS Comput Biol 11(1)). Each wave runs a scrambled Sobol sample
(``scipy.stats.qmc``) of the calibrated parameters, every point with the same replicate seeds (common
random numbers), the company's current structure and KPI regime, for ``weeks`` (the trailing year the
KPIs describe). A point's implausibility on KPI k is

    I_k = |mean_k - observed_k| / sqrt(tolerance_k^2 + var_k / replicates)

(tolerance: the observation's s.d.; var_k / replicates: the replicate noise of the point's mean, its
s.d. floored at the wave's median s.d. so that a point whose few replicates agree by chance is not
judged too precisely). A
point is *not implausible* when max_k I_k <= cutoff (3, Pukelsheim's three-sigma rule). Wave 1
samples the whole searched range; each later wave moves the points kept so far (not implausible,
or while too few are, the best tenth) by a Gaussian step, as population Monte Carlo ABC does
(Beaumont, Cornuet, Marin & Robert 2009, Biometrika 96(4)): in six dimensions a shrinking box
wastes most points, while a step shaped by the kept points' covariance follows trade-offs between
parameters (a higher churn propensity offset by a better market fit).

Why not an optimiser (Optuna, scipy.optimize): an optimiser returns one point, but the question is
which parameters the KPIs pin down and how much uncertainty to carry into the comparison; the
not-implausible set answers both. Sobol waves are deterministic for a seed whatever the worker
count, and each wave is an ordinary experiment folder, so calibration resumes where it stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.experiments.errors import UserError
from alignsim.experiments.profile import OBSERVED_BY_KEY, Profile


@dataclass(frozen=True)
class Knob:
    """A model parameter that calibration fits.

    Attributes:
        param: model parameter name.
        low: lowest value searched.
        high: highest value searched.
        log: search on a log scale.
        informed_by: observed KPIs that move it (it is calibrated only if one of them is observed).
    """

    param: str
    low: float
    high: float
    log: bool
    informed_by: tuple[str, ...]

    def width(self, low: float, high: float) -> float:
        """Width of [low, high] on the knob's scale."""
        return math.log(high / low) if self.log else high - low


#: the parameters calibration may fit; churn_beta's range is set from the profile's sBG alpha
KNOBS: tuple[Knob, ...] = (
    Knob("churn_beta", 1.0, 100.0, True, ("annual_logo_churn", "grr", "nrr")),
    Knob("expansion_per_renewal", 0.0, 0.8, False, ("nrr",)),
    Knob("win_base_logit", -6.0, -2.0, False, ("win_rate", "cac_payback_months", "new_arr_per_ae_usd")),
    Knob("intent_mean", 0.1, 0.8, False, ("mql_to_sql", "win_rate")),
    Knob("market_fit_mean", 0.2, 0.8, False, ("annual_logo_churn", "grr", "win_rate")),
    Knob("sdr_leads_per_week", 4.0, 60.0, True, ("speed_to_lead_hours",)),
)
#: most Sobol points per wave: each point is a level of the wave's factors, at most MAX_LEVELS (1,000) of them
MAX_POINTS = 512
#: mean annual churn propensities searched (churn_beta = alpha * (1 - c) / c)
CHURN_SEARCHED = (0.01, 0.6)


@dataclass(frozen=True)
class Settings:
    """How a calibration runs.

    Attributes:
        waves: history-matching waves.
        points: Sobol points per wave (a power of 2).
        replicates: runs per point (same seeds at every point).
        seed: root seed of the replicates and of the Sobol scrambling.
        weeks: simulated weeks per run (the KPIs' trailing window).
        cutoff: implausibility above which a point is ruled out.
        draws: most parameter sets kept for the comparison.
    """

    waves: int = 5
    points: int = 64
    replicates: int = 3
    seed: int = 1
    weeks: int = 52
    cutoff: float = 3.0
    draws: int = 10

    def check(self) -> None:
        """Raise :class:`UserError` naming the option that is out of range."""
        if self.points < 4 or self.points & (self.points - 1) or self.points > MAX_POINTS:
            raise UserError(
                f"option --points: got {self.points}; allowed: a power of 2 from 4 to {MAX_POINTS}"
                " (Sobol points per wave; a wave's factor holds at most 1,000 values)"
            )
        if self.replicates < 2:
            raise UserError(f"option --reps: got {self.replicates}; allowed: an integer >= 2 (replicate noise needs 2)")
        if not 13 <= self.weeks <= 260:
            raise UserError(f"option --weeks: got {self.weeks}; allowed: 13 to 260 (the KPIs' window; 52 = a year)")
        if not self.cutoff > 0:
            raise UserError(f"option --cutoff: got {self.cutoff}; allowed: a number > 0 (3 = three-sigma rule)")


def knobs_for(profile: Profile) -> list[Knob]:
    """The knobs some observed KPI informs, churn_beta's range set from the profile's sBG alpha."""
    if not profile.observed:
        raise UserError(
            f"company profile {str(profile.path)!r}: table [observed] is empty; allowed: at least one KPI"
            " (annual_logo_churn, grr, nrr, win_rate, ...) to calibrate to"
        )
    alpha = profile.params.get("churn_alpha", 1.2)
    chosen = []
    for knob in KNOBS:
        if not set(knob.informed_by) & set(profile.observed):
            continue
        if knob.param == "churn_beta":
            high_c, low_c = CHURN_SEARCHED
            knob = Knob(knob.param, alpha * (1 - low_c) / low_c, alpha * (1 - high_c) / high_c, True, knob.informed_by)
            knob = Knob(knob.param, min(knob.low, knob.high), max(knob.low, knob.high), True, knob.informed_by)
        chosen.append(knob)
    return chosen


@dataclass
class Evaluation:
    """Every point run so far.

    Attributes:
        knobs: the calibrated parameters.
        values: (points, knobs) parameter values.
        means: (points, kpis) KPI means over replicates (observed units).
        ses: (points, kpis) standard errors of those means.
        wave: wave of each point.
        kpis: observed KPI keys, column order.
    """

    knobs: list[Knob]
    values: np.ndarray
    means: np.ndarray
    ses: np.ndarray
    wave: np.ndarray
    kpis: list[str]

    def implausibility(self, observed: dict[str, float], tolerance: dict[str, float]) -> np.ndarray:
        """(points, kpis) implausibility; a KPI the model could not compute (NaN) is ruled out (inf)."""
        z = np.array([observed[k] for k in self.kpis])
        sd = np.array([tolerance[k] for k in self.kpis])
        scale = np.sqrt(sd**2 + self.ses**2)
        return np.nan_to_num(np.abs(self.means - z) / scale, nan=np.inf)


def sobol_box(knobs: list[Knob], low: np.ndarray, high: np.ndarray, n: int, seed: int) -> np.ndarray:
    """(n, knobs) scrambled Sobol points in the box [low, high] (log-scaled knobs sampled on a log scale)."""
    from scipy.stats import qmc

    unit = qmc.Sobol(d=len(knobs), scramble=True, seed=np.random.default_rng(seed)).random(n)
    logs = np.array([k.log for k in knobs])
    lo, hi = _to_scale(low, logs), _to_scale(high, logs)
    values = qmc.scale(unit, lo, hi) if np.all(hi > lo) else lo + unit * (hi - lo)
    return np.where(logs, np.exp(values), values)


def next_wave(knobs: list[Knob], ev: Evaluation, implausible: np.ndarray, settings: Settings, seed: int) -> np.ndarray:
    """(points, knobs) of the next wave: the kept points, each moved by a Gaussian step.

    Kept: the points not ruled out, or, while fewer than knobs + 1 are, the best tenth (least summed
    squared implausibility, at least knobs + 1 points). New point i starts from kept point i mod m and
    moves by N(0, 2 x the kept points' covariance) on the knobs' scales (Beaumont et al. 2009's
    population Monte Carlo step), plus a floor of 2% of each searched width so a region the last wave
    saw once is still explored; steps outside the searched range are reflected back into it.
    """
    score = (implausible**2).sum(axis=1)
    keep = np.flatnonzero(implausible.max(axis=1) <= settings.cutoff)
    least = len(knobs) + 1
    if len(keep) < least:
        keep = np.argsort(score, kind="stable")[: max(least, len(score) // 10)]
    logs = np.array([k.log for k in knobs])
    lo = _to_scale(np.array([k.low for k in knobs]), logs)
    hi = _to_scale(np.array([k.high for k in knobs]), logs)
    kept = _to_scale(ev.values[keep], logs)
    cov = 2.0 * np.atleast_2d(np.cov(kept, rowvar=False)) + np.diag((0.02 * (hi - lo)) ** 2)
    rng = np.random.default_rng(seed)
    parents = kept[np.arange(settings.points) % len(kept)]
    moved = parents + rng.multivariate_normal(np.zeros(len(knobs)), cov, size=settings.points, method="eigh")
    width = hi - lo
    folded = np.mod(moved - lo, 2 * width)  # reflect at both ends
    moved = lo + np.where(folded > width, 2 * width - folded, folded)
    return _from_scale(moved, logs)


def _to_scale(values: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """Values on each knob's search scale (log where ``logs``); linear knobs may hold 0 or negatives."""
    return np.where(logs, np.log(np.where(logs, values, 1.0)), values)


def _from_scale(values: np.ndarray, logs: np.ndarray) -> np.ndarray:
    return np.where(logs, np.exp(values), values)


def wave_spec(profile: Profile, knobs: list[Knob], values: np.ndarray, wave: int, settings: Settings) -> Any:
    """The experiment spec of one wave: its points as a zip design, the company as the base."""
    from alignsim.experiments.spec import parse_spec
    from alignsim.model.params import PARAMS

    metrics = sorted({OBSERVED_BY_KEY[k].metric for k in profile.observed})
    factors = {
        k.param: [int(round(v)) if PARAMS[k.param].kind == "int" else float(v) for v in values[:, j]]
        for j, k in enumerate(knobs)
    }
    base = {name: value for name, value in profile.params.items() if name not in factors}
    raw = {
        "name": f"calibrate-wave{wave}",
        "description": f"history-matching wave {wave} of {profile.name}",
        "design": "zip",
        "replicates": settings.replicates,
        "root_seed": settings.seed,
        "weeks": settings.weeks,
        "metrics": metrics,
        "timeseries_every_weeks": 0,
        "base": base,
        "factors": factors,
    }
    return parse_spec(raw, where=f"calibration wave {wave}")


def read_wave(out: Path, spec: Any, profile: Profile, kpis: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(points, kpis) means and standard errors of a finished wave, in observed units.

    Raises:
        UserError: if a run failed (its error is in the wave's failures.csv).
    """
    from alignsim.experiments.tables import read_runs

    runs = read_runs(out / "runs.csv")
    if len(runs) != spec.n_runs:
        raise UserError(
            f"calibration wave {out.name}: {spec.n_runs - len(runs)} runs failed; see {out / 'failures.csv'}"
        )
    columns = [OBSERVED_BY_KEY[k].metric for k in kpis]
    scale = np.array([OBSERVED_BY_KEY[k].scale for k in kpis])
    grouped = runs.groupby("cell")[columns]
    means = grouped.mean().sort_index().to_numpy() * scale
    sds = grouped.std(ddof=1).sort_index().to_numpy() * scale
    # a few replicates can show a point's noise as near zero by chance: floor it at the wave's median
    sds = np.fmax(sds, np.nanmedian(sds, axis=0))
    return means, sds / math.sqrt(spec.replicates)
