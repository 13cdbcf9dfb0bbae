"""The step pipeline called directly (one process), against the sandbox over HTTP."""

import datetime as dt

from campaigns.models import SendingPolicy
from journeys.models import (
    DelayUnit,
    Enrollment,
    EnrollmentStatus,
    ReentryPolicy,
    SendStatus,
    Sequence,
    SequenceTrigger,
    Step,
    StepSend,
)
from journeys.sequences import enrollment_restart, enrollment_stop, sequence_enroll
from journeys.stepsend import steps_send_due
from members.models import Message, MessageSource

from .conftest import friends, template, text, texts


def sequence_with_steps(channel, *delays, **fields):
    sequence = Sequence.objects.create(
        channel=channel, name="Welcome", trigger=SequenceTrigger.FOLLOW, **fields
    )
    for position, (value, unit) in enumerate(delays, start=1):
        Step.objects.create(
            sequence=sequence,
            position=position,
            delay_value=value,
            delay_unit=unit,
            template=template(channel, text(f"Step {position} for {{{{ member.display_name }}}}")),
        )
    return sequence


def test_steps_go_out_in_order_at_their_delays_once_each(line_channel, clock):
    channel = line_channel.channel
    [member] = friends(line_channel, 1)
    sequence = sequence_with_steps(
        channel, (0, DelayUnit.MINUTES), (1, DelayUnit.DAYS), (3, DelayUnit.HOURS)
    )
    enrollment = sequence_enroll(sequence, member, now=clock.now)

    steps_send_due(now=clock.now)
    steps_send_due(now=clock.now + dt.timedelta(hours=23))
    assert texts(line_channel, member) == ["Step 1 for Friend 0"]

    steps_send_due(now=clock.now + dt.timedelta(days=1))
    assert texts(line_channel, member) == ["Step 1 for Friend 0", "Step 2 for Friend 0"]
    steps_send_due(now=clock.now + dt.timedelta(days=1, hours=2, minutes=59))
    steps_send_due(now=clock.now + dt.timedelta(days=1, hours=3))
    steps_send_due(now=clock.now + dt.timedelta(days=30))
    assert texts(line_channel, member)[-1] == "Step 3 for Friend 0"
    assert len(texts(line_channel, member)) == 3

    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert StepSend.objects.filter(status=SendStatus.SENT).count() == 3
    log = Message.objects.filter(member=member, source=MessageSource.STEP)
    assert [m.text for m in log.order_by("created_at")] == [
        "Step 1 for Friend 0",
        "Step 2 for Friend 0",
        "Step 3 for Friend 0",
    ]


def test_reentry_policies_and_staff_stop_and_restart(line_channel, clock):
    channel = line_channel.channel
    [member] = friends(line_channel, 1)
    once = sequence_with_steps(channel, (0, DelayUnit.MINUTES), (1, DelayUnit.DAYS))
    assert sequence_enroll(once, member, now=clock.now) is not None
    assert sequence_enroll(once, member, now=clock.now) is None

    again = sequence_with_steps(
        channel, (0, DelayUnit.MINUTES), reentry=ReentryPolicy.AFTER_COMPLETION
    )
    first = sequence_enroll(again, member, now=clock.now)
    assert sequence_enroll(again, member, now=clock.now) is None
    steps_send_due(now=clock.now)
    first.refresh_from_db()
    assert first.status == EnrollmentStatus.COMPLETED
    assert sequence_enroll(again, member, now=clock.now) is not None

    running = Enrollment.objects.get(sequence=once, member=member)
    assert enrollment_stop(running, now=clock.now)
    steps_send_due(now=clock.now + dt.timedelta(days=5))
    assert texts(line_channel, member).count("Step 2 for Friend 0") == 0

    restarted = enrollment_restart(running, now=clock.now + dt.timedelta(days=5))
    steps_send_due(now=clock.now + dt.timedelta(days=5))
    assert restarted.status == EnrollmentStatus.ACTIVE
    assert texts(line_channel, member).count("Step 1 for Friend 0") == 4


def test_quiet_hours_and_the_frequency_cap_defer_steps(line_channel, clock):
    channel = line_channel.channel
    quiet_member, capped = friends(line_channel, 2)
    sequence = sequence_with_steps(channel, (0, DelayUnit.MINUTES))
    # 01:00 UTC is 10:00 in Japan; quiet from 09:00 to 11:00.
    policy = SendingPolicy.objects.create(
        channel=channel, quiet_hours_start=dt.time(9), quiet_hours_end=dt.time(11)
    )
    enrollment = sequence_enroll(sequence, quiet_member, now=clock.now)
    steps_send_due(now=clock.now)
    assert texts(line_channel, quiet_member) == []
    enrollment.refresh_from_db()
    assert enrollment.next_due_at == clock.now + dt.timedelta(hours=1)
    steps_send_due(now=clock.now + dt.timedelta(hours=1))
    assert texts(line_channel, quiet_member) == ["Step 1 for Friend 0"]

    policy.quiet_hours_start = policy.quiet_hours_end = None
    policy.frequency_cap_count, policy.frequency_cap_days = 1, 7
    policy.save()
    Message.objects.create(
        channel=channel,
        member=capped,
        direction="out",
        message_type="text",
        text="a campaign",
        source=MessageSource.CAMPAIGN,
        status="sent",
        created_at=clock.now - dt.timedelta(days=1),
    )
    capped_enrollment = sequence_enroll(sequence, capped, now=clock.now)
    steps_send_due(now=clock.now)
    assert texts(line_channel, capped) == []
    capped_enrollment.refresh_from_db()
    assert capped_enrollment.status == EnrollmentStatus.ACTIVE
    assert capped_enrollment.next_due_at > clock.now
    steps_send_due(now=clock.now + dt.timedelta(days=7))
    assert texts(line_channel, capped) == ["Step 1 for Friend 1"]
