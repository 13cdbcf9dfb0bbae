"""Sending due steps: claim due enrollments, send each member their step once, move them on.

Two phases, so that many schedulers can run at once and a crash never sends twice:

1. ``steps_claim_due`` locks a chunk of due enrollments (``FOR UPDATE SKIP LOCKED``: another
   scheduler takes the next chunk instead of waiting), settles what needs no message (exits,
   skipped steps, quiet hours and frequency caps: deferred), writes one pending ``StepSend``
   per member with its retry key, leases the enrollments for a few minutes and commits.
2. ``step_sends_deliver`` locks those pending sends (again skipping locked ones), pushes each
   with its stored ``X-Line-Retry-Key`` (a 409 means an earlier attempt went through), writes
   the conversation log and moves each enrollment on to its next step, in one transaction.

A crash between or inside the phases leaves pending sends whose enrollment's lease runs out;
the next claim picks them up again and sends them with the same key.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import F, Q

from campaigns.frequency import over_cap_member_ids, quiet_hours_end
from campaigns.personalize import personalize_for_member, template_variables
from campaigns.ratelimit import rate_limit_wait
from linebot.client import client_for_channel
from linebot.errors import LineApiError, LineRateLimited, LineServerError, LineTransportError
from members.conversations import messages_log_sent_each
from members.models import (
    FriendStatus,
    Member,
    MessageSource,
)
from members.profiles import member_profile_refresh
from members.segments import segment_queryset

from .clock import clock_now
from .models import Enrollment, EnrollmentStatus, Otherwise, SendStatus, Step, StepSend
from .sequences import enrollments_advance, enrollments_end

logger = logging.getLogger(__name__)

CHUNK = 500
# How long claimed enrollments are left alone by other schedulers while their sends go out.
LEASE = dt.timedelta(minutes=5)
# A member over the frequency cap is looked at again after this long.
CAP_DEFER = dt.timedelta(hours=1)


def is_transient(error: LineApiError) -> bool:
    """429 (not the monthly limit), 5xx, or no answer: the same request may work later."""
    if isinstance(error, LineRateLimited):
        return not error.is_monthly_limit
    return isinstance(error, LineServerError | LineTransportError)


def retry_delay(attempts: int) -> dt.timedelta:
    """Back-off between attempts of a step LINE did not take: 1, 2, 4... up to 60 minutes."""
    return dt.timedelta(minutes=min(2 ** min(attempts, 6), 60))


class _Plan:
    """What one claim decided, written in bulk at its end."""

    def __init__(self):
        self.complete: list[int] = []
        self.exit: dict[str, list[int]] = defaultdict(list)
        self.defer: dict[dt.datetime, list[int]] = defaultdict(list)
        # (step, branch position or None) -> [(enrollment id, after)]
        self.advance: dict[tuple[Step, int | None], list[tuple[int, dt.datetime]]] = defaultdict(
            list
        )
        self.skip: list[StepSend] = []
        self.new: list[StepSend] = []
        self.pending: list[int] = []
        self.leased: list[int] = []


def _step_at(enrollment: Enrollment, cache: dict) -> Step | None:
    """The enrollment's step due now; if it was deleted, the next one by position."""
    if enrollment.current_step is not None:
        return enrollment.current_step
    key = (enrollment.sequence_id, enrollment.step_position)
    if key not in cache:
        cache[key] = (
            Step.objects.filter(sequence_id=key[0], position__gte=key[1])
            .select_related("template", "condition_segment")
            .order_by("position", "id")
            .first()
        )
    return cache[key]


def _members_in(segment, member_ids: Iterable[int]) -> set[int]:
    return set(
        segment_queryset(segment).filter(pk__in=list(member_ids)).values_list("pk", flat=True)
    )


def steps_claim_due(*, now: dt.datetime | None = None, limit: int = CHUNK) -> tuple[int, list[int]]:
    """Claim up to ``limit`` due enrollments: how many, and the pending sends to deliver."""
    now = now or clock_now()
    with transaction.atomic():
        enrollments = list(
            Enrollment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=EnrollmentStatus.ACTIVE, next_due_at__lte=now, sequence__is_active=True)
            .select_related(
                "member",
                "sequence__exit_segment",
                "current_step__template",
                "current_step__condition_segment",
            )
            .order_by("next_due_at")[:limit]
        )
        if not enrollments:
            return 0, []
        plan = _Plan()
        _plan(enrollments, plan, now)
        _write(plan, now)
    return len(enrollments), plan.pending


def _plan(enrollments: Sequence[Enrollment], plan: _Plan, now: dt.datetime) -> None:
    cache: dict = {}
    existing = {
        (row.enrollment_id, row.step_id): row
        for row in StepSend.objects.filter(enrollment_id__in=[e.pk for e in enrollments])
    }
    by_step: dict[int, tuple[Step, list[Enrollment]]] = {}
    for enrollment in enrollments:
        step = _step_at(enrollment, cache)
        if step is None:
            plan.complete.append(enrollment.pk)
            continue
        done = existing.get((enrollment.pk, step.pk))
        if done is not None and done.status != SendStatus.PENDING:
            # Sent (or settled) before a crash or an edit: never again, just move on.
            plan.advance[step, None].append((enrollment.pk, done.sent_at or now))
            continue
        member, sequence = enrollment.member, enrollment.sequence
        if member.friend_status == FriendStatus.BLOCKED and sequence.exit_on_block:
            plan.exit["blocked"].append(enrollment.pk)
            continue
        if member.marketing_opted_out_at is not None and sequence.exit_on_opt_out:
            plan.exit["opted out"].append(enrollment.pk)
            continue
        by_step.setdefault(step.pk, (step, []))[1].append(enrollment)

    # Segment questions, one query per segment for the whole chunk.
    exit_segments: dict[int, tuple] = {}
    for _step, group in by_step.values():
        for enrollment in group:
            segment = enrollment.sequence.exit_segment
            if segment is not None:
                exit_segments.setdefault(segment.pk, (segment, set()))[1].add(enrollment.member_id)
    inside = {pk: _members_in(segment, ids) for pk, (segment, ids) in exit_segments.items()}

    channels = {e.member.channel_id for _s, group in by_step.values() for e in group}
    quiet = {channel: quiet_hours_end(channel, now) for channel in channels}
    member_ids = [e.member_id for _s, group in by_step.values() for e in group]
    over_cap = set()
    for channel in channels:
        if quiet[channel] is None:
            over_cap |= set(
                Member.objects.filter(pk__in=member_ids)
                .filter(pk__in=over_cap_member_ids(channel, now=now))
                .values_list("pk", flat=True)
            )

    for step, group in by_step.values():
        # Identical content for everyone (no variables): one multicast for the chunk's group.
        batch_key = None if template_variables(step.template.messages) else uuid.uuid4()
        condition = (
            _members_in(step.condition_segment, [e.member_id for e in group])
            if step.condition_segment_id
            else None
        )
        for enrollment in group:
            member = enrollment.member
            segment_id = enrollment.sequence.exit_segment_id
            if segment_id is not None and member.pk not in inside[segment_id]:
                plan.exit["left segment"].append(enrollment.pk)
                continue
            pending = existing.get((enrollment.pk, step.pk))
            if pending is None and (
                (condition is not None and member.pk not in condition)
                or member.friend_status == FriendStatus.BLOCKED
            ):
                outside = condition is not None and member.pk not in condition
                reason = "not in condition segment" if outside else "blocked"
                otherwise = step.otherwise if outside else Otherwise.SKIP
                plan.skip.append(
                    StepSend(
                        enrollment_id=enrollment.pk,
                        step=step,
                        status=SendStatus.SKIPPED,
                        reason=reason,
                        sent_at=now,
                    )
                )
                if otherwise == Otherwise.END:
                    plan.exit["not in condition segment"].append(enrollment.pk)
                else:
                    branch = step.otherwise_position if otherwise == Otherwise.GOTO else None
                    plan.advance[step, branch].append((enrollment.pk, now))
                continue
            quiet_end = quiet[member.channel_id]
            if quiet_end is not None:
                plan.defer[quiet_end].append(enrollment.pk)
                continue
            if pending is None and member.pk in over_cap:
                plan.defer[now + CAP_DEFER].append(enrollment.pk)
                continue
            plan.leased.append(enrollment.pk)
            if pending is not None:
                plan.pending.append(pending.pk)
            else:
                plan.new.append(
                    StepSend(enrollment_id=enrollment.pk, step=step, batch_key=batch_key)
                )


def _write(plan: _Plan, now: dt.datetime) -> None:
    if plan.complete:
        Enrollment.objects.filter(pk__in=plan.complete).update(
            status=EnrollmentStatus.COMPLETED,
            current_step=None,
            next_due_at=None,
            finished_at=now,
        )
    for reason, ids in plan.exit.items():
        enrollments_end(
            Enrollment.objects.filter(pk__in=ids),
            status=EnrollmentStatus.EXITED,
            reason=reason,
            now=now,
        )
    for at, ids in plan.defer.items():
        Enrollment.objects.filter(pk__in=ids).update(next_due_at=at)
    if plan.skip:
        StepSend.objects.bulk_create(plan.skip, ignore_conflicts=True)
    if plan.new:
        created = StepSend.objects.bulk_create(plan.new)
        plan.pending.extend(row.pk for row in created)
    if plan.leased:
        Enrollment.objects.filter(pk__in=plan.leased).update(next_due_at=now + LEASE)
    for (step, branch), rows in plan.advance.items():
        by_time: dict[dt.datetime, list[int]] = defaultdict(list)
        for enrollment_id, after in rows:
            by_time[after].append(enrollment_id)
        for after, ids in by_time.items():
            enrollments_advance(
                step=step, enrollment_ids=ids, after=after, now=now, to_position=branch
            )


def step_sends_deliver(send_ids: Iterable[int], *, now: dt.datetime | None = None) -> dict:
    """Send each pending send once, log it, and move its enrollment on.

    Sends sharing a multicast key are always sent together, whoever asks for part of them;
    the rows are locked meanwhile, so a second deliverer waits and then finds them done.
    Answers counts: sent, failed, deferred, skipped.
    """
    now = now or clock_now()
    counts = {"sent": 0, "failed": 0, "deferred": 0, "skipped": 0}
    ids = list(send_ids)
    with transaction.atomic():
        keys = set(
            StepSend.objects.filter(pk__in=ids, batch_key__isnull=False).values_list(
                "batch_key", flat=True
            )
        )
        sends = list(
            StepSend.objects.select_for_update(of=("self",))
            .filter(Q(pk__in=ids) | Q(batch_key__in=keys), status=SendStatus.PENDING)
            .select_related("enrollment__member__channel", "step__template")
            .order_by("pk")
        )
        if not sends:
            return counts
        done: list[StepSend] = []
        logged: list[tuple[StepSend, list[dict]]] = []
        retry: list[StepSend] = []
        live: list[StepSend] = []
        for send in sends:
            if send.enrollment.status != EnrollmentStatus.ACTIVE:
                send.status, send.reason, send.sent_at = SendStatus.SKIPPED, "enrollment ended", now
                done.append(send)
                counts["skipped"] += 1
            else:
                live.append(send)
        batches: dict[uuid.UUID, list[StepSend]] = defaultdict(list)
        singles = []
        for send in live:
            if send.batch_key is not None:
                batches[send.batch_key].append(send)
            else:
                singles.append(send)
        units = [(key, rows) for key, rows in batches.items()] + [(None, [s]) for s in singles]
        for index, (key, rows) in enumerate(units):
            outcome = _multicast(key, rows, now) if key is not None else _push(rows[0], now)
            if outcome is None:
                retry.extend(row for _key, group in units[index:] for row in group)
                break
            done.extend(rows)
            counts[outcome] += len(rows)
            if outcome == "sent":
                logged.extend((row, row._messages) for row in rows)
        _outcomes_write(done)
        _log(logged, now)
        if retry:
            _defer_retries(retry, now)
            counts["deferred"] = len(retry)
        by_step: dict[Step, list[int]] = defaultdict(list)
        for send in done:
            if send.reason != "enrollment ended":
                by_step[send.step].append(send.enrollment_id)
        for step, enrollment_ids in by_step.items():
            enrollments_advance(step=step, enrollment_ids=enrollment_ids, after=now, now=now)
    return counts


def _outcomes_write(sends: list[StepSend]) -> None:
    """One UPDATE per distinct outcome (a multicast batch shares one), not a CASE per row."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for send in sends:
        outcome = (send.status, send.reason, send.sent_at, send.request_id, send.error)
        groups[outcome].append(send.pk)
    for (status, reason, sent_at, request_id, error), ids in groups.items():
        StepSend.objects.filter(pk__in=ids).update(
            status=status, reason=reason, sent_at=sent_at, request_id=request_id, error=error
        )


def _multicast(key: uuid.UUID, sends: list[StepSend], now: dt.datetime) -> str | None:
    """One multicast of a step's identical messages to a batch, with the batch's stored key."""
    messages = sends[0].step.template.messages
    channel = sends[0].enrollment.member.channel
    rate_limit_wait(channel_id=channel.channel_id, endpoint="multicast")
    try:
        result = client_for_channel(channel).multicast(
            to=[send.enrollment.member.line_user_id for send in sends],
            messages=messages,
            retry_key=key,
        )
    except LineApiError as error:
        if is_transient(error):
            for send in sends:
                send.error = str(error)
            return None
        for send in sends:
            send.status, send.sent_at, send.error = SendStatus.FAILED, now, str(error)
            send.request_id = getattr(error, "request_id", None) or ""
        return "failed"
    for send in sends:
        send.status, send.sent_at = SendStatus.SENT, now
        send.request_id = result.effective_request_id or ""
        send._messages = messages
    return "sent"


def _push(send: StepSend, now: dt.datetime) -> str | None:
    """Send one step: "sent", "failed" (LINE or the template refused), None (try later)."""
    member = send.enrollment.member
    template = send.step.template.messages
    variables = template_variables(template)
    if variables or send.enrollment.data:
        if member.profile_refreshed_at is None and any(v.startswith("member.") for v in variables):
            # A welcome step can beat the follow's own profile fetch: fetch it first.
            try:
                member_profile_refresh(member)
            except LineApiError as error:
                logger.info("Profile of member %s not fetched: %s", member.pk, error)
        messages, problems = personalize_for_member(
            template, member=member, data=send.enrollment.data
        )
        if problems:
            send.status, send.sent_at = SendStatus.FAILED, now
            send.error = "; ".join(f"{p.path}: {p.message}" for p in problems)
            return "failed"
    else:
        messages = template
    channel = member.channel
    rate_limit_wait(channel_id=channel.channel_id, endpoint="push")
    try:
        result = client_for_channel(channel).push(
            to=member.line_user_id, messages=messages, retry_key=send.retry_key
        )
    except LineApiError as error:
        if is_transient(error):
            send.error = str(error)
            return None
        send.status, send.sent_at, send.error = SendStatus.FAILED, now, str(error)
        send.request_id = getattr(error, "request_id", None) or ""
        return "failed"
    send.status, send.sent_at = SendStatus.SENT, now
    send.request_id = result.effective_request_id or ""
    send._messages = messages
    return "sent"


def _log(rows: list[tuple[StepSend, list[dict]]], now: dt.datetime) -> None:
    """What each member received, in their conversation log (one bulk write per step)."""
    by_step: dict[tuple[int, int], list[tuple[int, list[dict]]]] = defaultdict(list)
    for send, messages in rows:
        member = send.enrollment.member
        by_step[(member.channel_id, send.step_id)].append((member.pk, messages))
    for (channel_id, step_id), sent in by_step.items():
        messages_log_sent_each(
            channel_id=channel_id,
            sent=sent,
            source=MessageSource.STEP,
            source_id=step_id,
            created_at=now,
        )


def _defer_retries(sends: list[StepSend], now: dt.datetime) -> None:
    """LINE stayed unavailable after the client's own retries: these wait and go again later."""
    first = sends[0]
    StepSend.objects.filter(pk=first.pk).update(error=first.error)
    StepSend.objects.filter(pk__in=[s.pk for s in sends]).update(attempts=F("attempts") + 1)
    attempts = max(s.enrollment.attempts for s in sends)
    Enrollment.objects.filter(pk__in=[s.enrollment_id for s in sends]).update(
        next_due_at=now + retry_delay(attempts), attempts=F("attempts") + 1
    )


def steps_send_due(*, now: dt.datetime | None = None, max_chunks: int | None = None) -> dict:
    """Claim and deliver due steps chunk by chunk until none is due (or ``max_chunks``)."""
    totals = {"sent": 0, "failed": 0, "deferred": 0, "skipped": 0, "chunks": 0}
    while max_chunks is None or totals["chunks"] < max_chunks:
        claimed, ids = steps_claim_due(now=now)
        if not claimed:
            break
        totals["chunks"] += 1
        if ids:
            for key, value in step_sends_deliver(ids, now=now).items():
                totals[key] += value
    return totals
