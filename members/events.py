"""Recording what members did outside LINE (purchases, page views, carts, reservations).

Every path that stores a MemberEvent (the REST API, imports, the demo) goes through
``event_record`` so that a retried report is stored once and sequences and triggers hear of it
through ``members.signals.member_event_recorded`` after the transaction commits. The
members' event totals (``MemberEventTotal``) follow every stored, edited or deleted event by a
database trigger, whatever the path.
"""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction

from . import signals
from .models import Member, MemberEvent


def event_record(
    *,
    member: Member,
    kind: str,
    occurred_at: dt.datetime,
    name: str = "",
    properties: dict | None = None,
    value: Decimal | None = None,
    idempotency_key: str = "",
) -> tuple[MemberEvent, bool]:
    """Store one event; with an idempotency key a repeat returns the stored event unchanged.

    Returns (event, created). Receivers of ``member_event_recorded`` run after commit, so they
    never see (or act on) an event that was rolled back.
    """
    if idempotency_key:
        existing = MemberEvent.objects.filter(
            member=member, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
    event = MemberEvent(
        member=member,
        kind=kind,
        name=name,
        properties=properties or {},
        value=value,
        occurred_at=occurred_at,
        idempotency_key=idempotency_key,
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        # A concurrent retry of the same report won the race: theirs is the stored one.
        if not idempotency_key:
            raise
        return MemberEvent.objects.get(member=member, idempotency_key=idempotency_key), False
    transaction.on_commit(
        lambda: signals.member_event_recorded.send(
            sender=MemberEvent, member=member, event=event, created=True
        )
    )
    return event, True
