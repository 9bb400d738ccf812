"""``benchmarks/paired.py`` counts the CPU of processes a command leaves behind (a forkserver's workers)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PAIRED = Path(__file__).resolve().parents[1] / "benchmarks" / "paired.py"
#: a command that starts a child burning about 0.4 s of CPU and exits at once: the child is orphaned
ORPHAN_BURNS = (
    "import subprocess, sys; subprocess.Popen([sys.executable, '-c',"
    " 'import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass'])"
)


def _load():
    spec = importlib.util.spec_from_file_location("paired", PAIRED)
    module = sys.modules["paired"] = importlib.util.module_from_spec(spec)  # a dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child subreaper is Linux's")
def test_the_cpu_of_an_orphaned_child_is_counted():
    """Run in a fresh process (a subreaper adopts every orphan below it, so not in the test runner itself):
    the orphan's 0.4 s must be in the command's CPU, although the command exits before its child."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('paired', {str(PAIRED)!r})\n"
        "m = sys.modules['paired'] = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "assert m.become_subreaper()\n"
        f"run = m.run_once([sys.executable, '-c', {ORPHAN_BURNS!r}])\n"
        "print(run.wall_s, run.cpu_s, run.exit_code)\n"
    )
    wall, cpu, exit_code = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(exit_code) == 0
    assert float(cpu) >= 0.35  # the orphan's own 0.4 s (a timer that waits only for the command sees ~0.05 s)
    assert float(wall) < 0.35  # the wall time ends when the command exits, as a user sees it


def test_out_folder_is_removed_before_each_run(tmp_path):
    paired = _load()
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("x")
    run = paired.run_once([sys.executable, "-c", "import sys", "--out", str(out)])
    assert run.exit_code == 0
    assert not out.exists()
