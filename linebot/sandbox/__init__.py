"""A local emulator of the LINE platform (Messaging API, webhooks, LINE Login), in memory.

``create_app()`` gives the WSGI application; ``python -m linebot.sandbox`` serves it.
Importable without Django settings.
"""

from .app import SandboxApp, create_app

__all__ = ["SandboxApp", "create_app"]
