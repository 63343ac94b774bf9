"""`hub cases`: the scheduled work on cases, run once from a terminal or cron."""

from __future__ import annotations

import argparse
import asyncio

from hub.cases.closing import AbandonReport, close_abandoned_as_system
from hub.services import hub_for
from hub.settings import Settings


async def _close_abandoned(settings: Settings) -> AbandonReport:
    async with hub_for(settings) as hub:
        return await close_abandoned_as_system(hub)


def cmd_close_abandoned(args: argparse.Namespace, settings: Settings) -> None:
    report = asyncio.run(_close_abandoned(settings))
    print(
        f"closed {len(report.never_accepted)} cases not accepted within {settings.abandon_after_working_days} "
        f"working days and {len(report.results_uncollected)} with results uncollected after "
        f"{settings.abandon_uncollected_after_days} days as abandoned"
    )
    for receipt in (*report.never_accepted, *report.results_uncollected):
        print(f"  {receipt}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cases = commands.add_parser("cases", help="scheduled work on cases").add_subparsers(
        dest="cases_command", required=True
    )
    cases.add_parser(
        "close-abandoned",
        help="close as ABANDONED the cases not accepted in time and those whose results were never collected",
    ).set_defaults(handler=cmd_close_abandoned)
