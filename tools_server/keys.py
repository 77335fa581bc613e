"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from domain.services.context import Ports

ReadinessCheck = Callable[[], Awaitable[None]]

PORTS = web.AppKey("ports", Ports)
TOOL_SECRET = web.AppKey("tool_secret", bytes)
READINESS = web.AppKey("readiness", Mapping[str, ReadinessCheck])
