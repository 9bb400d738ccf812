"""The learning diagnostics table of issue 10: is each decision variable learned from its reward, and has it settled?

``python -m alignsim.experiments.learning_report [--seeds N] [--weeks W] [--out PATH]`` runs every
structure x KPI cell with learning from the reward and with the placebo learner (same seeds, default
parameters, start from the status quo's learned behaviour) and writes one Markdown table: per role,
variable and cell, the correlation of the standardised advantage with the perturbation (mean over
seeds, with how many seeds exceed the 1.96/sqrt(n) noise band), the mean incumbent at the end, its
drift over the last 52 weeks, and in how many seeds that drift left the placebo noise band.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alignsim.experiments.argparsing import int_at_least
from alignsim.experiments.fileio import atomic_write_text
from alignsim.experiments.report import markdown_table
from alignsim.experiments.studies import check_study_options, provenance_line, study_parser
from alignsim.model import GTMModel

CELLS = [(s, k) for s in ("assembly_line", "pod") for k in ("siloed", "shared")]


def diagnostics(seeds: int, weeks: int) -> pd.DataFrame:
    """One row per (cell, learning, seed, role, variable) with the model's learning_diagnostics()."""
    frames = []
    for structure, kpi in CELLS:
        for learning in ("reward", "placebo"):
            for seed in range(seeds):
                model = GTMModel(structure, kpi, seed=seed, learning=learning, weeks=weeks).run()
                diag = model.learning_diagnostics().reset_index()
                part = "siloed" if kpi == "siloed" else "shared"
                diag["corr"] = diag[f"corr_{part}"]
                diag["n"] = diag[f"n_{part}"]
                frames.append(diag.assign(structure=structure, kpi=kpi, learning=learning, seed=seed))
    return pd.concat(frames, ignore_index=True)


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per cell, learning mode, role and variable."""
    frame = frame.assign(beyond_band=np.abs(frame["corr"]) > 1.96 / np.sqrt(frame["n"].clip(lower=1)))
    keys = ["structure", "kpi", "learning", "role", "variable"]
    out = frame.groupby(keys, sort=False).agg(
        corr=("corr", "mean"),
        seeds_corr_beyond_band=("beyond_band", "sum"),
        policy=("policy", "mean"),
        drift_last_year=("drift", "mean"),
        seeds_still_drifting=("moved", "sum"),
        seeds=("seed", "nunique"),
    )
    return out.reset_index()


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int_at_least(1), default=6, help="seeds per cell")
    parser.add_argument("--weeks", type=int_at_least(1), default=260, help="length of every run")
    parser.add_argument("--out", default="results/learning_diagnostics.md", help="the Markdown file written")
    args = parser.parse_args(argv)
    check_study_options(parser, Path(args.out), out_is_file=True, params={"--weeks": ("weeks", (args.weeks,))})
    frame = table(diagnostics(args.seeds, args.weeks))
    command = f"python -m alignsim.experiments.learning_report --seeds {args.seeds} --weeks {args.weeks}"
    text = (
        f"# Learning diagnostics ({args.seeds} seeds per cell, {args.weeks} weeks, default parameters)\n\n"
        f"Produced by {provenance_line(command)}.\n\n"
        "`corr`: correlation of the standardised advantage with the perturbation over every paid (agent, pair)"
        " of the cell's reward part (siloed KPI under siloed, shared KPI under shared), mean over seeds;"
        " `seeds_corr_beyond_band`: seeds in which |corr| > 1.96/sqrt(n) (a learner with no signal: about 5%"
        " of seeds); `policy`: mean incumbent at the end (policy units); `drift_last_year`: its mean change over"
        " the last 52 weeks; `seeds_still_drifting`: seeds in which that change left the 95% band of a learner"
        " paid noise. Placebo rows: the same trials paid noise.\n\n"
        + markdown_table([list(frame.columns), *[[_fmt(v) for v in row] for row in frame.itertuples(index=False)]])
        + "\n"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)  # check_study_options accepts a folder still to be made
    atomic_write_text(Path(args.out), text)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
