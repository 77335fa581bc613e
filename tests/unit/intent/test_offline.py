"""Service, place, length, language and what is missing, as the offline parser reads them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidRequest
from domain.intent import MISSING_LOCATION, MISSING_SERVICE, MISSING_WINDOWS
from domain.ports import IntentParser
from integrations.intent import DEFAULT_DURATION_MINUTES, SERVICE_SYNONYMS, OfflineIntentParser, parse_request
from integrations.intent.vocabulary import canonical_service, default_duration

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def parse(text: str) -> tuple[str | None, str | None, int, str, list[str]]:
    request = parse_request(text, NOW, "Europe/Berlin")
    return request.service, request.location, request.duration_minutes, request.language, request.missing


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("I need a dentist", "dentist"),
        ("Zahnarzt", "dentist"),
        ("eine Zahnärztin", "dentist"),
        ("eine ZAHNAERZTIN", "dentist"),
        ("Zahnarzttermin", "dentist"),
        ("a doctor", "doctor"),
        ("Hausarzt", "doctor"),
        ("zum Arzt", "doctor"),
        ("haircut", "hairdresser"),
        ("Friseur", "hairdresser"),
        ("Frisör", "hairdresser"),
        ("Barbier", "barber"),
        ("barbershop", "barber"),
        ("Autowerkstatt", "mechanic"),
        ("Werkstatt", "mechanic"),
        ("Physiotherapeut", "physiotherapist"),
        ("Physio", "physiotherapist"),
        ("Tierarzt", "veterinarian"),
        ("the vet", "veterinarian"),
        ("Optiker", "optician"),
        ("Hautarzt", "dermatologist"),
        ("Massage", "massage"),
        ("Nagelstudio", "nail salon"),
        ("manicure", "nail salon"),
        ("Kosmetik", "beautician"),
        ("Kosmetikerin", "beautician"),
        ("Reifenwechsel", "tire service"),
        ("Reifenservice", "tire service"),
        ("new tyres", "tire service"),
        ("Autowäsche", "car wash"),
        ("Waschanlage", "car wash"),
        ("Steuerberater", "tax advisor"),
        ("eye doctor", "ophthalmologist"),  # the longer phrase wins over "doctor"
        ("skin doctor", "dermatologist"),
        ("Kinderarzt", "pediatrician"),
        ("dentist or doctor", "dentist"),  # the first one named
        ("documents", None),  # "doc" only as a whole word
        ("vetting", None),
        ("a table for two", None),
    ],
)
def test_finds_the_service(text: str, service: str | None) -> None:
    assert parse(text)[0] == service


def test_the_vocabulary_is_documented_and_complete() -> None:
    assert len(SERVICE_SYNONYMS) >= 15
    assert set(DEFAULT_DURATION_MINUTES) == set(SERVICE_SYNONYMS)
    assert all(service == service.lower() and words[0] == service for service, words in SERVICE_SYNONYMS.items())
    assert DEFAULT_DURATION_MINUTES["dentist"] == 30
    assert DEFAULT_DURATION_MINUTES["hairdresser"] == 45
    assert DEFAULT_DURATION_MINUTES["mechanic"] == 60
    assert DEFAULT_DURATION_MINUTES["massage"] == 60
    assert default_duration(None) == 30
    assert canonical_service("Zahnärztin") == "dentist"
    assert canonical_service("nail salon") == "nail salon"
    assert canonical_service("dentist tomorrow") is None


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("dentist next Tuesday afternoon near Alexanderplatz", "Alexanderplatz"),
        ("dentist near Alexanderplatz next Tuesday afternoon", "Alexanderplatz"),
        ("dentist near Alexanderplatz.", "Alexanderplatz"),
        ("haircut tomorrow at 10 am near Rosenthaler Platz, please", "Rosenthaler Platz"),
        ("dentist in Berlin-Mitte on Friday", "Berlin-Mitte"),
        ("mechanic close to Ostkreuz for 45 minutes", "Ostkreuz"),
        ("barber around Kottbusser Tor at 5pm", "Kottbusser Tor"),
        ("dentist at Hackescher Markt", "Hackescher Markt"),
        ("Zahnarzt am Alexanderplatz am Dienstag", "Alexanderplatz"),
        ("Zahnarzt am Reichstag", "Reichstag"),
        ("Friseur im Prenzlauer Berg morgen", "Prenzlauer Berg"),
        ("Im Wedding einen Friseur", "Wedding"),
        ("Tierarzt in der Nähe vom Hauptbahnhof", "Hauptbahnhof"),
        ("Physio bei Schöneberg nachmittags", "Schöneberg"),
        ("Optiker nahe Kurfürstendamm", "Kurfürstendamm"),
        ("Steuerberater in Frankfurt am Main nächste Woche", "Frankfurt am Main"),
        ("dentist in Hauptstr. 5 tomorrow", "Hauptstr. 5"),
        ("dentist in 10115 Berlin", "10115 Berlin"),
        ("dentist on Tuesday in the afternoon", None),
        ("Zahnarzt am Dienstag", None),
        ("dentist at 3pm", None),
        ("dentist near me", None),
        ("Zahnarzt in der Nähe", None),
        ("dentist in 3 days", None),
        ("at the dentist tomorrow", None),
        ("dentist in the next few days", None),
        ("I am looking for a dentist tomorrow", None),
        ("Im looking for a dentist", None),
    ],
)
def test_finds_the_place(text: str, location: str | None) -> None:
    assert parse(text)[1] == location


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("dentist", 30),
        ("hairdresser", 45),
        ("mechanic", 60),
        ("something nice", 30),
        ("massage for 90 minutes", 90),
        ("massage for 45 min tomorrow", 45),
        ("massage 1 hour", 60),
        ("massage for an hour", 60),
        ("massage for half an hour", 30),
        ("massage for 1.5 hours", 90),
        ("massage 1 hour 30 minutes", 90),
        ("Massage eine Stunde", 60),
        ("Massage eine halbe Stunde", 30),
        ("Massage anderthalb Stunden", 90),
        ("Massage 45 Minuten", 45),
        ("massage for 2 minutes", 60),  # too short to be an appointment: the usual length stays
        ("massage for 12 hours", 60),
    ],
)
def test_reads_the_length(text: str, minutes: int) -> None:
    assert parse(text)[2] == minutes


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("dentist tomorrow near Alexanderplatz", "en"),
        ("dentist near Kurfürstendamm", "en"),  # an umlaut in a place name says nothing
        ("massage tomorrow", "en"),
        ("Zahnarzt", "de"),
        ("massage morgen", "de"),
        ("Massage nächste Woche", "de"),
        ("ich brauche eine Massage", "de"),
        ("dentist am Dienstag", "de"),
    ],
)
def test_tells_the_language(text: str, language: str) -> None:
    assert parse(text)[3] == language


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("dentist tomorrow near Alexanderplatz", []),
        ("dentist near Alexanderplatz", []),  # no time at all is not missing: the next 7 days
        ("dentist tomorrow", [MISSING_LOCATION]),
        ("tomorrow near Alexanderplatz", [MISSING_SERVICE]),
        ("dentist on Blursday near Alexanderplatz", [MISSING_WINDOWS]),
        ("hello", [MISSING_SERVICE, MISSING_LOCATION]),
        ("on Blursday", [MISSING_SERVICE, MISSING_WINDOWS, MISSING_LOCATION]),
    ],
)
def test_names_what_is_missing(text: str, missing: list[str]) -> None:
    request = parse_request(text, NOW, "Europe/Berlin")
    assert request.missing == missing
    assert request.complete is (not missing)


def test_keeps_the_text_as_written() -> None:
    assert parse_request("  Zahnarzt MORGEN ", NOW).text == "  Zahnarzt MORGEN "


def test_refuses_a_naive_now_and_an_unknown_timezone() -> None:
    with pytest.raises(InvalidRequest, match="no timezone"):
        parse_request("dentist", NOW.replace(tzinfo=None))
    with pytest.raises(InvalidRequest, match="Mars/Olympus"):
        parse_request("dentist", NOW, "Mars/Olympus")


async def test_the_offline_parser_is_an_intent_parser() -> None:
    parser: IntentParser = OfflineIntentParser()
    request = await parser.parse("Zahnarzt morgen am Alexanderplatz", NOW, "Europe/Berlin")
    assert (request.service, request.location, request.language, request.missing) == (
        "dentist",
        "Alexanderplatz",
        "de",
        [],
    )
    assert [(w.start.day, w.start.hour, w.end.hour) for w in request.windows] == [(27, 8, 18)]
