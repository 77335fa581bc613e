"""A simulated receptionist: knows the provider's open slots and answers the agent's questions, in English or
German, behind a voicemail box or a phone menu when the provider's behaviour says so."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.expertise import catalogue
from domain.models import Provider, TimeWindow
from integrations.simulation.behaviour import ProviderBehaviour, desk_language
from integrations.simulation.speech import say_slot

_LINES = {
    "en": {
        "greet": [
            "{name}, good morning, how can I help?",
            "Hello, {name} speaking.",
            "{name}, what can I do for you?",
        ],
        "voicemail": (
            "You have reached the voicemail of {name}. We cannot take your call right now; "
            "please leave a message after the tone."
        ),
        "menu": "Welcome to {name}. For prescriptions, press {other}. For appointments, press {digit}.",
        "wrong_key": "Prescription orders. Please say your name and date of birth after the tone.",
        "nothing": "I'm sorry, I have nothing free then.",
        "offer": "I could offer {slots}.",
        "or": " or ",
        "taken": "I'm sorry, that time has just been taken.",
        "booked": "It's booked. See you then!",
        "cancelled": "No problem, it's cancelled.",
        "noted": "Noted. Talk soon.",
        "ask_insurance": "Before I look: are you insured publicly or privately?",
        "ask_new_patient": "Is it a new or an existing patient?",
        "ask_stylist": "Do you have a favourite stylist, Anna or Murat?",
        "ask_car_model": "Which car is it, make and model?",
        "ask_name": "Under what name shall I note it?",
        "ask_phone": "And a phone number for call-backs?",
        "thanks": "Thank you, noted.",
        "need_it": "Without that I can't give you an appointment, I'm afraid. Please call back when you know.",
        "wants_person": "I'd rather discuss this with your client in person. Could you put them on the line?",
        "hold_on": "Yes, of course, I'll hold.",
        "understood": "Alright, thank you.",
        "call_back": "I'm sorry, we're fully booked. Please call back tomorrow at {clock}, when we plan the week.",
        "waitlist": "I'm sorry, I have nothing free then. I can put your client on our waiting list, if you like.",
        "waitlisted": "Done, your client is on our waiting list.",
        "moved": "Done: I've entered the new time and released the old one.",
        "opt_out": "Is this an automated call? Please do not call us like this again.",
    },
    "de": {
        "greet": [
            "{name}, guten Tag, was kann ich für Sie tun?",
            "{name}, Sie sprechen mit der Anmeldung. Wie kann ich Ihnen helfen?",
            "Guten Morgen, {name}, was kann ich für Sie tun?",
        ],
        "voicemail": (
            "Sie sind verbunden mit der Mailbox von {name}. Wir sind gerade nicht erreichbar. "
            "Bitte hinterlassen Sie eine Nachricht nach dem Signalton."
        ),
        "menu": (
            "Willkommen bei {name}. Für Rezeptbestellungen drücken Sie die {other}. "
            "Für Termine drücken Sie die {digit}."
        ),
        "wrong_key": "Rezeptbestellung. Bitte nennen Sie nach dem Signalton Ihren Namen und Ihr Geburtsdatum.",
        "nothing": "Da habe ich leider nichts frei.",
        "offer": "Frei wäre {slots}.",
        "or": " oder ",
        "taken": "Oh, das tut mir leid, der Termin ist gerade weggegangen.",
        "booked": "Ist eingetragen. Bis dann!",
        "cancelled": "Kein Problem, ich habe den Termin gestrichen.",
        "noted": "Ist notiert. Bis gleich.",
        "ask_insurance": "Bevor ich schaue: Sind Sie gesetzlich oder privat versichert?",
        "ask_new_patient": "Ist es ein neuer oder ein bestehender Patient?",
        "ask_stylist": "Möchten Sie zu einer bestimmten Friseurin, Anna oder Murat?",
        "ask_car_model": "Um welches Auto geht es, Marke und Modell?",
        "ask_name": "Auf welchen Namen darf ich das notieren?",
        "ask_phone": "Und eine Telefonnummer für Rückfragen?",
        "thanks": "Danke, ist notiert.",
        "need_it": "Ohne das kann ich Ihnen leider keinen Termin geben. Rufen Sie gern wieder an, wenn Sie es wissen.",
        "wants_person": "Das würde ich lieber direkt mit Ihrer Kundin besprechen. Können Sie sie ans Telefon holen?",
        "hold_on": "Ja, gern, ich bleibe dran.",
        "understood": "Alles klar, danke.",
        "call_back": "Tut mir leid, wir sind ausgebucht. Rufen Sie bitte morgen um {clock} Uhr wieder an.",
        "waitlist": "Da habe ich leider nichts frei. Ich kann Ihre Kundin aber auf unsere Warteliste setzen.",
        "waitlisted": "Gut, Ihre Kundin steht auf unserer Warteliste.",
        "moved": "Erledigt: ich habe den neuen Termin eingetragen und den alten freigegeben.",
        "opt_out": "Ist das ein automatischer Anruf? Bitte rufen Sie hier nicht mehr an.",
    },
}


class Receptionist:
    def __init__(
        self,
        provider: Provider,
        behaviour: ProviderBehaviour,
        rng: random.Random,
        timezone: str,
        *,
        voicemail: bool = False,
    ) -> None:
        self.provider = provider
        self.behaviour = behaviour
        self._rng = rng
        self._tz = timezone
        self._open = sorted(behaviour.open_slots)
        self.language = desk_language(provider, behaviour)
        self._voicemail = voicemail
        self.keys_pressed: list[str] = []
        self.on_waitlist = False

    def _line(self, key: str) -> str:
        line = _LINES[self.language][key]
        assert isinstance(line, str)
        return line

    def slot_length(self, minutes: int | None = None) -> timedelta:
        """The length of the slots offered: what the caller asked for, else the provider's usual length."""
        return timedelta(minutes=minutes or self.behaviour.slot_minutes)

    def pick_up(self) -> str:
        """The first thing the caller hears: the voicemail box, the phone menu, or a person."""
        name = self.provider.name
        if self._voicemail:
            return self._line("voicemail").format(name=name)
        digit = self.behaviour.phone_menu_digit
        if digit is not None:
            other = 2 if digit == 1 else 1
            return self._line("menu").format(name=name, digit=digit, other=other)
        return self.greet()

    def press(self, key: str) -> str:
        """A key pressed in the phone menu: the right one puts the caller through to a person."""
        self.keys_pressed.append(key)
        if key == str(self.behaviour.phone_menu_digit):
            return self.greet()
        return self._line("wrong_key")

    @property
    def put_through(self) -> bool:
        """Whether a person is on the line (no menu, or the right key was pressed)."""
        digit = self.behaviour.phone_menu_digit
        return not self._voicemail and (digit is None or str(digit) in self.keys_pressed)

    def greet(self) -> str:
        greetings = _LINES[self.language]["greet"]
        assert isinstance(greetings, list)
        greeting: str = self._rng.choice(greetings)
        return greeting.format(name=self.provider.name)

    def earliest_after(self, moment: datetime, minutes: int | None = None) -> list[TimeWindow]:
        """The next few open slots starting at or after ``moment``, earliest first, of the length asked for."""
        starts = [s for s in self._open if s >= moment][: self.behaviour.offers_per_turn]
        length = self.slot_length(minutes)
        return [TimeWindow(s, s + length) for s in starts]

    def offer_words(self, slots: list[TimeWindow]) -> str:
        if not slots:
            return self.nothing_free()
        said = self._line("or").join(say_slot(s, self._tz, self.language, self._rng) for s in slots)
        return self._line("offer").format(slots=said)

    def offers_after(self, moment: datetime, minutes: int | None = None) -> str:
        """What the receptionist says when asked for the earliest time from ``moment`` on."""
        if not self.put_through:
            return ""
        if self.behaviour.opts_out:
            return self._line("opt_out")
        return self.offer_words(self.earliest_after(moment, minutes))

    def book_words(self, start: datetime) -> tuple[bool, str]:
        """Book ``start`` if it is still open; the provider may have given it away meanwhile."""
        if not self.book(start):
            return False, self._line("taken")
        return True, self._line("booked")

    def book(self, start: datetime) -> bool:
        if self.behaviour.slot_taken_on_confirm or start not in self._open:
            return False
        self._open.remove(start)
        return True

    def cancel(self, start: datetime) -> bool:
        if start not in self._open:
            self._open.append(start)
            self._open.sort()
        return True

    def cancel_words(self, start: datetime) -> str:
        self.cancel(start)
        return self._line("cancelled")

    def noted(self) -> str:
        return self._line("noted")

    # --- the user in the loop ---------------------------------------------------------------------

    def questions(self) -> tuple[str, ...]:
        """The topics the desk asks about the client before it offers a time, in order."""
        return self.behaviour.questions

    def question(self, topic: str) -> str:
        """How the desk asks about ``topic``."""
        return self._line(f"ask_{topic}")

    def thanks(self) -> str:
        return self._line("thanks")

    def needs_answer(self) -> str:
        """The desk will not go on without the answer."""
        return self._line("need_it")

    def wants_person(self) -> str | None:
        """What the desk says when it wants the client on the line (``None``: it does not)."""
        return self._line("wants_person") if self.behaviour.wants_person else None

    def holds_for_client(self) -> str:
        """The desk agrees to wait while the call is put through to the client."""
        return self._line("hold_on")

    def expert_questions(self) -> list[tuple[str, str]]:
        """The expert questions this desk asks before it offers a time: ``(key, words)`` in its language."""
        expert = catalogue().expert(self.provider.service)
        if expert is None:
            return []
        asked = [expert.question(key) for key in self.behaviour.asks_expert]
        return [(q.key, q.desk[self.language]) for q in asked if q is not None]

    def thanks_for_answer(self) -> str:
        return self._line("understood")

    def nothing_free(self) -> str:
        """Nothing free: said plainly, or with "call back tomorrow at 8", or with the offer of a waiting list."""
        when = self.behaviour.call_back_at
        if when is not None:
            local = when.astimezone(ZoneInfo(self._tz))
            return self._line("call_back").format(clock=f"{local.hour}:{local.minute:02d}")
        if self.behaviour.offers_waitlist:
            return self._line("waitlist")
        return self._line("nothing")

    def put_on_waitlist(self) -> str:
        self.on_waitlist = True
        return self._line("waitlisted")

    def move(self, old: datetime, new: datetime) -> tuple[bool, str]:
        """Move a booked appointment: book ``new`` and release ``old`` together, or change nothing."""
        if not self.book(new):
            return False, self._line("taken")
        self.cancel(old)
        return True, self._line("moved")
