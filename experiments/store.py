"""One experiment folder: crash-safe, resumable result files.

Files (all under ``DIR``):
    manifest.json    spec, spec hash, seeds, versions, git commit, times, run counts, status, the
                     writing process (pid, host, start time) and the history of earlier invocations.
    runs.csv         one row per finished run, appended (fsync) as each run finishes;
                     rewritten sorted by (cell, replicate) when the sweep ends.
    timeseries.csv   long format (run_id, week, metric, value), streamed the same way. A run's
                     time-series rows are written *before* its runs.csv row, so a runs.csv row
                     marks a complete run.
    failures.csv     runs that raised in this invocation (params, seed, traceback).

A single writer (the driver) holds an exclusive lock on the folder and appends whole runs: if a
write fails (a full disk), both files are cut back to where the run started, so no partial run is
ever left behind. On resume every stored run is verified against the spec
(:mod:`alignsim.experiments.verify`): rows of foreign run ids are dropped, damaged or incomplete runs
are recomputed, and only verified runs count as done.

Status in manifest.json: ``running`` while a sweep writes; ``complete``, ``failed`` (some runs
raised), ``interrupted`` (Ctrl-C or SIGTERM) or ``aborted`` (a system error) when it stops. A
driver killed outright (kill -9, power loss) leaves ``running``: the next start sees that the lock
is free, so that process is gone, records the invocation as ``interrupted`` and resumes.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import SystemFailureError, UserError, one_line
from alignsim.experiments.fileio import atomic_write_json, atomic_write_lines, csv_line, format_value
from alignsim.experiments.metadata import git_commit, model_code_sha256, now_utc, refuse_other_model_code, versions
from alignsim.experiments.spec import Spec
from alignsim.experiments.verify import RUNS, TIMESERIES, TS_HEADER, Verification, repair, runs_header, verify
from alignsim.experiments.worker import Task

MANIFEST = "manifest.json"
FAILURES = "failures.csv"
FAIL_HEADER = ("run_id", "cell", "replicate", "seed", "params_json", "error", "traceback")
CI_METHOD = "Student t 95% confidence interval of the mean (scipy.stats.t), n-1 degrees of freedom"
SPREAD_METHOD = "10th-90th percentile of runs (numpy linear interpolation)"
#: earlier invocations kept in the manifest's history
HISTORY = 50

__all__ = [
    "FAILURES",
    "MANIFEST",
    "RUNS",
    "TIMESERIES",
    "TS_HEADER",
    "RunStore",
    "read_manifest",
    "runs_header",
]


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None if it has none."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(
            f"output folder {str(out_dir)!r}: unreadable {MANIFEST} ({one_line(exc)}); allowed: a new --out"
        ) from None


def advice(exc: OSError) -> str:
    """What the user can do about a failed write."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free space on that disk (or use another --out)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make the folder writable (or use another --out)"
    return "fix the cause (or use another --out)"


def describe(exc: OSError) -> str:
    """``strerror [ENAME]`` of an OSError, on one line."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return one_line(f"{exc.strerror or exc}" + (f" [{name}]" if name else ""))


class _Appender:
    """An append-only file written with whole-record writes that are undone if they fail."""

    def __init__(self, path: Path, truncate: bool = False) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if truncate else 0)
        self.fd: int | None = os.open(path, flags, 0o666)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def sync(self) -> None:
        os.fsync(self.fd)

    def cut(self, size: int) -> None:
        """Cut the file back to ``size`` bytes (best effort: this runs while handling a failed write)."""
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, size)
            os.fsync(self.fd)

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _process_started(pid: int) -> float | None:
    """Start time of process ``pid`` (seconds since the epoch), or None if it does not exist or is unknown."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with dask.distributed
        return None
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


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
        self.verification: Verification | None = None
        #: the previous invocation when it was left "running" by a process that is gone
        self.stale: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []
        self.error: str | None = None
        self._runs: _Appender | None = None
        self._ts: _Appender | None = None
        self._fail: _Appender | None = None
        self._lock_fd: int | None = None

    # --- checks, done before anything is written ----------------------------------------
    def check(self) -> bool:
        """Refuse a folder holding something else or that cannot be written; True if it holds this spec's runs.

        Raises:
            UserError: the path is a file, a foreign folder, holds another spec's results, or cannot be written.
        """
        if self.dir.exists() and not self.dir.is_dir():
            raise UserError(f"option --out: {str(self.dir)!r} is a file; allowed: a folder path")
        if not self.dir.is_dir() or not any(self.dir.iterdir()):
            self._check_writable()
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
        refuse_other_model_code(manifest, self.dir, "a new --out folder")
        self._check_writable()
        return True

    def _check_writable(self) -> None:
        """Refuse an output folder this process cannot write, before anything is computed.

        Raises:
            UserError: the folder (or, if it does not exist yet, the folder it would be created in), or a
                result file in it, cannot be written.
        """
        where = self.dir
        while not where.exists() and where != where.parent:
            where = where.parent
        if not where.is_dir():
            raise UserError(f"option --out: {str(self.dir)!r} lies inside a file ({where}); allowed: a folder path")
        problem = None
        if not os.access(where, os.W_OK | os.X_OK):
            problem = f"{where} is not writable"
        else:
            for name in (RUNS, TIMESERIES, FAILURES):
                path = self.dir / name
                if path.exists() and not os.access(path, os.W_OK):
                    problem = f"{path} is not writable"
                    break
        if problem is None and where == self.dir:
            try:  # permissions are not the whole story (read-only mounts, ACLs, quotas): try it
                fd, probe = tempfile.mkstemp(dir=self.dir, prefix=".alignsim-probe-")
                os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                problem = f"cannot create a file in {self.dir} ({describe(exc)})"
        if problem:
            raise UserError(f"option --out: {problem}; allowed: a folder you can write to")

    # --- opening and resuming -----------------------------------------------------------
    def open(self, engine: str, workers: int) -> set[str]:
        """Lock, verify and resume (or create) the folder; return the ids of verified finished runs.

        Raises:
            UserError: another alignsim process is writing the folder.
            SystemFailureError: the folder cannot be written.
        """
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock()
        except OSError as exc:
            raise SystemFailureError(
                f"cannot create or lock {self.dir}: {describe(exc)}; {advice(exc)} and rerun the same command"
            ) from None
        try:
            self._resume(engine, workers)
        except BaseException as exc:
            self.close()
            self._unlock()
            if isinstance(exc, OSError):
                raise SystemFailureError(
                    f"cannot write in {self.dir}: {describe(exc)}; {advice(exc)} and rerun the same command"
                ) from None
            raise
        return set(self.done)

    def _resume(self, engine: str, workers: int) -> None:
        earlier = read_manifest(self.dir) or {}
        self.earlier_seconds = float(earlier.get("wall_seconds_all_invocations", 0.0))
        self.history = list(earlier.get("history", []))
        if earlier:
            last = {k: earlier.get(k) for k in ("status", "started_utc", "ended_utc")}
            last.update(
                {k: (earlier.get("writer") or {}).get(k) for k in ("pid", "host")},
                computed=(earlier.get("runs") or {}).get("computed_this_invocation"),
            )
            if earlier.get("status") == "running":
                self._check_stale(earlier)
                last["status"] = "interrupted"
                last["note"] = "the process stopped without finishing (killed?); found by the next start"
                self.stale = last
                self.history = [*self.history, last][-HISTORY:]
                self._write_manifest("interrupted", engine=earlier.get("engine", engine), workers=workers)
            else:
                self.history = [*self.history, last][-HISTORY:]
        self.clock = time.perf_counter()
        if (self.dir / RUNS).exists() or (self.dir / TIMESERIES).exists():
            self.verification = verify(self.dir, self.spec)
            repair(self.dir, self.spec, self.verification)
            self.done = set(self.verification.kept)
        self._write_manifest("running", engine=engine, workers=workers)
        self._runs = _Appender(self.dir / RUNS)
        self._ts = _Appender(self.dir / TIMESERIES)
        self._fail = _Appender(self.dir / FAILURES, truncate=True)
        self._fail.write(csv_line(FAIL_HEADER).encode())
        for appender, header in ((self._runs, self.header), (self._ts, TS_HEADER)):
            if appender.size() == 0:
                appender.write(csv_line(header).encode())
                appender.sync()

    def _check_stale(self, earlier: dict[str, Any]) -> None:
        """We hold the lock, so the writer that left "running" is gone; unless the folder's file system
        ignores locks and that very process still runs on this host.

        Raises:
            UserError: the recorded writer is alive on this host.
        """
        writer = earlier.get("writer") or {}
        pid, started = writer.get("pid"), writer.get("process_started")
        if writer.get("host") != socket.gethostname() or not isinstance(pid, int) or started is None:
            return
        alive_since = _process_started(pid)
        if pid != os.getpid() and alive_since is not None and abs(alive_since - float(started)) < 1.0:
            raise UserError(
                f"option --out: {str(self.dir)!r} is being written by another alignsim process (pid {pid});"
                " allowed: wait for it to finish, or a different --out folder"
            )

    def _lock(self) -> None:
        """Hold an exclusive lock on the folder so two sweeps never write it at once.

        The kernel releases the lock when the process ends, however it ends, so it is never stale.

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

    # --- appending ----------------------------------------------------------------------
    def add_result(self, task: Task, result: dict[str, Any]) -> None:
        """Record a finished run: its time series, then its runs.csv row; all of it or nothing.

        Raises:
            SystemFailureError: a write failed (the files are cut back to where this run started).
        """
        if not result["ok"]:
            self.add_failure(task, result["error"], result["traceback"])
            return
        block = _series_block(task.run_id, result["timeseries"])
        factors = [self.spec.cells[task.cell][f] for f in self.spec.factor_names]
        metrics = [result["summary"][m] for m in self.spec.metrics]
        row = csv_line((task.run_id, task.cell, task.replicate, task.seed, *factors, *metrics))
        ts_size, runs_size = self._ts.size(), self._runs.size()
        target = self._ts
        try:
            if block:
                self._ts.write(block.encode())
                self._ts.sync()
            target = self._runs
            self._runs.write(row.encode())
            self._runs.sync()
        except OSError as exc:
            self._runs.cut(runs_size)
            self._ts.cut(ts_size)
            self._fault(exc, target.path)
        self.done.add(task.run_id)
        self.computed += 1

    def add_failure(self, task: Task, error: str, trace: str) -> None:
        """Record a run that raised (or whose worker died).

        Raises:
            SystemFailureError: the write failed.
        """
        params = json.dumps(task.params, sort_keys=True, default=str)
        row = _csv_row((task.run_id, task.cell, task.replicate, task.seed, params, error, trace))
        size = self._fail.size()
        try:
            self._fail.write(row.encode())
            self._fail.sync()
        except OSError as exc:
            self._fail.cut(size)
            self._fault(exc, self._fail.path)
        self.failed += 1

    def _fault(self, exc: OSError, path: Path) -> None:
        self.error = f"cannot write {path}: {describe(exc)}"
        raise SystemFailureError(
            f"{self.error}; the {len(self.done)} finished runs are kept and no partial run is left:"
            f" {advice(exc)} and rerun the same command to resume"
        ) from None

    # --- finishing ----------------------------------------------------------------------
    def close(self) -> None:
        """Close the append handles (safe to call twice)."""
        for appender in (self._runs, self._ts, self._fail):
            if appender is not None:
                appender.close()

    def finalize(self, engine: str, workers: int, stopped: str | None = None) -> dict[str, Any]:
        """Sort runs.csv and timeseries.csv by (cell, replicate), write the final manifest, release the lock.

        A stopped sweep (``stopped`` = "interrupted" or "aborted") is not sorted: the next start verifies
        and resumes the files as they are, and a process asked to stop should stop quickly. Its manifest is
        written on a best-effort basis: if that fails too, it stays "running", which the next start reports
        as interrupted.

        Args:
            engine: engine name for the manifest.
            workers: worker count for the manifest.
            stopped: "interrupted" or "aborted" if the sweep did not finish.

        Raises:
            SystemFailureError: (only when not stopped) the final files could not be written.
        """
        self.close()
        try:
            if stopped is None:
                _sort_runs(self.dir / RUNS)
                _sort_timeseries(self.dir / TIMESERIES)
            if not self.failed:
                (self.dir / FAILURES).unlink(missing_ok=True)
            status = stopped or ("failed" if self.failed else "complete")
            return self._write_manifest(status, engine=engine, workers=workers, ended=now_utc())
        except OSError as exc:
            if stopped is not None:
                return self._manifest("running", engine, workers, None)
            raise SystemFailureError(
                f"cannot finish the result files in {self.dir}: {describe(exc)}; all {len(self.done)} finished"
                f" runs are kept: {advice(exc)} and rerun the same command to finish"
            ) from None
        finally:
            self._unlock()

    def counts(self) -> dict[str, int]:
        """Planned, done, failed, computed now and reused run counts."""
        return {
            "planned": self.spec.n_runs,
            "done": len(self.done),
            "failed": self.failed,
            "computed_this_invocation": self.computed,
            "reused_from_earlier": len(self.done) - self.computed,
        }

    def _manifest(self, status: str, engine: str, workers: int, ended: str | None) -> dict[str, Any]:
        spec = self.spec
        manifest = {
            "spec_name": spec.name,
            "spec_hash": self.hash,
            "model_code_sha256": model_code_sha256(),
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
            "writer": {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "process_started": _process_started(os.getpid()),
            },
            "resume": None
            if self.verification is None
            else {
                "verified": len(self.verification.kept),
                "recomputed": {reason: ids[:20] for reason, ids in self.verification.recompute.items()},
                "recomputed_count": self.verification.n_recompute,
                "dropped": {reason: len(items) for reason, items in self.verification.dropped.items()},
            },
            "error": self.error,
            "history": self.history,
        }
        if spec.sample is not None:  # a sampled design: how its points were drawn (their values are in cells)
            manifest["sample"] = spec.sample.as_dict()
        return manifest

    def _write_manifest(self, status: str, engine: str, workers: int, ended: str | None = None) -> dict[str, Any]:
        manifest = self._manifest(status, engine, workers, ended)
        atomic_write_json(self.dir / MANIFEST, manifest)
        return manifest


def _csv_row(values: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _complete_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [line for line in handle if line.endswith("\n")]


def _run_key(run_id: str) -> tuple[int, int]:
    cell, replicate = run_id.split("-")
    return int(cell), int(replicate)


def _series_block(rid: str, rows: list[tuple[int, str, float]]) -> str:
    """``csv_line((rid, week, metric, value))`` of every row, joined; the run id, weeks and metric names
    (a few distinct values repeated over ~1,000 rows a run) are formatted once each."""
    head = format_value(rid) + ","
    weeks: dict[Any, str] = {}
    names: dict[Any, str] = {}
    parts = []
    for week, metric, value in rows:
        w = weeks.get((type(week), week))  # keyed with the type: 1, 1.0 and True are equal keys but format apart
        if w is None:
            w = weeks[(type(week), week)] = head + format_value(week) + ","
        m = names.get((type(metric), metric))
        if m is None:
            m = names[(type(metric), metric)] = format_value(metric) + ","
        parts.append(f"{w}{m}{format_value(value)}\n")
    return "".join(parts)


def _sort_runs(path: Path) -> None:
    if not path.exists():
        return
    lines = _complete_lines(path)
    if not lines:
        return
    body = sorted(lines[1:], key=lambda line: _run_key(line.split(",", 1)[0]))
    if body != lines[1:]:
        atomic_write_lines(path, [lines[0], *body])


def _sort_timeseries(path: Path) -> None:
    """Rewrite timeseries.csv in (cell, replicate) order using byte offsets (bounded memory)."""
    if not path.exists():
        return
    spans: dict[str, list[tuple[int, int]]] = {}
    order: list[str] = []
    with open(path, "rb") as handle:
        header = handle.readline()
        offset = handle.tell()
        for line in handle:
            key = line.split(b",", 1)[0].decode()
            runs = spans.setdefault(key, [])
            if not runs:
                order.append(key)
            if runs and runs[-1][1] == offset:
                runs[-1] = (runs[-1][0], offset + len(line))
            else:
                runs.append((offset, offset + len(line)))
            offset += len(line)
    wanted = sorted(spans, key=_run_key)
    if wanted == order and all(len(v) == 1 for v in spans.values()):
        return  # already in order: a rerun of a finished folder rewrites nothing

    def blocks() -> Any:
        yield header.decode()
        with open(path, "rb") as source:
            for key in wanted:
                for start, end in spans[key]:
                    source.seek(start)
                    yield source.read(end - start).decode()

    atomic_write_lines(path, blocks())
