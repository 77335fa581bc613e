"""Google Calendar as the ``Calendar`` port: free/busy before a slot is offered, an event for each booking.

It fails closed: whenever Google cannot say whether the user is free (an HTTP error, a timeout, a refused
token refresh, an error reported for the calendar), ``busy`` raises ``CalendarUnavailable`` and the caller
answers "cannot verify", never "available". A user who has not connected a calendar has no busy time here;
only their NEXUS appointments count.

The Google client is synchronous, so each request runs in a worker thread under a short deadline.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import google_auth_httplib2  # type: ignore[import-untyped]
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import build_http

from domain.calendar import merge
from domain.errors import CalendarUnavailable
from domain.models import Appointment, CalendarLink, TimeWindow
from domain.ports import Clock, UnitOfWorkFactory
from integrations.crypto import TokenCipher
from integrations.google.oauth import GOOGLE_TOKEN_URI

_log = logging.getLogger(__name__)

_T = TypeVar("_T")

_READ_FAILED = "Your Google Calendar could not be checked just now, so NEXUS cannot tell whether you are free then."
_READ_TOO_SLOW = "Your Google Calendar took too long to answer, so NEXUS cannot tell whether you are free then."
_ADD_FAILED = "The appointment could not be added to your Google Calendar just now."
_REMOVE_FAILED = "The appointment could not be removed from your Google Calendar just now."
_ACCESS_LOST = "NEXUS no longer has access to your Google Calendar. Please connect it again."

# Google accepts a client-chosen event id in this alphabet; our hex ids fit, which makes a retried insert
# answer "already exists" instead of creating a second event.
_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_REMINDER_MINUTES = (60, 24 * 60)


@dataclass(frozen=True, slots=True)
class UserCalendar:
    """A Calendar API client (``googleapiclient.discovery.Resource``) bound to one user's calendar."""

    service: Any
    calendar_id: str = "primary"


ServiceFactory = Callable[[int], Awaitable[UserCalendar | None]]
"""The client for a user's calendar, or ``None`` when the user has not connected one."""


class LinkedServiceFactory:
    """Builds a user's client from their stored ``CalendarLink``: the refresh token decrypted into credentials.

    Credentials are kept per user (while the stored token stays the same) so the access token they fetch is
    reused until it expires, rather than refreshed before every request.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        cipher: TokenCipher,
        client_id: str,
        client_secret: str,
        *,
        token_uri: str = GOOGLE_TOKEN_URI,
        timeout_seconds: float = 3.0,
        http_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._cipher = cipher
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_uri = token_uri
        self._timeout_seconds = timeout_seconds
        self._http_factory = http_factory or self._http_with_timeout
        self._credentials: dict[int, tuple[str, Credentials]] = {}

    async def __call__(self, user_id: int) -> UserCalendar | None:
        async with self._uow_factory() as uow:
            link = await uow.calendar_links.get(user_id)
        if link is None:
            self._credentials.pop(user_id, None)
            return None
        # One http per client: httplib2 connections must not be shared between worker threads.
        http = google_auth_httplib2.AuthorizedHttp(self._credentials_for(link), http=self._http_factory())
        service = build("calendar", "v3", http=http, cache_discovery=False, static_discovery=True)
        return UserCalendar(service, link.calendar_id)

    def _credentials_for(self, link: CalendarLink) -> Credentials:
        known = self._credentials.get(link.user_id)
        if known is not None and known[0] == link.encrypted_token:
            return known[1]
        # google-auth leaves this constructor unannotated.
        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=self._cipher.decrypt(link.encrypted_token),
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_uri=self._token_uri,
        )
        self._credentials[link.user_id] = (link.encrypted_token, credentials)
        return credentials

    def _http_with_timeout(self) -> Any:
        http = build_http()
        # The socket timeout bounds the worker thread; the asyncio deadline alone would only stop waiting for it.
        http.timeout = self._timeout_seconds
        return http


class GoogleCalendar:
    """The ``Calendar`` port on Google Calendar, with busy time cached briefly per user and days asked for."""

    def __init__(
        self,
        services: ServiceFactory,
        clock: Clock,
        *,
        timeout_seconds: float = 3.0,
        cache_ttl: timedelta = timedelta(seconds=60),
    ) -> None:
        self._services = services
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._cache_ttl = cache_ttl
        self._cache: dict[tuple[int, datetime, datetime], tuple[datetime, list[TimeWindow]]] = {}
        # Bumped whenever the user's events change, so an answer fetched before the change is not cached after it.
        self._generation: dict[int, int] = {}

    async def busy(self, user_id: int, window: TimeWindow) -> list[TimeWindow]:
        """Busy intervals inside ``window`` (clipped to it); raises ``CalendarUnavailable`` when Google cannot tell."""
        days = _whole_utc_days(window)
        key = (user_id, days.start, days.end)
        now = self._clock.now()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._cache_ttl:
            return _clip(cached[1], window)
        generation = self._generation.get(user_id, 0)
        calendar = await self._connect(user_id, _READ_FAILED)
        if calendar is None:
            return []
        body = {
            "timeMin": days.start.isoformat(),
            "timeMax": days.end.isoformat(),
            "timeZone": "UTC",
            "items": [{"id": calendar.calendar_id}],
        }
        answer = await self._execute(
            user_id, lambda: calendar.service.freebusy().query(body=body).execute(), _READ_FAILED, _READ_TOO_SLOW
        )
        intervals = _parse_busy(answer, calendar.calendar_id, user_id)
        if self._generation.get(user_id, 0) == generation:
            self._remember(key, now, intervals)
        return _clip(intervals, window)

    async def add_event(self, appointment: Appointment) -> str | None:
        """Create the event for a booked appointment: its id, or ``None`` when the user has no calendar connected.

        Raises ``CalendarUnavailable`` when Google does not take it.
        """
        calendar = await self._connect(appointment.user_id, _ADD_FAILED)
        if calendar is None:
            return None
        body = _event_body(appointment)

        def insert() -> str:
            try:
                created = calendar.service.events().insert(calendarId=calendar.calendar_id, body=body).execute()
            except HttpError as exc:
                # An earlier try that timed out on our side may have created it after all.
                if exc.status_code == 409 and "id" in body:
                    return str(body["id"])
                raise
            return str(created["id"])

        try:
            return await self._execute(appointment.user_id, insert, _ADD_FAILED, _ADD_FAILED)
        finally:
            self._invalidate(appointment.user_id)

    async def remove_event(self, appointment: Appointment) -> None:
        """Delete the appointment's event; one already gone is fine, others raise ``CalendarUnavailable``."""
        event_id = appointment.calendar_event_id
        if event_id is None:
            return
        calendar = await self._connect(appointment.user_id, _REMOVE_FAILED)
        if calendar is None:
            return

        def delete() -> None:
            try:
                calendar.service.events().delete(calendarId=calendar.calendar_id, eventId=event_id).execute()
            except HttpError as exc:
                if exc.status_code not in (404, 410):
                    raise

        try:
            await self._execute(appointment.user_id, delete, _REMOVE_FAILED, _REMOVE_FAILED)
        finally:
            self._invalidate(appointment.user_id)

    async def _connect(self, user_id: int, failure: str) -> UserCalendar | None:
        try:
            return await self._services(user_id)
        except Exception as exc:
            # Fail closed on anything: a database error or an undecryptable token must not read as "free".
            _log.warning("Google Calendar of user %s could not be opened (%s)", user_id, type(exc).__name__)
            raise CalendarUnavailable(failure) from exc

    async def _execute(self, user_id: int, request: Callable[[], _T], failure: str, too_slow: str) -> _T:
        try:
            return await asyncio.wait_for(asyncio.to_thread(request), self._timeout_seconds)
        except TimeoutError:
            _log.warning("Google Calendar of user %s did not answer within %ss", user_id, self._timeout_seconds)
            raise CalendarUnavailable(too_slow) from None
        except RefreshError as exc:
            _log.warning("Google refused to refresh the calendar access of user %s", user_id)
            raise CalendarUnavailable(_ACCESS_LOST) from exc
        except HttpError as exc:
            _log.warning("Google Calendar answered HTTP %s for user %s", exc.status_code, user_id)
            raise CalendarUnavailable(failure) from exc
        except Exception as exc:
            _log.warning("Google Calendar request of user %s failed (%s)", user_id, type(exc).__name__)
            raise CalendarUnavailable(failure) from exc

    def _remember(self, key: tuple[int, datetime, datetime], now: datetime, intervals: list[TimeWindow]) -> None:
        # Dropping stale entries on every write keeps the cache as small as the set of recent questions.
        for stale in [k for k, (at, _) in self._cache.items() if now - at >= self._cache_ttl]:
            del self._cache[stale]
        self._cache[key] = (now, intervals)

    def _invalidate(self, user_id: int) -> None:
        self._generation[user_id] = self._generation.get(user_id, 0) + 1
        for key in [k for k in self._cache if k[0] == user_id]:
            del self._cache[key]


def _whole_utc_days(window: TimeWindow) -> TimeWindow:
    """The UTC days that cover ``window``: questions about the same days share one cached answer."""
    start = datetime.combine(window.start.astimezone(UTC).date(), time(), UTC)
    end_utc = window.end.astimezone(UTC)
    end = datetime.combine(end_utc.date(), time(), UTC)
    if end < end_utc:
        end += timedelta(days=1)
    return TimeWindow(start, end)


def _clip(intervals: list[TimeWindow], window: TimeWindow) -> list[TimeWindow]:
    return [
        TimeWindow(max(busy.start, window.start), min(busy.end, window.end))
        for busy in intervals
        if busy.overlaps(window)
    ]


def _parse_busy(answer: object, calendar_id: str, user_id: int) -> list[TimeWindow]:
    """The busy intervals of ``calendar_id`` in a free/busy answer; ``CalendarUnavailable`` for anything else."""
    calendars = answer.get("calendars") if isinstance(answer, Mapping) else None
    entry = calendars.get(calendar_id) if isinstance(calendars, Mapping) else None
    if not isinstance(entry, Mapping):
        _log.warning("Google's free/busy answer for user %s lacks the calendar asked for", user_id)
        raise CalendarUnavailable(_READ_FAILED)
    errors = entry.get("errors")
    if errors:
        reasons = [e.get("reason") for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else errors
        _log.warning("Google could not compute free/busy for user %s: %s", user_id, reasons)
        raise CalendarUnavailable(_READ_FAILED)
    intervals: list[TimeWindow] = []
    try:
        for period in entry.get("busy", []):
            start = datetime.fromisoformat(period["start"])
            end = datetime.fromisoformat(period["end"])
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("a busy time without an offset")
            if end > start:
                intervals.append(TimeWindow(start.astimezone(UTC), end.astimezone(UTC)))
    except (KeyError, TypeError, ValueError) as exc:
        _log.warning("Google's free/busy answer for user %s is malformed (%s)", user_id, exc)
        raise CalendarUnavailable(_READ_FAILED) from None
    return merge(intervals)


def _event_body(appointment: Appointment) -> dict[str, Any]:
    provider = appointment.provider
    description = [f"Booked for you by NEXUS with {provider.name}.", f"Phone: {provider.phone}"]
    if provider.address:
        description.append(f"Address: {provider.address}")
    body: dict[str, Any] = {
        "summary": provider.name,
        "description": "\n".join(description),
        "start": _event_time(appointment.start),
        "end": _event_time(appointment.end),
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": minutes} for minutes in _REMINDER_MINUTES],
        },
    }
    if provider.address:
        body["location"] = provider.address
    if _EVENT_ID.fullmatch(appointment.id):
        body["id"] = appointment.id
    return body


def _event_time(moment: datetime) -> dict[str, str]:
    """A dateTime with its IANA zone when it has one, so the event shows in the zone it was booked in."""
    if isinstance(moment.tzinfo, ZoneInfo):
        return {"dateTime": moment.isoformat(), "timeZone": moment.tzinfo.key}
    return {"dateTime": moment.astimezone(UTC).isoformat(), "timeZone": "UTC"}
