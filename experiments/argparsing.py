"""Command-line parsing shared by ``alignsim`` and the study modules: one-line usage errors (exit 2)
and integer option types whose message gives the value and what is allowed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from alignsim.experiments.errors import one_line

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error on one line and exit 2."""
        sys.stderr.write(f"{self.prog}: error: {one_line(message)}\n")
        sys.exit(EXIT_USAGE)


def int_at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (and <= ``maximum``), with the one-line error the CLI uses."""
    allowed = f"an integer >= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum:,}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {allowed}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"got {value}; allowed: {allowed}")
        return value

    return parse


def path_text(text: str) -> str:
    """An argparse type: a path, which an empty string is not (it would silently mean "not given")."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: a file or folder path")
    return text


def int_list(minimum: int, example: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: comma-separated integers, each at least ``minimum`` (``example`` in the message)."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            values = ()
        if not values or min(values) < minimum or len(set(values)) < len(values):
            raise argparse.ArgumentTypeError(
                f"got {text!r}; allowed: distinct comma-separated integers >= {minimum}, e.g. {example}"
            )
        return values

    return parse
