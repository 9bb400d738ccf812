"""Experiment specs: a TOML file that declares a sweep (the BehaviorSpace of alignsim).

Fields (top level)::

    name = "structure_x_kpi"        # required; letters, digits, '_' or '-'
    description = "..."             # optional
    design = "cross"                # "cross" (every combination), "zip" (i-th values together), or a
                                    # sampled design "lhs" | "sobol" | "morris" (see experiments/design.py)
    replicates = 10                 # runs per cell, >= 1
    root_seed = 1                   # >= 0; replicate r of every cell uses seed_for(root_seed, r)
    weeks = 260                     # optional horizon (a model parameter)
    metrics = ["ltv", "nrr"]        # optional summary metrics to keep (default: all)
    timeseries_every_weeks = 4      # optional sampling period of timeseries.csv (0 = none)
    timeseries_metrics = ["arr_usd"]  # optional (default: model.TIMESERIES_METRICS)

    [base]                          # optional: fixed parameters of every cell
    scenario = "enterprise"         # optional scenario preset name or path (relative to the spec)
    n_pods = 3                      # any parameter

    [factors]                       # required, at least one; each a parameter name (or "ablate")
    structure = ["assembly_line", "pod"]
    handoff_context_loss = {start = 0.0, stop = 0.6, num = 7}
    ablate = "all"                  # "none" + every mechanism of model.mechanisms.ABLATIONS

    [sample]                        # sampled designs only: inputs, n, seed, levels (experiments/design.py);
                                    #   every factor combination runs at every sample point

    [[exclude]]                     # optional, repeatable: leave out every cell matching all these
    learning = "off"                #   factor values (e.g. a cell that would repeat another by
    kpi = "shared"                  #   construction); each must match at least one cell

Common random numbers: the seed depends only on (root_seed, replicate), never on the cell,
so cell differences within a replicate are paired.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.experiments.design import POINT, SAMPLED_DESIGNS, Sample, parse_sample
from alignsim.experiments.errors import UserError, finite_number, shown
from alignsim.experiments.scenario import check_params, full_params, load_scenario_and_draws, read_toml

SPEC_DIR = Path(__file__).resolve().parent / "specs"
ABLATE = "ablate"
NO_ABLATION = "none"
TOP_KEYS = {
    "name",
    "description",
    "design",
    "replicates",
    "root_seed",
    "weeks",
    "metrics",
    "timeseries_every_weeks",
    "timeseries_metrics",
    "base",
    "factors",
    "exclude",
    "sample",
}
DEFAULT_TS_EVERY_WEEKS = 4
#: most levels one factor may have (a list or a {start, stop, num} range), checked before anything is allocated
MAX_LEVELS = 1_000
#: replicates per cell a spec may ask for: far past any budget (which --yes may still override), short of
#: the numbers that overflow the budget's arithmetic
MAX_REPLICATES = 1_000_000_000
#: most cells a design may have (each cell holds a full parameter set), checked before the cells are built
MAX_CELLS = 20_000


@dataclass(frozen=True)
class Spec:
    """A validated experiment.

    Attributes:
        name: experiment name (used for output folders).
        raw: the spec as parsed (after overrides), for the manifest.
        factors: factor name -> typed values, in file order.
        design: "cross" or "zip".
        replicates: runs per cell.
        root_seed: root of the seed sequence.
        metrics: summary metrics kept in runs.csv.
        ts_every_weeks: sampling period of timeseries.csv in weeks (0 = no time series).
        ts_metrics: time-series metrics kept.
        cells: factor values of each cell, in cell order (sampled designs: the point, its input
            values and the factor values).
        cell_params: full validated model parameters of each cell.
        sample: the sample points of a sampled design (None for "cross" and "zip").
        replicate_params: parameter sets drawn per replicate (a calibrated company profile's
            ``draws``): replicate r of every cell runs with draw r mod len(draws) on top of its cell's
            parameters, so the cells stay paired and the replicates carry the calibration's uncertainty.
    """

    name: str
    raw: dict[str, Any]
    factors: dict[str, list[Any]]
    design: str
    replicates: int
    root_seed: int
    metrics: tuple[str, ...]
    ts_every_weeks: int
    ts_metrics: tuple[str, ...]
    cells: list[dict[str, Any]] = field(repr=False)
    cell_params: list[dict[str, Any]] = field(repr=False)
    sample: Sample | None = field(default=None, repr=False)
    replicate_params: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def run_params(self, cell: int, replicate: int) -> dict[str, Any]:
        """Model parameters of run (cell, replicate): the cell's, with the replicate's draw on top."""
        if not self.replicate_params:
            return self.cell_params[cell]
        return {**self.cell_params[cell], **self.replicate_params[replicate % len(self.replicate_params)]}

    @property
    def n_runs(self) -> int:
        """Number of runs: cells x replicates."""
        return len(self.cells) * self.replicates

    @property
    def factor_names(self) -> list[str]:
        """Factor names in file order (sampled designs: point, the inputs, then the factors): runs.csv's columns."""
        if self.sample is None:
            return list(self.factors)
        return [POINT, *self.sample.inputs, *(f for f in self.factors if f != POINT)]

    def seed(self, replicate: int) -> int:
        """Model seed of ``replicate`` (the same in every cell)."""
        return seed_for(self.root_seed, replicate)

    def hash(self) -> str:
        """Hash of everything that determines the rows (not name, description or worker count)."""
        payload = {
            "design": self.design,
            "replicates": self.replicates,
            "root_seed": self.root_seed,
            "metrics": list(self.metrics),
            "ts_every_weeks": self.ts_every_weeks,
            "ts_metrics": list(self.ts_metrics),
            "factors": list(self.factors),
            "cells": self.cells,
            "cell_params": self.cell_params,
        }
        if self.sample is not None:
            payload["sample"] = self.sample.as_dict()
        if self.replicate_params:
            payload["replicate_params"] = list(self.replicate_params)
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def seed_for(root_seed: int, replicate: int) -> int:
    """Seed of replicate ``r``: ``SeedSequence(root_seed).spawn(n)[r]``'s first 32-bit word.

    Equal to spawning children from the root; independent of the number of replicates.
    """
    child = np.random.SeedSequence(root_seed, spawn_key=(replicate,))
    return int(child.generate_state(1, dtype=np.uint32)[0])


def ablations() -> dict[str, dict[str, Any]]:
    """Mechanism id -> parameter overrides that switch it off (empty if the model has none)."""
    try:
        from alignsim.model import mechanisms
    except ImportError:
        return {}
    found = getattr(mechanisms, "ABLATIONS", None)
    return dict(found) if isinstance(found, dict) else {}


def resolve_spec_path(ref: str | Path) -> Path:
    """A spec path, or a preset name from ``experiments/specs``.

    Raises:
        UserError: if neither exists.
    """
    for path in (Path(ref), SPEC_DIR / str(ref), SPEC_DIR / f"{ref}.toml"):
        if path.is_file():
            return path
    names = ", ".join(sorted(p.stem for p in SPEC_DIR.glob("*.toml")))
    raise UserError(f"spec {str(ref)!r}: no such file; allowed: a TOML file path or a preset ({names})")


def load_spec(ref: str | Path, overrides: dict[str, Any] | None = None) -> Spec:
    """Read, override and validate a spec file.

    Args:
        ref: path to the TOML file, or a preset name.
        overrides: top-level fields replacing the file's (e.g. ``{"replicates": 3}``).

    Raises:
        UserError: one line naming the field, the value and what is allowed.
    """
    path = resolve_spec_path(ref)
    raw = read_toml(path, "spec")
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_spec(raw, base_dir=path.parent, where=f"spec {path.name}")


def parse_spec(raw: dict[str, Any], base_dir: Path | None = None, where: str = "spec") -> Spec:
    """Validate a parsed spec dict (see the module docstring for the fields).

    Raises:
        UserError: one line naming the field, the value and what is allowed.
    """
    from alignsim.model import SUMMARY_METRICS, TIMESERIES_METRICS

    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise UserError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    name = _name(raw, where)
    design = _choice(raw.get("design", "cross"), ("cross", "zip", *SAMPLED_DESIGNS), f"{where}: field 'design'")
    replicates = _int(raw.get("replicates", 1), 1, f"{where}: field 'replicates'", MAX_REPLICATES)
    root_seed = _int(raw.get("root_seed", 0), 0, f"{where}: field 'root_seed'")
    metrics = _names(raw.get("metrics"), SUMMARY_METRICS, f"{where}: field 'metrics'", "summary metric")
    ts_every = _int(
        raw.get("timeseries_every_weeks", DEFAULT_TS_EVERY_WEEKS), 0, f"{where}: field 'timeseries_every_weeks'"
    )
    ts_metrics = _names(
        raw.get("timeseries_metrics"), TIMESERIES_METRICS, f"{where}: field 'timeseries_metrics'", "time-series metric"
    )
    base, draws = _base(raw, base_dir, where)
    factors = _factors(raw.get("factors"), where)
    sample = None
    if design in SAMPLED_DESIGNS:
        sample = parse_sample(design, raw.get("sample"), where)
        clash = sorted(set(sample.inputs) & set(factors))
        if clash:
            raise UserError(f"{where}: {clash[0]!r} is both sampled and a factor; allowed: one or the other")
        combos = _exclude(_cells(factors, "cross", where), raw.get("exclude"), factors, where)
        cells = _sampled_cells(sample, combos, where)
        factors = {POINT: list(range(sample.n_points)), **factors}
    elif "sample" in raw:
        raise UserError(f"{where}: field 'sample' needs a sampled design; allowed: design = 'lhs', 'sobol' or 'morris'")
    else:
        cells = _exclude(_cells(factors, design, where), raw.get("exclude"), factors, where)
    cell_params = [_cell_params(base, cell, i, where) for i, cell in enumerate(cells)]
    return Spec(
        name,
        raw,
        factors,
        design,
        replicates,
        root_seed,
        metrics,
        ts_every,
        ts_metrics,
        cells,
        cell_params,
        sample,
        _draws_for(draws, cells),
    )


def _draws_for(draws: tuple[dict[str, Any], ...], cells: list[dict[str, Any]]) -> tuple[dict, ...]:
    """The scenario's calibrated draws, less any parameter a factor sets (the factor wins)."""
    varied = {name for cell in cells for name in cell}
    kept = tuple({k: v for k, v in draw.items() if k not in varied} for draw in draws)
    return kept if any(kept) else ()  # each draw was checked with the profile that holds it


def _sampled_cells(sample: Sample, combos: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """Every factor combination at every sample point, point-major (a point's cells are adjacent)."""
    if sample.n_points * len(combos) > MAX_CELLS:
        raise UserError(
            f"{where}: {sample.n_points:,} points x {len(combos)} factor combinations = "
            f"{sample.n_points * len(combos):,} cells; allowed: at most {MAX_CELLS:,} (a smaller sample)"
        )
    cells = []
    for i in range(sample.n_points):
        point = sample.point(i)
        cells += [{POINT: i, **point, **combo} for combo in combos]
    return cells


def _name(raw: dict[str, Any], where: str) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise UserError(f"{where}: field 'name': got {name!r}; allowed: letters, digits, '_' or '-'")
    return name


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise UserError(f"{where}: got {value!r}; allowed: one of {', '.join(map(repr, allowed))}")
    return value


def _int(value: Any, low: int, where: str, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high:,}]"
        raise UserError(f"{where}: got {shown(value)}; allowed: {allowed}")
    return value


def _names(value: Any, allowed: tuple[str, ...], where: str, what: str) -> tuple[str, ...]:
    if value is None or value == "all":
        return tuple(allowed)
    if not isinstance(value, list) or not value:
        raise UserError(f'{where}: got {value!r}; allowed: "all" or a non-empty list of {what} names')
    for item in value:
        if item not in allowed:
            raise UserError(f"{where}: unknown {what} {item!r}; allowed: {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise UserError(f"{where}: got {value!r}; allowed: distinct names")
    return tuple(value)


def _base(raw: dict[str, Any], base_dir: Path | None, where: str) -> tuple[dict[str, Any], tuple[dict, ...]]:
    """The fixed parameters of every cell, and the base scenario's calibrated draws (if any)."""
    base = raw.get("base", {})
    if not isinstance(base, dict):
        raise UserError(f"{where}: field 'base': got {base!r}; allowed: a table of parameters")
    base = dict(base)
    merged: dict[str, Any] = {}
    draws: tuple[dict[str, Any], ...] = ()
    scenario = base.pop("scenario", None)
    if scenario is not None:
        if not isinstance(scenario, str):
            raise UserError(f"{where}: field 'base.scenario': got {scenario!r}; allowed: a file path or preset name")
        params, draws = load_scenario_and_draws(scenario, relative_to=base_dir)
        merged.update(params)
    merged.update(check_params(base, where=f"{where}: field 'base'"))
    if "weeks" in raw:
        merged.update(check_params({"weeks": raw["weeks"]}, where=f"{where}: field 'weeks'"))
    return merged, draws


def _factors(value: Any, where: str) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or not value:
        raise UserError(f"{where}: field 'factors': got {value!r}; allowed: a table with at least one factor")
    return {name: _factor_values(name, spec, f"{where}: factor {name!r}") for name, spec in value.items()}


def _factor_values(name: str, value: Any, where: str) -> list[Any]:
    if name == ABLATE:
        return _ablation_values(value, where)
    from alignsim.model.params import PARAMS

    if name not in PARAMS:
        raise UserError(f"{where}: unknown parameter {name!r}; see 'alignsim params' for the list")
    values = _expand_range(value, PARAMS[name].kind, where) if isinstance(value, dict) else value
    if isinstance(values, list) and len(values) > MAX_LEVELS:
        raise UserError(f"{where}: got {len(values):,} values; allowed: at most {MAX_LEVELS:,} levels per factor")
    if not isinstance(values, list) or not values:
        raise UserError(f"{where}: got {value!r}; allowed: a non-empty list of values or {{start, stop, num}}")
    checked = [check_params({name: v}, where=where)[name] for v in values]
    if len(set(map(repr, checked))) != len(checked):
        raise UserError(f"{where}: got {values!r}; allowed: distinct values")
    return checked


def _expand_range(value: dict[str, Any], kind: str, where: str) -> list[Any]:
    if set(value) != {"start", "stop", "num"}:
        raise UserError(f"{where}: got keys {sorted(value)}; allowed: exactly start, stop, num")
    start, stop, num = value["start"], value["stop"], value["num"]
    if not all(finite_number(x) for x in (start, stop)):
        raise UserError(f"{where}: got start={shown(start)}, stop={shown(stop)}; allowed: finite numbers")
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= MAX_LEVELS:
        raise UserError(f"{where}: field 'num': got {num!r}; allowed: an integer in [1, {MAX_LEVELS:,}]")
    points = np.linspace(float(start), float(stop), num)
    if kind == "int":
        if not np.allclose(points, np.round(points)):
            raise UserError(f"{where}: range {value!r} gives non-integers; allowed: integer steps")
        return [int(np.rint(p)) for p in points]
    return [round(float(p), 12) for p in points]


def _ablation_values(value: Any, where: str) -> list[str]:
    known = ablations()
    if not known:
        raise UserError(f"{where}: the model exposes no model.mechanisms.ABLATIONS; allowed: no 'ablate' factor")
    values = [NO_ABLATION, *known] if value == "all" else value
    if isinstance(values, list) and len(values) > MAX_LEVELS:
        raise UserError(f"{where}: got {len(values):,} values; allowed: at most {MAX_LEVELS:,} levels per factor")
    if not isinstance(values, list) or not values:
        raise UserError(f'{where}: got {value!r}; allowed: "all" or a non-empty list of mechanism ids')
    for item in values:
        if item != NO_ABLATION and item not in known:
            raise UserError(f"{where}: unknown mechanism {item!r}; allowed: none, {', '.join(known)}")
    if len(set(values)) != len(values):
        raise UserError(f"{where}: got {values!r}; allowed: distinct mechanism ids")
    return list(values)


def _cells(factors: dict[str, list[Any]], design: str, where: str) -> list[dict[str, Any]]:
    names = list(factors)
    if design == "zip":
        lengths = {len(v) for v in factors.values()}
        if len(lengths) != 1:
            sizes = ", ".join(f"{n}={len(v)}" for n, v in factors.items())
            raise UserError(f"{where}: design 'zip' needs factors of equal length; got {sizes}")
        combos = zip(*factors.values(), strict=True)
    else:
        n_cells = math.prod(len(v) for v in factors.values())
        if n_cells > MAX_CELLS:
            sizes = " x ".join(f"{n}={len(v)}" for n, v in factors.items())
            raise UserError(
                f"{where}: design 'cross' gives {n_cells:,} cells ({sizes}); allowed: at most {MAX_CELLS:,} cells"
                " (split the design into several specs)"
            )
        combos = itertools.product(*factors.values())
    return [dict(zip(names, combo, strict=True)) for combo in combos]


def _exclude(
    cells: list[dict[str, Any]], value: Any, factors: dict[str, list[Any]], where: str
) -> list[dict[str, Any]]:
    """``cells`` without those matching every factor value of some ``exclude`` entry."""
    if value is None:
        return cells
    where = f"{where}: field 'exclude'"
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: got {value!r}; allowed: a non-empty list of tables of factor values")
    entries = []
    for entry in value:
        if not isinstance(entry, dict) or not entry:
            raise UserError(f"{where}: got {entry!r}; allowed: a non-empty table of factor = value")
        typed = {}
        for name, level in entry.items():
            if name not in factors:
                raise UserError(f"{where}: unknown factor {name!r}; allowed: {', '.join(factors)}")
            if name != ABLATE:
                level = check_params({name: level}, where=f"{where}: factor {name!r}")[name]
            if level not in factors[name]:
                levels = ", ".join(map(repr, factors[name]))
                raise UserError(f"{where}: {name} = {level!r} is not a level; allowed: one of {levels}")
            typed[name] = level
        if not any(_matches(cell, typed) for cell in cells):
            raise UserError(f"{where}: {entry!r} matches no cell of the design; allowed: entries that match a cell")
        entries.append(typed)
    kept = [cell for cell in cells if not any(_matches(cell, e) for e in entries)]
    if not kept:
        raise UserError(f"{where}: leaves no cell; allowed: exclusions that keep at least one cell")
    return kept


def _matches(cell: dict[str, Any], levels: dict[str, Any]) -> bool:
    return all(cell[k] == v for k, v in levels.items())


def _cell_params(base: dict[str, Any], cell: dict[str, Any], index: int, where: str) -> dict[str, Any]:
    values = dict(base)
    values.update({k: v for k, v in cell.items() if k not in (ABLATE, POINT)})
    if ABLATE in cell:
        values.update(ablations().get(cell[ABLATE], {}))
    label = ", ".join(f"{k}={v}" for k, v in cell.items())
    return full_params(values, where=f"{where}: cell {index} ({label})")
