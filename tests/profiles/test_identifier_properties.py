"""Property tests: identifier parsing accepts every valid number in any spacing or case, refuses every
one-character corruption of it, and never fails on arbitrary text, or on a resident ID with any
region code, with anything but InvalidInput."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from hub.demo.people import REGION_CODES, credit_code, resident_id
from hub.errors import InvalidInput, InvalidResidentId
from hub.identifiers import ApplicantKind, detect_kind, normalize_resident_id

births = st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31))
seeds = st.integers(min_value=0, max_value=2**32)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    return resident_id(random.Random(draw(seeds)), draw(births), draw(st.booleans()))


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    rng = random.Random(draw(seeds))
    return credit_code(rng, rng.choice(REGION_CODES))


def _respaced(number: str, lower: bool, padding: str) -> str:
    return padding + (number.lower() if lower else number) + padding


@given(resident_ids(), st.booleans(), st.sampled_from(["", " ", "\t", "  "]))
def test_a_valid_resident_id_is_a_person_whatever_its_case_or_padding(number, lower, padding) -> None:
    assert detect_kind(_respaced(number, lower, padding)) == (ApplicantKind.PERSON, number)


@given(credit_codes(), st.booleans(), st.sampled_from(["", " ", "\t"]))
def test_a_valid_credit_code_is_an_enterprise_whatever_its_case_or_padding(code, lower, padding) -> None:
    assert detect_kind(_respaced(code, lower, padding)) == (ApplicantKind.ENTERPRISE, code)


@given(resident_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_one_changed_character_of_a_resident_id_is_never_taken_for_it(number, position, replacement) -> None:
    corrupted = number[:position] + replacement + number[position + 1 :]
    if corrupted == number:
        return
    try:
        kind, canonical = detect_kind(corrupted)
    except InvalidInput:
        return
    # GB 11643's check digit catches every single substitution: it cannot pass as a person.
    assert kind is ApplicantKind.ENTERPRISE and canonical != number


@given(credit_codes(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXY"))
def test_one_changed_character_of_a_credit_code_is_never_taken_for_it(code, position, replacement) -> None:
    corrupted = code[:position] + replacement + code[position + 1 :]
    if corrupted == code:
        return
    try:
        kind, canonical = detect_kind(corrupted)
    except InvalidInput:
        return
    assert kind is ApplicantKind.PERSON and canonical != code


@given(st.text(max_size=40))
def test_arbitrary_text_is_either_an_identifier_or_refused_as_bad_input(text) -> None:
    try:
        kind, canonical = detect_kind(text)
    except InvalidInput as error:
        assert error.code == "BAD_USER_INPUT"
        return
    assert len(canonical) == 18 and kind in ApplicantKind


@st.composite
def resident_ids_of_any_region(draw: st.DrawFn) -> str:
    """A right check digit and birth date, and a region code of six random digits (most of them
    codes stdnum's table lacks, some under a province it knows, as 110199 is)."""
    body = f"{draw(st.integers(0, 999_999)):06d}{draw(births):%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + ric.calc_check_digit(body + "0")


@given(resident_ids_of_any_region())
def test_a_resident_id_of_any_region_is_a_person_or_refused_as_bad_input(number) -> None:
    try:
        kind, canonical = detect_kind(number)
    except InvalidInput as error:
        assert error.code == "BAD_USER_INPUT"
        kind = None
    if kind is ApplicantKind.PERSON:
        assert canonical == normalize_resident_id(number)
        return
    # Refused, or (rarely) a valid credit code by chance: not a resident ID either way.
    with pytest.raises(InvalidResidentId):
        normalize_resident_id(number)


def test_a_county_the_table_lacks_under_a_known_province_is_refused_not_an_error() -> None:
    # 11 (Beijing) is in stdnum's region table, 0199 under it is not: stdnum's lookup raised
    # KeyError for it, which reached callers as an internal error.
    number = "11019919900101123" + ric.calc_check_digit("110199199001011230")
    with pytest.raises(InvalidInput):
        detect_kind(number)
    with pytest.raises(InvalidResidentId):
        normalize_resident_id(number)
