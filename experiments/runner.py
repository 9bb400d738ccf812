"""Run a spec: submit the missing runs to an executor with a bounded window, stream results to disk.

Every engine is a ``concurrent.futures.Executor`` (see :mod:`alignsim.experiments.engines`). The driver is
the single writer of the folder (:class:`alignsim.experiments.store.RunStore`). At most ``window`` futures
are in flight, so memory does not grow with the number of runs.

Stopping: Ctrl-C, SIGTERM (what ``timeout``, Slurm and ``docker stop`` send) and SIGHUP all stop a sweep
the same way: the run being recorded is finished, the workers are ended, the manifest says
"interrupted" and :class:`KeyboardInterrupt` (``stopping.Terminated`` for SIGTERM/SIGHUP) propagates, so the
CLI exits 130 with one line. A system error (a full disk, a worker killed by the system) stops it with
:class:`alignsim.experiments.errors.SystemFailureError` and the manifest says "aborted". Either way every
run the driver has received is kept and rerunning the same command resumes.

Batches: a replicate's cells share the seed, hence the status quo's learning run, which each worker
process caches; so up to :data:`BATCH_RUNS` consecutive cells of one replicate go to a worker as one
task. A stop discards the batches in flight (at most ``BATCH_RUNS`` runs per worker, seconds of work);
they are run again on resume.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from tqdm import tqdm

from alignsim.experiments.engines import check_engine, open_executor, worker_count
from alignsim.experiments.errors import SystemFailureError, one_line
from alignsim.experiments.spec import Spec
from alignsim.experiments.stopping import StopSignals
from alignsim.experiments.store import RunStore, advice, describe
from alignsim.experiments.tables import write_tables
from alignsim.experiments.worker import Task, run_id, run_tasks

#: most runs handed to a worker as one task (a replicate's cells; see the module docstring): enough for the
#: 10 cells of ``compare``, small enough that a global design's hundreds of cells per replicate still
#: spread over every worker and a stop discards little
BATCH_RUNS = 10


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`."""

    out_dir: Path
    manifest: dict[str, Any]
    seconds: float

    @property
    def failed(self) -> int:
        """Number of runs that raised in this invocation."""
        return int(self.manifest["runs"]["failed"])


def tasks_for(spec: Spec, skip: set[str] | None = None) -> Iterator[Task]:
    """Tasks of every (cell, replicate) not in ``skip``, in (replicate, cell) order.

    Replicate-major, so :func:`_drain` can hand a replicate's cells to one worker together: they share
    the seed and hence the status quo's learning run, which each worker process caches.
    """
    skip = skip or set()
    for replicate in range(spec.replicates):
        for cell in range(len(spec.cell_params)):
            rid = run_id(cell, replicate)
            if rid not in skip:
                yield Task(
                    rid,
                    cell,
                    replicate,
                    spec.seed(replicate),
                    spec.run_params(cell, replicate),
                    spec.metrics,
                    spec.ts_every_weeks,
                    spec.ts_metrics,
                )


def prepare(
    spec: Spec, out_dir: Path, engine: str = "local", workers: int | None = None, scheduler: str | None = None
) -> RunStore:
    """Validate the output folder (including that it can be written) and engine options, writing nothing.

    Raises:
        UserError: the folder holds another spec or cannot be written, or an option is invalid.
    """
    check_engine(engine, workers, scheduler)
    store = RunStore(out_dir, spec)
    store.check()
    return store


def run_sweep(
    spec: Spec,
    out_dir: Path,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run (or resume) ``spec`` into ``out_dir`` and write the derived tables.

    Stored runs are verified first; what is missing or damaged is computed, saying so on stderr.

    Args:
        spec: validated experiment.
        out_dir: experiment folder (created after validation).
        engine: "local" or "dask".
        workers: parallel workers (default all cores, and never more; ignored with a Dask scheduler).
        scheduler: Dask scheduler address.
        progress: show a tqdm progress bar with ETA on stderr.

    Returns:
        The final manifest and the wall time.

    Raises:
        UserError: invalid options or output folder (nothing written).
        SystemFailureError: a system error stopped the sweep (finished runs kept).
        KeyboardInterrupt: Ctrl-C, or ``stopping.Terminated`` for SIGTERM/SIGHUP (finished runs kept).
    """
    start = time.perf_counter()
    store = prepare(spec, out_dir, engine, workers, scheduler)
    n = worker_count(engine, workers, scheduler)
    with StopSignals() as signals:
        store.open(engine, n)  # a stop signal in here leaves the folder unlocked and consistent
        _report_resume(spec, store)
        stopped = None
        try:
            todo = spec.n_runs - len(store.done)
            if todo > 0:
                with open_executor(engine, n or None, scheduler) as (executor, parallel):
                    _drain(executor, tasks_for(spec, store.done), store, parallel, todo, spec.name, progress, signals)
        except KeyboardInterrupt:
            stopped = "interrupted"
            raise
        except BaseException as exc:
            stopped = "aborted"
            store.error = store.error or one_line(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            with signals.critical():
                manifest = store.finalize(engine, n, stopped=stopped)
        try:
            write_tables(out_dir)
        except OSError as exc:
            raise SystemFailureError(
                f"cannot write the summary tables in {out_dir}: {describe(exc)}; all {len(store.done)} runs are"
                f" kept: {advice(exc)} and rerun the same command to finish"
            ) from None
    return SweepResult(Path(out_dir), manifest, time.perf_counter() - start)


def _report_resume(spec: Spec, store: RunStore) -> None:
    """One line on stderr for a previous invocation found dead, one for what the stored runs are worth."""
    if store.stale is not None:
        last = store.stale
        who = f"pid {last.get('pid')} on {last.get('host')}" if last.get("pid") else "an earlier process"
        print(
            f"{spec.name}: the previous invocation ({who}, started {last.get('started_utc')}) stopped without"
            f" finishing; recorded as interrupted, resuming in {store.dir}",
            file=sys.stderr,
        )
    if store.verification is not None and (store.verification.kept or not store.verification.clean):
        todo = spec.n_runs - len(store.done)
        print(f"{spec.name}: {store.verification.summary()}; {todo} of {spec.n_runs} to compute", file=sys.stderr)


def _drain(
    executor: Executor,
    tasks: Iterator[Task],
    store: RunStore,
    parallel: int,
    total: int,
    name: str,
    progress: bool,
    signals: StopSignals,
) -> None:
    window = max(2, 2 * parallel)
    pending: dict[Future, list[Task]] = {}
    # one submission per replicate: its cells share the seed, so the status quo's learning run and the
    # market draws are computed once per batch (cached per worker process) instead of once per cell
    batches = (
        replicate[i : i + BATCH_RUNS]
        for replicate in (list(group) for _, group in itertools.groupby(tasks, key=lambda task: task.replicate))
        for i in range(0, len(replicate), BATCH_RUNS)
    )
    bar = tqdm(total=total, desc=name, unit="run", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    try:
        _fill(executor, batches, pending, window, store, signals)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = pending.pop(future)
                outcomes = _outcome(future, batch, store, signals)
                for task, outcome in zip(batch, outcomes, strict=True):
                    with signals.critical():
                        store.add_result(task, outcome)
                    bar.update(1)
                bar.set_postfix(failed=store.failed, refresh=False)
            _fill(executor, batches, pending, window, store, signals)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    finally:
        bar.close()


def _fill(
    executor: Executor,
    batches: Iterator[list[Task]],
    pending: dict[Future, list[Task]],
    window: int,
    store: RunStore,
    signals: StopSignals,
) -> None:
    while len(pending) < window:
        batch = next(batches, None)
        if batch is None:
            return
        try:
            pending[executor.submit(run_tasks, batch)] = batch
        except BrokenProcessPool:  # a worker died after the last results came back, before this submission
            _worker_died(next(iter(pending.values()), batch), store, signals)  # the oldest batch still out


def _outcome(future: Future, batch: list[Task], store: RunStore, signals: StopSignals) -> list[dict[str, Any]]:
    try:
        return future.result()
    except BrokenProcessPool:
        _worker_died(batch, store, signals)
    except Exception as exc:  # noqa: BLE001 - e.g. a lost Dask worker: record it, keep going
        return [
            {
                "run_id": task.run_id,
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": f"engine error: {exc!r}",
            }
            for task in batch
        ]


def _worker_died(batch: list[Task], store: RunStore, signals: StopSignals) -> NoReturn:
    """A pool worker died (SIGKILL, the OOM killer): one line for the user, finished runs kept.

    Reached from a result (the pool fails the futures it held) or from a submission (the pool broke after
    the last results came back); either way the same message, never a traceback.
    """
    if signals.received is not None:  # the workers were stopped by the same signal as the driver (Slurm)
        signals.raise_for(signals.received)
    store.error = f"a worker process died during run {batch[0].run_id}"
    raise SystemFailureError(
        f"{store.error} (killed from outside, or out of memory); the {len(store.done)} finished runs are"
        " kept: rerun the same command to resume (with fewer --workers if memory is short)"
    ) from None
