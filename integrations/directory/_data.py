"""Reading the JSON files shipped inside this package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def read_bundled_json(file_name: str) -> Any:
    """The parsed content of ``file_name`` next to this module (works from a wheel as from a checkout)."""
    return json.loads(resources.files("integrations.directory").joinpath(file_name).read_text(encoding="utf-8"))
