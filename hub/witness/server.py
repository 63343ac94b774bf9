"""The witness's HTTP endpoint: `POST /add-checkpoint` (C2SP tlog-witness), nothing else."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hub.witness.protocol import Witness

MAX_REQUEST_BYTES = 64 * 1024  # a checkpoint, a few signatures and at most 63 proof hashes


def witness_app(witness: Witness) -> Starlette:
    # One request at a time in this process; the record's file lock covers other processes.
    turn = asyncio.Lock()

    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return PlainTextResponse("request too large\n", status_code=413)
        async with turn:
            answer = witness.add_checkpoint(body)
        # Set as given: tlog-witness names `text/x.tlog.size` exactly, without a charset.
        return Response(answer.body, status_code=answer.status, headers={"content-type": answer.content_type})

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])
