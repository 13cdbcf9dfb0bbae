"""Configuring the sandbox from JSON-like data: the control API and ``--config`` share these.

Each function changes the state under the lock and raises ``ValueError`` with a readable
message for bad input.
"""

from typing import Any

from .faults import FaultRule
from .state import Channel, LoginChannel, Sandbox

CHANNEL_FIELDS = {
    "accessToken": "access_token",
    "channelSecret": "channel_secret",
    "botUserId": "bot_user_id",
    "basicId": "basic_id",
    "name": "name",
    "webhookUrl": "webhook_url",
    "webhookActive": "webhook_active",
    "pictureUrl": "picture_url",
    "usage": "usage",
}


def channel_apply(sandbox: Sandbox, channel_id: str, data: dict[str, Any]) -> Channel:
    """Create or update a channel; credentials left out (or empty) are generated once.

    A ``webhookUrl`` starting with ``/`` is taken relative to the sandbox's app URL.
    """
    values = {snake: data[camel] for camel, snake in CHANNEL_FIELDS.items() if camel in data}
    url = values.get("webhook_url")
    if isinstance(url, str) and url.startswith("/"):
        if not sandbox.app_url:
            raise ValueError("A relative webhookUrl needs the sandbox's app URL (--app-url)")
        values["webhook_url"] = sandbox.app_url + url
    with sandbox.lock:
        channel = sandbox.channel_register(channel_id=channel_id, **values)
        if "quota" in data:
            channel.quota = None if data["quota"] is None else int(data["quota"])
        return channel


def login_channel_apply(sandbox: Sandbox, channel_id: str, data: dict[str, Any]) -> LoginChannel:
    """Create or update a Login channel; its issued codes and tokens survive an update."""
    messaging_id = str(data.get("messagingChannelId", ""))
    secret = str(data.get("channelSecret") or "")
    with sandbox.lock:
        if messaging_id not in sandbox.channels:
            raise ValueError(f"Messaging channel {messaging_id!r} is not registered")
        if not secret:
            raise ValueError("channelSecret is required")
        login_channel = sandbox.login_channels.get(channel_id)
        if login_channel is None:
            login_channel = LoginChannel(channel_id, secret, messaging_id)
            sandbox.login_channels[channel_id] = login_channel
        login_channel.channel_secret = secret
        login_channel.messaging_channel_id = messaging_id
        login_channel.callback_urls = list(data.get("callbackUrls") or [])
        return login_channel


def limits_apply(sandbox: Sandbox, data: dict[str, Any]) -> None:
    """``limits`` by name, ``rateLimits`` {endpoint: [count, seconds] or None},
    ``rateLimitsEnabled``."""
    with sandbox.lock:
        try:
            sandbox.limits = sandbox.limits.updated(data.get("limits") or {})
        except TypeError as error:
            raise ValueError(str(error)) from error
        if "rateLimitsEnabled" in data:
            sandbox.rate_limiter.enabled = bool(data["rateLimitsEnabled"])
        for endpoint, rate in (data.get("rateLimits") or {}).items():
            if rate is None:
                sandbox.rate_limiter.overrides.pop(endpoint, None)
            else:
                sandbox.rate_limiter.overrides[endpoint] = (int(rate[0]), float(rate[1]))
        sandbox.rate_limiter.reset()


def faults_apply(sandbox: Sandbox, data: dict[str, Any]) -> None:
    """Replace the fault rules (``rules``), restarting the generator (``seed`` if given)."""
    try:
        rules = [FaultRule.from_dict(rule) for rule in data.get("rules") or []]
    except TypeError as error:
        raise ValueError(str(error)) from error
    seed = data.get("seed")
    sandbox.faults.configure(rules, seed=None if seed is None else int(seed))


def setup_apply(sandbox: Sandbox, data: dict[str, Any]) -> None:
    """A whole configuration: ``channels`` and ``loginChannels`` (lists with their ``channelId``),
    ``limits``, ``rateLimits``, ``rateLimitsEnabled``, ``faults`` (a rule list), ``faultSeed``,
    ``autoChannels``, ``asyncWebhooks`` and ``appUrl``."""
    with sandbox.lock:
        if "appUrl" in data:
            sandbox.app_url = str(data["appUrl"]).rstrip("/")
        if "autoChannels" in data:
            sandbox.auto_channels = bool(data["autoChannels"])
        if "asyncWebhooks" in data:
            sandbox.async_webhooks = bool(data["asyncWebhooks"])
        for channel in data.get("channels") or []:
            channel_apply(sandbox, str(channel["channelId"]), channel)
        for login_channel in data.get("loginChannels") or []:
            login_channel_apply(sandbox, str(login_channel["channelId"]), login_channel)
        limits_apply(sandbox, data)
        if "faults" in data:
            faults_apply(sandbox, {"rules": data["faults"], "seed": data.get("faultSeed")})
