"""The app factory: one Starlette app serving /graphql, /console, /healthz, /readyz and /metrics.

This module and the CLI are the composition root: the only places in `hub` that know the
GraphQL layer exists.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.background import start_background_jobs, stop
from app.commands.webhooks import worker_jobs
from hub.access.context import Hub
from hub.access.principals import listen_for_revocations
from hub.audit.lag import refresh_lag_gauge
from hub.identifiers import load_region_table
from hub.metrics import HTTP_LATENCY, HTTP_REQUESTS, REGISTRY
from hub.services import build_hub
from hub.settings import Settings, get_settings
from hub.webhooks.worker import Worker


class MetricsMiddleware:
    """Counts requests and times them per route, for /metrics."""

    KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = path if path in self.KNOWN_ROUTES else _route_family(path)
        status = 500
        started = time.perf_counter()

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(route=route, method=scope["method"], status=str(status)).inc()


def _route_family(path: str) -> str:
    for family in ("/files", "/console"):
        if path.startswith(family + "/"):
            return family
    return "other"


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> Starlette:
    from console.app import console_mount
    from schema.asgi import GraphQLEndpoint
    from schema.graphiql import graphiql_routes
    from schema.root import build_schema

    settings = settings or get_settings()
    hub = hub or build_hub(settings)
    schema = build_schema(settings)
    graphql = GraphQLEndpoint(hub, schema)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            async with hub.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # noqa: BLE001  (readiness reports any failure)
            checks["database"] = f"unavailable: {type(error).__name__}"
        for name, check in hub.readiness_checks.items():
            try:
                await check()
                checks[name] = "ok"
            except Exception as error:  # noqa: BLE001
                checks[name] = f"unavailable: {type(error).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        await refresh_lag_gauge(hub)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # The schema, models and statements built at start-up live as long as the process: moved
        # out of the collector's sight, they no longer lengthen every full collection (a pause
        # every request behind it waits out). So do the tables loaded on first use that every
        # process soon loads anyway.
        load_region_table()
        gc.collect()
        gc.freeze()
        # The log's sequencer, supervision, abandoned cases, blob collection: here, unless a process
        # of their own runs them (`hub serve --workers N`, app/background.py).
        jobs = start_background_jobs(hub) if settings.serve_background_jobs else []
        # PostgreSQL: a token revoked or rotated anywhere is forgotten here at once (hub/access/principals.py).
        revocations = asyncio.create_task(listen_for_revocations(hub))
        # SQLite (one process, one writer): the webhook worker runs here. On PostgreSQL, `hub worker`
        # processes deliver, as many as needed, apart from the processes serving requests.
        stop_delivering = asyncio.Event()
        worker = Worker(hub) if settings.serve_runs_webhook_worker else None
        delivering = asyncio.create_task(worker.run_forever(stop_delivering)) if worker is not None else None
        # And, where the worker is, the worker's jobs (the connector schedules, connectors/schedules.py).
        scheduled = [asyncio.create_task(job(hub, worker.name, False)) for job in worker_jobs()] if worker else []
        yield
        stop_delivering.set()
        await stop([*scheduled, revocations, *jobs])
        if delivering is not None:
            await delivering
        await hub.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *hub.extra_routes,
            console_mount(hub),
            *(graphiql_routes() if settings.graphiql_enabled else []),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware)
    app.state.hub = hub
    app.state.graphql_schema = schema
    return app
