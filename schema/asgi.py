"""The /graphql endpoint: authenticate, guard against CSRF, run strawberry, answer errors as JSON.

Every error reaching the client, even one raised before GraphQL runs (a missing token, a body
that is not JSON), has the GraphQL shape `{"errors": [{"message", "extensions": {"code"}}]}`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse

from hub.access.context import Hub, RequestContext
from hub.access.guard import declare_purpose, record_refused_token
from hub.access.principals import authenticate
from hub.errors import HubError, InvalidPurpose
from hub.metrics import GRAPHQL_ERRORS
from schema.context import GraphQLContext
from schema.errors import INTERNAL_ERROR, error_code
from schema.graphiql import graphiql_page

logger = logging.getLogger("hub.graphql")

# Headers a browser cannot send cross-site without a CORS preflight (the Apollo convention).
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "x-hub-request")
SIMPLE_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
MALFORMED_REQUEST = "MALFORMED_REQUEST"
CSRF_REJECTED = "CSRF_PREFLIGHT_REQUIRED"
# Room for the operations and map fields and the part headers around an upload's bytes.
MULTIPART_ALLOWANCE = 1024 * 1024


def error_response(message: str, code: str, status: int, **details: Any) -> JSONResponse:
    GRAPHQL_ERRORS.labels(code=code).inc()
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code, **details}}]}, status)


def _needs_preflight_header(request: Request) -> bool:
    if request.method == "GET":
        return "query" in request.query_params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in SIMPLE_CONTENT_TYPES or not content_type


def _declares_too_large_upload(request: Request, limit: int) -> bool:
    """Refuse an oversize multipart upload from its Content-Length, before spooling any of it.

    Bodies without a length are still checked file by file once parsed (hub.documents.materials)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        return False
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) > limit + MULTIPART_ALLOWANCE


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


class GraphQLEndpoint(GraphQL):
    def __init__(self, hub: Hub, schema: Any) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if hub.settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,
        )
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await Response(status_code=404)(scope, receive, send)
            return
        request = Request(scope, receive=receive)
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
        if _declares_too_large_upload(request, self.hub.settings.max_upload_bytes):
            limit = self.hub.settings.max_upload_bytes
            return error_response(
                f"the upload is larger than the limit of {limit} bytes", "FILE_TOO_LARGE", 413, limit=limit
            )
        session = self.hub.sessions()
        try:
            # Autocommit until the operation is known: a query keeps it (no BEGIN and COMMIT round
            # trips; its one write, the access entries, is a single insert), a mutation gets a
            # transaction of its own (schema.root.CommitAccessLog).
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            try:
                caller = await authenticate(session, request.headers.get("authorization"))
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
                return await self.run(request)
            except HTTPException as error:
                return error_response(error.reason, MALFORMED_REQUEST, error.status_code)
        finally:
            await session.close()
            # Uploaded files spooled to temporary files: closed (and so deleted) now, not whenever
            # the collector gets to them.
            await request.close()

    async def process_result(self, request: Request, result: Any) -> GraphQLHTTPResponse:
        """Syntax errors end the operation before the masking extension runs: give them their code here.

        So do errors raised as the operation ends (the access log failing to record it, in
        schema.root.CommitAccessLog): anything unexpected is masked here too, never shown as raised.
        """
        for error in result.errors or ():
            original = error.original_error
            if original is not None and not isinstance(original, HubError):
                error.message = "Internal server error."
                error.extensions = {"code": INTERNAL_ERROR}
                GRAPHQL_ERRORS.labels(code=INTERNAL_ERROR).inc()
            if not error.extensions or "code" not in error.extensions:
                error.extensions = {**(error.extensions or {}), "code": error_code(error)}
                GRAPHQL_ERRORS.labels(code=error.extensions["code"]).inc()
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        """UTF-8 as is: Chinese text escaped as \\uXXXX would make answers two to three times larger."""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(request.url.path)

    async def get_context(self, request: Any, response: Any) -> GraphQLContext:  # type: ignore[override]
        return GraphQLContext(request.state.hub_context, request, response)
