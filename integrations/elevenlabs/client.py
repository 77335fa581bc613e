"""The one place an ElevenLabs SDK client is built, so the gateway and the agent sync share its setup."""

from __future__ import annotations

import httpx
from elevenlabs import AsyncElevenLabs

# Per-request timeouts are set where the requests are made; this only bounds a request that sets none.
DEFAULT_TIMEOUT_SECONDS = 30.0


def make_elevenlabs_client(
    api_key: str, base_url: str | None = None, *, http_client: httpx.AsyncClient | None = None
) -> AsyncElevenLabs:
    """An async ElevenLabs client; ``base_url`` points it elsewhere (tests use a server on 127.0.0.1).

    Pass ``http_client`` to own the connection pool's lifetime (close it at shutdown); without it the SDK
    keeps a pool of its own for the life of the process.
    """
    if not api_key:
        raise ValueError("An ElevenLabs API key is needed; set ELEVENLABS_API_KEY.")
    return AsyncElevenLabs(
        api_key=api_key,
        base_url=base_url.rstrip("/") if base_url else None,
        timeout=DEFAULT_TIMEOUT_SECONDS,
        httpx_client=http_client,
    )
