"""``compose.yaml`` and ``deploy/Caddyfile`` checked against the code: every variable set is a NEXUS setting,
every command a real ``nexus`` sub-command, every build context there, and the proxy's public paths exactly
the app's public routes (and never /metrics)."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from integrations.crypto import generate_key
from nexus.cli import build_parser
from nexus.settings import Settings
from tests.deploy.files import (
    CADDYFILE,
    ROOT,
    compose_variables,
    read_caddyfile,
    read_compose,
    read_dockerfile,
)

DOMAIN = "nexus.example.com"
VARIABLES = {"NEXUS_DOMAIN": DOMAIN, "POSTGRES_PASSWORD": "pw-for-the-test"}
SETTINGS = {name.upper() for name in Settings.model_fields}
PUBLIC_PREFIXES = {"/api/*", "/webhooks/*", "/oauth/*", "/telegram/*"}
PRIVATE_PATHS = ["/metrics", "/health", "/ready", "/openapi.json"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return read_compose(**VARIABLES)


def nexus_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("command", [""])[0] == "nexus"}


def test_compose_needs_only_variables_that_env_example_documents() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    documented = {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}
    assert compose_variables() == set(VARIABLES)
    assert compose_variables() <= documented
    with pytest.raises(KeyError):
        read_compose()  # without them compose stops too (${VAR:?message})


def test_every_variable_given_to_nexus_is_a_setting_and_the_settings_load(compose: dict[str, Any]) -> None:
    services = nexus_services(compose)
    assert set(services) == {"migrate", "bot", "api"}
    for name, service in services.items():
        environment = {key: str(value) for key, value in service["environment"].items()}
        assert set(environment) <= SETTINGS, f"{name} sets variables NEXUS does not read"
        settings = Settings(_env_file=None, **{key.lower(): value for key, value in environment.items()})
        assert settings.database_url.startswith("postgresql+asyncpg://nexus:pw-for-the-test@postgres:5432/")
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.public_base_url == f"https://{DOMAIN}"
    image_env = set(read_dockerfile().env)
    assert (
        image_env
        - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "HOME"}
        - {v for v in image_env if v.startswith("PIP_")}
        <= SETTINGS
    )


def test_every_command_is_a_real_nexus_command(compose: dict[str, Any]) -> None:
    parser = build_parser()
    commands = [service["command"] for service in nexus_services(compose).values()]
    shell = read_dockerfile().cmd
    assert shell[:2] == ["sh", "-c"]
    commands += [part.split() for part in shell[2].replace("exec ", "").split("&&")]
    assert ["nexus", "db", "upgrade"] in commands and ["nexus", "run"] in commands and ["nexus", "serve"] in commands
    for command in commands:
        assert command[0] == "nexus"
        args = parser.parse_args(command[1:])  # an unknown command or option exits here
        assert callable(args.handler)


def test_the_services_start_in_order_and_scale(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "bot", "api", "caddy"} <= set(services)
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("bot", "api"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["bot"]["environment"]["TELEGRAM_WEBHOOK_URL"] == f"https://{DOMAIN}/telegram/webhook"
    for service in nexus_services(compose).values():
        context = ROOT / service["build"]
        assert (context / "Dockerfile").is_file()
        assert (context / "pyproject.toml").is_file()
    caddy = services["caddy"]
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in caddy["volumes"]}
    assert mounted["./deploy/Caddyfile"] == "/etc/caddy/Caddyfile"
    assert CADDYFILE == ROOT / "deploy" / "Caddyfile" and CADDYFILE.is_file()
    assert caddy["environment"]["NEXUS_DOMAIN"] == DOMAIN


@pytest.fixture
async def public_app(tmp_path: Path) -> AsyncIterator[web.Application]:
    """The app of a fully configured NEXUS, with every optional route: ElevenLabs webhook, OAuth, Telegram."""
    from bot.telegram import build_application, webhook_routes
    from nexus.bootstrap import bootstrap
    from nexus.runtime import conversation_for

    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}",
        public_base_url=f"https://{DOMAIN}",
        elevenlabs_webhook_secret=SecretStr("webhook-secret"),
        google_client_id="client.apps.example",
        google_client_secret=SecretStr("client-secret"),
        encryption_key=SecretStr(generate_key()),
    )
    async with bootstrap(settings, check_schema=False) as nexus:
        application = build_application("123:" + "A" * 35, conversation_for(nexus), webhook=True)
        nexus.web_routes.append(webhook_routes(application, "telegram-secret"))
        yield nexus.create_web_app()


def app_paths(app: web.Application) -> set[str]:
    paths = set()
    for resource in app.router.resources():
        info = resource.get_info()
        paths.add(str(info.get("path") or info.get("formatter")))
    return paths


def proxied_by(path: str) -> list[tuple[str, ...]]:
    """The upstreams of the Caddy routes that proxy ``path`` (Caddy's path matcher: ``*`` as a glob)."""
    routes = read_caddyfile()
    return [r.upstreams for r in routes if r.response is None and any(fnmatch.fnmatch(path, p) for p in r.paths)]


async def test_the_proxy_publishes_exactly_the_public_routes(
    public_app: web.Application, compose: dict[str, Any]
) -> None:
    routes = read_caddyfile()
    assert {p for r in routes if r.response is None for p in r.paths} == PUBLIC_PREFIXES
    assert routes[-1].paths == ("*",) and routes[-1].response is not None  # the rest is not found

    paths = app_paths(public_app)
    public = {p for p in paths if any(fnmatch.fnmatch(p, prefix) for prefix in PUBLIC_PREFIXES)}
    assert {"/api/check-availability", "/webhooks/elevenlabs", "/oauth/google/callback", "/telegram/webhook"} <= public
    for prefix in PUBLIC_PREFIXES:
        assert any(fnmatch.fnmatch(p, prefix) for p in public), f"{prefix} leads to no route of the app"
    for path in public:
        assert len(proxied_by(path)) == 1, path
    for path in PRIVATE_PATHS:
        assert path in paths
        assert proxied_by(path) == [], f"{path} must stay private"

    services = compose["services"]
    for path in public:
        for upstream in proxied_by(path)[0]:
            host, port = upstream.split(":")
            service = services[host]
            assert int(service["environment"]["NEXUS_PORT"]) == int(port)
            expected = "run" if path.startswith("/telegram/") else "serve"
            assert service["command"] == ["nexus", expected], f"{path} goes to {host}"


def test_caddy_reads_the_caddyfile_the_same_way_when_it_is_installed() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed; the hand-made reader above is the check")
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        check=True,
        env={"NEXUS_DOMAIN": DOMAIN, "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    config = json.loads(adapted.stdout)
    server = next(iter(config["apps"]["http"]["servers"].values()))
    assert server["listen"] == [":443"]
    site = server["routes"][0]
    assert site["match"] == [{"host": [DOMAIN]}]
    matched = [tuple(m["path"]) for r in site["handle"][0]["routes"] for m in r.get("match", [])]
    assert matched == [r.paths for r in read_caddyfile() if r.paths != ("*",)]
