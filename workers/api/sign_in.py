"""Signing in with e-mail and password: throttled, recorded, and silent about which part was
wrong.

An unknown e-mail, a wrong password and a deactivated account get the same 401 (and cost the
same scrypt). Failures back off per account and per client address (``SignInPolicy``); every
attempt is recorded in ``sign_in_attempts``. An e-mail may belong to users of several tenants:
the password is checked against each, and only when it opens more than one does the caller
have to name the tenant (its slug, form field ``tenant``): nobody learns that an e-mail exists
elsewhere without its password.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from functools import cache

from persistence.models.access import SignInOutcome
from persistence.passwords import hash_password, verify_password
from persistence.sign_in import RecentFailures
from workers.api.problems import Problem, invalid, unauthorized
from workers.api.security import active_user
from workers.api.services import Services, SignInPolicy
from workers.api.tokens import InvalidTokenError, TokenPair

WRONG_CREDENTIALS = "wrong e-mail or password"


@cache
def _decoy_hash() -> str:
    """Checked when no user has the e-mail, so an unknown e-mail costs what a known one does."""
    return hash_password("frontdesk-decoy-password")


def backoff(failures: int, last: datetime | None, allowance: int, cap: timedelta) -> timedelta:
    """How long from ``last`` the next attempt must wait after ``failures`` failures."""
    if failures < allowance or last is None:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - allowance)), cap)


def wait_seconds(failures: RecentFailures, policy: SignInPolicy) -> float:
    waits = [
        (
            failures.account_last,
            backoff(
                failures.account,
                failures.account_last,
                policy.account_allowance,
                policy.max_backoff,
            ),
        ),
        (
            failures.address_last,
            backoff(
                failures.address,
                failures.address_last,
                policy.address_allowance,
                policy.max_backoff,
            ),
        ),
    ]
    return max(
        ((last + wait) - failures.now).total_seconds() if last is not None else 0.0
        for last, wait in waits
    )


async def sign_in(
    found: Services, *, email: str, password: str, tenant_slug: str | None, client_address: str
) -> TokenPair:
    directory = found.directory
    failures = await directory.recent_failures(
        email=email, client_address=client_address, window=found.sign_in_policy.window
    )
    wait = wait_seconds(failures, found.sign_in_policy)
    if wait > 0:
        await directory.record(
            email=email, client_address=client_address, outcome=SignInOutcome.THROTTLED
        )
        raise Problem(
            429,
            "too many failed sign-ins: wait before trying again",
            kind="throttled",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    candidates = await directory.candidates(email=email, tenant_slug=tenant_slug)
    opened = []
    for candidate in candidates:
        if await asyncio.to_thread(verify_password, password, candidate.password_hash):
            opened.append(candidate)
    if not candidates:
        await asyncio.to_thread(verify_password, password, _decoy_hash())
    active = [candidate for candidate in opened if candidate.active]
    if not active:
        await directory.record(
            email=email, client_address=client_address, outcome=SignInOutcome.FAILED
        )
        raise unauthorized(WRONG_CREDENTIALS)
    if len(active) > 1:
        raise invalid(
            "tenant",
            "this e-mail and password open several tenants: name one by its slug",
            location="form",
        )
    chosen = active[0]
    await directory.record(
        email=email, client_address=client_address, outcome=SignInOutcome.SUCCEEDED
    )
    async with found.uow_factory(chosen.tenant_id) as uow:
        user = await uow.staff.get(user_id=chosen.user_id)
        assert user is not None
        user.last_login_at = datetime.now(UTC)
        roles = await uow.staff.role_names(user_id=user.id)
        await uow.commit()
    return found.tokens.issue(user_id=chosen.user_id, tenant_id=chosen.tenant_id, roles=roles)


async def refresh(found: Services, *, refresh_token: str) -> TokenPair:
    """New tokens for a live user's refresh token, with the roles the user has now."""
    try:
        claims = found.tokens.verify(refresh_token, kind="refresh")
    except InvalidTokenError:
        raise unauthorized("the refresh token is invalid or expired") from None
    async with found.uow_factory(claims.tenant_id) as uow:
        user = await active_user(uow, claims.user_id)
        roles = await uow.staff.role_names(user_id=user.id)
    return found.tokens.issue(user_id=claims.user_id, tenant_id=claims.tenant_id, roles=roles)
