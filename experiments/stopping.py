"""Stop signals: SIGTERM and SIGHUP stop a command as Ctrl-C does, and never in the middle of a write.

Its own small module so the command line installs the handlers before it imports anything heavy
(a sweep starts its workers first: ``engines.started_early``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class Terminated(KeyboardInterrupt):
    """The driver received SIGTERM or SIGHUP: handled like Ctrl-C (finished runs kept, rerun to resume)."""


class StopSignals:
    """While active (main thread only), SIGINT, SIGTERM and SIGHUP raise in the main thread, but never
    inside a :meth:`critical` section: there the signal waits until the section ends.

    Handlers are installed only where the signal still has its default disposition, so a signal the
    caller ignores (``nohup``) stays ignored.
    """

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.received: int | None = None
        self._pending: int | None = None
        self._depth = 0
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in self.SIGNALS:
            number = getattr(signal, name, None)
            if number is None:
                continue
            current = signal.getsignal(number)
            default = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
            if current is default or current is raise_stop:
                self._saved[number] = current
                signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._saved.items():
            signal.signal(number, handler)
        self._saved.clear()

    def _handle(self, number: int, frame: Any) -> None:
        self.received = number
        if self._depth:
            self._pending = number
            return
        self.raise_for(number)

    @staticmethod
    def raise_for(number: int) -> None:
        """Raise what signal ``number`` means for a sweep."""
        if number == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signal.Signals(number).name)

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """A section a stop signal must not cut in half (recording a run, writing the final files)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if not self._depth and self._pending is not None:
            number, self._pending = self._pending, None
            self.raise_for(number)


#: the stop signal :func:`raise_stop` received, until :func:`check_stop` or the command acts on it
_received: int | None = None


def raise_stop(number: int, frame: Any) -> None:
    """Signal handler of every command outside a sweep: SIGTERM/SIGHUP raise :class:`Terminated`.

    The signal is also remembered: Python runs a handler wherever the main thread happens to be, and
    an exception raised inside a finalizer or a weak-reference callback (the garbage collector freeing
    a model in the middle of a run) is printed and dropped, so the command would go on. A long loop
    calls :func:`check_stop` to raise it again where it cannot be lost.
    """
    global _received
    _received = number
    StopSignals.raise_for(number)


def check_stop() -> None:
    """Raise the stop signal received and not yet acted on (its first exception was lost); else nothing."""
    global _received
    if _received is not None:
        number, _received = _received, None
        StopSignals.raise_for(number)


def stop_acted_on() -> None:
    """The command has stopped for the signal received: forget it (the next command in this process starts clean)."""
    global _received
    _received = None


def install_stop_handlers() -> None:
    """Make SIGTERM and SIGHUP stop any command like Ctrl-C does (one line, exit 130, files atomic).

    Only signals at their default disposition are taken (a ``nohup``-ignored SIGHUP stays ignored);
    a sweep's :class:`StopSignals` takes them over while it runs and hands them back after.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, raise_stop)
