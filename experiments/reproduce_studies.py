"""``alignsim reproduce --studies``: rerun the learning studies whose output sits in ``results/``.

The preset experiments are specs (``alignsim reproduce``); the learning studies are modules with their
own options, and each records the command that made it in its README ("Produced by `...`"). This
module holds those commands in one place (:data:`STUDIES`, checked against the committed READMEs by
``tests/test_reproduce_studies.py``, so the list cannot go stale) and runs them one after another,
each in a fresh interpreter from the project root. A study writes its files only once all its runs
have finished, so an interrupted one leaves its earlier output as it was; the ones before it keep
their new output.

Not included: ``results/company_calibration`` (``alignsim calibrate`` resumes from its stored waves;
its README gives the commands).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from alignsim.experiments.errors import SystemFailureError, UserError
from alignsim.experiments.fileio import check_output_dir
from alignsim.experiments.metadata import REPO_ROOT

#: (output under results/, the command its README records)
STUDIES: tuple[tuple[str, str], ...] = (
    ("learning_diagnostics.md", "python -m alignsim.experiments.learning_report --seeds 6 --weeks 260"),
    (
        "shared_signal",
        "python -m alignsim.experiments.shared_signal --seeds 16 --gradient-seeds 6 --workers 2",
    ),
    (
        "policy_attribution",
        "python -m alignsim.experiments.policy_attribution --seeds 6 --weeks 520 --headrooms 4,8,12 --workers 2",
    ),
    (
        "policy_attribution_5y",
        "python -m alignsim.experiments.policy_attribution --seeds 12 --weeks 260 --headrooms 8 --workers 2"
        " --out results/policy_attribution_5y",
    ),
    (
        "settled_policies",
        "python -m alignsim.experiments.settled_policies --seeds 20 --learn-weeks 520 --long-learn-weeks 1040"
        " --weeks 260,520 --workers 2",
    ),
)


def study_argv(command: str, name: str, out: Path) -> list[str]:
    """The argv that runs ``command`` with this interpreter, writing to ``out/name`` (only an ``out``
    other than the project's ``results/`` adds or replaces ``--out``)."""
    argv = [sys.executable, *shlex.split(command)[1:]]
    if out.resolve() == (REPO_ROOT / "results").resolve():
        return argv
    if "--out" in argv:
        i = argv.index("--out")
        del argv[i : i + 2]
    return [*argv, "--out", str(out / name)]


def reproduce_studies(out: Path, progress: bool = True) -> int:
    """Run every study of :data:`STUDIES` into ``out``; return 0, or 1 at the first study that fails.

    Raises:
        UserError: ``out`` is a file, or not results/ of an alignsim checkout (the studies import the
            package; their commands are recorded relative to the project root).
        SystemFailureError: the interpreter cannot be started.
    """
    out = Path(out)
    check_output_dir(out)
    for name, _ in STUDIES:  # a study's own output path of the wrong kind would fail only after its runs
        target = out / name
        if target.exists() and target.is_dir() == name.endswith(".md"):
            kind = "a file" if name.endswith(".md") else "a folder"
            raise UserError(f"option --out: {str(target)!r} is in the way; allowed: {kind} there, or nothing")
    if not (REPO_ROOT / "pyproject.toml").is_file():
        raise UserError(
            "reproduce --studies: alignsim is not installed from a checkout; allowed: run it in a clone of the"
            " project (pip install -e .), where results/ lives"
        )
    finished: list[str] = []
    # the studies draw their progress bars with tqdm, which reads TQDM_DISABLE from the environment
    env = None if progress else {**os.environ, "TQDM_DISABLE": "1"}
    for name, command in STUDIES:
        argv = study_argv(command, name, out.resolve())
        if progress:
            print(f"reproduce --studies: {name}: {shlex.join(argv[1:])}", file=sys.stderr)
        clock = time.perf_counter()
        try:
            done = subprocess.run(argv, cwd=REPO_ROOT, check=False, env=env)
        except OSError as exc:
            raise SystemFailureError(f"reproduce --studies: cannot start {argv[0]}: {exc}") from exc
        except KeyboardInterrupt as exc:
            exc.advice = (
                f"interrupted during {name}, whose earlier output is left as it was; rewritten:"
                f" {', '.join(finished) or 'none'}. Rerunning --studies starts again from the first study"
            )
            raise
        if done.returncode != 0:
            print(
                f"reproduce --studies: {name} failed (exit {done.returncode}); the studies after it were not run",
                file=sys.stderr,
            )
            return 1
        finished.append(name)
        print(f"reproduce --studies: {name} done in {time.perf_counter() - clock:.0f} s", file=sys.stderr)
    return 0
