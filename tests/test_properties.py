"""Property test: any valid parameter set runs without error and keeps the pool invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignsim.model import GTMModel
from alignsim.model.params import PARAMS

FREE = [
    "handoff_context_loss",
    "lead_decay_per_week",
    "mql_definition_gap",
    "champion_turnover_per_year",
    "incidents_per_year",
    "specialisation_gain",
    "help_efficiency",
    "fit_effect",
    "market_fit_mean",
    "shared_kpi_weight",
    "overpromise_effect",
    "sales_cycle_scale",
    "feedback_learning",
    "exploration_sd",
    "learning_rate",
    "info_sharing_pod",
    "discount_effect",
]


def bounded(name: str):
    p = PARAMS[name]
    high = min(p.high, p.low + 20)
    return st.floats(p.low, high, allow_nan=False)


params = st.fixed_dictionaries(
    {name: bounded(name) for name in FREE},
    optional={
        "structure": st.sampled_from(["assembly_line", "pod"]),
        "kpi": st.sampled_from(["siloed", "shared", "blend"]),
        "contract_weeks": st.sampled_from([4, 13, 52, 104]),
        "n_pods": st.integers(1, 3),
        "pod_capacity_pooling": st.booleans(),
        "vanity_kpis": st.booleans(),
        "prospects_per_week": st.floats(1, 800),
        "initial_customers": st.integers(0, 400),
        "review_weeks": st.integers(1, 26),
        "hiring": st.sampled_from(["plan", "fixed"]),
        "sdr_queue_order": st.sampled_from(["newest_first", "oldest_first"]),
        "ae_queue_order": st.sampled_from(["newest_first", "oldest_first"]),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=params, seed=st.integers(0, 2**32 - 1))
def test_random_valid_parameters_run_and_keep_invariants(params: dict, seed: int) -> None:
    model = GTMModel(seed=seed, weeks=60, **params)
    for _ in range(60):
        model.step()
        model.check_invariants()
    summary = model.summary()
    assert summary["customers"] >= 0 and summary["arr"] >= 0
    signed = ("ltv", "ltv_cohort", "firm_value", "book_value", "expansion_per_year")  # may be negative
    assert all(v >= 0 for k, v in summary.items() if k not in signed and v == v)
    assert summary["headcount"] >= sum(model.starting_headcount.values())  # nobody is fired
