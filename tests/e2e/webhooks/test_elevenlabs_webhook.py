"""``POST /webhooks/elevenlabs`` over real HTTP: signed deliveries end calls and move campaigns on."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.models import CallOutcome, CallStatus, CallTask, CampaignStatus, TimeWindow
from domain.notifications import ShortlistReady
from domain.services import tool_calls
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from integrations.elevenlabs import sign_payload
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld
from tools_server.app import create_app
from tools_server.webhooks import WEBHOOK_PATH, add_webhook_route

SECRET = "wsec_e2e_5f0c9a1b7d3e4c2a8b6f0e1d2c3b4a59"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = TimeWindow(DAY.replace(hour=11), DAY.replace(hour=16))

ClientMaker = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(
        clock=FakeClock(NOW),
        providers=[make_provider("near", name="Near Dental"), make_provider("good", name="Good Dental")],
    )


@pytest.fixture
async def client(world: FakeWorld, aiohttp_client: ClientMaker) -> TestClient[web.Request, web.Application]:
    app = create_app(world.ports, "tool-secret")
    add_webhook_route(app, SECRET)
    return await aiohttp_client(app)


async def start(world: FakeWorld) -> str:
    """A discovery campaign with one open call to each provider."""
    command = StartCampaign(user_id=7, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


async def calls_of(world: FakeWorld, campaign_id: str) -> dict[str, CallTask]:
    async with world.ports.uow() as uow:
        return {c.provider.id: c for c in await uow.calls.list_for_campaign(campaign_id)}


async def campaign_status(world: FakeWorld, campaign_id: str) -> CampaignStatus:
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    return campaign.status


def transcription(conversation_id: str, *, outcome: str | None = "offer_made", **data: Any) -> dict[str, Any]:
    analysis: dict[str, Any] = {
        "call_successful": "success",
        "transcript_summary": "The practice offered Tuesday at 13:30.",
        "data_collection_results": {},
    }
    if outcome is not None:
        analysis["data_collection_results"]["outcome"] = {"data_collection_id": "outcome", "value": outcome}
    return {
        "type": "post_call_transcription",
        "event_timestamp": int(NOW.timestamp()),
        "data": {
            "agent_id": "agent_discover",
            "conversation_id": conversation_id,
            "status": "done",
            "transcript": [
                {"role": "agent", "message": "Hello, I'm calling for a client.", "time_in_call_secs": 0},
                {"role": "user", "message": "Tuesday at half past one?", "time_in_call_secs": 7},
                {"role": "agent", "message": None, "time_in_call_secs": 9, "tool_calls": [{}]},
            ],
            "metadata": {"start_time_unix_secs": int(NOW.timestamp()) - 60, "call_duration_secs": 40},
            "analysis": analysis,
            **data,
        },
    }


def initiation_failure(conversation_id: str, reason: str) -> dict[str, Any]:
    return {
        "type": "call_initiation_failure",
        "event_timestamp": int(NOW.timestamp()),
        "data": {"agent_id": "agent_discover", "conversation_id": conversation_id, "failure_reason": reason},
    }


async def deliver(
    client: TestClient[web.Request, web.Application],
    event: dict[str, Any] | bytes,
    *,
    signed_at: datetime = NOW,
    secret: str = SECRET,
    header: str | None = None,
) -> tuple[int, dict[str, Any]]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    signature = header if header is not None else sign_payload(body, secret, signed_at)
    response = await client.post(
        WEBHOOK_PATH, data=body, headers={"ElevenLabs-Signature": signature, "Content-Type": "application/json"}
    )
    return response.status, await response.json()


async def test_a_transcription_ends_the_last_open_call_and_the_shortlist_follows(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    # The first provider's agent reported an offer and ended its call through the tools, as usual.
    ctx = await tool_calls.open_call(world.ports, world.voice.token_for("near"))
    await tool_calls.report_offer(world.ports, ctx, DAY.replace(hour=12, minute=30), None, None)
    await tool_calls.end_call(world.ports, ctx, CallOutcome.OFFER_MADE)
    # The second agent hung up without calling end_call; only the webhook tells.
    silent = (await calls_of(world, campaign_id))["good"]
    assert silent.conversation_id is not None

    status, answer = await deliver(client, transcription(silent.conversation_id, outcome="no_availability"))

    assert (status, answer) == (200, {"status": "recorded", "call_status": "COMPLETED"})
    call = (await calls_of(world, campaign_id))["good"]
    assert call.status is CallStatus.COMPLETED
    assert call.outcome is CallOutcome.NO_AVAILABILITY
    assert call.summary == "The practice offered Tuesday at 13:30."
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("agent", "Hello, I'm calling for a client."),
        ("provider", "Tuesday at half past one?"),
    ]
    assert call.transcript[1].at == NOW - timedelta(seconds=53)
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    assert len(world.outbox.of_type(ShortlistReady)) == 1
    assert call.id in world.slots.released


async def test_without_a_collected_outcome_the_call_ends_as_other(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None

    status, _ = await deliver(client, transcription(conversation_id, outcome=None))

    assert status == 200
    assert (await calls_of(world, campaign_id))["near"].outcome is CallOutcome.OTHER


async def test_a_transcription_after_end_call_keeps_the_agents_verdict_and_adds_the_transcript(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    ctx = await tool_calls.open_call(world.ports, world.voice.token_for("near"))
    await tool_calls.end_call(world.ports, ctx, CallOutcome.DECLINED, "They are closed that week.")
    before = (await calls_of(world, campaign_id))["near"]
    assert before.conversation_id is not None

    status, answer = await deliver(client, transcription(before.conversation_id, outcome="offer_made"))

    assert (status, answer["call_status"]) == (200, "COMPLETED")
    after = (await calls_of(world, campaign_id))["near"]
    assert after.outcome is CallOutcome.DECLINED
    assert after.summary == "They are closed that week."
    assert after.ended_at == before.ended_at
    assert len(after.transcript) == 2


async def test_the_call_token_finds_a_call_whose_conversation_id_was_never_stored(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    token = world.voice.token_for("good")
    variables = {"provider_name": "Good Dental", "secret__call_token": token}
    event = transcription("conv_unknown_to_us", conversation_initiation_client_data={"dynamic_variables": variables})

    status, answer = await deliver(client, event)

    assert (status, answer["status"]) == (200, "recorded")
    call = (await calls_of(world, campaign_id))["good"]
    assert call.status is CallStatus.COMPLETED
    assert call.outcome is CallOutcome.OFFER_MADE


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("no-answer", CallStatus.NO_ANSWER), ("busy", CallStatus.BUSY), ("unknown", CallStatus.FAILED)],
)
async def test_an_initiation_failure_ends_the_call_with_its_reason(
    world: FakeWorld, client: TestClient[web.Request, web.Application], reason: str, expected: CallStatus
) -> None:
    campaign_id = await start(world)
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None

    status, answer = await deliver(client, initiation_failure(conversation_id, reason))

    assert (status, answer) == (200, {"status": "recorded", "call_status": expected.value})
    call = (await calls_of(world, campaign_id))["near"]
    assert call.status is expected
    assert call.failure_reason
    assert (await calls_of(world, campaign_id))["good"].status is CallStatus.DIALING


async def test_when_no_provider_answers_the_campaign_fails_with_a_reason(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    for call in (await calls_of(world, campaign_id)).values():
        assert call.conversation_id is not None
        await deliver(client, initiation_failure(call.conversation_id, "no-answer"))

    assert await campaign_status(world, campaign_id) is CampaignStatus.FAILED


async def test_a_replayed_delivery_is_acknowledged_but_not_acted_on_again(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None
    body = json.dumps(initiation_failure(conversation_id, "busy")).encode()
    header = sign_payload(body, SECRET, NOW)

    first = await deliver(client, body, header=header)
    world.slots.released.clear()
    second = await deliver(client, body, header=header)

    assert first[1]["status"] == "recorded"
    assert second == (200, {"status": "duplicate"})
    assert world.slots.released == []


async def test_an_unknown_conversation_is_acknowledged_so_elevenlabs_stops_retrying(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)

    assert await deliver(client, transcription("conv_someone_elses")) == (200, {"status": "ignored"})
    assert await deliver(client, initiation_failure("conv_someone_elses", "busy")) == (200, {"status": "ignored"})
    assert all(not c.status.is_ended for c in (await calls_of(world, campaign_id)).values())


async def test_an_event_type_nexus_does_not_use_is_acknowledged(
    client: TestClient[web.Request, web.Application],
) -> None:
    event = {"type": "post_call_audio", "event_timestamp": int(NOW.timestamp()), "data": {"full_audio": "AAAA"}}

    assert await deliver(client, event) == (200, {"status": "ignored"})


async def test_a_tampered_body_is_refused_and_changes_nothing(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None
    signed = json.dumps(initiation_failure(conversation_id, "busy")).encode()
    header = sign_payload(signed, SECRET, NOW)

    status, answer = await deliver(client, signed.replace(b"busy", b"no-answer"), header=header)

    assert status == 401
    assert answer["error"] == "bad_signature"
    assert answer["message"] == "The webhook signature does not match the body."
    assert (await calls_of(world, campaign_id))["near"].status is CallStatus.DIALING


@pytest.mark.parametrize(
    ("case", "signed_at", "secret"),
    [
        ("expired", NOW - timedelta(minutes=31), SECRET),
        ("from the future", NOW + timedelta(minutes=31), SECRET),
        ("another secret", NOW, "wsec_not_ours"),
    ],
)
async def test_a_signature_that_does_not_hold_is_refused(
    client: TestClient[web.Request, web.Application], case: str, signed_at: datetime, secret: str
) -> None:
    status, answer = await deliver(client, initiation_failure("conv_x", "busy"), signed_at=signed_at, secret=secret)

    assert status == 401, case
    assert answer["error"] == "bad_signature"


async def test_a_missing_signature_is_refused(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post(WEBHOOK_PATH, data=json.dumps(initiation_failure("conv_x", "busy")))

    assert response.status == 401
    assert (await response.json())["message"] == "The ElevenLabs-Signature header is missing."


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"type": "post_call_transcription", "data": 3}'])
async def test_a_signed_body_that_is_not_an_event_is_a_bad_request(
    client: TestClient[web.Request, web.Application], body: bytes
) -> None:
    status, answer = await deliver(client, body)

    assert status == 400
    assert answer["error"] == "bad_webhook"


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 65536 + 1):
        yield b"x" * 65536


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_beyond_the_limit_is_refused(
    client: TestClient[web.Request, web.Application], declared: bool
) -> None:
    size = 2 * 1024 * 1024 + 1
    body = io.BytesIO(b"x" * size) if declared else _chunks(size)
    headers = {"ElevenLabs-Signature": "t=1,v0=" + "0" * 64}

    response = await client.post(WEBHOOK_PATH, data=body, headers=headers)

    assert response.status == 413
    assert (await response.json())["error"] == "too_large"


async def test_a_post_call_body_larger_than_a_tool_call_is_accepted(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None
    event = transcription(conversation_id)
    event["data"]["transcript"] = [
        {"role": "user" if i % 2 else "agent", "message": f"Sentence number {i}. " * 10, "time_in_call_secs": i}
        for i in range(400)
    ]

    status, _ = await deliver(client, event)

    assert status == 200
    assert len((await calls_of(world, campaign_id))["near"].transcript) == 400


@pytest.mark.parametrize("stamp", ["999999999999", "99999999999"], ids=["year-33658", "year-5138"])
async def test_a_signature_time_no_calendar_reaches_is_refused_not_a_500(
    client: TestClient[web.Request, web.Application], stamp: str
) -> None:
    status, answer = await deliver(client, initiation_failure("conv_x", "busy"), header=f"t={stamp},v0={'0' * 64}")

    assert (status, answer["error"]) == (401, "bad_signature")


@pytest.mark.parametrize("offset", [1e300, -5, 10**20], ids=["1e300", "negative", "huge-integer"])
async def test_a_signed_transcript_turn_at_an_impossible_time_is_a_bad_request(
    world: FakeWorld, client: TestClient[web.Request, web.Application], offset: float
) -> None:
    campaign_id = await start(world)
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None
    event = transcription(conversation_id)
    event["data"]["transcript"][1]["time_in_call_secs"] = offset

    status, answer = await deliver(client, event)

    assert (status, answer["error"]) == (400, "bad_webhook")
    assert not (await calls_of(world, campaign_id))["near"].status.is_ended


async def test_the_post_call_analysis_reports_a_call_back_time(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    silent = (await calls_of(world, campaign_id))["good"]
    assert silent.conversation_id is not None
    event = transcription(silent.conversation_id, outcome="call_back_later")
    when = (NOW + timedelta(days=1)).replace(microsecond=0)
    event["data"]["analysis"]["data_collection_results"]["call_back_at"] = {
        "data_collection_id": "call_back_at",
        "value": when.isoformat(),
    }

    status, _ = await deliver(client, event)

    call = (await calls_of(world, campaign_id))["good"]
    assert status == 200
    assert (call.outcome, call.call_back_at) == (CallOutcome.CALL_BACK_LATER, when)
