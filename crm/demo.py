"""Demo data for the run command: staff users for each role and a sandbox channel.

Idempotent: running it again keeps what exists. Passwords are generated once per checkout and
kept in ``var/demo-credentials.json`` (never committed), so the printed login stays valid.
"""

import json
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from crm import roles
from linebot.channels import channel_upsert
from linebot.models import Channel, Platform

DEMO_CHANNEL_ID = "2000000001"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def _credentials() -> dict[str, str]:
    path = settings.VAR_DIR / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    credentials = {
        "channel_secret": secrets.token_hex(16),
        "access_token": secrets.token_urlsafe(32),
        **{name: secrets.token_urlsafe(9) for name in ("admin", "marketer", "agent")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return credentials


@transaction.atomic
def demo_setup() -> tuple[list[DemoLogin], Channel]:
    if settings.PRODUCTION:
        raise ImproperlyConfigured("Demo data is for development only (CRM_ENV=production).")
    credentials = _credentials()
    roles.roles_sync()
    logins = []
    User = get_user_model()
    for username, role in (
        ("admin", roles.ADMINISTRATORS),
        ("marketer", roles.MARKETING),
        ("agent", roles.SUPPORT),
    ):
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@example.com"}
        )
        if created:
            user.set_password(credentials[username])
            user.is_superuser = role == roles.ADMINISTRATORS
            user.save()
            user.groups.add(Group.objects.get(name=role))
        logins.append(DemoLogin(username, credentials[username], role))
    channel, _created = channel_upsert(
        channel_id=DEMO_CHANNEL_ID,
        name="Demo Shop",
        channel_secret=credentials["channel_secret"],
        access_token=credentials["access_token"],
        bot_basic_id="@demoshop",
        platform=Platform.SANDBOX,
    )
    return logins, channel
