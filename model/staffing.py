"""Staffing: one hiring rule, identical in every cell, and what the staff cost.

With ``hiring="plan"`` (the default) the company hires as it grows; every cell follows the same
rule, so fairness between designs is "the same staffing rule", and firm value charges each cell
for what it hires (domain.md, "Staffing as companies grow"):

- **CSMs** are hired to hold ``csm_coverage_arr_usd`` of ARR each (SaaStr, Gainsight, TSIA:
  $1-2M ARR per CSM in mid-market): target = ceil(ARR / coverage).
- **S&M** (marketers, SDRs, AEs) follows a budget rule: the yearly S&M budget is
  ``sm_budget_share_of_arr`` x ARR (KeyBanc SaaS survey, public SaaS filings: S&M ~40-50% of
  revenue at growth stage). What the trailing quarter's programme spend (annualised) leaves of it
  is payroll; the payroll buys heads in the starting team's role mix, except that marketers stop
  where their reach covers the whole market (``market_headroom``) and the rest goes to SDRs and AEs.
- Nobody is fired (a downturn leaves the company over-staffed: part of what a design costs).
- New hires cost their full salary from day one, plus a one-off ``hiring_cost_share`` of it, and
  ramp linearly to full capacity (``ramp_weeks_*``; Bridge Group: AE ~5 months, SDR ~3).
- **Pods**: a hire joins the pod with the fewest people of that role (lowest index on a tie), so
  pods grow evenly and no pod borrows another's capacity (a design choice: growing pods rather
  than adding whole new pods keeps each account's pod fixed for life).

New hires start from the mean policy of their team (they learn the team's ways), then learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from alignsim.model.metrics import programme_usd

if TYPE_CHECKING:
    from alignsim.agents.base import Roster
    from alignsim.model.model import GTMModel

PROGRAMME_WINDOW_WEEKS = 13  # programme spend is read over the trailing quarter


def annual_cost_usd(m: GTMModel, roster: Roster) -> float:
    """Fully loaded yearly cost of one person of ``roster``'s role, USD."""
    return m.p[f"cost_{roster.role}_usd_per_year"]


def payroll_usd_per_week(m: GTMModel, rosters: tuple[Roster, ...]) -> float:
    """Weekly payroll of everyone in ``rosters`` (ramping hires cost in full)."""
    return sum(annual_cost_usd(m, r) * r.n for r in rosters) / 52.0


def ramp_all(m: GTMModel) -> None:
    """Set this week's capacity of every roster (hires ramp to full capacity)."""
    for roster in m.rosters:
        roster.ramp(m.week, m.p[f"ramp_weeks_{roster.role}"])


def targets(m: GTMModel, programme_usd_per_year: float) -> dict[str, int]:
    """Headcount the staffing rule asks for, per role, at today's ARR.

    CSMs: ceil(ARR / coverage). S&M: the payroll the budget leaves after programme spend buys heads
    in the starting role mix; marketers are capped at the number whose reach covers the whole
    market (a marketer reaching nobody would be pure cost), and what the cap frees goes to SDRs and
    AEs in their mix.
    """
    p = m.p
    wanted = {"csm": int(np.ceil(m.arr_usd / p["csm_coverage_arr_usd"]))}
    payroll = max(p["sm_budget_share_of_arr"] * m.arr_usd - programme_usd_per_year, 0.0)
    marketer_cap = int(np.ceil(p["market_headroom"] * m.starting_headcount["marketer"]))
    rosters = [m.marketers, m.sdrs, m.aes]
    heads = _buy_heads(m, rosters, payroll)
    if heads["marketer"] > marketer_cap:
        heads = {"marketer": marketer_cap}
        rest = payroll - marketer_cap * annual_cost_usd(m, m.marketers)
        heads.update(_buy_heads(m, [m.sdrs, m.aes], rest))
    return {**wanted, **heads}


def _buy_heads(m: GTMModel, rosters: list[Roster], payroll_usd_per_year: float) -> dict[str, int]:
    """Heads of ``rosters`` that ``payroll_usd_per_year`` buys in their starting mix (rounded to the nearest)."""
    start = np.array([m.starting_headcount[r.role] for r in rosters], dtype=float)
    mix = start / start.sum()
    cost_per_head = float(sum(share * annual_cost_usd(m, r) for share, r in zip(mix, rosters, strict=True)))
    heads = payroll_usd_per_year / cost_per_head
    return {r.role: int(np.floor(heads * share + 0.5)) for share, r in zip(mix, rosters, strict=True)}


def review(m: GTMModel) -> None:
    """Every ``hiring_review_weeks``: hire up to the staffing rule's targets (``hiring="plan"`` only)."""
    p = m.p
    if p["hiring"] != "plan" or m.week % p["hiring_review_weeks"] != 0 or m.week == 0:
        return
    window = slice(max(m.week - PROGRAMME_WINDOW_WEEKS, 0), m.week)
    mqls, reached = m.series.data["mqls"][window], m.series.data["reached"][window]
    programme = programme_usd(p, mqls.sum(), reached.sum()) * 52.0 / max(len(mqls), 1)
    wanted = targets(m, programme)
    for roster in m.rosters:
        hire(m, roster, wanted[roster.role] - roster.n)


def hire(m: GTMModel, roster: Roster, count: int) -> None:
    """Hire ``count`` people into ``roster`` (none if ``count`` <= 0), each into its role's smallest pod."""
    if count <= 0:
        return
    per_pod = np.bincount(roster.pod, minlength=m.n_pods)
    incumbent = roster.incumbent(m.learning_mode)
    team_ways: dict[int, np.ndarray] = {}  # team -> its mean incumbent policy, computed once per hiring round
    new, policy = [], []
    for _ in range(count):
        pod = int(np.argmin(per_pod))
        per_pod[pod] += 1
        new.append(roster.cls(m, roster.n + len(new), pod, roster.capacity_per_head, hired_week=float(m.week)))
        # a hire adopts its team's ways: the mean incumbent policy of the team it joins
        team = int(roster.team_of_pod[pod])
        if team not in team_ways:
            team_ways[team] = incumbent[roster.teams[team]].mean(axis=0)
        policy.append(team_ways[team])
    # the mean of values at a bound can round past it
    roster.add(new, np.clip(policy, roster.learner.low, roster.learner.high))
    m.tally["hires"] += count
    m.tally["hiring_cost_usd"] += count * m.p["hiring_cost_share"] * annual_cost_usd(m, roster)
