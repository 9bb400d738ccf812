"""``alignsim export DIR --format parquet|xlsx``: an experiment folder's tables for analysts, besides the CSVs.

parquet: one file per table in ``DIR/export/`` (columns typed; pandas with pyarrow). xlsx: one
workbook ``DIR/export/<name>.xlsx`` with a sheet per table and a ``definitions`` sheet (metric,
unit, definition). The CSVs stay the record; exports are derived and can be remade at any time.
Needs the optional extra ``pip install "alignsim[export]"`` (pyarrow, openpyxl).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from alignsim.experiments.errors import UserError

FORMATS = {"parquet": "pyarrow", "xlsx": "openpyxl"}
#: the tables an experiment folder may hold (runs.csv always)
TABLES = ("runs", "summary", "contrasts", "baselines", "interaction", "timeseries", "points", "sensitivity")
#: Excel's row limit less the header
XLSX_ROWS = 1_048_575


def export(folder: Path, fmt: str, out: Path | None = None) -> list[Path]:
    """Write the folder's tables in ``fmt``; return the files written.

    Raises:
        UserError: an unknown format, a missing optional dependency, or a folder that is not an experiment.
    """
    from alignsim.experiments.fileio import atomic_write_bytes
    from alignsim.experiments.metrics import definition, unit
    from alignsim.experiments.tables import read_runs

    if fmt not in FORMATS:
        raise UserError(f"option --format: got {fmt!r}; allowed: one of {', '.join(FORMATS)}")
    if importlib.util.find_spec(FORMATS[fmt]) is None:
        raise UserError(
            f"option --format: {fmt} needs the package {FORMATS[fmt]!r}; allowed: install it with"
            ' pip install "alignsim[export]"'
        )
    folder = Path(folder)
    if not (folder / "manifest.json").is_file() or not (folder / "runs.csv").is_file():
        raise UserError(
            f"argument DIR: {str(folder)!r} has no manifest.json and runs.csv; allowed: an experiment folder"
        )
    frames = {"runs": read_runs(folder / "runs.csv")}
    for name in TABLES[1:]:
        path = folder / f"{name}.csv"
        if path.is_file() and path.stat().st_size:
            frames[name] = pd.read_csv(path)
    target = Path(out) if out else folder / "export"
    target.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        written = []
        for name, frame in frames.items():
            path = target / f"{name}.parquet"
            atomic_write_bytes(path, frame.to_parquet(index=False))
            written.append(path)
        return written
    metrics = [c for c in frames["runs"].columns if c not in ("run_id", "cell", "replicate", "seed")]
    frames["definitions"] = pd.DataFrame(
        {"column": metrics, "unit": [unit(m) for m in metrics], "definition": [definition(m) for m in metrics]}
    )
    too_long = [n for n, f in frames.items() if len(f) > XLSX_ROWS]
    if too_long:
        raise UserError(f"option --format: table {too_long[0]!r} has more rows than Excel allows; allowed: parquet")
    import io

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    path = target / f"{folder.name}.xlsx"
    atomic_write_bytes(path, buffer.getvalue())
    return [path]
