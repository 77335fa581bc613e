"""``/delete_my_data``: say what deleting means and which appointments stay booked, then delete on a tap.

The confirmation button carries the moment it was asked and works for ``CONFIRM_WITHIN``; tapping it twice
(or twice at once) deletes once and says so both times. A running search is not stopped for the user: the
deletion is refused until it is over (see ``domain.services.privacy``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot import buttons
from bot.buttons import Expired, Tap
from bot.intake import TapHandler
from bot.replies import Button, Chat, Reply
from bot.session import ChatState
from bot.texts import Html, plain, say
from bot.views import appointment_slot
from domain.models import Appointment, User
from domain.services.appointments import upcoming_appointments
from domain.services.context import Ports
from domain.services.privacy import Erasure, erase_user_data, search_running

CONFIRM_WITHIN = timedelta(minutes=15)


def deletion_prompt(appointments: Sequence[Appointment], user: User, asked_at: datetime) -> Reply:
    """What deleting removes, the appointments that stay booked (with the practice's number), and the buttons."""
    lang = user.language
    lines: list[str] = [say(lang, "delete_data_ask")]
    if appointments:
        lines.append("")
        lines.append(say(lang, "delete_data_booked"))
        for appointment in appointments:
            slot = appointment_slot(appointment, user.timezone, lang)
            provider = appointment.provider
            lines.append(say(lang, "delete_data_booked_line", provider=provider.name, slot=slot, phone=provider.phone))
        lines.append(say(lang, "delete_data_how_to_cancel"))
    confirm = Button(
        plain(lang, "delete_data_button"), buttons.setting(buttons.DELETE_DATA, str(int(asked_at.timestamp())))
    )
    keep = Button(plain(lang, "keep_data_button"), buttons.setting(buttons.KEEP_DATA))
    return Reply(Html("\n".join(lines)), buttons=((confirm,), (keep,)))


class DataDeletion:
    """The /delete_my_data flow: the question and its two taps."""

    def __init__(self, ports: Ports, calendar_disconnect: Callable[[int], Awaitable[bool]] | None) -> None:
        self._ports = ports
        self._calendar_disconnect = calendar_disconnect
        self.taps: dict[str, TapHandler] = {buttons.DELETE_DATA: self._delete, buttons.KEEP_DATA: self._keep}

    async def ask(self, chat: Chat, user: User) -> None:
        """Explain what deleting removes and which appointments stay booked; offer the confirmation."""
        booked = await upcoming_appointments(self._ports, user.id)
        await chat.send(deletion_prompt(booked, user, self._ports.clock.now()))

    async def _delete(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        asked = tap.arg()
        if not asked.isdigit():
            raise Expired
        if self._ports.clock.now() - datetime.fromtimestamp(int(asked), UTC) > CONFIRM_WITHIN:
            raise Expired
        lang = user.language
        if await search_running(self._ports, user.id):
            await chat.send(Reply(say(lang, "delete_data_running"), replace=True))
            return
        if self._calendar_disconnect is not None:  # gives up the access at the calendar's provider too
            await self._calendar_disconnect(user.id)
        erased = await erase_user_data(self._ports, user.id)
        key = "data_deleted" if erased is Erasure.ERASED else "delete_data_running"
        await chat.send(Reply(say(lang, key), replace=True))

    async def _keep(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await chat.send(Reply(say(user.language, "data_kept"), replace=True))
