"""Helpers the tests share: databases, principals, and a GraphQL client."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.access.auth import Role
from hub.access.context import Hub, RequestContext
from hub.access.principals import authenticate, create_principal
from hub.halls import visits
from storage.models import Base

POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

DEPARTMENTS = [
    ("jcj", "电子监察室", True),
    ("zrzy", "自然资源和规划局", False),
    ("zjj", "住房和城乡建设局", False),
    ("bdc", "不动产登记中心", False),
    ("sw", "税务局", False),
    ("rsj", "人力资源和社会保障局", False),
    ("xzfw", "行政服务中心", False),
]


async def create_postgres_database() -> str:
    """A fresh, uniquely named database for one test session; returns its URL."""
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def empty_all_tables(hub: Hub) -> None:
    """Start each test from empty tables (the schema stays, migrated once per session)."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with hub.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))
        # As a freshly migrated database holds it (storage/migrations, 0013_audit_counter).
        await connection.execute(text("INSERT INTO audit_counter (id, last_seq) VALUES (1, 0)"))


async def seed_departments(hub: Hub) -> None:
    from storage.repositories.principals import upsert_department

    async with hub.sessions() as session:
        for code, name, supervision in DEPARTMENTS:
            await upsert_department(session, code, name, is_supervision=supervision)
        await session.commit()


@dataclass
class Actor:
    """A principal the test acts as: its token and a ready request context factory."""

    hub: Hub
    token: str
    role: Role
    department_code: str

    async def context(self, purpose: str | None = None) -> RequestContext:
        session = self.hub.sessions()
        caller = await authenticate(session, f"Bearer {self.token}")
        return RequestContext(self.hub, caller, session=session, purpose=purpose)


async def make_actor(
    hub: Hub, role: Role, department_code: str, name: str | None = None, *, centre_code: str | None = None
) -> Actor:
    """A principal and its token; a clerk names its centre once centres are loaded (the demo's)."""
    async with hub.sessions() as session:
        issued = await create_principal(
            session, name or f"{role.value}@{department_code}", role, department_code, centre_code=centre_code
        )
        await session.commit()
    return Actor(hub, issued.token, role, department_code)


class GraphQLClient:
    """Posts GraphQL to the app in-process over ASGI, as a department system would over HTTP."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        purpose: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if purpose is not None:
            all_headers["X-Hub-Purpose"] = purpose
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def execute(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Run a query that must succeed; returns `data`."""
        response = await self.post(query, variables, **kwargs)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Run a query that must fail; returns the first error (message, extensions)."""
        body = (await self.post(query, variables, **kwargs)).json()
        assert body.get("errors"), body
        return body["errors"][0]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """Run a query that must fail; returns the first error's extensions.code."""
        return (await self.error(query, variables, **kwargs))["extensions"]["code"]


OPEN_VISIT = "mutation($id: String!) { openVisit(idNumber: $id) { purpose } }"


async def open_visit(client: GraphQLClient, clerk: Actor, id_number: str) -> str:
    """The applicant presents their ID at the clerk's window: the purpose (`visit:<id>`) the clerk reads under."""
    data = await client.execute(OPEN_VISIT, {"id": id_number}, token=clerk.token)
    purpose: str = data["openVisit"]["purpose"]
    return purpose


async def visit_context(clerk: Actor, id_number: str) -> RequestContext:
    """A use case's context for `clerk` within a visit of `id_number` (the visit opened through the use case)."""
    ctx = await clerk.context()
    try:
        opened = await visits.open_visit(ctx, id_number)
    finally:
        await ctx.close()
    return await clerk.context(opened.purpose)
