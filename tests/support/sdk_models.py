"""Checking what NEXUS sends against the ElevenLabs SDK's own pydantic models.

The SDK's models accept unknown fields (``extra="allow"``), so validating alone proves little: a misspelt
field would pass and be ignored by the API. ``unknown_fields`` walks the validated model and names every
field the SDK does not know.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel


def unknown_fields(value: Any, where: str = "") -> Iterator[str]:
    """Every field under ``value`` (a validated SDK model) that its model does not declare."""
    if isinstance(value, BaseModel):
        for name in value.model_extra or {}:
            yield f"{where}.{name}".lstrip(".")
        for name in type(value).model_fields:
            yield from unknown_fields(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from unknown_fields(item, f"{where}[{key}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from unknown_fields(item, f"{where}[{index}]")
