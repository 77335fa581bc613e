"""What a person asked for, once their words have been understood."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.models import TimeWindow

MISSING_SERVICE = "service"
MISSING_WINDOWS = "windows"
MISSING_LOCATION = "location"


def missing_parts(service: str | None, windows: list[TimeWindow], location: str | None) -> list[str]:
    """Which of service, windows and location a reading still lacks, in the order they are asked for."""
    missing = []
    if service is None:
        missing.append(MISSING_SERVICE)
    if not windows:
        missing.append(MISSING_WINDOWS)
    if location is None:
        missing.append(MISSING_LOCATION)
    return missing


@dataclass(frozen=True, slots=True)
class DoubtOption:
    """One reading the user can pick: its label, in the request's language, and the windows it means."""

    label: str
    windows: list[TimeWindow]


@dataclass(frozen=True, slots=True)
class Doubt:
    """A part of the request that reads more than one way: the user is asked instead of guessed for."""

    question: str
    options: list[DoubtOption]


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
    doubts: list[Doubt] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing
