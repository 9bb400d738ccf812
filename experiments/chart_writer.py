"""Chart files: a figure rendered to PNG and SVG bytes, here or in helper processes, and written atomically.

Building a figure (layout, ticks) and rendering it (text layout and rasterising) are the charts' whole
cost: for the four charts of a 2 x 2 x 30 about 3.5 s of CPU, all after the last run has finished. A
:class:`ChartWriter` with ``workers`` > 1 hands each chart *job* (a module-level function that builds
one chart of an experiment folder and renders it) to a small pool of processes, so the charts are
built and rendered side by side and this process only writes the files (``benchmarks/README.md``,
"Charts built where they are rendered"). The bytes are those this process would write: same
matplotlib, same code, same :func:`render` (a test compares them). A job whose helper died is run
here: a lost helper costs time, never a chart.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import matplotlib

from alignsim.experiments.engines import start_pool, stop_pool
from alignsim.experiments.fileio import atomic_write_files
from alignsim.experiments.worker import adopt_driver_environment, follow_driver

#: fixed salt for the ids matplotlib writes into SVGs (by default random, so every redraw differed)
SVG_SALT = "alignsim"
FORMATS = ("png", "svg")  # a chart is its PNG (the path returned) and its SVG
#: most helpers worth starting: one per chart of the structure x KPI 2 x 2 (its four charts are the only
#: ones drawn with helpers)
MAX_HELPERS = 4

#: a chart job's result: each chart it drew, as (name, {format: bytes})
Rendered = list[tuple[str, dict[str, bytes]]]


def render(fig: Any, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes, identical for identical figures (no dates, no random ids)."""
    buffer = io.BytesIO()
    if fmt == "png":
        fig.savefig(buffer, format="png", dpi=130, bbox_inches="tight", metadata={"Software": None})
    else:
        with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):
            fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


class RenderedCharts:
    """A writer that renders each figure saved into it and keeps the bytes, writing nothing (a job's writer).

    Attributes:
        charts: each chart saved, as (name, {format: bytes}), in the order saved.
    """

    def __init__(self) -> None:
        self.charts: Rendered = []

    def save(self, fig: Any, name: str) -> Path:
        """Render ``fig`` in every format, keep the bytes, close it; return its PNG's name."""
        import matplotlib.pyplot as plt

        try:
            self.charts.append((name, {fmt: render(fig, fmt) for fmt in FORMATS}))
        finally:
            plt.close(fig)
        return Path(f"{name}.{FORMATS[0]}")


def _init_helper(parent_pid: int, environ: dict[str, str]) -> None:
    """Initializer of a helper: the driver's environment, Agg (no window, on any machine), leave with the
    driver, ignore Ctrl-C."""
    adopt_driver_environment(environ)
    matplotlib.use("Agg")
    follow_driver(parent_pid)
    importlib.import_module("matplotlib.pyplot")  # imported now (unless preloaded), while the jobs are handed out


class ChartWriter:
    """Writes each chart's PNG and SVG together: figures rendered here, chart jobs run by helper processes.

    Use as a context manager: leaving it waits for every job and writes its charts in the order the
    jobs were submitted; an error (or Ctrl-C) ends the helpers and writes nothing more.

    Args:
        folder: the charts folder (created when the first chart is written).
        workers: processes that run chart jobs (1: this process runs them, at submission).

    Attributes:
        written: PNG path of every chart written, in the order saved or submitted.
    """

    def __init__(self, folder: Path, workers: int = 1) -> None:
        self.folder = Path(folder)
        self.workers = max(1, int(workers))
        self.written: list[Path] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[Callable[..., Rendered], tuple[Any, ...], Future[Rendered]]] = []

    def __enter__(self) -> ChartWriter:
        if self.workers > 1:  # started now: each process is forked while the jobs are submitted
            self._pool = start_pool(self.workers, _init_helper, start_now=True)
        return self

    def save(self, fig: Any, name: str) -> Path:
        """Render ``fig`` here as ``name``.png and ``name``.svg, write both and close it; return the PNG path."""
        rendered = RenderedCharts()
        rendered.save(fig, name)
        self._write(rendered.charts)
        return self.written[-1]

    def submit(self, job: Callable[..., Rendered], *args: Any) -> None:
        """Run ``job(*args)`` in a helper (here, now, without one); its charts are written on leaving.

        ``job`` must be a module-level function (it is pickled by name) that returns what
        :class:`RenderedCharts` collected; ``args`` must pickle.
        """
        if self._pool is None:
            self._write(job(*args))
            return
        try:
            future = self._pool.submit(job, *args)
        except (BrokenProcessPool, RuntimeError):  # a helper died before this submission: run it here, now
            future = Future()
            future.set_result(job(*args))  # written in its turn, after the jobs submitted before it
        self._pending.append((job, args, future))

    def _write(self, charts: Rendered) -> None:
        for name, files in charts:
            paths = {self.folder / f"{name}.{fmt}": data for fmt, data in files.items()}
            self.folder.mkdir(exist_ok=True)
            atomic_write_files(paths)  # a Ctrl-C or a full disk leaves the old pair
            self.written.append(next(iter(paths)))

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        ok = exc_type is None
        try:
            if ok:
                for job, args, future in self._pending:
                    self._write(_result(job, args, future))
        except BaseException:
            ok = False
            raise
        finally:
            self._close(ok)

    def _close(self, ok: bool) -> None:
        if self._pool is None:
            return
        if ok:
            self._pool.shutdown(wait=True)
        else:  # cancel what waits and end the helpers now
            stop_pool(self._pool)


def _result(job: Callable[..., Rendered], args: tuple[Any, ...], future: Future[Rendered]) -> Rendered:
    """A helper's charts; drawn here if the helper died (killed, out of memory): the same bytes either way."""
    try:
        return future.result()
    except BrokenProcessPool:
        return job(*args)
