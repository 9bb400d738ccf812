"""``alignsim reproduce --studies``: the learning studies' commands, kept in one place, are the ones their
committed READMEs record, and the command runs each of them in order and stops at the first failure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from alignsim.experiments import reproduce_studies as rs
from alignsim.experiments.cli import main
from alignsim.experiments.metadata import REPO_ROOT

RESULTS = REPO_ROOT / "results"


@pytest.mark.parametrize(("name", "command"), rs.STUDIES)
def test_each_command_is_the_one_its_committed_readme_records(name, command):
    readme = RESULTS / name if name.endswith(".md") else RESULTS / name / "README.md"
    recorded = re.search(r"Produced by `([^`]*)`", readme.read_text())
    assert recorded is not None and recorded.group(1) == command


def test_the_argv_is_the_recorded_command_and_only_another_out_changes_it(tmp_path):
    name, command = rs.STUDIES[3]  # policy_attribution_5y: a command with its own --out
    assert rs.study_argv(command, name, RESULTS) == [sys.executable, *command.split()[1:]]
    argv = rs.study_argv(command, name, tmp_path)
    assert argv[:3] == [sys.executable, "-m", "alignsim.experiments.policy_attribution"]
    assert argv.count("--out") == 1 and argv[-2:] == ["--out", str(tmp_path / name)]


class Recorder:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[list[str], Path]] = []
        self.envs: list[dict[str, str] | None] = []
        self.fail_at = fail_at

    def __call__(self, argv, cwd, check, env=None):
        self.calls.append((argv, cwd))
        self.envs.append(env)
        code = 3 if len(self.calls) - 1 == self.fail_at else 0
        return subprocess.CompletedProcess(argv, code)


def test_every_study_runs_in_order_from_the_project_root(tmp_path, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(rs.subprocess, "run", recorder)
    assert main(["reproduce", "--studies", "--out", str(tmp_path), "--no-progress"]) == 0
    assert [argv[2] for argv, _ in recorder.calls] == [command.split()[2] for _, command in rs.STUDIES]
    assert [argv[-1] for argv, _ in recorder.calls] == [str(tmp_path.resolve() / name) for name, _ in rs.STUDIES]
    assert {cwd for _, cwd in recorder.calls} == {REPO_ROOT}
    assert all(env["TQDM_DISABLE"] == "1" for env in recorder.envs)  # --no-progress reaches the studies' bars


def test_the_studies_show_their_progress_bars_unless_told_not_to(tmp_path, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(rs.subprocess, "run", recorder)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert main(["reproduce", "--studies", "--out", str(tmp_path)]) == 0
    assert recorder.envs == [None] * len(rs.STUDIES)  # the environment is inherited as it is


def test_a_failing_study_stops_the_rest_and_is_named(tmp_path, monkeypatch, capsys):
    recorder = Recorder(fail_at=1)
    monkeypatch.setattr(rs.subprocess, "run", recorder)
    assert main(["reproduce", "--studies", "--out", str(tmp_path), "--no-progress"]) == 1
    assert len(recorder.calls) == 2
    assert f"{rs.STUDIES[1][0]} failed (exit 3)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "given", [["--quick"], ["--resume"], ["--engine", "dask"], ["--workers", "3"], ["--scheduler", "tcp://x:1"]]
)
def test_studies_with_an_option_of_the_experiments_is_refused(tmp_path, monkeypatch, capsys, given):
    recorder = Recorder()
    monkeypatch.setattr(rs.subprocess, "run", recorder)
    out = tmp_path / "r"
    assert main(["reproduce", "--studies", *given, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"option {given[0]}: not with --studies" in err and f"with {given[0]}" in err and "Traceback" not in err
    assert not recorder.calls and not out.exists()


def test_an_output_path_of_the_wrong_kind_is_refused_before_any_study_runs(tmp_path, monkeypatch, capsys):
    recorder = Recorder()
    monkeypatch.setattr(rs.subprocess, "run", recorder)
    (tmp_path / "policy_attribution").write_text("x")  # a file where a study writes a folder
    assert main(["reproduce", "--studies", "--out", str(tmp_path)]) == 2
    assert "policy_attribution' is in the way; allowed: a folder there" in capsys.readouterr().err
    assert not recorder.calls


def test_an_interrupt_says_which_studies_were_rewritten(tmp_path, monkeypatch, capsys):
    calls = []

    def interrupted_second(argv, cwd, check, env=None):
        calls.append(argv)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(rs.subprocess, "run", interrupted_second)
    assert main(["reproduce", "--studies", "--out", str(tmp_path), "--no-progress"]) == 130
    err = capsys.readouterr().err
    first, second = rs.STUDIES[0][0], rs.STUDIES[1][0]
    assert f"interrupted during {second}" in err and f"rewritten: {first}." in err and "resume" not in err
