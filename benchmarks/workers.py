"""Worker functions for benchmarks/bench.py.

They live in a module (not in ``bench.py``'s ``__main__``) because importing Mesa sets the
multiprocessing start method to *spawn*: a process pool re-imports the function it runs by
module name. ``bench.py`` puts the repository root on ``sys.path`` and imports this file as
``benchmarks.workers``; spawned children inherit that ``sys.path``.

The module is also a small command-line entry point so that size-scaling and memory
measurements run in a *fresh* interpreter each (their peak RSS and RSS trend then belong to
that measurement alone)::

    python benchmarks/workers.py scale  --k 4 --reps 3
    python benchmarks/workers.py memory --runs 500 --every 50 --mode run
    python benchmarks/workers.py memory --runs 100 --every 10 --mode run --gc-each
    python benchmarks/workers.py memory --runs 100 --every 10 --mode step

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import argparse
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import resource
import sys
import time
import tracemalloc
import types
from collections.abc import Sequence
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
#: set by ``bench.py --rev``: a folder holding model/ and agents/ of another commit, imported first
CODE_ENV = "ALIGNSIM_BENCH_CODE"
#: the packages ``--rev`` replaces, as installed (alignsim.model = model/, alignsim.agents = agents/)
REPLACED = ("alignsim.model", "alignsim.agents")


class _RevisionFinder(importlib.abc.MetaPathFinder):
    """Imports ``alignsim.model`` and ``alignsim.agents`` from another revision's folder.

    They install through ``package-dir`` (model/ -> alignsim.model), so putting the folder on
    ``sys.path`` alone no longer reaches them: the installed finder would quietly import the
    working tree's code. Their submodules then load from the folder through the package's
    ``__path__``.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in REPLACED:
            return None
        package = os.path.join(self.folder, fullname.split(".")[1])
        return importlib.util.spec_from_file_location(
            fullname, os.path.join(package, "__init__.py"), submodule_search_locations=[package]
        )


def use_code(folder: str) -> None:
    """Import model/ and agents/ from ``folder`` in this process and in the ones it starts.

    Serves both layouts: revisions before the alignsim namespace import top-level ``model``
    and ``agents`` (found on ``sys.path``), later ones import ``alignsim.model`` and
    ``alignsim.agents`` (found by :class:`_RevisionFinder`).

    Raises:
        RuntimeError: if the model was already imported from elsewhere in this process.
    """
    loaded = [name for name in REPLACED if name in sys.modules]
    if loaded and not any(isinstance(f, _RevisionFinder) and f.folder == folder for f in sys.meta_path):
        raise RuntimeError(f"{loaded} already imported; call use_code() before importing the model")
    os.environ[CODE_ENV] = folder  # inherited by pool workers and workers.py subprocesses
    if sys.path[0] != folder:
        sys.path.insert(0, folder)
    if not any(isinstance(f, _RevisionFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _RevisionFinder(folder))


def model_source() -> str:
    """The file ``GTMModel`` is defined in (to confirm which code is being timed)."""
    from alignsim.model import GTMModel

    return os.path.abspath(sys.modules[GTMModel.__module__].__file__)


if os.environ.get(CODE_ENV):
    use_code(os.environ[CODE_ENV])

#: default head-count and lead-volume parameters, multiplied by k for the scaling benchmark
BASE_SIZE: dict[str, float] = {
    "n_marketers": 4,
    "n_sdrs": 6,
    "n_aes": 6,
    "n_csms": 6,
    "prospects_per_week": 300.0,
    "initial_customers": 300,
}


def scaled_params(k: int) -> dict[str, Any]:
    """Head count (all four roles) and lead volume (prospects per week, initial base) times ``k``."""
    return {name: type(value)(value * k) for name, value in BASE_SIZE.items()}


def timed_run(
    seed: int,
    structure: str = "assembly_line",
    kpi: str = "siloed",
    weeks: int = 260,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One run ``GTMModel(...).run().summary()``, timed by phase (seconds, ``time.perf_counter``)."""
    from alignsim.model import GTMModel

    c0 = time.process_time()
    t0 = time.perf_counter()
    model = GTMModel(seed=seed, structure=structure, kpi=kpi, weeks=weeks, **(params or {}))
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    summary = model.summary()
    t3 = time.perf_counter()
    c3 = time.process_time()
    return {
        "seed": seed,
        "structure": structure,
        "kpi": kpi,
        "pid": os.getpid(),
        "seconds": t3 - t0,
        "cpu_s": c3 - c0,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "summary_s": t3 - t2,
        "rows": int(model.accounts.n),
        "ltv": float(summary["ltv"]),
    }


def warm(_: int = 0) -> int:
    """Import the model and do a short run (fills import caches in a pool worker); returns the pid."""
    timed_run(0, weeks=13)
    return os.getpid()


def rss_mb() -> float:
    """Current resident set size of this process, MiB (psutil)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def maxrss_mb() -> float:
    """Peak resident set size of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(k: int, reps: int, seed: int, weeks: int) -> dict[str, Any]:
    """Time ``reps`` runs at size ``k``, then the peak memory (ru_maxrss, then tracemalloc) of one run."""
    import alignsim.model  # noqa: F401 - imports counted in the baseline

    warm()
    baseline_rss = rss_mb()
    baseline_maxrss = maxrss_mb()
    timed_run(seed - 1)  # one full-length default run as warm-up, not counted
    params = scaled_params(k)
    runs = [timed_run(seed + r, weeks=weeks, params=params) for r in range(reps)]
    peak_maxrss = maxrss_mb()
    gc.collect()
    tracemalloc.start()
    timed_run(seed, weeks=weeks, params=params)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "k": k,
        "params": params,
        "reps": reps,
        "runs": runs,
        "baseline_rss_mb": baseline_rss,
        "baseline_maxrss_mb": baseline_maxrss,
        "peak_maxrss_mb": peak_maxrss,
        "tracemalloc_peak_mb": traced_peak / 2**20,
    }


def memory(runs: int, every: int, mode: str, weeks: int, gc_each: bool = False) -> dict[str, Any]:
    """RSS after every ``every`` sequential default runs in this one process.

    ``mode="run"`` uses ``GTMModel.run()`` (which calls ``release()``); ``mode="step"`` calls
    ``step()`` until the model stops, so the model is never released from ``mesa.Agent._ids``.
    ``gc.collect()`` runs before each reading, so the figure is what is still reachable; with
    ``gc_each`` also after every run (a finished model is a reference cycle: model <-> agents, so
    without a full collection several dead models can wait for the cyclic collector at once).
    """
    import mesa

    from alignsim.model import GTMModel

    def reading(done: int) -> dict[str, Any]:
        gc.collect()
        return {"runs": done, "rss_mb": rss_mb(), "models_in_agent_ids": len(mesa.Agent._ids)}

    warm()
    samples = [reading(0)]
    seconds = []
    for i in range(runs):
        t0 = time.perf_counter()
        model = GTMModel(seed=10_000 + i, weeks=weeks)
        if mode == "run":
            model.run()
        else:
            while model.running:
                model.step()
        model.summary()
        del model
        if gc_each:
            gc.collect()
        seconds.append(time.perf_counter() - t0)
        if (i + 1) % every == 0:
            samples.append(reading(i + 1))
    return {
        "mode": mode,
        "gc_each": gc_each,
        "runs": runs,
        "every": every,
        "weeks": weeks,
        "samples": samples,
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scale")
    s.add_argument("--k", type=int, required=True)
    s.add_argument("--reps", type=int, default=3)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--weeks", type=int, default=260)
    m = sub.add_parser("memory")
    m.add_argument("--runs", type=int, default=500)
    m.add_argument("--every", type=int, default=50)
    m.add_argument("--mode", choices=("run", "step"), default="run")
    m.add_argument("--weeks", type=int, default=260)
    m.add_argument("--gc-each", action="store_true", help="gc.collect() after every run")
    args = parser.parse_args(argv)
    if args.command == "scale":
        out = scale(args.k, args.reps, args.seed, args.weeks)
    else:
        out = memory(args.runs, args.every, args.mode, args.weeks, args.gc_each)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
