"""``python -m alignsim`` is the ``alignsim`` command."""

from alignsim.experiments.cli import main

raise SystemExit(main())
