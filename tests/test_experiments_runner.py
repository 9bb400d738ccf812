"""Runner and store: determinism across workers and engines, resume after kill -9, failures, spec changes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alignsim.experiments.cli import main
from alignsim.experiments.errors import UserError
from alignsim.experiments.metadata import model_code_sha256
from alignsim.experiments.reproduce import _stage_for_resume
from alignsim.experiments.runner import run_sweep
from alignsim.experiments.spec import load_spec
from alignsim.experiments.store import RunStore
from alignsim.experiments.worker import FAIL_ENV

REPO = Path(__file__).resolve().parent.parent
FILES = ("runs.csv", "timeseries.csv", "summary.csv", "contrasts.csv", "interaction.csv")

SPEC = """
name = "tiny"
replicates = {reps}
root_seed = 11
weeks = {weeks}
timeseries_every_weeks = 13
metrics = ["ltv", "logo_churn", "nrr", "cac", "mqls", "sqls", "bookings", "reported_churn"]

[base]
status_quo_weeks = 13  # runner mechanics, not learning: a short status quo keeps the sweeps quick

[factors]
structure = ["assembly_line", "pod"]
kpi = ["siloed", "shared"]
"""


def write_spec(folder: Path, reps: int = 3, weeks: int = 26, name: str = "tiny.toml") -> Path:
    path = folder / name
    path.write_text(SPEC.format(reps=reps, weeks=weeks))
    return path


def read(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted 2-worker sweep of the tiny spec."""
    root = tmp_path_factory.mktemp("ref")
    spec = load_spec(write_spec(root))
    run_sweep(spec, root / "out", workers=2, progress=False)
    return root, spec


def test_outputs_and_manifest(reference):
    root, spec = reference
    out = root / "out"
    runs = read(out, "runs.csv").decode().splitlines()
    assert len(runs) == 1 + spec.n_runs
    assert runs[0].startswith("run_id,cell,replicate,seed,structure,kpi,ltv,")
    assert [line.split(",")[0] for line in runs[1:]] == [f"{c}-{r}" for c in range(4) for r in range(3)]
    seeds = {line.split(",")[2]: line.split(",")[3] for line in runs[1:]}
    assert len({line.split(",")[3] for line in runs[1:]}) == 3  # same seed per replicate in every cell
    assert seeds["0"] == str(spec.seed(0))
    manifest = json.loads(read(out, "manifest.json"))
    assert manifest["status"] == "complete"
    assert manifest["spec_hash"] == spec.hash()
    assert manifest["runs"] == {
        "planned": 12,
        "done": 12,
        "failed": 0,
        "computed_this_invocation": 12,
        "reused_from_earlier": 0,
    }
    assert {"python", "numpy", "scipy", "mesa", "pandas"} <= set(manifest["versions"])
    assert "Student t" in manifest["ci_method"]
    ts = read(out, "timeseries.csv").decode().splitlines()
    assert ts[0] == "run_id,week,metric,value"
    assert {line.split(",")[1] for line in ts[1:]} == {"13", "26"}
    summary = read(out, "summary.csv").decode().splitlines()
    assert len(summary) == 5 and "ltv_ci95_t_low" in summary[0] and "ltv_p90" in summary[0]
    assert not (out / "failures.csv").exists()


def test_identical_across_worker_counts(reference, tmp_path):
    root, spec = reference
    run_sweep(spec, tmp_path / "one", workers=1, progress=False)
    for name in FILES:
        assert read(tmp_path / "one", name) == read(root / "out", name), name


def test_rerun_of_complete_folder_reuses_everything(reference, tmp_path):
    root, spec = reference
    out = tmp_path / "again"
    run_sweep(spec, out, workers=2, progress=False)
    result = run_sweep(spec, out, workers=2, progress=False)
    assert result.manifest["runs"]["computed_this_invocation"] == 0
    assert result.manifest["runs"]["reused_from_earlier"] == spec.n_runs
    for name in FILES:
        assert read(out, name) == read(root / "out", name), name


def test_resume_drops_torn_line_and_orphan_timeseries(reference, tmp_path):
    root, spec = reference
    out = tmp_path / "torn"
    run_sweep(spec, out, workers=2, progress=False)
    lines = read(out, "runs.csv").decode().splitlines(keepends=True)
    keep = lines[:5]  # header + 4 runs
    (out / "runs.csv").write_text("".join(keep) + lines[5][:17])  # torn last line
    with open(out / "timeseries.csv", "a") as handle:
        handle.write("3-2,13,ltv,1.0\n3-2,26,lt")  # orphan rows of a run not in runs.csv + torn line
    result = run_sweep(spec, out, workers=2, progress=False)
    assert result.manifest["runs"]["computed_this_invocation"] == spec.n_runs - 4
    for name in FILES:
        assert read(out, name) == read(root / "out", name), name


def _data_lines(path: Path) -> int:
    try:
        return max(0, path.read_text().count("\n") - 1)
    except FileNotFoundError:
        return 0


def test_kill_9_mid_sweep_then_resume_matches_uninterrupted(tmp_path):
    spec_path = write_spec(tmp_path, reps=12, weeks=52)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "experiments",
        "sweep",
        str(spec_path),
        "--out",
        str(killed),
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while _data_lines(killed / "runs.csv") < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _data_lines(killed / "runs.csv")
    assert 5 <= partial < 48, "the sweep should have been killed part-way"
    assert json.loads(read(killed, "manifest.json"))["status"] == "running"
    assert main(["sweep", str(spec_path), "--out", str(killed), "--workers", "2", "--no-progress"]) == 0
    manifest = json.loads(read(killed, "manifest.json"))
    assert manifest["runs"]["reused_from_earlier"] >= 5
    clean = tmp_path / "clean"
    assert main(["sweep", str(spec_path), "--out", str(clean), "--workers", "2", "--no-progress"]) == 0
    for name in FILES:
        assert read(killed, name) == read(clean, name), name


def test_failing_run_is_recorded_sweep_continues_exit_1(reference, tmp_path, monkeypatch, capsys):
    root, spec = reference
    spec_path = write_spec(tmp_path)
    out = tmp_path / "fail"
    monkeypatch.setenv(FAIL_ENV, "2-1")
    assert main(["sweep", str(spec_path), "--out", str(out), "--workers", "2", "--no-progress"]) == 1
    assert "1 run(s) failed" in capsys.readouterr().err
    rows = read(out, "runs.csv").decode().splitlines()
    assert len(rows) == spec.n_runs and not any(r.startswith("2-1,") for r in rows)
    failures = (out / "failures.csv").read_text()
    assert "2-1,2,1," in failures and "Traceback" in failures and "RuntimeError" in failures
    assert '""structure"": ""pod""' in failures  # params recorded
    manifest = json.loads(read(out, "manifest.json"))
    assert manifest["status"] == "failed" and manifest["runs"]["failed"] == 1
    monkeypatch.delenv(FAIL_ENV)
    assert main(["sweep", str(spec_path), "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    assert not (out / "failures.csv").exists()
    for name in FILES:
        assert read(out, name) == read(root / "out", name), name


def test_changed_spec_is_refused_and_nothing_changes(reference, tmp_path, capsys):
    root, _ = reference
    out = tmp_path / "refuse"
    assert main(["sweep", str(write_spec(tmp_path)), "--out", str(out), "--no-progress", "--workers", "2"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capsys.readouterr()
    changed = write_spec(tmp_path, reps=4, name="changed.toml")
    assert main(["sweep", str(changed), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different spec" in err and "--out" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_runs_of_other_model_code_are_not_resumed(reference, tmp_path, capsys):
    """A folder computed by other model code is refused by sweep and run_sweep, and recomputed by reproduce.

    A spec hash does not see a change of the model's code: resuming such a folder would mix two models.
    """
    root, spec = reference
    out = tmp_path / "old_code"
    shutil.copytree(root / "out", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_code_sha256"] == model_code_sha256()
    manifest["model_code_sha256"] = "0" * 64  # as if computed before the model changed
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(UserError, match="other model code"):
        run_sweep(spec, out, workers=1, progress=False)
    capsys.readouterr()
    assert main(["sweep", str(root / "tiny.toml"), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "other model code" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert _stage_for_resume(spec, out, tmp_path / "stage" / "tiny") == "new"
    assert _stage_for_resume(spec, root / "out", tmp_path / "stage2" / "tiny") == "results"


def test_foreign_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "foreign"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["sweep", str(write_spec(tmp_path)), "--out", str(out), "--no-progress"]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_dask_local_cluster_matches_local_engine(reference, tmp_path):
    pytest.importorskip("distributed")
    root, spec = reference
    result = run_sweep(spec, tmp_path / "dask", engine="dask", workers=1, progress=False)
    assert result.manifest["engine"] == "dask"
    for name in FILES:
        assert read(tmp_path / "dask", name) == read(root / "out", name), name


def test_dask_existing_scheduler_matches_local_engine(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    root, spec = reference
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = run_sweep(
            spec, tmp_path / "remote", engine="dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert result.manifest["runs"]["done"] == spec.n_runs
    for name in FILES:
        assert read(tmp_path / "remote", name) == read(root / "out", name), name


def test_second_writer_on_a_busy_folder_is_refused(tmp_path, capsys):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "busy"
    holder = RunStore(out, load_spec(spec_path))
    holder.check()
    holder.open("local", 1)
    try:
        assert main(["sweep", str(spec_path), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "another alignsim process" in err
    finally:
        holder.finalize("local", 1, stopped="interrupted")
    assert main(["sweep", str(spec_path), "--out", str(out), "--no-progress", "--workers", "2"]) == 0


def test_a_replicates_cells_go_to_a_worker_in_batches_of_at_most_batch_runs():
    """Replicate-major tasks are handed over as batches of one replicate's cells, at most BATCH_RUNS each.

    A replicate with 25 cells (a global design has hundreds) must still spread over the workers, and
    every task is submitted exactly once, in order, and recorded once.
    """
    from concurrent.futures import Future
    from types import SimpleNamespace

    from alignsim.experiments import runner

    submitted: list[list] = []

    class Executor:
        def submit(self, fn, batch):
            submitted.append(batch)
            future = Future()
            future.set_result([{"run_id": t.run_id, "ok": True} for t in batch])
            return future

    store = SimpleNamespace(failed=0, error=None, added=[])
    store.add_result = lambda task, outcome: store.added.append(task.run_id)
    tasks = [SimpleNamespace(replicate=r, run_id=f"c{c}-r{r}") for r in range(3) for c in range(25)]
    signals = runner.StopSignals()
    runner._drain(Executor(), iter(tasks), store, 2, len(tasks), "t", False, signals)
    assert [len(b) for b in submitted] == [10, 10, 5] * 3
    assert all(len({t.replicate for t in b}) == 1 for b in submitted)
    assert [t.run_id for b in submitted for t in b] == [t.run_id for t in tasks]
    assert sorted(store.added) == sorted(t.run_id for t in tasks)  # each recorded once (in completion order)


def test_a_pool_worker_collects_each_model_before_freezing_what_survives(tmp_path, monkeypatch):
    """A pool worker freezes what survives each run's collection (so the next collection walks only the
    next run): the finished model must be gone before the freeze, or its reference cycles would never be
    collected and a worker's memory would grow by a model a run."""
    import gc
    import weakref

    from alignsim.experiments import worker
    from alignsim.experiments.runner import tasks_for
    from alignsim.model import model as model_module

    built = []
    original_init = model_module.GTMModel.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        built.append(weakref.ref(self))

    monkeypatch.setattr(model_module.GTMModel, "__init__", recording_init)
    monkeypatch.setattr(worker, "_ready", True)
    monkeypatch.setattr(worker, "_frozen", True)
    monkeypatch.setattr(worker, "_pool_worker", True)
    tasks = list(tasks_for(load_spec(write_spec(tmp_path, reps=1))))[:2]
    frozen_before = gc.get_freeze_count()
    try:
        results = worker.run_tasks(tasks)
        assert all(result["ok"] for result in results)
        assert len(built) >= 2 and all(ref() is None for ref in built)  # every model collected, none frozen
        assert gc.get_freeze_count() > frozen_before  # the survivors (kernels, caches) were frozen
    finally:
        gc.unfreeze()


def test_a_pool_worker_frees_the_status_quo_run_before_the_cell_runs(tmp_path, monkeypatch):
    """The status-quo run a cell builds in its constructor is garbage in reference cycles once it has
    given its policies; a pool worker collects it before the cell's first week, so a worker never holds
    two companies' pools while it runs one (its peak memory would rise by about 20 MiB)."""
    import gc
    import weakref

    from alignsim.experiments import worker
    from alignsim.experiments.runner import tasks_for
    from alignsim.model import model as model_module

    built, alive_at_first_week = [], []
    original_init, original_step = model_module.GTMModel.__init__, model_module.GTMModel.step

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        built.append(weakref.ref(self))

    def checking_step(self):
        if self.week == 0 and self.collecting is False and self.p["start_policy"] == "status_quo":
            alive_at_first_week.append(sum(1 for ref in built if ref() is not None and ref() is not self))
        original_step(self)

    monkeypatch.setattr(model_module.GTMModel, "__init__", recording_init)
    monkeypatch.setattr(model_module.GTMModel, "step", checking_step)
    monkeypatch.setattr(worker, "_ready", True)
    monkeypatch.setattr(worker, "_frozen", True)
    monkeypatch.setattr(worker, "_pool_worker", True)
    model_module._status_quo_cached.cache_clear()  # the first cell builds its status quo here
    tasks = list(tasks_for(load_spec(write_spec(tmp_path, reps=1))))[:2]
    try:
        results = worker.run_tasks(tasks)
        assert all(result["ok"] for result in results)
        assert len(built) == 3  # the status quo (built inside the first cell), then the two cells
        assert alive_at_first_week == [0, 0]  # no other company alive when a cell starts its first week
    finally:
        gc.unfreeze()


def _worker_state() -> tuple[int, int]:
    """(pid, compiled kernels this process has loaded): run in a pool worker."""
    from numba.core.registry import CPUDispatcher

    loaded = {
        id(obj)
        for name, module in list(sys.modules.items())
        if name.startswith("alignsim.")
        for obj in vars(module).values()
        if isinstance(obj, CPUDispatcher) and obj.overloads
    }
    return os.getpid(), len(loaded)


def test_workers_started_early_are_the_sweeps_and_have_loaded_the_kernels_before_any_run():
    """started_early starts the pool before the driver's checks; open_executor must use those very workers,
    and each must have imported the model and loaded its compiled kernels already (the point of starting early)."""
    import multiprocessing

    from alignsim.experiments.engines import open_executor, started_early

    before = {child.pid for child in multiprocessing.active_children()}  # other tests' processes
    with started_early("local", 2, None):
        spawned = set(_wait_for_children(before, 2))  # started from a background thread (a fork waits for the server)
        with open_executor("local", 2) as (executor, parallel):
            states = [executor.submit(_worker_state).result() for _ in range(6)]
    assert parallel == 2
    assert {pid for pid, _ in states} <= spawned  # no second pool
    assert all(kernels >= 15 for _, kernels in states), states  # loaded before the first run was handed out


def _running(pid: int) -> bool:
    """Is process ``pid`` still running (not gone, not a zombie)? Asked of the system: multiprocessing's own
    bookkeeping can call a process alive that another thread of the pool has already reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask with signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"


def _new_children(before: set[int]) -> list[int]:
    import multiprocessing

    return [child.pid for child in multiprocessing.active_children() if child.pid not in before and _running(child.pid)]


def _wait_for_children(before: set[int], n: int, seconds: float = 60.0) -> list[int]:
    """The ``n`` processes this process has started since ``before`` (waits for them to start)."""
    deadline = time.monotonic() + seconds
    while len(children := _new_children(before)) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(children) == n, children
    return children


def test_a_pool_started_early_and_never_used_ends_with_its_block():
    """Bad input found while the workers start or import: the error propagates and no worker outlives the
    block, whether the workers were running already or still being started."""
    import multiprocessing

    from alignsim.experiments.engines import started_early

    before = {child.pid for child in multiprocessing.active_children()}  # other tests' processes
    with pytest.raises(UserError), started_early("local", 2, None):
        children = _wait_for_children(before, 2)
        raise UserError("option --x: got 1; allowed: 2")
    assert not any(_running(pid) for pid in children)
    with pytest.raises(UserError), started_early("local", 2, None):
        raise UserError("option --x: got 1; allowed: 2")  # at once: the pool's start is still under way
    assert not _new_children(before)
    for engine, workers in (("local", 0), ("nonsense", 2)):  # invalid options start nothing (checked later)
        with started_early(engine, workers, None):
            assert not _new_children(before)


def test_a_bad_spec_after_the_workers_started_exits_2_with_one_line_and_no_process_left(tmp_path, capsys):
    import multiprocessing

    before = {child.pid for child in multiprocessing.active_children()}  # other tests' processes
    spec = tmp_path / "bad.toml"
    spec.write_text(SPEC.format(reps=0, weeks=26))
    assert main(["sweep", str(spec), "--workers", "2", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "replicates" in err, err
    assert not _new_children(before)
    assert not (tmp_path / "out").exists()


def _environment_variable(name: str) -> str | None:
    return os.environ.get(name)


def test_pool_workers_see_the_drivers_environment_as_it_is_when_their_pool_starts(monkeypatch):
    """Workers forked from the forkserver inherit the server's environment (the driver's when its first pool
    started); a variable the driver sets later, such as the failure-injection hook, must still reach them."""
    from alignsim.experiments.engines import open_executor

    with open_executor("local", 1) as (executor, _):  # the forkserver (Linux) is started by now, if not before
        assert executor.submit(_environment_variable, "ALIGNSIM_TEST_PROBE").result() is None
    monkeypatch.setenv("ALIGNSIM_TEST_PROBE", "set after the first pool")
    with open_executor("local", 2) as (executor, _):
        seen = {executor.submit(_environment_variable, "ALIGNSIM_TEST_PROBE").result() for _ in range(4)}
    assert seen == {"set after the first pool"}


def _parent_maps() -> tuple[int, str]:
    """(parent pid, the parent's memory map): run in a pool worker."""
    return os.getppid(), Path(f"/proc/{os.getppid()}/maps").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the forkserver is used on Linux only")
def test_pool_workers_are_forked_from_a_server_that_has_loaded_the_model_and_matplotlib():
    """The point of the forkserver: its workers start with numba (the compiled kernels) and matplotlib
    loaded once, in the server. A preload that fails to import is ignored by multiprocessing, so only
    this test would notice; every worker would then import them itself, about 1.4 s of CPU each."""
    from alignsim.experiments.engines import open_executor

    with open_executor("local", 2) as (executor, _):
        parents = [executor.submit(_parent_maps).result() for _ in range(4)]
    assert all(pid != os.getpid() for pid, _ in parents)  # forked by the server, not by this process
    for _, maps in parents:
        assert "_dispatcher" in maps and "llvmlite" in maps, "numba was not imported by the forkserver"
        assert "matplotlib/ft2font" in maps, "matplotlib was not imported by the forkserver"


_FAULTS_PROBE = """
import resource, sys
import numpy as np
from alignsim.experiments import worker
if sys.argv[1] == "keep":
    worker._keep_freed_memory()
def account_pool():  # a run's pool: 36 columns of 80,000 rows, freed when the run ends
    return [np.full(80_000, np.nan) for _ in range(36)]
account_pool()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    account_pool()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_pool_worker_keeps_freed_memory_so_the_next_run_faults_in_no_new_pages():
    """Ten more runs' pools (36 x 80,000 float64, 22 MB each) fault in about 5,600 pages each by default,
    as glibc returns the freed columns to the system; kept, the next run reuses them: (almost) none."""

    def faults(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", _FAULTS_PROBE, mode], capture_output=True, text=True, check=True)
        return int(done.stdout)

    assert faults("default") > 10 * 5_000
    assert faults("keep") < 10 * 100


def test_a_model_that_fails_in_the_warm_up_does_not_break_the_worker(monkeypatch):
    """The warm-up is only for speed: a failing model must leave the failure to the runs (recorded, with
    tracebacks), not raise in the pool's initializer (a broken pool that hides why)."""
    from alignsim.experiments import worker
    from alignsim.model import model as model_module

    def broken(self, *args, **kwargs):
        raise RuntimeError("planted")

    monkeypatch.setattr(model_module.GTMModel, "run", broken)
    worker._load_kernels()  # must not raise
    monkeypatch.setattr(model_module.GTMModel, "__init__", broken)
    worker._load_kernels()


@pytest.mark.parametrize("every_weeks", [1, 4, 7, 0])
def test_a_runs_stored_series_are_the_models_weekly_series_at_the_sampled_weeks(every_weeks):
    """A sweep run collects only the weeks it stores; each value is the one a weekly collection gives that week.

    Compared with a model that collects every week (the DataCollector inside ``step``), value for value
    (bit for bit); a collection one week early or late, or a week left out, fails. 7 does not divide 20.
    """
    from alignsim.experiments.worker import Task, run_task
    from alignsim.model import TIMESERIES_METRICS, GTMModel

    params = {"weeks": 20, "status_quo_weeks": 13}
    task = Task("0-0", 0, 0, 5, params, ("firm_value",), every_weeks, TIMESERIES_METRICS)
    stored = run_task(task)
    assert stored["ok"], stored.get("traceback")
    weekly = GTMModel(seed=5, **params).run().timeseries()
    expected = [
        (week, m, float(weekly.at[week, m])) for week in weekly.index if every_weeks and week % every_weeks == 0
        for m in TIMESERIES_METRICS
    ]  # fmt: skip
    assert [(w, m, repr(v)) for w, m, v in stored["timeseries"]] == [(w, m, repr(v)) for w, m, v in expected]  # NaN too
    assert len(expected) == (20 // every_weeks if every_weeks else 0) * len(TIMESERIES_METRICS)
