"""``GET /openapi.json``: the tool API, generated from the models the handlers validate with."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from tools_server.schemas import ErrorResponse, Refusal
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
    refusal = _schema(Refusal, components)
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
                        "description": "The answer, or a refusal the agent must act on (the call is over, the "
                        "time is taken, a field is missing or unreadable): both carry status and message.",
                        "content": {
                            "application/json": {"schema": {"anyOf": [_schema(tool.response, components), refusal]}}
                        },
                    },
                    **{
                        str(code): {"description": text, "content": error_content}
                        for code, text in (
                            (400, "The body is not a JSON object."),
                            (401, "The tool secret or the call token is missing or wrong (checked first)."),
                            (413, "The body is too large."),
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
