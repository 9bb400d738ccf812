"""``alignsim dashboard``: the model in the browser (Mesa SolaraViz), with a side-by-side mode.

Controls: structure, KPI regime, learning, seed, the horizon and the main uncertain parameters;
``compare with`` runs a second design on the same seed in step with the first. Charts (words and
units, the second design dashed): ARR, cash contribution to date, annual logo churn, the SDR and
AE queues, and each role's decision variables (mean policy in force). Firm value to date is shown
for both designs. Runs offline with the pinned front end (``pip install "alignsim[viz]"``).

Run it with ``alignsim dashboard`` (binds 127.0.0.1) or ``solara run alignsim.experiments.dashboard``.
"""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from alignsim.experiments.words import cell_words, format_axis, usd
from alignsim.model import GTMModel
from alignsim.model.metrics import mean_policies

#: weeks between two points of the firm-value-to-date chart
FIRM_VALUE_EVERY = 4
DESIGNS = ("assembly_line/siloed", "assembly_line/shared", "pod/siloed", "pod/shared")
NONE = "none"


class DashboardModel(GTMModel):
    """A GTMModel with an optional twin: the same company and seed under another design, stepped alongside.

    Args:
        structure: organisation of the main design.
        kpi: KPI regime of the main design.
        seed: model seed (the twin uses the same).
        compare_with: ``"structure/kpi"`` of the twin, or ``"none"``.
        **kwargs: any model parameter (Mesa 3.3's SolaraViz passes controls only through ``kwargs``).

    Attributes:
        twin: the second design's model (None without one).
        policy_history: per week, ``{"main": mean_policies, "twin": mean_policies}`` (model.metrics).
    """

    def __init__(
        self,
        structure: str = "assembly_line",
        kpi: str = "siloed",
        seed: Any = 1,
        compare_with: str = "pod/shared",
        **kwargs: Any,
    ) -> None:
        seed = int(seed)
        super().__init__(structure=structure, kpi=kpi, seed=seed, **kwargs)
        self.design = f"{structure}/{kpi}"
        self.twin: GTMModel | None = None
        if compare_with != NONE and compare_with != self.design:
            other_structure, other_kpi = compare_with.split("/")
            self.twin = GTMModel(structure=other_structure, kpi=other_kpi, seed=seed, **kwargs)
        self.policy_history: list[dict[str, dict[str, float]]] = []
        self.firm_value_history: list[tuple[int, float, float]] = []  # (week, main, twin) every FIRM_VALUE_EVERY

    def step(self) -> None:
        """One week of both designs; stops at the horizon."""
        if self.week >= self.p["weeks"]:
            self.running = False
            return
        super().step()
        if self.twin is not None and self.twin.week < self.twin.p["weeks"]:
            self.twin.step()
        self.policy_history.append(
            {"main": mean_policies(self), **({"twin": mean_policies(self.twin)} if self.twin is not None else {})}
        )
        if self.week % FIRM_VALUE_EVERY == 0:  # ~40 ms a summary: every 4 weeks keeps stepping quick
            twin = self.twin.summary()["firm_value"] if self.twin is not None else float("nan")
            self.firm_value_history.append((self.week, self.summary()["firm_value"], twin))

    def firm_value_now(self, k: int) -> float:
        """Firm value to date of design ``k`` (0 main, 1 twin): the value recorded this week, else computed."""
        if self.firm_value_history and self.firm_value_history[-1][0] == self.week:
            return self.firm_value_history[-1][1 + k]
        m = self if k == 0 else self.twin
        return m.summary()["firm_value"] if m.week > 0 else float("nan")

    def designs(self) -> list[tuple[str, GTMModel, str]]:
        """(label in words, model, line style) of each design shown."""
        shown = [(cell_words(self.design.replace("/", " / ")), self, "-")]
        if self.twin is not None:
            twin = f"{self.twin.p['structure']} / {self.twin.p['kpi']}"
            shown.append((cell_words(twin), self.twin, "--"))
        return shown


SERIES = (
    ("arr_usd", "ARR", "USD"),
    ("cash_contribution_usd", "Cash contribution per week", "USD per week"),
    ("logo_churn_annual", "Annual logo churn", "fraction per year"),
)


def _series_chart(model: DashboardModel, metric: str, title: str, unit: str) -> Figure:
    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.subplots()
    for name, m, style in model.designs():
        frame = m.datacollector.get_model_vars_dataframe()
        if metric in frame:
            ax.plot(frame.index, frame[metric], ls=style, label=name)
    ax.set_title(title)
    ax.set_xlabel("week")
    ax.set_ylabel(f"{title} ({unit})")
    if unit.startswith("USD"):
        format_axis(ax, "arr")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def series_component(metric: str, title: str, unit: str) -> Any:
    """A SolaraViz component drawing one weekly series for each design shown."""

    @solara.component
    def SeriesChart(model: DashboardModel) -> None:
        update_counter.get()
        solara.FigureMatplotlib(_series_chart(model, metric, title, unit), format="png")

    SeriesChart.__name__ = f"Chart_{metric}"
    return SeriesChart


@solara.component
def QueueChart(model: DashboardModel) -> None:
    """Leads waiting for an SDR and SQLs waiting for an AE."""
    update_counter.get()
    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.subplots()
    for name, m, style in model.designs():
        frame = m.datacollector.get_model_vars_dataframe()
        ax.plot(frame.index, frame["lead_queue"], ls=style, color="#E69F00", label=f"MQLs waiting for an SDR: {name}")
        ax.plot(frame.index, frame["sql_queue"], ls=style, color="#0072B2", label=f"SQLs waiting for an AE: {name}")
    ax.set_title("Queues")
    ax.set_xlabel("week")
    ax.set_ylabel("leads waiting (leads)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    solara.FigureMatplotlib(fig, format="png")


@solara.component
def PolicyChart(model: DashboardModel) -> None:
    """Each role's decision variables: the mean policy in force, week by week."""
    update_counter.get()
    fig = Figure(figsize=(5.6, 4.6))
    axes = fig.subplots(2, 2, sharex=True).ravel()
    history = model.policy_history
    weeks = range(1, len(history) + 1)
    for ax, roster in zip(axes, model.rosters, strict=True):
        role = roster.role
        for i, name in enumerate(roster.learner.names):
            key = f"policy_{role}_{name}"
            ax.plot(weeks, [row["main"][key] for row in history], color=f"C{i}", label=name.replace("_", " "))
            if model.twin is not None:
                ax.plot(weeks, [row["twin"][key] for row in history], ls="--", color=f"C{i}")
        ax.set_title(f"{role.upper() if role != 'marketer' else 'Marketers'}: decision variables", fontsize=9)
        ax.legend(fontsize=6)
    for ax in axes[2:]:
        ax.set_xlabel("week")
    for ax in axes[::2]:
        ax.set_ylabel("mean policy (0-1)", fontsize=8)
    fig.tight_layout()
    solara.FigureMatplotlib(fig, format="png")


@solara.component
def FirmValue(model: DashboardModel) -> None:
    """Firm value to date (NPV of the cash so far plus the value of the customers kept) for each design."""
    update_counter.get()
    lines = [
        "**Firm value to date** (USD; NPV of the weekly cash so far plus the customers kept, valued by the"
        " run's own retention):",
        "",
    ]
    for k, (name, m, _) in enumerate(model.designs()):
        value = model.firm_value_now(k)
        lines.append(f"- {name}: {usd(value) if value == value else 'n/a (press step)'} at week {m.week}")
    solara.Markdown("\n".join(lines))
    history = model.firm_value_history
    if history:
        fig = Figure(figsize=(5.2, 3.0))
        ax = fig.subplots()
        weeks = [h[0] for h in history]
        for k, (name, _, style) in enumerate(model.designs()):
            ax.plot(weeks, [h[1 + k] for h in history], ls=style, marker=".", label=name)
        ax.set_title("Firm value to date")
        ax.set_xlabel("week")
        ax.set_ylabel("Firm value to date (USD)")
        format_axis(ax, "firm_value")
        ax.legend(fontsize=8)
        fig.tight_layout()
        solara.FigureMatplotlib(fig, format="png")


def model_params() -> dict[str, Any]:
    """The dashboard's controls."""
    return {
        "structure": {
            "type": "Select",
            "value": "assembly_line",
            "values": ["assembly_line", "pod"],
            "label": "Structure",
        },
        "kpi": {"type": "Select", "value": "siloed", "values": ["siloed", "shared", "blend"], "label": "KPI regime"},
        "compare_with": {
            "type": "Select",
            "value": "pod/shared",
            "values": [NONE, *DESIGNS],
            "label": "Compare with (same seed)",
        },
        "learning": {
            "type": "Select",
            "value": "reward",
            "values": ["reward", "placebo", "off"],
            "label": "Staff learn from",
        },
        "seed": {"type": "InputText", "value": 1, "label": "Seed"},
        "weeks": {"type": "SliderInt", "value": 260, "min": 26, "max": 520, "step": 26, "label": "Horizon (weeks)"},
        "handoff_delay_weeks": {
            "type": "SliderFloat",
            "value": 0.25,
            "min": 0.0,
            "max": 2.0,
            "step": 0.05,
            "label": "Hand-off delay (weeks)",
        },
        "handoff_context_loss": {
            "type": "SliderFloat",
            "value": 0.3,
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
            "label": "Hand-off context loss (share)",
        },
        "prospects_per_week": {
            "type": "SliderInt",
            "value": 300,
            "min": 100,
            "max": 600,
            "step": 25,
            "label": "Prospects reached (per week)",
        },
        "market_fit_mean": {
            "type": "SliderFloat",
            "value": 0.5,
            "min": 0.2,
            "max": 0.8,
            "step": 0.05,
            "label": "Mean market fit",
        },
        "champion_turnover_per_year": {
            "type": "SliderFloat",
            "value": 0.2,
            "min": 0.0,
            "max": 0.5,
            "step": 0.05,
            "label": "Champion turnover (per year)",
        },
    }


def make_page(**overrides: Any) -> Any:
    """The SolaraViz page (a fresh model with the controls' defaults, or ``overrides``)."""
    defaults = {k: v["value"] for k, v in model_params().items()}
    model = DashboardModel(**{**defaults, **overrides})
    return SolaraViz(
        model,
        components=[*(series_component(*series) for series in SERIES), QueueChart, PolicyChart, FirmValue],
        model_params=model_params(),
        name="alignsim: go-to-market design in the browser",
    )


page = make_page()
