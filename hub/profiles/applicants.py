"""Use cases for the shared applicant profile: register, look up, search, record fields, and apply
a department's feed (connectors/profile_feed.py).

A field's value carries its provenance (which department supplied it, whether it verified it,
when). A later unverified value never displaces a verified one: both stay in the history, and the
current value is the latest verified one (or the latest, while none is verified).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.errors import Conflict, InvalidInput, NotFound
from hub.identifiers import ApplicantKind, detect_kind, detect_kind_explained, normalize_identifier
from hub.profiles.fields import checked_values
from storage.models import Applicant, ProfileFieldValue
from storage.models.base import utcnow
from storage.repositories import applicants as repo

# A moment is recorded in UTC; "not in the future" is judged on the China date.
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class ApplicantRecord:
    id: int
    kind: ApplicantKind
    id_number: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, row: Applicant | repo.ApplicantColumns) -> ApplicantRecord:
        """From the entity, or from its columns read as values."""
        return cls(row.id, ApplicantKind(row.kind), row.id_number, row.name, row.created_at)


@dataclass(frozen=True, slots=True)
class FieldValue:
    field: str
    value: str
    department_code: str
    department_name: str
    recorded_at: datetime
    verified: bool
    is_current: bool


@dataclass(frozen=True, slots=True)
class ApplicantPage:
    items: list[ApplicantRecord]
    has_next_page: bool

    def cursor_of(self, record: ApplicantRecord) -> str:
        return encode_cursor(record.name, record.id)


def encode_cursor(name: str, applicant_id: int) -> str:
    raw = json.dumps([name, applicant_id], ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        name, applicant_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(name, str) or not isinstance(applicant_id, int):
            raise ValueError
    except (ValueError, TypeError, UnicodeError):
        raise InvalidInput("malformed pagination cursor", field="after") from None
    return name, applicant_id


def _checked(ctx: RequestContext, kind: ApplicantKind, id_number: str, values: Mapping[str, str]) -> dict[str, str]:
    """The values as stored, or a refusal (hub/profiles/fields.py holds the rules)."""
    return checked_values(kind, id_number, values, ctx.hub.clock().astimezone(CHINA).date())


@all_or_nothing
async def register_applicant(
    ctx: RequestContext,
    kind: ApplicantKind,
    id_number: str,
    name: str,
    fields: Mapping[str, str] | None = None,
    *,
    verified: bool = False,
) -> ApplicantRecord:
    """Create the shared profile of a new applicant, with its first field values."""
    id_number = normalize_identifier(kind, id_number)
    values = _checked(ctx, kind, id_number, {"name": name, **dict(fields or {})})
    await guard(ctx, Action.APPLICANT_REGISTER, [id_number], fields=values)
    session = ctx.session
    if await repo.applicant_by_id_number(session, id_number) is not None:
        raise Conflict("an applicant with this identifier already exists", field="idNumber")
    applicant = await repo.add_applicant(
        session, kind=kind.value, id_number=id_number, name=values["name"], department_id=ctx.caller.department_id
    )
    now = utcnow()
    for field, value in values.items():
        await repo.add_field_value(session, _new_value(ctx, applicant.id, field, value, verified, now, current=True))
    await ctx.commit()
    return ApplicantRecord.of(applicant)


@all_or_nothing
async def record_field(
    ctx: RequestContext, id_number: str, field: str, value: str, *, verified: bool = False
) -> FieldValue:
    """Record a new value of one field, keeping history and the verified value's precedence.

    Everything that does not depend on whether the applicant exists is checked first (the value
    against the field's rules and the identifier), and the write is guarded (and logged) before the
    look-up: no answer tells a caller without the right whether someone is registered.
    """
    kind, canonical = detect_kind(id_number)
    value = _checked(ctx, kind, canonical, {field: value})[field]
    await guard(ctx, Action.PROFILE_WRITE, [canonical], fields=[field])
    applicant = await repo.applicant_by_id_number(ctx.session, canonical, for_update=True)
    if applicant is None:
        raise NotFound("no applicant with this identifier", field="idNumber")
    row = await _add_value(ctx, applicant, field, value, verified)
    await ctx.commit()
    return FieldValue(field, row.value, ctx.caller.department_code, "", row.recorded_at, row.verified, row.is_current)


async def _add_value(
    ctx: RequestContext, applicant: Applicant, field: str, value: str, verified: bool
) -> ProfileFieldValue:
    """Add one value to the history; it becomes current unless it would displace a verified one."""
    session = ctx.session
    current = await repo.current_value_of(session, applicant.id, field)
    becomes_current = verified or current is None or not current.verified
    if becomes_current:
        await repo.clear_current(session, applicant.id, field)
        if field == "name":
            applicant.name = value
    row = _new_value(ctx, applicant.id, field, value, verified, utcnow(), current=becomes_current)
    await repo.add_field_value(session, row)
    return row


class FeedResult(StrEnum):
    REGISTERED = "registered"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What one record of a department's feed did: the fields it recorded (all, when registered)."""

    result: FeedResult
    fields: tuple[str, ...] = ()


@all_or_nothing
async def apply_feed_record(
    ctx: RequestContext, id_number: str, name: str, fields: Mapping[str, str], *, verified: bool
) -> FeedOutcome:
    """Bring a profile in line with a department's own record of the applicant (connectors/).

    A department exports its whole register again and again, so applying a record must be
    idempotent: a value is recorded only if it is news to this department, i.e. not the value it
    last supplied itself (with at least the same verification). Other departments' values are not
    compared: "unchanged" would tell a writer what someone else recorded. The same value from a
    second department is recorded as a second source. The record lands in one transaction.
    """
    kind, canonical = detect_kind_explained(id_number)
    values = _checked(ctx, kind, canonical, {"name": name, **fields})
    applicant = await repo.applicant_by_id_number(ctx.session, canonical, for_update=True)
    if applicant is None:
        await register_applicant(ctx, kind, canonical, values["name"], values, verified=verified)
        return FeedOutcome(FeedResult.REGISTERED, tuple(sorted(values)))
    await guard(ctx, Action.PROFILE_WRITE, [canonical], fields=values)
    history = [_field_value(row) for row in await repo.field_history(ctx.session, applicant.id, None)]
    own = _own_latest_values(history, ctx.caller.department_code)
    news = sorted(
        field
        for field, value in values.items()
        if not (field in own and own[field][0] == value and (own[field][1] or not verified))
    )
    for field in news:
        await _add_value(ctx, applicant, field, values[field], verified)
    await ctx.commit()
    return FeedOutcome(FeedResult.UPDATED, tuple(news)) if news else FeedOutcome(FeedResult.UNCHANGED)


def _own_latest_values(history: Sequence[FieldValue], department_code: str) -> dict[str, tuple[str, bool]]:
    """Per field, the latest value `department_code` supplied and whether it was verified.
    `history` lists each field's values newest first."""
    own: dict[str, tuple[str, bool]] = {}
    for row in history:
        if row.department_code == department_code and row.field not in own:
            own[row.field] = (row.value, row.verified)
    return own


def _new_value(
    ctx: RequestContext, applicant_id: int, field: str, value: str, verified: bool, when: datetime, *, current: bool
) -> ProfileFieldValue:
    return ProfileFieldValue(
        applicant_id=applicant_id,
        field=field,
        value=value,
        source_department_id=ctx.caller.department_id,
        recorded_by_principal_id=ctx.caller.principal_id,
        recorded_at=when,
        verified=verified,
        is_current=current,
    )


@all_or_nothing
async def find_applicant(ctx: RequestContext, id_number: str) -> ApplicantRecord:
    """Look up one applicant by resident ID or credit code."""
    _, canonical = detect_kind(id_number)
    await guard(ctx, Action.APPLICANT_LOOKUP, [canonical])
    applicant = await repo.applicant_columns_by_id_number(ctx.session, canonical)
    if applicant is None:
        raise NotFound("no applicant with this identifier", field="idNumber")
    return ApplicantRecord.of(applicant)


async def search_applicants(
    ctx: RequestContext,
    *,
    id_number: str | None = None,
    name: str | None = None,
    name_prefix: str | None = None,
    first: int = 20,
    after: str | None = None,
) -> ApplicantPage:
    """Search by identifier, exact name or name prefix; keyset-paginated by (name, id)."""
    if id_number is None and not name and not name_prefix:
        raise InvalidInput("give idNumber, name or namePrefix", field="search")
    limit = ctx.hub.settings.max_page_size
    if not 1 <= first <= limit:
        raise InvalidInput(f"first must be between 1 and {limit}", field="first")
    canonical = detect_kind(id_number)[1] if id_number is not None else None
    cursor = decode_cursor(after) if after else None
    await guard(ctx, Action.APPLICANT_SEARCH, fields=["name"], object_ref=_search_ref(canonical, name, name_prefix))
    rows = await repo.search_applicants(
        ctx.session, id_number=canonical, name=name, name_prefix=name_prefix, after=cursor, limit=first + 1
    )
    records = [ApplicantRecord.of(row) for row in rows[:first]]
    if records:
        await guard(ctx, Action.APPLICANT_LOOKUP, [record.id_number for record in records], fields=["name"])
    return ApplicantPage(records, has_next_page=len(rows) > first)


def _search_ref(id_number: str | None, name: str | None, name_prefix: str | None) -> str:
    # Search terms are personal data too: the entry names which kind of search, not its terms.
    kinds = [label for label, term in (("idNumber", id_number), ("name", name), ("namePrefix", name_prefix)) if term]
    return "search:" + "+".join(kinds)


async def current_fields(
    ctx: RequestContext, applicants: Sequence[ApplicantRecord], fields: Sequence[str] | None = None
) -> list[list[FieldValue]]:
    """Current profile values of several applicants at once (the DataLoader's batch function)."""
    wanted = set(fields) if fields else None
    touched = sorted(wanted) if wanted else ["*"]
    await guard(ctx, Action.PROFILE_READ, [a.id_number for a in applicants], fields=touched)
    rows = await repo.current_field_values(ctx.session, [a.id for a in applicants])
    by_applicant: dict[int, list[FieldValue]] = {a.id: [] for a in applicants}
    for row in rows:
        if wanted is None or row.field in wanted:
            by_applicant[row.applicant_id].append(_field_value(row))
    return [by_applicant[a.id] for a in applicants]


async def field_history(ctx: RequestContext, applicant: ApplicantRecord, field: str | None = None) -> list[FieldValue]:
    await guard(ctx, Action.PROFILE_HISTORY, [applicant.id_number], fields=[field] if field else ["*"])
    rows = await repo.field_history(ctx.session, applicant.id, field)
    return [_field_value(row) for row in rows]


def _field_value(row: Row[Any]) -> FieldValue:
    return FieldValue(
        row.field, row.value, row.department_code, row.department_name, row.recorded_at, row.verified, row.is_current
    )
