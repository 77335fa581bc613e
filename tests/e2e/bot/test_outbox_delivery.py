"""The outbox's Telegram sink against the fake Bot API: what Telegram answers decides what the dispatcher
does (wait as long as a 429 says, try again after a network error, give up when the user blocked the bot),
and a refused message arrives exactly once after its wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot

from bot.telegram import SendBudget, TelegramNotifier
from bot.telegram.app import api_urls
from domain.errors import DeliveryFailed
from domain.models import CampaignStatus
from domain.notifications import CampaignFailed
from nexus.notifications import Dispatcher
from tests.e2e.bot.conftest import NOW, Harness
from tests.factories import make_campaign
from tests.support.fake_bot_api import TOKEN, USER_ID


def failed_campaign() -> CampaignFailed:
    campaign = make_campaign(NOW, user_id=USER_ID, status=CampaignStatus.FAILED, failure_reason="Nobody answered.")
    return CampaignFailed(campaign)


@pytest.fixture
async def bot(harness: Harness) -> AsyncIterator[Bot]:
    api, files = api_urls(harness.api_url)
    async with Bot(TOKEN, base_url=api, base_file_url=files) as bot:
        yield bot


@pytest.mark.parametrize(
    ("status", "description", "retry_after", "permanent"),
    [
        (429, "Too Many Requests: retry after 3", 3, False),
        (502, f"Bad Gateway at /bot{TOKEN}/sendMessage", None, False),
        (403, "Forbidden: bot was blocked by the user", None, True),
        (400, "Bad Request: chat not found", None, True),
    ],
)
async def test_what_telegram_answers_decides_whether_to_try_again(
    harness: Harness, bot: Bot, status: int, description: str, retry_after: int | None, permanent: bool
) -> None:
    harness.api.fail("sendMessage", status, description, retry_after=retry_after)
    notifier = TelegramNotifier(bot, harness.ports.uow, harness.clock, budget=SendBudget(30))

    with pytest.raises(DeliveryFailed) as failure:
        await notifier.notify(USER_ID, failed_campaign())

    assert (failure.value.retry_after, failure.value.permanent) == (retry_after, permanent)
    assert TOKEN not in str(failure.value)  # it is logged and stored with the message
    assert harness.api.sent("sendMessage") == []


async def test_a_message_refused_with_429_arrives_once_after_the_wait(harness: Harness, bot: Bot) -> None:
    wall = [datetime(2026, 11, 30, 12, tzinfo=UTC)]
    async with harness.ports.uow() as uow:
        await uow.outbox.add(USER_ID, failed_campaign(), NOW)
        await uow.commit()
    harness.api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    sink = TelegramNotifier(bot, harness.ports.uow, harness.clock, budget=SendBudget(30))
    dispatcher = Dispatcher(harness.ports.uow, sink, now=lambda: wall[0])

    await dispatcher.deliver_due()
    assert len(harness.api.refused) == 1 and harness.api.sent("sendMessage") == []
    await dispatcher.deliver_due()
    assert harness.api.sent("sendMessage") == []  # not before Telegram's second is over
    wall[0] += timedelta(seconds=1)
    await dispatcher.deliver_due()

    [sent] = harness.api.sent("sendMessage")
    assert sent.text == "😕 I could not find an appointment. Nobody answered."
    await dispatcher.deliver_due()
    assert len(harness.api.sent("sendMessage")) == 1
