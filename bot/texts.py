"""Every sentence the bot says, in English and German, in one place.

Templates are HTML. ``say`` escapes every value it fills in unless it is ``Html`` (a fragment we built
ourselves from escaped parts), so user and provider text can never inject markup.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.wording import service_in_words

LANGUAGES = ("en", "de")


class Html(str):
    """Text that is already safe HTML; ``say`` inserts it as it is."""

    __slots__ = ()


def escape(text: object) -> Html:
    return Html(html.escape(str(text), quote=False))


def language_of(code: str | None) -> str:
    """``"de"`` for German (``de``, ``de-AT``…), else ``"en"``."""
    return "de" if (code or "").lower().split("-")[0] == "de" else "en"


_EN: dict[str, str] = {
    "welcome": (
        "Hello{name}! I am <b>NEXUS</b>. Tell me what appointment you need, and I phone up to 15 providers "
        "at once, ask for free times that fit you, and book the one you pick.\n\n"
        "Try for example:\n"
        "• <i>I need a dentist next Tuesday afternoon near Alexanderplatz</i>\n"
        "• <i>Friseur morgen nach 15 Uhr in Mitte</i>\n\n"
        "Tap <b>Share my location</b> below to save where you live, so I can search near you. "
        "/settings changes how I choose, /appointments lists your bookings, /help explains the rest."
    ),
    "calendar_link": 'Open <a href="{url}">this link</a> to connect your Google Calendar. It works for 15 minutes.',
    "calendar_unavailable": "Calendar sync is not set up on this NEXUS.",
    "calendar_disconnected": "Your calendar is disconnected. I no longer read or write it.",
    "calendar_not_connected": "No calendar is connected.",
    "help": (
        "Write what you need in plain words: the kind of provider, when, and where. I ask for anything missing, "
        "show you a summary, and call providers when you tap <b>Call providers</b>.\n\n"
        "/appointments – your upcoming appointments\n"
        "/settings – how I rank offers, search radius, home, time zone, reminders\n"
        "/cancel – stop a running search or drop the request you are writing\n"
        "/start – the welcome message again\n"
        "/delete_my_data – delete everything I keep about you"
    ),
    "share_location": "📍 Share my location",
    "use_home": "🏠 Use my home location",
    "not_allowed": (
        "Sorry, this NEXUS only places calls for the people it was set up for. Ask its owner to add your "
        "Telegram id ({user_id})."
    ),
    "not_allowed_short": "This NEXUS only works for the people it was set up for.",
    "ask_service": "Which kind of provider should I call? For example a dentist, a hairdresser or a mechanic.",
    "unknown_service": (
        "I do not know that kind of provider yet. I can call for example a dentist, doctor, hairdresser, barber, "
        "mechanic, physiotherapist, veterinarian or optician."
    ),
    "ask_time": "When would suit you? For example <i>tomorrow afternoon</i> or <i>Monday or Wednesday morning</i>.",
    "unclear_time": "I could not work out that time. Try for example <i>next Tuesday after 3pm</i>.",
    "ask_place": "Where should I search? Name a district, square or station, or share your location.",
    "ask_place_home": (
        "Where should I search? Name a district, square or station, share your location, or use your home ({home})."
    ),
    "unknown_place": (
        "I could not find <b>{place}</b>. Try a district, a square or a station (for example "
        "<i>Alexanderplatz</i> or <i>Marienplatz</i>), or share your location."
    ),
    "no_home": "You have not saved a home location yet. Share your location or name a place.",
    "summary": (
        "<b>{service}</b> ({minutes} minutes)\n{windows}\n📍 {place} (within {radius} km)\n⚖️ {weights}{cost}\n\n"
        "Shall I call providers for you?"
    ),
    "not_understood": (
        "I did not understand that, so nothing has changed. Tap a button above, or write a whole new request "
        "such as <i>dentist tomorrow afternoon in Mitte</i>."
    ),
    "pick_one": "Please tap one of these:",
    "no_such_choice": "There is no choice {number}. Type one of the numbers below:",
    "weights": "soonest {earliest}% · rating {rating}% · distance {distance}%",
    "call": "📞 Call providers",
    "change": "✏️ Change",
    "cancel": "Cancel",
    "what_to_change": "What should I change?",
    "field_service": "Provider",
    "field_time": "Time",
    "field_place": "Place",
    "field_radius": "Radius",
    "ask_radius": "How far may the provider be from {place}?",
    "radius_choice": "{km} km",
    "calling": "{summary}\n\n📞 Calling providers now. I keep you posted here.",
    "dropped": "Okay, I dropped that request.",
    "quota": (
        "You have started {count} searches in the last hour, the most I run per hour. Please try again a little later."
    ),
    "times_past": "Every time you gave is already in the past. When else would suit you?",
    "expired": "This button has expired.",
    "nothing_to_cancel": "There is nothing to cancel right now.",
    "live_title": "📞 <b>Calling {count} providers</b> for a {service}",
    "live_done": "📞 <b>Calls finished</b> for a {service}",
    "live_stopped": "📞 <b>Calls stopped</b> for a {service}",
    "live_counts": "{offers} offers · {talking} talking · {ended} of {total} calls ended",
    "stop_calls": "⏹ Stop calls",
    "call_queued": "waiting",
    "call_dialing": "ringing",
    "call_talking": "talking",
    "call_offer": "offer {time}",
    "call_no_answer": "no answer",
    "call_busy": "line busy",
    "call_failed": "call failed",
    "call_cancelled": "stopped",
    "call_no_time": "no time free",
    "call_declined": "declined",
    "call_voicemail": "voicemail",
    "call_done": "done",
    "call_closed": "closed until after the search",
    "call_opens": "opens at {time}",
    "call_retry": "voicemail, calling again at {time}",
    "live_opens": "{count} providers open at {time}: I call them then.",
    "live_opens_one": "{name} opens at {time}: I call then.",
    "shortlist": "Here are the best times I found for a <b>{service}</b>:",
    "offer_line": "{rank}. <b>{provider}</b> – {slot}\n    {rating} · {distance} km · score {score}",
    "no_rating": "no rating",
    "book": "Book {rank}",
    "transcript": "Transcript {rank}",
    "search_again": "🔁 Search again",
    "dismiss": "Dismiss",
    "dismissed": "Dismissed. Write to me whenever you need another appointment.",
    "booking": "📞 Calling <b>{provider}</b> to book {slot}…",
    "conflict": "You already have an appointment at that time, so I did not book it.",
    "transcript_title": "<b>Call with {provider}</b>",
    "transcript_empty": "There is no transcript of that call.",
    "speaker_agent": "NEXUS",
    "speaker_provider": "Receptionist",
    "failed": "😕 I could not find an appointment. {reason}",
    "cancelled": "⏹ This search is closed; no calls are running for it any more.",
    "cancelled_many": "⏹ Your {count} searches are closed; no calls are running for them any more.",
    "booked": "✅ <b>Booked:</b> {provider}, {slot}{address}\nThe calendar file is attached.",
    "slot_gone": "😕 {provider} could no longer offer {slot}.",
    "slot_gone_rest": "😕 {provider} could no longer offer {slot}. These offers are still open:",
    "confirm_retry": "📞 I could not get through to {provider} to book {slot}. I will try again at {time}.",
    "appointments": "<b>Your upcoming appointments</b>",
    "appointment_line": "• <b>{provider}</b>, {slot}{address}",
    "no_appointments": "You have no upcoming appointments.",
    "cancel_appointment": "Cancel {provider}, {day}",
    "cancelling": "📞 Calling <b>{provider}</b> to cancel {slot}. I tell you when it is done.",
    "appointment_cancelled": "🗑 <b>Cancelled:</b> {provider}, {slot}.",
    "reminder": "⏰ <b>Reminder:</b> {provider} {when}, {slot}{address}",
    "in_hours": "in {hours} hours",
    "in_one_hour": "in one hour",
    "in_minutes": "in {minutes} minutes",
    "settings": (
        "<b>Your settings</b>\n⚖️ {weights} ({preset})\n📏 search radius {radius} km\n🏠 home: {home}\n"
        "🕑 time zone: {timezone}\n⏰ reminders: {reminders}\n\nTap to change:"
    ),
    "preset_balanced": "Balanced",
    "preset_soonest": "Soonest",
    "preset_best_rated": "Best rated",
    "preset_closest": "Closest",
    "preset_custom": "custom",
    "not_set": "not set",
    "on": "on",
    "off": "off",
    "reminders_on": "⏰ Reminders on",
    "reminders_off": "⏰ Reminders off",
    "set_home": "🏠 Set home",
    "set_timezone": "🕑 Time zone",
    "ask_home": "Share your location, or name a place to use as your home.",
    "home_saved": "🏠 Saved <b>{place}</b> as your home.",
    "ask_timezone": "Which time zone are you in? For example <i>Europe/Berlin</i> or <i>America/New_York</i>.",
    "unknown_timezone": "I do not know the time zone <b>{zone}</b>. Try for example <i>Europe/Berlin</i>.",
    "timezone_saved": "🕑 Your time zone is now <b>{zone}</b>.",
    "saved": "Saved.",
    "apology": "Sorry, something went wrong on my side. Please try again in a moment.",
    "your_location": "your location",
    "your_home": "your home",
    # --- the user in the loop: questions from calls, listening, instructions, handover, profile ---
    "question": "❓ <b>{provider}</b> asks: {question}{why}\n\nTap an answer or write it.",
    "question_why": "\n<i>({why})</i>",
    "answer_passed": "✅ Passed on to <b>{provider}</b>: {answer}",
    "answer_late": "✅ Noted: {answer}. The call had to go on without it; I use it for the next calls.",
    "answer_already": "This was already answered: {answer}",
    "handover": "📞 Your phone rings in a moment: <b>{provider}</b> wants to talk to you about {about}.",
    "listen": "👂 {provider}",
    "listen_title": "👂 <b>Call with {provider}</b> – {state}",
    "listen_empty": "<i>Nothing said yet.</i>",
    "listen_more": "<i>… {count} earlier turns</i>",
    "stop_call": "⏹ Stop this call",
    "tell_calls": "✍️ Tell the calls",
    "tell_call": "✍️ Tell this call",
    "ask_instruction_all": "What should I tell the calls? For example <i>also ask about Saturday morning</i>.",
    "ask_instruction_one": "What should I tell the call with <b>{provider}</b>? For example <i>only Dr. Weber</i>.",
    "instruction_sent_all": "✍️ Told the running calls, and the calls still to come: <i>{text}</i>",
    "instruction_sent_one": "✍️ Told the call with <b>{provider}</b>: <i>{text}</i>",
    "instruction_windows": "\n🕑 Also searching {windows}.",
    "call_stopped": "⏹ The call with <b>{provider}</b> is stopped; the other calls go on.",
    "calls_over": "The calls of this search are over.",
    "call_handed_over": "handed over to you",
    "profile": (
        "\n\n<b>What the agent may tell a receptionist</b>\n👤 name: {name}\n📱 phone for call-backs: {phone}\n"
        "🩺 insurance: {insurance}\n🗂 patient: {patient}\n📞 put calls through to you: {handover}"
    ),
    "insurance_public": "public",
    "insurance_private": "private",
    "patient_new": "new",
    "patient_existing": "existing",
    "set_name": "👤 Name",
    "set_phone": "📱 Phone",
    "toggle_insurance": "🩺 Insurance",
    "toggle_patient": "🗂 New/existing",
    "handover_on": "📞 Put calls through",
    "handover_off": "📞 Don't put calls through",
    "ask_name": "Under which name should the agent book? Write it, or <i>-</i> to clear it.",
    "ask_phone": "Which phone number may the agent give for call-backs (and put calls through to)? For example "
    "<i>+49 151 12345678</i>, or <i>-</i> to clear it.",
    "bad_phone": "<b>{phone}</b> is not a phone number I can use. Write it with the country code, like "
    "<i>+49 151 12345678</i>.",
    "shared": "\n🤝 The agent may share: {facts}. Nothing else.",
    "shared_nothing": "\n🤝 The agent shares nothing about you; it asks you when a receptionist wants to know.",
    "offer_unverified": "    ⚠️ unverified: the receptionist never named this time in the call; check before booking",
    "expert_question": "The {service} will likely ask this, so I can answer it:\n<b>{question}</b>{write}",
    "expert_type_it": "\nWrite the answer.",
    "expert_skip": "Skip",
    "expert_answers": "🗒 For the receptionist: {answers}",
    "delete_data_ask": (
        "This deletes everything I keep about you: your settings and home, your searches with their calls, "
        "transcripts and offers, my list of your appointments and their reminders, and the connection to your "
        "calendar. It cannot be undone."
    ),
    "delete_data_booked": (
        "These appointments <b>stay booked</b> at the practices; deleting your data does not cancel them:"
    ),
    "delete_data_booked_line": "• <b>{provider}</b>, {slot} – {phone}",
    "delete_data_how_to_cancel": (
        "To cancel one, tap it in /appointments before you delete your data, or call the practice yourself later."
    ),
    "delete_data_button": "🗑 Delete my data",
    "keep_data_button": "Keep my data",
    "data_deleted": "Done: I deleted everything I kept about you. If you write to me again, I start afresh.",
    "data_kept": "Nothing was deleted.",
    "delete_data_running": (
        "A search of yours is still running (or a call that cancels an appointment), so I deleted nothing. Stop "
        "it with /cancel or wait until it is done, then send /delete_my_data again."
    ),
    "call_opted_out": "did not want automated calls",
    "call_over_budget": "called often enough today, not called",
    "call_too_soon": "called a moment ago, not called",
    "call_known_full": "known: nothing free before {day}",
    "live_skipped": "{count} not called; I called the next ones in the ranking instead.",
    "live_skipped_one": "{name} not called; I called the next one in the ranking instead.",
    "shortlist_passed_over": "<i>Not called: {names}</i>",
    "call_call_back": "asked to be called after {time}",
}

_DE: dict[str, str] = {
    "welcome": (
        "Hallo{name}! Ich bin <b>NEXUS</b>. Schreib mir, welchen Termin du brauchst: Ich rufe bis zu 15 Anbieter "
        "gleichzeitig an, frage nach freien Zeiten, die dir passen, und buche den, den du auswählst.\n\n"
        "Zum Beispiel:\n"
        "• <i>Zahnarzt nächsten Dienstag nachmittags am Alexanderplatz</i>\n"
        "• <i>I need a hairdresser tomorrow after 3pm in Mitte</i>\n\n"
        "Tippe unten auf <b>Standort teilen</b>, um dein Zuhause zu speichern. /settings ändert, wie ich "
        "auswähle, /appointments zeigt deine Termine, /help erklärt den Rest."
    ),
    "calendar_link": (
        'Öffne <a href="{url}">diesen Link</a>, um deinen Google Kalender zu verbinden. Er gilt 15 Minuten.'
    ),
    "calendar_unavailable": "Die Kalender-Verbindung ist bei diesem NEXUS nicht eingerichtet.",
    "calendar_disconnected": "Dein Kalender ist getrennt. Ich lese und schreibe ihn nicht mehr.",
    "calendar_not_connected": "Es ist kein Kalender verbunden.",
    "help": (
        "Schreib in eigenen Worten, was du brauchst: welchen Anbieter, wann und wo. Ich frage nach, was fehlt, "
        "zeige dir eine Zusammenfassung und rufe an, sobald du auf <b>Anbieter anrufen</b> tippst.\n\n"
        "/appointments – deine kommenden Termine\n"
        "/settings – Gewichtung, Suchradius, Zuhause, Zeitzone, Erinnerungen\n"
        "/cancel – laufende Suche stoppen oder Anfrage verwerfen\n"
        "/start – die Begrüßung noch einmal\n"
        "/delete_my_data – alles löschen, was ich über dich gespeichert habe"
    ),
    "share_location": "📍 Standort teilen",
    "use_home": "🏠 Mein Zuhause verwenden",
    "not_allowed": (
        "Dieses NEXUS ruft leider nur für die Personen an, für die es eingerichtet wurde. Bitte den Betreiber, "
        "deine Telegram-ID ({user_id}) hinzuzufügen."
    ),
    "not_allowed_short": "Dieses NEXUS arbeitet nur für die Personen, für die es eingerichtet wurde.",
    "ask_service": "Welchen Anbieter soll ich anrufen? Zum Beispiel Zahnarzt, Friseur oder Autowerkstatt.",
    "unknown_service": (
        "Diese Art von Anbieter kenne ich noch nicht. Ich kann zum Beispiel Zahnarzt, Arzt, Friseur, Barbier, "
        "Autowerkstatt, Physiotherapie, Tierarzt oder Optiker anrufen."
    ),
    "ask_time": "Wann passt es dir? Zum Beispiel <i>morgen nachmittag</i> oder <i>Montag oder Mittwoch vormittag</i>.",
    "unclear_time": (
        "Diese Zeitangabe habe ich nicht verstanden. Versuch es etwa mit <i>nächsten Dienstag nach 15 Uhr</i>."
    ),
    "ask_place": "Wo soll ich suchen? Nenne einen Bezirk, Platz oder Bahnhof oder teile deinen Standort.",
    "ask_place_home": (
        "Wo soll ich suchen? Nenne einen Bezirk, Platz oder Bahnhof, teile deinen Standort oder nimm dein "
        "Zuhause ({home})."
    ),
    "unknown_place": (
        "<b>{place}</b> habe ich nicht gefunden. Versuch einen Bezirk, Platz oder Bahnhof (zum Beispiel "
        "<i>Alexanderplatz</i> oder <i>Marienplatz</i>) oder teile deinen Standort."
    ),
    "no_home": "Du hast noch kein Zuhause gespeichert. Teile deinen Standort oder nenne einen Ort.",
    "summary": (
        "<b>{service}</b> ({minutes} Minuten)\n{windows}\n📍 {place} (im Umkreis von {radius} km)\n"
        "⚖️ {weights}{cost}\n\n"
        "Soll ich Anbieter für dich anrufen?"
    ),
    "not_understood": (
        "Das habe ich nicht verstanden, es bleibt alles, wie es war. Tippe oben auf einen Knopf oder schreib eine "
        "ganz neue Anfrage, etwa <i>Zahnarzt morgen nachmittag in Mitte</i>."
    ),
    "pick_one": "Bitte tippe auf eine dieser Möglichkeiten:",
    "no_such_choice": "Eine Auswahl {number} gibt es nicht. Tippe eine der Nummern unten:",
    "weights": "früh {earliest} % · Bewertung {rating} % · Entfernung {distance} %",
    "call": "📞 Anbieter anrufen",
    "change": "✏️ Ändern",
    "cancel": "Abbrechen",
    "what_to_change": "Was soll ich ändern?",
    "field_service": "Anbieter",
    "field_time": "Zeit",
    "field_place": "Ort",
    "field_radius": "Umkreis",
    "ask_radius": "Wie weit darf der Anbieter von {place} entfernt sein?",
    "radius_choice": "{km} km",
    "calling": "{summary}\n\n📞 Ich rufe jetzt die Anbieter an und halte dich hier auf dem Laufenden.",
    "dropped": "Alles klar, die Anfrage ist verworfen.",
    "quota": (
        "Du hast in der letzten Stunde {count} Suchen gestartet, mehr mache ich pro Stunde nicht. "
        "Bitte versuch es etwas später noch einmal."
    ),
    "times_past": "Alle genannten Zeiten liegen schon in der Vergangenheit. Wann passt es dir sonst?",
    "expired": "Dieser Knopf ist abgelaufen.",
    "nothing_to_cancel": "Gerade gibt es nichts abzubrechen.",
    "live_title": "📞 <b>Ich rufe {count} Anbieter an</b> ({service})",
    "live_done": "📞 <b>Anrufe beendet</b> ({service})",
    "live_stopped": "📞 <b>Anrufe gestoppt</b> ({service})",
    "live_counts": "{offers} Angebote · {talking} im Gespräch · {ended} von {total} Anrufen beendet",
    "stop_calls": "⏹ Anrufe stoppen",
    "call_queued": "wartet",
    "call_dialing": "klingelt",
    "call_talking": "im Gespräch",
    "call_offer": "Angebot {time}",
    "call_no_answer": "nicht erreicht",
    "call_busy": "besetzt",
    "call_failed": "Anruf fehlgeschlagen",
    "call_cancelled": "gestoppt",
    "call_no_time": "kein Termin frei",
    "call_declined": "abgelehnt",
    "call_voicemail": "Mailbox",
    "call_done": "fertig",
    "call_closed": "geschlossen, bis die Suche vorbei ist",
    "call_opens": "öffnet um {time}",
    "call_retry": "Mailbox, neuer Versuch um {time}",
    "live_opens": "{count} Anbieter öffnen um {time}: Ich rufe sie dann an.",
    "live_opens_one": "{name} öffnet um {time}: Ich rufe dann an.",
    "shortlist": "Das sind die besten Termine, die ich gefunden habe (<b>{service}</b>):",
    "offer_line": "{rank}. <b>{provider}</b> – {slot}\n    {rating} · {distance} km · Punkte {score}",
    "no_rating": "keine Bewertung",
    "book": "Buchen {rank}",
    "transcript": "Gespräch {rank}",
    "search_again": "🔁 Neu suchen",
    "dismiss": "Verwerfen",
    "dismissed": "Verworfen. Schreib mir, wann immer du einen neuen Termin brauchst.",
    "booking": "📞 Ich rufe <b>{provider}</b> an, um {slot} zu buchen…",
    "conflict": "Zu dieser Zeit hast du schon einen Termin, deshalb habe ich nicht gebucht.",
    "transcript_title": "<b>Gespräch mit {provider}</b>",
    "transcript_empty": "Von diesem Anruf gibt es kein Gesprächsprotokoll.",
    "speaker_agent": "NEXUS",
    "speaker_provider": "Praxis",
    "failed": "😕 Ich konnte keinen Termin finden. {reason}",
    "cancelled": "⏹ Diese Suche ist beendet; für sie laufen keine Anrufe mehr.",
    "cancelled_many": "⏹ Deine {count} Suchen sind beendet; für sie laufen keine Anrufe mehr.",
    "booked": "✅ <b>Gebucht:</b> {provider}, {slot}{address}\nDie Kalenderdatei ist angehängt.",
    "slot_gone": "😕 {provider} konnte {slot} leider nicht mehr anbieten.",
    "slot_gone_rest": "😕 {provider} konnte {slot} leider nicht mehr anbieten. Diese Angebote sind noch offen:",
    "confirm_retry": (
        "📞 Ich habe {provider} nicht erreicht, um {slot} zu buchen. Ich versuche es um {time} Uhr noch einmal."
    ),
    "appointments": "<b>Deine kommenden Termine</b>",
    "appointment_line": "• <b>{provider}</b>, {slot}{address}",
    "no_appointments": "Du hast keine kommenden Termine.",
    "cancel_appointment": "{provider}, {day} absagen",
    "cancelling": "📞 Ich rufe <b>{provider}</b> an, um {slot} abzusagen, und melde mich, sobald es erledigt ist.",
    "appointment_cancelled": "🗑 <b>Abgesagt:</b> {provider}, {slot}.",
    "reminder": "⏰ <b>Erinnerung:</b> {provider} {when}, {slot}{address}",
    "in_hours": "in {hours} Stunden",
    "in_one_hour": "in einer Stunde",
    "in_minutes": "in {minutes} Minuten",
    "settings": (
        "<b>Deine Einstellungen</b>\n⚖️ {weights} ({preset})\n📏 Suchradius {radius} km\n🏠 Zuhause: {home}\n"
        "🕑 Zeitzone: {timezone}\n⏰ Erinnerungen: {reminders}\n\nZum Ändern tippen:"
    ),
    "preset_balanced": "Ausgewogen",
    "preset_soonest": "Früheste",
    "preset_best_rated": "Beste Bewertung",
    "preset_closest": "Nächste",
    "preset_custom": "eigene",
    "not_set": "nicht gesetzt",
    "on": "an",
    "off": "aus",
    "reminders_on": "⏰ Erinnerungen an",
    "reminders_off": "⏰ Erinnerungen aus",
    "set_home": "🏠 Zuhause festlegen",
    "set_timezone": "🕑 Zeitzone",
    "ask_home": "Teile deinen Standort oder nenne einen Ort, den ich als dein Zuhause speichere.",
    "home_saved": "🏠 <b>{place}</b> ist jetzt dein Zuhause.",
    "ask_timezone": "In welcher Zeitzone bist du? Zum Beispiel <i>Europe/Berlin</i> oder <i>America/New_York</i>.",
    "unknown_timezone": "Die Zeitzone <b>{zone}</b> kenne ich nicht. Versuch zum Beispiel <i>Europe/Berlin</i>.",
    "timezone_saved": "🕑 Deine Zeitzone ist jetzt <b>{zone}</b>.",
    "saved": "Gespeichert.",
    "apology": "Entschuldige, bei mir ist etwas schiefgegangen. Bitte versuch es gleich noch einmal.",
    "your_location": "dein Standort",
    "your_home": "dein Zuhause",
    # --- the user in the loop: questions from calls, listening, instructions, handover, profile ---
    "question": "❓ <b>{provider}</b> fragt: {question}{why}\n\nTippe eine Antwort oder schreib sie.",
    "question_why": "\n<i>({why})</i>",
    "answer_passed": "✅ An <b>{provider}</b> weitergegeben: {answer}",
    "answer_late": "✅ Notiert: {answer}. Der Anruf musste ohne weitergehen; ich nutze es für die nächsten Anrufe.",
    "answer_already": "Das ist schon beantwortet: {answer}",
    "handover": "📞 Gleich klingelt dein Telefon: <b>{provider}</b> möchte mit dir über {about} sprechen.",
    "listen": "👂 {provider}",
    "listen_title": "👂 <b>Gespräch mit {provider}</b> – {state}",
    "listen_empty": "<i>Noch nichts gesagt.</i>",
    "listen_more": "<i>… {count} frühere Wortwechsel</i>",
    "stop_call": "⏹ Diesen Anruf beenden",
    "tell_calls": "✍️ Den Anrufen sagen",
    "tell_call": "✍️ Diesem Anruf sagen",
    "ask_instruction_all": "Was soll ich den Anrufen sagen? Zum Beispiel <i>frag auch nach Samstagvormittag</i>.",
    "ask_instruction_one": "Was soll ich dem Anruf bei <b>{provider}</b> sagen? Zum Beispiel <i>nur Dr. Weber</i>.",
    "instruction_sent_all": "✍️ Den laufenden und den noch kommenden Anrufen gesagt: <i>{text}</i>",
    "instruction_sent_one": "✍️ Dem Anruf bei <b>{provider}</b> gesagt: <i>{text}</i>",
    "instruction_windows": "\n🕑 Ich suche auch {windows}.",
    "call_stopped": "⏹ Der Anruf bei <b>{provider}</b> ist beendet; die anderen Anrufe laufen weiter.",
    "calls_over": "Die Anrufe dieser Suche sind vorbei.",
    "call_handed_over": "an dich übergeben",
    "profile": (
        "\n\n<b>Was der Agent an der Anmeldung sagen darf</b>\n👤 Name: {name}\n📱 Rückrufnummer: {phone}\n"
        "🩺 Versicherung: {insurance}\n🗂 Patient: {patient}\n📞 Anrufe zu dir durchstellen: {handover}"
    ),
    "insurance_public": "gesetzlich",
    "insurance_private": "privat",
    "patient_new": "neu",
    "patient_existing": "bestehend",
    "set_name": "👤 Name",
    "set_phone": "📱 Telefon",
    "toggle_insurance": "🩺 Versicherung",
    "toggle_patient": "🗂 Neu/bestehend",
    "handover_on": "📞 Anrufe durchstellen",
    "handover_off": "📞 Nicht durchstellen",
    "ask_name": "Auf welchen Namen soll der Agent buchen? Schreib ihn, oder <i>-</i> zum Löschen.",
    "ask_phone": "Welche Telefonnummer darf der Agent für Rückrufe nennen (und Anrufe dorthin durchstellen)? Zum "
    "Beispiel <i>+49 151 12345678</i>, oder <i>-</i> zum Löschen.",
    "bad_phone": "<b>{phone}</b> ist keine Telefonnummer, die ich nutzen kann. Schreib sie mit Ländervorwahl, etwa "
    "<i>+49 151 12345678</i>.",
    "shared": "\n🤝 Der Agent darf weitergeben: {facts}. Sonst nichts.",
    "shared_nothing": (
        "\n🤝 Der Agent gibt nichts über dich weiter; er fragt dich, wenn die Anmeldung etwas wissen will."
    ),
    "offer_unverified": "    ⚠️ nicht belegt: die Praxis hat diese Zeit im Gespräch nie genannt; vor dem Buchen prüfen",
    "expert_question": (
        "Danach wird man beim {service} wohl fragen, damit ich antworten kann:\n<b>{question}</b>{write}"
    ),
    "expert_type_it": "\nSchreib mir die Antwort.",
    "expert_skip": "Überspringen",
    "expert_answers": "🗒 Für die Anmeldung: {answers}",
    "delete_data_ask": (
        "Damit lösche ich alles, was ich über dich gespeichert habe: deine Einstellungen und dein Zuhause, deine "
        "Suchen mit ihren Anrufen, Mitschriften und Angeboten, meine Liste deiner Termine mit ihren Erinnerungen "
        "und die Verbindung zu deinem Kalender. Das lässt sich nicht rückgängig machen."
    ),
    "delete_data_booked": "Diese Termine <b>bleiben bei den Praxen gebucht</b>; das Löschen sagt sie nicht ab:",
    "delete_data_booked_line": "• <b>{provider}</b>, {slot} – {phone}",
    "delete_data_how_to_cancel": (
        "Um einen abzusagen, tippe ihn vorher unter /appointments an oder ruf später selbst in der Praxis an."
    ),
    "delete_data_button": "🗑 Meine Daten löschen",
    "keep_data_button": "Daten behalten",
    "data_deleted": (
        "Erledigt: Ich habe alles gelöscht, was ich über dich gespeichert hatte. Wenn du mir wieder schreibst, "
        "fange ich neu an."
    ),
    "data_kept": "Es wurde nichts gelöscht.",
    "delete_data_running": (
        "Eine Suche von dir läuft noch (oder ein Anruf, der einen Termin absagt), darum habe ich nichts gelöscht. "
        "Stoppe sie mit /cancel oder warte, bis sie fertig ist, und sende dann noch einmal /delete_my_data."
    ),
    "call_opted_out": "möchte keine automatischen Anrufe",
    "call_over_budget": "heute schon oft genug angerufen, nicht angerufen",
    "call_too_soon": "gerade erst angerufen, nicht angerufen",
    "call_known_full": "bekannt: vor {day} nichts frei",
    "live_skipped": "{count} nicht angerufen; ich habe stattdessen die nächsten der Rangliste angerufen.",
    "live_skipped_one": "{name} nicht angerufen; ich habe stattdessen den nächsten der Rangliste angerufen.",
    "shortlist_passed_over": "<i>Nicht angerufen: {names}</i>",
    "call_call_back": "möchte erst nach {time} angerufen werden",
}

# The same sentences for a chat that types instead of tapping and cannot share a location (the terminal).
_TYPED_EN: dict[str, str] = {
    "welcome": (
        "Hello{name}! I am <b>NEXUS</b>. Tell me what appointment you need, and I phone up to 15 providers "
        "at once, ask for free times that fit you, and book the one you pick.\n\n"
        "Try for example:\n"
        "• <i>I need a dentist next Tuesday afternoon near Alexanderplatz</i>\n"
        "• <i>Friseur morgen nach 15 Uhr in Mitte</i>\n\n"
        "Type the number of a choice to pick it. /settings changes how I choose and where you live, "
        "/appointments lists your bookings, /help explains the rest, /quit leaves."
    ),
    "help": (
        "Write what you need in plain words: the kind of provider, when, and where. I ask for anything missing, "
        "show you a summary, and call providers when you choose <b>Call providers</b> (type its number).\n\n"
        "/appointments – your upcoming appointments\n"
        "/settings – how I rank offers, search radius, home, time zone, reminders\n"
        "/cancel – stop a running search or drop the request you are writing\n"
        "/start – the welcome message again\n"
        "/delete_my_data – delete everything I keep about you\n"
        "/quit – leave (Ctrl-C works too)"
    ),
    "ask_place": "Where should I search? Name a district, square or station.",
    "ask_place_home": "Where should I search? Name a district, square or station, or use your home ({home}).",
    "unknown_place": (
        "I could not find <b>{place}</b>. Try a district, a square or a station (for example "
        "<i>Alexanderplatz</i> or <i>Marienplatz</i>)."
    ),
    "no_home": "You have not saved a home location yet. Name a place.",
    "ask_home": "Name a place to use as your home.",
    "not_understood": (
        "I did not understand that, so nothing has changed. Type the number of a choice above, or write a whole "
        "new request such as <i>dentist tomorrow afternoon in Mitte</i>."
    ),
    "pick_one": "Please type the number of one of these:",
}
_TYPED_DE: dict[str, str] = {
    "welcome": (
        "Hallo{name}! Ich bin <b>NEXUS</b>. Schreib mir, welchen Termin du brauchst: Ich rufe bis zu 15 Anbieter "
        "gleichzeitig an, frage nach freien Zeiten, die dir passen, und buche den, den du auswählst.\n\n"
        "Zum Beispiel:\n"
        "• <i>Zahnarzt nächsten Dienstag nachmittags am Alexanderplatz</i>\n"
        "• <i>I need a hairdresser tomorrow after 3pm in Mitte</i>\n\n"
        "Tippe die Nummer einer Auswahl, um sie zu wählen. /settings ändert, wie ich auswähle und wo du wohnst, "
        "/appointments zeigt deine Termine, /help erklärt den Rest, /quit beendet."
    ),
    "help": (
        "Schreib in eigenen Worten, was du brauchst: welchen Anbieter, wann und wo. Ich frage nach, was fehlt, "
        "zeige dir eine Zusammenfassung und rufe an, sobald du <b>Anbieter anrufen</b> wählst (tippe seine "
        "Nummer).\n\n"
        "/appointments – deine kommenden Termine\n"
        "/settings – Gewichtung, Suchradius, Zuhause, Zeitzone, Erinnerungen\n"
        "/cancel – laufende Suche stoppen oder Anfrage verwerfen\n"
        "/start – die Begrüßung noch einmal\n"
        "/delete_my_data – alles löschen, was ich über dich gespeichert habe\n"
        "/quit – beenden (Strg-C geht auch)"
    ),
    "ask_place": "Wo soll ich suchen? Nenne einen Bezirk, Platz oder Bahnhof.",
    "ask_place_home": "Wo soll ich suchen? Nenne einen Bezirk, Platz oder Bahnhof oder nimm dein Zuhause ({home}).",
    "unknown_place": (
        "<b>{place}</b> habe ich nicht gefunden. Versuch einen Bezirk, Platz oder Bahnhof (zum Beispiel "
        "<i>Alexanderplatz</i> oder <i>Marienplatz</i>)."
    ),
    "no_home": "Du hast noch kein Zuhause gespeichert. Nenne einen Ort.",
    "ask_home": "Nenne einen Ort, den ich als dein Zuhause speichere.",
    "not_understood": (
        "Das habe ich nicht verstanden, es bleibt alles, wie es war. Tippe die Nummer einer Auswahl oben oder "
        "schreib eine ganz neue Anfrage, etwa <i>Zahnarzt morgen nachmittag in Mitte</i>."
    ),
    "pick_one": "Bitte tippe die Nummer einer dieser Möglichkeiten:",
}

_TEXTS = {"en": _EN, "de": _DE}
_TYPED = {"en": _TYPED_EN, "de": _TYPED_DE}

_SHORT_WEEKDAYS = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "de": ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
}
_SHORT_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "de": ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
}


def say(language: str, key: str, *, typed: bool = False, **values: object) -> Html:
    """The sentence ``key`` in ``language`` with ``values`` filled in (escaped unless ``Html``).

    ``typed``: for a chat without buttons to tap or a location to share (the terminal), where that differs.
    """
    lang = language_of(language)
    template = (typed and _TYPED[lang].get(key)) or _TEXTS[lang][key]
    safe = {name: value if isinstance(value, Html) else escape(value) for name, value in values.items()}
    return Html(template.format(**safe))


def plain(language: str, key: str) -> str:
    """A label for a button or key (buttons are not HTML)."""
    return _TEXTS[language_of(language)][key]


def service_name(service: str, language: str) -> str:
    """``dentist`` -> ``Dentist`` / ``Zahnarzt``."""
    if language_of(language) == "de":
        return service_in_words(service, "de")
    return service.capitalize()


def service_noun(service: str, language: str) -> str:
    """``dentist`` / ``Zahnarzt``: the service inside a sentence."""
    return service_name(service, language) if language_of(language) == "de" else service


def short_day(moment: datetime, timezone: str, language: str) -> str:
    """``Tue 1 Dec`` / ``Di 1. Dez``."""
    local = moment.astimezone(ZoneInfo(timezone))
    lang = language_of(language)
    weekday, month = _SHORT_WEEKDAYS[lang][local.weekday()], _SHORT_MONTHS[lang][local.month - 1]
    return f"{weekday} {local.day}. {month}" if lang == "de" else f"{weekday} {local.day} {month}"


def short_slot(start: datetime, end: datetime, timezone: str, language: str) -> str:
    """``Tue 1 Dec 14:30–15:00``."""
    zone = ZoneInfo(timezone)
    return f"{short_day(start, timezone, language)} {start.astimezone(zone):%H:%M}–{end.astimezone(zone):%H:%M}"


def matches_label(text: str, key: str) -> bool:
    """Whether ``text`` is the label of ``key`` in any language (a tapped reply-keyboard key)."""
    return any(text.strip() == table[key] for table in _TEXTS.values())
