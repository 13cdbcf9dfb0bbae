"""Sequences and triggers end to end: a real worker and beat, the sandbox as LINE over HTTP,
webhooks from simulated friends, and a clock file moved forward instead of sleeping."""

import datetime as dt

from celery import group

from journeys import tasks
from journeys.models import (
    DelayUnit,
    Enrollment,
    EnrollmentStatus,
    RuleKind,
    SendStatus,
    Sequence,
    SequenceTrigger,
    Step,
    StepSend,
    TriggerRule,
)
from journeys.sequences import sequence_enroll
from members.events import event_record
from members.models import EventKind, Member, Message, MessageSource
from tests.conftest import wait_for

from .conftest import friends, phone, template, text, texts


def welcome_sequence(channel, **fields):
    sequence = Sequence.objects.create(
        channel=channel,
        name="Welcome",
        trigger=SequenceTrigger.FOLLOW,
        exit_event_kind=EventKind.PURCHASE,
        **fields,
    )
    steps = [
        (0, DelayUnit.MINUTES, None, "Welcome, {{ member.display_name }}!"),
        (1, DelayUnit.DAYS_AT, dt.time(10, 0), "Day 2: our best sellers"),
        (3, DelayUnit.DAYS, None, "Day 5: a coupon for you"),
    ]
    for position, (value, unit, at_time, words) in enumerate(steps, start=1):
        Step.objects.create(
            sequence=sequence,
            position=position,
            delay_value=value,
            delay_unit=unit,
            at_time=at_time,
            template=template(channel, text(words), name=f"step {position}"),
        )
    return sequence


def test_a_new_friend_gets_each_step_when_it_falls_due(journeys, clock):
    welcome_sequence(journeys.channel)
    user_id = journeys.user(displayName="Aoi")
    member = wait_for(lambda: Member.objects.filter(line_user_id=user_id).first())
    assert member is not None

    assert wait_for(lambda: texts(journeys, member) == ["Welcome, Aoi!"])
    # The next step is "the next day at 10:00" Japan time: not a minute before.
    clock.set(dt.datetime(2026, 11, 25, 0, 59, tzinfo=dt.UTC))
    assert not wait_for(lambda: len(texts(journeys, member)) > 1, timeout=3)
    clock.set(dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC))
    assert wait_for(lambda: texts(journeys, member)[-1:] == ["Day 2: our best sellers"])
    clock.advance(days=3)
    assert wait_for(lambda: texts(journeys, member)[-1:] == ["Day 5: a coupon for you"])
    assert wait_for(
        lambda: Enrollment.objects.filter(member=member, status=EnrollmentStatus.COMPLETED).exists()
    )
    assert len(phone(journeys, member)) == 3
    assert Message.objects.filter(member=member, source=MessageSource.STEP).count() == 3


def test_a_purchase_or_a_block_ends_the_sequence_early(journeys, clock):
    sequence = welcome_sequence(journeys.channel)
    buyer, blocker, stayer = friends(journeys, 3)
    for member in (buyer, blocker, stayer):
        sequence_enroll(sequence, member, now=clock.now)
    assert wait_for(lambda: all(len(texts(journeys, m)) == 1 for m in (buyer, blocker, stayer)))

    event_record(member=buyer, kind=EventKind.PURCHASE, name="A-100", occurred_at=clock.now)
    journeys.control.block(journeys.channel.channel_id, blocker.line_user_id)
    assert wait_for(
        lambda: Enrollment.objects.get(member=blocker).status == EnrollmentStatus.EXITED
    )
    assert Enrollment.objects.get(member=buyer).status == EnrollmentStatus.EXITED

    clock.advance(days=10)
    assert wait_for(lambda: len(texts(journeys, stayer)) == 2)
    clock.advance(days=3)
    assert wait_for(lambda: len(texts(journeys, stayer)) == 3)
    assert len(texts(journeys, buyer)) == 1
    assert len(texts(journeys, blocker)) == 1
    assert Enrollment.objects.get(member=buyer).exit_reason.startswith("event:")


def test_concurrent_schedulers_never_send_a_step_twice(journeys, clock, second_worker_process):
    channel = journeys.channel
    sequence = Sequence.objects.create(
        channel=channel, name="Burst", trigger=SequenceTrigger.FOLLOW
    )
    Step.objects.create(
        sequence=sequence, position=1, template=template(channel, text("Once only"))
    )
    members = friends(journeys, 300)
    for member in members:
        sequence_enroll(sequence, member, now=clock.now - dt.timedelta(minutes=1))
    # Twelve schedulers at once on two workers, while beat ticks too.
    group(tasks.send_due_steps.si(fanout=1) for _ in range(12)).apply_async()

    assert wait_for(
        lambda: not Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).exists(),
        timeout=120,
    )
    assert StepSend.objects.filter(status=SendStatus.SENT).count() == 300
    assert Message.objects.filter(source=MessageSource.STEP).count() == 300
    for member in members:
        assert texts(journeys, member) == ["Once only"]


def test_editing_a_live_sequence_does_not_resend_steps_already_sent(journeys, clock):
    channel = journeys.channel
    sequence = welcome_sequence(channel)
    [member] = friends(journeys, 1)
    enrollment = sequence_enroll(sequence, member, now=clock.now)
    assert wait_for(lambda: texts(journeys, member) == ["Welcome, Friend 0!"])

    # Staff rework the live sequence: step 1 gets new words and no delay, step 2 is deleted
    # and a step is added at the end.
    first, second, _third = sequence.steps.order_by("position")
    first.template.messages = [text("Welcome (new words)")]
    first.template.save()
    Step.objects.filter(pk=first.pk).update(delay_value=5)
    second.delete()
    Step.objects.create(
        sequence=sequence,
        position=4,
        delay_value=0,
        template=template(channel, text("A new last step")),
    )
    # As after a crash between sending and moving on: the enrollment still points at step 1.
    Enrollment.objects.filter(pk=enrollment.pk).update(
        current_step=first, step_position=1, next_due_at=clock.now
    )

    clock.advance(days=30)
    assert wait_for(
        lambda: Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.COMPLETED
    )
    assert texts(journeys, member) == [
        "Welcome, Friend 0!",
        "Day 5: a coupon for you",
        "A new last step",
    ]
    assert StepSend.objects.filter(enrollment=enrollment, step=first).count() == 1


def test_abandoned_cart_sends_the_cart_as_a_carousel_on_the_phone(journeys, clock):
    channel = journeys.channel
    TriggerRule.objects.create(
        channel=channel,
        name="Abandoned cart",
        kind=RuleKind.CART_ABANDONED,
        hours=2,
        respects_frequency_cap=True,
        template=template(channel, text("{{ member.display_name }}, your cart is waiting")),
    )
    shopper, buyer = friends(journeys, 2)
    products = [
        ("SKU-1", "Linen shirt", 4900, "https://shop.example.com/img/1.jpg"),
        ("SKU-2", "Canvas tote", 2200, "https://shop.example.com/img/2.jpg"),
    ]
    for member in (shopper, buyer):
        for code, name, price, image in products:
            event_record(
                member=member,
                kind=EventKind.CART_ADD,
                name=code,
                occurred_at=clock.now,
                properties={
                    "product_name": name,
                    "price": price,
                    "image_url": image,
                    "url": f"https://shop.example.com/p/{code}",
                },
                idempotency_key=f"cart-{member.pk}-{code}",
            )
    event_record(
        member=buyer,
        kind=EventKind.PURCHASE,
        name="SKU-1",
        occurred_at=clock.now + dt.timedelta(minutes=30),
    )

    clock.advance(hours=1, minutes=59)
    assert not wait_for(lambda: phone(journeys, shopper), timeout=3)
    clock.advance(minutes=2)
    received = wait_for(lambda: phone(journeys, shopper))
    assert received[0] == {"type": "text", "text": "Friend 0, your cart is waiting"}
    carousel = received[1]
    assert carousel["type"] == "flex"
    bubbles = carousel["contents"]["contents"]
    names = [bubble["body"]["contents"][0]["text"] for bubble in bubbles]
    assert sorted(names) == ["Canvas tote", "Linen shirt"]
    assert {bubble["hero"]["url"] for bubble in bubbles} == {p[3] for p in products}
    assert "¥4,900" in str(bubbles)
    assert phone(journeys, buyer) == []
    # The log rows are written just after LINE accepts the messages.
    assert wait_for(
        lambda: Message.objects.filter(member=shopper, source=MessageSource.TRIGGER).count() == 2
    )


def test_a_receipt_at_once_and_a_reminder_the_day_before_with_the_event_data(journeys, clock):
    channel = journeys.channel
    TriggerRule.objects.create(
        channel=channel,
        name="Receipt",
        kind=RuleKind.EVENT,
        event_kind=EventKind.PURCHASE,
        template=template(
            channel, text("Thank you for buying {{ data.product_name }} (¥{{ data.price }})")
        ),
    )
    TriggerRule.objects.create(
        channel=channel,
        name="Reminder",
        kind=RuleKind.EVENT,
        event_kind=EventKind.RESERVATION,
        time_property="starts_at",
        offset_minutes=-24 * 60,
        template=template(channel, text("See you tomorrow at {{ data.starts_at }}")),
    )
    [member] = friends(journeys, 1)
    event_record(
        member=member,
        kind=EventKind.PURCHASE,
        name="SKU-9",
        occurred_at=clock.now,
        properties={"product_name": "Wool scarf", "price": 6800},
    )
    assert wait_for(lambda: texts(journeys, member) == ["Thank you for buying Wool scarf (¥6,800)"])

    event_record(
        member=member,
        kind=EventKind.RESERVATION,
        name="salon",
        occurred_at=clock.now,
        properties={"starts_at": "2026-11-27T15:30:00+09:00"},
    )
    clock.set(dt.datetime(2026, 11, 26, 6, 29, tzinfo=dt.UTC))  # 15:29 the day before
    assert not wait_for(lambda: len(texts(journeys, member)) > 1, timeout=3)
    clock.advance(minutes=1)
    assert wait_for(
        lambda: texts(journeys, member)[-1:] == ["See you tomorrow at 2026/11/27 15:30"]
    )
