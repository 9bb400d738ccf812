"""Helpers for model tests: short runs and paired comparisons with sample-size tolerances."""

from __future__ import annotations

from typing import Any

import numpy as np

from alignsim.model import GTMModel

FAST = {"weeks": 156, "adaptive": False}


def run(seed: int = 0, policy: dict[tuple[str, str], float] | None = None, **params: Any) -> GTMModel:
    """A finished model with the fast defaults overridden by ``params`` and decision variables by ``policy``."""
    model = GTMModel(seed=seed, **{**FAST, **params})
    for (role, name), value in (policy or {}).items():
        model.set_policy(role, name, value)
    return model.run()


def paired(
    metric: str, high: dict[str, Any], low: dict[str, Any], seeds: range = range(6), base: dict[str, Any] | None = None
) -> np.ndarray:
    """Per-seed differences metric(high) - metric(low); the same seed gives both runs the same market (CRN)."""
    base = base or {}
    return np.array([run(s, **base, **high).summary()[metric] - run(s, **base, **low).summary()[metric] for s in seeds])


def assert_positive(diffs: np.ndarray, z: float = 2.0) -> None:
    """The mean paired difference exceeds ``z`` standard errors (SE = sd / sqrt(n), n = len(diffs)).

    With 6 paired seeds, z = 2 is about a one-sided t-test at 5% (t_0.95,5 = 2.02).
    """
    se = diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert diffs.mean() > z * se, f"mean difference {diffs.mean():.4g} not > {z} x SE {se:.4g}: {diffs}"


def assert_share_near(flags: np.ndarray, expected: float, z: float = 4.0) -> None:
    """The share of True in ``flags`` is ``expected`` within ``z`` binomial SE (sqrt(p (1 - p) / n), p expected).

    Where ``expected`` is 0 or 1 the SE is 0 and the share must be exact.
    """
    diff, se = abs(flags.mean() - expected), np.sqrt(expected * (1 - expected) / len(flags))
    assert diff < z * se or diff == se == 0.0, f"share {flags.mean():.4g} not within {z} x SE {se:.4g} of {expected}"
