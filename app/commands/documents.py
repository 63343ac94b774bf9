"""`hub documents`: register the GraphQL documents department systems and the console run (trusted documents)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from pathlib import Path

from graphql import GraphQLError, parse, validate

from hub.compiled import registry
from hub.compiled.registry import PREFIX
from hub.errors import InvalidInput
from hub.services import in_session
from hub.settings import Settings
from storage.repositories.compiled import trusted_documents


def _checked(path: Path, settings: Settings) -> str:
    """The document in `path`, refused unless the schema accepts it within the edge's limits."""
    from schema.root import build_schema

    document = path.read_text(encoding="utf-8")
    schema = build_schema(settings)
    refusal = schema.documents.prepare(document).refusal
    if refusal is not None:
        raise InvalidInput(f"{path}: {refusal.message}", field="document")
    try:
        errors = validate(schema._schema, parse(document))  # noqa: SLF001  (graphql-core's schema, to validate)
    except GraphQLError as error:
        errors = [error]
    if errors:
        raise InvalidInput(f"{path}: {'; '.join(e.message for e in errors)}", field="document")
    return document


def cmd_register(args: argparse.Namespace, settings: Settings) -> None:
    by = args.by or getpass.getuser()
    documents = [_checked(Path(file), settings) for file in args.files]

    async def work(session: object) -> list[tuple[str, str]]:
        lines = []
        for file, document in zip(args.files, documents, strict=True):
            found, added = await registry.register(session, document, by)  # type: ignore[arg-type]
            how = "compiled" if found.compiled is not None else f"resolvers ({found.why_not_compiled})"
            lines.append(
                (f"{PREFIX}{found.sha256}", f"{file}: {'registered' if added else 'already registered'}, {how}")
            )
        return lines

    for document_id, line in asyncio.run(in_session(settings, work)):
        print(f"{document_id}  {line}")


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    for row in asyncio.run(in_session(settings, trusted_documents)):
        first_line = " ".join(row.document.split())[:80]
        print(f"{PREFIX}{row.sha256}  {row.registered_at:%Y-%m-%d %H:%M} UTC  {row.registered_by:16} {first_line}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    documents = commands.add_parser("documents", help="trusted GraphQL documents").add_subparsers(
        dest="documents_command", required=True
    )
    adding = documents.add_parser("register", help="register documents (files of GraphQL text), printing their ids")
    adding.add_argument("files", nargs="+")
    adding.add_argument("--by", help="who registers them (default: the login name)")
    adding.set_defaults(handler=cmd_register)
    listing = documents.add_parser("list", help="every registered document")
    listing.set_defaults(handler=cmd_list)
