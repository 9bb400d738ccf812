"""Global sensitivity and scenario discovery (issue 12): sampled designs, indices, boxes, replicates, simulate().

The analysis tests use synthetic experiment folders whose responses are known functions of the
inputs (plus seeded noise of known s.d.), so each index or box has a right answer; tolerances are
from the sample sizes (stated at each assertion). The end-to-end test runs the real model on a
tiny design through the CLI.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.experiments import responses as resp
from alignsim.experiments.design import draw
from alignsim.experiments.discovery import contrast_arrays, fit_boxes
from alignsim.experiments.errors import UserError
from alignsim.experiments.global_report import analyse
from alignsim.experiments.sensitivity import SampledExperiment, indices
from alignsim.experiments.spec import parse_spec
from alignsim.model.params import PARAMS, parameter_ranges

CELLS = [("assembly_line", "siloed"), ("assembly_line", "shared"), ("pod", "siloed"), ("pod", "shared")]


def _ranged(kind: str, k: int) -> list[str]:
    """The first ``k`` parameters of a kind that have a plausible range."""
    return [n for n in parameter_ranges() if PARAMS[n].kind == kind][:k]


def _spec(design: str = "morris", n: int = 2, inputs: list[str] | None = None, **sample) -> dict:
    return {
        "name": "t",
        "design": design,
        "replicates": 2,
        "weeks": 26,
        "timeseries_every_weeks": 0,
        "metrics": ["firm_value"],
        "sample": {"inputs": inputs or _ranged("float", 3), "n": n, "seed": 3, **sample},
        "factors": {"structure": ["assembly_line", "pod"], "kpi": ["siloed", "shared"]},
    }


# --- designs ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("design", "n", "points"), [("lhs", 10, 10), ("morris", 2, 8), ("sobol", 4, 20)])
def test_sampled_spec_runs_every_design_at_every_point_with_one_seed_per_replicate(design, n, points):
    spec = parse_spec(_spec(design, n))
    assert spec.sample.n_points == points  # lhs n; morris n (k + 1); sobol n (k + 2), k = 3
    assert len(spec.cells) == points * 4
    for i in range(points):
        cells = spec.cells[4 * i : 4 * i + 4]
        assert [(c["structure"], c["kpi"]) for c in cells] == CELLS
        assert all(c["point"] == i for c in cells)
        # the four designs of a point share its input values (paired), in the model parameters too
        for name in spec.sample.inputs:
            assert len({c[name] for c in cells}) == 1
            assert len({p[name] for p in spec.cell_params[4 * i : 4 * i + 4]}) == 1
    assert spec.factor_names[:4] == ["point", *spec.sample.inputs]
    assert spec.seed(1) == parse_spec(_spec(design, n)).seed(1)


def test_samples_are_seeded_within_the_plausible_ranges_and_lhs_stratifies():
    ranges = {k: parameter_ranges()[k] for k in _ranged("float", 3)}
    a, b = draw("lhs", ranges, 20, seed=5), draw("lhs", ranges, 20, seed=5)
    assert np.array_equal(a, b) and not np.array_equal(a, draw("lhs", ranges, 20, seed=6))
    for j, (low, high) in enumerate(ranges.values()):
        assert np.all((a[:, j] >= low) & (a[:, j] <= high))
        strata = np.floor((a[:, j] - low) / (high - low) * 20).clip(0, 19)
        assert sorted(strata) == list(range(20))  # one point per twentieth of the range
    name = _ranged("int", 1)[0]
    ints = draw("morris", {name: parameter_ranges()[name], **ranges}, 4, seed=1)[:, 0]
    assert np.array_equal(ints, np.rint(ints))


@pytest.mark.parametrize(
    ("design", "sample", "match"),
    [
        ("sobol", {"n": 3}, "power of 2"),
        ("morris", {"inputs": ["no_such_parameter"]}, "no_such_parameter"),
        ("morris", {"inputs": ["structure"]}, "structure"),
        ("morris", {"n": 0}, "sample.n"),
        ("morris", {"levels": 3}, "even"),
        ("morris", {"bogus": 1}, "bogus"),
    ],
)
def test_bad_sample_fields_are_named(design, sample, match):
    raw = _spec(design)
    raw["sample"].update(sample)
    with pytest.raises(UserError, match=match):
        parse_spec(raw)


def test_sample_needs_a_sampled_design_and_an_input_cannot_also_be_a_factor():
    raw = _spec()
    raw["design"] = "cross"
    with pytest.raises(UserError, match="sampled design"):
        parse_spec(raw)
    raw = _spec()
    raw["factors"][raw["sample"]["inputs"][0]] = [0.1, 0.2]
    with pytest.raises(UserError, match="both sampled and a factor"):
        parse_spec(raw)


# --- synthetic experiments ----------------------------------------------------------------------
def _fake_experiment(tmp_path: Path, design: str, n: int, effects, sd: float = 1e6, reps: int = 3, seed: int = 0):
    """A finished sampled experiment whose firm value is known: AL siloed = base(x), other designs add effects(x).

    ``effects(x)`` returns (pod effect, shared effect) per point; the interaction is zero. Each run adds
    independent normal noise of s.d. ``sd``.
    """
    spec = parse_spec(_spec(design, n, inputs=_ranged("float", 3)))
    x = spec.sample.values
    pod, shared = effects(x)
    rng = np.random.default_rng(seed)
    rows = []
    for cell_index, cell in enumerate(spec.cells):
        i = cell["point"]
        mean = 5e8 + 1e8 * x[i, 0] + (cell["structure"] == "pod") * pod[i] + (cell["kpi"] == "shared") * shared[i]
        for r in range(reps):
            rows.append({"run_id": f"{cell_index}-{r}", "cell": cell_index, "replicate": r, "firm_value": mean})
    runs = pd.DataFrame(rows)
    runs["firm_value"] += rng.normal(0.0, sd, len(runs))
    runs.to_csv(tmp_path / "runs.csv", index=False)
    manifest = {
        "factors": spec.factors,
        "cells": spec.cells,
        "metrics": ["firm_value"],
        "sample": spec.sample.as_dict(),
        "replicates": reps,
        "root_seed": 0,
        "runs": {"done": len(runs), "planned": len(runs)},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return spec


def test_contrasts_are_paired_differences_per_replicate(tmp_path):
    _fake_experiment(tmp_path, "lhs", 6, lambda x: (np.full(len(x), 3e7), np.full(len(x), -1e7)), sd=0.0)
    table = SampledExperiment(tmp_path).table
    assert np.allclose(table["pod_minus_assembly_mean"], 3e7)
    assert np.allclose(table["shared_minus_siloed_mean"], -1e7)
    assert np.allclose(table["interaction_mean"], 0.0, atol=1e-3)
    assert (table["pod_minus_assembly_n"] == 3).all()


def test_morris_ranks_the_input_that_acts_first_and_the_others_below_the_noise_floor(tmp_path):
    # pod effect = 2e8 * x1 (second input) only; 10 trajectories x 4 points, noise s.d. 1e6 per run
    spec = _fake_experiment(tmp_path, "morris", 10, lambda x: (2e8 * (x[:, 1] - x[:, 1].mean()), np.zeros(len(x))))
    exp = SampledExperiment(tmp_path)
    frame = indices(exp, "pod_minus_assembly")
    acting = spec.sample.inputs[1]
    assert frame.index[0] == acting
    low, high = parameter_ranges()[acting]
    # mu* of a linear effect = slope x range (SALib scales inputs to [0, 1]); exact up to the noise floor
    assert frame.loc[acting, "mu_star"] == pytest.approx(2e8 * (high - low), rel=0.05)
    others = frame.drop(acting)
    # noise-only inputs: mu* within a few noise floors (mean of |N| over 10 effects: sd of the mean ~ floor/3)
    assert (others["mu_star"] < 3 * others["mu_star_noise_floor"]).all()


def test_sobol_indices_recover_an_additive_function(tmp_path):
    # shared effect = 3 a + 1 b (scaled to [0, 1]): S1 = 9/10 and 1/10, ST = S1, third input 0
    def effects(x):
        ranges = np.array([parameter_ranges()[n] for n in _ranged("float", 3)])
        u = (x - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0])
        return np.zeros(len(x)), 1e8 * (3 * u[:, 0] + u[:, 1])

    _fake_experiment(tmp_path, "sobol", 256, effects, sd=1e5, reps=2)
    frame = indices(SampledExperiment(tmp_path), "shared_minus_siloed")
    a, b, c = _ranged("float", 3)
    # tolerance: 3 x the bootstrap CI half-width plus 0.03 (N = 256 base samples)
    for name, target in ((a, 0.9), (b, 0.1), (c, 0.0)):
        tol = 3 * frame.loc[name, "st_ci95_halfwidth"] + 0.03
        assert frame.loc[name, "st"] == pytest.approx(target, abs=tol)
        assert frame.loc[name, "s1"] == pytest.approx(target, abs=3 * frame.loc[name, "s1_ci95_halfwidth"] + 0.03)


def test_discovery_finds_the_box_where_pods_win(tmp_path):
    spec = _fake_experiment(
        tmp_path, "lhs", 200, lambda x: (np.where(x[:, 2] > np.median(x[:, 2]), 5e7, -5e7), np.zeros(len(x)))
    )
    exp = SampledExperiment(tmp_path)
    y, significant, halfwidth = contrast_arrays(exp, "pod_minus_assembly")
    assert significant.all() and halfwidth < 5e7  # noise 1e6 per run: every point is clear
    best = fit_boxes(exp.table[exp.inputs], y, significant)[0]
    name = spec.sample.inputs[2]
    assert best.density == 1.0 and best.coverage == 1.0
    assert name in best.rule and ">" in best.rule
    assert best.bounds[name][0] == pytest.approx(np.median(exp.table[name]), rel=0.05)


def test_replicate_noise_is_pooled_and_the_advice_follows_from_it(tmp_path):
    _fake_experiment(tmp_path, "lhs", 100, lambda x: (np.zeros(len(x)), np.zeros(len(x))), sd=2e6, reps=4)
    noise = resp.noise(SampledExperiment(tmp_path).table, "pod_minus_assembly")
    # the pod contrast is the mean of two differences of independent runs: s.d. = 2e6 (sqrt(2 + 2) / 2 = 1);
    # pooled over 100 x 3 df, its estimate is within 3 x 2e6 / sqrt(2 x 300) of the truth
    assert noise.sd_within == pytest.approx(2e6, abs=3 * 2e6 / math.sqrt(600))
    assert noise.df == 300 and noise.replicates == 4
    assert noise.replicates_for(1e6) == math.ceil((1.959964 * noise.sd_within / 1e6) ** 2)
    assert noise.noise_share == pytest.approx(1.0, abs=0.35)  # no real effect: the spread is all noise


def test_analyse_waits_for_every_run(tmp_path):
    _fake_experiment(tmp_path, "morris", 2, lambda x: (np.zeros(len(x)), np.zeros(len(x))))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["runs"]["done"] -= 1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert analyse(tmp_path) is None and not (tmp_path / "findings.md").exists()


# --- peer-tool functions ------------------------------------------------------------------------
def test_simulate_is_a_plain_function_that_peer_tools_can_drive():
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    import alignsim

    ranges = alignsim.parameter_ranges()
    names = ["handoff_context_loss", "prospects_per_week"]
    problem = {"num_vars": 2, "names": names, "bounds": [list(ranges[n]) for n in names]}
    x = morris_sample.sample(problem, 2, num_levels=4, seed=1)
    y = np.array(
        [
            alignsim.simulate(seed=1, weeks=26, status_quo_weeks=26, **dict(zip(names, row, strict=True)))["firm_value"]
            for row in x
        ]
    )
    assert np.all(np.isfinite(y)) and len(set(y.round(2))) > 1  # the inputs act
    result = morris_analyze.analyze(problem, x, y, num_levels=4, seed=1)
    assert set(result["names"]) == set(names)
    again = alignsim.simulate(seed=1, weeks=26, status_quo_weeks=26, **dict(zip(names, x[0], strict=True)))
    assert again["firm_value"] == y[0]  # same seed, same number


def test_simulate_rounds_integer_inputs_and_names_bad_values():
    import alignsim

    a = alignsim.simulate(seed=2, weeks=13, status_quo_weeks=13, structure="pod", n_pods=2.4)
    b = alignsim.simulate(seed=2, weeks=13, status_quo_weeks=13, structure="pod", n_pods=2)
    assert a == b
    with pytest.raises(ValueError, match="handoff_context_loss"):
        alignsim.simulate(handoff_context_loss=7.0)


def test_simulate_leaves_the_callers_start_method_alone():
    code = (
        "import multiprocessing as mp, alignsim;"
        "alignsim.simulate(seed=1, weeks=4, status_quo_weeks=13);"
        "print(mp.get_start_method(allow_none=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "None"
    assert multiprocessing.get_start_method(allow_none=True) in (None, "spawn", "fork", "forkserver")


def test_parameter_ranges_cover_the_learning_constants():
    ranges = parameter_ranges()
    assert {"learning_rate", "exploration_sd"} <= set(ranges)
    assert all(low < high for low, high in ranges.values())


# --- end to end ---------------------------------------------------------------------------------
def test_sensitivity_and_discover_cli_end_to_end(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        'name = "tiny"\ndesign = "morris"\nreplicates = 2\nroot_seed = 1\nweeks = 26\ntimeseries_every_weeks = 0\n'
        'metrics = ["firm_value"]\n[base]\nstatus_quo_weeks = 26\n'
        '[sample]\ninputs = ["handoff_context_loss", "prospects_per_week"]\nn = 2\nseed = 1\n'
        '[factors]\nstructure = ["assembly_line", "pod"]\nkpi = ["siloed", "shared"]\n'
    )
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "alignsim.experiments", "sensitivity", str(spec), "--out", str(out), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Most influential inputs" in done.stdout and "replicates" in done.stdout
    for name in ("points.csv", "sensitivity.csv", "replicates.csv", "discovery.csv", "shares.csv", "findings.md"):
        assert (out / name).is_file(), name
    assert (out / "charts" / "morris.png").is_file() and (out / "charts" / "design_shares.png").is_file()
    sens = pd.read_csv(out / "sensitivity.csv")
    assert set(sens["input"]) == {"handoff_context_loss", "prospects_per_week"}
    assert (sens["mu_star"] >= 0).all()
    again = subprocess.run([*cmd[:3], "discover", *cmd[4:]], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 now, 48 reused" in again.stderr
    assert "Regions:" in again.stdout
    bad = subprocess.run([*cmd[:3], "sensitivity", "structure_x_kpi"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "sampled design" in bad.stderr and "Traceback" not in bad.stderr
