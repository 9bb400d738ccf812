"""Scenario files: TOML tables of model parameters (the same names as ``alignsim params``), or company profiles.

A scenario is flat ``name = value`` pairs; an optional ``description`` string documents it. A file
with a ``[company]`` table is a company profile in business terms (experiments/profile.py), mapped
to model parameters by the formulas stated there.
Presets live in ``experiments/scenarios/`` and can be named without path or suffix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import UserError, one_line

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
METADATA_KEYS = ("description",)


def preset_names() -> list[str]:
    """Names of the shipped scenario presets."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def resolve_path(ref: str, relative_to: Path | None = None) -> Path:
    """Find a scenario file: a path (relative to ``relative_to`` or the cwd) or a preset name.

    Raises:
        UserError: if no such file exists.
    """
    candidates = []
    if relative_to is not None:
        candidates.append(Path(relative_to) / ref)
    candidates += [Path(ref), SCENARIO_DIR / ref, SCENARIO_DIR / f"{ref}.toml"]
    for path in candidates:
        if path.is_file():
            return path
    raise UserError(
        f"scenario {ref!r}: no such file; allowed: a TOML file path or a preset ({', '.join(preset_names())})"
    )


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a TOML file, turning I/O and syntax errors into one-line :class:`UserError`."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{what} {str(path)!r}: malformed TOML: {one_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{what} {str(path)!r}: not UTF-8 text (bad byte at offset {exc.start}); allowed: a UTF-8 TOML file"
        ) from None
    except ValueError as exc:  # tomllib's int() past Python's 4,300-digit limit for an integer
        raise UserError(f"{what} {str(path)!r}: unreadable value: {one_line(exc)}; allowed: valid TOML") from None
    except IsADirectoryError:
        raise UserError(f"{what} {str(path)!r}: is a folder; allowed: a TOML file") from None
    except OSError as exc:
        raise UserError(f"{what} {str(path)!r}: cannot read: {one_line(exc.strerror or exc)}") from None


def load_scenario(ref: str | Path, relative_to: Path | None = None) -> dict[str, Any]:
    """Load and check a scenario file.

    Args:
        ref: file path or preset name.
        relative_to: folder for relative paths (e.g. the spec's folder).

    Returns:
        The parameter overrides, each converted by its parameter's check.

    Raises:
        UserError: unknown parameter, bad value, nested table or malformed file.
    """
    return load_scenario_and_draws(ref, relative_to)[0]


def load_scenario_and_draws(
    ref: str | Path, relative_to: Path | None = None
) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """A scenario's parameter overrides and, for a calibrated company profile, its draws (else none).

    Raises:
        UserError: as :func:`load_scenario`.
    """
    from alignsim.experiments.profile import is_profile, load_profile

    path = resolve_path(str(ref), relative_to)
    data = read_toml(path, "scenario")
    if is_profile(data):
        profile = load_profile(path, data)
        return profile.params, profile.draws
    params = {k: v for k, v in data.items() if k not in METADATA_KEYS}
    return check_params(params, where=f"scenario {str(path)!r}"), ()


def check_params(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Check each parameter value by name (not the cross-parameter rules).

    Raises:
        UserError: naming ``where``, the parameter, the value and what is allowed.
    """
    from alignsim.model.params import PARAMS

    checked = {}
    for name, value in values.items():
        if name not in PARAMS:
            raise UserError(f"{where}: unknown parameter {name!r}; see 'alignsim params' for the list")
        if isinstance(value, dict | list):
            raise UserError(f"{where}: parameter {name!r}: got {value!r}; allowed: {PARAMS[name].allowed()}")
        try:
            checked[name] = PARAMS[name].check(value)
        except ValueError as exc:
            raise UserError(f"{where}: {one_line(exc)}") from None
    return checked


def full_params(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Merge over the defaults and apply every rule of ``alignsim.model.params.validate``.

    Raises:
        UserError: with ``where`` prefixed to the model's message.
    """
    from alignsim.model.params import validate

    try:
        return validate(values)
    except ValueError as exc:
        raise UserError(f"{where}: {one_line(exc)}") from None
