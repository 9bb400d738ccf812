"""``python -m alignsim.experiments`` is the ``alignsim`` command."""

import sys

from alignsim.experiments.cli import main

if __name__ == "__main__":
    sys.exit(main())
