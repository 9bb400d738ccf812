"""Every chart is produced from a small experiment, and ``alignsim plot`` redraws them from the CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignsim.experiments.charts import plot_experiment
from alignsim.experiments.cli import main
from alignsim.experiments.runner import run_sweep
from alignsim.experiments.spec import ablations, parse_spec

BASE = {"replicates": 2, "root_seed": 5, "weeks": 26, "timeseries_every_weeks": 13}
QUESTION = {"structure": ["assembly_line", "pod"], "kpi": ["siloed", "shared"]}
EXPERIMENTS = {
    "two_by_two": {"factors": QUESTION},
    "sweep": {"factors": {**QUESTION, "handoff_context_loss": [0.0, 0.4, 0.8]}, "timeseries_every_weeks": 0},
    "phase": {
        "factors": {
            "structure": ["assembly_line", "pod"],
            "handoff_context_loss": [0.0, 0.8],
            "sales_cycle_scale": [0.5, 2.0],
        },
        "metrics": ["firm_value", "nrr"],
    },
    "ablation": {"factors": {**QUESTION, "ablate": ["none", "M5", "M9"]}, "timeseries_every_weeks": 0},
}
EXPECTED = {
    "two_by_two": {"structure_x_kpi", "timeseries", "interaction", "vanity_vs_truth"},
    "sweep": {"sweep_handoff_context_loss"},
    "phase": {"phase_handoff_context_loss_x_sales_cycle_scale"},
    "ablation": {"ablation"},
}


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    root = tmp_path_factory.mktemp("charts")
    for name, extra in EXPERIMENTS.items():
        if name == "ablation" and not {"M5", "M9"} <= set(ablations()):
            continue
        spec = parse_spec({"name": name, **BASE, **extra})
        run_sweep(spec, root / name, workers=2, progress=False)
    return root


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_chart_is_drawn(experiments, name):
    folder = experiments / name
    if not folder.exists():
        pytest.skip("model exposes no ABLATIONS for M5 and M9")
    pngs = plot_experiment(folder)
    assert {p.stem for p in pngs} == EXPECTED[name]
    for png in pngs:
        assert png.stat().st_size > 10_000
        svg = png.with_suffix(".svg").read_text()
        assert "95% CI of mean" in svg or "95% CI of mean" in svg.replace("&#160;", " ")


def test_plot_command_redraws_from_csvs_only(experiments, capsys):
    for png in experiments.glob("*/charts/*.png"):
        png.unlink()
    assert main(["plot", str(experiments)]) == 0
    printed = {Path(line).stem for line in capsys.readouterr().out.split()}
    expected = set().union(*(EXPECTED[f.name] for f in experiments.iterdir() if f.is_dir()))
    assert printed == expected


def test_plot_without_experiment_is_a_user_error(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no manifest.json" in err
