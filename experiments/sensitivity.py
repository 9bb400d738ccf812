"""Global sensitivity of firm value and the design contrasts: Morris screening and Sobol indices.

Reads a finished sampled experiment (experiments/design.py, responses in experiments/responses.py)
and writes:

- ``points.csv``: each point's inputs and the mean, s.d. and count over replicates of every response.
- ``sensitivity.csv``: per response and input, Morris ``mu_star`` (mean absolute elementary effect
  in USD per unit of the input scaled to [0, 1] over its plausible range: about the change over the
  whole range), its 95% bootstrap CI half-width, ``sigma`` (spread of the effects: interactions or
  non-linearity), ``mu`` (signed) and ``mu_star_noise_floor`` (the ``mu_star`` replicate noise alone
  would give); or Sobol ``S1``/``ST`` first-order and total indices with 95% bootstrap CI half-widths.
- ``replicates.csv``: per response, the pooled replicate s.d. of one run, the 95% CI half-width of a
  point mean with the replicates used, the share of the across-point variance that is replicate
  noise, and the replicates a point needs for a target CI half-width and for noise ≤ 10% of it.

Why SALib: Saltelli et al. (2008)'s estimators with bootstrap confidence intervals for both Morris
(Campolongo et al. 2007 ``mu_star``) and Sobol (Saltelli 2010 / Jansen), matched to its own
samplers; scipy's ``stats.sobol_indices`` has no Morris method and wants to call the model itself.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignsim.experiments import responses as resp
from alignsim.experiments.design import POINT
from alignsim.experiments.errors import UserError
from alignsim.experiments.fileio import atomic_write_lines, csv_line

POINTS = "points.csv"
SENSITIVITY = "sensitivity.csv"
REPLICATES = "replicates.csv"
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 12345
#: CI half-width a point mean of a contrast should reach, USD (the replicate advice in replicates.csv)
TARGET_HALFWIDTH_USD = 25e6
#: most of the across-point variance that replicate noise may be (the other replicate advice)
NOISE_SHARE_TARGET = 0.10
SENS_HEADER = (
    "response",
    "input",
    "method",
    "mu_star",
    "mu_star_ci95_halfwidth",
    "sigma",
    "mu",
    "mu_star_noise_floor",
    "s1",
    "s1_ci95_halfwidth",
    "st",
    "st_ci95_halfwidth",
)
REP_HEADER = (
    "response",
    "sd_one_run",
    "df",
    "replicates_used",
    "ci95_halfwidth_point_mean",
    "noise_share_of_spread",
    "target_ci95_halfwidth",
    "replicates_for_target",
    "replicates_for_noise_share_10pct",
)


class SampledExperiment:
    """A finished sampled experiment: its sample, point table and responses."""

    def __init__(self, out_dir: Path) -> None:
        from alignsim.experiments.tables import Experiment

        exp = Experiment(Path(out_dir))
        sample = exp.manifest.get("sample")
        if not sample:
            raise UserError(
                f"{str(out_dir)!r} is not a sampled design (no 'sample' in its manifest); allowed: a folder of a spec"
                " with design = 'lhs', 'sobol' or 'morris'"
            )
        self.dir = exp.dir
        self.method: str = sample["method"]
        self.inputs: list[str] = list(sample["inputs"])
        self.bounds = np.array(sample["bounds"], dtype=float)
        self.levels: int = int(sample.get("levels", 4))
        self.n_points: int = int(sample["points"])
        if resp.METRIC not in exp.runs:
            raise UserError(f"{str(out_dir)!r}: runs.csv has no {resp.METRIC!r}; allowed: specs that keep firm_value")
        self.table = resp.point_table(exp.runs, exp.cells, self.inputs)
        if len(self.table) != self.n_points:
            raise UserError(
                f"{str(out_dir)!r}: {len(self.table)} of {self.n_points} points have runs; allowed: a finished"
                " experiment (rerun the same command to finish it)"
            )
        self.responses = resp.responses_in(self.table)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 (the design matrix, as in SALib)
        """(points, inputs) input values in point order."""
        return self.table[self.inputs].to_numpy(float)

    def y(self, response: str) -> np.ndarray:
        """Point means of ``response`` in point order."""
        return self.table[f"{response}_mean"].to_numpy(float)

    def problem(self) -> dict[str, Any]:
        """SALib problem dict."""
        return {"num_vars": len(self.inputs), "names": self.inputs, "bounds": self.bounds.tolist()}


def morris_indices(exp: SampledExperiment, response: str) -> pd.DataFrame:
    """Morris mu*, its bootstrap CI, sigma, mu and the replicate-noise floor of mu*, per input."""
    from SALib.analyze import morris

    y = exp.y(response)
    res = morris.analyze(
        exp.problem(),
        exp.X,
        y,
        num_resamples=BOOTSTRAP_RESAMPLES,
        conf_level=0.95,
        num_levels=exp.levels,
        seed=BOOTSTRAP_SEED,
    )
    delta = exp.levels / (2.0 * (exp.levels - 1))
    n = resp.noise(exp.table, response)
    # |difference of two noisy point means| / delta, in expectation: sqrt(2/pi) * sqrt(2) * sd / sqrt(R) / delta
    floor = math.sqrt(2.0 / math.pi) * math.sqrt(2.0) * n.sd_within / math.sqrt(max(n.replicates, 1)) / delta
    return pd.DataFrame(
        {
            "mu_star": res["mu_star"],
            "mu_star_ci95_halfwidth": res["mu_star_conf"],
            "sigma": res["sigma"],
            "mu": res["mu"],
            "mu_star_noise_floor": floor,
        },
        index=pd.Index(exp.inputs, name="input"),
    )


def sobol_indices(exp: SampledExperiment, response: str) -> pd.DataFrame:
    """Sobol first-order and total indices with bootstrap CI half-widths, per input."""
    from SALib.analyze import sobol

    res = sobol.analyze(
        exp.problem(),
        exp.y(response),
        calc_second_order=False,
        num_resamples=BOOTSTRAP_RESAMPLES,
        conf_level=0.95,
        seed=BOOTSTRAP_SEED,
    )
    return pd.DataFrame(
        {"s1": res["S1"], "s1_ci95_halfwidth": res["S1_conf"], "st": res["ST"], "st_ci95_halfwidth": res["ST_conf"]},
        index=pd.Index(exp.inputs, name="input"),
    )


def indices(exp: SampledExperiment, response: str) -> pd.DataFrame:
    """The design's indices for ``response`` (Morris or Sobol), sorted by importance."""
    if exp.method == "morris":
        return morris_indices(exp, response).sort_values("mu_star", ascending=False)
    if exp.method == "sobol":
        return sobol_indices(exp, response).sort_values("st", ascending=False)
    raise UserError(
        f"sensitivity: design {exp.method!r} gives no sensitivity indices; allowed: design 'morris' or 'sobol'"
        " ('lhs' designs are for alignsim discover)"
    )


def sensitivity_lines(exp: SampledExperiment) -> list[str]:
    """Lines of sensitivity.csv."""
    lines = [csv_line(SENS_HEADER)]
    for response in exp.responses:
        frame = indices(exp, response)
        for name, row in frame.iterrows():
            values = [float(row.get(col, math.nan)) for col in SENS_HEADER[3:]]
            lines.append(csv_line((response, name, exp.method, *values)))
    return lines


def replicate_lines(exp: SampledExperiment, target_usd: float = TARGET_HALFWIDTH_USD) -> list[str]:
    """Lines of replicates.csv: is the replicate count enough, and how many would be."""
    lines = [csv_line(REP_HEADER)]
    for response in exp.responses:
        n = resp.noise(exp.table, response)
        spread = float(np.var(exp.y(response), ddof=1))
        lines.append(
            csv_line(
                (
                    response,
                    n.sd_within,
                    n.df,
                    n.replicates,
                    n.halfwidth,
                    n.noise_share,
                    target_usd,
                    n.replicates_for(target_usd),
                    n.replicates_for_share(NOISE_SHARE_TARGET, spread),
                )
            )
        )
    return lines


def point_lines(exp: SampledExperiment) -> list[str]:
    """Lines of points.csv."""
    frame = exp.table.reset_index()
    lines = [csv_line(frame.columns)]
    lines += [csv_line(row) for row in frame.itertuples(index=False)]
    return lines


def write_points(out_dir: Path) -> SampledExperiment:
    """Write points.csv (every sampled design) and return the experiment."""
    exp = SampledExperiment(out_dir)
    atomic_write_lines(exp.dir / POINTS, point_lines(exp))
    return exp


def write_sensitivity(out_dir: Path, target_usd: float = TARGET_HALFWIDTH_USD) -> SampledExperiment:
    """Write points.csv, sensitivity.csv and replicates.csv atomically; return the experiment."""
    exp = write_points(out_dir)
    atomic_write_lines(exp.dir / REPLICATES, replicate_lines(exp, target_usd))
    atomic_write_lines(exp.dir / SENSITIVITY, sensitivity_lines(exp))
    return exp


__all__ = ["POINT", "SampledExperiment", "indices", "write_points", "write_sensitivity"]
