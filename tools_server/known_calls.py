"""Calls this process has recently identified by their token, so a tool request needs no extra database
round trip just to find out which call it belongs to."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from domain.services import tool_calls
from domain.services.context import Ports
from domain.services.tokens import hash_token
from domain.services.tool_calls import CallContext


class KnownCalls:
    """A bounded map from a call token's hash to the call's context, oldest use dropped first.

    Only what never changes about a call is read from a remembered context (its id, purpose, provider and
    target, and its campaign's id, user, windows and timezone): every use case reloads the call and its
    campaign in its own transaction before acting, so a call that has ended since is still refused. Unknown
    tokens are never remembered.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._contexts: OrderedDict[str, CallContext] = OrderedDict()

    def forget(self, token: str | None) -> None:
        """Drop a call that has ended: its context would only take room until the oldest are dropped."""
        if token:
            self._contexts.pop(hash_token(token), None)

    async def open(self, ports: Ports, token: str | None, conversation_id: str | None) -> CallContext:
        key = hash_token(token) if token else None
        known = self._contexts.get(key) if key else None
        if known is None:
            known = await tool_calls.open_call(ports, token)
            if key:
                self._contexts[key] = known
                if len(self._contexts) > self._size:
                    self._contexts.popitem(last=False)
        elif key:
            self._contexts.move_to_end(key)
        return replace(known, conversation_id=conversation_id)
