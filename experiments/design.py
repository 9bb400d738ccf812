"""Sampled designs over the plausible ranges: Latin hypercube, Sobol (Saltelli) and Morris.

A spec with ``design = "lhs" | "sobol" | "morris"`` draws ``points`` from the plausible ranges
of its ``[sample]`` inputs (``alignsim.model.params.parameter_ranges``) and runs every
combination of its ``[factors]`` (e.g. structure x KPI) at every point, with the same replicate
seeds everywhere, so each design contrast is paired within a point::

    design = "morris"
    replicates = 2

    [sample]
    inputs = ["handoff_context_loss", "prospects_per_week"]   # or "plausible" (every ranged parameter)
    n = 10          # lhs: points; sobol: base sample N (N x (k + 2) points); morris: trajectories (N x (k + 1))
    seed = 7        # seed of the sampler (not of the model)
    levels = 4      # morris only: grid levels

    [factors]
    structure = ["assembly_line", "pod"]
    kpi = ["siloed", "shared"]

Samplers: ``scipy.stats.qmc.LatinHypercube`` (LHS) and SALib (Saltelli sampling for Sobol indices,
Morris trajectories): SALib pairs each sample with its own analysis, which is what the indices
need, and scipy has no Morris method. Integer parameters are rounded to the nearest integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alignsim.experiments.errors import UserError, shown

SAMPLED_DESIGNS = ("lhs", "sobol", "morris")
#: the factor that numbers the sample points in cells and runs.csv
POINT = "point"
SAMPLE_KEYS = {"inputs", "n", "seed", "levels"}
#: finest Morris grid accepted (a grid finer than the sample has points gains nothing)
MAX_MORRIS_LEVELS = 1_000
#: most points a sampled design may have (each is run in every factor combination)
MAX_POINTS = 5_000


@dataclass(frozen=True)
class Sample:
    """The sample points of a sampled design.

    Attributes:
        method: "lhs", "sobol" or "morris".
        inputs: sampled parameter names, in order.
        bounds: plausible (low, high) of each input.
        n: the method's size argument (see the module docstring).
        seed: sampler seed.
        levels: Morris grid levels (unused otherwise).
        values: (points, inputs) parameter values, integers rounded.
    """

    method: str
    inputs: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    n: int
    seed: int
    levels: int
    values: np.ndarray

    @property
    def n_points(self) -> int:
        """Number of sample points."""
        return int(self.values.shape[0])

    def problem(self) -> dict[str, Any]:
        """The SALib problem dict (names and bounds)."""
        return {"num_vars": len(self.inputs), "names": list(self.inputs), "bounds": [list(b) for b in self.bounds]}

    def point(self, i: int) -> dict[str, Any]:
        """Parameter values of point ``i`` (Python ints for integer parameters)."""
        from alignsim.model.params import PARAMS

        row = self.values[i]
        return {
            name: int(v) if PARAMS[name].kind == "int" else float(v) for name, v in zip(self.inputs, row, strict=True)
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description for the manifest (the values are in the cells)."""
        return {
            "method": self.method,
            "inputs": list(self.inputs),
            "bounds": [list(b) for b in self.bounds],
            "n": self.n,
            "seed": self.seed,
            "levels": self.levels,
            "points": self.n_points,
        }


def parse_sample(method: str, raw: Any, where: str) -> Sample:
    """Validate a ``[sample]`` table and draw its points.

    Raises:
        UserError: one line naming the field, the value and what is allowed.
    """
    from alignsim.model.params import parameter_ranges

    def field(key: str) -> str:
        return f"{where}: field 'sample.{key}'"

    if not isinstance(raw, dict):
        raise UserError(f"{where}: field 'sample': got {raw!r}; allowed: a table with inputs, n, seed (levels)")
    unknown = sorted(set(raw) - SAMPLE_KEYS)
    if unknown:
        raise UserError(f"{field(unknown[0])}: unknown field; allowed: {', '.join(sorted(SAMPLE_KEYS))}")
    ranges = _inputs(raw.get("inputs", "plausible"), parameter_ranges, field("inputs"))
    n = _positive(raw.get("n"), field("n"))
    seed = _positive(raw.get("seed", 0), field("seed"), low=0)
    levels = _positive(raw.get("levels", 4), field("levels"), low=2)
    if levels % 2 or levels > MAX_MORRIS_LEVELS:
        raise UserError(
            f"{field('levels')}: got {shown(levels)}; allowed: an even integer from 2 to {MAX_MORRIS_LEVELS}"
            " (Morris needs an even grid; 4 to 8 is usual)"
        )
    n_points = {"lhs": n, "sobol": n * (len(ranges) + 2), "morris": n * (len(ranges) + 1)}[method]
    if n_points > MAX_POINTS:
        raise UserError(f"{field('n')}: gives {n_points:,} points; allowed: at most {MAX_POINTS:,} (a smaller n)")
    if method == "sobol" and n & (n - 1):
        raise UserError(f"{field('n')}: got {n}; allowed: a power of 2 for a Sobol sample (e.g. 16, 32, 64)")
    values = draw(method, ranges, n, seed, levels)
    return Sample(method, tuple(ranges), tuple(ranges.values()), n, seed, levels, values)


def draw(method: str, ranges: dict[str, tuple[float, float]], n: int, seed: int, levels: int = 4) -> np.ndarray:
    """(points, inputs) sample of ``method`` over ``ranges``; integer parameters rounded."""
    from alignsim.model.params import PARAMS

    names = list(ranges)
    low = np.array([ranges[k][0] for k in names], dtype=float)
    high = np.array([ranges[k][1] for k in names], dtype=float)
    problem = {"num_vars": len(names), "names": names, "bounds": np.column_stack([low, high]).tolist()}
    if method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(n)
        values = qmc.scale(unit, low, high)
    elif method == "sobol":
        from SALib.sample import sobol

        values = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    else:
        from SALib.sample import morris

        values = morris.sample(problem, n, num_levels=levels, seed=seed)
    for j, name in enumerate(names):
        if PARAMS[name].kind == "int":
            values[:, j] = np.rint(values[:, j])
    return np.clip(values, low, high)


def _inputs(value: Any, parameter_ranges: Any, where: str) -> dict[str, tuple[float, float]]:
    if value == "plausible":
        return parameter_ranges()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UserError(f'{where}: got {value!r}; allowed: "plausible" or a non-empty list of parameter names')
    if len(set(value)) != len(value):
        raise UserError(f"{where}: got {value!r}; allowed: distinct names")
    try:
        return parameter_ranges(value)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}; allowed: parameters with a plausible range (alignsim params)") from None


def _positive(value: Any, where: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"{where}: got {shown(value)}; allowed: an integer >= {low}")
    return value
