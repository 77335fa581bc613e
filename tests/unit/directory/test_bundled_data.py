"""Sanity of the JSON files shipped with the offline directory."""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from typing import Any

import pytest

from domain.models import GeoPoint
from integrations.directory import load_bundled_places, normalise_service

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# (south, north, west, east) around each city's boundary.
BOUNDS = {"Berlin": (52.33, 52.68, 13.08, 13.77), "Munich": (48.06, 48.25, 11.36, 11.73)}
CITY_IN_ADDRESS = {"Berlin": "Berlin", "München": "Munich"}
ALEXANDERPLATZ = GeoPoint(52.5219, 13.4132)


def read(file_name: str) -> Any:
    return json.loads(resources.files("integrations.directory").joinpath(file_name).read_text(encoding="utf-8"))


PROVIDERS: list[dict[str, Any]] = read("providers.json")["providers"]
PLACES: list[dict[str, Any]] = read("gazetteer.json")["places"]


def inside(city: str, lat: float, lng: float) -> bool:
    south, north, west, east = BOUNDS[city]
    return south <= lat <= north and west <= lng <= east


def test_there_are_enough_providers_and_services() -> None:
    with_phone = [p for p in PROVIDERS if p["phone"]]
    assert len(with_phone) >= 60
    assert len({p["service"] for p in with_phone}) >= 8


def test_provider_ids_and_phone_numbers_are_unique() -> None:
    assert len({p["id"] for p in PROVIDERS}) == len(PROVIDERS)
    phones = [p["phone"] for p in PROVIDERS if p["phone"]]
    assert len(set(phones)) == len(phones)


@pytest.mark.parametrize("entry", PROVIDERS, ids=lambda p: p["id"])
def test_each_provider_is_well_formed(entry: dict[str, Any]) -> None:
    assert entry["name"].strip() == entry["name"] != ""
    assert entry["service"] == normalise_service(entry["service"])
    assert entry["phone"] is None or E164.match(entry["phone"])
    assert entry["rating"] is None or 3.0 <= entry["rating"] <= 5.0
    assert isinstance(entry["review_count"], int)
    assert entry["review_count"] >= 0
    city = CITY_IN_ADDRESS[entry["address"].rsplit(" ", 1)[-1]]
    assert inside(city, entry["lat"], entry["lng"])


def test_some_providers_have_no_rating_and_some_no_phone() -> None:
    """The offline world should exercise the code paths for both."""
    assert sum(p["rating"] is None for p in PROVIDERS) >= 3
    assert sum(p["phone"] is None for p in PROVIDERS) >= 1


@pytest.mark.parametrize("service", ["dentist", "hairdresser", "doctor"])
def test_the_main_services_have_at_least_eight_callable_providers_near_alexanderplatz(service: str) -> None:
    near = [
        p
        for p in PROVIDERS
        if p["service"] == service and p["phone"] and ALEXANDERPLATZ.distance_km(GeoPoint(p["lat"], p["lng"])) <= 10
    ]
    assert len(near) >= 8


def test_munich_has_providers_of_the_main_services() -> None:
    munich = Counter(p["service"] for p in PROVIDERS if p["address"].endswith("München") and p["phone"])
    assert all(munich[service] >= 3 for service in ("dentist", "hairdresser", "doctor"))


def test_the_gazetteer_has_enough_places_in_known_cities() -> None:
    assert len(PLACES) >= 40
    cities = {p["name"] for p in PLACES if p["kind"] == "city"}
    assert cities == {"Berlin", "Munich"}
    for place in PLACES:
        assert place["city"] in cities, place["name"]
        assert inside(place["city"], place["lat"], place["lng"]), place["name"]


@pytest.mark.parametrize(
    "name",
    [
        "Alexanderplatz",
        "Mitte",
        "Kreuzberg",
        "Friedrichshain",
        "Prenzlauer Berg",
        "Charlottenburg",
        "Neukölln",
        "Schöneberg",
        "Potsdamer Platz",
        "Hauptbahnhof",
        "Marienplatz",
        "Schwabing",
        "Maxvorstadt",
        "Sendlinger Tor",
    ],
)
def test_the_gazetteer_knows_the_well_known_places(name: str) -> None:
    assert name in {p.name for p in load_bundled_places()}


CITY_CENTRES = {"Berlin": ALEXANDERPLATZ, "Munich": GeoPoint(48.1374, 11.5755)}  # Alexanderplatz, Marienplatz


@pytest.mark.parametrize("city", sorted(CITY_CENTRES))
def test_every_service_the_parser_knows_can_be_called_in_both_cities(city: str) -> None:
    from integrations.intent.vocabulary import SERVICE_SYNONYMS

    centre = CITY_CENTRES[city]
    callable_near = {
        p["service"]
        for p in PROVIDERS
        if p["phone"]
        and CITY_IN_ADDRESS[p["address"].rsplit(" ", 1)[-1]] == city
        and centre.distance_km(GeoPoint(p["lat"], p["lng"])) <= 10
    }
    assert set(SERVICE_SYNONYMS) - callable_near == set()
