"""The README's headline table shows what the committed results give."""

from __future__ import annotations

import pytest

from alignsim.experiments.readme_tables import HEADLINE_DIR, README, render


@pytest.mark.skipif(not (HEADLINE_DIR / "runs.csv").exists(), reason="no committed results (installed wheel)")
def test_readme_headline_table_is_the_committed_results() -> None:
    text = README.read_text()
    assert "<!-- headline-table:start -->\n| cell |" in text
    assert render(text) == text, "README.md's headline table is stale: python -m alignsim.experiments.readme_tables"
