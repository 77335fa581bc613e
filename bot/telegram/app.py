"""The Telegram application: built in one place, handlers registered in one place, thin handlers.

Each handler turns the update into a ``Chat`` and a ``Person`` and hands it to the shared ``Conversation``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.conversation import COMMANDS, Conversation
from bot.replies import Person
from bot.telegram.render import TelegramChat
from bot.telegram.updates import PerChatUpdates
from bot.telegram.webhook import Webhook
from bot.texts import language_of, plain, say

log = logging.getLogger(__name__)


class BotData:
    """What every handler shares; filled in by ``build_application``."""

    def __init__(self) -> None:
        self.conversation: Conversation | None = None


class NexusContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The handlers' context, with NEXUS's services as properties."""

    @property
    def conversation(self) -> Conversation:
        conversation = self.bot_data.conversation
        if conversation is None:
            raise RuntimeError("the application was not built by build_application")
        return conversation


NexusApplication: TypeAlias = Application[ExtBot[None], NexusContext, dict[Any, Any], dict[Any, Any], BotData, None]

_COMMANDS = {
    "en": [
        BotCommand("start", "What NEXUS does"),
        BotCommand("appointments", "Your upcoming appointments"),
        BotCommand("settings", "Ranking, radius, home, time zone, reminders"),
        BotCommand("cancel", "Stop the running search"),
        BotCommand("connect_calendar", "Connect your Google Calendar"),
        BotCommand("help", "How to use NEXUS"),
        BotCommand("delete_my_data", "Delete everything NEXUS keeps about you"),
    ],
    "de": [
        BotCommand("start", "Was NEXUS macht"),
        BotCommand("appointments", "Deine kommenden Termine"),
        BotCommand("settings", "Gewichtung, Umkreis, Zuhause, Zeitzone, Erinnerungen"),
        BotCommand("cancel", "Laufende Suche stoppen"),
        BotCommand("connect_calendar", "Google Kalender verbinden"),
        BotCommand("help", "So funktioniert NEXUS"),
        BotCommand("delete_my_data", "Alles löschen, was NEXUS über dich speichert"),
    ],
}


def api_urls(base_url: str) -> tuple[str, str]:
    """The Bot API and file URLs of a Bot API server at ``base_url`` (``http://host:8081``)."""
    root = base_url.rstrip("/")
    root = root.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    token: str, conversation: Conversation, *, base_url: str | None = None, webhook: bool = False
) -> NexusApplication:
    """The bot for ``token``; ``webhook`` leaves polling out (updates then come through ``webhook_routes``)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=NexusContext, bot_data=BotData))
        .rate_limiter(AIORateLimiter())
        .concurrent_updates(PerChatUpdates())  # chats at once, each chat's updates in order
        .job_queue(None)  # scheduled work runs in NEXUS's own scheduler, from the database
    )
    if base_url:
        api, files = api_urls(base_url)
        builder = builder.base_url(api).base_file_url(files)
    if webhook:
        builder = builder.updater(None)
    application: NexusApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.conversation = conversation
    _register_handlers(application)
    return application


@asynccontextmanager
async def running(application: NexusApplication, webhook: Webhook | None = None) -> AsyncIterator[None]:
    """Run the bot: long polling, or registered for ``webhook`` (whose route must be served meanwhile)."""
    async with application:
        bot = application.bot
        await bot.set_my_commands(_COMMANDS["en"])
        await bot.set_my_commands(_COMMANDS["de"], language_code="de")
        if webhook is not None:
            await bot.set_webhook(webhook.url, secret_token=webhook.secret, allowed_updates=Update.ALL_TYPES)
        await application.start()
        if webhook is None and application.updater is not None:
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        try:
            yield
        finally:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()


# --- handlers --------------------------------------------------------------------------------------


# The guard's group runs before every other one; raising ApplicationHandlerStop there ends the update.
GUARD_GROUP = -1


def _register_handlers(application: NexusApplication) -> None:
    application.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
    # Only new messages: an edit (a live location moves every few seconds) is not a new thing to answer.
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    for name in COMMANDS:
        application.add_handler(CommandHandler(name, command, filters=private))
    application.add_handler(MessageHandler(private & filters.LOCATION, location))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, text))
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(on_error)


def _person(update: Update) -> Person:
    user = update.effective_user
    assert user is not None  # the filters only let updates from a user through
    return Person(user.id, user.first_name or "", user.language_code)


def _chat(update: Update, context: NexusContext, origin_message_id: int | None = None) -> TelegramChat:
    chat = update.effective_chat
    assert chat is not None
    return TelegramChat(context.bot, chat.id, origin_message_id)


async def guard(update: Update, context: NexusContext) -> None:
    """Let through only new updates from people this NEXUS serves; tell a stranger once, store nothing."""
    if update.edited_message is not None or update.edited_channel_post is not None:
        raise ApplicationHandlerStop  # edits, above all a live location's moves, never get a reply
    user = update.effective_user
    if user is None:
        raise ApplicationHandlerStop
    conversation = context.conversation
    if conversation.allows(user.id):
        return
    log.info("refused an update from user %s, who is not in ALLOWED_TELEGRAM_USERS", user.id)
    person = Person(user.id, user.first_name or "", user.language_code)
    if update.callback_query is not None:
        await update.callback_query.answer(plain(language_of(user.language_code), "not_allowed_short"))
    elif update.message is not None and update.message.chat.type == "private":
        await conversation.refuse(_chat(update, context), person)
    raise ApplicationHandlerStop


async def command(update: Update, context: NexusContext) -> None:
    """Run the command the user sent (``/start``, ``/cancel``…) in the conversation."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name = message.text.split()[0].removeprefix("/").split("@")[0].lower()
    await context.conversation.commands[name](_chat(update, context), _person(update))


async def text(update: Update, context: NexusContext) -> None:
    """Take the text as a request or as the answer to the last question."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await context.conversation.text(_chat(update, context), _person(update), message.text)


async def location(update: Update, context: NexusContext) -> None:
    """Use a shared location as the place to search or as the user's home."""
    message = update.effective_message
    assert message is not None and message.location is not None
    where = message.location
    await context.conversation.location(_chat(update, context), _person(update), where.latitude, where.longitude)


async def button(update: Update, context: NexusContext) -> None:
    """Act on a tapped button and always answer the tap."""
    query = update.callback_query
    assert query is not None
    notice: str | None = None
    try:
        if query.message is not None and query.message.chat.type == "private":
            origin = query.message.message_id
            notice = await context.conversation.tap(_chat(update, context, origin), _person(update), query.data or "")
    finally:
        await query.answer(notice)


async def on_error(update: object, context: NexusContext) -> None:
    """Log the failure with its context and apologise to the user, without details."""
    user = update.effective_user if isinstance(update, Update) else None
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s of user %s failed", update_id, user.id if user else None, exc_info=context.error)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None:
        language = language_of(user.language_code if user else None)
        await context.bot.send_message(chat.id, say(language, "apology"))
