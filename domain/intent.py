"""What a person asked for, once their words have been understood."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.models import TimeWindow

MISSING_SERVICE = "service"
MISSING_WINDOWS = "windows"
MISSING_LOCATION = "location"


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """The result of intent parsing; ``missing`` names what still has to be asked for."""

    text: str
    service: str | None
    windows: list[TimeWindow]
    location: str | None
    duration_minutes: int
    language: str
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing
