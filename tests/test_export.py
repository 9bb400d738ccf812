"""alignsim export: the CSV tables as parquet files or one xlsx workbook, values unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alignsim.experiments.cli import main
from alignsim.experiments.tables import read_runs

QUICK = Path(__file__).resolve().parent.parent / "results" / "quick" / "structure_x_kpi"


def test_parquet_holds_the_same_numbers(tmp_path: Path, capsys) -> None:
    assert main(["export", str(QUICK), "--format", "parquet", "--out", str(tmp_path)]) == 0
    written = {Path(p).stem for p in capsys.readouterr().out.split()}
    assert {"runs", "summary", "contrasts"} <= written
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "runs.parquet"), read_runs(QUICK / "runs.csv"))


def test_xlsx_has_a_sheet_per_table_and_the_definitions(tmp_path: Path) -> None:
    assert main(["export", str(QUICK), "--format", "xlsx", "--out", str(tmp_path)]) == 0
    sheets = pd.read_excel(tmp_path / "structure_x_kpi.xlsx", sheet_name=None)
    assert {"runs", "summary", "contrasts", "definitions"} <= set(sheets)
    runs = read_runs(QUICK / "runs.csv")
    assert sheets["runs"]["firm_value"].to_numpy() == pytest.approx(runs["firm_value"].to_numpy(), rel=1e-12)
    defs = sheets["definitions"].set_index("column")
    assert defs.loc["firm_value", "unit"] == "USD" and "NPV" in defs.loc["firm_value", "definition"]


@pytest.mark.parametrize(("argv", "needle"), [(["--format", "csv2"], "--format"), ([], "DIR")])
def test_bad_export_is_a_user_error(argv, needle, tmp_path: Path, capsys) -> None:
    folder = str(QUICK) if argv else str(tmp_path)
    assert main(["export", folder, *(argv or ["--format", "xlsx"]), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
