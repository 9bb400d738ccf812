"""alignsim report: one self-contained HTML file whose summary says what the statistics say."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from alignsim.experiments import stats
from alignsim.experiments.cli import main
from alignsim.experiments.html_report import build_html
from alignsim.experiments.tables import Experiment

QUICK = Path(__file__).resolve().parent.parent / "results" / "quick" / "structure_x_kpi"


@pytest.fixture(scope="module")
def page() -> str:
    return build_html(QUICK)


def test_report_is_self_contained(page: str) -> None:
    # nothing the browser would fetch: no script, stylesheet link, or http(s)/protocol-relative source
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    pngs = sorted((QUICK / "charts").glob("*.png"))
    assert pngs and page.count('src="data:image/png;base64,') == len(pngs), "every chart embedded"


def test_sections_and_words_not_code_names(page: str) -> None:
    for heading in (
        "Executive summary",
        "Results per cell",
        "Charts",
        "Definitions of the metrics",
        "What is assumed",
        "Provenance",
    ):
        assert f"<h2>{heading}</h2>" in page
    summary = page.split("<h2>Executive summary</h2>")[1].split("<h2>")[0]
    assert "assembly_line" not in summary and "assembly line" in summary
    assert "95% CI" in summary


def test_summary_verdicts_match_the_paired_statistics(page: str) -> None:
    exp = Experiment(QUICK)
    al = exp.find_cell(structure="assembly_line", kpi="siloed", learning="reward")
    pod = exp.find_cell(structure="pod", kpi="siloed", learning="reward")
    d = stats.paired_diff(*exp.paired(al, pod, "firm_value"))
    line = next(
        x
        for x in page.split("<li>")
        if x.startswith("<span") and "pods, siloed KPIs minus assembly line, siloed KPIs" in x
    )
    significant = d.ci_low > 0 or d.ci_high < 0
    assert ("not significant" not in line) == significant
    assert f"{d.mean_diff / 1e6:,.1f}M USD" in line
    # every line's verdict agrees with its own interval
    for item in re.findall(r'<span class="(sig|ns)">(.*?)</span>', page):
        low, high = re.search(r"\[95% CI (-?[\d.,]+)M? USD to (-?[\d.,]+)M? USD\]", item[1]).groups()
        excludes = (float(low.replace(",", "")) > 0) or (float(high.replace(",", "")) < 0)
        assert (item[0] == "sig") == excludes, item


def test_report_command_writes_and_rejects(tmp_path: Path, capsys) -> None:
    target = tmp_path / "r.html"
    assert main(["report", str(QUICK), "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and err.count("\n") == 1


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no headless Chromium on this machine")
def test_report_renders_in_a_real_browser_offline(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    target = tmp_path / "r.html"
    target.write_text(build_html(QUICK), encoding="utf-8")
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else requests.append(r.url))
        page.goto(target.as_uri())
        page.wait_for_load_state("networkidle")
        assert page.locator("h2", has_text="Executive summary").count() == 1
        images = page.locator("img")
        assert images.count() == len(list((QUICK / "charts").glob("*.png")))
        # every chart decoded: a broken data URI renders with zero natural width
        assert all(images.nth(i).evaluate("img => img.naturalWidth") > 100 for i in range(images.count()))
        page.screenshot(path=str(tmp_path / "shot.png"), full_page=True)
        browser.close()
    assert requests == [], f"the report asked the network for {requests[:3]}"
    assert (tmp_path / "shot.png").stat().st_size > 50_000
