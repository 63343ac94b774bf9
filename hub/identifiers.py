"""Applicant identifiers: resident ID (GB 11643) and unified social credit code (GB 32100).

Validation is python-stdnum's (`cn.ric`, `cn.uscc`): check digit, birth date and region code.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidComponent, ValidationError

from hub.errors import InvalidCreditCode, InvalidInput, InvalidResidentId


class ApplicantKind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


def normalize_resident_id(value: str) -> str:
    """Return the canonical 18-character resident ID, or raise InvalidResidentId."""
    try:
        return _validated_resident_id(value)
    except ValidationError as exc:
        raise InvalidResidentId(f"not a valid resident ID: {exc}", field="idNumber") from None


def normalize_credit_code(value: str) -> str:
    """Return the canonical 18-character unified social credit code, or raise InvalidCreditCode."""
    try:
        return uscc.validate(value)
    except ValidationError as exc:
        raise InvalidCreditCode(f"not a valid unified social credit code: {exc}", field="idNumber") from None


def normalize_identifier(kind: ApplicantKind, value: str) -> str:
    if kind is ApplicantKind.PERSON:
        return normalize_resident_id(value)
    return normalize_credit_code(value)


def detect_kind(value: str) -> tuple[ApplicantKind, str]:
    """Tell a resident ID from a credit code by validating as both; refuse what is neither."""
    found = _classify(value.strip().upper())
    if found is None:
        raise InvalidInput(
            "neither a valid resident ID nor a valid unified social credit code",
            field="idNumber",
        )
    return found


# Seventeen digits and a check character: the shape of a resident ID, valid or not.
_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def detect_kind_explained(value: str) -> tuple[ApplicantKind, str]:
    """`detect_kind` for those who supply numbers in bulk: a number valid as neither kind is refused
    with the code of the kind it is shaped like (18 characters: a resident ID if seventeen digits
    and a check character, a credit code otherwise), so a department learns what to fix."""
    try:
        return detect_kind(value)
    except InvalidInput:
        compact = value.strip().upper()
        if len(compact) == 18:
            kind = ApplicantKind.PERSON if _RESIDENT_ID_SHAPE.fullmatch(compact) else ApplicantKind.ENTERPRISE
            normalize_identifier(kind, compact)
        raise


@lru_cache(maxsize=65536)
def _classify(compact: str) -> tuple[ApplicantKind, str] | None:
    """Cached: every lookup by ID number validates it, and stdnum's region lookup is costly
    (measured: a tenth of the clerk's query). Validity of a number never changes."""
    try:
        return ApplicantKind.PERSON, _validated_resident_id(compact)
    except ValidationError:
        pass
    if uscc.is_valid(compact):
        return ApplicantKind.ENTERPRISE, uscc.compact(compact)
    return None


def load_region_table() -> None:
    """Load python-stdnum's table of region codes now instead of at the first resident ID checked.

    A serving process calls this before it moves its start-up objects out of the garbage
    collector's sight (app/asgi.py): loaded later, the table's 15,000-odd objects stayed in view and
    every full collection traversed them (under the clerk's load, one every 2-4 s: 3-5 ms of CPU
    each with the table, 2-3 ms without; docs/performance.md, session 10).
    """
    numdb.get("cn/loc")


def _validated_resident_id(value: str) -> str:
    """`stdnum.cn.ric.validate`, whose region lookup raises KeyError (not a ValidationError) for a
    county code its table lacks under a province it knows, such as 110199: that number is invalid,
    and a caller sending it gets a refusal, not a server error."""
    try:
        return ric.validate(value)
    except KeyError:
        raise InvalidComponent("unknown region code") from None
