"""User-facing errors: reported as one line on stderr with exit code 2."""


class UserError(ValueError):
    """Bad input from the user (a spec, scenario, parameter or option).

    The message must be one line naming the field, the value and what is allowed.
    """


def one_line(message: object) -> str:
    """Collapse a message onto one line (TOML and model errors may span lines)."""
    return " ".join(str(message).split())
