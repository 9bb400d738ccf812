"""Provenance recorded with every result: package versions, git commit, timestamps."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import subprocess
from pathlib import Path

PACKAGES = ("alignsim", "numpy", "scipy", "mesa", "pandas", "matplotlib")
REPO_ROOT = Path(__file__).resolve().parent.parent


def versions() -> dict[str, str]:
    """Python and key package versions (``"missing"`` when not installed)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def git_commit() -> str | None:
    """The commit of alignsim's own checkout (suffixed ``-dirty`` with local changes), or None.

    None outside a checkout: an installed wheel may sit inside some other git repository, whose
    commit says nothing about this code.
    """
    try:
        if Path(_git("rev-parse", "--show-toplevel")).resolve() != REPO_ROOT:
            return None
        head = _git("rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return None
    try:
        dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        dirty = False
    return head + ("-dirty" if dirty else "")


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=10)
    return out.stdout.strip()


def now_utc() -> str:
    """The current time, ISO 8601 in UTC with seconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def provenance() -> dict[str, object]:
    """Versions, git commit and timestamp in one dict."""
    return {"versions": versions(), "git_commit": git_commit(), "timestamp_utc": now_utc()}
