"""Witness cosignatures on checkpoints, following C2SP tlog-cosignature (cosignature/v1, Ed25519).

A witness that checked a checkpoint extends the hub's consistently adds one note signature line:
`— <witness name> base64(key id || timestamp || signature)`, where the key id is the first four
bytes of SHA-256(name || 0x0A || 0x04 || public key), the timestamp is a big-endian u64 of POSIX
seconds, and the Ed25519 signature covers `cosignature/v1\\ntime <timestamp>\\n` followed by the
checkpoint's note body. Witness keys travel as `<name>+<hex key id>+<base64(0x04 || key)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.audit.checkpoint import KEY_ID_SIZE, SIGNATURE_PREFIX, SIGNATURE_SIZE, CheckpointError, open_note

COSIGNATURE_ALGORITHM = b"\x04"
COSIGNATURE_HEADER = "cosignature/v1\n"
TIMESTAMP_SIZE = 8
MAX_TIMESTAMP = 2**63 - 1


@dataclass(frozen=True, slots=True)
class WitnessKey:
    """A witness's Ed25519 cosigning key, public half, as tlog-cosignature names it."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode("utf-8") + b"\n" + COSIGNATURE_ALGORITHM + self.public_key).digest()[
            :KEY_ID_SIZE
        ]

    def text(self) -> str:
        encoded = base64.b64encode(COSIGNATURE_ALGORITHM + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


@dataclass(frozen=True, slots=True)
class Cosignature:
    witness: WitnessKey
    timestamp: int


def witness_key_of(name: str, private: Ed25519PrivateKey) -> WitnessKey:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return WitnessKey(name, raw)


def parse_witness_key(text: str) -> WitnessKey:
    """Parse `<name>+<hex key id>+<base64(0x04 || key)>`, checking the id matches the key."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise CheckpointError("a witness key reads <name>+<hex key id>+<base64 key>") from None
    if not name or any(c.isspace() for c in name):
        raise CheckpointError(f"witness name {name!r} must be non-empty without spaces")
    if len(raw) != 1 + 32 or raw[:1] != COSIGNATURE_ALGORITHM:
        raise CheckpointError("a witness key is an Ed25519 cosignature key (algorithm 0x04, 32 bytes)")
    key = WitnessKey(name, raw[1:])
    if key.key_id != claimed:
        raise CheckpointError(f"witness key {name}+{hex_id} does not match its key id")
    return key


def signed_message(body: str, timestamp: int) -> bytes:
    """What a cosignature signs: the cosignature/v1 header, the time line, the note body."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (with its newline) a witness adds to a checkpoint with this body."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise CheckpointError("a cosignature timestamp is a positive POSIX time")
    key = witness_key_of(name, private)
    signature = private.sign(signed_message(body, timestamp))
    blob = key.key_id + struct.pack(">Q", timestamp) + signature
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


def cosignatures(note: str, witnesses: Iterable[WitnessKey]) -> list[Cosignature]:
    """The valid cosignatures on `note` by the given witnesses, one per witness; other lines are
    ignored, as the signed-note spec asks."""
    body, signatures = open_note(note)
    by_id = {(key.name, key.key_id): key for key in witnesses}
    found: dict[WitnessKey, Cosignature] = {}
    for signature in signatures:
        key = by_id.get((signature.name, signature.key_id))
        if key is None or key in found or len(signature.signature) != TIMESTAMP_SIZE + SIGNATURE_SIZE:
            continue
        (timestamp,) = struct.unpack(">Q", signature.signature[:TIMESTAMP_SIZE])
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(
                signature.signature[TIMESTAMP_SIZE:], signed_message(body, timestamp)
            )
        except InvalidSignature:
            continue
        found[key] = Cosignature(key, timestamp)
    return list(found.values())


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """The note with signature lines appended, skipping any it already carries."""
    present = set(note.splitlines(keepends=True))
    return note + "".join(line for line in lines if line not in present)
