"""Every structure x KPI cell lands in the benchmark ranges of domain.md at the defaults.

Averaged over 4 seeds of the full 260-week run with the staffing plan on. Ranges are the domain
priors, widened where the priors are medians of a wide spread across companies (noted per metric).
A cell outside a range fails with the cell, the metric, the value and the range.
"""

from __future__ import annotations

import numpy as np
import pytest

from alignsim.model import GTMModel

RANGES = {
    "mql_to_sql": (0.13, 0.50),  # SiriusDecisions 13-50%
    "win_rate": (0.15, 0.30),  # SiriusDecisions / Bridge Group 15-30%
    "logo_churn": (0.05, 0.15),  # median ~10% annual (KBCM)
    "logo_churn_standardised": (0.05, 0.15),  # the same prior, at a fixed tenure mix
    "grr": (0.85, 0.95),  # 90-93% (SaaS Capital), widened
    "nrr": (0.95, 1.15),  # 100-110% (SaaS Capital), widened
    "payback_months": (8.0, 24.0),  # rule of thumb < 12; growth-stage medians 15-24
    "new_arr_per_ae": (0.6e6, 1.6e6),  # quota ~$1.0-1.25M (ICONIQ), attainment spread
    "arr_per_csm": (1.0e6, 2.0e6),  # $1-2M ARR per CSM (SaaStr, Gainsight)
}
CELLS = [(s, k) for s in ("assembly_line", "pod") for k in ("siloed", "shared")]


@pytest.fixture(scope="module")
def cell_means() -> dict[tuple[str, str], dict[str, float]]:
    out = {}
    for structure, kpi in CELLS:
        runs = [GTMModel(structure=structure, kpi=kpi, seed=seed).run().summary() for seed in range(4)]
        out[(structure, kpi)] = {k: float(np.mean([r[k] for r in runs])) for k in RANGES}
    return out


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: "/".join(c))
def test_cell_is_calibrated(cell_means: dict, cell: tuple[str, str]) -> None:
    means = cell_means[cell]
    outside = {k: (round(v, 4), RANGES[k]) for k, v in means.items() if not RANGES[k][0] <= v <= RANGES[k][1]}
    assert not outside, f"{'/'.join(cell)} outside the benchmark ranges: {outside}"
