"""A department's webhook receiver for the tests: a Starlette app served by uvicorn on loopback.

It runs in its own thread and event loop, so a slow answer never blocks the hub under test. Every
request is verified as a receiver would: v1 signatures with the `standardwebhooks` package and the
endpoint's secrets, v1a with `cryptography` and the hub's published public key. What each path
answers is set per test (`behave`): 200, a number of 500s first, a slow first answer, a redirect.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    verified_with: list[str]

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Behaviour:
    fail_first: int = 0  # answer 500 to the first n requests of each webhook-id
    slow_first_seconds: float = 0.0  # sleep this long before answering the first request of each id
    redirect_to: str | None = None
    always_status: int | None = None
    big_body_bytes: int = 0
    hold_seconds: float = 0.0  # every request takes this long (to widen a concurrency window)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)
    public_keys: list[str] = field(default_factory=list)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    overlaps: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def behave(self, path: str, behaviour: Behaviour, secrets: list[str] | None = None) -> str:
        self.behaviours[path] = behaviour
        if secrets is not None:
            self.secrets[path] = secrets
        return self.url + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def verify(self, path: str, headers: dict[str, str], body: str) -> list[str]:
        """The names of the keys a delivery verifies with ('v1:<n>', 'v1a:<n>'); none is a failure."""
        ok = []
        for n, secret in enumerate(self.secrets.get(path, [])):
            try:
                Webhook(secret).verify(body, headers)
                ok.append(f"v1:{n}")
            except WebhookVerificationError:
                pass
        content = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.{body}".encode()
        for n, key_text in enumerate(self.public_keys):
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_text.removeprefix("whpk_")))
            for signature in headers.get("webhook-signature", "").split(" "):
                version, _, value = signature.partition(",")
                if version != "v1a":
                    continue
                try:
                    key.verify(base64.b64decode(value), content)
                    ok.append(f"v1a:{n}")
                except InvalidSignature:
                    pass
        return ok

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = (await request.body()).decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        message_id = headers.get("webhook-id", "")
        behaviour = self.behaviours.get(path, Behaviour())
        with self.lock:
            self.seen[(path, message_id)] += 1
            nth = self.seen[(path, message_id)]
            if self.in_flight[message_id]:
                self.overlaps.append(message_id)
            self.in_flight[message_id] += 1
            self.received.append(Received(path, headers, body, self.verify(path, headers, body)))
        try:
            if behaviour.hold_seconds:
                await asyncio.sleep(behaviour.hold_seconds)
            if behaviour.slow_first_seconds and nth == 1:
                await asyncio.sleep(behaviour.slow_first_seconds)
            if behaviour.redirect_to:
                return RedirectResponse(self.url + behaviour.redirect_to, status_code=307)
            if behaviour.always_status:
                return PlainTextResponse("no", status_code=behaviour.always_status)
            if nth <= behaviour.fail_first:
                return PlainTextResponse("try later", status_code=500)
            if behaviour.big_body_bytes:
                chunk = b"x" * 65536
                return StreamingResponse(iter([chunk] * (behaviour.big_body_bytes // len(chunk))))
            return PlainTextResponse("ok")
        finally:
            with self.lock:
                self.in_flight[message_id] -= 1


def start_receiver() -> tuple[Receiver, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    receiver = Receiver(url=f"http://127.0.0.1:{port}")
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST", "GET"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test receiver did not start")
        time.sleep(0.01)
    return receiver, server, thread


def by_path(received: list[Received]) -> dict[str, list[Received]]:
    found: dict[str, list[Received]] = defaultdict(list)
    for r in received:
        found[r.path].append(r)
    return found
