"""`hub connector …`: the connectors' commands, added to `hub` through the `hub.commands` entry point."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.access.principals import principal_token
from hub.errors import HubError, InvalidInput
from hub.services import hub_for
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
    from connectors.runs import record_run

    token = principal_token(args.token_file, TOKEN_VARIABLE)
    source_url = os.environ.get(args.url_variable, "").strip()
    if not source_url:
        raise InvalidInput(f"no source database: set {args.url_variable} to its SQLAlchemy async URL", field="url")

    async def run() -> FeedSummary:
        async with hub_for(settings) as hub:
            started = utcnow()
            try:
                summary = await pull_sql(
                    hub,
                    source_url,
                    args.query,
                    args.watermark_column,
                    token,
                    args.purpose,
                    report=lambda line: print(line, file=sys.stderr),
                    material_type=args.material_type,
                )
            except HubError as error:
                await record_run(hub, args.name or "pull-sql", "sql", started, None, error)
                raise
            await record_run(hub, args.name or "pull-sql", "sql", started, summary, None)
            return summary

    summary = asyncio.run(run())
    print(summary)
    if not summary.all_applied:
        raise SystemExit(1)


def cmd_pull_rest(args: argparse.Namespace, settings: Settings) -> None:
    from connectors.pull_rest import RestSource, pull_rest
    from connectors.runs import record_run

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
            started = utcnow()
            try:
                summary = await pull_rest(
                    hub, source, token, args.purpose, report=lambda line: print(line, file=sys.stderr)
                )
            except HubError as error:
                await record_run(hub, args.name or args.url, "rest", started, None, error)
                raise
            await record_run(hub, args.name or args.url, "rest", started, summary, None)
            return summary

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
