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


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``, with the one-line error the CLI uses."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: an integer >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"got {value}; allowed: an integer >= {minimum}")
        return value

    return parse


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
