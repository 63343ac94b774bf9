"""schema/schema.graphql is the published contract: it must say exactly what the code serves."""

from __future__ import annotations

from pathlib import Path

from schema.root import schema_sdl

EXPORTED = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_the_exported_schema_matches_the_code() -> None:
    assert EXPORTED.read_text(encoding="utf-8") == schema_sdl(), (
        "schema/schema.graphql is out of date: run `hub schema export` (or `make schema`) and commit it"
    )
