"""`hub audit export`: the whole log as JSON Lines that verify offline (docs/audit-log.md).

Layout, one JSON value per line:
1. a header: {"format", "origin", "tree_size", "checkpoints", "tile_width", "exported_at", "keys"};
2. every signed checkpoint, oldest first: {"checkpoint": "<signed note>"};
3. for each tile of TILE_WIDTH leaves: {"tile", "entries", "leaf_hashes"} (the leaf hashes stored
   when the entries were sequenced, base64), then that many entry lines, each exactly the entry's
   canonical bytes (hub/audit/encoding.py), so a verifier hashes the line as it reads it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from hub.access.actions import Action
from hub.access.context import Hub, RequestContext
from hub.access.guard import guard
from hub.audit.checkpoint import VerifierKey
from hub.audit.encoding import canonical_text, format_time
from hub.audit.export_format import FORMAT
from hub.audit.merkle import HASH_SIZE
from hub.audit.sequencer import Sequencer
from hub.audit.tiles import TILE_WIDTH
from hub.keys.keyring import Keyring
from storage.models.base import utcnow
from storage.repositories import audit as repo

TILES_PER_QUERY = 16

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportSummary:
    tree_size: int
    entries: int
    checkpoints: int


def verifier_keys(hub: Hub) -> list[VerifierKey]:
    """Every signing key the keyring holds, old and current, as signed-note verifier keys."""
    _, keys = Keyring(hub.settings.secrets_dir).signing_keys()
    return [VerifierKey(hub.settings.audit_origin, key.public_bytes()) for _, key in sorted(keys.items())]


def _line(document: dict[str, Any]) -> bytes:
    return _text(document).encode("utf-8")


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def _tiles_text(first: int, last: int, tree_size: int, tiles: dict[int, bytes], rows: Sequence[Sequence[Any]]) -> str:
    """Tiles first..last of the export: each tile's line, then its entries' canonical lines.

    `rows` are the entries numbered in those tiles, in log order (repo.ENTRY_COLUMNS: id first,
    then the canonical entry's values in `canonical_text`'s order). Built as one string and encoded
    once: the export's hot loop.
    """
    by_tile: dict[int, list[str]] = {}
    for row in rows:
        by_tile.setdefault((row[1] - 1) // TILE_WIDTH, []).append(canonical_text(*row[1:]) + "\n")
    parts: list[str] = []
    for tile in range(first, last + 1):
        leaves = min(TILE_WIDTH, tree_size - tile * TILE_WIDTH)
        hashes = tiles.get(tile, b"")[: leaves * HASH_SIZE]
        entries = by_tile.get(tile, [])
        parts.append(
            _text({"tile": tile, "entries": len(entries), "leaf_hashes": base64.b64encode(hashes).decode("ascii")})
        )
        parts.extend(entries)
    return "".join(parts)


async def export_for(ctx: RequestContext, out: BinaryIO, progress: Progress | None = None) -> ExportSummary:
    """The export as an auditor asks for it: checked and logged first, so the export holds the
    entry that records it (whoever takes the log away is in it)."""
    try:
        await guard(ctx, Action.AUDIT_EXPORT, object_ref="export")
    finally:
        await ctx.commit()  # allowed or denied, the attempt is logged
    return await export_log(ctx.hub, out, progress)


async def export_log(hub: Hub, out: BinaryIO, progress: Progress | None = None) -> ExportSummary:
    """Sequence what is queued, sign a checkpoint, and write the log to `out`."""
    await Sequencer(hub).integrate(force_checkpoint=True)
    async with hub.sessions() as session:
        state = await repo.log_state(session)
        checkpoints = await repo.checkpoints(session)
        tree_size = max([state.tree_size if state else 0, *(c.tree_size for c in checkpoints)])
        header = {
            "format": FORMAT,
            "origin": hub.settings.audit_origin,
            "tree_size": tree_size,
            "checkpoints": len(checkpoints),
            "tile_width": TILE_WIDTH,
            "exported_at": format_time(utcnow()),
            "keys": [key.text() for key in verifier_keys(hub)],
        }
        out.write(_line(header))
        for checkpoint in checkpoints:
            out.write(_line({"checkpoint": checkpoint.note}))
        written = 0
        tile_count = -(-tree_size // TILE_WIDTH)
        starts = range(0, tile_count, TILES_PER_QUERY)

        async def read(first: int) -> tuple[dict[int, bytes], Sequence[Sequence[Any]]]:
            last = min(first + TILES_PER_QUERY, tile_count) - 1
            rows = await repo.entry_values_between(
                session, first * TILE_WIDTH + 1, min(tree_size, (last + 1) * TILE_WIDTH)
            )
            return await repo.leaf_tiles(session, first, last), rows

        # The next batch's query is sent before this batch is encoded, so the database works on it
        # meanwhile (one query in flight at a time: the session's connection is never shared).
        reading = asyncio.ensure_future(read(starts[0])) if starts else None
        for number, first in enumerate(starts):
            assert reading is not None
            tiles, rows = await reading
            if number + 1 < len(starts):
                reading = asyncio.ensure_future(read(starts[number + 1]))
                await asyncio.sleep(0)  # let it send its query
            last = min(first + TILES_PER_QUERY, tile_count) - 1
            out.write(_tiles_text(first, last, tree_size, tiles, rows).encode("utf-8"))
            written += len(rows)
            if progress is not None:
                progress(written, tree_size)
    return ExportSummary(tree_size, written, len(checkpoints))
