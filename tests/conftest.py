"""Shared fixtures: where the real PostgreSQL and Redis are, and what happens when they are not there.

Locally an unreachable server skips the tests that need it, with the reason; under CI (``CI=true``)
it fails them, so real-server tests can never silently skip there.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get("NEXUS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("NEXUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def _require(url: str, default_port: int, what: str) -> str:
    if _reachable(url, default_port):
        return url
    message = f"{what} at {urlsplit(url).netloc} is unreachable"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI needs it.")
    pytest.skip(f"{message}; start it or set the URL to run these tests.")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the real PostgreSQL test database."""
    return _require(POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis server."""
    return _require(REDIS_URL, 6379, "Redis")
