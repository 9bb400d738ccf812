"""The common base of every staff agent, and the roster that holds a role's arrays."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from alignsim.model.draws import agent_rng
from alignsim.model.policy_learning import RoleLearner

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel


def _policy_in_force(agent: StaffAgent, name: str) -> float:
    """Decision variable ``name`` in force for ``agent`` this week (what the policy collector records)."""
    return float(agent.model.roster(agent.role).policy(name)[agent.index])


class StaffAgent(mesa.Agent):
    """A member of staff: capacity, a KPI, and decision variables learned from reward.

    Subclasses declare ``POLICY`` (decision variable -> (default, low, high)), their
    ``SILOED_KPI`` (what a siloed comp plan pays them for) and ``CAPACITY_PARAM``, and carry
    the role's weekly work as class methods that act on every agent of the role (or of one
    team) at once, through owner columns of the account pool: an agent holds no per-lead
    state, and no Python object exists per lead. Decision variables read as attributes
    (``agent.breadth``) and always give the policy in force this week; they are learned by the
    role's :class:`~alignsim.model.policy_learning.RoleLearner`, held by its :class:`Roster`.

    Attributes:
        role: short role name ("marketer", "sdr", "ae", "csm").
        pod: pod index (0 for everyone in the assembly line).
        index: position of the agent within its role (its owner id in the pools).
        capacity: work it can do per week when fully ramped, in ``CAPACITY_UNIT``.
        hired_week: week the agent was hired (-inf for the starting team).
        exploration_rng: the agent's own exploration stream (depends only on seed, role, index).
    """

    role: ClassVar[str] = "staff"
    POLICY: ClassVar[dict[str, tuple[float, float, float]]] = {}
    SILOED_KPI: ClassVar[str] = ""
    CAPACITY_PARAM: ClassVar[str] = ""
    CAPACITY_UNIT: ClassVar[str] = ""

    def __init__(self, model: GTMModel, index: int, pod: int, capacity: float, hired_week: float = -np.inf) -> None:
        super().__init__(model)
        self.index = index
        self.pod = pod
        self.capacity = capacity
        self.hired_week = hired_week
        # exploration stream of this person: the same in every cell (common random numbers)
        self.exploration_rng = agent_rng(model.seed, self.role, index)

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Each decision variable of a role reads as a property (``agent.breadth``): the policy in force."""
        super().__init_subclass__(**kwargs)
        for name in cls.POLICY:
            setattr(cls, name, property(functools.partial(_policy_in_force, name=name), doc=f"{name} in force"))

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
        full_capacity: weekly capacity of each agent once ramped, in ``cls.CAPACITY_UNIT``.
        hired_week: week each agent was hired (-inf for the starting team).
        capacity_per_head: full weekly capacity of one person of the role (what a hire will reach).
        default_policy: the role's status-quo decision variables (``cls.POLICY`` defaults).
        learner: learns every agent's decision variables (rows by owner id).
        capacity: weekly capacity of each agent this week (ramping hires: a share of ``full_capacity``).
        lending: share of each agent's week lent to another team's queue this week (M8).
        team_of_pod: team index of each pod.
        teams: member indices (owner ids) of each team.
    """

    def __init__(
        self,
        cls: type[StaffAgent],
        agents: list[StaffAgent],
        team_of_pod: np.ndarray,
        learning_rate: float = 0.1,
        exploration_sd: float = 0.3,
    ) -> None:
        self.cls = cls
        self.agents = agents
        self.team_of_pod = team_of_pod
        self.capacity_per_head = float(agents[0].capacity)
        names = tuple(cls.POLICY)
        self.default_policy, low, high = (np.array([cls.POLICY[n][i] for n in names]) for i in range(3))
        self.learner = RoleLearner(names, low, high, learning_rate=learning_rate, exploration_sd=exploration_sd)
        self.learner.add_agents(self.default_policy, [a.exploration_rng for a in agents])
        self._index_agents()
        self.lending = np.zeros(len(agents))
        self._policy: dict[str, np.ndarray] = {}
        self.refresh_policies()

    def _index_agents(self, added: list[StaffAgent] | None = None) -> None:
        """Owner-indexed arrays of every agent; with ``added`` (the agents just appended), extended by theirs."""
        agents = self.agents if added is None else added
        pod = np.array([a.pod for a in agents], dtype=np.int64)
        full_capacity = np.array([a.capacity for a in agents], dtype=float)
        hired_week = np.array([a.hired_week for a in agents], dtype=float)
        if added is not None:  # a hire changes no one else's entry: append, not rebuild (hiring is weekly work)
            pod = np.concatenate((self.pod, pod))
            full_capacity = np.concatenate((self.full_capacity, full_capacity))
            hired_week = np.concatenate((self.hired_week, hired_week))
        self.pod, self.full_capacity, self.hired_week = pod, full_capacity, hired_week
        self.capacity = self.full_capacity.copy()
        team = self.team_of_pod[self.pod]
        self.teams = [np.flatnonzero(team == t) for t in range(self.team_of_pod.max() + 1)]

    @property
    def role(self) -> str:
        """Short role name."""
        return self.cls.role

    @property
    def n(self) -> int:
        """Number of agents of the role."""
        return len(self.agents)

    def add(self, agents: list[StaffAgent], policy: np.ndarray) -> None:
        """Append new hires (their ``index`` must continue the owner ids) starting with ``policy``.

        ``policy`` is one row of decision variables for all hires, or one row each; lending resets for the week.
        """
        self.learner.add_agents(policy, [a.exploration_rng for a in agents])
        self.agents.extend(agents)
        self._index_agents(agents)
        self.lending = np.zeros(self.n)
        self.refresh_policies()

    def ramp(self, week: float, ramp_weeks: float) -> None:
        """This week's capacity: hires ramp linearly to full capacity over ``ramp_weeks`` (Bridge Group ramps)."""
        if ramp_weeks <= 0:
            self.capacity = self.full_capacity.copy()
            return
        self.capacity = self.full_capacity * np.clip((week - self.hired_week) / ramp_weeks, 0.0, 1.0)

    def refresh_policies(self) -> None:
        """Re-read every agent's policy in force (after a review or a what-if)."""
        in_force = self.learner.in_force  # agents x decision variables
        self._policy = {name: in_force[:, i].copy() for i, name in enumerate(self.learner.names)}

    def incumbent(self, learning_mode: str) -> np.ndarray:
        """Incumbent policies, agents x variables: without this quarter's exploration; learning "off": the fixed policy.

        With learning off no trial ever starts, so the policy in force is exactly the one set, even at
        a bound (the learner's incumbent holds its logit, a margin inside the bound).
        """
        return self.learner.in_force if learning_mode == "off" else self.learner.policy

    def policy(self, name: str) -> np.ndarray:
        """Decision variable ``name`` in force for every agent, by owner index."""
        return self._policy[name]
