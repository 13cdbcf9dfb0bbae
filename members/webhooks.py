"""Handling LINE webhook events for members: who follows, blocks, writes, taps.

Handlers run in a worker inside the batch's transaction (see ``linebot.webhook``) and work on
all the events of a request at once: the members of the batch are read in one query (missing
ones created in one more), its messages written in one insert. They only touch the database;
calls to LINE (profile, content, replies) run as tasks after commit. Signals still go out once
per event, with the same arguments as ever (``members.signals``).
"""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from linebot.models import WebhookEvent
from linebot.webhook import webhook_batch_handler, webhook_handler

from . import signals
from .bulk import rows_insert_new
from .conversations import messages_record_inbound
from .models import FriendStatus, Member, Message
from .profiles import member_profile_needed

MEDIA_TYPES = {"image", "video", "audio", "file"}
MemberKey = tuple[int, str]  # (channel id, LINE user id)


def _member_key(event: WebhookEvent) -> MemberKey | None:
    """Whose 1:1 event this is; None for groups, rooms and events without a user."""
    source = event.payload.get("source") or {}
    user_id = source.get("userId")
    if source.get("type") != "user" or not user_id or not isinstance(user_id, str):
        return None
    return (event.channel_id, user_id)


def members_for_events(
    events: list[WebhookEvent], *, lock: bool = False
) -> dict[MemberKey, Member]:
    """The members the events are from, by (channel id, user id), created on first sight.

    One query per channel reads them (``lock``: ``SELECT ... FOR UPDATE``, in id order);
    members not met before are inserted in one statement (unknown friend status;
    ``ON CONFLICT (channel_id, line_user_id) DO NOTHING``, so a member another worker creates
    at the same time is simply read) and read back.
    """
    wanted: dict[int, set[str]] = defaultdict(set)
    for event in events:
        key = _member_key(event)
        if key:
            wanted[key[0]].add(key[1])
    members: dict[MemberKey, Member] = {}
    query = Member.objects.order_by()  # no ``Meta.ordering``: nothing to sort
    if lock:
        query = query.select_for_update(of=("self",)).order_by("pk")
    for channel_id, user_ids in wanted.items():
        found = list(query.filter(channel_id=channel_id, line_user_id__in=user_ids))
        missing = user_ids - {member.line_user_id for member in found}
        if missing:
            _members_create(channel_id, missing)
            found += query.filter(channel_id=channel_id, line_user_id__in=missing)
        for member in found:
            members[(channel_id, member.line_user_id)] = member
    return members


def _members_create(channel_id: int, user_ids: set[str]) -> None:
    for user_id in user_ids:
        # What ``full_clean`` would say, without a query per member.
        Member._meta.get_field("line_user_id").run_validators(user_id)
    rows_insert_new(
        Member,
        [{"channel_id": channel_id, "line_user_id": user_id} for user_id in sorted(user_ids)],
        conflict="(channel_id, line_user_id)",
    )


@webhook_batch_handler("follow", "unfollow")
def handle_friendship(events: list[WebhookEvent]) -> None:
    """Follows and blocks, in LINE's order per member; the members' rows are locked."""
    from .tasks import webhook_member_profiles_refresh

    members = members_for_events(events, lock=True)
    now = timezone.now()
    profiles: set[int] = set()
    for event in events:
        member = members.get(_member_key(event))
        if member is None:
            continue
        when = event.occurred_at
        if event.event_type == "follow":
            is_unblocked = bool((event.payload.get("follow") or {}).get("isUnblocked"))
            if member.followed_at is None or when >= member.followed_at:
                member.friend_status = FriendStatus.FRIEND
                member.followed_at = when
            member.first_followed_at = member.first_followed_at or when
            member.save(
                update_fields=["friend_status", "followed_at", "first_followed_at", "updated_at"]
            )
            if member_profile_needed(member, now=now):
                profiles.add(member.pk)
            signals.member_followed.send(
                sender=Member, member=member, event=event.payload, is_unblocked=is_unblocked
            )
        else:
            # An older unfollow delivered late must not undo a newer follow.
            if member.followed_at is None or when >= member.followed_at:
                member.friend_status = FriendStatus.BLOCKED
                member.blocked_at = when
                member.save(update_fields=["friend_status", "blocked_at", "updated_at"])
            signals.member_blocked.send(sender=Member, member=member, event=event.payload)
    if profiles:
        # One task fetches the batch's profiles: a task per follower cost more than the fetch.
        member_ids = sorted(profiles)
        transaction.on_commit(lambda: webhook_member_profiles_refresh.delay(member_ids))


@webhook_batch_handler("message", "postback")
def handle_messages(events: list[WebhookEvent]) -> None:
    """What members sent and tapped: into the conversation log in one insert, then signals."""
    from .tasks import webhook_message_content_fetch

    members = members_for_events(events)
    pairs = [(event, members.get(_member_key(event))) for event in events]
    pairs = [(event, member) for event, member in pairs if member is not None]
    messages = messages_record_inbound([(member, event.payload) for event, member in pairs])
    for (event, member), message in zip(pairs, messages, strict=True):
        if message is None:
            continue  # already in the log: handled before, no second effect
        if event.event_type == "message":
            provider = (event.payload["message"].get("contentProvider") or {}).get("type")
            if message.message_type in MEDIA_TYPES and provider in (None, "line"):
                message_id = message.pk
                transaction.on_commit(
                    lambda message_id=message_id: webhook_message_content_fetch.delay(message_id)
                )
            signals.message_received.send(
                sender=Member, member=member, message=message, event=event.payload
            )
        else:
            postback = event.payload.get("postback") or {}
            signals.postback_received.send(
                sender=Member,
                member=member,
                data=postback.get("data", ""),
                params=postback.get("params") or {},
                event=event.payload,
            )


@webhook_handler("unsend")
def handle_unsend(event: WebhookEvent) -> None:
    """LINE asks that an unsent message be hidden: drop its text, payload and content."""
    message_id = (event.payload.get("unsend") or {}).get("messageId")
    if not message_id:
        return
    messages = Message.objects.filter(channel=event.channel, line_message_id=message_id).exclude(
        line_message_id=""  # the partial index's condition, so the index is used
    )
    for message in messages.select_for_update():
        if message.content:
            # The file goes once the change is committed: a rolled-back batch keeps it.
            storage, name = message.content.storage, message.content.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
            message.content = ""
        message.payload = {"type": message.message_type}
        message.text = ""
        message.unsent_at = timezone.now()
        message.save(update_fields=["payload", "text", "unsent_at", "content"])


@webhook_handler("accountLink")
def handle_account_link(event: WebhookEvent) -> None:
    link = event.payload.get("link") or {}
    signals.account_link_received.send(
        sender=Member,
        channel=event.channel,
        line_user_id=(event.payload.get("source") or {}).get("userId"),
        result=link.get("result"),
        nonce=link.get("nonce"),
        event=event.payload,
    )


# Types LINE sends that need no action for a 1:1 CRM: stored and marked handled, not failed.
webhook_handler(
    "join",
    "leave",
    "memberJoined",
    "memberLeft",
    "videoPlayComplete",
    "beacon",
    "membership",
    "messageEdited",
    "things",
    "module",
    "activated",
    "deactivated",
    "botSuspended",
    "botResumed",
)(lambda event: None)
