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
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def split_names(joined: str) -> tuple[str, ...]:
    return tuple(name for name in joined.split(",") if name)


# Members are inserted in MEMBERS order, so the encoder need not sort them (a test checks it).
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(document: dict[str, Any]) -> bytes:
    return _dumps(document).encode("utf-8")


def encode(entry: CanonicalEntry) -> bytes:
    """The canonical bytes (RFC 8785 JCS) of one entry."""
    return _encode(
        {
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
    )


def encode_row(row: Any, seq: int | None = None) -> bytes:
    """Canonical bytes of a stored access_entries row, at its own `seq` or the one given.

    Builds the document directly (the sequencer's hot path); must agree with `encode`.
    """
    return _encode(
        {
            "action": row.action,
            "applicant": row.applicant_ref,
            "client": row.client_address,
            "department": row.department_code,
            "fields": [name for name in row.fields.split(",") if name],
            "materials": [code for code in row.material_types.split(",") if code],
            "object": row.object_ref,
            "outcome": row.outcome,
            "principal": row.principal_id,
            "purpose": row.purpose,
            "reason": row.reason,
            "request": row.request_id,
            "role": row.role,
            "seq": row.seq if seq is None else seq,
            "time": format_time(row.recorded_at),
        }
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


def with_seq(encoded: bytes, seq: int) -> bytes:
    """The same encoded entry numbered `seq`: how a verifier recognises an entry that was only
    renumbered (the rest of its bytes unchanged)."""
    found = seq_of(encoded)
    if found is None:
        return encoded
    return encoded.replace(SEQ_MARKER + str(found).encode() + b",", SEQ_MARKER + str(seq).encode() + b",", 1)
