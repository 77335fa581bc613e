"""Reading the deployment files as Docker, Compose and Caddy would, far enough to check them against the code.

Docker cannot run here, so these readers stand in: the Dockerfile's final ``ENV``/``USER``/``WORKDIR``/``CMD``,
the compose file (PyYAML, with Compose's ``${VAR:?message}`` interpolation), and the Caddyfile's ``handle``
blocks with the paths they match and the upstreams they proxy to.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"


@dataclass
class Image:
    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    workdir: str = "/"
    cmd: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def read_dockerfile(path: Path = DOCKERFILE) -> Image:
    """The final ENV, USER, WORKDIR, VOLUME and CMD of a single-stage Dockerfile."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    image = Image()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                image.env[name] = value
        elif instruction == "USER":
            image.user = rest
        elif instruction == "WORKDIR":
            image.workdir = rest if rest.startswith("/") else f"{image.workdir.rstrip('/')}/{rest}"
        elif instruction == "VOLUME":
            image.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
        elif instruction == "CMD":
            image.cmd = json.loads(rest) if rest.startswith("[") else ["sh", "-c", rest]
        elif instruction == "HEALTHCHECK":
            command = rest[rest.index("CMD") + 3 :].strip()
            image.healthcheck = json.loads(command) if command.startswith("[") else ["sh", "-c", command]
    return image


_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def compose_variables(path: Path = COMPOSE) -> set[str]:
    """The variables Compose itself fills in (``${NAME}``, ``${NAME:?message}``)."""
    return set(_INTERPOLATION.findall(path.read_text(encoding="utf-8")))


def read_compose(path: Path = COMPOSE, **variables: str) -> dict[str, Any]:
    """The compose file with ``variables`` filled in (a variable it needs and lacks raises KeyError)."""
    text = _INTERPOLATION.sub(lambda m: variables[m.group(1)], path.read_text(encoding="utf-8"))
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@dataclass(frozen=True)
class Route:
    paths: tuple[str, ...]
    upstreams: tuple[str, ...]  # "host:port"; a dynamic "a" lookup counts as its name and port
    response: str | None = None  # a fixed answer instead of a proxy


def read_caddyfile(path: Path = CADDYFILE) -> list[Route]:
    """The ``handle`` blocks of the site, in order, each with the paths it matches and where it proxies to."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    matchers: dict[str, tuple[str, ...]] = {}
    for line in lines:
        if match := re.fullmatch(r"@(\w+)\s+path\s+(.+)", line):
            matchers[match.group(1)] = tuple(match.group(2).split())
    routes: list[Route] = []
    current: tuple[str, ...] | None = None
    upstreams: list[str] = []
    response: str | None = None
    depth = 0
    for line in lines:
        if current is None:
            if match := re.fullmatch(r"handle(?:\s+(\S+))?\s*\{", line):
                target = match.group(1)
                if target is None:
                    current = ("*",)
                elif target.startswith("@"):
                    current = matchers[target[1:]]
                else:
                    current = (target,)
                depth, upstreams, response = 1, [], None
            continue
        if match := re.fullmatch(r"reverse_proxy\s+([^{]+?)\s*\{?", line):
            upstreams += match.group(1).split()
        if match := re.fullmatch(r"dynamic\s+a\s+(\S+)\s+(\d+).*", line):
            upstreams.append(f"{match.group(1)}:{match.group(2)}")
        if match := re.fullmatch(r"respond\s+(.+)", line):
            response = match.group(1)
        depth += line.count("{") - line.count("}")
        if depth == 0:
            routes.append(Route(current, tuple(upstreams), response))
            current = None
    return routes
