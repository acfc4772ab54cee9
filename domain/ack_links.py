"""Signed, expiring tokens for the staff acknowledgement link (``/ack/{token}``).

The token names the tenant, the notification and the alert target it was sent to (so the
acknowledgement says who took it); the signature (HMAC-SHA256 with the signing key) is what
lets the ingress accept an acknowledgement without a login. Tokens from before targets were
named (no target id) are still read, until they expire.
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
    target_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Whether, when and by whom a notification was acknowledged."""

    acknowledged_at: datetime | None
    acknowledged_by_name: str | None  # the staff user's name, when the target has one
    acknowledged_via: str | None  # the alert target whose link was used

    def who(self) -> str:
        names = [n for n in (self.acknowledged_by_name, self.acknowledged_via) if n]
        if len(names) == 2:
            return f"{names[0]} ({names[1]})"
        return names[0] if names else "a staff member"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:20]


_IDS = 16 + 16  # tenant, notification
_EXPIRY = 8
_TARGET = 16
_SIGNATURE = 20


def make_token(
    *,
    key: bytes,
    tenant_id: UUID,
    notification_id: UUID,
    target_id: UUID,
    now: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> str:
    expires_at = int((now + validity).timestamp())
    expiry = expires_at.to_bytes(_EXPIRY, "big")
    payload = tenant_id.bytes + notification_id.bytes + expiry + target_id.bytes
    return _b64(payload + _sign(key, payload))


def read_token(*, key: bytes, token: str, now: datetime) -> AckClaim:
    """Return the claim of a valid token; raise ``InvalidAckToken`` otherwise."""
    try:
        raw = _unb64(token)
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidAckToken("malformed token") from exc
    if len(raw) not in (_IDS + _EXPIRY + _SIGNATURE, _IDS + _EXPIRY + _TARGET + _SIGNATURE):
        raise InvalidAckToken("malformed token")
    payload, signature = raw[:-_SIGNATURE], raw[-_SIGNATURE:]
    if not hmac.compare_digest(signature, _sign(key, payload)):
        raise InvalidAckToken("bad signature")
    target = payload[_IDS + _EXPIRY :]
    claim = AckClaim(
        tenant_id=UUID(bytes=payload[:16]),
        notification_id=UUID(bytes=payload[16:_IDS]),
        expires_at=int.from_bytes(payload[_IDS : _IDS + _EXPIRY], "big"),
        target_id=UUID(bytes=target) if target else None,
    )
    if claim.expires_at < now.timestamp():
        raise InvalidAckToken("expired")
    return claim
