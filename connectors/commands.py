"""`hub connector …`: the connectors' commands, added to `hub` through the `hub.commands` entry point."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.access.principals import principal_token
from hub.errors import InvalidInput
from hub.services import hub_for, in_session
from hub.settings import Settings
from storage.models.base import utcnow

if TYPE_CHECKING:
    from connectors.profile_feed import FeedSummary

TOKEN_VARIABLE = "HUB_CONNECTOR_TOKEN"
# The source URL may hold a password: from the environment, never the command line.
SOURCE_URL_VARIABLE = "HUB_PULL_SOURCE_URL"


def cmd_profile_feed(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.profile_feed import load_profile_feed

    token = principal_token(args.token_file, TOKEN_VARIABLE)

    async def run() -> FeedSummary:
        async with hub_for(settings) as hub:
            return await load_profile_feed(
                hub, Path(args.file), token, args.purpose, report=lambda line: print(line, file=sys.stderr)
            )

    summary = asyncio.run(run())
    print(summary)
    if not summary.all_applied:
        raise SystemExit(1)


def cmd_pull_sql(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.pull_sql import pull_sql
    from connectors.runs import recorded

    token = principal_token(args.token_file, TOKEN_VARIABLE)
    source_url = os.environ.get(args.url_variable, "").strip()
    if not source_url:
        raise InvalidInput(f"no source database: set {args.url_variable} to its SQLAlchemy async URL", field="url")

    async def run() -> FeedSummary:
        async with hub_for(settings) as hub:
            return await recorded(
                hub,
                args.name or "pull-sql",
                "sql",
                lambda: pull_sql(
                    hub,
                    source_url,
                    args.query,
                    args.watermark_column,
                    token,
                    args.purpose,
                    report=lambda line: print(line, file=sys.stderr),
                    material_type=args.material_type,
                ),
            )

    summary = asyncio.run(run())
    print(summary)
    if not summary.all_applied:
        raise SystemExit(1)


def cmd_pull_rest(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.pull_rest import RestSource, pull_rest
    from connectors.runs import recorded

    token = principal_token(args.token_file, TOKEN_VARIABLE)
    source = RestSource(
        url=args.url,
        watermark_field=args.watermark_field,
        material_type=args.material_type,
        rate=args.rate,
        retries=args.retries,
    )

    async def run() -> FeedSummary:
        async with hub_for(settings) as hub:
            return await recorded(
                hub,
                args.name or args.url,
                "rest",
                lambda: pull_rest(hub, source, token, args.purpose, report=lambda line: print(line, file=sys.stderr)),
            )

    summary = asyncio.run(run())
    print(summary)
    if not summary.all_applied:
        raise SystemExit(1)


def cmd_runs(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.runs import describe
    from storage.repositories.connectors import recent_runs

    async def run() -> list[str]:
        async with hub_for(settings) as hub, hub.sessions() as session:
            return [describe(row) for row in await recent_runs(session, args.limit, args.name)]

    for line in asyncio.run(run()):
        print(line)


def cmd_schedule_add(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.schedules import PullOptions, add_schedule

    source = args.url if args.kind == "pull-rest" else args.url_variable
    if not source:
        raise InvalidInput("a pull-rest schedule needs --url", field="url")
    options = PullOptions(
        query=args.query,
        watermark_column=args.watermark_column,
        watermark_field=args.watermark_field,
        material_type=args.material_type,
        rate=args.rate,
        retries=args.retries,
    )
    token_file = str(Path(args.token_file).resolve())  # workers may run in another directory
    schedule = asyncio.run(
        in_session(
            settings,
            lambda s: add_schedule(
                s, settings, args.name, args.kind, source, options, args.purpose, token_file, args.every
            ),
        )
    )
    print(f"schedule {schedule.name} added: {args.kind} every {schedule.interval_seconds} s, first run at once")


def cmd_schedule_list(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.schedules import describe
    from storage.repositories.connectors import all_schedules

    schedules = asyncio.run(in_session(settings, all_schedules))
    if not schedules:
        print("no connector schedules")
    now = utcnow()
    for schedule in schedules:
        print(describe(schedule, now))


def cmd_schedule_remove(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.schedules import remove_schedule

    asyncio.run(in_session(settings, lambda s: remove_schedule(s, args.name)))
    print(f"schedule {args.name} removed")


def _register_schedule(connector: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = connector.add_parser(
        "schedule", help="pulls the workers run every N seconds (hub worker; hub serve on SQLite)"
    ).add_subparsers(dest="schedule_command", required=True)
    add = schedule.add_parser("add", help="run a pull-rest or pull-sql every N seconds")
    add.add_argument("name", help="the schedule's name, which its runs are recorded under")
    add.add_argument("--kind", required=True, choices=["pull-rest", "pull-sql"])
    add.add_argument("--every", type=int, required=True, help="seconds between runs (at least 10)")
    add.add_argument("--purpose", required=True, help="the declared purpose, recorded with every access")
    add.add_argument("--token-file", required=True, help="a file holding the principal's token, read at each run")
    add.add_argument("--url", help="pull-rest: the first page")
    add.add_argument("--watermark-field", default="updatedAt", help="pull-rest: the records' increasing field")
    add.add_argument("--rate", type=float, default=5.0, help="pull-rest: requests per second at most")
    add.add_argument("--retries", type=int, default=4, help="pull-rest: tries after the first on 5xx and timeouts")
    add.add_argument("--query", help="pull-sql: one SELECT giving id_number, name, [verified,] field columns")
    add.add_argument("--watermark-column", help="pull-sql: an increasing column (updated_at, a row version)")
    add.add_argument(
        "--url-variable",
        default=SOURCE_URL_VARIABLE,
        help=f"pull-sql: the environment variable, in the workers' environment, holding the source's URL (default: ${SOURCE_URL_VARIABLE})",
    )
    add.add_argument("--material-type", help="the material type of the records' documents")
    add.set_defaults(handler=cmd_schedule_add)
    schedule.add_parser("list", help="every schedule, its next run and whether it is running").set_defaults(
        handler=cmd_schedule_list
    )
    remove = schedule.add_parser("remove", help="stop running a pull (a run in progress finishes)")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_schedule_remove)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connector = commands.add_parser("connector", help="integrations with department systems").add_subparsers(
        dest="connector_command", required=True
    )
    feed = connector.add_parser(
        "profile-feed", help="load a department's applicant records (.jsonl or .csv) into the shared profile"
    )
    feed.add_argument("file", help="the exported records: JSON Lines (.jsonl) or CSV with a header (.csv)")
    feed.add_argument("--purpose", required=True, help="the declared purpose, recorded with every access")
    feed.add_argument("--token-file", help=f"a file holding the principal's token (default: ${TOKEN_VARIABLE})")
    feed.set_defaults(handler=cmd_profile_feed)
    pull = connector.add_parser(
        "pull-sql", help="read a department's applicant records from its database into the shared profile"
    )
    pull.add_argument("--query", required=True, help="one SELECT giving id_number, name, [verified,] field columns")
    pull.add_argument("--watermark-column", required=True, help="an increasing column (updated_at, a row version)")
    pull.add_argument("--purpose", required=True, help="the declared purpose, recorded with every access")
    pull.add_argument(
        "--url-variable",
        default=SOURCE_URL_VARIABLE,
        help=f"the environment variable holding the source's SQLAlchemy async URL (default: ${SOURCE_URL_VARIABLE})",
    )
    pull.add_argument("--material-type", help="the material type of the rows' documents (document_* columns)")
    pull.add_argument("--name", help="the name the run is recorded under (default: pull-sql)")
    pull.add_argument("--token-file", help=f"a file holding the principal's token (default: ${TOKEN_VARIABLE})")
    pull.set_defaults(handler=cmd_pull_sql)
    rest = connector.add_parser(
        "pull-rest", help="read a department's records (and e-licences) from its paged JSON API, incrementally"
    )
    rest.add_argument("url", help='the first page: {"items": [...], "next": URL or null}')
    rest.add_argument("--purpose", required=True, help="the declared purpose, recorded with every access")
    rest.add_argument("--watermark-field", default="updatedAt", help="the records' increasing field (sent as ?since=)")
    rest.add_argument("--material-type", help="the material type of the documents (e-licences) records carry")
    rest.add_argument("--rate", type=float, default=5.0, help="requests per second at most (default 5)")
    rest.add_argument("--retries", type=int, default=4, help="tries after the first on 5xx and timeouts (default 4)")
    rest.add_argument("--name", help="the name the run is recorded under (default: the URL)")
    rest.add_argument("--token-file", help=f"a file holding the principal's token (default: ${TOKEN_VARIABLE})")
    rest.set_defaults(handler=cmd_pull_rest)
    runs = connector.add_parser("runs", help="the latest connector runs: counts, refusals, errors")
    runs.add_argument("--name", help="only the runs of this connector")
    runs.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")
    runs.set_defaults(handler=cmd_runs)
    _register_schedule(connector)
