"""The shared reward carries the firm-value gradient where one exists (issue 10), and the study's tables.

Statistical test: 16 paired seeds, one assembly-line run each under shared KPIs and one under the
placebo learner (the runs of results/shared_signal, section 2). Per seed the model reports
corr(standardised advantage, perturbation) over ~50 paid (agent, pair) payments; the test asserts
the mean over seeds is below -2 SE (SE = sd over seeds / sqrt(16); about a one-sided t-test at 3%,
t_0.97,15 = 2.03). Measured: -0.127, SE 0.034. Firm value's own direction is asserted beside it
with fixed policies over 6 paired seeds (measured -57M USD per +0.1 of breadth, SE 3.9M), and so is
what shared learning does with the signal (issue 10: under shared KPIs marketers end narrower than
the placebo learner on the same seeds; mean paired difference below -2 SE; measured -0.013, 95% CI
[-0.022, -0.003]). Probed with planted faults (an earlier model): a shared KPI reduced to the book's
revenue collected (no valuation when the reward is paid) gives +0.011 and fails (the placebo
learner gives -0.023, CI [-0.064, 0.019]). The signal survives a shared KPI that keeps only the
book (no accounts touched in the trial): broader targeting reaches the book's value through the
company's renewal churn, at which the book is valued.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alignsim.experiments import shared_signal as ss


def test_shared_kpi_carries_the_firm_value_gradient_of_targeting_breadth() -> None:
    """Assembly line: firm value falls with broader targeting, and the shared reward says so (corr < 0)."""
    grad = pd.DataFrame(
        [ss.gradient_run("assembly_line", seed, "marketer", "breadth", sign) for seed in range(6) for sign in (1, -1)],
        columns=["structure", "seed", "role", "variable", "sign", "value", "firm_value"],
    )
    g = ss.gradient_table(grad).iloc[0]
    assert g["dfv_per_step_usd"] < -2 * g["se_usd"], g
    runs = {
        learning: [
            ss.signal_run("assembly_line", "shared", learning, seed, 78).set_index(["role", "variable"])
            for seed in range(16)
        ]
        for learning in ("reward", "placebo")
    }
    corr = np.array([run.loc[("marketer", "breadth"), "corr"] for run in runs["reward"]])
    se = corr.std(ddof=1) / np.sqrt(len(corr))
    assert corr.mean() < -2 * se, f"shared corr {corr.mean():.3f} not below -2 SE ({se:.3f}): {corr.round(3)}"
    # ... and shared learning acts on it: marketers end narrower than the placebo learner on the same seeds
    taught = np.array(
        [
            r.loc[("marketer", "breadth"), "policy"] - p.loc[("marketer", "breadth"), "policy"]
            for r, p in zip(runs["reward"], runs["placebo"], strict=True)
        ]
    )
    se = taught.std(ddof=1) / np.sqrt(len(taught))
    assert taught.mean() < -2 * se, f"shared - placebo breadth {taught.mean():+.4f} not below -2 SE ({se:.4f})"


def _signal_rows(corr_reward: list[float], corr_placebo: list[float], policy_gap: float) -> pd.DataFrame:
    rows = []
    for seed, (cr, cp) in enumerate(zip(corr_reward, corr_placebo, strict=True)):
        for learning, c, pol in (("reward", cr, 0.5 + policy_gap), ("placebo", cp, 0.5)):
            rows.append(["pod", "shared", learning, 78, seed, "sdr", "qualification_threshold", c, 100, pol])
    return pd.DataFrame(
        rows,
        columns=["structure", "kpi", "learning", "horizon_weeks", "seed", "role", "variable", "corr", "paid", "policy"],
    )


def test_tables_equal_hand_computation() -> None:
    """Central difference per +0.1, t-interval over seeds, paired policy difference: by hand."""
    grad = pd.DataFrame(
        [
            ["pod", 0, "sdr", "qualification_threshold", 1, 0.4, 110.0],
            ["pod", 0, "sdr", "qualification_threshold", -1, 0.2, 100.0],
            ["pod", 1, "sdr", "qualification_threshold", 1, 0.4, 130.0],
            ["pod", 1, "sdr", "qualification_threshold", -1, 0.2, 100.0],
        ],
        columns=["structure", "seed", "role", "variable", "sign", "value", "firm_value"],
    )
    g = ss.gradient_table(grad).iloc[0]
    assert g["dfv_per_step_usd"] == pytest.approx(10.0)  # per seed (10, 30) / 0.2 x 0.1 = (5, 15)
    assert g["se_usd"] == pytest.approx(np.std([5.0, 15.0], ddof=1) / np.sqrt(2))
    signal = _signal_rows([0.1, 0.3, 0.2], [0.0, 0.0, 0.0], policy_gap=0.05)
    row = ss.signal_table(signal).set_index("reward").loc["shared KPI"]
    half = 4.302653 * np.std([0.1, 0.3, 0.2], ddof=1) / np.sqrt(3)  # t_0.975 with 2 df
    assert row["corr"] == pytest.approx(0.2)
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((0.2 - half, 0.2 + half), rel=1e-5)
    h = ss.horizon_table(signal).iloc[0]
    assert h["policy_minus_placebo"] == pytest.approx(0.05)
    assert h["paid_per_run"] == 100


def test_limits_table_equals_hand_computation() -> None:
    """Section 4's aligned signal: per seed the mean of corr x sign(firm-value gradient) over the variables
    with a detectable gradient (one here: the other has a flat gradient and is left out), then a t-interval."""
    grad = pd.DataFrame(
        [
            ["pod", seed, role, variable, sign, 0.5 + 0.1 * sign, fv]
            for seed in range(2)
            for role, variable, fv_up in (("sdr", "qualification_threshold", 80.0), ("ae", "discount", 100.0 + seed))
            for sign, fv in ((1, fv_up), (-1, 100.0))
        ],
        columns=["structure", "seed", "role", "variable", "sign", "value", "firm_value"],
    )  # threshold: -10 per +0.1 in both seeds (SE 0, detectable, sign -); discount: +0.25, SE 0.25 (not detectable)
    rows = []
    for seed, c in enumerate((-0.2, -0.4, -0.3)):
        for variable, role, corr in (("qualification_threshold", "sdr", c), ("discount", "ae", 0.9)):
            rows.append(["pod", "shared", "reward", 78, seed, role, variable, corr, 100, 0.5])
            rows.append(["pod", "shared", "placebo", 78, seed, role, variable, 0.0, 100, 0.5])
    cols = ["structure", "kpi", "learning", "horizon_weeks", "seed", "role", "variable", "corr", "paid", "policy"]
    signal = pd.DataFrame(rows, columns=cols)
    limits = signal.drop(columns="horizon_weeks").assign(variant="four pods")
    limits["corr"] = limits["corr"] / 2  # the counterfactual halves the signal
    table = ss.limits_table(signal, limits, grad).set_index("variant")
    half = 4.302653 * np.std([0.2, 0.4, 0.3], ddof=1) / np.sqrt(3)  # t_0.975 with 2 df
    as_is, small = table.loc["as is"], table.loc["four pods"]
    assert as_is["variables"] == 1 and as_is["seeds"] == 3
    assert as_is["aligned_signal"] == pytest.approx(0.3)  # corr -0.3 along a gradient that points down
    assert (as_is["ci95_low"], as_is["ci95_high"]) == pytest.approx((0.3 - half, 0.3 + half), rel=1e-5)
    assert small["aligned_signal"] == pytest.approx(0.15) and small["team_at_week_0"] == "6-8"
    assert as_is["placebo"] == 0.0
    assert "four pods (team of 6-8 at week 0): aligned signal +0.150" in ss.limits_reading(table.reset_index())[0]


def test_bad_input_names_the_option_its_value_and_what_is_allowed(tmp_path, capsys) -> None:
    out = tmp_path / "study"
    for argv, option, value in (
        (["--seeds", "1"], "--seeds", "1"),
        (["--gradient-seeds", "0"], "--gradient-seeds", "0"),
    ):
        with pytest.raises(SystemExit) as stop:
            ss.main([*argv, "--out", str(out)])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert f"{option}: got {value}; allowed: an integer >= 2" in err and "Traceback" not in err
    assert not out.exists()  # nothing written
