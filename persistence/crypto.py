"""Secrets at rest: Fernet tokens under a list of keys, newest first, so keys can rotate.

Rotation: prepend a new key to ``encryption_keys`` (old ones still decrypt), run ``rotate`` over
the stored tokens (``persistence.rotation``), then drop the old key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from persistence.config import CipherSettings


class SecretDecryptionError(Exception):
    """A stored secret was not made by any configured key (wrong or removed key, or tampering)."""


class SecretCipher:
    def __init__(self, keys: Sequence[str | bytes | SecretStr]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        fernets = [Fernet(_raw(key)) for key in keys]
        self._multi = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: CipherSettings) -> SecretCipher:
        return cls(list(settings.encryption_keys))

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token (URL-safe text) with the newest key."""
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "secret cannot be decrypted with the configured keys"
            ) from exc

    def rotate(self, token: str) -> str:
        """The same secret re-encrypted under the newest key."""
        try:
            return self._multi.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "secret cannot be decrypted with the configured keys"
            ) from exc

    def encrypt_json(self, values: Mapping[str, str]) -> str:
        return self.encrypt(json.dumps(dict(values), sort_keys=True))

    def decrypt_json(self, token: str) -> dict[str, str]:
        loaded = json.loads(self.decrypt(token))
        if not isinstance(loaded, dict):
            raise SecretDecryptionError("encrypted credentials are not a JSON object")
        return {str(key): str(value) for key, value in loaded.items()}


def _raw(key: str | bytes | SecretStr) -> bytes:
    if isinstance(key, SecretStr):
        key = key.get_secret_value()
    return key.encode() if isinstance(key, str) else key
