"""The conversation with one user, shared by the Telegram bot and the terminal chat.

Every method takes the ``Chat`` to answer in and the ``Person`` who wrote, reads the chat's state from the
database, calls the use cases and says what happened as ``Reply`` objects. Nothing here knows Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import buttons, views
from bot.background import BackgroundTasks
from bot.buttons import Expired, Tap
from bot.intake import Intake, TapHandler
from bot.live_calls import LiveCalls
from bot.privacy import DataDeletion
from bot.replies import Button, Chat, Key, Person, Reply
from bot.rounds import RoundsFlow
from bot.session import ChatState, Step, load_state, save_state
from bot.texts import Html, language_of, plain, say
from domain.errors import InvalidRequest, NotAllowed, NotFound, SlotConflict
from domain.models import (
    DEFAULT_TIMEZONE,
    MAX_CALLS_PER_CAMPAIGN,
    WEIGHT_PRESETS,
    Appointment,
    Campaign,
    CampaignStatus,
    GeoPoint,
    Offer,
    OfferStatus,
    User,
)
from domain.ports import Geocoder, IntentParser
from domain.services.appointments import cancel_appointment, upcoming_appointments
from domain.services.campaigns import cancel_campaign, get_or_create_user, run_campaign, save_user
from domain.services.confirmation import choose_offer
from domain.services.context import Ports

log = logging.getLogger(__name__)

# /cancel stops these; a search that is booking right now is left to finish.
_CANCELLABLE = (
    CampaignStatus.CREATED,
    CampaignStatus.PROVIDER_LOOKUP,
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
    CampaignStatus.RANKING,
    CampaignStatus.WAITING,  # keep looking / watching between rounds
)
# Typed on their own, these words end what is open, like /cancel (the value: the language they are in).
CANCEL_WORDS = {
    "cancel": None,
    "stop": None,
    "abbrechen": "de",
    "abbruch": "de",
    "stopp": "de",
    "halt": "de",
}
# The commands both the Telegram bot and the terminal chat understand, in the order /help lists them.
COMMANDS = (
    "start",
    "help",
    "settings",
    "appointments",
    "cancel",
    "connect_calendar",
    "disconnect_calendar",
    "delete_my_data",
)

Command = Callable[[Chat, Person], Awaitable[None]]


def cancel_word(text: str) -> tuple[bool, str | None]:
    """Whether ``text`` is only a word that means "cancel", and that word's language if it has one."""
    word = text.strip().strip(".!").lower()
    return word in CANCEL_WORDS, CANCEL_WORDS.get(word)


class Conversation:
    """Intake, summary, campaign, shortlist, booking, appointments and settings for every user."""

    def __init__(
        self,
        ports: Ports,
        intent: IntentParser,
        geocoder: Geocoder,
        *,
        allowed_users: Collection[int] = (),
        default_timezone: str = DEFAULT_TIMEZONE,
        calls_per_campaign: int = MAX_CALLS_PER_CAMPAIGN,
        calendar_link: Callable[[int], str] | None = None,
        calendar_disconnect: Callable[[int], Awaitable[bool]] | None = None,
        new_user: Mapping[str, object] | None = None,
    ) -> None:
        """``calendar_disconnect(user_id)``: forget the calendar and revoke the access at its provider (without
        it, the link is only forgotten). ``new_user``: the profile a user starts with (``timezone``, ``home``,
        ``weights``, ``radius_km``), for example a world file's user in ``nexus run --world``."""
        self._calendar_disconnect = calendar_disconnect
        self._new_user = dict(new_user or {})
        self._ports = ports
        self.background = BackgroundTasks()  # campaigns run here, never inside an update handler
        self._calendar_link = calendar_link
        self._geocoder = geocoder
        self._allowed = frozenset(allowed_users)
        self._timezone = default_timezone
        self._intake = Intake(
            ports,
            intent,
            geocoder,
            self._save,
            may_call=self._may_call,
            calls_per_campaign=calls_per_campaign,
            start_campaign=self._start_campaign,
        )
        self._rounds = RoundsFlow(ports)
        self._taps: dict[str, TapHandler] = {
            **self._intake.taps,
            buttons.STOP: self._stop,
            buttons.BOOK: self._book,
            buttons.TRANSCRIPT: self._transcript,
            buttons.AGAIN: self._again,
            buttons.DISMISS: self._dismiss,
            buttons.CANCEL_APPOINTMENT: self._cancel_appointment,
            buttons.PRESET: self._preset,
            buttons.SET_RADIUS: self._set_radius,
            buttons.REMINDERS: self._reminders,
            buttons.HOME: self._ask_home,
            buttons.TIMEZONE: self._ask_timezone,
            **self._rounds.taps,
        }
        # the user in the loop: running calls, their questions, the profile (bot.live_calls)
        self._live = LiveCalls(ports, intent)
        self._taps.update(self._live.taps)
        self._taps[buttons.PROFILE] = self._profile
        self._deletion = DataDeletion(ports, calendar_disconnect)
        self._taps.update(self._deletion.taps)

    async def _start_campaign(self, campaign_id: str) -> None:
        """Run a campaign the user just started with **Call providers**, in the background: the update
        handler returns at once, so this chat's next update and other chats' never wait on the calls."""
        self.background.start(run_campaign(self._ports, campaign_id), name=f"campaign-{campaign_id}")

    # --- who may talk ----------------------------------------------------------------------------

    def allows(self, user_id: int) -> bool:
        """Whether this NEXUS serves ``user_id`` (every user when no list of allowed users is set)."""
        return not self._allowed or user_id in self._allowed

    def _may_call(self, user: User) -> bool:
        return self.allows(user.id)

    async def refuse(self, chat: Chat, person: Person) -> None:
        """Tell a stranger this NEXUS is not theirs, without storing anything about them."""
        await chat.send(Reply(say(language_of(person.language), "not_allowed", user_id=person.user_id)))

    async def language(self, person: Person) -> str:
        """The language the user is spoken to in."""
        return (await self._user(person)).language

    # --- commands ---------------------------------------------------------------------------------

    @property
    def commands(self) -> Mapping[str, Command]:
        """Every command by name (without the slash)."""
        commands: dict[str, Command] = {name: getattr(self, name) for name in COMMANDS}
        return commands

    async def start(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        name = f", {person.name}" if person.name else ""
        lang = user.language
        welcome = say(lang, "welcome", typed=chat.typed, name=name)
        await chat.send(Reply(welcome, keys=(Key(plain(lang, "share_location"), True),)))

    async def help(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        await chat.send(Reply(say(user.language, "help", typed=chat.typed)))

    async def appointments(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        await chat.send(views.appointments_list(await upcoming_appointments(self._ports, user.id), user))

    async def connect_calendar(self, chat: Chat, person: Person) -> None:
        """Send the link that connects the user's Google Calendar (when this NEXUS is set up for it)."""
        user = await self._user(person)
        if self._calendar_link is None:
            await chat.send(Reply(say(user.language, "calendar_unavailable")))
            return
        await chat.send(Reply(say(user.language, "calendar_link", url=self._calendar_link(user.id))))

    async def disconnect_calendar(self, chat: Chat, person: Person) -> None:
        """Forget the user's connected calendar and give up NEXUS's access to it."""
        user = await self._user(person)
        if self._calendar_disconnect is not None:
            removed = await self._calendar_disconnect(user.id)
        else:
            async with self._ports.uow() as uow:
                removed = await uow.calendar_links.delete(user.id)
                await uow.commit()
        await chat.send(Reply(say(user.language, "calendar_disconnected" if removed else "calendar_not_connected")))

    async def delete_my_data(self, chat: Chat, person: Person) -> None:
        """Ask whether to delete everything about the user, saying which appointments stay booked."""
        await self._deletion.ask(chat, await self._user(person))

    async def settings(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        await chat.send(await self._settings_with_profile(user))

    async def _settings_with_profile(self, user: User, *, replace: bool = False) -> Reply:
        card = self._settings_card(user, replace=replace)
        profile, rows = await self._live.profile_card(user)
        return Reply(Html(card.text + profile), buttons=(*card.buttons, *rows), replace=replace)

    async def _profile(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        if await self._live.profile_tap(chat, user, tap):
            await chat.send(await self._settings_with_profile(user, replace=True))

    async def cancel(self, chat: Chat, person: Person, *, language: str | None = None) -> None:
        """End what is open (running searches, the request being written, a question) with one message."""
        user = await self._user(person)
        lang = language or user.language
        state = await self._state(user)
        async with self._ports.uow() as uow:
            running = await uow.campaigns.list_for_user(user.id, statuses=_CANCELLABLE)
        stopped = 0
        for campaign in running:
            try:
                await cancel_campaign(self._ports, user.id, campaign.id)
                stopped += 1
            except NotAllowed:
                continue  # it ended on its own meanwhile
        open_draft = state.draft is not None or state.step is not Step.IDLE
        if open_draft:
            await self._save(user, ChatState())
        if stopped > 1:
            await chat.send(Reply(say(lang, "cancelled_many", count=stopped)))
        elif stopped:
            await chat.send(Reply(say(lang, "cancelled")))
        else:
            await chat.send(Reply(say(lang, "dropped" if open_draft else "nothing_to_cancel")))

    # --- messages ---------------------------------------------------------------------------------

    async def text(self, chat: Chat, person: Person, text: str) -> None:
        """End what is open, answer the question that was asked, or take the text as a new request."""
        text = text.strip()
        if not text:
            return
        is_cancel, language = cancel_word(text)
        if is_cancel:
            await self.cancel(chat, person, language=language)
            return
        user = await self._user(person)
        if await self._live.text(chat, user, text):  # an answer to a call's question, an instruction
            return
        state = await self._state(user)
        if state.step is Step.TIMEZONE and await self._timezone_from_text(chat, user, text):
            return
        reading = await self._intake.read(chat, user, text, against=state)
        if state.step is Step.RESCHEDULE and not reading.is_new_request:
            await self._rounds.new_times(chat, user, text, reading.parsed.windows if reading.names_time else [])
            return
        # A whole request is never taken for a home or a time zone (nor looked up as a place).
        if state.step is Step.HOME and not reading.is_new_request:
            if not await self._home_from_text(chat, user, text):
                await chat.send(Reply(say(user.language, "unknown_place", typed=chat.typed, place=text)))
            return
        if state.step is Step.TIMEZONE and not reading.is_new_request:
            await chat.send(Reply(say(user.language, "unknown_timezone", zone=text)))
            return
        await self._intake.text(chat, user, state, text, reading)

    async def location(self, chat: Chat, person: Person, lat: float, lng: float) -> None:
        """A shared location answers "where?", or else becomes the user's home."""
        user = await self._user(person)
        state = await self._state(user)
        if await self._intake.location(chat, user, state, lat, lng):
            return
        try:
            home = GeoPoint(lat, lng, plain(user.language, "your_home"))
        except InvalidRequest:
            return
        await self._save_home(chat, user, home)

    async def tap(self, chat: Chat, person: Person, data: str) -> str | None:
        """Act on a tapped button; returns a short notice for the tap itself (``None``: nothing to say)."""
        user = await self._user(person)
        tap = buttons.parse(data)
        handler = self._taps.get(tap.action) if tap is not None else None
        if tap is None or handler is None:
            return plain(user.language, "expired")
        state = await self._state(user)
        try:
            await handler(chat, user, state, tap)
        except (Expired, NotFound, NotAllowed):
            log.info("user %s tapped an expired or foreign button (%s)", user.id, tap.action)
            return plain(user.language, "expired")
        return None

    # --- a running search and its shortlist -------------------------------------------------------

    async def _stop(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await cancel_campaign(self._ports, user.id, tap.arg())
        await chat.send(Reply(say(user.language, "cancelled")))

    async def _owned_campaign(self, user: User, campaign_id: str) -> Campaign:
        async with self._ports.uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
        if campaign is None or campaign.user_id != user.id:
            raise Expired
        return campaign

    async def _owned_offer(self, user: User, offer_id: str) -> tuple[Offer, Campaign]:
        async with self._ports.uow() as uow:
            offer = await uow.offers.get(offer_id)
            campaign = await uow.campaigns.get(offer.campaign_id) if offer else None
        if offer is None or campaign is None or campaign.user_id != user.id:
            raise Expired
        return offer, campaign

    async def _book(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        offer, campaign = await self._owned_offer(user, tap.arg())
        if campaign.status is not CampaignStatus.RANKING or offer.status is not OfferStatus.OFFERED:
            raise Expired
        lang = campaign.language
        # Said before dialling: a quick confirmation call may report the booking before choose_offer returns.
        slot = views.short_slot_of(offer, campaign)
        await chat.send(Reply(say(lang, "booking", provider=offer.provider_name, slot=slot)))
        try:
            await choose_offer(self._ports, user.id, offer.id)
        except SlotConflict:
            await chat.send(Reply(say(lang, "conflict")))

    async def _transcript(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        offer, campaign = await self._owned_offer(user, tap.arg())
        async with self._ports.uow() as uow:
            call = await uow.calls.get(offer.call_task_id)
        if call is None:
            raise Expired
        await chat.send(views.transcript(call.provider.name, call.transcript, campaign.language))

    async def _again(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await self._intake.search_again(chat, user, await self._owned_campaign(user, tap.arg()))

    async def _dismiss(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        campaign = await self._owned_campaign(user, tap.arg())
        if campaign.status is CampaignStatus.RANKING:
            await cancel_campaign(self._ports, user.id, campaign.id)  # releases the time it still holds
        await chat.send(Reply(say(campaign.language, "dismissed"), replace=True))

    async def _cancel_appointment(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        async with self._ports.uow() as uow:
            appointment: Appointment | None = await uow.appointments.get(tap.arg())
        if appointment is None or appointment.user_id != user.id:
            raise Expired
        lang = user.language
        slot = views.appointment_slot(appointment, user.timezone, lang)
        await chat.send(Reply(say(lang, "cancelling", provider=appointment.provider.name, slot=slot), replace=True))
        await cancel_appointment(self._ports, user.id, appointment.id)

    # --- settings ---------------------------------------------------------------------------------

    def _settings_card(self, user: User, *, replace: bool = False) -> Reply:
        lang = user.language
        preset = views.preset_of(user.weights)
        text = say(
            lang,
            "settings",
            weights=views.weights_in_words(user.weights, lang),
            preset=plain(lang, f"preset_{preset}" if preset else "preset_custom"),
            radius=f"{user.radius_km:g}",
            home=(user.home.label or plain(lang, "your_home")) if user.home else plain(lang, "not_set"),
            timezone=user.timezone,
            reminders=plain(lang, "on" if user.reminders_enabled else "off"),
        )
        presets = [
            Button(plain(lang, f"preset_{name}"), buttons.setting(buttons.PRESET, name)) for name in WEIGHT_PRESETS
        ]
        radii = tuple(
            Button(plain(lang, "radius_choice").format(km=km), buttons.setting(buttons.SET_RADIUS, str(km)))
            for km in (5, 10, 20)
        )
        toggle = (
            Button(plain(lang, "reminders_off"), buttons.setting(buttons.REMINDERS, "off"))
            if user.reminders_enabled
            else Button(plain(lang, "reminders_on"), buttons.setting(buttons.REMINDERS, "on"))
        )
        rows = (
            tuple(presets[:2]),
            tuple(presets[2:]),
            radii,
            (toggle,),
            (
                Button(plain(lang, "set_home"), buttons.setting(buttons.HOME)),
                Button(plain(lang, "set_timezone"), buttons.setting(buttons.TIMEZONE)),
            ),
        )
        return Reply(text, buttons=rows, replace=replace)

    async def _preset(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        weights = WEIGHT_PRESETS.get(tap.arg())
        if weights is None:
            raise Expired
        user.weights = weights
        await self._save_settings(chat, user)

    async def _set_radius(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        if tap.arg() not in {"5", "10", "20"}:
            raise Expired
        user.radius_km = float(tap.arg())
        await self._save_settings(chat, user)

    async def _reminders(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        if tap.arg() not in {"on", "off"}:
            raise Expired
        user.reminders_enabled = tap.arg() == "on"
        await self._save_settings(chat, user)

    async def _save_settings(self, chat: Chat, user: User) -> None:
        await save_user(self._ports, user)
        await chat.send(await self._settings_with_profile(user, replace=True))

    async def _ask_home(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        state.step = Step.HOME
        await self._save(user, state)
        lang = user.language
        await chat.send(
            Reply(say(lang, "ask_home", typed=chat.typed), keys=(Key(plain(lang, "share_location"), True),))
        )

    async def _ask_timezone(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        state.step = Step.TIMEZONE
        await self._save(user, state)
        await chat.send(Reply(say(user.language, "ask_timezone")))

    async def _home_from_text(self, chat: Chat, user: User, text: str) -> bool:
        """Save the named place as home; ``False`` when it is not a place (maybe a new request)."""
        place = await self._geocoder.geocode(text, near=user.home)
        if place is None:
            return False
        await self._save_home(chat, user, place)
        return True

    async def _save_home(self, chat: Chat, user: User, place: GeoPoint) -> None:
        user.home = place
        await save_user(self._ports, user)
        await self._save(user, ChatState())
        await chat.send(Reply(say(user.language, "home_saved", place=place.label or plain(user.language, "your_home"))))

    async def _timezone_from_text(self, chat: Chat, user: User, text: str) -> bool:
        """Save the named time zone; ``False`` when it is not one (maybe a new request)."""
        zone = text.strip().replace(" ", "_")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return False
        user.timezone = zone
        await save_user(self._ports, user)
        await self._save(user, ChatState())
        await chat.send(Reply(say(user.language, "timezone_saved", zone=zone)))
        return True

    # --- state ------------------------------------------------------------------------------------

    async def _user(self, person: Person) -> User:
        return await get_or_create_user(
            self._ports,
            person.user_id,
            display_name=person.name,
            language=language_of(person.language),
            **{"timezone": self._timezone, **self._new_user},
        )

    async def _state(self, user: User) -> ChatState:
        return await load_state(self._ports.uow, user.id)

    async def _save(self, user: User, state: ChatState) -> None:
        await save_state(self._ports.uow, user.id, state, self._ports.clock.now())
