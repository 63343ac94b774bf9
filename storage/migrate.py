"""Apply Alembic migrations programmatically (used by `hub db upgrade` and the tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def applied_revisions(database_url: str) -> tuple[str, ...]:
    """The revisions the database is at; empty for a database Alembic never touched."""

    def heads(connection: Connection) -> tuple[str, ...]:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))

    async def read() -> tuple[str, ...]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(heads)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def latest_revisions() -> tuple[str, ...]:
    """The heads of the migrations shipped with this code."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()))


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def autogenerate(database_url: str, message: str) -> None:
    """Developer aid: write a new revision from the difference between models and database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
