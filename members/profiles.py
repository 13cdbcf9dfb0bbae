"""Keeping a member's LINE profile (name, picture, status message, language) current."""

import datetime as dt

from django.utils import timezone

from linebot.client import client_for_channel
from linebot.errors import LineNotFound

from .models import Member

# A follow refreshes a profile older than this: a member who blocks and unblocks again and
# again, or a follow LINE delivers twice, costs one profile call a day, not one each.
PROFILE_MAX_AGE = dt.timedelta(hours=24)


def member_profile_needed(member: Member, *, now: dt.datetime | None = None) -> bool:
    """Whether a follow should fetch the profile: never fetched, or older than a day."""
    refreshed = member.profile_refreshed_at
    return refreshed is None or (now or timezone.now()) - refreshed >= PROFILE_MAX_AGE


def member_profile_refresh(member: Member) -> bool:
    """Fetch the profile from LINE; False when LINE has none (not a friend, or blocked)."""
    try:
        profile = client_for_channel(member.channel).profile(user_id=member.line_user_id)
    except LineNotFound:
        return False
    member.display_name = profile.display_name[:100]
    member.picture_url = profile.picture_url or ""
    member.status_message = (profile.status_message or "")[:500]
    member.language = profile.language or ""
    member.profile_refreshed_at = timezone.now()
    member.save(
        update_fields=[
            "display_name",
            "picture_url",
            "status_message",
            "language",
            "profile_refreshed_at",
            "updated_at",
        ]
    )
    return True
