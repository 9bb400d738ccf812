"""``python -m alignsim`` is the ``alignsim`` command."""

from alignsim.experiments.cli import command

raise SystemExit(command())
