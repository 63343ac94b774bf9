"""联合一次性告知: the complete list of materials for a bundle of items, told once, before any case.

For each material type any of the items requires (deduplicated: one ID card however many items ask
for it) the notice says whether the hub already holds it, valid for as long as the case could
take, so the applicant is not asked for it again; or holds it but it expires before the promised
deadline; or holds only a revoked or expired one; or has nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.access.lookups import Bundle
from hub.calendar.notices import calendar_of
from hub.calendar.workdays import local_date
from hub.cases.deadlines import needed_until
from hub.errors import InvalidInput, ItemNotInCurrentCatalog, NotFound, UnknownServiceItem
from hub.identifiers import detect_kind
from hub.profiles.applicants import ApplicantRecord
from storage.models import MaterialStatus, MaterialType, ServiceItem
from storage.repositories import cases as repo
from storage.repositories import catalog as catalog_repo
from storage.repositories.applicants import ApplicantColumns
from storage.repositories.cases import HeldMaterial as HeldMaterial  # re-exported: what an entry holds

MAX_ITEMS = 50


class Holding(StrEnum):
    ON_FILE_VALID = "on_file_valid"
    EXPIRES_BEFORE_DEADLINE = "expires_before_deadline"
    REVOKED_OR_EXPIRED = "revoked_or_expired"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One material type required by one or more items of a bundle."""

    material_type: MaterialType
    is_key: bool  # key (要件) if any item requires it as key
    required_by: tuple[str, ...]  # item codes
    promised_days: int  # the longest promised limit among those items: it must stay valid that long


@dataclass(frozen=True, slots=True)
class NoticeEntry:
    requirement: Requirement
    needed_until: date
    holding: Holding
    on_file: HeldMaterial | None  # the one that would be reused (or the best one on file), with its version


@dataclass(frozen=True, slots=True)
class Notice:
    applicant: ApplicantRecord | None
    catalog_version_id: int
    issued_on: date
    items: tuple[ServiceItem, ...]
    entries: tuple[NoticeEntry, ...]

    def count(self, holding: Holding) -> int:
        return sum(1 for entry in self.entries if entry.holding is holding)

    @property
    def to_hand_in(self) -> int:
        """Materials the applicant must still hand in: all but those on file and valid long enough."""
        return len(self.entries) - self.count(Holding.ON_FILE_VALID)


def materials_required_for(
    items: Sequence[ServiceItem], required: Mapping[int, Iterable[tuple[MaterialType, bool]]]
) -> list[Requirement]:
    """The union of the items' required material types, one entry per type, ordered by code."""
    merged: dict[str, tuple[MaterialType, bool, list[str], int]] = {}
    for item in items:
        for material_type, is_key in required.get(item.id, ()):
            known = merged.get(material_type.code)
            if known is None:
                merged[material_type.code] = (material_type, is_key, [item.code], item.promised_days)
            else:
                merged[material_type.code] = (
                    material_type,
                    known[1] or is_key,
                    [*known[2], item.code],
                    max(known[3], item.promised_days),
                )
    return [
        Requirement(material_type, is_key, tuple(sorted(codes)), days)
        for material_type, is_key, codes, days in (merged[code] for code in sorted(merged))
    ]


def classify(holdings: Sequence[HeldMaterial], today: date, needed: date) -> tuple[Holding, HeldMaterial | None]:
    """The best the applicant has of one type: valid long enough, valid for now, or lapsed."""

    def valid_until(held: HeldMaterial) -> date:
        return held.valid_until or date.max

    live = [h for h in holdings if h.status == MaterialStatus.VALID.value and valid_until(h) >= today]
    # Prefer the one valid longest, then the newest.
    live.sort(key=lambda h: (valid_until(h), h.material_id), reverse=True)
    if live and valid_until(live[0]) >= needed:
        return Holding.ON_FILE_VALID, live[0]
    if live:
        return Holding.EXPIRES_BEFORE_DEADLINE, live[0]
    if holdings:
        return Holding.REVOKED_OR_EXPIRED, max(holdings, key=lambda h: h.material_id)
    return Holding.MISSING, None


def notice_ref(item_codes: Iterable[str]) -> str:
    """What the log names a notice about an applicant by: its items, in code order."""
    return "notice:" + ",".join(sorted(item_codes))


Items = tuple[int, list[ServiceItem], dict[int, list[tuple[MaterialType, bool]]]]


async def current_items(ctx: RequestContext, item_codes: Sequence[str], catalog_version: int | None = None) -> Items:
    """The items of the current catalogue version with these codes and what each requires, or a refusal."""
    codes = _item_codes(item_codes)
    version_id = await catalog_repo.current_version_id(ctx.session)
    version_id, bundle = await _bundle_of_version(ctx, codes, catalog_version, version_id)
    return version_id, list(bundle.items), bundle.required


def _item_codes(item_codes: Sequence[str]) -> list[str]:
    codes = sorted({code.strip() for code in item_codes if code.strip()})
    if not codes:
        raise InvalidInput("name at least one service item", field="items")
    if len(codes) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} service items at once", field="items")
    return codes


async def _bundle_of_version(
    ctx: RequestContext, codes: list[str], catalog_version: int | None, version_id: int | None
) -> tuple[int, Bundle]:
    if version_id is None:
        raise UnknownServiceItem("no catalogue has been loaded", field="items", codes=codes)
    if catalog_version is not None and catalog_version != version_id:
        raise ItemNotInCurrentCatalog(
            f"catalogue version {catalog_version} is not the current one ({version_id}); "
            "ask for the one-time notice again",
            field="catalogVersion",
            currentVersion=version_id,
        )
    bundle = ctx.hub.lookups.bundle(version_id, tuple(codes))
    if bundle is None:
        items, required = await repo.items_with_materials(ctx.session, version_id, codes)
        bundle = Bundle(tuple(items), required, tuple(materials_required_for(items, required)))
        if len(items) == len(codes):  # a refusal is not kept: unknown codes are looked up again
            ctx.hub.lookups.remember_bundle(version_id, tuple(codes), bundle)
    unknown = sorted(set(codes) - {item.code for item in bundle.items})
    if unknown:
        raise UnknownServiceItem(
            f"no service item {', '.join(unknown)} in the current catalogue", field="items", codes=unknown
        )
    return version_id, bundle


async def one_time_notice(
    ctx: RequestContext,
    item_codes: Sequence[str],
    applicant_id_number: str | None = None,
    *,
    catalog_version: int | None = None,
) -> Notice:
    """Everything the applicant must provide for these items, and what the hub already holds.

    Without an applicant, the list alone: anyone may read what items require. With one, the notice
    says which of their materials are on file, so it is read as materials are: a clerk within a
    visit or a case of their window (docs/access-policy.md), a department under a purpose covering
    those material types; anyone else is refused (FORBIDDEN), and the refusal is logged."""
    codes = _item_codes(item_codes)
    canonical, not_an_identifier = _canonical(applicant_id_number)
    reads = await repo.notice_reads(ctx.session, canonical)
    version_id, bundle = await _bundle_of_version(ctx, codes, catalog_version, reads.catalog_version_id)
    items, required = bundle.items, bundle.requirements
    today = local_date(ctx.hub.clock())
    applicant = None
    holdings: dict[int, list[HeldMaterial]] = {}
    if not_an_identifier is not None:  # refused after the items, as it always was
        raise not_an_identifier
    if canonical is not None:
        applicant = await _applicant(ctx, canonical, reads.applicant)
        await guard(
            ctx,
            Action.NOTICE_READ,
            [applicant.id_number],
            material_types=[r.material_type.code for r in required],
            object_ref=notice_ref(item.code for item in items),
        )
        type_ids = [r.material_type.id for r in required]
        for held in await repo.materials_on_file(ctx.session, applicant.id, type_ids):
            holdings.setdefault(held.material_type_id, []).append(held)
    calendar = await calendar_of(ctx.session, reads.notices_in_force)
    # One deadline per promised limit: a bundle's dozens of types share a handful of limits.
    deadlines = {days: needed_until(calendar, today, days) for days in {r.promised_days for r in required}}
    entries = []
    for requirement in required:
        needed = deadlines[requirement.promised_days]
        holding, on_file = classify(holdings.get(requirement.material_type.id, []), today, needed)
        entries.append(NoticeEntry(requirement, needed, holding, on_file))
    return Notice(applicant, version_id, today, items, tuple(entries))


def _canonical(id_number: str | None) -> tuple[str | None, InvalidInput | None]:
    """The identifier in its canonical form, or the refusal to raise once the items are checked."""
    if id_number is None:
        return None, None
    try:
        return detect_kind(id_number)[1], None
    except InvalidInput as refusal:
        return None, refusal


async def _applicant(ctx: RequestContext, canonical: str, row: ApplicantColumns | None) -> ApplicantRecord:
    """The applicant read with the notice's first statement; looked up without an entry of its
    own, the notice's entry names them."""
    if row is None:
        await guard(ctx, Action.APPLICANT_LOOKUP, [canonical])
        raise NotFound("no applicant with this identifier", field="idNumber")
    return ApplicantRecord.of(row)
