"""Updates of different chats run at once; the updates of one chat run one after another, in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.telegram.updates import PerChatUpdates


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    return Update(update_id, message=Message(update_id, datetime(2026, 11, 30, tzinfo=UTC), chat, text="hi"))


async def test_one_chat_waits_for_its_own_updates_and_never_for_another_chat() -> None:
    processor = PerChatUpdates()
    gate = asyncio.Event()
    done: list[str] = []

    async def handle(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        done.append(name)

    async with processor:
        first = asyncio.create_task(processor.process_update(update(1, 10), handle("a1", wait=True)))
        second = asyncio.create_task(processor.process_update(update(2, 10), handle("a2")))
        other = asyncio.create_task(processor.process_update(update(3, 20), handle("b1")))
        await other
        assert done == ["b1"]  # chat 20 went ahead while chat 10's first update waits
        assert not second.done()  # chat 10's second update waits for its first
        gate.set()
        await asyncio.gather(first, second)
    assert done == ["b1", "a1", "a2"]
    assert processor.max_concurrent_updates > 1
