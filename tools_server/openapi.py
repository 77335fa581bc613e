"""``GET /openapi.json``: the tool API, generated from the models the handlers validate with."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from tools_server.schemas import ErrorResponse
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER, TOOLS


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi() -> dict[str, Any]:
    components: dict[str, Any] = {}
    error = _schema(ErrorResponse, components)
    paths: dict[str, Any] = {}
    for tool in TOOLS:
        error_content = {"application/json": {"schema": error}}
        paths[tool.path] = {
            "post": {
                "operationId": tool.name,
                "summary": tool.description,
                "security": [{"toolSecret": [], "callToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _schema(tool.request, components)}},
                },
                "responses": {
                    "200": {
                        "description": "The answer.",
                        "content": {"application/json": {"schema": _schema(tool.response, components)}},
                    },
                    **{
                        str(code): {"description": text, "content": error_content}
                        for code, text in (
                            (400, "The body or a date in it could not be understood."),
                            (401, "The tool secret or the call token is missing or wrong."),
                            (409, "The call is over, or the action is not allowed in it."),
                            (413, "The body is too large."),
                            (422, "A field is missing, of the wrong type, or unknown."),
                            (503, "A service NEXUS needs cannot answer right now."),
                        )
                    },
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "NEXUS tool API",
            "version": "1.0.0",
            "description": "Tools the voice agents call during a phone call.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "toolSecret": {"type": "apiKey", "in": "header", "name": TOOL_SECRET_HEADER},
                "callToken": {"type": "apiKey", "in": "header", "name": CALL_TOKEN_HEADER},
            },
        },
    }


async def openapi(request: web.Request) -> web.Response:
    """Serve the OpenAPI document of the tool endpoints."""
    return web.json_response(build_openapi())
