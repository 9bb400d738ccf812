"""Plant faults in the model and check that the test suite catches each one (mutation check of the suite).

Every fault below is a small edit of the committed model code of the kind a reviewer plants to test a
test suite (principle 7 of the brief; issue 10, item 6): a hidden structure or KPI channel on an
outcome, a reward paid to the wrong agent, a decision variable that no longer acts, and a few broken
economics. For each fault the script exports ``HEAD`` (or ``--rev``) into a temporary folder (``git archive``),
applies the edit (the text it replaces must occur exactly once), and runs the model's test files
there with ``pytest -x``; a fault is *caught* if any test fails. A first test in each copy checks
that ``alignsim`` is imported from that copy (not from an installed tree), so a survivor is a real one.

    python benchmarks/planted_faults.py                    # every fault, 2 workers -> planted_faults.json
    python benchmarks/planted_faults.py --only S1,R7       # some of them
    python benchmarks/planted_faults.py --tests tests      # against the whole suite (slower)
    python benchmarks/planted_faults.py --only S9 --rev dcb06af --out /tmp/old.json   # an older suite
    python benchmarks/planted_faults.py --report benchmarks/planted_faults.json   # the table of the last run
    python benchmarks/planted_faults.py --report benchmarks/planted_faults.json --update-doc   # into docs/

It prints a Markdown table (fault, what it does, caught by) and writes every result to the JSON file
atomically. The model test files take about 4 minutes for a fault that survives; a caught fault
stops at its first failing test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from alignsim.experiments.fileio import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
#: the test files that check the model's behaviour (the rest test experiments, CLI, reports and docs)
MODEL_TESTS = (
    "tests/test_model_core.py",
    "tests/test_hidden_channels.py",
    "tests/test_model_v2.py",
    "tests/test_mechanisms.py",
    "tests/test_learning_model.py",
    "tests/test_learning_directions.py",
    "tests/test_retention.py",
    "tests/test_valuation.py",
    "tests/test_properties.py",
    "tests/test_csm_assignment.py",
    "tests/test_policy_learning.py",
    "tests/test_calibration.py",
)


@dataclass(frozen=True)
class Fault:
    """One planted fault: replace ``old`` (exactly one occurrence) by ``new`` in ``file``."""

    id: str
    kind: str
    file: str
    old: str
    new: str
    what: str


_TERM = "    term_years = acc.contract_weeks[rows] / 52.0\n"
_WIN = "        return _win_logit(\n"
_GROWTH = 'p["expansion_per_renewal"], '
_RATE = 'p["adoption_base_rate"],\n            p["adoption_rate_per_hour"], '
_KEEP = "        keep = keep * (1.0 - staff.lending)\n"
_FREE = (
    'staff.capacity * (1.0 - staff.lending), staff.policy("adoption_share"), model.week,\n'
    '            p["fit_effect"], p["ticket_hours_per_customer_week"], '
)
_SHARED = "        return per_head[roster.pod], shared_by\n"


def _win(term: str) -> str:
    """The win log-odds the kernel returns, plus ``term``."""
    return f"        return {term} + _win_logit(\n"


def _free(factor: str) -> str:
    """The CSMs' hours and ticket hours passed to the kernel both x ``factor``: their free hours x ``factor``."""
    return (
        f'staff.capacity * (1.0 - staff.lending) * {factor}, staff.policy("adoption_share"), model.week,\n'
        f'            p["fit_effect"], p["ticket_hours_per_customer_week"] * {factor}, '
    )


FAULTS = (
    # a hidden structure channel: pods get an outcome bonus no mechanism explains
    Fault("S1", "structure channel", "model/customers.py", _TERM,
          '    theta = theta * (0.85 if p["structure"] == "pod" else 1.0)\n' + _TERM, "pods: true churn x 0.85"),
    Fault("S2", "structure channel", "agents/ae.py", _WIN, _win('0.15 * (p["structure"] == "pod")'),
          "pods: win log-odds + 0.15"),
    Fault("S3", "structure channel", "model/customers.py", _GROWTH,
          '(1.1 if p["structure"] == "pod" else 1.0) * p["expansion_per_renewal"], ',
          "pods: expansion x 1.1"),
    Fault("S4", "structure channel", "agents/csm.py", _RATE,
          _RATE.replace('p["', '(1.15 if p["structure"] == "pod" else 1.0) * p["'), "pods: adoption rate x 1.15"),
    Fault("S5", "structure channel", "agents/marketer.py", _KEEP,
          _KEEP + '        keep = keep * (1.1 if p["structure"] == "pod" else 1.0)\n', "pods: marketers keep 10% more"),
    Fault("S6", "structure channel", "model/customers.py", _TERM,
          "    theta = theta * (0.85 if m.n_pods > 1 else 1.0)\n" + _TERM,
          "several pods (not one, as in the structural null test): true churn x 0.85"),
    Fault("S7", "structure channel", "agents/ae.py", _WIN, _win("0.15 * (model.n_pods > 1)"),
          "several pods: win log-odds + 0.15"),
    Fault("S8", "structure channel", "agents/csm.py", _FREE,
          _free("(1.1 if model.n_pods > 1 else 1.0)"), "several pods: CSM hours x 1.1"),
    Fault("S9", "structure channel", "agents/sdr.py",
          '        threshold = staff.policy("qualification_threshold") * p["sdr_threshold_effect"]\n',
          '        threshold = staff.policy("qualification_threshold") * p["sdr_threshold_effect"]\n'
          "        threshold = threshold * (0.9 if model.n_pods > 1 else 1.0)\n",
          "several pods: SDRs' bar x 0.9"),
    Fault("S10", "structure channel", "agents/ae.py", "OVERPROMISE_EXPECTATION,\n",
          "OVERPROMISE_EXPECTATION * (0.8 if model.n_pods > 1 else 1.0),\n",
          "several pods: AEs over-promise 20% less at the same honesty"),
    Fault("S11", "structure channel", "agents/marketer.py", _KEEP,
          _KEEP + "        keep = keep * (1.1 if model.n_pods > 1 else 1.0)\n",
          "several pods: marketers keep 10% more of the prospects they reach"),
    Fault("S12", "structure channel", "model/market.py",
          '            theta=rng.beta(p["churn_alpha"], p["churn_beta"], n),\n',
          '            theta=rng.beta(p["churn_alpha"], p["churn_beta"], n) * (0.9 if p["structure"] == "pod" else 1.0),\n',
          "pods: the market draws prospects with 10% lower churn propensity"),
    # a hidden KPI channel: the regime acts on outcomes, not only on what agents are paid for
    Fault("K1", "KPI channel", "model/customers.py", _TERM,
          '    theta = theta * (0.9 if p["kpi"] == "shared" else 1.0)\n' + _TERM, "shared: true churn x 0.9"),
    Fault("K2", "KPI channel", "agents/ae.py", _WIN, _win('0.15 * (p["kpi"] == "shared")'),
          "shared: win log-odds + 0.15"),
    Fault("K3", "KPI channel", "model/customers.py", _TERM,
          '    theta = theta * (0.85 if (p["kpi"] == "shared" and m.learning_mode == "reward") else 1.0)\n' + _TERM,
          "shared, only while agents learn: churn x 0.85"),
    Fault("K4", "KPI channel", "agents/csm.py", _FREE,
          _free('(1.1 if p["kpi"] == "shared" else 1.0)'), "shared: CSM hours x 1.1"),
    Fault("K5", "KPI channel", "model/customers.py", _GROWTH,
          '(1.1 if p["kpi"] == "shared" else 1.0) * p["expansion_per_renewal"], ', "shared: expansion x 1.1"),
    Fault("K6", "KPI channel", "agents/marketer.py", _KEEP,
          _KEEP + '        keep = keep * (0.9 if p["kpi"] == "siloed" and model.learning_mode == "reward" else 1.0)\n',
          "siloed, only while agents learn: marketers keep 10% fewer"),
    # a reward paid to the wrong agent
    Fault("R1", "reward to the wrong agent", "model/model.py", _SHARED,
          "        return np.roll(per_head, 1)[roster.pod], shared_by\n", "shared reward: each pod paid the next pod's"),
    Fault("R2", "reward to the wrong agent", "agents/ae.py", "        return np.bincount(owner, arr, model.aes.n)\n",
          "        return np.roll(np.bincount(owner, arr, model.aes.n), 1)\n", "AE siloed KPI paid to the next AE"),
    Fault("R3", "reward to the wrong agent", "model/rewards.py",
          "    return np.bincount(owner, minlength=n).astype(float)\n",
          "    return np.roll(np.bincount(owner, minlength=n).astype(float), 1)\n",
          "marketers' and SDRs' siloed counts paid to the next agent"),
    Fault("R4", "reward to the wrong agent", "agents/csm.py", "        lost = np.bincount(owner, churned, n)\n",
          "        lost = np.roll(np.bincount(owner, churned, n), 1)\n", "CSM siloed retention: losses charged to the next CSM"),
    Fault("R5", "reward to the wrong agent", "model/policy_learning.py",
          "            eps = trial.eps[:m] if trial.half == 0 else -trial.eps[:m]\n",
          "            eps = np.roll(trial.eps[:m], 1, axis=0) if trial.half == 0 else -np.roll(trial.eps[:m], 1, axis=0)\n",
          "the learner credits each reward to the next agent's perturbation"),
    Fault("R6", "reward to the wrong agent", "model/model.py", _SHARED,
          "        return np.full(roster.n, per_head.sum() / len(per_head)), shared_by\n",
          "shared reward: every agent paid the mean over pods, not its own pod's"),
    Fault("R7", "reward to the wrong agent", "model/model.py",
          '        shared_by = roster.pod.copy() if part == "shared" else None\n', "        shared_by = None\n",
          "shared reward: teammates judged as each other's peers (their shared pay cancels)"),
    # a decision variable that no longer acts (held at its role default)
    Fault("D1", "decision variable inert", "agents/ae.py", "            + discount_weight * discount[r]\n",
          "            + discount_weight * 0.1\n", "discount no longer moves the win odds"),
    Fault("D2", "decision variable inert", "model/customers.py", "(1.0 - discount[r]) / 12.0", "(1.0 - 0.1) / 12.0",
          "discount no longer moves the price"),
    Fault("D3", "decision variable inert", "agents/ae.py", "(1.0 - honesty)", "(1.0 - 0.8)",
          "honesty no longer acts"),
    Fault("D4", "decision variable inert", "agents/ae.py", "u[i, 2] < push", "u[i, 2] < 0.2",
          "multi-year push no longer acts"),
    Fault("D5", "decision variable inert", "agents/ae.py", "if not fit_read >= bar:", "if not fit_read >= 0.25:",
          "AE qualify-out threshold no longer acts"),
    Fault("D6", "decision variable inert", "agents/marketer.py",
          '        keep = p["keep_share_narrow"] + (p["keep_share_broad"] - p["keep_share_narrow"]) * breadth\n',
          '        keep = p["keep_share_narrow"] + (p["keep_share_broad"] - p["keep_share_narrow"]) * 0.5\n',
          "breadth no longer sets the volume kept"),
    Fault("D7", "decision variable inert", "agents/sdr.py",
          'threshold = staff.policy("qualification_threshold") * p["sdr_threshold_effect"]',
          'threshold = np.full(staff.n, 0.45) * p["sdr_threshold_effect"]', "SDR threshold no longer acts"),
    Fault("D8", "decision variable inert", "agents/csm.py", 'staff.policy("adoption_share"),', "np.full(staff.n, 0.5),",
          "CSM adoption share no longer acts"),
    Fault("D9", "decision variable inert", "model/team_help.py",
          "        out[i] = help_share[i] * scale[", "        out[i] = 0.05 * scale[",
          "help share no longer sets what is lent"),
    Fault("D10", "decision variable inert", "agents/marketer.py",
          '        junk = pr.junk_draw[kept] < p["mql_definition_gap"] * breadth[owner]\n',
          '        junk = pr.junk_draw[kept] < p["mql_definition_gap"] * 0.5\n',
          "breadth no longer brings engagement-only MQLs (M2)"),
    # broken economics
    Fault("E1", "economics", "model/customers.py", _TERM, "    term_years = 1.0\n",
          "a multi-year term's churn is not compounded (it halves true churn)"),
    Fault("E2", "economics", "model/model.py",
          '        self.handoff_delay = p["handoff_delay_weeks"] if p["structure"] == "assembly_line" else 0.0\n',
          '        self.handoff_delay = p["handoff_delay_weeks"]\n', "pods pay the assembly line's hand-off delay"),
    Fault("E3", "economics", "model/staffing.py",
          '    m.tally["hiring_cost_usd"] += count * m.p["hiring_cost_share"] * annual_cost_usd(m, roster)\n',
          "    pass\n", "hiring costs nothing"),
    Fault("E4", "economics", "model/customers.py",
          "        context[r] = context[r] * handoff_keep  # the AE -> CSM hand-off (M5)\n", "",
          "no context lost at the AE -> CSM hand-off"),
    # subtler faults in the design's plumbing
    Fault("P1", "baseline", "model/model.py", '        if self.learning_mode == "placebo":\n',
          '        if False:\n', "the placebo learner is paid the real reward"),
    Fault("P2", "reward timing", "model/model.py",
          '                self.reward_due[(roster.role, "shared", start)] = start + self.p["shared_reward_horizon_weeks"]\n',
          '                self.reward_due[(roster.role, "shared", start)] = start + self.p["review_weeks"]\n',
          "the shared reward is paid when the quarter ends, whatever its horizon"),
    Fault("P3", "structure channel", "model/model.py",
          '        pooled = p["structure"] == "assembly_line" or p["pod_capacity_pooling"]\n', "        pooled = True\n",
          "pods borrow SDR and AE capacity from each other"),
    Fault("P4", "structure channel", "model/model.py",
          '        csm_team_of_pod = np.zeros(pods, dtype=np.int64) if p["structure"] == "assembly_line" else np.arange(pods)\n',
          "        csm_team_of_pod = np.zeros(pods, dtype=np.int64)\n", "pods' customers are dealt to every pod's CSMs"),
    Fault("P5", "structure channel", "model/model.py",
          '        factor = 1.0 + p["specialisation_gain"] if p["structure"] == "assembly_line" else 1.0\n',
          '        factor = 1.0 + p["specialisation_gain"]\n', "pods get the specialists' capacity gain too (M6)"),
    Fault("P6", "information channel", "model/customers.py",
          ">= m.info_sharing\n", ">= 0.0\n", "incident answers ignore the structure's information sharing (M12)"),
    Fault("P7", "information channel", "agents/marketer.py",
          '        delay = p["feedback_delay_weeks"] * (1.0 - model.info_sharing)\n',
          '        delay = p["feedback_delay_weeks"]\n', "CS feedback to marketing ignores information sharing (M11)"),
    Fault("P8", "staffing", "model/staffing.py", "        pod = int(np.argmin(per_pod))\n",
          "        pod = int(np.argmax(per_pod))\n", "hires join the largest pod, not the smallest"),
    Fault("P9", "economics", "model/firm.py",
          "    return npv_usd(cash, rate) + book * (1.0 + rate) ** (-m.week / YEAR_WEEKS)\n",
          "    return npv_usd(cash, rate) + book\n", "firm value adds the book at the horizon undiscounted"),
    Fault("P10", "economics", "model/firm.py", '        gross_margin=p["gross_margin"] - cost_to_serve,\n',
          '        gross_margin=p["gross_margin"],\n', "the book at the horizon is valued without its cost to serve"),
)  # fmt: skip


def _copy(fault: Fault, where: Path, rev: str) -> Path:
    """Commit ``rev`` exported to ``where``, with the fault applied and alignsim importable from the copy only."""
    subprocess.run(f"git -C {ROOT} archive {rev} | tar -x -C {where}", shell=True, check=True)
    path = where / fault.file
    text = path.read_text()
    if text.count(fault.old) != 1:
        raise SystemExit(f"fault {fault.id}: the text to replace occurs {text.count(fault.old)} times in {fault.file}")
    path.write_text(text.replace(fault.old, fault.new))
    # the package as installed: alignsim/ with model/, agents/, experiments/ inside; nothing named
    # alignsim left at the root, which pytest puts on sys.path and would shadow it
    package = where / "_pkg" / "alignsim"
    package.parent.mkdir()
    shutil.move(where / "alignsim", package)
    for sub in ("model", "agents", "experiments"):
        (package / sub).symlink_to(where / sub)
    (where / "tests" / "test_000_imported_from_copy.py").write_text(
        "import alignsim.agents.ae\nimport alignsim.model.customers\n\n\n"
        "def test_alignsim_is_imported_from_this_copy():\n"
        "    for module in (alignsim.agents.ae, alignsim.model.customers):\n"
        f"        assert module.__file__.startswith({str(where)!r}), module.__file__\n"
    )
    return where


def check(fault: Fault, tests: list[str], rev: str = "HEAD") -> dict:
    """Run ``tests`` of commit ``rev`` against its model with ``fault`` planted; caught = some test failed."""
    with tempfile.TemporaryDirectory(prefix=f"fault-{fault.id}-") as tmp:
        where = _copy(fault, Path(tmp), rev)
        tests = [t for t in tests if (where / t).exists()]  # an older commit may lack some test files
        env = {**os.environ, "PYTHONPATH": f"{where / '_pkg'}{os.pathsep}{where}"}
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        start = time.perf_counter()
        done = subprocess.run(
            [*cmd, "tests/test_000_imported_from_copy.py", *tests], cwd=where, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
    lines = (done.stdout + done.stderr).splitlines()
    failed = [line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR "))]
    if failed and failed[0].startswith("tests/test_000_imported_from_copy.py"):
        raise SystemExit(f"fault {fault.id}: alignsim was not imported from the copy; no result")
    return {
        **asdict(fault),
        "caught": done.returncode != 0,
        "caught_by": failed[0] if failed else None,
        "seconds": round(seconds, 1),
    }


DOC = ROOT / "docs" / "VERIFICATION.md"
MARKERS = ("<!-- planted-faults:start -->\n", "<!-- planted-faults:end -->")


def markdown(results: list[dict]) -> str:
    """The results as a Markdown table, with the count caught."""
    rows = ["| fault | kind | what it does | caught by |", "|---|---|---|---|"]
    for r in results:
        by = f"`{r['caught_by']}`" if r["caught"] else "**not caught**"
        rows.append(f"| {r['id']} | {r['kind']} | {r['what']} | {by} |")
    caught = sum(r["caught"] for r in results)
    return "\n".join(rows) + f"\n\n{caught} of {len(results)} planted faults caught."


def doc_block(record: dict) -> str:
    """The block of docs/VERIFICATION.md between the markers, from a run's record."""
    head = f"Run at commit `{record['commit'][:7]}` ({record['date']}, Python {record['python']}).\n\n"
    return MARKERS[0] + head + markdown(record["results"]) + "\n" + MARKERS[1]


def update_doc(record: dict) -> None:
    """Rewrite the results block of docs/VERIFICATION.md from ``record``."""
    text = DOC.read_text()
    start, end = text.index(MARKERS[0]), text.index(MARKERS[1]) + len(MARKERS[1])
    atomic_write_text(DOC, text[:start] + doc_block(record) + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated fault ids (default: all)")
    parser.add_argument("--tests", default=",".join(MODEL_TESTS), help="comma-separated test paths")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rev", default="HEAD", help="the commit whose model and tests are checked (default HEAD)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "planted_faults.json")
    parser.add_argument("--report", type=Path, help="print the table of an earlier run's JSON file and stop")
    parser.add_argument("--update-doc", action="store_true", help="with --report: write it into docs/VERIFICATION.md")
    args = parser.parse_args(argv)
    if args.report:
        record = json.loads(args.report.read_text())
        print(markdown(record["results"]))
        if args.update_doc:
            update_doc(record)
        return 0
    wanted = set(filter(None, args.only.split(",")))
    faults = [f for f in FAULTS if not wanted or f.id in wanted]
    if wanted - {f.id for f in faults}:
        parser.error(
            f"--only: unknown fault ids {sorted(wanted - {f.id for f in faults})}; known: {[f.id for f in FAULTS]}"
        )
    tests = args.tests.split(",")
    # one commit for every copy and the record, even if HEAD moves while the faults run
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", args.rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(lambda f: check(f, tests, commit), faults))
    date = datetime.now(UTC).isoformat(timespec="seconds")
    record = {"commit": commit, "date": date, "python": sys.version.split()[0], "tests": tests, "results": results}
    atomic_write_text(args.out, json.dumps(record, indent=1) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
