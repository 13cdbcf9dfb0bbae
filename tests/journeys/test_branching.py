"""What a member outside a step's condition segment gets: skip, end, or go on to a later step."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from journeys.models import (
    DelayUnit,
    Enrollment,
    EnrollmentStatus,
    Otherwise,
    SendStatus,
    Step,
    StepSend,
)
from journeys.sequences import sequence_enroll
from journeys.stepsend import steps_send_due
from members.models import Segment

from .conftest import friends, texts
from .test_stepsend import sequence_with_steps

GOLD = {"version": 1, "root": {"type": "group", "op": "and", "rules": [
    {"type": "rank", "values": ["gold"]}
]}}  # fmt: skip


def _branching(line_channel, otherwise, otherwise_position=None):
    """Four hourly steps; step 2 is for gold members only. A gold and a plain member enter."""
    channel = line_channel.channel
    gold, plain = friends(line_channel, 2)
    gold.rank = "gold"
    gold.save(update_fields=["rank"])
    sequence = sequence_with_steps(
        channel,
        (0, DelayUnit.MINUTES),
        (1, DelayUnit.HOURS),
        (1, DelayUnit.HOURS),
        (1, DelayUnit.HOURS),
    )
    step = sequence.steps.get(position=2)
    step.condition_segment = Segment.objects.create(channel=channel, name="gold", definition=GOLD)
    step.otherwise, step.otherwise_position = otherwise, otherwise_position
    step.full_clean()
    step.save()
    return sequence, gold, plain


def _run_through(sequence, members, clock):
    for member in members:
        sequence_enroll(sequence, member, now=clock.now)
    for hours in range(0, 8):
        steps_send_due(now=clock.now + dt.timedelta(hours=hours))


def test_outside_the_segment_skips_the_step(line_channel, clock):
    sequence, gold, plain = _branching(line_channel, Otherwise.SKIP)
    _run_through(sequence, [gold, plain], clock)
    assert texts(line_channel, gold) == [f"Step {n} for Friend 0" for n in (1, 2, 3, 4)]
    assert texts(line_channel, plain) == [f"Step {n} for Friend 1" for n in (1, 3, 4)]
    assert Enrollment.objects.get(member=plain).status == EnrollmentStatus.COMPLETED


def test_outside_the_segment_ends_the_enrollment(line_channel, clock):
    sequence, gold, plain = _branching(line_channel, Otherwise.END)
    _run_through(sequence, [gold, plain], clock)
    assert texts(line_channel, gold) == [f"Step {n} for Friend 0" for n in (1, 2, 3, 4)]
    assert texts(line_channel, plain) == ["Step 1 for Friend 1"]
    ended = Enrollment.objects.get(member=plain)
    assert ended.status == EnrollmentStatus.EXITED
    assert ended.exit_reason == "not in condition segment"
    assert StepSend.objects.get(enrollment=ended, step__position=2).status == SendStatus.SKIPPED


def test_outside_the_segment_goes_on_to_a_later_step(line_channel, clock):
    sequence, gold, plain = _branching(line_channel, Otherwise.GOTO, 4)
    _run_through(sequence, [gold, plain], clock)
    assert texts(line_channel, gold) == [f"Step {n} for Friend 0" for n in (1, 2, 3, 4)]
    assert texts(line_channel, plain) == ["Step 1 for Friend 1", "Step 4 for Friend 1"]
    assert Enrollment.objects.get(member=plain).status == EnrollmentStatus.COMPLETED


def test_a_branch_past_a_deleted_step_takes_the_next_one_or_completes(line_channel, clock):
    sequence, _gold, plain = _branching(line_channel, Otherwise.GOTO, 3)
    sequence.steps.get(position=3).delete()
    _run_through(sequence, [plain], clock)
    assert texts(line_channel, plain) == ["Step 1 for Friend 1", "Step 4 for Friend 1"]


def test_a_branch_can_only_go_forward(line_channel, clock):
    sequence, _gold, _plain = _branching(line_channel, Otherwise.SKIP)
    step = sequence.steps.get(position=2)
    step.otherwise = Otherwise.GOTO
    for position, message in [(None, "Give the order number"), (2, "later step"), (1, "later")]:
        step.otherwise_position = position
        with translation.override("en"):  # the lazy message is read in English too
            with pytest.raises(ValidationError) as error:
                step.full_clean()
            assert message in str(error.value.message_dict["otherwise_position"])
    step.otherwise_position = 1
    with pytest.raises(IntegrityError), transaction.atomic():
        step.save()

    loose = Step(
        sequence=sequence,
        position=9,
        template=step.template,
        otherwise=Otherwise.END,
    )
    with pytest.raises(ValidationError) as error:
        loose.full_clean()
    assert "otherwise" in error.value.message_dict


def test_the_timeline_shows_where_members_outside_the_condition_go(
    admin_client, line_channel, clock
):
    from django.urls import reverse

    sequence, _gold, _plain = _branching(line_channel, Otherwise.GOTO, 4)
    page = admin_client.get(
        reverse("admin:journeys_sequence_change", args=[sequence.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 200
    assert "gold (otherwise on to step 4)" in page.content.decode()
