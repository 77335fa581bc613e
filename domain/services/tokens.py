"""Per-call secrets: the agent carries the plain token, the database keeps only its hash."""

from __future__ import annotations

import hashlib
import secrets


def new_call_token() -> str:
    """A fresh unguessable token for one call."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a call token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
