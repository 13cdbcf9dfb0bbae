"""Journeys' admin pages: sequences with their timeline and step counts, enrollments with
stop and restart from the member's page."""

import datetime as dt

import pytest
from django.urls import reverse

from journeys.models import DelayUnit, Enrollment, EnrollmentStatus, Sequence, SequenceTrigger, Step
from journeys.sequences import sequence_enroll
from members.models import FriendStatus, Member
from tests.factories import ChannelFactory

from .conftest import template, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence(clock):
    channel = ChannelFactory()
    sequence = Sequence.objects.create(
        channel=channel, name="Welcome", trigger=SequenceTrigger.FOLLOW
    )
    Step.objects.create(
        sequence=sequence, position=1, template=template(channel, text("Hello"), name="Hello")
    )
    Step.objects.create(
        sequence=sequence,
        position=2,
        delay_value=1,
        delay_unit=DelayUnit.DAYS_AT,
        at_time=dt.time(10, 0),
        template=template(channel, text("Day 2"), name="Day two"),
    )
    return sequence


def member(channel, n):
    return Member.objects.create(
        channel=channel,
        line_user_id=f"U{n:032x}",
        display_name=f"M{n}",
        friend_status=FriendStatus.FRIEND,
    )


def test_sequence_page_shows_the_timeline_and_members_waiting_at_each_step(
    admin_client, sequence, clock
):
    for n in range(3):
        sequence_enroll(sequence, member(sequence.channel, n), now=clock.now)

    page = admin_client.get(reverse("admin:journeys_sequence_change", args=[sequence.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    # Entering at 10:00 on 24 Nov (Japan time): Hello at once, Day two the next day at 10:00.
    assert "2026-11-24" in body and "2026-11-25" in body and "10:00" in body
    assert "Day two" in body
    assert "current_step__id__exact" in body and ">3</a>" in body
    listing = admin_client.get(reverse("admin:journeys_sequence_changelist"))
    assert listing.status_code == 200 and "Welcome" in listing.content.decode()


def test_member_page_lists_enrollments_with_stop_and_restart(admin_client, sequence, clock):
    someone = member(sequence.channel, 1)
    enrollment = sequence_enroll(sequence, someone, now=clock.now)
    page = admin_client.get(reverse("admin:members_member_change", args=[someone.pk]))
    stop_url = reverse("admin:journeys_enrollment_stop", args=[enrollment.pk])
    assert stop_url in page.content.decode()

    answer = admin_client.post(stop_url)
    assert answer.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.STOPPED

    admin_client.post(reverse("admin:journeys_enrollment_restart", args=[enrollment.pk]))
    fresh = Enrollment.objects.get(member=someone, status=EnrollmentStatus.ACTIVE)
    assert fresh.current_step.position == 1
    assert admin_client.get(stop_url).status_code == 405


@pytest.mark.parametrize("name", ["enrollment", "triggerrule", "triggersend", "sequence"])
def test_changelists_and_add_pages_open(admin_client, sequence, clock, name):
    sequence_enroll(sequence, member(sequence.channel, 7), now=clock.now)
    assert admin_client.get(reverse(f"admin:journeys_{name}_changelist")).status_code == 200
