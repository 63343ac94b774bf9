"""The hub's secret keys, kept as files under HUB_SECRETS_DIR (mode 0600), never logged.

Two kinds, each with a current key and older ones kept for reading what they protected:
- master keys (AES-256) wrap the per-blob data keys of the document store;
- signing keys (Ed25519) sign the access log's checkpoints.
Rotation adds a new current key; old keys stay so old blobs decrypt and old checkpoints verify.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import HubError

MASTER_KEY_BYTES = 32
MASTER_FILE = "master-keys.json"
SIGNING_FILE = "signing-keys.json"


class KeyringError(HubError):
    code = "KEYRING_ERROR"


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_bytes(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Keyring:
    """Reads and rotates the key files. Several hub processes share them through the folder."""

    def __init__(self, secrets_dir: Path) -> None:
        self.dir = Path(secrets_dir)

    # master keys -----------------------------------------------------------------------------

    def master_keys(self) -> tuple[str, dict[str, bytes]]:
        """(current key id, every key by id), creating the first key on first use."""
        data = self._load(MASTER_FILE) or self._rotate(MASTER_FILE, lambda: secrets.token_bytes(MASTER_KEY_BYTES))
        return data["current"], {kid: base64.b64decode(k) for kid, k in data["keys"].items()}

    def current_master_key(self) -> tuple[str, bytes]:
        current, keys = self.master_keys()
        return current, keys[current]

    def master_key(self, key_id: str) -> bytes:
        _, keys = self.master_keys()
        if key_id not in keys:
            raise KeyringError(f"master key {key_id} is not in the keyring")
        return keys[key_id]

    def rotate_master_key(self) -> str:
        self.master_keys()
        return str(self._rotate(MASTER_FILE, lambda: secrets.token_bytes(MASTER_KEY_BYTES))["current"])

    # signing keys ----------------------------------------------------------------------------

    def signing_keys(self) -> tuple[str, dict[str, SigningKey]]:
        data = self._load(SIGNING_FILE) or self._rotate(SIGNING_FILE, _new_ed25519)
        keys = {
            kid: SigningKey(kid, Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw)))
            for kid, raw in data["keys"].items()
        }
        return data["current"], keys

    def current_signing_key(self) -> SigningKey:
        current, keys = self.signing_keys()
        return keys[current]

    def rotate_signing_key(self) -> str:
        self.signing_keys()
        return str(self._rotate(SIGNING_FILE, _new_ed25519)["current"])

    # files -----------------------------------------------------------------------------------

    def _load(self, name: str) -> dict[str, Any] | None:
        path = self.dir / name
        if not path.exists():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError) as error:
            raise KeyringError(f"cannot read key file {path.name}: {type(error).__name__}") from None

    def _rotate(self, name: str, new_key: Callable[[], bytes]) -> dict[str, Any]:
        """Add a new current key, written atomically (temp file + rename) with mode 0600."""
        data = self._load(name) or {"current": None, "keys": {}, "created": {}}
        key_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        data["keys"][key_id] = base64.b64encode(new_key()).decode("ascii")
        data.setdefault("created", {})[key_id] = datetime.now(UTC).isoformat()
        data["current"] = key_id
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.dir / f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        try:
            os.link(tmp, self.dir / name)  # first writer wins when several processes start at once
        except FileExistsError:
            if data["keys"].keys() == {key_id}:
                os.unlink(tmp)
                return self._load(name) or data
            os.replace(tmp, self.dir / name)
        else:
            os.unlink(tmp)
        return data


def _new_ed25519() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
