"""Standard Webhooks 1.0 signatures: the headers of one delivery.

The signed content is "<webhook-id>.<webhook-timestamp>.<body>" for both schemes:
- v1: HMAC-SHA256 with the endpoint's `whsec_` secret (the `standardwebhooks` package signs);
  during a rotation's overlap both the new and the previous secret sign, space-separated.
- v1a: Ed25519 with the hub's key; receivers verify with its published `whpk_` public key.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"
SECRET_BYTES = 32


class Scheme(StrEnum):
    V1 = "v1"
    V1A = "v1a"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signed_content(message_id: str, timestamp: datetime, body: str) -> bytes:
    return f"{message_id}.{int(timestamp.timestamp())}.{body}".encode()


def v1_signatures(secrets_: Sequence[str], message_id: str, timestamp: datetime, body: str) -> list[str]:
    return [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_]


def v1a_signature(key: Ed25519PrivateKey, message_id: str, timestamp: datetime, body: str) -> str:
    signature = key.sign(signed_content(message_id, timestamp, body))
    return "v1a," + base64.b64encode(signature).decode("ascii")


def headers(message_id: str, timestamp: datetime, signatures: Sequence[str]) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")
