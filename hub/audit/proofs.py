"""RFC 9162 proofs from the stored tiles: the subtree ranges a proof names, folded from the
perfect node hashes of the tiles that hold them (one query, O(log n) hashes)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.merkle import Range, consistency_ranges, perfect_nodes, range_hash
from hub.audit.tiles import TileSet, tiles_for
from storage.repositories import audit as repo


async def stored_range_hashes(session: AsyncSession, ranges: list[Range]) -> list[bytes]:
    """The hashes of subtree ranges; KeyError if a tile they need is missing or short."""
    nodes = [node for start, end in ranges for node in perfect_nodes(start, end)]
    tree = TileSet(await repo.tiles(session, tiles_for(nodes)))
    return [range_hash(start, end, tree.node) for start, end in ranges]


async def consistency_hashes(session: AsyncSession, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) from the stored tree."""
    return await stored_range_hashes(session, consistency_ranges(old_size, new_size))
