"""Bad input to the learning studies (``python -m alignsim.experiments.<study>``) and to the output
options of ``report`` and ``calibrate``: one line on stderr naming the option, the value and what is
allowed, exit code 2, no traceback, nothing written, and all of it before any run starts (each case
would otherwise simulate for minutes or fail only after its runs)."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from alignsim.experiments.cli import main
from alignsim.experiments.metadata import REPO_ROOT

CASES = [
    ("learning_report", ["--seeds", "0"], "argument --seeds: got 0; allowed: an integer >= 1"),
    ("learning_report", ["--seeds", "abc"], "argument --seeds: got 'abc'; allowed: an integer >= 1"),
    ("learning_report", ["--weeks", "99999"], "option --weeks: parameter 'weeks': got 99999; allowed:"),
    ("learning_report", ["--out", "{file}/sub.md"], "lies inside the file"),
    ("learning_report", ["--out", "{dir}"], "is a folder; allowed: a file path"),
    ("shared_signal", ["--gradient-seeds", "x"], "argument --gradient-seeds: got 'x'; allowed: an integer >= 2"),
    ("shared_signal", ["--out", "{file}"], "is a file; allowed: a folder path"),
    ("policy_attribution", ["--weeks", "99999"], "option --weeks: parameter 'weeks': got 99999; allowed:"),
    ("policy_attribution", ["--headrooms", "8,200"], "option --headrooms: parameter 'market_headroom': got 200"),
    ("policy_attribution", ["--workers", "0"], "argument --workers: got 0; allowed: an integer >= 1"),
    ("policy_attribution", ["--out", "{file}"], "is a file; allowed: a folder path"),
    ("policy_attribution", ["--headrooms", "4,4"], "argument --headrooms: got '4,4'; allowed: distinct"),
    ("settled_policies", ["--weeks", "260,99999"], "option --weeks: parameter 'weeks': got 99999; allowed:"),
    ("settled_policies", ["--learn-weeks", "99999"], "option --learn-weeks: parameter 'weeks': got 99999"),
    ("settled_policies", ["--long-learn-weeks", "5000"], "option --long-learn-weeks: parameter 'weeks': got 5000"),
    ("settled_policies", ["--long-learn-weeks", "-1"], "argument --long-learn-weeks: got -1; allowed: an integer >= 0"),
    ("settled_policies", ["--out", "{file}"], "is a file; allowed: a folder path"),
]


def _fill(argv: list[str], tmp_path: Path) -> list[str]:
    (tmp_path / "afile").write_text("x")
    return [a.format(file=tmp_path / "afile", dir=tmp_path) for a in argv]


@pytest.mark.parametrize(("study", "argv", "expected"), CASES)
def test_bad_input_to_a_study_is_one_line_exit_2_before_any_run(study, argv, expected, tmp_path, capsys, monkeypatch):
    module = importlib.import_module(f"alignsim.experiments.{study}")
    monkeypatch.setattr(module, "measure", lambda *a, **k: pytest.fail("a run started"), raising=False)
    monkeypatch.setattr(module, "diagnostics", lambda *a, **k: pytest.fail("a run started"), raising=False)
    out = ["--out", str(tmp_path / "out")] if "--out" not in argv else []
    with pytest.raises(SystemExit) as stop:
        module.main([*_fill(argv, tmp_path), *out])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and expected in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written


@pytest.mark.parametrize("damage", ["empty run file", "no provenance", "other columns"])
def test_from_runs_on_damaged_files_is_one_line_exit_2(damage, tmp_path, capsys):
    from alignsim.experiments import shared_signal

    out = tmp_path / "study"
    shutil.copytree(REPO_ROOT / "results" / "shared_signal", out)
    if damage == "empty run file":
        (out / "signal_runs.csv").write_text("")
    elif damage == "no provenance":
        (out / "README.md").write_text("# a README someone rewrote\n")
    else:  # well-formed CSVs that are not the study's: the tables cannot be built, nothing is replaced
        for name in ("signal_runs.csv", "gradient_runs.csv", "limits_runs.csv"):
            (out / name).write_text("a,b\n1,2\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(SystemExit) as stop:
        shared_signal.main(["--from-runs", "--out", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--from-runs:" in err and "allowed:" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing rewritten


def test_report_out_at_a_folder_is_refused_and_a_missing_parent_is_made(tmp_path, capsys):
    folder = REPO_ROOT / "results" / "structure_x_kpi"
    assert main(["report", str(folder), "--out", str(tmp_path)]) == 2
    assert "option --out: " in capsys.readouterr().err and not any(tmp_path.iterdir())
    target = tmp_path / "new" / "dir" / "report.html"
    assert main(["report", str(folder), "--out", str(target)]) == 0
    assert target.is_file()


def test_learning_report_out_in_a_missing_folder_is_written_there(tmp_path):
    # the folder check accepts a folder still to be made; the write used to fail after every run
    from alignsim.experiments import learning_report

    target = tmp_path / "new" / "dir" / "learning.md"
    assert learning_report.main(["--seeds", "1", "--weeks", "4", "--out", str(target)]) == 0
    assert target.read_text().startswith("# Learning diagnostics (1 seeds per cell, 4 weeks")


def test_calibrate_out_at_a_file_is_refused_before_the_first_wave(tmp_path, capsys, monkeypatch):
    from alignsim.experiments import calibrate

    monkeypatch.setattr(calibrate, "calibrate", lambda *a, **k: pytest.fail("calibration started"))
    (tmp_path / "afile").write_text("x")
    profile = REPO_ROOT / "experiments" / "scenarios" / "company_smb.toml"
    assert main(["calibrate", str(profile), "--out", str(tmp_path / "afile"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"option --out: '{tmp_path / 'afile'}' is a file" in err
