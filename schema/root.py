"""The root Query and Mutation, composed from each area's types, and the configured schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import strawberry
from graphql import GraphQLError
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
):
    pass


@strawberry.type
class Mutation(ApplicantMutation, CaseMutation, HallsMutation, MaterialMutation, SupervisionMutation, WebhookMutation):
    pass


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
    extensions: list[type[SchemaExtension]] = [HubMaskErrors, CachedParse, CachedValidation, CommitAccessLog]
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
