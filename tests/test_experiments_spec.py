"""Experiment specs: parsing, ranges, designs, seeds (common random numbers) and every error path."""

from __future__ import annotations

import numpy as np
import pytest

from alignsim.experiments.errors import UserError
from alignsim.experiments.spec import SPEC_DIR, load_spec, parse_spec, seed_for
from alignsim.model.params import DEFAULTS


def _spec(**extra):
    raw = {"name": "t", "replicates": 2, "weeks": 26, "factors": {"structure": ["assembly_line", "pod"]}}
    raw.update(extra)
    return parse_spec(raw)


def test_cross_design_cells_and_params():
    spec = _spec(factors={"structure": ["assembly_line", "pod"], "kpi": ["siloed", "shared"]})
    assert spec.cells == [
        {"structure": "assembly_line", "kpi": "siloed"},
        {"structure": "assembly_line", "kpi": "shared"},
        {"structure": "pod", "kpi": "siloed"},
        {"structure": "pod", "kpi": "shared"},
    ]
    assert spec.n_runs == 8
    assert all(p["weeks"] == 26 for p in spec.cell_params)
    assert spec.cell_params[3]["structure"] == "pod" and spec.cell_params[3]["kpi"] == "shared"
    assert spec.cell_params[0]["handoff_context_loss"] == DEFAULTS["handoff_context_loss"]


def test_zip_design_and_range():
    spec = _spec(
        design="zip",
        factors={
            "handoff_context_loss": {"start": 0.0, "stop": 0.5, "num": 3},
            "n_pods": [1, 2, 3],
        },
    )
    assert [c["handoff_context_loss"] for c in spec.cells] == [0.0, 0.25, 0.5]
    assert [c["n_pods"] for c in spec.cells] == [1, 2, 3]


def test_base_scenario_and_inline_params():
    spec = _spec(base={"scenario": "enterprise", "n_aes": 9})
    assert spec.cell_params[0]["share_enterprise"] == 0.5
    assert spec.cell_params[0]["n_aes"] == 9


def test_crn_seeds_equal_spawned_children_and_shared_by_cells():
    spawned = np.random.SeedSequence(1234).spawn(5)
    expected = [int(s.generate_state(1, dtype=np.uint32)[0]) for s in spawned]
    assert [seed_for(1234, r) for r in range(5)] == expected
    spec = _spec(root_seed=1234, replicates=5)
    assert [spec.seed(r) for r in range(5)] == expected
    assert len(set(expected)) == 5


def test_hash_changes_with_anything_that_changes_rows():
    base = _spec()
    assert base.hash() == _spec().hash()
    assert base.hash() == _spec(name="other", description="x").hash()
    for change in (
        {"replicates": 3},
        {"root_seed": 9},
        {"weeks": 27},
        {"metrics": ["ltv"]},
        {"timeseries_every_weeks": 13},
        {"base": {"n_aes": 7}},
    ):
        assert _spec(**change).hash() != base.hash(), change


def test_every_preset_spec_loads():
    names = sorted(p.stem for p in SPEC_DIR.glob("*.toml"))
    assert "structure_x_kpi" in names and "phase_handoff_x_cycle" in names
    for name in names:
        spec = load_spec(name)
        assert spec.name == name
        assert spec.n_runs > 0


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"name": "bad name"}, "field 'name'"),
        ({"design": "grid"}, "field 'design'"),
        ({"replicates": 0}, "field 'replicates'"),
        ({"root_seed": -1}, "field 'root_seed'"),
        ({"weeks": 0}, "parameter 'weeks'"),
        ({"metrics": ["ltv", "happiness"]}, "unknown summary metric 'happiness'"),
        ({"timeseries_metrics": ["nope"]}, "unknown time-series metric 'nope'"),
        ({"timeseries_every_weeks": -4}, "field 'timeseries_every_weeks'"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"factors": {}}, "field 'factors'"),
        ({"factors": {"structure": []}}, "factor 'structure'"),
        ({"factors": {"structure": ["matrix"]}}, "parameter 'structure': got 'matrix'"),
        ({"factors": {"wibble": [1, 2]}}, "unknown parameter 'wibble'"),
        ({"factors": {"handoff_context_loss": [0.1, 1.5]}}, "got 1.5"),
        ({"factors": {"handoff_context_loss": {"start": 0, "stop": 1}}}, "start, stop, num"),
        ({"factors": {"n_pods": {"start": 1, "stop": 2, "num": 3}}}, "non-integers"),
        ({"factors": {"n_pods": [1, 1]}}, "distinct"),
        ({"design": "zip", "factors": {"n_pods": [1, 2], "kpi": ["shared"]}}, "equal length"),
        ({"base": {"scenario": "nowhere"}}, "scenario 'nowhere'"),
        ({"base": {"n_aes": -3}}, "parameter 'n_aes'"),
        ({"base": {"structure": "pod"}, "factors": {"n_pods": [1, 50]}}, "n_pods"),
    ],
)
def test_spec_errors_name_the_field(change, needle):
    with pytest.raises(UserError) as info:
        _spec(**change)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message
