"""Google Places API (New): a ``ProviderDirectory`` and a ``Geocoder``, both over Text Search.

Both POST to ``{base_url}/v1/places:searchText`` with the key in ``X-Goog-Api-Key`` and a field mask in
``X-Goog-FieldMask``: the API answers only the fields asked for, and bills by the most expensive of them.
Every failure (no answer, a timeout, an HTTP error, an unreadable answer) becomes ``DependencyUnavailable``
with a sentence for a person; logs name the HTTP status and Google's error status, never the key or the
text a user typed.

The geocoder uses Text Search rather than the Geocoding API: it shares the directory's API and key (one
API to enable and restrict), and it finds what people actually type for a place to search around
("Alexanderplatz", "near Alex", "Munich Hauptbahnhof"), where the Geocoding API is built for postal
addresses.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp

from domain.errors import DependencyUnavailable, InvalidRequest
from domain.models import GeoPoint, Provider, is_e164
from domain.opening_hours import MINUTES_PER_DAY, OpeningHours, OpeningPeriod
from integrations.directory import normalise_service, parse_coordinates, rank_providers

_log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://places.googleapis.com"
DEFAULT_TIMEOUT_SECONDS = 10.0

_SEARCH_PATH = "/v1/places:searchText"
_PAGE_SIZE = 20  # the most Text Search puts on one page
_MAX_PAGES = 3  # Text Search returns at most 60 places over all pages
_MAX_BIAS_RADIUS_M = 50_000.0  # the API refuses a larger location bias circle
_GEOCODE_BIAS_RADIUS_M = 50_000.0  # around ``near``: enough to prefer the user's city, not to exclude others

_DIRECTORY_FIELDS = ",".join(
    (
        "places.id",
        "places.displayName",
        "places.formattedAddress",
        "places.location",
        "places.rating",
        "places.userRatingCount",
        "places.internationalPhoneNumber",
        "places.regularOpeningHours",  # in the same (Enterprise) billing tier as the phone number and rating
        "nextPageToken",
    )
)
_GEOCODER_FIELDS = "places.displayName,places.formattedAddress,places.location"

_UNREACHABLE = "Google's place search did not answer. Please try again in a minute."
_FAILING = "Google's place search is having trouble right now. Please try again in a minute."
_REFUSED = "Google's place search turned the request down, so places cannot be looked up right now."
_UNREADABLE = "Google's place search sent an answer that could not be read. Please try again in a minute."

_PHONE_PUNCTUATION = re.compile(r"[\s().\-/\u00a0]")


class GooglePlacesDirectory:
    """A ``ProviderDirectory`` that asks Google Places Text Search for ``service`` around a point.

    Pages are followed (at most three) until ``limit`` places with an international phone number inside
    the radius are found; places without one cannot be called and are skipped. The result is ordered
    like every directory's, by ``integrations.directory.rank_providers``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._search = _TextSearch(session, api_key, base_url, timeout_seconds)

    async def search(self, service: str, near: GeoPoint, radius_km: float, limit: int) -> list[Provider]:
        if limit <= 0 or not service.strip():
            return []
        body: dict[str, Any] = {
            "textQuery": service.strip(),
            "locationBias": _circle(near, min(radius_km * 1000.0, _MAX_BIAS_RADIUS_M)),
            "pageSize": _PAGE_SIZE,
        }
        found: dict[str, Provider] = {}
        for _ in range(_MAX_PAGES):
            answer = await self._search(body, _DIRECTORY_FIELDS)
            for place in _places(answer):
                provider = _provider(place, service)
                if provider is not None and near.distance_km(provider.location) <= radius_km:
                    found.setdefault(provider.id, provider)
            next_page = answer.get("nextPageToken")
            if len(found) >= limit or not isinstance(next_page, str) or not next_page:
                break
            # The API wants every other parameter of a follow-up page exactly as on the first.
            body = {**body, "pageToken": next_page}
        return rank_providers(found.values(), near, radius_km, limit)


class GoogleGeocoder:
    """A ``Geocoder`` that takes the first Places Text Search result for the text (one request).

    Coordinates typed as "lat, lng" are answered without a request. With ``near`` the search prefers
    places within 50 km of it, so "Hauptbahnhof" means the station of the user's city.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._search = _TextSearch(session, api_key, base_url, timeout_seconds)

    async def geocode(self, text: str, near: GeoPoint | None = None) -> GeoPoint | None:
        coordinates = parse_coordinates(text)
        if coordinates is not None:
            return coordinates
        if not text.strip():
            return None
        body: dict[str, Any] = {"textQuery": text.strip(), "pageSize": 1}
        if near is not None:
            body["locationBias"] = _circle(near, _GEOCODE_BIAS_RADIUS_M)
        for place in _places(await self._search(body, _GEOCODER_FIELDS)):
            location = _location(place, label=_name(place))
            if location is not None:
                return location
        return None


class _TextSearch:
    """One Text Search request, with Google's failures turned into ``DependencyUnavailable``."""

    def __init__(self, session: aiohttp.ClientSession, api_key: str, base_url: str, timeout_seconds: float) -> None:
        if not api_key:
            raise ValueError("A Google Maps API key is needed; set GOOGLE_MAPS_API_KEY.")
        self._session = session
        self._api_key = api_key
        self._url = base_url.rstrip("/") + _SEARCH_PATH
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def __call__(self, body: dict[str, Any], field_mask: str) -> dict[str, Any]:
        headers = {"X-Goog-Api-Key": self._api_key, "X-Goog-FieldMask": field_mask}
        try:
            async with self._session.post(self._url, json=body, headers=headers, timeout=self._timeout) as response:
                if response.status >= 400:
                    error = await _error_status(response)
                    _log.warning("Places Text Search failed (HTTP %s, %s)", response.status, error)
                    retryable = response.status >= 500 or response.status == 429
                    raise DependencyUnavailable(_FAILING if retryable else _REFUSED)
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            _log.warning("Places Text Search could not be reached (%s)", type(exc).__name__)
            raise DependencyUnavailable(_UNREACHABLE) from exc
        except ValueError as exc:
            _log.warning("Places Text Search answered with something that is not JSON")
            raise DependencyUnavailable(_UNREADABLE) from exc
        if not isinstance(answer, dict):
            _log.warning("Places Text Search answered with JSON that is not an object")
            raise DependencyUnavailable(_UNREADABLE)
        return answer


async def _error_status(response: aiohttp.ClientResponse) -> str:
    """Google's error status ("PERMISSION_DENIED"), or "no error status" when the body has none."""
    try:
        body = await response.json(content_type=None)
    except (aiohttp.ClientError, ValueError):
        return "no error status"
    error = body.get("error") if isinstance(body, dict) else None
    status = error.get("status") if isinstance(error, dict) else None
    return status if isinstance(status, str) else "no error status"


def _circle(center: GeoPoint, radius_m: float) -> dict[str, Any]:
    return {
        "circle": {
            "center": {"latitude": center.lat, "longitude": center.lng},
            "radius": max(0.0, radius_m),
        }
    }


def _places(answer: dict[str, Any]) -> list[dict[str, Any]]:
    places = answer.get("places")
    if not isinstance(places, list):
        return []  # an empty result has no "places" at all
    return [place for place in places if isinstance(place, dict)]


def _provider(place: dict[str, Any], service: str) -> Provider | None:
    """The place as a provider of ``service``, or ``None`` without an id, a name, a location or a phone."""
    place_id = place.get("id")
    name = _name(place)
    phone = normalise_phone(place.get("internationalPhoneNumber"))
    location = _location(place, label=name)
    if not isinstance(place_id, str) or not place_id or not name or phone is None or location is None:
        return None
    rating = place.get("rating")
    review_count = place.get("userRatingCount")
    address = place.get("formattedAddress")
    return Provider(
        id=place_id,
        name=name,
        service=normalise_service(service),
        phone=phone,
        location=location,
        address=address if isinstance(address, str) else "",
        rating=float(rating) if isinstance(rating, int | float) and 0 < rating <= 5 else None,
        review_count=review_count if isinstance(review_count, int) and review_count >= 0 else 0,
        opening_hours=opening_hours_from_places(place.get("regularOpeningHours")),
    )


def opening_hours_from_places(value: object) -> OpeningHours | None:
    """``regularOpeningHours`` as opening hours; ``None`` (unknown: treated as open) when missing or unreadable.

    Google numbers days from Sunday = 0 and gives each period an ``open`` and a ``close`` point
    (``{"day", "hour", "minute"}``); a period without ``close`` is open around the clock, and a period that
    closes on a later day is split at midnight.
    """
    if not isinstance(value, dict) or not isinstance(value.get("periods"), list):
        return None
    periods: list[OpeningPeriod] = []
    try:
        for period in value["periods"]:
            opens = _week_minute(period.get("open"))
            if opens is None:
                return None
            if period.get("close") is None:
                return OpeningHours(tuple(OpeningPeriod(day, 0, MINUTES_PER_DAY) for day in range(7)))
            closes = _week_minute(period["close"])
            if closes is None:
                return None
            if closes <= opens:
                closes += _MINUTES_PER_WEEK
            periods.extend(_split_by_day(opens, closes))
    except (AttributeError, InvalidRequest):
        return None
    return OpeningHours(tuple(periods)) if periods else None


_MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def _week_minute(point: object) -> int | None:
    """Minutes since Monday 00:00 of a Places ``{"day", "hour", "minute"}`` point (day 0 is Sunday)."""
    if not isinstance(point, dict):
        return None
    day, hour, minute = point.get("day"), point.get("hour", 0), point.get("minute", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (day, hour, minute)):
        return None
    assert isinstance(day, int) and isinstance(hour, int) and isinstance(minute, int)
    if not (0 <= day <= 6 and 0 <= hour <= 24 and 0 <= minute <= 59):
        return None
    return ((day + 6) % 7) * MINUTES_PER_DAY + hour * 60 + minute


def _split_by_day(opens: int, closes: int) -> list[OpeningPeriod]:
    pieces = []
    while opens < closes:
        day_end = (opens // MINUTES_PER_DAY + 1) * MINUTES_PER_DAY
        end = min(closes, day_end)
        weekday = (opens // MINUTES_PER_DAY) % 7
        pieces.append(OpeningPeriod(weekday, opens % MINUTES_PER_DAY, end - (day_end - MINUTES_PER_DAY)))
        opens = end
    return pieces


def _name(place: dict[str, Any]) -> str:
    display_name = place.get("displayName")
    text = display_name.get("text") if isinstance(display_name, dict) else None
    if isinstance(text, str) and text.strip():
        return text.strip()
    address = place.get("formattedAddress")
    return address.strip() if isinstance(address, str) else ""


def _location(place: dict[str, Any], label: str) -> GeoPoint | None:
    location = place.get("location")
    if not isinstance(location, dict):
        return None
    lat, lng = location.get("latitude"), location.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lng, int | float):
        return None
    try:
        return GeoPoint(float(lat), float(lng), label=label or None)
    except InvalidRequest:
        return None


def normalise_phone(number: object) -> str | None:
    """``"+49 30 1234567"`` -> ``"+49301234567"``; ``None`` unless it is an international number.

    A national number ("030 1234567") is refused: without its country it cannot be dialled from abroad,
    and guessing the country could phone a stranger.
    """
    if not isinstance(number, str):
        return None
    compact = _PHONE_PUNCTUATION.sub("", number.replace("(0)", ""))
    return compact if is_e164(compact) else None
