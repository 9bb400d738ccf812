"""The common base of every staff agent, and the roster that holds a role's arrays."""

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
    ``SILOED_KPI`` (what a siloed comp plan pays them for) and ``CAPACITY_PARAM``, and carry
    the role's weekly work as class methods that act on every agent of the role (or of one
    team) at once, through owner columns of the account pool: an agent holds no per-lead
    state, and no Python object exists per lead. Decision variables read as attributes
    (``agent.breadth``) and always give the policy in force this week.

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
        self.learner.start_trial(
            self.model.week, p["review_weeks"], p["exploration_sd"], self.model.learning_rng, parts
        )

    def receive_reward(self, part: str, start_week: int, reward: float, weight: float) -> None:
        """Learn from the ``part`` ("siloed" or "shared") of the reward of the trial begun at ``start_week``."""
        self.learner.pay(start_week, part, reward, weight, self.model.p["learning_rate"])

    @classmethod
    def siloed_kpi(cls, model: GTMModel, start: int, end: int) -> np.ndarray:
        """What a siloed comp plan pays each agent of the role for weeks [start, end) (one value per agent)."""
        raise NotImplementedError

    @classmethod
    def siloed_delay_weeks(cls, model: GTMModel) -> int:
        """Weeks after a trial ends until its siloed KPI is known (0: at once)."""
        return 0


class Roster:
    """Every agent of one role as arrays indexed by owner id, grouped into the teams that share a queue.

    A team is the set of agents that work one queue: the whole role in the assembly line (or
    with capacity pooling), one pod otherwise. The role's weekly work is one vectorised call
    per team (or per role where the work does not depend on the queue).

    Attributes:
        cls: the agent class of the role.
        agents: the agents, in owner-index order.
        pod: pod of each agent.
        capacity: weekly capacity of each agent, in ``cls.CAPACITY_UNIT``.
        lending: share of each agent's week lent to another team's queue this week (M8).
        team_of_pod: team index of each pod.
        teams: member indices (owner ids) of each team.
    """

    def __init__(self, cls: type[StaffAgent], agents: list[StaffAgent], team_of_pod: np.ndarray) -> None:
        self.cls = cls
        self.agents = agents
        self.pod = np.array([a.pod for a in agents])
        self.capacity = np.array([a.capacity for a in agents], dtype=float)
        self.lending = np.zeros(len(agents))
        self.team_of_pod = team_of_pod
        team = team_of_pod[self.pod]
        self.teams = [np.flatnonzero(team == t) for t in range(team_of_pod.max() + 1)]
        self._policy: dict[str, np.ndarray] = {}
        self.refresh_policies()

    @property
    def role(self) -> str:
        """Short role name."""
        return self.cls.role

    @property
    def n(self) -> int:
        """Number of agents of the role."""
        return len(self.agents)

    def refresh_policies(self) -> None:
        """Re-read every agent's policy in force (after a review or a what-if)."""
        names = self.agents[0].learner.names
        self._policy = {name: np.array([a.learner.value(name) for a in self.agents]) for name in names}

    def policy(self, name: str) -> np.ndarray:
        """Decision variable ``name`` in force for every agent, by owner index."""
        return self._policy[name]
