"""The published contracts of a service, and a page to read them offline.

* ``GET /openapi.json``: the service's OpenAPI 3.1 document (``plumbing.interface.openapi``);
* ``GET /asyncapi.json``: the AsyncAPI 3 document of the whole system (``events.asyncapi``),
  the same from every service, so an integrator needs only one URL;
* ``GET /docs``: Swagger UI for the OpenAPI document.  Its assets come from the
  ``swagger-ui-bundle-v2`` wheel and are served by the service itself: the page
  works without any network access (no CDN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from events.asyncapi import document as asyncapi_document
from events.codec import encode
from plumbing.interface import openapi

if TYPE_CHECKING:
    from plumbing.interface.commands import Operation

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""
_INIT = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null
});
"""

_DOC_PATHS: dict[str, Any] = {
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics of this service (text exposition format)",
            "security": [],
            "tags": ["operations"],
            "responses": {
                "200": {
                    "description": "Prometheus text format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi_document",
            "summary": "This document",
            "security": [],
            "tags": ["documents"],
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/asyncapi.json": {
        "get": {
            "operationId": "asyncapi_document",
            "summary": "The AsyncAPI 3 document of every NATS subject of the system",
            "security": [],
            "tags": ["documents"],
            "responses": {
                "200": {
                    "description": "AsyncAPI 3.0",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/docs": {
        "get": {
            "operationId": "api_docs_page",
            "summary": "Swagger UI for this document (served offline)",
            "security": [],
            "tags": ["documents"],
            "responses": {
                "200": {
                    "description": "An HTML page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}


def routes(
    service: str,
    operations: list[Operation[Any]],
    *,
    extra_paths: Mapping[str, Any] | None = None,
    extra_schemas: tuple[type[Any], ...] = (),
) -> list[BaseRoute]:
    """The document routes of one service (generated once, when the service is built)."""
    title = f"Lantern {service}"
    paths = {**_DOC_PATHS, **(extra_paths or {})}
    open_doc = encode(
        openapi.document(title, service, operations, extra_paths=paths, extra_schemas=extra_schemas)
    )
    async_doc = encode(asyncapi_document())
    page = _PAGE.format(title=title)

    async def openapi_json(_: Request) -> Response:
        return Response(open_doc, media_type="application/json")

    async def asyncapi_json(_: Request) -> Response:
        return Response(async_doc, media_type="application/json")

    async def docs_page(_: Request) -> Response:
        return HTMLResponse(page)

    async def docs_init(_: Request) -> Response:
        return Response(_INIT, media_type="text/javascript")

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/asyncapi.json", asyncapi_json, methods=["GET"]),
        Route("/docs", docs_page, methods=["GET"]),
        Route("/docs/init.js", docs_init, methods=["GET"]),
        Mount("/docs/assets", app=StaticFiles(directory=str(swagger_ui_path)), name="assets"),
    ]
