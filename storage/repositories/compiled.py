"""Compiled reads: one SQL statement that returns an applicant's answer as JSON text, and the
registry of trusted documents (docs/trusted-documents.md).

A compiled document (hub/compiled/) names what to put in each JSON object as a `Shape`: pairs of
(response key, member), a member being a column of the record this object stands for, or a nested
list or object with its own shape. This module turns a shape into one statement per dialect:

- PostgreSQL: strings through `to_json(...)::text`, lists through `string_agg(... ORDER BY ...)`;
- SQLite: strings through `json_quote(...)`, lists through `group_concat` over an ordered subquery.

Objects are written by concatenation rather than `json_build_object` or `json_object`, whose
output PostgreSQL spaces (`{"a" : 1}`): the text must be byte for byte what the resolver path's
encoder writes (orjson: no spaces, UTF-8 as is, datetimes as Python's `isoformat()`, a float's
`.0`), so that it can be spliced into the response without being parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ARRAY, BindParameter, Date, String, TextClause, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TrustedDocument
from storage.repositories import driver

# How a column is written in JSON.
Format = Literal["string", "int", "float", "bool", "date", "timestamp", "enum"]


@dataclass(frozen=True, slots=True)
class Column:
    sql: str  # over the record's aliases (see RECORDS)
    format: Format
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Shape:
    """One JSON object: (response key, member name, the nested shape when the member is a record)."""

    members: tuple[tuple[str, str, Shape | None], ...]


@dataclass(frozen=True, slots=True)
class Options:
    """What else the statement filters on: each adds a parameter (see `applicant_statement`)."""

    profile_fields: bool = False  # :profile_fields, a list
    material_types: bool = False  # :material_types, a list
    by_department: bool = False  # :department_id, the cases a department takes part in


# The records a shape can hold, their columns, and (for nested ones) how they are reached.
APPLICANT: dict[str, Column] = {
    "id_number": Column("a.id_number", "string"),
    "name": Column("a.name", "string"),
    "kind": Column("a.kind", "enum"),
    "created_at": Column("a.created_at", "timestamp"),
}
PROFILE: dict[str, Column] = {
    "field": Column("p.field", "string"),
    "value": Column("p.value", "string"),
    "verified": Column("p.verified", "bool"),
    "recorded_at": Column("p.recorded_at", "timestamp"),
    "current": Column("p.is_current", "bool"),
}
SOURCE: dict[str, Column] = {
    "department_code": Column("pd.code", "string"),
    "department_name": Column("pd.name", "string"),
}
MATERIAL: dict[str, Column] = {
    "id": Column("m.id", "int"),
    "applicant_id_number": Column("a.id_number", "string"),
    "type_code": Column("mt.code", "string"),
    "type_name": Column("mt.name", "string"),
    "title": Column("m.title", "string"),
    "issued_on": Column("m.issued_on", "date", nullable=True),
    "valid_until": Column("m.valid_until", "date", nullable=True),
    "status": Column(
        "CASE WHEN m.status = 'valid' AND m.valid_until IS NOT NULL AND m.valid_until < :today"
        " THEN 'expired' ELSE m.status END",
        "enum",
    ),
    "revoked_reason": Column("m.revoked_reason", "string", nullable=True),
    "revoked_at": Column("m.revoked_at", "timestamp", nullable=True),
    "superseded_by_id": Column("m.superseded_by_id", "int", nullable=True),
    "created_at": Column("m.created_at", "timestamp"),
}
VERSION: dict[str, Column] = {
    "id": Column("v.id", "int"),
    "version_no": Column("v.version_no", "int"),
    "file_name": Column("v.file_name", "string"),
    "content_type": Column("v.detected_content_type", "string"),
    "size": Column("v.size", "float"),
    "uploaded_at": Column("v.uploaded_at", "timestamp"),
    "superseded_at": Column("v.superseded_at", "timestamp", nullable=True),
    "current": Column("v.superseded_at IS NULL", "bool"),
}
CASE: dict[str, Column] = {
    "receipt_number": Column("c.receipt_number", "string"),
    "status": Column("c.status", "enum"),
    "outcome": Column("c.outcome", "enum", nullable=True),
    "window": Column("c.window", "string"),
    "catalog_version": Column("c.catalog_version_id", "int"),
    "opened_at": Column("c.opened_at", "timestamp"),
    "accepted_at": Column("c.accepted_at", "timestamp", nullable=True),
    "completed_at": Column("c.completed_at", "timestamp", nullable=True),
    "results_collected_at": Column("c.results_collected_at", "timestamp", nullable=True),
    "closed_at": Column("c.closed_at", "timestamp", nullable=True),
    "close_reason": Column("c.close_reason", "string", nullable=True),
}
CASE_ITEM: dict[str, Column] = {}
SERVICE_ITEM: dict[str, Column] = {
    "code": Column("si.code", "string"),
    "name": Column("si.name", "string"),
}


@dataclass(frozen=True, slots=True)
class _Nested:
    columns: dict[str, Column]
    # A list: FROM ... WHERE ... (correlated with the outer record), and its order; an object
    # (`many` false): the columns are reachable from the outer record's aliases as they are.
    many: bool
    source: str = ""
    order: str = ""
    limit: str = ""


def _nested(outer: str, member: str, options: Options, dialect: _Dialect, *, with_versions: bool = False) -> _Nested:
    """How the member `member` of a record of kind `outer` is reached."""
    if (outer, member) == ("applicant", "profile"):
        where = f" AND p.field {dialect.among('profile_fields')}" if options.profile_fields else ""
        return _Nested(
            PROFILE,
            True,
            "profile_field_values p JOIN departments pd ON pd.id = p.source_department_id"
            f" WHERE p.applicant_id = a.id AND p.is_current{where}",
            "p.field",
        )
    if (outer, member) == ("profile", "source"):
        return _Nested(SOURCE, False)
    if (outer, member) == ("applicant", "materials"):
        where = f" AND mt.code {dialect.among('material_types')}" if options.material_types else ""
        if with_versions:
            # As the resolvers' read of materials with their versions, which joins the versions.
            where += " AND EXISTS (SELECT 1 FROM material_versions mv WHERE mv.material_id = m.id)"
        return _Nested(
            MATERIAL,
            True,
            f"materials m JOIN material_types mt ON mt.id = m.material_type_id WHERE m.applicant_id = a.id{where}",
            "m.id DESC",
        )
    if (outer, member) == ("material", "versions"):
        return _Nested(VERSION, True, "material_versions v WHERE v.material_id = m.id", "v.version_no DESC")
    if (outer, member) == ("applicant", "cases"):
        where = (
            " AND c.id IN (SELECT cd.case_id FROM case_items cd JOIN service_item_departments sd"
            " ON sd.service_item_id = cd.service_item_id WHERE sd.department_id = :department_id)"
            if options.by_department
            else ""
        )
        return _Nested(
            CASE, True, f"cases c WHERE c.applicant_id = a.id{where}", "c.opened_at DESC, c.id DESC", ":cases_limit"
        )
    if (outer, member) == ("case", "items"):
        return _Nested(
            CASE_ITEM,
            True,
            "case_items ci JOIN service_items si ON si.id = ci.service_item_id WHERE ci.case_id = c.id",
            "si.code",
        )
    if (outer, member) == ("case_item", "item"):
        return _Nested(SERVICE_ITEM, False)
    raise KeyError(f"{outer} has no nested member {member}")


_KIND_OF = {"profile": "profile", "source": "source", "materials": "material", "versions": "version"}
_KIND_OF |= {"cases": "case", "items": "case_item", "item": "service_item"}


class _Dialect:
    def __init__(self, name: str) -> None:
        self.postgresql = name == "postgresql"

    def among(self, parameter: str) -> str:
        """A condition on a list parameter: one array on PostgreSQL (the statement's text stays the
        same whatever the list's length), an expanding IN on SQLite."""
        return f"= ANY(:{parameter})" if self.postgresql else f"IN :{parameter}"

    def value(self, column: Column) -> str:
        sql = column.sql
        if column.format == "string":
            written = f"to_json(({sql})::text)::text" if self.postgresql else f"json_quote({sql})"
        elif column.format == "int":
            written = f"CAST(({sql}) AS TEXT)"
        elif column.format == "float":
            written = f"CAST(({sql}) AS TEXT) || '.0'"
        elif column.format == "bool":
            written = f"CASE WHEN ({sql}) THEN 'true' WHEN NOT ({sql}) THEN 'false' END"
        elif column.format == "enum":
            written = f"'\"' || upper({sql}) || '\"'"
        elif column.format == "date":
            written = f"'\"' || to_char({sql}, 'YYYY-MM-DD') || '\"'" if self.postgresql else f"'\"' || ({sql}) || '\"'"
        else:
            written = self._timestamp(sql)
        return f"coalesce({written}, 'null')" if column.nullable else written

    def _timestamp(self, sql: str) -> str:
        """Python's `isoformat()` of a UTC datetime: microseconds only when not zero, `+00:00`."""
        if self.postgresql:
            utc = f"(({sql}) AT TIME ZONE 'UTC')"
            return (
                f"'\"' || to_char({utc}, 'YYYY-MM-DD\"T\"HH24\\:MI\\:SS')"
                f" || CASE WHEN CAST(date_part('microseconds', {utc}) AS BIGINT) % 1000000 = 0 THEN ''"
                f" ELSE to_char({utc}, '.US') END || '+00\\:00\"'"
            )
        # SQLite holds 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (storage/models/base.py, UTCDateTime).
        return (
            f"'\"' || substr({sql}, 1, 10) || 'T' || substr({sql}, 12, 8)"
            f" || CASE WHEN substr({sql}, 20, 1) = '.' AND substr({sql}, 21, 6) <> '000000'"
            f" THEN substr({sql}, 20, 7) ELSE '' END"
            " || '+00\\:00\"'"
        )

    def array(self, element: str, nested: _Nested) -> str:
        limit = f" LIMIT {nested.limit}" if nested.limit else ""
        inner = (
            f"SELECT {element} AS e, row_number() OVER (ORDER BY {nested.order}) AS o"
            f" FROM {nested.source} ORDER BY {nested.order}{limit}"
        )
        if self.postgresql:
            return f"(SELECT '[' || coalesce(string_agg(s.e, ',' ORDER BY s.o), '') || ']' FROM ({inner}) s)"
        return f"(SELECT '[' || coalesce(group_concat(s.e, ','), '') || ']' FROM ({inner} ) s)"


def _key(response_key: str) -> str:
    # Response keys are GraphQL names ([_A-Za-z][_0-9A-Za-z]*): nothing to escape in JSON or SQL.
    return f'"{response_key}":'


def _object(dialect: _Dialect, kind: str, columns: dict[str, Column], shape: Shape, options: Options) -> str:
    parts: list[str] = []
    for index, (response_key, member, nested_shape) in enumerate(shape.members):
        prefix = ("{" if index == 0 else ",") + _key(response_key)
        if nested_shape is None:
            value = dialect.value(columns[member])
        else:
            with_versions = any(inner == "versions" for _, inner, _ in nested_shape.members)
            nested = _nested(kind, member, options, dialect, with_versions=with_versions)
            element = _object(dialect, _KIND_OF[member], nested.columns, nested_shape, options)
            value = dialect.array(element, nested) if nested.many else element
        parts.append(f"'{prefix}' || {value}")
    parts.append("'}'" if shape.members else "'{}'")
    return " || ".join(parts)


_STATEMENTS: dict[tuple[str, Shape, Options], TextClause] = {}


def applicant_statement(dialect_name: str, shape: Shape, options: Options) -> TextClause:
    """The statement answering one applicant (`:id_number`) as one JSON text, built once per shape.

    Parameters: `:id_number`, `:today` (a material past its valid-until reads as expired),
    `:cases_limit`, and those `options` add. No row: no applicant with that identifier."""
    key = (dialect_name, shape, options)
    statement = _STATEMENTS.get(key)
    if statement is None:
        dialect = _Dialect(dialect_name)
        body = _object(dialect, "applicant", APPLICANT, shape, options)
        sql = f"SELECT {body} AS answer FROM applicants a WHERE a.id_number = :id_number"
        statement = text(sql)
        parameters: list[BindParameter[Any]] = [bindparam("today", type_=Date)] if ":today" in sql else []
        for name, given in (("profile_fields", options.profile_fields), ("material_types", options.material_types)):
            if given:
                array = bindparam(name, type_=ARRAY(String))
                parameters.append(array if dialect.postgresql else bindparam(name, expanding=True, type_=String))
        statement = statement.bindparams(*parameters)
        _STATEMENTS[key] = statement
    return statement


async def applicant_json(
    session: AsyncSession,
    shape: Shape,
    *,
    id_number: str,
    today: date,
    cases_limit: int = 20,
    profile_fields: Sequence[str] | None = None,
    material_types: Sequence[str] | None = None,
    department_id: int | None = None,
) -> str | None:
    """The applicant's answer as JSON text, or None if no applicant has this identifier."""
    options = Options(profile_fields is not None, material_types is not None, department_id is not None)
    statement = applicant_statement(session.get_bind().dialect.name, shape, options)
    parameters: dict[str, object] = {"id_number": id_number}
    # Only what the shape uses: a statement without materials' status has no :today to bind.
    if ":today" in statement.text:
        parameters["today"] = today
    if ":cases_limit" in statement.text:
        parameters["cases_limit"] = cases_limit
    if profile_fields is not None:
        parameters["profile_fields"] = list(profile_fields)
    if material_types is not None:
        parameters["material_types"] = list(material_types)
    if department_id is not None:
        parameters["department_id"] = department_id
    # On asyncpg directly on PostgreSQL: SQLAlchemy's execute around it was most of its Python cost.
    answer: str | None = await driver.fetchval_short(session, statement, parameters)
    return answer


# The registry of trusted documents.


async def trusted_document(session: AsyncSession, sha256: str) -> str | None:
    """The registered document with this hash, or None."""
    row = await session.execute(select(TrustedDocument.document).where(TrustedDocument.sha256 == sha256))
    return row.scalar_one_or_none()


async def add_trusted_document(
    session: AsyncSession, sha256: str, document: str, registered_by: str, when: datetime
) -> bool:
    """Register a document; False if it was registered already (a hash names one text)."""
    if await trusted_document(session, sha256) is not None:
        return False
    session.add(TrustedDocument(sha256=sha256, document=document, registered_by=registered_by, registered_at=when))
    await session.flush()
    return True


async def trusted_documents(session: AsyncSession) -> list[TrustedDocument]:
    rows = await session.execute(
        select(TrustedDocument).order_by(TrustedDocument.registered_at, TrustedDocument.sha256)
    )
    return list(rows.scalars())
