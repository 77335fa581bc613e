"""The one ordering every provider directory uses, so offline and live searches read the same way."""

from __future__ import annotations

from collections.abc import Iterable

from domain.models import GeoPoint, Provider

# Distances are compared in 100 m steps: two practices round the same corner are equally near for a person,
# and between those the better rated one should be phoned first.
_DISTANCE_STEP_KM = 0.1


def normalise_service(service: str) -> str:
    """``" Nail_Salon "`` -> ``"nail salon"``: services are compared as lowercase words."""
    return " ".join(service.replace("_", " ").replace("-", " ").casefold().split())


def rank_providers(providers: Iterable[Provider], near: GeoPoint, radius_km: float, limit: int) -> list[Provider]:
    """The providers with a phone number within ``radius_km`` of ``near``, at most ``limit`` of them.

    Order: distance from ``near`` in whole 100 m steps, nearest first; then rating, best first (an unknown
    rating counts as 3.0, as in scoring); then name; then id, so the order never depends on input order.
    """
    if limit <= 0:
        return []
    ranked: list[tuple[int, float, str, str, Provider]] = []
    for provider in providers:
        if not provider.phone:
            continue
        distance = near.distance_km(provider.location)
        if distance > radius_km:
            continue
        step = int(distance / _DISTANCE_STEP_KM)
        ranked.append((step, -provider.rating_or_default, provider.name.casefold(), provider.id, provider))
    ranked.sort(key=lambda row: row[:4])
    return [row[4] for row in ranked[:limit]]
