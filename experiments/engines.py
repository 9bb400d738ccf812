"""Execution engines behind one ``concurrent.futures.Executor`` interface.

- ``local``: a ``ProcessPoolExecutor`` on ``workers`` cores (default: all).
- ``dask``: ``distributed.Client(scheduler).get_executor(pure=False)`` on an existing cluster
  (``--scheduler tcp://HOST:PORT``), or a ``LocalCluster`` of ``workers`` single-threaded processes.
  ``pure=False`` so that identical-looking tasks are never merged.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

from alignsim.experiments.errors import UserError

ENGINES = ("local", "dask")


def default_workers() -> int:
    """All usable cores."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_engine(engine: str, workers: int | None, scheduler: str | None) -> None:
    """Validate engine options before anything is written.

    Raises:
        UserError: unknown engine, bad worker count, or a scheduler without ``--engine dask``.
    """
    if engine not in ENGINES:
        raise UserError(f"option --engine: got {engine!r}; allowed: one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise UserError(f"option --workers: got {workers}; allowed: an integer >= 1")
    if scheduler and engine != "dask":
        raise UserError(f"option --scheduler: got {scheduler!r}; allowed: only with --engine dask")
    if engine == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UserError(
                "option --engine: got 'dask'; allowed: 'local' (dask.distributed is not installed)"
            ) from None


@contextlib.contextmanager
def open_executor(
    engine: str = "local", workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Executor, int]]:
    """Yield ``(executor, parallelism)`` and shut the engine down afterwards.

    Args:
        engine: "local" or "dask".
        workers: number of worker processes (local and LocalCluster); default all cores.
        scheduler: address of an existing Dask scheduler (dask only).
    """
    check_engine(engine, workers, scheduler)
    if engine == "local":
        n = workers or default_workers()
        with ProcessPoolExecutor(max_workers=n) as pool:
            yield pool, n
        return
    with _dask_executor(workers, scheduler) as pair:
        yield pair


@contextlib.contextmanager
def _dask_executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor, int]]:
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            n = workers or default_workers()
            cluster = stack.enter_context(
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
        threads = sum(client.nthreads().values()) or 1
        executor = client.get_executor(pure=False)
        try:
            yield executor, threads
        finally:
            executor.shutdown(wait=False)
