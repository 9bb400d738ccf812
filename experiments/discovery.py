"""Scenario discovery: where in the plausible space does each design win?

For each design contrast (experiments/responses.py), a point is a "win" for the second design when
the contrast's point mean is above zero, and *significant* when its 95% CI (half-width from the
pooled replicate variance, :func:`alignsim.experiments.responses.noise`) excludes zero. A shallow
decision tree (scikit-learn, depth 2 by default, leaves of at least 10% of the points) splits the
inputs into boxes; each box is reported with its **density** (share of its points where the second
design wins), **coverage** (share of all such points that fall in the box) and its share of the
sampled points, the quantities PRIM reports (Bryant & Lempert 2010).

Why a tree rather than PRIM: a depth-2 tree gives a few boxes that tile the whole space, readable
as sentences, from a maintained library (scikit-learn) that works with the pinned numpy/pandas;
the EMA Workbench's PRIM brings a large dependency tree and failed on pandas 3 with categorical
inputs. The inputs are numeric, so no encoding is needed.

``discovery.csv`` has one row per (response, box); ``shares.csv`` the share of points where each
design wins (significantly or not) and, over the designs whose staff learn, which one is best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alignsim.experiments import responses as resp
from alignsim.experiments.fileio import atomic_write_lines, csv_line
from alignsim.experiments.sensitivity import SampledExperiment, write_points

DISCOVERY = "discovery.csv"
SHARES = "shares.csv"
MAX_DEPTH = 2
MIN_LEAF_SHARE = 0.10
DISC_HEADER = (
    "response",
    "box",
    "rule",
    "n_points",
    "share_of_points",
    "density_second_wins",
    "coverage_second_wins",
    "share_significant",
    "mean_contrast",
    "first",
    "second",
)
SHARE_HEADER = ("response", "outcome", "share_of_points", "n_points")


@dataclass(frozen=True)
class Box:
    """One leaf of the tree as a box of the input space.

    Attributes:
        rule: the conditions in words, e.g. ``prospects_per_week > 212 and n_pods <= 2``.
        bounds: input -> (low, high) of the box (the plausible range where unconstrained).
        members: boolean mask of the points in the box.
        density: share of the box's points where the second design wins.
        coverage: share of all points where the second design wins that are in the box.
        share_significant: share of the box's points whose contrast CI excludes zero.
        mean_contrast: mean of the contrast over the box's points (USD).
    """

    rule: str
    bounds: dict[str, tuple[float, float]]
    members: np.ndarray
    density: float
    coverage: float
    share_significant: float
    mean_contrast: float

    @property
    def n_points(self) -> int:
        """Points in the box."""
        return int(self.members.sum())


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _rule(bounds: dict[str, tuple[float, float]], full: dict[str, tuple[float, float]]) -> str:
    """A box's conditions in words: only the inputs it constrains, each once."""
    parts = []
    for name, (low, high) in bounds.items():
        cut_low, cut_high = low > full[name][0], high < full[name][1]
        if cut_low and cut_high:
            parts.append(f"{_fmt(low)} < {name} <= {_fmt(high)}")
        elif cut_low:
            parts.append(f"{name} > {_fmt(low)}")
        elif cut_high:
            parts.append(f"{name} <= {_fmt(high)}")
    return " and ".join(parts) or "anywhere in the sampled ranges"


def fit_boxes(x: pd.DataFrame, y: np.ndarray, significant: np.ndarray, max_depth: int = MAX_DEPTH) -> list[Box]:
    """Boxes of a shallow classification tree of ``y > 0`` on the inputs ``x``."""
    from sklearn.tree import DecisionTreeClassifier

    wins = y > 0
    n = len(y)
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(3, math.ceil(MIN_LEAF_SHARE * n)), random_state=0
    ).fit(x.to_numpy(float), wins)
    t, names = tree.tree_, list(x.columns)
    leaf_of = tree.apply(x.to_numpy(float))
    total_wins = max(int(wins.sum()), 1)
    boxes: list[Box] = []

    full = {c: (float(x[c].min()), float(x[c].max())) for c in names}

    def walk(node: int, bounds: dict[str, tuple[float, float]]) -> None:
        if t.children_left[node] == -1:
            members = leaf_of == node
            boxes.append(
                Box(
                    _rule(bounds, full),
                    dict(bounds),
                    members,
                    float(wins[members].mean()),
                    float(wins[members].sum() / total_wins),
                    float(significant[members].mean()),
                    float(y[members].mean()),
                )
            )
            return
        name, cut = names[t.feature[node]], float(t.threshold[node])
        low, high = bounds[name]
        walk(t.children_left[node], {**bounds, name: (low, min(high, cut))})
        walk(t.children_right[node], {**bounds, name: (max(low, cut), high)})

    walk(0, full)
    return sorted(boxes, key=lambda b: -b.density)


def contrast_arrays(exp: SampledExperiment, response: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Point means of a contrast, whether each is significant, and the CI half-width used."""
    y = exp.y(response)
    halfwidth = resp.noise(exp.table, response).halfwidth
    significant = np.abs(y) > halfwidth if math.isfinite(halfwidth) else np.zeros(len(y), dtype=bool)
    return y, significant, halfwidth


def discovery_lines(exp: SampledExperiment) -> list[str]:
    """Lines of discovery.csv."""
    lines = [csv_line(DISC_HEADER)]
    for response in exp.responses:
        if response not in resp.WINNER:
            continue
        y, significant, _ = contrast_arrays(exp, response)
        for k, box in enumerate(fit_boxes(exp.table[exp.inputs], y, significant)):
            first, second = resp.WINNER[response]
            lines.append(
                csv_line(
                    (
                        response,
                        k,
                        box.rule,
                        box.n_points,
                        box.n_points / len(y),
                        box.density,
                        box.coverage,
                        box.share_significant,
                        box.mean_contrast,
                        first,
                        second,
                    )
                )
            )
    return lines


def share_rows(exp: SampledExperiment) -> list[tuple[str, str, float, int]]:
    """(response, outcome, share, count): how often each design wins, significantly or not."""
    rows = []
    for response in exp.responses:
        if response not in resp.WINNER:
            continue
        y, significant, _ = contrast_arrays(exp, response)
        first, second = resp.WINNER[response]
        n = len(y)
        outcomes = {
            second: y > 0,
            f"{second}, significant": (y > 0) & significant,
            f"{first}, significant": (y < 0) & significant,
            "not significant": ~significant,
        }
        rows += [(response, what, float(mask.sum() / n), int(mask.sum())) for what, mask in outcomes.items()]
    return rows


def write_discovery(out_dir) -> SampledExperiment:
    """Write points.csv, discovery.csv and shares.csv atomically; return the experiment."""
    exp = write_points(out_dir)
    atomic_write_lines(exp.dir / DISCOVERY, discovery_lines(exp))
    atomic_write_lines(exp.dir / SHARES, [csv_line(SHARE_HEADER)] + [csv_line(r) for r in share_rows(exp)])
    return exp


def sentence(response: str, box: Box, n_total: int) -> str:
    """The box in words, as a strategist reads it."""
    return (
        f"{resp.WIN_PHRASE[response]} at {box.density:.0%} of the points where {box.rule}"
        f" ({box.n_points} of {n_total} points; the box holds {box.coverage:.0%} of all points where the"
        f" difference is positive; at {box.share_significant:.0%} of its points it is significant either way)"
    )
