"""Members' signals starting and ending sequences and trigger messages."""

from django.db import transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from integrations.signals import product_changed
from members import signals
from members.models import Member

from .clock import clock_now
from .models import SequenceTrigger
from .sequences import (
    sequences_enter_on,
    sequences_exit_on_block,
    sequences_exit_on_event,
)
from .triggers import triggers_on_event, triggers_on_product_change


def _send_soon(enrollments) -> None:
    """A step due at once goes out now rather than at the next beat tick."""
    now = clock_now()
    if any(row.next_due_at <= now for row in enrollments):
        from .tasks import send_due_steps

        transaction.on_commit(lambda: send_due_steps.delay(fanout=1))


@receiver(signals.member_followed, dispatch_uid="journeys.follow")
def enter_on_follow(sender, member, event, is_unblocked, **kwargs):
    _send_soon(sequences_enter_on(member=member, trigger=SequenceTrigger.FOLLOW))


@receiver(signals.member_linked, dispatch_uid="journeys.linked")
def enter_on_link(sender, member, link, method, **kwargs):
    _send_soon(sequences_enter_on(member=member, trigger=SequenceTrigger.LINKED))


@receiver(m2m_changed, sender=Member.tags.through, dispatch_uid="journeys.tag_added")
def enter_on_tag(sender, instance, action, reverse, pk_set, **kwargs):
    if action != "post_add" or not pk_set:
        return
    if reverse:
        members = Member.objects.filter(pk__in=pk_set)
        pairs = [(member, [instance.pk]) for member in members]
    else:
        pairs = [(instance, list(pk_set))]
    for member, tag_ids in pairs:
        _send_soon(
            sequences_enter_on(member=member, trigger=SequenceTrigger.TAG_ADDED, tag_ids=tag_ids)
        )


@receiver(signals.member_blocked, dispatch_uid="journeys.blocked")
def exit_on_block(sender, member, **kwargs):
    sequences_exit_on_block(member)


@receiver(signals.member_event_recorded, dispatch_uid="journeys.event")
def on_event(sender, member, event, created, **kwargs):
    if not created:
        return
    sequences_exit_on_event(event)
    _send_soon(sequences_enter_on(member=member, trigger=SequenceTrigger.EVENT, event=event))
    now = clock_now()
    for send in triggers_on_event(event):
        if send.status == "pending" and send.due_at <= now:
            from .tasks import send_trigger

            transaction.on_commit(lambda pk=send.pk: send_trigger.delay(pk))


@receiver(product_changed, dispatch_uid="journeys.product_changed")
def on_product_change(sender, product, old_price, price_dropped, restocked, **kwargs):
    """A price drop or restock: tell the members with the product in their cart or favourites."""
    ids = triggers_on_product_change(
        product, old_price=old_price, price_dropped=price_dropped, restocked=restocked
    )
    if ids:
        from .tasks import send_trigger

        transaction.on_commit(lambda: [send_trigger.delay(pk) for pk in ids])
