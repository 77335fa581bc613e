"""BundledDirectory: radius, service, phone filter, ordering and limit, over explicit and bundled providers."""

from __future__ import annotations

import math

import pytest

from domain.models import GeoPoint, Provider
from integrations.directory import BundledDirectory, GazetteerGeocoder, load_bundled_providers

ORIGIN = GeoPoint(52.5219, 13.4132, label="Alexanderplatz, Berlin")


def km_east(km: float, of: GeoPoint = ORIGIN) -> GeoPoint:
    """A point ``km`` kilometres due east of ``of`` (accurate to metres at these distances)."""
    return GeoPoint(of.lat, of.lng + km / (111.195 * math.cos(math.radians(of.lat))))


def provider(
    name: str,
    km: float,
    *,
    rating: float | None = 4.0,
    service: str = "dentist",
    phone: str = "+493055509999",
) -> Provider:
    return Provider(
        id=name.casefold().replace(" ", "-"),
        name=name,
        service=service,
        phone=phone,
        location=km_east(km),
        rating=rating,
    )


async def names(
    directory: BundledDirectory, service: str = "dentist", radius_km: float = 10, limit: int = 15
) -> list[str]:
    return [p.name for p in await directory.search(service, ORIGIN, radius_km, limit)]


async def test_only_providers_inside_the_radius_are_returned() -> None:
    directory = BundledDirectory([provider("Near", 1.0), provider("Edge", 9.9), provider("Far", 10.2)])

    assert await names(directory, radius_km=10) == ["Near", "Edge"]
    assert await names(directory, radius_km=0.5) == []


async def test_nearest_first_then_best_rated_within_the_same_100_m() -> None:
    directory = BundledDirectory(
        [
            provider("Farther but excellent", 2.0, rating=5.0),
            provider("Close, fair", 0.51, rating=3.5),
            provider("Close, good", 0.55, rating=4.5),
            provider("Close, unrated", 0.53, rating=None),
            provider("Close, poor", 0.52, rating=2.5),
        ]
    )

    assert await names(directory) == [
        "Close, good",
        "Close, fair",
        "Close, unrated",  # an unknown rating counts as 3.0
        "Close, poor",
        "Farther but excellent",
    ]


async def test_name_breaks_a_tie_of_distance_and_rating_regardless_of_input_order() -> None:
    providers = [provider("Zahnwerk", 1.01), provider("Alpha Dental", 1.02), provider("mitte dental", 1.03)]

    assert await names(BundledDirectory(providers)) == ["Alpha Dental", "mitte dental", "Zahnwerk"]
    assert await names(BundledDirectory(providers[::-1])) == ["Alpha Dental", "mitte dental", "Zahnwerk"]


async def test_limit_keeps_the_first_of_the_ordering() -> None:
    directory = BundledDirectory([provider(f"Practice {km}", km) for km in (4, 1, 3, 2, 5)])

    assert await names(directory, limit=2) == ["Practice 1", "Practice 2"]
    assert await names(directory, limit=0) == []


async def test_service_must_match_ignoring_case_spaces_and_underscores() -> None:
    directory = BundledDirectory(
        [provider("Nails", 1, service="nail salon"), provider("Teeth", 1), provider("Hair", 1, service="hairdresser")]
    )

    assert await names(directory, service=" Nail_Salon ") == ["Nails"]
    assert await names(directory, service="NAIL SALON") == ["Nails"]
    assert await names(directory, service="plumber") == []


async def test_providers_without_a_phone_number_are_never_returned() -> None:
    directory = BundledDirectory([provider("Silent", 0.1, phone=""), provider("Reachable", 2)])

    assert await names(directory) == ["Reachable"]


async def test_the_bundle_is_read_on_the_first_search_not_before() -> None:
    load_bundled_providers.cache_clear()
    directory = BundledDirectory()
    assert load_bundled_providers.cache_info().currsize == 0

    await directory.search("dentist", ORIGIN, 10, 1)

    assert load_bundled_providers.cache_info().currsize == 1


@pytest.mark.parametrize("service", ["dentist", "hairdresser", "doctor"])
async def test_bundle_has_a_full_campaign_around_alexanderplatz(service: str) -> None:
    found = await BundledDirectory().search(service, ORIGIN, 10, 15)

    assert len(found) == 15
    assert all(p.service == service and ORIGIN.distance_km(p.location) <= 10 for p in found)
    distances = [ORIGIN.distance_km(p.location) for p in found]
    assert [int(d * 10) for d in distances] == sorted(int(d * 10) for d in distances)


async def test_bundle_skips_its_entries_without_a_phone_number() -> None:
    found = await BundledDirectory().search("dentist", ORIGIN, 10, 100)

    assert "Zahnarztpraxis Invalidenstraße" not in [p.name for p in found]
    assert all(p.phone for p in found)


async def test_a_search_in_munich_finds_munich_providers_only() -> None:
    marienplatz = await GazetteerGeocoder().geocode("Marienplatz")
    assert marienplatz is not None

    found = await BundledDirectory().search("dentist", marienplatz, 10, 15)

    assert len(found) >= 3
    assert all(p.address.endswith("München") for p in found)
