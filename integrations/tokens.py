"""Integration tokens: issued once, kept only hashed, checked on every API request."""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linebot.models import Channel

from .models import Integration

# Marks our tokens, so secret scanners and people can recognise a leaked one.
TOKEN_PREFIX = "crm_"  # noqa: S105 (a prefix, not a secret)
# Writing last_used_at on every request would make each API call also an UPDATE.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_hash(token: str) -> str:
    """The stored form of a token. Tokens are 256 random bits, so no salt or stretching."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_generate() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def integration_create(
    *, name: str, channel: Channel, created_by=None, token: str | None = None
) -> tuple[Integration, str]:
    """A new integration and its token; the token is returned here and never again.

    ``token`` is for the demo only, which keeps its token across runs (see integrations.demo).
    """
    token = token or token_generate()
    integration = Integration.objects.create(
        name=name,
        channel=channel,
        token_prefix=token[: len(TOKEN_PREFIX) + 6],
        token_sha256=token_hash(token),
        created_by=created_by,
    )
    return integration, token


def integration_revoke(*, integration: Integration) -> bool:
    """Stop the integration's token from working, at once and for good. False if already so."""
    updated = Integration.objects.filter(pk=integration.pk, is_active=True).update(
        is_active=False, revoked_at=timezone.now()
    )
    integration.refresh_from_db(fields=["is_active", "revoked_at"])
    return bool(updated)


def integration_for_token(token: str) -> Integration | None:
    """The active integration a token belongs to (its channel loaded), or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    integration = (
        Integration.objects.active()
        .select_related("channel")
        .filter(token_sha256=token_hash(token))
        .first()
    )
    if integration is None:
        return None
    now = timezone.now()
    if integration.last_used_at is None or integration.last_used_at < now - LAST_USED_RESOLUTION:
        Integration.objects.filter(pk=integration.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        integration.last_used_at = now
    return integration
