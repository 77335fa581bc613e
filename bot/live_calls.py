"""The user in the loop, in the chat: following a running call ("Listen"), stopping it, telling the calls
something, answering a receptionist's question, and the profile that answers common questions.

Shared by Telegram and the terminal through ``bot.conversation``. What the user is about to type (an
instruction, a name, a phone number) is kept in the chat session under ``AWAIT_KEY``; any other step of the
conversation drops it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot import buttons, views
from bot.buttons import Expired, Tap
from bot.intake import TapHandler
from bot.replies import Button, Chat, Reply
from bot.session import ChatState, read_session, update_session
from bot.texts import Html, plain, say
from domain.errors import InvalidRequest, NotAllowed, NotFound
from domain.intent import MISSING_WINDOWS
from domain.loop import Insurance, PatientStatus, UserProfile
from domain.models import User, is_e164
from domain.ports import IntentParser
from domain.services.context import Ports
from domain.services.user_loop import (
    answer_question,
    get_profile,
    instruct,
    listen,
    open_question,
    save_profile,
    stop_call,
)
from domain.wording import windows_in_words

AWAIT_KEY = "awaiting"
_PHONE_NOISE = re.compile(r"[\s()./-]")


class LiveCalls:
    """Taps and typed answers of the user in the loop."""

    def __init__(self, ports: Ports, intent: IntentParser) -> None:
        self._ports = ports
        self._intent = intent
        self.taps: Mapping[str, TapHandler] = {
            buttons.LISTEN: self._listen,
            buttons.STOP_CALL: self._stop_call,
            buttons.INSTRUCT: self._ask_instruction,
            buttons.INSTRUCT_CALL: self._ask_instruction,
            buttons.ANSWER: self._answer,
        }

    # --- typed text -------------------------------------------------------------------------------

    async def text(self, chat: Chat, user: User, text: str) -> bool:
        """Take ``text`` as what the user was asked to type (an instruction, a name, a phone number) or as the
        answer to a receptionist's open question; ``False`` when it is neither."""
        waiting = (await read_session(self._ports.uow, user.id)).get(AWAIT_KEY)
        if isinstance(waiting, dict):
            await self._set_waiting(user, None)
            kind = waiting.get("kind")
            if kind == "instruction":
                await self._instruct(chat, user, str(waiting.get("campaign", "")), waiting.get("call"), text)
                return True
            if kind in ("name", "phone"):
                await self._save_field(chat, user, str(kind), text)
                return True
        question = await open_question(self._ports, user.id)
        if question is None:
            return False
        stored, first = await answer_question(self._ports, user.id, question.id, text)
        await chat.send(self._answered(stored.provider_name, stored.answer or text, first, user.language))
        return True

    async def _set_waiting(self, user: User, waiting: dict[str, Any] | None) -> None:
        def change(state: dict[str, Any]) -> None:
            if waiting is None:
                state.pop(AWAIT_KEY, None)
            else:
                state[AWAIT_KEY] = waiting

        await update_session(self._ports.uow, user.id, change, self._ports.clock.now())

    # --- a running call ---------------------------------------------------------------------------

    async def _listen(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        """Follow a call: its transcript is shown, and refreshed as it goes (by the outbox)."""
        await listen(self._ports, user.id, tap.arg())

    async def _stop_call(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        """Stop one call; the search's other calls go on."""
        call = await stop_call(self._ports, user.id, tap.arg())
        await chat.send(Reply(say(user.language, "call_stopped", provider=call.provider.name)))

    async def _ask_instruction(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        """Ask what to tell the calls (all of them, or the one whose view was tapped)."""
        async with self._ports.uow() as uow:
            if tap.action == buttons.INSTRUCT_CALL:
                call = await uow.calls.get(tap.arg())
                campaign = await uow.campaigns.get(call.campaign_id) if call is not None else None
            else:
                call, campaign = None, await uow.campaigns.get(tap.arg())
        if campaign is None or campaign.user_id != user.id:
            raise Expired
        lang = campaign.language
        await self._set_waiting(
            user, {"kind": "instruction", "campaign": campaign.id, "call": call.id if call is not None else None}
        )
        if call is None:
            await chat.send(Reply(say(lang, "ask_instruction_all")))
        else:
            await chat.send(Reply(say(lang, "ask_instruction_one", provider=call.provider.name)))

    async def _instruct(self, chat: Chat, user: User, campaign_id: str, call_id: object, text: str) -> None:
        async with self._ports.uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
        if campaign is None or campaign.user_id != user.id:
            return
        lang = campaign.language
        one_call = call_id if isinstance(call_id, str) else None
        windows = []
        if one_call is None:  # times named in an instruction to every call widen the search
            parsed = await self._intent.parse(text, self._ports.clock.now(), campaign.timezone)
            if MISSING_WINDOWS not in parsed.missing:
                windows = list(parsed.windows)
        try:
            instruction = await instruct(self._ports, user.id, campaign.id, text, one_call, windows)
        except (NotAllowed, NotFound):
            await chat.send(Reply(say(lang, "calls_over")))
            return
        if one_call is None:
            reply: str = say(lang, "instruction_sent_all", text=instruction.text)
            async with self._ports.uow() as uow:
                now_windows = (await uow.campaigns.get(campaign.id) or campaign).windows
            added = [w for w in now_windows if w not in campaign.windows]
            if added:
                reply += say(lang, "instruction_windows", windows=windows_in_words(added, campaign.timezone, lang))
            await chat.send(Reply(Html(reply)))
            return
        async with self._ports.uow() as uow:
            call = await uow.calls.get(one_call)
        provider = call.provider.name if call is not None else ""
        await chat.send(Reply(say(lang, "instruction_sent_one", provider=provider, text=instruction.text)))

    # --- questions --------------------------------------------------------------------------------

    async def _answer(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        """Answer a receptionist's question with one of its choices."""
        async with self._ports.uow() as uow:
            question = await uow.questions.get(tap.arg())
        if question is None or question.user_id != user.id:
            raise Expired
        try:
            choice = question.choices[int(tap.arg(1))]
        except (ValueError, IndexError):
            raise Expired from None
        stored, first = await answer_question(self._ports, user.id, question.id, choice)
        reply = self._answered(stored.provider_name, stored.answer or choice, first, user.language)
        await chat.send(Reply(reply.text, replace=True))

    def _answered(self, provider: str, answer: str, first: bool, language: str) -> Reply:
        if not first:
            return Reply(say(language, "answer_already", answer=answer))
        return Reply(say(language, "answer_passed", provider=provider, answer=answer))

    # --- the profile ------------------------------------------------------------------------------

    async def profile_card(self, user: User) -> tuple[Html, tuple[tuple[Button, ...], ...]]:
        """The settings card's profile part and its buttons."""
        profile = await get_profile(self._ports, user.id)
        lang = user.language
        handover = "handover_off" if profile.handover_consent else "handover_on"
        rows = (
            (
                Button(plain(lang, "set_name"), buttons.setting(buttons.PROFILE, "name")),
                Button(plain(lang, "set_phone"), buttons.setting(buttons.PROFILE, "phone")),
            ),
            (
                Button(plain(lang, "toggle_insurance"), buttons.setting(buttons.PROFILE, "insurance")),
                Button(plain(lang, "toggle_patient"), buttons.setting(buttons.PROFILE, "patient")),
            ),
            (Button(plain(lang, handover), buttons.setting(buttons.PROFILE, "handover")),),
        )
        return views.profile_text(profile, lang), rows

    async def profile_tap(self, chat: Chat, user: User, tap: Tap) -> bool:
        """Change one field of the profile (a toggle: ``True``), or ask for the name or phone number."""
        what = tap.arg()
        if what in ("name", "phone"):
            await self._set_waiting(user, {"kind": what})
            await chat.send(Reply(say(user.language, f"ask_{what}")))
            return False
        profile = await get_profile(self._ports, user.id)
        if what == "insurance":
            profile.insurance = _next(profile.insurance, [Insurance.PUBLIC, Insurance.PRIVATE])
        elif what == "patient":
            profile.patient = _next(profile.patient, [PatientStatus.NEW, PatientStatus.EXISTING])
        elif what == "handover":
            profile.handover_consent = not profile.handover_consent
        else:
            raise Expired
        await save_profile(self._ports, profile)
        return True

    async def _save_field(self, chat: Chat, user: User, field: str, text: str) -> None:
        profile = await get_profile(self._ports, user.id)
        value = "" if text.strip() == "-" else text.strip()
        if field == "phone" and value:
            number = _PHONE_NOISE.sub("", value)
            if number.startswith("00"):
                number = "+" + number[2:]
            if not is_e164(number):
                await chat.send(Reply(say(user.language, "bad_phone", phone=value)))
                return
            value = number
        try:
            _store(profile, field, value)
        except InvalidRequest:
            await chat.send(Reply(say(user.language, "bad_phone", phone=value)))
            return
        await save_profile(self._ports, profile)
        await chat.send(Reply(say(user.language, "saved")))


def _next(current: Any, cycle: list[Any]) -> Any:
    """The next value of ``cycle`` after ``current``, and after the last: not set."""
    if current is None:
        return cycle[0]
    index = cycle.index(current) + 1
    return cycle[index] if index < len(cycle) else None


def _store(profile: UserProfile, field: str, value: str) -> None:
    if field == "name":
        profile.name = value[:200]
    elif field == "phone":
        profile.phone = value
