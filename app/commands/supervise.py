"""`hub supervise`: evaluate now, load the rules, write a month's report (docs/supervision.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands.audit import ProgressBar
from hub.services import hub_for
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.supervision.evaluator import EvaluationRun
    from hub.supervision.performance import RankedDepartment


def cmd_run(args: argparse.Namespace, settings: Settings) -> None:
    from hub.supervision.evaluator import evaluate

    async def run() -> EvaluationRun | None:
        async with hub_for(settings) as hub:
            bar = ProgressBar("evaluating the log")
            try:
                return await evaluate(hub, bar)
            finally:
                bar.close()

    result = asyncio.run(run())
    if result is None:
        print("another process is evaluating; try again later", file=sys.stderr)
        raise SystemExit(1)
    print(
        f"timing: {result.timing.cases:,} open cases, {result.timing.reviews:,} open reviews, "
        f"{result.timing.warnings:,} new warnings"
    )
    print(
        f"access log: {result.anomalies.entries:,} entries evaluated up to seq {result.anomalies.last_seq:,}, "
        f"{result.anomalies.alerts:,} new alerts"
        + "".join(f"\n  {rule}: {n}" for rule, n in sorted(result.anomalies.alerts_by_rule.items()))
    )
    if result.escalated:
        print(f"escalated: {result.escalated} alerts with a late explanation")


def cmd_rules_load(args: argparse.Namespace, settings: Settings) -> None:
    from hub.services import in_session
    from hub.supervision.rules import load_rules

    text = Path(args.file).read_text(encoding="utf-8")
    codes = asyncio.run(in_session(settings, lambda session: load_rules(session, text)))
    print(f"loaded {len(codes)} rules: {', '.join(codes)}")


def cmd_report(args: argparse.Namespace, settings: Settings) -> None:
    from hub.supervision.performance import Month, department_months, ranking
    from hub.supervision.report import csv_report, html_report
    from hub.supervision.rules import rules_in_force

    month = Month.parse(args.month)

    async def run() -> list[RankedDepartment]:
        async with hub_for(settings) as hub, hub.sessions() as session:
            rules = await rules_in_force(session)
            return ranking(await department_months(session, month, hub.clock(), rules))

    ranked = asyncio.run(run())
    out = Path(args.output or ".")
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / f"supervision-{month.label}.csv", out / f"supervision-{month.label}.html"
    csv_path.write_text(csv_report(ranked), encoding="utf-8")
    html_path.write_text(html_report(month, ranked), encoding="utf-8")
    print(f"wrote {csv_path} and {html_path}: {len(ranked)} departments")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    supervise = commands.add_parser("supervise", help="electronic supervision (电子监察)").add_subparsers(
        dest="supervise_command", required=True
    )
    supervise.add_parser("run", help="evaluate timing and the access log now").set_defaults(handler=cmd_run)
    rules = supervise.add_parser("rules", help="the supervision rules").add_subparsers(
        dest="rules_command", required=True
    )
    load = rules.add_parser("load", help="store the rules of a YAML file (see docs/supervision.md)")
    load.add_argument("file")
    load.set_defaults(handler=cmd_rules_load)
    report = supervise.add_parser("report", help="write a month's report as CSV and HTML")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--output", help="folder for the files (default: the current folder)")
    report.set_defaults(handler=cmd_report)
