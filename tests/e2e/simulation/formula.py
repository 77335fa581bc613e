"""The scoring formula as the README documents it, written out again from the world file alone, so tests can
check NEXUS's scores against it instead of against NEXUS's own output.

    earliest = 1 - (start - span_start) / (span_end - span_start), clamped to [0, 1]
    rating   = rating / 5                    (no rating counts as 3.0)
    distance = max(0, 1 - km / max_distance_km)   (great-circle km from the user's location)
    score    = (w_e * earliest + w_r * rating + w_d * distance) / (w_e + w_r + w_d)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from integrations.simulation.world import World, WorldLocation, WorldProvider

MEAN_EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: WorldLocation, b: WorldLocation) -> float:
    phi_a, phi_b = math.radians(a.lat), math.radians(b.lat)
    half_dphi = (phi_b - phi_a) / 2
    half_dlambda = math.radians(b.lng - a.lng) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(half_dlambda) ** 2
    return 2 * MEAN_EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def provider(world: World, provider_id: str) -> WorldProvider:
    return next(p for p in world.providers if p.id == provider_id)


def score(world: World, provider_id: str, start: datetime, span: tuple[datetime, datetime]) -> float:
    """The score of ``provider_id``'s slot at ``start`` for a campaign whose windows cover ``span``."""
    chosen = provider(world, provider_id)
    weights = world.user.weights
    span_start, span_end = span
    earliest = min(1.0, max(0.0, 1 - (start - span_start) / (span_end - span_start)))
    rating = (3.0 if chosen.rating is None else chosen.rating) / 5
    km = haversine_km(world.user.location, chosen.location)
    distance = max(0.0, 1 - km / world.user.max_distance_km)
    total = weights.earliest + weights.rating + weights.distance
    return (weights.earliest * earliest + weights.rating * rating + weights.distance * distance) / total


@dataclass(frozen=True, slots=True)
class Candidate:
    provider_id: str
    start: datetime
    score: float


def best_feasible(world: World, service: str, windows: list[tuple[datetime, datetime]]) -> Candidate:
    """By brute force: the best open slot of any ``service`` provider within reach that fits the user's free time.

    A slot fits when it lies inside one of ``windows``, starts after the world's ``now`` and overlaps none
    of the user's busy times. Ties go to the earlier start, the higher rating, then the provider's name.
    """
    span = (windows[0][0], max(end for _, end in windows))
    busy = [(b.start, b.end) for b in world.user.busy]
    found: list[tuple[float, datetime, float, str, Candidate]] = []
    for p in world.providers:
        if p.service != service or haversine_km(world.user.location, p.location) > world.user.max_distance_km:
            continue
        for start in p.open_slots:
            end = start + timedelta(minutes=p.slot_minutes)
            inside = any(w_start <= start and end <= w_end for w_start, w_end in windows)
            free = all(end <= b_start or b_end <= start for b_start, b_end in busy)
            if inside and free and start >= world.now:
                value = score(world, p.id, start, span)
                rating = 3.0 if p.rating is None else p.rating
                found.append((-value, start, -rating, p.name, Candidate(p.id, start, value)))
    return min(found, key=lambda row: row[:4])[4]
