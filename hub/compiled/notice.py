"""The one-time notice as a compiled document: its use case, then its answer written from the result.

A registered query whose one root field is `oneTimeNotice(items:, idNumber:, catalogVersion:)`
compiles to the arguments it passes and a writer: for each field it selects, in the document's
order, its response key and how the GraphQL type writes it (dates in ISO 8601, enums by name,
null as null). At request time the use case the resolver calls (`hub.cases.notice.one_time_notice`)
runs, and its result is written as the response with orjson, as the GraphQL edge writes a result:
no field is executed.

When the use case refuses (any HubError: a denial, an unknown applicant or item, a stale catalogue
version) or an argument is not exactly of its GraphQL type, the entries it recorded are dropped
and the request goes to the resolvers, which run the use case again and record and answer as they
always do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from graphql import SelectionSetNode

from hub.access.context import RequestContext
from hub.cases.notice import one_time_notice
from hub.compiled.compiler import Argument, NotCompiled, Operation, arguments_of, fields_of, key_of
from hub.errors import HubError
from storage.models.halls import CentreLevel

ROOT_FIELD = "oneTimeNotice"
_ARGUMENTS = frozenset({"items", "idNumber", "catalogVersion"})
INT_RANGE = range(-(2**31), 2**31)  # GraphQL's Int: 32 bits, signed


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# For each object type the subset reaches, its fields: GraphQL name -> (how to read the value from
# the use case's result, the object type of its value or None for a leaf). A field missing here
# (one with its own resolver, such as `issuingDepartment`, or `__typename`) is outside the subset.
Read = Callable[[Any], Any]
_TYPES: dict[str, dict[str, tuple[Read, str | None]]] = {
    "OneTimeNotice": {
        "catalogVersion": (lambda n: n.catalog_version_id, None),
        "issuedOn": (lambda n: n.issued_on.isoformat(), None),
        "applicant": (lambda n: n.applicant, "Applicant"),
        "items": (lambda n: n.items, "ServiceItem"),
        "entries": (lambda n: n.entries, "NoticeEntry"),
        "toHandIn": (lambda n: n.to_hand_in, None),
    },
    "Applicant": {
        "idNumber": (lambda a: a.id_number, None),
        "kind": (lambda a: a.kind.name, None),
        "name": (lambda a: a.name, None),
        "createdAt": (lambda a: a.created_at.isoformat(), None),
    },
    "ServiceItem": {
        "code": (lambda i: i.code, None),
        "name": (lambda i: i.name, None),
        "statutoryDays": (lambda i: i.statutory_days, None),
        "promisedDays": (lambda i: i.promised_days, None),
        "stage": (lambda i: i.stage, None),
        "silenceIsConsent": (lambda i: i.silence_is_consent, None),
        "guide": (lambda i: i.guide, None),
        "catalogVersion": (lambda i: i.catalog_version_id, None),
        "acceptLevels": (lambda i: [CentreLevel(level).name for level in i.accept_levels.split(",") if level], None),
        "decideLevel": (lambda i: CentreLevel(i.decide_level).name if i.decide_level else None, None),
    },
    "NoticeEntry": {
        "materialType": (lambda e: e.requirement.material_type, "MaterialType"),
        "isKey": (lambda e: e.requirement.is_key, None),
        "requiredBy": (lambda e: e.requirement.required_by, None),
        "neededUntil": (lambda e: e.needed_until.isoformat(), None),
        "holding": (lambda e: e.holding.name, None),
        "onFile": (lambda e: e.on_file, "MaterialOnFile"),
    },
    "MaterialType": {
        "code": (lambda t: t.code, None),
        "name": (lambda t: t.name, None),
        "validDays": (lambda t: t.valid_days, None),
    },
    "MaterialOnFile": {
        "materialId": (lambda h: h.material_id, None),
        "materialVersionId": (lambda h: h.version_id, None),
        "versionNo": (lambda h: h.version_no, None),
        "title": (lambda h: h.title, None),
        "fileName": (lambda h: h.file_name, None),
        "validUntil": (lambda h: _day(h.valid_until), None),
        "status": (lambda h: h.status, None),
        "cancelReason": (lambda h: h.cancel_reason, None),
    },
}
_LISTS = frozenset({("OneTimeNotice", "items"), ("OneTimeNotice", "entries")})


@dataclass(frozen=True, slots=True)
class Writer:
    """One selection: for each field in the document's order, its response key, how to read its
    value, and the writer of the object (or of each object of the list) it holds."""

    fields: tuple[tuple[str, Read, Writer | None, bool], ...]

    def write(self, source: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for key, read, inner, many in self.fields:
            value = read(source)
            if inner is not None and value is not None:
                value = [inner.write(each) for each in value] if many else inner.write(value)
            answer[key] = value
        return answer


@dataclass(frozen=True, slots=True)
class CompiledNotice:
    """A registered document of the notice's shape: its arguments and the writer of its answer."""

    sha256: str
    response_key: str
    items: Argument
    id_number: Argument | None
    catalog_version: Argument | None
    writer: Writer
    operation_name: str | None = None


def compile_notice(sha256: str, operation: Operation) -> CompiledNotice:
    """Compile a query of `oneTimeNotice`, or raise NotCompiled saying why it stays with the resolvers."""
    field = operation.field
    arguments = arguments_of(field, _ARGUMENTS, operation)
    if "items" not in arguments:
        raise NotCompiled("oneTimeNotice needs items")
    return CompiledNotice(
        sha256=sha256,
        response_key=key_of(field),
        items=arguments["items"],
        id_number=arguments.get("idNumber"),
        catalog_version=arguments.get("catalogVersion"),
        writer=_writer("OneTimeNotice", field.selection_set),
        operation_name=operation.name,
    )


def _writer(kind: str, selection_set: SelectionSetNode | None) -> Writer:
    fields: list[tuple[str, Read, Writer | None, bool]] = []
    for field in fields_of(selection_set):
        name, key = field.name.value, key_of(field)
        if key in (known[0] for known in fields):
            raise NotCompiled(f"{key} asked twice")
        found = _TYPES[kind].get(name)
        if found is None or field.arguments:
            raise NotCompiled(f"{kind}.{name} is outside the subset")
        read, inner_kind = found
        if (inner_kind is None) != (field.selection_set is None):
            raise NotCompiled(f"{kind}.{name}: a selection on objects only")
        inner = None if inner_kind is None else _writer(inner_kind, field.selection_set)
        fields.append((key, read, inner, (kind, name) in _LISTS))
    return Writer(tuple(fields))


def _arguments(document: CompiledNotice, variables: Mapping[str, Any]) -> tuple[list[str], str | None, int | None]:
    """The use case's arguments, exactly as GraphQL would coerce them; ValueError for anything else
    (a variable missing or of another type, a string for the list of items): the resolvers say what."""
    given = [document.items, document.id_number, document.catalog_version]
    if any(argument is not None and argument.missing(variables) for argument in given):
        raise ValueError
    items = document.items.value(variables)
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError
    id_number = document.id_number.value(variables) if document.id_number is not None else None
    if id_number is not None and not isinstance(id_number, str):
        raise ValueError
    version = document.catalog_version.value(variables) if document.catalog_version is not None else None
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version not in INT_RANGE):
        raise ValueError
    return items, id_number, version


async def answer(ctx: RequestContext, document: CompiledNotice, variables: Mapping[str, Any]) -> bytes | None:
    """The response body (`{"data":{...}}`), or None, with nothing recorded: let the resolvers serve it."""
    try:
        items, id_number, version = _arguments(document, variables)
    except ValueError:
        return None
    recorded = ctx.access.mark()
    try:
        notice = await one_time_notice(ctx, items, id_number, catalog_version=version)
    except HubError:
        # The resolvers run the use case again: its entries are theirs to record, once.
        ctx.access.discard_since(recorded)
        return None
    body = orjson.dumps({"data": {document.response_key: document.writer.write(notice)}})
    ctx.read_only = True
    await ctx.commit()
    return body
