"""Creating and updating channels, for the admin, scripts and ops."""

import time

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Channel


@transaction.atomic
def channel_upsert(*, channel_id: str, **fields) -> tuple[Channel, bool]:
    """Create the channel with this channel id, or update the given fields of the existing one.

    Fields left out (or None) keep their current value. Raises ValidationError, naming the
    field, before anything is written.
    """
    fields = {key: value for key, value in fields.items() if value is not None}
    channel = Channel.objects.select_for_update().filter(channel_id=channel_id).first()
    created = channel is None
    if created:
        channel = Channel(channel_id=channel_id)
    for key, value in fields.items():
        setattr(channel, key, value)
    channel.full_clean()
    channel.save()
    return channel, created


# The channel of each webhook URL, kept a few seconds per process: LINE posts to a channel's URL
# hundreds of times a second, and the channel's row hardly ever changes. A save or delete in
# this process forgets it at once. In other processes a changed secret is met by reading the
# row again when a signature does not match (``fresh=True``); a channel deactivated there still
# receives for up to WEBHOOK_CHANNEL_TTL seconds. Unknown keys are never kept.
WEBHOOK_CHANNEL_TTL = 10.0
_webhook_channels: dict[str, tuple[float, Channel]] = {}


def webhook_channel(webhook_key, *, fresh: bool = False) -> Channel | None:
    """The active channel whose webhook URL carries ``webhook_key``, or None."""
    key = str(webhook_key)
    now = time.monotonic()
    cached = _webhook_channels.get(key)
    if not fresh and cached is not None and now - cached[0] < WEBHOOK_CHANNEL_TTL:
        return cached[1]
    channel = Channel.objects.active().filter(webhook_key=key).first()
    if channel is None:
        _webhook_channels.pop(key, None)
    else:
        _webhook_channels[key] = (now, channel)
    return channel


@receiver([post_save, post_delete], sender=Channel)
def _webhook_channel_forget(sender, instance: Channel, **kwargs) -> None:
    _webhook_channels.pop(str(instance.webhook_key), None)
