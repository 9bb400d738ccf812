"""Check every stored run of an experiment folder against its spec before a sweep resumes.

A run counts as done only if all of these hold:

- its runs.csv row is a complete line, written the way the store writes it (re-serialising the parsed
  fields gives the same bytes), with a run id of this spec's design, the cell and replicate that id
  names, the replicate's seed, the cell's factor values, and every metric a number in the store's
  own format (the shortest round-trip ``repr``, or ``nan``/``inf``);
- it appears once (identical duplicate rows are dropped; differing ones make the run damaged);
- its time series in timeseries.csv is one contiguous block holding exactly the (week, metric) rows
  :func:`alignsim.experiments.worker.series_keys` prescribes for the cell's horizon, in order, each
  value a number in the store's format.

Rows of ids outside the design are dropped and reported; they never count as runs. Time-series rows of
runs without a runs.csv row (a run cut short by a crash) are dropped. Damaged or incomplete runs are
recomputed. The files are read twice at most, line by line, so memory does not grow with their size.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alignsim.experiments.fileio import atomic_write_lines, csv_line, format_value
from alignsim.experiments.spec import Spec
from alignsim.experiments.worker import run_id, series_keys

RUNS = "runs.csv"
TIMESERIES = "timeseries.csv"
TS_HEADER = ("run_id", "week", "metric", "value")
_RUN_ID = re.compile(r"(0|[1-9][0-9]*)-(0|[1-9][0-9]*)")
#: run ids listed per reason in messages
SHOW = 4


def runs_header(spec: Spec) -> tuple[str, ...]:
    """Columns of runs.csv: ids, seed, factor values, kept metrics."""
    return ("run_id", "cell", "replicate", "seed", *spec.factor_names, *spec.metrics)


@dataclass
class Verification:
    """What :func:`verify` found.

    Attributes:
        kept: ids of the runs that passed every check, in runs.csv order.
        recompute: reason -> ids of runs of the design that were stored but fail a check.
        dropped: reason -> what was dropped that is not a run of the design (ids, or counts of lines).
        details: run id -> the first thing found wrong with it (for messages).
        rewrite_runs: runs.csv must be rewritten (something in it is dropped).
        rewrite_ts: timeseries.csv must be rewritten.
    """

    kept: list[str] = field(default_factory=list)
    recompute: dict[str, list[str]] = field(default_factory=dict)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)
    rewrite_runs: bool = False
    rewrite_ts: bool = False

    @property
    def n_recompute(self) -> int:
        """Number of stored runs of the design that will be computed again."""
        return sum(len(ids) for ids in self.recompute.values())

    def bad(self, reason: str, rid: str, detail: str | None = None) -> None:
        """Mark run ``rid`` as stored but unusable (the first reason found is the one reported)."""
        if rid in self.flagged:
            return
        self.flagged.add(rid)
        self.recompute.setdefault(reason, []).append(rid)
        if detail and rid not in self.details:
            self.details[rid] = detail

    def drop(self, reason: str, what: str) -> None:
        """Record something dropped that is not a run of the design."""
        self.dropped.setdefault(reason, []).append(what)

    def summary(self) -> str:
        """One line: how many runs were verified, how many are recomputed and why, what was dropped."""
        text = f"{len(self.kept)} stored runs verified, {self.n_recompute} recomputed"
        if self.recompute:
            text += ": " + "; ".join(
                f"{len(ids)} {_grammar(reason, len(ids))} ({_ids(ids, self.details)})"
                for reason, ids in self.recompute.items()
            )
        if self.dropped:
            text += "; dropped " + "; ".join(f"{_count(reason, items)}" for reason, items in self.dropped.items())
        return text

    @property
    def clean(self) -> bool:
        """Nothing recomputed and nothing dropped."""
        return not self.recompute and not self.dropped


def _grammar(reason: str, n: int) -> str:
    return "run " + reason[len("runs ") :] if n == 1 and reason.startswith("runs ") else reason


def _ids(ids: list[str], details: dict[str, str]) -> str:
    shown = [f"{rid}: {details[rid]}" if rid in details else rid for rid in ids[:SHOW]]
    return ", ".join(shown) + (f", ... {len(ids) - SHOW} more" if len(ids) > SHOW else "")


def _count(reason: str, items: list[str]) -> str:
    if all(item == "" for item in items):
        return f"{len(items)} {reason}"
    shown = ", ".join(items[:SHOW]) + (f", ... {len(items) - SHOW} more" if len(items) > SHOW else "")
    return f"{len(items)} {reason} ({shown})"


def verify(folder: Path, spec: Spec) -> Verification:
    """Check runs.csv and timeseries.csv of ``folder`` against ``spec`` (reads only)."""
    result = Verification()
    rows = _verify_runs(Path(folder) / RUNS, spec, result)
    _verify_timeseries(Path(folder) / TIMESERIES, spec, rows, result)
    result.kept = [rid for rid in rows if rid not in result.flagged]
    return result


def repair(folder: Path, spec: Spec, result: Verification) -> None:
    """Rewrite runs.csv and timeseries.csv atomically so they hold only the verified runs."""
    keep = set(result.kept)
    folder = Path(folder)
    runs, ts = folder / RUNS, folder / TIMESERIES
    if runs.exists() and (result.rewrite_runs or result.recompute):
        atomic_write_lines(runs, _kept_lines(runs, keep, csv_line(runs_header(spec))))
    if ts.exists() and (result.rewrite_ts or result.recompute):
        atomic_write_lines(ts, _kept_lines(ts, keep, csv_line(TS_HEADER)))


# --- runs.csv ----------------------------------------------------------------------------------


def _verify_runs(path: Path, spec: Spec, result: Verification) -> dict[str, str]:
    """Rows of valid design runs (id -> line), in file order; problems recorded in ``result``."""
    if not path.exists():
        return {}
    header = csv_line(runs_header(spec))
    lines = _lines(path)
    first = next(lines, None)
    if first is None or not first.endswith("\n"):  # empty, or only a torn header
        result.rewrite_runs = True
        return {}
    width = len(runs_header(spec))
    cells = [[format_value(cell[f]) for f in spec.factor_names] for cell in spec.cells]
    seeds = [str(spec.seed(r)) for r in range(spec.replicates)]
    rows: dict[str, str] = {}
    damaged = header != first
    if damaged:
        result.rewrite_runs = True
    for line in lines:
        if not line.endswith("\n"):
            result.drop("torn last line of runs.csv", "")
            result.rewrite_runs = True
            continue
        fields = _parse(line)
        rid = fields[0] if fields else ""
        match = _RUN_ID.fullmatch(rid)
        if match is None:
            result.drop("unreadable runs.csv row(s)", "")
            result.rewrite_runs = True
            continue
        cell, replicate = int(match[1]), int(match[2])
        if cell >= len(spec.cells) or replicate >= spec.replicates:
            result.drop("runs.csv row(s) whose run id is not in this spec", rid)
            result.rewrite_runs = True
            continue
        if damaged:
            result.bad("runs with a damaged runs.csv header", rid)
            continue
        if rid in rows:
            result.rewrite_runs = True
            if rows[rid] == line:
                result.drop("identical duplicate runs.csv row(s)", rid)
            else:
                result.bad("runs with two different runs.csv rows", rid)
            continue
        rows[rid] = line
        problem = _row_problem(fields, line, width, cell, replicate, cells[cell], seeds[replicate], spec)
        if problem:
            result.bad("runs with a damaged runs.csv row", rid, problem)
            result.rewrite_runs = True
    return rows


def _row_problem(
    fields: list[str],
    line: str,
    width: int,
    cell: int,
    replicate: int,
    factors: list[str],
    seed: str,
    spec: Spec,
) -> str | None:
    if len(fields) != width:
        return f"{len(fields)} fields instead of {width}"
    if csv_line(fields) != line:
        return "not written by alignsim"
    if fields[1] != str(cell) or fields[2] != str(replicate):
        return f"cell/replicate {fields[1]}/{fields[2]} do not match the run id"
    if fields[3] != seed:
        return f"seed {fields[3]} is not replicate {replicate}'s seed"
    nf = len(spec.factor_names)
    for name, got, want in zip(spec.factor_names, fields[4 : 4 + nf], factors, strict=True):
        if got != want:
            return f"{name}={got!r}, the cell has {want!r}"
    for name, value in zip(spec.metrics, fields[4 + nf :], strict=True):
        if not _number(value):
            return f"{name}={value[:20]!r} is not a number"
    return None


def _number(text: str) -> bool:
    """``text`` is a float written the way :func:`format_value` writes one (shortest repr, ``nan``, ``inf``)."""
    try:
        value = float(text)
    except ValueError:
        return False
    return repr(value) == text if value == value else text == "nan"


def _parse(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


# --- timeseries.csv ----------------------------------------------------------------------------


def _verify_timeseries(path: Path, spec: Spec, rows: dict[str, str], result: Verification) -> None:
    """Check each candidate run's time-series block; record missing, damaged and orphan rows."""
    candidates = {rid for rid in rows if rid not in result.flagged}
    expected = _expected_prefixes(spec)
    if not path.exists():
        for rid in candidates:
            if expected[_cell(rid)]:
                result.bad("runs without a complete time series in timeseries.csv", rid, "no rows")
        return
    lines = _lines(path)
    first = next(lines, None)
    header_ok = first == csv_line(TS_HEADER)
    if not header_ok:
        result.rewrite_ts = True
    matched: dict[str, int] = {}  # run id -> rows matched so far; -1 once damaged
    orphans: set[str] = set()
    current, prefixes, checked = None, [], False
    for line in lines if header_ok else ():
        if not line.endswith("\n"):
            result.drop("torn last line of timeseries.csv", "")
            result.rewrite_ts = True
            break
        rid = line.split(",", 1)[0]
        if rid != current:
            current, checked = rid, rid in candidates
            if not checked:
                if rid not in rows:
                    orphans.add(rid)
                continue
            prefixes = expected[_cell(rid)]
            if rid in matched:  # its block ended before: a second block
                _damage(matched, result, rid, "rows in two places")
            matched.setdefault(rid, 0)
        elif not checked:
            continue
        count = matched[rid]
        if count < 0:
            continue
        if count >= len(prefixes):
            _damage(matched, result, rid, "more rows than expected")
            continue
        start = len(rid) + 1 + len(prefixes[count])
        if line[len(rid) + 1 : start] != prefixes[count] or line[len(rid)] != ",":
            _damage(matched, result, rid, f"row {count + 1} is not week {_label(prefixes[count])}")
        elif not _number(line[start:-1]):
            value = line[start:-1][:20]
            _damage(matched, result, rid, f"week {_label(prefixes[count])}={value!r} is not a number")
        else:
            matched[rid] = count + 1
    if orphans:
        result.dropped["time-series blocks of runs not finished in runs.csv"] = sorted(orphans, key=_key)
        result.rewrite_ts = True
    if not header_ok:
        for rid in sorted(candidates, key=_key):
            if expected[_cell(rid)]:
                result.bad("runs whose time series sits in a damaged timeseries.csv", rid)
        return
    for rid in sorted(candidates, key=_key):
        want, got = len(expected[_cell(rid)]), matched.get(rid, 0)
        if got >= 0 and got != want:
            detail = "no rows" if got == 0 else f"{got} of {want} rows"
            result.bad("runs without a complete time series in timeseries.csv", rid, detail)


def _damage(matched: dict[str, int], result: Verification, rid: str, detail: str) -> None:
    if matched.get(rid, 0) >= 0:
        matched[rid] = -1
        result.bad("runs with a damaged time series in timeseries.csv", rid, detail)
        result.rewrite_ts = True


def _label(prefix: str) -> str:
    """``"13,arr_usd,"`` -> ``"13 arr_usd"``."""
    return prefix.rstrip(",").replace(",", " ")


def _expected_prefixes(spec: Spec) -> list[list[str]]:
    """Per cell, ``"week,metric,"`` of every expected time-series row, in order."""
    by_weeks: dict[int, list[str]] = {}
    out = []
    for params in spec.cell_params:
        weeks = int(params["weeks"])
        if weeks not in by_weeks:
            keys = series_keys(weeks, spec.ts_every_weeks, spec.ts_metrics)
            by_weeks[weeks] = [f"{week},{metric}," for week, metric in keys]
        out.append(by_weeks[weeks])
    return out


# --- helpers -----------------------------------------------------------------------------------


def _cell(rid: str) -> int:
    return int(rid.split("-", 1)[0])


def _key(rid: str) -> tuple[int, ...]:
    match = _RUN_ID.fullmatch(rid)
    return (int(match[1]), int(match[2])) if match else (1 << 62, 0)


def _lines(path: Path) -> Iterator[str]:
    """Lines of ``path`` with their newline; a torn last line comes without one. Bytes that are not
    UTF-8 are kept as surrogates, so they fail every check instead of stopping the read."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        yield from handle


def _kept_lines(path: Path, keep: set[str], header: str) -> Iterator[str]:
    yield header
    if not path.exists():
        return
    lines = _lines(path)
    next(lines, None)
    seen: set[str] = set()
    for line in lines:
        rid = line.split(",", 1)[0]
        if rid in keep and line.endswith("\n"):
            if path.name == RUNS:
                if rid in seen:
                    continue
                seen.add(rid)
            yield line


__all__ = ["Verification", "repair", "run_id", "runs_header", "verify"]
