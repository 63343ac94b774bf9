"""The canonical bytes of an access entry: what its Merkle leaf hashes (docs/audit-log.md).

A JSON object serialised per RFC 8785 (JCS): members sorted by name, no whitespace, strings as
UTF-8 with only the escapes JSON requires, integers in decimal. Every value is a string, an
integer, null or a list of strings, so Python's json module with sorted keys produces exactly the
JCS form. The export writes these bytes as the entry's line, so a verifier hashes lines as read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
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
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _TIME % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


_TIME = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def split_names(joined: str) -> tuple[str, ...]:
    return tuple(name for name in joined.split(",") if name)


# The canonical object with its members in MEMBERS (JCS) order, filled by `%`: several times
# faster than building a dict for json.dumps, which matters when an export re-encodes millions of
# rows. Strings go through the json module's own string encoder (the C one, where json.dumps with
# ensure_ascii=False gets its escapes from), so the bytes are those of json.dumps; the tests compare
# the two on arbitrary text.
_OBJECT = (
    '{"action":%s,"applicant":%s,"client":%s,"department":%s,"fields":%s,"materials":%s,"object":%s,'
    '"outcome":%s,"principal":%s,"purpose":%s,"reason":%s,"request":%s,"role":%s,"seq":%d,"time":"%s"}'
)
_string = encode_basestring


def _names(names: Iterable[str]) -> str:
    return "[" + ",".join([_string(name) for name in names]) + "]"


def _joined_names(joined: str) -> str:
    """A stored comma-separated list of names as a JSON array of strings (empty names dropped)."""
    if not joined:
        return "[]"
    return "[" + ",".join([_string(name) for name in joined.split(",") if name]) + "]"


def canonical_text(
    seq: int,
    time: datetime,
    request: str,
    client: str,
    principal: int | None,
    department: str,
    role: str,
    action: str,
    outcome: str,
    applicant: str,
    object_ref: str,
    fields: str,
    materials: str,
    purpose: str,
    reason: str,
) -> str:
    """The canonical entry as text, from a stored row's values in CanonicalEntry's order (`fields` and
    `materials` as stored: comma-separated names). Its UTF-8 bytes are what `encode` returns."""
    return _OBJECT % (
        _string(action),
        _string(applicant),
        _string(client),
        _string(department),
        _joined_names(fields),
        _joined_names(materials),
        _string(object_ref),
        _string(outcome),
        "null" if principal is None else int(principal),
        _string(purpose),
        _string(reason),
        _string(request),
        _string(role),
        seq,
        format_time(time),
    )


def encode(entry: CanonicalEntry) -> bytes:
    """The canonical bytes (RFC 8785 JCS) of one entry."""
    return (
        _OBJECT
        % (
            _string(entry.action),
            _string(entry.applicant),
            _string(entry.client),
            _string(entry.department),
            _names(entry.fields),
            _names(entry.materials),
            _string(entry.object),
            _string(entry.outcome),
            "null" if entry.principal is None else int(entry.principal),
            _string(entry.purpose),
            _string(entry.reason),
            _string(entry.request),
            _string(entry.role),
            entry.seq,
            format_time(entry.time),
        )
    ).encode("utf-8")


def encode_row(row: Any, seq: int | None = None) -> bytes:
    """Canonical bytes of a stored access_entries row, at its own `seq` or the one given."""
    return canonical_text(
        row.seq if seq is None else seq,
        row.recorded_at,
        row.request_id,
        row.client_address,
        row.principal_id,
        row.department_code,
        row.role,
        row.action,
        row.outcome,
        row.applicant_ref,
        row.object_ref,
        row.fields,
        row.material_types,
        row.purpose,
        row.reason,
    ).encode("utf-8")


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
