"""Hanging up a running phone call through Twilio's REST API.

ElevenLabs places the calls over our Twilio number, so Twilio's ``CallSid`` names each one; ending a call
is ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` with ``Status=completed``.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from domain.errors import DependencyUnavailable

log = logging.getLogger(__name__)

# Twilio's answers for a call that is already over: the call is gone (404) or no longer in progress (21220).
_NOT_FOUND = 404
_CALL_NOT_IN_PROGRESS = 21220


class TwilioCallControl:
    """Ends calls by their Twilio ``CallSid``; ``http_client`` replaces the network layer (tests record
    requests with it). Without one, each hang-up opens and closes its own connection: they are rare."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        http_client: AsyncHttpClient | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("Hanging up calls needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        self._client = Client(
            account_sid, auth_token, http_client=http_client or AsyncTwilioHttpClient(pool_connections=False)
        )
        self._timeout = timeout_seconds

    async def hang_up(self, call_sid: str) -> None:
        """End the call; a call that has already ended is left alone. Raises ``DependencyUnavailable``."""
        try:
            # The async HTTP client applies no timeout of its own.
            async with asyncio.timeout(self._timeout):
                await self._client.calls(call_sid).update_async(status="completed")
        except (TwilioRestException, TwilioServiceException) as exc:
            if exc.status == _NOT_FOUND or exc.code == _CALL_NOT_IN_PROGRESS:
                log.info("call %s had already ended at Twilio", call_sid)
                return
            log.warning("Twilio refused to hang up call %s: HTTP %s, error %s", call_sid, exc.status, exc.code)
            raise DependencyUnavailable("Twilio did not hang up the call.") from exc
        except (TwilioException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not reach Twilio to hang up call %s: %s", call_sid, type(exc).__name__)
            raise DependencyUnavailable("Twilio could not be reached to hang up the call.") from exc
        log.info("hung up call %s", call_sid)
