"""Step sequences: when each step falls due, who enters, and who leaves early.

Sending due steps is ``journeys.stepsend``; this module only writes enrollments.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.frequency import quiet_window_end
from members.models import Member, MemberEvent
from members.segments import segment_contains

from .clock import clock_now
from .models import (
    DelayUnit,
    Enrollment,
    EnrollmentStatus,
    ReentryPolicy,
    Sequence,
    SequenceTrigger,
    Step,
)

logger = logging.getLogger(__name__)

JAPAN = ZoneInfo("Asia/Tokyo")


# ---------------------------------------------------------------------------------------------
# Timing


def step_due_at(step: Step, *, after: dt.datetime) -> dt.datetime:
    """When ``step`` is due if the previous step (or the entry) happened at ``after``.

    A time outside the step's send window moves to the window's next opening.
    """
    value = step.delay_value
    if step.delay_unit == DelayUnit.MINUTES:
        due = after + dt.timedelta(minutes=value)
    elif step.delay_unit == DelayUnit.HOURS:
        due = after + dt.timedelta(hours=value)
    elif step.delay_unit == DelayUnit.DAYS:
        due = after + dt.timedelta(days=value)
    else:
        day = after.astimezone(JAPAN).date() + dt.timedelta(days=value)
        due = max(dt.datetime.combine(day, step.at_time, tzinfo=JAPAN), after)
    return window_open_at(step, due)


def window_open_at(step: Step, at: dt.datetime) -> dt.datetime:
    """``at``, or the next opening of the step's send window when ``at`` is outside it."""
    if step.window_start is None or step.window_end is None:
        return at
    # Outside the window is a "quiet" span from its end to its start.
    opening = quiet_window_end(step.window_end, step.window_start, at)
    return opening or at


# ---------------------------------------------------------------------------------------------
# Events: matching and template data


def _same(actual, wanted) -> bool:
    if actual == wanted:
        return True
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return False
    try:
        return Decimal(str(actual)) == Decimal(str(wanted))
    except ArithmeticError:
        return str(actual) == str(wanted)


def event_matches(event: MemberEvent, *, kind: str, name: str, properties: Mapping) -> bool:
    """Whether the event is of ``kind``, named ``name`` (blank: any) with these properties."""
    if event.kind != kind or (name and event.name != name):
        return False
    stored = event.properties if isinstance(event.properties, dict) else {}
    return all(key in stored and _same(stored[key], value) for key, value in properties.items())


def _time_text(value: dt.datetime) -> str:
    return value.astimezone(JAPAN).strftime("%Y/%m/%d %H:%M")


def event_data(event: MemberEvent) -> dict:
    """What a template sees of an event as ``{{ data.* }}``.

    Every scalar property as given (``product_name``, ``image_url``, ``price``...), plus
    ``name``, ``kind``, ``value`` and ``occurred_at``; times (ISO 8601 properties ending in
    ``_at``) are shown in Japan time, ``2026/11/24 10:00``.
    """
    properties = event.properties if isinstance(event.properties, dict) else {}
    data: dict = {}
    for key, item in properties.items():
        if isinstance(item, dict | list):
            continue
        if key.endswith("_at") and isinstance(item, str):
            parsed = parse_time(item)
            data[key] = _time_text(parsed) if parsed else item
        else:
            data[key] = item
    data.setdefault("name", event.name)
    data["kind"] = event.kind
    if event.value is not None:
        value = event.value
        data["value"] = int(value) if value == value.to_integral_value() else str(value)
    data["occurred_at"] = _time_text(event.occurred_at)
    return data


def parse_time(value) -> dt.datetime | None:
    """An aware time from an ISO 8601 string (naive ones are Japan time), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=JAPAN)


# ---------------------------------------------------------------------------------------------
# Entering


def _first_step(sequence: Sequence, *, from_position: int = 1) -> Step | None:
    return (
        Step.objects.filter(sequence=sequence, position__gte=from_position)
        .order_by("position", "id")
        .first()
    )


def sequence_enroll(
    sequence: Sequence,
    member: Member,
    *,
    now: dt.datetime | None = None,
    event: MemberEvent | None = None,
    data: Mapping | None = None,
) -> Enrollment | None:
    """Enter ``member`` into the sequence if its entry condition and re-entry policy allow.

    Returns the new enrollment, or None when the member does not enter. "Always" re-entry ends
    a running enrollment (exited, "entered again") and starts a new one.
    """
    now = now or clock_now()
    if not sequence.is_active or member.channel_id != sequence.channel_id:
        return None
    first = _first_step(sequence)
    if first is None:
        return None
    if sequence.entry_segment_id and not segment_contains(sequence.entry_segment, member):
        return None
    with transaction.atomic():
        earlier = Enrollment.objects.select_for_update().filter(sequence=sequence, member=member)
        active = [row for row in earlier if row.status == EnrollmentStatus.ACTIVE]
        if sequence.reentry == ReentryPolicy.NEVER and earlier:
            return None
        if sequence.reentry == ReentryPolicy.AFTER_COMPLETION and active:
            return None
        if active:
            enrollments_end(
                Enrollment.objects.filter(pk__in=[row.pk for row in active]),
                status=EnrollmentStatus.EXITED,
                reason="entered again",
                now=now,
            )
        payload = dict(data or {})
        if event is not None and not payload:
            payload = event_data(event)
        try:
            with transaction.atomic():
                return Enrollment.objects.create(
                    sequence=sequence,
                    member=member,
                    current_step=first,
                    step_position=first.position,
                    next_due_at=step_due_at(first, after=now),
                    data=payload,
                    trigger_event=event,
                    enrolled_at=now,
                )
        except IntegrityError:
            # A concurrent trigger entered the member first.
            return None


def _sequences(channel_id: int, trigger: str):
    return Sequence.objects.filter(channel_id=channel_id, trigger=trigger, is_active=True)


def sequences_enter_on(
    *,
    member: Member,
    trigger: str,
    tag_ids: Iterable[int] = (),
    event: MemberEvent | None = None,
    now: dt.datetime | None = None,
) -> list[Enrollment]:
    """Enter the member into every active sequence of their channel started by ``trigger``."""
    sequences = _sequences(member.channel_id, trigger)
    if trigger == SequenceTrigger.TAG_ADDED:
        sequences = sequences.filter(trigger_tag_id__in=list(tag_ids))
    if trigger == SequenceTrigger.EVENT:
        if event is None:
            return []
        sequences = sequences.filter(trigger_event_kind=event.kind)
    entered = []
    for sequence in sequences.select_related("entry_segment"):
        if (
            event is not None
            and trigger == SequenceTrigger.EVENT
            and not event_matches(
                event,
                kind=sequence.trigger_event_kind,
                name=sequence.trigger_event_name,
                properties=sequence.trigger_event_filter or {},
            )
        ):
            continue
        enrollment = sequence_enroll(sequence, member, now=now, event=event)
        if enrollment is not None:
            entered.append(enrollment)
    return entered


def sequences_enter_segment_members(sequence: Sequence, *, now: dt.datetime | None = None) -> int:
    """Enter the members who joined the sequence's trigger segment since the last check."""
    from members.segments import segment_queryset

    from .models import SegmentPresence

    now = now or clock_now()
    if not sequence.is_active or sequence.trigger_segment_id is None:
        return 0
    current = set(segment_queryset(sequence.trigger_segment).values_list("pk", flat=True))
    known = set(
        SegmentPresence.objects.filter(sequence=sequence).values_list("member_id", flat=True)
    )
    entered = 0
    for member in Member.objects.filter(pk__in=current - known).select_related("channel"):
        if sequence_enroll(sequence, member, now=now) is not None:
            entered += 1
    with transaction.atomic():
        SegmentPresence.objects.filter(sequence=sequence, member_id__in=known - current).delete()
        SegmentPresence.objects.bulk_create(
            [SegmentPresence(sequence=sequence, member_id=pk) for pk in current - known],
            ignore_conflicts=True,
        )
    return entered


# ---------------------------------------------------------------------------------------------
# Leaving


def enrollments_end(queryset, *, status: str, reason: str, now: dt.datetime | None = None) -> int:
    """End the active enrollments of ``queryset``: no further step is sent."""
    return queryset.filter(status=EnrollmentStatus.ACTIVE).update(
        status=status,
        exit_reason=reason[:200],
        finished_at=now or clock_now(),
        next_due_at=None,
    )


def sequences_exit_on_event(event: MemberEvent, *, now: dt.datetime | None = None) -> int:
    """End the member's enrollments whose sequence exits on this event (e.g. a purchase)."""
    candidates = Sequence.objects.filter(
        channel_id=event.member.channel_id, exit_event_kind=event.kind
    )
    ids = [
        sequence.pk
        for sequence in candidates
        if event_matches(
            event,
            kind=sequence.exit_event_kind,
            name=sequence.exit_event_name,
            properties=sequence.exit_event_filter or {},
        )
    ]
    if not ids:
        return 0
    reason = f"event: {event.get_kind_display()} {event.name}".strip()
    return enrollments_end(
        Enrollment.objects.filter(member=event.member, sequence_id__in=ids),
        status=EnrollmentStatus.EXITED,
        reason=reason,
        now=now,
    )


def sequences_exit_on_block(member: Member, *, now: dt.datetime | None = None) -> int:
    return enrollments_end(
        Enrollment.objects.filter(member=member, sequence__exit_on_block=True),
        status=EnrollmentStatus.EXITED,
        reason="blocked",
        now=now,
    )


def sequences_exit_on_opt_out(member: Member, *, now: dt.datetime | None = None) -> int:
    return enrollments_end(
        Enrollment.objects.filter(member=member, sequence__exit_on_opt_out=True),
        status=EnrollmentStatus.EXITED,
        reason="opted out",
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# Staff actions


def enrollment_stop(enrollment: Enrollment, *, now: dt.datetime | None = None) -> bool:
    """Stop a running enrollment for good (staff)."""
    return bool(
        enrollments_end(
            Enrollment.objects.filter(pk=enrollment.pk),
            status=EnrollmentStatus.STOPPED,
            reason="stopped by staff",
            now=now,
        )
    )


def enrollment_restart(enrollment: Enrollment, *, now: dt.datetime | None = None) -> Enrollment:
    """Start the member again from the first step (staff): a new enrollment, same data.

    The re-entry policy is the staff member's to override; a running enrollment is stopped.
    """
    now = now or clock_now()
    sequence = enrollment.sequence
    first = _first_step(sequence)
    if first is None:
        raise ValueError(f"sequence {sequence.pk} has no steps")
    with transaction.atomic():
        enrollments_end(
            Enrollment.objects.filter(sequence=sequence, member_id=enrollment.member_id),
            status=EnrollmentStatus.STOPPED,
            reason="restarted by staff",
            now=now,
        )
        return Enrollment.objects.create(
            sequence=sequence,
            member_id=enrollment.member_id,
            current_step=first,
            step_position=first.position,
            next_due_at=step_due_at(first, after=now),
            data=enrollment.data,
            trigger_event_id=enrollment.trigger_event_id,
            enrolled_at=now,
        )


def enrollments_advance(
    *,
    step: Step,
    enrollment_ids: Iterable[int],
    after: dt.datetime,
    now: dt.datetime,
    to_position: int | None = None,
) -> int:
    """Move enrollments that were due at ``step`` on to the next step (or complete them).

    ``to_position`` (a branch, always later than ``step``) moves them to that step instead, or
    the first after it if it was deleted. Only enrollments still active at that step move, so
    running this twice is harmless.
    """
    ids = list(enrollment_ids)
    if not ids:
        return 0
    at_step = Enrollment.objects.filter(pk__in=ids, status=EnrollmentStatus.ACTIVE).filter(
        Q(current_step=step) | Q(current_step__isnull=True, step_position__lte=step.position)
    )
    following = (
        Step.objects.filter(sequence_id=step.sequence_id, position__gt=step.position)
        .filter(position__gte=max(to_position or 0, step.position + 1))
        .order_by("position", "id")
        .first()
    )
    if following is None:
        return at_step.update(
            status=EnrollmentStatus.COMPLETED,
            current_step=None,
            next_due_at=None,
            finished_at=now,
            attempts=0,
        )
    return at_step.update(
        current_step=following,
        step_position=following.position,
        next_due_at=step_due_at(following, after=after),
        attempts=0,
    )


def timeline_preview(sequence: Sequence, *, start: dt.datetime) -> list[tuple[Step, dt.datetime]]:
    """What a member entering at ``start`` gets when (condition segments aside)."""
    rows = []
    at = start
    for step in sequence.steps.select_related("template", "condition_segment").order_by(
        "position", "id"
    ):
        at = step_due_at(step, after=at)
        rows.append((step, at))
    return rows
