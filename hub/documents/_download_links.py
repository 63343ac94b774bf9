"""Short-lived signed download links: `/files/<token>`, HMAC-SHA256 (RFC 2104) under a keyring key.

A token names one material version, the principal it was issued to, that principal's declared
purpose, and an expiry. The download re-checks all of it (the principal must still be active, and
`guard` decides again and logs the download), so a leaked link is worth little and not for long.

Format: `v1.<key id>.<payload>.<mac>`, payload and mac base64url without padding; the mac covers
everything before it. The key id says which master key the link key was derived from, so links
issued before a key rotation keep working until they expire.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from hub.documents._derived_keys import current_link_key, link_key
from hub.errors import DownloadLinkExpired, InvalidDownloadLink
from hub.keys.keyring import Keyring, KeyringError

VERSION = "v1"
MAX_TOKEN_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    version_id: int
    principal_id: int
    purpose: str | None
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, message: str) -> HMAC:
    mac = HMAC(key, hashes.SHA256())
    mac.update(message.encode("ascii"))
    return mac


def sign(keyring: Keyring, grant: DownloadGrant) -> str:
    key_id, key = current_link_key(keyring)
    payload = {
        "v": grant.version_id,
        "p": grant.principal_id,
        "u": grant.purpose,
        "e": int(grant.expires_at.timestamp()),
    }
    signed = f"{VERSION}.{key_id}.{_b64(json.dumps(payload, separators=(',', ':')).encode('utf-8'))}"
    return f"{signed}.{_b64(_mac(key, signed).finalize())}"


def issue(
    keyring: Keyring, version_id: int, principal_id: int, purpose: str | None, now: datetime, lifetime: timedelta
) -> tuple[str, datetime]:
    expires_at = (now + lifetime).replace(microsecond=0)
    return sign(keyring, DownloadGrant(version_id, principal_id, purpose, expires_at)), expires_at


def verify(keyring: Keyring, token: str, now: datetime) -> DownloadGrant:
    """The grant a token carries, or InvalidDownloadLink / DownloadLinkExpired."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 4 or parts[0] != VERSION:
        raise InvalidDownloadLink("this download link is malformed")
    _, key_id, payload, mac = parts
    try:
        key = link_key(keyring, key_id)
        _mac(key, f"{VERSION}.{key_id}.{payload}").verify(_unb64(mac))
        data = json.loads(_unb64(payload))
        grant = DownloadGrant(int(data["v"]), int(data["p"]), data["u"], datetime.fromtimestamp(int(data["e"]), UTC))
    except (KeyringError, InvalidSignature, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidDownloadLink("this download link is not valid") from None
    if grant.expires_at <= now:
        raise DownloadLinkExpired("this download link has expired; ask for a new one")
    return grant
