"""What the learning studies run as modules share (``learning_report``, ``shared_signal``,
``policy_attribution``, ``settled_policies``): their runs in a local process pool, the provenance
line of their README, a mean with its interval as table columns, and reading back a study's stored
runs (``--from-runs``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from alignsim.experiments.engines import open_executor
from alignsim.experiments.errors import UserError
from alignsim.experiments.metadata import git_commit, versions
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


def int_list(minimum: int, example: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: comma-separated integers, each at least ``minimum`` (``example`` in the message)."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            values = ()
        if not values or min(values) < minimum:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; allowed: comma-separated integers >= {minimum}, e.g. {example}"
            )
        return values

    return parse


def require_at_least(parser: argparse.ArgumentParser, args: argparse.Namespace, minimums: dict[str, int]) -> None:
    """One usage line and exit 2 for the first option below its minimum (``minimums``: dest -> least value)."""
    for name, low in minimums.items():
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}; allowed: an integer >= {low}")


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
    frames = [pd.read_csv(out / f, keep_default_na=keep_default_na) for f in run_files]
    text = (out / "README.md").read_text()
    return frames, text.split("Produced by ")[1].split(provenance_ends_before)[0]
