"""The baseline for bench.trivial: strawberry on Starlette answering `{ viewer { name role } }`.

No authentication, no policy, no database, no log: what the same GraphQL library and server cost
by themselves, so the hub's fixed cost per request reads as a ratio to it. `app` is strawberry as
it comes; `app_cached` adds the parse and validation caches the hub uses too.
"""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Viewer:
    name: str
    role: str


@strawberry.type
class Query:
    @strawberry.field
    def viewer(self) -> Viewer:
        return Viewer(name="王芳（综合窗口）", role="clerk")


def _app(schema: strawberry.Schema) -> Starlette:
    return Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["POST"])])


app = _app(strawberry.Schema(query=Query))
# With the parse and validation caches the hub also uses: the fairer baseline for a repeated query.
# strawberry takes extension instances too (as its docs pass these caches); its annotation names only classes and factories.
app_cached = _app(
    strawberry.Schema(
        query=Query,
        extensions=[ParserCache(maxsize=128), ValidationCache(maxsize=128)],  # type: ignore[list-item]
    )
)
