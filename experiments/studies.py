"""What the learning studies run as modules share (``learning_report``, ``shared_signal``,
``policy_attribution``, ``settled_policies``): their runs in a local process pool, the provenance
line of their README, a mean with its interval as table columns, and reading back a study's stored
runs (``--from-runs``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from alignsim.experiments.argparsing import OneLineParser
from alignsim.experiments.engines import open_executor
from alignsim.experiments.errors import SystemFailureError, UserError, one_line
from alignsim.experiments.fileio import check_output_dir, check_output_file
from alignsim.experiments.metadata import git_commit, versions
from alignsim.experiments.scenario import check_params
from alignsim.experiments.stats import mean_ci


def run_in_processes(tasks: list[tuple], workers: int, desc: str) -> list:
    """Call every ``(fn, *args)`` in a local pool of ``workers`` processes (the runner's: spawned,
    ended with the driver); results in task order, with a progress bar on stderr."""
    with open_executor("local", workers) as (pool, _):
        futures = [pool.submit(fn, *args) for fn, *args in tasks]
        return [f.result() for f in tqdm(futures, desc=desc, unit="run", file=sys.stderr, dynamic_ncols=True)]


def mean_with_ci(values: np.ndarray) -> list[float]:
    """[mean, 95% t-interval low, high] of one value per seed: a table row's three columns."""
    c = mean_ci(values)
    return [c.mean, c.ci_low, c.ci_high]


def study_parser(doc: str | None) -> argparse.ArgumentParser:
    """A study's parser: its description is the module docstring's first line; usage errors are one line, exit 2."""
    return OneLineParser(description=doc.splitlines()[0] if doc else None)


def check_study_options(
    parser: argparse.ArgumentParser,
    out: Path,
    out_is_file: bool = False,
    params: dict[str, tuple[str, tuple]] | None = None,
) -> None:
    """Before any run: each model parameter an option sets is allowed (``params``: option -> (parameter,
    values)), and ``out`` (a folder, or with ``out_is_file`` a file) can be written. A bad value exits 2
    with one line naming the option, the value and what is allowed; a folder that cannot be written exits 1.
    """
    try:
        for option, (name, values) in (params or {}).items():
            for value in values:
                check_params({name: value}, f"option {option}")
        (check_output_file if out_is_file else check_output_dir)(out)
    except UserError as exc:
        parser.error(str(exc))
    except SystemFailureError as exc:
        sys.stderr.write(f"{parser.prog}: error: {one_line(exc)}\n")
        raise SystemExit(1) from None


def provenance_line(command: str) -> str:
    """The command, the package versions and the git commit, as a study's README states them."""
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    return f"`{command}` ({vers}; git commit {git_commit()})"


def stored_runs(
    out: Path, run_files: tuple[str, ...], provenance_ends_before: str, keep_default_na: bool = True
) -> tuple[list[pd.DataFrame], str]:
    """A study folder's run files and the provenance its README states (what follows "Produced by "
    up to ``provenance_ends_before``).

    Raises:
        UserError: a run file or the README is missing (naming them).
    """
    missing = [f for f in (*run_files, "README.md") if not (out / f).is_file()]
    if missing:
        raise UserError(f"--from-runs: {out} has no {', '.join(missing)} (run the study into --out first)")
    frames = []
    for f in run_files:
        try:
            frames.append(pd.read_csv(out / f, keep_default_na=keep_default_na))
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise UserError(
                f"--from-runs: {str(out / f)!r} is not a run file (pandas: {exc}); allowed: the files the study"
                " wrote into --out"
            ) from None
    text = (out / "README.md").read_text(errors="replace")
    if "Produced by " not in text or provenance_ends_before not in text.split("Produced by ")[1]:
        raise UserError(
            f"--from-runs: {str(out / 'README.md')!r} does not state how the runs were produced ('Produced by ...');"
            " allowed: the README the study wrote into --out"
        )
    return frames, text.split("Produced by ")[1].split(provenance_ends_before)[0]


def rebuild_from_runs(out: Path, write: Callable[[Path], None]) -> None:
    """``write`` a study's tables and README from its stored runs, all or nothing.

    ``write(folder)`` runs into a staging folder inside ``out``; only when it succeeds are its files moved
    into ``out`` (one rename each). Run files that are not the study's (a column missing, a value of the
    wrong kind) leave ``out`` as it was.

    Raises:
        UserError: the run files cannot be read back (naming the folder and what went wrong).
    """
    staging = Path(tempfile.mkdtemp(prefix=".from-runs-", dir=out))
    try:
        try:
            write(staging)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise UserError(
                f"--from-runs: the run files in {str(out)!r} are not the study's ({type(exc).__name__}:"
                f" {one_line(exc)}); allowed: the files the study wrote into --out"
            ) from None
        for path in sorted(staging.iterdir()):
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
