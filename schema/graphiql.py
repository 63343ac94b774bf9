"""GraphiQL served from this host, so the IDE works without reaching a CDN.

The JavaScript and CSS come from the `graphene-django-graphiql-static` wheel, which ships GraphiQL 3
with React 17 as plain static files; only those files are read (nothing of Django is imported).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

ASSETS_PATH = "/graphiql/assets"
_ASSETS = {
    "graphiql.min.css": "text/css",
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
    "graphiql.min.js": "text/javascript",
}
_EXAMPLE = """# Paste a demo token into the headers below: {"Authorization": "Bearer hub_..."}
{
  viewer { name role departmentCode }
  serviceItems(stage: "施工许可") { code name statutoryDays promisedDays leadDepartment { name } }
}
"""


@lru_cache(maxsize=len(_ASSETS))
def _asset(name: str) -> bytes:
    package = resources.files("graphene_django_graphiql_static")
    return package.joinpath("static", "graphene_django_graphiql_static", name).read_bytes()


def graphiql_page(endpoint: str = "/graphql") -> HTMLResponse:
    scripts = "\n".join(
        f'  <script src="{ASSETS_PATH}/{name}"></script>' for name, kind in _ASSETS.items() if kind == "text/javascript"
    )
    settings = json.dumps(
        {
            "url": endpoint,
            "query": _EXAMPLE,
            "headers": json.dumps({"Authorization": "Bearer hub_..."}, indent=2),
        },
        ensure_ascii=False,
    )
    return HTMLResponse(
        f"""<!DOCTYPE html>
<html lang="zh">
<head>
  <meta charset="utf-8">
  <title>The hub · GraphiQL</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; overflow: hidden; }}</style>
  <link rel="stylesheet" href="{ASSETS_PATH}/graphiql.min.css">
{scripts}
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>
    const settings = {settings};
    // A non-simple header: the hub refuses requests a browser could send cross-site unannounced.
    const fetcher = GraphiQL.createFetcher({{ url: settings.url, headers: {{ "X-Hub-Request": "graphiql" }} }});
    ReactDOM.render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultQuery: settings.query,
        defaultHeaders: settings.headers,
        defaultEditorToolsVisibility: "headers",
        shouldPersistHeaders: true,
      }}),
      document.getElementById("graphiql"),
    );
  </script>
</body>
</html>
"""
    )


async def _serve_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _ASSETS:
        return PlainTextResponse("not found", status_code=404)
    return Response(_asset(name), media_type=_ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})


def graphiql_routes() -> list[Route]:
    return [Route(ASSETS_PATH + "/{name}", _serve_asset)]
