"""Atomic file writes, output-folder checks and the CSV value format shared by every result file.

Every result file is written the same way: to a temporary file in the target folder, flushed and
fsynced, then moved over the target with ``os.replace``. A failure at any point (a full disk, Ctrl-C)
removes the temporary file and leaves the old target untouched: no 0-byte or half-written file is
ever left behind. Files get the usual ``0666 & ~umask`` mode (0644 with the common umask), not the
0600 of ``tempfile.mkstemp``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import SystemFailureError, UserError, one_line


# --- atomic writes --------------------------------------------------------------------------
def file_mode() -> int:
    """Mode of a newly created file under the current umask (0644 with umask 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _write_chunks(handle: Any, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to the binary ``handle`` (the one place every atomic write goes through)."""
    for chunk in chunks:
        handle.write(chunk)


def _open_temporary(path: Path) -> tuple[Any, str]:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with contextlib.suppress(OSError):
        os.fchmod(fd, file_mode())
    return os.fdopen(fd, "wb"), tmp


def _stage(path: Path, chunks: Iterable[bytes]) -> str:
    """Write ``chunks`` to a synced temporary file next to ``path``; return its name (removed on failure)."""
    handle, tmp = _open_temporary(path)
    try:
        with handle:
            _write_chunks(handle, chunks)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # name the file the user knows, not the temporary one
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes or an iterable of bytes) to ``path`` atomically."""
    path = Path(path)
    tmp = _stage(path, [data] if isinstance(data, bytes | bytearray) else data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """Stream ``lines`` (each ending in a newline) to ``path`` atomically, as UTF-8."""
    atomic_write_bytes(path, (line.encode("utf-8") for line in lines))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, fsync, os.replace)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (JSON has no NaN), numpy scalars as Python ones."""
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(data: Any) -> str:
    """Indented, strictly valid JSON (NaN and infinities written as null; insertion order kept)."""
    return json.dumps(json_safe(data), indent=2, default=str, allow_nan=False) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON atomically (insertion order kept: factor order matters)."""
    atomic_write_text(path, json_text(data))


def atomic_write_files(files: Mapping[Path, bytes | str]) -> None:
    """Write several files so that either all of them are replaced or none is.

    Every file is first staged (written and synced) next to its target; only when all are staged
    are they moved into place. A failure while staging (a full disk) leaves every target untouched.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            raw = data.encode("utf-8") if isinstance(data, str) else data
            staged.append((_stage(Path(path), [raw]), Path(path)))
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# --- output folders -------------------------------------------------------------------------
def describe(exc: OSError) -> str:
    """``strerror [ENAME]`` of an OSError, on one line."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return one_line(f"{exc.strerror or exc}" + (f" [{name}]" if name else ""))


def advice(exc: OSError) -> str:
    """What the user can do about a failed read or write."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free space on that disk (or choose another --out)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make it writable (or choose another --out)"
    return "fix the cause (or choose another --out)"


def os_error_line(exc: OSError) -> str:
    """One line for an OSError the command could not get past: what failed, on which file, and what to do."""
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot use{where}: {describe(exc)}; {advice(exc)} and rerun the same command"


def existing_ancestor(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest existing parent (which may be a file)."""
    where = Path(path).absolute()
    while not os.path.lexists(where) and where != where.parent:
        where = where.parent
    return where


def check_output_dir(path: Path, option: str = "--out", append: Iterable[str] = ()) -> None:
    """Check, before anything is computed or written, that ``path`` is or can become a folder we can write.

    Nothing is created: when ``path`` does not exist yet, the nearest existing parent is probed.
    The probe really creates (and deletes) a temporary file, since permission bits do not tell
    about read-only mounts, ACLs or root.

    Args:
        path: the output folder.
        option: the option that named it, for the message.
        append: names of files in ``path`` that will be appended to (checked writable if they exist).

    Raises:
        UserError: ``path`` is a file or lies inside one (exit code 2).
        SystemFailureError: the folder cannot be written (exit code 1).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"option {option}: {str(path)!r} is a file; allowed: a folder path")
    where = existing_ancestor(path)
    if not where.is_dir():
        raise UserError(f"option {option}: {str(path)!r} lies inside the file {str(where)!r}; allowed: a folder path")
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=".alignsim-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SystemFailureError(
            f"option {option}: cannot write in {str(where)!r} ({describe(exc)}); {advice(exc)}"
        ) from None
    for name in append:
        target = path / name
        if target.is_file() and not os.access(target, os.W_OK):
            raise SystemFailureError(
                f"option {option}: {str(target)!r} is read-only; make it writable (or choose another --out)"
            )


def check_output_file(path: Path, option: str = "--out", allowed: str = "a file path") -> None:
    """:func:`check_output_dir` for an output file: ``path`` is not a folder nor inside a file, and its
    folder is or can become a folder we can write (nothing is created).

    Raises:
        UserError: naming ``option`` and ``path`` (exit code 2).
        SystemFailureError: the folder cannot be written (exit code 1).
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"option {option}: {str(path)!r} is a folder; allowed: {allowed}")
    where = existing_ancestor(path.parent)
    if not where.is_dir():
        raise UserError(f"option {option}: {str(path)!r} lies inside the file {str(where)!r}; allowed: {allowed}")
    check_output_dir(path.parent, option=option)


def free_bytes(path: Path) -> int | None:
    """Free space on the disk holding ``path`` (or its nearest existing parent), or None if unknown."""
    try:
        return shutil.disk_usage(existing_ancestor(path)).free
    except OSError:
        return None


def missing_dirs(path: Path) -> list[Path]:
    """The folders ``mkdir -p path`` would create, outermost first."""
    missing = []
    where = Path(path)
    while not where.exists() and where != where.parent:
        missing.append(where)
        where = where.parent
    return list(reversed(missing))


def make_dirs(path: Path) -> list[Path]:
    """``mkdir -p path``; return the folders it created, outermost first (to undo with :func:`remove_empty`)."""
    missing = missing_dirs(path)
    Path(path).mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty(created: list[Path]) -> None:
    """Remove the folders :func:`make_dirs` created, innermost first, as long as they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def check_utf8(path: Path, what: str, chunk: int = 1 << 20) -> None:
    """Refuse a file that is not UTF-8 text (read in chunks, so any size).

    Raises:
        UserError: naming the file and the byte offset of the first bad byte.
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise UserError(
                        f"{what} {str(path)!r}: not UTF-8 text (bad byte at offset {offset + exc.start});"
                        " allowed: a UTF-8 file"
                    ) from None
                offset += len(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UserError(f"{what} {str(path)!r}: not UTF-8 text (truncated at the end); allowed: a UTF-8 file") from None


# --- CSV values -----------------------------------------------------------------------------
def format_value(value: Any) -> str:
    """Format one CSV cell deterministically (floats as their shortest round-trip repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)
    if hasattr(value, "item"):  # numpy scalar
        return format_value(value.item())
    text = str(value)
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Iterable[Any]) -> str:
    """One CSV line (with the trailing newline) from ``values``."""
    return ",".join(format_value(v) for v in values) + "\n"
