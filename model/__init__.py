"""alignsim model: a Mesa 3 go-to-market organisation (see docs/MODEL.md).

The names below load on first use (PEP 562): submodules such as
:mod:`alignsim.model.pools` can then be imported by :mod:`alignsim.agents` without
an import cycle through :mod:`alignsim.model.model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignsim.model.model import SUMMARY_METRICS, TIMESERIES_METRICS, GTMModel

__all__ = ["GTMModel", "SUMMARY_METRICS", "TIMESERIES_METRICS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from alignsim.model import model

        return getattr(model, name)
    raise AttributeError(f"module 'alignsim.model' has no attribute {name!r}")
