"""The findings of a sampled design in words (``findings.md``), from its CSVs and manifest.

What a strategist reads first: how often each design is ahead over the plausible ranges (and how
often the difference is significant), which uncertain inputs move each answer most, the regions
where each design wins (boxes with coverage and density), and whether the replicates were enough.
"""

from __future__ import annotations

import math
from pathlib import Path

from alignsim.experiments import responses as resp
from alignsim.experiments.discovery import contrast_arrays, fit_boxes, sentence, share_rows, write_discovery
from alignsim.experiments.fileio import atomic_write_text
from alignsim.experiments.sensitivity import (
    NOISE_SHARE_TARGET,
    TARGET_HALFWIDTH_USD,
    SampledExperiment,
    indices,
    write_sensitivity,
)
from alignsim.experiments.store import read_manifest

FINDINGS = "findings.md"
TOP_INPUTS = 3


def usd(value: float) -> str:
    """USD in millions, e.g. ``$12.3M``."""
    return "n/a" if not math.isfinite(value) else f"${value / 1e6:,.1f}M"


def analyse(out_dir: Path) -> SampledExperiment | None:
    """Write every table of a finished sampled design and findings.md; None while runs are missing."""
    manifest = read_manifest(Path(out_dir)) or {}
    runs = manifest.get("runs", {})
    if not manifest.get("sample") or runs.get("done", 0) < runs.get("planned", 1):
        return None
    exp = SampledExperiment(out_dir)
    if exp.method in ("morris", "sobol"):
        write_sensitivity(out_dir)
    write_discovery(out_dir)
    atomic_write_text(exp.dir / FINDINGS, "\n".join(findings_lines(exp)) + "\n")
    return exp


def findings_lines(exp: SampledExperiment, heading: str = "##") -> list[str]:
    """The findings in Markdown."""
    n = resp.noise(exp.table, exp.responses[0])
    lines = [
        f"{heading} Where each design wins over the plausible ranges ({exp.method}, {len(exp.inputs)} inputs)",
        "",
        f"{exp.n_points} points drawn from the plausible ranges of {len(exp.inputs)} inputs"
        f" (`alignsim params`), every design run at every point with {n.replicates} replicates and the same seeds"
        " (paired). A point counts as significant when the 95% CI of its mean difference excludes zero (half-width"
        " from the pooled replicate variance).",
        "",
        *share_lines(exp),
        "",
    ]
    if exp.method in ("morris", "sobol"):
        lines += [f"{heading}# Most influential inputs", "", *index_lines(exp), ""]
    lines += [f"{heading}# Regions (scenario discovery, depth-2 tree)", "", *region_lines(exp), ""]
    lines += [f"{heading}# Are the replicates enough?", "", *replicate_advice_lines(exp)]
    return lines


def share_lines(exp: SampledExperiment) -> list[str]:
    share = {(r, o): s for r, o, s, _ in share_rows(exp)}
    out = []
    for response in exp.responses:
        if response not in resp.WINNER:
            continue
        first, second = resp.WINNER[response]
        out.append(
            f"- **{resp.RESPONSE_SHORT[response]}**: {second} at"
            f" {share[(response, second)]:.0%} of the points ({share[(response, f'{second}, significant')]:.0%}"
            f" significantly); {first} significantly at {share[(response, f'{first}, significant')]:.0%};"
            f" not significant at {share[(response, 'not significant')]:.0%}; mean over the points"
            f" {usd(float(exp.y(response).mean()))}."
        )
    return out


def index_lines(exp: SampledExperiment) -> list[str]:
    out = []
    for response in exp.responses:
        frame = indices(exp, response).head(TOP_INPUTS)
        if exp.method == "morris":
            floor = float(frame["mu_star_noise_floor"].iloc[0])
            items = [f"{name} (mu* {usd(r.mu_star)} ± {usd(r.mu_star_ci95_halfwidth)})" for name, r in frame.iterrows()]
            tail = f"; replicate noise alone gives mu* ≈ {usd(floor)}"
        else:
            items = [f"{name} (ST {r.st:.2f} ± {r.st_ci95_halfwidth:.2f})" for name, r in frame.iterrows()]
            tail = ""
        out.append(f"- {resp.RESPONSE_LABELS[response]}: " + ", ".join(items) + tail + ".")
    return out


def region_lines(exp: SampledExperiment) -> list[str]:
    out = []
    for response in exp.responses:
        if response not in resp.WINNER:
            continue
        y, significant, _ = contrast_arrays(exp, response)
        boxes = fit_boxes(exp.table[exp.inputs], y, significant)
        out.append(f"- {sentence(response, boxes[0], len(y))}.")
        if len(boxes) > 1:
            out.append(f"  Least: {sentence(response, boxes[-1], len(y))}.")
    return out


def replicate_advice_lines(exp: SampledExperiment) -> list[str]:
    out = []
    for response in exp.responses:
        n = resp.noise(exp.table, response)
        spread = float(exp.y(response).var(ddof=1))
        out.append(
            f"- {resp.RESPONSE_LABELS[response]}: one run varies by {usd(n.sd_within)} (s.d.); with"
            f" {n.replicates} replicates a point mean is known to ±{usd(n.halfwidth)} (95% CI), and replicate noise"
            f" is {n.noise_share:.1%} of the variance across points. ±{usd(TARGET_HALFWIDTH_USD)} would need"
            f" {n.replicates_for(TARGET_HALFWIDTH_USD)} replicates; noise ≤ {NOISE_SHARE_TARGET:.0%} of the spread"
            f" would need {n.replicates_for_share(NOISE_SHARE_TARGET, spread)}."
        )
    return out


__all__ = ["FINDINGS", "analyse", "findings_lines", "write_discovery"]
