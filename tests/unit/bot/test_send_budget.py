"""Telegram's budget: never more than its share of requests within a second, and redrawing live views
always leaves room for the messages that matter more."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram import SendBudget
from bot.telegram.notifier import NoRoom


async def _yield(times: int = 20) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


async def test_a_full_second_holds_every_request_back_until_it_has_passed() -> None:
    budget = SendBudget(per_second=3)
    for _ in range(3):
        async with budget.sending():
            pass
    started = asyncio.Event()

    async def one_more() -> None:
        async with budget.sending():
            started.set()

    waiting = asyncio.create_task(one_more())
    await _yield()
    assert not started.is_set()  # three were answered less than a second ago
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)


async def test_live_views_leave_room_for_urgent_messages_and_never_wait() -> None:
    budget = SendBudget(per_second=3)  # live views may use two of the three
    for _ in range(2):
        async with budget.sending(urgent=False):
            pass

    with pytest.raises(NoRoom) as no_room:
        async with budget.sending(urgent=False):
            raise AssertionError("a third live view within the second")
    assert 0 < no_room.value.seconds <= 1
    async with asyncio.timeout(5), budget.sending():
        pass  # an urgent message still goes at once


async def test_telegrams_flood_control_pauses_every_request() -> None:
    budget = SendBudget(per_second=30)
    budget.pause(60)
    started = asyncio.Event()

    async def send() -> None:
        async with budget.sending():
            started.set()

    waiting = asyncio.create_task(send())
    await _yield()
    assert not started.is_set()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
