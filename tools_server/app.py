"""The aiohttp application: tool endpoints, health, OpenAPI, metrics; other routes are added by the caller."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from domain.services.context import Ports
from tools_server.errors import error_middleware
from tools_server.health import health, ready
from tools_server.keys import KNOWN_CALLS, PORTS, READINESS, TOOL_SECRET, ReadinessCheck
from tools_server.known_calls import KnownCalls
from tools_server.metrics import METRICS, Metrics, count_dependency_errors, metrics_endpoint, timing_middleware
from tools_server.openapi import openapi
from tools_server.tools import setup_tool_routes

DEFAULT_MAX_BODY_BYTES = 16 * 1024


def create_app(
    ports: Ports,
    tool_secret: str,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    metrics: Metrics | None = None,
) -> web.Application:
    """Build the tool server around ``ports``. An empty ``tool_secret`` refuses every tool call."""
    app = web.Application(middlewares=[timing_middleware, error_middleware], client_max_size=max_body_bytes)
    app[METRICS] = metrics or Metrics()
    app.cleanup_ctx.append(count_dependency_errors)
    app[PORTS] = ports
    app[TOOL_SECRET] = tool_secret.encode()
    app[KNOWN_CALLS] = KnownCalls()
    app[READINESS] = dict(readiness or {})
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/metrics", metrics_endpoint)
    setup_tool_routes(app)
    return app
