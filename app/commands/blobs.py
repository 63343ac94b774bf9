"""`hub blobs`: collect unreferenced blobs, and create the bucket of an S3 blob store."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from hub.services import hub_for
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.documents.store import GcReport


async def _collect(settings: Settings, grace_seconds: int | None, dry_run: bool) -> GcReport:
    async with hub_for(settings) as hub:
        assert hub.documents is not None
        if grace_seconds is not None:
            hub.documents.grace = timedelta(seconds=grace_seconds)
        return await hub.documents.collect_garbage(dry_run=dry_run)


def cmd_gc(args: argparse.Namespace, settings: Settings) -> None:
    report = asyncio.run(_collect(settings, args.grace_seconds, args.dry_run))
    verb = "would delete" if report.dry_run else "deleted"
    print(
        f"{verb} {report.blobs_deleted} unreferenced blobs, {report.orphan_objects_deleted} orphan objects, "
        f"{report.partial_writes_removed} partial writes"
        + (" (dry run: nothing was deleted)" if report.dry_run else "")
    )


def cmd_init(args: argparse.Namespace, settings: Settings) -> None:
    from hub.services import configured_blob_store

    store = configured_blob_store(settings)
    create = getattr(store, "create_bucket", None)
    if create is not None:
        create()
    store.check()
    print(f"blob store ready: {store.description}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    blobs = commands.add_parser("blobs", help="the document store's blobs").add_subparsers(
        dest="blobs_command", required=True
    )
    gc = blobs.add_parser("gc", help="delete blobs no material version refers to, once untouched for the grace period")
    gc.add_argument(
        "--grace-seconds",
        type=int,
        help="spare blobs touched this recently (default HUB_BLOB_GC_GRACE_SECONDS); never shorter than your longest upload",
    )
    gc.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    gc.set_defaults(handler=cmd_gc)
    blobs.add_parser("init", help="check the blob store, creating the S3 bucket if missing").set_defaults(
        handler=cmd_init
    )
