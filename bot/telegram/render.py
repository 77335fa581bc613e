"""A ``Reply`` as Telegram messages: HTML text, inline or reply keyboards, documents."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest

from bot.replies import Reply

log = logging.getLogger(__name__)


def inline_markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


def markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    inline = inline_markup(reply)
    if inline is not None or not reply.keys:
        return inline
    keys = [[KeyboardButton(k.label, request_location=k.shares_location)] for k in reply.keys]
    return ReplyKeyboardMarkup(keys, resize_keyboard=True, one_time_keyboard=True)


async def send(bot: Bot, chat_id: int, reply: Reply) -> Message:
    """Send ``reply`` as a new message (and its document after it); returns the text message."""
    message = await bot.send_message(chat_id, reply.text, parse_mode=ParseMode.HTML, reply_markup=markup(reply))
    await send_document(bot, chat_id, reply)
    return message


async def send_document(bot: Bot, chat_id: int, reply: Reply) -> None:
    if reply.document is not None:
        document = reply.document
        await bot.send_document(chat_id, InputFile(document.content, filename=document.filename, attach=True))


async def edit(bot: Bot, chat_id: int, message_id: int, reply: Reply) -> None:
    """Replace the text and inline buttons of a message we sent; an unchanged message is fine."""
    try:
        await bot.edit_message_text(
            reply.text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=inline_markup(reply),
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


class TelegramChat:
    """The ``Chat`` of one update: replies go to its chat; ``replace`` edits the message that was tapped."""

    typed = False

    def __init__(self, bot: Bot, chat_id: int, origin_message_id: int | None = None) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._origin = origin_message_id

    async def send(self, reply: Reply) -> None:
        if reply.replace and self._origin is not None and not reply.keys:
            await edit(self._bot, self._chat_id, self._origin, reply)
            await send_document(self._bot, self._chat_id, reply)
            return
        await send(self._bot, self._chat_id, reply)

    async def typing(self) -> None:
        await self._bot.send_chat_action(self._chat_id, ChatAction.TYPING)
