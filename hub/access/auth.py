"""Bearer tokens: random, high-entropy, shown once, stored only as a SHA-256 hash.

A token is 256 random bits, so a fast unsalted hash is enough: there is nothing to brute-force,
and a lookup by hash keeps authentication to one indexed query.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives import hashes

from hub.errors import Unauthenticated

TOKEN_PREFIX = "hub_"
TOKEN_BYTES = 32


class Role(StrEnum):
    DEPARTMENT_SYSTEM = "department_system"
    CLERK = "clerk"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # An applicant (or a clerk's session on their behalf) asking who read their data.
    APPLICANT = "applicant"
    # The hub itself, in a scheduled job (closing abandoned cases); no principal holds this role.
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated principal behind a request."""

    principal_id: int
    name: str
    role: Role
    department_id: int
    department_code: str
    # The resident ID or credit code an applicant principal speaks for; empty for other roles.
    applicant_ref: str = ""


# Whom the log names for a token that belongs to nobody (unknown, rotated out, malformed): no
# principal. Principal ids start at 1; the recorder stores 0 as NULL and no role.
NOBODY = Caller(0, "", Role.APPLICANT, 0, "")
# Who the hub's own scheduled jobs act as: principal 0, no department. The log records it so.
SYSTEM_CALLER = Caller(0, "hub", Role.SYSTEM, 0, "")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(token.encode("utf-8"))
    return digest.finalize().hex()


def token_from_header(authorization: str | None) -> str:
    """Extract the token from an `Authorization: Bearer ...` header, or refuse."""
    if not authorization:
        raise Unauthenticated("missing Authorization: Bearer token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        raise Unauthenticated("malformed Authorization header; expected 'Bearer hub_...'")
    return token
