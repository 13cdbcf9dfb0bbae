"""Members as the company's systems see them: found and upserted by their own customer ID.

A member is one LINE user of one channel, so a member cannot exist without a LINE user ID.
Upserting a customer ID that no member has yet therefore needs ``line_user_id`` (from LINE
Login on the company's site, for instance): the customer ID is attached to that LINE user's
member, which is created if the LINE user has not followed the channel yet (the follow webhook
later finds the same row). Without ``line_user_id`` such an upsert is refused with
``MemberNotFound`` and nothing is stored.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linebot.models import Channel
from members.linking import member_get_or_create
from members.models import Member, Tag


class MemberNotFound(Exception):
    """No member of the channel has that customer ID (or LINE user ID)."""


class UpsertConflict(Exception):
    """The upsert contradicts what is stored; ``field`` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def member_by_external_id(*, channel: Channel, external_id: str) -> Member:
    try:
        return Member.objects.prefetch_related("tags").get(
            channel=channel, external_customer_id=external_id
        )
    except Member.DoesNotExist:
        raise MemberNotFound from None


def member_by_line_user_id(*, channel: Channel, line_user_id: str) -> Member:
    try:
        return Member.objects.prefetch_related("tags").get(
            channel=channel, line_user_id=line_user_id
        )
    except Member.DoesNotExist:
        raise MemberNotFound from None


def member_upsert(*, channel: Channel, external_id: str, data: dict) -> tuple[Member, bool]:
    """Set the first-party fields of the member with this customer ID; (member, created).

    Only the fields present in ``data`` change. ``attributes`` are merged key by key (a key
    set to null is removed); ``tags`` are added (created in the channel when new) and
    ``tags_remove`` removed, so tags staff gave by hand stay. ``created`` is True when a new
    member row was made for ``line_user_id``.
    """
    try:
        with transaction.atomic():
            return _member_upsert(channel=channel, external_id=external_id, data=data)
    except IntegrityError:
        # Another request attached this customer ID to a different LINE user meanwhile.
        raise UpsertConflict(
            "line_user_id", _("Another member of this channel already has this customer ID.")
        ) from None


def _member_upsert(*, channel, external_id, data):
    created = False
    line_user_id = data.get("line_user_id")
    member = (
        Member.objects.select_for_update()
        .filter(channel=channel, external_customer_id=external_id)
        .first()
    )
    if member is None:
        if not line_user_id:
            raise MemberNotFound
        existed = Member.objects.filter(channel=channel, line_user_id=line_user_id).exists()
        member = member_get_or_create(channel=channel, line_user_id=line_user_id)
        member = Member.objects.select_for_update().get(pk=member.pk)
        created = not existed
        if member.external_customer_id and member.external_customer_id != external_id:
            raise UpsertConflict(
                "line_user_id",
                _("This LINE user's member already has another customer ID."),
            )
        member.external_customer_id = external_id
    elif line_user_id and line_user_id != member.line_user_id:
        raise UpsertConflict(
            "line_user_id",
            _("The member with this customer ID is a different LINE user."),
        )

    for field in ("gender", "birthday", "prefecture", "rank", "points"):
        if field in data:
            setattr(member, field, data[field])
    if "attributes" in data:
        attributes = dict(member.attributes or {})
        for key, value in data["attributes"].items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        member.attributes = attributes
    member.save()

    if data.get("tags"):
        names = list(dict.fromkeys(data["tags"]))
        existing = {tag.name: tag for tag in Tag.objects.filter(channel=channel, name__in=names)}
        for name in names:
            if name not in existing:
                existing[name], _created = Tag.objects.get_or_create(channel=channel, name=name)
        member.tags.add(*existing.values())
    if data.get("tags_remove"):
        member.tags.remove(*Tag.objects.filter(channel=channel, name__in=data["tags_remove"]))
    return Member.objects.prefetch_related("tags").get(pk=member.pk), created
