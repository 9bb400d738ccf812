"""How staff adapt their decision variables to the reward their KPI gives them.

Each agent runs quarter-long policy trials: it perturbs its policy, works a quarter with
the perturbed policy, and moves its policy towards the perturbation in proportion to the
standardised reward it earned (an evolution-strategies / REINFORCE estimate of the reward
gradient; Salimans et al. 2017). A siloed KPI is personal and known when the quarter ends;
the shared KPI (LTV of the accounts touched: revenue collected plus projected) is known only
``shared_reward_horizon_weeks`` after the trial started and is partly the company's
number, not the agent's own (dilution). Both are properties of the reward only: the
learning rule is the same for every regime, which is what lets outcomes emerge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RunningScale:
    """Exponentially weighted mean and variance used to standardise a reward stream.

    Attributes:
        weight: weight of the newest observation.
        mean: current mean (NaN before the first observation).
        var: current variance.
    """

    weight: float = 0.3
    mean: float = float("nan")
    var: float = 0.0

    def standardise(self, reward: float) -> float:
        """Return ``reward`` as a z-score against the past, then absorb it."""
        if np.isnan(self.mean):
            self.mean, self.var = reward, (0.1 * abs(reward)) ** 2 + 1e-12
            return 0.0
        z = (reward - self.mean) / np.sqrt(self.var + 1e-12)
        delta = reward - self.mean
        self.mean += self.weight * delta
        self.var = (1 - self.weight) * (self.var + self.weight * delta * delta)
        return float(np.clip(z, -3.0, 3.0))


@dataclass
class Trial:
    """One quarter-long policy trial awaiting its reward.

    Attributes:
        start_week: first week of the trial.
        end_week: first week after the trial.
        step: perturbation tried, in policy units.
        open_parts: reward parts ("siloed", "shared") not yet paid.
    """

    start_week: int
    end_week: int
    step: np.ndarray
    open_parts: set[str] = field(default_factory=set)


@dataclass
class PolicyLearner:
    """Policy-gradient hill climbing over a box of decision variables.

    Attributes:
        names: decision-variable names.
        low: lower bounds.
        high: upper bounds.
        policy: the incumbent policy.
        trial_policy: the policy in force during the current trial.
    """

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    policy: np.ndarray
    trial_policy: np.ndarray = field(init=False)
    pending: list[Trial] = field(default_factory=list)
    siloed_scale: RunningScale = field(default_factory=RunningScale)
    shared_scale: RunningScale = field(default_factory=RunningScale)

    def __post_init__(self) -> None:
        self.trial_policy = self.policy.copy()

    def start_trial(
        self, week: int, review_weeks: int, exploration_sd: float, rng: np.random.Generator, parts: set[str]
    ) -> None:
        """Draw a perturbation and put the perturbed policy in force until the next review.

        ``parts`` are the reward parts this trial will be paid ("siloed", "shared").
        """
        step = rng.normal(0.0, exploration_sd, len(self.names)) * (self.high - self.low)
        self.trial_policy = np.clip(self.policy + step, self.low, self.high)
        self.pending.append(Trial(week, week + review_weeks, self.trial_policy - self.policy, set(parts)))

    def pay(self, start_week: int, part: str, reward: float, weight: float, learning_rate: float) -> None:
        """Pay one part of a trial's reward: move the policy along its step by weight x z-score.

        Each part is standardised against its own history and applied when it is known, so a
        small shared weight cannot delay the siloed part (and vice versa).
        """
        trial = next((t for t in self.pending if t.start_week == start_week), None)
        if trial is None or part not in trial.open_parts:
            return
        scale = self.siloed_scale if part == "siloed" else self.shared_scale
        z = scale.standardise(reward)
        self.policy = np.clip(self.policy + learning_rate * weight * z * trial.step, self.low, self.high)
        trial.open_parts.discard(part)
        if not trial.open_parts:
            self.pending.remove(trial)

    def adopt(self, policy: np.ndarray) -> None:
        """Take ``policy`` as incumbent and in force (a new hire adopting its team's ways)."""
        self.policy = np.clip(np.asarray(policy, dtype=float), self.low, self.high)
        self.trial_policy = self.policy.copy()

    def value(self, name: str) -> float:
        """The decision variable ``name`` as currently in force."""
        return float(self.trial_policy[self.names.index(name)])
