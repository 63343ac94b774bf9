"""The canonical entry bytes are RFC 8785 JSON anyone can recompute from the stored row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

from hub.audit.encoding import MEMBERS, CanonicalEntry, encode, encode_row, seq_of

ENTRY = CanonicalEntry(
    seq=12,
    time=datetime(2026, 11, 23, 16, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
    request="c9217850",
    client="198.51.100.7",
    principal=None,
    department="sw",
    role="department_system",
    action="profile.read",
    outcome="denied",
    applicant="11010519491231002X",
    object="",
    fields=("address", "name"),
    materials=("id_card",),
    purpose='basis:税务,"quoted"\n',
    reason="purpose does not cover field phone",
)


def test_the_bytes_are_sorted_compact_utf8_json() -> None:
    encoded = encode(ENTRY)
    document = json.loads(encoded)
    assert list(document) == sorted(document) == list(MEMBERS)
    assert encoded == json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    assert b'"time":"2026-11-23T08:00:00.000005Z"' in encoded  # UTC, six fraction digits
    assert '"purpose":"basis:税务,\\"quoted\\"\\n"'.encode() in encoded
    assert seq_of(encoded) == 12


def test_a_stored_row_encodes_to_the_same_bytes() -> None:
    row = SimpleNamespace(
        seq=12,
        recorded_at=ENTRY.time.astimezone(UTC),
        request_id=ENTRY.request,
        client_address=ENTRY.client,
        principal_id=None,
        department_code="sw",
        role=ENTRY.role,
        action=ENTRY.action,
        outcome=ENTRY.outcome,
        applicant_ref=ENTRY.applicant,
        object_ref="",
        fields="address,name",
        material_types="id_card",
        purpose=ENTRY.purpose,
        reason=ENTRY.reason,
    )
    assert encode_row(row) == encode(ENTRY)
    assert seq_of(encode_row(row, 99)) == 99
