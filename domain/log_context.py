"""Which campaign and call the current task works for, so every log line can name them.

The tool server binds them once it knows the call (from its token); the log formatter reads them. Tasks
started meanwhile inherit them, as ``contextvars`` do.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_campaign_id: ContextVar[str | None] = ContextVar("nexus_campaign_id", default=None)
_call_id: ContextVar[str | None] = ContextVar("nexus_call_id", default=None)


def bind(campaign_id: str | None, call_id: str | None = None) -> None:
    """From now on, in this task, log lines name this campaign and call."""
    _campaign_id.set(campaign_id)
    _call_id.set(call_id)


def current() -> tuple[str | None, str | None]:
    """The campaign id and call id bound in this task (``None`` when unknown)."""
    return _campaign_id.get(), _call_id.get()


def cleared() -> tuple[Token[str | None], Token[str | None]]:
    """Forget the ids (at the start of a request); the tokens give the previous ones back with ``restore``."""
    return _campaign_id.set(None), _call_id.set(None)


def restore(tokens: tuple[Token[str | None], Token[str | None]]) -> None:
    _campaign_id.reset(tokens[0])
    _call_id.reset(tokens[1])
