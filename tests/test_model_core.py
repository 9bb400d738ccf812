"""Core contract of GTMModel: interface, validation, determinism, invariants, regime channel."""

from __future__ import annotations

import inspect

import mesa
import numpy as np
import pandas as pd
import pytest

from alignsim.model import SUMMARY_METRICS, TIMESERIES_METRICS, GTMModel
from alignsim.model.metrics import METRIC_INFO, SERIES_INFO
from alignsim.model.params import PARAMS
from tests.support import run


def test_summary_has_every_documented_metric_with_unit() -> None:
    summary = run(weeks=60).summary()
    assert set(summary) == set(SUMMARY_METRICS) == set(METRIC_INFO)
    for required in (
        "ltv",
        "ltv_cohort",
        "logo_churn",
        "reported_churn",
        "grr",
        "nrr",
        "cac",
        "ltv_to_cac",
        "payback_months",
        "arr",
        "customers",
        "new_customers",
        "mqls",
        "sqls",
        "bookings",
        "mean_customer_fit",
        "speed_to_lead_weeks",
    ):
        assert required in summary and METRIC_INFO[required][0]


def test_timeseries_has_one_row_per_week_and_documented_columns() -> None:
    ts = run(weeks=30).timeseries()
    assert list(ts.index) == list(range(1, 31))
    assert tuple(ts.columns) == TIMESERIES_METRICS == tuple(SERIES_INFO)


def test_ledger_has_one_row_per_customer_with_required_columns() -> None:
    m = run(weeks=104)
    ledger = m.customer_ledger()
    for col in ("acquired_week", "churned_week", "contract_weeks", "theta", "fit", "mrr"):
        assert col in ledger
    assert ledger["customer_id"].is_unique
    active = ledger["churned_week"].isna()
    assert active.sum() == m.summary()["customers"]
    assert len(ledger) - (ledger["initial"]).sum() == m.summary()["new_customers"]


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("structure", "matrix", "one of 'assembly_line', 'pod'"),
        ("kpi", "bonus", "one of 'siloed', 'shared', 'blend'"),
        ("weeks", 0, "an integer in [1, 1040]"),
        ("handoff_context_loss", 1.5, "a number in [0, 1]"),
        ("n_aes", 2.5, "an integer"),
        ("adaptive", "maybe", "true or false"),
    ],
)
def test_bad_value_names_parameter_value_and_allowed(name: str, value: object, allowed: str) -> None:
    with pytest.raises(ValueError) as err:
        GTMModel(**{name: value})
    message = str(err.value)
    assert repr(name) in message and repr(value) in message and allowed in message


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown parameter 'handoff_loss'"):
        GTMModel(handoff_loss=0.2)


def test_more_pods_than_people_is_refused() -> None:
    with pytest.raises(ValueError, match="'n_pods'"):
        GTMModel(structure="pod", n_pods=5, n_marketers=4)


def test_every_parameter_default_passes_its_own_check() -> None:
    for p in PARAMS.values():
        assert p.check(p.default) == p.default


def test_same_seed_gives_identical_series_and_ledger() -> None:
    a, b = run(seed=11, adaptive=True, structure="pod"), run(seed=11, adaptive=True, structure="pod")
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    pd.testing.assert_frame_equal(a.customer_ledger(), b.customer_ledger())
    pd.testing.assert_frame_equal(a.policies(), b.policies())
    assert a.summary() == pytest.approx(b.summary(), nan_ok=True, rel=0, abs=0)


def test_different_seeds_differ() -> None:
    assert run(seed=1).summary()["new_customers"] != run(seed=2).summary()["new_customers"]


@pytest.mark.parametrize("structure", ["assembly_line", "pod"])
def test_without_adaptation_the_kpi_regime_has_no_channel(structure: str) -> None:
    """adaptive=False: the reward is never used, so siloed and shared runs are identical."""
    siloed = run(seed=5, structure=structure, kpi="siloed", adaptive=False)
    shared = run(seed=5, structure=structure, kpi="shared", adaptive=False)
    pd.testing.assert_frame_equal(siloed.timeseries(), shared.timeseries())
    pd.testing.assert_frame_equal(siloed.customer_ledger(), shared.customer_ledger())


def test_with_adaptation_the_regime_changes_behaviour() -> None:
    siloed = run(seed=5, kpi="siloed", adaptive=True)
    shared = run(seed=5, kpi="shared", adaptive=True)
    assert not siloed.policies()["value"].equals(shared.policies()["value"])


def test_market_is_common_across_cells() -> None:
    """Common random numbers: the prospects' hidden draws do not depend on structure or regime."""
    a = GTMModel(seed=3, structure="assembly_line", kpi="siloed")
    b = GTMModel(seed=3, structure="pod", kpi="shared")
    assert np.array_equal(a.accounts.view("theta"), b.accounts.view("theta"))
    assert a.market_rng.random() == b.market_rng.random()


@pytest.mark.parametrize(
    "params",
    [
        {"structure": "assembly_line", "kpi": "siloed"},
        {"structure": "pod", "kpi": "shared", "n_pods": 3},
        {"structure": "pod", "kpi": "blend", "shared_kpi_weight": 0.3, "pod_capacity_pooling": True},
    ],
)
def test_invariants_hold_every_tick(params: dict) -> None:
    m = GTMModel(seed=2, weeks=120, **params)
    m.check_invariants()
    for _ in range(120):
        m.step()
        m.check_invariants()


def test_run_releases_the_model_from_mesa_id_registry() -> None:
    m = run(weeks=5)
    assert m not in getattr(mesa.Agent, "_ids", {})  # Mesa 3.3 keeps one; 3.4+ has none


def test_run_reports_each_finished_week_once_and_gives_the_same_model() -> None:
    """``run(on_week=...)`` (the CLI's progress bar) sees weeks 1..weeks in order and changes nothing."""
    seen: list[int] = []
    hooked = GTMModel(seed=3, weeks=6, start_policy="default").run(on_week=seen.append)
    plain = GTMModel(seed=3, weeks=6, start_policy="default").run()
    assert seen == [1, 2, 3, 4, 5, 6]
    assert hooked.summary() == plain.summary()


def test_works_with_mesa_batch_run() -> None:
    """Mesa 3.3 sweeps ``seed`` as a parameter; Mesa 3.4+ overrides it with its ``rng`` list, so there pass rng."""
    common = {"max_steps": 8, "number_processes": 1, "data_collection_period": -1, "display_progress": False}
    parameters = {"structure": ["pod"], "weeks": 8}
    if "rng" in inspect.signature(mesa.batch_run).parameters:
        results = mesa.batch_run(GTMModel, parameters=parameters, rng=[1, 2], **common)
    else:
        results = mesa.batch_run(GTMModel, parameters={**parameters, "seed": [1, 2]}, iterations=1, **common)
    direct = [GTMModel(seed=s, structure="pod", weeks=8).run().arr_usd for s in (1, 2)]
    assert sorted(r["arr_usd"] for r in results) == sorted(direct)  # each run had its seed


def test_set_policy_checks_bounds_and_keeps_the_running_trial() -> None:
    """With learning off the value is in force exactly; during a trial, plus the trial's own perturbation."""
    m = GTMModel(learning="off")
    with pytest.raises(ValueError, match=r"sdr.qualification_threshold: got 2"):
        m.set_policy("sdr", "qualification_threshold", 2)
    assert m.set_policy("ae", "discount", 0.3).policy("ae", "discount").tolist() == [0.3] * 6
    learner = GTMModel(learning="reward").roster("ae").learner  # trial 0 has started
    j = learner.names.index("discount")

    def tried() -> np.ndarray:  # the trial's perturbation of the discount, logit units
        return learner.to_logit(learner.in_force[:, j], j) - learner.z[:, j]

    before = tried()
    learner.set_policy("discount", 0.3)
    np.testing.assert_allclose(learner.policy[:, j], 0.3, rtol=1e-9)  # the incumbent is what was set
    np.testing.assert_allclose(tried(), before, atol=1e-9)  # and the trial still tries its perturbation
    assert np.abs(before).min() > 0


def test_pool_where_matches_a_full_scan_every_tick() -> None:
    """The live-row index behind AccountPool.where misses nothing (terminal states are absorbing)."""
    m = GTMModel(seed=4, weeks=80, structure="pod")
    for _ in range(80):
        m.step()
        state = m.accounts.view("state")
        for s in (0, 3, 4, 6):
            assert np.array_equal(m.accounts.where(s), np.flatnonzero(state == s))


@pytest.mark.parametrize("contract_weeks", [4, 13])
def test_short_terms_do_not_compound_expansion(contract_weeks: int) -> None:
    """Expansion is an annual rate: monthly renewals must not compound it 13 times a year."""
    s = run(1, weeks=156, contract_weeks=contract_weeks).summary()
    assert 0.3 < s["nrr"] < 1.5
    assert np.isfinite(s["ltv"]) and s["ltv"] < 1e7


def test_short_lead_expiry_does_not_starve_the_assembly_line() -> None:
    """Expiry counts time waiting in a queue, judged at the week's end, not the hand-off's routing delay."""
    short = run(1, lead_expiry_weeks=0.5).summary()["new_customers"]
    long = run(1, lead_expiry_weeks=6.0).summary()["new_customers"]
    assert short > 0.8 * long


def test_tiny_shared_weight_learns_like_siloed() -> None:
    """The siloed part of the reward is paid when known, whatever the shared weight (no schedule jump at w=0)."""
    siloed = run(1, adaptive=True, kpi="siloed").policies()["value"].to_numpy()
    blend = run(1, adaptive=True, kpi="blend", shared_kpi_weight=1e-9).policies()["value"].to_numpy()
    assert np.allclose(siloed, blend, atol=1e-6)


def test_ae_siloed_reward_waits_for_deals_opened_in_the_trial_to_close() -> None:
    from alignsim.agents import AE, SDR

    m = GTMModel(sales_cycle_scale=2.0)
    assert AE.siloed_delay_weeks(m) >= 2.0 * 20 * 1.3 and SDR.siloed_delay_weeks(m) == 0
