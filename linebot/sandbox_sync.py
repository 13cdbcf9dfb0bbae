"""Telling the sandbox about our sandbox channels: it keeps its state in memory only."""

import time

import requests
from django.conf import settings
from django.urls import reverse

from .models import Channel, Platform
from .sandbox.control import SandboxControl


def sandbox_control() -> SandboxControl:
    return SandboxControl(settings.LINE_SANDBOX_URL)


def sandbox_wait(*, url: str, timeout: float) -> bool:
    """Wait until ``url`` answers at all (the sandbox or the web app starting up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return True
        except requests.ConnectionError:
            time.sleep(0.5)
    return False


def sandbox_channel_register(channel: Channel, *, control: SandboxControl | None = None) -> None:
    """Register the channel's credentials and webhook URL, and keep the bot user id it gets."""
    control = control or sandbox_control()
    registered = control.channel_register(
        channel.channel_id,
        accessToken=channel.access_token,
        channelSecret=channel.channel_secret,
        webhookUrl=channel.webhook_url,
        basicId=channel.bot_basic_id,
        name=channel.name,
        **({"botUserId": channel.bot_user_id} if channel.bot_user_id else {}),
    )
    if channel.login_app:
        # The Login channel shares the provider, hence the user ids, of this channel.
        control.login_channel_register(
            channel.login_app.client_id,
            channel_secret=channel.login_app.secret,
            messaging_channel_id=channel.channel_id,
            callback_urls=[settings.SITE_URL + reverse("line_callback")],
        )
    if channel.bot_user_id != registered["botUserId"]:
        channel.bot_user_id = registered["botUserId"]
        channel.save(update_fields=["bot_user_id", "updated_at"])


def sandbox_channels_register() -> list[Channel]:
    control = sandbox_control()
    channels = list(
        Channel.objects.active().filter(platform=Platform.SANDBOX).select_related("login_app")
    )
    for channel in channels:
        sandbox_channel_register(channel, control=control)
    return channels
