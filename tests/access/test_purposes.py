"""One purpose grammar: `<kind>:<ref>` in canonical form, UTF-8 percent-encoded in the header.

What an auditor filters by is what was declared: a purpose spelled another way (`case :R`), sent as
raw non-ASCII bytes, as invalid UTF-8, or too long for the log is refused with INVALID_PURPOSE, and
the refusal itself is in the log with the raw value escaped and cut short.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from hub.access.principals import principal_context
from hub.access.purposes import (
    MAX_LOGGED_RAW,
    MAX_PURPOSE_LENGTH,
    canonical_purpose,
    escaped_for_log,
    parse_purpose,
    purpose_from_header,
)
from hub.catalog.catalogue import load_catalog
from hub.errors import InvalidPurpose
from storage.models import AccessEntry

PERSON_ID = "11010519491231002X"
CATALOG = """
material_types:
  - {code: id_card, name: 居民身份证}
legal_bases:
  - code: 户籍核查
    department: sw
    description: 户籍核查
    profile_fields: [name]
"""
LOOKUP = "query($id: String!) { applicant(idNumber: $id) { name } }"
REGISTER = "mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber } }"

kinds = st.from_regex(r"[a-z][a-z0-9_-]{0,31}", fullmatch=True)
# Refs as a department would write them: letters of any script, digits, punctuation, inner spaces.
ref_characters = st.characters(categories=["L", "N", "P", "S"]) | st.just(" ")
refs = st.text(ref_characters, min_size=1, max_size=60).filter(lambda r: r == r.strip())


@given(kinds, refs)
def test_every_canonical_purpose_parses_to_its_parts(kind: str, ref: str) -> None:
    assert parse_purpose(f"{kind}:{ref}") == (kind, ref)


@given(kinds, refs)
def test_percent_encoded_utf8_in_the_header_decodes_to_the_purpose(kind: str, ref: str) -> None:
    purpose = f"{kind}:{ref}"
    assert purpose_from_header(quote(purpose, safe=":").encode("ascii")) == purpose


@given(kinds, refs, st.sampled_from([" :", ": ", " : ", "\t:"]))
def test_spaces_around_the_colon_are_refused_not_tidied(kind: str, ref: str, colon: str) -> None:
    with pytest.raises(InvalidPurpose):
        parse_purpose(f"{kind}{colon}{ref}")


@given(kinds, refs, st.characters(categories=["Cc", "Cf"]))
def test_control_characters_in_a_ref_are_refused(kind: str, ref: str, control: str) -> None:
    with pytest.raises(InvalidPurpose):
        parse_purpose(f"{kind}:{ref[:1]}{control}{ref[1:]}")


@given(st.text(min_size=1, max_size=300))
def test_anything_accepted_is_canonical_and_fits_the_log(text: str) -> None:
    try:
        kind, ref = parse_purpose(text)
    except InvalidPurpose:
        return
    assert f"{kind}:{ref}" == text and len(text) <= MAX_PURPOSE_LENGTH
    assert kind.islower() and kind[0].isalpha() and ref == ref.strip() and ref.isprintable()


@given(st.binary(min_size=1, max_size=400))
def test_a_refused_value_is_logged_as_bounded_printable_ascii(raw: bytes) -> None:
    escaped = escaped_for_log(raw)
    assert escaped.isascii() and escaped.isprintable() and len(escaped) <= MAX_LOGGED_RAW


@pytest.mark.parametrize(
    "text",
    ["case", "case:", ":R", "Case:R", "case :R", "case: R", "case:R ", "1case:R", "case:R\n", "case:\u202eR"],
)
def test_non_canonical_spellings_are_refused(text: str) -> None:
    with pytest.raises(InvalidPurpose):
        canonical_purpose(text)


def test_over_long_raw_or_invalid_utf8_headers_are_refused() -> None:
    with pytest.raises(InvalidPurpose):
        purpose_from_header(("basis:" + "x" * MAX_PURPOSE_LENGTH).encode())
    with pytest.raises(InvalidPurpose):
        purpose_from_header("basis:户籍核查".encode())  # raw UTF-8 bytes, not percent-encoded
    with pytest.raises(InvalidPurpose):
        purpose_from_header(b"basis:%E6%88")  # a truncated UTF-8 sequence


async def _entries(hub) -> list[AccessEntry]:
    async with hub.sessions() as session:
        return list((await session.execute(select(AccessEntry).order_by(AccessEntry.id))).scalars())


@pytest.fixture
async def registered(hub, client, clerk) -> str:
    async with hub.sessions() as session:
        await load_catalog(session, CATALOG, "test-catalog.yaml")
        await session.commit()
    variables = {"input": {"kind": "PERSON", "idNumber": PERSON_ID, "name": "张三"}}
    await client.execute(REGISTER, variables, token=clerk.token)
    return PERSON_ID


@pytest.mark.parametrize(
    "header",
    [b"basis :\xe6\x88\xb7", b"basis: x", "basis:户籍核查".encode(), b"basis:%FF", b"basis:" + b"y" * 300],
)
async def test_a_refused_purpose_is_answered_and_logged(hub, client, tax_system, registered, header: bytes) -> None:
    response = await client.post(LOOKUP, {"id": registered}, token=tax_system.token, headers={"X-Hub-Purpose": header})
    body = response.json()
    assert response.status_code == 400 and body["errors"][0]["extensions"]["code"] == "INVALID_PURPOSE"
    assert "data" not in body
    entry = (await _entries(hub))[-1]
    assert (entry.action, entry.outcome, entry.purpose, entry.department_code) == (
        "auth.purpose_refused",
        "refused",
        "",
        "sw",
    )
    assert entry.reason.startswith("INVALID_PURPOSE: ") and entry.reason.isascii()
    assert len(entry.reason) <= len("INVALID_PURPOSE: ") + MAX_LOGGED_RAW
    # Refused before any policy: the department looked nobody up.
    assert [e.action for e in await _entries(hub) if e.department_code == "sw"] == ["auth.purpose_refused"]


async def test_a_chinese_purpose_percent_encoded_is_logged_as_declared(hub, client, tax_system, registered) -> None:
    header = quote("basis:户籍核查", safe=":")
    data = await client.execute(LOOKUP, {"id": registered}, token=tax_system.token, purpose=header)
    assert data["applicant"]["name"] == "张三"
    logged = [e for e in await _entries(hub) if e.department_code == "sw"]
    assert [(e.action, e.outcome, e.purpose) for e in logged] == [("applicant.lookup", "allowed", "basis:户籍核查")]
    # An auditor filtering by the canonical purpose finds it.
    async with hub.sessions() as session:
        found = await session.execute(select(AccessEntry.id).where(AccessEntry.purpose == "basis:户籍核查"))
        assert len(found.all()) == 1


async def test_a_command_declaring_a_malformed_purpose_is_refused_and_logged(hub, tax_system) -> None:
    with pytest.raises(InvalidPurpose):
        async with principal_context(hub, tax_system.token, "case :20261123-00001"):
            pytest.fail("a malformed purpose must not open a context")
    [entry] = await _entries(hub)
    assert (entry.action, entry.outcome, entry.reason) == (
        "auth.purpose_refused",
        "refused",
        "INVALID_PURPOSE: case :20261123-00001",
    )
