"""`hub audit publish DIR`: the log as static files in the C2SP tlog-tiles layout.

    checkpoint                      the newest signed note (with its witnesses' cosignatures)
    tile/<L>/<N>                    full tiles: 256 hashes of tree level 8L (level 0: leaf hashes)
    tile/<L>/<N>.p/<W>              partial tiles (W < 256), for the size of every checkpoint
    tile/entries/<N>[.p/<W>]        with --entries only: each entry's canonical bytes after a
                                    big-endian uint16 length, hashing to the level-0 tile

<N> is written in 3-digit path elements, all but the last prefixed with `x` (1234067 is
`x001/x234/067`). Any static web server then serves the log to tools that read tiles. The hub
stores every tree level in tiles of the same width, so tile L of tlog-tiles is the hub's level
8L: publishing copies, it computes no hash. Full tiles and bundles never change and are written
once; the checkpoint is replaced last, so a reader never sees a checkpoint whose tiles are not
there yet. Entries name applicants: they are published only at an auditor's request (checked and
logged like an export), for auditors' own mirrors; tiles and checkpoints hold only hashes and
signatures and may be public. Each entry is checked against its stored leaf hash before it is published: a damaged
log is named at its first bad entry, not published.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.actions import Action
from hub.access.context import Hub, RequestContext
from hub.access.guard import guard
from hub.audit.encoding import encode_row
from hub.audit.merkle import HASH_SIZE, leaf_hash
from hub.audit.sequencer import Sequencer
from hub.audit.tiles import TILE_WIDTH
from storage.repositories import audit as repo

LEVEL_BITS = 8  # a tlog tile spans 8 levels of the tree
TILES_PER_QUERY = 16
Progress = Callable[[int, int], None]


class PublishError(Exception):
    """The stored log does not match its own tree: the first bad entry is named."""

    def __init__(self, message: str, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


@dataclass(frozen=True)
class PublishSummary:
    tree_size: int
    files_written: int


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]` with N in x-prefixed 3-digit path elements (tlog-tiles)."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])
    suffix = f".p/{width}" if width < TILE_WIDTH else ""
    return f"tile/{level}/{path}{suffix}"


def _write(folder: Path, relative: str, content: bytes, *, replace: bool) -> bool:
    """Write a file atomically; a file that exists is kept unless `replace` (tiles are immutable)."""
    path = folder / relative
    if path.exists() and not replace:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(content)
    os.replace(tmp, path)
    return True


def _bundle(entries: list[bytes]) -> bytes:
    return b"".join(struct.pack(">H", len(entry)) + entry for entry in entries)


async def publish_entries_for(ctx: RequestContext, folder: Path, progress: Progress | None = None) -> PublishSummary:
    """Tiles with the entry bundles: the entries name applicants, so this is an auditor's act,
    checked and logged like an export (the files go where auditors read them, not to the public)."""
    try:
        await guard(ctx, Action.AUDIT_EXPORT, object_ref="publish")
    finally:
        await ctx.commit()
    return await publish(ctx.hub, folder, progress, with_entries=True)


async def publish(
    hub: Hub, folder: Path, progress: Progress | None = None, *, with_entries: bool = False
) -> PublishSummary:
    """Sequence, sign, and write the newest checkpoint with every tile (and bundle) it needs.

    Without the entries the files hold hashes and signatures only, nothing about applicants: they
    may be public, so anyone can follow the log and check its consistency."""
    await Sequencer(hub).integrate(force_checkpoint=True)
    written = 0
    async with hub.sessions() as session:
        checkpoints = await repo.checkpoints(session)
        if not checkpoints:
            return PublishSummary(0, 0)
        size = checkpoints[-1].tree_size
        sizes = sorted({c.tree_size for c in checkpoints})
        level = 0
        while size >> (LEVEL_BITS * level):
            width_at = {s: (s >> (LEVEL_BITS * level)) % TILE_WIDTH for s in sizes}
            nodes = size >> (LEVEL_BITS * level)  # hashes of this tlog level in the tree
            tile_count = -(-nodes // TILE_WIDTH)
            for first in range(0, tile_count, TILES_PER_QUERY):
                last = min(first + TILES_PER_QUERY, tile_count) - 1
                tiles = await repo.level_tiles(session, LEVEL_BITS * level, first, last)
                entries = await _entries(session, first, last, size) if level == 0 and with_entries else {}
                for index in range(first, last + 1):
                    stored = tiles.get(index, b"")
                    full = (index + 1) * TILE_WIDTH <= nodes
                    # A full tile, and the partial one of every checkpoint that ends inside it.
                    widths = [TILE_WIDTH] if full else []
                    widths += [
                        w for s, w in width_at.items() if w and (s >> (LEVEL_BITS * level)) // TILE_WIDTH == index
                    ]
                    for width in sorted(set(widths)):
                        hashes = stored[: width * HASH_SIZE]
                        if len(hashes) != width * HASH_SIZE:
                            raise PublishError(f"tile {level}/{index} is short in the database", index * TILE_WIDTH + 1)
                        written += _write(folder, tile_path(level, index, width), hashes, replace=False)
                        if level == 0 and with_entries:
                            bundle = _checked_bundle(entries, hashes, index)
                            written += _write(
                                folder, tile_path("entries", index, width), _bundle(bundle), replace=False
                            )
                if progress is not None and level == 0:
                    progress(min((last + 1) * TILE_WIDTH, size), size)
            level += 1
        written += _write(folder, "checkpoint", checkpoints[-1].note.encode("utf-8"), replace=True)
    return PublishSummary(size, written)


async def _entries(session: AsyncSession, first: int, last: int, size: int) -> dict[int, bytes]:
    """Canonical bytes of the entries of tiles [first, last], by sequence number."""
    rows = await repo.entries_between(session, first * TILE_WIDTH + 1, min(size, (last + 1) * TILE_WIDTH))
    return {row.seq: encode_row(row) for row in rows}


def _checked_bundle(entries: dict[int, bytes], hashes: bytes, tile: int) -> list[bytes]:
    """The tile's entries, each checked against the leaf hash the sequencer stored for it."""
    bundle = []
    for offset in range(len(hashes) // HASH_SIZE):
        seq = tile * TILE_WIDTH + offset + 1
        entry = entries.get(seq)
        if entry is None:
            raise PublishError(f"entry {seq} is missing from the database", seq)
        if leaf_hash(entry) != hashes[offset * HASH_SIZE : (offset + 1) * HASH_SIZE]:
            raise PublishError(f"entry {seq} does not match the leaf hash sequenced for it", seq)
        bundle.append(entry)
    return bundle
