"""Staff users (``users.manage``): list, invite (a single-use set-password token), deactivate
and reactivate, grant roles. Passwords and their hashes never leave frontdesk."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field

from persistence.models import User
from persistence.models.staff import ROLE_NAMES
from workers.api.commands.staff import invite_user, live_user, set_active, set_roles
from workers.api.problems import conflict
from workers.api.schemas import Body, Email, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/users", tags=["users"])
Manage = Annotated[Context, Depends(require("users.manage"))]
RoleName = Literal["admin", "supervisor", "team_lead", "agent"]
Roles = Annotated[list[RoleName], Field(min_length=1, max_length=len(ROLE_NAMES))]


class Invite(Body):
    email: Email
    full_name: Name
    roles: Roles
    phone: Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")] | None = None


class RolesUpdate(Body):
    roles: Roles


class UserOut(Out):
    id: UUID
    email: str
    full_name: str
    phone: str | None
    active: bool
    roles: list[str]
    last_login_at: datetime | None
    created_at: datetime


class Invitation(Body):
    user: UserOut
    token: str = Field(description="Single use; POST it with a password to set_password_url.")
    set_password_url: str
    expires_at: datetime


async def _out(context: Context, user: User) -> UserOut:
    roles = await context.uow.staff.role_names(user_id=user.id)
    return UserOut(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        phone=user.phone,
        active=user.active,
        roles=roles,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


@router.get("", response_model=list[UserOut])
async def list_users(context: Manage) -> list[UserOut]:
    return [await _out(context, user) for user in await context.uow.staff.list_live()]


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: UUID, context: Manage) -> UserOut:
    return await _out(context, await live_user(context.uow, user_id))


@router.post("/invitations", status_code=status.HTTP_201_CREATED, response_model=Invitation)
async def invite(body: Invite, context: Manage) -> Invitation:
    """Add a user who sets their own password with the returned single-use token."""
    settings = context.services.settings
    invitation = await invite_user(
        context.uow,
        actor=context.principal.actor,
        email=body.email,
        full_name=body.full_name,
        roles=body.roles,
        phone=body.phone,
        valid_for=timedelta(hours=settings.api_invite_hours),
    )
    out = await _out(context, invitation.user)
    await context.uow.commit()
    return Invitation(
        user=out,
        token=invitation.token,
        set_password_url=f"{settings.api_public_url}/api/v1/auth/set-password",
        expires_at=invitation.expires_at,
    )


@router.post("/{user_id}/deactivate", response_model=UserOut)
async def deactivate(user_id: UUID, context: Manage) -> UserOut:
    """The user's tokens stop working at once; they cannot sign in until reactivated."""
    if user_id == context.principal.user_id:
        raise conflict("you cannot deactivate yourself")
    return await _activation(context, user_id, active=False)


@router.post("/{user_id}/activate", response_model=UserOut)
async def activate(user_id: UUID, context: Manage) -> UserOut:
    return await _activation(context, user_id, active=True)


async def _activation(context: Context, user_id: UUID, *, active: bool) -> UserOut:
    user = await set_active(
        context.uow, actor=context.principal.actor, user_id=user_id, active=active
    )
    out = await _out(context, user)
    await context.uow.commit()
    return out


@router.put("/{user_id}/roles", response_model=UserOut)
async def grant_roles(user_id: UUID, body: RolesUpdate, context: Manage) -> UserOut:
    """Replace the user's roles."""
    user = await set_roles(
        context.uow, actor=context.principal.actor, user_id=user_id, roles=body.roles
    )
    out = await _out(context, user)
    await context.uow.commit()
    return out
