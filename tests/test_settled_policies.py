"""The settled-policy view behind results/settled_policies (experiments/settled_policies.py).

A settled policy must be the learner's own end state, the end of siloed drift must pin exactly the
variables that still move (towards the bound they move to), a held set must be in force for every
agent including later hires, and the contrasts must match a hand computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alignsim.experiments import settled_policies as sp
from alignsim.model import GTMModel

WEEKS = 52
SEED = 11


@pytest.fixture(scope="module")
def siloed_run():
    return sp.learning_run("pod", "siloed", "reward", SEED, WEEKS)


def test_a_learning_run_is_the_cells_own_run_and_ends_at_its_learners_centres(siloed_run):
    row, settled = siloed_run
    model = GTMModel("pod", "siloed", seed=SEED, learning="reward", weeks=WEEKS).run()
    assert row["firm_value"] == model.summary()["firm_value"]
    diagnostics = model.learning_diagnostics()
    assert list(settled["moved"]) == list(diagnostics["moved"])  # the model's own drift verdict
    for r in model.rosters:
        mine = settled[settled["role"] == r.role].set_index("variable")["value"]
        centre = r.learner.policy.mean(axis=0)  # the centre, not the perturbed policy in force
        np.testing.assert_array_equal(mine.loc[list(r.learner.names)].to_numpy(), centre)
    assert (settled["regime"] == "siloed").all()
    # a placebo is named by its pay dates: each regime is compared with the placebo on its own schedule
    assert sp.learning_run("pod", "shared", "placebo", SEED, WEEKS)[0]["regime"] == "placebo_shared"


def _settled(moved: dict[tuple[str, str], list[bool]], drift: float) -> pd.DataFrame:
    """Siloed settled rows: per (structure, variable) a list of per-seed moved flags."""
    rows = []
    for (structure, name), flags in moved.items():
        role, variable = name.split(".")
        for seed, flag in enumerate(flags):
            rows.append([structure, seed, "siloed", role, variable, drift, flag, 0.5, 520])
    cols = ["structure", "seed", "regime", "role", "variable", "drift", "moved", "value", "weeks"]
    return pd.DataFrame(rows, columns=cols)


def test_the_end_of_drift_pins_what_still_moves_in_most_seeds_of_every_structure_towards_its_bound():
    flags = {
        ("assembly_line", "marketer.breadth"): [True, True, True, True],
        ("pod", "marketer.breadth"): [True, True, True, False],  # 3/4: still pinned
        ("assembly_line", "sdr.qualification_threshold"): [True, True, True, True],
        ("pod", "sdr.qualification_threshold"): [True, True, False, False],  # 2/4 in one structure: not
        ("assembly_line", "ae.discount"): [False] * 4,
        ("pod", "ae.discount"): [False] * 4,
    }
    up = sp.end_of_drift(_settled(flags, +0.01))
    assert list(zip(up["role"], up["variable"], up["bound"], strict=True)) == [("marketer", "breadth", 1.0)]
    down = sp.end_of_drift(_settled(flags, -0.01))
    assert list(down["bound"]) == [0.0]  # breadth's lower bound: the direction decides the bound


def test_the_end_of_drift_set_differs_from_the_held_set_only_in_the_pinned_variables():
    settled = _settled({("pod", "marketer.breadth"): [True, True], ("pod", "ae.honesty"): [False, False]}, 0.01)
    settled = pd.concat([settled, settled.assign(regime="shared")], ignore_index=True)
    sets = sp.policy_sets(settled, sp.end_of_drift(settled))
    assert set(sets) == {(("pod", s, n)) for s in (0, 1) for n in ("siloed, held", "siloed, end of drift", "shared")}
    held, ends = sets[("pod", 0, "siloed, held")], sets[("pod", 0, "siloed, end of drift")]
    changed = ends["value"] != held["value"]
    assert list(ends.loc[changed, "variable"]) == ["breadth"] and list(ends.loc[changed, "value"]) == [1.0]
    assert list(sets[("pod", 0, "shared")]["value"]) == [0.5, 0.5]  # only siloed is extrapolated


def test_holding_the_status_quo_is_the_fixed_policy_cell():
    row = sp.judged_run("assembly_line", SEED, "status quo", None, WEEKS)
    fixed = GTMModel("assembly_line", "shared", seed=SEED, learning="off", weeks=WEEKS).run()
    assert row["firm_value"] == fixed.summary()["firm_value"]


def test_a_held_set_is_in_force_for_every_agent_hires_included_and_acts():
    values = pd.DataFrame({"role": ["marketer", "sdr"], "variable": ["breadth", "qualification_threshold"]})
    values["value"] = [0.9, 0.1]
    model = GTMModel("pod", "siloed", seed=SEED, learning="off", weeks=WEEKS)
    for role, variable, value in values.itertuples(index=False):
        model.set_policy(role, variable, value)
    model.run()
    assert model.p["hiring"] == "plan" and model.summary()["hires"] > 0  # hires joined during the run
    np.testing.assert_allclose(model.policy("marketer", "breadth"), 0.9, rtol=1e-12)  # logit round trip
    np.testing.assert_allclose(model.policy("sdr", "qualification_threshold"), 0.1, rtol=1e-12)
    held = sp.judged_run("pod", SEED, "x", values, WEEKS)["firm_value"]
    assert held == model.summary()["firm_value"]  # judged_run is that run
    assert held != sp.judged_run("pod", SEED, "status quo", None, WEEKS)["firm_value"]


def test_contrasts_match_a_hand_computation_each_regime_against_the_placebo_on_its_own_pay_dates():
    regimes = ("shared", "siloed", "placebo_siloed", "placebo_shared")
    learned = pd.DataFrame(
        [
            ["pod", 260, seed, regime, value]
            for seed, values in enumerate([(10, 7, 8, 4), (20, 11, 19, 30)])
            for regime, value in zip(regimes, values, strict=True)
        ],
        columns=["structure", "weeks", "seed", "regime", "firm_value"],
    )
    sets = {
        "shared": (9, 18),
        "siloed, held": (6, 12),
        "siloed, end of drift": (2, 4),
        "placebo_siloed": (8, 20),
        "placebo_shared": (5, 25),
    }
    judged = pd.DataFrame(
        [["pod", 260, seed, name, v[seed]] for name, v in sets.items() for seed in (0, 1)],
        columns=["structure", "weeks", "seed", "policy_set", "firm_value"],
    )
    table = sp.contrast_table(learned, judged).set_index(["contrast", "view"])["usd"]
    assert table[("shared - siloed", "learned")] == pytest.approx(((10 - 7) + (20 - 11)) / 2)
    assert table[("shared - placebo", "learned")] == pytest.approx(((10 - 4) + (20 - 30)) / 2)
    assert table[("siloed - placebo", "learned")] == pytest.approx(((7 - 8) + (11 - 19)) / 2)
    assert table[("siloed - placebo", "settled, siloed held")] == pytest.approx(((6 - 8) + (12 - 20)) / 2)
    assert table[("shared - siloed", "settled, siloed at the end of its drift")] == pytest.approx((7 + 14) / 2)
    assert table[("shared - placebo", "settled, siloed held")] == pytest.approx(((9 - 5) + (18 - 25)) / 2)


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    for argv in (["--weeks", "12"], ["--weeks", "a,b"], ["--seeds", "1"], ["--from-runs", "--out", str(tmp_path)]):
        with pytest.raises(SystemExit) as stop:
            sp.main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and ("allowed" in err or "has no" in err)
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_structure_contrast_is_paired_by_seed_and_policy_set():
    learned = pd.DataFrame(
        [
            [st, 260, seed, "shared", v]
            for st, vals in (("pod", (5, 9)), ("assembly_line", (1, 2)))
            for seed, v in enumerate(vals)
        ],
        columns=["structure", "weeks", "seed", "regime", "firm_value"],
    )
    judged = pd.DataFrame(
        [
            [st, 260, seed, "siloed, held", v]
            for st, vals in (("pod", (3, 3)), ("assembly_line", (4, 0)))
            for seed, v in enumerate(vals)
        ],
        columns=["structure", "weeks", "seed", "policy_set", "firm_value"],
    )
    table = sp.structure_table(learned, judged).set_index(["how", "policies"])["usd"]
    assert table[("learned", "shared")] == pytest.approx(((5 - 1) + (9 - 2)) / 2)
    assert table[("held", "siloed, held")] == pytest.approx(((3 - 4) + (3 - 0)) / 2)


def test_directions_are_against_the_placebo_on_the_same_pay_dates():
    values = {"siloed": (0.9, 0.8), "placebo_siloed": (0.6, 0.6), "shared": (0.5, 0.4), "placebo_shared": (0.7, 0.5)}
    settled = pd.DataFrame(
        [["pod", seed, regime, "marketer", "breadth", v[seed]] for regime, v in values.items() for seed in (0, 1)],
        columns=["structure", "seed", "regime", "role", "variable", "value"],
    )
    row = sp.direction_table(settled).iloc[0]
    assert row["siloed_minus_placebo"] == pytest.approx((0.3 + 0.2) / 2)
    assert row["shared_minus_placebo"] == pytest.approx((-0.2 - 0.1) / 2)


def test_the_long_learning_run_is_siloed_learning_read_at_its_end_and_a_year_before(siloed_run):
    long = sp.long_learning_run("pod", SEED, WEEKS + sp.YEAR).set_index(["role", "variable"])
    _, at_end = sp.learning_run("pod", "siloed", "reward", SEED, WEEKS + sp.YEAR)
    at_end = at_end.set_index(["role", "variable"])
    year_before = siloed_run[1].set_index(["role", "variable"])  # the same cell learning WEEKS weeks
    np.testing.assert_array_equal(long["value"].to_numpy(), at_end.loc[long.index, "value"].to_numpy())
    np.testing.assert_array_equal(long["value_year_before"].to_numpy(), year_before.loc[long.index, "value"].to_numpy())
    assert list(long["moved"]) == list(at_end.loc[long.index, "moved"])
    assert (long["value"] != long["value_year_before"]).any()  # a year of learning moves something
    sets = sp.long_sets(long.reset_index())
    assert set(sets) == {("pod", SEED, sp.long_set_name(WEEKS + sp.YEAR)), ("pod", SEED, sp.long_set_name(WEEKS))}


def test_the_settling_table_and_the_long_view_match_a_hand_computation():
    long, before = sp.long_set_name(1040), sp.long_set_name(1040 - sp.YEAR)
    sets = {
        long: (10, 14),
        before: (9, 15),
        "siloed, held": (6, 8),
        "siloed, end of drift": (12, 20),
        "shared": (30, 40),
        "placebo_siloed": (11, 13),
        "placebo_shared": (29, 41),
    }
    judged = pd.DataFrame(
        [["pod", 260, seed, name, v[seed]] for name, v in sets.items() for seed in (0, 1)],
        columns=["structure", "weeks", "seed", "policy_set", "firm_value"],
    )
    table = sp.settling_table(judged, 1040).set_index("after_long_learning")["usd"]
    assert table["its last year of drift"] == pytest.approx(((10 - 9) + (14 - 15)) / 2)
    assert table["beyond siloed held"] == pytest.approx(((10 - 6) + (14 - 8)) / 2)
    assert table["against the end of drift"] == pytest.approx(((10 - 12) + (14 - 20)) / 2)
    learned = pd.DataFrame(
        [
            ["pod", 260, seed, r, sets[r][seed]]
            for r in ("shared", "placebo_siloed", "placebo_shared")
            for seed in (0, 1)
        ]
        + [["pod", 260, seed, "siloed", 0] for seed in (0, 1)],
        columns=["structure", "weeks", "seed", "regime", "firm_value"],
    )
    view = sp.contrast_table(learned, judged, 1040).set_index(["contrast", "view"])["usd"]
    assert view[("shared - siloed", "settled, siloed held after 1040 weeks")] == pytest.approx((20 + 26) / 2)
    assert view[("siloed - placebo", "settled, siloed held after 1040 weeks")] == pytest.approx((-1 + 1) / 2)
    assert "settled, siloed held after 1040 weeks" not in set(sp.contrast_table(learned, judged)["view"])  # 0: none


def test_a_long_learning_no_longer_than_the_learning_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        sp.main(["--learn-weeks", "520", "--long-learn-weeks", "300", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--long-learn-weeks: got 300; allowed: 0 (none) or more than --learn-weeks (520)" in err
    assert not (tmp_path / "x").exists()
