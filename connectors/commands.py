"""`hub connector …`: the connectors' commands, added to `hub` through the `hub.commands` entry point."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.access.principals import principal_token
from hub.services import hub_for
from hub.settings import Settings

if TYPE_CHECKING:
    from connectors.profile_feed import FeedSummary

TOKEN_VARIABLE = "HUB_CONNECTOR_TOKEN"


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
