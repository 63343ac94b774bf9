"""Applicant profiles over GraphQL."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.identifiers import ApplicantKind as HubApplicantKind
from hub.profiles import applicants as profiles
from schema import typed
from schema.context import Info
from schema.types.materials import Material, MaterialStatus, materials_of_applicant

if TYPE_CHECKING:
    from schema.types.cases import Case, CaseConnection, CaseStatus


@strawberry.enum(description="自然人 (person, by resident ID) or 法人/企业 (enterprise, by credit code).")
class ApplicantKind(Enum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


@strawberry.type(description="The department that supplied or verified a value.")
class Source:
    department_code: str
    department_name: str


@strawberry.type(description="One value of a profile field, with its provenance.")
class ProfileField:
    field: str
    value: str
    source: Source
    recorded_at: datetime
    verified: bool
    current: bool = strawberry.field(description="Whether this is the value the profile shows now.")


def profile_field_of(value: profiles.FieldValue) -> ProfileField:
    return ProfileField(
        field=value.field,
        value=value.value,
        source=Source(department_code=value.department_code, department_name=value.department_name),
        recorded_at=value.recorded_at,
        verified=value.verified,
        current=value.is_current,
    )


@strawberry.type(description="An applicant's shared profile: one per person or enterprise.")
class Applicant:
    record: strawberry.Private[profiles.ApplicantRecord]

    @typed.field(description="Resident ID (18 characters) or unified social credit code.")
    def id_number(self) -> str:
        return self.record.id_number

    @strawberry.field
    def kind(self) -> ApplicantKind:
        return ApplicantKind(self.record.kind.value)

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @typed.field(description="Current values of the profile fields (all, or those named).")
    async def profile(self, info: Info, fields: list[str] | None = None) -> list[ProfileField]:
        wanted = tuple(sorted(set(fields))) if fields else None
        ctx = info.context.hub

        async def batch(records: list[profiles.ApplicantRecord]) -> list[list[ProfileField]]:
            values = await profiles.current_fields(ctx, records, wanted)
            return [[profile_field_of(v) for v in per_applicant] for per_applicant in values]

        return await info.context.loader(("profile", wanted), batch).load(self.record)

    @typed.field(description="Every value ever recorded, newest first per field.")
    async def profile_history(self, info: Info, field: str | None = None) -> list[ProfileField]:
        values = await profiles.field_history(info.context.hub, self.record, field)
        return [profile_field_of(v) for v in values]

    @typed.field(description="The applicant's materials, newest first, filtered by type codes and status.")
    async def materials(
        self, info: Info, type_codes: list[str] | None = None, statuses: list[MaterialStatus] | None = None
    ) -> list[Material]:
        return await materials_of_applicant(info, self.record, type_codes, statuses)

    @typed.field(description="The applicant's latest cases, newest first (a department sees its own).")
    async def cases(
        self,
        info: Info,
        status: Annotated[CaseStatus, strawberry.lazy("schema.types.cases")] | None = None,
        last: int = 20,
    ) -> list[Annotated[Case, strawberry.lazy("schema.types.cases")]]:
        from schema.types.cases import recent_cases_of

        return await recent_cases_of(info, self.record, status, last)

    @typed.field(description="Every case and material handed in, searchable and paginated, newest first.")
    async def prior_submissions(
        self,
        info: Info,
        text: str | None = None,
        status: Annotated[CaseStatus, strawberry.lazy("schema.types.cases")] | None = None,
        opened_from: date | None = None,
        opened_to: date | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Annotated[CaseConnection, strawberry.lazy("schema.types.cases")]:
        from schema.types.cases import prior_submissions_of

        return await prior_submissions_of(info, self.record, text, status, opened_from, opened_to, first, after)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ApplicantEdge:
    cursor: str
    node: Applicant


@strawberry.type(description="A page of applicants (Relay cursor connection).")
class ApplicantConnection:
    edges: list[ApplicantEdge]
    page_info: PageInfo


@strawberry.type
class ApplicantQuery:
    @typed.field(description="One applicant by resident ID or unified social credit code.")
    async def applicant(self, info: Info, id_number: str) -> Applicant:
        return Applicant(record=await profiles.find_applicant(info.context.hub, id_number))

    @typed.field(description="Search by identifier, exact name or name prefix, ordered by name.")
    async def applicants(
        self,
        info: Info,
        id_number: str | None = None,
        name: str | None = None,
        name_prefix: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ApplicantConnection:
        page = await profiles.search_applicants(
            info.context.hub, id_number=id_number, name=name, name_prefix=name_prefix, first=first, after=after
        )
        edges = [ApplicantEdge(cursor=page.cursor_of(r), node=Applicant(record=r)) for r in page.items]
        return ApplicantConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.input
class ProfileFieldInput:
    field: str
    value: str


@strawberry.input
class RegisterApplicantInput:
    kind: ApplicantKind
    id_number: str
    name: str
    fields: list[ProfileFieldInput] = strawberry.field(default_factory=list)
    verified: bool = strawberry.field(default=False, description="The values were checked against originals.")


@strawberry.input
class RecordProfileFieldInput:
    id_number: str
    field: str
    value: str
    verified: bool = False


@strawberry.type
class ApplicantMutation:
    @typed.mutation(description="Create the shared profile of a new applicant.")
    async def register_applicant(self, info: Info, input: RegisterApplicantInput) -> Applicant:
        record = await profiles.register_applicant(
            info.context.hub,
            HubApplicantKind(input.kind.value),
            input.id_number,
            input.name,
            {f.field: f.value for f in input.fields},
            verified=input.verified,
        )
        return Applicant(record=record)

    @typed.mutation(description="Record a value of a profile field; history is kept.")
    async def record_profile_field(self, info: Info, input: RecordProfileFieldInput) -> ProfileField:
        value = await profiles.record_field(
            info.context.hub, input.id_number, input.field, input.value, verified=input.verified
        )
        return profile_field_of(value)
