"""The common base of every staff agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from alignsim.model.learning import PolicyLearner

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel


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

    def start_trial(self, parts: set[str]) -> None:
        """Begin a quarter with a perturbed policy (exploration), to be paid ``parts`` of reward."""
        p = self.model.p
        self.learner.start_trial(self.model.week, p["review_weeks"], p["exploration_sd"], self.model.learning_rng,
                                 parts)

    def receive_reward(self, part: str, start_week: int, reward: float, weight: float) -> None:
        """Learn from the ``part`` ("siloed" or "shared") of the reward of the trial begun at ``start_week``."""
        self.learner.pay(start_week, part, reward, weight, self.model.p["learning_rate"])
