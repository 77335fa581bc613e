"""The OAuth ``state``: it names the Telegram user, cannot be forged or altered, and expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidRequest
from integrations.google.oauth import OAuthStateError, sign_state, verify_state

SECRET = "state-secret-for-tests"
ISSUED = datetime(2025, 3, 14, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
USER_ID = 123456789


def test_a_signed_state_gives_back_the_user_it_was_signed_for() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)

    assert verify_state(state, ISSUED + timedelta(minutes=3), SECRET) == USER_ID
    assert verify_state(sign_state(42, ISSUED, SECRET), ISSUED, SECRET) == 42


def test_a_state_travels_in_a_url_unchanged() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)

    assert quote(state, safe="") == state


def test_a_state_for_another_user_is_refused() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)
    forged = state.replace(str(USER_ID), str(USER_ID + 1), 1)

    with pytest.raises(OAuthStateError, match="not valid"):
        verify_state(forged, ISSUED, SECRET)


def test_a_state_with_an_altered_signature_is_refused() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)
    altered = state[:-1] + ("A" if state[-1] != "A" else "B")

    with pytest.raises(OAuthStateError, match="not valid"):
        verify_state(altered, ISSUED, SECRET)


def test_a_state_made_younger_is_refused() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)
    user, issued, signature = state.split(".")
    younger = f"{user}.{int(issued) + 3600}.{signature}"

    with pytest.raises(OAuthStateError, match="not valid"):
        verify_state(younger, ISSUED + timedelta(hours=1), SECRET)


def test_a_state_signed_with_another_secret_is_refused() -> None:
    state = sign_state(USER_ID, ISSUED, "another-secret")

    with pytest.raises(OAuthStateError, match="not valid"):
        verify_state(state, ISSUED, SECRET)


def test_a_state_expires_after_its_maximum_age() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)

    assert verify_state(state, ISSUED + timedelta(minutes=15), SECRET) == USER_ID
    with pytest.raises(OAuthStateError) as raised:
        verify_state(state, ISSUED + timedelta(minutes=15, seconds=1), SECRET)
    assert str(raised.value) == "This link to connect Google Calendar has expired. Ask the bot for a new one."
    with pytest.raises(OAuthStateError, match="expired"):
        verify_state(state, ISSUED + timedelta(minutes=6), SECRET, max_age=timedelta(minutes=5))


def test_a_state_from_the_future_is_refused_beyond_clock_skew() -> None:
    state = sign_state(USER_ID, ISSUED, SECRET)

    assert verify_state(state, ISSUED - timedelta(seconds=30), SECRET) == USER_ID
    with pytest.raises(OAuthStateError, match="not valid"):
        verify_state(state, ISSUED - timedelta(minutes=5), SECRET)


@pytest.mark.parametrize(
    "garbage",
    ["", "hello", "1.2.3", "123.456", "..", "１２３.456." + "A" * 43, "x" * 10_000, "123.456." + "A" * 44],
)
def test_garbage_is_refused_with_a_sentence(garbage: str) -> None:
    with pytest.raises(OAuthStateError) as raised:
        verify_state(garbage, ISSUED, SECRET)

    assert str(raised.value) == "This link to connect Google Calendar is not valid. Ask the bot for a new one."
    assert isinstance(raised.value, InvalidRequest)


def test_an_empty_secret_cannot_sign_or_verify() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_state(USER_ID, ISSUED, "")
    with pytest.raises(ValueError, match="secret"):
        verify_state(sign_state(USER_ID, ISSUED, SECRET), ISSUED, "")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="no timezone"):
        sign_state(USER_ID, datetime(2025, 3, 14, 9, 30), SECRET)  # noqa: DTZ001
