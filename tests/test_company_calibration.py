"""alignsim calibrate: implausibility arithmetic, wave boxes, synthetic-truth recovery, impossible fits, resume.

The synthetic-truth test makes KPIs from known parameters on a small, fast company, then calibrates
them back. Its tolerance is the method's own claim: the observation s.d. of each KPI is the standard
error of its synthetic observation (8 replicates on seeds the calibration never uses), so the true
parameters sit within the three-sigma cutoff unless the observation is a > 3 s.e. outlier (p < 0.003
per KPI, Gaussian); what is asserted is that the truth is not ruled out, that the accepted region is
a small part of the searched range (the KPIs pin the parameters down), and that the best point
reproduces the observed KPIs within the cutoff.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from alignsim.experiments.calibrate import Calibration, calibrate, calibrated_path, impossible_message
from alignsim.experiments.calibration import Evaluation, Knob, Settings, knobs_for, next_wave, sobol_box
from alignsim.experiments.calibration_report import calibrated_profile_text, knob_rows, kpi_rows
from alignsim.experiments.cli import main
from alignsim.experiments.errors import UserError
from alignsim.experiments.profile import OBSERVED_BY_KEY, Profile, load_profile
from alignsim.experiments.spec import seed_for

#: a small company whose run takes ~0.1 s (status quo learned for 13 weeks)
SMALL = {
    "n_marketers": 3,
    "n_sdrs": 4,
    "n_aes": 4,
    "n_csms": 6,
    "initial_customers": 300,
    "status_quo_weeks": 13,
    "prospects_per_week": 200.0,
}
TRUTH = {"churn_beta": 14.0, "win_base_logit": -3.4}
KNOBS = [
    Knob("churn_beta", 3.0, 60.0, True, ("annual_logo_churn",)),
    Knob("win_base_logit", -5.5, -2.0, False, ("win_rate",)),
]


def _profile(observed: dict[str, float], tolerance: dict[str, float], params: dict | None = None) -> Profile:
    return Profile(Path("synthetic.toml"), "synthetic", {**SMALL, **(params or {})}, observed, tolerance)


def _synthetic_observation(reps: int = 8) -> tuple[dict[str, float], dict[str, float]]:
    import alignsim

    runs = [alignsim.simulate(seed=seed_for(99, r), weeks=52, **SMALL, **TRUTH) for r in range(reps)]
    observed, tolerance = {}, {}
    for key in ("annual_logo_churn", "win_rate"):
        values = np.array([run[OBSERVED_BY_KEY[key].metric] for run in runs])
        observed[key] = float(values.mean())
        tolerance[key] = float(values.std(ddof=1) / math.sqrt(reps))
    return observed, tolerance


SETTINGS = Settings(waves=3, points=16, replicates=3, seed=5, weeks=52)


@pytest.fixture(scope="module")
def synthetic() -> Profile:
    return _profile(*_synthetic_observation())


@pytest.fixture(scope="module")
def calibrated_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("calibration")


@pytest.fixture(scope="module")
def recovered(synthetic: Profile, calibrated_folder: Path) -> Calibration:
    return calibrate(synthetic, SETTINGS, calibrated_folder, workers=2, progress=False, knobs=KNOBS)


def test_synthetic_truth_is_recovered(recovered: Calibration, synthetic: Profile) -> None:
    import alignsim

    assert recovered.feasible
    # the true parameters, run on the calibration's own seeds, are not ruled out
    reps = SETTINGS.replicates
    runs = [alignsim.simulate(seed=seed_for(SETTINGS.seed, r), weeks=52, **SMALL, **TRUTH) for r in range(reps)]
    kpis = recovered.evaluation.kpis
    values = np.array([[run[OBSERVED_BY_KEY[k].metric] for k in kpis] for run in runs])
    truth = Evaluation(
        KNOBS,
        np.array([[TRUTH[k.param] for k in KNOBS]]),
        values.mean(0, keepdims=True),
        values.std(0, ddof=1, keepdims=True) / math.sqrt(reps),
        np.array([0]),
        kpis,
    )
    assert truth.implausibility(synthetic.observed, synthetic.tolerance).max() <= SETTINGS.cutoff
    # the best point lies within a tenth of each searched range of the truth, and the KPIs pin both down
    rows = {r["parameter"]: r for r in knob_rows(recovered)}
    for knob in KNOBS:
        r, true = rows[knob.param], TRUTH[knob.param]
        lo, hi = sorted((r["best"], true))
        assert knob.width(lo, hi) / knob.width(knob.low, knob.high) < 0.1, (knob.param, true, r)
        assert r["share_of_range"] < 0.25, r
    for r in kpi_rows(recovered):
        assert r["implausibility_best"] <= recovered.settings.cutoff


def test_waves_focus_on_the_accepted_region(recovered: Calibration) -> None:
    ev = recovered.evaluation
    ok = recovered.accepted
    share = [ok[ev.wave == w].mean() for w in (1, 2, 3)]
    assert share[2] > share[0], f"later waves should sample where the KPIs are matched more often: {share}"


def test_implausibility_is_the_stated_formula() -> None:
    knob = [Knob("win_base_logit", -5.0, -2.0, False, ("win_rate",))]
    ev = Evaluation(
        knob,
        np.array([[-3.0], [-4.0]]),
        np.array([[0.20, 0.10], [np.nan, 0.12]]),
        np.array([[0.01, 0.02], [0.01, 0.0]]),
        np.array([1, 1]),
        ["win_rate", "annual_logo_churn"],
    )
    got = ev.implausibility(
        {"win_rate": 0.25, "annual_logo_churn": 0.12}, {"win_rate": 0.02, "annual_logo_churn": 0.01}
    )
    assert got[0, 0] == pytest.approx(0.05 / math.hypot(0.02, 0.01))
    assert got[0, 1] == pytest.approx(0.02 / math.hypot(0.01, 0.02))
    assert got[1, 0] == np.inf, "a KPI the model could not compute rules the point out"
    assert got[1, 1] == 0.0


def test_sobol_box_is_seeded_and_log_scaled() -> None:
    knobs = [Knob("churn_beta", 1.0, 100.0, True, ()), Knob("intent_mean", 0.1, 0.8, False, ())]
    a = sobol_box(knobs, np.array([1.0, 0.1]), np.array([100.0, 0.8]), 64, 3)
    assert np.array_equal(a, sobol_box(knobs, np.array([1.0, 0.1]), np.array([100.0, 0.8]), 64, 3))
    assert (a[:, 0] >= 1).all() and (a[:, 0] <= 100).all() and (a[:, 1] >= 0.1).all() and (a[:, 1] <= 0.8).all()
    # log scale: about half the points below the geometric midpoint 10 (the arithmetic one is 50.5)
    assert 0.4 < (a[:, 0] < 10).mean() < 0.6


def test_next_wave_moves_the_kept_points_inside_the_range() -> None:
    knobs = [Knob("intent_mean", 0.1, 0.8, False, ()), Knob("churn_beta", 1.0, 100.0, True, ())]
    values = np.column_stack([np.linspace(0.1, 0.8, 40), np.geomspace(1.0, 100.0, 40)])
    ev = Evaluation(knobs, values, np.zeros((40, 1)), np.zeros((40, 1)), np.ones(40), ["win_rate"])
    implausible = np.abs(values[:, :1] - 0.45) * 40  # kept (<= 3) only near intent 0.45
    settings = Settings(points=256)
    new = next_wave(knobs, ev, implausible, settings, seed=4)
    assert np.array_equal(new, next_wave(knobs, ev, implausible, settings, seed=4)), "seeded"
    assert (new[:, 0] >= 0.1).all() and (new[:, 0] <= 0.8).all() and (new[:, 1] >= 1).all() and (new[:, 1] <= 100).all()
    kept = values[implausible[:, 0] <= 3]
    # concentrated near the kept points: the middle half of the new sample within their span +- its width
    span = kept[:, 0].max() - kept[:, 0].min()
    q25, q75 = np.quantile(new[:, 0], [0.25, 0.75])
    assert kept[:, 0].min() - span <= q25 and q75 <= kept[:, 0].max() + span
    # none kept: it starts from the best tenth (the least implausible points), not from everywhere
    far = next_wave(knobs, ev, implausible + 10, settings, seed=4)
    assert abs(np.median(far[:, 0]) - 0.45) < 0.1


def test_knobs_follow_the_observed_kpis(tmp_path: Path) -> None:
    profile = _profile({"win_rate": 0.2}, {"win_rate": 0.02}, {"churn_alpha": 1.2})
    assert {k.param for k in knobs_for(profile)} == {"win_base_logit", "intent_mean", "market_fit_mean"}
    churn = knobs_for(_profile({"annual_logo_churn": 0.1}, {"annual_logo_churn": 0.01}, {"churn_alpha": 2.0}))
    beta = next(k for k in churn if k.param == "churn_beta")
    # searched mean annual churn 1%-60% at alpha 2: beta = alpha (1 - c) / c
    assert beta.low == pytest.approx(2.0 * 0.4 / 0.6) and beta.high == pytest.approx(2.0 * 0.99 / 0.01)
    with pytest.raises(UserError, match=r"\[observed\]"):
        knobs_for(_profile({}, {}))


def test_impossible_fit_names_the_kpi_and_the_closest_reachable(tmp_path: Path) -> None:
    # the first SDR touch waits for the weekly tick: about 42 hours at best, never 2
    profile = _profile({"speed_to_lead_hours": 2.0}, {"speed_to_lead_hours": 1.0})
    knobs = [Knob("sdr_leads_per_week", 4.0, 60.0, True, ("speed_to_lead_hours",))]
    cal = calibrate(
        profile, Settings(waves=1, points=4, replicates=2, weeks=13), tmp_path, workers=1, progress=False, knobs=knobs
    )
    assert not cal.feasible
    message = impossible_message(cal)
    assert "'observed.speed_to_lead_hours' = 2" in message and "closest reachable" in message
    assert "\n" not in message


def test_an_interrupted_calibration_resumes_bit_identical(
    recovered: Calibration, synthetic: Profile, calibrated_folder: Path
) -> None:
    import json
    import shutil

    shutil.rmtree(calibrated_folder / "wave-3")  # stopped before wave 3 finished
    again = calibrate(synthetic, SETTINGS, calibrated_folder, workers=1, progress=False, knobs=KNOBS)
    for wave in (1, 2):  # kept waves are reused, not recomputed
        manifest = json.loads((calibrated_folder / f"wave-{wave}" / "manifest.json").read_text())
        assert manifest["runs"]["computed_this_invocation"] == 0
    # wave 3 recomputed (with another worker count) gives the same numbers, so the same calibration
    assert np.array_equal(again.evaluation.values, recovered.evaluation.values)
    assert np.array_equal(again.evaluation.means, recovered.evaluation.means)
    assert again.best_params() == recovered.best_params()


def test_calibrated_profile_round_trips(recovered: Calibration, tmp_path: Path) -> None:
    source = tmp_path / "co.toml"
    from alignsim.experiments.profile_template import init_template

    source.write_text(init_template("mid-market"), encoding="utf-8")
    profile = load_profile(source)
    cal = Calibration(profile, recovered.settings, recovered.evaluation, recovered.implausibility, 1.0)
    target = calibrated_path(source)
    assert target.name == "co.calibrated.toml" and calibrated_path(target) == target
    target.write_text(calibrated_profile_text(cal), encoding="utf-8")
    loaded = load_profile(target)
    assert loaded.params["churn_beta"] == pytest.approx(cal.best_params()["churn_beta"])
    assert 1 <= len(loaded.draws) <= cal.settings.draws
    # recalibrating a calibrated profile starts from the company as stated, and replaces the old table
    assert load_profile(target, calibrated=False).params == load_profile(source).params
    assert (
        calibrated_profile_text(
            Calibration(loaded, *(getattr(cal, f) for f in ("settings", "evaluation", "implausibility", "seconds")))
        ).count("[calibrated.best]")
        == 1
    )


def test_calibrate_cli_rejects_bad_options_and_files(tmp_path: Path, capsys) -> None:
    from alignsim.experiments.profile_template import init_template

    path = tmp_path / "co.toml"
    path.write_text(init_template("smb"), encoding="utf-8")
    for argv, field in (
        (["calibrate", str(path), "--points", "10"], "--points"),
        (["calibrate", str(path), "--reps", "1"], "--reps"),
        (["calibrate", str(path), "--weeks", "13"], "--weeks"),  # GRR and NRR need a year
        (["calibrate", str(tmp_path / "missing.toml")], "PROFILE"),
        (["init", "--segment", "startup"], "--segment"),
    ):
        assert main([*argv, "--out", str(tmp_path / "o")] if argv[0] == "calibrate" else argv) == 2
        err = capsys.readouterr().err
        assert field in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    assert not (tmp_path / "co.calibrated.toml").exists()


SMALL_PROFILE = """
[company]
name = "Tiny"
segment = "mid-market"
[headcount]
marketers = 3
sdrs = 4
aes = 4
csms = 6
[customers]
count = 300
[observed]
{observed}
[tolerance]
{tolerance}
[model]
status_quo_weeks = 13
"""


@pytest.mark.parametrize(
    ("observed", "tolerance", "code"),
    [("win_rate = 0.2", "win_rate = 0.2", 0), ("speed_to_lead_hours = 2", "speed_to_lead_hours = 1", 1)],
)
def test_calibrate_cli_writes_the_calibrated_profile_or_says_impossible(
    observed: str, tolerance: str, code: int, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SMALL_PROFILE.format(observed=observed, tolerance=tolerance), encoding="utf-8")
    argv = ["calibrate", str(path), "--waves", "1", "--points", "4", "--reps", "2", "--weeks", "13"]
    assert main([*argv, "--out", str(tmp_path / "cal"), "--workers", "1", "--no-progress"]) == code
    captured = capsys.readouterr()
    assert "Observed vs simulated" in captured.out and (tmp_path / "cal" / "calibration.md").is_file()
    target = tmp_path / "tiny.calibrated.toml"
    if code == 0:
        assert target.is_file() and load_profile(target).draws
    else:
        assert not target.exists(), "an impossible fit writes no calibrated profile"
        assert "observed.speed_to_lead_hours" in captured.err and "closest reachable" in captured.err
        assert len(captured.err.strip().splitlines()) == 1
