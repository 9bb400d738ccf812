"""Charts of a sampled design (global sensitivity and scenario discovery), PNG + SVG.

1. ``design_shares``: per design contrast, the share of sampled points where each design is
   significantly ahead, and where the difference is not significant.
2. ``morris``: mu* (with its 95% bootstrap CI) against sigma per input, one panel per response,
   with the mu* that replicate noise alone gives (``sobol``: first-order and total indices with
   95% bootstrap CIs instead, for a Sobol design).
3. ``decision_map_<contrast>``: the two most influential inputs of the contrast, each point
   coloured by which design is ahead, filled where the difference is significant.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from alignsim.experiments import responses as resp
from alignsim.experiments.charts import _save
from alignsim.experiments.discovery import MAX_DEPTH, contrast_arrays, share_rows
from alignsim.experiments.sensitivity import SampledExperiment, indices

AHEAD_COLORS = ("#E69F00", "#0072B2")  # first design ahead, second design ahead (Okabe-Ito)
GREY = "#BBBBBB"
USD_M = FuncFormatter(lambda v, _: f"${v / 1e6:,.0f}M")


def input_label(name: str) -> str:
    """A parameter's name with its unit."""
    from alignsim.model.params import PARAMS

    unit = PARAMS[name].unit if name in PARAMS else ""
    return f"{name.replace('_', ' ')} ({unit})" if unit else name.replace("_", " ")


def plot_global(out_dir: Path) -> list[Path]:
    """Draw every chart of a sampled design into ``out_dir/charts``; return the PNG paths."""
    exp = SampledExperiment(out_dir)
    written = chart_shares(exp)
    if exp.method in ("morris", "sobol"):
        written += chart_indices(exp)
    for response in exp.responses:
        if response in resp.WINNER:
            written += chart_decision_map(exp, response)
    return written


def _note(exp: SampledExperiment) -> str:
    n = resp.noise(exp.table, exp.responses[0])
    return (
        f"{exp.n_points} points ({exp.method} sample over the plausible ranges), {n.replicates} replicates per"
        " point and design, common random numbers"
    )


def chart_shares(exp: SampledExperiment) -> list[Path]:
    """Stacked bars: where each design is significantly ahead, and where it is not significant."""
    rows = share_rows(exp)
    contrasts = [r for r in exp.responses if r in resp.WINNER]
    if not contrasts:
        return []
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.8 * len(contrasts)))
    share = {(r, o): s for r, o, s, _ in rows}
    for i, response in enumerate(contrasts):
        first, second = resp.WINNER[response]
        parts = [
            (share[(response, f"{first}, significant")], AHEAD_COLORS[0], f"{first} (significant)"),
            (share[(response, "not significant")], GREY, "not significant (95% CI includes 0)"),
            (share[(response, f"{second}, significant")], AHEAD_COLORS[1], f"{second} (significant)"),
        ]
        left = 0.0
        for value, color, text in parts:
            ax.barh(i, value, left=left, color=color, edgecolor="white")
            if value >= 0.08:
                ax.text(left + value / 2, i, f"{value:.0%}\n{text}", ha="center", va="center", fontsize=7)
            left += value
    ax.set_yticks(range(len(contrasts)), [resp.RESPONSE_SHORT[r] for r in contrasts])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of the sampled plausible space (points)")
    ax.invert_yaxis()
    ax.set_title(f"Which design creates more firm value, over the plausible ranges\n{_note(exp)}", fontsize=10)
    return _save(fig, exp, "design_shares")


def chart_indices(exp: SampledExperiment) -> list[Path]:
    """Morris mu*-sigma panels, or Sobol S1/ST bars, one panel per response."""
    n = len(exp.responses)
    fig, axes = plt.subplots(1, n, figsize=(5.0 * n, 4.6), squeeze=False)
    for ax, response in zip(axes[0], exp.responses, strict=True):
        frame = indices(exp, response)
        if exp.method == "morris":
            _morris_panel(ax, frame)
        else:
            _sobol_panel(ax, frame)
        ax.set_title(resp.RESPONSE_LABELS[response], fontsize=9)
    what = "Morris screening" if exp.method == "morris" else "Sobol indices"
    fig.suptitle(f"{what}: which uncertain inputs move the answer\n{_note(exp)}", fontsize=10)
    fig.tight_layout()
    return _save(fig, exp, exp.method)


def _morris_panel(ax, frame) -> None:
    ax.errorbar(
        frame["mu_star"],
        frame["sigma"],
        xerr=frame["mu_star_ci95_halfwidth"],
        fmt="o",
        color=AHEAD_COLORS[1],
        ecolor=GREY,
        label="mu* ± 95% bootstrap CI",
    )
    floor = float(frame["mu_star_noise_floor"].iloc[0])
    ax.axvline(floor, color="k", ls=":", lw=1, label="mu* from replicate noise alone")
    for name, row in frame.head(6).iterrows():
        ax.annotate(
            name.replace("_", " "),
            (row["mu_star"], row["sigma"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.xaxis.set_major_formatter(USD_M)
    ax.yaxis.set_major_formatter(USD_M)
    ax.set_xlabel("mu*: mean |effect| of moving the input across its range")
    ax.set_ylabel("sigma: spread of the effects (interactions)")
    ax.legend(fontsize=7, loc="upper left")


def _sobol_panel(ax, frame) -> None:
    y = np.arange(len(frame))
    ax.barh(y - 0.2, frame["s1"], 0.4, xerr=frame["s1_ci95_halfwidth"], color=AHEAD_COLORS[0], label="first order S1")
    ax.barh(y + 0.2, frame["st"], 0.4, xerr=frame["st_ci95_halfwidth"], color=AHEAD_COLORS[1], label="total ST")
    ax.set_yticks(y, [n.replace("_", " ") for n in frame.index], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("share of the response's variance (95% bootstrap CI)")
    ax.legend(fontsize=7)


def top_inputs(exp: SampledExperiment, response: str, k: int = 2) -> list[str]:
    """The ``k`` inputs that best separate where each design is ahead: the discovery tree's splits by
    importance, then the most influential inputs (Morris mu*, Sobol ST) to fill up."""
    from sklearn.tree import DecisionTreeClassifier

    y = exp.y(response)
    tree = DecisionTreeClassifier(max_depth=MAX_DEPTH, min_samples_leaf=max(3, int(0.1 * len(y))), random_state=0)
    tree.fit(exp.X, y > 0)
    ranked = [exp.inputs[i] for i in np.argsort(-tree.feature_importances_) if tree.feature_importances_[i] > 0]
    if exp.method in ("morris", "sobol"):
        ranked += [n for n in indices(exp, response).index if n not in ranked]
    ranked += [n for n in exp.inputs if n not in ranked]
    return ranked[:k]


def chart_decision_map(exp: SampledExperiment, response: str) -> list[Path]:
    """Scatter over the two most influential inputs: who is ahead, and is it significant."""
    if len(exp.inputs) < 2:
        return []
    a, b = top_inputs(exp, response)
    y, significant, halfwidth = contrast_arrays(exp, response)
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    jitter = np.random.default_rng(0)  # fixed: grid designs repeat coordinates; the chart must redraw identically
    xa = exp.table[a].to_numpy(float)
    xb = exp.table[b].to_numpy(float)
    span_a, span_b = np.ptp(xa) or 1.0, np.ptp(xb) or 1.0
    xa = xa + jitter.uniform(-0.015, 0.015, len(xa)) * span_a
    xb = xb + jitter.uniform(-0.015, 0.015, len(xb)) * span_b
    for side, color, text in (
        (y <= 0, AHEAD_COLORS[0], resp.WINNER[response][0]),
        (y > 0, AHEAD_COLORS[1], resp.WINNER[response][1]),
    ):
        sig, weak = side & significant, side & ~significant
        ax.scatter(xa[sig], xb[sig], c=color, s=28, label=f"{text} (significant)")
        ax.scatter(xa[weak], xb[weak], facecolors="none", edgecolors=color, s=28, label=f"{text} (not significant)")
    ax.set_xlabel(input_label(a))
    ax.set_ylabel(input_label(b))
    ax.legend(fontsize=7, loc="best")
    ax.set_title(
        f"{resp.RESPONSE_LABELS[response]}\nover the two inputs that best separate who is ahead (discovery tree);"
        f" filled: the 95% CI of the point mean excludes 0 (±${halfwidth / 1e6:,.0f}M)\n{_note(exp)}",
        fontsize=8,
    )
    return _save(fig, exp, f"decision_map_{response}")
