"""Why some functions stay numpy's in the compiled core: compiled exp, log1p and index-order sums differ.

``model/compiled.py`` keeps ``exp``, ``log1p``, ``expit``, ``ndtri`` and the beta draws in numpy and
scipy, called on whole arrays between kernels, and sums in numpy's pairwise order. This probe shows
why: over a million values it counts how often numba's ``math.exp`` and ``math.log1p`` differ from
numpy's vectorised ``np.exp`` and ``np.log1p``, and whether a sum in index order equals ``np.sum``.

It first (2026-12-05) also timed a compiled copy of CSMs' ``work_books`` against the numpy version
(benchmarks/README.md, "A compiled core, probed"). That copy is now the model's own kernel
(``agents/csm.py``), so the probe keeps only this measurement.

    python benchmarks/compiled_probe.py
"""

from __future__ import annotations

import math

import numpy as np

from alignsim.model.compiled import kernel


@kernel
def _compiled_exp_log1p_sum(x, u):  # noqa: ANN001, ANN202
    exp, log1p, total = np.empty_like(x), np.empty_like(u), 0.0
    for i in range(len(x)):
        exp[i] = math.exp(x[i])
        log1p[i] = math.log1p(u[i])
        total += u[i]
    return exp, log1p, total


def elementary_functions() -> str:
    """How often compiled exp, log1p and an index-order sum differ from numpy's (1e6 draws, seed 1)."""
    rng = np.random.default_rng(1)
    x, u = 3.0 * rng.standard_normal(1_000_000), rng.random(1_000_000) - 0.5
    exp, log1p, total = _compiled_exp_log1p_sum(x, u)
    return (
        f"compiled vs numpy, 1e6 values: exp differs in {np.count_nonzero(exp != np.exp(x)):,},"
        f" log1p in {np.count_nonzero(log1p != np.log1p(u)):,}; index-order sum == np.sum: {total == u.sum()}"
    )


if __name__ == "__main__":
    print(elementary_functions())
