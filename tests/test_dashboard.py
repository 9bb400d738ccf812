"""alignsim dashboard: a real browser (system Chromium via Playwright) sees controls and charts, offline.

Skipped where the viz extra, Playwright or Chromium is missing; CI installs all three (.ci/run).
The browser may reach only 127.0.0.1: every other request is recorded and fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("solara")
pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine")

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # the server's log goes to a file: an unread pipe fills up (solara warns on every request) and blocks it
    log = open(tmp_path_factory.mktemp("dashboard") / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "alignsim", "dashboard", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < 60:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the dashboard did not start within 60 s")
        yield f"http://127.0.0.1:{port}/", time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _first_chart(page) -> str:
    return page.locator("img").first.get_attribute("src")


def _reset_and_step(page, steps: int) -> None:
    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector("text=Step: 0", timeout=60_000)
    for _ in range(steps):
        page.get_by_role("button", name="Step").click()
    page.wait_for_selector(f"text=Step: {steps}", timeout=60_000)
    page.wait_for_timeout(800)  # the charts redraw after the step counter


def test_dashboard_renders_offline_and_a_control_changes_a_chart(server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, _ = server
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1800})
        page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
        page.goto(url, timeout=60_000)
        for control in ("Structure", "KPI regime", "Compare with (same seed)", "Hand-off delay (weeks)", "Seed"):
            page.wait_for_selector(f"text={control}", timeout=60_000)
        _reset_and_step(page, 4)
        assert page.locator("text=Firm value to date").count() > 0
        assert page.locator("img").count() >= 5, "ARR, cash, churn, queues and decision-variable charts"
        assembly_line = _first_chart(page)
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        # switch the structure to pods and rerun the same seed: the ARR chart changes
        structure = page.locator(".v-input", has=page.locator("label", has_text="Structure"))
        structure.locator(".v-select__slot").click()
        page.locator(".menuable__content__active .v-list-item__title", has_text="pod").first.click()
        _reset_and_step(page, 4)
        assert page.locator("text=pods, siloed KPIs").count() > 0
        assert _first_chart(page) != assembly_line
        browser.close()
    assert outside == [], f"requests left the machine: {outside[:3]}"
    assert (tmp_path / "dashboard.png").stat().st_size > 50_000


def test_dashboard_binds_to_localhost_by_default() -> None:
    from alignsim.experiments.cli import build_parser

    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1"


def test_dashboard_runs_are_the_batch_runs_on_the_same_seed() -> None:
    """Stepping in the browser (with firm value and policies recorded along the way) changes nothing: both
    designs shown are the runs `alignsim run` gives for that seed."""
    from alignsim.experiments.dashboard import DashboardModel, model_params
    from alignsim.model import GTMModel

    controls = {k: v["value"] for k, v in model_params().items() if k not in ("compare_with", "seed", "weeks")}
    shown = DashboardModel(**{**controls, "weeks": 30, "seed": 3, "compare_with": "pod/shared"})
    for _ in range(31):  # one past the horizon: it stops
        shown.step()
    assert shown.week == 30 and not shown.running and len(shown.firm_value_history) == 7
    for model, design in ((shown, {}), (shown.twin, {"structure": "pod", "kpi": "shared"})):
        batch = GTMModel(seed=3, **{**controls, "weeks": 30, **design}).run()
        assert model.timeseries().equals(batch.timeseries())
        assert model.summary()["firm_value"] == batch.summary()["firm_value"]


def test_dashboard_without_the_viz_extra_says_how_to_install(monkeypatch, capsys) -> None:
    import importlib.util

    from alignsim.experiments.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "solara" else real(name, *a))
    assert main(["dashboard", "--port", "8999"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "alignsim[viz]"' in err and err.count("\n") == 1
