"""Checkpoints: the C2SP tlog-checkpoint body, signed as a C2SP signed note with Ed25519.

Body (https://c2sp.org/tlog-checkpoint): origin line, tree size in decimal, base64 root hash,
then extension lines; we add one, `time <RFC 3339 UTC>`, the moment of signing. The note
(https://c2sp.org/signed-note) is the body, an empty line, and one line per signature:
`— <key name> <base64(key id || signature)>`, where the key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || Ed25519 public key). Verifier keys travel as
`<name>+<hex key id>+<base64(0x01 || public key)>`, the format transparency-log tools read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.audit.merkle import HASH_SIZE

ED25519_ALGORITHM = b"\x01"
KEY_ID_SIZE = 4
SIGNATURE_SIZE = 64
SIGNATURE_PREFIX = "\u2014 "  # em dash and a space
TIME_EXTENSION = "time "


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, or no trusted key signed it."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    signed_at: datetime

    def body(self) -> str:
        when = self.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.tree_size}\n{root}\n{TIME_EXTENSION}{when}\n"


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key as the signed-note spec names it."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def text(self) -> str:
        encoded = base64.b64encode(ED25519_ALGORITHM + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


def key_id(name: str, public_key: bytes) -> bytes:
    """Signed-note key id: SHA-256(name || "\\n" || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_ALGORITHM + public_key).digest()[:KEY_ID_SIZE]


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise CheckpointError(f"key name {name!r} must be non-empty without spaces or '+'")


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse `<name>+<hex key id>+<base64(0x01 || key)>`, checking the id matches the key."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise CheckpointError("a verifier key reads <name>+<hex key id>+<base64 key>") from None
    _check_key_name(name)
    if len(raw) != 1 + 32 or raw[:1] != ED25519_ALGORITHM:
        raise CheckpointError("only Ed25519 verifier keys (algorithm 0x01, 32 bytes) are supported")
    key = VerifierKey(name, raw[1:])
    if key.key_id != claimed:
        raise CheckpointError(f"verifier key {name}+{hex_id} does not match its key id")
    return key


def sign_note(body: str, name: str, signers: Sequence[Ed25519PrivateKey]) -> str:
    """The signed note of `body`, one signature line per key, all under the same key name."""
    _check_key_name(name)
    if not body.endswith("\n"):
        raise CheckpointError("a note body ends with a newline")
    lines = []
    for private in signers:
        public = VerifierKey(name, _raw_public(private))
        signature = private.sign(body.encode("utf-8"))
        lines.append(f"{SIGNATURE_PREFIX}{name} {base64.b64encode(public.key_id + signature).decode('ascii')}\n")
    return body + "\n" + "".join(lines)


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def open_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its body and its signatures (not yet verified)."""
    body, separator, tail = note.rpartition("\n\n")
    if not separator or not tail.endswith("\n"):
        raise CheckpointError("a signed note is a body, an empty line and signature lines")
    body += "\n"
    signatures = []
    for line in tail[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"not a signature line: {line[:40]!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CheckpointError(f"signature of {name} is not base64") from None
        # Other signature types (a witness's timestamped cosignature is longer) are kept for
        # their verifiers; an Ed25519 key checks only signatures of its own id and size.
        if len(raw) <= KEY_ID_SIZE:
            raise CheckpointError(f"signature of {name} has {len(raw)} bytes, no room for a key id and a signature")
        signatures.append(NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return body, signatures


def verified_signers(note: str, keys: Iterable[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """The note's body and which of `keys` produced a valid signature on it."""
    body, signatures = open_note(note)
    message = body.encode("utf-8")
    by_id = {(key.name, key.key_id): key for key in keys}
    signers = []
    for signature in signatures:
        key = by_id.get((signature.name, signature.key_id))
        if key is not None and len(signature.signature) == SIGNATURE_SIZE and key.verify(message, signature.signature):
            signers.append(key)
    return body, signers


def parse_body(body: str) -> Checkpoint:
    """Parse a checkpoint body (origin, size, root, extension lines)."""
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("a checkpoint body has an origin, a size and a root hash line")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise CheckpointError("root hash is not base64") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash has {len(root)} bytes, not {HASH_SIZE}")
    signed_at = datetime.fromtimestamp(0, UTC)
    for line in extensions:
        if not line:
            raise CheckpointError("empty extension line in a checkpoint body")
        if line.startswith(TIME_EXTENSION):
            try:
                signed_at = datetime.strptime(line[len(TIME_EXTENSION) :], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                raise CheckpointError(f"bad time extension {line!r}") from None
    return Checkpoint(origin, int(size_text), root, signed_at)
