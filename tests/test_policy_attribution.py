"""The policy-replay counterfactuals behind results/policy_attribution (experiments/policy_attribution.py).

A replay must be the fixed-policy run it claims to be, follow the path it is given and nothing else,
and the attribution arithmetic must match a hand computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alignsim.experiments import agent_replay as ar
from alignsim.experiments import policy_attribution as pa
from alignsim.model import GTMModel
from alignsim.model.model import status_quo_policies

WEEKS = 52
SEED = 11
CELL = {"structure": "pod", "headroom": 8}


@pytest.fixture(scope="module")
def learned():
    return pa.learning_run(CELL["structure"], CELL["headroom"], SEED, "reward", WEEKS)


def fixed_run(**params) -> float:
    model = GTMModel(CELL["structure"], "siloed", seed=SEED, learning="off", weeks=WEEKS, **params)
    return model.run().summary()["firm_value"]


def test_learning_run_is_the_cells_own_run_and_its_path_starts_at_the_status_quo(learned):
    row, path = learned
    model = GTMModel(CELL["structure"], "siloed", seed=SEED, learning="reward", weeks=WEEKS)
    assert row["firm_value"] == model.run().summary()["firm_value"]  # stepping by hand changes nothing
    assert sorted(path["week"].unique()) == list(range(0, WEEKS, 13))
    start = status_quo_policies(SEED, model.p)
    at_zero = path[path["week"] == 0]
    for role, variable, value in at_zero[["role", "variable", "value"]].itertuples(index=False):
        assert value == pytest.approx(start[role][variable], abs=1e-12)  # centres, not perturbed policies
    breadth = path[(path["role"] == "marketer") & (path["variable"] == "breadth")]["value"]
    assert breadth.iloc[-1] != breadth.iloc[0]  # a learner that learned: the path is not the start


def test_replaying_the_start_policy_is_the_fixed_policy_run(learned):
    _, path = learned
    at_zero = path[path["week"] == 0][["week", "role", "variable", "value"]]
    assert pa.replay(CELL["structure"], CELL["headroom"], SEED, at_zero, WEEKS) == fixed_run()


def test_a_replay_follows_its_path_and_a_swap_moves_one_variable(learned):
    _, path = learned
    path = path[["week", "role", "variable", "value"]]
    wider = path.assign(value=path["value"].where(path["variable"] != "breadth", 0.95))
    swap = pa.swapped(path, wider, "marketer", "breadth")
    changed = swap.set_index(pa.PATH_KEY)["value"] != path.set_index(pa.PATH_KEY)["value"]
    assert set(changed[changed].index.get_level_values("variable")) == {"breadth"}
    assert set(changed[changed].index.get_level_values("role")) == {"marketer"}
    base = pa.replay(CELL["structure"], CELL["headroom"], SEED, path, WEEKS)
    moved = pa.replay(CELL["structure"], CELL["headroom"], SEED, swap, WEEKS)
    assert moved != base  # the path reaches the run: breadth 0.95 from week 0 costs programme spend
    late = swap.assign(value=swap["value"].where(swap["week"] < 39, path["value"]))  # the move undone at week 39
    assert pa.replay(CELL["structure"], CELL["headroom"], SEED, late, WEEKS) not in (base, moved)


def test_attribution_arithmetic_matches_a_hand_computation():
    key = {"structure": "pod", "headroom": 4, "seed": 1}
    replays = pd.DataFrame(
        [
            {**key, "run": "siloed", "role": "", "variable": "", "firm_value": 10.0},
            {**key, "run": "placebo", "role": "", "variable": "", "firm_value": 4.0},
            {**key, "run": "siloed, v from placebo", "role": "marketer", "variable": "breadth", "firm_value": 7.0},
            {**key, "run": "placebo, v from siloed", "role": "marketer", "variable": "breadth", "firm_value": 5.0},
        ]
    )
    paths = pd.DataFrame(
        [
            {**key, "run": run, "week": week, "role": "marketer", "variable": "breadth", "value": value}
            for run, values in (("reward", (0.6, 0.8)), ("placebo", (0.6, 0.6)))
            for week, value in zip((0, 13), values, strict=True)
        ]
    )
    effects = pa.effects_frame(paths, replays)
    (row,) = effects.to_dict("records")
    assert row["switched_off_usd"] == 3.0 and row["switched_on_usd"] == 1.0 and row["effect_usd"] == 2.0
    assert row["move"] == pytest.approx(0.1)  # (0 + 0.2) / 2 reviews


def test_the_per_agent_decomposition_matches_a_hand_computation_and_adds_up():
    key = {"structure": "pod", "headroom": 4}
    replays = pd.DataFrame(
        [
            {**key, "seed": seed, "run": run, "role": "", "variable": "", "firm_value": value}
            for seed, values in ((1, (10.0, 4.0)), (2, (12.0, 2.0)))
            for run, value in zip(("siloed", "placebo"), values, strict=True)
        ]
    )
    decomposition = pd.DataFrame(
        [
            {**key, "seed": 1, "run": "reward", "learned": 20.0, "in_force": 18.0, "centres": 11.0},
            {**key, "seed": 1, "run": "placebo", "learned": 5.0, "in_force": 5.0, "centres": 4.0},
            {**key, "seed": 2, "run": "reward", "learned": 16.0, "in_force": 16.0, "centres": 12.0},
            {**key, "seed": 2, "run": "placebo", "learned": 2.0, "in_force": 3.0, "centres": 3.0},
        ]
    )
    (row,) = pa.decomposition_table(replays, decomposition).to_dict("records")
    # seed 1: learned gap 15, mean-path gap 6, in-force gap 13, centres gap 7; seed 2: 14, 10, 13, 9
    assert row["not_in_paths"] == pytest.approx((9 + 4) / 2)
    assert row["residue"] == pytest.approx((2 + 1) / 2)
    assert row["perturbations"] == pytest.approx((6 + 4) / 2)
    assert row["agents_differ"] == pytest.approx((1 - 1) / 2)
    assert row["residue"] + row["perturbations"] + row["agents_differ"] == pytest.approx(row["not_in_paths"])


def test_per_agent_records_are_fitted_to_the_replays_headcount():
    values = np.array([[0.2, 0.4], [0.6, 0.8]])
    np.testing.assert_array_equal(ar.fitted(values, 1), values[:1])
    np.testing.assert_allclose(ar.fitted(values, 3), [[0.2, 0.4], [0.6, 0.8], [0.4, 0.6]])  # a hire: the mean


def test_the_per_agent_decomposition_run_is_the_cells_learning_run_and_its_replays_act(learned):
    row = ar.decomposition_run(CELL["structure"], CELL["headroom"], SEED, "reward", WEEKS)
    assert row["learned"] == learned[0]["firm_value"]  # the same learning run as the mean path's
    # the perturbations reach the accounts: without them the company differs
    assert row["in_force"] != row["centres"]
    # and the in-force replay is the learning run up to hires joining at other policies between reviews
    assert abs(row["in_force"] - row["learned"]) < 0.02 * abs(row["learned"])


def in_force_replay(structure: str, kpi: str, learning: str, weeks: int = 78) -> tuple[float, float]:
    """Firm value of a learning run and of a learning-off run that puts every agent, at every review,
    at the policy that agent had in force in the learning run (its centre plus its trial perturbation).

    A fixed headcount (``hiring="fixed"``), so the agents of the two runs are the same people.
    """
    common = {"seed": SEED, "weeks": weeks, "hiring": "fixed"}
    learner = GTMModel(structure, kpi, learning=learning, **common)
    in_force = {0: {r.role: r.learner.in_force.copy() for r in learner.rosters}}
    while learner.week < weeks:
        learner.step()
        if learner.week % learner.p["review_weeks"] == 0:
            in_force[learner.week] = {r.role: r.learner.in_force.copy() for r in learner.rosters}
    replay = GTMModel(structure, kpi, learning="off", **common)
    while replay.week < weeks:
        if replay.week in in_force:
            for roster in replay.rosters:
                for j, name in enumerate(roster.learner.names):
                    roster.learner.set_policy(name, in_force[replay.week][roster.role][:, j])
            replay._refresh_policies()
        replay.step()
    return learner.summary()["firm_value"], replay.summary()["firm_value"]


@pytest.mark.parametrize(
    ("structure", "kpi", "learning"),
    [("assembly_line", "siloed", "reward"), ("pod", "shared", "reward"), ("pod", "siloed", "placebo")],
)
def test_learning_reaches_the_company_only_through_the_policies_in_force(structure, kpi, learning):
    """What staff learn acts on accounts only through the policies they have in force: replaying every
    agent's policies with learning off gives the learning run bit for bit. A channel that acts only
    while agents learn (a hidden KPI or structure effect keyed to the learning mode, a reward that
    changes the accounts) makes the two differ. This is why the replays of results/policy_attribution
    can stand for the learners."""
    learned, replayed = in_force_replay(structure, kpi, learning)
    assert replayed == learned
