"""Keep the README's headline table in sync with the committed results.

``python -m alignsim.experiments.readme_tables`` rewrites the block between
``<!-- headline-table:start -->`` and ``<!-- headline-table:end -->`` in README.md from
``results/structure_x_kpi``; a test fails if the committed README shows other numbers than the
committed results give (a table typed by hand goes stale the first time the model changes).
"""

from __future__ import annotations

import re
from pathlib import Path

from alignsim.experiments import stats
from alignsim.experiments.report import cell_labels, markdown_table
from alignsim.experiments.tables import LEARNING, REWARD, Experiment

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HEADLINE_DIR = ROOT / "results" / "structure_x_kpi"

# (metric, column title, divisor, decimals): the README shows millions and thousands, not raw USD
COLUMNS = (
    ("firm_value", "firm value (M USD)", 1e6, 0),
    ("arr", "ARR year 5 (M USD)", 1e6, 1),
    ("ltv_cohort", "cohort LTV (k USD)", 1e3, 1),
    ("logo_churn_standardised", "churn, standardised (per year)", 1.0, 3),
    ("payback_months", "CAC payback (months)", 1.0, 1),
)


def _ci(values, divisor: float, decimals: int) -> tuple[str, str]:
    ci = stats.mean_ci(values.to_numpy() / divisor)
    return f"{ci.mean:.{decimals}f}", f"[{ci.ci_low:.{decimals}f}, {ci.ci_high:.{decimals}f}]"


def headline_table(exp: Experiment) -> str:
    """Every cell's mean [95% CI of the mean] of the headline metrics, scaled for reading.

    Baseline rows (fixed policy, placebo) are in italics; the learned cell with the highest mean
    firm value is in bold.
    """
    learned = [i for i, cell in enumerate(exp.cells) if cell.get(LEARNING, REWARD) == REWARD]
    best = max(learned, key=lambda i: exp.values(i, "firm_value").mean())
    rows = [["cell", *[title for _, title, _, _ in COLUMNS]]]
    for i, label in enumerate(cell_labels(exp)):
        label = label.replace("_", " ").replace("fixed policy", "fixed policy (nobody learns)")
        cells = [_ci(exp.values(i, metric), div, dec) for metric, _, div, dec in COLUMNS]
        if i not in learned:
            row = [f"*{label}*", *[f"*{mean}* {ci}" for mean, ci in cells]]
        elif i == best:
            row = [f"**{label}**", f"**{cells[0][0]}** {cells[0][1]}", *[f"{mean} {ci}" for mean, ci in cells[1:]]]
        else:
            row = [label, *[f"{mean} {ci}" for mean, ci in cells]]
        rows.append(row)
    return markdown_table(rows)


def render(text: str, results: Path = HEADLINE_DIR) -> str:
    """``text`` with the headline-table block replaced by the table of ``results``."""
    table = headline_table(Experiment(results))
    pattern = re.compile(r"(<!-- headline-table:start -->\n).*?(<!-- headline-table:end -->)", re.S)
    return pattern.sub(lambda match: match.group(1) + table + "\n" + match.group(2), text)


if __name__ == "__main__":
    if not README.exists():  # an installed wheel has no README or results: a tool for a source checkout
        raise SystemExit(f"no {README}: run this from a source checkout of alignsim (pip install -e .)")
    README.write_text(render(README.read_text()))
    print(f"updated {README} from {HEADLINE_DIR}")
