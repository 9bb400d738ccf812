"""Time the default run, ``GTMModel(seed=s).run().summary()``, for seeds 1..N in one process (issue 9).

Each seed's status-quo learning run is computed afresh (the per-process cache is cleared), so every
figure is the whole default run: the 260-week status quo, then the 260-week run. Prints the median.

    python benchmarks/default_run.py [N]    # default N = 8
"""

from __future__ import annotations

import statistics
import sys
import time

from alignsim.model import GTMModel
from alignsim.model import model as model_module


def main(n: int) -> None:
    GTMModel(seed=10_000).run().summary()  # warm-up: imports, first-call costs
    seconds = []
    for seed in range(1, n + 1):
        model_module._status_quo_cached.cache_clear()
        start = time.perf_counter()
        GTMModel(seed=seed).run().summary()
        seconds.append(time.perf_counter() - start)
    median, low, high = statistics.median(seconds), min(seconds), max(seconds)
    print(f"default run: median {median:.3f} s, min {low:.3f}, max {high:.3f} (n={n})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
