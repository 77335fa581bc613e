"""Who may call the tools: the shared secret and a live call's token, checked on every request; a refused
request changes nothing."""

from __future__ import annotations

import pytest

from domain.models import CampaignStatus
from domain.services.campaigns import cancel_campaign
from tests.e2e.tools.server import OTHER_USER_ID, TOOL_SECRET, USER_ID, ToolServer

SLOT = {"date": "2026-12-01", "time": "15:00"}
# One valid body per tool, so a refusal can only come from the headers or the call's state.
TOOL_BODIES = [
    ("check-availability", SLOT),
    ("report-slot-offer", SLOT),
    ("book-slot", SLOT),
    ("end-call", {"outcome": "offer_made"}),
    ("get-distance", {}),
]


@pytest.mark.parametrize(
    ("secret", "token", "message"),
    [
        pytest.param(None, "valid", "The tool secret is missing or wrong.", id="no-secret"),
        pytest.param("not-the-secret", "valid", "The tool secret is missing or wrong.", id="wrong-secret"),
        pytest.param(TOOL_SECRET[:-1], "valid", "The tool secret is missing or wrong.", id="secret-prefix"),
        pytest.param(TOOL_SECRET, None, "The request carries no call token.", id="no-token"),
        pytest.param(TOOL_SECRET, "", "The request carries no call token.", id="empty-token"),
        pytest.param(TOOL_SECRET, "made-up-token", "The call token is not valid.", id="unknown-token"),
    ],
)
async def test_a_request_without_the_secret_and_a_valid_token_is_refused_and_changes_nothing(
    server: ToolServer, secret: str | None, token: str | None, message: str
) -> None:
    campaign = await server.start_campaign()
    sent_token = server.token(campaign, "p1") if token == "valid" else token
    before = await server.snapshot()

    replies = {tool: await server.call(tool, body, token=sent_token, secret=secret) for tool, body in TOOL_BODIES}

    assert {tool: (r.status, r.body) for tool, r in replies.items()} == {
        tool: (401, {"error": "unauthorized", "message": message}) for tool, _ in TOOL_BODIES
    }
    assert await server.snapshot() == before
    assert not await server.held_by_anyone()


async def test_a_token_acts_only_on_its_own_call_whatever_the_body_says(server: ToolServer) -> None:
    mine = await server.start_campaign(user_id=USER_ID)
    theirs = await server.start_campaign(user_id=OTHER_USER_ID)
    their_token = server.token(theirs, "p2")
    before = await server.snapshot()

    # Naming another campaign in the body is not a field any tool takes.
    smuggled = await server.call("report-slot-offer", {**SLOT, "campaign_id": mine.id}, token=their_token)
    assert smuggled.status == 200
    assert smuggled.body["status"] == "invalid_request"
    assert "'campaign_id' is not a field this tool takes" in smuggled.body["message"]
    assert await server.snapshot() == before

    recorded = await server.call("report-slot-offer", SLOT, token=their_token)
    assert recorded.body["status"] == "recorded"
    async with server.nexus.ports.uow() as uow:
        my_offers = await uow.offers.list_for_campaign(mine.id)
        their_offers = await uow.offers.list_for_campaign(theirs.id)
    assert my_offers == []
    assert [(o.provider_id, o.call_task_id) for o in their_offers] == [
        ("p2", next(r.call.id for r in server.voice.placed if r.token == their_token))
    ]


async def test_the_token_of_an_ended_call_is_told_to_close_politely(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")
    assert (await server.call("end-call", {"outcome": "no_availability"}, token=token)).status == 200
    before = await server.snapshot()

    for tool, body in TOOL_BODIES:
        reply = await server.call(tool, body, token=token)

        # An answer the agent hears (a platform shows agents only successful answers in full).
        assert reply.status == 200, tool
        assert set(reply.body) == {"status", "message"}
        if tool == "book-slot":  # refuses any discovery call first: nothing may be booked in one
            assert reply.body["status"] == "not_allowed"
        else:
            assert reply.body["status"] == "call_closed"
            assert reply.body["message"].endswith("Thank the receptionist, say goodbye and end the call.")
    assert await server.snapshot() == before


async def test_the_tokens_of_a_cancelled_campaign_are_told_the_call_is_over(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")
    assert (await server.call("check-availability", SLOT, token=token)).body["status"] == "available"
    cancelled = await cancel_campaign(server.nexus.ports, USER_ID, campaign.id)
    assert cancelled.status is CampaignStatus.CANCELLED
    assert sorted(server.voice.hung_up) == sorted(r.call.id for r in server.voice.placed)
    assert not await server.held_by_anyone()
    before = await server.snapshot()

    for tool, body in TOOL_BODIES:
        reply = await server.call(tool, body, token=token)

        assert reply.status == 200, tool
        assert reply.body["status"] == ("not_allowed" if tool == "book-slot" else "call_closed")
        assert "goodbye" in reply.body["message"] or tool == "book-slot"
    assert await server.snapshot() == before
    assert not await server.held_by_anyone()


@pytest.mark.parametrize(
    ("tool", "raw"),
    [
        pytest.param("check-availability", b'{"date": 20261201}', id="mistyped"),
        pytest.param("report-slot-offer", b'{"campaign_id": "c1"}', id="unknown-field"),
        pytest.param("end-call", b"{}", id="missing-field"),
        pytest.param("book-slot", b"[1, 2]", id="not-an-object"),
        pytest.param("get-distance", b"{not json", id="not-json"),
    ],
)
@pytest.mark.parametrize("secret", [None, "not-the-secret"], ids=["no-secret", "wrong-secret"])
async def test_a_caller_without_the_secret_learns_nothing_about_the_body(
    server: ToolServer, tool: str, raw: bytes, secret: str | None
) -> None:
    campaign = await server.start_campaign()

    reply = await server.call(tool, token=server.token(campaign, "p1"), secret=secret, raw=raw)

    assert reply.status == 401
    assert reply.body == {"error": "unauthorized", "message": "The tool secret is missing or wrong."}


async def test_an_unknown_token_with_a_bad_body_is_401_not_a_schema_description(server: ToolServer) -> None:
    reply = await server.call("check-availability", {"date": 1}, token="made-up-token")

    assert (reply.status, reply.body) == (401, {"error": "unauthorized", "message": "The call token is not valid."})
