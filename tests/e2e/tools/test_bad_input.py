"""Whatever an agent sends, nothing is written and the answer says why in a sentence, never a 500 or a stack
trace: a body that is not a JSON object is a 4xx ``{"error", "message"}``; fields the agent got wrong are a
refusal it hears, 200 ``{"status": "invalid_request", "message"}``.

Every case runs against one server and one campaign (refused requests change nothing, which each case
checks), so the many cases stay cheap.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.tools.server import MAX_BODY_BYTES, ToolServer, running_tool_server
from tests.support.db import sqlite_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

SLOT = {"date": "2026-12-01", "time": "14:30"}


@dataclass(frozen=True, slots=True)
class Sent:
    """A request as it goes over the wire, and what it must get back."""

    tool: str
    body: bytes
    status: int
    error: str  # the error code of a 4xx, the status of a refusal (200)
    message: str = ""  # a part of the message, when its wording matters


def as_json(data: Any) -> bytes:
    return json.dumps(data).encode()


CASES = [
    pytest.param(Sent("check-availability", b"", 400, "invalid_request", "no body"), id="no-body"),
    pytest.param(Sent("check-availability", b'{"date": "2026-12-01", "time": ', 400, "invalid_json"), id="garbled"),
    pytest.param(Sent("report-slot-offer", b'{"date": "\xff\xfe"}', 400, "invalid_json"), id="not-utf8"),
    pytest.param(Sent("check-availability", b"[" * 5000, 400, "invalid_json"), id="nested-too-deep"),
    pytest.param(
        Sent("check-availability", b'{"duration_minutes": ' + b"9" * 5000 + b"}", 400, "invalid_json"),
        id="integer-of-5000-digits",
    ),
    pytest.param(Sent("check-availability", as_json([SLOT]), 400, "invalid_request", "JSON object"), id="array"),
    pytest.param(Sent("end-call", b"null", 400, "invalid_request", "JSON object"), id="null"),
    pytest.param(Sent("get-distance", b'"Alexanderplatz"', 400, "invalid_request", "JSON object"), id="string"),
    pytest.param(
        Sent("check-availability", as_json({"date": 20261201, "time": "14:30"}), 200, "invalid_request", "'date'"),
        id="date-as-number",
    ),
    pytest.param(
        Sent("check-availability", as_json({**SLOT, "duration_minutes": "thirty"}), 200, "invalid_request"),
        id="duration-as-words",
    ),
    pytest.param(
        Sent("report-slot-offer", as_json({**SLOT, "duration_minutes": 2}), 200, "invalid_request", "duration"),
        id="duration-too-short",
    ),
    pytest.param(
        Sent("end-call", as_json({"outcome": "exploded"}), 200, "invalid_request", "'outcome'"), id="unknown-outcome"
    ),
    pytest.param(
        Sent("report-slot-offer", as_json({**SLOT, "provider_id": "p2"}), 200, "invalid_request", "'provider_id'"),
        id="unknown-field",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "2026-12-01"}), 200, "invalid_request", "'time' is required"),
        id="missing-field",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "2026-02-30", "time": "14:30"}), 200, "invalid_request", "real"),
        id="february-30",
    ),
    pytest.param(
        Sent("report-slot-offer", as_json({"date": "31.02.", "time": "14:30"}), 200, "invalid_request", "real"),
        id="31-02",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "Blursday", "time": "14:30"}), 200, "invalid_request", "Blursday"),
        id="blursday",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "9999-12-31", "time": "23:45"}), 200, "invalid_request", "far"),
        id="year-9999",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "Tuesday", "time": "25:00"}), 200, "invalid_request", "25:00"),
        id="hour-25",
    ),
    pytest.param(
        Sent("report-slot-offer", as_json({"date": "Tuesday", "time": "13:30 pm"}), 200, "invalid_request"),
        id="13-pm",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "Tuesday", "time": "half past two"}), 200, "invalid_request"),
        id="time-in-words",
    ),
    pytest.param(
        Sent(
            "check-availability",
            as_json({"date": "2026-12-01T10:00:00+05:00", "time": "14:30"}),
            200,
            "invalid_request",
            "says 10:00 but the time says 14:30",
        ),
        id="date-and-time-disagree",
    ),
    pytest.param(
        Sent(
            "report-slot-offer",
            as_json({"date": "2026-12-01T10:00:00+05:00", "time": "10:00+01:00"}),
            200,
            "invalid_request",
            "different time zones",
        ),
        id="two-offsets",
    ),
    pytest.param(
        Sent("check-availability", as_json({"date": "2026-12-01", "time": "10:00+19:00"}), 200, "invalid_request"),
        id="offset-no-zone-has",
    ),
    pytest.param(
        Sent("report-slot-offer", as_json({**SLOT, "notes": "x" * (MAX_BODY_BYTES + 1)}), 413, "too_large"),
        id="over-the-size-limit",
    ),
]


@pytest.fixture(scope="module")
def module_database(migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("bad-input")
    shutil.copyfile(migrated_sqlite_template, directory / "nexus.db")
    return sqlite_url(directory)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared(module_database: str) -> AsyncIterator[tuple[ToolServer, str, dict[str, Any]]]:
    """One server, one running campaign, the token of one of its calls and the database as it stands."""
    async with running_tool_server(module_database) as server:
        campaign = await server.start_campaign()
        yield server, server.token(campaign, "p1"), await server.snapshot()


@pytest.mark.parametrize("sent", CASES)
async def test_bad_input_is_refused_in_words_and_changes_nothing(
    shared: tuple[ToolServer, str, dict[str, Any]], sent: Sent
) -> None:
    server, token, before = shared

    reply = await server.call(sent.tool, token=token, raw=sent.body)

    code = "status" if sent.status == 200 else "error"
    assert (reply.status, reply.body.get(code)) == (sent.status, sent.error)
    assert set(reply.body) == {code, "message"}
    assert sent.message in reply.body["message"]
    assert reply.body["message"].endswith(".")
    assert "Traceback" not in reply.body["message"]
    assert await server.snapshot() == before
    assert not await server.held_by_anyone()


async def test_unknown_paths_and_methods_get_json_too(shared: tuple[ToolServer, str, dict[str, Any]]) -> None:
    server, _, _ = shared

    missing = await server.get("/api/book-a-table")
    wrong_method = await server.get("/api/check-availability")

    assert (missing.status, missing.body) == (404, {"error": "not_found", "message": "Not Found."})
    assert (wrong_method.status, wrong_method.body["error"]) == (405, "method_not_allowed")
