"""Services and counts in words: every service the parser knows has an English and a German name."""

from __future__ import annotations

import pytest

from domain.wording import counted, failure_reason, service_in_words
from integrations.intent.vocabulary import SERVICE_SYNONYMS


@pytest.mark.parametrize("service", sorted(SERVICE_SYNONYMS))
def test_every_service_the_parser_knows_has_names_in_both_languages(service: str) -> None:
    german = service_in_words(service, "de")
    assert german != service and german[0].isupper()  # a German noun, not the stored English key
    assert german.casefold() in {w.casefold() for w in SERVICE_SYNONYMS[service]} or service in {
        "physiotherapist",
        "beautician",
        "tax advisor",
        "massage",
        "tire service",
    }
    assert service_in_words(service, "en") in (service, "massage practice")
    assert service_in_words(service, "en", count=2) != service_in_words(service, "en")


def test_counts_agree_with_their_noun() -> None:
    assert counted(1, "offer", "offers") == "1 offer"
    assert counted(0, "offer", "offers") == "0 offers"
    assert counted(2, service_in_words("barber"), service_in_words("barber", count=2)) == "2 barbers"
    assert service_in_words("car wash", count=3) == "car washes"


def test_a_german_failure_names_the_service_in_german() -> None:
    german = service_in_words("pediatrician", "de")
    reason = failure_reason("no_providers", "de", service=german, radius="10", place="X")
    assert "für Kinderarzt" in reason and "pediatrician" not in reason
