"""A fake ElevenLabs workspace on 127.0.0.1: secrets, tools, agents and webhooks, stored and listed as the API
does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "xi-sync-test-key"
_ACCESS = {"is_creator": True, "creator_name": "test", "creator_email": "t@example.org", "role": "admin"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeWorkspace:
    """Keeps what was created; every request is recorded in ``seen``. Lists in pages of at most ``page_limit``
    (the real API caps ``page_size`` too), so callers must follow ``next_cursor``."""

    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    secret_values: dict[str, str] = field(default_factory=dict)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    seen: list[Request] = field(default_factory=list)
    page_limit: int = 4
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._check_key])
        app.router.add_get("/v1/convai/secrets", self._list_secrets)
        app.router.add_post("/v1/convai/secrets", self._create_secret)
        app.router.add_patch("/v1/convai/secrets/{id}", self._update_secret)
        app.router.add_get("/v1/convai/tools", self._list_tools)
        app.router.add_post("/v1/convai/tools", self._create_tool)
        app.router.add_patch("/v1/convai/tools/{id}", self._update_tool)
        app.router.add_get("/v1/convai/agents", self._list_agents)
        app.router.add_post("/v1/convai/agents/create", self._create_agent)
        app.router.add_patch("/v1/convai/agents/{id}", self._update_agent)
        app.router.add_get("/v1/convai/agents/{id}", self._get_agent)
        app.router.add_get("/v1/workspace/webhooks", self._list_webhooks)
        app.router.add_post("/v1/workspace/webhooks", self._create_webhook)
        app.router.add_patch("/v1/workspace/webhooks/{id}", self._update_webhook)
        app.router.add_delete("/v1/workspace/webhooks/{id}", self._delete_webhook)
        return app

    def requests(self, method: str, path_start: str) -> list[Request]:
        return [r for r in self.seen if r.method == method and r.path.startswith(path_start)]

    def add_foreign_tool(self, name: str) -> str:
        tool_id = self._new_id("tool")
        self.tools[tool_id] = {"type": "webhook", "name": name, "description": "Not ours."}
        return tool_id

    def add_foreign_agent(self, name: str) -> str:
        agent_id = self._new_id("agent")
        self.agents[agent_id] = {"name": name, "tags": []}
        return agent_id

    def add_foreign_webhook(self, name: str, url: str) -> str:
        webhook_id = self._new_id("webhook")
        self.webhooks[webhook_id] = {"name": name, "webhook_url": url, "is_disabled": False}
        return webhook_id

    def _new_id(self, kind: str) -> str:
        return f"{kind}_{next(self._ids):04d}"

    @web.middleware
    async def _check_key(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.seen.append(Request(request.method, request.path, dict(request.query), body))
        if request.headers.get("xi-api-key") != API_KEY:
            return web.json_response({"detail": "invalid api key"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    def _page(self, request: web.Request, items: list[dict[str, Any]], key: str) -> web.Response:
        size = min(int(request.query.get("page_size", "30")), self.page_limit)
        start = int(request.query.get("cursor", "0"))
        page = items[start : start + size]
        more = start + size < len(items)
        return web.json_response({key: page, "has_more": more, "next_cursor": str(start + size) if more else None})

    async def _list_secrets(self, request: web.Request) -> web.Response:
        search = request.query.get("search", "")
        found = [
            {"type": "stored", "secret_id": sid, "name": s["name"], "used_by": {"tools": [], "agents": []}}
            for sid, s in self.secrets.items()
            if search in s["name"]
        ]
        return web.json_response({"secrets": found})

    async def _create_secret(self, request: web.Request) -> web.Response:
        body = await request.json()
        secret_id = self._new_id("secret")
        self.secrets[secret_id] = {"name": body["name"]}
        self.secret_values[secret_id] = body["value"]
        return web.json_response({"type": "stored", "secret_id": secret_id, "name": body["name"]})

    async def _update_secret(self, request: web.Request) -> web.Response:
        secret_id = request.match_info["id"]
        if secret_id not in self.secrets:
            return web.json_response({"detail": "not found"}, status=404)
        body = await request.json()
        self.secret_values[secret_id] = body["value"]
        return web.json_response({"type": "stored", "secret_id": secret_id, "name": body["name"]})

    def _tool(self, tool_id: str) -> dict[str, Any]:
        return {
            "id": tool_id,
            "tool_config": self.tools[tool_id],
            "access_info": {
                "is_creator": True,
                "creator_name": "test",
                "creator_email": "t@example.org",
                "role": "admin",
            },
            "usage_stats": {"avg_latency_secs": 0.0},
        }

    async def _list_tools(self, request: web.Request) -> web.Response:
        return self._page(request, [self._tool(tool_id) for tool_id in self.tools], "tools")

    async def _create_tool(self, request: web.Request) -> web.Response:
        tool_id = self._new_id("tool")
        self.tools[tool_id] = (await request.json())["tool_config"]
        return web.json_response(self._tool(tool_id))

    async def _update_tool(self, request: web.Request) -> web.Response:
        tool_id = request.match_info["id"]
        if tool_id not in self.tools:
            return web.json_response({"detail": "not found"}, status=404)
        self.tools[tool_id] = (await request.json())["tool_config"]
        return web.json_response(self._tool(tool_id))

    def _summary(self, agent_id: str) -> dict[str, Any]:
        agent = self.agents[agent_id]
        return {
            "agent_id": agent_id,
            "name": agent["name"],
            "voice_id": "voice_default",
            "tags": agent.get("tags", []),
            "created_at_unix_secs": 1764493200,
            "updated_at_unix_secs": 1764493200,
            "access_info": {
                "is_creator": True,
                "creator_name": "test",
                "creator_email": "t@example.org",
                "role": "admin",
            },
        }

    async def _list_agents(self, request: web.Request) -> web.Response:
        search = request.query.get("search", "").lower()
        found = [self._summary(a) for a, agent in self.agents.items() if search in agent["name"].lower()]
        return self._page(request, found, "agents")

    async def _create_agent(self, request: web.Request) -> web.Response:
        agent_id = self._new_id("agent")
        self.agents[agent_id] = await request.json()
        return web.json_response({"agent_id": agent_id})

    async def _update_agent(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["id"]
        if agent_id not in self.agents:
            return web.json_response({"detail": "not found"}, status=404)
        self.agents[agent_id] = await request.json()
        return web.json_response({"agent_id": agent_id, "name": self.agents[agent_id]["name"]})

    async def _get_agent(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["id"]
        if agent_id not in self.agents:
            return web.json_response({"detail": "not found"}, status=404)
        agent = self.agents[agent_id]
        return web.json_response(
            {
                "agent_id": agent_id,
                "name": agent["name"],
                "tags": agent.get("tags", []),
                "conversation_config": agent.get("conversation_config", {}),
                "platform_settings": agent.get("platform_settings", {}),
                "metadata": {"created_at_unix_secs": 1764493200, "updated_at_unix_secs": 1764493200},
            }
        )

    def _webhook(self, webhook_id: str) -> dict[str, Any]:
        hook = self.webhooks[webhook_id]
        return {
            "name": hook["name"],
            "webhook_id": webhook_id,
            "webhook_url": hook["webhook_url"],
            "is_disabled": hook["is_disabled"],
            "is_auto_disabled": hook.get("is_auto_disabled", False),
            "created_at_unix": 1764493200,
            "auth_type": "hmac",
        }

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        return web.json_response({"webhooks": [self._webhook(webhook_id) for webhook_id in self.webhooks]})

    async def _create_webhook(self, request: web.Request) -> web.Response:
        settings = (await request.json())["settings"]
        if settings.get("auth_type") != "hmac" or not settings["webhook_url"].startswith("https://"):
            return web.json_response({"detail": "an HMAC webhook needs an HTTPS address"}, status=422)
        webhook_id = self._new_id("webhook")
        self.webhooks[webhook_id] = {
            "name": settings["name"],
            "webhook_url": settings["webhook_url"],
            "is_disabled": False,
        }
        self.webhook_secrets[webhook_id] = f"wsec_{webhook_id}"
        return web.json_response({"webhook_id": webhook_id, "webhook_secret": self.webhook_secrets[webhook_id]})

    async def _update_webhook(self, request: web.Request) -> web.Response:
        webhook_id = request.match_info["id"]
        if webhook_id not in self.webhooks:
            return web.json_response({"detail": "not found"}, status=404)
        body = await request.json()
        hook = self.webhooks[webhook_id]
        hook.update(name=body["name"], is_disabled=body["is_disabled"])
        if not body["is_disabled"]:
            hook["is_auto_disabled"] = False
        return web.json_response({"status": "ok"})

    async def _delete_webhook(self, request: web.Request) -> web.Response:
        webhook_id = request.match_info["id"]
        if self.webhooks.pop(webhook_id, None) is None:
            return web.json_response({"detail": "not found"}, status=404)
        return web.json_response({"status": "ok"})
