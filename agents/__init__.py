"""Staff of the go-to-market organisation, as Mesa 3 agents."""

from alignsim.agents.base import StaffAgent
from alignsim.agents.roles import AE, CSM, SDR, Marketer

ROLES: tuple[type[StaffAgent], ...] = (Marketer, SDR, AE, CSM)

__all__ = ["AE", "CSM", "ROLES", "SDR", "Marketer", "StaffAgent"]
