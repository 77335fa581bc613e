"""GazetteerGeocoder and parse_coordinates: spellings, fillers, cities, ambiguity and unknown places."""

from __future__ import annotations

import pytest

from domain.models import GeoPoint
from integrations.directory import GazetteerGeocoder, Place, load_bundled_places, parse_coordinates

MUNICH_CENTRE = GeoPoint(48.1374, 11.5755)


async def label_of(text: str, near: GeoPoint | None = None) -> str | None:
    point = await GazetteerGeocoder().geocode(text, near)
    return None if point is None else point.label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Alexanderplatz", "Alexanderplatz, Berlin"),
        ("near Alex", "Alexanderplatz, Berlin"),
        ("  ALEXANDER-PLATZ!! ", "Alexanderplatz, Berlin"),
        ("Berlin Mitte", "Mitte, Berlin"),
        ("Berlin-Mitte", "Mitte, Berlin"),
        ("Kreuzberg, Berlin", "Kreuzberg, Berlin"),
        ("in Kreuzberg, Berlin, Germany", "Kreuzberg, Berlin"),
        ("Neukölln", "Neukölln, Berlin"),
        ("Neukoelln", "Neukölln, Berlin"),
        ("neukolln", "Neukölln, Berlin"),
        ("Schoeneberg", "Schöneberg, Berlin"),
        ("Ku'damm", "Kurfürstendamm, Berlin"),
        ("Warschauer Str.", "Warschauer Straße, Berlin"),
        ("S Hackescher Markt", "Hackescher Markt, Berlin"),
        ("Alexanderplatz 1, 10178 Berlin", "Alexanderplatz, Berlin"),
        ("Berlin", "Berlin"),
        ("München", "Munich"),
        ("Muenchen", "Munich"),
        ("munich city centre", "Munich"),
        ("Marienplatz, München", "Marienplatz, Munich"),
        ("Stachus", "Karlsplatz, Munich"),
        ("Sendlinger-Tor-Platz", "Sendlinger Tor, Munich"),
    ],
)
async def test_place_text_is_found_however_it_is_written(text: str, label: str) -> None:
    assert await label_of(text) == label


async def test_the_point_is_the_place_s_coordinates() -> None:
    point = await GazetteerGeocoder().geocode("near Alex")

    assert point == GeoPoint(52.5219, 13.4132, label="Alexanderplatz, Berlin")


async def test_a_name_in_both_cities_follows_the_city_named_in_the_text() -> None:
    assert await label_of("Hauptbahnhof") == "Hauptbahnhof, Berlin"
    assert await label_of("Munich Hauptbahnhof") == "Hauptbahnhof, Munich"
    assert await label_of("Hbf München") == "Hauptbahnhof, Munich"


async def test_a_name_in_both_cities_is_the_one_nearest_the_user_when_no_city_is_named() -> None:
    assert await label_of("Ostbahnhof", near=MUNICH_CENTRE) == "Ostbahnhof, Munich"
    assert await label_of("Ostbahnhof Berlin", near=MUNICH_CENTRE) == "Ostbahnhof, Berlin"


@pytest.mark.parametrize(
    "text",
    ["Atlantis", "", "   ", "near", "Frankfurt Hauptbahnhof", "Marienplatz, Berlin", "Kreuzberg and Neukölln"],
)
async def test_unknown_or_contradictory_text_is_no_place(text: str) -> None:
    assert await label_of(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52.5219,13.4132", GeoPoint(52.5219, 13.4132, label="52.52190, 13.41320")),
        (" 48.1374 ; 11.5755 ", GeoPoint(48.1374, 11.5755, label="48.13740, 11.57550")),
        ("-33.8688 151.2093", GeoPoint(-33.8688, 151.2093, label="-33.86880, 151.20930")),
    ],
)
def test_coordinates_are_parsed(text: str, expected: GeoPoint) -> None:
    assert parse_coordinates(text) == expected


@pytest.mark.parametrize("text", ["95.0, 13.4", "52.5, 190", "52.5", "52.5, 13.4, 7", "Alexanderplatz", "52,5 13,4"])
def test_anything_but_valid_coordinates_is_not_parsed(text: str) -> None:
    assert parse_coordinates(text) is None


async def test_the_geocoder_answers_coordinates_without_a_lookup() -> None:
    geocoder = GazetteerGeocoder(places=[])

    assert await geocoder.geocode("52.52, 13.405") == GeoPoint(52.52, 13.405, label="52.52000, 13.40500")


async def test_explicit_places_replace_the_bundle() -> None:
    geocoder = GazetteerGeocoder(
        [
            Place("Springfield", "Springfield", 40.0, -89.0, kind="city"),
            Place("Evergreen Terrace", "Springfield", 40.01, -89.01, kind="street", aliases=("742 Evergreen",)),
        ]
    )

    assert await geocoder.geocode("Evergreen Terrace, Springfield") == GeoPoint(
        40.01, -89.01, label="Evergreen Terrace, Springfield"
    )
    assert await geocoder.geocode("Alexanderplatz") is None


async def test_every_bundled_name_and_alias_finds_its_own_place_when_its_city_is_named() -> None:
    """A data check: no alias is shadowed by another place of the same city."""
    geocoder = GazetteerGeocoder()
    for place in load_bundled_places():
        for name in (place.name, *place.aliases):
            text = name if place.kind == "city" else f"{name}, {place.city}"
            assert await geocoder.geocode(text) == place.point(), text
