"""Does the shared reward carry the gradient of firm value, and how strongly? (issue 10, part 2)

``python -m alignsim.experiments.shared_signal [--seeds N] [--workers W] [--out DIR]`` measures,
at the default parameters, with paired seeds and the status-quo start:

1. **Where firm value points** (``gradient.csv``): with fixed policies (learning off) at the
   status quo's learned policies, the change in firm value (USD, 260 weeks) when a whole role
   moves one decision variable by +0.1 policy units (central difference over +-0.1, clipped at the
   bounds), mean over seeds with its standard error.
2. **What each reward says** (``signal.csv``): the correlation of the learner's standardised
   advantage with its perturbation over every paid (agent, pair), per seed
   (:meth:`GTMModel.learning_diagnostics`), for the siloed KPI, the shared KPI and the placebo
   learner (noise on the shared schedule: the negative control); mean over seeds with a 95%
   t-interval of that mean (over seeds). The learner's expected step along a variable is
   ``learning_rate x corr`` logit units per learned pair, so ``corr`` is the learning speed a
   reward allows, in units of the fastest possible.
3. **What a later shared reward costs** (``horizon.csv``): for each ``shared_reward_horizon_weeks``,
   the shared signal, the shared payments an agent learned from in the run (pairs paid), and the
   policy the reward taught minus the placebo's (paired by seed) at the end.
4. **What limits the shared signal** (``limits.csv``): the shared cell at the default horizon
   again, with one suspected cause changed at a time (:data:`LIMIT_VARIANTS`): fewer or more people
   sharing one number (``n_pods`` 4 or 1 in pods: teams of 6-8 or 28 at week 0 instead of 14), and no
   hiring (``hiring = "fixed"``: no staff growth and no hire changing the per-head denominator
   between the two halves of a pair). Per variant, the *aligned signal*: per seed, the mean over
   the variables whose firm-value gradient (section 1, default parameters) exceeds 2 SE of
   ``corr x sign(gradient)``, so +1 is a reward that always points where firm value does and 0 one
   that carries nothing; with its 95% t-interval over seeds, beside the same index for the
   placebo learner on the same variant (its negative control).

Writes the CSVs and a README.md with the tables, the command and provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alignsim.experiments.argparsing import int_at_least
from alignsim.experiments.errors import UserError
from alignsim.experiments.fileio import atomic_write_text
from alignsim.experiments.report import markdown_table
from alignsim.experiments.stats import mean_ci, paired_diff
from alignsim.experiments.studies import (
    check_study_options,
    provenance_line,
    rebuild_from_runs,
    run_in_processes,
    stored_runs,
    study_parser,
)
from alignsim.model.params import DEFAULTS

if TYPE_CHECKING:
    from alignsim.model import GTMModel

STRUCTURES = ("assembly_line", "pod")
HORIZONS_WEEKS = (13, 26, 52, 78, 156)
DEFAULT_HORIZON = DEFAULTS["shared_reward_horizon_weeks"]
STEP = 0.1  # policy units of the finite difference
WEEKS = 260
#: section 4: (structure, variant) -> parameters changed from the default shared cell; "as is" reuses section 2's runs
LIMIT_VARIANTS = {
    ("assembly_line", "no hiring"): {"hiring": "fixed"},
    ("pod", "no hiring"): {"hiring": "fixed"},
    ("pod", "one pod"): {"n_pods": 1},
    ("pod", "four pods"): {"n_pods": 4},
}
#: people who share one shared KPI at week 0 (all four roles), per section-4 variant
TEAM_AT_START = {
    ("assembly_line", "as is"): "28",
    ("assembly_line", "no hiring"): "28",
    ("pod", "as is"): "14",
    ("pod", "no hiring"): "14",
    ("pod", "one pod"): "28",
    ("pod", "four pods"): "6-8",
}


def signal_run(structure: str, kpi: str, learning: str, seed: int, horizon: int) -> pd.DataFrame:
    """learning_diagnostics() of one run, with the paid part's corr and count and the end policy."""
    from alignsim.model import GTMModel

    model = GTMModel(
        structure, kpi, seed=seed, learning=learning, weeks=WEEKS, shared_reward_horizon_weeks=horizon
    ).run()
    return _signal_frame(model, structure, kpi, learning, seed, {"horizon_weeks": horizon})


def limit_run(structure: str, variant: str, learning: str, seed: int) -> pd.DataFrame:
    """Section 4: the shared cell with :data:`LIMIT_VARIANTS` ``(structure, variant)``'s parameters."""
    from alignsim.model import GTMModel

    changed = LIMIT_VARIANTS[(structure, variant)]
    model = GTMModel(structure, "shared", seed=seed, learning=learning, weeks=WEEKS, **changed).run()
    return _signal_frame(model, structure, "shared", learning, seed, {"variant": variant})


def _signal_frame(model: GTMModel, structure: str, kpi: str, learning: str, seed: int, tag: dict) -> pd.DataFrame:
    diag = model.learning_diagnostics().reset_index()
    part = "siloed" if kpi == "siloed" else "shared"
    return pd.DataFrame(
        {
            "structure": structure,
            "kpi": kpi,
            "learning": learning,
            **tag,
            "seed": seed,
            "role": diag["role"],
            "variable": diag["variable"],
            "corr": diag[f"corr_{part}"],
            "paid": diag[f"n_{part}"],
            "policy": diag["policy"],
        }
    )


def gradient_run(structure: str, seed: int, role: str, variable: str, sign: int) -> tuple:
    """Firm value with fixed status-quo policies and ``role.variable`` moved by ``sign`` x STEP (clipped).

    With learning off the model starts from the status quo's learned policies (``start_policy``).
    """
    from alignsim.model import GTMModel
    from alignsim.model.model import status_quo_policies

    model = GTMModel(structure, "siloed", seed=seed, learning="off", weeks=WEEKS)
    learner = model.roster(role).learner
    j = learner.names.index(variable)
    start = status_quo_policies(seed, model.p)[role][variable]  # the cached run the model started from
    value = float(np.clip(start + sign * STEP, learner.low[j], learner.high[j]))
    model.set_policy(role, variable, value)
    return structure, seed, role, variable, sign, value, model.run().summary()["firm_value"]


def measure(seeds: int, gradient_seeds: int, workers: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """All runs: the signal/horizon frame (one row per run, role, variable), the gradient frame and the
    section-4 frame (one row per run, role, variable, with its ``variant``)."""
    from alignsim.agents import ROLES

    tasks: list[tuple] = []
    for structure in STRUCTURES:
        for seed in range(seeds):
            tasks.append((signal_run, structure, "siloed", "reward", seed, DEFAULT_HORIZON))
            for horizon in HORIZONS_WEEKS:
                for learning in ("reward", "placebo"):
                    tasks.append((signal_run, structure, "shared", learning, seed, horizon))
        for seed in range(gradient_seeds):
            for cls in ROLES:
                for variable in cls.POLICY:
                    for sign in (1, -1):
                        tasks.append((gradient_run, structure, seed, cls.role, variable, sign))
    for structure, variant in LIMIT_VARIANTS:
        for seed in range(seeds):
            for learning in ("reward", "placebo"):
                tasks.append((limit_run, structure, variant, learning, seed))
    results = run_in_processes(tasks, workers, "shared signal")
    frames = [r for r in results if isinstance(r, pd.DataFrame)]
    signal = pd.concat([f for f in frames if "variant" not in f], ignore_index=True)
    limits = pd.concat([f for f in frames if "variant" in f], ignore_index=True)
    cols = ["structure", "seed", "role", "variable", "sign", "value", "firm_value"]
    grad = pd.DataFrame([r for r in results if isinstance(r, tuple)], columns=cols)
    return signal, grad, limits


def gradient_table(grad: pd.DataFrame) -> pd.DataFrame:
    """Firm value change per +0.1 of a whole role's variable, USD: mean and SE over seeds."""
    wide = grad.pivot_table(
        index=["structure", "role", "variable", "seed"], columns="sign", values=["value", "firm_value"]
    )
    per_seed = (wide["firm_value"][1] - wide["firm_value"][-1]) / (wide["value"][1] - wide["value"][-1]) * STEP
    g = per_seed.groupby(level=["structure", "role", "variable"], sort=False)
    return pd.DataFrame({"dfv_per_step_usd": g.mean(), "se_usd": g.std(ddof=1) / np.sqrt(g.size())}).reset_index()


def signal_table(signal: pd.DataFrame) -> pd.DataFrame:
    """Mean corr over seeds with its 95% t-interval, per structure, reward and variable (default horizon)."""
    rows = []
    at_default = signal[signal["horizon_weeks"] == DEFAULT_HORIZON]
    for (structure, kpi, learning, role, variable), g in at_default.groupby(
        ["structure", "kpi", "learning", "role", "variable"], sort=False
    ):
        c = mean_ci(g["corr"])
        reward = "placebo (shared schedule)" if learning == "placebo" else f"{kpi} KPI"
        rows.append([structure, reward, role, variable, c.mean, c.ci_low, c.ci_high, g["paid"].mean(), len(g)])
    cols = ["structure", "reward", "role", "variable", "corr", "ci95_low", "ci95_high", "paid_per_run", "seeds"]
    return pd.DataFrame(rows, columns=cols)


def horizon_table(signal: pd.DataFrame) -> pd.DataFrame:
    """Per horizon: shared corr (mean, CI), pairs paid per agent, and reward - placebo end policy (paired)."""
    shared = signal[signal["kpi"] == "shared"]
    key = ["structure", "horizon_weeks", "seed", "role", "variable"]
    wide = shared.pivot_table(index=key, columns="learning", values=["corr", "policy", "paid"])
    rows = []
    for (structure, horizon, role, variable), g in wide.groupby(level=[0, 1, 3, 4], sort=False):
        c = mean_ci(g[("corr", "reward")])
        d = paired_diff(g[("policy", "placebo")].to_numpy(), g[("policy", "reward")].to_numpy())
        paid = g[("paid", "reward")].mean()
        rows.append(
            [structure, horizon, role, variable, c.mean, c.ci_low, c.ci_high, paid, d.mean_diff, d.ci_low, d.ci_high]
        )
    cols = [
        "structure",
        "horizon_weeks",
        "role",
        "variable",
        "corr",
        "ci95_low",
        "ci95_high",
        "paid_per_run",
        "policy_minus_placebo",
        "diff_ci95_low",
        "diff_ci95_high",
    ]
    return pd.DataFrame(rows, columns=cols)


def limits_table(signal: pd.DataFrame, limits: pd.DataFrame, grad: pd.DataFrame) -> pd.DataFrame:
    """Section 4: the aligned signal (mean of corr x sign of firm value's gradient) per structure and variant.

    Per seed, the mean over the variables whose gradient (section 1) exceeds 2 SE; then the mean over
    seeds with its 95% t-interval, for the shared reward and for the placebo learner on the same variant.
    """
    g = gradient_table(grad)
    g = g[g["dfv_per_step_usd"].abs() > 2 * g["se_usd"]]
    direction = {(r.structure, r.role, r.variable): np.sign(r.dfv_per_step_usd) for r in g.itertuples(index=False)}
    as_is = signal[(signal["kpi"] == "shared") & (signal["horizon_weeks"] == DEFAULT_HORIZON)]
    runs = pd.concat([as_is.drop(columns="horizon_weeks").assign(variant="as is"), limits], ignore_index=True)
    keys = list(zip(runs["structure"], runs["role"], runs["variable"], strict=True))
    runs = runs.assign(sign=[direction.get(k, np.nan) for k in keys]).dropna(subset=["sign"])
    runs = runs.assign(aligned=runs["corr"] * runs["sign"])
    per_seed = runs.groupby(["structure", "variant", "learning", "seed"], sort=False)["aligned"].mean()
    rows = []
    for (structure, variant), by in per_seed.groupby(level=["structure", "variant"], sort=False):
        cells = [structure, variant, TEAM_AT_START[(structure, variant)]]
        cells.append(sum(1 for s, _, _ in direction if s == structure))  # the variables averaged
        for learning in ("reward", "placebo"):
            c = mean_ci(by.xs(learning, level="learning"))
            cells += [c.mean, c.ci_low, c.ci_high]
        rows.append([*cells, by.xs("reward", level="learning").size])
    cols = ["structure", "variant", "team_at_week_0", "variables", "aligned_signal", "ci95_low", "ci95_high"]
    cols += ["placebo", "placebo_ci95_low", "placebo_ci95_high", "seeds"]
    return pd.DataFrame(rows, columns=cols)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value / 1e6:+.1f}M" if abs(value) >= 1e5 else f"{value:.3f}"
    return str(value)


def _md(frame: pd.DataFrame) -> str:
    def cell(column: str, value: object) -> str:
        return _fmt(value).lstrip("+") if column.startswith("se") else _fmt(value)

    rows = [[cell(c, v) for c, v in zip(frame.columns, row, strict=True)] for row in frame.itertuples(index=False)]
    return markdown_table([list(frame.columns), *rows])


def reading(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Plain sentences computed from the tables: where firm value points, and whether the shared KPI says so."""
    grad, sig, hor = tables["gradient"], tables["signal"], tables["horizon"]
    by_reward = sig.set_index(["reward", "structure", "role", "variable"])["corr"]
    shared = sig[sig["reward"] == "shared KPI"].set_index(["structure", "role", "variable"])
    lines = []
    for row in grad.itertuples(index=False):
        if abs(row.dfv_per_step_usd) <= 2 * row.se_usd:
            continue  # firm value does not point anywhere detectable: nothing for a reward to carry
        key = (row.structure, row.role, row.variable)
        s = shared.loc[key]
        wants = "up" if row.dfv_per_step_usd > 0 else "down"
        detected = s["ci95_low"] > 0 or s["ci95_high"] < 0
        if detected:
            agrees = (s["corr"] > 0) == (row.dfv_per_step_usd > 0)
            verdict = f"the shared KPI carries a signal that {'agrees' if agrees else 'disagrees'}"
        else:
            verdict = "no shared-KPI signal detectable"
        lines.append(
            f"- {row.structure}, {row.role}.{row.variable}: firm value wants it {wants}"
            f" ({row.dfv_per_step_usd / 1e6:+.1f}M USD per +0.1, SE {row.se_usd / 1e6:.1f}M); {verdict}"
            f" (corr {s['corr']:+.3f} [{s['ci95_low']:+.3f}, {s['ci95_high']:+.3f}], siloed KPI"
            f" {by_reward[('siloed KPI', *key)]:+.3f})."
        )
        if detected:
            h = hor[(hor["structure"] == row.structure) & (hor["role"] == row.role) & (hor["variable"] == row.variable)]
            by_horizon = ", ".join(
                f"{w} weeks {c:+.3f} x {n:.0f} = {c * n:+.1f}"
                for w, c, n in zip(h["horizon_weeks"], h["corr"], h["paid_per_run"], strict=True)
            )
            lines.append(
                "  Signal delivered in the run (corr x payments: the expected learning step summed over the"
                f" run's (agent, pair) payments, in units of learning_rate) by horizon: {by_horizon}."
            )
    return lines


def limits_reading(limits: pd.DataFrame) -> list[str]:
    """Plain sentences: does each counterfactual move the aligned signal beyond its interval as is?"""
    lines = []
    for structure, by in limits.groupby("structure", sort=False):
        base = by[by["variant"] == "as is"].iloc[0]
        for row in by[by["variant"] != "as is"].itertuples(index=False):
            apart = row.ci95_low > base.ci95_high or row.ci95_high < base.ci95_low
            verdict = "outside" if apart else "inside or overlapping"
            lines.append(
                f"- {structure}, {row.variant} (team of {row.team_at_week_0} at week 0): aligned signal"
                f" {row.aligned_signal:+.3f} [{row.ci95_low:+.3f}, {row.ci95_high:+.3f}] against"
                f" {base.aligned_signal:+.3f} [{base.ci95_low:+.3f}, {base.ci95_high:+.3f}] as is"
                f" (team of {base.team_at_week_0}): {verdict} its interval; placebo {row.placebo:+.3f}."
            )
    return lines


def write(out: Path, signal: pd.DataFrame, grad: pd.DataFrame, limits: pd.DataFrame, provenance: str) -> None:
    """Every run (``*_runs.csv``), the four tables as CSV and a README.md (each file written atomically).

    ``provenance``: the command, versions and git commit the runs were computed with.
    """
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "signal_runs.csv", signal.to_csv(index=False))
    atomic_write_text(out / "gradient_runs.csv", grad.to_csv(index=False))
    atomic_write_text(out / "limits_runs.csv", limits.to_csv(index=False))
    tables = {
        "gradient": gradient_table(grad),
        "signal": signal_table(signal),
        "horizon": horizon_table(signal),
        "limits": limits_table(signal, limits, grad),
    }
    for name, frame in tables.items():
        atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))
    text = (
        "# Does the shared reward carry the gradient of firm value?\n\n"
        f"Produced by {provenance}. Default parameters, 260 weeks,"
        " every cell starting from the status quo's learned policies; seeds paired across cells."
        " Method: module docstring of `alignsim.experiments.shared_signal`.\n\n"
        "## Reading (computed from the tables below)\n\n"
        "Every decision variable whose fixed-policy firm-value change exceeds 2 SE:\n\n"
        + "\n".join(reading(tables))
        + "\n\n"
        "## 1. Where firm value points (fixed policies)\n\n"
        "`dfv_per_step_usd`: firm value change when every agent of the role moves the variable by +0.1"
        " (policy units) from the status quo's learned policy, learning off; mean over seeds, `se_usd` its"
        " standard error.\n\n" + _md(tables["gradient"]) + "\n\n"
        "## 2. What each reward says (default horizon, 78 weeks)\n\n"
        "`corr`: correlation of the standardised advantage with the perturbation over every paid (agent,"
        " pair) of one run, mean over seeds, with the 95% t-interval of that mean (over seeds). The learner's"
        " expected step is `learning_rate x corr` logit units per learned pair. `paid_per_run`: (agent, pair)"
        " payments per run.\n\n" + _md(tables["signal"]) + "\n\n"
        "## 3. What a later shared reward costs\n\n"
        "Shared KPI, per `shared_reward_horizon_weeks`: the signal as above, the payments received in the run,"
        " and the end policy the reward taught minus the placebo learner's on the same schedule (paired by"
        " seed; mean, 95% t-interval).\n\n" + _md(tables["horizon"]) + "\n\n"
        "## 4. What limits the shared signal (counterfactuals)\n\n"
        "The shared cell at the default horizon with one suspected cause changed at a time: fewer or more"
        ' people sharing one number (pods: `n_pods` 4 or 1 instead of 2), or no hiring (`hiring = "fixed"`:'
        " no staff growth, no hire changing the per-head denominator between a pair's halves)."
        " `aligned_signal`: per seed, the mean over the `variables` whose firm-value gradient (section 1)"
        " exceeds 2 SE of corr x sign(gradient) (+1: the reward always points where firm value does; 0: it"
        " carries nothing), then the mean over seeds with its 95% t-interval; `placebo`: the same index for"
        " the placebo learner on the same variant. The gradient's sign is section 1's, at the default"
        " parameters.\n\n" + _md(tables["limits"]) + "\n\n" + "\n".join(limits_reading(tables["limits"])) + "\n"
    )
    atomic_write_text(out / "README.md", text)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int_at_least(2), default=16, help="paired seeds, signal and horizon runs")
    parser.add_argument("--gradient-seeds", type=int_at_least(2), default=6, help="paired seeds, firm-value gradient")
    parser.add_argument("--workers", type=int_at_least(1), default=2)
    parser.add_argument("--out", default="results/shared_signal")
    parser.add_argument("--from-runs", action="store_true", help="rebuild the tables from OUT's *_runs.csv")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.from_runs:
        try:
            (signal, grad, limits), stated = stored_runs(
                out, ("signal_runs.csv", "gradient_runs.csv", "limits_runs.csv"), ". Default parameters"
            )
            rebuild_from_runs(out, lambda folder: write(folder, signal, grad, limits, stated))
        except UserError as exc:
            parser.error(str(exc))
        print(out / "README.md")
        return 0
    check_study_options(parser, out)
    signal, grad, limits = measure(args.seeds, args.gradient_seeds, args.workers)
    command = (
        "python -m alignsim.experiments.shared_signal"
        f" --seeds {args.seeds} --gradient-seeds {args.gradient_seeds} --workers {args.workers}"
    )
    write(out, signal, grad, limits, provenance_line(command))
    print(Path(args.out) / "README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
