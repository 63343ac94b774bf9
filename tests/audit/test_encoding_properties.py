"""Property tests of the canonical entry encoding (docs/audit-log.md): for any values a request can
carry, the bytes are RFC 8785 (JCS) JSON, decode back to the entry, locate their sequence number
without a parse, and agree with the encoder the sequencer uses on stored rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from hub.audit.encoding import MEMBERS, CanonicalEntry, encode, encode_row, format_time, seq_of

# Any Unicode a UTF-8 request can carry (lone surrogates cannot be), quotes, backslashes and
# control characters included, and strings that imitate the encoding's own markers.
texts = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    st.sampled_from(['","seq":7', ',"seq":', '\\",', "户籍核查", "case:R-2026-0001", "\x00\n\u2028"]),
)
names = st.lists(st.text(st.characters(exclude_categories=["Cs"], exclude_characters=","), min_size=1, max_size=12))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@st.composite
def entries(draw: st.DrawFn) -> CanonicalEntry:
    return CanonicalEntry(
        seq=draw(st.integers(min_value=1, max_value=2**53)),
        time=draw(moments),
        request=draw(texts),
        client=draw(texts),
        principal=draw(st.none() | st.integers(min_value=1, max_value=2**31)),
        department=draw(texts),
        role=draw(texts),
        action=draw(texts),
        outcome=draw(texts),
        applicant=draw(texts),
        object=draw(texts),
        fields=tuple(draw(names)),
        materials=tuple(draw(names)),
        purpose=draw(texts),
        reason=draw(texts),
    )


@given(entries())
def test_the_bytes_are_jcs_json_that_decodes_back_to_the_entry(entry: CanonicalEntry) -> None:
    encoded = encode(entry)
    document = json.loads(encoded.decode("utf-8"))
    assert tuple(document) == MEMBERS  # members in sorted order, as JCS requires
    jcs = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert encoded == jcs
    assert document["seq"] == entry.seq and document["purpose"] == entry.purpose
    assert document["fields"] == list(entry.fields) and document["time"] == format_time(entry.time)
    assert b"\n" not in encoded  # one entry, one export line


@given(entries())
def test_the_sequence_number_is_found_without_a_parse_whatever_the_strings_hold(entry: CanonicalEntry) -> None:
    assert seq_of(encode(entry)) == entry.seq


@given(entries(), st.integers(min_value=1, max_value=2**53))
def test_stored_rows_encode_exactly_as_entries(entry: CanonicalEntry, other_seq: int) -> None:
    row = SimpleNamespace(
        seq=entry.seq,
        recorded_at=entry.time,
        request_id=entry.request,
        client_address=entry.client,
        principal_id=entry.principal,
        department_code=entry.department,
        role=entry.role,
        action=entry.action,
        outcome=entry.outcome,
        applicant_ref=entry.applicant,
        object_ref=entry.object,
        fields=",".join(entry.fields),
        material_types=",".join(entry.materials),
        purpose=entry.purpose,
        reason=entry.reason,
    )
    assert encode_row(row) == encode(entry)
    renumbered = CanonicalEntry(**{**{m: getattr(entry, m) for m in entry.__slots__}, "seq": other_seq})
    assert encode_row(row, seq=other_seq) == encode(renumbered)
