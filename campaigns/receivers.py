"""Reacting to what members do (signals from ``members``)."""

import datetime as dt

from django.dispatch import receiver

from members import signals

from .autoreplies import autoreply_for_text, autoreply_schedule, autoreply_welcome


def _event_time(event: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt.UTC)


@receiver(signals.member_followed, dispatch_uid="campaigns.welcome")
def welcome_on_follow(sender, member, event, is_unblocked, **kwargs):
    rule = autoreply_welcome(channel_id=member.channel_id, at=_event_time(event))
    if rule:
        autoreply_schedule(rule=rule, member=member, event=event)


@receiver(signals.message_received, dispatch_uid="campaigns.keyword_reply")
def keyword_reply(sender, member, message, event, **kwargs):
    if message.message_type != "text":
        return
    rule = autoreply_for_text(
        channel_id=member.channel_id, text=message.text, at=_event_time(event)
    )
    if rule:
        autoreply_schedule(rule=rule, member=member, event=event)
