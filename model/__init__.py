"""alignsim model: a Mesa 3 go-to-market organisation (see docs/MODEL.md)."""

from model.model import SUMMARY_METRICS, TIMESERIES_METRICS, GTMModel

__all__ = ["GTMModel", "SUMMARY_METRICS", "TIMESERIES_METRICS"]
