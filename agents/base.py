"""The common base of every staff agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from model.learning import PolicyLearner

if TYPE_CHECKING:
    from model.model import GTMModel


class StaffAgent(mesa.Agent):
    """A member of staff: capacity, a KPI, and decision variables learned from reward.

    Subclasses declare ``POLICY`` (decision variable -> (default, low, high)), their
    ``SILOED_KPI`` (what a siloed comp plan pays them for) and ``CAPACITY_PARAM``.
    Decision variables read as attributes (``agent.breadth``) and always give the
    policy in force this week. The work itself is vectorised by the model over all
    agents of a role at once (one owner column per stage), so an agent holds no
    per-lead state.

    Attributes:
        role: short role name ("marketer", "sdr", "ae", "csm").
        pod: pod index (0 for everyone in the assembly line).
        index: position of the agent within its role (its owner id in the pools).
        capacity: work it can do per week, in ``CAPACITY_UNIT``.
        learner: the agent's policy learner.
    """

    role: ClassVar[str] = "staff"
    POLICY: ClassVar[dict[str, tuple[float, float, float]]] = {}
    SILOED_KPI: ClassVar[str] = ""
    CAPACITY_PARAM: ClassVar[str] = ""
    CAPACITY_UNIT: ClassVar[str] = ""

    def __init__(self, model: GTMModel, index: int, pod: int, capacity: float) -> None:
        super().__init__(model)
        self.index = index
        self.pod = pod
        self.capacity = capacity
        names = tuple(self.POLICY)
        default, low, high = (np.array([self.POLICY[n][i] for n in names], dtype=float) for i in range(3))
        self.learner = PolicyLearner(names, low, high, default)

    def __getattr__(self, name: str) -> float:
        # Only reached for attributes not found normally: expose decision variables.
        learner = self.__dict__.get("learner")
        if learner is not None and name in learner.names:
            return learner.value(name)
        raise AttributeError(name)

    def start_trial(self) -> None:
        """Begin a quarter with a perturbed policy (exploration)."""
        p = self.model.p
        self.learner.start_trial(self.model.week, p["review_weeks"], p["exploration_sd"], self.model.learning_rng)

    def end_trial(self, siloed_kpi: float, shared_weight: float) -> None:
        """Score the quarter that just ended on the siloed KPI.

        With no shared weight the policy is updated at once; otherwise the trial
        waits for its shared reward (see :meth:`receive_shared_reward`).
        """
        trial = self.learner.current_trial()
        if trial is None:
            return
        trial.siloed_z = self.learner.siloed_scale.standardise(siloed_kpi)
        if shared_weight == 0.0:
            self.learner.update(trial, trial.siloed_z, self.model.p["learning_rate"])

    def receive_shared_reward(self, start_week: int, shared_value_usd: float, shared_weight: float) -> None:
        """Blend the late shared reward of the trial that started at ``start_week`` and learn."""
        trial = next((t for t in self.learner.pending if t.start_week == start_week), None)
        if trial is None:
            return
        shared_z = self.learner.shared_scale.standardise(shared_value_usd)
        advantage = (1.0 - shared_weight) * trial.siloed_z + shared_weight * shared_z
        self.learner.update(trial, advantage, self.model.p["learning_rate"])
