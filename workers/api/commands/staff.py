"""Staff users: add, invite (a single-use set-password link), set a password, deactivate,
grant roles."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from persistence.models import User
from persistence.passwords import hash_password
from persistence.repositories.access import AuditActor
from persistence.repositories.base import NotFoundError
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# A password hash no password matches: invited users sign in once they have set one.
NO_PASSWORD = "!unset"  # noqa: S105 - a marker, not a password


class WeakPasswordError(CommandError):
    """The password is shorter than ``MIN_PASSWORD_LENGTH`` (or absurdly long)."""

    field = "password"


class EmailTakenError(CommandError):
    """A live user of this tenant already has the e-mail."""

    field = "email"
    status = 409


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def user_values(user: User, roles: Sequence[str]) -> dict[str, object]:
    """What the audit records of a user (never the password hash)."""
    return {
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "active": user.active,
        "roles": sorted(roles),
    }


async def add_user(
    uow: UnitOfWork,
    *,
    actor: AuditActor,
    email: str,
    full_name: str,
    roles: Sequence[str],
    password: str | None,
    phone: str | None = None,
) -> User:
    """A user with ``roles``; without a password they cannot sign in until they set one."""
    if await uow.staff.find_by_email(email=email) is not None:
        raise EmailTakenError(f"{email.strip().lower()} is already a user of this tenant")
    password_hash = NO_PASSWORD
    if password is not None:
        password_hash = await asyncio.to_thread(hash_password, check_password(password))
    user = await uow.staff.add(
        email=email, full_name=full_name, password_hash=password_hash, phone=phone, roles=()
    )
    await uow.access.set_roles(user_id=user.id, roles=roles)
    await uow.audit.add(
        actor=actor,
        resource="user",
        resource_id=user.id,
        action="create",
        new=user_values(user, roles),
    )
    return user


@dataclass(frozen=True, slots=True)
class Invitation:
    user: User
    token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"Invitation(user={self.user.id}, expires_at={self.expires_at})"


async def invite_user(
    uow: UnitOfWork,
    *,
    actor: AuditActor,
    email: str,
    full_name: str,
    roles: Sequence[str],
    valid_for: timedelta,
    phone: str | None = None,
) -> Invitation:
    """A user without a password, and the single-use token that lets them set one."""
    user = await add_user(
        uow,
        actor=actor,
        email=email,
        full_name=full_name,
        roles=roles,
        password=None,
        phone=phone,
    )
    token, expires_at = await uow.access.add_password_token(
        user_id=user.id, purpose="invite", valid_for=valid_for
    )
    return Invitation(user=user, token=token, expires_at=expires_at)


async def set_password(uow: UnitOfWork, *, token: str, password: str) -> User | None:
    """Spend a set-password token; None if it is unknown, used or expired."""
    check_password(password)
    user_id = await uow.access.use_password_token(token=token)
    if user_id is None:
        return None
    user = await uow.staff.get(user_id=user_id)
    if user is None:
        return None
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await uow.audit.add(
        actor=AuditActor(kind="user", label=user.email, user_id=user.id),
        resource="user",
        resource_id=user.id,
        action="set_password",
    )
    await uow.session.flush()
    return user


async def live_user(uow: UnitOfWork, user_id: UUID) -> User:
    user = await uow.staff.get(user_id=user_id)
    if user is None or user.deleted_at is not None:
        raise NotFoundError(f"user {user_id} not found")
    return user


async def set_active(uow: UnitOfWork, *, actor: AuditActor, user_id: UUID, active: bool) -> User:
    """Deactivate (or reactivate) a user: a deactivated user's tokens stop working at once."""
    user = await live_user(uow, user_id)
    roles = await uow.staff.role_names(user_id=user.id)
    old = user_values(user, roles)
    user.active = active
    await uow.session.flush()
    await uow.audit.add(
        actor=actor,
        resource="user",
        resource_id=user.id,
        action="activate" if active else "deactivate",
        old=old,
        new=user_values(user, roles),
    )
    return user


async def set_roles(
    uow: UnitOfWork, *, actor: AuditActor, user_id: UUID, roles: Sequence[str]
) -> User:
    user = await live_user(uow, user_id)
    old = user_values(user, await uow.staff.role_names(user_id=user.id))
    await uow.access.set_roles(user_id=user.id, roles=roles)
    await uow.audit.add(
        actor=actor,
        resource="user",
        resource_id=user.id,
        action="set_roles",
        old=old,
        new=user_values(user, roles),
    )
    return user
