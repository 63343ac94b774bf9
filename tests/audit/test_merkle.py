"""The Merkle tree follows RFC 9162: the reference vectors of the Certificate Transparency
implementations, proofs from stored tiles for every size, and forged proofs refused."""

from __future__ import annotations

import random

import pytest

from hub.audit.merkle import (
    CompactRange,
    ProofError,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    range_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from hub.audit.tiles import TileSet, frontier_tiles

# The leaves and roots every RFC 6962 implementation tests against (certificate-transparency-go).
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CONSISTENCY_6_TO_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]


def _stored_tree(leaves: list[bytes], batches: list[int]) -> TileSet:
    """Build the tile store the way the sequencer does: batch after batch, frontier tiles only."""
    stored: dict = {}
    size = 0
    for batch in batches:
        tiles = TileSet({key: stored[key] for key in frontier_tiles(size) if key in stored})
        tiles.extend(size, leaves[size : size + batch])
        new, changed = tiles.changes()
        assert not set(new) & set(stored) and set(changed) <= set(stored)
        stored.update(new)
        stored.update(changed)
        size += batch
    return TileSet(stored)


def test_roots_match_the_reference_vectors() -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    tree = _stored_tree(hashes, [3, 1, 4])
    for size, expected in enumerate(ROOTS, start=1):
        assert root_of(hashes[:size]).hex() == expected
        assert tree.root(size).hex() == expected
        compact = CompactRange()
        for leaf in hashes[:size]:
            compact.append(leaf)
        assert compact.root().hex() == expected


def test_proofs_match_the_reference_vectors() -> None:
    tree = _stored_tree([leaf_hash(leaf) for leaf in LEAVES], [8])
    inclusion = [range_hash(a, b, tree.node).hex() for a, b in inclusion_ranges(0, 8)]
    assert inclusion == INCLUSION_0_OF_8
    consistency = [range_hash(a, b, tree.node).hex() for a, b in consistency_ranges(6, 8)]
    assert consistency == CONSISTENCY_6_TO_8


def test_proofs_from_stored_tiles_verify_for_every_size() -> None:
    rng = random.Random(9162)
    leaves = [leaf_hash(rng.randbytes(12)) for _ in range(1100)]
    batches = []
    while sum(batches) < len(leaves):
        batches.append(min(rng.randint(1, 300), len(leaves) - sum(batches)))
    tree = _stored_tree(leaves, batches)
    for size in [1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 1100, *rng.sample(range(1, 1100), 40)]:
        root = root_of(leaves[:size])
        assert tree.root(size) == root
        for index in {0, size - 1, rng.randrange(size)}:
            proof = [range_hash(a, b, tree.node) for a, b in inclusion_ranges(index, size)]
            verify_inclusion(index, size, leaves[index], proof, root)
        for old in {0, 1, size, rng.randint(1, size)}:
            proof = [range_hash(a, b, tree.node) for a, b in consistency_ranges(old, size)]
            verify_consistency(old, size, proof, root_of(leaves[:old]), root)


def test_forged_proofs_are_refused() -> None:
    leaves = [leaf_hash(bytes([n])) for n in range(20)]
    tree = _stored_tree(leaves, [20])
    root = root_of(leaves)
    proof = [range_hash(a, b, tree.node) for a, b in inclusion_ranges(5, 20)]
    with pytest.raises(ProofError):
        verify_inclusion(6, 20, leaves[5], proof, root)  # the wrong position
    with pytest.raises(ProofError):
        verify_inclusion(5, 20, leaf_hash(b"forged"), proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(5, 20, leaves[5], proof[:-1], root)
    consistency = [range_hash(a, b, tree.node) for a, b in consistency_ranges(7, 20)]
    rewritten = root_of([leaf_hash(b"rewritten"), *leaves[1:7]])
    with pytest.raises(ProofError):
        verify_consistency(7, 20, consistency, rewritten, root)  # an old head of another history
    with pytest.raises(ProofError):
        verify_consistency(7, 20, consistency[1:], root_of(leaves[:7]), root)
