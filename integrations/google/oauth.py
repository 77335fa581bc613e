"""Connecting a user's Google Calendar with OAuth: the signed state, the consent URL, the code exchange, the link.

Framework-free; the HTTP routes call these. The flow:

1. the bot sends the user ``oauth.authorization_url(sign_state(user_id, now, secret))``;
2. Google sends the browser back to ``redirect_uri?code=...&state=...``; the route calls
   ``verify_state(state, now, secret)`` for the user id, ``await oauth.exchange_code(code)`` for the refresh
   token, and ``connect_calendar(...)`` to store it encrypted.

Errors::

    OAuthStateError     (InvalidRequest)         the state is forged, damaged, expired, used already, or came
                                                 back in another browser than the one that started
    OAuthExchangeError  (DependencyUnavailable)  Google did not give NEXUS lasting calendar access
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import aiohttp

from domain.errors import DependencyUnavailable, InvalidRequest
from domain.models import CalendarLink, ensure_aware
from domain.ports import UnitOfWorkFactory
from integrations.crypto import DecryptionError, TokenCipher

_log = logging.getLogger(__name__)

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (an address, not a secret)
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"

# The narrowest pair that lets NEXUS see when the user is busy and put bookings into the calendar.
CALENDAR_SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
)

CALENDAR_PROVIDER = "google"

_STATE_PURPOSE = b"nexus.google-calendar-oauth-state."
_BROWSER_PURPOSE = b"nexus.google-calendar-oauth-browser."
# user id, issue time, (the browser's binding,) signature
_STATE_PATTERN = re.compile(r"(-?[0-9]{1,20})\.([0-9]{1,12})(?:\.([A-Za-z0-9_-]{22}))?\.([A-Za-z0-9_-]{43})")
# A state a little "from the future" is tolerated: several NEXUS processes' clocks differ slightly.
_CLOCK_SKEW = timedelta(minutes=1)

_STATE_INVALID = "This link to connect Google Calendar is not valid. Ask the bot for a new one."
_STATE_EXPIRED = "This link to connect Google Calendar has expired. Ask the bot for a new one."
_STATE_USED = "This link to connect Google Calendar has been used already. Ask the bot for a new one."
_STATE_OTHER_BROWSER = (
    "This sign-in was started in another browser. Open the bot's link again in the browser you use here, "
    "or ask the bot for a new one."
)
_EXCHANGE_UNREACHABLE = "Google could not be reached to finish connecting your calendar. Please try again."
_EXCHANGE_REFUSED = (
    "Google did not accept this sign-in; the link may have been used already. Please connect your calendar again."
)
_EXCHANGE_NOT_OFFLINE = (
    "Google did not give NEXUS lasting access to your calendar. Please connect it again and allow access."
)
_EXCHANGE_SCOPES_MISSING = (
    "NEXUS needs permission both to see when you are busy and to add appointments to your calendar. "
    "Please connect it again and allow both."
)


class OAuthStateError(InvalidRequest):
    """The ``state`` that came back from Google is forged, damaged or expired."""

    code = "invalid_oauth_state"


class OAuthExchangeError(DependencyUnavailable):
    """Google did not turn the authorization code into a refresh token with the scopes NEXUS needs."""

    code = "oauth_exchange_failed"


# --- state ---------------------------------------------------------------------------------------------------


def sign_state(user_id: int, now: datetime, secret: str, *, browser: str | None = None) -> str:
    """A url-safe ``state`` that binds the consent to ``user_id`` and to the time it was issued, and, given
    ``browser`` (a secret kept in that browser's cookie), to that browser."""
    issued = int(ensure_aware(now, "issue time").timestamp())
    payload = f"{user_id}.{issued}" if browser is None else f"{user_id}.{issued}.{_browser_binding(browser)}"
    return f"{payload}.{_state_signature(payload, secret)}"


def verify_state(
    state: str,
    now: datetime,
    secret: str,
    max_age: timedelta = timedelta(minutes=15),
    *,
    browser: str | None = None,
    bound: bool = False,
) -> int:
    """The Telegram user id ``state`` was signed for; raises ``OAuthStateError`` when it is forged or too old,
    or (``bound``) when it was not signed for the ``browser`` that brings it back."""
    match = _STATE_PATTERN.fullmatch(state)
    if match is None:
        raise OAuthStateError(_STATE_INVALID)
    user_id, issued, binding, signature = match.groups()
    payload = f"{user_id}.{issued}" if binding is None else f"{user_id}.{issued}.{binding}"
    if not hmac.compare_digest(signature, _state_signature(payload, secret)):
        raise OAuthStateError(_STATE_INVALID)
    age = ensure_aware(now) - datetime.fromtimestamp(int(issued), UTC)
    if age < -_CLOCK_SKEW:
        raise OAuthStateError(_STATE_INVALID)
    if age > max_age:
        raise OAuthStateError(_STATE_EXPIRED)
    if bound:
        if binding is None:
            raise OAuthStateError(_STATE_INVALID)
        if not browser or not hmac.compare_digest(binding, _browser_binding(browser)):
            raise OAuthStateError(_STATE_OTHER_BROWSER)
    return int(user_id)


async def use_state_once(uow_factory: UnitOfWorkFactory, state: str, now: datetime) -> None:
    """Record that ``state`` has been used; raises ``OAuthStateError`` when it was used before (by anyone, in
    any process: the database decides)."""
    key = "google-oauth-state:" + hashlib.sha256(state.encode("ascii")).hexdigest()
    async with uow_factory() as uow:
        first_time = await uow.events.remember(key, ensure_aware(now))
        await uow.commit()
    if not first_time:
        raise OAuthStateError(_STATE_USED)


def _browser_binding(browser: str) -> str:
    """A short, one-way digest of the browser's cookie secret: the state shows nothing that would forge it."""
    digest = hashlib.sha256(_BROWSER_PURPOSE + browser.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def _state_signature(payload: str, secret: str) -> str:
    if not secret:
        raise ValueError("The secret that signs the Google Calendar OAuth state is empty.")
    # The purpose prefix keeps a state signature from ever matching a signature made with the same secret elsewhere.
    digest = hmac.new(secret.encode("utf-8"), _STATE_PURPOSE + payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# --- Google's endpoints --------------------------------------------------------------------------------------


class GoogleOAuth:
    """Google's OAuth 2.0 web-server flow for calendar access (consent URL, code exchange, revocation)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        session: aiohttp.ClientSession,
        *,
        token_uri: str = GOOGLE_TOKEN_URI,
        auth_uri: str = GOOGLE_AUTH_URI,
        revoke_uri: str = GOOGLE_REVOKE_URI,
        scopes: Sequence[str] = CALENDAR_SCOPES,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._session = session
        self._token_uri = token_uri
        self._auth_uri = auth_uri
        self._revoke_uri = revoke_uri
        self._scopes = tuple(scopes)
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    def authorization_url(self, state: str) -> str:
        """Where to send the user to grant NEXUS calendar access."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": self._redirect_uri,
                "scope": " ".join(self._scopes),
                "state": state,
                # A refresh token comes only with offline access, and only on a fresh consent.
                "access_type": "offline",
                "prompt": "consent",
                "include_granted_scopes": "true",
            }
        )
        return f"{self._auth_uri}?{query}"

    async def exchange_code(self, code: str) -> str:
        """Trade the authorization code from the redirect for a refresh token; raises ``OAuthExchangeError``."""
        status, answer = await self._post(
            self._token_uri,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._redirect_uri,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
        )
        if status != 200 or answer is None:
            error = answer.get("error") if answer else None
            _log.warning("Google refused the authorization code (HTTP %s, error %r)", status, error)
            raise OAuthExchangeError(_EXCHANGE_REFUSED)
        refresh_token = answer.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise OAuthExchangeError(_EXCHANGE_NOT_OFFLINE)
        # With granular consent the user may untick a scope; without all of them NEXUS cannot work.
        granted = answer.get("scope")
        if not isinstance(granted, str) or not set(self._scopes) <= set(granted.split()):
            raise OAuthExchangeError(_EXCHANGE_SCOPES_MISSING)
        return refresh_token

    async def revoke(self, token: str) -> bool:
        """Withdraw the grant behind ``token`` at Google; ``False`` (logged) when Google did not confirm it."""
        status, answer = await self._post(self._revoke_uri, {"token": token})
        if status == 200:
            return True
        error = answer.get("error") if answer else None
        _log.warning("Google did not revoke the calendar grant (HTTP %s, error %r)", status, error)
        return False

    async def _post(self, url: str, form: dict[str, str]) -> tuple[int, dict[str, object] | None]:
        """POST a form; the status and the JSON object answered (``None`` when the body is not one)."""
        try:
            async with self._session.post(url, data=form, timeout=self._timeout) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            _log.warning("Google's OAuth endpoint could not be reached (%s)", type(exc).__name__)
            raise OAuthExchangeError(_EXCHANGE_UNREACHABLE) from None
        return status, body if isinstance(body, dict) else None


# --- the stored link -----------------------------------------------------------------------------------------


async def connect_calendar(
    uow_factory: UnitOfWorkFactory,
    cipher: TokenCipher,
    user_id: int,
    refresh_token: str,
    now: datetime,
    calendar_id: str = "primary",
) -> CalendarLink:
    """Store (or replace) the user's link to their Google Calendar, the refresh token encrypted."""
    link = CalendarLink(
        user_id=user_id,
        provider=CALENDAR_PROVIDER,
        encrypted_token=cipher.encrypt(refresh_token),
        created_at=ensure_aware(now),
        calendar_id=calendar_id,
    )
    async with uow_factory() as uow:
        await uow.calendar_links.save(link)
        await uow.commit()
    return link


async def disconnect_calendar(
    uow_factory: UnitOfWorkFactory,
    user_id: int,
    *,
    cipher: TokenCipher | None = None,
    oauth: GoogleOAuth | None = None,
) -> bool:
    """Forget the user's calendar link; ``False`` when there was none.

    Given ``cipher`` and ``oauth``, the grant is also revoked at Google, best effort: the link is gone either way.
    """
    async with uow_factory() as uow:
        link = await uow.calendar_links.get(user_id)
        removed = await uow.calendar_links.delete(user_id)
        await uow.commit()
    if link is None or cipher is None or oauth is None:
        return removed
    try:
        await oauth.revoke(cipher.decrypt(link.encrypted_token))
    except (DecryptionError, OAuthExchangeError) as exc:
        _log.warning("The Google Calendar grant of a disconnected user was not revoked (%s)", type(exc).__name__)
    return removed
