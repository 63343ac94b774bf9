"""The log as static files in the C2SP tlog-tiles layout: a client that reads nothing but those
files checks the checkpoint's signature and recomputes its root from the tiles, and an auditor's
mirror with the entry bundles hashes each entry to its leaf."""

from __future__ import annotations

import struct
from pathlib import Path

from hub.audit.checkpoint import parse_body, verified_signers
from hub.audit.merkle import HASH_SIZE, fold, leaf_hash, perfect_nodes, root_of
from hub.audit.publish import publish, tile_path
from tests.support.audit_log import hub_key, log_of, sql

WIDTH = 256


def client_path(level: int | str, index: int, width: int) -> str:
    """tlog-tiles paths, written out independently of the hub's code."""
    text = str(index)
    text = "0" * (-len(text) % 3) + text
    groups = [text[i : i + 3] for i in range(0, len(text), 3)]
    name = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    return f"tile/{level}/{name}" + (f".p/{width}" if width < WIDTH else "")


class TileClient:
    """Reads a published log from files only, as a tile-reading tool would over HTTP."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder, self.size = folder, size

    def tile(self, level: int | str, index: int) -> bytes:
        hashes_at_level = self.size >> (8 * (0 if level == "entries" else int(level)))
        full = (index + 1) * WIDTH <= hashes_at_level
        return (self.folder / client_path(level, index, WIDTH if full else hashes_at_level % WIDTH)).read_bytes()

    def node(self, node: tuple[int, int]) -> bytes:
        """A perfect node of the tree: hashed up from the tile of the tlog level below it."""
        level, index = node
        tiles_level, below = divmod(level, 8)
        first, count = index << below, 1 << below
        hashes = self.tile(tiles_level, first // WIDTH)
        start = first % WIDTH
        return root_of([hashes[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(start, start + count)])

    def root(self) -> bytes:
        return fold([self.node(n) for n in perfect_nodes(0, self.size)])


async def test_a_tile_client_recomputes_the_signed_root(hub, clerk, tmp_path) -> None:
    folder = tmp_path / "public"
    await log_of(hub, clerk, [300, 600])
    summary = await publish(hub, folder)
    assert summary.tree_size == 600
    body, signers = verified_signers((folder / "checkpoint").read_text(encoding="utf-8"), [hub_key(hub)])
    checkpoint = parse_body(body)
    assert signers and checkpoint.tree_size == 600
    assert TileClient(folder, 600).root() == checkpoint.root_hash
    # 2 full leaf tiles and the partial ones of both checkpoints; level 1 holds the 2 full tiles' roots.
    assert sorted(str(p.relative_to(folder)) for p in (folder / "tile").rglob("*") if p.is_file()) == [
        "tile/0/000",
        "tile/0/001",
        "tile/0/001.p/44",
        "tile/0/002.p/88",
        "tile/1/000.p/1",
        "tile/1/000.p/2",
    ]
    level1 = (folder / "tile/1/000.p/2").read_bytes()
    assert level1[:HASH_SIZE] == TileClient(folder, 600).node((8, 0))
    assert not (folder / "tile/entries").exists()  # entries name applicants: not without an auditor

    # The log grows: full tiles stay as they were, the new checkpoint's partial tiles appear.
    before = (folder / "tile/0/000").read_bytes()
    await log_of(hub, clerk, [700])
    assert (await publish(hub, folder)).tree_size == 1300
    assert (folder / "tile/0/000").read_bytes() == before
    assert (
        TileClient(folder, 1300).root()
        == parse_body(
            verified_signers((folder / "checkpoint").read_text(encoding="utf-8"), [hub_key(hub)])[0]
        ).root_hash
    )


async def test_an_auditors_mirror_has_entry_bundles_that_hash_to_the_leaves(hub, clerk, auditor, hub_command, tmp_path):
    await log_of(hub, clerk, [300])
    token = tmp_path / "token"
    token.write_text(auditor.token)
    folder = tmp_path / "mirror"
    status, out, _ = await hub_command("audit", "publish", str(folder), "--entries", "--token-file", str(token))
    assert status == 0, out
    size = parse_body(
        verified_signers((folder / "checkpoint").read_text(encoding="utf-8"), [hub_key(hub)])[0]
    ).tree_size
    client = TileClient(folder, size)
    for index in range(-(-size // WIDTH)):
        bundle, entries = client.tile("entries", index), []
        while bundle:
            (length,) = struct.unpack(">H", bundle[:2])
            entries.append(bundle[2 : 2 + length])
            bundle = bundle[2 + length :]
        assert b"".join(leaf_hash(e) for e in entries) == client.tile(0, index)
    assert b'"action":"audit.export"' in entries[-1] and b'"object":"publish"' in entries[-1]

    # An entry changed in SQL is named, and nothing of it is published.
    await sql(hub, "UPDATE access_entries SET purpose = 'basis:covered-up' WHERE seq = 42")
    status, out, _ = await hub_command(
        "audit", "publish", str(tmp_path / "again"), "--entries", "--token-file", str(token)
    )
    assert status == 1 and out.startswith("FAILED at entry 42:")


def test_tile_paths_follow_tlog_tiles() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067" == client_path(0, 1234067, WIDTH)
    assert tile_path(2, 5, 17) == "tile/2/005.p/17"
    assert tile_path("entries", 1000, 3) == "tile/entries/x001/000.p/3"
