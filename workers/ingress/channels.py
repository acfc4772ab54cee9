"""The ingress's channel lookup: the cache shared with the dispatcher, under its ingress name."""

from workers.channel_cache import CachedChannels, ChannelLookup

__all__ = ["CachedChannels", "ChannelLookup"]
