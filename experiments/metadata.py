"""Provenance recorded with every result: package versions, git commit, timestamps."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import platform
import subprocess
from pathlib import Path

from alignsim.experiments.errors import UserError

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


@functools.lru_cache(maxsize=1)
def model_code_sha256() -> str:
    """SHA-256 of the model's source: every ``.py`` file of ``alignsim.model`` and ``alignsim.agents``.

    Every manifest stores it, and stored runs are reused only by the code that computed them: a spec
    hash alone does not see a change of the model, and a resumed folder would mix two models.
    """
    import alignsim.agents
    import alignsim.model

    digest = hashlib.sha256()
    for package in (alignsim.model, alignsim.agents):
        root = Path(package.__file__).resolve().parent
        for path in sorted(root.glob("*.py")):
            digest.update(f"{package.__name__}/{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def other_model_code(manifest: dict | None) -> str | None:
    """The stored model-code hash if ``manifest`` was written by other model code, else None (also if unknown)."""
    stored = (manifest or {}).get("model_code_sha256")
    return stored if stored and stored != model_code_sha256() else None


def refuse_other_model_code(manifest: dict | None, out: Path, allowed: str) -> None:
    """Raise a one-line UserError if the runs in ``out`` were computed by other model code.

    Args:
        manifest: the folder's manifest (None or without a hash: accepted).
        out: the folder, named in the message.
        allowed: what the user may do instead, for the message.
    """
    stored = other_model_code(manifest)
    if stored:
        raise UserError(
            f"option --out: {str(out)!r} holds runs computed by other model code (hash {stored[:12]}; this code"
            f" hashes to {model_code_sha256()[:12]}): resuming would mix two models; allowed: {allowed}"
        )
