"""Secrets at rest and bearer tokens.

Store secrets must be readable by HQ (HMAC verification needs them), so they are kept
encrypted with the server key (``O2O_HQ_SECRET_KEY``, a Fernet key) rather than hashed.
Staff bearer tokens are only compared, so only their SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    CHANNEL = "channel"
    """A machine client of an online channel (web shop, mini-program): availability only."""


class ServerKeyError(ValueError):
    pass


class Vault:
    """Encrypts values at rest with the server key."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ServerKeyError(
                "O2O_HQ_SECRET_KEY is not set; create one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            )
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as exc:
            raise ServerKeyError(f"O2O_HQ_SECRET_KEY is not a Fernet key: {exc}") from None

    def encrypt(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise ServerKeyError(
                "a value at rest does not decrypt: wrong O2O_HQ_SECRET_KEY"
            ) from None


def new_server_key() -> str:
    return Fernet.generate_key().decode()


def new_key_id() -> str:
    return "k_" + secrets.token_hex(10)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_staff_token() -> str:
    return "hq_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
