"""A post-call webhook whose handling fails is not remembered: it answers 5xx and ElevenLabs' redelivery of the
same signed body is processed, on real SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.errors import DependencyUnavailable
from domain.models import CallOutcome, CallStatus, CallTask
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.context import Ports
from integrations.elevenlabs import sign_payload
from tests.e2e.webhooks.test_elevenlabs_webhook import NOW, SECRET, WINDOW, transcription
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld
from tests.support.db import fresh_database, migrated
from tools_server.app import create_app
from tools_server.webhooks import WEBHOOK_PATH, add_webhook_route

ClientMaker = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


class Outage:
    """Makes the next look-up of a call by its conversation fail as a lost database connection would."""

    def __init__(self) -> None:
        self.armed = False

    def strike(self) -> None:
        if self.armed:
            self.armed = False
            raise DependencyUnavailable("The database connection was lost; please try again.")


class _FlakyCalls:
    def __init__(self, inner: Any, outage: Outage) -> None:
        self._inner = inner
        self._outage = outage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get_by_conversation_id(self, conversation_id: str) -> CallTask | None:
        self._outage.strike()
        result: CallTask | None = await self._inner.get_by_conversation_id(conversation_id)
        return result


class _FlakyUnitOfWork:
    def __init__(self, inner: UnitOfWork, outage: Outage) -> None:
        self._inner = inner
        self._outage = outage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        self.calls = _FlakyCalls(self._inner.calls, self._outage)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)


def flaky(factory: UnitOfWorkFactory, outage: Outage) -> UnitOfWorkFactory:
    def make() -> UnitOfWork:
        return _FlakyUnitOfWork(factory(), outage)  # type: ignore[return-value]

    return make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with fresh_database(request.param, tmp_path, postgres) as url, migrated(url) as database:
        yield database.uow_factory


async def test_a_failed_handling_answers_5xx_and_the_redelivery_records_the_outcome(
    database_uow: UnitOfWorkFactory, aiohttp_client: ClientMaker
) -> None:
    outage = Outage()
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("near", name="Near Dental")])
    ports = dataclasses.replace(world.ports, uow=flaky(database_uow, outage))
    app = create_app(ports, "tool-secret")
    add_webhook_route(app, SECRET)
    client = await aiohttp_client(app)
    command = StartCampaign(user_id=7, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await create_campaign(ports, command)
    await run_campaign(ports, campaign.id)
    [call] = await calls_of(ports, campaign.id)
    assert call.conversation_id is not None
    body = json.dumps(transcription(call.conversation_id)).encode()
    headers = {"ElevenLabs-Signature": sign_payload(body, SECRET, NOW), "Content-Type": "application/json"}

    outage.armed = True
    failed = await client.post(WEBHOOK_PATH, data=body, headers=headers)
    assert failed.status == 503
    assert [c.status for c in await calls_of(ports, campaign.id)] == [CallStatus.DIALING]

    redelivered = await client.post(WEBHOOK_PATH, data=body, headers=headers)
    assert (redelivered.status, await redelivered.json()) == (200, {"status": "recorded", "call_status": "COMPLETED"})
    [ended] = await calls_of(ports, campaign.id)
    assert (ended.status, ended.outcome) == (CallStatus.COMPLETED, CallOutcome.OFFER_MADE)

    again = await client.post(WEBHOOK_PATH, data=body, headers=headers)
    assert (again.status, await again.json()) == (200, {"status": "duplicate"})


async def calls_of(ports: Ports, campaign_id: str) -> list[CallTask]:
    async with ports.uow() as uow:
        return await uow.calls.list_for_campaign(campaign_id)
