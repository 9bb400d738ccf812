"""The generated tables in docs/MODEL.md match the code."""

from __future__ import annotations

from alignsim.model.doc_tables import DOC, render


def test_model_doc_tables_are_current() -> None:
    text = DOC.read_text()
    assert render(text) == text, "docs/MODEL.md is stale: run `python -m alignsim.model.doc_tables`"
    for block in ("params", "mechanisms", "decisions", "metrics"):
        assert f"<!-- {block}:start -->\n|" in text
