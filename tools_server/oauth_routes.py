"""Connecting a user's Google Calendar from a link the bot sends: ``/oauth/google/start`` and ``/callback``.

1. The bot sends ``calendar_connect_link(settings, user_id, now)``: ``/oauth/google/start?state=…``, the state
   signed for the Telegram user and short-lived.
2. ``start`` checks the state, uses it up (a link works once), puts a random secret into a cookie of this
   browser and sends it on to Google's consent page with a fresh state bound to that secret, so the time the
   person spends on Google's pages does not count against the link.
3. ``callback`` checks the fresh state, that it comes back in the browser that started (the cookie), uses it
   up, trades the code for a refresh token and stores it encrypted.

Every answer is a small page for the person in the browser; nothing about the token ever appears in it.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from domain.ports import UnitOfWorkFactory
from integrations.crypto import TokenCipher
from integrations.google.oauth import (
    GOOGLE_AUTH_URI,
    GOOGLE_REVOKE_URI,
    GOOGLE_TOKEN_URI,
    GoogleOAuth,
    OAuthExchangeError,
    OAuthStateError,
    connect_calendar,
    disconnect_calendar,
    sign_state,
    use_state_once,
    verify_state,
)
from tools_server.keys import PORTS

log = logging.getLogger(__name__)

START_PATH = "/oauth/google/start"
CALLBACK_PATH = "/oauth/google/callback"
# The browser's secret between start and callback: only ever sent to these two routes, never readable by scripts.
BROWSER_COOKIE = "nexus_google_oauth"
_COOKIE_PATH = "/oauth/google/"
_COOKIE_SECONDS = 15 * 60

CONNECTED = "Your Google Calendar is connected. You can go back to Telegram."
DENIED = (
    "You did not allow NEXUS to use your Google Calendar, so nothing was connected. "
    "To try again, send /connect_calendar to the bot in Telegram."
)
FAILED = "Google could not finish connecting your calendar. Please ask the bot in Telegram for a new link."
INCOMPLETE = "This link is incomplete. Please ask the bot in Telegram for a new one."

_NOT_CONFIGURED = (
    "Connecting Google Calendar needs PUBLIC_BASE_URL, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and ENCRYPTION_KEY."
)

CalendarConnected = Callable[[int], Awaitable[None]]
CalendarDisconnect = Callable[[int], Awaitable[bool]]


class OAuthSettings(Protocol):
    """The settings the calendar connection needs (``nexus.settings.Settings`` has them)."""

    @property
    def public_base_url(self) -> str | None: ...

    @property
    def google_client_id(self) -> str | None: ...

    @property
    def google_client_secret(self) -> SecretStr | None: ...

    @property
    def encryption_key(self) -> SecretStr | None: ...


def calendar_connect_configured(settings: OAuthSettings) -> bool:
    """Whether the settings allow connecting Google Calendars at all."""
    return bool(
        settings.public_base_url
        and settings.google_client_id
        and settings.google_client_secret
        and settings.google_client_secret.get_secret_value()
        and settings.encryption_key
        and settings.encryption_key.get_secret_value()
    )


def calendar_connect_link(settings: OAuthSettings, user_id: int, now: datetime) -> str:
    """The link the bot sends ``user_id`` to connect their Google Calendar; it expires after a few minutes."""
    if not calendar_connect_configured(settings):
        raise ValueError(_NOT_CONFIGURED)
    state = sign_state(user_id, now, _state_secret(settings))
    return f"{_base_url(settings)}{START_PATH}?{urlencode({'state': state})}"


def calendar_disconnector(
    settings: OAuthSettings,
    uow_factory: UnitOfWorkFactory,
    session: aiohttp.ClientSession,
    *,
    revoke_uri: str = GOOGLE_REVOKE_URI,
) -> CalendarDisconnect:
    """``/disconnect_calendar``: forget the user's calendar and revoke NEXUS's access at Google (best effort:
    the link is gone even when Google cannot be reached). ``True`` when there was a calendar."""
    oauth, cipher = _google(settings, session, revoke_uri=revoke_uri)

    async def disconnect(user_id: int) -> bool:
        return await disconnect_calendar(uow_factory, user_id, cipher=cipher, oauth=oauth)

    return disconnect


@dataclass(frozen=True, slots=True)
class _CalendarConnect:
    oauth: GoogleOAuth
    cipher: TokenCipher
    state_secret: str
    on_connected: CalendarConnected | None
    secure_cookie: bool


_CONNECT = web.AppKey("google_calendar_connect", _CalendarConnect)


def add_oauth_routes(
    app: web.Application,
    settings: OAuthSettings,
    session: aiohttp.ClientSession,
    *,
    on_connected: CalendarConnected | None = None,
    token_uri: str = GOOGLE_TOKEN_URI,
    auth_uri: str = GOOGLE_AUTH_URI,
) -> None:
    """Serve the two OAuth routes on ``app``; ``on_connected(user_id)`` runs after a calendar is stored (the
    bot's confirmation in the chat). ``session`` talks to Google and must outlive the app."""
    oauth, cipher = _google(settings, session, token_uri=token_uri, auth_uri=auth_uri)
    secure = _base_url(settings).startswith("https://")
    app[_CONNECT] = _CalendarConnect(oauth, cipher, _state_secret(settings), on_connected, secure)
    app.router.add_get(START_PATH, start, name="google_oauth_start")
    app.router.add_get(CALLBACK_PATH, callback, name="google_oauth_callback")


async def start(request: web.Request) -> web.StreamResponse:
    """Check the link and use it up, then send this browser, marked by a cookie, to Google's consent page."""
    connect = request.app[_CONNECT]
    ports = request.app[PORTS]
    now = ports.clock.now()
    state = request.query.get("state", "")
    try:
        user_id = verify_state(state, now, connect.state_secret)
        await use_state_once(ports.uow, state, now)
    except OAuthStateError as exc:
        return page(str(exc), status=400)
    browser = secrets.token_urlsafe(32)
    fresh_state = sign_state(user_id, now, connect.state_secret, browser=browser)
    response = web.HTTPFound(connect.oauth.authorization_url(fresh_state), headers=_PRIVATE)
    # SameSite=Lax: the cookie still comes along on Google's top-level redirect back to the callback.
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=_COOKIE_SECONDS,
        path=_COOKIE_PATH,
        httponly=True,
        secure=connect.secure_cookie,
        samesite="Lax",
    )
    raise response


async def callback(request: web.Request) -> web.Response:
    """Store the calendar access Google granted, or say why there is none."""
    connect = request.app[_CONNECT]
    ports = request.app[PORTS]
    now = ports.clock.now()
    state = request.query.get("state", "")
    try:
        browser = request.cookies.get(BROWSER_COOKIE)
        user_id = verify_state(state, now, connect.state_secret, browser=browser, bound=True)
        await use_state_once(ports.uow, state, now)
    except OAuthStateError as exc:
        return page(str(exc), status=400)
    response = await _finish(request, connect, user_id)
    response.del_cookie(BROWSER_COOKIE, path=_COOKIE_PATH)
    return response


async def _finish(request: web.Request, connect: _CalendarConnect, user_id: int) -> web.Response:
    """Google's answer for ``user_id``: store the refresh token, or say why there is none."""
    ports = request.app[PORTS]
    now = ports.clock.now()
    error = request.query.get("error")
    if error == "access_denied":
        return page(DENIED)
    if error:
        log.warning("Google's consent page sent back error %r", error[:60])
        return page(FAILED, status=400)
    code = request.query.get("code")
    if not code:
        return page(INCOMPLETE, status=400)
    try:
        refresh_token = await connect.oauth.exchange_code(code)
    except OAuthExchangeError as exc:
        return page(str(exc), status=502)
    await connect_calendar(ports.uow, connect.cipher, user_id, refresh_token, now)
    log.info("user %s connected a Google Calendar", user_id)
    if connect.on_connected is not None:
        try:
            await connect.on_connected(user_id)
        except Exception:  # the calendar is connected; a failed chat message must not say otherwise
            log.exception("could not confirm the calendar connection to user %s", user_id)
    return page(CONNECTED)


# The callback's address carries the authorization code: keep it out of caches and other sites' logs.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def page(message: str, status: int = 200) -> web.Response:
    """A small, self-contained page that tells the person ``message``."""
    text = html.escape(message)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>NEXUS · Google Calendar</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;"
        "line-height:1.5}</style></head>"
        f"<body><h1>NEXUS</h1><p>{text}</p></body></html>"
    )
    return web.Response(text=body, content_type="text/html", status=status, headers=_PRIVATE)


def _google(
    settings: OAuthSettings,
    session: aiohttp.ClientSession,
    *,
    token_uri: str = GOOGLE_TOKEN_URI,
    auth_uri: str = GOOGLE_AUTH_URI,
    revoke_uri: str = GOOGLE_REVOKE_URI,
) -> tuple[GoogleOAuth, TokenCipher]:
    """The OAuth client (Google's addresses can be others, for tests) and the token cipher; raises
    ``ValueError`` when calendar sync is not set up."""
    if not calendar_connect_configured(settings):
        raise ValueError(_NOT_CONFIGURED)
    assert settings.google_client_id and settings.google_client_secret and settings.encryption_key  # checked above
    oauth = GoogleOAuth(
        settings.google_client_id,
        settings.google_client_secret.get_secret_value(),
        _base_url(settings) + CALLBACK_PATH,
        session,
        token_uri=token_uri,
        auth_uri=auth_uri,
        revoke_uri=revoke_uri,
    )
    return oauth, TokenCipher(settings.encryption_key.get_secret_value())


def _base_url(settings: OAuthSettings) -> str:
    return (settings.public_base_url or "").rstrip("/")


def _state_secret(settings: OAuthSettings) -> str:
    """A key for signing states, derived from ENCRYPTION_KEY so that one key is never used for two jobs."""
    assert settings.encryption_key is not None
    key = settings.encryption_key.get_secret_value().encode("utf-8")
    return hmac.new(key, b"nexus/google-calendar/oauth-state/v1", hashlib.sha256).hexdigest()
