"""Keeping the media members send (images, video, audio, files): LINE's copy expires."""

import mimetypes

from django.core.files.base import ContentFile

from linebot.client import client_for_channel

from .models import Message

MAX_CONTENT_BYTES = 300 * 1024 * 1024


def message_content_store(message: Message) -> None:
    """Download the message's content from LINE into our storage, once."""
    if message.content or message.unsent_at:
        return
    client = client_for_channel(message.channel)
    with client.message_content(message_id=message.line_message_id) as content:
        data = bytearray()
        for chunk in content.iter_bytes():
            data.extend(chunk)
            if len(data) > MAX_CONTENT_BYTES:
                raise ValueError(
                    f"Content of message {message.pk} exceeds {MAX_CONTENT_BYTES} bytes"
                )
        content_type = (content.content_type or "application/octet-stream").split(";")[0]
    extension = mimetypes.guess_extension(content_type) or ".bin"
    name = message.payload.get("fileName") or f"{message.line_message_id}{extension}"
    message.content_type = content_type
    message.content.save(name, ContentFile(bytes(data)), save=False)
    message.save(update_fields=["content", "content_type"])
