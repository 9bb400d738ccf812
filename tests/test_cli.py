"""The ``alignsim`` command: outputs, determinism of ``compare``, and one-line user errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from alignsim.experiments.cli import main
from alignsim.model import SUMMARY_METRICS, TIMESERIES_METRICS
from alignsim.model.params import PARAMS

REPO = Path(__file__).resolve().parent.parent


def test_run_prints_table_and_writes_files(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--structure",
            "pod",
            "--kpi",
            "shared",
            "--seed",
            "7",
            "--weeks",
            "26",
            "--set",
            "n_pods=3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["metric", "value", "unit"]
    assert {line.split()[0] for line in printed[2:] if line} == set(SUMMARY_METRICS)
    record = json.loads((out / "summary.json").read_text())
    assert set(record["summary"]) == set(SUMMARY_METRICS)
    assert record["seed"] == 7
    assert record["params"]["structure"] == "pod" and record["params"]["n_pods"] == 3
    assert record["params"]["weeks"] == 26
    assert {"versions", "git_commit", "timestamp_utc"} <= set(record["metadata"])
    frame = pd.read_csv(out / "timeseries.csv", index_col="week")
    assert list(frame.index) == list(range(1, 27))
    assert set(TIMESERIES_METRICS) <= set(frame.columns)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_run_is_deterministic_and_scenario_then_set_precedence(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text('description = "t"\nn_aes = 8\nn_sdrs = 5\n')
    args = ["run", "--seed", "3", "--weeks", "13", "--scenario", str(scenario), "--set", "n_aes=9"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a["summary"] == b["summary"]
    assert a["params"]["n_aes"] == 9 and a["params"]["n_sdrs"] == 5
    assert (tmp_path / "a" / "timeseries.csv").read_bytes() == (tmp_path / "b" / "timeseries.csv").read_bytes()


def test_params_lists_every_parameter(capsys):
    assert main(["params"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "default", "unit", "allowed"]
    assert {line.split()[0] for line in lines[2:]} == set(PARAMS)


def test_compare_output_identical_whatever_workers(tmp_path, capsys):
    outs = []
    for workers in ("1", "2"):
        folder = tmp_path / f"w{workers}"
        code = main(
            [
                "compare",
                "--reps",
                "3",
                "--weeks",
                "26",
                "--seed",
                "4",
                "--workers",
                workers,
                "--out",
                str(folder),
                "--no-progress",
            ]
        )
        assert code == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    for header in ("firm_value (USD)", "ltv_cohort", "logo_churn_standardised", "payback_months", "95% CI of the mean"):
        assert header in outs[0]
    assert "interaction" in outs[0]
    assert "fixed policy" in outs[0] and "placebo (shared schedule)" in outs[0]
    for name in ("runs.csv", "summary.csv", "timeseries.csv", "contrasts.csv", "interaction.csv", "baselines.csv"):
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes(), name
    runs = pd.read_csv(tmp_path / "w1" / "runs.csv")
    # 2 structures x (fixed policy, placebo siloed/shared, siloed, shared) x 3 replicates
    assert len(runs) == 30 and set(SUMMARY_METRICS) <= set(runs.columns)
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    # charts: tests/test_compare_baselines.py::test_compare_draws_its_charts (charts.py must learn the learning factor)


BAD_TOML = "name = \n[factors\n"
EMPTY_FACTOR = 'name = "x"\n[factors]\nstructure = []\n'
BAD_METRIC = 'name = "x"\nmetrics = ["ltv", "joy"]\n[factors]\nstructure = ["pod"]\n'
BAD_SCENARIO_PARAM = "n_aes = 5\nwibble = 2\n"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--structure", "matrix"], "'structure': got 'matrix'; allowed: one of 'assembly_line', 'pod'"),
        (["run", "--kpi", "bonus"], "'kpi': got 'bonus'"),
        (
            ["run", "--set", "handoff_context_loss=1.7"],
            "'handoff_context_loss': got '1.7'; allowed: a number in [0, 1]",
        ),
        (["run", "--set", "nonsense=1"], "unknown parameter 'nonsense'"),
        (["run", "--set", "n_pods"], "option --set: got 'n_pods'; allowed: NAME=VALUE"),
        (["run", "--structure", "pod", "--set", "n_pods=50"], "parameter 'n_pods': got 50"),
        (["run", "--scenario", "{bad_toml}"], "malformed TOML"),
        (["run", "--scenario", "{bad_scenario}"], "unknown parameter 'wibble'"),
        (["run", "--scenario", "missing.toml"], "scenario 'missing.toml': no such file"),
        (["run", "--seed", "-1"], "argument --seed: got -1"),
        (["run", "--scenario", "{huge_int}"], "parameter 'n_pods': got 9999999999"),
        (["run", "--scenario", "{digits_5000}"], "unreadable value"),
        (["run", "--out", ""], "argument --out: got ''; allowed: a file or folder path"),
        (["run", "--scenario", " "], "argument --scenario: got ' '"),
        (["compare", "--out", ""], "argument --out: got ''"),
        (["sweep", "{base_not_table}", "--scenario", "default"], "field 'base': got 3; allowed: a table"),
        (["sweep", "{levels_huge}"], "field 'sample.levels': got 10000000000"),
        (["sweep", "{reps_huge}"], "field 'replicates': got 99999999999"),
        (["dashboard", "--host", "999.1.1.1", "--port", "8799"], "option --host: got '999.1.1.1'"),
        (["sweep", "{bad_toml}"], "malformed TOML"),
        (["sweep", "{empty_factor}"], "factor 'structure': got []"),
        (["sweep", "{bad_metric}"], "unknown summary metric 'joy'"),
        (["sweep", "structure_x_kpi", "--engine", "spark"], "option --engine: got 'spark'"),
        (["sweep", "structure_x_kpi", "--scheduler", "tcp://127.0.0.1:1"], "option --scheduler"),
        (["compare", "--reps", "zero"], "argument --reps: got 'zero'"),
        (["compare", "--out", "{a_file}"], "is a file"),
        (["run", "--out", "{a_file}"], "is a file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_one_line_exit_2_nothing_written(tmp_path, capsys, monkeypatch, argv, needle):
    files = {
        "bad_toml": BAD_TOML,
        "empty_factor": EMPTY_FACTOR,
        "bad_metric": BAD_METRIC,
        "bad_scenario": BAD_SCENARIO_PARAM,
        "a_file": "x",
        "huge_int": "n_pods = " + "9" * 400 + "\n",  # too large for a float
        "digits_5000": "n_pods = " + "9" * 5000 + "\n",  # past Python's limit for reading an integer
        "base_not_table": 'name = "x"\nbase = 3\n[factors]\nstructure = ["pod"]\n',
        "levels_huge": 'name = "x"\ndesign = "morris"\n[sample]\ninputs = ["handoff_context_loss"]\nn = 2\n'
        'levels = 100000000000000000000\n[factors]\nstructure = ["pod"]\n',
        "reps_huge": 'name = "x"\nreplicates = ' + "9" * 40 + '\n[factors]\nstructure = ["pod"]\n',
    }
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text)
    argv = [a.format(**{k: str(tmp_path / f"{k}.toml") for k in files}) for a in argv]
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    if "--out" not in argv and argv[0] in ("run", "sweep", "compare"):
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert needle in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_error_in_a_real_process_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "experiments", "run", "--set", "n_aes=0", "--out", "x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "alignsim run: error: option --set: parameter 'n_aes': got '0'; allowed: an integer in [1, 400]\n"
    )
    assert not (tmp_path / "x").exists()


def _run_out(tmp_path: Path, out: Path) -> int:
    return main(["run", "--weeks", "4", "--set", "status_quo_weeks=13", "--no-progress", "--out", str(out)])


def test_run_out_replaces_its_own_files_and_refuses_anything_else(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run_out(tmp_path, out) == 0 and _run_out(tmp_path, out) == 0  # a rerun replaces its two files
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "timeseries.csv"]
    foreign = tmp_path / "experiment"
    foreign.mkdir()
    (foreign / "manifest.json").write_text("{}")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text('{"my": "notes"}')
    capsys.readouterr()
    for folder in (foreign, mine):
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        assert _run_out(tmp_path, folder) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "option --out:" in err and "allowed: a new or empty folder" in err, err
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_report_and_export_refuse_what_they_cannot_use(tmp_path, capsys):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    assert main(["report", str(folder), "--out", str(tmp_path / "r.html")]) == 2  # no runs.csv: nothing to report
    assert "has no runs.csv" in capsys.readouterr().err and not (tmp_path / "r.html").exists()
    (folder / "export").write_text("a file where the default export folder goes")
    assert main(["export", str(folder), "--format", "parquet"]) == 2
    assert "is a file; allowed: a folder path" in capsys.readouterr().err


def test_calibrate_refuses_an_out_holding_other_results(tmp_path, capsys):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    profile = tmp_path / "p.toml"
    assert main(["init"]) == 0
    profile.write_text(capsys.readouterr().out)
    argv = ["calibrate", str(profile), "--waves", "1", "--points", "4", "--reps", "2", "--out", str(out)]
    assert main([*argv, "--no-progress", "--workers", "1"]) == 2
    assert "holds manifest.json, not a calibration's" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    fresh = ["calibrate", str(profile), "--points", "1024", "--out", str(tmp_path / "cal"), "--no-progress"]
    assert main(fresh) == 2  # a wave's factor holds at most 1,000 values: said of --points, before any run
    assert "option --points: got 1024; allowed: a power of 2 from 4 to 512" in capsys.readouterr().err
    assert not (tmp_path / "cal").exists()


def test_reproduce_refuses_to_replace_what_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "quick").mkdir(parents=True)
    (out / "quick" / "README.md").write_text("# My notes\n")
    argv = ["reproduce", "--quick", "--out", str(out), "--workers", "1", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "was not written by alignsim reproduce" in err and err.count("\n") == 1
    assert sorted(p.name for p in out.rglob("*")) == ["README.md", "quick"]
    (out / "quick" / "README.md").unlink()
    (out / "quick" / "structure_x_kpi").mkdir()
    (out / "quick" / "structure_x_kpi" / "notes.txt").write_text("x")
    assert main(argv) == 2
    assert "holds something other than an experiment" in capsys.readouterr().err


def test_the_console_script_runs_main_returns_its_code_and_leaves_what_is_left_to_the_system(monkeypatch, capsys):
    """``alignsim`` is ``cli:command``: main's exit code, then every object frozen, so the interpreter's final
    collection skips them (0.3-0.6 s at the end of every command); a console script pointing at main again,
    or a command that forgets to freeze, fails here."""
    import gc
    import tomllib

    from alignsim.experiments.cli import command

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"alignsim": "alignsim.experiments.cli:command"}
    for argv, code in ((["alignsim", "--version"], 0), (["alignsim", "sweep", "no-such-spec"], 2)):
        monkeypatch.setattr(sys, "argv", argv)
        frozen = gc.get_freeze_count()
        try:
            assert command() == code
            assert gc.get_freeze_count() > frozen
        finally:
            gc.unfreeze()
    capsys.readouterr()
