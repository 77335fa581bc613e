"""``nexus run --world`` and ``nexus chat --world``: every chat gets the world user's calendar and weights."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from bot.replies import Person, RecordingChat
from domain.models import TimeWindow
from nexus.runtime import conversation_for, opened, read_world
from nexus.settings import Mode, Settings
from storage.schema import upgrade
from tests.support.db import sqlite_url

WORLD = Path(__file__).parents[3] / "examples" / "worlds" / "dentist_tuesday.json"


async def test_every_chat_gets_the_worlds_busy_times_and_weights(tmp_path: Path) -> None:
    data = json.loads(WORLD.read_text(encoding="utf-8"))
    data["user"]["weights"] = {"earliest": 0.1, "rating": 0.1, "distance": 0.8}
    data["user"]["max_distance_km"] = 7
    world_file = tmp_path / "world.json"
    world_file.write_text(json.dumps(data), encoding="utf-8")
    url = sqlite_url(tmp_path)
    await upgrade(url)
    settings = Settings(_env_file=None, database_url=url, nexus_mode=Mode.MOCK_AI, redis_url=None)
    world = read_world(world_file)
    assert world is not None
    tuesday = TimeWindow(
        datetime.fromisoformat("2026-12-01T00:00+01:00"), datetime.fromisoformat("2026-12-02T00:00+01:00")
    )
    async with opened(settings, world) as nexus:
        talk = conversation_for(nexus, world)
        for person in (Person(41, "Anna", "en"), Person(42, "Ben", "en")):
            chat = RecordingChat()
            await talk.text(chat, person, "dentist next Tuesday afternoon")  # the world user's home is the place
            await talk.text(chat, person, "🏠 Use my home location")
            card = chat.replies[-1].text
            assert "soonest 10% · rating 10% · distance 80%" in card, card
            assert "Alexanderplatz (within 7 km)" in card
            assert await nexus.ports.calendar.busy(person.user_id, tuesday) == world.busy()
