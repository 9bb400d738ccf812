"""``python -m alignsim.experiments`` is the ``alignsim`` command."""

import sys

from alignsim.experiments.cli import command

if __name__ == "__main__":
    sys.exit(command())
