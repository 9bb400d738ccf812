"""Statistics for replicated simulation experiments (numpy + scipy).

- Confidence interval of the mean: Student t, 95%, n-1 degrees of freedom.
- Spread of runs: 10th and 90th percentiles.
- Paired differences between two cells (matched on replicate, i.e. on the common random
  numbers seed): mean difference, t CI, paired t test, Cohen's d_z = mean(diff) / sd(diff).
- Structure x KPI interaction in a 2 x 2: two-way ANOVA (balanced, with the replicate as
  block when paired) and the per-replicate interaction contrast with its t CI.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
#: pair differences within this share of the larger of the two values differenced are floating-point
#: rounding (the same quantity summed in another order: ~1e-15 in results/), not effects (>= 6e-7 there)
ROUNDING_RTOL = 1e-12


@dataclass(frozen=True)
class MeanCI:
    """Mean of a sample with its t confidence interval and 10-90% spread."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p10: float
    p90: float


def mean_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> MeanCI:
    """Mean, Student t CI of the mean, and 10-90% spread; NaN where undefined (n < 2, non-finite).

    Args:
        values: one value per run (NaNs are dropped).
        confidence: confidence level of the interval.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return MeanCI(0, *(math.nan,) * 6)
    mean = float(np.mean(x))
    p10, p90 = (float(v) for v in np.percentile(x, [10, 90]))
    if n < 2:
        return MeanCI(1, mean, math.nan, math.nan, math.nan, p10, p90)
    sd = float(np.std(x, ddof=1))
    half = t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return MeanCI(n, mean, sd, mean - half, mean + half, p10, p90)


@functools.lru_cache(maxsize=256)
def t_quantile(q: float, df: int) -> float:
    """Student t quantile ``q`` with ``df`` degrees of freedom (cached: charts and tables ask for the same
    few thousands of times, and scipy's ``ppf`` costs ~0.1 ms a call)."""
    return float(sps.t.ppf(q, df))


@dataclass(frozen=True)
class PairedDiff:
    """Difference b - a over runs paired by replicate."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    t: float
    p_value: float
    cohens_dz: float
    mean_a: float
    mean_b: float

    def as_dict(self) -> dict[str, float]:
        """Fields as a dict."""
        return asdict(self)


def paired_diff(a: np.ndarray, b: np.ndarray, confidence: float = CONFIDENCE) -> PairedDiff:
    """Paired difference ``b - a`` (same replicates, same order).

    Pairs with a non-finite value are dropped. t and p follow ``scipy.stats.ttest_rel(b, a)``;
    Cohen's d_z is the mean difference over the s.d. of the differences (NaN if that is 0). A
    difference that is the same in every pair up to floating-point rounding (each pair's difference
    within :data:`ROUNDING_RTOL` of its own values from the mean difference) counts as constant: t is
    then infinite with the difference's sign (p = 0), or NaN if every pair's difference is itself
    rounding (two cells with the same values), instead of a t of 1e14, or of ±1, computed from
    rounding noise (for which scipy warns of catastrophic cancellation).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    diff = b - a
    d = mean_ci(diff, confidence)
    if d.n < 2:
        return PairedDiff(d.n, d.mean, math.nan, math.nan, math.nan, math.nan, math.nan, _mean(a), _mean(b))
    rounding = ROUNDING_RTOL * np.maximum(np.abs(a), np.abs(b))
    constant = bool(np.all(np.abs(diff - d.mean) <= rounding))
    t, p = _ttest_rel(b, a, d, constant, zero=bool(np.all(np.abs(diff) <= rounding)))
    dz = math.nan if constant else d.mean / d.sd
    return PairedDiff(d.n, d.mean, d.ci_low, d.ci_high, t, p, dz, _mean(a), _mean(b))


def _ttest_rel(b: np.ndarray, a: np.ndarray, d: MeanCI, constant: bool, zero: bool) -> tuple[float, float]:
    if zero:  # the same values up to rounding: no difference to test
        return math.nan, math.nan
    if constant:
        return math.copysign(math.inf, d.mean), 0.0
    result = sps.ttest_rel(b, a)
    return float(result.statistic), float(result.pvalue)


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else math.nan


@dataclass(frozen=True)
class Interaction:
    """Two-way ANOVA of a 2 x 2 (factor A x factor B) with n replicates per cell.

    ``contrast`` is (y[a1,b1] - y[a1,b0]) - (y[a0,b1] - y[a0,b0]): how much the effect of B
    differs between the levels of A, with its t CI over replicates (paired design only).
    """

    n_per_cell: int
    paired: bool
    ss_a: float
    ss_b: float
    ss_ab: float
    ss_block: float
    ss_error: float
    df_error: int
    f_a: float
    f_b: float
    f_ab: float
    p_a: float
    p_b: float
    p_ab: float
    contrast: float
    contrast_ci_low: float
    contrast_ci_high: float
    eta2_partial_ab: float

    def as_dict(self) -> dict[str, float]:
        """Fields as a dict."""
        return asdict(self)


def two_way_anova(y: np.ndarray, paired: bool = True) -> Interaction:
    """Two-way ANOVA with interaction on a balanced 2 x 2 x n array ``y[a, b, replicate]``.

    Args:
        y: outcomes, shape (2, 2, n), n >= 2.
        paired: treat replicates as blocks (common random numbers); the block sum of squares is
            then removed from the error term (randomised complete block design).
    """
    y = np.asarray(y, dtype=float)
    if y.shape[:2] != (2, 2) or y.ndim != 3 or y.shape[2] < 2:
        raise ValueError(f"two_way_anova needs shape (2, 2, n>=2); got {y.shape}")
    n = y.shape[2]
    grand = y.mean()
    a_means, b_means, cell = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=2)
    ss_a = 2 * n * float(np.sum((a_means - grand) ** 2))
    ss_b = 2 * n * float(np.sum((b_means - grand) ** 2))
    ss_cells = n * float(np.sum((cell - grand) ** 2))
    ss_ab = ss_cells - ss_a - ss_b
    ss_within = float(np.sum((y - cell[:, :, None]) ** 2))
    ss_block = 4 * float(np.sum((y.mean(axis=(0, 1)) - grand) ** 2)) if paired else 0.0
    ss_error = ss_within - ss_block
    df_error = 4 * (n - 1) - ((n - 1) if paired else 0)
    ms_error = ss_error / df_error
    f = [s / ms_error if ms_error > 0 else math.nan for s in (ss_a, ss_b, ss_ab)]
    p = [float(sps.f.sf(v, 1, df_error)) if math.isfinite(v) else math.nan for v in f]
    per_rep = (y[1, 1] - y[1, 0]) - (y[0, 1] - y[0, 0])
    c = mean_ci(per_rep) if paired else _unpaired_contrast(y, ms_error, df_error)
    eta = ss_ab / (ss_ab + ss_error) if (ss_ab + ss_error) > 0 else math.nan
    return Interaction(
        n, paired, ss_a, ss_b, ss_ab, ss_block, ss_error, df_error, *f, *p, c.mean, c.ci_low, c.ci_high, eta
    )


def _unpaired_contrast(y: np.ndarray, ms_error: float, df_error: int) -> MeanCI:
    n = y.shape[2]
    cell = y.mean(axis=2)
    est = float((cell[1, 1] - cell[1, 0]) - (cell[0, 1] - cell[0, 0]))
    half = t_quantile(0.5 + CONFIDENCE / 2, df_error) * math.sqrt(4 * ms_error / n)
    return MeanCI(n, est, math.nan, est - half, est + half, math.nan, math.nan)


def ols_interaction(y: np.ndarray) -> dict[str, float]:
    """OLS ``y ~ 1 + A + B + A:B`` (0/1 codes) on a (2, 2, n) array, independent errors.

    Returns:
        Coefficients ``b0, b_a, b_b, b_ab``, the interaction's standard error, t and two-sided p.
    """
    y = np.asarray(y, dtype=float)
    n = y.shape[2]
    a, b = np.meshgrid([0.0, 1.0], [0.0, 1.0], indexing="ij")
    a = np.repeat(a[:, :, None], n, axis=2).ravel()
    b = np.repeat(b[:, :, None], n, axis=2).ravel()
    x = np.column_stack([np.ones_like(a), a, b, a * b])
    beta, *_ = np.linalg.lstsq(x, y.ravel(), rcond=None)
    resid = y.ravel() - x @ beta
    dof = len(resid) - 4
    sigma2 = float(resid @ resid) / dof
    se = math.sqrt(sigma2 * float(np.linalg.inv(x.T @ x)[3, 3]))
    t = float(beta[3]) / se if se > 0 else math.nan
    p = float(2 * sps.t.sf(abs(t), dof)) if math.isfinite(t) else math.nan
    return {
        "b0": float(beta[0]),
        "b_a": float(beta[1]),
        "b_b": float(beta[2]),
        "b_ab": float(beta[3]),
        "se_ab": se,
        "t_ab": t,
        "p_ab": p,
        "df": dof,
    }
