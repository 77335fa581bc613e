"""After the first search, in the chat: keep looking (and widen), watch for an earlier slot (Swap, Keep mine),
and reschedule an appointment. This flow owns its taps, its texts and how its news reads.

The taps call the use cases of ``domain.services.rounds``, ``watch`` and ``reschedule``; what the rounds find
later arrives as ``RoundNews`` through the outbox and is drawn by ``news_reply``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import buttons
from bot.buttons import Expired, Tap
from bot.ics import appointment_ics, ics_filename
from bot.replies import Button, Chat, Document, Reply
from bot.session import ChatState, Step, save_state, update_session
from bot.texts import Html, escape, service_noun, short_slot
from domain.errors import InvalidRequest, NotAllowed, SlotConflict
from domain.models import Appointment, AppointmentStatus, Campaign, CampaignStatus, TimeWindow, User
from domain.notifications import RoundEvent, RoundNews
from domain.services.confirmation import choose_offer
from domain.services.context import Ports
from domain.services.reschedule import reschedule_appointment
from domain.services.rounds import KeepLooking, Widen, keep_looking, stop_looking
from domain.services.watch import keep_mine, watch_for_earlier
from domain.wording import time_in_words

if TYPE_CHECKING:
    from bot.intake import TapHandler

# The session key under which the appointment being rescheduled waits for its new times.
RESCHEDULING_KEY = "rescheduling"
WATCH_DAYS = (1, 3)  # "for a day", "for 3 days"; 0: until the appointment

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "keep_looking": "🔎 Keep looking",
        "widen_week": "Widen: +1 week",
        "widen_km": "Widen: +5 km",
        "widen_any_time": "Widen: any time of day",
        "stop_looking": "Stop looking",
        "looking": "🔎 I'll keep looking for a <b>{service}</b> and tell you only when something new fits.",
        "next_round": "Next round of calls: {when}.",
        "waitlisted": "You are on the waiting list of {names}. They cannot call me back, but they may phone you "
        "directly; I also call them first in every round.",
        "found": "🔎 Something new fits for your <b>{service}</b>:",
        "stopped": "🔎 {reason}",
        "watch": "🔔 Tell me if something earlier opens",
        "watch_until": "Until when should I watch for something earlier than {slot}?",
        "watch_days": "For {days} day(s)",
        "watch_appointment": "Until the appointment",
        "watching": "🔔 I'll watch for a slot earlier than {provider}, {slot}, and tell you if one opens.",
        "earlier": "🔔 <b>Earlier slot:</b> {provider}, {slot}. Yours: {old_provider}, {old_slot}.\n"
        "Swap books the new one first and then cancels yours by phone.",
        "swap": "Swap",
        "keep_mine": "Keep mine",
        "swapping": "Booking {provider}, {slot}; yours is cancelled once that is booked.",
        "kept": "You keep your appointment. I go on watching until the time you gave.",
        "reschedule": "Reschedule {provider}, {day}",
        "ask_new_times": "When would suit you instead of {slot}? Write it in words, e.g. <i>Friday afternoon</i>.",
        "no_new_times": "I could not read a time in that. When would suit you, e.g. <i>next Tuesday morning</i>?",
        "rescheduling": "📞 Calling {provider} to move your appointment; you keep it until the new time is booked.",
        "moved": "✅ <b>Moved:</b> {provider}, now {slot}. The updated calendar file is attached.",
        "reschedule_search": "{provider} could not move it. I'm asking other practices; your appointment on "
        "{slot} stays booked until a new one is.",
        "cannot": "{reason}",
    },
    "de": {
        "keep_looking": "🔎 Weiter suchen",
        "widen_week": "Erweitern: +1 Woche",
        "widen_km": "Erweitern: +5 km",
        "widen_any_time": "Erweitern: jede Tageszeit",
        "stop_looking": "Suche beenden",
        "looking": "🔎 Ich suche weiter nach einem Termin (<b>{service}</b>) und melde mich nur, wenn etwas "
        "Neues passt.",
        "next_round": "Nächste Anrufrunde: {when}.",
        "waitlisted": "Du stehst auf der Warteliste von {names}. Sie können mich nicht zurückrufen, dürfen dich "
        "aber direkt anrufen; ich rufe sie außerdem in jeder Runde zuerst an.",
        "found": "🔎 Etwas Neues passt (<b>{service}</b>):",
        "stopped": "🔎 {reason}",
        "watch": "🔔 Sag mir, wenn etwas Früheres frei wird",
        "watch_until": "Bis wann soll ich nach etwas Früherem als {slot} Ausschau halten?",
        "watch_days": "{days} Tag(e)",
        "watch_appointment": "Bis zum Termin",
        "watching": "🔔 Ich halte Ausschau nach einem früheren Termin als {provider}, {slot}, und melde mich.",
        "earlier": "🔔 <b>Früherer Termin:</b> {provider}, {slot}. Deiner: {old_provider}, {old_slot}.\n"
        "Tauschen bucht zuerst den neuen und sagt dann deinen telefonisch ab.",
        "swap": "Tauschen",
        "keep_mine": "Meinen behalten",
        "swapping": "Ich buche {provider}, {slot}; deiner wird abgesagt, sobald das gebucht ist.",
        "kept": "Du behältst deinen Termin. Ich halte weiter Ausschau bis zur genannten Zeit.",
        "reschedule": "Verschieben: {provider}, {day}",
        "ask_new_times": "Wann würde es dir statt {slot} passen? Schreib es in Worten, z. B. <i>Freitagnachmittag</i>.",
        "no_new_times": "Darin konnte ich keine Zeit lesen. Wann würde es passen, z. B. "
        "<i>nächsten Dienstagvormittag</i>?",
        "rescheduling": "📞 Ich rufe {provider} an, um den Termin zu verschieben; er bleibt, bis der neue gebucht ist.",
        "moved": "✅ <b>Verschoben:</b> {provider}, jetzt {slot}. Die aktualisierte Kalenderdatei ist angehängt.",
        "reschedule_search": "{provider} konnte ihn nicht verschieben. Ich frage andere Praxen; dein Termin am "
        "{slot} bleibt gebucht, bis ein neuer gebucht ist.",
        "cannot": "{reason}",
    },
}


def text(language: str, key: str, **values: object) -> Html:
    """The sentence ``key`` of this flow in ``language``, values escaped unless ``Html``."""
    template = _TEXTS["de" if language == "de" else "en"][key]
    return Html(template.format(**{k: v if isinstance(v, Html) else escape(v) for k, v in values.items()}))


def label(language: str, key: str, **values: object) -> str:
    return _TEXTS["de" if language == "de" else "en"][key].format(**values)


# --- buttons on the messages of the first search ---------------------------------------------------


def after_failure_buttons(campaign: Campaign) -> tuple[tuple[Button, ...], ...]:
    """Under "nothing fits": keep looking, or widen the search while keeping looking."""
    lang = campaign.language
    return (
        (Button(label(lang, "keep_looking"), buttons.campaign(buttons.KEEP_LOOKING, campaign.id)),),
        tuple(
            Button(label(lang, f"widen_{widen.value}"), f"{buttons.WIDEN}:{campaign.id}:{widen.value[0]}")
            for widen in Widen
        ),
    )


def keep_looking_row(campaign: Campaign) -> tuple[Button, ...]:
    """Under a shortlist: none of these, keep looking."""
    return (Button(label(campaign.language, "keep_looking"), buttons.campaign(buttons.KEEP_LOOKING, campaign.id)),)


def after_booking_buttons(campaign: Campaign, appointment: Appointment) -> tuple[tuple[Button, ...], ...]:
    return ((Button(label(campaign.language, "watch"), buttons.appointment(buttons.WATCH, appointment.id)),),)


def reschedule_button(appointment: Appointment, user: User) -> Button:
    from bot.texts import short_day

    day = short_day(appointment.start, user.timezone, user.language)
    name = label(user.language, "reschedule", provider=appointment.provider.name, day=day)
    return Button(name[:60], buttons.appointment(buttons.RESCHEDULE, appointment.id))


# --- the news of later rounds ----------------------------------------------------------------------


def news_reply(news: RoundNews, user: User, now: datetime) -> Reply | None:
    from bot import views

    campaign = news.campaign
    lang, tz = campaign.language, campaign.timezone
    service = service_noun(campaign.service, lang)
    stop = ((Button(label(lang, "stop_looking"), buttons.campaign(buttons.STOP_LOOKING, campaign.id)),),)
    match news.event:
        case RoundEvent.LOOKING:
            if news.appointment is not None:
                watched = news.appointment
                slot = short_slot(watched.start, watched.end, tz, lang)
                lines = [text(lang, "watching", provider=watched.provider.name, slot=slot)]
            else:
                lines = [text(lang, "looking", service=service)]
            if news.at is not None:
                lines.append(text(lang, "next_round", when=_when(news.at, tz, lang)))
            if news.waitlisted:
                lines.append(text(lang, "waitlisted", names="; ".join(news.waitlisted)))
            return Reply(Html("\n".join(lines)), buttons=stop)
        case RoundEvent.FOUND:
            intro = text(lang, "found", service=service)
            if news.waitlisted:
                intro = Html(intro + "\n" + text(lang, "waitlisted", names="; ".join(news.waitlisted)))
            return views.shortlist(campaign, news.offers, intro)
        case RoundEvent.EARLIER:
            offer, old = news.offers[0], news.appointment
            if old is None:
                return None
            body = text(
                lang,
                "earlier",
                provider=offer.provider_name,
                slot=short_slot(offer.start, offer.end, tz, lang),
                old_provider=old.provider.name,
                old_slot=short_slot(old.start, old.end, tz, lang),
            )
            choice = (
                Button(label(lang, "swap"), buttons.offer(buttons.SWAP, offer.id)),
                Button(label(lang, "keep_mine"), buttons.campaign(buttons.KEEP_MINE, campaign.id)),
            )
            return Reply(body, buttons=(choice,))
        case RoundEvent.STOPPED:
            return Reply(text(lang, "stopped", reason=news.reason))
        case RoundEvent.MOVED:
            appointment = news.appointment
            if appointment is None:
                return None
            slot = short_slot(appointment.start, appointment.end, tz, lang)
            from bot.texts import service_name

            title = f"{service_name(campaign.service, lang)}: {appointment.provider.name}"
            ics = appointment_ics(appointment, now, title)  # the same UID, a higher SEQUENCE: calendars update it
            document = Document(ics_filename(appointment, tz), ics, "text/calendar")
            return Reply(text(lang, "moved", provider=appointment.provider.name, slot=slot), document=document)
        case RoundEvent.RESCHEDULE_SEARCH:
            appointment = news.appointment
            if appointment is None:
                return None
            slot = short_slot(appointment.start, appointment.end, tz, lang)
            return Reply(text(lang, "reschedule_search", provider=appointment.provider.name, slot=slot))


def _when(moment: datetime, timezone: str, language: str) -> str:
    from bot.texts import short_day

    return f"{short_day(moment, timezone, language)} {time_in_words(moment, timezone)}"


# --- taps and the rescheduling question ------------------------------------------------------------


class RoundsFlow:
    """Keep looking, watch, swap and reschedule, for every user."""

    def __init__(self, ports: Ports) -> None:
        self._ports = ports
        self.taps: dict[str, TapHandler] = {
            buttons.KEEP_LOOKING: self._keep_looking,
            buttons.WIDEN: self._widen,
            buttons.STOP_LOOKING: self._stop_looking,
            buttons.WATCH: self._ask_watch_until,
            buttons.WATCH_UNTIL: self._watch,
            buttons.SWAP: self._swap,
            buttons.KEEP_MINE: self._keep_mine,
            buttons.RESCHEDULE: self._ask_new_times,
        }

    async def _keep_looking(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await self._looking(chat, user, KeepLooking(user.id, tap.arg()))

    async def _widen(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        widen = next((w for w in Widen if w.value[0] == tap.arg(1)), None)
        if widen is None:
            raise Expired
        await self._looking(chat, user, KeepLooking(user.id, tap.arg(), widen))

    async def _looking(self, chat: Chat, user: User, command: KeepLooking) -> None:
        try:
            await keep_looking(self._ports, command)  # what happens next is told by the outbox
        except NotAllowed as exc:
            if "does not exist" in str(exc):
                raise
            await chat.send(Reply(text(user.language, "cannot", reason=str(exc))))

    async def _stop_looking(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await stop_looking(self._ports, user.id, tap.arg())
        from bot.texts import say

        await chat.send(Reply(say(user.language, "dismissed"), replace=True))

    async def _appointment(self, user: User, appointment_id: str) -> Appointment:
        async with self._ports.uow() as uow:
            appointment = await uow.appointments.get(appointment_id)
        if appointment is None or appointment.user_id != user.id or appointment.status is not AppointmentStatus.BOOKED:
            raise Expired
        return appointment

    async def _ask_watch_until(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        appointment = await self._appointment(user, tap.arg())
        lang = user.language
        slot = short_slot(appointment.start, appointment.end, user.timezone, lang)
        choices = [
            Button(label(lang, "watch_days", days=days), f"{buttons.WATCH_UNTIL}:{appointment.id}:{days}")
            for days in WATCH_DAYS
        ]
        choices.append(Button(label(lang, "watch_appointment"), f"{buttons.WATCH_UNTIL}:{appointment.id}:0"))
        await chat.send(Reply(text(lang, "watch_until", slot=slot), buttons=(tuple(choices),)))

    async def _watch(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        appointment = await self._appointment(user, tap.arg())
        if not tap.arg(1).isdigit():
            raise Expired
        days = int(tap.arg(1))
        until = appointment.start if days == 0 else self._ports.clock.now() + timedelta(days=days)
        try:
            await watch_for_earlier(self._ports, user.id, appointment.id, until)
        except NotAllowed as exc:
            await chat.send(Reply(text(user.language, "cannot", reason=str(exc)), replace=True))

    async def _swap(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        async with self._ports.uow() as uow:
            offer = await uow.offers.get(tap.arg())
            campaign = await uow.campaigns.get(offer.campaign_id) if offer else None
        if offer is None or campaign is None or campaign.user_id != user.id:
            raise Expired
        if campaign.status is not CampaignStatus.RANKING:
            raise Expired
        lang = campaign.language
        slot = short_slot(offer.start, offer.end, campaign.timezone, lang)
        await chat.send(Reply(text(lang, "swapping", provider=offer.provider_name, slot=slot), replace=True))
        try:
            await choose_offer(self._ports, user.id, offer.id)
        except SlotConflict as exc:
            await chat.send(Reply(text(lang, "cannot", reason=str(exc))))

    async def _keep_mine(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await keep_mine(self._ports, user.id, tap.arg())
        await chat.send(Reply(text(user.language, "kept"), replace=True))

    async def _ask_new_times(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        appointment = await self._appointment(user, tap.arg())
        now = self._ports.clock.now()
        await save_state(self._ports.uow, user.id, ChatState(step=Step.RESCHEDULE), now)

        def remember(stored: dict[str, object]) -> None:
            stored[RESCHEDULING_KEY] = appointment.id

        await update_session(self._ports.uow, user.id, remember, now)
        slot = short_slot(appointment.start, appointment.end, user.timezone, user.language)
        await chat.send(Reply(text(user.language, "ask_new_times", slot=slot)))

    async def new_times(self, chat: Chat, user: User, words: str, named: list[TimeWindow]) -> None:
        """The answer to "when would suit you instead?": ``named`` are the times the intake read in ``words``
        (none when it read none); the provider is called to move the appointment into them."""
        from bot.session import read_session

        now = self._ports.clock.now()
        appointment_id = str((await read_session(self._ports.uow, user.id)).get(RESCHEDULING_KEY, ""))
        appointment = await self._appointment(user, appointment_id)
        windows = [w for w in named if w.end > now]
        if not windows:
            await chat.send(Reply(text(user.language, "no_new_times")))
            return
        await save_state(self._ports.uow, user.id, ChatState(), now)
        await chat.send(Reply(text(user.language, "rescheduling", provider=appointment.provider.name)))
        try:
            await reschedule_appointment(self._ports, user.id, appointment.id, windows, words)
        except (NotAllowed, InvalidRequest) as exc:
            await chat.send(Reply(text(user.language, "cannot", reason=str(exc))))


__all__ = ["RoundsFlow", "after_booking_buttons", "after_failure_buttons", "keep_looking_row", "news_reply"]
