"""A verified policy learner for a whole role: evolution strategies in logit space, mirrored pairs, peers baseline.

One :class:`RoleLearner` holds every agent of a role as arrays (agents x decision variables).
Each trial (a quarter in the model) every agent works with a perturbed policy, is paid one or
two reward parts ("siloed", "shared", each with a weight) whenever they become known, and moves
its incumbent policy along its own perturbation in proportion to how much better than its
peers it did. The pieces, and why:

Unbounded coordinates. A decision variable x in [low, high] is learned as its logit z:
``x = low + (high - low) * sigmoid(z)``. Perturbations and updates are added to z, which has no
bound, so a reward that carries no information leaves z a martingale (zero-mean steps) at any
distance from a bound. Clipping x instead (the model's first learner, removed) kept only the steps that point
inwards at a bound and turns a random walk into drift. A value exactly at a bound has logit
-inf/+inf, so it is placed ``bound_margin`` of the range inside (default 1%: logit -4.6); the
price of the logit is that exploration and learning near a bound are slow (dx/dz = range x x(1-x)).

Baseline: peers on the same plan in the same period. Agent i's advantage on a reward part is
its reward minus the mean reward of the *other* agents paid that part for the same trial
(leave-one-out, so the baseline does not depend on i's own perturbation and the estimate stays
unbiased: REINFORCE with a baseline, Williams 1992). Anything common to the peers in that
period (a company-wide trend or shock, the company share of a diluted shared KPI) cancels
exactly, so a noisy company number still carries the gradient it has. An agent's persistent
edge over its peers (a bigger book, a better pod) is then removed by its own baseline: its first
peer-relative reward (that first payment teaches nothing; with mirrored pairs, below, the running
mean is of pair differences and starts at 0), then a running mean of them
(``own_baseline_weight``), so a constant per agent cancels exactly. An agent with no peers (a
group of one) is compared with its own history only. A reward a team shares (``shared_by``) is
judged the same way (``shared_peers=False``): the agents of *other* teams are paid other numbers,
with their own accounts' luck, so as peers they add noise instead of removing it (measured, pods:
end-policy z for breadth -0.1 with cross-team peers against -2.7 without, 24 seeds).

Mirrored pairs: the estimator (``antithetic``, ``pair_difference``, ``pair_baseline``; default on).
Every second trial the agents of the trial before try the mirror image of their last perturbation
(+eps, then -eps; Salimans et al. 2017, sec. 2.1), and the pair is learned from once, when both
halves are paid: the advantage is the difference of the agent's two peer-relative rewards, along
the first half's direction, minus the agent's running mean of its earlier pair differences (weight
``own_baseline_weight``, starting at 0). The difference removes whatever the two halves share, the
slowly moving level of a team's number included, which a running mean of single rewards removes
only after many trials; the running mean of differences removes the growth between the two halves
that a trend leaves in every pair. A pair teaches once per two trials (about 10 updates in five
quarterly years), so the fastest possible movement halves; a shared part paid 78 weeks late is held
until its partner is paid; a hire whose first trial is a pair's second half (a fresh draw) learns
nothing from it, nor does a pair whose second half is unpaid when the run ends. Measured on a probe
branch before help at the AE queue (48 paired seeds, 260 weeks, shared KPIs, end policy reward -
placebo, z): breadth and SDR threshold -2.4 / +1.4 (assembly line), -3.6 / +1.4 (pods), all in firm
value's direction, against -1.2 / -0.2 and -0.5 / +0.6 with single trials and the peers baseline;
siloed directions unchanged in sign and stronger (z 30-38). Peers remain for siloed rewards, so a
company-wide shock within a period still cancels exactly.

Learning speed follows how much a decision matters. The advantage is in reward units and is
divided by one scale per reward part (KPI) for the whole role: a slowly adapting root mean square
of the advantages across peers, per period (``scale_weight`` = weight of the newest period). The
update is ``z_i += learning_rate * weight_part * (A_i / scale_part) * eps_i``, with ``eps_i`` the
agent's standard-normal direction (perturbation ``exploration_sd * eps_i`` in logit units). Its
expectation is ``learning_rate * exploration_sd * dR/dz / scale``: proportional to the reward's
sensitivity to the variable over the KPI's spread (a signal-to-noise ratio), so within one KPI a
variable with a 10x larger effect starts 10x faster, and a noisier KPI, or one in which team-mates'
choices add noise, teaches more slowly. Once one variable's own effect dominates the KPI's spread,
the scale grows with it and its speed saturates near ``learning_rate`` logit units per learned pair (a
trust region: no decision moves much faster than that, however much it matters). There is no
per-agent z-score against the agent's own history and no clip at +-3 (as the first learner had): the
scale includes the current period, which already bounds a single period's standardised
advantage (by sqrt(n / scale_weight) for n peers).

Known limits. Exploration in logit space optimises the Gaussian-smoothed reward, a little off
the true optimum (toy tests: 0.714 for 0.7). Update noise is ``learning_rate`` logit units per
trial wherever z is, while the gradient in z fades as x(1-x) towards a bound; so with a large
learning rate an agent that wanders deep towards a bound can stay there (toy, 20 agents, 300
trials: none at 0.1, some at 0.3). With 20 quarterly trials this is far away.

The estimator is the evolution-strategies gradient (Salimans, Ho, Chen, Sidor & Sutskever 2017,
"Evolution strategies as a scalable alternative to reinforcement learning", arXiv 1703.03864),
i.e. REINFORCE for a Gaussian search distribution (Williams 1992, "Simple statistical
gradient-following algorithms for connectionist reinforcement learning", Machine Learning 8).

Delays and hires. A trial is identified by a key (the model's start week); each reward part is
paid by :meth:`RoleLearner.pay` whenever it is known, so several trials can be pending and the
shared part can arrive long after the siloed part. A late reward moves the *current*
incumbent along the old perturbation (asynchronous stochastic gradient). Agents are only ever
appended (:meth:`RoleLearner.add_agents`); a hire takes part from the next trial it sees start.

Common random numbers: every :meth:`RoleLearner.start_trial` draws exactly one standard normal per
decision variable from each member's own exploration stream, whatever the reward parts, so an
agent explores with the same draws in every cell.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

__all__ = ["RoleLearner"]


@dataclass
class _Trial:
    """A trial awaiting (part of) its reward.

    Attributes:
        members: agents 0..members-1 took part (later hires did not).
        eps: standard-normal perturbation directions, members x variables (logit units / exploration_sd).
        weights: reward parts still to be paid -> their weight.
    """

    members: int
    eps: np.ndarray
    weights: dict[str, float]
    pair: int = -1
    half: int = 0


@dataclass
class _Paid:
    """Running sums over every paid (agent, pair) of one reward part, for the reward-perturbation correlation."""

    n: int
    s_a: float
    s_aa: float
    s_e: np.ndarray
    s_ee: np.ndarray
    s_ae: np.ndarray


class RoleLearner:
    """Policy learner of every agent of one role (arrays agents x decision variables).

    Args:
        names: decision-variable names.
        low: lower bound of each variable (policy units).
        high: upper bound of each variable (policy units), > low.
        learning_rate: logit units moved per unit of standardised advantage along a unit
            perturbation direction (under an uninformative reward, the s.d. of one full-weight
            update of z is ``learning_rate``).
        exploration_sd: s.d. of the perturbation in logit units (0.32 is about 0.08 of the
            range at the middle of the range, dx/dz = range / 4 there).
        scale_weight: weight of the newest period in each reward part's scale (0 < w <= 1).
        own_baseline_weight: weight of the newest trial in each agent's own baseline of its
            peer-relative advantage; the baseline starts at the agent's first one (0: it stays there).
        bound_margin: share of the range inside which a value at (or beyond) a bound is placed
            when converted to logit units (0 < m < 0.5).
        antithetic: every second trial, the agents of the trial before try the mirror image of
            its perturbation (mirrored sampling).
        shared_peers: a reward shared by a team (``shared_by`` in :meth:`pay`) is judged against the
            agents of the group in other teams (True), or, like an agent with no peers, against the
            agent's own running mean only (False: the other teams' own noise is not added).
        pair_difference: with ``antithetic``, the two trials of a mirrored pair are learned from
            together, once both are paid: the advantage is the difference of the agent's two
            (peer-relative) rewards, along the first trial's direction, instead of each reward
            minus the agent's running mean (antithetic estimator). A trial without a partner (a
            hire's first, fresh draw) teaches nothing.
        pair_baseline: with ``pair_difference``, each pair difference is judged against the agent's
            running mean of its earlier pair differences (weight ``own_baseline_weight``; it starts
            at 0): a trend in the reward leaves a difference of one trial's growth in every pair,
            which this removes (a detrended antithetic estimator).
        history: trials of incumbent snapshots kept for :meth:`diagnostics` drift windows.

    Attributes:
        names: decision-variable names.
        low: lower bounds.
        high: upper bounds.
        z: incumbent policies in logit units, agents x variables.
        in_force: policies in force this trial, policy units, agents x variables.
        rngs: each agent's exploration stream.
    """

    def __init__(
        self,
        names: Sequence[str],
        low: Sequence[float] | np.ndarray,
        high: Sequence[float] | np.ndarray,
        *,
        learning_rate: float = 0.1,
        exploration_sd: float = 0.3,
        scale_weight: float = 0.2,
        own_baseline_weight: float = 0.2,
        bound_margin: float = 0.01,
        antithetic: bool = True,
        shared_peers: bool = False,
        pair_difference: bool = True,
        pair_baseline: bool = True,
        history: int = 64,
    ) -> None:
        self.names = tuple(names)
        self.low = np.asarray(low, dtype=float)
        self.high = np.asarray(high, dtype=float)
        v = len(self.names)
        if self.low.shape != (v,) or self.high.shape != (v,) or not np.all(self.high > self.low):
            raise ValueError("low and high need one value per variable, with high > low")
        if not 0.0 < scale_weight <= 1.0 or not 0.0 <= own_baseline_weight <= 1.0 or not 0.0 < bound_margin < 0.5:
            raise ValueError("need 0 < scale_weight <= 1, 0 <= own_baseline_weight <= 1, 0 < bound_margin < 0.5")
        if learning_rate < 0.0 or exploration_sd < 0.0:
            raise ValueError("learning_rate and exploration_sd must be >= 0")
        self.learning_rate = float(learning_rate)
        self.exploration_sd = float(exploration_sd)
        self.scale_weight = float(scale_weight)
        self.own_baseline_weight = float(own_baseline_weight)
        self.bound_margin = float(bound_margin)
        self.antithetic = bool(antithetic)
        self.shared_peers = bool(shared_peers)
        self.pair_difference = bool(pair_difference)
        self.pair_baseline = bool(pair_baseline)
        if self.pair_difference and not self.antithetic:
            raise ValueError("pair_difference needs antithetic pairs")
        self._pairs_started = 0
        self._eps_in_force: np.ndarray | None = None  # the perturbation of the trial now in force
        # (pair, part) -> (half, rewards, groups, teams) of the half paid first, raw: both halves are made
        # peer-relative over the agents present in both, so a hire in one half shifts neither
        self._halves: dict[tuple[int, str], tuple[int, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._mirror: np.ndarray | None = None  # directions of the last unmirrored trial, its members x variables
        self.z = np.zeros((0, v))
        self.in_force = np.zeros((0, v))
        self.rngs: list[np.random.Generator] = []
        self._pending: dict[Hashable, _Trial] = {}
        self._trials_started = 0
        self._scale2: dict[str, float] = {}  # reward part -> mean square advantage, reward units^2
        self._own: dict[str, np.ndarray] = {}  # reward part -> each agent's baseline of its peer-relative advantage
        self._paid: dict[str, _Paid] = {}
        # variance each agent's z would have accumulated if its advantages were unrelated to its
        # perturbations (the placebo noise band), logit units^2, cumulative
        self._placebo_var = np.zeros(0)
        # (trial number, incumbent z, cumulative placebo variance) at each trial start
        self._snapshots: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=history + 1)

    # ---------------------------------------------------------------- agents and policies
    @property
    def n(self) -> int:
        """Number of agents."""
        return len(self.rngs)

    def to_logit(self, x: np.ndarray, j: int | None = None) -> np.ndarray:
        """Policy units -> logit units (values within ``bound_margin`` of a bound are moved that far inside).

        ``x`` holds every variable in its last axis, or only variable ``j`` if ``j`` is given.
        """
        low, high = (self.low, self.high) if j is None else (self.low[j], self.high[j])
        u = (np.asarray(x, dtype=float) - low) / (high - low)
        return logit(np.clip(u, self.bound_margin, 1.0 - self.bound_margin))

    def to_policy(self, z: np.ndarray) -> np.ndarray:
        """Logit units -> policy units."""
        return self.low + (self.high - self.low) * expit(z)

    @property
    def policy(self) -> np.ndarray:
        """Incumbent policies in policy units, agents x variables (a copy)."""
        return self.to_policy(self.z)

    def value(self, name: str) -> np.ndarray:
        """Decision variable ``name`` in force for every agent (policy units, a copy)."""
        return self.in_force[:, self.names.index(name)].copy()

    def add_agents(self, policy: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Append agents (new hires) with incumbent ``policy`` in force until their first trial.

        Args:
            policy: starting policy in policy units, one row per new agent (or one row for all).
            rngs: each new agent's exploration stream.

        Returns:
            The new agents' indices.
        """
        k = len(rngs)
        x = np.broadcast_to(np.asarray(policy, dtype=float), (k, len(self.names))).copy()
        if np.any(x < self.low) or np.any(x > self.high):
            raise ValueError("policy outside the variables' bounds")
        first = self.n
        self.z = np.vstack([self.z, self.to_logit(x)])
        self.in_force = np.vstack([self.in_force, x])  # exactly as given, even at a bound
        self.rngs.extend(rngs)
        self._placebo_var = np.concatenate([self._placebo_var, np.zeros(k)])
        for part in self._own:
            self._own[part] = np.concatenate([self._own[part], np.full(k, np.nan)])
        return np.arange(first, self.n)

    def set_policy(self, name: str, value: float | np.ndarray) -> None:
        """Put variable ``name`` at ``value`` (policy units), incumbent and in force, for every agent (a what-if).

        The incumbent is its logit, ``bound_margin`` inside a bound. With no trial exploring, the
        value in force is exact (even at a bound); during a trial it is the new incumbent plus the
        trial's perturbation, so the trial is still credited with the perturbation it tries. Rewards
        of trials still pending keep moving it.
        """
        j = self.names.index(name)
        values = np.broadcast_to(np.asarray(value, dtype=float), (self.n,))
        if np.any(values < self.low[j]) or np.any(values > self.high[j]):
            raise ValueError(f"{name}: value outside [{self.low[j]:g}, {self.high[j]:g}]")
        self.in_force[:, j] = values
        self.z[:, j] = self.to_logit(values, j)
        if self._eps_in_force is not None:
            n = len(self._eps_in_force)
            self.in_force[:n, j] = self.to_policy(self.z[:n] + self.exploration_sd * self._eps_in_force)[:, j]

    # ---------------------------------------------------------------- trials and rewards
    @property
    def pending(self) -> list[Hashable]:
        """Keys of trials with reward parts still to be paid, oldest first."""
        return list(self._pending)

    def start_trial(self, key: Hashable, weights: Mapping[str, float]) -> None:
        """Every agent draws a perturbation and works with the perturbed policy until the next trial.

        With ``antithetic``, trials come in pairs: in the second, the agents of the first try the
        mirror image of their first perturbation (the fresh draws are taken and not used).

        Args:
            key: identifies the trial in :meth:`pay` (the model's start week).
            weights: reward part ("siloed", "shared") -> its weight in the update; parts with
                weight 0 are not expected. With no part left the trial explores nothing (the
                draws are still taken, to keep exploration streams aligned across cells).
        """
        if key in self._pending:
            raise ValueError(f"trial {key!r} is already pending")
        v = len(self.names)
        eps = np.array([rng.standard_normal(v) for rng in self.rngs]).reshape(self.n, v)
        half = 0
        if self.antithetic and self._mirror is not None:
            # second half of a pair: the previous trial's members try the mirror image (hires a fresh draw)
            eps[: len(self._mirror)] = -self._mirror
            self._mirror = None
            half = 1
        elif self.antithetic:
            self._mirror = eps.copy()
            self._pairs_started += 1
        self._snapshots.append((self._trials_started, self.z.copy(), self._placebo_var.copy()))
        open_parts = {part: float(w) for part, w in weights.items() if w != 0.0}
        if not open_parts or self.n == 0:
            self.in_force = self.policy
            self._eps_in_force = None
        else:
            self.in_force = self.to_policy(self.z + self.exploration_sd * eps)
            self._eps_in_force = eps
            self._pending[key] = _Trial(self.n, eps, open_parts, self._pairs_started - 1, half)
        self._trials_started += 1

    def pay(
        self,
        key: Hashable,
        part: str,
        reward: np.ndarray,
        groups: np.ndarray | None = None,
        shared_by: np.ndarray | None = None,
    ) -> None:
        """Pay reward part ``part`` of trial ``key`` and update the incumbent policies.

        Args:
            key: the trial, as given to :meth:`start_trial`.
            part: the reward part ("siloed" or "shared").
            reward: each agent's reward in the part's own units, indexed by agent; entries beyond
                the trial's members (later hires) are ignored.
            groups: optional peer group of each agent (integers; default: all agents are peers).
                Agents are compared only with members of their own group.
            shared_by: optional team of each agent (integers) for a reward its members share: agents
                of one team are not each other's peers (their rewards are one number, which holds each
                member's own contribution). By default (``shared_peers=False``) every agent is then
                judged against its own history only; with ``shared_peers`` against the agents of its
                group in *other* teams, and its own running mean only if there are none (Holmstrom's
                team: each member's effect on the shared number is diluted by the others').

        The update moves the *current* incumbent along the trial's perturbation (a late reward
        applies an old gradient estimate to today's policy). With mirrored pairs the first half paid
        is held, raw, until its partner is paid; both halves are then made peer-relative over the
        agents present in both.

        Raises:
            KeyError: the trial is not pending or does not expect ``part``.
            ValueError: fewer rewards than the trial's members, or a reward that is not finite.
        """
        trial = self._pending[key]
        weight = trial.weights[part]  # KeyError for a part not expected (or already paid)
        m = trial.members
        r = np.asarray(reward, dtype=float)[:m]
        if len(r) < m or not np.all(np.isfinite(r)):
            raise ValueError(f"need {m} finite rewards for trial {key!r}, got {len(r)}")
        del trial.weights[part]
        if not trial.weights:
            del self._pending[key]
        group = np.zeros(m, dtype=np.int64) if groups is None else np.asarray(groups)[:m]
        if shared_by is None:
            team = np.arange(m)
        elif self.shared_peers:
            team = np.asarray(shared_by)[:m]
        else:  # one team per group: no agent has peers, each is judged against its own running mean
            team = np.zeros(m, dtype=np.int64)
        if self.pair_difference:
            other = self._halves.pop((trial.pair, part), None)
            if other is None:  # first of the pair to be paid: wait for its partner
                self._halves[(trial.pair, part)] = (trial.half, r, group, team)
                return
            m = min(len(r), len(other[1]))  # agents in both trials (hires join later)
            this_half = self._relative(r[:m], group[:m], team[:m])
            other_half = self._relative(other[1][:m], other[2][:m], other[3][:m])
            first, second = (other_half, this_half) if trial.half == 1 else (this_half, other_half)
            adv = first - second
            eps = trial.eps[:m] if trial.half == 0 else -trial.eps[:m]
            if self.pair_baseline:
                own = self._own.setdefault(part, np.zeros(self.n))
                if len(own) < self.n:
                    own = self._own[part] = np.concatenate([own, np.zeros(self.n - len(own))])
                mine = own[:m]  # a view: updated in place
                mine[np.isnan(mine)] = 0.0  # hires (add_agents marks them unset)
                adv = adv - mine
                mine += self.own_baseline_weight * adv
        else:
            adv = self._advantage(part, r, group, team)
            eps = trial.eps
        ms = float(np.mean(adv * adv))
        if ms > 0.0:  # a period in which every advantage is 0 carries no information and leaves the scale alone
            old = self._scale2.get(part)
            self._scale2[part] = ms if old is None else (1.0 - self.scale_weight) * old + self.scale_weight * ms
        scale2 = self._scale2.get(part, 0.0)
        std_adv = adv / np.sqrt(scale2) if scale2 > 0.0 else np.zeros(m)
        step = self.learning_rate * weight * std_adv
        self.z[:m] += step[:, None] * eps
        self._placebo_var[:m] += step * step
        self._record(part, std_adv, eps)

    def _advantage(self, part: str, r: np.ndarray, group: np.ndarray, team: np.ndarray) -> np.ndarray:
        """Reward minus the mean of the agent's peers (its group, other teams), minus the agent's own baseline."""
        m = len(r)
        if part not in self._own:
            self._own[part] = np.full(self.n, np.nan)
        rel = self._relative(r, group, team)
        own = self._own[part][:m]  # a view: updated in place
        fresh = np.isnan(own)
        own[fresh] = rel[fresh]  # an agent's first payment sets its baseline (and teaches nothing)
        adv = rel - own
        own += self.own_baseline_weight * adv
        return adv

    @staticmethod
    def _relative(r: np.ndarray, group: np.ndarray, team: np.ndarray) -> np.ndarray:
        """Reward minus the mean of the agent's peers (its group, other teams); the reward itself without peers."""
        m = len(r)
        _, first, inverse, size = np.unique(group, return_index=True, return_inverse=True, return_counts=True)
        # measured from one member of the group, so rewards every peer shares give exactly 0, not rounding error
        centred = r - r[first][inverse]
        total = np.bincount(inverse, centred, len(size))
        if m and team.dtype.kind == "i" and team.min() >= 0:
            # the columns (inverse, team) as one integer ordered alike: the same labels from a 1-d unique (~3x faster)
            key = inverse * (int(team.max()) + 1) + team
            _, mate, mate_size = np.unique(key, return_inverse=True, return_counts=True)
        else:
            _, mate, mate_size = np.unique(np.stack([inverse, team]), axis=1, return_inverse=True, return_counts=True)
        mate = mate.ravel()
        mate_total = np.bincount(mate, centred, len(mate_size))
        peers = size[inverse] - mate_size[mate]
        rel = np.zeros(m)
        has_peers = peers > 0
        other = (total[inverse] - mate_total[mate])[has_peers] / peers[has_peers]
        rel[has_peers] = centred[has_peers] - other
        rel[~has_peers] = r[~has_peers]  # no peers: the own baseline is the agent's running mean reward
        return rel

    def _record(self, part: str, std_adv: np.ndarray, eps: np.ndarray) -> None:
        paid = self._paid.get(part)
        if paid is None:
            v = eps.shape[1]
            paid = self._paid[part] = _Paid(0, 0.0, 0.0, np.zeros(v), np.zeros(v), np.zeros(v))
        paid.n += len(std_adv)
        paid.s_a += float(std_adv.sum())
        paid.s_aa += float(std_adv @ std_adv)
        paid.s_e += eps.sum(axis=0)
        paid.s_ee += (eps * eps).sum(axis=0)
        paid.s_ae += std_adv @ eps

    # ---------------------------------------------------------------- diagnostics
    def diagnostics(self, last: int = 4) -> pd.DataFrame:
        """Is each variable learned from its reward, and has it moved beyond noise?

        Args:
            last: drift window, in trials (the incumbent now vs at the start of the ``last``-th
                most recent trial; fewer if fewer were kept).

        Returns:
            One row per variable: ``corr_<part>`` the correlation of the standardised advantage
            with the perturbation direction over every (agent, pair) paid that part so far, and
            ``n_<part>`` their number (under no relation |corr| < 1.96 / sqrt(n) in 95% of runs);
            ``policy`` the mean incumbent (policy units); ``drift`` and ``drift_logit`` its mean
            change over the window (policy and logit units) among agents present at its start;
            ``drift_band_logit`` 1.96 x the s.d. that mean change would have had if every advantage
            had been unrelated to the perturbations (a placebo reward of the same size);
            ``moved``: |drift_logit| beyond that band; ``window_trials``: the window used.
        """
        frame = pd.DataFrame(index=pd.Index(self.names, name="variable"))
        for part, paid in self._paid.items():
            cov = paid.n * paid.s_ae - paid.s_a * paid.s_e
            var = (paid.n * paid.s_aa - paid.s_a**2) * (paid.n * paid.s_ee - paid.s_e**2)
            with np.errstate(invalid="ignore", divide="ignore"):
                frame[f"corr_{part}"] = np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
            frame[f"n_{part}"] = paid.n
        frame["policy"] = self.policy.mean(axis=0) if self.n else np.nan
        drift = self._drift(last)
        if drift is not None:
            frame["drift"], frame["drift_logit"], frame["drift_band_logit"], window = drift
            frame["moved"] = self.moved(last)
            frame["window_trials"] = window
        return frame

    def moved(self, last: int = 4) -> np.ndarray:
        """Per variable: has the mean incumbent drifted beyond the noise band over the last ``last`` trials?

        The ``moved`` column of :meth:`diagnostics` without building the frame (every summary asks).
        """
        drift = self._drift(last)
        if drift is None:
            return np.zeros(len(self.names), dtype=bool)
        return np.abs(drift[1]) > drift[2]

    def _drift(self, last: int) -> tuple[np.ndarray | float, np.ndarray | float, float, int] | None:
        """(drift in policy units, drift in logit units, the noise band in logit units, window trials), or None."""
        if not (self._snapshots and self.n):
            return None
        number, z_then, var_then = self._snapshots[-min(max(last, 1), len(self._snapshots))]
        k = len(z_then)
        drift = (self.to_policy(self.z[:k]) - self.to_policy(z_then)).mean(axis=0) if k else np.nan
        drift_logit = (self.z[:k] - z_then).mean(axis=0) if k else np.nan
        band = 1.96 * np.sqrt(np.sum(self._placebo_var[:k] - var_then)) / max(k, 1)
        return drift, drift_logit, band, self._trials_started - number
