"""`hub calendar`: load a year's official holiday notice (放假安排的通知) and list what is loaded."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import UTC, datetime
from pathlib import Path

from hub.calendar.notices import load_notice_file, loaded_notices
from hub.calendar.workdays import CALENDAR_SOURCE, library_official_years
from hub.services import in_session
from hub.settings import Settings


def cmd_load(args: argparse.Namespace, settings: Settings) -> None:
    loaded_by = args.by or getpass.getuser()
    loaded = asyncio.run(
        in_session(
            settings,
            lambda s: load_notice_file(s, Path(args.file), loaded_by=loaded_by, loaded_at=datetime.now(UTC)),
        )
    )
    print(
        f"calendar {loaded.year} version {loaded.version} ({loaded.reference}): {loaded.holidays} days off, "
        f"{loaded.makeup_working_days} makeup working days; loaded by {loaded.loaded_by} at "
        f"{loaded.loaded_at:%Y-%m-%d %H:%M:%S} UTC; digest {loaded.digest[:16]}"
    )
    print("every deadline through that year is recomputed with it from the next read on")


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    notices = asyncio.run(in_session(settings, lambda s: loaded_notices(s, args.year)))
    latest = {n.year: n.version for n in notices}
    for n in notices:
        state = "in force" if latest[n.year] == n.version else "superseded"
        print(
            f"{n.year} v{n.version:<3} {state:10} {n.loaded_at:%Y-%m-%d %H:%M} UTC  {n.loaded_by:16} "
            f"{n.reference}  ({n.source_name})"
        )
    print(f"library: {CALENDAR_SOURCE}, announced schedules up to {max(library_official_years())}; later years by rule")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calendar = commands.add_parser("calendar", help="official holiday notices").add_subparsers(
        dest="calendar_command", required=True
    )
    load = calendar.add_parser("load", help="load a year's official notice (YAML or JSON) as its next version")
    load.add_argument("file")
    load.add_argument("--by", help="who loads it (default: the login name)")
    load.set_defaults(handler=cmd_load)
    listing = calendar.add_parser("list", help="every notice version loaded, and which is in force")
    listing.add_argument("--year", type=int)
    listing.set_defaults(handler=cmd_list)
