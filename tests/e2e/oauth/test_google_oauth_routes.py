"""Connecting Google Calendar end to end over loopback HTTP: the bot's link, the consent redirect, the callback
and a fake Google token endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.conversation import Conversation
from bot.replies import Person, RecordingChat
from integrations.crypto import TokenCipher, generate_key
from integrations.directory import GazetteerGeocoder
from integrations.google.oauth import CALENDAR_SCOPES
from integrations.intent import OfflineIntentParser
from nexus.settings import Settings
from tests.fakes import FakeClock, FakeWorld
from tools_server.app import create_app
from tools_server.oauth_routes import (
    BROWSER_COOKIE,
    CALLBACK_PATH,
    START_PATH,
    add_oauth_routes,
    calendar_connect_configured,
    calendar_connect_link,
    calendar_disconnector,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
USER_ID = 424242
PUBLIC = "https://nexus.example"
AUTH_URI = "https://accounts.example/o/oauth2/auth"
KEY = generate_key()
REFRESH_TOKEN = "1//refresh-token-of-the-user"

ClientMaker = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class FakeGoogleToken:
    """Google's token endpoint: answers ``reply`` and records every form it was sent."""

    reply: tuple[int, dict[str, Any]] = (
        200,
        {
            "access_token": "ya29.access",
            "expires_in": 3599,
            "refresh_token": REFRESH_TOKEN,
            "scope": " ".join(CALENDAR_SCOPES),
            "token_type": "Bearer",
        },
    )
    forms: list[dict[str, str]] = field(default_factory=list)
    revoked: list[dict[str, str]] = field(default_factory=list)
    revoke_status: int = 200

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/revoke", self._revoke)
        return app

    async def _revoke(self, request: web.Request) -> web.Response:
        self.revoked.append({k: str(v) for k, v in (await request.post()).items()})
        if self.revoke_status != 200:
            return web.json_response({"error": "backend_error"}, status=self.revoke_status)
        return web.json_response({})

    async def _token(self, request: web.Request) -> web.Response:
        self.forms.append({k: str(v) for k, v in (await request.post()).items()})
        status, body = self.reply
        return web.json_response(body, status=status)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_base_url": PUBLIC + "/",
        "google_client_id": "client-id.apps.example",
        "google_client_secret": "client-secret",
        "encryption_key": KEY,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW))


@pytest.fixture
def google() -> FakeGoogleToken:
    return FakeGoogleToken()


@pytest.fixture
def confirmed() -> list[int]:
    return []


@pytest.fixture
async def google_server(google: FakeGoogleToken, aiohttp_server: ServerMaker) -> TestServer:
    """Google's token and revocation endpoints, on loopback."""
    return await aiohttp_server(google.app())


@pytest.fixture
async def client(
    world: FakeWorld,
    google_server: TestServer,
    confirmed: list[int],
    aiohttp_client: ClientMaker,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    token_server = google_server

    async def confirm(user_id: int) -> None:
        confirmed.append(user_id)

    async with aiohttp.ClientSession() as session:
        app = create_app(world.ports, "tool-secret")
        add_oauth_routes(
            app,
            settings(),
            session,
            on_connected=confirm,
            token_uri=str(token_server.make_url("/token")),
            auth_uri=AUTH_URI,
        )
        yield await aiohttp_client(app)


def local(link: str) -> str:
    """The path and query of a public link, to request it from the test server."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


@dataclass(frozen=True)
class Consent:
    """Where the bot's link led: the state Google sends back, and the cookie this browser got."""

    state: str
    cookie: str

    def back(self, **query: str) -> dict[str, Any]:
        """The callback request Google's redirect makes this browser send (the cookie is Secure, for https)."""
        return {"params": {"state": self.state, **query}, "headers": {"Cookie": f"{BROWSER_COOKIE}={self.cookie}"}}


async def consent(client: TestClient[web.Request, web.Application], link: str) -> Consent:
    """Follow the bot's link to Google's consent page, as a browser does."""
    response = await client.get(local(link), allow_redirects=False)
    assert response.status == 302
    morsel = response.cookies[BROWSER_COOKIE]
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Lax"
    assert morsel["path"] == "/oauth/google/"
    return Consent(parse_qs(urlsplit(response.headers["Location"]).query)["state"][0], morsel.value)


async def stored_token(world: FakeWorld, user_id: int) -> str | None:
    async with world.ports.uow() as uow:
        link = await uow.calendar_links.get(user_id)
    return TokenCipher(KEY).decrypt(link.encrypted_token) if link else None


async def test_the_link_leads_to_google_and_back_to_a_connected_calendar(
    world: FakeWorld, client: TestClient[web.Request, web.Application], google: FakeGoogleToken, confirmed: list[int]
) -> None:
    link = calendar_connect_link(settings(), USER_ID, NOW)
    assert link.startswith(f"{PUBLIC}{START_PATH}?state=")

    response = await client.get(local(link), allow_redirects=False)

    assert response.status == 302
    cookie = response.cookies[BROWSER_COOKIE].value
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == AUTH_URI
    query = parse_qs(location.query)
    assert query["redirect_uri"] == [PUBLIC + CALLBACK_PATH]
    assert query["client_id"] == ["client-id.apps.example"]
    assert query["access_type"] == ["offline"]

    world.clock.advance(timedelta(minutes=2))  # the person reads Google's page
    back = Consent(query["state"][0], cookie).back(code="4/the-code")
    response = await client.get(CALLBACK_PATH, **back)

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.cookies[BROWSER_COOKIE].value == ""  # the browser's secret is done with
    assert "Your Google Calendar is connected. You can go back to Telegram." in await response.text()
    assert await stored_token(world, USER_ID) == REFRESH_TOKEN
    assert google.forms[0]["code"] == "4/the-code"
    assert google.forms[0]["redirect_uri"] == PUBLIC + CALLBACK_PATH
    assert confirmed == [USER_ID]


async def test_google_gets_a_fresh_state_so_a_link_opened_late_still_completes(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    link = calendar_connect_link(settings(), USER_ID, NOW)
    world.clock.advance(timedelta(minutes=14))
    started = await consent(client, link)
    world.clock.advance(timedelta(minutes=5))

    response = await client.get(CALLBACK_PATH, **started.back(code="4/the-code"))

    assert response.status == 200
    assert await stored_token(world, USER_ID) == REFRESH_TOKEN


@pytest.mark.parametrize(
    ("state", "later", "sentence"),
    [
        ("forged.1764493200.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", timedelta(0), "is not valid"),
        (None, timedelta(minutes=16), "has expired"),
        ("", timedelta(0), "is not valid"),
    ],
)
async def test_a_bad_or_expired_link_shows_a_page_and_goes_nowhere(
    world: FakeWorld,
    client: TestClient[web.Request, web.Application],
    state: str | None,
    later: timedelta,
    sentence: str,
) -> None:
    link = calendar_connect_link(settings(), USER_ID, NOW)
    world.clock.advance(later)
    path = local(link) if state is None else f"{START_PATH}?state={state}"

    response = await client.get(path, allow_redirects=False)

    assert response.status == 400
    assert response.content_type == "text/html"
    assert f"This link to connect Google Calendar {sentence}. Ask the bot for a new one." in await response.text()


async def test_a_callback_with_a_forged_state_stores_nothing(
    world: FakeWorld, client: TestClient[web.Request, web.Application], google: FakeGoogleToken
) -> None:
    other_key = settings(encryption_key=generate_key())
    forged = parse_qs(urlsplit(calendar_connect_link(other_key, USER_ID, NOW)).query)["state"][0]

    response = await client.get(CALLBACK_PATH, params={"code": "4/the-code", "state": forged})

    assert response.status == 400
    assert google.forms == []
    assert await stored_token(world, USER_ID) is None


async def test_declining_on_googles_page_connects_nothing_and_says_how_to_retry(
    world: FakeWorld, client: TestClient[web.Request, web.Application], google: FakeGoogleToken, confirmed: list[int]
) -> None:
    started = await consent(client, calendar_connect_link(settings(), USER_ID, NOW))

    response = await client.get(CALLBACK_PATH, **started.back(error="access_denied"))

    assert response.status == 200
    assert "send /connect_calendar to the bot" in await response.text()
    assert google.forms == []
    assert confirmed == []
    assert await stored_token(world, USER_ID) is None


async def test_a_code_google_refuses_leaves_no_link_and_says_so(
    world: FakeWorld, client: TestClient[web.Request, web.Application], google: FakeGoogleToken, confirmed: list[int]
) -> None:
    google.reply = (400, {"error": "invalid_grant"})
    started = await consent(client, calendar_connect_link(settings(), USER_ID, NOW))

    response = await client.get(CALLBACK_PATH, **started.back(code="4/used-before"))

    assert response.status == 502
    assert "Google did not accept this sign-in" in await response.text()
    assert confirmed == []
    assert await stored_token(world, USER_ID) is None


async def test_a_callback_without_a_code_asks_for_a_new_link(
    client: TestClient[web.Request, web.Application],
) -> None:
    started = await consent(client, calendar_connect_link(settings(), USER_ID, NOW))

    response = await client.get(CALLBACK_PATH, **started.back())

    assert response.status == 400
    assert "This link is incomplete." in await response.text()


def test_connecting_calendars_needs_every_setting() -> None:
    assert calendar_connect_configured(settings())
    for missing in ("public_base_url", "google_client_id", "google_client_secret", "encryption_key"):
        incomplete = settings(**{missing: None})
        assert not calendar_connect_configured(incomplete), missing
        with pytest.raises(ValueError, match="PUBLIC_BASE_URL, GOOGLE_CLIENT_ID"):
            calendar_connect_link(incomplete, USER_ID, NOW)


async def test_a_link_works_once(world: FakeWorld, client: TestClient[web.Request, web.Application]) -> None:
    link = calendar_connect_link(settings(), USER_ID, NOW)
    await consent(client, link)

    again = await client.get(local(link), allow_redirects=False)

    assert again.status == 400
    assert "has been used already. Ask the bot for a new one." in await again.text()
    assert BROWSER_COOKIE not in again.cookies


async def test_a_link_opened_twice_at_once_leads_on_only_once(client: TestClient[web.Request, web.Application]) -> None:
    link = calendar_connect_link(settings(), USER_ID, NOW)

    answers = await asyncio.gather(*(client.get(local(link), allow_redirects=False) for _ in range(5)))

    assert sorted(a.status for a in answers) == [302, 400, 400, 400, 400]


@pytest.mark.parametrize("cookie", [None, "a-cookie-of-another-browser"])
async def test_the_callback_in_another_browser_connects_nothing(
    world: FakeWorld,
    client: TestClient[web.Request, web.Application],
    google: FakeGoogleToken,
    cookie: str | None,
) -> None:
    started = await consent(client, calendar_connect_link(settings(), USER_ID, NOW))
    headers = {} if cookie is None else {"Cookie": f"{BROWSER_COOKIE}={cookie}"}

    response = await client.get(CALLBACK_PATH, params={"code": "4/the-code", "state": started.state}, headers=headers)

    assert response.status == 400
    assert "This sign-in was started in another browser." in await response.text()
    assert google.forms == []
    assert await stored_token(world, USER_ID) is None
    # The browser that started still can finish.
    assert (await client.get(CALLBACK_PATH, **started.back(code="4/the-code"))).status == 200


async def test_a_replayed_callback_is_refused(
    world: FakeWorld, client: TestClient[web.Request, web.Application], google: FakeGoogleToken
) -> None:
    started = await consent(client, calendar_connect_link(settings(), USER_ID, NOW))
    assert (await client.get(CALLBACK_PATH, **started.back(code="4/the-code"))).status == 200

    replay = await client.get(CALLBACK_PATH, **started.back(code="4/another-code"))

    assert replay.status == 400
    assert "has been used already" in await replay.text()
    assert [form["code"] for form in google.forms] == ["4/the-code"]


@pytest.mark.parametrize("google_answers", [200, 503])
async def test_disconnecting_revokes_the_grant_at_google(
    world: FakeWorld,
    client: TestClient[web.Request, web.Application],
    google: FakeGoogleToken,
    google_server: TestServer,
    google_answers: int,
) -> None:
    started = await consent(client, calendar_connect_link(settings(), USER_ID, NOW))
    await client.get(CALLBACK_PATH, **started.back(code="4/the-code"))
    google.revoke_status = google_answers
    chat = RecordingChat()
    async with aiohttp.ClientSession() as session:
        disconnect = calendar_disconnector(
            settings(), world.ports.uow, session, revoke_uri=str(google_server.make_url("/revoke"))
        )
        talk = Conversation(world.ports, OfflineIntentParser(), GazetteerGeocoder(), calendar_disconnect=disconnect)
        await talk.disconnect_calendar(chat, Person(USER_ID, "Anna", "en"))

    assert google.revoked == [{"token": REFRESH_TOKEN}]
    # Forgotten here whether or not Google confirmed: NEXUS never uses the token again.
    assert await stored_token(world, USER_ID) is None
    assert chat.replies[-1].text == "Your calendar is disconnected. I no longer read or write it."
