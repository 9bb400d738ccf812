"""Execution engines behind one ``concurrent.futures.Executor`` interface.

- ``local``: a ``ProcessPoolExecutor`` on ``workers`` cores (default: all). On Linux its workers are forked
  from a forkserver that has imported the model and loaded its compiled kernels once (elsewhere they are
  spawned and do it themselves). They start with :func:`alignsim.experiments.worker.init_worker`, so they
  take the driver's environment and leave as soon as the driver dies, even by kill -9. If the sweep
  stops early (Ctrl-C, SIGTERM, an error), running workers are terminated at once instead of finishing
  their runs, and no process is left behind.
- ``dask``: ``distributed.Client(scheduler).get_executor(pure=False)`` on an existing cluster
  (``--scheduler tcp://HOST:PORT``), or a ``LocalCluster`` of ``workers`` single-threaded processes.
  ``pure=False`` so that identical-looking tasks are never merged.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from alignsim.experiments.errors import UserError
from alignsim.experiments.worker import init_worker

ENGINES = ("local", "dask")
#: cgroup v2 and v1 CPU quota files (a container limited with --cpus has fewer cores than it sees)
CGROUP_FILES = (Path("/sys/fs/cgroup/cpu.max"), Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
_told: set[tuple[int, int]] = set()
#: local pools started ahead of open_executor by started_early, by worker count
_STARTED: dict[int, ProcessPoolExecutor] = {}
#: the module the forkserver imports once, for every process forked from it
PRELOAD = "alignsim.experiments.preload"


def default_workers() -> int:
    """All cores this process may use: its CPU affinity, capped by a container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    quota = _cgroup_cores()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_cores() -> int | None:
    """Cores allowed by the cgroup CPU quota (rounded up), or None without a quota."""
    try:
        v2 = CGROUP_FILES[0]
        if v2.is_file():
            limit, period = v2.read_text().split()[:2]
            return None if limit == "max" else math.ceil(int(limit) / int(period))
        v1 = CGROUP_FILES[1]
        if v1.is_file():
            limit = int(v1.read_text())
            period = int((v1.parent / "cpu.cfs_period_us").read_text())
            return None if limit <= 0 else math.ceil(limit / period)
    except (OSError, ValueError, ZeroDivisionError):
        return None
    return None


def worker_count(engine: str, workers: int | None, scheduler: str | None) -> int:
    """Worker processes to start: ``workers`` capped at the available cores (0 with an existing Dask scheduler).

    More processes than cores only adds memory and scheduling overhead, and results do not depend on the
    count, so a larger request is capped; that is said once per process on stderr.
    """
    if engine == "dask" and scheduler:
        return 0
    cores = default_workers()
    if workers is None:
        return cores
    if workers > cores:
        if (workers, cores) not in _told:
            _told.add((workers, cores))
            print(
                f"alignsim: --workers {workers} is more than the {cores} cores available; running {cores} workers",
                file=sys.stderr,
            )
        return cores
    return workers


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
        pool = _STARTED.pop(n, None) or start_pool(n, init_worker)
        try:
            yield pool, n
        except BaseException:
            stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return
    with _dask_executor(workers, scheduler) as pair:
        yield pair


def start_pool(n: int, initializer: Callable[..., None], start_now: bool = False) -> ProcessPoolExecutor:
    """A pool of ``n`` processes, each starting with ``initializer(driver pid, driver environment)``.

    On Linux the processes are forked from the forkserver (:func:`pool_context`), which imports
    :mod:`alignsim.experiments.preload` once: the model with its compiled kernels, and matplotlib. A
    forked process starts with all of it (a spawned one spent about 1.4 s of CPU importing and loading);
    it has the forkserver's environment, so the initializer takes the driver's, as it is now
    (:func:`alignsim.experiments.worker.adopt_driver_environment`).

    Args:
        n: processes.
        initializer: run first in each process (see :func:`worker.init_worker`).
        start_now: start every process now (a pool starts one per submission it cannot hand to an idle
            process), from a background thread: the first fork waits for the forkserver's imports, and
            this process goes on meanwhile.
    """
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=pool_context(),
        initializer=initializer,
        initargs=(os.getpid(), dict(os.environ)),
    )
    if start_now:
        threading.Thread(target=_start_processes, args=(pool, n), name="alignsim-pool-start", daemon=True).start()
    return pool


def _start_processes(pool: ProcessPoolExecutor, n: int) -> None:
    """Start the pool's ``n`` processes (one per submission it cannot hand to an idle process)."""
    with contextlib.suppress(RuntimeError, BrokenProcessPool):  # stopped meanwhile: nothing more to start
        for _ in range(n):
            pool.submit(os.getpid)


def pool_context() -> multiprocessing.context.BaseContext:
    """Where local pool processes come from: forked from the preloaded forkserver on Linux, else spawned.

    The forkserver is one per driver process, started by the first pool; it leaves when the driver
    does. Its preload list is set here, before it starts (a forkserver already started by other code
    keeps its own: the processes then import what they need themselves).
    """
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])
    return context


@contextlib.contextmanager
def started_early(engine: str, workers: int | None, scheduler: str | None) -> Iterator[None]:
    """Start the local pool's workers now, for the :func:`open_executor` call inside the block to use.

    A worker spends its first 1-2 s importing the model and loading the compiled kernels; started
    before the driver's own imports and checks, it does that meanwhile (``benchmarks/README.md``,
    "Workers started early, charts rendered in parallel"). Invalid options start nothing (the
    checks inside the block say why); a pool still unused when the block ends (bad input found
    meanwhile, nothing left to run) is stopped, so no process outlives the block.
    """
    try:
        check_engine(engine, workers, scheduler)
    except UserError:
        yield
        return
    n = worker_count(engine, workers, scheduler) if engine == "local" else 0
    if n < 1 or n in _STARTED:
        yield
        return
    pool = start_pool(n, init_worker, start_now=True)
    _STARTED[n] = pool
    try:
        yield
    finally:
        if _STARTED.get(n) is pool:
            del _STARTED[n]
            stop_pool(pool)


def stop_pool(pool: ProcessPoolExecutor, grace: float = 3.0) -> None:
    """Cancel what has not started and end the workers now: SIGTERM, then SIGKILL after ``grace`` seconds."""
    started = getattr(pool, "_processes", None)  # the pool's own dict (shutdown() drops the pool's reference)
    pool.shutdown(wait=False, cancel_futures=True)  # waits for a process being started (a fork waits for the server)
    processes = list((started or {}).values())  # read now: it holds every process started until shutdown
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)


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
