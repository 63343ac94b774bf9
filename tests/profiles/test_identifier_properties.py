"""Property tests: identifier parsing accepts every valid number in any spacing or case, refuses every
one-character corruption of it, and never fails on arbitrary text with anything but InvalidInput."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from hub.demo.people import REGION_CODES, credit_code, resident_id
from hub.errors import InvalidInput
from hub.identifiers import ApplicantKind, detect_kind

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
