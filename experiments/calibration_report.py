"""What a calibration found: observed vs simulated KPIs, what the data pin down, and the calibrated profile."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np

from alignsim.experiments.calibrate import Calibration
from alignsim.experiments.profile import CALIBRATED_MARKER, OBSERVED_BY_KEY

#: share of a knob's searched range (its scale) the not-implausible points may span and still count as pinned
PINNED_SHARE = 0.25
#: above this share a knob counts as loose (the KPIs barely constrain it)
LOOSE_SHARE = 0.6
#: fewest accepted points whose spread is read as what the KPIs pin down (fewer: more points or waves needed)
MIN_ACCEPTED = 10


def kpi_rows(cal: Calibration) -> list[dict[str, object]]:
    """Per observed KPI: observed, tolerance, best point's mean with its 95% CI, range over the accepted points."""
    ev, best, ok = cal.evaluation, cal.best, cal.accepted
    rows = []
    for j, key in enumerate(ev.kpis):
        mean, se = ev.means[best, j], ev.ses[best, j]
        half = 1.96 * se
        accepted = ev.means[ok, j] if ok.any() else ev.means[[best], j]
        rows.append(
            {
                "kpi": key,
                "unit": OBSERVED_BY_KEY[key].unit,
                "observed": cal.profile.observed[key],
                "tolerance_sd": cal.profile.tolerance[key],
                "simulated_best": mean,
                "ci95_low": mean - half,
                "ci95_high": mean + half,
                "accepted_min": float(np.nanmin(accepted)),
                "accepted_max": float(np.nanmax(accepted)),
                "implausibility_best": float(cal.implausibility[best, j]),
            }
        )
    return rows


def knob_rows(cal: Calibration) -> list[dict[str, object]]:
    """Per calibrated parameter: searched range, best value, accepted range, share of the range, verdict."""
    ev, ok = cal.evaluation, cal.accepted
    rows = []
    for j, knob in enumerate(cal.knobs):
        values = ev.values[ok, j] if ok.any() else ev.values[[cal.best], j]
        share = knob.width(values.min(), values.max()) / knob.width(knob.low, knob.high)
        verdict = "pinned" if share <= PINNED_SHARE else "partly pinned" if share <= LOOSE_SHARE else "loose"
        if ok.sum() < MIN_ACCEPTED:
            verdict = f"too few accepted points ({int(ok.sum())} < {MIN_ACCEPTED}) to judge"
        rows.append(
            {
                "parameter": knob.param,
                "searched_low": knob.low,
                "searched_high": knob.high,
                "scale": "log" if knob.log else "linear",
                "best": ev.values[cal.best, j],
                "accepted_low": float(values.min()),
                "accepted_high": float(values.max()),
                "share_of_range": share,
                "verdict": verdict if ok.any() else "no fit",
                "informed_by": " ".join(knob.informed_by),
            }
        )
    return rows


def summary_text(cal: Calibration) -> str:
    """The report in Markdown (also what the command prints)."""
    s, ev = cal.settings, cal.evaluation
    n = ev.values.shape[0]
    lines = [
        f"# Calibration of {cal.profile.name}",
        "",
        f"History matching: {s.waves} waves x {s.points} Sobol points x {s.replicates} replicates (same seeds at every"
        f" point, root seed {s.seed}), {s.weeks} weeks each, cutoff {s.cutoff:g}: {int(cal.accepted.sum())} of {n}"
        f" points not ruled out. Wall time of this invocation {cal.seconds:.0f} s (runs stored by an earlier one"
        " are reused).",
        "",
        "## Observed vs simulated",
        "",
        "simulated = the best point (least summed squared implausibility), mean [95% CI of the mean over its"
        " replicates]; accepted range = spread of the point means over every point not ruled out.",
        "",
        "| KPI | unit | observed (s.d.) | simulated [95% CI] | accepted range | implausibility |",
        "|---|---|---|---|---|---|",
    ]
    for r in kpi_rows(cal):
        lines.append(
            f"| {r['kpi']} | {r['unit']} | {_n(r['observed'])} ({_n(r['tolerance_sd'])}) |"
            f" {_n(r['simulated_best'])} [{_n(r['ci95_low'])}, {_n(r['ci95_high'])}] |"
            f" {_n(r['accepted_min'])} to {_n(r['accepted_max'])} | {r['implausibility_best']:.2f} |"
        )
    lines += [
        "",
        "## What the KPIs pin down",
        "",
        f"share = width of the accepted values / width of the searched range (log scale where marked);"
        f" pinned <= {PINNED_SHARE:g}, loose > {LOOSE_SHARE:g}.",
        "",
        "| parameter | searched | best | accepted | share | verdict | informed by |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in knob_rows(cal):
        lines.append(
            f"| {r['parameter']} | {_n(r['searched_low'])} to {_n(r['searched_high'])} ({r['scale']}) |"
            f" {_n(r['best'])} | {_n(r['accepted_low'])} to {_n(r['accepted_high'])} | {r['share_of_range']:.2f} |"
            f" {r['verdict']} | {r['informed_by']} |"
        )
    lines += [
        "",
        "Assumed, not fitted: every other parameter keeps the profile's value or the model default; the fit is of"
        " today's organisation only, so what changes under pods or shared KPIs is the model's mechanics, not data.",
    ]
    return "\n".join(lines) + "\n"


def write_outputs(cal: Calibration, out: Path) -> None:
    """Write calibration.md, observed_vs_simulated.csv and parameters.csv into ``out`` (atomically)."""
    import pandas as pd

    from alignsim.experiments.fileio import atomic_write_files

    atomic_write_files(
        {
            out / "calibration.md": summary_text(cal),
            out / "observed_vs_simulated.csv": pd.DataFrame(kpi_rows(cal)).to_csv(index=False),
            out / "parameters.csv": pd.DataFrame(knob_rows(cal)).to_csv(index=False),
        }
    )


def calibrated_profile_text(cal: Calibration) -> str:
    """The profile's own text, then a ``[calibrated]`` table: best values and the accepted draws."""
    from alignsim.experiments.metadata import git_commit, versions

    made_by = f"alignsim {versions()['alignsim']}, commit {git_commit() or 'unknown'}"
    lines = [
        cal.profile.text.rstrip(),
        "",
        f"{CALIBRATED_MARKER} on {dt.datetime.now(dt.UTC):%Y-%m-%d} ({made_by});"
        " recalibrating replaces everything below ----",
        f"# {int(cal.accepted.sum())} of {cal.evaluation.values.shape[0]} points not ruled out; see calibration.md.",
        "# best: the best-fitting values (used by run); draws: parameter sets the observed KPIs cannot rule out",
        "# (compare, sweep and specs run replicate r at draw r mod len(draws): intervals carry this uncertainty).",
        "[calibrated.best]",
    ]
    lines += [f"{k} = {_toml_float(v)}" for k, v in cal.best_params().items()]
    for draw in cal.draws():
        lines += ["", "[[calibrated.draws]]"] + [f"{k} = {_toml_float(v)}" for k, v in draw.items()]
    return "\n".join(lines) + "\n"


def _toml_float(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _n(value: object) -> str:
    x = float(value)  # type: ignore[arg-type]
    if not math.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"
