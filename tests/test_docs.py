"""The generated tables in docs/MODEL.md match the code."""

from __future__ import annotations

from alignsim.model.doc_tables import DOC, render


def test_model_doc_tables_are_current() -> None:
    text = DOC.read_text()
    assert render(text) == text, "docs/MODEL.md is stale: run `python -m alignsim.model.doc_tables`"
    for block in ("params", "mechanisms", "decisions", "metrics"):
        assert f"<!-- {block}:start -->\n|" in text


def test_verification_doc_shows_the_committed_planted_faults_run() -> None:
    """docs/VERIFICATION.md's results table is the one benchmarks/planted_faults.json gives, and every
    fault listed in the script was run (a table typed by hand, or an old run, goes stale)."""
    import importlib.util
    import json
    import sys

    path = DOC.parent.parent / "benchmarks" / "planted_faults.py"
    spec = importlib.util.spec_from_file_location("planted_faults", path)
    faults = importlib.util.module_from_spec(spec)
    sys.modules["planted_faults"] = faults  # dataclasses look their module up there
    spec.loader.exec_module(faults)
    record = json.loads((path.parent / "planted_faults.json").read_text())
    assert faults.doc_block(record) in faults.DOC.read_text()
    assert [r["id"] for r in record["results"]] == [f.id for f in faults.FAULTS]
    for result in record["results"]:
        fault = next(f for f in faults.FAULTS if f.id == result["id"])
        assert (result["file"], result["old"], result["new"]) == (fault.file, fault.old, fault.new)
