"""`hub centre`: the service centres' tree (three-level halls): load, add, list, figures (docs/cases.md)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from hub.services import hub_for, in_session
from hub.settings import Settings
from storage.models import CentreLevel

if TYPE_CHECKING:
    from hub.supervision.centres import CentreFigures


def cmd_load(args: argparse.Namespace, settings: Settings) -> None:
    from hub.errors import InvalidCentres
    from hub.halls.centres import load_centres

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidCentres(f"cannot read {args.file}: {exc.strerror}") from None
    loaded = asyncio.run(in_session(settings, lambda s: load_centres(s, text, Path(args.file).name)))
    print(f"service centres: {loaded.added} added, {loaded.updated} updated")


def cmd_add(args: argparse.Namespace, settings: Settings) -> None:
    from hub.halls.centres import add_centre

    centre = asyncio.run(in_session(settings, lambda s: add_centre(s, args.code, args.name, args.level, args.parent)))
    print(f"centre {centre.code} ({centre.level}) added")


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    from hub.halls.centres import centres

    rows = asyncio.run(in_session(settings, centres))
    by_id = {row.id: row for row in rows}
    for row in rows:
        parent = by_id[row.parent_id].code if row.parent_id else "-"
        print(f"{row.code:<16} {row.level:<9} {parent:<16} {row.name}")


def cmd_figures(args: argparse.Namespace, settings: Settings) -> None:
    from hub.access.auth import SYSTEM_CALLER
    from hub.access.context import RequestContext
    from hub.supervision.centres import compute_figures
    from hub.supervision.performance import Month

    month = Month.parse(args.month) if args.month else None

    async def run() -> list[CentreFigures]:
        # The operator's report, as `hub supervise report`: counts only, read straight from the database.
        async with hub_for(settings) as hub, hub.sessions() as session:
            return await compute_figures(RequestContext(hub, SYSTEM_CALLER, session=session), month)

    rows = asyncio.run(run())
    print(f"{'centre':<16} {'level':<9} {'received':>8} {'accepted':>8} {'completed':>9} {'on time':>7}   (with below)")
    for row in rows:
        own, below = row.own, row.with_below
        print(
            f"{row.centre.code:<16} {row.centre.level:<9} {own.received:>8} {own.accepted:>8} {own.completed:>9} "
            f"{own.on_time:>7}   ({below.received}/{below.accepted}/{below.completed}/{below.on_time})"
        )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    centre = commands.add_parser("centre", help="the service centres (three-level halls)").add_subparsers(
        dest="centre_command", required=True
    )
    load = centre.add_parser("load", help="add or update the centres of a YAML/JSON tree (idempotent)")
    load.add_argument("file")
    load.set_defaults(handler=cmd_load)
    add = centre.add_parser("add", help="add one centre under an existing one")
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--level", required=True, choices=[level.value for level in CentreLevel])
    add.add_argument("--parent", help="the code of the centre above it (none for the top)")
    add.set_defaults(handler=cmd_add)
    centre.add_parser("list", help="list the centres, top first").set_defaults(handler=cmd_list)
    figures = centre.add_parser("figures", help="cases received, accepted, completed and on time, per centre")
    figures.add_argument("--month", help="YYYY-MM (default: all time)")
    figures.set_defaults(handler=cmd_figures)
