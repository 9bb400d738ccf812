"""Packaging: one ``alignsim`` namespace, no import cycles, and a wheel that installs beside clashing names.

The owner's folders ``model/``, ``agents/`` and ``experiments/`` install as ``alignsim.model``,
``alignsim.agents`` and ``alignsim.experiments`` (setuptools ``package-dir``). These tests run imports in
fresh interpreters whose working directory is a temporary folder, so the checkout is not on ``sys.path``
and only what is installed counts. The wheel tests build a wheel offline (``--no-build-isolation``, so
they need ``setuptools>=77`` in this interpreter) and install it into a throwaway virtual environment.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "alignsim",
    "alignsim.model",
    "alignsim.agents",
    "alignsim.experiments",
    "alignsim.experiments.cli",
    "alignsim.model.model",
)
GENERIC_NAMES = ("model", "agents", "experiments")
# Source folder -> its place in the wheel: the layout pyproject.toml's package-dir is meant to produce.
SOURCE_DIRS = {
    "alignsim": "alignsim",
    "model": "alignsim/model",
    "agents": "alignsim/agents",
    "experiments": "alignsim/experiments",
}
# Generated or bulky things that are never part of a build (results/ alone is ~15 MB).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".venv", "results", "out"
)
TIMEOUT = 180


def _env() -> dict[str, str]:
    """The current environment without PYTHONPATH, which could put the checkout back on ``sys.path``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command with the cleaned environment, capturing text output."""
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT
    )


def _check(args: list[str | Path], cwd: Path) -> str:
    """Run a command, assert it exits 0 and return its stdout."""
    result = _run(args, cwd)
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _python(code: str, cwd: Path, python: str | Path = sys.executable) -> str:
    """Run ``code`` in a fresh interpreter with ``cwd`` as working directory; its stdout."""
    return _check([python, "-c", textwrap.dedent(code)], cwd)


# --- 1. imports in a fresh interpreter --------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first_in_fresh_interpreter(module: str, tmp_path: Path) -> None:
    """Each module imports as the first import of a fresh interpreter: a module-level cycle would raise."""
    _python(f"import {module}", tmp_path)


@pytest.mark.parametrize("name", GENERIC_NAMES)
def test_no_generic_top_level_package(name: str, tmp_path: Path) -> None:
    """``import model`` (``agents``, ``experiments``) finds nothing: the project owns only ``alignsim``."""
    _python(
        f"""
        try:
            import {name}
        except ModuleNotFoundError as exc:
            raise SystemExit(0 if exc.name == {name!r} else f"another module is missing: {{exc.name}}")
        raise SystemExit(f"import {name} found {{{name}.__file__}}")
        """,
        tmp_path,
    )


def test_version_is_the_installed_metadata_version(tmp_path: Path) -> None:
    """``alignsim.__version__``, the distribution metadata and ``python -m alignsim --version`` agree."""
    found = json.loads(
        _python(
            """
            import importlib.metadata, json
            import alignsim
            print(json.dumps([alignsim.__version__, importlib.metadata.version("alignsim")]))
            """,
            tmp_path,
        )
    )
    assert found[0] == found[1] != "0+unknown"
    printed = _check([sys.executable, "-m", "alignsim", "--version"], tmp_path)
    assert printed.split() == ["alignsim", found[1]]


def test_import_alignsim_does_not_import_mesa(tmp_path: Path) -> None:
    """``import alignsim`` stays light: Mesa (which sets the multiprocessing start method) loads on first use."""
    _python("import alignsim, sys; assert 'mesa' not in sys.modules, 'import alignsim imported mesa'", tmp_path)


# --- 2. the wheel --------------------------------------------------------------------------------------


class Wheels(NamedTuple):
    """Wheels built for the tests, and the copy of the checkout that ``alignsim`` was built from."""

    alignsim: Path
    dummy: Path
    source: Path


def _require_wheel_tools() -> None:
    """Skip unless this interpreter can build the wheel offline (pip, setuptools>=77 for PEP 639 licences)."""
    pytest.importorskip("venv", reason="the venv module is not available")
    try:
        setuptools_version = importlib.metadata.version("setuptools")
        importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError as exc:
        pytest.skip(f"{exc.name} is not installed: cannot build wheels offline")
    if int(setuptools_version.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools_version} < 77 cannot read pyproject.toml; pip install 'setuptools>=77'")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    """The ``alignsim`` wheel, and a dummy distribution with top-level modules ``agents`` and ``model``."""
    _require_wheel_tools()
    root = tmp_path_factory.mktemp("wheels")
    # Build from a copy: a build writes build/ and *.egg-info into its source tree, and a stale build/lib
    # there could put files into the wheel that the checkout no longer has.
    source = root / "alignsim-src"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    dummy = root / "clash-dummy"
    dummy.mkdir()
    (dummy / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "clash-dummy"
            version = "1.0"

            [tool.setuptools]
            py-modules = ["agents", "model"]
            """
        )
    )
    for name in ("agents", "model"):
        (dummy / f"{name}.py").write_text(f'MARKER = "dummy {name}"\n')
    dist = root / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    _check([*pip_wheel, "-w", dist, source, dummy], root)
    (built,) = dist.glob("alignsim-*.whl")
    (dummy_wheel,) = dist.glob("clash_dummy-*.whl")
    return Wheels(built, dummy_wheel, source)


def test_wheel_holds_only_the_alignsim_namespace(wheels: Wheels) -> None:
    """The wheel has no top-level model/agents/experiments, and every source and data file at its place."""
    with zipfile.ZipFile(wheels.alignsim) as wheel:
        names = set(wheel.namelist())
        top_level_txt = next((n for n in names if n.endswith(".dist-info/top_level.txt")), None)
        declared = wheel.read(top_level_txt).decode().split() if top_level_txt else ["alignsim"]
    top = {name.split("/")[0] for name in names}
    assert not top & set(GENERIC_NAMES), f"generic top-level entries in the wheel: {sorted(top & set(GENERIC_NAMES))}"
    assert {t for t in top if not t.endswith(".dist-info")} == {"alignsim"}, sorted(top)
    assert declared == ["alignsim"]
    assert "alignsim/py.typed" in names
    specs = {n for n in names if n.startswith("alignsim/experiments/specs/") and n.endswith(".toml")}
    assert specs, "no alignsim/experiments/specs/*.toml in the wheel"
    # Every module and TOML file of the source folders, subpackages included: `packages` in pyproject.toml
    # is an explicit list, so a new subpackage left off it would be silently missing from the wheel.
    expected = {
        f"{target}/{path.relative_to(wheels.source / folder).as_posix()}"
        for folder, target in SOURCE_DIRS.items()
        for path in (wheels.source / folder).rglob("*")
        if path.suffix in {".py", ".toml"} and "__pycache__" not in path.parts
    }
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"


# Run in the test venv: alignsim first, then the dummy's `agents` and `model`. JSON on stdout.
_ALIGNSIM_THEN_DUMMY = """
import importlib.metadata, json, math, sys
import alignsim
from alignsim import GTMModel
import alignsim.experiments.cli
from alignsim.experiments.scenario import load_scenario, preset_names
from alignsim.experiments.spec import load_spec

arr = GTMModel(seed=1, weeks=8).run().summary()["arr"]
load_spec("structure_x_kpi")
presets = preset_names()
for preset in presets:
    load_scenario(preset)
import agents, model

print(json.dumps({
    "arr_finite": math.isfinite(arr),
    "version": alignsim.__version__,
    "metadata_version": importlib.metadata.version("alignsim"),
    "presets": presets,
    "markers": [agents.MARKER, model.MARKER],
    "alignsim_files": {n: getattr(m, "__file__", None) for n, m in sys.modules.items() if n.startswith("alignsim")},
}))
"""

# The other order: the dummy's modules first, then alignsim's subpackages.
_DUMMY_THEN_ALIGNSIM = """
import agents, model
import alignsim.agents, alignsim.model.model
assert (agents.MARKER, model.MARKER) == ("dummy agents", "dummy model"), (agents, model)
assert alignsim.agents is not agents and alignsim.model is not model
assert alignsim.agents.ROLES and alignsim.model.GTMModel
"""


def _venv_with_wheels(wheels: Wheels, path: Path) -> Path:
    """A venv seeing this interpreter's packages, with both wheels installed into it; its python."""
    import venv  # stdlib, but some distributions split it out; _require_wheel_tools skipped without it

    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(path)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # --system-site-packages shows the base interpreter's packages; if this interpreter is itself a venv,
    # a .pth adds its site-packages too (mesa, numpy, pip), after the new venv's own.
    purelib = Path(_python("import sysconfig; print(sysconfig.get_path('purelib'))", path, python).strip())
    outer = dict.fromkeys([*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (purelib / "_outer_site_packages.pth").write_text("\n".join(outer) + "\n")
    # --force-reinstall: the editable alignsim of this interpreter is visible here and would count as
    # installed; pip leaves it alone ("outside environment") and installs the wheel into the venv.
    pip_install = [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall"]
    _check([*pip_install, wheels.alignsim, wheels.dummy], path)
    return python


def test_wheel_runs_in_a_venv_beside_top_level_agents_and_model(wheels: Wheels, tmp_path: Path) -> None:
    """The wheel, installed in a fresh venv next to a distribution owning ``agents`` and ``model``, runs a model.

    The venv uses ``--system-site-packages`` (offline: mesa, numpy... come from this interpreter) and the
    wheel is force-installed into it. Every loaded ``alignsim`` module must come from the venv, so a module
    missing from the wheel cannot pass by being found in the checkout through the editable install.
    """
    env_dir = tmp_path / "venv"
    python = _venv_with_wheels(wheels, env_dir)
    work = tmp_path / "work"  # not the checkout, not the venv
    work.mkdir()
    found = json.loads(_python(_ALIGNSIM_THEN_DUMMY, work, python))

    assert found["arr_finite"]
    assert found["version"] == found["metadata_version"] != "0+unknown"
    assert found["presets"], "no scenario presets found in the installed package"
    assert found["markers"] == ["dummy agents", "dummy model"]
    prefix = env_dir.resolve()
    outside = {
        n: f for n, f in found["alignsim_files"].items() if f is None or not Path(f).resolve().is_relative_to(prefix)
    }
    assert not outside, f"alignsim modules not loaded from the installed wheel: {outside}"
    assert {"alignsim.model.model", "alignsim.agents", "alignsim.experiments.cli"} <= found["alignsim_files"].keys()

    _python(_DUMMY_THEN_ALIGNSIM, work, python)
    script = python.parent / ("alignsim.exe" if os.name == "nt" else "alignsim")
    assert _check([script, "--version"], work).split() == ["alignsim", found["version"]]


# --- 3. the editable install -----------------------------------------------------------------------------


def test_editable_install_maps_this_checkout(tmp_path: Path) -> None:
    """An editable install of this checkout resolves each ``alignsim`` subpackage to its source folder."""
    packages = {"alignsim" if folder == "alignsim" else f"alignsim.{folder}": folder for folder in SOURCE_DIRS}
    # Asked in a fresh interpreter: in this one the checkout is on sys.path, so its alignsim.egg-info
    # (no direct_url.json) would shadow the installed metadata.
    found = json.loads(
        _python(
            f"""
            import importlib.metadata, importlib.util, json
            try:
                direct_url = importlib.metadata.distribution("alignsim").read_text("direct_url.json")
            except importlib.metadata.PackageNotFoundError:
                direct_url = None
            origins = {{name: getattr(importlib.util.find_spec(name), "origin", None) for name in {sorted(packages)!r}}}
            print(json.dumps({{"direct_url": direct_url, "origins": origins}}))
            """,
            tmp_path,
        )
    )
    info = json.loads(found["direct_url"] or "{}")
    if not info.get("dir_info", {}).get("editable"):
        pytest.skip("alignsim is not installed editable")
    installed_from = Path(unquote(urlparse(info["url"]).path)).resolve()
    if installed_from != REPO_ROOT:
        pytest.skip(f"alignsim is installed editable from {installed_from}, not this checkout")
    assert {name: origin and Path(origin).resolve() for name, origin in found["origins"].items()} == {
        name: REPO_ROOT / folder / "__init__.py" for name, folder in packages.items()
    }
