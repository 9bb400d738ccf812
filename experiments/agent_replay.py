"""What a learner's mean policy path leaves out: each agent's own policy, and its trial perturbation.

Used by :mod:`alignsim.experiments.policy_attribution`. A learning run records, at every review
week, every agent's policy *in force* (its centre plus the trial's perturbation) and its *centre*.
Two fixed-policy runs (learning off) then replay them, agent by agent (owner index = hire order):

- ``in_force``: every agent at its recorded policy in force. With a fixed headcount this is the
  learning run bit for bit (``tests/test_policy_attribution.py``); with the staffing plan a hire
  joins at its team's mean between reviews in both runs, but at the mean of policies in force here
  and of centres there, and a replay that hires at other weeks matches agents by index (agents the
  learning run did not have yet take the role's mean). ``learned - in_force`` measures that residue.
- ``centres``: every agent at its recorded centre: the learners' choices without their exploration.

With the mean-path replay ``M`` of the study (every agent at the role's mean centre), the part of a
learned result the mean path does not carry splits into ``learned - in_force`` (residue),
``in_force - centres`` (the trial perturbations) and ``centres - M`` (agents that differ).
"""

from __future__ import annotations

import numpy as np

#: per review week, per role: (policies in force, centres), agents x variables
Record = dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]


def snapshot(model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every role's policies in force and centres now (copies, agents x variables)."""
    return {r.role: (r.learner.in_force.copy(), r.learner.policy.copy()) for r in model.rosters}


def fitted(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` (agents x variables) for ``n`` agents: cut, or padded with their mean."""
    if len(values) >= n:
        return values[:n]
    return np.vstack([values, np.broadcast_to(values.mean(axis=0), (n - len(values), values.shape[1]))])


def replay(structure: str, headroom: int, seed: int, record: Record, which: int, weeks: int) -> float:
    """Firm value of a learning-off run that puts every agent, at every recorded week, at its recorded
    policy (``which`` 0: in force, 1: centre)."""
    from alignsim.model import GTMModel

    model = GTMModel(structure, "siloed", seed=seed, learning="off", weeks=weeks, market_headroom=headroom)
    while model.running and model.week < weeks:
        if model.week in record:
            for roster in model.rosters:
                values = fitted(record[model.week][roster.role][which], roster.n)
                for j, name in enumerate(roster.learner.names):
                    roster.learner.set_policy(name, values[:, j])
            model._refresh_policies()
        model.step()
    model.release()
    return model.summary()["firm_value"]


def decomposition_run(structure: str, headroom: int, seed: int, learning: str, weeks: int) -> dict:
    """A siloed cell learning from ``learning`` and its two per-agent replays (firm values, USD)."""
    from alignsim.model import GTMModel

    model = GTMModel(structure, "siloed", seed=seed, learning=learning, weeks=weeks, market_headroom=headroom)
    record: Record = {0: snapshot(model)}
    while model.running and model.week < weeks:
        model.step()
        if model.week % model.p["review_weeks"] == 0 and model.week < weeks:
            record[model.week] = snapshot(model)
    model.release()
    key = {"structure": structure, "headroom": headroom, "seed": seed, "run": learning}
    return {
        **key,
        "learned": model.summary()["firm_value"],
        "in_force": replay(structure, headroom, seed, record, 0, weeks),
        "centres": replay(structure, headroom, seed, record, 1, weeks),
    }
