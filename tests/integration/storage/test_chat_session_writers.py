"""The conversation and the notifier write one chat's session at the same time: neither change is lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.session import read_session, update_session
from domain.ports import UnitOfWorkFactory

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)
USER = 99


async def test_concurrent_writers_of_one_chat_keep_each_others_keys(uow_factory: UnitOfWorkFactory) -> None:
    def setter(key: str) -> Any:
        def change(state: dict[str, Any]) -> None:
            state[key] = True

        return change

    keys = [f"writer{i}" for i in range(8)]
    await asyncio.gather(*(update_session(uow_factory, USER, setter(k), NOW) for k in keys))
    assert await read_session(uow_factory, USER) == dict.fromkeys(keys, True)
