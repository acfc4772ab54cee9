"""Signed, expiring tokens for the staff acknowledgement link (``GET /ack/{token}``).

The token names the tenant and the notification; the signature (HMAC-SHA256 with the signing
key) is what lets the ingress accept an acknowledgement without a login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

DEFAULT_VALIDITY = timedelta(days=7)


class InvalidAckToken(ValueError):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class AckClaim:
    tenant_id: UUID
    notification_id: UUID
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:20]


def make_token(
    *,
    key: bytes,
    tenant_id: UUID,
    notification_id: UUID,
    now: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> str:
    expires_at = int((now + validity).timestamp())
    payload = tenant_id.bytes + notification_id.bytes + expires_at.to_bytes(8, "big")
    return _b64(payload + _sign(key, payload))


def read_token(*, key: bytes, token: str, now: datetime) -> AckClaim:
    """Return the claim of a valid token; raise ``InvalidAckToken`` otherwise."""
    try:
        raw = _unb64(token)
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidAckToken("malformed token") from exc
    if len(raw) != 16 + 16 + 8 + 20:
        raise InvalidAckToken("malformed token")
    payload, signature = raw[:40], raw[40:]
    if not hmac.compare_digest(signature, _sign(key, payload)):
        raise InvalidAckToken("bad signature")
    claim = AckClaim(
        tenant_id=UUID(bytes=payload[:16]),
        notification_id=UUID(bytes=payload[16:32]),
        expires_at=int.from_bytes(payload[32:], "big"),
    )
    if claim.expires_at < now.timestamp():
        raise InvalidAckToken("expired")
    return claim
