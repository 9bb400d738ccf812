"""The reduced reproduction matches the committed results/quick byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignsim.experiments.cli import main
from alignsim.experiments.reproduce import QUICK_DIR, QUICK_PLAN

COMMITTED = Path(__file__).resolve().parent.parent / "results" / QUICK_DIR
COMPARED = (
    "runs.csv",
    "summary.csv",
    "contrasts.csv",
    "interaction.csv",
    "timeseries.csv",
    "points.csv",
    "sensitivity.csv",
    "discovery.csv",
)


def test_quick_reproduction_matches_committed_results(tmp_path):
    if not (COMMITTED / "README.md").exists():
        pytest.skip("no committed results/quick yet: run `alignsim reproduce` (or --quick) and commit results/")
    assert main(["reproduce", "--quick", "--out", str(tmp_path), "--workers", "2", "--no-progress"]) == 0
    assert (tmp_path / QUICK_DIR / "README.md").exists()
    for name, _ in QUICK_PLAN:
        for file in COMPARED:
            committed = COMMITTED / name / file
            if not committed.exists():
                continue
            fresh = (tmp_path / QUICK_DIR / name / file).read_bytes()
            assert fresh == committed.read_bytes(), (
                f"results/quick/{name}/{file} differs from a fresh run: the model or a spec changed;"
                " rerun `alignsim reproduce` and commit results/"
            )
        assert (tmp_path / QUICK_DIR / name / "charts").is_dir()
