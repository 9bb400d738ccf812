"""Help across teams (M8, seeds 000, 003): a team whose queue is in trouble asks; the team's other roles lend.

Two queues can ask for help each week, both judged before anyone lends (on this week's ramped
capacity, before lending):

- a team's **SDR queue** is in trouble when its ready leads exceed ``help_trigger_weeks`` of its
  SDRs' weekly capacity; its marketers and AEs then lend ``help_share`` of their week;
- a team's **AE queue** is in trouble when its ready SQLs exceed ``help_trigger_weeks`` of its intake
  (its opportunity slots turned over once per mean sales cycle); its SDRs (first calls, discovery)
  and CSMs (technical validation, references) then lend.

A role whose own queue is in trouble lends nothing new: AEs and SDRs would otherwise swap capacity
with each other at ``help_efficiency`` and both lose. A lent person-week is worth ``help_efficiency``
of one unspecialised person of the helped role (a helper is no specialist: no M6 gain) times the
lender's own ramp. Help at the AE queue is paid for over the sales cycle: out of trouble, helpers
stay lent in proportion to the helped opportunities still open. Whether helping pays is learned,
not assumed: each helper's ``help_share`` is a decision variable judged by its plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from alignsim.agents.base import Roster
from alignsim.model.compiled import kernel
from alignsim.model.market import segment_values
from alignsim.model.pools import State

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel


def ask_for_help(m: GTMModel) -> None:
    """Set every roster's ``lending`` for this week, ``m.help_capacity`` (leads) and ``m.ae_help_slots``."""
    p = m.p
    on = p["help_efficiency"] > 0
    sdr_trouble = on & sdr_queue_in_trouble(m)
    ae_trouble = on & ae_queue_in_trouble(m)
    # the SDR queue: marketers always may lend, AEs only while their own queue is not in trouble
    m.help_capacity = np.zeros(len(sdr_trouble))
    per_lead_week = p["sdr_leads_per_week"] * p["help_efficiency"]
    for roster, scale in ((m.marketers, sdr_trouble), (m.aes, sdr_trouble & ~ae_trouble)):
        m.help_capacity += _lend(roster, m.sdrs, scale.astype(float)) * per_lead_week
    # the AE queue: helped opportunities still open keep their helpers lent, in trouble or not
    per_slot_week = p["ae_opportunity_slots"] * p["help_efficiency"]
    offered = sum(_offer(r, m.aes) for r in (m.sdrs, m.csms)) * per_slot_week
    m.help_carried_opportunities = carried_opportunities(m)
    needed = np.divide(m.help_carried_opportunities, offered, out=np.zeros(len(offered)), where=offered > 0)
    carry = np.minimum(needed, 1.0)
    m.ae_trouble = ae_trouble
    m.ae_help_slots = np.zeros(len(ae_trouble))
    for roster, scale in (
        (m.sdrs, np.where(ae_trouble & ~sdr_trouble, 1.0, carry)),
        (m.csms, np.where(ae_trouble, 1.0, carry)),
    ):
        m.ae_help_slots += _lend(roster, m.aes, scale) * per_slot_week
    m.tally["ae_help_weeks"] += int(ae_trouble.sum())


def sdr_queue_in_trouble(m: GTMModel) -> np.ndarray:
    """Per SDR team: ready leads > ``help_trigger_weeks`` x the team's SDR capacity this week."""
    sdrs = m.sdrs
    backlog = _ready_per_team(m, State.LEAD, sdrs)  # leads still in routing delay are no one's backlog yet
    capacity = np.array([sdrs.capacity[members].sum() for members in sdrs.teams])
    return backlog > m.p["help_trigger_weeks"] * capacity


def ae_queue_in_trouble(m: GTMModel) -> np.ndarray:
    """Per AE team: ready SQLs > ``help_trigger_weeks`` x the team's intake per week (slots / mean cycle).

    Like the SDR queue's, the backlog counts every ready SQL, this week's arrivals included: newest
    first, a queue whose arrivals exceed what its AEs take keeps its excess small by letting it
    expire, so a backlog net of this week's free slots would rarely show the trouble it is in.
    """
    aes = m.aes
    backlog = _ready_per_team(m, State.SQL, aes)
    slots = np.array([np.floor(aes.capacity[members]).sum() for members in aes.teams])
    return backlog > m.p["help_trigger_weeks"] * slots / mean_cycle_weeks(m.p)


def carried_opportunities(m: GTMModel) -> np.ndarray:
    """Open opportunities each AE team's lent help carries (owner -1)."""
    acc, aes = m.accounts, m.aes
    opp = acc.where(State.OPPORTUNITY)
    return np.bincount(aes.team_of_pod[acc.pod[opp[acc.ae[opp] < 0]]], minlength=len(aes.teams)).astype(float)


def _ready_per_team(m: GTMModel, state: State, roster: Roster) -> np.ndarray:
    """Rows in ``state`` whose routing delay has passed by the end of this week, per team of ``roster``."""
    acc = m.accounts
    rows = acc.where(state)
    return _count_ready(rows, acc.ready_week, m.week + 1, roster.team_of_pod, acc.pod, len(roster.teams))


def _ramp(roster: Roster) -> np.ndarray:
    """Each agent's share of its full capacity this week (a hire ramping up lends a ramping week)."""
    full = roster.full_capacity
    return np.divide(roster.capacity, full, out=np.zeros(len(full)), where=full > 0)


def _offer(lender: Roster, helped: Roster) -> np.ndarray:
    """Person-weeks each of ``helped``'s teams would get if every lender lent its whole help_share."""
    lending = lender.policy("help_share")
    return _lent_per_team(
        lender.pod, helped.team_of_pod, lending, lender.capacity, lender.full_capacity, len(helped.teams)
    )


def _lend(lender: Roster, helped: Roster, scale: np.ndarray) -> np.ndarray:
    """Set ``lender.lending`` (its help_share x its team's ``scale``); the person-weeks lent to each team."""
    lender.lending = _scaled_share(lender.pod, helped.team_of_pod, lender.policy("help_share"), scale)
    return _lent_per_team(
        lender.pod, helped.team_of_pod, lender.lending, lender.capacity, lender.full_capacity, len(helped.teams)
    )


@kernel
def _count_ready(rows, ready_week, week_end, team_of_pod, pod, n_teams):  # noqa: ANN001, ANN202
    counts = np.zeros(n_teams, dtype=np.int64)
    for r in rows:
        if ready_week[r] < week_end:
            counts[team_of_pod[pod[r]]] += 1
    return counts


@kernel
def _scaled_share(pod, team_of_pod, help_share, scale):  # noqa: ANN001, ANN202
    """Each lender's ``help_share`` times the ``scale`` of the team it would help."""
    out = np.empty(pod.shape[0])
    for i in range(pod.shape[0]):
        out[i] = help_share[i] * scale[team_of_pod[pod[i]]]
    return out


@kernel
def _lent_per_team(pod, team_of_pod, lending, capacity, full_capacity, n_teams):  # noqa: ANN001, ANN202
    """Person-weeks lent to each helped team: each lender's ``lending`` times its ramp (capacity / full)."""
    out = np.zeros(n_teams)
    for i in range(pod.shape[0]):
        ramp = capacity[i] / full_capacity[i] if full_capacity[i] > 0 else 0.0
        out[team_of_pod[pod[i]]] += lending[i] * ramp
    return out


def mean_cycle_weeks(p: dict[str, Any]) -> float:
    """Mean sales cycle over the prospect segment mix, weeks (an AE slot turns over about once per cycle)."""
    shares = np.array([p["share_smb"], 1.0 - p["share_smb"] - p["share_enterprise"], p["share_enterprise"]])
    return float(shares @ segment_values(p, "cycle") * p["sales_cycle_scale"])


def lent_fte(roster: Roster) -> float:
    """Full-time equivalents ``roster`` lends this week (help_share lent x ramp)."""
    return float((roster.lending * _ramp(roster)).sum())
