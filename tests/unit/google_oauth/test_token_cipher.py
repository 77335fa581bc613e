"""Refresh tokens at rest: encrypted, authenticated, and readable only with the same ENCRYPTION_KEY."""

from __future__ import annotations

import pytest

from integrations.crypto import DecryptionError, TokenCipher, generate_key

REFRESH_TOKEN = "1//0refresh-token-from-google"


def test_a_token_survives_encryption_and_is_not_stored_in_the_clear() -> None:
    cipher = TokenCipher(generate_key())

    first, second = cipher.encrypt(REFRESH_TOKEN), cipher.encrypt(REFRESH_TOKEN)

    assert REFRESH_TOKEN not in first
    assert first != second  # a fresh IV each time: equal tokens do not look equal in the database
    assert cipher.decrypt(first) == cipher.decrypt(second) == REFRESH_TOKEN


def test_a_key_read_with_a_trailing_newline_still_works() -> None:
    key = generate_key()

    assert TokenCipher(key + "\n").decrypt(TokenCipher(key).encrypt("x")) == "x"


def test_another_key_cannot_decrypt() -> None:
    token = TokenCipher(generate_key()).encrypt(REFRESH_TOKEN)

    with pytest.raises(DecryptionError, match="ENCRYPTION_KEY"):
        TokenCipher(generate_key()).decrypt(token)


@pytest.mark.parametrize("damage", [lambda t: t[:-4] + "AAAA", lambda t: t[:20], lambda t: "é" + t])
def test_a_damaged_token_is_refused(damage: object) -> None:
    cipher = TokenCipher(generate_key())
    token = cipher.encrypt(REFRESH_TOKEN)
    assert callable(damage)

    with pytest.raises(DecryptionError):
        cipher.decrypt(damage(token))


@pytest.mark.parametrize("key", ["", "not-a-key", "A" * 43, generate_key()[:-2]])
def test_a_malformed_key_is_named_without_being_shown(key: str) -> None:
    with pytest.raises(ValueError, match="ENCRYPTION_KEY is not a valid key") as raised:
        TokenCipher(key)

    assert not key or key not in str(raised.value)
