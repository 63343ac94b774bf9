"""Keys derived from the keyring's master keys with HKDF-SHA256 (RFC 5869), one per purpose.

- The blob naming key keys the HMAC that names blobs. It comes from the oldest master key, so it
  stays the same across rotations and equal bytes keep deduplicating to one blob; master keys are
  never removed from the keyring (old blobs need them too).
- Download link keys sign short-lived download links. They come from the current master key, and
  a link names the key id it was signed under, so links keep working across a rotation.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.keys.keyring import Keyring

NAMING_INFO = b"hub blob names v1"
LINK_INFO = b"hub download links v1"


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


def blob_naming_key(keyring: Keyring) -> bytes:
    _, keys = keyring.master_keys()
    # The key file lists keys in the order they were made (ids made in the same second do not sort).
    first = next(iter(keys.values()))
    return _derive(first, NAMING_INFO)


def current_link_key(keyring: Keyring) -> tuple[str, bytes]:
    key_id, master_key = keyring.current_master_key()
    return key_id, _derive(master_key, LINK_INFO)


def link_key(keyring: Keyring, key_id: str) -> bytes:
    return _derive(keyring.master_key(key_id), LINK_INFO)
