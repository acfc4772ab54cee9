"""The HTTP ingress: providers' webhooks become confirmed events on the broker."""

from workers.ingress.app import create_app
from workers.ingress.channels import CachedChannels, ChannelLookup
from workers.ingress.server import run

__all__ = ["CachedChannels", "ChannelLookup", "create_app", "run"]
