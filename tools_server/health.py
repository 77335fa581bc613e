"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from tools_server.keys import READINESS

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 3.0


async def health(request: web.Request) -> web.Response:
    """Answer as long as the process serves requests."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Check every dependency (database, migrations, hold store); 503 names the ones that fail."""
    results: dict[str, str] = {}
    for name, check in request.app[READINESS].items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
            results[name] = "ok"
        except Exception as exc:  # a readiness probe reports every failure instead of raising
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = str(exc) or type(exc).__name__
    ok = all(v == "ok" for v in results.values())
    return web.json_response({"status": "ready" if ok else "not_ready", "checks": results}, status=200 if ok else 503)
