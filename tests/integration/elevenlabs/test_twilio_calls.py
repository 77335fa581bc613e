"""Hanging up through Twilio, with Twilio's own pluggable HTTP client recording the exact request."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import pytest
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from domain.errors import DependencyUnavailable
from integrations.twilio_calls import TwilioCallControl

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token"
CALL_SID = "CA" + "1" * 32


@dataclass
class Sent:
    method: str
    url: str
    data: dict[str, object] | None
    auth: tuple[str, str] | None


class RecordingTwilioHttp(AsyncHttpClient):  # type: ignore[misc]
    """Twilio's extension point for the network layer: records each request, answers with ``reply``."""

    def __init__(self, status: int = 200, body: dict[str, object] | None = None, stall: bool = False) -> None:
        super().__init__(logger=logging.getLogger("tests.twilio"), is_async=True)
        self.sent: list[Sent] = []
        self.status = status
        self.body = body if body is not None else {"sid": CALL_SID, "status": "completed"}
        self.stall = stall

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - Twilio's interface
        allow_redirects: bool = False,
    ) -> Response:
        self.sent.append(Sent(method, uri, data, auth))
        if self.stall:
            await asyncio.Event().wait()
        return Response(self.status, json.dumps(self.body))


async def test_hang_up_posts_status_completed_to_the_call() -> None:
    http = RecordingTwilioHttp()

    await TwilioCallControl(ACCOUNT_SID, AUTH_TOKEN, http_client=http).hang_up(CALL_SID)

    assert http.sent == [
        Sent(
            "POST",
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json",
            {"Status": "completed"},
            (ACCOUNT_SID, AUTH_TOKEN),
        )
    ]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, {"code": 20404, "message": "The requested resource was not found", "status": 404}),
        (400, {"code": 21220, "message": "Call is not in-progress. Cannot redirect.", "status": 400}),
    ],
)
async def test_a_call_that_already_ended_is_left_alone(status: int, body: dict[str, object]) -> None:
    http = RecordingTwilioHttp(status, body)

    await TwilioCallControl(ACCOUNT_SID, AUTH_TOKEN, http_client=http).hang_up(CALL_SID)

    assert len(http.sent) == 1


async def test_a_twilio_error_is_unavailable_and_the_token_stays_out_of_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    http = RecordingTwilioHttp(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(DependencyUnavailable, match="Twilio did not hang up the call"):
        await TwilioCallControl(ACCOUNT_SID, AUTH_TOKEN, http_client=http).hang_up(CALL_SID)

    assert "HTTP 500, error 20500" in caplog.text
    assert AUTH_TOKEN not in caplog.text


async def test_a_twilio_that_does_not_answer_in_time_is_unavailable() -> None:
    http = RecordingTwilioHttp(stall=True)
    control = TwilioCallControl(ACCOUNT_SID, AUTH_TOKEN, http_client=http, timeout_seconds=0.05)

    with pytest.raises(DependencyUnavailable, match="could not be reached"):
        await control.hang_up(CALL_SID)


def test_missing_credentials_name_the_settings() -> None:
    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"):
        TwilioCallControl(ACCOUNT_SID, "")


def test_the_default_network_layer_can_be_built_outside_an_event_loop() -> None:
    TwilioCallControl(ACCOUNT_SID, AUTH_TOKEN)
