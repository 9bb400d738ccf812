"""alignsim: an agent-based simulator of a B2B SaaS go-to-market organisation (Mesa 3).

Subpackages: :mod:`alignsim.model` (the Mesa model, pools, customers, metrics),
:mod:`alignsim.agents` (Marketer, SDR, AE, CSM and their weekly work) and
:mod:`alignsim.experiments` (specs, runner, statistics, charts, the ``alignsim`` CLI).

``GTMModel`` is loaded on first use, so ``import alignsim`` alone does not import Mesa
(which sets the multiprocessing start method as a side effect).

For peer tools (SALib, EMA Workbench, Optuna, your own loops): :func:`simulate` runs one model
from keyword parameters and returns its summary metrics as a plain dict, and
:func:`parameter_ranges` gives the plausible range of every uncertain parameter::

    import alignsim
    ranges = alignsim.parameter_ranges()
    alignsim.simulate(seed=1, structure="pod", handoff_context_loss=0.4)["firm_value"]
"""

from __future__ import annotations

import multiprocessing
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("alignsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from alignsim.model.model import GTMModel

__all__ = ["GTMModel", "__version__", "parameter_ranges", "simulate"]


def parameter_ranges() -> dict[str, tuple[float, float]]:
    """``{name: (low, high)}``: the plausible range of every numeric parameter (``alignsim params``)."""
    from alignsim.model.params import parameter_ranges as ranges

    return ranges()


def simulate(seed: int = 1, **params: Any) -> dict[str, float]:
    """Run one model and return its summary metrics (definitions in ``alignsim.model.metrics.METRIC_INFO``).

    A plain, picklable function for peer tools: samplers hand it floats, so integer parameters are
    rounded to the nearest integer; everything else is validated as in ``alignsim run`` (a ValueError
    names the parameter, the value and what is allowed). Importing the model imports Mesa, which
    sets the multiprocessing start method to "spawn"; the caller's setting is restored.

    Args:
        seed: model seed (the same seed gives the same numbers).
        **params: any model parameter (``alignsim params``); the rest keep their defaults.

    Returns:
        Summary metric name -> value (floats).
    """
    from alignsim.model.params import PARAMS

    typed = {k: _as_int(k, v) if k in PARAMS and PARAMS[k].kind == "int" else v for k, v in params.items()}
    model = _model_class()(seed=seed, **typed).run()
    return {name: float(value) for name, value in model.summary().items()}


def _as_int(name: str, value: Any) -> Any:
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return round(value)
    return value


def _model_class() -> Any:
    """GTMModel, imported without changing the caller's multiprocessing start method."""
    before = multiprocessing.get_start_method(allow_none=True)
    from alignsim.model.model import GTMModel

    if multiprocessing.get_start_method(allow_none=True) != before:
        multiprocessing.set_start_method(before, force=True)
    return GTMModel


def __getattr__(name: str) -> Any:
    if name == "GTMModel":
        from alignsim.model.model import GTMModel

        return GTMModel
    raise AttributeError(f"module 'alignsim' has no attribute {name!r}")
