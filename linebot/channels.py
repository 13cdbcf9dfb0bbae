"""Creating and updating channels, for the admin, scripts and ops."""

from django.db import transaction

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
