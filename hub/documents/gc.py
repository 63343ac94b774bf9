"""Blob gc in the background of a served hub: stale pending blobs, orphans and partial writes.

A write that crashed (a killed process, a lost store) leaves a pending row, an object nobody
references or a partial upload; `hub blobs gc` removes them, and so does this loop, so nothing
waits for an operator. Several processes may run it at once: each blob is doomed by one conditional
statement (hub/documents/store.py), so a run never deletes what another run or a writer holds.
"""

from __future__ import annotations

import logging

from hub.access.context import Hub
from hub.periodic import every

logger = logging.getLogger("hub.documents")


async def collect_blobs_forever(hub: Hub) -> None:
    """A gc run every `HUB_BLOB_GC_INTERVAL` seconds (none if 0), until cancelled."""
    documents = hub.documents
    if documents is None:
        return

    async def run() -> None:
        report = await documents.collect_garbage()
        if report.blobs_deleted or report.orphan_objects_deleted or report.partial_writes_removed:
            logger.info(
                "blob gc deleted %d unreferenced blobs, %d orphan objects, %d partial writes",
                report.blobs_deleted,
                report.orphan_objects_deleted,
                report.partial_writes_removed,
            )

    await every(hub.settings.blob_gc_interval, run, what="blob gc", logger=logger, wait_first=True)
