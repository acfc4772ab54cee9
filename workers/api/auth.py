"""Sign-in, token refresh, set-password links and who am I."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request, status
from pydantic import Field

from workers.api.commands.staff import set_password
from workers.api.problems import Problem, invalid
from workers.api.schemas import Body, Password
from workers.api.security import Context, require
from workers.api.services import Services, services
from workers.api.sign_in import refresh, sign_in
from workers.api.tokens import TokenPair

router = APIRouter(tags=["auth"])


class TokenResponse(Body):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    refresh_token: str

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
        )


class RefreshRequest(Body):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class SetPasswordRequest(Body):
    token: Annotated[str, Field(min_length=1, max_length=512)]
    password: Password


class TenantOut(Body):
    id: UUID
    slug: str
    name: str


class MeResponse(Body):
    tenant: TenantOut
    user_id: UUID | None
    api_key_id: UUID | None
    email: str | None
    full_name: str | None
    roles: list[str]
    permissions: list[str]


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Sign in with e-mail and password (OAuth2 password flow)",
    responses={401: {"description": "Wrong e-mail or password"}, 429: {"description": "Throttled"}},
)
async def token(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=320, description="The e-mail")],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    found: Annotated[Services, Depends(services)],
    tenant: Annotated[
        str | None,
        Form(max_length=63, description="Tenant slug, when the e-mail is staff of several"),
    ] = None,
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenResponse:
    address = request.client.host if request.client else "unknown"
    pair = await sign_in(
        found,
        email=username,
        password=password,
        tenant_slug=tenant or None,
        client_address=address,
    )
    return TokenResponse.of(pair)


@router.post(
    "/auth/refresh", response_model=TokenResponse, summary="New tokens for a refresh token"
)
async def refresh_tokens(
    body: RefreshRequest, found: Annotated[Services, Depends(services)]
) -> TokenResponse:
    return TokenResponse.of(await refresh(found, refresh_token=body.refresh_token))


@router.post(
    "/auth/set-password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a password with the single-use token of an invitation",
)
async def set_password_with_token(
    body: SetPasswordRequest, found: Annotated[Services, Depends(services)]
) -> None:
    tenant_hex, _, _ = body.token.partition(".")
    try:
        tenant_id = UUID(hex=tenant_hex)
    except ValueError:
        raise invalid("token", "the link is invalid, used or expired") from None
    async with found.uow_factory(tenant_id) as uow:
        user = await set_password(uow, token=body.token, password=body.password.get_secret_value())
        if user is None:
            raise invalid("token", "the link is invalid, used or expired")
        await uow.commit()


@router.get("/me", response_model=MeResponse, summary="The signed-in caller")
async def me(context: Annotated[Context, Depends(require(None))]) -> MeResponse:
    principal, uow = context.principal, context.uow
    tenant = await uow.tenants.get()
    if tenant is None:
        raise Problem(401, "the tenant is gone", kind="unauthorized")
    email = full_name = None
    if principal.user_id is not None:
        user = await uow.staff.get(user_id=principal.user_id)
        email, full_name = (user.email, user.full_name) if user else (None, None)
    return MeResponse(
        tenant=TenantOut(id=tenant.id, slug=tenant.slug, name=tenant.name),
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
        email=email,
        full_name=full_name,
        roles=list(principal.roles),
        permissions=sorted(principal.permissions),
    )
