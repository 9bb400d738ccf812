"""Keep the generated tables in docs/MODEL.md in sync with the code.

``python -m alignsim.model.doc_tables`` rewrites the blocks between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``; a test fails if the committed document is out of date.
"""

from __future__ import annotations

import re
from pathlib import Path

from alignsim.agents import ROLES
from alignsim.model import mechanisms, params

DOC = Path(__file__).resolve().parent.parent / "docs" / "MODEL.md"


def decision_table() -> str:
    """Decision variables of every role with default and bounds."""
    rows = ["| role | decision variable | default | bounds | siloed KPI | capacity |", "|---|---|---|---|---|---|"]
    for cls in ROLES:
        for name, (default, low, high) in cls.POLICY.items():
            rows.append(
                f"| {cls.role} | `{name}` | {default:g} | [{low:g}, {high:g}] | {cls.SILOED_KPI} |"
                f" `{cls.CAPACITY_PARAM}` ({cls.CAPACITY_UNIT}) |"
            )
    return "\n".join(rows)


def metrics_table() -> str:
    """Summary and weekly metrics with unit and definition."""
    from alignsim.model.metrics import METRIC_INFO, SERIES_INFO

    rows = ["| metric | kind | unit | definition |", "|---|---|---|---|"]
    rows += [f"| `{k}` | summary | {u} | {d} |" for k, (u, d) in METRIC_INFO.items()]
    rows += [f"| `{k}` | weekly | {u} | {d} |" for k, (u, d) in SERIES_INFO.items()]
    return "\n".join(rows)


BLOCKS = {
    "params": params.markdown_table,
    "mechanisms": mechanisms.markdown_table,
    "decisions": decision_table,
    "metrics": metrics_table,
}


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        text = pattern.sub(lambda match, make=make: match.group(1) + make() + "\n" + match.group(2), text)
    return text


if __name__ == "__main__":
    if not DOC.exists():  # an installed wheel has no docs/: this is a tool for a source checkout
        raise SystemExit(f"no {DOC}: run this from a source checkout of alignsim (pip install -e .)")
    DOC.write_text(render(DOC.read_text()))
    print(f"updated {DOC}")
