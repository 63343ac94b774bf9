"""The stored tree as hash tiles: every perfect node hash, TILE_WIDTH consecutive ones per row.

Tile (level, t) holds the hashes of nodes (level, t*W) .. (level, t*W + W - 1), concatenated;
only the last tile of a level is partial. A batch of new leaves touches one or two tiles per
level, and a checkpoint or proof reads O(log n) tiles: nothing depends on the size of the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hub.audit.merkle import HASH_SIZE, Node, fold, node_hash, perfect_nodes

TILE_WIDTH = 256

TileKey = tuple[int, int]  # (level, tile index)


def tile_of(node: Node) -> TileKey:
    level, index = node
    return level, index // TILE_WIDTH


def frontier_tiles(size: int) -> list[TileKey]:
    """The tile holding the last complete node of each level: all that appending needs."""
    keys, level = [], 0
    while size >> level:
        keys.append(tile_of((level, (size >> level) - 1)))
        level += 1
    return keys


def tiles_for(nodes: Iterable[Node]) -> list[TileKey]:
    return sorted({tile_of(node) for node in nodes})


class TileSet:
    """Some tiles held in memory: read nodes from them, append a batch of leaves to them."""

    def __init__(self, tiles: Mapping[TileKey, bytes]) -> None:
        self._tiles = {key: bytearray(value) for key, value in tiles.items()}
        self._stored = set(tiles)
        self._changed: set[TileKey] = set()

    def node(self, node: Node) -> bytes:
        key = tile_of(node)
        tile = self._tiles.get(key)
        offset = (node[1] % TILE_WIDTH) * HASH_SIZE
        if tile is None or len(tile) < offset + HASH_SIZE:
            raise KeyError(f"node {node} is not in the loaded tiles")
        return bytes(tile[offset : offset + HASH_SIZE])

    def root(self, size: int) -> bytes:
        """The root of the first `size` leaves (its perfect nodes must be loaded)."""
        return fold([self.node(n) for n in perfect_nodes(0, size)])

    def extend(self, size: int, leaves: Sequence[bytes]) -> None:
        """Append leaves after the first `size` ones, adding every node they complete."""
        level, start, new = 0, size, list(leaves)
        while new:
            self._put(level, start, new)
            end = start + len(new)
            parents = []
            for j in range(start // 2, end // 2):
                left = new[2 * j - start] if 2 * j >= start else self.node((level, 2 * j))
                parents.append(node_hash(left, new[2 * j + 1 - start]))
            level, start, new = level + 1, start // 2, parents

    def _put(self, level: int, start: int, hashes: list[bytes]) -> None:
        for offset, value in enumerate(hashes):
            index = start + offset
            key = (level, index // TILE_WIDTH)
            tile = self._tiles.setdefault(key, bytearray())
            if len(tile) != (index % TILE_WIDTH) * HASH_SIZE:
                raise ValueError(f"tile {key} is not contiguous at node {index}; the stored tree is damaged")
            tile += value
            self._changed.add(key)

    def changes(self) -> tuple[dict[TileKey, bytes], dict[TileKey, bytes]]:
        """(tiles to insert, tiles to update) after `extend`."""
        new = {k: bytes(self._tiles[k]) for k in self._changed if k not in self._stored}
        updated = {k: bytes(self._tiles[k]) for k in self._changed if k in self._stored}
        return new, updated
