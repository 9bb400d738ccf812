"""Every chart is produced from a small experiment, and ``alignsim plot`` redraws them from the CSVs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.experiments.charts import plot_experiment
from alignsim.experiments.cli import main
from alignsim.experiments.runner import run_sweep
from alignsim.experiments.spec import ablations, parse_spec

# charts, not learning: a short status quo (each handoff or cycle level would replay its own five years)
BASE = {"replicates": 2, "root_seed": 5, "weeks": 26, "timeseries_every_weeks": 13, "base": {"status_quo_weeks": 13}}
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
        svg = png.with_suffix(".svg").read_text().replace("&#160;", " ")
        assert "95% CI of mean" in svg or "95% paired-bootstrap CI" in svg, "every interval says what it is"
        # words, not code names; no 1e7-style axis offset
        assert "assembly_line" not in svg and "firm_value" not in svg, png.name
        assert not re.search(r">\s*1e\d+\s*<", svg) and "×10" not in svg, png.name


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


def test_two_by_two_in_words_usd_and_no_blank_nrr_panel(experiments):
    plot_experiment(experiments / "two_by_two")  # drawn here: under xdist the drawing test may run elsewhere
    svg = (experiments / "two_by_two" / "charts" / "structure_x_kpi.svg").read_text()
    assert "Firm value (USD)" in svg and "pods, shared KPIs" in svg
    assert re.search(r"\$\d[\d.,]*[kMB]", svg), "USD ticks as $1.2M"
    # 26 weeks: NRR (trailing 52 weeks) is undefined, so it gets no empty panel
    assert "Net revenue retention" not in svg


def test_ablation_rows_name_the_mechanism(experiments):
    folder = experiments / "ablation"
    if not folder.exists():
        pytest.skip("model exposes no ABLATIONS for M5 and M9")
    plot_experiment(folder)  # drawn here: under xdist the test that draws every chart may run elsewhere
    svg = (folder / "charts" / "ablation.svg").read_text()
    from alignsim.model.mechanisms import MECHANISMS

    name = next(m.name for m in MECHANISMS if m.mid == "M5")
    assert f"M5 {name} off" in svg and "full model (nothing off)" in svg


def test_vanity_change_is_the_ratio_of_means_not_the_mean_of_ratios():
    from alignsim.experiments.charts import ratio_of_means

    base = pd.Series([1.0, 10.0, 10.0, 10.0])
    other = pd.Series([2.0, 10.0, 10.0, 10.0])
    point, low, high = ratio_of_means(base, other)
    assert point == pytest.approx(100 * (32 / 31 - 1))  # +3.2%, where the mean of ratios says +25%
    assert np.mean(other / base - 1) * 100 == pytest.approx(25.0)
    assert low <= point <= high


def _chart_bytes(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted((folder / "charts").iterdir())}


def test_charts_drawn_by_helper_processes_are_the_files_drawn_here(experiments):
    """plot_experiment(workers=2) has helpers build and render each of the 2 x 2's charts; every PNG and SVG
    must be byte-identical to the files drawn in this process, and listed in the same order."""
    name = "two_by_two"
    folder = experiments / name
    in_place = plot_experiment(folder, workers=1)
    here = _chart_bytes(folder)
    for path in (folder / "charts").iterdir():
        path.unlink()
    pngs = plot_experiment(folder, workers=2)
    assert pngs == in_place
    assert {p.stem for p in pngs} == EXPECTED[name]
    assert _chart_bytes(folder) == here
    assert len(here) == 2 * len(EXPECTED[name])  # a PNG and an SVG each


def test_weekly_bands_are_mean_ci_of_each_week():
    """The time-series chart's vectorised bands give stats.mean_ci's numbers to the bit, NaNs and ragged weeks too."""
    from alignsim.experiments import stats
    from alignsim.experiments.charts import weekly_mean_ci

    rng = np.random.default_rng(3)
    for trial in range(60):
        runs, weeks = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        values = rng.normal(rng.normal(0, 1e6), rng.uniform(1, 1e5), (weeks, runs))
        if trial % 3 == 0:
            values[rng.integers(weeks), rng.integers(runs)] = np.nan
        rows = pd.DataFrame({"week": np.repeat(4 * np.arange(1, weeks + 1), runs), "value": values.ravel()})
        rows = rows.sample(frac=1.0, random_state=trial).iloc[int(trial % 4 == 0) :]  # shuffled; a week short
        got = weekly_mean_ci(rows)
        want = [[], [], [], []]
        for week, group in rows.groupby("week"):
            ci = stats.mean_ci(group["value"].to_numpy())
            for column, value in zip(want, (week, ci.mean, ci.ci_low, ci.ci_high), strict=True):
                column.append(value)
        assert got[0] == want[0]
        for a, b in zip(got[1:], want[1:], strict=True):
            np.testing.assert_array_equal(np.array(a, dtype=float), np.array(b, dtype=float))


def test_a_chart_job_whose_helper_died_is_run_here_the_same(experiments, tmp_path):
    """A helper killed (out of memory, by hand) costs time, never a chart: its jobs are run in place."""
    from alignsim.experiments.chart_writer import ChartWriter
    from alignsim.experiments.charts import chart_interaction, chart_vanity, drawn

    folder = experiments / "two_by_two"
    want = {name: files for job in (chart_interaction, chart_vanity) for name, files in drawn(job, folder)}
    with ChartWriter(tmp_path / "charts", workers=2) as writer:
        writer.submit(drawn, chart_interaction, folder)  # killed with its helper, or done before: either way
        for process in list(writer._pool._processes.values()):
            process.kill()
            process.join()
        writer.submit(drawn, chart_vanity, folder)  # the pool is broken now: run here
    assert [p.stem for p in writer.written] == ["interaction", "vanity_vs_truth"]
    for name, files in want.items():
        for fmt, data in files.items():
            assert (tmp_path / "charts" / f"{name}.{fmt}").read_bytes() == data
