"""Slots follow the appointment's length: an offer shorter than the search needs is refused with a 200 answer
whose ``status`` and ``message`` tell the agent what to ask for instead, and nothing is stored."""

from __future__ import annotations

from tests.e2e.tools.server import ToolServer, berlin


async def test_a_slot_shorter_than_the_appointment_is_refused_with_what_to_ask_for(server: ToolServer) -> None:
    campaign = await server.start_campaign(duration_minutes=45)
    token = server.token(campaign, "p1")

    checked = await server.call(
        "check-availability", {"date": "Dec 1", "time": "15:00", "duration_minutes": 30}, token=token
    )
    offered = await server.call(
        "report-slot-offer", {"date": "Dec 1", "time": "15:00", "duration_minutes": 30}, token=token
    )

    assert (checked.status, checked.body["status"]) == (200, "too_short")
    assert (offered.status, offered.body["status"]) == (200, "rejected_too_short")
    for answer in (checked, offered):
        assert answer.body["message"].startswith("The appointment needs 45 minutes, but this slot is only 30.")
        assert "Ask the receptionist for 45 minutes starting Tuesday 1 December at 15:00" in answer.body["message"]
    assert offered.body["offer_id"] is None
    assert (await server.snapshot())["offers"] == []
    assert not await server.held_by_anyone()


async def test_the_full_length_or_no_length_is_taken_and_stored_with_the_appointments_length(
    server: ToolServer,
) -> None:
    campaign = await server.start_campaign(duration_minutes=45)

    full = await server.call(
        "report-slot-offer",
        {"date": "Dec 1", "time": "15:00", "duration_minutes": 45},
        token=server.token(campaign, "p1"),
    )
    unsaid = await server.call(
        "report-slot-offer", {"date": "Dec 1", "time": "16:00"}, token=server.token(campaign, "p2")
    )
    longer = await server.call(
        "check-availability",
        {"date": "Dec 1", "time": "14:00", "duration_minutes": 60},
        token=server.token(campaign, "p3"),
    )

    assert full.body["status"] == "recorded"
    assert full.body["slot"] == {"start": berlin(1, 15), "end": berlin(1, 15, 45)}
    assert unsaid.body["status"] == "recorded"
    assert unsaid.body["slot"] == {"start": berlin(1, 16), "end": berlin(1, 16, 45)}
    assert longer.body["status"] == "available"
    assert longer.body["slot"] == {"start": berlin(1, 14), "end": berlin(1, 15)}
