"""Pull a department's records straight from its database (docs/connectors.md).

`hub connector pull-sql` connects to the department's database with a SQLAlchemy async URL
(`mysql+aiomysql://…`, `postgresql+asyncpg://…`, `sqlite+aiosqlite:///…`) and runs one read-only
query in a read-only session. Each row is a record of the profile feed: a column `id_number`, a
column `name`, optionally `verified`, and one column per profile field (nulls ignored). Each record
is applied by `hub.profiles.apply_feed_record` as the principal whose token is given, with the
declared purpose, in a transaction of its own, exactly as the file feed does: checked, logged,
idempotent.

The watermark column (an increasing `updated_at` or row version) makes reruns incremental: the
hub keeps the highest value applied, per department and source, and the next run reads rows whose
watermark is at least that value. "At least": rows sharing the last value are read again (a row
written later with the same timestamp is not missed), and applying them again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from connectors.issued import MaterialResult, document_bytes, document_of, issue_document, source_client
from connectors.profile_feed import FeedRecord, FeedSummary, UnreadableRecord, apply_record, refusal
from hub.access.context import Hub, RequestContext
from hub.access.principals import principal_context
from hub.errors import HubError, InvalidInput
from storage.models.base import utcnow
from storage.repositories import connectors as repo

if TYPE_CHECKING:
    import httpx

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = ("id_number", "name", "verified")
# A row's e-licence, if it has one (connectors/issued.py): these columns are not profile fields.
DOCUMENT_COLUMNS = {
    "document_id": "id",
    "document_url": "url",
    "document_content": "content",
    "document_file_name": "fileName",
    "document_content_type": "contentType",
    "document_title": "title",
    "document_issued_on": "issuedOn",
    "document_valid_until": "validUntil",
}
# Each dialect's way to make a session refuse writes, set before the query runs.
READ_ONLY_SESSION = {
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "sqlite": "PRAGMA query_only = ON",
}


def check_query(query: str, watermark_column: str) -> str:
    """One SELECT (or WITH … SELECT) statement, and a plain column name for the watermark."""
    statement = query.strip().rstrip(";").strip()
    if ";" in statement or not re.match(r"(?is)^(select|with)\b", statement):
        raise InvalidInput("the query is one SELECT statement", field="query")
    if not IDENTIFIER.match(watermark_column):
        raise InvalidInput("the watermark column is a plain column name", field="watermarkColumn")
    return statement


def source_key(department_code: str, url: str, query: str, watermark_column: str) -> str:
    """Names a source without its password: the same pull run again finds its watermark."""
    safe_url = make_url(url).render_as_string(hide_password=True)
    digest = hashlib.sha256(f"{safe_url}\n{query}\n{watermark_column}".encode()).hexdigest()[:32]
    return f"{department_code}:{digest}"


def encode_watermark(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise InvalidInput("the watermark column must hold numbers, text or times, never null")
    if isinstance(value, datetime):
        return json.dumps({"type": "datetime", "value": value.isoformat()})
    if isinstance(value, date):
        return json.dumps({"type": "date", "value": value.isoformat()})
    if isinstance(value, int):
        return json.dumps({"type": "int", "value": value})
    if isinstance(value, float | Decimal):
        return json.dumps({"type": "float", "value": float(value)})
    return json.dumps({"type": "str", "value": str(value)})


WATERMARK_TYPES: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "int": int,
    "float": float,
    "str": str,
}


def decode_watermark(stored: str) -> Any:
    data = json.loads(stored)
    return WATERMARK_TYPES[data["type"]](data["value"])


def _record(line: int, row: dict[str, Any], watermark_column: str) -> FeedRecord | UnreadableRecord:
    id_number = row.get("id_number")
    if not isinstance(id_number, str) or not id_number.strip():
        return UnreadableRecord(line, "", InvalidInput("id_number is missing or not text"))
    verified = row.get("verified", False)
    fields = {
        column: str(value)
        for column, value in row.items()
        if column not in (*RESERVED, *DOCUMENT_COLUMNS, watermark_column) and value is not None and str(value).strip()
    }
    return FeedRecord(line, id_number, str(row.get("name") or ""), fields, bool(verified))


async def _read_only(connection: AsyncConnection) -> None:
    statement = READ_ONLY_SESSION.get(connection.dialect.name)
    if statement is None:
        raise InvalidInput(f"pull-sql reads MySQL/MariaDB, PostgreSQL or SQLite, not {connection.dialect.name}")
    await connection.execute(text(statement))


async def _issue(
    ctx: RequestContext,
    http: httpx.AsyncClient,
    key: str,
    material_type: str | None,
    record: FeedRecord,
    row: dict[str, Any],
) -> MaterialResult | HubError:
    """The row's document as a material, as pull-rest issues one: once, by the department."""
    try:
        if material_type is None:
            raise InvalidInput("the row has a document, but the pull names no --material-type", field="document")
        raw = {name: row[column] for column, name in DOCUMENT_COLUMNS.items() if row.get(column) is not None}
        document = document_of(raw)
        data = await document_bytes(document, http)
        result = await issue_document(ctx, key, record.id_number, material_type, document, data)
    except HubError as error:
        return error
    return result


async def pull_sql(
    hub: Hub,
    url: str,
    query: str,
    watermark_column: str,
    token: str,
    purpose: str | None,
    *,
    report: Callable[[str], None],
    material_type: str | None = None,
) -> FeedSummary:
    """Apply every row newer than the last watermark, then keep the highest watermark applied."""
    statement = check_query(query, watermark_column)
    source = create_async_engine(url, poolclass=NullPool)
    try:
        async with principal_context(hub, token, purpose) as ctx:
            key = source_key(ctx.caller.department_code, url, statement, watermark_column)
            async with hub.sessions() as session:
                stored = await repo.watermark(session, key)
            wrapped = f"SELECT * FROM ({statement}) pulled"
            parameters: dict[str, Any] = {}
            if stored is not None:
                wrapped += f" WHERE pulled.{watermark_column} >= :after"
                parameters["after"] = decode_watermark(stored)
            wrapped += f" ORDER BY pulled.{watermark_column}"
            summary, highest = FeedSummary(), None
            async with source.connect() as connection, source_client(hub.settings, 10.0) as http:
                await _read_only(connection)
                rows = await connection.stream(text(wrapped), parameters)
                async for row in rows.mappings():
                    summary.records += 1
                    record = _record(summary.records, dict(row), watermark_column)
                    error = await apply_record(ctx, record, summary)
                    if error is None and isinstance(record, FeedRecord) and row.get("document_id") is not None:
                        issued = await _issue(ctx, http, key, material_type, record, dict(row))
                        if isinstance(issued, MaterialResult):
                            summary.materials[issued.value] += 1
                        else:
                            error = issued
                    if error is not None:
                        summary.refused[error.code] += 1
                        report(refusal(record, error))
                    highest = row[watermark_column]
            if highest is not None:
                async with hub.sessions() as session:
                    await repo.save_watermark(session, key, encode_watermark(highest), utcnow())
                    await session.commit()
            return summary
    finally:
        await source.dispose()
