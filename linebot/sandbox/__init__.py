"""A local emulator of the LINE platform (Messaging API, webhooks, LINE Login), in memory.

``create_app()`` gives the WSGI application; ``python -m linebot.sandbox --port 8001`` serves it
(``--help`` for the options). Importable without Django settings.

- LINE's paths (``/v2/bot/...``, ``/oauth2/v2.1/...``, ``/dialog/bot/accountLink``) answer
  with LINE's shapes, limits, status codes and ``x-line-request-id``. An unknown bearer token
  becomes a channel of its own unless ``autoChannels`` is switched off.
- ``/sandbox/api/...`` is the control API (``control.SandboxControl`` wraps it): register a
  channel with ``PUT /sandbox/api/channels/{channelId}`` (``accessToken``, ``channelSecret``,
  ``webhookUrl``...), create users and make them act, set limits, quota and faults, inspect.
- ``/sandbox/`` lists channels and users; ``/sandbox/users/{userId}`` is that user's phone.
"""

from .app import SandboxApp, create_app

__all__ = ["SandboxApp", "create_app"]
