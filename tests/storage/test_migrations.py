"""The migrations are the schema: one head, and they build exactly what the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from storage.migrate import alembic_config
from storage.models import Base
from tests.conftest import BACKENDS


def test_the_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrated_database_matches_the_models(database_urls: dict[str, str], backend: str) -> None:
    """A model changed without a migration (or the reverse) fails here, on each database."""
    engine = create_async_engine(database_urls[backend])
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []
