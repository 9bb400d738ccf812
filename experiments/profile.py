"""Company profiles: a company described in business terms, mapped to model parameters by stated formulas.

A profile is a TOML file with a ``[company]`` table (``alignsim init`` writes a commented one). It
is accepted wherever a scenario is (``run``, ``compare``, ``sweep --scenario``, a spec's
``base.scenario``). Its business inputs map to model parameters as follows (``to_params``):

- segment -> prospect mix: smb (80% SMB, 0% enterprise), mid-market (30%, 10%: the model's
  default), enterprise (0%, 60%); the rest is mid-market.
- ``deals.acv_usd`` (mean first-year ACV) scales every segment's list ACV by one factor:
  ``acv_k = default_acv_k * acv_usd / sum_k share_k * default_acv_k``.
- ``deals.sales_cycle_weeks`` (mean cycle) the same way: ``sales_cycle_scale =
  sales_cycle_weeks / sum_k share_k * default_cycle_k``.
- ``deals.contract_term_months`` -> ``contract_weeks = round(months * 52 / 12)``.
- retention: the shifted-beta-geometric model's theta ~ Beta(alpha, beta) (Fader & Hardie 2007).
  ``retention.heterogeneity`` fixes the shape alpha (low 4.0, medium 1.2, high 0.5: the smaller,
  the more a few customers churn early and the survivors stay) and the mean annual churn
  propensity c fixes ``beta = alpha * (1 - c) / c``; c is ``observed.annual_logo_churn`` when
  given (before calibration the organisation's own effect on churn is taken as neutral), else
  ``retention.annual_churn_propensity``.
- headcount, customers, leads, hiring, gross margin and costs map one to one (see FIELDS).
- ``[model]``: raw model parameters (``alignsim params``) for anything not covered, applied last.

A calibrated profile (``alignsim calibrate``) adds a ``[calibrated]`` table: the best-fitting values
of the calibrated parameters and ``draws``, parameter sets the observed KPIs cannot rule out;
``compare`` runs replicate r at draw r mod len(draws), so its intervals carry that uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import UserError, finite_number, one_line, shown

SEGMENTS = ("smb", "mid-market", "enterprise")
#: prospect mix (share_smb, share_enterprise) of each segment
SEGMENT_MIX = {"smb": (0.8, 0.0), "mid-market": (0.3, 0.1), "enterprise": (0.0, 0.6)}
#: sBG shape alpha of each heterogeneity choice
HETEROGENEITY_ALPHA = {"low": 4.0, "medium": 1.2, "high": 0.5}
CALIBRATED = "calibrated"
#: the line that starts what ``alignsim calibrate`` appends (everything from it on is replaced on recalibration)
CALIBRATED_MARKER = "# ---- written by alignsim calibrate"


@dataclass(frozen=True)
class Field:
    """One field of a profile.

    Attributes:
        section: TOML table.
        key: key in that table.
        kind: "int", "float", "fraction", "choice" or "bool".
        unit: unit in words.
        meaning: what it is.
        low: smallest allowed value (numbers).
        high: largest allowed value (numbers).
        choices: allowed strings (choice).
    """

    section: str
    key: str
    kind: str
    unit: str
    meaning: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``section.key``."""
        return f"{self.section}.{self.key}"

    def allowed(self) -> str:
        """What values are allowed, in words (as for a model parameter, with the unit)."""
        from alignsim.model.params import allowed_text

        text = allowed_text(self.kind, self.choices, self.low, self.high)
        return text + (f" ({self.unit})" if self.unit and self.kind not in ("choice", "bool") else "")

    def check(self, value: Any, where: str) -> Any:
        """The value, typed; a :class:`UserError` naming the field if it is not allowed."""
        bad = UserError(f"{where}: field '{self.name}': got {shown(value)}; allowed: {self.allowed()}")
        if self.kind == "choice":
            if value not in self.choices:
                raise bad
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise bad
            return value
        if not finite_number(value):
            raise bad
        if self.kind == "int" and int(value) != value:
            raise bad
        if not self.low <= value <= self.high:
            raise bad
        return int(value) if self.kind == "int" else float(value)


def _f(section: str, key: str, kind: str, unit: str, meaning: str, low=None, high=None, choices=()) -> Field:
    return Field(section, key, kind, unit, meaning, low, high, tuple(choices))


#: every field a profile may have, in the order ``alignsim init`` writes them
FIELDS: tuple[Field, ...] = (
    _f("company", "name", "text", "", "the company's name (free text)"),
    _f("company", "segment", "choice", "", "main customer segment: sets the prospect mix", choices=SEGMENTS),
    _f("company", "structure", "choice", "", "how the GTM team is organised today", choices=("assembly_line", "pod")),
    _f("company", "kpi", "choice", "", "what people are paid on today", choices=("siloed", "shared", "blend")),
    _f("headcount", "marketers", "int", "people", "demand-generation marketers today", 1, 400),
    _f("headcount", "sdrs", "int", "people", "sales development reps today", 1, 400),
    _f("headcount", "aes", "int", "people", "account executives today", 1, 400),
    _f("headcount", "csms", "int", "people", "customer success managers today", 1, 400),
    _f("headcount", "pods", "int", "pods", "pods, if organised in pods (every pod needs every role)", 1, 100),
    _f(
        "hiring",
        "plan",
        "choice",
        "",
        "plan: hire as the company grows; fixed: today's headcount",
        choices=("plan", "fixed"),
    ),
    _f(
        "hiring",
        "csm_coverage_arr_usd",
        "float",
        "USD of ARR per CSM",
        "ARR one CSM carries before you hire another",
        2e5,
        2e7,
    ),
    _f(
        "hiring",
        "sm_budget_share_of_arr",
        "fraction",
        "USD per USD of ARR",
        "yearly S&M budget as a share of ARR",
        0,
        3,
    ),
    _f("customers", "count", "int", "customers", "paying customers today", 0, 100_000),
    _f(
        "deals", "acv_usd", "float", "USD per year", "mean first-year annual contract value of a new customer", 100, 1e7
    ),
    _f("deals", "sales_cycle_weeks", "float", "weeks", "mean time from SQL to signature", 0.5, 150),
    _f("deals", "contract_term_months", "int", "months", "standard contract term", 1, 36),
    _f("deals", "gross_margin", "fraction", "of revenue", "subscription gross margin", 0.05, 1),
    _f(
        "leads",
        "prospects_per_week",
        "float",
        "accounts per week",
        "accounts your marketing reaches each week",
        1,
        20_000,
    ),
    _f(
        "retention",
        "heterogeneity",
        "choice",
        "",
        "how unequal churn risk is across customers",
        choices=tuple(HETEROGENEITY_ALPHA),
    ),
    _f(
        "retention",
        "annual_churn_propensity",
        "fraction",
        "per year",
        "mean annual churn propensity, when no churn is observed",
        0.005,
        0.9,
    ),
    _f("costs", "marketer_usd_per_year", "float", "USD per year", "fully loaded cost of a marketer", 1e4, 1e6),
    _f("costs", "sdr_usd_per_year", "float", "USD per year", "fully loaded cost of an SDR", 1e4, 1e6),
    _f("costs", "ae_usd_per_year", "float", "USD per year", "fully loaded cost of an AE (OTE)", 1e4, 1e6),
    _f("costs", "csm_usd_per_year", "float", "USD per year", "fully loaded cost of a CSM", 1e4, 1e6),
    _f("costs", "program_usd_per_mql", "float", "USD per MQL", "marketing programme spend per MQL", 0, 1e6),
)
BY_NAME = {f.name: f for f in FIELDS}
SECTIONS = tuple(dict.fromkeys(f.section for f in FIELDS))

#: business field -> model parameter, one to one
DIRECT = {
    "company.structure": "structure",
    "company.kpi": "kpi",
    "headcount.marketers": "n_marketers",
    "headcount.sdrs": "n_sdrs",
    "headcount.aes": "n_aes",
    "headcount.csms": "n_csms",
    "headcount.pods": "n_pods",
    "hiring.plan": "hiring",
    "hiring.csm_coverage_arr_usd": "csm_coverage_arr_usd",
    "hiring.sm_budget_share_of_arr": "sm_budget_share_of_arr",
    "customers.count": "initial_customers",
    "deals.gross_margin": "gross_margin",
    "leads.prospects_per_week": "prospects_per_week",
    "costs.marketer_usd_per_year": "cost_marketer_usd_per_year",
    "costs.sdr_usd_per_year": "cost_sdr_usd_per_year",
    "costs.ae_usd_per_year": "cost_ae_usd_per_year",
    "costs.csm_usd_per_year": "cost_csm_usd_per_year",
    "costs.program_usd_per_mql": "program_cost_per_lead_usd",
}


@dataclass(frozen=True)
class Observed:
    """One KPI a company observes, and the model metric it is compared with.

    Attributes:
        key: field name in ``[observed]``.
        metric: model summary metric.
        unit: unit of the observed value.
        meaning: definition in words (the model's, so the company measures the same thing).
        low: smallest possible value.
        high: largest possible value.
        tolerance: default measurement uncertainty (one standard deviation, in the KPI's unit).
        scale: observed value = metric x scale (unit conversion).
    """

    key: str
    metric: str
    unit: str
    meaning: str
    low: float
    high: float
    tolerance: float
    scale: float = 1.0


#: the KPIs a profile may state in ``[observed]`` (each optional)
OBSERVED: tuple[Observed, ...] = (
    Observed(
        "annual_logo_churn",
        "logo_churn",
        "fraction per year",
        "customers lost at renewal / up for renewal, trailing 12 months, annualised",
        0.0,
        0.99,
        0.015,
    ),
    Observed(
        "grr", "grr", "fraction", "gross revenue retention, trailing 12 months (expansion excluded)", 0.0, 1.0, 0.02
    ),
    Observed("nrr", "nrr", "fraction", "net revenue retention, trailing 12 months (with expansion)", 0.0, 3.0, 0.03),
    Observed(
        "win_rate", "win_rate", "fraction", "opportunities won / opportunities closed (won or lost)", 0.0, 1.0, 0.02
    ),
    Observed("mql_to_sql", "mql_to_sql", "fraction", "SQLs (meetings booked) / MQLs", 0.0, 1.0, 0.03),
    Observed(
        "cac_payback_months",
        "payback_months",
        "months",
        "CAC / (first monthly revenue of a new customer x gross margin)",
        0.0,
        240.0,
        2.0,
    ),
    Observed(
        "speed_to_lead_hours",
        "speed_to_lead_weeks",
        "hours",
        "mean time from MQL to first SDR touch",
        0.0,
        2000.0,
        6.0,
        168.0,
    ),
    Observed(
        "new_arr_per_ae_usd",
        "new_arr_per_ae",
        "USD per AE-year",
        "new ARR booked per ramped AE-year",
        0.0,
        1e8,
        100_000.0,
    ),
)
OBSERVED_BY_KEY = {o.key: o for o in OBSERVED}


@dataclass(frozen=True)
class Profile:
    """A loaded company profile.

    Attributes:
        path: the file.
        name: the company's name.
        params: model parameter overrides (business mapping, then ``[model]``, then the calibrated best fit).
        observed: KPI key -> observed value.
        tolerance: KPI key -> one standard deviation of its measurement.
        draws: calibrated parameter sets (empty before calibration).
        text: the file's text up to any calibrated part (what ``calibrate`` copies).
    """

    path: Path
    name: str
    params: dict[str, Any]
    observed: dict[str, float]
    tolerance: dict[str, float]
    draws: tuple[dict[str, Any], ...] = field(default=())
    text: str = ""


def is_profile(data: dict[str, Any]) -> bool:
    """Whether a parsed TOML file is a company profile (it has a ``[company]`` table)."""
    return isinstance(data.get("company"), dict)


def load_profile(path: Path, data: dict[str, Any] | None = None, calibrated: bool = True) -> Profile:
    """Read and check a profile, and map it to model parameters.

    Args:
        path: the TOML file.
        data: its parsed content (read from ``path`` if None).
        calibrated: apply a ``[calibrated]`` table (False: the profile as the company stated it).

    Raises:
        UserError: one line naming the field, the value and what is allowed.
    """
    from alignsim.experiments.scenario import read_toml

    where = f"company profile {str(path)!r}"
    data = read_toml(path, "company profile") if data is None else data
    values = _business_values(data, where)
    observed, tolerance = _observed(data, where)
    params = to_params(values, observed, where)
    params.update(_model_table(data, where))
    best, draws = _calibrated(data, where) if calibrated else ({}, ())
    params.update(best)
    _check_consistent(params, where, values)
    text = Path(path).read_text(encoding="utf-8").split(CALIBRATED_MARKER)[0].rstrip() + "\n"
    return Profile(
        Path(path), str(values.get("company.name", Path(path).stem)), params, observed, tolerance, draws, text
    )


def _business_values(data: dict[str, Any], where: str) -> dict[str, Any]:
    allowed = {*SECTIONS, "observed", "tolerance", "model", CALIBRATED, "description"}
    for section, table in data.items():
        if section not in allowed:
            raise UserError(f"{where}: unknown table {section!r}; allowed: {', '.join(sorted(allowed))}")
        if section in SECTIONS and not isinstance(table, dict):
            raise UserError(f"{where}: field {section!r}: got {table!r}; allowed: a table")
    values: dict[str, Any] = {}
    for section in SECTIONS:
        for key, value in data.get(section, {}).items():
            spec = BY_NAME.get(f"{section}.{key}")
            if spec is None:
                known = ", ".join(f.key for f in FIELDS if f.section == section)
                raise UserError(f"{where}: unknown field '{section}.{key}'; allowed in [{section}]: {known}")
            if spec.kind == "text":
                values[spec.name] = str(value)
            else:
                values[spec.name] = spec.check(value, where)
    return values


def _observed(data: dict[str, Any], where: str) -> tuple[dict[str, float], dict[str, float]]:
    observed: dict[str, float] = {}
    tolerance: dict[str, float] = {}
    for section, target in (("observed", observed), ("tolerance", tolerance)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise UserError(f"{where}: field {section!r}: got {table!r}; allowed: a table of KPIs")
        for key, value in table.items():
            kpi = OBSERVED_BY_KEY.get(key)
            if kpi is None:
                raise UserError(
                    f"{where}: unknown field '{section}.{key}'; allowed: {', '.join(OBSERVED_BY_KEY)}"
                    " (alignsim init lists them)"
                )
            low, high = (kpi.low, kpi.high) if section == "observed" else (0.0, math.inf)
            ok = finite_number(value)
            if not ok or not low <= value <= high or (section == "tolerance" and value <= 0):
                allowed = f"a number in [{low:g}, {high:g}] ({kpi.unit})" if section == "observed" else "a number > 0"
                raise UserError(f"{where}: field '{section}.{key}': got {shown(value)}; allowed: {allowed}")
            target[key] = float(value)
    if "grr" in observed and "nrr" in observed and observed["nrr"] < observed["grr"]:
        raise UserError(
            f"{where}: field 'observed.nrr': got {observed['nrr']:g}; allowed: at least observed.grr"
            f" ({observed['grr']:g}), since NRR adds expansion to GRR"
        )
    return observed, {k.key: tolerance.get(k.key, k.tolerance) for k in OBSERVED if k.key in observed}


def to_params(values: dict[str, Any], observed: dict[str, float], where: str = "company profile") -> dict[str, Any]:
    """Model parameters from checked business values (the formulas of the module docstring)."""
    from alignsim.model.params import DEFAULTS

    params = {DIRECT[k]: v for k, v in values.items() if k in DIRECT}
    smb, ent = SEGMENT_MIX[values.get("company.segment", "mid-market")]
    params["share_smb"], params["share_enterprise"] = smb, ent
    shares = {"smb": smb, "mm": 1.0 - smb - ent, "ent": ent}
    if "deals.acv_usd" in values:
        mean_acv = sum(s * DEFAULTS[f"acv_{k}_usd"] for k, s in shares.items())
        factor = values["deals.acv_usd"] / mean_acv
        for k in shares:
            params[f"acv_{k}_usd"] = DEFAULTS[f"acv_{k}_usd"] * factor
    if "deals.sales_cycle_weeks" in values:
        mean_cycle = sum(s * DEFAULTS[f"cycle_{k}_weeks"] for k, s in shares.items())
        params["sales_cycle_scale"] = values["deals.sales_cycle_weeks"] / mean_cycle
    if "deals.contract_term_months" in values:
        params["contract_weeks"] = max(4, round(values["deals.contract_term_months"] * 52 / 12))
    alpha = HETEROGENEITY_ALPHA[values.get("retention.heterogeneity", "medium")]
    churn = observed.get("annual_logo_churn", values.get("retention.annual_churn_propensity"))
    if churn is not None:
        churn = min(max(churn, 0.005), 0.9)  # an observed 0 or 99% still needs a proper Beta
        params["churn_alpha"], params["churn_beta"] = alpha, alpha * (1.0 - churn) / churn
    elif "retention.heterogeneity" in values:
        mean = DEFAULTS["churn_alpha"] / (DEFAULTS["churn_alpha"] + DEFAULTS["churn_beta"])
        params["churn_alpha"], params["churn_beta"] = alpha, alpha * (1.0 - mean) / mean
    return params


def _model_table(data: dict[str, Any], where: str) -> dict[str, Any]:
    from alignsim.experiments.scenario import check_params

    table = data.get("model", {})
    if not isinstance(table, dict):
        raise UserError(f"{where}: field 'model': got {table!r}; allowed: a table of model parameters")
    return check_params(table, where=f"{where}: table [model]")


def _calibrated(data: dict[str, Any], where: str) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    from alignsim.experiments.scenario import check_params

    table = data.get(CALIBRATED)
    if table is None:
        return {}, ()
    if not isinstance(table, dict) or not isinstance(table.get("best"), dict):
        raise UserError(f"{where}: table [calibrated]: allowed: what 'alignsim calibrate' writes (best, draws)")
    best = check_params(table["best"], where=f"{where}: table [calibrated.best]")
    draws = table.get("draws", [])
    if not isinstance(draws, list) or not all(isinstance(d, dict) for d in draws):
        raise UserError(f"{where}: field 'calibrated.draws': allowed: an array of parameter tables")
    checked = tuple(check_params(d, where=f"{where}: field 'calibrated.draws[{i}]'") for i, d in enumerate(draws))
    return best, checked


def _check_consistent(params: dict[str, Any], where: str, values: dict[str, Any]) -> None:
    """The model's own range and cross-parameter rules, reported against the business field behind them."""
    from alignsim.experiments.scenario import check_params
    from alignsim.model.params import validate

    behind = {v: k for k, v in DIRECT.items()}
    behind.update({f"acv_{k}_usd": "deals.acv_usd" for k in ("smb", "mm", "ent")})
    behind.update(sales_cycle_scale="deals.sales_cycle_weeks", contract_weeks="deals.contract_term_months")
    for name, value in params.items():
        try:
            check_params({name: value}, where="")
        except UserError as exc:
            source = behind.get(name)
            shown = f"field '{source}' (got {values.get(source)!r})" if source else f"parameter {name!r}"
            raise UserError(f"{where}: {shown} maps outside the model's range: {one_line(exc).lstrip(': ')}") from None
    try:
        validate(params)
    except ValueError as exc:
        message = one_line(exc)
        if "n_pods" in message:
            message = message.replace("parameter 'n_pods'", "field 'headcount.pods'")
        raise UserError(f"{where}: {message}") from None
