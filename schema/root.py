"""The root Query and Mutation, composed from each area's types, and the configured schema."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLResolveInfo
from strawberry.extensions import SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from hub.errors import HubError
from hub.settings import Settings
from schema.context import Info
from schema.errors import HubMaskErrors
from schema.limits import CachedParse, CachedValidation, Limits, PreparedDocuments
from schema.types.applicants import ApplicantMutation, ApplicantQuery
from schema.types.audit import AuditQuery
from schema.types.authorisations import AuthorisationMutation, AuthorisationQuery
from schema.types.cases import CaseMutation, CaseQuery
from schema.types.catalog import CatalogQuery
from schema.types.halls import HallsMutation, HallsQuery
from schema.types.materials import MaterialMutation, MaterialQuery
from schema.types.supervision import SupervisionMutation, SupervisionQuery
from schema.types.webhooks import WebhookMutation, WebhookQuery


@strawberry.type(description="Who is calling.")
class Viewer:
    name: str
    role: str
    department_code: str


@strawberry.type
class ViewerQuery:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        caller = info.context.hub.caller
        return Viewer(name=caller.name, role=caller.role.value, department_code=caller.department_code)


@strawberry.type
class Query(
    ViewerQuery,
    ApplicantQuery,
    CatalogQuery,
    CaseQuery,
    HallsQuery,
    MaterialQuery,
    AuditQuery,
    SupervisionQuery,
    WebhookQuery,
    AuthorisationQuery,
):
    pass


@strawberry.type
class Mutation(
    ApplicantMutation,
    CaseMutation,
    HallsMutation,
    MaterialMutation,
    SupervisionMutation,
    WebhookMutation,
    AuthorisationMutation,
):
    pass


class UninterruptedFields(SchemaExtension):
    """A field's work is never cut off mid-statement, and the operation ends when every field has.

    When a non-null field fails, graphql-core cancels its siblings still running (its
    gather_with_cancel). They share the request's one database session: a statement cancelled in
    flight makes SQLAlchemy throw the connection away under the others, and on SQLite closing it so
    waited forever (aiosqlite's worker stopped twice), the request never answering (bench/fuzz: 8
    requests of 1,000 without an answer). Here each asynchronous field runs as a task shielded from
    that cancellation: its sibling's error still decides the answer, and CommitAccessLog waits for
    the shielded tasks before it commits or rolls back.
    """

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], *args: Any, **kwargs: Any
    ) -> Any:
        result = _next(root, info, *args, **kwargs)
        if not inspect.isawaitable(result):
            return result
        unfinished: set[asyncio.Future[Any]] = info.context.unfinished
        task = asyncio.ensure_future(result)
        unfinished.add(task)
        task.add_done_callback(unfinished.discard)
        return asyncio.shield(task)


class CommitAccessLog(SchemaExtension):
    """Commits the request's access entries when the operation ends.

    Each mutation's use case commits its own work, so mutation fields land one by one, as GraphQL
    runs them. If a field failed, whatever it wrote without reaching its commit is rolled back and
    only the access entries are committed: nothing half written, and who tried what is recorded.
    If the log cannot be written, the caller gets an error instead of data: no read escapes the log.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        ctx = execution.context.hub
        ctx.read_only = execution.operation_type is OperationType.QUERY
        if not ctx.read_only:
            # Give back the autocommit connection authentication used: the use cases' writes
            # need a transaction, which the next statement begins on a fresh connection.
            await ctx.session.commit()
        yield
        # Fields whose sibling failed finish their statements before the session commits or rolls back.
        while execution.context.unfinished:
            await asyncio.gather(*execution.context.unfinished, return_exceptions=True)
        failed = bool(execution.result is not None and execution.result.errors)
        try:
            if failed:
                await ctx.rollback_keeping_log()
            else:
                await ctx.commit()
        except Exception:
            await ctx.session.rollback()
            raise


class HubSchema(strawberry.Schema):
    """Logs only unexpected errors, with their traceback; holds the documents the edge prepared.

    Domain errors (HubError) and invalid queries are the caller's business: they reach the client
    with their code, and logging each as a traceback would bury the real failures.
    """

    documents: PreparedDocuments

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [
            error
            for error in errors
            if error.original_error is not None and not isinstance(error.original_error, HubError)
        ]
        super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> HubSchema:
    """The schema with its limits: the edge (schema/asgi.py) measures each document before it runs."""
    extensions: list[type[SchemaExtension]] = [
        HubMaskErrors,
        CachedParse,
        CachedValidation,
        CommitAccessLog,
        UninterruptedFields,
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    schema = HubSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )
    limits = Limits.of(settings, schema._schema)  # noqa: SLF001  (the graphql-core schema, to find paged fields)
    schema.documents = PreparedDocuments(limits, settings.query_cache_bytes, suggestions=settings.suggestions_enabled)
    return schema


def schema_sdl() -> str:
    """The schema as SDL, exported to schema/schema.graphql (a test fails when it drifts)."""
    return build_schema(Settings()).as_str() + "\n"
