"""The profile's fields and their rules: which fields each kind of applicant has, what a value of
each must look like, and which values the identifier already implies.

Values are kept as text, but a date that reads "yesterday" or a phone that reads "not a phone
number" is useless to the department that reads it next, and a gender or birth date contradicting
the resident ID means the profile or the number is wrong. Every path that records a value
(registration, a department's correction, a department's feed) passes `checked_values`, so no
value is stored that these rules refuse.

- Dates are ISO 8601 calendar dates (YYYY-MM-DD), not in the future.
- Phones are mainland mobile or fixed-line numbers, validated with `phonenumbers` (Google's
  libphonenumber metadata); kept as the national number (mobile `13800138000`, landline with its
  area code `0755-88886666`), so the same number typed two ways is one value.
- Gender is 男 or 女.
- A resident ID (GB 11643) encodes the birth date and gender (the order code's parity) and the
  region of registration (its first six digits); a credit code (GB 32100) encodes the region of its
  registration authority (characters 3 to 8). The fields `birth_date`, `gender` and `region` must
  agree with them (python-stdnum's `cn.ric`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date

import phonenumbers
from stdnum.cn import ric

from hub.errors import FieldContradictsIdentifier, InvalidFieldValue, InvalidInput
from hub.identifiers import ApplicantKind

PERSON_FIELDS = frozenset({"name", "gender", "birth_date", "phone", "address", "email", "employer", "region"})
ENTERPRISE_FIELDS = frozenset(
    {
        "name",
        "phone",
        "address",
        "email",
        "legal_representative",
        "registered_capital",
        "business_scope",
        "established_on",
        "enterprise_type",
        "region",
    }
)
MAX_VALUE_LENGTH = 2000
GENDERS = ("男", "女")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REGION_CODE = re.compile(r"\d{6}")
# Deliberately loose: a local part, an @, a domain with a dot. Whether it delivers is not ours to know.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


def allowed_fields(kind: ApplicantKind) -> frozenset[str]:
    return PERSON_FIELDS if kind is ApplicantKind.PERSON else ENTERPRISE_FIELDS


def checked_values(kind: ApplicantKind, id_number: str, values: Mapping[str, str], today: date) -> dict[str, str]:
    """The values as they will be stored (trimmed, normalised), or the first refusal.

    `id_number` is the canonical identifier of the applicant the values describe.
    """
    unknown = sorted(set(values) - allowed_fields(kind))
    if unknown:
        raise InvalidInput(f"unknown profile fields for a {kind.value}: {', '.join(unknown)}", fields=unknown)
    checked: dict[str, str] = {}
    for field, raw in values.items():
        value = raw.strip()
        if not value:
            raise InvalidInput(f"profile field {field} is empty", field=field)
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidInput(f"profile field {field} is longer than {MAX_VALUE_LENGTH}", field=field)
        rule = _RULES.get(field)
        checked[field] = rule(field, value, today) if rule else value
    for field, implied in implied_values(kind, id_number).items():
        if field in checked and checked[field] != implied:
            raise FieldContradictsIdentifier(
                f"{field} {checked[field]!r} contradicts the identifier, which says {implied!r}",
                field=field,
                implied=implied,
            )
    return checked


def implied_values(kind: ApplicantKind, id_number: str) -> dict[str, str]:
    """What the identifier itself says about its holder, as profile values."""
    if kind is ApplicantKind.ENTERPRISE:
        # GB 32100: characters 3-8 are the administrative division code of the registration authority.
        return {"region": id_number[2:8]}
    return {
        "birth_date": ric.get_birth_date(id_number).isoformat(),
        # GB 11643: the 17th character is the order code's last digit, odd for men, even for women.
        "gender": "男" if int(id_number[16]) % 2 else "女",
        "region": id_number[:6],
    }


def _iso_date(field: str, value: str, today: date) -> str:
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidFieldValue(f"{field} must be an ISO date (YYYY-MM-DD)", field=field, expected="date") from None
    if day > today:
        raise InvalidFieldValue(f"{field} cannot be in the future", field=field, expected="date")
    return value


def _phone(field: str, value: str, _today: date) -> str:
    expected = "mainland mobile or landline number"
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidFieldValue(f"{field} is not a phone number", field=field, expected=expected) from None
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _PHONE_TYPES
    ):
        raise InvalidFieldValue(f"{field} is not a {expected}", field=field, expected=expected)
    national = str(number.national_number)
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE:
        return national
    area = phonenumbers.length_of_geographical_area_code(number)
    return f"0{national[:area]}-{national[area:]}"


def _gender(field: str, value: str, _today: date) -> str:
    if value not in GENDERS:
        raise InvalidFieldValue(f"{field} must be one of {', '.join(GENDERS)}", field=field, expected=list(GENDERS))
    return value


def _region(field: str, value: str, _today: date) -> str:
    if not _REGION_CODE.fullmatch(value):
        raise InvalidFieldValue(
            f"{field} must be a six-digit administrative division code", field=field, expected="region code"
        )
    return value


def _email(field: str, value: str, _today: date) -> str:
    if not _EMAIL.fullmatch(value):
        raise InvalidFieldValue(f"{field} is not an e-mail address", field=field, expected="email")
    return value


_RULES: dict[str, Callable[[str, str, date], str]] = {
    "birth_date": _iso_date,
    "established_on": _iso_date,
    "phone": _phone,
    "gender": _gender,
    "region": _region,
    "email": _email,
}
