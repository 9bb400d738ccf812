"""Company profiles: the init template, the business-to-parameter formulas, bad profiles, calibrated draws."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignsim.experiments.cli import main
from alignsim.experiments.errors import UserError
from alignsim.experiments.profile import HETEROGENEITY_ALPHA, SEGMENT_MIX, SEGMENTS, load_profile, to_params
from alignsim.experiments.profile_template import init_template
from alignsim.experiments.scenario import SCENARIO_DIR, load_scenario
from alignsim.experiments.spec import load_spec
from alignsim.model.params import DEFAULTS

EXAMPLES = ("company_smb", "company_enterprise")


def _write(tmp_path: Path, text: str, name: str = "co.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("segment", SEGMENTS)
def test_init_template_is_a_valid_profile_of_its_segment(segment: str, tmp_path: Path, capsys) -> None:
    assert main(["init", "--segment", segment]) == 0
    text = capsys.readouterr().out
    assert text == init_template(segment)
    profile = load_profile(_write(tmp_path, text))
    smb, ent = SEGMENT_MIX[segment]
    assert (profile.params["share_smb"], profile.params["share_enterprise"]) == (smb, ent)
    assert profile.observed, "the template states example KPIs to calibrate to"
    for line in text.splitlines():  # every field line says what is allowed or is free text
        if "=" in line and not line.startswith("#") and "name =" not in line and "[" not in line.split("=")[0]:
            assert "#" in line, line


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_profiles_ship_and_load(name: str) -> None:
    params = load_scenario(name)
    assert (SCENARIO_DIR / f"{name}.toml").is_file()
    assert params["initial_customers"] > 0


@settings(max_examples=40, deadline=None)
@given(
    segment=st.sampled_from(SEGMENTS),
    acv=st.floats(2_000, 150_000),
    cycle=st.floats(1, 40),
    months=st.integers(1, 36),
    churn=st.floats(0.01, 0.6),
    heterogeneity=st.sampled_from(tuple(HETEROGENEITY_ALPHA)),
)
def test_business_inputs_map_by_the_documented_formulas(segment, acv, cycle, months, churn, heterogeneity) -> None:
    values = {
        "company.segment": segment,
        "deals.acv_usd": acv,
        "deals.sales_cycle_weeks": cycle,
        "deals.contract_term_months": months,
        "retention.heterogeneity": heterogeneity,
    }
    p = to_params(values, {"annual_logo_churn": churn})
    shares = {"smb": p["share_smb"], "mm": 1 - p["share_smb"] - p["share_enterprise"], "ent": p["share_enterprise"]}
    # the mix-weighted list ACV is the company's mean ACV; segment ratios keep the model's defaults
    assert math.isclose(sum(s * p[f"acv_{k}_usd"] for k, s in shares.items()), acv, rel_tol=1e-9)
    assert math.isclose(p["acv_ent_usd"] / p["acv_smb_usd"], DEFAULTS["acv_ent_usd"] / DEFAULTS["acv_smb_usd"])
    cycle_model = sum(s * DEFAULTS[f"cycle_{k}_weeks"] for k, s in shares.items()) * p["sales_cycle_scale"]
    assert math.isclose(cycle_model, cycle, rel_tol=1e-9)
    assert p["contract_weeks"] == max(4, round(months * 52 / 12))
    # the sBG mean annual propensity is the observed churn; heterogeneity sets the shape alpha
    assert math.isclose(p["churn_alpha"] / (p["churn_alpha"] + p["churn_beta"]), churn, rel_tol=1e-9)
    assert p["churn_alpha"] == HETEROGENEITY_ALPHA[heterogeneity]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("sdrs = 6", "sdrs = -3"), "headcount.sdrs"),
        (("annual_logo_churn = 0.13", "annual_logo_churn = 1.4"), "observed.annual_logo_churn"),
        (("nrr = 0.95", "nrr = 0.5"), "observed.nrr"),
        (("acv_usd = 32_000", "acv_usd = 9_000_000"), "deals.acv_usd"),
        (("gross_margin = 0.78", "gross_margin = 78"), "deals.gross_margin"),
        (('plan = "plan"', 'plan = "grow"'), "hiring.plan"),
        (("\n[model]\n", "\n[model]\nno_such_parameter = 1\n"), "no_such_parameter"),
        (("\n[tolerance]\n", "\n[tolerance]\nwin_rate = -1\n"), "tolerance.win_rate"),
        (("\n[leads]\n", "\n[leads]\nmqls = 3\n"), "leads.mqls"),
    ],
)
def test_bad_profile_names_the_field_and_cli_exits_2(edit, field, tmp_path: Path, capsys) -> None:
    old, new = edit
    text = init_template("mid-market")
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(UserError, match=field.replace(".", r"\.")):
        load_profile(path)
    out = tmp_path / "out"
    assert main(["run", "--scenario", str(path), "--weeks", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists(), "no partial results for a bad profile"


def test_pods_must_fit_the_smallest_team(tmp_path: Path) -> None:
    text = init_template("mid-market").replace('structure = "assembly_line"', 'structure = "pod"')
    text = text.replace("# pods = 2", "pods = 7")
    with pytest.raises(UserError, match=r"headcount\.pods"):
        load_profile(_write(tmp_path, text))


CALIBRATED = """
# ---- written by alignsim calibrate
[calibrated.best]
churn_beta = 9.0
win_base_logit = -3.7

[[calibrated.draws]]
churn_beta = 8.0
win_base_logit = -3.8
market_fit_mean = 0.4

[[calibrated.draws]]
churn_beta = 11.0
win_base_logit = -3.5
market_fit_mean = 0.6
"""


def test_calibrated_profile_runs_best_and_compare_carries_the_draws(tmp_path: Path) -> None:
    path = _write(tmp_path, init_template("mid-market") + CALIBRATED, "co.calibrated.toml")
    profile = load_profile(path)
    assert profile.params["churn_beta"] == 9.0 and profile.params["win_base_logit"] == -3.7
    assert load_profile(path, calibrated=False).params["churn_beta"] != 9.0
    spec = load_spec(
        "structure_x_kpi", overrides={"replicates": 4, "weeks": 13, "base": {"scenario": str(path.resolve())}}
    )
    assert len(spec.replicate_params) == 2
    for cell in range(len(spec.cells)):
        for r in range(4):  # replicate r at draw r mod 2 in every cell: cells stay paired
            params = spec.run_params(cell, r)
            assert params["churn_beta"] == (8.0, 11.0)[r % 2]
            assert params["structure"] == spec.cells[cell]["structure"]
    plain = load_spec("structure_x_kpi", overrides={"replicates": 4, "weeks": 13})
    assert plain.replicate_params == () and plain.hash() != spec.hash()


def test_a_factor_overrides_the_calibrated_draws(tmp_path: Path) -> None:
    path = _write(tmp_path, init_template("mid-market") + CALIBRATED, "co.calibrated.toml")
    spec = load_spec("sweep_market_fit_mean", overrides={"replicates": 2, "base": {"scenario": str(path.resolve())}})
    assert all("market_fit_mean" not in d for d in spec.replicate_params)
    for cell in range(len(spec.cells)):
        assert {spec.run_params(cell, r)["market_fit_mean"] for r in range(2)} == {spec.cells[cell]["market_fit_mean"]}
    spec = load_spec("sweep_contract_weeks", overrides={"replicates": 2, "base": {"scenario": str(path.resolve())}})
    assert {spec.run_params(0, r)["churn_beta"] for r in range(2)} == {8.0, 11.0}


def test_sweep_scenario_option_replaces_the_base_scenario(tmp_path: Path, capsys) -> None:
    bad = _write(tmp_path, init_template("mid-market").replace("aes = 6", "aes = 0"))
    assert main(["sweep", "sweep_n_pods", "--scenario", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "headcount.aes" in capsys.readouterr().err
