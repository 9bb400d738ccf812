"""Which learned policies make siloed KPIs cost (or earn) firm value, and why the market's size matters.

``python -m alignsim.experiments.policy_attribution [--seeds N] [--workers W] [--out DIR]`` replays
what the learners did, with learning switched off, and swaps one decision variable at a time: a
counterfactual for each move siloed learning makes (README, "Where the answer flips": over ten years
a half-size market turns siloed KPIs' loss against the placebo into a gain in the assembly line).

For each structure, ``market_headroom`` (``--headrooms``, default 4, 8, 12) and seed (replicate r uses
``seed_for(1, r)``, the seeds of ``results/sweep_market_headroom_10y`` and ``results/structure_x_kpi``,
so the learning runs reproduce their runs), over ``--weeks`` (default 520):

1. **Learning runs.** The siloed cell learning from its KPI (``reward``) and the placebo learner on
   the same schedule (paid noise). Each records its *path*: every role's mean policy after every
   review (the centre of its policy, without the trial's perturbation).
2. **Replays.** Learning off, the status quo's start, and at every review week every agent of a role
   put at that role's mean policy on a path (:meth:`GTMModel.set_policy`): the learner's choices
   without its exploration noise and without differences between agents. ``siloed`` and ``placebo``
   replay the two paths.
3. **One move switched off, or on.** ``siloed`` with one variable following the placebo's path
   (S with v from P), and ``placebo`` with one variable following the siloed path (P with v from S).
   The *effect of siloed learning's move of v* is the mean of (S - S with v from P) and
   (P with v from S - P), per seed; its two halves differ only by interactions with the other moves.
4. **Agent by agent.** Each learning run again, replayed with every agent at its own recorded policy
   in force and at its own centre (:mod:`alignsim.experiments.agent_replay`): what the mean paths
   leave out, split into the trial perturbations, agents that differ, and the per-agent replay's
   residue.

The attribution table reports, per structure, market size, role and variable, how far the siloed
path moved the variable beyond the placebo's (the mean over the 41 reviews, policy units) and that
move's effect on firm value (USD), mean over seeds with its 95% t-interval (over seeds), beside the
replayed and the learned siloed - placebo totals, and the part of the learned total the mean paths do
not carry (learned - replayed: exploration noise, differences between agents, and their interaction
with the accounts). Same seeds in every cell, so the market-size contrasts are paired too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alignsim.experiments.agent_replay import decomposition_run
from alignsim.experiments.argparsing import int_at_least, int_list
from alignsim.experiments.errors import UserError
from alignsim.experiments.fileio import atomic_write_text
from alignsim.experiments.report import markdown_table
from alignsim.experiments.spec import seed_for
from alignsim.experiments.studies import (
    check_study_options,
    mean_with_ci,
    provenance_line,
    rebuild_from_runs,
    run_in_processes,
    stored_runs,
    study_parser,
)

STRUCTURES = ("assembly_line", "pod")
HEADROOMS = (4, 8, 12)
WEEKS = 520
ROOT_SEED = 1  # sweep_market_headroom_10y's and structure_x_kpi's: the learning runs are theirs
PATH_KEY = ["week", "role", "variable"]


def learning_run(
    structure: str, headroom: int, seed: int, learning: str, weeks: int = WEEKS
) -> tuple[dict, pd.DataFrame]:
    """A siloed cell learning from ``learning`` ("reward" or "placebo"): its firm value and its path
    (week, role, variable, value: the role's mean policy centre from that week on, without the trial's
    perturbation; :meth:`GTMModel.policies` records the perturbed policies in force)."""
    from alignsim.model import GTMModel

    model = GTMModel(structure, "siloed", seed=seed, learning=learning, weeks=weeks, market_headroom=headroom)
    rows = _centres(model)
    while model.running and model.week < weeks:
        model.step()
        if model.week % model.p["review_weeks"] == 0 and model.week < weeks:
            rows += _centres(model)
    model.release()
    key = {"structure": structure, "headroom": headroom, "seed": seed, "run": learning}
    path = pd.DataFrame(rows, columns=PATH_KEY + ["value"]).assign(**key)
    return {**key, "firm_value": model.summary()["firm_value"]}, path


def _centres(model) -> list[tuple[int, str, str, float]]:
    return [
        (model.week, r.role, name, float(value))
        for r in model.rosters
        for name, value in zip(r.learner.names, r.learner.policy.mean(axis=0), strict=True)
    ]


def replay(structure: str, headroom: int, seed: int, path: pd.DataFrame, weeks: int = WEEKS) -> float:
    """Firm value of a fixed-policy run whose role policies follow ``path`` (learning off).

    At every week of ``path`` (before that week is worked) every agent of each role is put at the
    path's value, so hires join at it too.
    """
    from alignsim.model import GTMModel

    model = GTMModel(structure, "siloed", seed=seed, learning="off", weeks=weeks, market_headroom=headroom)
    by_week = {week: list(zip(g["role"], g["variable"], g["value"], strict=True)) for week, g in path.groupby("week")}
    while model.running and model.week < weeks:
        for role, variable, value in by_week.get(model.week, ()):
            model.set_policy(role, variable, float(value))
        model.step()
    model.release()
    return model.summary()["firm_value"]


def swapped(base: pd.DataFrame, donor: pd.DataFrame, role: str, variable: str) -> pd.DataFrame:
    """``base``'s path with ``role.variable`` taken from ``donor``'s (same weeks)."""
    out = base.set_index(PATH_KEY)["value"].copy()
    pick = donor.set_index(PATH_KEY)["value"].xs((role, variable), level=("role", "variable"), drop_level=False)
    out.loc[pick.index] = pick
    return out.reset_index()


def replay_task(
    structure: str, headroom: int, seed: int, run: str, role: str, variable: str, path: pd.DataFrame, weeks: int
) -> dict:
    key = {"structure": structure, "headroom": headroom, "seed": seed, "run": run, "role": role, "variable": variable}
    return {**key, "firm_value": replay(structure, headroom, seed, path, weeks)}


def measure(
    seeds: int, workers: int, weeks: int = WEEKS, headrooms: tuple[int, ...] = HEADROOMS
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every run: learning runs, their paths, the replays (one row per run) and the per-agent
    decomposition (one row per learning run and its two per-agent replays)."""
    groups = [(st, h, seed_for(ROOT_SEED, r)) for st in STRUCTURES for h in headrooms for r in range(seeds)]
    learned = run_in_processes(
        [(learning_run, *g, learning, weeks) for g in groups for learning in ("reward", "placebo")],
        workers,
        "learning",
    )
    learning = pd.DataFrame([row for row, _ in learned])
    paths = pd.concat([path for _, path in learned], ignore_index=True)
    tasks = []
    for st, h, seed in groups:
        mine = paths[(paths["structure"] == st) & (paths["headroom"] == h) & (paths["seed"] == seed)]
        silo, placebo = (
            mine[mine["run"] == run][["week", "role", "variable", "value"]] for run in ("reward", "placebo")
        )
        tasks += [
            (replay_task, st, h, seed, "siloed", "", "", silo, weeks),
            (replay_task, st, h, seed, "placebo", "", "", placebo, weeks),
        ]
        for role, variable in silo[["role", "variable"]].drop_duplicates().itertuples(index=False):
            for run, base, donor in (
                ("siloed, v from placebo", silo, placebo),
                ("placebo, v from siloed", placebo, silo),
            ):
                path = swapped(base, donor, role, variable)
                tasks.append((replay_task, st, h, seed, run, role, variable, path, weeks))
    replays = pd.DataFrame(run_in_processes(tasks, workers, "replays"))
    per_agent = [(decomposition_run, *g, learning, weeks) for g in groups for learning in ("reward", "placebo")]
    decomposition = pd.DataFrame(run_in_processes(per_agent, workers, "per-agent replays"))
    return learning, paths, replays, decomposition


def totals_table(learning: pd.DataFrame, replays: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """Per structure and market size: siloed - placebo learned, replayed, and the sum of the moves' effects."""
    learned = learning.pivot_table(index=["structure", "headroom", "seed"], columns="run", values="firm_value")
    whole = replays[replays["role"] == ""].pivot_table(
        index=["structure", "headroom", "seed"], columns="run", values="firm_value"
    )
    summed = effects.groupby(["structure", "headroom", "seed"])["effect_usd"].sum()
    rows = []
    for (structure, headroom), g in learned.groupby(level=["structure", "headroom"], sort=False):
        w = whole.loc[g.index]
        rows.append(
            [structure, headroom]
            + mean_with_ci((g["reward"] - g["placebo"]).to_numpy())
            + mean_with_ci((w["siloed"] - w["placebo"]).to_numpy())
            + mean_with_ci(summed.loc[g.index].to_numpy())
            + mean_with_ci(((g["reward"] - g["placebo"]) - (w["siloed"] - w["placebo"])).to_numpy())
            + [len(g)]
        )
    stats = ["learned", "learned_ci95_low", "learned_ci95_high", "replayed", "replayed_ci95_low", "replayed_ci95_high"]
    stats += ["sum_of_moves", "sum_ci95_low", "sum_ci95_high", "not_in_paths", "gap_ci95_low", "gap_ci95_high", "seeds"]
    return pd.DataFrame(rows, columns=["structure", "market_headroom", *stats])


def decomposition_table(replays: pd.DataFrame, decomposition: pd.DataFrame) -> pd.DataFrame:
    """Per structure and market size, siloed - placebo: the part of the learned gap the mean paths do
    not carry (learned - mean-path replay), split into the per-agent replays' residue (learned - in
    force), the trial perturbations (in force - centres) and agents that differ (centres - mean path)."""
    key = ["structure", "headroom", "seed"]
    whole = replays[replays["role"] == ""].pivot_table(index=key, columns="run", values="firm_value")
    mean_path = whole.rename(columns={"siloed": "reward"})[["reward", "placebo"]]
    agents = decomposition.pivot_table(index=key, columns="run", values=["learned", "in_force", "centres"])

    def gap(frame: pd.DataFrame) -> pd.Series:  # siloed - placebo
        return frame["reward"] - frame["placebo"]

    parts = {
        "not_in_paths": gap(agents["learned"]) - gap(mean_path),
        "residue": gap(agents["learned"]) - gap(agents["in_force"]),
        "perturbations": gap(agents["in_force"]) - gap(agents["centres"]),
        "agents_differ": gap(agents["centres"]) - gap(mean_path),
    }
    rows = []
    for (structure, headroom), index in parts["residue"].groupby(level=["structure", "headroom"]).groups.items():
        row = [structure, headroom]
        for values in parts.values():
            row += mean_with_ci(values.loc[index].to_numpy())
        rows.append([*row, len(index)])
    cols = ["structure", "market_headroom"]
    for name in parts:
        cols += [name, f"{name}_ci95_low", f"{name}_ci95_high"]
    return pd.DataFrame(rows, columns=[*cols, "seeds"])


def effects_frame(paths: pd.DataFrame, replays: pd.DataFrame) -> pd.DataFrame:
    """Per structure, market size, seed, role and variable: the siloed path's move beyond the placebo's
    (mean over reviews, policy units) and that move's effect on firm value (USD, both halves and their mean)."""
    key = ["structure", "headroom", "seed"]
    path = paths.pivot_table(index=[*key, "role", "variable", "week"], columns="run", values="value")
    move = (path["reward"] - path["placebo"]).groupby(level=[*key, "role", "variable"]).mean().rename("move")
    whole = replays[replays["role"] == ""].pivot_table(index=key, columns="run", values="firm_value")
    one = replays[replays["role"] != ""].pivot_table(
        index=[*key, "role", "variable"], columns="run", values="firm_value"
    )
    base = whole.reindex(one.index.droplevel(["role", "variable"]))
    base.index = one.index
    frame = pd.DataFrame(
        {
            "switched_off_usd": base["siloed"] - one["siloed, v from placebo"],
            "switched_on_usd": one["placebo, v from siloed"] - base["placebo"],
        }
    )
    frame["effect_usd"] = frame.mean(axis=1)
    return frame.join(move).reset_index()


def attribution_table(effects: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds with 95% t-intervals: the move (policy units) and its effect (USD) per variable."""
    rows = []
    for (structure, headroom, role, variable), g in effects.groupby(
        ["structure", "headroom", "role", "variable"], sort=True
    ):
        rows.append(
            [structure, headroom, f"{role}.{variable}", g["move"].mean()]
            + mean_with_ci(g["effect_usd"].to_numpy())
            + [g["switched_off_usd"].mean(), g["switched_on_usd"].mean()]
        )
    cols = ["structure", "market_headroom", "variable", "move", "effect_usd", "ci95_low", "ci95_high"]
    return pd.DataFrame(rows, columns=[*cols, "switched_off_usd", "switched_on_usd"])


def market_contrast_table(effects: pd.DataFrame, small: int = 4, default: int = 8) -> pd.DataFrame:
    """Per structure and variable: the effect in the ``small`` market minus at the ``default`` size, paired by seed."""
    wide = effects.pivot_table(index=["structure", "role", "variable", "seed"], columns="headroom", values="effect_usd")
    rows = []
    for (structure, role, variable), g in wide.groupby(level=["structure", "role", "variable"], sort=True):
        rows.append([structure, f"{role}.{variable}"] + mean_with_ci((g[small] - g[default]).to_numpy()))
    cols = ["structure", "variable", f"effect_{small}_minus_{default}_usd", "ci95_low", "ci95_high"]
    return pd.DataFrame(rows, columns=cols)


def _md(frame: pd.DataFrame) -> str:
    """Firm-value columns in M USD, the policy move in policy units, the rest as they are."""

    def cell(column: str, value: object) -> str:
        if not isinstance(value, float):
            return str(value)
        return f"{value:+.3f}" if column == "move" else f"{value / 1e6:+.1f}M"

    rows = [[cell(c, v) for c, v in zip(frame.columns, row, strict=True)] for row in frame.itertuples(index=False)]
    return markdown_table([list(frame.columns), *rows])


def reading(totals: pd.DataFrame, attribution: pd.DataFrame, contrast: pd.DataFrame | None) -> list[str]:
    """Plain sentences computed from the tables."""

    def m(x: float) -> str:
        return f"{x / 1e6:+.0f}M"

    lines = []
    for t in totals.itertuples(index=False):
        lines.append(
            f"- {t.structure}, market_headroom {t.market_headroom}: siloed - placebo learned {m(t.learned)}"
            f" [{m(t.learned_ci95_low)}, {m(t.learned_ci95_high)}], replayed {m(t.replayed)}"
            f" [{m(t.replayed_ci95_low)}, {m(t.replayed_ci95_high)}], sum of the moves' effects {m(t.sum_of_moves)};"
            f" not in the mean paths (learned - replayed) {m(t.not_in_paths)}"
            f" [{m(t.gap_ci95_low)}, {m(t.gap_ci95_high)}]."
        )
    for a in attribution.itertuples(index=False):
        if a.ci95_low > 0 or a.ci95_high < 0:
            lines.append(
                f"- {a.structure}, market_headroom {a.market_headroom}: siloed learning moved {a.variable} by"
                f" {a.move:+.3f} (mean over reviews); that move is worth {m(a.effect_usd)}"
                f" [{m(a.ci95_low)}, {m(a.ci95_high)}]."
            )
    for c in () if contrast is None else contrast.itertuples(index=False):
        low, high = c[3], c[4]
        if low > 0 or high < 0:
            lines.append(
                f"- {c.structure}, {c.variable}: the move is worth {m(c[2])} [{m(low)}, {m(high)}] more in the"
                " half-size market than at the default size (paired by seed)."
            )
    return lines


def decomposition_reading(parts: pd.DataFrame) -> list[str]:
    """One sentence per structure and market size from the per-agent decomposition."""

    def m(x: float, low: float, high: float) -> str:
        return f"{x / 1e6:+.0f}M [{low / 1e6:+.0f}M, {high / 1e6:+.0f}M]"

    lines = []
    for p in parts.itertuples(index=False):
        lines.append(
            f"- {p.structure}, market_headroom {p.market_headroom}: of siloed - placebo, the mean paths leave out"
            f" {m(p.not_in_paths, p.not_in_paths_ci95_low, p.not_in_paths_ci95_high)}: trial perturbations"
            f" {m(p.perturbations, p.perturbations_ci95_low, p.perturbations_ci95_high)}, agents that differ"
            f" {m(p.agents_differ, p.agents_differ_ci95_low, p.agents_differ_ci95_high)}, per-agent replay residue"
            f" {m(p.residue, p.residue_ci95_low, p.residue_ci95_high)}."
        )
    return lines


def write(
    out: Path,
    learning: pd.DataFrame,
    paths: pd.DataFrame,
    replays: pd.DataFrame,
    decomposition: pd.DataFrame,
    provenance: str,
    weeks: int,
) -> None:
    """Every run (``*_runs.csv``, ``paths.csv``), the tables as CSV and a README.md (written atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "learning_runs.csv", learning.to_csv(index=False))
    atomic_write_text(out / "paths.csv", paths.to_csv(index=False))
    atomic_write_text(out / "replay_runs.csv", replays.to_csv(index=False))
    atomic_write_text(out / "decomposition_runs.csv", decomposition.to_csv(index=False))
    parts = decomposition_table(replays, decomposition)
    atomic_write_text(out / "decomposition.csv", parts.to_csv(index=False))
    effects = effects_frame(paths, replays)
    totals = totals_table(learning, replays, effects)
    attribution = attribution_table(effects)
    contrast = market_contrast_table(effects) if {4, 8} <= set(effects["headroom"]) else None
    for name, frame in (("totals", totals), ("attribution", attribution), ("market_contrast", contrast)):
        if frame is not None:
            atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))
    text = (
        f"# Which learned policies make siloed KPIs cost or earn firm value ({weeks} weeks, by market size)\n\n"
        f"Produced by {provenance}. Siloed KPIs, {weeks} weeks, every cell starting from the status quo's"
        " learned policies; replicate r uses the seed of replicate r in `results/structure_x_kpi` and"
        " `results/sweep_market_headroom_10y`, paired across every run."
        " Method: module docstring of `alignsim.experiments.policy_attribution`. Firm value in USD (M = 10^6);"
        " intervals are 95% t-intervals of the mean over seeds.\n\n"
        "## Reading (computed from the tables below)\n\n"
        + "\n".join(reading(totals, attribution, contrast) + decomposition_reading(parts))
        + "\n\n"
        "## 1. Siloed - placebo: learned, replayed, and the sum of the single moves\n\n"
        "`learned`: the two learning runs; `replayed`: fixed-policy runs following the two learners' mean"
        " paths (no exploration noise, no differences between agents); `sum_of_moves`: the sum over"
        " variables of the effects in section 2 (what is left is interaction); `not_in_paths`: learned -"
        " replayed, per seed (what the mean paths do not carry).\n\n" + _md(totals) + "\n\n"
        "## 2. Each move of siloed learning and what it is worth\n\n"
        "`move`: siloed path minus placebo path, mean over the reviews and seeds (policy units);"
        " `effect_usd`: firm value of the siloed replay minus the same replay with this variable on the"
        " placebo's path (`switched_off_usd`), averaged with the placebo replay given this variable's siloed"
        " path minus the placebo replay (`switched_on_usd`).\n\n" + _md(attribution) + "\n"
    )
    if contrast is not None:
        text += (
            "\n## 3. How much the market's size changes each move's worth\n\n"
            "Effect at `market_headroom` 4 minus at 8 (the default), paired by seed.\n\n" + _md(contrast) + "\n"
        )
    text += (
        "\n## 4. What the mean paths leave out, agent by agent\n\n"
        "Siloed - placebo, per seed, split by the per-agent replays of `experiments/agent_replay.py`"
        " (every agent at its own recorded policy in force, or at its own centre): `not_in_paths` ="
        " learned - mean-path replay = `residue` (learned - in force: hires joining at other policies"
        " between reviews, agents matched by index) + `perturbations` (in force - centres: the trials'"
        " exploration itself) + `agents_differ` (centres - mean path).\n\n" + _md(parts) + "\n"
    )
    atomic_write_text(out / "README.md", text)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int_at_least(2), default=6, help="paired seeds (replicates 0..N-1)")
    parser.add_argument("--weeks", type=int_at_least(26), default=WEEKS, help="length of every run")
    parser.add_argument("--headrooms", type=int_list(1, "4,8,12"), default=HEADROOMS, help="market sizes, e.g. 4,8,12")
    parser.add_argument("--workers", type=int_at_least(1), default=2)
    parser.add_argument("--out", default="results/policy_attribution")
    parser.add_argument("--from-runs", action="store_true", help="rebuild the tables from OUT's run files")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.from_runs:
        try:
            run_files = ("learning_runs.csv", "paths.csv", "replay_runs.csv", "decomposition_runs.csv")
            frames, stated = stored_runs(out, run_files, ". Siloed KPIs, ", keep_default_na=False)
            rebuild_from_runs(out, lambda folder: write(folder, *frames, stated, args.weeks))
        except UserError as exc:
            parser.error(str(exc))
        print(out / "README.md")
        return 0
    params = {"--weeks": ("weeks", (args.weeks,)), "--headrooms": ("market_headroom", args.headrooms)}
    check_study_options(parser, out, params=params)
    learning, paths, replays, decomposition = measure(args.seeds, args.workers, args.weeks, args.headrooms)
    command = (
        f"python -m alignsim.experiments.policy_attribution --seeds {args.seeds} --weeks {args.weeks}"
        f" --headrooms {','.join(map(str, args.headrooms))} --workers {args.workers}"
        + ("" if args.out == "results/policy_attribution" else f" --out {args.out}")
    )
    write(out, learning, paths, replays, decomposition, provenance_line(command), args.weeks)
    print(out / "README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
