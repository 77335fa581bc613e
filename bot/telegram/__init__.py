"""The python-telegram-bot adapter: the application and its handlers, the notifier, the webhook route.

application = build_application(token, conversation, base_url=settings.telegram_base_url)
notifier = TelegramNotifier(application.bot, ports.uow, clock)   # the outbox dispatcher's sink
async with running(application):            # long polling; or running(application, webhook=...)
    ...
"""

from bot.telegram.app import NexusApplication, NexusContext, build_application, running
from bot.telegram.notifier import SendBudget, TelegramNotifier
from bot.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH, Webhook, webhook_routes

__all__ = [
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "NexusApplication",
    "NexusContext",
    "SendBudget",
    "TelegramNotifier",
    "Webhook",
    "build_application",
    "running",
    "webhook_routes",
]
