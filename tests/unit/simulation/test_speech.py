"""How simulated desks say times (English, German clock and spoken German) and how the reference agent hears
them, how it recognises a voicemail box and a phone menu, and which desks speak German."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.grounding import ground_offer
from domain.models import TimeWindow, Turn
from integrations.simulation.agent import is_voicemail, menu_key_for_appointments
from integrations.simulation.behaviour import ProviderBehaviour, desk_language
from integrations.simulation.receptionist import Receptionist
from integrations.simulation.speech import (
    german_spoken_time,
    german_time_of_day,
    is_german,
    say_slot,
    understand_slots,
)
from tests.factories import make_provider

TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)
NOW = datetime(2026, 12, 7, 7, 50, tzinfo=BERLIN)  # Monday 7 December


@pytest.mark.parametrize(
    ("words", "meant"),
    [
        ("14:30 Uhr", time(14, 30)),
        ("9 Uhr", time(9)),
        ("halb drei", time(14, 30)),
        ("halb neun", time(8, 30)),
        ("halb eins", time(12, 30)),
        ("Viertel nach neun", time(9, 15)),
        ("Viertel vor elf", time(10, 45)),
        ("Viertel vor eins", time(12, 45)),
        ("drei", time(15)),
        ("zwölf", time(12)),
        ("zehn", time(10)),
        ("halb zwanzig", None),
        ("25 Uhr", None),
    ],
)
def test_german_times_of_day_as_a_front_desk_says_them(words: str, meant: time | None) -> None:
    assert german_time_of_day(words) == meant


def test_every_quarter_hour_of_the_working_day_is_said_and_heard_the_same_in_both_languages() -> None:
    rng = random.Random(3)
    start = datetime(2026, 12, 8, 8, tzinfo=BERLIN)
    styles = set()
    for quarter in range(4 * 12):
        slot = TimeWindow(start + timedelta(minutes=15 * quarter), start + timedelta(minutes=15 * quarter + 45))
        for language in ("de", "en"):
            said = say_slot(slot, TZ, language, rng)
            styles.add("Uhr" in said)
            assert understand_slots(f"Frei wäre {said}.", NOW, TZ, 45) == [slot], said
    assert styles == {True, False}  # German desks use the clock and the spoken form


def test_several_offers_are_heard_in_the_order_said_and_a_date_without_a_year_is_the_next_one() -> None:
    heard = understand_slots(
        "Ich hätte Dienstag, den 8. Dezember, um halb drei oder Montag, der 4. Januar, um 14:30 Uhr.", NOW, TZ, 30
    )
    assert [s.start for s in heard] == [
        datetime(2026, 12, 8, 14, 30, tzinfo=BERLIN),
        datetime(2027, 1, 4, 14, 30, tzinfo=BERLIN),
    ]
    assert all(s.duration == timedelta(minutes=30) for s in heard)
    assert understand_slots("I could offer Tuesday 8 December at 09:15.", NOW, TZ, 20)[0].start.hour == 9
    assert understand_slots("Da habe ich leider nichts frei.", NOW, TZ, 30) == []


def test_spoken_forms_are_only_used_where_they_are_unambiguous() -> None:
    assert german_spoken_time(datetime(2026, 12, 8, 7, 30, tzinfo=BERLIN), TZ) is None  # "halb acht" is 19:30
    assert german_spoken_time(datetime(2026, 12, 8, 19, 30, tzinfo=BERLIN), TZ) is None
    assert german_spoken_time(datetime(2026, 12, 8, 19, 15, tzinfo=BERLIN), TZ) == "Viertel nach sieben"
    assert german_spoken_time(datetime(2026, 12, 8, 10, 10, tzinfo=BERLIN), TZ) is None


@pytest.mark.parametrize(
    ("announcement", "key"),
    [
        ("Willkommen. Für Rezeptbestellungen drücken Sie die 1. Für Termine drücken Sie die 2.", "2"),
        ("Für Terminvereinbarungen drücken Sie die 3.", "3"),
        ("Welcome. For prescriptions, press 1. For appointments, press 4.", "4"),
        ("Praxis Dr. Wagner, guten Tag, was kann ich für Sie tun?", None),
    ],
)
def test_the_agent_finds_the_key_a_phone_menu_names_for_appointments(announcement: str, key: str | None) -> None:
    assert menu_key_for_appointments(announcement) == key


def test_voicemail_boxes_are_recognised_and_desks_are_not() -> None:
    assert is_voicemail("Sie sind verbunden mit der Mailbox von Praxis X. Bitte sprechen Sie nach dem Signalton.")
    assert is_voicemail("You have reached the voicemail of Smile Dental; please leave a message after the tone.")
    assert not is_voicemail("Smile Dental, good morning, how can I help?")
    assert is_german("Praxis Dr. Wagner, guten Tag, was kann ich für Sie tun?")
    assert not is_german("Smile Dental, good morning, how can I help?")


def test_a_desk_speaks_the_world_files_language_else_its_countrys() -> None:
    berlin = make_provider("b")
    london, vienna = replace(berlin, phone="+442071234567"), replace(berlin, phone="+4315551234")
    plain = ProviderBehaviour(open_slots=())

    assert desk_language(berlin, plain) == "de"
    assert desk_language(vienna, plain) == "de"
    assert desk_language(london, plain) == "en"
    assert desk_language(berlin, ProviderBehaviour(open_slots=(), language="en")) == "en"
    assert desk_language(london, ProviderBehaviour(open_slots=(), language="de")) == "de"


def test_a_desk_offers_the_length_asked_for_behind_its_menu() -> None:
    slots = (datetime(2026, 12, 8, 9, tzinfo=BERLIN), datetime(2026, 12, 8, 10, tzinfo=BERLIN))
    desk = Receptionist(
        make_provider("m", name="Salon M"),
        ProviderBehaviour(open_slots=slots, slot_minutes=30, phone_menu_digit=1),
        random.Random(1),
        TZ,
    )

    assert "Für Termine drücken Sie die 1" in desk.pick_up()
    assert desk.offers_after(NOW, 45) == ""  # nobody listens before the key is pressed
    assert desk.press("2").startswith("Rezeptbestellung")
    assert "Salon M" in desk.press("1")
    heard = understand_slots(desk.offers_after(NOW, 45), NOW, TZ, 45)
    assert [(s.start, s.duration) for s in heard] == [
        (slots[0], timedelta(minutes=45)),
        (slots[1], timedelta(minutes=45)),
    ]
    assert desk.earliest_after(NOW)[0].duration == timedelta(minutes=30)  # its own length when nobody says


def test_every_way_a_simulated_desk_says_a_slot_is_grounded_and_a_shifted_time_is_not() -> None:
    """What the simulated receptionists say must pass the grounding check (or ``make bench`` would count
    true offers as unverified), and half an hour off must not."""
    zone = "Europe/Berlin"
    now = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo(zone))
    rng = random.Random(7)
    for day in range(9):
        for quarter in range(4 * 8, 4 * 19):
            start = now.replace(hour=0) + timedelta(days=day + 1, minutes=15 * quarter)
            slot = TimeWindow(start, start + timedelta(minutes=30))
            for language in ("en", "de"):
                words = f"{say_slot(slot, zone, language, rng)}."
                turns = [Turn("provider", words, now)]
                assert ground_offer(slot.start, turns, now, zone).verified, words
                assert not ground_offer(slot.start + timedelta(minutes=30), turns, now, zone).verified, words


@pytest.mark.parametrize(
    ("phone", "service", "asks", "said"),
    [
        (
            "+14155550100",
            "mechanic",
            ("car", "visit"),
            ["What make and model is the car?", "Is it for an inspection, or is something wrong with it?"],
        ),
        ("+4930555000", "hairdresser", ("length",), ["Und wie lang sind die Haare?"]),
        ("+4930555000", "veterinarian", ("visit",), []),  # no expert, no questions
    ],
)
def test_a_desk_asks_its_experts_questions_in_its_language(
    phone: str, service: str, asks: tuple[str, ...], said: list[str]
) -> None:
    behaviour = ProviderBehaviour(open_slots=(), asks_expert=asks)
    desk = Receptionist(replace(make_provider("x"), phone=phone, service=service), behaviour, random.Random(1), TZ)
    assert [words for _, words in desk.expert_questions()] == said
