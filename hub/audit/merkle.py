"""Merkle tree hashing and proofs as small pure functions, following RFC 9162 section 2.1.

Leaves are numbered from 0. A "perfect node" (level, index) is the root of the complete subtree
over leaves [index * 2**level, (index + 1) * 2**level); the store keeps every one of them, so any
subtree hash, proof or root is assembled from O(log n) stored hashes and never from a rescan.
Proof generation is split in two: `*_ranges` name the subtree ranges a proof needs (pure), and
`range_hash` folds them from stored perfect nodes, so the caller fetches all hashes in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)


class ProofError(ValueError):
    """A proof does not prove what it claims (RFC 9162 verification failed)."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 2.1.1: SHA-256(0x00 || entry)."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 2.1.1: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the RFC's recursive definition; the reference the tests compare against."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect nodes covering leaves [start, end), left to right, largest first.

    `start` must be a multiple of a power of two at least `end - start`, which holds for every
    range RFC 9162 proofs and roots ask for (the whole tree, and the splits of its recursion).
    """
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its perfect nodes' hashes (left to right): a right fold."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(start: int, end: int, node: Callable[[Node], bytes]) -> bytes:
    """MTH(D[start:end]) from stored perfect node hashes."""
    if start == end:
        return EMPTY_ROOT
    return fold([node(n) for n in perfect_nodes(start, end)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtree ranges whose hashes form PATH(index, D[size]) (RFC 9162 2.1.3.1), leaf first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The subtree ranges whose hashes form PROOF(old, D[new]) (RFC 9162 2.1.4.1), deepest first."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2); raises ProofError if malformed."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return result


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2; raises ProofError unless `leaf` is leaf `index` of the tree `root`."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"leaf {index} is not included in the tree of size {size} with this root")


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    """RFC 9162 2.1.4.2; raises ProofError unless the old tree is a prefix of the new one."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"size {old_size} cannot precede size {new_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("trees of equal size must have equal roots and an empty proof")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            first = node_hash(c, first)
            second = node_hash(c, second)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second = node_hash(second, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if first != old_root:
        raise ProofError(f"the proof does not lead to the root of size {old_size}")
    if second != new_root:
        raise ProofError(f"the proof does not lead to the root of size {new_size}")


class CompactRange:
    """The right edge of a growing tree (RFC 9162 tree of leaves appended one by one).

    Holds one hash per set bit of the size, so appending costs one hash on average and the root
    of the current size costs at most log2(size) hashes.
    """

    __slots__ = ("hashes", "size")

    def __init__(self) -> None:
        self.size = 0
        self.hashes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        self.push(0, leaf)

    def push(self, level: int, subtree: bytes) -> None:
        """Append a perfect subtree of 2**level leaves; the size must be a multiple of it."""
        if self.size & ((1 << level) - 1):
            raise ValueError(f"size {self.size} is not aligned to a subtree of level {level}")
        value, bits = subtree, self.size >> level
        while bits & 1:
            value = node_hash(self.hashes.pop(), value)
            bits >>= 1
        self.hashes.append(value)
        self.size += 1 << level

    def root(self) -> bytes:
        return fold(self.hashes) if self.hashes else EMPTY_ROOT
