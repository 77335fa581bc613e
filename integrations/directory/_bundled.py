"""The offline provider directory: invented businesses in Berlin and Munich, shipped as ``providers.json``,
with their opening hours in ``opening_hours.json`` (by provider id), else the service's usual week from the
catalogue of services (``domain/services.json``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from domain.expertise import catalogue
from domain.models import GeoPoint, Provider
from domain.opening_hours import OpeningHours, opening_hours_from_spec
from integrations.directory._data import read_bundled_json
from integrations.directory._ranking import normalise_service, rank_providers


class BundledDirectory:
    """A ``ProviderDirectory`` over a fixed list of providers, ordered as ``rank_providers`` says.

    Without ``providers`` it serves the bundled file, read on the first search (never at import time).
    """

    def __init__(self, providers: Sequence[Provider] | None = None) -> None:
        self._providers = tuple(providers) if providers is not None else None

    async def search(self, service: str, near: GeoPoint, radius_km: float, limit: int) -> list[Provider]:
        wanted = normalise_service(service)
        providers = self._providers if self._providers is not None else load_bundled_providers()
        return rank_providers((p for p in providers if normalise_service(p.service) == wanted), near, radius_km, limit)


@functools.cache
def load_bundled_providers() -> tuple[Provider, ...]:
    """The providers of the bundled file that have a phone number (entries without one cannot be called)."""
    entries = read_bundled_json("providers.json")["providers"]
    return tuple(_provider(entry) for entry in entries if entry.get("phone"))


@functools.cache
def _bundled_hours() -> tuple[dict[str, OpeningHours], dict[str, OpeningHours]]:
    data = read_bundled_json("opening_hours.json")
    services = catalogue()
    # A service's usual week comes from the catalogue of services; this file holds each provider's own hours.
    defaults = {name: opening_hours_from_spec(p.usual_hours) for name, p in services.services.items() if p.usual_hours}
    defaults["*"] = opening_hours_from_spec(services.fallback_hours)
    by_id = {provider_id: opening_hours_from_spec(spec) for provider_id, spec in data["providers"].items()}
    return defaults, by_id


def bundled_opening_hours(provider_id: str, service: str) -> OpeningHours:
    """The provider's own hours from the bundled file, else its service's usual week, else office hours."""
    defaults, by_id = _bundled_hours()
    return by_id.get(provider_id) or defaults.get(normalise_service(service)) or defaults["*"]


def _provider(entry: dict[str, Any]) -> Provider:
    rating = entry.get("rating")
    return Provider(
        id=str(entry["id"]),
        name=str(entry["name"]),
        service=normalise_service(str(entry["service"])),
        phone=str(entry["phone"]),
        location=GeoPoint(float(entry["lat"]), float(entry["lng"]), label=str(entry["name"])),
        address=str(entry.get("address", "")),
        rating=None if rating is None else float(rating),
        review_count=int(entry.get("review_count", 0)),
        opening_hours=bundled_opening_hours(str(entry["id"]), str(entry["service"])),
    )
