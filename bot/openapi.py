"""``GET /openapi.json``: the HTTP contract, built from the routes themselves.

Each endpoint documents itself in its docstring, after a ``---`` line, as the OpenAPI
operation in YAML (Starlette's ``SchemaGenerator`` reads it); a capability adding a
route documents it where it declares it. Shared shapes live in ``COMPONENTS`` below;
the event shape comes from the pydantic model that validates it, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from bot.http import json_response

PROBLEM = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable machine-readable code"},
        "message": {"type": "string", "description": "what was wrong and how to fix it"},
    },
}


def _components() -> dict[str, Any]:
    from bot.ingest.schema import EventIn, IngestResult

    schemas: dict[str, Any] = {"Problem": PROBLEM}
    for model in (EventIn, IngestResult):
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[model.__name__] = found
    schemas["OfrepError"] = {
        "type": "object",
        "required": ["errorDetails"],
        "properties": {"key": {"type": "string"}, "errorCode": {"type": "string"}, "errorDetails": {"type": "string"}},
    }
    return schemas


BASE = {
    "openapi": "3.1.0",
    "info": {
        "title": "afterlaunch",
        "version": "1",
        "description": "Event ingestion, request lookup, alert webhooks, feature flags (OFREP) and health.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}


class _Generator(SchemaGenerator):
    """Reads only the part of a docstring after ``---``: the prose before it is for people, not YAML."""

    def parse_docstring(self, func_or_method: Any) -> dict[str, Any]:
        docstring = func_or_method.__doc__ or ""
        if "---" not in docstring:
            return {}
        return super().parse_docstring(func_or_method)


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of these routes (those whose endpoints carry an operation docstring)."""
    base = {**BASE, "components": {**BASE["components"], "schemas": _components()}}
    return _Generator(base).get_schema(routes)


async def openapi_json(request: Request) -> Response:
    """The OpenAPI document of this service.
    ---
    summary: This document
    responses:
      "200":
        description: the OpenAPI 3.1 description of every HTTP endpoint
        content:
          application/json:
            schema: {type: object}
    """
    cached = getattr(request.app.state, "openapi", None)
    if cached is None:  # routes are fixed once the app is built
        cached = request.app.state.openapi = document(request.app.routes)
    return json_response(cached)
