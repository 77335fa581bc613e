"""GooglePlacesDirectory and GoogleGeocoder against a fake Places Text Search server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from domain.errors import DependencyUnavailable
from domain.models import GeoPoint
from domain.opening_hours import OpeningPeriod
from integrations.google.places import GoogleGeocoder, GooglePlacesDirectory, normalise_phone

API_KEY = "test-places-key-4f9a"
ALEXANDERPLATZ = GeoPoint(52.5219, 13.4132)
DIRECTORY_FIELDS = {
    "places.id",
    "places.displayName",
    "places.formattedAddress",
    "places.location",
    "places.rating",
    "places.userRatingCount",
    "places.internationalPhoneNumber",
    "places.regularOpeningHours",
    "nextPageToken",
}
ADDRESS = "Alexanderplatz 1, 10178 Berlin, Deutschland"
KM_PER_DEGREE_LNG = 111.195 * 0.6087  # at Berlin's latitude


def place(
    place_id: str, km_east: float, *, phone: str | None = "+49 30 5550 1000", rating: float = 4.2
) -> dict[str, Any]:
    """A Places API (New) place ``km_east`` of Alexanderplatz, as the API would send it."""
    answer: dict[str, Any] = {
        "id": place_id,
        "displayName": {"text": f"Praxis {place_id}", "languageCode": "de"},
        "formattedAddress": ADDRESS,
        "location": {"latitude": ALEXANDERPLATZ.lat, "longitude": ALEXANDERPLATZ.lng + km_east / KM_PER_DEGREE_LNG},
        "rating": rating,
        "userRatingCount": 42,
        "nationalPhoneNumber": "030 55501000",
    }
    if phone is not None:
        answer["internationalPhoneNumber"] = phone
    return answer


@dataclass
class FakePlaces:
    """Text Search as a script: the page to answer for each page token, and everything that was sent."""

    pages: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    canned: web.Response | None = None  # answers every request instead of the pages
    hold: asyncio.Event | None = None
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        if self.hold is not None:
            await self.hold.wait()
        if self.canned is not None:
            return self.canned
        return web.json_response(self.pages.get(body.get("pageToken"), {}))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]


@pytest.fixture
async def fake() -> FakePlaces:
    return FakePlaces()


@pytest.fixture
async def base_url(fake: FakePlaces, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> str:
    app = web.Application()
    app.router.add_post("/v1/places:searchText", fake.handle)
    server = await aiohttp_server(app)
    return str(server.make_url(""))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def directory(session: aiohttp.ClientSession, base_url: str) -> GooglePlacesDirectory:
    return GooglePlacesDirectory(session, API_KEY, base_url=base_url, timeout_seconds=2)


@pytest.fixture
def geocoder(session: aiohttp.ClientSession, base_url: str) -> GoogleGeocoder:
    return GoogleGeocoder(session, API_KEY, base_url=base_url, timeout_seconds=2)


def three_pages(fake: FakePlaces) -> None:
    fake.pages = {
        None: {
            "places": [
                place("a", 1.0),
                place("no-phone", 0.5, phone=None),
                place("far-away", 30.0),
                place("national-only", 0.3, phone="030 5550 1001"),
            ],
            "nextPageToken": "page-2",
        },
        "page-2": {
            "places": [place("e", 2.0, phone="+49 (0)30 5550-1002"), place("f", 0.2, rating=4.9), place("a", 1.0)],
            "nextPageToken": "page-3",
        },
        "page-3": {"places": [place("g", 3.0)]},
    }


# --- the directory ------------------------------------------------------------------------------------------


async def test_the_request_carries_key_field_mask_query_and_location_bias(
    directory: GooglePlacesDirectory, fake: FakePlaces
) -> None:
    fake.pages = {None: {"places": [place("a", 1.0)]}}

    await directory.search("dentist", ALEXANDERPLATZ, 10, 15)

    [(headers, body)] = fake.requests
    assert headers["X-Goog-Api-Key"] == API_KEY
    assert set(headers["X-Goog-FieldMask"].split(",")) == DIRECTORY_FIELDS
    assert body == {
        "textQuery": "dentist",
        "locationBias": {
            "circle": {"center": {"latitude": 52.5219, "longitude": 13.4132}, "radius": 10_000.0},
        },
        "pageSize": 20,
    }


async def test_pages_are_followed_with_the_same_request_until_enough_providers(
    directory: GooglePlacesDirectory, fake: FakePlaces
) -> None:
    three_pages(fake)

    found = await directory.search("dentist", ALEXANDERPLATZ, 10, 3)

    assert [p.id for p in found] == ["f", "a", "e"]
    first, second = fake.bodies
    assert "pageToken" not in first
    assert second == {**first, "pageToken": "page-2"}


async def test_only_callable_providers_inside_the_radius_come_back_nearest_first(
    directory: GooglePlacesDirectory, fake: FakePlaces
) -> None:
    three_pages(fake)

    found = await directory.search("Dentist", ALEXANDERPLATZ, 10, 15)

    assert len(fake.requests) == 3
    assert [p.id for p in found] == ["f", "a", "e", "g"]
    e = found[2]
    assert e.phone == "+493055501002"
    assert e.name == "Praxis e"
    assert e.service == "dentist"
    assert e.address == ADDRESS
    assert e.rating == 4.2
    assert e.review_count == 42
    assert ALEXANDERPLATZ.distance_km(e.location) == pytest.approx(2.0, abs=0.01)


def _at(day: int, hour: int, minute: int = 0) -> dict[str, int]:
    return {"day": day, "hour": hour, "minute": minute}


async def test_regular_opening_hours_come_along_with_each_provider(
    directory: GooglePlacesDirectory, fake: FakePlaces
) -> None:
    lunch_break = place("lunch", 0.1)  # Monday 08:00-12:00 and 14:00-18:00, Wednesday morning only
    lunch_break["regularOpeningHours"] = {
        "openNow": False,
        "periods": [
            {"open": _at(1, 8), "close": _at(1, 12)},
            {"open": _at(1, 14), "close": _at(1, 18)},
            {"open": _at(3, 8, 30), "close": _at(3, 12)},
        ],
        "weekdayDescriptions": ["Monday: 8:00 AM – 12:00 PM, 2:00 – 6:00 PM"],
    }
    late = place("late", 0.2)  # Saturday 20:00 to Sunday 02:00, and Sunday 22:00 to Monday 01:00
    late["regularOpeningHours"] = {
        "periods": [{"open": _at(6, 20), "close": _at(0, 2)}, {"open": _at(0, 22), "close": _at(1, 1)}]
    }
    always = place("always", 0.3)
    always["regularOpeningHours"] = {"openNow": True, "periods": [{"open": _at(0, 0)}]}
    broken = place("broken", 0.4)
    broken["regularOpeningHours"] = {"periods": [{"open": {"day": 9, "hour": 8}, "close": _at(1, 9)}]}
    fake.pages = {None: {"places": [lunch_break, late, always, broken, place("unknown", 0.5)]}}

    found = {p.id: p.opening_hours for p in await directory.search("dentist", ALEXANDERPLATZ, 10, 15)}

    assert found["lunch"] is not None and found["lunch"].periods == (
        OpeningPeriod(0, 8 * 60, 12 * 60),
        OpeningPeriod(0, 14 * 60, 18 * 60),
        OpeningPeriod(2, 8 * 60 + 30, 12 * 60),
    )
    assert found["late"] is not None and found["late"].periods == (
        OpeningPeriod(0, 0, 60),
        OpeningPeriod(5, 20 * 60, 24 * 60),
        OpeningPeriod(6, 0, 2 * 60),
        OpeningPeriod(6, 22 * 60, 24 * 60),
    )
    assert found["always"] is not None and found["always"].periods == tuple(
        OpeningPeriod(day, 0, 24 * 60) for day in range(7)
    )
    assert found["broken"] is None  # unreadable hours count as unknown: the provider is called as before
    assert found["unknown"] is None


async def test_paging_stops_after_three_pages_even_if_google_offers_more(
    directory: GooglePlacesDirectory, fake: FakePlaces
) -> None:
    fake.pages = {token: {"nextPageToken": "again"} for token in (None, "again")}

    assert await directory.search("dentist", ALEXANDERPLATZ, 10, 15) == []
    assert len(fake.requests) == 3


async def test_the_bias_circle_is_capped_at_what_the_api_accepts(
    directory: GooglePlacesDirectory, fake: FakePlaces
) -> None:
    await directory.search("dentist", ALEXANDERPLATZ, 80, 15)

    assert fake.bodies[0]["locationBias"]["circle"]["radius"] == 50_000.0


async def test_no_request_is_made_for_nothing(directory: GooglePlacesDirectory, fake: FakePlaces) -> None:
    assert await directory.search("dentist", ALEXANDERPLATZ, 10, 0) == []
    assert await directory.search("  ", ALEXANDERPLATZ, 10, 15) == []
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "sentence"),
    [
        (403, {"error": {"code": 403, "message": "API key not valid.", "status": "PERMISSION_DENIED"}}, "turned"),
        (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}}, "turned"),
        (429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, "having trouble"),
        (500, "Internal error", "having trouble"),
        (503, None, "having trouble"),
    ],
)
async def test_http_errors_become_dependency_unavailable_without_logging_the_key(
    directory: GooglePlacesDirectory,
    fake: FakePlaces,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: object,
    sentence: str,
) -> None:
    fake.canned = web.json_response(body, status=status) if isinstance(body, dict) else web.Response(status=status)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(DependencyUnavailable, match=sentence) as raised:
        await directory.search("dentist", ALEXANDERPLATZ, 10, 15)

    assert str(raised.value).endswith(".")
    assert f"HTTP {status}" in caplog.text
    assert API_KEY not in caplog.text


async def test_a_google_error_status_is_logged(
    directory: GooglePlacesDirectory, fake: FakePlaces, caplog: pytest.LogCaptureFixture
) -> None:
    fake.canned = web.json_response({"error": {"code": 403, "status": "PERMISSION_DENIED"}}, status=403)

    with pytest.raises(DependencyUnavailable):
        await directory.search("dentist", ALEXANDERPLATZ, 10, 15)

    assert "PERMISSION_DENIED" in caplog.text


async def test_a_search_that_takes_too_long_becomes_dependency_unavailable(
    session: aiohttp.ClientSession, base_url: str, fake: FakePlaces
) -> None:
    fake.hold = asyncio.Event()
    impatient = GooglePlacesDirectory(session, API_KEY, base_url=base_url, timeout_seconds=0.2)
    try:
        with pytest.raises(DependencyUnavailable, match="did not answer"):
            await impatient.search("dentist", ALEXANDERPLATZ, 10, 15)
    finally:
        fake.hold.set()


async def test_an_unreachable_server_becomes_dependency_unavailable(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    nowhere = GooglePlacesDirectory(session, API_KEY, base_url=f"http://127.0.0.1:{unused_tcp_port}")

    with pytest.raises(DependencyUnavailable, match="did not answer"):
        await nowhere.search("dentist", ALEXANDERPLATZ, 10, 15)


@pytest.mark.parametrize("answer", [web.Response(text="<html>oops</html>"), web.json_response(["not", "an object"])])
async def test_an_unreadable_answer_becomes_dependency_unavailable(
    directory: GooglePlacesDirectory, fake: FakePlaces, answer: web.Response
) -> None:
    fake.canned = answer

    with pytest.raises(DependencyUnavailable, match="could not be read"):
        await directory.search("dentist", ALEXANDERPLATZ, 10, 15)


def test_an_api_key_is_required(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="GOOGLE_MAPS_API_KEY"):
        GooglePlacesDirectory(session, "")


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("+49 30 5550 1000", "+493055501000"),
        ("+49 (0)89 5550-2001", "+498955502001"),
        ("+1 (212) 555-0123", "+12125550123"),
        ("+49\u00a030\u00a055501000", "+493055501000"),
        ("030 55501000", None),
        ("+0 30 55501000", None),
        ("+49 30 5550 1000 ext. 12", None),
        ("", None),
        (None, None),
    ],
)
def test_international_numbers_are_normalised_to_e164(number: object, e164: str | None) -> None:
    assert normalise_phone(number) == e164


# --- the geocoder -------------------------------------------------------------------------------------------


async def test_the_geocoder_asks_for_one_place_near_the_user(geocoder: GoogleGeocoder, fake: FakePlaces) -> None:
    fake.pages = {None: {"places": [place("alex", 0.0)]}}

    point = await geocoder.geocode("near Alex", near=GeoPoint(52.52, 13.40))

    assert point == GeoPoint(ALEXANDERPLATZ.lat, ALEXANDERPLATZ.lng, label="Praxis alex")
    [(headers, body)] = fake.requests
    assert headers["X-Goog-Api-Key"] == API_KEY
    assert set(headers["X-Goog-FieldMask"].split(",")) == {
        "places.displayName",
        "places.formattedAddress",
        "places.location",
    }
    assert body == {
        "textQuery": "near Alex",
        "pageSize": 1,
        "locationBias": {"circle": {"center": {"latitude": 52.52, "longitude": 13.40}, "radius": 50_000.0}},
    }


async def test_the_geocoder_labels_with_the_address_when_there_is_no_name(
    geocoder: GoogleGeocoder, fake: FakePlaces
) -> None:
    nameless = place("x", 0.0)
    del nameless["displayName"]
    fake.pages = {None: {"places": [nameless]}}

    point = await geocoder.geocode("Alexanderplatz 1")

    assert point is not None
    assert point.label == ADDRESS
    assert "locationBias" not in fake.bodies[0]


async def test_the_geocoder_finds_nothing_when_google_finds_nothing(geocoder: GoogleGeocoder, fake: FakePlaces) -> None:
    fake.pages = {None: {}}

    assert await geocoder.geocode("Atlantis") is None


async def test_the_geocoder_reads_coordinates_and_blank_text_without_asking(
    geocoder: GoogleGeocoder, fake: FakePlaces
) -> None:
    assert await geocoder.geocode("48.1374, 11.5755") == GeoPoint(48.1374, 11.5755, label="48.13740, 11.57550")
    assert await geocoder.geocode("   ") is None
    assert fake.requests == []


async def test_geocoder_failures_become_dependency_unavailable(geocoder: GoogleGeocoder, fake: FakePlaces) -> None:
    fake.canned = web.json_response({"error": {"code": 500, "status": "INTERNAL"}}, status=500)

    with pytest.raises(DependencyUnavailable, match="having trouble"):
        await geocoder.geocode("Alexanderplatz")
