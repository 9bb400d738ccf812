"""One experiment folder: crash-safe, resumable result files.

Files (all under ``DIR``):
    manifest.json    spec, spec hash, seeds, versions, git commit, times, run counts.
    runs.csv         one row per finished run, appended (flush + fsync) as each run finishes;
                     rewritten sorted by (cell, replicate) when the sweep ends.
    timeseries.csv   long format (run_id, week, metric, value), streamed the same way. A run's
                     time-series rows are written *before* its runs.csv row, so a runs.csv row
                     marks a complete run.
    failures.csv     runs that raised in this invocation (params, seed, traceback).

A single writer (the driver) appends whole lines. On resume, a torn last line is dropped,
time-series rows of runs missing from runs.csv are discarded, and only missing runs are computed.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import time
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import UserError, one_line
from alignsim.experiments.fileio import atomic_write_json, atomic_write_lines, csv_line
from alignsim.experiments.metadata import git_commit, now_utc, versions
from alignsim.experiments.spec import Spec
from alignsim.experiments.worker import Task

MANIFEST = "manifest.json"
RUNS = "runs.csv"
TIMESERIES = "timeseries.csv"
FAILURES = "failures.csv"
TS_HEADER = ("run_id", "week", "metric", "value")
FAIL_HEADER = ("run_id", "cell", "replicate", "seed", "params_json", "error", "traceback")
CI_METHOD = "Student t 95% confidence interval of the mean (scipy.stats.t), n-1 degrees of freedom"
SPREAD_METHOD = "10th-90th percentile of runs (numpy linear interpolation)"


def runs_header(spec: Spec) -> tuple[str, ...]:
    """Columns of runs.csv: ids, seed, factor values, kept metrics."""
    return ("run_id", "cell", "replicate", "seed", *spec.factor_names, *spec.metrics)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None if it has none."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(
            f"output folder {str(out_dir)!r}: unreadable {MANIFEST} ({one_line(exc)}); allowed: a new --out"
        ) from None


class RunStore:
    """Writer of one experiment folder (see the module docstring)."""

    def __init__(self, out_dir: Path, spec: Spec) -> None:
        self.dir = Path(out_dir)
        self.spec = spec
        self.hash = spec.hash()
        self.header = runs_header(spec)
        self.done: set[str] = set()
        self.failed = 0
        self.computed = 0
        self.started = now_utc()
        self.earlier_seconds = 0.0
        self.clock = time.perf_counter()
        self._runs = self._ts = self._fail = None
        self._lock_fd: int | None = None

    # --- checks, done before anything is written ----------------------------------------
    def check(self) -> bool:
        """Refuse a folder holding something else; return True if it holds this spec's runs.

        Raises:
            UserError: the path is a file, a foreign folder, or holds another spec's results.
        """
        if self.dir.exists() and not self.dir.is_dir():
            raise UserError(f"option --out: {str(self.dir)!r} is a file; allowed: a folder path")
        if not self.dir.is_dir() or not any(self.dir.iterdir()):
            return False
        manifest = read_manifest(self.dir)
        if manifest is None:
            raise UserError(
                f"option --out: {str(self.dir)!r} is not empty and has no {MANIFEST};"
                " allowed: an empty or new folder, or one made by alignsim for this spec"
            )
        if manifest.get("spec_hash") != self.hash:
            raise UserError(
                f"option --out: {str(self.dir)!r} holds results of a different spec"
                f" ({manifest.get('spec_name')!r}, hash {manifest.get('spec_hash')}; this spec hashes to"
                f" {self.hash}); allowed: the same spec to resume, or a new --out folder"
            )
        return True

    # --- opening and resuming -----------------------------------------------------------
    def open(self, engine: str, workers: int) -> set[str]:
        """Create or resume the folder; return the ids of runs already done."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        earlier = read_manifest(self.dir) or {}
        self.earlier_seconds = float(earlier.get("wall_seconds_all_invocations", 0.0))
        self.clock = time.perf_counter()
        self.done = self._recover_runs()
        self._recover_timeseries()
        self._write_manifest("running", engine=engine, workers=workers)
        self._runs = open(self.dir / RUNS, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._ts = open(self.dir / TIMESERIES, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._fail = open(self.dir / FAILURES, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._write(self._fail, _csv_row(FAIL_HEADER))
        if self._runs.tell() == 0:
            self._write(self._runs, csv_line(self.header))
        if self._ts.tell() == 0:
            self._write(self._ts, csv_line(TS_HEADER))
        return set(self.done)

    def _lock(self) -> None:
        """Hold an exclusive lock on the folder so two sweeps never write it at once.

        Raises:
            UserError: another alignsim process is writing this folder.
        """
        self._lock_fd = os.open(self.dir, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise UserError(
                f"option --out: {str(self.dir)!r} is being written by another alignsim process;"
                " allowed: wait for it to finish, or a different --out folder"
            ) from None

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _recover_runs(self) -> set[str]:
        path = self.dir / RUNS
        if not path.exists():
            return set()
        lines = _complete_lines(path)
        if not lines:  # nothing, or a torn header
            path.unlink()
            return set()
        if lines[0] != csv_line(self.header):
            raise UserError(f"output folder {str(self.dir)!r}: {RUNS} has other columns; allowed: a new --out")
        width = len(self.header)
        good = [line for line in lines[1:] if line.count(",") == width - 1 or '"' in line]
        seen: dict[str, str] = {}
        for line in good:
            seen.setdefault(line.split(",", 1)[0], line)
        atomic_write_lines(path, [lines[0], *seen.values()])
        return set(seen)

    def _recover_timeseries(self) -> None:
        path = self.dir / TIMESERIES
        if not path.exists():
            return
        header = csv_line(TS_HEADER)

        def keep() -> Any:
            yield header
            for line in _iter_complete_lines(path, skip_first=True):
                if line.split(",", 1)[0] in self.done:
                    yield line

        atomic_write_lines(path, keep())

    # --- appending ----------------------------------------------------------------------
    def add_result(self, task: Task, result: dict[str, Any]) -> None:
        """Record a finished run (time series first, then its runs.csv row)."""
        if not result["ok"]:
            self.add_failure(task, result["error"], result["traceback"])
            return
        if result["timeseries"]:
            block = "".join(csv_line((task.run_id, w, m, v)) for w, m, v in result["timeseries"])
            self._write(self._ts, block)
        factors = [self.spec.cells[task.cell][f] for f in self.spec.factor_names]
        metrics = [result["summary"][m] for m in self.spec.metrics]
        self._write(self._runs, csv_line((task.run_id, task.cell, task.replicate, task.seed, *factors, *metrics)))
        self.done.add(task.run_id)
        self.computed += 1

    def add_failure(self, task: Task, error: str, trace: str) -> None:
        """Record a run that raised (or whose worker died)."""
        params = json.dumps(task.params, sort_keys=True, default=str)
        self._write(self._fail, _csv_row((task.run_id, task.cell, task.replicate, task.seed, params, error, trace)))
        self.failed += 1

    @staticmethod
    def _write(handle: Any, text: str) -> None:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())

    # --- finishing ----------------------------------------------------------------------
    def close(self) -> None:
        """Close the append handles (safe to call twice)."""
        for handle in (self._runs, self._ts, self._fail):
            if handle is not None and not handle.closed:
                handle.close()

    def finalize(self, engine: str, workers: int, stopped: str | None = None) -> dict[str, Any]:
        """Sort runs.csv and timeseries.csv by (cell, replicate), write the final manifest, release the lock.

        Args:
            engine: engine name for the manifest.
            workers: worker count for the manifest (0 = default).
            stopped: "interrupted" or "aborted" if the sweep did not finish.
        """
        self.close()
        _sort_runs(self.dir / RUNS)
        _sort_timeseries(self.dir / TIMESERIES)
        if not self.failed:
            (self.dir / FAILURES).unlink(missing_ok=True)
        status = stopped or ("failed" if self.failed else "complete")
        manifest = self._write_manifest(status, engine=engine, workers=workers, ended=now_utc())
        self._unlock()
        return manifest

    def counts(self) -> dict[str, int]:
        """Planned, done, failed, computed now and reused run counts."""
        return {
            "planned": self.spec.n_runs,
            "done": len(self.done),
            "failed": self.failed,
            "computed_this_invocation": self.computed,
            "reused_from_earlier": len(self.done) - self.computed,
        }

    def _write_manifest(self, status: str, engine: str, workers: int, ended: str | None = None) -> dict[str, Any]:
        spec = self.spec
        manifest = {
            "spec_name": spec.name,
            "spec_hash": self.hash,
            "spec": spec.raw,
            "design": spec.design,
            "factors": spec.factors,
            "cells": spec.cells,
            "replicates": spec.replicates,
            "root_seed": spec.root_seed,
            "seeds": "replicate r uses numpy.random.SeedSequence(root_seed, spawn_key=(r,))"
            ".generate_state(1, uint32)[0] in every cell (common random numbers)",
            "metrics": list(spec.metrics),
            "timeseries_every_weeks": spec.ts_every_weeks,
            "timeseries_metrics": list(spec.ts_metrics),
            "ci_method": CI_METHOD,
            "spread_method": SPREAD_METHOD,
            "versions": versions(),
            "git_commit": git_commit(),
            "engine": engine,
            "workers": workers,
            "status": status,
            "started_utc": self.started,
            "ended_utc": ended,
            "wall_seconds_all_invocations": round(self.earlier_seconds + time.perf_counter() - self.clock, 3),
            "runs": self.counts(),
        }
        atomic_write_json(self.dir / MANIFEST, manifest)
        return manifest


def _csv_row(values: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _iter_complete_lines(path: Path, skip_first: bool = False) -> Any:
    """Lines of ``path`` that end in a newline (a torn last line is skipped)."""
    with open(path, encoding="utf-8", newline="") as handle:
        if skip_first:
            handle.readline()
        for line in handle:
            if line.endswith("\n"):
                yield line


def _complete_lines(path: Path) -> list[str]:
    return list(_iter_complete_lines(path))


def _run_key(run_id: str) -> tuple[int, int]:
    cell, replicate = run_id.split("-")
    return int(cell), int(replicate)


def _sort_runs(path: Path) -> None:
    lines = _complete_lines(path)
    if not lines:
        return
    body = sorted(lines[1:], key=lambda line: _run_key(line.split(",", 1)[0]))
    atomic_write_lines(path, [lines[0], *body])


def _sort_timeseries(path: Path) -> None:
    """Rewrite timeseries.csv in (cell, replicate) order using byte offsets (bounded memory)."""
    if not path.exists():
        return
    spans: dict[str, list[tuple[int, int]]] = {}
    with open(path, "rb") as handle:
        header = handle.readline()
        offset = handle.tell()
        for line in handle:
            key = line.split(b",", 1)[0].decode()
            runs = spans.setdefault(key, [])
            if runs and runs[-1][1] == offset:
                runs[-1] = (runs[-1][0], offset + len(line))
            else:
                runs.append((offset, offset + len(line)))
            offset += len(line)

    def blocks() -> Any:
        yield header.decode()
        with open(path, "rb") as source:
            for key in sorted(spans, key=_run_key):
                for start, end in spans[key]:
                    source.seek(start)
                    yield source.read(end - start).decode()

    atomic_write_lines(path, blocks())
