"""A department's paged JSON API for the connector tests: a Starlette app served by uvicorn on loopback.

It pages its records two at a time (`{"items": [...], "next": URL}`), answers `?since=` with the
records at least that recent, sends an ETag over its whole content and answers 304 to a matching
If-None-Match, serves documents (e-licences) by URL, and can be told to answer 503 first or slowly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAGE = 2


@dataclass
class DepartmentApi:
    url: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)
    fail_next: int = 0  # answer 503 to this many requests first
    page_seconds: float = 0.0  # each page takes this long (a slow source, to widen a run)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (path, query, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def etag(self) -> str:
        return '"' + hashlib.sha256(json.dumps(self.records, sort_keys=True).encode()).hexdigest()[:16] + '"'

    def answered(self, request: Request, response: Response) -> Response:
        with self.lock:
            self.requests.append((request.url.path, request.url.query, response.status_code))
        return response

    async def records_page(self, request: Request) -> Response:
        await asyncio.sleep(self.page_seconds)
        with self.lock:
            failing = self.fail_next > 0
            self.fail_next -= failing
        if failing:
            return self.answered(request, Response("busy", status_code=503))
        etag = self.etag()
        if request.headers.get("if-none-match") == etag:
            return self.answered(request, Response(status_code=304, headers={"ETag": etag}))
        since = request.query_params.get("since")
        chosen = sorted(
            (r for r in self.records if since is None or r["updatedAt"] >= since), key=lambda r: r["updatedAt"]
        )
        offset = int(request.query_params.get("offset", "0"))
        following = None
        if offset + PAGE < len(chosen):
            following = f"{self.url}/records?offset={offset + PAGE}" + (f"&since={since}" if since else "")
        body = {"items": chosen[offset : offset + PAGE], "next": following}
        return self.answered(request, JSONResponse(body, headers={"ETag": etag}))

    async def document(self, request: Request) -> Response:
        data = self.documents.get(request.path_params["name"])
        if data is None:
            return self.answered(request, Response(status_code=404))
        return self.answered(request, Response(data, media_type="application/pdf"))


def start_department_api() -> tuple[DepartmentApi, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    api = DepartmentApi(url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    app = Starlette(
        routes=[Route("/records", api.records_page), Route("/documents/{name}", api.document)],
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test department API did not start")
        time.sleep(0.01)
    return api, server, thread
