"""A channel's send rate (``channels.manage``): the dispatcher keeps each channel to its
provider's documented limit (``domain.rate_limits``); a channel whose account allows more (a
WhatsApp number on a higher tier, a Twilio short code) or must send less gets its own rate
here. The limits in force are in every channel's ``send_limit``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import Field

from domain.rate_limits import MAX_SENDS_PER_SECOND
from workers.api.channels import ChannelOut, channel_out, load_channel
from workers.api.commands.send_limits import set_send_rate
from workers.api.schemas import Body
from workers.api.security import Context, require

router = APIRouter(prefix="/channels", tags=["channels"])
Manage = Annotated[Context, Depends(require("channels.manage"))]


class SendRate(Body):
    sends_per_second: Annotated[
        Decimal | None,
        Field(
            gt=0,
            le=MAX_SENDS_PER_SECOND,
            max_digits=7,
            decimal_places=3,
            description="The channel's own sends a second (e.g. 0.5: one every two seconds);"
            " null or left out: the provider's documented limit.",
        ),
    ] = None


@router.put("/{channel_id}/send-limit", response_model=ChannelOut)
async def set_send_limit(channel_id: UUID, body: SendRate, context: Manage) -> ChannelOut:
    """Set the channel's own send rate, or go back to the provider's limit (null)."""
    await load_channel(context, channel_id)
    row = await set_send_rate(
        context.uow,
        actor=context.principal.actor,
        channel_id=channel_id,
        sends_per_second=body.sends_per_second,
    )
    out = await channel_out(context, row)
    await context.uow.commit()
    return out
