"""The /graphql endpoint: authenticate, guard against CSRF, run strawberry, answer errors as JSON.

Every error reaching the client, even one raised before GraphQL runs (a missing token, a body
that is not JSON), has the GraphQL shape `{"errors": [{"message", "extensions": {"code"}}]}`.

The edge trusts nothing it reads: the body is counted as it arrives and refused past its limit
(JSON and multipart have their own), the document is measured before it is validated or run
(schema/limits.py), and control characters in any string are refused before a use case sees them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData

from hub.access.context import Hub, RequestContext
from hub.access.guard import charge, declare_purpose, record_refused_token
from hub.access.principals import authenticate
from hub.compiled import reads as compiled_reads
from hub.compiled.registry import Registered, TrustedDocuments
from hub.errors import (
    DocumentNotRegistered,
    FileTooLarge,
    HubError,
    InvalidInput,
    InvalidPurpose,
    MalformedRequest,
    PayloadTooLarge,
    QueryTooComplex,
    RateLimited,
)
from hub.metrics import GRAPHQL_ERRORS
from schema.context import GraphQLContext
from schema.errors import INTERNAL_ERROR, error_code, is_client_error
from schema.graphiql import graphiql_page
from schema.limits import refuse_control_characters

logger = logging.getLogger("hub.graphql")

# Headers a browser cannot send cross-site without a CORS preflight (the Apollo convention).
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "x-hub-request")
SIMPLE_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
MALFORMED_REQUEST = MalformedRequest.code
CSRF_REJECTED = "CSRF_PREFLIGHT_REQUIRED"
# HTTP status of the errors the edge raises before GraphQL runs; the first class that matches wins.
EDGE_STATUS: tuple[tuple[type[HubError], int], ...] = (
    (PayloadTooLarge, 413),
    (FileTooLarge, 413),
    (RateLimited, 429),
    (QueryTooComplex, 400),
    (DocumentNotRegistered, 400),
    (InvalidInput, 400),
    (MalformedRequest, 400),
)
SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)


def error_response(message: str, code: str, status: int, **details: Any) -> JSONResponse:
    GRAPHQL_ERRORS.labels(code=code).inc()
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code, **details}}]}, status)


def _needs_preflight_header(request: Request) -> bool:
    if request.method == "GET":
        return "query" in request.query_params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in SIMPLE_CONTENT_TYPES or not content_type


def _body_limit(headers: Headers, hub: Hub) -> tuple[int, type[HubError]]:
    """How many bytes this request's body may have, and what to refuse it with past that."""
    if headers.get("content-type", "").lower().startswith("multipart/"):
        return hub.settings.multipart_body_limit, FileTooLarge
    return hub.settings.max_json_body_bytes, PayloadTooLarge


def _too_large(kind: type[HubError], limit: int, hub: Hub) -> HubError:
    if kind is FileTooLarge:
        upload_limit = hub.settings.max_upload_bytes
        return FileTooLarge(f"the upload is larger than the limit of {upload_limit} bytes", limit=upload_limit)
    return PayloadTooLarge(f"the request body is larger than the limit of {limit} bytes", limit=limit)


def _counted(receive: Receive, limit: int, refusal: Callable[[], HubError]) -> Receive:
    """The body as it arrives, refused once it passes `limit` (a missing or lying Content-Length too).
    The refusal is made when needed: nearly every request stays under the limit."""
    received = 0

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise refusal()
        return message

    return receive_counted


def edge_refusal(error: HubError) -> JSONResponse:
    status = next((code for kind, code in EDGE_STATUS if isinstance(error, kind)), 400)
    response = error_response(error.message, error.code, status, **error.details)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.details["retryAfter"])
    return response


def _request_id(header: str | None) -> str | None:
    """Keep a caller's X-Request-Id only if it is a short plain token; otherwise make our own."""
    if header and len(header) <= 64 and all(c.isalnum() or c in "-_." for c in header):
        return header
    return None


def _raw_header(request: Request, name: bytes) -> bytes | None:
    return next((value for key, value in request.headers.raw if key == name), None)


def _is_ide_request(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _document_id(data: dict[str, Any]) -> object:
    """The id a request names its document by: `documentId`, or Apollo's persisted-query hash."""
    if "documentId" in data:
        return data["documentId"]
    extensions = data.get("extensions")
    if not isinstance(extensions, dict):
        return None
    if "documentId" in extensions:
        return extensions["documentId"]
    persisted = extensions.get("persistedQuery")
    if isinstance(persisted, dict) and "sha256Hash" in persisted:
        return persisted["sha256Hash"]
    return None


class GraphQLEndpoint(GraphQL):
    def __init__(self, hub: Hub, schema: Any) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if hub.settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,
        )
        self.hub = hub
        self.trusted = TrustedDocuments(hub.sessions, hub.settings.trusted_documents)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await Response(status_code=404)(scope, receive, send)
            return
        limit, kind = _body_limit(Headers(scope=scope), self.hub)
        request = Request(scope, receive=_counted(receive, limit, partial(_too_large, kind, limit, self.hub)))
        try:
            response = await self._serve(request)
        except Exception:
            # Outside GraphQL execution (the database down during authentication, say): log it
            # with its traceback, answer in the GraphQL error shape without leaking the message.
            logger.exception("unexpected error serving %s", request.url.path)
            response = error_response("Internal server error.", INTERNAL_ERROR, 500)
        await response(scope, receive, send)

    async def _serve(self, request: Request) -> Response:
        if _is_ide_request(request):
            if self.graphql_ide is None:
                return error_response("GraphiQL is disabled in this configuration", "NOT_FOUND", 404)
            return await self.render_graphql_ide(request)
        if request.method not in ("GET", "POST"):
            return error_response("GraphQL accepts GET and POST only", MALFORMED_REQUEST, 405)
        if _needs_preflight_header(request) and not any(h in request.headers for h in PREFLIGHT_HEADERS):
            return error_response(
                "this request must carry a non-simple header such as Apollo-Require-Preflight",
                CSRF_REJECTED,
                400,
            )
        limit, kind = _body_limit(request.headers, self.hub)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            # Refused from its declared length, before a byte of it is read or spooled.
            return edge_refusal(_too_large(kind, limit, self.hub))
        # Autocommit until the operation is known: a query keeps it, a mutation gets a transaction
        # of its own (schema.root.CommitAccessLog).
        session = await self.hub.request_session()
        try:
            try:
                caller = await authenticate(
                    session,
                    request.headers.get("authorization"),
                    cache_seconds=self.hub.settings.principal_cache_seconds,
                )
            except HubError as error:
                client = request.client
                await record_refused_token(
                    self.hub, request.headers.get("authorization"), client_address=client.host if client else ""
                )
                return error_response(error.message, error.code, 401)
            client = request.client
            context = RequestContext(
                self.hub,
                caller,
                session=session,
                request_id=_request_id(request.headers.get("x-request-id")),
                client_address=client.host if client else "",
            )
            try:
                # The raw bytes: Starlette would decode them as Latin-1, garbling UTF-8.
                await declare_purpose(context, _raw_header(request, b"x-hub-purpose"))
            except InvalidPurpose as error:
                return error_response(error.message, error.code, 400, **error.details)
            request.state.hub_context = context
            try:
                compiled = await self._compiled_answer(request, context)
                if compiled is not None:
                    return Response(compiled, media_type="application/json")
                return await self.run(request)
            except HTTPException as error:
                return error_response(error.reason, MALFORMED_REQUEST, error.status_code)
            except RateLimited as error:
                # Its entry is committed and its connection back in the pool: the wait holds nothing.
                await asyncio.sleep(min(error.details["retryAfter"], self.hub.settings.rate_limit_pause_seconds))
                return edge_refusal(error)
            except HubError as error:
                return edge_refusal(error)
        finally:
            await self.hub.end_request_session(session)
            # Uploaded files spooled to temporary files: closed (and so deleted) now, not whenever
            # the collector gets to them.
            await request.close()

    async def _compiled_answer(self, request: Request, context: RequestContext) -> bytes | None:
        """A registered document of the compiled subset, answered from one statement (hub/compiled/);
        None when the resolvers are to serve the request (docs/trusted-documents.md)."""
        if request.method != "POST" or "json" not in request.headers.get("content-type", "").lower():
            return None
        data = self.decode_json(await request.body())
        if not isinstance(data, dict):
            return None
        document_id = _document_id(data)
        if document_id is None:
            return None
        found: Registered = await self.trusted.by_id(document_id)
        variables = data.get("variables") or {}
        operation = data.get("operationName")
        if found.compiled is None or not isinstance(variables, dict):
            return None
        if operation is not None and operation != found.compiled.operation_name:
            return None  # the resolvers say what is wrong with it
        refuse_control_characters(variables)
        # The caller's budget pays for a compiled document as for one sent as text, once: if the
        # resolvers end up serving it, execute_operation does not charge it again.
        await charge(context, self.schema.documents.prepare(found.document).points)  # type: ignore[attr-defined]
        request.state.budget_charged = True
        return await compiled_reads.answer(context, found.compiled, variables)

    def decode_json(self, data: str | bytes) -> object:
        """Any body json cannot read is the caller's mistake: too deep, not UTF-8, not JSON, not an object.

        A document sent by its id (`documentId`, docs/trusted-documents.md) goes on to strawberry as
        an extension; `parse_http_body` puts the registered text in its place."""
        try:
            decoded = json.loads(data)
        except (RecursionError, ValueError) as error:
            raise MalformedRequest("the request body is not valid JSON (or nests too deep)") from error
        if not isinstance(decoded, dict | list):
            raise MalformedRequest("the request body must be a JSON object")
        for item in decoded if isinstance(decoded, list) else [decoded]:
            if isinstance(item, dict) and "documentId" in item:
                extensions = item.get("extensions")
                item["extensions"] = {
                    **(extensions if isinstance(extensions, dict) else {}),
                    "documentId": item["documentId"],
                }
        return decoded

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """The GraphQL multipart request spec, strictly: every entry of `map` names a file part.

        A part without a filename is a form field to Starlette: passed on, the bytes of a file would
        reach the resolver as text. Starlette's own refusals (a part or header too long) and a map
        whose paths lead nowhere are MALFORMED_REQUEST too."""
        try:
            form = await request.get_form_data()
            files_map = form.form.get("map", "{}")
            mapped = self.decode_json(files_map) if isinstance(files_map, str | bytes) else files_map
            if not isinstance(mapped, dict):
                raise MalformedRequest("the multipart map must be a JSON object")
            for name in mapped:
                if not isinstance(form.files.get(name), UploadFile):
                    raise MalformedRequest(f"the map names {name!r}, which is not a file part with a filename")
            # Starlette keeps the parsed form on the request: this reads nothing twice.
            return await super().parse_multipart(request)
        except (MultiPartException, StarletteHTTPException) as error:
            raise MalformedRequest("the multipart body cannot be parsed") from error
        except (IndexError, TypeError, ValueError, AttributeError) as error:
            raise MalformedRequest("the multipart map does not fit the operations") from error

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's reading of the request, then the edge's checks on what it found."""
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            document_id = _document_id({"extensions": item.extensions})
            if document_id is not None and item.query is None:
                item.query = (await self.trusted.by_id(document_id)).document
            elif item.query is not None:
                await self.trusted.check_text(item.query)
            if item.query is not None:
                prepared = self.schema.documents.prepare(item.query)  # type: ignore[attr-defined]
                if prepared.refusal is not None:
                    # A fresh error each time: raising the cached one would grow its traceback.
                    raise type(prepared.refusal)(prepared.refusal.message, **prepared.refusal.details)
            refuse_control_characters(item.variables)
            refuse_control_characters(item.operation_name)
        return data

    async def execute_operation(  # type: ignore[override]  # strawberry's, with the hub's context
        self,
        request: Request,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: GraphQLContext,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """The caller's budget pays for the documents first (hub/access/budgets.py): a request
        refused for its shape or its strings, in parse_http_body, costs nothing of it."""
        documents = self.schema.documents  # type: ignore[attr-defined]
        points = sum(
            documents.prepare(item.query).points
            for item in (request_data if isinstance(request_data, list) else [request_data])
            if item.query is not None
        )
        if not getattr(request.state, "budget_charged", False):
            await charge(context.hub, points)
        return await super().execute_operation(
            request,
            request_adapter,
            request_data,
            context,  # type: ignore[arg-type]  # the base view is typed for no context at all
            root_value,
            sub_response,
        )

    async def process_result(self, request: Request, result: Any) -> GraphQLHTTPResponse:
        """Syntax errors end the operation before the masking extension runs: give them their code here.

        So do errors raised as the operation ends (the access log failing to record it, in
        schema.root.CommitAccessLog): anything unexpected is masked here too, never shown as raised.

        Outside the demo, no message suggests a field or value name ("Did you mean ...?"): the
        schema is published to those who should have it, not mapped for whoever probes."""
        hide_suggestions = not self.hub.settings.suggestions_enabled
        for error in result.errors or ():
            if not is_client_error(error):
                error.message = "Internal server error."
                error.extensions = {"code": INTERNAL_ERROR}
                GRAPHQL_ERRORS.labels(code=INTERNAL_ERROR).inc()
            if not error.extensions or "code" not in error.extensions:
                error.extensions = {**(error.extensions or {}), "code": error_code(error)}
                GRAPHQL_ERRORS.labels(code=error.extensions["code"]).inc()
            if hide_suggestions:
                error.message = SUGGESTION.sub("", error.message)
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        """UTF-8 as is: Chinese text escaped as \\uXXXX would make answers two to three times larger.

        orjson writes the same bytes as `json.dumps(data, ensure_ascii=False, separators=(",", ":"))`
        for a GraphQL result, in a thirteenth of the time (docs/performance.md)."""
        return orjson.dumps(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(request.url.path)

    async def get_context(self, request: Any, response: Any) -> GraphQLContext:  # type: ignore[override]
        return GraphQLContext(request.state.hub_context, request, response)
