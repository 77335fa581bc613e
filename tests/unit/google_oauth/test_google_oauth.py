"""The OAuth web-server flow against a fake Google token endpoint on 127.0.0.1, and the stored link."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from domain.models import CalendarLink
from integrations.crypto import TokenCipher, generate_key
from integrations.google.oauth import (
    CALENDAR_SCOPES,
    GoogleOAuth,
    OAuthExchangeError,
    connect_calendar,
    disconnect_calendar,
)
from tests.unit.google_oauth.fake_uow import FakeCalendarStore

CLIENT_ID = "client-id.apps.example"
CLIENT_SECRET = "client-secret"
REDIRECT_URI = "https://nexus.example/oauth/google/callback"
CODE = "4/0auth-code"
REFRESH_TOKEN = "1//0refresh-token"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

Answer = tuple[int, object]


class FakeGoogle:
    """Google's token and revocation endpoints: records each form posted, answers what the test set."""

    def __init__(self) -> None:
        self.token_forms: list[dict[str, str]] = []
        self.revoke_forms: list[dict[str, str]] = []
        self.token_answer: Answer = (
            200,
            {
                "access_token": "ya29.access",
                "expires_in": 3599,
                "refresh_token": REFRESH_TOKEN,
                "scope": " ".join(CALENDAR_SCOPES),
                "token_type": "Bearer",
            },
        )
        self.revoke_answer: Answer = (200, {})
        self.release = asyncio.Event()
        self.hang = False
        self.token_uri = self.revoke_uri = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/revoke", self._revoke)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        self.token_forms.append(dict(await request.post()))  # type: ignore[arg-type]
        if self.hang:
            await self.release.wait()
        return self._respond(self.token_answer)

    async def _revoke(self, request: web.Request) -> web.Response:
        self.revoke_forms.append(dict(await request.post()))  # type: ignore[arg-type]
        return self._respond(self.revoke_answer)

    @staticmethod
    def _respond(answer: Answer) -> web.Response:
        status, body = answer
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)


@pytest.fixture
async def google(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> AsyncIterator[FakeGoogle]:
    fake = FakeGoogle()
    server = await aiohttp_server(fake.app())
    fake.token_uri, fake.revoke_uri = str(server.make_url("/token")), str(server.make_url("/revoke"))
    yield fake
    fake.release.set()  # let a held request finish so the server can shut down


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def make_oauth(google: FakeGoogle, session: aiohttp.ClientSession, timeout_seconds: float = 10.0) -> GoogleOAuth:
    return GoogleOAuth(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
        session,
        token_uri=google.token_uri,
        revoke_uri=google.revoke_uri,
        timeout_seconds=timeout_seconds,
    )


def test_the_consent_url_asks_for_lasting_calendar_access() -> None:
    oauth = GoogleOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, session=None)  # type: ignore[arg-type]

    url = urlsplit(oauth.authorization_url("the-state"))
    query = {name: values[0] for name, values in parse_qs(url.query, strict_parsing=True).items()}

    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://accounts.google.com/o/oauth2/auth"
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.freebusy",
        "state": "the-state",
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    }


async def test_the_code_is_exchanged_for_the_refresh_token(google: FakeGoogle, session: aiohttp.ClientSession) -> None:
    token = await make_oauth(google, session).exchange_code(CODE)

    assert token == REFRESH_TOKEN
    assert google.token_forms == [
        {
            "grant_type": "authorization_code",
            "code": CODE,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
    ]


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        (
            (400, {"error": "invalid_grant", "error_description": "Bad Request"}),
            "Google did not accept this sign-in; the link may have been used already. "
            "Please connect your calendar again.",
        ),
        ((502, "<html>Bad Gateway</html>"), "Google did not accept this sign-in"),
        ((200, "not json"), "Google did not accept this sign-in"),
        (
            (200, {"access_token": "ya29.a", "scope": " ".join(CALENDAR_SCOPES)}),
            "Google did not give NEXUS lasting access to your calendar. Please connect it again and allow access.",
        ),
        (
            (200, {"refresh_token": REFRESH_TOKEN, "scope": CALENDAR_SCOPES[1]}),
            "NEXUS needs permission both to see when you are busy and to add appointments to your calendar. "
            "Please connect it again and allow both.",
        ),
        ((200, {"refresh_token": REFRESH_TOKEN}), "NEXUS needs permission both"),
    ],
    ids=["refused", "gateway-error", "not-json", "no-refresh-token", "scope-unticked", "no-scope"],
)
async def test_an_exchange_without_everything_nexus_needs_fails_with_a_sentence(
    google: FakeGoogle, session: aiohttp.ClientSession, answer: Answer, sentence: str
) -> None:
    google.token_answer = answer

    with pytest.raises(OAuthExchangeError) as raised:
        await make_oauth(google, session).exchange_code(CODE)

    assert str(raised.value).startswith(sentence)
    assert REFRESH_TOKEN not in str(raised.value)


async def test_more_scopes_than_needed_are_fine(google: FakeGoogle, session: aiohttp.ClientSession) -> None:
    scopes = " ".join(["openid", *CALENDAR_SCOPES])
    google.token_answer = (200, {"refresh_token": REFRESH_TOKEN, "scope": scopes})

    assert await make_oauth(google, session).exchange_code(CODE) == REFRESH_TOKEN


async def test_a_token_endpoint_that_does_not_answer_in_time_fails_the_exchange(
    google: FakeGoogle, session: aiohttp.ClientSession
) -> None:
    google.hang = True

    with pytest.raises(OAuthExchangeError, match="could not be reached"):
        await make_oauth(google, session, timeout_seconds=0.2).exchange_code(CODE)


async def test_an_unreachable_token_endpoint_fails_the_exchange(session: aiohttp.ClientSession) -> None:
    with socket.socket() as placeholder:  # a port that is bound but never listens refuses connections
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        oauth = GoogleOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, session, token_uri=f"http://127.0.0.1:{port}/token")

        with pytest.raises(OAuthExchangeError) as raised:
            await oauth.exchange_code(CODE)

    assert str(raised.value) == "Google could not be reached to finish connecting your calendar. Please try again."


async def test_revoke_reports_whether_google_confirmed(google: FakeGoogle, session: aiohttp.ClientSession) -> None:
    oauth = make_oauth(google, session)

    assert await oauth.revoke(REFRESH_TOKEN) is True
    google.revoke_answer = (400, {"error": "invalid_token"})
    assert await oauth.revoke(REFRESH_TOKEN) is False
    assert google.revoke_forms == [{"token": REFRESH_TOKEN}, {"token": REFRESH_TOKEN}]


async def test_connecting_stores_the_refresh_token_encrypted() -> None:
    store = FakeCalendarStore()
    cipher = TokenCipher(generate_key())

    link = await connect_calendar(store.uow, cipher, 7, REFRESH_TOKEN, NOW)

    assert store.links == {7: link}
    assert store.commits == 1
    assert (link.provider, link.calendar_id, link.created_at) == ("google", "primary", NOW)
    assert REFRESH_TOKEN not in link.encrypted_token
    assert cipher.decrypt(link.encrypted_token) == REFRESH_TOKEN


async def test_connecting_again_replaces_the_link() -> None:
    cipher = TokenCipher(generate_key())
    store = FakeCalendarStore(CalendarLink(7, "google", cipher.encrypt("old"), NOW))

    await connect_calendar(store.uow, cipher, 7, REFRESH_TOKEN, NOW, calendar_id="work@example.com")

    assert cipher.decrypt(store.links[7].encrypted_token) == REFRESH_TOKEN
    assert store.links[7].calendar_id == "work@example.com"


async def test_disconnecting_forgets_the_link_and_says_whether_there_was_one() -> None:
    cipher = TokenCipher(generate_key())
    store = FakeCalendarStore(
        CalendarLink(7, "google", cipher.encrypt(REFRESH_TOKEN), NOW),
        CalendarLink(8, "google", cipher.encrypt("other"), NOW),
    )

    assert await disconnect_calendar(store.uow, 7) is True
    assert await disconnect_calendar(store.uow, 7) is False
    assert list(store.links) == [8]


async def test_disconnecting_with_oauth_revokes_the_grant(google: FakeGoogle, session: aiohttp.ClientSession) -> None:
    cipher = TokenCipher(generate_key())
    store = FakeCalendarStore(CalendarLink(7, "google", cipher.encrypt(REFRESH_TOKEN), NOW))

    assert await disconnect_calendar(store.uow, 7, cipher=cipher, oauth=make_oauth(google, session)) is True

    assert google.revoke_forms == [{"token": REFRESH_TOKEN}]
    assert store.links == {}


async def test_disconnecting_succeeds_when_the_token_cannot_be_read(
    google: FakeGoogle, session: aiohttp.ClientSession
) -> None:
    cipher = TokenCipher(generate_key())
    stored_under_old_key = TokenCipher(generate_key()).encrypt(REFRESH_TOKEN)
    store = FakeCalendarStore(CalendarLink(7, "google", stored_under_old_key, NOW))

    assert await disconnect_calendar(store.uow, 7, cipher=cipher, oauth=make_oauth(google, session)) is True

    assert store.links == {}
    assert google.revoke_forms == []


async def test_disconnecting_succeeds_when_google_refuses_to_revoke(
    google: FakeGoogle, session: aiohttp.ClientSession
) -> None:
    cipher = TokenCipher(generate_key())
    store = FakeCalendarStore(CalendarLink(7, "google", cipher.encrypt(REFRESH_TOKEN), NOW))
    google.revoke_answer = (503, "<html>Unavailable</html>")

    assert await disconnect_calendar(store.uow, 7, cipher=cipher, oauth=make_oauth(google, session)) is True

    assert store.links == {}
    assert google.revoke_forms == [{"token": REFRESH_TOKEN}]
