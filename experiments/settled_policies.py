"""Each KPI regime judged at the policies its learning settles on (issue 10, "policies settle before
they are judged").

``python -m alignsim.experiments.settled_policies [--seeds N] [--learn-weeks L] [--long-learn-weeks LL]
[--weeks H,...] [--workers W] [--out DIR]``. Why it exists: shared and placebo learners settle (their drift
diagnostics sit at the noise level by year 10), siloed learners do not. Their personal counts (MQLs,
meetings booked) keep rising as targeting widens and the bar falls, so the learner walks towards a
bound for as long as it runs (``results/structure_x_kpi_10y``; ``results/sweep_status_quo_weeks``:
25 years of siloed learning reach breadth 0.95, still moving). A learned comparison therefore catches
siloed KPIs mid-drift. Here every regime is judged by the company its incentives lead to once the
policies stop moving:

1. **Learning runs.** Per structure and seed (replicate r uses ``seed_for(1, r)``, the seeds of
   ``results/structure_x_kpi_10y`` and ``results/structure_x_kpi``, so these runs reproduce their
   stored firm values), the siloed and shared cells learning from their KPI and, beside each, the
   placebo learner on that cell's schedule paid noise (``placebo_siloed``, ``placebo_shared``: a
   shared reward arrives ``shared_reward_horizon_weeks`` later, so fewer payments land within the
   run, and a learner paid noise drifts less; each regime is compared with the placebo on its own
   pay dates), over ``--learn-weeks`` (520) from the status quo. Each ends with a
   *settled policy*: every role's mean policy centre, and per variable whether it still moves beyond
   the noise band over the last year (:meth:`GTMModel.learning_diagnostics`, ``moved``) and which way.
   The same three cells are also learned over each judging horizon, as the learned reference.
2. **Settled policies.** Shared and placebo: their end centres. Siloed, two readings: *held at the
   end of learning* (its end centres: where it is, still moving) and *at the end of the drift*
   (those centres with every variable that still moves in at least ``DRIFTING_SHARE`` of the seeds of
   every structure put at the bound it moves towards: the place the learner approaches and, in logit
   coordinates, never reaches). The second is an extrapolation. A third reading measures instead of
   extrapolating: siloed learns on for ``--long-learn-weeks`` (1040, twenty years) and is held at its
   centres then and a year earlier; the firm value its last year of drift adds says whether it has
   settled in what the comparison is about, even where a variable still creeps towards its bound.
3. **Judged.** A fixed-policy run (learning off) over each horizon in ``--weeks`` (260, 520), every
   agent of a role put at week 0 at the role's settled value (hires join at it), beside the status
   quo's policies held. Same seed in every run of a structure and replicate, so contrasts are paired.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alignsim.experiments.argparsing import int_at_least, int_list
from alignsim.experiments.errors import UserError
from alignsim.experiments.fileio import atomic_write_text
from alignsim.experiments.policy_attribution import replay
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
REGIMES = (("siloed", "reward"), ("shared", "reward"), ("siloed", "placebo"), ("shared", "placebo"))  # (kpi, learning)
LEARN_WEEKS = 520
LONG_LEARN_WEEKS = 1040  # siloed learning read again after 20 years: where its drift has got to, measured
YEAR = 52
WEEKS = (260, 520)
ROOT_SEED = 1
HEADROOM = 8  # market_headroom's default: the market of structure_x_kpi(_10y)
DRIFTING_SHARE = 0.75
CONTRASTS = (  # (name, minuend, subtrahend)
    ("shared - siloed", "shared", "siloed"),
    ("siloed - placebo", "siloed", "placebo_siloed"),
    ("shared - placebo", "shared", "placebo_shared"),
)


def regime_name(kpi: str, learning: str) -> str:
    return f"placebo_{kpi}" if learning == "placebo" else kpi


def learning_run(structure: str, kpi: str, learning: str, seed: int, weeks: int) -> tuple[dict, pd.DataFrame]:
    """A cell learning over ``weeks``: its firm value, and its settled policy (one row per role and
    variable: the mean policy centre at the end, its drift over the last year, and ``moved``)."""
    from alignsim.model import GTMModel

    model = GTMModel(structure, kpi, seed=seed, learning=learning, weeks=weeks, market_headroom=HEADROOM).run()
    key = {"structure": structure, "seed": seed, "regime": regime_name(kpi, learning), "weeks": weeks}
    diagnostics = model.learning_diagnostics()[["policy", "drift", "moved"]].reset_index()
    diagnostics["value"] = _centres(model, diagnostics)
    return {**key, "firm_value": model.summary()["firm_value"]}, diagnostics.drop(columns="policy").assign(**key)


def long_learning_run(structure: str, seed: int, weeks: int) -> pd.DataFrame:
    """Siloed learning over ``weeks`` (longer than the study's learning runs): per role and variable, the
    mean policy centre at the end (``value``) and ``YEAR`` weeks before it (``value_year_before``), with
    the end's drift diagnostics. The same run as :func:`learning_run` would make over ``weeks``."""
    from alignsim.model import GTMModel

    model = GTMModel(structure, "siloed", seed=seed, learning="reward", weeks=weeks, market_headroom=HEADROOM)
    while model.week < weeks - YEAR:  # run() goes on from here: the same run, read a year before its end
        model.step()
    diagnostics = model.learning_diagnostics()[["policy"]].reset_index()  # the (role, variable) rows
    before = _centres(model, diagnostics)
    model.run()
    diagnostics = model.learning_diagnostics()[["policy", "drift", "moved"]].reset_index()
    diagnostics["value"], diagnostics["value_year_before"] = _centres(model, diagnostics), before
    key = {"structure": structure, "seed": seed, "regime": "siloed", "weeks": weeks}
    return diagnostics.drop(columns="policy").assign(**key)


def _centres(model: object, rows: pd.DataFrame) -> list[float]:
    """Each role's mean policy centre (not the perturbed policies in force) for every (role, variable) row."""
    centres = {
        (r.role, n): float(v)
        for r in model.rosters
        for n, v in zip(r.learner.names, r.learner.policy.mean(0), strict=True)
    }
    return [centres[(r, v)] for r, v in zip(rows["role"], rows["variable"], strict=True)]


def bounds() -> pd.DataFrame:
    """Every decision variable's bounds (role, variable, low, high)."""
    from alignsim.agents import ROLES

    rows = [(cls.role, name, lo, hi) for cls in ROLES for name, (_, lo, hi) in cls.POLICY.items()]
    return pd.DataFrame(rows, columns=["role", "variable", "low", "high"])


def end_of_drift(settled: pd.DataFrame) -> pd.DataFrame:
    """Variables siloed learning still moves in at least ``DRIFTING_SHARE`` of the seeds of every
    structure, with the bound it moves towards (role, variable, mean drift, bound)."""
    silo = settled[settled["regime"] == "siloed"]
    by = silo.groupby(["structure", "role", "variable"]).agg(share=("moved", "mean"), drift=("drift", "mean"))
    share = by["share"].groupby(level=["role", "variable"]).min()
    drift = by["drift"].groupby(level=["role", "variable"]).mean()
    keep = share[share >= DRIFTING_SHARE].index
    frame = pd.DataFrame({"drift": drift.loc[keep]}).reset_index().merge(bounds(), on=["role", "variable"])
    frame["bound"] = np.where(frame["drift"] > 0, frame["high"], frame["low"])
    return frame[["role", "variable", "drift", "bound"]]


def policy_sets(settled: pd.DataFrame, limit: pd.DataFrame) -> dict[tuple[str, int, str], pd.DataFrame]:
    """Per (structure, seed, set): the policies held from week 0 (role, variable, value)."""
    out = {}
    pinned = limit.set_index(["role", "variable"])["bound"]
    for (structure, seed, regime), g in settled.groupby(["structure", "seed", "regime"], sort=True):
        values = g[["role", "variable", "value"]].reset_index(drop=True)
        if regime == "siloed":
            out[(structure, seed, "siloed, held")] = values
            ends = values.copy()
            at = ends.set_index(["role", "variable"]).index.isin(pinned.index)
            ends.loc[at, "value"] = pinned.loc[list(ends.loc[at, ["role", "variable"]].itertuples(index=False))].values
            out[(structure, seed, "siloed, end of drift")] = ends
        else:
            out[(structure, seed, regime)] = values
    return out


def long_set_name(weeks: int) -> str:
    return f"siloed, after {weeks} weeks"


def long_sets(long: pd.DataFrame) -> dict[tuple[str, int, str], pd.DataFrame]:
    """Per (structure, seed, set): siloed policies at the end of the long learning and a year before it."""
    out = {}
    for (structure, seed, weeks), g in long.groupby(["structure", "seed", "weeks"], sort=True):
        for column, at in (("value", weeks), ("value_year_before", weeks - YEAR)):
            values = g[["role", "variable", column]].rename(columns={column: "value"}).reset_index(drop=True)
            out[(structure, seed, long_set_name(int(at)))] = values
    return out


def judged_run(structure: str, seed: int, policy_set: str, values: pd.DataFrame | None, weeks: int) -> dict:
    """Firm value of a fixed-policy run with ``values`` held from week 0 (None: the status quo's)."""
    path = pd.DataFrame(columns=["week", "role", "variable", "value"]) if values is None else values.assign(week=0)
    key = {"structure": structure, "seed": seed, "policy_set": policy_set, "weeks": weeks}
    return {**key, "firm_value": replay(structure, HEADROOM, seed, path, weeks)}


LONG_COLUMNS = [
    "role",
    "variable",
    "drift",
    "moved",
    "value",
    "value_year_before",
    "structure",
    "seed",
    "regime",
    "weeks",
]


def measure(
    seeds: int,
    workers: int,
    learn_weeks: int = LEARN_WEEKS,
    horizons: tuple[int, ...] = WEEKS,
    long_learn_weeks: int = LONG_LEARN_WEEKS,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Learning runs (firm values), settled policies, judged runs (one row each), and the long siloed
    learning's policies (none if ``long_learn_weeks`` is 0)."""
    cells = [(st, kpi, ln, seed_for(ROOT_SEED, r)) for st in STRUCTURES for r in range(seeds) for kpi, ln in REGIMES]
    weeks = sorted({learn_weeks, *horizons})
    groups = sorted({(st, seed) for st, _, _, seed in cells})
    longest = [(long_learning_run, st, seed, long_learn_weeks) for st, seed in groups] if long_learn_weeks else []
    done = run_in_processes(longest + [(learning_run, *c, w) for w in weeks for c in cells], workers, "learning")
    long = pd.concat(done[: len(longest)], ignore_index=True) if longest else pd.DataFrame(columns=LONG_COLUMNS)
    done = done[len(longest) :]
    learned = pd.DataFrame([row for row, _ in done])
    settled = pd.concat([s for _, s in done], ignore_index=True)
    settled = settled[settled["weeks"] == learn_weeks].reset_index(drop=True)
    sets = policy_sets(settled, end_of_drift(settled)) | long_sets(long)
    tasks = [(judged_run, st, seed, "status quo", None, h) for st, seed in groups for h in horizons]
    tasks += [(judged_run, st, seed, name, values, h) for (st, seed, name), values in sets.items() for h in horizons]
    judged = pd.DataFrame(run_in_processes(tasks, workers, "judged"))
    return learned, settled, judged, long


def policy_table(settled: pd.DataFrame, limit: pd.DataFrame) -> pd.DataFrame:
    """Per structure and variable: the mean settled policy of each regime over seeds, and in how many
    seeds it still moves."""
    frame = settled.assign(name=settled["role"] + "." + settled["variable"])
    mean = frame.pivot_table(index=["structure", "name"], columns="regime", values="value", sort=False)
    moving = frame.pivot_table(index=["structure", "name"], columns="regime", values="moved", aggfunc="sum")
    seeds = frame.groupby(["structure", "name"])["seed"].nunique()
    out = pd.DataFrame(index=mean.index)
    for regime in ("placebo_siloed", "placebo_shared", "shared", "siloed"):
        out[regime] = mean[regime]
        out[f"{regime}_moving"] = moving[regime].astype(int).astype(str) + "/" + seeds.astype(str)
    pinned = dict(zip(limit["role"] + "." + limit["variable"], limit["bound"], strict=True))
    out["siloed_end_of_drift"] = [pinned.get(name, np.nan) for _, name in out.index]
    return out.reset_index().rename(columns={"name": "variable"})


def learned_and_held(learned: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    """Learning and held runs in one frame: ``policy_set`` (a learned run's regime), ``how`` (learned, held)."""
    frames = [learned.rename(columns={"regime": "policy_set"}).assign(how="learned"), judged.assign(how="held")]
    return pd.concat(frames, ignore_index=True)


def value_table(learned: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    """Per structure, horizon and set: firm value, mean over seeds with its 95% t-interval (learned rows too)."""
    both = learned_and_held(learned, judged)
    rows = []
    for (structure, weeks, how, name), g in both.groupby(["structure", "weeks", "how", "policy_set"]):
        rows.append([structure, weeks, how, name, *mean_with_ci(g["firm_value"].to_numpy()), len(g)])
    cols = ["structure", "weeks", "how", "policies", "firm_value", "ci95_low", "ci95_high", "seeds"]
    return pd.DataFrame(rows, columns=cols)


def contrast_table(learned: pd.DataFrame, judged: pd.DataFrame, long_weeks: int = 0) -> pd.DataFrame:
    """Paired by seed: each contrast of regimes learned, held at the settled policies, with siloed at the
    end of its drift, and (``long_weeks`` > 0) with siloed held after its long learning."""
    learned_wide = learned.pivot_table(index=["structure", "weeks", "seed"], columns="regime", values="firm_value")
    held_wide = judged.pivot_table(index=["structure", "weeks", "seed"], columns="policy_set", values="firm_value")
    views = {
        "learned": learned_wide,
        "settled, siloed held": held_wide.rename(columns={"siloed, held": "siloed"}),
        "settled, siloed at the end of its drift": held_wide.rename(columns={"siloed, end of drift": "siloed"}),
    }
    if long_weeks:
        name = long_set_name(long_weeks)
        views[f"settled, siloed held after {long_weeks} weeks"] = held_wide.rename(columns={name: "siloed"})
    rows = []
    for view, wide in views.items():
        for (structure, weeks), g in wide.groupby(level=["structure", "weeks"]):
            for name, a, b in CONTRASTS:
                rows.append([structure, weeks, name, view, *mean_with_ci((g[a] - g[b]).to_numpy()), len(g)])
    cols = ["structure", "weeks", "contrast", "view", "usd", "ci95_low", "ci95_high", "seeds"]
    return pd.DataFrame(rows, columns=cols).sort_values(["structure", "weeks", "contrast"], kind="stable")


def settling_table(judged: pd.DataFrame, long_weeks: int) -> pd.DataFrame:
    """Has siloed learning settled by ``long_weeks``? Per structure and horizon, paired by seed: the firm
    value its last year of drift adds (held at the end minus held a year earlier), and the long end
    against siloed held at the study's end of learning and against the end-of-drift extrapolation."""
    wide = judged.pivot_table(index=["structure", "weeks", "seed"], columns="policy_set", values="firm_value")
    end = long_set_name(long_weeks)
    comparisons = (
        ("its last year of drift", long_set_name(long_weeks - YEAR)),
        ("beyond siloed held", "siloed, held"),
        ("against the end of drift", "siloed, end of drift"),
    )
    rows = []
    for (structure, weeks), g in wide.groupby(level=["structure", "weeks"]):
        for what, other in comparisons:
            rows.append([structure, weeks, what, *mean_with_ci((g[end] - g[other]).to_numpy()), len(g)])
    return pd.DataFrame(
        rows, columns=["structure", "weeks", "after_long_learning", "usd", "ci95_low", "ci95_high", "seeds"]
    )


def long_policy_table(settled: pd.DataFrame, long: pd.DataFrame, limit: pd.DataFrame) -> pd.DataFrame:
    """Per structure and variable: siloed's mean centre at the study's end of learning and after the long
    learning, the long run's last-year drift (policy units) and in how many seeds it still moves."""
    silo = settled[settled["regime"] == "siloed"].assign(name=lambda f: f["role"] + "." + f["variable"])
    frame = long.assign(name=long["role"] + "." + long["variable"], moved=long["moved"].astype(bool))
    by = frame.groupby(["structure", "name"], sort=False)
    out = pd.DataFrame({"at_end_of_learning": silo.groupby(["structure", "name"])["value"].mean()})
    out["after_long_learning"] = by["value"].mean()
    out["drift_last_year"] = by["drift"].mean()
    out["moving"] = by["moved"].sum().astype(int).astype(str) + "/" + by["seed"].nunique().astype(str)
    pinned = dict(zip(limit["role"] + "." + limit["variable"], limit["bound"], strict=True))
    out["end_of_drift"] = [pinned.get(name, np.nan) for _, name in out.index]
    return out.reset_index().rename(columns={"name": "variable"})


def direction_table(settled: pd.DataFrame) -> pd.DataFrame:
    """Per structure and variable: where siloed and shared learning end against the placebo on their
    own pay dates (policy units, paired by seed, 95% t-interval): the seed mechanisms' direction."""
    frame = settled.assign(name=settled["role"] + "." + settled["variable"])
    wide = frame.pivot_table(index=["structure", "name", "seed"], columns="regime", values="value")
    rows = []
    for (structure, name), g in wide.groupby(level=["structure", "name"], sort=False):
        row = [structure, name]
        for regime in ("siloed", "shared"):
            row += mean_with_ci((g[regime] - g[f"placebo_{regime}"]).to_numpy())
        rows.append(row)
    cols = ["structure", "variable", "siloed_minus_placebo", "siloed_ci95_low", "siloed_ci95_high"]
    return pd.DataFrame(rows, columns=[*cols, "shared_minus_placebo", "shared_ci95_low", "shared_ci95_high"])


def structure_table(learned: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    """Pods - assembly line per horizon and policies, learned and held (paired by seed)."""
    wide = learned_and_held(learned, judged).pivot_table(
        index=["weeks", "how", "policy_set", "seed"], columns="structure", values="firm_value"
    )
    rows = []
    for (weeks, how, name), g in wide.groupby(level=["weeks", "how", "policy_set"]):
        rows.append([weeks, how, name, *mean_with_ci((g["pod"] - g["assembly_line"]).to_numpy()), len(g)])
    return pd.DataFrame(rows, columns=["weeks", "how", "policies", "usd", "ci95_low", "ci95_high", "seeds"])


def _md(frame: pd.DataFrame) -> str:
    """USD columns in M USD, policies with three decimals, the rest as they are."""
    usd = {"firm_value", "usd", "ci95_low", "ci95_high"}

    def cell(column: str, value: object) -> str:
        if not isinstance(value, float):
            return str(value)
        if np.isnan(value):
            return ""
        if column in usd:
            return f"{value / 1e6:+.1f}M"
        signed = "minus" in column or "drift" in column or column.endswith(("_low", "_high"))
        return f"{value:+.4f}" if signed else f"{value:.3f}"

    rows = [[cell(c, v) for c, v in zip(frame.columns, row, strict=True)] for row in frame.itertuples(index=False)]
    return markdown_table([list(frame.columns), *rows])


def m(x: float) -> str:
    return f"{x / 1e6:+.0f}M"


def reading(
    settled: pd.DataFrame,
    contrasts: pd.DataFrame,
    limit: pd.DataFrame,
    long: pd.DataFrame,
    settling: pd.DataFrame | None = None,
) -> list[str]:
    """Plain sentences computed from the tables."""
    per_seed = settled.groupby(["structure", "regime", "seed"])["moved"].sum().groupby(level=[0, 1]).mean()
    chance = 0.05 * settled.groupby(["structure", "regime", "seed"]).size().iloc[0]
    counts = "; ".join(f"{st} {regime} {n:.1f}" for (st, regime), n in per_seed.items())
    lines = [f"- Variables still moving at the end of learning, mean per seed ({chance:.2f} by chance): {counts}."]
    pinned = ", ".join(f"{r.role}.{r.variable} -> {r.bound:g}" for r in limit.itertuples(index=False))
    lines.append(f"- Siloed at the end of its drift pins: {pinned or 'nothing'}; every other variable as held.")
    if len(long):
        weeks = int(long["weeks"].iloc[0])
        moving = long.assign(moved=long["moved"].astype(bool)).groupby(["structure", "seed"])["moved"].sum()
        counts = "; ".join(f"{st} {n:.1f}" for st, n in moving.groupby(level=0).mean().items())
        lines.append(f"- Siloed after {weeks} weeks of learning, variables still moving, mean per seed: {counts}.")
        for r in settling.itertuples(index=False):
            lines.append(
                f"- {r.structure}, {r.weeks} weeks, siloed held after {weeks} weeks of learning,"
                f" {r.after_long_learning}: {m(r.usd)} [{m(r.ci95_low)}, {m(r.ci95_high)}]."
            )
    for (structure, weeks, contrast), g in contrasts.groupby(["structure", "weeks", "contrast"], sort=False):
        parts = [f"{v.view} {m(v.usd)} [{m(v.ci95_low)}, {m(v.ci95_high)}]" for v in g.itertuples(index=False)]
        lines.append(f"- {structure}, {weeks} weeks, {contrast}: " + "; ".join(parts) + ".")
    return lines


def write(
    out: Path, learned: pd.DataFrame, settled: pd.DataFrame, judged: pd.DataFrame, long: pd.DataFrame, provenance: str
) -> None:
    """Every run (``*_runs.csv``, ``settled.csv``, ``long_settled.csv``), the tables as CSV and a README.md
    (written atomically)."""
    learn_weeks = int(settled["weeks"].iloc[0])
    long_weeks = int(long["weeks"].iloc[0]) if len(long) else 0
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "learning_runs.csv", learned.to_csv(index=False))
    atomic_write_text(out / "settled.csv", settled.to_csv(index=False))
    atomic_write_text(out / "judged_runs.csv", judged.to_csv(index=False))
    atomic_write_text(out / "long_settled.csv", long.to_csv(index=False))
    limit = end_of_drift(settled)
    policies, values, contrasts = (
        policy_table(settled, limit),
        value_table(learned, judged),
        contrast_table(learned, judged, long_weeks),
    )
    structures, directions = structure_table(learned, judged), direction_table(settled)
    tables = (("policies", policies), ("firm_value", values), ("contrasts", contrasts), ("structures", structures))
    tables += (("directions", directions),)
    settling, long_text = None, ""
    if long_weeks:
        settling, long_policies = settling_table(judged, long_weeks), long_policy_table(settled, long, limit)
        tables += (("settling", settling), ("long_policies", long_policies))
        long_text = (
            f"\n\n## 6. Has siloed learning settled after {long_weeks} weeks?\n\n"
            f"Siloed learns on for {long_weeks} weeks from the status quo (same seeds). Where its mean centres"
            f" are then, against where they are after {learn_weeks} weeks and the end-of-drift bounds; the"
            f" drift over its last year (policy units) and the seeds in which it is still beyond the noise"
            " band:\n\n" + _md(long_policies) + "\n\n"
            f"Firm value, paired by seed: siloed held (learning off, from week 0) at its policies after"
            f" {long_weeks} weeks minus the same a year earlier (what its last year of drift is worth), minus"
            f" siloed held after {learn_weeks} weeks, and minus siloed at the end of its drift.\n\n" + _md(settling)
        )
    for name, frame in tables:
        atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))
    text = (
        f"# Each KPI regime judged at the policies its learning settles on (learning {learn_weeks} weeks)\n\n"
        f"Produced by {provenance}. Default parameters, every cell starting from the status quo's learned"
        " policies; replicate r uses the seed of replicate r in `results/structure_x_kpi_10y`, paired across"
        " every run. Method: module docstring of `alignsim.experiments.settled_policies`. Firm value in USD"
        " (M = 10^6); intervals are 95% t-intervals of the mean over seeds.\n\n"
        "## Reading (computed from the tables below)\n\n"
        + "\n".join(reading(settled, contrasts, limit, long, settling))
        + "\n\n"
        f"## 1. Where each regime's policies settle (after {learn_weeks} weeks of learning)\n\n"
        "Mean policy centre over seeds; `*_moving`: seeds in which the variable still moves beyond the"
        " noise band over the last year (5% of seeds expected by chance); `siloed_end_of_drift`: the bound"
        f" a variable is put at when siloed learning still moves it in at least {DRIFTING_SHARE:.0%} of"
        " the seeds of every structure.\n\n" + _md(policies) + "\n\n"
        "## 2. Firm value: learned, and held at the settled policies from week 0\n\n"
        "`learned`: the cell learning over the horizon (from the status quo); `held`: learning off, the"
        " set's policies from week 0.\n\n" + _md(values) + "\n\n"
        "## 3. The regimes compared: learned, and settled (paired by seed)\n\n" + _md(contrasts) + "\n\n"
        "## 4. Pods - assembly line, learned and held at each settled policy set (paired by seed)\n\n"
        + _md(structures)
        + "\n\n## 5. Where each regime moves each variable, against the placebo on its own pay dates\n\n"
        f"End policy centre after {learn_weeks} weeks minus the placebo's (policy units), paired by seed,"
        " with its 95% t-interval.\n\n" + _md(directions) + long_text + "\n"
    )
    atomic_write_text(out / "README.md", text)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int_at_least(2), default=10, help="paired seeds (replicates 0..N-1)")
    parser.add_argument(
        "--learn-weeks", type=int_at_least(104), default=LEARN_WEEKS, help="length of the learning runs"
    )
    parser.add_argument(
        "--long-learn-weeks",
        type=int_at_least(0),
        default=LONG_LEARN_WEEKS,
        help="siloed learning read again after this many weeks (0: not run)",
    )
    parser.add_argument("--weeks", type=int_list(26, "260,520"), default=WEEKS, help="judging horizons, e.g. 260,520")
    parser.add_argument("--workers", type=int_at_least(1), default=2)
    parser.add_argument("--out", default="results/settled_policies")
    parser.add_argument("--from-runs", action="store_true", help="rebuild the tables from OUT's run files")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.from_runs:
        try:
            files = ("learning_runs.csv", "settled.csv", "judged_runs.csv", "long_settled.csv")
            (learned, settled, judged, long), stated = stored_runs(out, files, ". Default parameters, ")
            rebuild_from_runs(out, lambda folder: write(folder, learned, settled, judged, long, stated))
        except UserError as exc:
            parser.error(str(exc))
        print(out / "README.md")
        return 0
    lengths = {"--learn-weeks": ("weeks", (args.learn_weeks,)), "--weeks": ("weeks", args.weeks)}
    if args.long_learn_weeks:
        lengths["--long-learn-weeks"] = ("weeks", (args.long_learn_weeks,))
    check_study_options(parser, out, params=lengths)
    if args.long_learn_weeks and args.long_learn_weeks <= args.learn_weeks:
        parser.error(
            f"argument --long-learn-weeks: got {args.long_learn_weeks}; allowed: 0 (none) or more than"
            f" --learn-weeks ({args.learn_weeks})"
        )
    learned, settled, judged, long = measure(
        args.seeds, args.workers, args.learn_weeks, args.weeks, args.long_learn_weeks
    )
    command = (
        f"python -m alignsim.experiments.settled_policies --seeds {args.seeds} --learn-weeks {args.learn_weeks}"
        f" --long-learn-weeks {args.long_learn_weeks} --weeks {','.join(map(str, args.weeks))}"
        f" --workers {args.workers}" + ("" if args.out == "results/settled_policies" else f" --out {args.out}")
    )
    write(out, learned, settled, judged, long, provenance_line(command))
    print(out / "README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
