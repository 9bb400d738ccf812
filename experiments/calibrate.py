"""``alignsim calibrate``: run the history-matching waves of a company profile and write its calibrated profile.

Each wave is an ordinary experiment folder (``OUT/wave-N``): runs are stored as they finish, so an
interrupted calibration resumes from the runs it has, and the same seed gives the same waves.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.experiments.calibration import (
    Evaluation,
    Knob,
    Settings,
    knobs_for,
    next_wave,
    read_wave,
    sobol_box,
    wave_spec,
)
from alignsim.experiments.errors import UserError, listed
from alignsim.experiments.profile import Profile


@dataclass(frozen=True)
class Calibration:
    """The outcome of a calibration.

    Attributes:
        profile: the company.
        settings: how it ran.
        evaluation: every point run.
        implausibility: (points, kpis) implausibility of each point.
        seconds: wall time of this invocation.
    """

    profile: Profile
    settings: Settings
    evaluation: Evaluation
    implausibility: np.ndarray
    seconds: float

    @property
    def knobs(self) -> list[Knob]:
        """The calibrated parameters."""
        return self.evaluation.knobs

    @property
    def accepted(self) -> np.ndarray:
        """Mask of the points the observed KPIs cannot rule out."""
        return self.implausibility.max(axis=1) <= self.settings.cutoff

    @property
    def best(self) -> int:
        """Index of the point with the least summed squared implausibility."""
        return int(np.argmin((self.implausibility**2).sum(axis=1)))

    @property
    def feasible(self) -> bool:
        """Whether any point is not implausible."""
        return bool(self.accepted.any())

    def best_params(self) -> dict[str, Any]:
        """The best point's parameter values."""
        return point_params(self.knobs, self.evaluation.values[self.best])

    def draws(self) -> list[dict[str, Any]]:
        """Up to ``settings.draws`` not-implausible points, spread evenly over the set (in run order)."""
        index = np.flatnonzero(self.accepted)
        if len(index) > self.settings.draws:
            index = index[np.unique(np.linspace(0, len(index) - 1, self.settings.draws).round().astype(int))]
        return [point_params(self.knobs, self.evaluation.values[i]) for i in index]


def point_params(knobs: list[Knob], row: np.ndarray) -> dict[str, Any]:
    """``{param: value}`` of one point (integers rounded, floats to 6 significant digits)."""
    from alignsim.model.params import PARAMS

    out: dict[str, Any] = {}
    for knob, value in zip(knobs, row, strict=True):
        out[knob.param] = int(round(value)) if PARAMS[knob.param].kind == "int" else float(f"{value:.6g}")
    return out


#: what a calibration folder holds besides its wave-N folders (calibration_report.write_outputs)
CALIBRATION_FILES = frozenset({"calibration.md", "observed_vs_simulated.csv", "parameters.csv"})


def check_calibration_folder(out: Path) -> None:
    """Refuse an ``out`` that holds anything but a calibration's waves and report (another experiment's
    results, a user's files), before a run is made or a file written.

    Raises:
        UserError: naming the folder and what it may hold.
    """
    if not out.is_dir():
        return
    foreign = sorted(
        e.name for e in out.iterdir() if e.name not in CALIBRATION_FILES and not re.fullmatch(r"wave-\d+", e.name)
    )
    if foreign:
        raise UserError(
            f"option --out: {str(out)!r} holds {listed(foreign)}, not a calibration's; allowed: a new or empty folder,"
            " or one a calibration wrote (wave-N folders, calibration.md, parameters.csv, observed_vs_simulated.csv)"
        )


def calibrate(
    profile: Profile,
    settings: Settings,
    out: Path,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
    knobs: list[Knob] | None = None,
) -> Calibration:
    """Run (or resume) every wave into ``out`` and return the calibration.

    Args:
        profile: the company (its ``[calibrated]`` table ignored).
        settings: waves, points, replicates, seed, weeks, cutoff.
        out: folder of the waves (``wave-N``).
        engine: "local" or "dask".
        workers: parallel workers.
        scheduler: Dask scheduler address.
        progress: progress bars on stderr.
        force: replace waves of another calibration in ``out``.
        knobs: the parameters to fit (default: every knob an observed KPI informs, ``knobs_for``).

    Raises:
        UserError: a bad option or profile, or a folder holding another calibration (without ``force``).
    """
    import time

    from alignsim.experiments.commands import check_design
    from alignsim.experiments.runner import run_sweep

    settings.check()
    check_calibration_folder(out)
    yearly = sorted({"grr", "nrr"} & set(profile.observed))
    if yearly and settings.weeks < 52:
        raise UserError(
            f"option --weeks: got {settings.weeks}; allowed: 52 or more when the profile observes"
            f" {' and '.join(yearly)} (trailing-12-month retention, undefined before a year)"
        )
    knobs = knobs or knobs_for(profile)
    kpis = list(profile.observed)
    start = time.perf_counter()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    per_run: list[float] = []  # seconds per computed run, per wave (the overall ETA between waves)
    ev = None
    for wave in range(1, settings.waves + 1):
        wave_seed = settings.seed * 1000 + wave
        if ev is None:
            low, high = np.array([k.low for k in knobs]), np.array([k.high for k in knobs])
            values = sobol_box(knobs, low, high, settings.points, wave_seed)
        else:
            values = next_wave(knobs, ev, ev.implausibility(profile.observed, profile.tolerance), settings, wave_seed)
        spec = wave_spec(profile, knobs, values, wave, settings)
        folder = out / f"wave-{wave}"
        if check_design(folder, spec, force) and folder.exists():
            import shutil

            shutil.rmtree(folder)
        if progress:
            print(
                f"calibrate: wave {wave}/{settings.waves}: {settings.points} points x {settings.replicates} replicates",
                file=sys.stderr,
            )
        wave_start = time.perf_counter()
        result = run_sweep(spec, folder, engine, workers, scheduler, progress=progress)
        computed = result.manifest["runs"]["computed_this_invocation"]
        if computed:
            per_run.append((time.perf_counter() - wave_start) / computed)
        left = settings.waves - wave
        if progress and left and per_run:
            eta = left * spec.n_runs * sum(per_run) / len(per_run)
            print(f"calibrate: {left} more wave(s), about {eta:,.0f} s at this pace", file=sys.stderr)
        means, ses = read_wave(folder, spec, profile, kpis)
        parts.append((values, means, ses))
        ev = Evaluation(
            knobs,
            np.vstack([p[0] for p in parts]),
            np.vstack([p[1] for p in parts]),
            np.vstack([p[2] for p in parts]),
            np.concatenate([np.full(len(p[0]), w + 1) for w, p in enumerate(parts)]),
            kpis,
        )
    assert ev is not None
    return Calibration(
        profile, settings, ev, ev.implausibility(profile.observed, profile.tolerance), time.perf_counter() - start
    )


def calibrated_path(profile_path: Path) -> Path:
    """``mycompany.toml`` -> ``mycompany.calibrated.toml`` (beside it)."""
    stem = profile_path.name.removesuffix(".toml").removesuffix(".calibrated")
    return profile_path.with_name(f"{stem}.calibrated.toml")


def impossible_message(cal: Calibration) -> str:
    """One line: the fit is impossible, naming each KPI no point reaches and the closest reachable value."""
    from alignsim.experiments.profile import OBSERVED_BY_KEY

    ev, best = cal.evaluation, cal.best
    worst = []
    for j, key in enumerate(ev.kpis):
        if cal.implausibility[best, j] > cal.settings.cutoff:
            reach = ev.means[:, j][np.isfinite(ev.means[:, j])]
            if not reach.size:
                worst.append(f"'observed.{key}': the model computed it at no point")
                continue
            span = f", reachable {reach.min():.3g} to {reach.max():.3g}"
            worst.append(
                f"'observed.{key}' = {cal.profile.observed[key]:g} {OBSERVED_BY_KEY[key].unit}"
                f" (closest reachable {ev.means[best, j]:.3g}{span})"
            )
    fields = "; ".join(worst) or "the KPIs together"
    return (
        f"company profile {str(cal.profile.path)!r}: no parameter set within the calibration ranges reproduces the"
        f" observed KPIs ({ev.values.shape[0]} points, {cal.settings.waves} waves): {fields}; allowed: KPIs the model"
        " can reach together: check the definitions (alignsim init) and the profile's business inputs, or widen"
        " the [tolerance] of a KPI measured loosely"
    )
