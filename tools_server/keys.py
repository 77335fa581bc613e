"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from domain.services.context import Ports
from tools_server.known_calls import KnownCalls

ReadinessCheck = Callable[[], Awaitable[None]]

PORTS = web.AppKey("ports", Ports)
TOOL_SECRET = web.AppKey("tool_secret", bytes)
READINESS = web.AppKey("readiness", Mapping[str, ReadinessCheck])
KNOWN_CALLS = web.AppKey("known_calls", KnownCalls)
