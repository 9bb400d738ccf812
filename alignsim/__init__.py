"""alignsim: an agent-based simulator of a B2B SaaS go-to-market organisation (Mesa 3).

Subpackages: :mod:`alignsim.model` (the Mesa model, pools, customers, metrics),
:mod:`alignsim.agents` (Marketer, SDR, AE, CSM and their weekly work) and
:mod:`alignsim.experiments` (specs, runner, statistics, charts, the ``alignsim`` CLI).

``GTMModel`` is loaded on first use, so ``import alignsim`` alone does not import Mesa
(which sets the multiprocessing start method as a side effect).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("alignsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

__all__ = ["GTMModel", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "GTMModel":
        from alignsim.model.model import GTMModel

        return GTMModel
    raise AttributeError(f"module 'alignsim' has no attribute {name!r}")
