"""``alignsim report DIR``: one self-contained HTML file from an experiment folder (no CDN, no request).

Sections: an executive summary written from the statistics (means with 95% CIs, which paired
differences are and are not significant), the cell table, every chart of the folder (embedded as
data URIs), the definition and unit of every metric, what is assumed (the parameters whose value
no trustworthy figure supports), and provenance (versions, git commit, spec hash, seeds).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from alignsim.experiments import stats
from alignsim.experiments.metrics import DECISION, HEADLINE, definition, unit
from alignsim.experiments.report import cell_labels, cell_rows, effects_lines
from alignsim.experiments.tables import Experiment, baseline_pairs
from alignsim.experiments.words import cell_words, metric_words

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#555}
.note{color:#555;font-size:.9em}.sig{color:#0a5}.ns{color:#777}
"""


def build_html(exp_dir: Path) -> str:
    """The report of one experiment folder as one HTML document."""
    exp = Experiment(exp_dir)
    title = f"alignsim report: {exp.manifest.get('spec_name', exp_dir.name)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(exp.manifest.get('spec', {}).get('description', ''))}</p>",
        _design(exp),
        "<h2>Executive summary</h2>",
        _summary(exp),
        "<h2>Results per cell</h2>",
        '<p class="note">Each cell: mean [95% confidence interval of the mean, Student t] over its replicates;'
        " the replicates share seeds across cells (common random numbers), so differences are paired.</p>",
        _table(_cell_rows_in_words(exp)),
        "<h2>Paired differences</h2>",
        '<p class="note">b - a per replicate, mean [95% CI of the mean difference]; significant = the CI'
        " excludes 0.</p>",
        "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in effects_lines(exp, HEADLINE)) + "</ul>",
        "<h2>Charts</h2>",
        *_charts(exp_dir),
        "<h2>Definitions of the metrics</h2>",
        _definitions(exp),
        "<h2>What is assumed</h2>",
        _assumptions(exp),
        "<h2>Provenance</h2>",
        _provenance(exp),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _design(exp: Experiment) -> str:
    m = exp.manifest
    horizon = m.get("spec", {}).get("weeks")
    text = (
        f"{len(exp.cells)} cells x {m.get('replicates')} replicates, the same seeds in every cell (root seed"
        f" {m.get('root_seed')})" + (f", {horizon} weeks" if horizon else "") + "."
    )
    return f'<p class="note">{_e(text)}</p>'


def _summary(exp: Experiment) -> str:
    """Sentences from the statistics: the best cell on firm value, then what is and is not significant."""
    items = []
    if DECISION in exp.metrics:
        labels = [cell_words(label) for label in cell_labels(exp)]
        means = [stats.mean_ci(exp.values(i, DECISION).to_numpy()) for i in range(len(exp.cells))]
        order = sorted(range(len(means)), key=lambda i: -means[i].mean if math.isfinite(means[i].mean) else math.inf)
        best = order[0]
        items.append(
            f"Highest firm value: {labels[best]},"
            f" {_money(means[best].mean)} [95% CI {_money(means[best].ci_low)} to {_money(means[best].ci_high)}]."
        )
        for a, b in _design_pairs(exp) + baseline_pairs(exp) or _consecutive(exp):
            d = stats.paired_diff(*exp.paired(a, b, DECISION))
            if not (math.isfinite(d.ci_low) and math.isfinite(d.ci_high)):
                continue
            significant = d.ci_low > 0 or d.ci_high < 0
            verdict = "significant" if significant else "not significant (the CI includes 0)"
            items.append(
                f'<span class="{"sig" if significant else "ns"}">{_e(labels[b])} minus {_e(labels[a])}:'
                f" {_money(d.mean_diff)} [95% CI {_money(d.ci_low)} to {_money(d.ci_high)}], {verdict}.</span>"
            )
    else:
        items.append("This experiment did not keep firm value; see the tables below.")
    items.append(
        "Every number comes from simulated companies, not from data: the mechanisms and assumed parameters below"
        " decide it. A difference is called significant only when the 95% CI of the paired difference excludes 0."
    )
    return "<ul>" + "".join(f"<li>{i if i.startswith('<span') else _e(i)}</li>" for i in items) + "</ul>"


def _cell_rows_in_words(exp: Experiment) -> list[list[str]]:
    rows = cell_rows(exp, HEADLINE)
    metrics = [m for m in HEADLINE if m in exp.metrics]
    header = ["design", "replicates"] + [
        f"{metric_words(m)} ({unit(m)})" if unit(m) else metric_words(m) for m in metrics
    ]
    return [header] + [[cell_words(r[0]), *r[1:]] for r in rows[1:]]


def _design_pairs(exp: Experiment) -> list[tuple[int, int]]:
    """Pods vs assembly line under each KPI regime, shared vs siloed in each structure (learned cells), and
    pods vs assembly line with fixed policies, where the design has them."""
    structures, kpis = exp.factors.get("structure", []), exp.factors.get("kpi", [])
    learned = {"learning": "reward"} if "reward" in exp.factors.get("learning", []) else {}
    pairs = []
    if {"assembly_line", "pod"} <= set(structures):
        for kpi in kpis or [None]:
            at = {"kpi": kpi} if kpi else {}
            pairs.append(
                (
                    exp.find_cell(structure="assembly_line", **at, **learned),
                    exp.find_cell(structure="pod", **at, **learned),
                )
            )
        if "off" in exp.factors.get("learning", []):
            pairs.append(
                (
                    exp.find_cell(structure="assembly_line", learning="off"),
                    exp.find_cell(structure="pod", learning="off"),
                )
            )
    if {"siloed", "shared"} <= set(kpis):
        for structure in structures or [None]:
            at = {"structure": structure} if structure else {}
            pairs.append((exp.find_cell(kpi="siloed", **at, **learned), exp.find_cell(kpi="shared", **at, **learned)))
    return [(a, b) for a, b in pairs if a is not None and b is not None]


def _consecutive(exp: Experiment) -> list[tuple[int, int]]:
    """Without baselines: each cell against the first (at most 12 comparisons)."""
    return [(0, i) for i in range(1, min(len(exp.cells), 13))]


def _table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if j else ''}>{_e(c)}</td>" for j, c in enumerate(r)) + "</tr>"
        for r in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(exp_dir: Path) -> list[str]:
    figures = []
    for path in sorted((exp_dir / "charts").glob("*.png")):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = path.stem.replace("_", " ")
        figures.append(
            f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)} ({_e(path.name)})</figcaption></figure>"
        )
    return figures or ['<p class="note">No charts in this folder (alignsim plot DIR draws them).</p>']


def _definitions(exp: Experiment) -> str:
    rows = [["metric", "name in the files", "unit", "definition"]]
    rows += [[metric_words(m), m, unit(m), definition(m)] for m in exp.metrics]
    return _table(rows)


def _assumptions(exp: Experiment) -> str:
    from alignsim.model.params import PARAMS

    spec = exp.manifest.get("spec", {})
    first: dict[str, Any] = spec.get("base", {}) if isinstance(spec.get("base"), dict) else {}
    rows = [["parameter", "value in this experiment", "plausible range", "why assumed"]]
    for name, p in PARAMS.items():
        if p.plausible is not None and p.plausible_source.startswith("assumed"):
            value = first.get(name, f"{p.default} (default)")
            rows.append([name, f"{value}", f"{p.plausible[0]:g} to {p.plausible[1]:g}", p.plausible_source])
    intro = (
        '<p class="note">Parameters with no trustworthy published figure: their value is assumed, and the global'
        " analysis (alignsim sensitivity global_morris) shows how far each moves the answer.</p>"
    )
    return intro + _table(rows)


def _provenance(exp: Experiment) -> str:
    m = exp.manifest
    rows = [["field", "value"]]
    for key in ("spec_name", "spec_hash", "git_commit", "root_seed", "replicates", "started_utc", "ended_utc"):
        rows.append([key, str(m.get(key, ""))])
    rows.append(["versions", json.dumps(m.get("versions", {}), sort_keys=True)])
    rows.append(["runs", json.dumps(m.get("runs", {}), sort_keys=True)])
    return _table(rows)


def _money(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{'-' if value < 0 else ''}{abs(value) / 1e6:,.1f}M USD" if abs(value) >= 1e6 else f"{value:,.0f} USD"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def write_report(exp_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report (atomically) and, where a headless Chromium is installed, a PDF beside it."""
    from alignsim.experiments.fileio import atomic_write_text

    target = Path(out) if out else Path(exp_dir) / "report.html"
    atomic_write_text(target, build_html(Path(exp_dir)))
    _pdf(target)
    return target


def _pdf(html_path: Path) -> Path | None:
    """Print the report to PDF with a headless Chromium, if one is installed (else nothing)."""
    import shutil
    import subprocess

    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        return None
    pdf = html_path.with_suffix(".pdf")
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--print-to-pdf={pdf}",
        html_path.resolve().as_uri(),
    ]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return pdf if pdf.exists() else None
