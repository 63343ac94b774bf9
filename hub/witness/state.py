"""A witness's own folder: its Ed25519 cosigning key and, per log origin, the last checkpoint it
cosigned. Files are written atomically with mode 0600 (hub/audit/head.py); nothing is shared
with the hub it watches."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.cosignature import WitnessKey, witness_key_of
from hub.audit.head import HeadStore

KEY_FILE = "witness-key.json"


class WitnessStateError(ValueError):
    """The witness's folder holds a key file for another name, or one that cannot be read."""


@dataclass(frozen=True)
class WitnessIdentity:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public(self) -> WitnessKey:
        return witness_key_of(self.name, self.private_key)


class WitnessState:
    def __init__(self, folder: Path) -> None:
        self.dir = Path(folder)

    def identity(self, name: str) -> WitnessIdentity:
        """The witness's key, created on first use (first writer wins if two start at once)."""
        path = self.dir / KEY_FILE
        if not path.exists():
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            raw = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            tmp = self.dir / f".{KEY_FILE}.{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"name": name, "key": base64.b64encode(raw).decode("ascii")}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data["key"]))
        except (OSError, ValueError, KeyError) as error:
            raise WitnessStateError(f"cannot read {KEY_FILE}: {type(error).__name__}") from None
        if data["name"] != name:
            raise WitnessStateError(f"{KEY_FILE} is the key of witness {data['name']!r}, not {name!r}")
        return WitnessIdentity(name, key)

    def record(self, origin: str) -> HeadStore:
        """Where the last checkpoint cosigned for `origin` is kept (a file per origin)."""
        digest = hashlib.sha256(origin.encode("utf-8")).hexdigest()[:32]
        return HeadStore(self.dir, f"checkpoint-{digest}.json")
