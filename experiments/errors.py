"""User-facing errors, reported as one line on stderr: UserError (exit code 2), SystemFailureError (exit 1)."""

import math

from alignsim.model.params import shown  # noqa: F401 - re-exported: the model's parameter errors use it too


class UserError(ValueError):
    """Bad input from the user (a spec, scenario, parameter or option).

    The message must be one line naming the field, the value and what is allowed.
    """


def one_line(message: object) -> str:
    """Collapse a message onto one line (TOML and model errors may span lines)."""
    return " ".join(str(message).split())


def listed(names: list[str], most: int = 3) -> str:
    """The first ``most`` of ``names``, comma-separated, with "..." if there are more (for a one-line message)."""
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def finite_number(value: object) -> bool:
    """A real number (not a bool) that is finite as a float; an integer too large for a float is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class SystemFailureError(RuntimeError):
    """The system failed (a full disk, a folder that cannot be written, a worker process killed).

    Reported as one line on stderr with exit code 1. The message names what failed and what to do;
    finished runs are kept, so the advice usually ends with rerunning the same command to resume.
    """
