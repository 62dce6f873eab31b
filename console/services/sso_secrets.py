"""Encryption of organizations' SSO client secrets at rest (Fernet: AES-128-CBC with an HMAC-SHA256).

The console needs the plain secret back (an OIDC sign-in sends it to the provider), so it is
encrypted, not hashed. The key is derived with HKDF from the console's storage secret
(`Settings.resolve_storage_secret`, which production must configure), with its own `info` so that
the derived key is good for this purpose only: a cookie signature never doubles as it.

Changing the storage secret makes the stored secrets unreadable: `decrypt` then refuses
(`SecretUnreadable`) and an admin enters the client secret again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from console.config import get_settings

_INFO = b"simvado-console sso client secret v1"


class SecretUnreadable(Exception):
    """The stored value was not made with this console's key (or was altered)."""


def _fernet() -> Fernet:
    secret = get_settings().resolve_storage_secret().encode()
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    """The value to store for `plain` (text; a new random IV each time, so equal secrets differ)."""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    """The plain secret behind a value `encrypt` made; SecretUnreadable if this key did not make it."""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("The stored client secret cannot be read with this console's key.") from exc
