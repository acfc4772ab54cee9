"""What a webhook route declares it needs, resolved by FastAPI before the route runs.

``channel_for(provider)`` opens the request's account: from there on it is counted under its
provider, refused at once when it declares a body over the limit, and given the channel its
path names (or 404). ``bounded_body`` then reads the body, counting what streams in, since the
declared length may be absent or a lie. A route lists the channel before the body, so an
unknown channel is refused before its body is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from domain.channels import ChannelRoute
from domain.events import Provider
from workers.ingress.accept import Acceptance
from workers.ingress.body import check_declared_size, read_body


def acceptance(request: Request) -> Acceptance:
    """The app's ``Acceptance``."""
    accept: Acceptance = request.app.state.acceptance
    return accept


Accept = Annotated[Acceptance, Depends(acceptance)]


@dataclass(frozen=True)
class ChannelFor:
    """The dependency ``channel_for`` makes for one provider."""

    provider: Provider

    async def __call__(
        self, request: Request, channel_id: UUID, accept: Accept
    ) -> AsyncIterator[ChannelRoute]:
        async with accept.counted(request, self.provider):
            check_declared_size(request, accept.max_body_bytes)
            yield await accept.resolve(channel_id, self.provider)


def channel_for(provider: Provider) -> ChannelFor:
    """The enabled channel of ``provider`` the path's ``channel_id`` names; the request is
    counted under ``provider`` from here on."""
    return ChannelFor(provider)


async def bounded_body(request: Request, accept: Accept) -> bytes:
    """The raw body, refused with 413 past the configured limit."""
    return await read_body(request, accept.max_body_bytes)


Body = Annotated[bytes, Depends(bounded_body)]
