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
from hub.services import hub_for
from hub.settings import Settings

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

    token = principal_token(args.token_file, TOKEN_VARIABLE)
    source_url = os.environ.get(args.url_variable, "").strip()
    if not source_url:
        raise InvalidInput(f"no source database: set {args.url_variable} to its SQLAlchemy async URL", field="url")

    async def run() -> FeedSummary:
        async with hub_for(settings) as hub:
            return await pull_sql(
                hub,
                source_url,
                args.query,
                args.watermark_column,
                token,
                args.purpose,
                report=lambda line: print(line, file=sys.stderr),
            )

    summary = asyncio.run(run())
    print(summary)
    if not summary.all_applied:
        raise SystemExit(1)


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
    pull.add_argument("--token-file", help=f"a file holding the principal's token (default: ${TOKEN_VARIABLE})")
    pull.set_defaults(handler=cmd_pull_sql)
