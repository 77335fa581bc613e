"""The conversation with one user, shared by the Telegram bot and the terminal chat.

Every method takes the ``Chat`` to answer in and the ``Person`` who wrote, reads the chat's state from the
database, calls the use cases and says what happened as ``Reply`` objects. Nothing here knows Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import buttons, views
from bot.background import BackgroundTasks
from bot.buttons import Tap
from bot.replies import Button, Chat, Key, Person, Reply
from bot.session import ChatState, Draft, Step, load_state, save_state
from bot.texts import Html, language_of, matches_label, plain, say
from domain.errors import InvalidRequest, NotAllowed, NotFound, QuotaExceeded, SlotConflict
from domain.intent import MISSING_WINDOWS
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
from domain.services.campaigns import (
    StartCampaign,
    cancel_campaign,
    create_campaign,
    get_or_create_user,
    run_campaign,
    save_user,
)
from domain.services.confirmation import choose_offer
from domain.services.context import Ports

log = logging.getLogger(__name__)

RADIUS_CHOICES_KM = (2, 5, 10, 20, 50)
_FIELDS = {"s": Step.SERVICE, "t": Step.TIME, "p": Step.PLACE}
# /cancel stops these; a search that is booking right now is left to finish.
_CANCELLABLE = (
    CampaignStatus.CREATED,
    CampaignStatus.PROVIDER_LOOKUP,
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
    CampaignStatus.RANKING,
)


class _Expired(Exception):
    """The tapped button no longer stands for anything this user may act on."""


TapHandler = Callable[[Chat, User, ChatState, Tap], Awaitable[None]]


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
    ) -> None:
        self._ports = ports
        self.background = BackgroundTasks()  # campaigns run here, never inside an update handler
        self._calendar_link = calendar_link
        self._intent = intent
        self._geocoder = geocoder
        self._allowed = frozenset(allowed_users)
        self._timezone = default_timezone
        self._calls_per_campaign = calls_per_campaign
        self._taps: dict[str, TapHandler] = {
            buttons.GO: self._go,
            buttons.CHANGE: self._change,
            buttons.DROP: self._drop,
            buttons.EDIT: self._edit,
            buttons.RADIUS: self._radius,
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
        }

    # --- commands ---------------------------------------------------------------------------------

    async def start(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        name = f", {person.name}" if person.name else ""
        lang = user.language
        await chat.send(Reply(say(lang, "welcome", name=name), keys=(Key(plain(lang, "share_location"), True),)))

    async def help(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        await chat.send(Reply(say(user.language, "help")))

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
        """Forget the user's connected calendar."""
        user = await self._user(person)
        async with self._ports.uow() as uow:
            removed = await uow.calendar_links.delete(user.id)
            await uow.commit()
        await chat.send(Reply(say(user.language, "calendar_disconnected" if removed else "calendar_not_connected")))

    async def settings(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        await chat.send(self._settings_card(user))

    async def cancel(self, chat: Chat, person: Person) -> None:
        """Stop the user's running searches, or drop the request being written."""
        user = await self._user(person)
        state = await self._state(user)
        async with self._ports.uow() as uow:
            running = await uow.campaigns.list_for_user(user.id, statuses=_CANCELLABLE)
        for campaign in running:
            try:
                await cancel_campaign(self._ports, user.id, campaign.id)
            except NotAllowed:
                continue  # it ended on its own meanwhile
        if state.draft is not None or state.step is not Step.IDLE:
            await self._save(user, ChatState())
            if not running:
                await chat.send(Reply(say(user.language, "dropped")))
        elif not running:
            await chat.send(Reply(say(user.language, "nothing_to_cancel")))

    # --- messages ---------------------------------------------------------------------------------

    async def text(self, chat: Chat, person: Person, text: str) -> None:
        """Answer a question that was asked, or take the text as a new request."""
        text = text.strip()
        if not text:
            return
        user = await self._user(person)
        state = await self._state(user)
        if state.step == Step.HOME:
            await self._home_from_text(chat, user, text)
        elif state.step == Step.TIMEZONE:
            await self._timezone_from_text(chat, user, text)
        elif state.draft is not None and state.step in (Step.SERVICE, Step.TIME, Step.PLACE):
            await self._answer(chat, user, state, text)
        else:
            await self._new_request(chat, user, text)

    async def location(self, chat: Chat, person: Person, lat: float, lng: float) -> None:
        """A shared location answers "where?", or else becomes the user's home."""
        user = await self._user(person)
        state = await self._state(user)
        lang = user.language
        try:
            point = GeoPoint(lat, lng, plain(lang, "your_location"))
        except InvalidRequest:
            return
        if state.step == Step.PLACE and state.draft is not None:
            state.draft.place = point
            await self._ask_next(chat, user, state)
            return
        await self._save_home(chat, user, GeoPoint(lat, lng, plain(lang, "your_home")))

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
        except (_Expired, NotFound, NotAllowed):
            log.info("user %s tapped an expired or foreign button (%s)", user.id, tap.action)
            return plain(user.language, "expired")
        return None

    # --- intake -----------------------------------------------------------------------------------

    def _may_call(self, user: User) -> bool:
        return not self._allowed or user.id in self._allowed

    async def _new_request(self, chat: Chat, user: User, text: str) -> None:
        if not self._may_call(user):
            await chat.send(Reply(say(user.language, "not_allowed", user_id=user.id)))
            return
        await chat.typing()
        parsed = await self._intent.parse(text, self._ports.clock.now(), user.timezone)
        lang = language_of(parsed.language)
        if user.language != lang:
            user.language = lang
            await save_user(self._ports, user)
        draft = Draft(
            text=text,
            language=lang,
            duration_minutes=parsed.duration_minutes,
            radius_km=user.radius_km,
            service=parsed.service,
            windows=[] if MISSING_WINDOWS in parsed.missing else list(parsed.windows),
        )
        unknown_place = None
        if parsed.location:
            draft.place = await self._geocoder.geocode(parsed.location, near=user.home)
            unknown_place = None if draft.place else parsed.location
        await self._ask_next(chat, user, ChatState(draft=draft), unknown_place=unknown_place)

    async def _answer(self, chat: Chat, user: User, state: ChatState, text: str) -> None:
        draft = state.draft
        assert draft is not None
        lang = draft.language
        if state.step == Step.PLACE:
            place = await self._place_from_answer(user, text)
            if place is None:
                if matches_label(text, "use_home"):
                    await chat.send(self._place_question(user, say(lang, "no_home")))
                else:
                    await chat.send(self._place_question(user, say(lang, "unknown_place", place=text)))
                return
            draft.place = place
        else:
            await chat.typing()
            parsed = await self._intent.parse(text, self._ports.clock.now(), user.timezone)
            if state.step == Step.SERVICE:
                if not parsed.service:
                    await chat.send(Reply(say(lang, "unknown_service")))
                    return
                draft.service = parsed.service
                if parsed.location and draft.place is None:
                    draft.place = await self._geocoder.geocode(parsed.location, near=user.home)
            else:
                if MISSING_WINDOWS in parsed.missing:
                    await chat.send(Reply(say(lang, "unclear_time")))
                    return
                draft.windows = list(parsed.windows)
        await self._ask_next(chat, user, state)

    async def _place_from_answer(self, user: User, text: str) -> GeoPoint | None:
        if matches_label(text, "use_home"):
            return user.home
        place = await self._geocoder.geocode(text, near=user.home)
        if place is None:
            # "near Marienplatz please": the parser finds the place inside a sentence.
            parsed = await self._intent.parse(text, self._ports.clock.now(), user.timezone)
            if parsed.location and parsed.location != text:
                place = await self._geocoder.geocode(parsed.location, near=user.home)
        return place

    async def _ask_next(
        self, chat: Chat, user: User, state: ChatState, *, unknown_place: str | None = None, replace: bool = False
    ) -> None:
        """Ask for the first missing piece, or show the summary card when nothing is missing."""
        draft = state.draft
        assert draft is not None
        lang = draft.language
        reply: Reply
        if not draft.service:
            state.step, reply = Step.SERVICE, Reply(say(lang, "ask_service"))
        elif not draft.windows:
            state.step, reply = Step.TIME, Reply(say(lang, "ask_time"))
        elif draft.place is None:
            note = say(lang, "unknown_place", place=unknown_place) if unknown_place else None
            state.step, reply = Step.PLACE, self._place_question(user, note)
        else:
            state.step = Step.IDLE
            draft.renew()
            reply = views.summary_card(draft, user, replace=replace)
        await self._save(user, state)
        await chat.send(reply)

    def _place_question(self, user: User, note: Html | None = None) -> Reply:
        lang = user.language
        keys = [Key(plain(lang, "share_location"), shares_location=True)]
        if user.home is not None:
            keys.append(Key(plain(lang, "use_home")))
            question = say(lang, "ask_place_home", home=user.home.label or plain(lang, "your_home"))
        else:
            question = say(lang, "ask_place")
        return Reply(note or question, keys=tuple(keys))

    # --- the summary card -------------------------------------------------------------------------

    def _draft(self, state: ChatState, tap: Tap) -> Draft:
        if state.draft is None or state.draft.id != tap.arg(0):
            raise _Expired
        return state.draft

    async def _go(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        if not draft.complete or state.step != Step.IDLE:
            raise _Expired
        assert draft.service is not None and draft.place is not None
        lang = draft.language
        if not self._may_call(user):
            await chat.send(Reply(say(lang, "not_allowed", user_id=user.id)))
            return
        command = StartCampaign(
            user_id=user.id,
            service=draft.service,
            windows=draft.windows,
            location=draft.place,
            request_text=draft.text,
            language=lang,
            duration_minutes=draft.duration_minutes,
            radius_km=draft.radius_km,
            max_calls=self._calls_per_campaign,
            timezone=user.timezone,
        )
        try:
            campaign = await create_campaign(self._ports, command)
        except QuotaExceeded:
            await chat.send(Reply(say(lang, "quota", count=self._ports.policy.campaigns_per_hour)))
            return
        except InvalidRequest:
            draft.windows = []
            state.step = Step.TIME
            await self._save(user, state)
            await chat.send(Reply(say(lang, "times_past")))
            return
        await self._save(user, ChatState())
        await chat.send(Reply(say(lang, "calling", summary=views.summary_text(draft, user)), replace=True))
        self.background.start(run_campaign(self._ports, campaign.id), name=f"campaign-{campaign.id}")

    async def _change(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        lang = draft.language
        row = tuple(
            Button(plain(lang, label), buttons.draft(buttons.EDIT, draft.id, code))
            for label, code in (
                ("field_service", "s"),
                ("field_time", "t"),
                ("field_place", "p"),
                ("field_radius", "r"),
            )
        )
        await chat.send(Reply(say(lang, "what_to_change"), buttons=(row[:2], row[2:]), replace=True))

    async def _edit(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        lang = draft.language
        field = tap.arg(1)
        if field == "r":
            choices = tuple(
                Button(plain(lang, "radius_choice").format(km=km), buttons.draft(buttons.RADIUS, draft.id, str(km)))
                for km in RADIUS_CHOICES_KM
            )
            place = draft.place.label if draft.place and draft.place.label else plain(lang, "your_location")
            await chat.send(Reply(say(lang, "ask_radius", place=place), buttons=(choices,), replace=True))
            return
        step = _FIELDS.get(field)
        if step is None:
            raise _Expired
        state.step = step
        await self._save(user, state)
        if step == Step.SERVICE:
            await chat.send(Reply(say(lang, "ask_service")))
        elif step == Step.TIME:
            await chat.send(Reply(say(lang, "ask_time")))
        else:
            await chat.send(self._place_question(user))

    async def _radius(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        if tap.arg(1) not in {str(km) for km in RADIUS_CHOICES_KM}:
            raise _Expired
        draft.radius_km = float(tap.arg(1))
        await self._ask_next(chat, user, state, replace=True)

    async def _drop(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        await self._save(user, ChatState())
        await chat.send(Reply(say(draft.language, "dropped"), replace=True))

    # --- a running search and its shortlist -------------------------------------------------------

    async def _stop(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        await cancel_campaign(self._ports, user.id, tap.arg())

    async def _owned_campaign(self, user: User, campaign_id: str) -> Campaign:
        async with self._ports.uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
        if campaign is None or campaign.user_id != user.id:
            raise _Expired
        return campaign

    async def _owned_offer(self, user: User, offer_id: str) -> tuple[Offer, Campaign]:
        async with self._ports.uow() as uow:
            offer = await uow.offers.get(offer_id)
            campaign = await uow.campaigns.get(offer.campaign_id) if offer else None
        if offer is None or campaign is None or campaign.user_id != user.id:
            raise _Expired
        return offer, campaign

    async def _book(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        offer, campaign = await self._owned_offer(user, tap.arg())
        if campaign.status is not CampaignStatus.RANKING or offer.status is not OfferStatus.OFFERED:
            raise _Expired
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
            raise _Expired
        await chat.send(views.transcript(call.provider.name, call.transcript, campaign.language))

    async def _again(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        campaign = await self._owned_campaign(user, tap.arg())
        now = self._ports.clock.now()
        draft = Draft(
            text=campaign.request_text,
            language=campaign.language,
            duration_minutes=campaign.duration_minutes,
            radius_km=campaign.radius_km,
            service=campaign.service,
            windows=[w for w in campaign.windows if w.end > now],
            place=campaign.location,
        )
        await self._ask_next(chat, user, ChatState(draft=draft))

    async def _dismiss(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        campaign = await self._owned_campaign(user, tap.arg())
        if campaign.status is CampaignStatus.RANKING:
            await cancel_campaign(self._ports, user.id, campaign.id)  # releases the time it still holds
        await chat.send(Reply(say(campaign.language, "dismissed"), replace=True))

    async def _cancel_appointment(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        async with self._ports.uow() as uow:
            appointment: Appointment | None = await uow.appointments.get(tap.arg())
        if appointment is None or appointment.user_id != user.id:
            raise _Expired
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
            raise _Expired
        user.weights = weights
        await self._save_settings(chat, user)

    async def _set_radius(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        if tap.arg() not in {"5", "10", "20"}:
            raise _Expired
        user.radius_km = float(tap.arg())
        await self._save_settings(chat, user)

    async def _reminders(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        if tap.arg() not in {"on", "off"}:
            raise _Expired
        user.reminders_enabled = tap.arg() == "on"
        await self._save_settings(chat, user)

    async def _save_settings(self, chat: Chat, user: User) -> None:
        await save_user(self._ports, user)
        await chat.send(self._settings_card(user, replace=True))

    async def _ask_home(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        state.step = Step.HOME
        await self._save(user, state)
        lang = user.language
        await chat.send(Reply(say(lang, "ask_home"), keys=(Key(plain(lang, "share_location"), True),)))

    async def _ask_timezone(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        state.step = Step.TIMEZONE
        await self._save(user, state)
        await chat.send(Reply(say(user.language, "ask_timezone")))

    async def _home_from_text(self, chat: Chat, user: User, text: str) -> None:
        place = await self._geocoder.geocode(text, near=user.home)
        if place is None:
            await chat.send(Reply(say(user.language, "unknown_place", place=text)))
            return
        await self._save_home(chat, user, place)

    async def _save_home(self, chat: Chat, user: User, place: GeoPoint) -> None:
        user.home = place
        await save_user(self._ports, user)
        await self._save(user, ChatState())
        await chat.send(Reply(say(user.language, "home_saved", place=place.label or plain(user.language, "your_home"))))

    async def _timezone_from_text(self, chat: Chat, user: User, text: str) -> None:
        zone = text.strip().replace(" ", "_")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            await chat.send(Reply(say(user.language, "unknown_timezone", zone=text)))
            return
        user.timezone = zone
        await save_user(self._ports, user)
        await self._save(user, ChatState())
        await chat.send(Reply(say(user.language, "timezone_saved", zone=zone)))

    # --- state ------------------------------------------------------------------------------------

    async def _user(self, person: Person) -> User:
        return await get_or_create_user(
            self._ports,
            person.user_id,
            display_name=person.name,
            language=language_of(person.language),
            timezone=self._timezone,
        )

    async def _state(self, user: User) -> ChatState:
        return await load_state(self._ports.uow, user.id)

    async def _save(self, user: User, state: ChatState) -> None:
        await save_state(self._ports.uow, user.id, state, self._ports.clock.now())
