"""Domain things as replies: the summary card, the live view of the calls, the shortlist, bookings.

Shared by the conversation (answers) and the notifiers (pushes), so a shortlist reads the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import buttons, rounds
from bot.ics import appointment_ics, ics_filename
from bot.replies import Button, Document, Reply
from bot.session import Draft
from bot.texts import Html, escape, plain, say, service_name, service_noun, short_day, short_slot
from domain.expertise import catalogue
from domain.loop import UserProfile, UserQuestion
from domain.models import (
    WEIGHT_PRESETS,
    Appointment,
    CallOutcome,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    Offer,
    OfferGrounding,
    Turn,
    User,
    Weights,
)
from domain.notifications import (
    AppointmentCancelled,
    AppointmentReminder,
    Booked,
    CallTranscript,
    CampaignCancelled,
    CampaignFailed,
    CampaignProgress,
    ConfirmationRetrying,
    HandoverStarting,
    Notification,
    PassedOver,
    QuestionAsked,
    RoundNews,
    ShortlistReady,
    SlotGone,
)
from domain.services.costs import CostEstimate
from domain.services.provider_gate import SkipReason, read_skip_note
from domain.wording import time_in_words, window_in_words

_DISCOVERING = ("DIALING", "NEGOTIATING")


def weights_in_words(weights: Weights, language: str) -> Html:
    w = weights.normalised()
    return say(
        language,
        "weights",
        earliest=round(w.earliest * 100),
        rating=round(w.rating * 100),
        distance=round(w.distance * 100),
    )


def preset_of(weights: Weights) -> str | None:
    """The name of the preset ``weights`` equal, if any."""
    w = weights.normalised()
    for name, preset in WEIGHT_PRESETS.items():
        p = preset.normalised()
        if all(
            abs(a - b) < 1e-6
            for a, b in zip((w.earliest, w.rating, w.distance), (p.earliest, p.rating, p.distance), strict=True)
        ):
            return name
    return None


def summary_text(
    draft: Draft,
    user: User,
    cost: CostEstimate | None = None,
    shared: Html | None = None,
    asking: Html | None = None,
) -> Html:
    """The request as it will be searched; ``shared``: what the agent may tell receptionists about the user
    (``shared_facts``); ``asking``: a question of the service's expert, shown above the card's own question."""
    lang = draft.language
    assert draft.service is not None and draft.place is not None
    return say(
        lang,
        "summary",
        service=service_name(draft.service, lang),
        minutes=draft.duration_minutes,
        # Every window on a line of its own: the card shows exactly what will be searched.
        windows=Html("\n".join(f"🕑 {escape(window_in_words(w, user.timezone, lang))}" for w in draft.windows)),
        place=draft.place.label or plain(lang, "your_location"),
        radius=f"{draft.radius_km:g}",
        weights=weights_in_words(user.weights, lang),
        cost=Html(
            (f"\n💶 {escape(cost.in_words(lang))}" if cost is not None else "")
            + _answers_line(draft)
            + (shared or "")
            + (asking or "")
        ),
    )


def _answers_line(draft: Draft) -> Html:
    """What the expert agent may tell the receptionist, as the user answered it (nothing without answers)."""
    expert = catalogue().expert(draft.service)
    said = []
    for question in expert.questions if expert is not None else ():
        answer = draft.answers.get(question.key, "")
        chosen = question.choice(answer)
        if answer:
            said.append(chosen.label[draft.language] if chosen is not None else answer)
    if not said:
        return Html("")
    return Html("\n" + say(draft.language, "expert_answers", answers=" · ".join(said)))


def summary_card(
    draft: Draft,
    user: User,
    *,
    replace: bool = False,
    cost: CostEstimate | None = None,
    shared: Html | None = None,
    asking: Html | None = None,
) -> Reply:
    lang = draft.language
    return Reply(
        summary_text(draft, user, cost, shared, asking),
        buttons=(
            (Button(plain(lang, "call"), buttons.draft(buttons.GO, draft.id)),),
            (
                Button(plain(lang, "change"), buttons.draft(buttons.CHANGE, draft.id)),
                Button(plain(lang, "cancel"), buttons.draft(buttons.DROP, draft.id)),
            ),
        ),
        replace=replace,
    )


# --- the live view ---------------------------------------------------------------------------------


def _call_state(call: CallTask, offers: Sequence[Offer], campaign: Campaign, retry: bool = False) -> str:
    lang = campaign.language
    own = sorted((o for o in offers if o.call_task_id == call.id), key=lambda o: o.start)
    if own:
        return say(
            lang,
            "call_offer",
            time=f"{short_day(own[0].start, campaign.timezone, lang)} {time_in_words(own[0].start, campaign.timezone)}",
        )
    if call.outcome is CallOutcome.CLOSED:
        return plain(lang, "call_closed")
    if call.outcome is CallOutcome.OPTED_OUT:
        return plain(lang, "call_opted_out")
    if (skipped := _skipped(call)) is not None:
        reason, until = skipped
        if until is not None:
            return _until_in_words(reason, until, campaign)
        return plain(lang, "call_too_soon" if reason is SkipReason.TOO_SOON else "call_over_budget")
    if call.status is CallStatus.QUEUED and call.not_before is not None:
        return say(
            lang, "call_retry" if retry else "call_opens", time=time_in_words(call.not_before, campaign.timezone)
        )
    if call.status is CallStatus.COMPLETED:
        key = {
            CallOutcome.NO_AVAILABILITY: "call_no_time",
            CallOutcome.DECLINED: "call_declined",
            CallOutcome.VOICEMAIL: "call_voicemail",
            CallOutcome.HANDED_OVER: "call_handed_over",
        }.get(call.outcome or CallOutcome.OTHER, "call_done")
        return plain(lang, key)
    key = {
        CallStatus.QUEUED: "call_queued",
        CallStatus.DIALING: "call_dialing",
        CallStatus.IN_PROGRESS: "call_talking",
        CallStatus.NO_ANSWER: "call_no_answer",
        CallStatus.BUSY: "call_busy",
        CallStatus.FAILED: "call_failed",
        CallStatus.CANCELLED: "call_cancelled",
    }[call.status]
    return plain(lang, key)


def _until_in_words(reason: str, until: datetime, campaign: Campaign) -> str:
    """``known: nothing free before Mon 14 Dec`` or ``asked to be called after 20:00``."""
    lang = campaign.language
    if reason == SkipReason.CALL_BACK_LATER:
        return plain(lang, "call_call_back").format(time=time_in_words(until, campaign.timezone))
    return plain(lang, "call_known_full").format(day=short_day(until, campaign.timezone, lang))


def _skipped(call: CallTask) -> tuple[SkipReason, datetime | None] | None:
    return read_skip_note(call.failure_reason) if call.status is CallStatus.CANCELLED else None


def _opening_later(calls: Sequence[CallTask], retried: set[str], campaign: Campaign) -> list[str]:
    """``3 providers open at 08:00: I call them then.``, one line per opening time."""
    waiting: dict[str, list[CallTask]] = {}
    for call in calls:
        if call.status is CallStatus.QUEUED and call.not_before is not None and call.provider.id not in retried:
            waiting.setdefault(time_in_words(call.not_before, campaign.timezone), []).append(call)
    lang = campaign.language
    return [
        say(lang, "live_opens", count=len(group), time=at)
        if len(group) > 1
        else say(lang, "live_opens_one", name=group[0].provider.name, time=at)
        for at, group in sorted(waiting.items())
    ]


def live_view_is_final(progress: CampaignProgress) -> bool:
    """Whether this is how the calls ended (then it is shown at once, never held back by the throttle)."""
    calls = [c for c in progress.calls if c.purpose is CallPurpose.DISCOVER]
    return progress.campaign.status not in _DISCOVERING or all(c.status.is_ended for c in calls)


def live_view(progress: CampaignProgress, *, stopped: bool = False) -> Reply:
    """One line per provider with its state, the counts, and ``Stop calls`` while calls still run."""
    campaign = progress.campaign
    lang = campaign.language
    discovery = [c for c in progress.calls if c.purpose is CallPurpose.DISCOVER]
    # one line per provider: a provider called again (after its voicemail) shows its latest call
    latest = {c.provider.id: c for c in discovery}
    calls = list(latest.values())
    retried = {c.provider.id for c in discovery if c.outcome is CallOutcome.VOICEMAIL}
    passed_over = [c for c in calls if _skipped(c) is not None]  # not called; counted apart
    final = stopped or live_view_is_final(progress)
    service = service_noun(campaign.service, lang)
    if stopped:
        title = say(lang, "live_stopped", service=service)
    elif final:
        title = say(lang, "live_done", service=service)
    else:
        title = say(lang, "live_title", count=len(calls) - len(passed_over), service=service)
    lines = [
        f"• {escape(c.provider.name)} – {escape(_call_state(c, progress.offers, campaign, c.provider.id in retried))}"
        for c in calls
    ]
    later = [] if final else _opening_later(calls, retried, campaign)
    if len(passed_over) > 1:
        later.append(say(lang, "live_skipped", count=len(passed_over)))
    elif passed_over:
        later.append(say(lang, "live_skipped_one", name=passed_over[0].provider.name))
    counts = say(
        lang,
        "live_counts",
        offers=len({o.call_task_id for o in progress.offers}),
        talking=sum(1 for c in calls if c.status is CallStatus.IN_PROGRESS),
        ended=sum(1 for c in calls if c.status.is_ended) - len(passed_over),
        total=len(calls) - len(passed_over),
    )
    text = Html("\n".join([title, *lines, "", *later, counts]))
    if final:
        return Reply(text)
    stop = (Button(plain(lang, "stop_calls"), buttons.campaign(buttons.STOP, campaign.id)),)
    return Reply(text, buttons=(*listen_buttons(progress), stop))


# --- shortlist, booking, appointments ----------------------------------------------------------------


def passed_over_line(campaign: Campaign, passed_over: Sequence[PassedOver]) -> Html | None:
    """``Not called: Zahnarzt Ruhe (did not want automated calls), …`` for the shortlist, or ``None``."""
    if not passed_over:
        return None
    lang = campaign.language
    said = []
    for skipped in passed_over:
        if skipped.until is not None:
            why = _until_in_words(skipped.reason, skipped.until, campaign)
        else:
            key = {"opted_out": "call_opted_out", "too_soon": "call_too_soon"}.get(skipped.reason, "call_over_budget")
            why = plain(lang, key)
        said.append(f"{escape(skipped.provider_name)} ({escape(why)})")
    return say(lang, "shortlist_passed_over", names=Html(", ".join(said)))


def shortlist(
    campaign: Campaign, offers: Sequence[Offer], intro: Html | None = None, passed_over: Sequence[PassedOver] = ()
) -> Reply:
    lang = campaign.language
    lines: list[str] = [intro or say(lang, "shortlist", service=service_noun(campaign.service, lang)), ""]
    rows: list[tuple[Button, ...]] = []
    for rank, offer in enumerate(offers, 1):
        rating = f"★ {offer.rating:.1f}" if offer.rating is not None else plain(lang, "no_rating")
        lines.append(
            say(
                lang,
                "offer_line",
                rank=rank,
                provider=offer.provider_name,
                slot=short_slot(offer.start, offer.end, campaign.timezone, lang),
                rating=rating,
                distance=f"{offer.distance_km:.1f}",
                score=f"{offer.score:.2f}",
            )
        )
        if offer.grounding is OfferGrounding.UNVERIFIED:
            lines.append(say(lang, "offer_unverified"))
        rows.append(
            (
                Button(plain(lang, "book").format(rank=rank), buttons.offer(buttons.BOOK, offer.id)),
                Button(plain(lang, "transcript").format(rank=rank), buttons.offer(buttons.TRANSCRIPT, offer.id)),
            )
        )
    if (line := passed_over_line(campaign, passed_over)) is not None:
        lines += ["", line]
    rows.append(
        (
            Button(plain(lang, "search_again"), buttons.campaign(buttons.AGAIN, campaign.id)),
            Button(plain(lang, "dismiss"), buttons.campaign(buttons.DISMISS, campaign.id)),
        )
    )
    rows.append(rounds.keep_looking_row(campaign))
    return Reply(Html("\n".join(lines)), buttons=tuple(rows))


def _address(appointment: Appointment) -> Html:
    return Html(f", {escape(appointment.provider.address)}") if appointment.provider.address else Html("")


def appointment_slot(appointment: Appointment, timezone: str, language: str) -> str:
    return short_slot(appointment.start, appointment.end, timezone, language)


def booked(campaign: Campaign, appointment: Appointment) -> Html:
    lang = campaign.language
    return say(
        lang,
        "booked",
        provider=appointment.provider.name,
        slot=appointment_slot(appointment, campaign.timezone, lang),
        address=_address(appointment),
    )


def appointments_list(appointments: Sequence[Appointment], user: User) -> Reply:
    lang = user.language
    if not appointments:
        return Reply(say(lang, "no_appointments"))
    lines = [say(lang, "appointments")]
    rows: list[tuple[Button, ...]] = []
    for appointment in appointments:
        lines.append(
            say(
                lang,
                "appointment_line",
                provider=appointment.provider.name,
                slot=appointment_slot(appointment, user.timezone, lang),
                address=_address(appointment),
            )
        )
        label = plain(lang, "cancel_appointment").format(
            provider=appointment.provider.name, day=short_day(appointment.start, user.timezone, lang)
        )
        rows.append((Button(label[:60], buttons.appointment(buttons.CANCEL_APPOINTMENT, appointment.id)),))
        rows.append((rounds.reschedule_button(appointment, user),))
    return Reply(Html("\n".join(lines)), buttons=tuple(rows))


def reminder(appointment: Appointment, lead: timedelta, user: User) -> Html:
    lang = user.language
    minutes = round(lead.total_seconds() / 60)
    if minutes == 60:
        when = say(lang, "in_one_hour")
    elif minutes % 60 == 0:
        when = say(lang, "in_hours", hours=minutes // 60)
    else:
        when = say(lang, "in_minutes", minutes=minutes)
    return say(
        lang,
        "reminder",
        provider=appointment.provider.name,
        when=when,
        slot=appointment_slot(appointment, user.timezone, lang),
        address=_address(appointment),
    )


def transcript(provider: str, turns: Sequence[Turn], language: str) -> Reply:
    if not turns:
        return Reply(say(language, "transcript_empty"))
    lines: list[str] = [say(language, "transcript_title", provider=provider)]
    for turn in turns:
        who = plain(language, "speaker_agent" if turn.speaker == "agent" else "speaker_provider")
        lines.append(f"<b>{escape(who)}:</b> {escape(turn.text)}")
    text = "\n".join(lines)
    # Telegram allows 4096 characters; the start of a long call says enough.
    return Reply(Html(text if len(text) <= 4000 else text[:3990].rsplit("\n", 1)[0] + "\n…"))


def short_slot_of(offer: Offer, campaign: Campaign) -> str:
    return short_slot(offer.start, offer.end, campaign.timezone, campaign.language)


def notification_reply(notification: Notification, user: User, now: datetime) -> Reply | None:
    """What to tell the user about ``notification`` (the live view of ``CampaignProgress`` is the notifier's)."""
    match notification:
        case ShortlistReady(campaign=campaign, shortlist=offers, passed_over=skipped):
            return shortlist(campaign, offers, passed_over=skipped)
        case CampaignFailed(campaign=campaign):
            reason = campaign.failure_reason or ""
            return Reply(
                say(campaign.language, "failed", reason=reason), buttons=rounds.after_failure_buttons(campaign)
            )
        case CampaignCancelled():
            return None  # only the user cancels a search, and the conversation that did it has said so
        case Booked(campaign=campaign, appointment=appointment):
            title = f"{service_name(campaign.service, campaign.language)}: {appointment.provider.name}"
            filename = ics_filename(appointment, campaign.timezone)
            document = Document(filename, appointment_ics(appointment, now, title), "text/calendar")
            more = rounds.after_booking_buttons(campaign, appointment)
            return Reply(booked(campaign, appointment), document=document, buttons=more)
        case SlotGone(campaign=campaign, offer=offer, shortlist=offers):
            lang, slot = campaign.language, short_slot_of(offer, campaign)
            if offers:
                return shortlist(campaign, offers, say(lang, "slot_gone_rest", provider=offer.provider_name, slot=slot))
            return Reply(say(lang, "slot_gone", provider=offer.provider_name, slot=slot))
        case ConfirmationRetrying(campaign=campaign, offer=offer, retry_at=retry_at):
            lang, slot = campaign.language, short_slot_of(offer, campaign)
            time = time_in_words(retry_at, campaign.timezone)
            return Reply(say(lang, "confirm_retry", provider=offer.provider_name, slot=slot, time=time))
        case AppointmentCancelled(appointment=appointment):
            slot = appointment_slot(appointment, user.timezone, user.language)
            return Reply(say(user.language, "appointment_cancelled", provider=appointment.provider.name, slot=slot))
        case AppointmentReminder(appointment=appointment, lead=lead):
            return Reply(reminder(appointment, lead, user))
        case QuestionAsked(question=question, language=language):
            return question_view(question, language)
        case HandoverStarting(provider_name=provider, about=about, language=language):
            return Reply(say(language, "handover", provider=provider, about=about))
        case CallTranscript():
            return listen_view(notification)
        case RoundNews():
            return rounds.news_reply(notification, user, now)
    return None


# --- the user in the loop ----------------------------------------------------------------------------

LISTEN_TURNS = 12  # the "Listen" view shows the latest turns; Telegram allows 4096 characters


def question_view(question: UserQuestion, language: str) -> Reply:
    """A receptionist's question, with its choices as buttons (a typed answer works too)."""
    why = say(language, "question_why", why=question.why) if question.why else Html("")
    text = say(language, "question", provider=question.provider_name, question=question.question, why=why)
    rows = tuple(
        (Button(choice[:60], buttons.answer(question.id, index)),) for index, choice in enumerate(question.choices)
    )
    return Reply(text, buttons=rows)


def listen_view(view: CallTranscript) -> Reply:
    """One running call as it goes, with "Stop this call" and "Tell this call" while it runs."""
    call, lang = view.call, view.campaign.language
    state = _call_state(call, [], view.campaign)
    lines: list[str] = [say(lang, "listen_title", provider=call.provider.name, state=state)]
    turns = view.turns[-LISTEN_TURNS:]
    if len(view.turns) > len(turns):
        lines.append(say(lang, "listen_more", count=len(view.turns) - len(turns)))
    for turn in turns:
        who = plain(lang, "speaker_agent" if turn.speaker == "agent" else "speaker_provider")
        lines.append(f"<b>{escape(who)}:</b> {escape(turn.text)}")
    if not view.turns:
        lines.append(say(lang, "listen_empty"))
    text = "\n".join(lines)
    if len(text) > 4000:
        text = text[:3990].rsplit("\n", 1)[0] + "\n…"
    if call.status.is_ended:
        return Reply(Html(text))
    rows = (
        (
            Button(plain(lang, "stop_call"), buttons.call(buttons.STOP_CALL, call.id)),
            Button(plain(lang, "tell_call"), buttons.call(buttons.INSTRUCT_CALL, call.id)),
        ),
    )
    return Reply(Html(text), buttons=rows)


def listen_buttons(progress: CampaignProgress) -> tuple[tuple[Button, ...], ...]:
    """The live view's extra rows while calls run: one "Listen" per talking call, "Tell the calls"."""
    campaign, lang = progress.campaign, progress.campaign.language
    talking = [
        c
        for c in progress.calls
        if c.purpose is CallPurpose.DISCOVER and c.status in (CallStatus.DIALING, CallStatus.IN_PROGRESS)
    ]
    listen = [
        Button(plain(lang, "listen").format(provider=c.provider.name)[:40], buttons.call(buttons.LISTEN, c.id))
        for c in talking[:8]
    ]
    rows = [tuple(listen[i : i + 2]) for i in range(0, len(listen), 2)]
    rows.append((Button(plain(lang, "tell_calls"), buttons.campaign(buttons.INSTRUCT, campaign.id)),))
    return tuple(rows)


def shared_facts(profile: UserProfile | None, language: str) -> Html:
    """The summary card's line on what the agent may tell a receptionist (and that nothing else is told)."""
    facts = profile.shared() if profile is not None else {}
    if not facts:
        return say(language, "shared_nothing")
    labels = {"name": "👤", "phone": "📱", "insurance": "🩺", "new_patient": "🗂"}
    prefixes = {"insurance": "insurance_", "new_patient": "patient_"}

    def word(topic: str, value: str) -> str:
        return plain(language, prefixes[topic] + value) if topic in prefixes else value

    listed = ", ".join(f"{labels.get(topic, '•')} {word(topic, value)}" for topic, value in facts.items())
    return say(language, "shared", facts=listed)


def profile_text(profile: UserProfile, language: str) -> Html:
    """The settings card's part on the profile."""
    unset = plain(language, "not_set")
    return say(
        language,
        "profile",
        name=profile.name or unset,
        phone=profile.phone or unset,
        insurance=plain(language, f"insurance_{profile.insurance}") if profile.insurance else unset,
        patient=plain(language, f"patient_{profile.patient}") if profile.patient else unset,
        handover=plain(language, "on" if profile.handover_consent else "off"),
    )
