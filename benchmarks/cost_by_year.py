"""Time each week of a default run and set it beside the size of the company that week (issue 9).

For seeds 1..N the status quo's learning run is computed first (not timed), then every week of the
default 260-week run is timed on its own. Prints, per year, the mean milliseconds per week with the
mean number of customers and of staff that year: how a run's cost follows the company's growth.

    python benchmarks/cost_by_year.py [N]    # default N = 3
"""

from __future__ import annotations

import sys
import time

import numpy as np

from alignsim.model import GTMModel
from alignsim.model import model as model_module
from alignsim.model.pools import State

WEEKS_PER_YEAR = 52


def week_costs(seed: int) -> np.ndarray:
    """Rows (milliseconds, customers, staff) for each week of the default run of ``seed``."""
    model_module._status_quo_cached.cache_clear()
    model = GTMModel(seed=seed)  # builds the status quo's policies before the first week
    rows = []
    for _ in range(model.p["weeks"]):
        start = time.perf_counter()
        model.step()
        seconds = time.perf_counter() - start
        customers = len(model.accounts.where(State.CUSTOMER))
        rows.append((1000.0 * seconds, customers, sum(roster.n for roster in model.rosters)))
    return np.array(rows)


def main(n: int) -> None:
    GTMModel(seed=10_000).run()  # warm-up: imports, first-call costs
    per_seed = np.stack([week_costs(seed) for seed in range(1, n + 1)])
    years = per_seed.shape[1] // WEEKS_PER_YEAR
    for year in range(years):
        block = per_seed[:, year * WEEKS_PER_YEAR : (year + 1) * WEEKS_PER_YEAR].mean(axis=(0, 1))
        print(f"year {year + 1}: {block[0]:.2f} ms/week, {block[1]:.0f} customers, {block[2]:.0f} staff (n={n})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
