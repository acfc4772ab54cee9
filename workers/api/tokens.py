"""The API's bearer tokens: short-lived HS256 JWTs naming user, tenant and roles.

Signed with the first of ``api_token_keys`` and accepted under any of them, so a key rotates by
prepending a new one and dropping the old one once its tokens have expired. A refresh token is
the same kind of JWT with ``typ = refresh`` and a longer life.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

import jwt
from pydantic import SecretStr

ALGORITHM = "HS256"
ISSUER = "frontdesk"
TokenKind = Literal["access", "refresh"]


class InvalidTokenError(Exception):
    """Expired, forged, malformed or of the wrong kind."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: UUID
    tenant_id: UUID
    roles: tuple[str, ...]
    kind: TokenKind
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"TokenPair(expires_in={self.expires_in})"


def utc_now() -> datetime:
    return datetime.now(UTC)


class TokenIssuer:
    def __init__(
        self,
        keys: Sequence[SecretStr],
        *,
        access_seconds: int,
        refresh_seconds: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not keys:
            raise ValueError("at least one token key is required")
        self._keys = [key.get_secret_value() for key in keys]
        self.access_seconds = access_seconds
        self.refresh_seconds = refresh_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenIssuer(keys={len(self._keys)})"

    def issue(self, *, user_id: UUID, tenant_id: UUID, roles: Sequence[str]) -> TokenPair:
        return TokenPair(
            access_token=self._encode(user_id, tenant_id, roles, "access", self.access_seconds),
            refresh_token=self._encode(user_id, tenant_id, roles, "refresh", self.refresh_seconds),
            expires_in=self.access_seconds,
        )

    def verify(self, token: str, *, kind: TokenKind) -> Claims:
        payload = None
        for key in self._keys:
            try:
                payload = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "sub", "tid", "typ"], "verify_iat": False},
                    leeway=0,
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise InvalidTokenError(type(exc).__name__) from None
        if payload is None:
            raise InvalidTokenError("signature")
        expires_at = datetime.fromtimestamp(int(payload["exp"]), UTC)
        if payload["typ"] != kind or expires_at <= self._clock():
            raise InvalidTokenError("kind or expiry")
        try:
            return Claims(
                user_id=UUID(str(payload["sub"])),
                tenant_id=UUID(str(payload["tid"])),
                roles=tuple(str(role) for role in payload.get("roles", ())),
                kind=kind,
                expires_at=expires_at,
            )
        except (ValueError, TypeError):
            raise InvalidTokenError("claims") from None

    def _encode(
        self, user_id: UUID, tenant_id: UUID, roles: Sequence[str], kind: TokenKind, seconds: int
    ) -> str:
        now = self._clock()
        payload = {
            "iss": ISSUER,
            "sub": str(user_id),
            "tid": str(tenant_id),
            "roles": list(roles),
            "typ": kind,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=seconds)).timestamp()),
            "jti": uuid4().hex,
        }
        return jwt.encode(payload, self._keys[0], algorithm=ALGORITHM)
