"""Staff of the go-to-market organisation, as Mesa 3 agents.

Each role's module holds its declaration, its decision variables, its vectorised weekly
work and what its siloed comp plan pays: :mod:`~alignsim.agents.marketer`,
:mod:`~alignsim.agents.sdr`, :mod:`~alignsim.agents.ae`, :mod:`~alignsim.agents.csm`.
"""

from alignsim.agents.ae import AE
from alignsim.agents.base import Roster, StaffAgent
from alignsim.agents.csm import CSM
from alignsim.agents.marketer import Marketer
from alignsim.agents.sdr import SDR

#: the roles in the order of the week's work (and of agent creation)
ROLES: tuple[type[StaffAgent], ...] = (Marketer, SDR, AE, CSM)

__all__ = ["AE", "CSM", "ROLES", "SDR", "Marketer", "Roster", "StaffAgent"]
