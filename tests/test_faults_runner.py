"""Fault injection for the sweep runner (issue 11: nothing lost, nothing false, nothing left running).

Each test damages a sweep the way the world does (SIGTERM, kill -9, a truncated or corrupted file, a
foreign row, a full disk, a read-only folder) and checks three things: what the user is told (exit
code, one line on stderr), that no process is left behind, and that resuming gives files
byte-identical to an uninterrupted sweep.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from alignsim.experiments import engines, runner
from alignsim.experiments.cli import main
from alignsim.experiments.engines import default_workers, worker_count
from alignsim.experiments.runner import run_sweep
from alignsim.experiments.spec import load_spec
from alignsim.experiments.verify import verify

FILES = ("runs.csv", "timeseries.csv", "summary.csv", "contrasts.csv", "interaction.csv")
WORKERS = min(2, default_workers())
SPEC = """
name = "faults"
replicates = {reps}
root_seed = 5
weeks = {weeks}
timeseries_every_weeks = 13
metrics = ["ltv", "logo_churn", "nrr", "cac", "bookings"]

[base]
status_quo_weeks = 13  # faults of the runner and store, not learning: a short status quo

[factors]
structure = ["assembly_line", "pod"]
kpi = ["siloed", "shared"]
"""


def write_spec(folder: Path, reps: int, weeks: int, name: str) -> Path:
    path = folder / name
    path.write_text(SPEC.format(reps=reps, weeks=weeks))
    return path


def sweep(spec: Path, out: Path, workers: int = 1) -> int:
    """The CLI in this process; one worker is enough to resume (results do not depend on the count), and it
    halves the start-up cost (each spawned worker imports numpy, pandas, scipy and Mesa)."""
    return main(["sweep", str(spec), "--out", str(out), "--workers", str(workers), "--no-progress"])


def same_files(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def data_lines(path: Path) -> int:
    try:
        return max(0, path.read_text().count("\n") - 1)
    except FileNotFoundError:
        return 0


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """12 runs of 26 weeks, uninterrupted: the reference for the damaged-file tests."""
    root = tmp_path_factory.mktemp("small")
    spec_path = write_spec(root, reps=3, weeks=26, name="small.toml")
    run_sweep(load_spec(spec_path), root / "ref", workers=WORKERS, progress=False)
    return spec_path, root / "ref"


@pytest.fixture(scope="module")
def long(tmp_path_factory):
    """24 runs of 26 weeks, uninterrupted: long enough to be stopped part-way by a signal."""
    root = tmp_path_factory.mktemp("long")
    spec_path = write_spec(root, reps=6, weeks=26, name="long.toml")
    run_sweep(load_spec(spec_path), root / "ref", workers=WORKERS, progress=False)
    return spec_path, root / "ref"


def damaged_copy(small, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(small[1], out)
    return out


# --- processes ---------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Pids of all descendants of ``pid`` (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        parents: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = _parent(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
                parents.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [pid]
        while todo:
            kids = parents.get(todo.pop(), [])
            found += kids
            todo += kids
        return found
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _parent(pid: int) -> int:
    """The parent of process ``pid``, from /proc."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return state not in ("Z", "X")


def start_sweep(spec: Path, out: Path) -> subprocess.Popen:
    """The CLI in a subprocess; its stderr goes to ``out``'s sibling ``stderr.txt`` (a pipe would stay open
    as long as any descendant lives, hiding how long they live)."""
    cmd = [sys.executable, "-m", "alignsim", "sweep", str(spec), "--out", str(out), "--workers", str(WORKERS)]
    with open(out.parent / "stderr.txt", "w") as err:
        return subprocess.Popen(
            [*cmd, "--no-progress"],
            cwd=out.parent,
            start_new_session=True,  # signals go to the driver alone, as from timeout or docker stop
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def wait_mid_sweep(proc: subprocess.Popen, out: Path, runs: int = 2) -> list[int]:
    """Wait until ``runs`` runs are stored and every worker is up; return the driver's descendants."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        kids = descendants(proc.pid)
        if data_lines(out / "runs.csv") >= runs and len(kids) >= WORKERS:
            return kids
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    pytest.fail(f"the sweep did not get going (exit {proc.poll()}): {(out.parent / 'stderr.txt').read_text()}")


def assert_all_gone(pids: list[int], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.05)
    left = [p for p in pids if running(p)]
    for pid in left:  # do not leak them into the rest of the test session
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running after the driver stopped: {left}"


def test_sigterm_to_driver_stops_like_ctrl_c_leaves_nothing_and_resumes_identically(long, tmp_path, capsys):
    spec, ref = long
    out = tmp_path / "term"
    proc = start_sweep(spec, out)
    kids = wait_mid_sweep(proc, out)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert_all_gone(kids)
    assert proc.returncode in (130, 143)
    err = (tmp_path / "stderr.txt").read_text()
    assert err.splitlines() == ["alignsim sweep: stopped by SIGTERM; rerun the same command to resume"], err
    stopped = manifest(out)
    assert stopped["status"] == "interrupted"
    assert 2 <= stopped["runs"]["done"] < 24
    assert stopped["runs"]["done"] == data_lines(out / "runs.csv")
    capsys.readouterr()
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    assert f"{stopped['runs']['done']} stored runs verified, 0 recomputed" in err
    assert "stopped without finishing" not in err  # it said "interrupted" itself
    same_files(out, ref)


def test_kill_9_of_driver_leaves_nothing_manifest_told_interrupted_resume_identical(long, tmp_path, capsys):
    spec, ref = long
    out = tmp_path / "kill"
    proc = start_sweep(spec, out)
    kids = wait_mid_sweep(proc, out)
    proc.kill()
    proc.wait(timeout=30)
    assert_all_gone(kids)  # pool workers and the resource tracker notice their parent died
    assert manifest(out)["status"] == "running"  # nobody could say otherwise; the next start does
    capsys.readouterr()
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    assert f"the previous invocation (pid {proc.pid} on " in err and "recorded as interrupted" in err
    final = manifest(out)
    assert final["status"] == "complete"
    assert final["history"][-1]["status"] == "interrupted" and final["history"][-1]["pid"] == proc.pid
    assert final["runs"]["done"] == final["runs"]["planned"] == 24
    same_files(out, ref)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the pool workers through /proc")
def test_a_worker_killed_from_outside_stops_the_sweep_exit_1_one_line_runs_kept(long, tmp_path):
    spec, _ = long
    out = tmp_path / "oom"
    proc = start_sweep(spec, out)
    kids = wait_mid_sweep(proc, out)
    # pool workers are forked by the driver's forkserver (or spawned by the driver: then they run spawn_main)
    workers = [
        pid for pid in kids if _parent(pid) != proc.pid or b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    os.kill(workers[0], signal.SIGKILL)  # what the OOM killer does
    proc.wait(timeout=30)
    assert_all_gone(kids)
    assert proc.returncode == 1
    err = (tmp_path / "stderr.txt").read_text().splitlines()
    assert len(err) == 1 and err[0].startswith("alignsim sweep: error: a worker process died during run "), err
    assert "finished runs are kept: rerun the same command to resume" in err[0]
    assert manifest(out)["status"] == "aborted"
    stored = verify(out, load_spec(spec))
    assert stored.clean and len(stored.kept) == manifest(out)["runs"]["done"]  # whole runs only, all resumable


class PoolThatBreaks:
    """A pool whose worker dies between two submissions: the first batch comes back, the second is still
    out, the third submission finds the pool broken (the race the kill test above meets only under load)."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn, batch):
        self.submitted += 1
        if self.submitted > 2:
            raise BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore")
        future = Future()
        if self.submitted == 1:
            future.set_result(fn(batch))
        return future


def test_a_pool_broken_at_submission_is_the_same_one_line_exit_1_runs_kept(small, tmp_path, capsys, monkeypatch):
    spec, _ = small
    out = tmp_path / "broken"

    @contextlib.contextmanager
    def breaking_executor(*args):
        yield PoolThatBreaks(), 1

    monkeypatch.setattr(runner, "open_executor", breaking_executor)
    assert sweep(spec, out) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    still_out = runner.run_id(0, 1)  # one batch per replicate (4 cells): the one still out is replicate 1
    assert err[0].startswith(f"alignsim sweep: error: a worker process died during run {still_out} "), err
    assert "finished runs are kept: rerun the same command to resume" in err[0]
    assert manifest(out)["status"] == "aborted"
    stored = verify(out, load_spec(spec))
    assert stored.clean and len(stored.kept) == manifest(out)["runs"]["done"] > 0


# --- damaged files -----------------------------------------------------------------------------


def test_truncated_timeseries_is_detected_and_the_missing_series_recomputed(small, tmp_path, capsys):
    spec, ref = small
    out = damaged_copy(small, tmp_path)
    ts = out / "timeseries.csv"
    data = ts.read_bytes()
    ts.write_bytes(data[: int(len(data) * 0.55)])  # cut mid-line, 5 to 6 runs short
    complete = {rid for rid in verify(out, load_spec(spec)).kept}
    assert 4 <= len(complete) <= 8
    capsys.readouterr()
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    missing = 12 - len(complete)
    assert f"{len(complete)} stored runs verified, {missing} recomputed: {missing} runs without a complete" in err
    assert f"12/12 runs done ({missing} now, {len(complete)} reused)" in err
    same_files(out, ref)


def test_foreign_run_ids_are_dropped_with_a_message_never_counted(small, tmp_path, capsys):
    spec, ref = small
    out = damaged_copy(small, tmp_path)
    runs = out / "runs.csv"
    lines = runs.read_text().splitlines(keepends=True)
    last = lines[-1]
    foreign = ["4-0" + last[3:], "0-3" + last[3:], lines[2]]  # a cell and a replicate beyond the design; a duplicate
    runs.write_text("".join(lines + foreign))
    capsys.readouterr()
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    assert "12 stored runs verified, 0 recomputed" in err
    assert "2 runs.csv row(s) whose run id is not in this spec (4-0, 0-3)" in err
    assert "12/12 runs done (0 now, 12 reused)" in err
    assert manifest(out)["runs"]["done"] == 12
    same_files(out, ref)


def test_corrupted_values_are_recomputed_not_crashed_on(small, tmp_path, capsys):
    spec, ref = small
    out = damaged_copy(small, tmp_path)
    runs = out / "runs.csv"
    lines = runs.read_text().splitlines(keepends=True)
    row = lines[1 + 2 * 3 + 1].split(",")  # run 2-1
    assert row[0] == "2-1"
    row[6] = row[6][:3] + "x" + row[6][4:]  # ltv
    lines[1 + 2 * 3 + 1] = ",".join(row)
    runs.write_text("".join(lines))
    ts = out / "timeseries.csv"
    series = ts.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(series) if line.startswith("1-0,26,nrr,"))
    series[at] = "1-0,26,nrr,1.0\x00\n"
    ts.write_text("".join(series))
    capsys.readouterr()
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    assert "10 stored runs verified, 2 recomputed" in err
    assert "(2-1: ltv=" in err and "is not a number" in err
    assert "(1-0: week 26 nrr='1.0\\x00' is not a number)" in err
    same_files(out, ref)
    assert sweep(spec, out) == 0  # and the next rerun has nothing to redo
    assert "12 stored runs verified, 0 recomputed" in capsys.readouterr().err


def test_torn_last_lines_are_dropped_and_that_run_recomputed(small, tmp_path, capsys):
    spec, ref = small
    out = damaged_copy(small, tmp_path)
    runs = out / "runs.csv"
    lines = runs.read_text().splitlines(keepends=True)
    runs.write_text("".join(lines[:-1]) + lines[-1][:25])
    with open(out / "timeseries.csv", "a") as handle:
        handle.write("3-2,13,arr_u")
    capsys.readouterr()
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    assert "11 stored runs verified, 0 recomputed" in err
    assert "1 torn last line of runs.csv" in err and "1 torn last line of timeseries.csv" in err
    assert "12/12 runs done (1 now, 11 reused)" in err
    same_files(out, ref)


# --- the file system ---------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc/self/fd to aim at the output folder")
def test_full_disk_leaves_no_partial_run_exit_1_one_line_then_resumes(small, tmp_path, capsys, monkeypatch):
    spec, ref = small
    out = tmp_path / "full"
    real_write, real_fsync = os.write, os.fsync
    state = {"rows": 0, "full": False}

    def in_out(fd: int) -> str | None:
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
        return path if path.startswith(str(out)) else None

    def write(fd, data):
        if state["full"] and in_out(fd):
            if len(data) > 1 and not state.get("partial"):
                state["partial"] = True
                return real_write(fd, bytes(data[: len(data) // 2]))  # the disk takes half, then is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    def fsync(fd):
        path = in_out(fd)
        if state["full"] and path:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)
        if path and path.endswith("runs.csv"):
            state["rows"] += 1
            state["full"] = state["rows"] > 5  # the header and 5 runs fit

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    capsys.readouterr()
    assert sweep(spec, out) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("alignsim sweep: error: cannot write ") and "timeseries.csv" in err[0]
    assert "No space left on device [ENOSPC]" in err[0]
    assert "the 5 finished runs are kept" in err[0] and "free space" in err[0] and "rerun the same command" in err[0]
    assert "Traceback" not in "".join(err)
    monkeypatch.undo()
    assert state.get("partial"), "the injected fault should have cut a record in half"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    check = verify(out, load_spec(spec))
    assert check.clean and len(check.kept) == 5  # whole runs only: nothing to drop, nothing partial
    assert sweep(spec, out) == 0
    assert "5 stored runs verified, 0 recomputed" in capsys.readouterr().err
    same_files(out, ref)


def test_unwritable_output_folder_is_refused_before_any_computing(small, tmp_path, capsys, monkeypatch):
    spec, _ = small
    parent = tmp_path / "locked"
    parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if str(p).startswith(str(parent)) else real_access(p, mode, **kw)
    )

    def no_computing(*args, **kwargs):
        raise AssertionError("an executor was opened for an output folder that cannot be written")

    monkeypatch.setattr(runner, "open_executor", no_computing)
    capsys.readouterr()
    assert sweep(spec, parent / "new") == 2
    err = capsys.readouterr().err
    assert err == f"alignsim sweep: error: option --out: {parent} is not writable; allowed: a folder you can write to\n"
    assert list(parent.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_folder_is_refused_for_real(small, tmp_path, capsys):
    spec, _ = small
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert sweep(spec, folder) == 2
        assert "is not writable" in capsys.readouterr().err
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


# --- workers -----------------------------------------------------------------------------------


def test_workers_are_capped_at_the_cores_and_it_is_said_once(small, tmp_path, capsys, monkeypatch):
    spec, ref = small
    cores = default_workers()
    monkeypatch.setattr(engines, "_told", set())
    started = []
    real_pool = engines.ProcessPoolExecutor

    def pool(*args, **kwargs):
        if kwargs["initializer"] is engines.init_worker:  # the run pool (the chart helpers are spawned here too)
            started.append(kwargs["max_workers"])
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(engines, "ProcessPoolExecutor", pool)
    out = damaged_copy(small, tmp_path)
    lines = (out / "runs.csv").read_text().splitlines(keepends=True)
    (out / "runs.csv").write_text("".join(lines[:-1]))  # one run to compute
    capsys.readouterr()
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "64", "--no-progress"]) == 0
    assert worker_count("local", 64, None) == cores
    err = capsys.readouterr().err
    assert err.count("--workers 64 is more than") == 1
    assert f"the {cores} cores available; running {cores} workers" in err
    assert started == [cores] and manifest(out)["workers"] == cores
    same_files(out, ref)


# --- every check of the resume verification, without computing ----------------------------------


def _edit_runs(fn):
    def damage(out: Path) -> None:
        path = out / "runs.csv"
        path.write_bytes(fn(path.read_bytes().splitlines(keepends=True)))

    return damage


def _edit_ts(fn):
    def damage(out: Path) -> None:
        path = out / "timeseries.csv"
        path.write_bytes(fn(path.read_bytes().splitlines(keepends=True)))

    return damage


def _field(lines: list[bytes], row: int, col: int, value: bytes) -> bytes:
    fields = lines[row].split(b",")
    fields[col] = value
    return b"".join(lines[:row] + [b",".join(fields)] + lines[row + 1 :])


DAMAGE = {
    "wrong seed": (_edit_runs(lambda ls: _field(ls, 1, 3, b"12345")), "0-0: seed 12345 is not replicate 0's seed", 1),
    "wrong factor": (
        _edit_runs(lambda ls: _field(ls, 1, 4, b"pod")),
        "structure='pod', the cell has 'assembly_line'",
        1,
    ),
    "cell and id disagree": (_edit_runs(lambda ls: _field(ls, 2, 1, b"3")), "0-1: cell/replicate 3/1 do not match", 1),
    "non-canonical number": (
        _edit_runs(lambda ls: _field(ls, 3, 7, b"0.50")),
        "0-2: logo_churn='0.50' is not a number",
        1,
    ),
    "bytes that are not UTF-8": (_edit_runs(lambda ls: _field(ls, 4, 6, b"\xff\xfe1")), "1-0: ltv=", 1),
    "missing field": (
        _edit_runs(lambda ls: b"".join(ls[:5] + [ls[5].rsplit(b",", 1)[0] + b"\n"] + ls[6:])),
        "1-1: 10 fields instead of 11",
        1,
    ),
    "two different rows": (
        _edit_runs(lambda ls: b"".join(ls) + _field(ls, 5, 6, b"1.0").splitlines(True)[5]),
        "two different runs.csv rows (1-1)",
        1,
    ),
    "damaged runs header": (
        _edit_runs(lambda ls: b"run_id,xel" + b"".join(ls)[10:]),
        "12 runs with a damaged runs.csv header",
        12,
    ),
    "garbage line": (_edit_runs(lambda ls: b"".join(ls) + b"\x00\x00\x00\x00\n"), "1 unreadable runs.csv row(s)", 0),
    "series split in two": (_edit_ts(lambda ls: b"".join(ls[:38] + ls[39:] + ls[38:39])), "0-0: rows in two places", 1),
    "series row repeated": (_edit_ts(lambda ls: b"".join(ls[:3] + ls[2:])), "0-0: row 3 is not week 13", 1),
    "series row lost": (_edit_ts(lambda ls: b"".join(ls[:5] + ls[6:])), "0-0: row 5 is not week", 1),
    "damaged series header": (
        _edit_ts(lambda ls: b"run_id,wek" + b"".join(ls)[10:]),
        "12 runs whose time series sits in a damaged",
        12,
    ),
    "no timeseries.csv": (lambda out: (out / "timeseries.csv").unlink(), "12 runs without a complete time series", 12),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_verification_finds_each_kind_of_damage_and_repair_keeps_only_whole_runs(small, tmp_path, kind):
    from alignsim.experiments.verify import repair

    spec_path, _ = small
    spec = load_spec(spec_path)
    out = damaged_copy(small, tmp_path)
    damage, message, recomputed = DAMAGE[kind]
    damage(out)
    found = verify(out, spec)
    assert message in found.summary()
    assert found.n_recompute == recomputed and len(found.kept) == 12 - recomputed
    repair(out, spec, found)
    again = verify(out, spec)
    assert again.clean and again.kept == found.kept
