"""The four roles. Each declares its decision variables and what a siloed plan pays for.

Defaults are the policy everyone keeps when ``adaptive=False``; bounds keep learning
inside plausible behaviour.
"""

from __future__ import annotations

from alignsim.agents.base import StaffAgent


class Marketer(StaffAgent):
    """Runs campaigns that turn reached prospects into MQLs (M1, M2).

    Decision variables:
        breadth: 0 = only the best-fitting prospects, 1 = everyone who engages (volume).
        help_share: share of capacity lent to a swamped SDR queue (M8).
    """

    role = "marketer"
    POLICY = {"breadth": (0.5, 0.0, 1.0), "help_share": (0.0, 0.0, 0.5)}
    SILOED_KPI = "MQLs created (vanity) or MQLs accepted as SQLs"
    CAPACITY_PARAM = "prospects_per_week"
    CAPACITY_UNIT = "prospects reached per week"


class SDR(StaffAgent):
    """Works the MQL queue and books meetings (SQLs) by a BANT read (M3).

    Decision variables:
        qualification_threshold: lowest BANT score passed to an AE.
    """

    role = "sdr"
    POLICY = {"qualification_threshold": (0.45, 0.0, 1.0)}
    SILOED_KPI = "meetings booked = SQLs (vanity) or SQLs accepted by an AE"
    CAPACITY_PARAM = "sdr_leads_per_week"
    CAPACITY_UNIT = "leads per week"


class AE(StaffAgent):
    """Runs opportunities over the sales cycle and closes (M4).

    Decision variables:
        qualify_out_threshold: lowest perceived fit worth a sales cycle.
        discount: share off list price offered.
        multi_year_push: probability of pushing a multi-year term.
        honesty: 1 = sets accurate expectations; lower over-promises.
        help_share: share of capacity lent to a swamped SDR queue (M8).
    """

    role = "ae"
    POLICY = {
        "qualify_out_threshold": (0.25, 0.0, 1.0),
        "discount": (0.1, 0.0, 0.4),
        "multi_year_push": (0.2, 0.0, 1.0),
        "honesty": (0.8, 0.0, 1.0),
        "help_share": (0.0, 0.0, 0.5),
    }
    SILOED_KPI = "bookings with multi-year kicker (vanity) or net new ARR"
    CAPACITY_PARAM = "ae_opportunity_slots"
    CAPACITY_UNIT = "concurrent opportunities"


class CSM(StaffAgent):
    """Onboards, drives adoption, renews and expands customers (M9).

    Decision variables:
        adoption_share: share of non-ticket hours spent on adoption/onboarding
            (value realised); the rest goes to renewal/relationship/upsell work.
    """

    role = "csm"
    POLICY = {"adoption_share": (0.5, 0.05, 0.95)}
    SILOED_KPI = "reported logo retention, whole base (vanity) or retention of renewals due"
    CAPACITY_PARAM = "csm_hours_per_week"
    CAPACITY_UNIT = "hours per week"
