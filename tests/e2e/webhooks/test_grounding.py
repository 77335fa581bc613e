"""The post-call webhook brings a live call's transcript: the call's offers are checked against the
receptionist's words then, before the shortlist goes out, and a replayed delivery changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.models import CallOutcome, Offer, OfferGrounding
from domain.notifications import ShortlistReady
from domain.services import tool_calls
from domain.services.campaigns import get_shortlist
from integrations.elevenlabs import sign_payload
from tests.e2e.webhooks import test_elevenlabs_webhook as webhook_tests
from tests.e2e.webhooks.test_elevenlabs_webhook import DAY, NOW, SECRET, calls_of, deliver, start, transcription
from tests.fakes import FakeWorld

world = webhook_tests.world  # the same fixtures: a fake world with two providers, the app serving the webhook
client = webhook_tests.client

TUESDAY_1330 = DAY.replace(hour=12, minute=30)  # UTC; 13:30 in Berlin, the campaign's timezone
TUESDAY_1500 = DAY.replace(hour=14)


def said(*lines: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"role": role, "message": text, "time_in_call_secs": i * 5} for i, (role, text) in enumerate(lines)]


async def offers_of(world: FakeWorld, campaign_id: str) -> dict[datetime, Offer]:
    async with world.ports.uow() as uow:
        return {o.start: o for o in await uow.offers.list_for_campaign(campaign_id)}


async def report(world: FakeWorld, provider: str, *starts: datetime) -> None:
    ctx = await tool_calls.open_call(world.ports, world.voice.token_for(provider))
    for at in starts:
        await tool_calls.report_offer(world.ports, ctx, at, None, None)
    await tool_calls.end_call(world.ports, ctx, CallOutcome.OFFER_MADE)


async def test_offers_wait_for_the_transcript_then_are_verified_or_not_once_and_for_all(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    await report(world, "near", TUESDAY_1330, TUESDAY_1500)
    assert {o.grounding for o in (await offers_of(world, campaign_id)).values()} == {OfferGrounding.PENDING}
    conversation_id = (await calls_of(world, campaign_id))["near"].conversation_id
    assert conversation_id is not None
    event = transcription(
        conversation_id,
        transcript=said(
            ("agent", "Could you do Tuesday at three?"),
            ("user", "No, Tuesday at three is taken, I'm afraid. Tuesday at half past one?"),
            ("agent", "Yes, half past one works."),
        ),
    )
    body = json.dumps(event).encode()
    header = sign_payload(body, SECRET, NOW)

    first = await deliver(client, body, header=header)
    offers = await offers_of(world, campaign_id)

    assert first[1]["status"] == "recorded"
    assert offers[TUESDAY_1330].grounding is OfferGrounding.VERIFIED
    assert (
        offers[TUESDAY_1330].grounding_evidence
        == "No, Tuesday at three is taken, I'm afraid. Tuesday at half past one?"
    )
    assert offers[TUESDAY_1500].grounding is OfferGrounding.UNVERIFIED
    assert offers[TUESDAY_1500].grounding_evidence is not None
    assert "turned this time down" in offers[TUESDAY_1500].grounding_evidence

    replayed = await deliver(client, body, header=header)
    redelivered = await deliver(client, body, signed_at=NOW + timedelta(seconds=30))  # a new delivery, same report

    assert replayed == (200, {"status": "duplicate"})
    assert redelivered[1]["status"] == "recorded"
    assert await offers_of(world, campaign_id) == offers


async def test_the_shortlist_the_last_transcript_brings_puts_the_verified_offer_first(
    world: FakeWorld, client: TestClient[web.Request, web.Application]
) -> None:
    campaign_id = await start(world)
    await report(world, "good", TUESDAY_1330)  # earlier, so it scores higher; but nobody said it
    await report(world, "near", TUESDAY_1500)
    calls = await calls_of(world, campaign_id)
    good, near = calls["good"].conversation_id, calls["near"].conversation_id
    assert good is not None and near is not None
    assert world.outbox.of_type(ShortlistReady)  # both agents ended their calls: the shortlist went out
    before = world.outbox.of_type(ShortlistReady)[-1].shortlist
    assert [o.provider_id for o in before] == ["good", "near"]  # unchecked: by score

    await deliver(client, transcription(good, transcript=said(("user", "Only Wednesday at 3, sorry."))))
    await deliver(client, transcription(near, transcript=said(("user", "Tuesday at three o'clock is free."))))

    offers = await offers_of(world, campaign_id)
    assert offers[TUESDAY_1330].score > offers[TUESDAY_1500].score
    assert offers[TUESDAY_1330].grounding is OfferGrounding.UNVERIFIED
    assert offers[TUESDAY_1500].grounding is OfferGrounding.VERIFIED
    assert [o.provider_id for o in await get_shortlist(world.ports, campaign_id)] == ["near", "good"]
