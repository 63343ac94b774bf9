"""Keys derived from the keyring's master keys with HKDF-SHA256 (RFC 5869) for webhooks.

- Endpoint secrets are encrypted at rest with AES-256-GCM under a key derived from the current
  master key; the ciphertext names its key id, so a master key rotation leaves them readable.
- The v1a signing key (Ed25519) is derived from each master key: the hub publishes every one's
  public key, and signs with the current one.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.keys.keyring import Keyring, KeyringError

SECRET_INFO = b"hub webhook endpoint secrets v1"
SIGNING_INFO = b"hub webhook v1a signing key v1"
NONCE_BYTES = 12


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


def encrypt_secret(keyring: Keyring, secret: str, endpoint_ref: str) -> str:
    """ "<key id>:<base64 nonce + ciphertext>", bound to the endpoint so it cannot be moved to another."""
    key_id, master_key = keyring.current_master_key()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_derive(master_key, SECRET_INFO)).encrypt(nonce, secret.encode(), endpoint_ref.encode())
    return f"{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt_secret(keyring: Keyring, stored: str, endpoint_ref: str) -> str:
    key_id, _, packed = stored.partition(":")
    raw = base64.b64decode(packed)
    try:
        plain = AESGCM(_derive(keyring.master_key(key_id), SECRET_INFO)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], endpoint_ref.encode()
        )
    except Exception as error:
        raise KeyringError(f"an endpoint secret does not decrypt under key {key_id}") from error
    return plain.decode()


def signing_keys(keyring: Keyring) -> tuple[str, dict[str, Ed25519PrivateKey]]:
    """(current key id, every v1a key by the master key id it derives from)."""
    current, masters = keyring.master_keys()
    return current, {
        key_id: Ed25519PrivateKey.from_private_bytes(_derive(master, SIGNING_INFO))
        for key_id, master in masters.items()
    }
