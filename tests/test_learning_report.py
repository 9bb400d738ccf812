"""The learning diagnostics table (experiments/learning_report.py) aggregates per cell exactly as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alignsim.experiments.learning_report import table


def test_table_means_over_seeds_and_counts_seeds_beyond_the_noise_band() -> None:
    # n = 100: the band is 1.96 / 10 = 0.196; seed 0 is inside it, seed 1 beyond
    frame = pd.DataFrame(
        {
            "structure": "pod",
            "kpi": "siloed",
            "learning": "reward",
            "role": "sdr",
            "variable": "qualification_threshold",
            "seed": [0, 1],
            "corr": [-0.1, -0.3],
            "n": [100, 100],
            "policy": [0.3, 0.5],
            "drift": [-0.01, -0.03],
            "moved": [False, True],
        }
    )
    row = table(frame).iloc[0]
    assert (
        np.isclose(row["corr"], -0.2) and np.isclose(row["policy"], 0.4) and np.isclose(row["drift_last_year"], -0.02)
    )
    assert row["seeds_corr_beyond_band"] == 1 and row["seeds_still_drifting"] == 1 and row["seeds"] == 2
