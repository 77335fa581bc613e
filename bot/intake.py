"""Intake: putting a request together, from the first words to the tap on **Call providers**.

The states (``Step``) and how a text moves between them:

```
            complete new request (service and time named)  ─────────────►  fresh draft
 any step   answer (part of a request, or a place/home key) ─────────────►  merged into the draft
            nothing understood                              ─────────────►  the same question again
 fresh/merged draft ─► SERVICE? ─► CHOICE (one per doubt)? ─► TIME? ─► PLACE? ─► IDLE with the summary card
```

The summary card also asks, one at a time, the questions the service's expert agent needs to answer the
receptionist (``domain/services.json``: a dentist's check-up or pain and insurance, a garage's car and fault, a
salon's cut or colour and hair length): a button per choice and a skip button below the card's buttons, or a
typed answer. A question the request already answers (``Zahnarzt, Kontrolle``) is not asked; calling without
answering is allowed (the agent then says the client will tell them). An answered kind of visit sets the
appointment's length.

A complete new request always starts afresh, whatever question is open, so a request never inherits the
time or place of an older one. An answer is merged: it may name the place and change the time at once.
Words that say nothing the parser understands lose nothing: the open question (or card) stays valid.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from dataclasses import replace as copy_with

from bot import buttons, views
from bot.buttons import Expired, Tap
from bot.replies import Button, Chat, Key, Reply
from bot.session import ChatState, Draft, Step
from bot.texts import Html, escape, language_of, matches_label, plain, say, service_noun
from domain.errors import InvalidRequest, MinutesExhausted, QuotaExceeded
from domain.expertise import (
    ExpertQuestion,
    answer_from_words,
    answers_from_profile,
    answers_in_text,
    open_questions,
    planned_minutes,
)
from domain.intent import MISSING_WINDOWS, ParsedRequest
from domain.models import Campaign, GeoPoint, User
from domain.ports import Geocoder, IntentParser
from domain.services.campaigns import StartCampaign, create_campaign, save_user
from domain.services.context import Ports
from domain.services.costs import CostEstimate, estimate_search
from domain.services.user_loop import get_profile

RADIUS_CHOICES_KM = (2, 5, 10, 20, 50)
_FIELDS = {"s": Step.SERVICE, "t": Step.TIME, "p": Step.PLACE}

SaveState = Callable[[User, ChatState], Awaitable[None]]
TapHandler = Callable[[Chat, User, ChatState, Tap], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Reading:
    """What the parser read in one message, and whether it named a time (the parser reads "no time" as a
    default week, so that is told apart by comparing with its reading of nothing)."""

    parsed: ParsedRequest
    names_time: bool

    @property
    def is_new_request(self) -> bool:
        """Service and time named: a request of its own, never an answer to merge into an older one."""
        return self.parsed.service is not None and self.names_time


class Intake:
    """The request being written: its questions, the answers to them and the taps on its summary card."""

    def __init__(
        self,
        ports: Ports,
        intent: IntentParser,
        geocoder: Geocoder,
        save: SaveState,
        *,
        may_call: Callable[[User], bool],
        calls_per_campaign: int,
        start_campaign: Callable[[str], Awaitable[None]],
    ) -> None:
        """``start_campaign(campaign_id)`` runs a campaign once it is stored (the conversation decides how)."""
        self._start_campaign = start_campaign
        self._ports = ports
        self._intent = intent
        self._geocoder = geocoder
        self._save = save
        self._may_call = may_call
        self._calls_per_campaign = calls_per_campaign
        self.taps: dict[str, TapHandler] = {
            buttons.GO: self._go,
            buttons.CHANGE: self._change,
            buttons.DROP: self._drop,
            buttons.EDIT: self._edit,
            buttons.RADIUS: self._radius,
            buttons.PICK: self._pick,
            buttons.EXPERT_ANSWER: self._expert_answer,
        }

    # --- texts ------------------------------------------------------------------------------------

    async def read(self, chat: Chat, user: User, text: str, *, against: ChatState) -> Reading:
        """Parse ``text``; whether it names a time only matters (and costs a second reading) with a draft open."""
        await chat.typing()
        now = self._ports.clock.now()
        parsed = await self._intent.parse(text, now, user.timezone)
        names_time = MISSING_WINDOWS not in parsed.missing
        if names_time and not parsed.doubts and (against.draft is not None or against.step is not Step.IDLE):
            try:
                nothing = await self._intent.parse("", now, user.timezone)
            except InvalidRequest:
                return Reading(parsed, names_time)  # a parser that refuses empty words reads no default either
            names_time = parsed.windows != nothing.windows
        return Reading(parsed, names_time)

    async def text(self, chat: Chat, user: User, state: ChatState, text: str, reading: Reading) -> None:
        """A new request, or an answer to the open question (or to the summary card)."""
        if state.draft is None or reading.is_new_request:
            await self.new_request(chat, user, text, reading.parsed)
        else:
            await self._answer(chat, user, state, state.draft, text, reading)

    async def new_request(self, chat: Chat, user: User, text: str, parsed: ParsedRequest) -> None:
        if not self._may_call(user):
            await chat.send(Reply(say(user.language, "not_allowed", user_id=user.id)))
            return
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
            doubts=list(parsed.doubts),
            answers=answers_in_text(parsed.service, text),
        )
        unknown_place = None
        if parsed.location:
            draft.place = await self._geocoder.geocode(parsed.location, near=user.home)
            unknown_place = None if draft.place else parsed.location
        await self.ask_next(chat, user, ChatState(draft=draft), unknown_place=unknown_place)

    async def _answer(
        self, chat: Chat, user: User, state: ChatState, draft: Draft, text: str, reading: Reading
    ) -> None:
        """Merge what the words say into the draft; ask the same question again when they say nothing."""
        lang = draft.language
        parsed = reading.parsed
        understood = False
        if parsed.service:
            draft.service, draft.duration_minutes, understood = parsed.service, parsed.duration_minutes, True
            draft.answers = answers_in_text(parsed.service, text)
        if reading.names_time or (state.step is Step.TIME and MISSING_WINDOWS not in parsed.missing):
            draft.windows, draft.doubts, understood = list(parsed.windows), list(parsed.doubts), True
        unknown_place: str | None = None
        if parsed.location:
            place = await self._geocoder.geocode(parsed.location, near=user.home)
            draft.place, unknown_place, understood = place, None if place else parsed.location, True
        elif state.step is Step.PLACE and not understood:
            if matches_label(text, "use_home"):
                if user.home is None:
                    await chat.send(self.place_question(chat, user, say(lang, "no_home", typed=chat.typed)))
                    return
                draft.place, understood = user.home, True
            else:
                draft.place = await self._geocoder.geocode(text, near=user.home)
                if draft.place is None:
                    await chat.send(
                        self.place_question(chat, user, say(lang, "unknown_place", typed=chat.typed, place=text))
                    )
                    return
                understood = True
        if not understood and state.step is Step.IDLE:
            # words that name a choice answer the card's open question (any words answer one without choices)
            question = next(iter(open_questions(draft.service, draft.answers)), None)
            answer = answer_from_words(question, text) if question is not None else ""
            if question is not None and (not question.choices or question.choice(answer) is not None):
                self._take_answer(draft, question.key, answer)
                understood = True
        if not understood:
            await self._not_understood(chat, user, state, draft)
            return
        await self.ask_next(chat, user, state, unknown_place=unknown_place)

    async def _not_understood(self, chat: Chat, user: User, state: ChatState, draft: Draft) -> None:
        """Say so, and leave the question (or the card, whose buttons stay valid) as it was."""
        lang = draft.language
        match state.step:
            case Step.SERVICE:
                await chat.send(Reply(say(lang, "unknown_service")))
            case Step.TIME:
                await chat.send(Reply(say(lang, "unclear_time")))
            case Step.CHOICE if draft.doubts:
                await chat.send(self._doubt_question(draft, say(lang, "pick_one", typed=chat.typed)))
            case _:
                await chat.send(Reply(say(lang, "not_understood", typed=chat.typed)))

    async def location(self, chat: Chat, user: User, state: ChatState, lat: float, lng: float) -> bool:
        """Use a shared location as the place to search, when that is the open question."""
        if state.step is not Step.PLACE or state.draft is None:
            return False
        try:
            state.draft.place = GeoPoint(lat, lng, plain(user.language, "your_location"))
        except InvalidRequest:
            return True  # not a place on earth: nothing to use, nothing to say
        await self.ask_next(chat, user, state)
        return True

    async def search_again(self, chat: Chat, user: User, campaign: Campaign) -> None:
        """A new draft with an old search's request, keeping only its times still to come."""
        now = self._ports.clock.now()
        draft = Draft(
            text=campaign.request_text,
            language=campaign.language,
            duration_minutes=campaign.duration_minutes,
            radius_km=campaign.radius_km,
            service=campaign.service,
            windows=[w for w in campaign.windows if w.end > now],
            place=campaign.location,
            answers=dict(campaign.answers),
        )
        await self.ask_next(chat, user, ChatState(draft=draft))

    # --- questions --------------------------------------------------------------------------------

    async def ask_next(
        self, chat: Chat, user: User, state: ChatState, *, unknown_place: str | None = None, replace: bool = False
    ) -> None:
        """Ask for the first missing piece (or the first doubt), or show the summary card when all is known."""
        draft = state.draft
        assert draft is not None
        lang = draft.language
        reply: Reply
        if not draft.service:
            state.step, reply = Step.SERVICE, Reply(say(lang, "ask_service"))
        elif draft.doubts:
            state.step, reply = Step.CHOICE, self._doubt_question(draft)
        elif not draft.windows:
            state.step, reply = Step.TIME, Reply(say(lang, "ask_time"))
        elif draft.place is None:
            note = say(lang, "unknown_place", typed=chat.typed, place=unknown_place) if unknown_place else None
            state.step, reply = Step.PLACE, self.place_question(chat, user, note)
        else:
            state.step = Step.IDLE
            draft.renew()
            cost = estimate_search(self._ports.policy, self._calls_per_campaign)
            profile = await get_profile(self._ports, user.id)
            shared = views.shared_facts(profile, lang)
            for key, value in answers_from_profile(draft.service, profile.shared() if profile else {}).items():
                draft.answers.setdefault(key, value)
            questions = open_questions(draft.service, draft.answers)
            if questions:
                reply = self._card_asking(draft, user, questions[0], replace=replace, cost=cost, shared=shared)
            else:
                reply = views.summary_card(draft, user, replace=replace, cost=cost, shared=shared)
        await self._save(user, state)
        await chat.send(reply)

    def _doubt_question(self, draft: Draft, note: Html | None = None) -> Reply:
        doubt = draft.doubts[0]
        text = escape(doubt.question) if note is None else Html(f"{note}\n{escape(doubt.question)}")
        rows = tuple(
            (Button(option.label, buttons.draft(buttons.PICK, draft.id, str(index))),)
            for index, option in enumerate(doubt.options)
        )
        return Reply(text, buttons=rows)

    @staticmethod
    def _card_asking(
        draft: Draft, user: User, question: ExpertQuestion, *, replace: bool, cost: CostEstimate, shared: Html
    ) -> Reply:
        """The summary card asking one question of the expert: a button per choice and one to skip it below the
        card's own buttons; a typed answer counts too."""
        lang = draft.language
        assert draft.service is not None
        choices = [
            Button(c.label[lang], buttons.draft(buttons.EXPERT_ANSWER, draft.id, question.key, c.value))
            for c in question.choices
        ]
        skip = Button(plain(lang, "expert_skip"), buttons.draft(buttons.EXPERT_ANSWER, draft.id, question.key, ""))
        rows = (*(tuple(choices[i : i + 3]) for i in range(0, len(choices), 3)), (skip,))
        asked = say(
            lang,
            "expert_question",
            service=service_noun(draft.service, lang),
            question=question.user[lang],
            write="" if question.choices else plain(lang, "expert_type_it"),
        )
        card = views.summary_card(draft, user, replace=replace, cost=cost, shared=shared, asking=Html(f"\n\n{asked}"))
        return copy_with(card, buttons=(*card.buttons, *rows))

    @staticmethod
    def _take_answer(draft: Draft, key: str, answer: str) -> None:
        """Keep the answer; an answered kind of visit sets the appointment's length (unless the user named one)."""
        draft.answers[key] = answer
        draft.duration_minutes = planned_minutes(draft.service, draft.answers, draft.duration_minutes)

    async def _expert_answer(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        """Take the tapped answer (or skip) to the open expert question, then ask on."""
        draft = self._draft(state, tap)
        questions = open_questions(draft.service, draft.answers)
        if state.step is not Step.IDLE or not questions or questions[0].key != tap.arg(1):
            raise Expired
        question, value = questions[0], tap.arg(2)
        if value and question.choice(value) is None:
            raise Expired
        self._take_answer(draft, question.key, value)
        draft.renew()  # the question's other buttons expire
        await self.ask_next(chat, user, state, replace=True)

    def place_question(self, chat: Chat, user: User, note: Html | None = None) -> Reply:
        lang = user.language
        keys = [Key(plain(lang, "share_location"), shares_location=True)]
        if user.home is not None:
            keys.append(Key(plain(lang, "use_home")))
            home = user.home.label or plain(lang, "your_home")
            question = say(lang, "ask_place_home", typed=chat.typed, home=home)
        else:
            question = say(lang, "ask_place", typed=chat.typed)
        return Reply(note or question, keys=tuple(keys))

    # --- taps -------------------------------------------------------------------------------------

    @staticmethod
    def _draft(state: ChatState, tap: Tap) -> Draft:
        if state.draft is None or state.draft.id != tap.arg(0):
            raise Expired
        return state.draft

    async def _pick(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        """Take the tapped reading of the first doubt: its windows are what will be searched."""
        draft = self._draft(state, tap)
        if state.step is not Step.CHOICE or not draft.doubts:
            raise Expired
        options = draft.doubts[0].options
        if not tap.arg(1).isdigit() or int(tap.arg(1)) >= len(options):
            raise Expired
        draft.windows = list(options[int(tap.arg(1))].windows)
        draft.doubts = draft.doubts[1:]
        draft.renew()  # the question's other buttons expire
        await self.ask_next(chat, user, state, replace=True)

    async def _go(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        if not draft.complete or state.step != Step.IDLE:
            raise Expired
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
            answers={key: answer for key, answer in draft.answers.items() if answer},
        )
        try:
            campaign = await create_campaign(self._ports, command)
        except MinutesExhausted as exc:
            await chat.send(Reply(escape(str(exc))))  # already in the user's language
            return
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
        await self._start_campaign(campaign.id)

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
            raise Expired
        state.step = step
        await self._save(user, state)
        if step == Step.SERVICE:
            await chat.send(Reply(say(lang, "ask_service")))
        elif step == Step.TIME:
            await chat.send(Reply(say(lang, "ask_time")))
        else:
            await chat.send(self.place_question(chat, user))

    async def _radius(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        if tap.arg(1) not in {str(km) for km in RADIUS_CHOICES_KM}:
            raise Expired
        draft.radius_km = float(tap.arg(1))
        await self.ask_next(chat, user, state, replace=True)

    async def _drop(self, chat: Chat, user: User, state: ChatState, tap: Tap) -> None:
        draft = self._draft(state, tap)
        await self._save(user, ChatState())
        await chat.send(Reply(say(draft.language, "dropped"), replace=True))
