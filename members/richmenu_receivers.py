"""Re-evaluate a member's rich menu when what rules look at changes, and log menu taps."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from linebot.models import Channel

from . import signals
from .models import Member, MemberEvent, MemberLink, RichMenuRule, Segment
from .richmenus import member_rich_menu_refresh_later, relink_start, rich_menu_tap_record
from .tasks_richmenus import housekeeping_richmenu_relink, richmenu_member_refresh  # noqa: F401

# Saves that touch only these fields need no re-evaluation here: a profile refresh changes no
# segment, a follow is handled by ``member_followed``, and a blocked friend sees no menu.
IRRELEVANT_FIELDS = frozenset(
    {
        "display_name",
        "picture_url",
        "status_message",
        "profile_refreshed_at",
        "updated_at",
        "friend_status",
        "followed_at",
        "first_followed_at",
        "blocked_at",
    }
)
# Beyond this many members in one tag change, re-evaluate the channel in bulk instead.
BULK_THRESHOLD = 200


@receiver(signals.member_followed, dispatch_uid="members.richmenu_on_follow")
def on_follow(sender, member, event, **kwargs):
    member_rich_menu_refresh_later(member.pk, member.channel_id)


@receiver(signals.postback_received, dispatch_uid="members.richmenu_tap")
def on_postback(sender, member, data, params, event, **kwargs):
    rich_menu_tap_record(member=member, data=data, params=params, event=event)


@receiver(post_save, sender=Member, dispatch_uid="members.richmenu_on_member_save")
def on_member_save(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw or created:
        return  # a new member is evaluated when they follow
    if update_fields is not None and set(update_fields) <= IRRELEVANT_FIELDS:
        return
    member_rich_menu_refresh_later(instance.pk, instance.channel_id)


@receiver(post_save, sender=MemberLink, dispatch_uid="members.richmenu_on_link")
def on_link_save(sender, instance, raw=False, **kwargs):
    if not raw:
        member_rich_menu_refresh_later(instance.member_id, instance.channel_id)


@receiver(post_save, sender=MemberEvent, dispatch_uid="members.richmenu_on_event")
def on_event_save(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        member_rich_menu_refresh_later(instance.member_id)


@receiver(m2m_changed, sender=Member.tags.through, dispatch_uid="members.richmenu_on_tags")
def on_tags_change(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        member_rich_menu_refresh_later(instance.pk, instance.channel_id)
        return
    member_ids = list(pk_set or ())
    if len(member_ids) > BULK_THRESHOLD or action == "post_clear":
        if RichMenuRule.objects.filter(channel_id=instance.channel_id, is_active=True).exists():
            relink_start(instance.channel)
        return
    for member_id in member_ids:
        member_rich_menu_refresh_later(member_id, instance.channel_id)


@receiver(post_save, sender=RichMenuRule, dispatch_uid="members.richmenu_on_rule_save")
def on_rule_save(sender, instance, raw=False, **kwargs):
    if not raw:
        relink_start(instance.channel)


@receiver(post_delete, sender=RichMenuRule, dispatch_uid="members.richmenu_on_rule_delete")
def on_rule_delete(sender, instance, **kwargs):
    channel_id = instance.channel_id

    def relink_unless_channel_deleted():
        # The rule may have gone with its whole channel: then there is nothing to relink.
        channel = Channel.objects.filter(pk=channel_id).first()
        if channel is not None:
            relink_start(channel)

    transaction.on_commit(relink_unless_channel_deleted)


@receiver(post_save, sender=Segment, dispatch_uid="members.richmenu_on_segment_save")
def on_segment_save(sender, instance, created, raw=False, **kwargs):
    """A segment's new rules change who is in it: re-evaluate channels whose rules use it."""
    if raw or created:
        return
    if RichMenuRule.objects.filter(segment=instance, is_active=True).exists():
        relink_start(instance.channel)
