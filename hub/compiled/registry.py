"""The registry of trusted documents: GraphQL documents named by the SHA-256 of their text.

Department systems and the console register the documents they run (`hub documents register`);
a request then sends `{"documentId": "sha256:<hex>", "variables": {...}}` (or the Apollo
persisted-query extension, `extensions.persistedQuery.sha256Hash`) instead of the text.
HUB_TRUSTED_DOCUMENTS says what the hub does with the registry: `off` ignores it, `allow` (the
default) serves registered and unregistered documents alike, `require` refuses any document that
is not registered (DOCUMENT_NOT_REGISTERED).

A process keeps what it found: a hash names one text forever, so a registered document, and what
it compiled to, never goes stale. What was not found is looked up again each time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.compiled.compiler import CompiledDocument, NotCompiled, compile_applicant, one_query
from hub.compiled.notice import ROOT_FIELD as NOTICE_ROOT_FIELD
from hub.compiled.notice import CompiledNotice, compile_notice
from hub.errors import DocumentNotRegistered, InvalidInput
from storage.models.base import utcnow
from storage.repositories import compiled as repo

PREFIX = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")
# Kept per process, at most this many (a registry is a few hundred documents at most).
CACHE_SIZE = 4096


def document_hash(document: str) -> str:
    """The registry's name for a document: the SHA-256 of its UTF-8 text, lower-case hex."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def parse_document_id(document_id: object) -> str:
    """The hex of `sha256:<hex>` (or of a bare hex, the Apollo extension's form)."""
    if isinstance(document_id, str):
        hex_digest = document_id.removeprefix(PREFIX)
        if _HEX.fullmatch(hex_digest):
            return hex_digest
    raise InvalidInput("documentId must be sha256: and 64 lower-case hex digits", field="documentId")


Compiled = CompiledDocument | CompiledNotice


def compile_document(sha256: str, document: str) -> Compiled:
    """Compile `document` as its root field says, or raise NotCompiled saying why it stays with the resolvers."""
    operation = one_query(document)
    root = operation.field.name.value
    if root == "applicant":
        return compile_applicant(sha256, operation)
    if root == NOTICE_ROOT_FIELD:
        return compile_notice(sha256, operation)
    raise NotCompiled(f"one root field, applicant or {NOTICE_ROOT_FIELD}")


@dataclass(frozen=True, slots=True)
class Registered:
    """A registered document: its text, and what it compiled to (None: served by the resolvers)."""

    sha256: str
    document: str
    compiled: Compiled | None
    why_not_compiled: str = ""


def registered(sha256: str, document: str) -> Registered:
    try:
        return Registered(sha256, document, compile_document(sha256, document))
    except NotCompiled as reason:
        return Registered(sha256, document, None, str(reason))


class TrustedDocuments:
    """One process's view of the registry."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], mode: str) -> None:
        self._sessions = sessions
        self.mode = mode
        self._found: dict[str, Registered] = {}

    async def find(self, sha256: str) -> Registered | None:
        found = self._found.get(sha256)
        if found is not None:
            return found
        async with self._sessions() as session:
            document = await repo.trusted_document(session, sha256)
        if document is None:
            return None
        found = registered(sha256, document)
        if len(self._found) >= CACHE_SIZE:
            self._found.clear()
        self._found[sha256] = found
        return found

    async def by_id(self, document_id: object) -> Registered:
        """The document a request names by id; DOCUMENT_NOT_REGISTERED if the registry lacks it."""
        sha256 = parse_document_id(document_id)
        found = None if self.mode == "off" else await self.find(sha256)
        if found is None:
            why = "trusted documents are off" if self.mode == "off" else "no document is registered with this id"
            raise DocumentNotRegistered(why, documentId=PREFIX + sha256)
        return found

    async def check_text(self, document: str) -> None:
        """With `require`, refuse a document sent as text that is not registered."""
        if self.mode == "require" and await self.find(document_hash(document)) is None:
            raise DocumentNotRegistered(
                "this hub runs registered documents only (HUB_TRUSTED_DOCUMENTS=require)",
                documentId=PREFIX + document_hash(document),
            )


async def register(session: AsyncSession, document: str, registered_by: str = "") -> tuple[Registered, bool]:
    """Add `document` to the registry (the caller validated it against the schema); True if new."""
    sha256 = document_hash(document)
    added = await repo.add_trusted_document(session, sha256, document, registered_by, utcnow())
    return registered(sha256, document), added
