"""Imported once by the forkserver that local pool workers and chart helpers are forked from (Linux).

Every worker forked from the server starts with the model imported and numba's compiled kernels loaded,
and every chart helper with matplotlib's Agg backend and pyplot imported, instead of doing it itself
(about 1.4 s of CPU per worker, 0.4 s per helper).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot  # noqa: E402, F401 - imported for its side effect, as the helpers' initializer does

from alignsim.experiments import worker  # noqa: E402

worker.load_kernels_once()
