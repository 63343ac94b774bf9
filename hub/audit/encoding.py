"""The canonical bytes of an access entry: what its Merkle leaf hashes (docs/audit-log.md).

A JSON object serialised per RFC 8785 (JCS): members sorted by name, no whitespace, strings as
UTF-8 with only the escapes JSON requires, integers in decimal. Every value is a string, an
integer, null or a list of strings, so Python's json module with sorted keys produces exactly the
JCS form. The export writes these bytes as the entry's line, so a verifier hashes lines as read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Members of the canonical object, in JCS (sorted) order.
MEMBERS = (
    "action",
    "applicant",
    "client",
    "department",
    "fields",
    "materials",
    "object",
    "outcome",
    "principal",
    "purpose",
    "reason",
    "request",
    "role",
    "seq",
    "time",
)
# Where the sequence number sits in an encoded entry: `"seq"` is the only member with this prefix.
SEQ_MARKER = b',"seq":'
ENTRY_LINE_PREFIX = b'{"action":'


@dataclass(frozen=True, slots=True)
class CanonicalEntry:
    """One sequenced entry, as the log commits to it. Names of fields, never their values."""

    seq: int
    time: datetime
    request: str
    client: str
    principal: int | None
    department: str
    role: str
    action: str
    outcome: str
    applicant: str
    object: str
    fields: tuple[str, ...]
    materials: tuple[str, ...]
    purpose: str
    reason: str


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a `Z`: the precision both databases keep."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def split_names(joined: str) -> tuple[str, ...]:
    return tuple(name for name in joined.split(",") if name)


def encode(entry: CanonicalEntry) -> bytes:
    """The canonical bytes (RFC 8785 JCS) of one entry."""
    document: dict[str, Any] = {
        "action": entry.action,
        "applicant": entry.applicant,
        "client": entry.client,
        "department": entry.department,
        "fields": list(entry.fields),
        "materials": list(entry.materials),
        "object": entry.object,
        "outcome": entry.outcome,
        "principal": entry.principal,
        "purpose": entry.purpose,
        "reason": entry.reason,
        "request": entry.request,
        "role": entry.role,
        "seq": entry.seq,
        "time": format_time(entry.time),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def encode_row(row: Any, seq: int | None = None) -> bytes:
    """Canonical bytes of a stored access_entries row, at its own `seq` or the one given."""
    return encode(
        CanonicalEntry(
            seq=row.seq if seq is None else seq,
            time=row.recorded_at,
            request=row.request_id,
            client=row.client_address,
            principal=row.principal_id,
            department=row.department_code,
            role=row.role,
            action=row.action,
            outcome=row.outcome,
            applicant=row.applicant_ref,
            object=row.object_ref,
            fields=split_names(row.fields),
            materials=split_names(row.material_types),
            purpose=row.purpose,
            reason=row.reason,
        )
    )


def seq_of(encoded: bytes) -> int | None:
    """The `seq` member of encoded entry bytes without parsing the whole object, or None.

    Safe because inside a JSON string every `"` is escaped, so `,"seq":` only occurs as a member.
    """
    at = encoded.find(SEQ_MARKER)
    if at < 0:
        return None
    start = at + len(SEQ_MARKER)
    end = encoded.find(b",", start)
    try:
        return int(encoded[start:end])
    except ValueError:
        return None
