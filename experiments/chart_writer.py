"""Chart files: a figure rendered to PNG and SVG bytes, here or in helper processes, and written atomically.

Rendering (text layout and rasterising) is most of a chart's cost: for the four charts of a 2 x 2 x 30
it is about 2 s of the 3 s they take, all after the last run has finished. A :class:`ChartWriter`
with ``workers`` > 1 hands each figure, pickled, to a small pool of processes that render
its PNG and its SVG while this process builds the next figure (``benchmarks/README.md``, "Workers
started early, charts rendered in parallel"). The bytes are those this process would render: same
matplotlib, same figure state, same :func:`render` (a test compares them).

A figure that cannot be pickled (a chart whose formatter is a local function) is rendered here,
and so is a figure whose helper died: a lost helper costs time, never a chart.
"""

from __future__ import annotations

import importlib
import io
import pickle
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
#: most helpers worth starting: the figures are built in the driver, which takes about as long as two
#: helpers take to render them; a third would only add its imports
MAX_HELPERS = 2


def render(fig: Any, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes, identical for identical figures (no dates, no random ids)."""
    buffer = io.BytesIO()
    if fmt == "png":
        fig.savefig(buffer, format="png", dpi=130, bbox_inches="tight", metadata={"Software": None})
    else:
        with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):
            fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def render_pickled(figure: bytes, fmt: str) -> bytes:
    """:func:`render` of a pickled figure (run in a helper process)."""
    import matplotlib.pyplot as plt

    fig = pickle.loads(figure)  # noqa: S301 - bytes this package pickled a moment ago, never read from disk
    try:
        return render(fig, fmt)
    finally:
        plt.close(fig)  # an unpickled pyplot figure is registered with pyplot again


def _rendered(figure: bytes, fmt: str, future: Future[bytes]) -> bytes:
    """A helper's bytes; rendered here if the helper died (killed, out of memory): the same bytes either way."""
    try:
        return future.result()
    except BrokenProcessPool:
        return render_pickled(figure, fmt)


def _init_helper(parent_pid: int, environ: dict[str, str]) -> None:
    """Initializer of a helper: the driver's environment, Agg (no window, on any machine), leave with the
    driver, ignore Ctrl-C."""
    adopt_driver_environment(environ)
    matplotlib.use("Agg")
    follow_driver(parent_pid)
    importlib.import_module("matplotlib.pyplot")  # imported now (unless preloaded), while the driver builds a figure


class ChartWriter:
    """Writes each chart's PNG and SVG together, rendered here (``workers`` <= 1) or by helper processes.

    Use as a context manager: leaving it waits for every chart and writes it; an error (or Ctrl-C)
    ends the helpers and writes nothing more.

    Args:
        folder: the charts folder (created when the first chart is saved).
        workers: processes that render (1: this process does, as before).

    Attributes:
        written: PNG path of every chart saved, in the order saved.
    """

    def __init__(self, folder: Path, workers: int = 1) -> None:
        self.folder = Path(folder)
        self.workers = max(1, int(workers))
        self.written: list[Path] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[bytes, dict[Path, tuple[str, Future[bytes]]]]] = []

    def __enter__(self) -> ChartWriter:
        if self.workers > 1:  # started now: their imports overlap the first figure
            self._pool = start_pool(self.workers, _init_helper, start_now=True)
        return self

    def save(self, fig: Any, name: str) -> Path:
        """Render ``fig`` as ``name``.png and ``name``.svg (now, or queued) and close it; return the PNG path."""
        import matplotlib.pyplot as plt

        paths = {self.folder / f"{name}.{fmt}": fmt for fmt in FORMATS}
        png = next(iter(paths))
        try:
            if not self._queue(fig, paths):
                self._write({path: render(fig, fmt) for path, fmt in paths.items()})
        finally:
            plt.close(fig)
        self.written.append(png)
        return png

    def _queue(self, fig: Any, paths: dict[Path, str]) -> bool:
        """Hand ``fig`` to the helpers; False (render it here) without helpers, unpicklable, or a broken pool."""
        if self._pool is None:
            return False
        try:
            figure = pickle.dumps(fig)
            futures = {path: (fmt, self._pool.submit(render_pickled, figure, fmt)) for path, fmt in paths.items()}
        except (pickle.PicklingError, TypeError, AttributeError, BrokenProcessPool, RuntimeError):
            return False
        self._pending.append((figure, futures))
        return True

    def _write(self, files: dict[Path, bytes]) -> None:
        self.folder.mkdir(exist_ok=True)
        atomic_write_files(files)  # a Ctrl-C or a full disk leaves the old pair

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        ok = exc_type is None
        try:
            if ok:
                for figure, futures in self._pending:
                    self._write({path: _rendered(figure, fmt, future) for path, (fmt, future) in futures.items()})
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
