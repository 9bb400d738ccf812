"""Every numeric parameter declares a plausible range inside its allowed range, with a source (issue 12)."""

from __future__ import annotations

import pytest

from alignsim.model.params import _TABLE, PARAMS, parameter_ranges, validate

NUMERIC = [p for p in _TABLE if p.kind in ("float", "int")]


@pytest.mark.parametrize("param", NUMERIC, ids=lambda p: p.name)
def test_plausible_range_is_declared_inside_the_allowed_range_around_the_default(param):
    assert param.plausible is not None, f"{param.name} has no plausible range"
    low, high = param.plausible
    assert param.low <= low < high <= param.high
    assert low <= param.default <= high  # the default company is a plausible one
    assert param.plausible_source.strip()
    for end in (low, high):  # each end is a company the model accepts
        validate({param.name: end})


def test_all_lows_together_and_all_highs_together_are_valid_companies():
    ranges = parameter_ranges()
    for end in (0, 1):
        validate({name: bounds[end] for name, bounds in ranges.items()})


def test_parameter_ranges_selects_and_names_what_it_cannot_give():
    assert list(parameter_ranges(["learning_rate", "n_pods"])) == ["learning_rate", "n_pods"]
    assert set(parameter_ranges()) == {p.name for p in NUMERIC}
    with pytest.raises(ValueError, match="no_such"):
        parameter_ranges(["no_such"])
    with pytest.raises(ValueError, match="structure"):
        parameter_ranges(["structure"])
    assert PARAMS["structure"].plausible is None
