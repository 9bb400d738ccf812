"""GTMModel: the go-to-market organisation as a Mesa 3 model.

One tick is one week; :meth:`GTMModel.step` reads as the week's schedule (see docs/MODEL.md,
"Process overview"): staffing (hires, ramp) -> incidents -> help requests -> marketers -> SDRs ->
AEs (open, close) -> CSMs -> champions, revenue, renewals -> (every ``review_weeks``) rewards and
policy reviews -> data collection. What each role does lives on its agent class (agents/); customer-side
processes live in :mod:`alignsim.model.customers`.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Callable, MutableMapping
from typing import Any

import mesa
import numpy as np
import pandas as pd

from alignsim.agents import AE, CSM, ROLES, SDR, Marketer, Roster, StaffAgent
from alignsim.agents.ae import OVERPROMISE_EXPECTATION
from alignsim.agents.csm import POTENTIAL_SLOPE
from alignsim.model import customers, draws, metrics, queues, rewards, staffing
from alignsim.model.market import MarketStream, draw_fit, draw_segments, segment_values, share_key
from alignsim.model.params import DEFAULTS, shared_weight, validate
from alignsim.model.pools import AccountPool, State
from alignsim.model.team_help import ask_for_help

SUMMARY_METRICS = metrics.SUMMARY_METRICS
TIMESERIES_METRICS = metrics.TIMESERIES_METRICS


class GTMModel(mesa.Model):
    """A B2B SaaS go-to-market organisation whose LTV and churn emerge from incentives and structure.

    Args:
        structure: "assembly_line" or "pod".
        kpi: "siloed", "shared" or "blend" (with ``shared_kpi_weight``).
        seed: root seed; the market stream, the market block streams and every agent's exploration
            stream derive from it (each account's later luck from its key: model/draws.py).
        **params: any parameter declared in :mod:`alignsim.model.params` (validated; unknown
            names and out-of-range values raise ``ValueError``).

    Attributes:
        p: the full, validated parameter dict.
        week: weeks completed.
        accounts: the pool of every lead, opportunity and customer.
        marketers: roster of the marketers (arrays by owner id, teams); likewise ``sdrs``, ``aes``, ``csms``.
        rosters: the four rosters in the order of the week's work.
        arr_usd: annual recurring revenue of active contracts, USD.
        datacollector: Mesa DataCollector with the weekly series and each agent's policy.
    """

    def __init__(
        self, structure: str = "assembly_line", kpi: str = "siloed", seed: int | None = None, **params: Any
    ) -> None:
        self.p = validate({"structure": structure, "kpi": kpi, **params})
        # Mesa's own generators are unused (every draw comes from the numpy streams below); rng= is the
        # keyword Mesa 3.4+ keeps (seed= is deprecated there), and Mesa 3.3 accepts it too
        super().__init__(rng=seed)
        self.seed = seed
        # the market stream draws every prospect (and its key for later luck) in an order no policy,
        # structure or headcount changes; staff explore with their own streams (agents/base.py)
        market, *blocks = np.random.SeedSequence(seed).spawn(1 + self.p["market_headroom"])
        self.market_rng = np.random.default_rng(market)
        self.market = MarketStream([np.random.default_rng(s) for s in blocks], self.p, share_key(seed, self.p))
        self.world_key = draws.new_keys(self.market_rng, 1)  # company-level events (incidents)
        self.week = 0
        self.shared_weight = shared_weight(self.p)
        #: "reward", "placebo" or "off" (adaptive=False is off)
        self.learning_mode = self.p["learning"] if self.p["adaptive"] else "off"
        expected_rows = self.p["initial_customers"] + self.p["weeks"] * self.p["prospects_per_week"]
        self.accounts = AccountPool(capacity=int(min(expected_rows, 1 << 20)) + 1024)  # grows if needed
        self.arr_usd = 0.0
        self.tally: Counter = Counter()
        self._setup_organisation()
        self._setup_initial_customers()
        self.sm_payroll_usd_per_week = staffing.payroll_usd_per_week(self, (self.marketers, self.sdrs, self.aes))
        self.cs_payroll_usd_per_week = staffing.payroll_usd_per_week(self, (self.csms,))
        self.series = metrics.WeeklySeries(self.p["weeks"], self.n_pods)
        self.book_snapshots: dict[int, dict[str, np.ndarray]] = {}
        self.reward_due: dict[tuple[str, str, int], int] = {}  # (role, part, trial start) -> week paid
        self.help_capacity = np.zeros(len(self.sdrs.teams))
        self.ae_help_slots = np.zeros(len(self.aes.teams))  # M8: opportunity slots lent to each AE team
        self.ae_trouble = np.zeros(len(self.aes.teams), dtype=bool)
        self.help_carried_opportunities = np.zeros(len(self.aes.teams))  # M8: open helped opportunities per AE team
        if starts_from_status_quo(self.p):
            for role, policy in status_quo_policies(self.seed, self.p).items():
                for name, value in policy.items():
                    self.roster(role).learner.set_policy(name, value)
        if self.learning_mode != "off":
            self._start_trials()
        self._refresh_policies()
        self.datacollector = mesa.DataCollector(model_reporters={n: _reporter(n) for n in TIMESERIES_METRICS})
        # policies change only at reviews, so they are collected then (and at week 0), not weekly
        policy_reporters = {cls: {name: name for name in cls.POLICY} for cls in ROLES}
        self.policycollector = mesa.DataCollector(agenttype_reporters=policy_reporters)
        self.policycollector.collect(self)
        self.current: dict[str, float] = {}
        #: False skips the Mesa collectors (timeseries() and policies() then stay empty): the status-quo
        #: run needs only its final policies
        self.collecting = True

    # ---------------------------------------------------------------- set-up
    def _setup_organisation(self) -> None:
        p = self.p
        pods = p["n_pods"] if p["structure"] == "pod" else 1
        self.n_pods = pods
        self.info_sharing = p["info_sharing_pod"] if p["structure"] == "pod" else p["info_sharing_assembly"]
        self.handoff_keep = 1.0 - p["handoff_context_loss"] * (1.0 - self.info_sharing)
        self.handoff_delay = p["handoff_delay_weeks"] if p["structure"] == "assembly_line" else 0.0
        pooled = p["structure"] == "assembly_line" or p["pod_capacity_pooling"]
        team_of_pod = np.zeros(pods, dtype=np.int64) if pooled else np.arange(pods)
        # pooling lends SDR/AE capacity only; customers always stay with their pod's CSMs
        csm_team_of_pod = np.zeros(pods, dtype=np.int64) if p["structure"] == "assembly_line" else np.arange(pods)
        factor = 1.0 + p["specialisation_gain"] if p["structure"] == "assembly_line" else 1.0
        rosters = []
        for cls in ROLES:
            n = p[f"n_{cls.role}s"]
            # marketers share the market stream; specialists elsewhere get the M6 gain
            capacity = p[cls.CAPACITY_PARAM] / n if cls is Marketer else p[cls.CAPACITY_PARAM] * factor
            agents = [cls(self, i, i % pods, capacity) for i in range(n)]
            team = csm_team_of_pod if cls is CSM else team_of_pod
            rosters.append(Roster(cls, agents, team, p["learning_rate"], p["exploration_sd"]))
        self.rosters: tuple[Roster, ...] = tuple(rosters)
        self.marketers, self.sdrs, self.aes, self.csms = rosters
        self.starting_headcount = {r.role: r.n for r in rosters}
        self.champion_hazard_per_week = 1.0 - (1.0 - p["champion_turnover_per_year"]) ** (1.0 / 52.0)

    def _setup_initial_customers(self) -> None:
        """The installed base at week 0, drawn from the market stream.

        Each has survived ``k`` renewals (k uniform on 0..4) of its term (y years), so its annual
        propensity theta is drawn from the sBG posterior Beta(alpha, beta + k y) of a customer who
        survived k y years.
        """
        p, rng, n = self.p, self.market_rng, self.p["initial_customers"]
        key = draws.new_keys(rng, n)
        past = rng.integers(0, 5, n)
        segment = draw_segments(rng, n, p)
        fit = draw_fit(rng, n, p)
        term = p["contract_weeks"]
        theta = rng.beta(p["churn_alpha"], p["churn_beta"] + past * term / 52.0)
        renewal = rng.uniform(0.0, term, n)
        mrr = segment_values(p, "acv")[segment] * 0.9 / 12.0
        pod = np.arange(n) % self.n_pods
        rows = self.accounts.add(
            n,
            key=key,
            state=State.CUSTOMER,
            fit=fit,
            intent=0.0,
            theta=theta,
            segment=segment,
            pod=pod,
            context=self.handoff_keep**3,  # as if handed marketing -> SDR -> AE -> CSM
            created_week=renewal - term * (past + 1),
            acquired_week=renewal - term * (past + 1),
            renewal_week=renewal,
            contract_weeks=term,
            renewals=past,
            save_hours=0.0,
            discount=0.1,
            expectation=1.0 + p["overpromise_effect"] * OVERPROMISE_EXPECTATION * 0.2,
            list_acv_usd=segment_values(p, "acv")[segment],
            mrr_usd=mrr,
            initial_mrr_usd=mrr,
            value_realised=0.9 * (1.0 - POTENTIAL_SLOPE * p["fit_effect"] * (0.5 - fit)),
            relationship=0.5,
            incident_damage=0.0,
            revenue_usd=0.0,
            initial=True,
        )
        self.accounts.champions_lost[rows] = 0
        customers.schedule_champion_departure(self, rows, 0.0)
        CSM.take_on(self, rows)
        self.arr_usd = 12.0 * mrr.sum()

    # ---------------------------------------------------------------- policies
    def roster(self, role: str) -> Roster:
        """The roster of ``role`` ("marketer", "sdr", "ae" or "csm").

        Raises:
            ValueError: for an unknown role.
        """
        for roster in self.rosters:
            if roster.role == role:
                return roster
        raise ValueError(f"unknown role {role!r}; allowed: {', '.join(r.role for r in self.rosters)}")

    def _refresh_policies(self) -> None:
        for roster in self.rosters:
            roster.refresh_policies()

    def set_policy(self, role: str, name: str, value: float) -> GTMModel:
        """Put every ``role`` agent's decision variable ``name`` at ``value`` (a what-if; returns self).

        Raises:
            ValueError: for an unknown role or variable, or a value outside the variable's bounds.
        """
        roles = {r.role: r for r in self.rosters}
        if role not in roles or name not in roles[role].cls.POLICY:
            raise ValueError(f"unknown decision variable {role}.{name}")
        learner = roles[role].learner
        i = learner.names.index(name)
        if not learner.low[i] <= value <= learner.high[i]:
            raise ValueError(f"{role}.{name}: got {value!r}; allowed: [{learner.low[i]:g}, {learner.high[i]:g}]")
        learner.set_policy(name, value)
        self._refresh_policies()
        return self

    def policy(self, role: str, name: str) -> np.ndarray:
        """Decision variable ``name`` in force for every agent of ``role``, by owner index."""
        return self.roster(role).policy(name)

    # ---------------------------------------------------------------- a week
    def step(self) -> None:
        """Advance one week: the week's schedule."""
        self.tally.clear()
        self._staff_the_week()
        self.series.start_week(self)
        customers.incidents(self)
        closes_first = self.p["ae_slot_refill"] == "same_week"  # a slot freed this week takes an SQL this week
        if closes_first:
            self._close_deals()
        ask_for_help(self)
        Marketer.run_campaigns(self)
        self._sdrs_work()
        self._aes_work()
        self._close_deals()  # same_week: only deals opened this week whose cycle already ended (under a week)
        cust = self.accounts.where(State.CUSTOMER)  # one scan for the four: no state changes before renewals
        CSM.work_books(self, cust)
        customers.champions(self, cust)
        customers.accrue_week(self, cust)
        customers.renewals(self, cust)
        self.accounts.compact()
        self.week += 1
        if self.learning_mode != "off" and self.week % self.p["review_weeks"] == 0:
            self._review()
            if self.collecting:
                self.policycollector.collect(self)
        self.current = self.series.end_week(self)
        if self.collecting:
            self.datacollector.collect(self)
        if self.week >= self.p["weeks"]:
            self.running = False

    def _staff_the_week(self) -> None:
        """The staffing plan hires (on its review weeks); everyone's capacity ramps; payroll follows."""
        staffing.review(self)
        staffing.ramp_all(self)
        self.sm_payroll_usd_per_week = staffing.payroll_usd_per_week(self, (self.marketers, self.sdrs, self.aes))
        self.cs_payroll_usd_per_week = staffing.payroll_usd_per_week(self, (self.csms,))

    def _close_deals(self) -> None:
        """Opportunities whose cycle ends this week close; the won become customers and join a CSM's book."""
        won = AE.close_due(self)
        customers.onboard(self, won)
        CSM.take_on(self, won)

    def _sdrs_work(self) -> None:
        """Each SDR team works its own lead queue (one vectorised call per team); unworked leads may expire."""
        leads = queues.ready(self, State.LEAD)
        for team in range(len(self.sdrs.teams)):
            queue = queues.team_queue(self, leads, self.sdrs, team)
            if len(queue):
                SDR.work_queue(self, team, queue)
        queues.expire_unworked(self, leads, State.LEAD)

    def _aes_work(self) -> None:
        """Each AE team takes SQLs from its own queue into free slots; unworked SQLs may expire."""
        sqls = queues.ready(self, State.SQL)
        free = AE.free_slots(self)
        # M8: open opportunities each team's lent help carries; only the team's own help adds to its count
        carried = self.help_carried_opportunities  # set by ask_for_help this week; no opportunity has changed since
        for team, members in enumerate(self.aes.teams):
            queue = queues.team_queue(self, sqls, self.aes, team)
            if len(queue) and free[members].sum() > 0:
                AE.work_queue(self, team, queue, free)
            if self.ae_trouble[team] and len(queue):  # M8: lent help takes what the AEs could not
                AE.help_work_queue(self, team, queue[self.accounts.state[queue] == int(State.SQL)], int(carried[team]))
        queues.expire_unworked(self, sqls, State.SQL)

    # ---------------------------------------------------------------- learning
    def _start_trials(self) -> None:
        """Start every role's next policy trial and schedule when each part of its reward is paid.

        Every agent draws its perturbation whatever the reward parts (common random numbers);
        the siloed part is paid when the role's KPI is known, the shared part
        ``shared_reward_horizon_weeks`` after the trial began.
        """
        w, start = self.shared_weight, self.week
        weights = {"siloed": 1.0 - w, "shared": w}
        for roster in self.rosters:
            if weights["siloed"] > 0.0:
                siloed_due = start + self.p["review_weeks"] + roster.cls.siloed_delay_weeks(self)
                self.reward_due[(roster.role, "siloed", start)] = siloed_due
            if weights["shared"] > 0.0:
                self.reward_due[(roster.role, "shared", start)] = start + self.p["shared_reward_horizon_weeks"]
            roster.learner.start_trial(start, weights)
        self.book_snapshots[start] = rewards.book_snapshot(self)

    def _review(self) -> None:
        """Pay every reward part that has matured, then start new trials."""
        due = sorted(key for key, week in self.reward_due.items() if week <= self.week)
        for role, part, start in due:
            roster = self.roster(role)
            reward, shared_by = self.reward(role, part, start)
            roster.learner.pay(start, part, reward, shared_by=shared_by)
            del self.reward_due[(role, part, start)]
        waiting = {start for _, _, start in self.reward_due}
        for start in [s for s in self.book_snapshots if s not in waiting]:
            del self.book_snapshots[start]
        self._start_trials()
        self._refresh_policies()

    def reward(self, role: str, part: str, start: int) -> tuple[np.ndarray, np.ndarray | None]:
        """What each ``role`` agent is paid on reward part ``part`` for the trial begun at ``start``.

        Returns:
            The reward of each agent (siloed: its KPI, in the KPI's unit; shared: USD of value of its
            team's accounts per head of the team; placebo: standard normal noise keyed by seed, role,
            part and trial), and for the shared part each agent's team (agents of one team are paid the
            same number and are not each other's peers), else None.
        """
        end = start + self.p["review_weeks"]
        roster = self.roster(role)
        shared_by = roster.pod.copy() if part == "shared" else None
        if self.learning_mode == "placebo":
            return draws.placebo_reward(self.seed, role, part, start, roster.n), shared_by
        if part == "siloed":
            return roster.cls.siloed_kpi(self, start, end), None
        per_head = rewards.shared_value_per_head_usd(self, start, end)
        return per_head[roster.pod], shared_by

    def learning_diagnostics(self, last_weeks: int = 52) -> pd.DataFrame:
        """Is each decision variable learned from its reward, and has it settled?

        Args:
            last_weeks: drift window (rounded to whole trials).

        Returns:
            One row per role and variable: ``corr_siloed``/``corr_shared`` the correlation of
            the standardised advantage with the perturbation over every paid (agent, pair), with
            ``n_*`` their count (no relation: |corr| < 1.96/sqrt(n) in 95% of runs); ``policy`` the
            mean incumbent; ``drift`` its change over the last ``last_weeks`` (policy units);
            ``drift_band_logit`` the 95% band of that change (logit units) under a reward unrelated to
            the perturbations, and ``moved`` whether the drift left it. See
            :meth:`alignsim.model.policy_learning.RoleLearner.diagnostics`.
        """
        trials = self.learning_window_trials(last_weeks)
        frames = [r.learner.diagnostics(last=trials).reset_index().assign(role=r.role) for r in self.rosters]
        frame = pd.concat(frames, ignore_index=True).set_index(["role", "variable"])
        for part in ("siloed", "shared"):  # the same columns whatever was paid (NaN / 0 if nothing)
            frame[f"corr_{part}"] = frame.get(f"corr_{part}", np.nan)
            frame[f"n_{part}"] = frame.get(f"n_{part}", 0)
        first = ["corr_siloed", "n_siloed", "corr_shared", "n_shared"]
        return frame[first + [c for c in frame.columns if c not in first]]

    def learning_window_trials(self, last_weeks: int = 52) -> int:
        """The drift window of :meth:`learning_diagnostics`: ``last_weeks`` in whole trials (at least one)."""
        return max(1, round(last_weeks / self.p["review_weeks"]))

    # ---------------------------------------------------------------- running and results
    def run(self, on_week: Callable[[int], object] | None = None) -> GTMModel:
        """Run to the horizon (``weeks``) and release Mesa's id registry; returns self.

        Args:
            on_week: called with the week just finished after every step (a progress bar), or None.
        """
        while self.running and self.week < self.p["weeks"]:
            self.step()
            if on_week is not None:
                on_week(self.week)
        self.release()
        return self

    def release(self) -> None:
        """Drop this model from Mesa's class-level id registry, so a finished model can be freed.

        Mesa 3.3 keeps every model alive in ``Agent._ids`` (a dict keyed by model); later versions
        changed or dropped that attribute. Only a registry that is a mapping holding this model is
        touched, so this is a no-op wherever there is nothing to release, and it never raises.
        """
        for cls in (StaffAgent, mesa.Agent):
            registry = getattr(cls, "_ids", None)
            if not isinstance(registry, MutableMapping):
                continue
            with contextlib.suppress(TypeError, KeyError):  # a registry that refuses: nothing to release
                registry.pop(self, None)

    def summary(self) -> dict[str, float]:
        """Headline metrics of the run; definitions and units in :data:`alignsim.model.metrics.METRIC_INFO`."""
        return metrics.summarise(self)

    def customer_ledger(self) -> pd.DataFrame:
        """One row per customer ever acquired (see :func:`alignsim.model.metrics.customer_ledger`)."""
        return metrics.customer_ledger(self)

    def timeseries(self) -> pd.DataFrame:
        """Weekly model-level series collected by the DataCollector, indexed by week."""
        frame = self.datacollector.get_model_vars_dataframe()
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="week")
        return frame

    def policies(self) -> pd.DataFrame:
        """Each agent's decision variables at week 0 and after every review (long format).

        Columns: week (policy in force from this week on), agent, variable, value, role.
        """
        frames = []
        for cls in ROLES:
            wide = self.policycollector.get_agenttype_vars_dataframe(cls).reset_index()
            long = wide.melt(id_vars=["Step", "AgentID"], var_name="variable", value_name="value")
            frames.append(long.assign(role=cls.role))
        return pd.concat(frames, ignore_index=True).rename(columns={"Step": "week", "AgentID": "agent"})

    def check_invariants(self) -> None:
        """Raise AssertionError if the pools are inconsistent (tested every tick)."""
        metrics.check_invariants(self)


STATUS_QUO = {"structure": "assembly_line", "kpi": "siloed", "learning": "reward", "start_policy": "default"}
#: parameters an assembly line under siloed KPIs never reads (pods; the shared reward): the status quo is
#: computed at their defaults, so the cells of a sweep over one of them share one status-quo run
STATUS_QUO_UNREAD = (
    "n_pods",
    "info_sharing_pod",
    "pod_capacity_pooling",
    "shared_kpi_weight",
    "shared_reward_horizon_weeks",
)


def status_quo_policies(seed: int | None, params: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each role's mean learned policy after ``status_quo_weeks`` in the status quo (assembly line, siloed KPIs).

    The reorganisation experiment (issue 10): every cell starts from what the status-quo
    organisation has learned to do by week 0, then works and learns under its own structure and
    KPIs. Same seed and parameters as the cell, so all cells of a replicate start alike (common
    random numbers); a pure function of them, cached per process (a cell of the 2 x 2 reuses it).
    """
    items = tuple(sorted(status_quo_params(params).items()))
    return _status_quo_cached(seed, items) if seed is not None else _status_quo_cached.__wrapped__(seed, items)


def starts_from_status_quo(params: dict[str, Any]) -> bool:
    """Does a cell with parameters ``params`` start from the status quo's learned policies?

    When it adapts and ``start_policy`` is "status_quo" (with learning "off" too: its fixed policy is
    then the status quo's learned one).
    """
    return bool(params["adaptive"] and params["start_policy"] == "status_quo")


def status_quo_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of the status-quo run behind a cell with parameters ``params``.

    Cells whose status-quo parameters are equal share one status-quo run per seed.
    """
    unread = {name: DEFAULTS[name] for name in STATUS_QUO_UNREAD}
    return {**params, **unread, **STATUS_QUO, "weeks": params["status_quo_weeks"]}


@functools.lru_cache(maxsize=64)
def _status_quo_cached(seed: int | None, items: tuple[tuple[str, Any], ...]) -> dict[str, dict[str, float]]:
    model = GTMModel(seed=seed, **dict(items))
    model.collecting = False  # only the final policies are used
    model.run()
    return {
        r.role: dict(zip(r.learner.names, r.learner.policy.mean(axis=0).tolist(), strict=True)) for r in model.rosters
    }


def _reporter(name: str):
    return lambda m: m.current[name]
