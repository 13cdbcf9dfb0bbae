"""Who received a campaign's messages, for the conversation log.

A multicast batch is logged once (``members.conversations.messages_log_shared``, keyed by the
batch's retry key); its members' deliveries say who received it. These two readers answer
for campaigns when a member's timeline or a segment asks (registered in ``apps.ready``).
"""

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from .models import Delivery, DeliveryStatus, SendBatch


def member_audience_keys(member_id: int) -> QuerySet:
    """The keys of the batches sent to the member: one column, for ``audience_key__in``.

    Driven by the member's deliveries (their unique index leads with the member), each batch
    found by its run and number."""
    batch_key = SendBatch.objects.filter(
        run_id=OuterRef("run_id"), number=OuterRef("batch_number")
    ).values("retry_key")[:1]
    return (
        Delivery.objects.filter(
            member_id=member_id, status=DeliveryStatus.SENT, batch_number__isnull=False
        )
        .annotate(key=Subquery(batch_key))
        .values("key")
    )


def campaign_received(campaign_id: int) -> Q:
    """Members the campaign was sent to (a ``Q`` on members)."""
    sent = Delivery.objects.filter(
        member=OuterRef("pk"), campaign_id=campaign_id, status=DeliveryStatus.SENT
    )
    return Q(Exists(sent))
