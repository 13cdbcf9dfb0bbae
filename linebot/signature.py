"""The webhook signature: base64(HMAC-SHA256(channel secret, raw body))."""

import base64
import hashlib
import hmac


def signature_create(*, channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(*, channel_secret: str, body: bytes, signature: str | None) -> bool:
    """Check the ``X-Line-Signature`` header against the raw body, in constant time."""
    if not signature:
        return False
    expected = signature_create(channel_secret=channel_secret, body=body)
    return hmac.compare_digest(expected.encode(), signature.encode())
