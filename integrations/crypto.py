"""Encryption of secrets kept at rest (the users' calendar refresh tokens), with Fernet.

Fernet authenticates as well as encrypts, so a token changed in the database fails to decrypt instead of
turning into another valid secret.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

_BAD_KEY = (
    "ENCRYPTION_KEY is not a valid key: it must be 32 random bytes in url-safe base64 (44 characters). "
    'Create one with: python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class DecryptionError(ValueError):
    """A stored token cannot be decrypted: it was damaged, or encrypted under another ENCRYPTION_KEY."""


def generate_key() -> str:
    """A fresh random key, in the form ``ENCRYPTION_KEY`` expects."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Encrypts and decrypts short secrets with one key (``ENCRYPTION_KEY``)."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except ValueError:
            # Neither the key nor cryptography's message about it may reach a log.
            raise ValueError(_BAD_KEY) from None

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise DecryptionError(
                "A stored token could not be decrypted; it was damaged or encrypted under another ENCRYPTION_KEY."
            ) from None
