"""ID linking: tying a LINE friend (Member) to a site user, three ways, and undoing it.

- LINE Login (``linebot.login``): the login itself proves the LINE account.
- The Messaging API account link: we issue a link token for the friend, the friend signs in to
  the site, we redirect to LINE's dialog with a single-use nonce; LINE's ``accountLink`` webhook
  with that nonce completes the link.
- A signed, expiring link URL carrying the LINE user id, for links sent in messages.
"""

import base64
import datetime as dt
import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from linebot.models import Channel

from . import signals
from .models import (
    AccountLinkNonce,
    FriendStatus,
    LinkAction,
    LinkEvent,
    LinkMethod,
    LinkRateSnapshot,
    Member,
    MemberLink,
)

logger = logging.getLogger(__name__)
LINK_URL_SALT = "members.linking.link-url"


class LinkRefused(Exception):
    """A link attempt that must not link anything; ``reason`` says why (for staff, no PII)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def member_get_or_create(*, channel: Channel, line_user_id: str) -> Member:
    """The member for a LINE user, created when the follow webhook has not arrived yet.

    The webhook handler uses the same (channel, line_user_id) key, so the two never duplicate.
    """
    member, _created = Member.objects.get_or_create(channel=channel, line_user_id=line_user_id)
    return member


@transaction.atomic
def member_link(
    *, member: Member, user, method: str, consent: bool = True, by_staff=None
) -> MemberLink:
    """Link the member to the site user, replacing any other active link of either."""
    now = timezone.now()
    member = Member.objects.select_for_update().get(pk=member.pk)
    previous = (
        MemberLink.objects.active()
        .filter(channel_id=member.channel_id, user=user)
        .exclude(member=member)
    )
    for old in previous.select_for_update():
        _unlink(old, at=now, by_staff=by_staff, reason="replaced by a new link")
    link = MemberLink.objects.filter(member=member).first()
    if link and link.is_active and link.user_id != user.pk:
        _unlink(link, at=now, by_staff=by_staff, reason="replaced by a new link")
    if link is None:
        link = MemberLink(member=member, channel_id=member.channel_id)
    link.user = user
    link.method = method
    link.linked_at = now
    link.consent_at = now if consent else None
    link.unlinked_at = None
    link.save()
    LinkEvent.objects.create(
        channel_id=member.channel_id,
        member=member,
        user=user,
        action=LinkAction.LINKED,
        method=method,
        by_staff=by_staff,
    )
    signals.member_linked.send(sender=Member, member=member, link=link, method=method)
    return link


def _unlink(link: MemberLink, *, at, by_staff=None, reason: str = "") -> None:
    link.unlinked_at = at
    link.save(update_fields=["unlinked_at"])
    LinkEvent.objects.create(
        channel_id=link.channel_id,
        member_id=link.member_id,
        user_id=link.user_id,
        action=LinkAction.UNLINKED,
        method=link.method,
        by_staff=by_staff,
        reason=reason,
    )


@transaction.atomic
def member_unlink(*, member: Member, by_staff=None, reason: str = "") -> bool:
    """End the member's active link (by the member, or by staff); False if there was none."""
    link = MemberLink.objects.active().select_for_update().filter(member=member).first()
    if link is None:
        return False
    _unlink(link, at=timezone.now(), by_staff=by_staff, reason=reason)
    return True


def link_refused_record(*, channel: Channel, reason: str, member=None, user=None, method=""):
    LinkEvent.objects.create(
        channel=channel,
        member=member,
        user=user,
        action=LinkAction.REFUSED,
        method=method,
        reason=reason[:200],
    )
    logger.warning("ID link refused on channel %s: %s", channel.pk, reason)


# LINE Login


@transaction.atomic
def line_login_link(
    *,
    user,
    channel: Channel,
    line_user_id: str,
    profile: dict,
    friend_flag: bool | None,
    friendship_status_changed: bool | None,
) -> MemberLink:
    """After a LINE Login: link the user to their member and note what LINE said of friendship."""
    member = member_get_or_create(channel=channel, line_user_id=line_user_id)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.display_name and profile.get("name"):
        member.display_name = profile["name"][:100]
    if not member.picture_url and profile.get("picture"):
        member.picture_url = profile["picture"][:500]
    now = timezone.now()
    if friend_flag is True and member.friend_status != FriendStatus.FRIEND:
        member.friend_status = FriendStatus.FRIEND
        member.followed_at = member.followed_at or now
        member.first_followed_at = member.first_followed_at or now
    elif friend_flag is False and member.friend_status == FriendStatus.FRIEND:
        # LINE says "not a friend" for a friend we knew: they blocked us since.
        member.friend_status = FriendStatus.BLOCKED
        member.blocked_at = now
    member.save()
    link = MemberLink.objects.active().filter(member=member, user=user).first()
    if link is None:
        link = member_link(member=member, user=user, method=LinkMethod.LINE_LOGIN)
    return link


# The Messaging API account link


def account_link_nonce_issue(*, channel: Channel, user) -> str:
    """A single-use nonce bound to this site user: 192 random bits, Base64 (LINE: 128+ bits)."""
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
    AccountLinkNonce.objects.create(
        nonce=nonce,
        channel=channel,
        user=user,
        expires_at=timezone.now() + dt.timedelta(seconds=settings.LINE_ACCOUNT_LINK_NONCE_TTL),
    )
    return nonce


def account_link_dialog_url(*, channel: Channel, link_token: str, nonce: str) -> str:
    query = urlencode({"linkToken": link_token, "nonce": nonce})
    return f"{channel.base_urls['access']}/dialog/bot/accountLink?{query}"


@transaction.atomic
def account_link_complete(
    *, channel: Channel, line_user_id: str | None, result: str | None, nonce: str | None
) -> MemberLink | None:
    """Handle LINE's ``accountLink`` event: link only for ``ok`` with a valid, unused nonce."""
    if result != "ok" or not line_user_id:
        link_refused_record(
            channel=channel, method=LinkMethod.ACCOUNT_LINK, reason="LINE reported a failed link"
        )
        return None
    member = member_get_or_create(channel=channel, line_user_id=line_user_id)
    row = AccountLinkNonce.objects.select_for_update().filter(nonce=nonce or "").first()
    reason = None
    if row is None:
        reason = "unknown nonce"
    elif row.channel_id != channel.pk:
        reason = "nonce issued for another channel"
    elif row.used_at is not None:
        reason = "nonce already used (replay)"
    elif row.expires_at < timezone.now():
        reason = "nonce expired"
    if reason:
        link_refused_record(
            channel=channel, member=member, method=LinkMethod.ACCOUNT_LINK, reason=reason
        )
        return None
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    return member_link(member=member, user=row.user, method=LinkMethod.ACCOUNT_LINK)


def account_link_start_send(*, member: Member, reply_token: str | None = None) -> None:
    """Answer "link my account": a LINE link token, and a button to the site's sign-in page."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    from linebot.client import client_for_channel

    from .conversations import message_send
    from .models import MessageSource

    link_token = (
        client_for_channel(member.channel).link_token_issue(user_id=member.line_user_id).link_token
    )
    url = (
        settings.SITE_URL
        + reverse("members:link_start")
        + "?"
        + urlencode({"linkToken": link_token, "c": member.channel.channel_id})
    )
    with translation.override(member.language if member.language in ("ja", "en") else "ja"):
        text = _("Link your LINE account to your membership to get member-only offers.")
        label = _("Link account")
    message = {
        "type": "template",
        "altText": text,
        "template": {
            "type": "buttons",
            "text": text[:160],
            "actions": [{"type": "uri", "label": label[:20], "uri": url}],
        },
    }
    message_send(
        member=member, messages=[message], source=MessageSource.SYSTEM, reply_token=reply_token
    )


# Signed link URLs


def link_url_create(*, member: Member) -> str:
    """An expiring URL that links whoever signs in with it to this member (HMAC-signed)."""
    token = signing.dumps({"c": member.channel_id, "u": member.line_user_id}, salt=LINK_URL_SALT)
    return settings.SITE_URL + reverse("members:link_url", args=[token])


def link_url_member(token: str) -> Member:
    """The member a signed link URL is for; raises LinkRefused if tampered with or expired."""
    try:
        data = signing.loads(token, salt=LINK_URL_SALT, max_age=settings.LINE_LINK_URL_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkRefused("link URL expired") from None
    except signing.BadSignature:
        raise LinkRefused("link URL signature invalid") from None
    channel = Channel.objects.filter(pk=data.get("c")).first()
    if channel is None:
        raise LinkRefused("link URL for an unknown channel")
    return member_get_or_create(channel=channel, line_user_id=data["u"])


# The numbers


def link_rate(channel: Channel) -> tuple[int, int]:
    """(effective friends, of whom linked) right now."""
    counts = (
        Member.objects.friends()
        .filter(channel=channel)
        .aggregate(
            friends=Count("id"),
            linked=Count("id", filter=Q(link__isnull=False, link__unlinked_at__isnull=True)),
        )
    )
    return counts["friends"], counts["linked"]


def link_rate_snapshot(*, day: dt.date | None = None) -> list[LinkRateSnapshot]:
    """Record today's rate of every active channel (the daily history staff watch)."""
    day = day or timezone.localdate()
    snapshots = []
    for channel in Channel.objects.active():
        friends, linked = link_rate(channel)
        snapshot, _created = LinkRateSnapshot.objects.update_or_create(
            channel=channel, date=day, defaults={"friends": friends, "linked": linked}
        )
        snapshots.append(snapshot)
    return snapshots
