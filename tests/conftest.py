"""Every test that takes `hub` runs twice: on SQLite and on the PostgreSQL at 127.0.0.1:5432.

PostgreSQL is required: if it cannot be reached the suite fails, it never skips. Set
HUB_TEST_BACKENDS=sqlite to run on SQLite alone while developing without PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import httpx
import pytest

from app.asgi import create_app
from app.cli import main
from hub.access.auth import Role
from hub.access.context import Hub
from hub.services import build_hub
from hub.settings import Environment, Settings, get_settings
from storage.migrate import upgrade
from tests.support import (
    Actor,
    GraphQLClient,
    create_postgres_database,
    drop_postgres_database,
    empty_all_tables,
    make_actor,
    seed_departments,
)

# Fixtures that live in support modules: the moto S3 server, started once per session.
pytest_plugins = ["tests.support.s3_server"]

BACKENDS = [b for b in os.environ.get("HUB_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory):
    urls: dict[str, str] = {}
    if "sqlite" in BACKENDS:
        urls["sqlite"] = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
    if "postgresql" in BACKENDS:
        try:
            urls["postgresql"] = asyncio.run(create_postgres_database())
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"PostgreSQL is expected at 127.0.0.1:5432 and is unreachable: {error!r}", pytrace=False)
    for url in urls.values():
        upgrade(url)
    yield urls
    if "postgresql" in urls:
        asyncio.run(drop_postgres_database(urls["postgresql"]))


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, database_urls: dict[str, str], tmp_path) -> Settings:
    # The demo environment, set explicitly (unset means production): most stories use GraphiQL,
    # introspection or demo tokens; production's differences are tested where they matter.
    return Settings(
        environment=Environment.DEMO,
        database_url=database_urls[request.param],
        blob_url=f"file://{tmp_path / 'blobs'}",
        secrets_dir=tmp_path / "secrets",
    )


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    hub = build_hub(settings)
    await empty_all_tables(hub)
    await seed_departments(hub)
    yield hub
    await hub.close()


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[GraphQLClient]:
    app = create_app(hub.settings, hub)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield GraphQLClient(http)


@pytest.fixture
async def clerk(hub: Hub) -> Actor:
    return await make_actor(hub, Role.CLERK, "xzfw", "王窗口")


@pytest.fixture
async def tax_system(hub: Hub) -> Actor:
    return await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw", "税务征管系统")


@pytest.fixture
async def auditor(hub: Hub) -> Actor:
    return await make_actor(hub, Role.AUDITOR, "jcj", "李监察")


@pytest.fixture
async def admin(hub: Hub) -> Actor:
    return await make_actor(hub, Role.ADMIN, "xzfw", "系统管理员")


@pytest.fixture
def hub_command(hub, monkeypatch, capsys):
    """Run `hub ARGS...` against the test database; returns (exit status, stdout, stderr).

    The command runs in a worker thread because it runs its own event loop."""
    settings: Settings = hub.settings
    monkeypatch.setenv("HUB_ENVIRONMENT", settings.environment.value)
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HUB_BLOB_URL", settings.blob_url)
    monkeypatch.setenv("HUB_SECRETS_DIR", str(settings.secrets_dir))
    get_settings.cache_clear()

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            await asyncio.to_thread(main, list(args))
            status = 0
        except SystemExit as exit_:
            status = int(exit_.code or 0)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    yield run
    get_settings.cache_clear()
