"""Issue 10: ``alignsim compare`` shows the fixed-policy and placebo baselines beside siloed and shared.

Tiny runs only (<= 60 weeks, 2-3 replicates): what is tested is the design, the pairing and the output,
not the size of any effect.
"""

from __future__ import annotations

import contextlib
import io
import math
import re

import pandas as pd
import pytest

from alignsim.experiments import stats
from alignsim.experiments.cli import main
from alignsim.experiments.errors import UserError
from alignsim.experiments.report import _significance, baseline_lines, cell_labels
from alignsim.experiments.runner import run_sweep
from alignsim.experiments.spec import load_spec, parse_spec
from alignsim.experiments.tables import BASELINES, Experiment, baseline_pairs, fmt_ci

STRUCTURES = ("assembly_line", "pod")
ROWS = ("fixed policy", "placebo (siloed schedule)", "placebo (shared schedule)", "siloed", "shared")
LEARNED = [(s, k) for s in STRUCTURES for k in ("siloed", "shared")]
REPS, WEEKS = 3, 60


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """(output folder, printed stdout) of one tiny ``alignsim compare``."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    argv = ["compare", "--reps", str(REPS), "--weeks", str(WEEKS), "--seed", "3", "--out", str(out)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([*argv, "--workers", "2", "--no-progress"]) == 0
    return out, printed.getvalue()


# --- the design -------------------------------------------------------------------------------------
def test_compare_design_has_baseline_cells_with_the_main_cells_seeds(compared):
    out, _ = compared
    runs = pd.read_csv(out / "runs.csv")
    cells = runs[["structure", "learning", "kpi"]].drop_duplicates().apply(tuple, axis=1).tolist()
    expected = []
    for s in STRUCTURES:
        expected += [(s, "off", "siloed"), (s, "placebo", "siloed"), (s, "placebo", "shared")]
        expected += [(s, "reward", "siloed"), (s, "reward", "shared")]
    assert cells == expected  # the fixed policy once per structure, in the printed row order
    assert len(runs) == len(expected) * REPS
    # common random numbers: replicate r has one seed in every cell, baselines included
    seeds = runs.pivot_table(index="replicate", columns="cell", values="seed", aggfunc="first")
    assert seeds.shape == (REPS, len(expected))
    assert seeds.nunique(axis=1).eq(1).all()
    assert seeds.iloc[:, 0].nunique() == REPS
    spec = load_spec("structure_x_kpi", overrides={"replicates": REPS, "root_seed": 3})
    assert list(seeds.iloc[:, 0]) == [spec.seed(r) for r in range(REPS)]


def test_the_preset_spec_runs_the_fixed_policy_once_per_structure():
    spec = load_spec("structure_x_kpi")
    assert len(spec.cells) == 10
    assert [c["learning"] for c in spec.cells].count("off") == 2
    assert all(c["kpi"] == "siloed" for c in spec.cells if c["learning"] == "off")
    assert all(p["learning"] == c["learning"] for p, c in zip(spec.cell_params, spec.cells, strict=True))
    baseline = load_spec("baseline_fixed_policy")
    assert {p["learning"] for p in baseline.cell_params} == {"off"}


@pytest.fixture(scope="module")
def factorial(tmp_path_factory):
    """The full structure x learning x KPI factorial (off under both KPIs), 2 replicates of 30 weeks."""
    spec = parse_spec(
        {
            "name": "factorial",
            "replicates": 2,
            "weeks": 30,
            "timeseries_every_weeks": 0,
            "factors": {
                "structure": list(STRUCTURES),
                "learning": ["off", "placebo", "reward"],
                "kpi": ["siloed", "shared"],
            },
        }
    )
    out = tmp_path_factory.mktemp("factorial") / "f"
    run_sweep(spec, out, workers=2, progress=False)
    return Experiment(out)


def test_fixed_policy_under_siloed_and_shared_gives_identical_results(factorial):
    # why compare may run the fixed policy once: under learning = "off" the KPI changes nothing
    exp = factorial
    for s in STRUCTURES:
        a = exp.find_cell(structure=s, learning="off", kpi="siloed")
        b = exp.find_cell(structure=s, learning="off", kpi="shared")
        learned = exp.find_cell(structure=s, learning="reward", kpi="siloed")
        for metric in exp.metrics:
            x, y = exp.paired(a, b, metric)
            assert len(x) == 2
            assert x.tolist() == y.tolist() or all(math.isnan(u) and math.isnan(v) for u, v in zip(x, y, strict=True))
        assert exp.paired(a, learned, "firm_value")[0].tolist() != exp.paired(a, learned, "firm_value")[1].tolist()


def test_full_factorial_pairs_each_learned_cell_with_the_fixed_policy_of_its_own_kpi(factorial):
    exp = factorial
    pairs = {
        (exp.cells[b]["structure"], exp.cells[b]["kpi"], exp.cells[a]["learning"]): exp.cells[a]
        for a, b in baseline_pairs(exp)
    }
    assert len(pairs) == 8
    for (s, k, mode), baseline in pairs.items():
        assert baseline == {"structure": s, "learning": mode, "kpi": k}
    labels = cell_labels(exp)
    assert "pod / fixed policy (shared)" in labels and "pod / fixed policy (siloed)" in labels


# --- the printed table ------------------------------------------------------------------------------
def table_rows(printed: str) -> list[list[str]]:
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("cell "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return [re.split(r"\s{2,}", lines[start].strip()), *rows]


def test_printed_table_has_fixed_policy_and_placebo_rows_per_structure(compared):
    out, printed = compared
    header, *rows = table_rows(printed)
    assert header[:3] == ["cell", "n", "firm_value (USD)"]
    for metric in ("arr", "ltv_cohort", "logo_churn_standardised", "payback_months", "nrr"):
        assert any(h.startswith(metric) for h in header), metric
    assert "mean [95% CI of the mean, Student t]" in printed
    assert [r[0] for r in rows] == [f"{s} / {row}" for s in STRUCTURES for row in ROWS]
    # each row's firm value is the mean [95% CI] of its own cell's runs
    runs = pd.read_csv(out / "runs.csv")
    for i, row in enumerate(rows):
        assert row[1] == str(REPS)
        ci = stats.mean_ci(runs.loc[runs["cell"] == i, "firm_value"].to_numpy())
        assert row[2] == fmt_ci(ci.mean, ci.ci_low, ci.ci_high)


# --- the paired differences -------------------------------------------------------------------------
def test_effects_include_every_learned_cell_minus_its_placebo_and_fixed_policy(compared):
    out, printed = compared
    runs = pd.read_csv(out / "runs.csv").set_index(["structure", "learning", "kpi", "replicate"])
    runs = runs.sort_index()["firm_value"]
    effects = printed.split("paired differences", 1)[1]
    assert (
        "95% CI" in effects and "interaction" in effects and "firm_value (learned cells): pod-assembly_line" in effects
    )
    for s, k in LEARNED:
        for base, label in (((s, "placebo", k), f"placebo ({k} schedule)"), ((s, "off", "siloed"), "fixed policy")):
            diff = runs.loc[(s, "reward", k)] - runs.loc[base]
            ci = stats.mean_ci(diff.to_numpy())
            text = f"{s} / {k} - {s} / {label} {fmt_ci(ci.mean, ci.ci_low, ci.ci_high)} (CI"
            assert text in effects, text
    fixed = runs.loc[("pod", "off", "siloed")] - runs.loc[("assembly_line", "off", "siloed")]
    ci = stats.mean_ci(fixed.to_numpy())
    assert f"pod / fixed policy - assembly_line / fixed policy {fmt_ci(ci.mean, ci.ci_low, ci.ci_high)}" in effects


def test_words_say_which_differences_are_significant(compared):
    out, printed = compared
    (words,) = [line for line in printed.splitlines() if "firm_value in words" in line]
    frame = pd.read_csv(out / BASELINES)
    frame = frame[frame["metric"] == "firm_value"]
    assert len(frame) == 8
    labels = cell_labels(Experiment(out))
    parts = dict(part.split(": ", 1) for part in words.split("excludes 0): ", 1)[1].split("; "))
    for _, row in frame.iterrows():
        pair = f"{labels[row['cell_b']]} vs {labels[row['cell_a']]}"
        low, high = row["diff_ci95_t_low"], row["diff_ci95_t_high"]
        where = (
            "significantly above its baseline"
            if low > 0
            else "significantly below its baseline"
            if high < 0
            else "not significantly different"
        )
        assert pair in parts[where].split(", "), (pair, where, words)


def test_significance_is_whether_the_ci_excludes_zero():
    def diff(low, high):
        return stats.PairedDiff(3, (low + high) / 2, low, high, 1.0, 0.5, 0.1, 0.0, 0.0)

    assert _significance(diff(1.0, 2.0)) == "above"
    assert _significance(diff(-2.0, -1.0)) == "below"
    assert _significance(diff(-1.0, 2.0)) == "not"
    assert _significance(diff(0.0, 0.0)) == "not"
    assert _significance(diff(math.nan, math.nan)) == ""


def test_no_baseline_lines_without_a_learning_factor(tmp_path):
    spec = parse_spec(
        {
            "name": "plain",
            "replicates": 2,
            "weeks": 8,
            "timeseries_every_weeks": 0,
            "factors": {"structure": list(STRUCTURES)},
        }
    )
    run_sweep(spec, tmp_path / "p", workers=1, progress=False)
    exp = Experiment(tmp_path / "p")
    assert baseline_pairs(exp) == [] and baseline_lines(exp) == []
    assert not (tmp_path / "p" / BASELINES).exists()
    assert cell_labels(exp) == ["assembly_line", "pod"]


@pytest.mark.parametrize("item", ["learning=off", "adaptive=false"])
def test_compare_refuses_a_set_of_the_learning_mode(tmp_path, capsys, item):
    assert main(["compare", "--set", item, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "option --set" in err[0] and "every learning mode" in err[0]
    assert not (tmp_path / "o").exists()


def test_compare_draws_its_charts(compared):
    out, _ = compared
    assert (out / "charts" / "structure_x_kpi.png").exists()


# --- the spec's [[exclude]] ---------------------------------------------------------------------------
def _spec(**extra):
    raw = {
        "name": "t",
        "replicates": 2,
        "weeks": 8,
        "factors": {"structure": list(STRUCTURES), "learning": ["off", "reward"], "kpi": ["siloed", "shared"]},
    }
    return parse_spec({**raw, **extra})


def test_exclude_drops_matching_cells_and_changes_the_hash():
    full = _spec()
    spec = _spec(exclude=[{"learning": "off", "kpi": "shared"}])
    assert len(full.cells) == 8 and len(spec.cells) == 6
    assert {"learning": "off", "kpi": "shared"} not in [{k: c[k] for k in ("learning", "kpi")} for c in spec.cells]
    assert [c for c in full.cells if not (c["learning"] == "off" and c["kpi"] == "shared")] == spec.cells
    assert spec.hash() != full.hash()
    assert [p["kpi"] for p in spec.cell_params] == [c["kpi"] for c in spec.cells]
    two = _spec(exclude=[{"learning": "off", "kpi": "shared"}, {"structure": "pod", "learning": "off"}])
    assert len(two.cells) == 5


@pytest.mark.parametrize(
    ("exclude", "needle"),
    [
        ({"learning": "off"}, "allowed: a non-empty list of tables"),
        ([{}], "allowed: a non-empty table"),
        ([{"n_pods": 3}], "unknown factor 'n_pods'"),
        ([{"learning": "placebo"}], "learning = 'placebo' is not a level"),
        ([{"learning": "sometimes"}], "'learning'"),
        ([{"learning": "off"}, {"learning": "reward"}], "leaves no cell"),
    ],
)
def test_bad_exclude_is_one_user_error(exclude, needle):
    with pytest.raises(UserError, match=re.escape(needle)):
        _spec(exclude=exclude)


def test_exclude_that_matches_nothing_is_refused():
    with pytest.raises(UserError, match="matches no cell"):
        _spec(
            design="zip",
            factors={"structure": list(STRUCTURES), "kpi": ["siloed", "shared"]},
            exclude=[{"structure": "pod", "kpi": "siloed"}],
        )
