"""Offline verification of an export: no database, no network, only the export and trusted keys.

1. Checkpoints: each must carry a valid Ed25519 signature (C2SP signed note) from a trusted key.
   Keys the export lists become trusted when they co-sign a checkpoint with a trusted key, which
   the hub does across a key rotation.
2. Entries: every entry line is hashed as read (RFC 9162 leaf hash of its canonical bytes) and
   appended to a compact range; at each checkpoint's size the root must equal the signed root.
3. Localisation: the leaf hashes stored at sequencing time (tile lines) name the first entry that
   differs. They are not trusted on their own: an entry is reported bad only when a signed root
   disagrees too, or when no signature covers it.

The hot loop hashes with hashlib: SHA-256 is a public function with no key material, hashlib and
`cryptography` both call OpenSSL, and hashlib's per-call overhead is several times smaller for
200-byte inputs (bench/audit.py measures both).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from itertools import islice
from pathlib import Path
from typing import Any

from hub.audit.checkpoint import CheckpointError, VerifierKey, parse_body, parse_verifier_key, verified_signers
from hub.audit.cosignature import WitnessKey, cosignatures
from hub.audit.encoding import ENTRY_LINE_PREFIX, seq_of, with_seq
from hub.audit.export_format import FORMAT
from hub.audit.merkle import HASH_SIZE, CompactRange

Progress = Callable[[int, int], None]
TILE_LEVEL = 8  # a full tile of 256 leaves is a perfect subtree of level 8


class VerificationError(Exception):
    """The export does not verify. `seq` is the first bad entry's sequence number, if known."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.seq = seq


class MalformedExport(VerificationError):
    pass


class UntrustedCheckpoint(VerificationError):
    pass


class EntryTampered(VerificationError):
    pass


class EntriesMissing(VerificationError):
    pass


class Unwitnessed(VerificationError):
    """The witness policy is not met: too few of the named witnesses cosigned the newest checkpoint."""


@dataclass
class VerifyReport:
    entries: int
    tree_size: int
    checkpoints: int
    root_hash: bytes
    trusted_keys: list[str]
    unsigned_entries: int
    warnings: list[str] = field(default_factory=list)
    witnessed_size: int = 0  # the largest checkpoint cosigned by enough witnesses (with a policy)
    cosigners: int = 0  # how many of the named witnesses cosigned the newest checkpoint


@dataclass(frozen=True)
class _Signed:
    tree_size: int
    root_hash: bytes


def _json(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        raise MalformedExport(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedExport(f"{what} is not a JSON object")
    return value


def _trusted_checkpoints(
    notes: list[str], origin: str, trusted: list[VerifierKey], offered: list[VerifierKey]
) -> tuple[list[_Signed], list[VerifierKey]]:
    """Verify every checkpoint note; keys co-signing with a trusted key become trusted."""
    candidates = {key.text(): key for key in [*trusted, *offered]}
    trusted_texts = {key.text() for key in trusted}
    signers_of: list[list[VerifierKey]] = []
    bodies: list[str] = []
    for note in notes:
        try:
            body, signers = verified_signers(note, candidates.values())
        except CheckpointError as error:
            raise MalformedExport(f"checkpoint note: {error}") from None
        bodies.append(body)
        signers_of.append(signers)
    changed = True
    while changed:
        changed = False
        for signers in signers_of:
            texts = {key.text() for key in signers}
            if texts & trusted_texts and not texts <= trusted_texts:
                trusted_texts |= texts
                changed = True
    result: list[_Signed] = []
    for body, signers in zip(bodies, signers_of, strict=True):
        try:
            checkpoint = parse_body(body)
        except CheckpointError as error:
            raise MalformedExport(f"checkpoint body: {error}") from None
        if not any(key.text() in trusted_texts for key in signers):
            raise UntrustedCheckpoint(
                f"the checkpoint of tree size {checkpoint.tree_size} carries no valid signature by a trusted key"
            )
        if checkpoint.origin != origin:
            raise MalformedExport(f"checkpoint of size {checkpoint.tree_size} is for origin {checkpoint.origin!r}")
        if result and checkpoint.tree_size <= result[-1].tree_size:
            raise MalformedExport("checkpoints are not in increasing tree size")
        result.append(_Signed(checkpoint.tree_size, checkpoint.root_hash))
    return result, [candidates[t] for t in sorted(trusted_texts) if t in candidates]


def _witnessed(
    notes: list[str], signed: list[_Signed], witnesses: Sequence[WitnessKey], threshold: int
) -> tuple[int, int]:
    """(largest size cosigned by `threshold` witnesses, cosigners of the newest checkpoint)."""
    if threshold > len(witnesses):
        raise MalformedExport(f"a threshold of {threshold} needs at least {threshold} witness keys")
    if not witnesses:
        return 0, 0
    witnessed_size, count = 0, 0
    for note, checkpoint in zip(notes, signed, strict=True):
        count = len(cosignatures(note, witnesses))
        if count >= max(threshold, 1):
            witnessed_size = checkpoint.tree_size
    return witnessed_size, count


def _describe(entries: list[bytes], stored: bytes, offset: int, first: int) -> tuple[int, str]:
    """(first bad seq, what happened) for the tile whose entry `offset` (0-based in the tile, leaf
    `first + offset` of the log) disagrees with its stored leaf hash.

    A renumbered neighbour tells an insertion, a deletion or a swap apart from an edit: re-encoded
    at its old number, it matches the leaf hash stored for that number.
    """
    expected = first + offset + 1
    line = entries[offset][:-1]

    def stored_at(index: int) -> bytes | None:
        chunk = stored[index * HASH_SIZE : (index + 1) * HASH_SIZE]
        return chunk if len(chunk) == HASH_SIZE else None

    def was(index: int, entry: bytes, seq: int) -> bool:
        return stored_at(index) == sha256(b"\x00" + with_seq(entry, seq)).digest()

    found = seq_of(line) if line.startswith(ENTRY_LINE_PREFIX) else None
    if found is None:
        return expected, f"entry {expected}: the line is not a canonical entry"
    if found != expected and was(offset, line, expected):
        return expected, f"entry {expected} was renumbered: it now reads seq {found}"
    after = entries[offset + 1][:-1] if offset + 1 < len(entries) else None
    if after is not None and was(offset, after, expected) and was(offset + 1, line, expected + 1):
        return expected, f"entries {expected} and {expected + 1} were swapped"
    if after is not None and was(offset, after, expected):
        if seq_of(after) == expected:
            # The next line is the signed entry of that number as it was: nothing was renumbered.
            return expected, f"entry {expected} was inserted: a forged entry stands before the signed one"
        return expected, f"entry {expected} was inserted: the entries after it were renumbered to make room"
    if found == expected and was(offset + 1, line, expected + 1):
        # Only when this entry now reads the missing one's number: an entry that kept its own
        # number after a deletion re-encodes to itself and proves no renumbering.
        return expected, f"entry {expected} is missing: the entries after it were renumbered to close the gap"
    if found == expected:
        return expected, f"entry {expected} was changed: its content does not match the leaf signed for it"
    if found > expected:
        return expected, f"entry {expected} is missing: entry {found} stands in its place"
    return expected, f"entry {expected} is out of place: entry {found} appears where entry {expected} belongs"


# Copying a primed hasher skips OpenSSL 3's per-construction algorithm fetch, the larger part of
# the cost of hashing a 300-byte entry.
_LEAF = sha256(b"\x00")
_NODE = sha256(b"\x01")


def _leaf_hashes(lines: list[bytes]) -> list[bytes]:
    """RFC 9162 leaf hashes of entry lines (each without its final newline)."""
    copy, result = _LEAF.copy, []
    for line in lines:
        hasher = copy()
        hasher.update(line[:-1])
        result.append(hasher.digest())
    return result


def _tile_subtree(leaves: list[bytes]) -> bytes:
    """Root of a full tile (a perfect subtree of 256 leaves), one level at a time."""
    copy, level = _NODE.copy, leaves
    while len(level) > 1:
        parents = []
        for i in range(0, len(level), 2):
            hasher = copy()
            hasher.update(level[i] + level[i + 1])
            parents.append(hasher.digest())
        level = parents
    return level[0]


def verify_lines(
    lines: Iterator[bytes],
    trusted: Iterable[VerifierKey],
    progress: Progress | None = None,
    kept_checkpoints: Iterable[str] = (),
    witnesses: Sequence[WitnessKey] = (),
    witness_threshold: int = 0,
) -> VerifyReport:
    """Verify an export read line by line; raises a VerificationError naming the first bad entry.

    `kept_checkpoints` are signed notes an auditor saved earlier: the export must extend each of
    them, so a history rewritten or truncated since (checkpoints included) is caught.
    With a witness policy, `witness_threshold` of the `witnesses` must have cosigned the newest
    checkpoint (C2SP tlog-cosignature): a log that rewrote its history, or shows this auditor a
    tree it showed no witness, fails though every signature of its own is valid.
    """
    header = _json(next(lines, b""), "the first line (header)")
    if header.get("format") != FORMAT:
        raise MalformedExport(f"not a {FORMAT} export")
    origin, tree_size, width = header.get("origin"), header.get("tree_size"), header.get("tile_width")
    if (
        not isinstance(tree_size, int)
        or not isinstance(origin, str)
        or not isinstance(width, int)
        or width != 1 << TILE_LEVEL
    ):
        raise MalformedExport("the header needs origin, tree_size and tile_width 256")
    try:
        offered = [parse_verifier_key(text) for text in header.get("keys", [])]
    except CheckpointError as error:
        raise MalformedExport(f"header key: {error}") from None
    notes = []
    for number in range(header.get("checkpoints", 0)):
        notes.append(_json(next(lines, b""), f"checkpoint line {number + 1}").get("checkpoint", ""))
    signed, trusted_keys = _trusted_checkpoints(notes, origin, list(trusted), offered)
    witnessed = _witnessed(notes, signed, witnesses, witness_threshold)
    kept, _ = _trusted_checkpoints(list(kept_checkpoints), origin, list(trusted), offered)
    roots = {c.tree_size: c.root_hash for c in signed}
    for checkpoint in kept:
        if roots.setdefault(checkpoint.tree_size, checkpoint.root_hash) != checkpoint.root_hash:
            raise EntryTampered(
                f"the export's checkpoint of size {checkpoint.tree_size} differs from the one you kept: "
                "the history was rewritten",
            )
    targets = sorted(roots)

    tree = CompactRange()
    suspect: tuple[int, str] | None = None  # first entry whose stored leaf hash disagrees
    last_good = 0
    warnings: list[str] = []
    next_target = 0

    def reached(size: int) -> None:
        nonlocal suspect, last_good, next_target
        root = tree.root()
        if root != roots[size]:
            if suspect is not None and suspect[0] <= size:
                raise EntryTampered(suspect[1] + f" (the signed checkpoint of size {size} disagrees)", suspect[0])
            raise EntryTampered(
                f"entries {last_good + 1}..{size} do not match the signed checkpoint of size {size}; "
                f"the stored leaf hashes were rewritten too, so entry {last_good + 1} is the first that may be bad",
                last_good + 1,
            )
        if suspect is not None and suspect[0] <= size:
            warnings.append(
                f"stored leaf hashes near entry {suspect[0]} were damaged; the entries match their signatures"
            )
            suspect = None
        last_good = size
        next_target += 1

    for tile_line in lines:
        tile = _json(tile_line, f"the tile line after entry {tree.size}")
        count, index = tile.get("entries"), tile.get("tile")
        if index != tree.size // width or tree.size % width or not isinstance(count, int) or count < 0:
            if suspect is not None:  # the previous tile came short: its missing entries are the fault
                raise EntriesMissing(suspect[1], suspect[0])
            raise MalformedExport(f"unexpected tile line after entry {tree.size}", tree.size + 1)
        try:
            stored = base64.b64decode(tile.get("leaf_hashes", ""), validate=True)
        except binascii.Error:
            raise MalformedExport(f"tile {index}: leaf_hashes is not base64") from None
        entries = list(islice(lines, count))
        if len(entries) < count:
            raise MalformedExport(f"the export ends inside tile {index}", tree.size + len(entries) + 1)
        leaves = _leaf_hashes(entries)
        joined = b"".join(leaves)
        if suspect is None and (joined != stored[: len(joined)] or len(joined) != len(stored)):
            position = next(
                (i for i, leaf in enumerate(leaves) if stored[i * HASH_SIZE : (i + 1) * HASH_SIZE] != leaf),
                len(leaves),
            )
            if position < len(leaves):
                suspect = _describe(entries, stored, position, tree.size)
            elif len(joined) < len(stored):
                missing = tree.size + len(leaves) + 1
                suspect = (missing, f"entry {missing} is missing: the log holds fewer entries than were sequenced")
            else:
                extra = tree.size + len(stored) // HASH_SIZE + 1
                suspect = (extra, f"entry {extra} was inserted: no leaf was sequenced at this position")
        start = tree.size
        target = targets[next_target] if next_target < len(targets) else None
        if len(leaves) == width and (target is None or target > start + width):
            tree.push(TILE_LEVEL, _tile_subtree(leaves))
        else:
            for leaf in leaves:
                tree.append(leaf)
                if tree.size == target:
                    reached(target)
                    target = targets[next_target] if next_target < len(targets) else None
        if progress is not None:
            progress(tree.size, tree_size)

    if next_target < len(targets):
        first_missing = tree.size + 1
        if suspect is not None and suspect[0] <= first_missing:
            raise EntryTampered(suspect[1], suspect[0])
        raise EntriesMissing(
            f"entries {first_missing}..{targets[-1]} are missing: the checkpoint of size {targets[-1]} covers them",
            first_missing,
        )
    unsigned = tree.size - last_good
    if suspect is not None:
        raise EntryTampered(suspect[1] + " (no signed checkpoint covers it)", suspect[0])
    if tree.size < tree_size:
        raise EntriesMissing(f"entries {tree.size + 1}..{tree_size} are missing from the export", tree.size + 1)
    witnessed_size, cosigners = witnessed
    if witness_threshold and cosigners < witness_threshold:
        newest = signed[-1].tree_size if signed else 0
        raise Unwitnessed(
            f"the newest checkpoint (tree size {newest}) is cosigned by {cosigners} of the {witness_threshold} "
            f"witnesses required; entries after {witnessed_size} are not witnessed",
            witnessed_size + 1,
        )
    return VerifyReport(
        witnessed_size=witnessed_size,
        cosigners=cosigners,
        entries=tree.size,
        tree_size=last_good,
        checkpoints=len(targets),
        root_hash=roots[last_good] if last_good else b"",
        trusted_keys=[key.text() for key in trusted_keys],
        unsigned_entries=unsigned,
        warnings=warnings,
    )


def verify_file(
    path: Path,
    trusted: Iterable[VerifierKey],
    progress: Progress | None = None,
    kept_checkpoints: Iterable[str] = (),
    witnesses: Sequence[WitnessKey] = (),
    witness_threshold: int = 0,
) -> VerifyReport:
    with open(path, "rb", buffering=1 << 20) as handle:
        return verify_lines(iter(handle), trusted, progress, kept_checkpoints, witnesses, witness_threshold)


def read_keys(values: Iterable[str]) -> list[VerifierKey]:
    """Verifier keys given as text or as files holding one key per line."""
    keys: list[VerifierKey] = []
    for value in values:
        path = Path(value)
        texts = path.read_text(encoding="utf-8").split() if path.is_file() else [value]
        keys.extend(parse_verifier_key(text) for text in texts)
    return keys
