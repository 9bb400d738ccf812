"""Run a spec: submit the missing runs to an executor with a bounded window, stream results to disk.

Every engine is a ``concurrent.futures.Executor`` (see :mod:`alignsim.experiments.engines`). The driver is
the single writer of the folder (:class:`alignsim.experiments.store.RunStore`). At most ``window`` futures
are in flight, so memory does not grow with the number of runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from alignsim.experiments.engines import check_engine, open_executor
from alignsim.experiments.spec import Spec
from alignsim.experiments.store import RunStore
from alignsim.experiments.tables import write_tables
from alignsim.experiments.worker import Task, run_id, run_task


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
    """Tasks of every (cell, replicate) not in ``skip``, in (cell, replicate) order."""
    skip = skip or set()
    for cell, params in enumerate(spec.cell_params):
        for replicate in range(spec.replicates):
            rid = run_id(cell, replicate)
            if rid not in skip:
                yield Task(
                    rid,
                    cell,
                    replicate,
                    spec.seed(replicate),
                    params,
                    spec.metrics,
                    spec.ts_every_weeks,
                    spec.ts_metrics,
                )


def prepare(
    spec: Spec, out_dir: Path, engine: str = "local", workers: int | None = None, scheduler: str | None = None
) -> RunStore:
    """Validate the output folder and engine options without writing anything.

    Raises:
        UserError: the folder holds another spec, or an option is invalid.
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

    Args:
        spec: validated experiment.
        out_dir: experiment folder (created after validation).
        engine: "local" or "dask".
        workers: parallel workers (default all cores; ignored with a Dask scheduler).
        scheduler: Dask scheduler address.
        progress: show a tqdm progress bar with ETA on stderr.

    Returns:
        The final manifest and the wall time.
    """
    start = time.perf_counter()
    store = prepare(spec, out_dir, engine, workers, scheduler)
    store.open(engine, workers or 0)
    stopped = None
    try:
        todo = spec.n_runs - len(store.done)
        if todo > 0:
            with open_executor(engine, workers, scheduler) as (executor, parallel):
                _drain(executor, tasks_for(spec, store.done), store, parallel, todo, spec.name, progress)
    except KeyboardInterrupt:
        stopped = "interrupted"
        raise
    except BaseException:
        stopped = "aborted"
        raise
    finally:
        manifest = store.finalize(engine, workers or 0, stopped=stopped)
    write_tables(out_dir)
    return SweepResult(Path(out_dir), manifest, time.perf_counter() - start)


def _drain(
    executor: Executor, tasks: Iterator[Task], store: RunStore, parallel: int, total: int, name: str, progress: bool
) -> None:
    window = max(2, 2 * parallel)
    pending: dict[Future, Task] = {}
    bar = tqdm(total=total, desc=name, unit="run", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    try:
        _fill(executor, tasks, pending, window)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                task = pending.pop(future)
                store.add_result(task, _outcome(future, task))
                bar.update(1)
                bar.set_postfix(failed=store.failed, refresh=False)
            _fill(executor, tasks, pending, window)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    finally:
        bar.close()


def _fill(executor: Executor, tasks: Iterator[Task], pending: dict[Future, Task], window: int) -> None:
    while len(pending) < window:
        task = next(tasks, None)
        if task is None:
            return
        pending[executor.submit(run_task, task)] = task


def _outcome(future: Future, task: Task) -> dict[str, Any]:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise RuntimeError(f"a worker process died during run {task.run_id}; rerun the command to resume") from exc
    except Exception as exc:  # noqa: BLE001 - e.g. a lost Dask worker: record it, keep going
        return {
            "run_id": task.run_id,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": f"engine error: {exc!r}",
        }
