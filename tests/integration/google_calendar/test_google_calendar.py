"""Google Calendar through the Google client's own HTTP test double (``HttpMockSequence``).

``HttpMockSequence`` answers each request with the next canned response, records every request it got, and
raises when it runs out, so a request the code should not have made fails the test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence, build_http

from domain.errors import CalendarUnavailable
from domain.models import Appointment, CalendarLink, GeoPoint, Provider, TimeWindow
from integrations.crypto import TokenCipher, generate_key
from integrations.google.calendar import GoogleCalendar, LinkedServiceFactory, UserCalendar
from tests.unit.google_oauth.fake_uow import FakeCalendarStore

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 13, 18, 0, tzinfo=UTC)
USER = 7
# Friday 14 March 2025, 09:00 to 18:00 in Berlin (UTC+1): 08:00Z to 17:00Z.
FRIDAY = TimeWindow(datetime(2025, 3, 14, 9, tzinfo=BERLIN), datetime(2025, 3, 14, 18, tzinfo=BERLIN))

READ_FAILED = "Your Google Calendar could not be checked just now, so NEXUS cannot tell whether you are free then."

Answer = tuple[dict[str, str], str]


def ok(body: object) -> Answer:
    return {"status": "200"}, body if isinstance(body, str) else json.dumps(body)


def status(code: int) -> Answer:
    return {"status": str(code)}, json.dumps({"error": {"code": code, "message": "canned"}})


def freebusy(*busy: tuple[str, str], calendar_id: str = "primary") -> Answer:
    periods = [{"start": start, "end": end} for start, end in busy]
    return ok({"kind": "calendar#freeBusy", "calendars": {calendar_id: {"busy": periods}}})


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class FakeServices:
    """Hands out one mock-backed client per connected user; records every user it was asked for."""

    def __init__(self) -> None:
        self.calendars: dict[int, UserCalendar] = {}
        self.asked: list[int] = []
        self.meanwhile: Callable[[], Awaitable[object]] | None = None  # runs once, while a client is handed out

    def connect(self, user_id: int, *answers: Answer, calendar_id: str = "primary") -> HttpMockSequence:
        http = HttpMockSequence(list(answers))
        service = build("calendar", "v3", http=http, cache_discovery=False, static_discovery=True)
        self.calendars[user_id] = UserCalendar(service, calendar_id)
        return http

    async def __call__(self, user_id: int) -> UserCalendar | None:
        self.asked.append(user_id)
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return self.calendars.get(user_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


@pytest.fixture
def calendar(services: FakeServices, clock: FakeClock) -> GoogleCalendar:
    return GoogleCalendar(services, clock)


def sent_json(http: HttpMockSequence, index: int = -1) -> Any:
    return json.loads(http.request_sequence[index][2])


def appointment(**changes: Any) -> Appointment:
    provider = Provider(
        id="p1",
        name="Zahnarztpraxis Mitte",
        service="dentist",
        phone="+4930123456",
        location=GeoPoint(52.52, 13.41),
        address="Karl-Marx-Allee 1, 10178 Berlin",
        rating=4.6,
    )
    values: dict[str, Any] = {
        "user_id": USER,
        "campaign_id": "c1",
        "offer_id": "o1",
        "provider": provider,
        "start": datetime(2025, 3, 14, 15, 30, tzinfo=BERLIN),
        "end": datetime(2025, 3, 14, 16, 0, tzinfo=BERLIN),
        "created_at": NOW,
    } | changes
    return Appointment(**values)


# --- busy ----------------------------------------------------------------------------------------------------


async def test_busy_times_come_back_as_aware_windows_clipped_to_the_window(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    http = services.connect(
        USER,
        freebusy(
            ("2025-03-14T07:00:00Z", "2025-03-14T08:30:00Z"),  # starts before the window
            ("2025-03-14T13:00:00+01:00", "2025-03-14T14:00:00+01:00"),  # given in Berlin time
            ("2025-03-14T16:30:00Z", "2025-03-14T18:00:00Z"),  # ends after the window
            ("2025-03-14T20:00:00Z", "2025-03-14T21:00:00Z"),  # outside the window
        ),
    )

    busy = await calendar.busy(USER, FRIDAY)

    assert busy == [
        TimeWindow(utc(14, 8), utc(14, 8, 30)),
        TimeWindow(utc(14, 12), utc(14, 13)),
        TimeWindow(utc(14, 16, 30), utc(14, 17)),
    ]
    assert all(w.start.tzinfo is not None and w.end.tzinfo is not None for w in busy)
    uri, method, _, _ = http.request_sequence[0]
    assert (method, uri.split("?")[0]) == ("POST", "https://www.googleapis.com/calendar/v3/freeBusy")
    assert sent_json(http) == {
        "timeMin": "2025-03-14T00:00:00+00:00",
        "timeMax": "2025-03-15T00:00:00+00:00",
        "timeZone": "UTC",
        "items": [{"id": "primary"}],
    }


async def test_a_window_across_midnight_asks_for_every_day_it_touches(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    http = services.connect(USER, freebusy(("2025-03-15T00:00:00Z", "2025-03-15T00:30:00Z")))
    late = TimeWindow(datetime(2025, 3, 14, 23, tzinfo=BERLIN), datetime(2025, 3, 15, 2, tzinfo=BERLIN))

    assert await calendar.busy(USER, late) == [TimeWindow(utc(15, 0), utc(15, 0, 30))]
    assert sent_json(http)["timeMin"] == "2025-03-14T00:00:00+00:00"
    assert sent_json(http)["timeMax"] == "2025-03-16T00:00:00+00:00"


async def test_the_linked_calendar_is_the_one_asked_about(calendar: GoogleCalendar, services: FakeServices) -> None:
    http = services.connect(
        USER,
        freebusy(("2025-03-14T09:00:00Z", "2025-03-14T10:00:00Z"), calendar_id="work@example.com"),
        calendar_id="work@example.com",
    )

    assert await calendar.busy(USER, FRIDAY) == [TimeWindow(utc(14, 9), utc(14, 10))]
    assert sent_json(http)["items"] == [{"id": "work@example.com"}]


async def test_a_user_without_a_connected_calendar_has_no_busy_time(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    assert await calendar.busy(USER, FRIDAY) == []
    assert services.asked == [USER]


async def test_an_error_google_reports_for_the_calendar_fails_closed(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    services.connect(
        USER,
        ok({"calendars": {"primary": {"busy": [], "errors": [{"domain": "global", "reason": "internalError"}]}}}),
    )

    with pytest.raises(CalendarUnavailable) as raised:
        await calendar.busy(USER, FRIDAY)

    assert str(raised.value) == READ_FAILED


@pytest.mark.parametrize("code", [500, 503, 403, 401, 404])
async def test_an_http_error_fails_closed(calendar: GoogleCalendar, services: FakeServices, code: int) -> None:
    services.connect(USER, status(code))

    with pytest.raises(CalendarUnavailable, match="cannot tell whether you are free"):
        await calendar.busy(USER, FRIDAY)


@pytest.mark.parametrize(
    "answer",
    [
        ok({"calendars": {}}),
        ok({"kind": "calendar#freeBusy"}),
        ok({"calendars": {"primary": {"busy": [{"start": "2025-03-14T09:00:00", "end": "2025-03-14T10:00:00"}]}}}),
        ok({"calendars": {"primary": {"busy": [{"start": "2025-03-14T09:00:00Z"}]}}}),
        ok({"calendars": {"primary": {"busy": [{"start": "tomorrow", "end": "later"}]}}}),
        ok({"calendars": {"primary": {"busy": "all day"}}}),
        ok("[]"),
    ],
    ids=["no-entry", "no-calendars", "naive-times", "no-end", "not-times", "not-a-list", "not-an-object"],
)
async def test_an_answer_that_cannot_be_read_fails_closed(
    calendar: GoogleCalendar, services: FakeServices, answer: Answer
) -> None:
    services.connect(USER, answer)

    with pytest.raises(CalendarUnavailable, match="cannot tell whether you are free"):
        await calendar.busy(USER, FRIDAY)


async def test_a_calendar_that_cannot_be_opened_fails_closed(clock: FakeClock) -> None:
    async def broken(user_id: int) -> UserCalendar | None:
        raise ConnectionRefusedError("database down")

    with pytest.raises(CalendarUnavailable, match="cannot tell whether you are free"):
        await GoogleCalendar(broken, clock).busy(USER, FRIDAY)


@pytest.fixture
async def silent_endpoint() -> AsyncIterator[str]:
    """An address on 127.0.0.1 that takes connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
        # Hang up on the waiting client so the worker thread it runs in ends now, not at its socket timeout.
        listener.setblocking(False)
        while True:
            try:
                connection, _ = listener.accept()
            except BlockingIOError:
                break
            connection.close()


async def test_a_calendar_that_does_not_answer_in_time_fails_closed(clock: FakeClock, silent_endpoint: str) -> None:
    http = build_http()
    http.timeout = 5
    service = build(
        "calendar",
        "v3",
        http=http,
        cache_discovery=False,
        static_discovery=True,
        client_options={"api_endpoint": silent_endpoint},
    )

    async def services(user_id: int) -> UserCalendar:
        return UserCalendar(service)

    with pytest.raises(CalendarUnavailable) as raised:
        await GoogleCalendar(services, clock, timeout_seconds=0.2).busy(USER, FRIDAY)

    assert str(raised.value) == (
        "Your Google Calendar took too long to answer, so NEXUS cannot tell whether you are free then."
    )


# --- the cache -----------------------------------------------------------------------------------------------


async def test_busy_time_is_reused_for_the_same_days_for_a_minute(
    calendar: GoogleCalendar, services: FakeServices, clock: FakeClock
) -> None:
    http = services.connect(
        USER,
        freebusy(("2025-03-14T09:00:00Z", "2025-03-14T10:00:00Z"), ("2025-03-14T15:00:00Z", "2025-03-14T16:00:00Z")),
        freebusy(("2025-03-14T11:00:00Z", "2025-03-14T12:00:00Z")),
    )
    afternoon = TimeWindow(utc(14, 14), utc(14, 20))

    first = await calendar.busy(USER, FRIDAY)
    clock.current += timedelta(seconds=59)
    again = await calendar.busy(USER, FRIDAY)
    later_that_day = await calendar.busy(USER, afternoon)

    assert len(http.request_sequence) == 1
    assert again == first
    assert later_that_day == [TimeWindow(utc(14, 15), utc(14, 16))]

    clock.current += timedelta(seconds=1)
    assert await calendar.busy(USER, FRIDAY) == [TimeWindow(utc(14, 11), utc(14, 12))]
    assert len(http.request_sequence) == 2


async def test_other_users_and_other_days_are_asked_separately(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    mine = services.connect(USER, freebusy(), freebusy(("2025-03-15T09:00:00Z", "2025-03-15T10:00:00Z")))
    theirs = services.connect(8, freebusy(("2025-03-14T09:00:00Z", "2025-03-14T10:00:00Z")))
    saturday = TimeWindow(utc(15, 8), utc(15, 17))

    assert await calendar.busy(USER, FRIDAY) == []
    assert await calendar.busy(8, FRIDAY) == [TimeWindow(utc(14, 9), utc(14, 10))]
    assert await calendar.busy(USER, saturday) == [TimeWindow(utc(15, 9), utc(15, 10))]
    assert (len(mine.request_sequence), len(theirs.request_sequence)) == (2, 1)


async def test_a_failed_read_is_not_remembered(calendar: GoogleCalendar, services: FakeServices) -> None:
    services.connect(USER, status(503), freebusy(("2025-03-14T09:00:00Z", "2025-03-14T10:00:00Z")))

    with pytest.raises(CalendarUnavailable):
        await calendar.busy(USER, FRIDAY)
    assert await calendar.busy(USER, FRIDAY) == [TimeWindow(utc(14, 9), utc(14, 10))]


async def test_adding_or_removing_an_event_forgets_the_users_busy_time(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    booked = appointment()
    http = services.connect(
        USER,
        freebusy(),
        ok({"id": "evt1"}),
        freebusy(("2025-03-14T14:30:00Z", "2025-03-14T15:00:00Z")),
        ({"status": "204"}, ""),
        freebusy(),
    )

    assert await calendar.busy(USER, FRIDAY) == []
    booked.calendar_event_id = await calendar.add_event(booked)
    assert await calendar.busy(USER, FRIDAY) == [TimeWindow(utc(14, 14, 30), utc(14, 15))]
    await calendar.remove_event(booked)
    assert await calendar.busy(USER, FRIDAY) == []
    assert len(http.request_sequence) == 5


async def test_busy_time_read_while_an_event_is_added_is_not_remembered(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    http = services.connect(
        USER,
        ok({"id": "evt1"}),
        freebusy(),  # read as the event was being added: may predate it
        freebusy(("2025-03-14T14:30:00Z", "2025-03-14T15:00:00Z")),
    )
    services.meanwhile = lambda: calendar.add_event(appointment())

    assert await calendar.busy(USER, FRIDAY) == []
    assert await calendar.busy(USER, FRIDAY) == [TimeWindow(utc(14, 14, 30), utc(14, 15))]
    assert len(http.request_sequence) == 3


# --- events --------------------------------------------------------------------------------------------------


async def test_a_booking_becomes_an_event_with_two_reminders(calendar: GoogleCalendar, services: FakeServices) -> None:
    booked = appointment()
    # Google answers with the event it created; echoing the request body stands in for that.
    http = services.connect(USER, ok("echo_request_body"))

    event_id = await calendar.add_event(booked)

    assert event_id == booked.id
    uri, method, _, _ = http.request_sequence[0]
    assert (method, uri.split("?")[0]) == ("POST", "https://www.googleapis.com/calendar/v3/calendars/primary/events")
    assert sent_json(http) == {
        "id": booked.id,
        "summary": "Zahnarztpraxis Mitte",
        "location": "Karl-Marx-Allee 1, 10178 Berlin",
        "description": "Booked for you by NEXUS with Zahnarztpraxis Mitte.\n"
        "Phone: +4930123456\n"
        "Address: Karl-Marx-Allee 1, 10178 Berlin",
        "start": {"dateTime": "2025-03-14T15:30:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2025-03-14T16:00:00+01:00", "timeZone": "Europe/Berlin"},
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": 60}, {"method": "popup", "minutes": 1440}],
        },
    }


async def test_the_event_id_is_the_one_google_gives(calendar: GoogleCalendar, services: FakeServices) -> None:
    http = services.connect(USER, ok({"id": "gcal-event-1"}), calendar_id="work@example.com")
    fixed_offset = appointment(
        start=datetime(2025, 3, 14, 14, 30, tzinfo=UTC), end=datetime(2025, 3, 14, 15, tzinfo=UTC)
    )

    assert await calendar.add_event(fixed_offset) == "gcal-event-1"
    assert "/calendars/work%40example.com/events" in http.request_sequence[0][0]
    assert sent_json(http)["start"] == {"dateTime": "2025-03-14T14:30:00+00:00", "timeZone": "UTC"}


async def test_an_event_that_already_exists_is_not_added_twice(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    booked = appointment()
    services.connect(USER, status(409))

    assert await calendar.add_event(booked) == booked.id


async def test_an_event_for_a_user_without_a_calendar_is_skipped(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    assert await calendar.add_event(appointment()) is None
    await calendar.remove_event(appointment(calendar_event_id="evt1"))
    assert services.asked == [USER, USER]


async def test_an_event_that_cannot_be_added_raises_with_a_sentence(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    services.connect(USER, status(500))

    with pytest.raises(CalendarUnavailable) as raised:
        await calendar.add_event(appointment())

    assert str(raised.value) == "The appointment could not be added to your Google Calendar just now."


async def test_removing_deletes_the_event(calendar: GoogleCalendar, services: FakeServices) -> None:
    http = services.connect(USER, ({"status": "204"}, ""))

    await calendar.remove_event(appointment(calendar_event_id="evt1"))

    uri, method, _, _ = http.request_sequence[0]
    assert (method, uri.split("?")[0]) == (
        "DELETE",
        "https://www.googleapis.com/calendar/v3/calendars/primary/events/evt1",
    )


@pytest.mark.parametrize("code", [404, 410])
async def test_removing_an_event_that_is_gone_already_is_fine(
    calendar: GoogleCalendar, services: FakeServices, code: int
) -> None:
    http = services.connect(USER, status(code))

    await calendar.remove_event(appointment(calendar_event_id="evt1"))

    assert len(http.request_sequence) == 1


async def test_an_event_that_cannot_be_removed_raises_with_a_sentence(
    calendar: GoogleCalendar, services: FakeServices
) -> None:
    services.connect(USER, status(500))

    with pytest.raises(CalendarUnavailable, match="could not be removed from your Google Calendar"):
        await calendar.remove_event(appointment(calendar_event_id="evt1"))


async def test_an_appointment_without_an_event_is_not_removed(calendar: GoogleCalendar, services: FakeServices) -> None:
    http = services.connect(USER)

    await calendar.remove_event(appointment())

    assert http.request_sequence == []
    assert services.asked == []


# --- built from the stored link ------------------------------------------------------------------------------

TOKEN_URI = "https://oauth2.example/token"


def linked(cipher: TokenCipher, *answers: Answer) -> tuple[GoogleCalendar, HttpMockSequence, FakeClock]:
    store = FakeCalendarStore(CalendarLink(USER, "google", cipher.encrypt("1//refresh"), NOW, "primary"))
    http = HttpMockSequence(list(answers))
    services = LinkedServiceFactory(
        store.uow, TokenCipher(KEY), "client-id", "client-secret", token_uri=TOKEN_URI, http_factory=lambda: http
    )
    clock = FakeClock(NOW)
    return GoogleCalendar(services, clock), http, clock


KEY = generate_key()


async def test_the_stored_refresh_token_gets_an_access_token_that_is_reused() -> None:
    calendar, http, _ = linked(
        TokenCipher(KEY),
        ok({"access_token": "ya29.access", "expires_in": 3600, "token_type": "Bearer"}),
        freebusy(("2025-03-14T09:00:00Z", "2025-03-14T10:00:00Z")),
        freebusy(),
    )

    assert await calendar.busy(USER, FRIDAY) == [TimeWindow(utc(14, 9), utc(14, 10))]
    assert await calendar.busy(USER, TimeWindow(utc(15, 9), utc(15, 10))) == []

    (token_uri, _, token_form, _), *api_calls = http.request_sequence
    assert token_uri == TOKEN_URI
    assert dict(parse_qsl(token_form.decode(), strict_parsing=True)) == {
        "grant_type": "refresh_token",
        "refresh_token": "1//refresh",
        "client_id": "client-id",
        "client_secret": "client-secret",
    }
    assert [headers["authorization"] for *_, headers in api_calls] == ["Bearer ya29.access"] * 2


async def test_a_refused_refresh_asks_the_user_to_connect_again() -> None:
    calendar, _, _ = linked(TokenCipher(KEY), ({"status": "400"}, json.dumps({"error": "invalid_grant"})))

    with pytest.raises(CalendarUnavailable) as raised:
        await calendar.busy(USER, FRIDAY)

    assert str(raised.value) == "NEXUS no longer has access to your Google Calendar. Please connect it again."


async def test_a_token_stored_under_another_key_fails_closed() -> None:
    calendar, http, _ = linked(TokenCipher(generate_key()))

    with pytest.raises(CalendarUnavailable, match="cannot tell whether you are free"):
        await calendar.busy(USER, FRIDAY)
    assert http.request_sequence == []


async def test_a_user_without_a_stored_link_is_not_connected() -> None:
    http = HttpMockSequence([])
    services = LinkedServiceFactory(
        FakeCalendarStore().uow, TokenCipher(KEY), "client-id", "client-secret", http_factory=lambda: http
    )

    assert await services(USER) is None
    assert await GoogleCalendar(services, FakeClock(NOW)).busy(USER, FRIDAY) == []
