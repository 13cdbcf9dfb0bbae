"""Sending a campaign: recipients by one query, Delivery rows in bulk, then LINE requests.

The database does the bulk work itself: one ``INSERT ... SELECT`` resolves a run's recipients
and writes every delivery with its batch number (or skip reason), a chunk of targets at a time
so that sending starts at once, and a multicast batch marks its rows sent with one statement
and logs its messages once for all its members (their deliveries say who received it); no row
passes through Python.
Identical content goes by multicast, 500 members a request, with the batch's retry key stored
before the call; personalised content goes by push, each with a key derived from the batch's
and the member. Senders take pending batches one after another; a batch is sent inside a
transaction holding its row lock: a crash rolls back its status, and the repeat carries the
same keys, so LINE answers 409 ("already accepted") instead of sending twice.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from linebot.client import client_for_channel
from linebot.endpoints import MAX_MULTICAST_RECIPIENTS
from linebot.errors import LineApiError, LineRateLimited, LineServerError, LineTransportError
from members.bulk import rows_copy, rows_update
from members.conversations import (
    messages_log_sent_each,
    messages_log_shared,
    messages_log_shared_sql,
)
from members.models import FriendStatus, Member, MessageSource
from members.segments import segment_compile
from members.tracking import track_links

from .abtests import HOLDOUT, Splitter, variant_templates
from .frequency import channel_has_frequency_cap, over_cap_member_ids, quiet_hours_end
from .models import (
    Campaign,
    CampaignRun,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    SendBatch,
    SendBatchStatus,
    SkipReason,
    crontab_fields,
)
from .narrowcast import NARROWCAST_BATCH_SIZE, NarrowcastWaiting, narrowcast_send_batch
from .personalize import personalize_for_member, template_variables
from .ratelimit import rate_limit_wait

logger = logging.getLogger(__name__)

# Members per push batch: written together, and small enough to pause promptly.
PUSH_BATCH_SIZE = 100
# Pushes in flight at once per worker: LINE answers in tens of milliseconds, and the shared
# rate limiter, not this number, keeps the channel inside LINE's limit. Two workers pushing
# to the sandbox: 8 in flight 1,876-1,972 pushes/s, 16 2,014/s, 32 2,130-2,138/s (a batch
# waits for its slowest push; more in flight, fewer such waits). The client's connection
# pool holds as many.
PUSH_CONCURRENCY = 32
WRITE_CHUNK = 2000


@dataclass(frozen=True)
class QuotaCheck:
    """What a send would use against the channel's monthly quota (``remaining`` None: no limit)."""

    recipients: int
    used: int | None = None
    limit: int | None = None
    remaining: int | None = None
    error: str = ""

    @property
    def over_quota(self) -> bool:
        return self.remaining is not None and self.recipients > self.remaining


def campaign_quota_check(campaign: Campaign) -> QuotaCheck:
    """Recipients now against LINE's quota and consumption (one message per recipient)."""
    recipients = campaign_recipients(campaign).count()
    try:
        client = client_for_channel(campaign.channel)
        quota, consumption = client.quota(), client.quota_consumption()
    except LineApiError as error:
        return QuotaCheck(recipients=recipients, error=str(error))
    used = consumption.total_usage
    if quota.type != "limited":
        return QuotaCheck(recipients=recipients, used=used)
    limit = quota.value or 0
    return QuotaCheck(recipients=recipients, used=used, limit=limit, remaining=max(limit - used, 0))


class BatchRetry(Exception):
    """LINE stayed unavailable (429, 5xx, no answer) through the client's retries: try later."""


def campaign_targets(campaign: Campaign) -> QuerySet[Member]:
    """Members the campaign aims at, before friendship and opt-out are checked (one query)."""
    members = Member.objects.filter(channel_id=campaign.channel_id)
    if not campaign.all_friends:
        segments = list(campaign.segments.all())
        if not segments:
            return members.none()
        include = Q()
        for segment in segments:
            include |= segment_compile(segment.definition)
        members = members.filter(include)
    for segment in campaign.excluded_segments.all():
        members = members.exclude(segment_compile(segment.definition))
    return members


def campaign_recipients(campaign: Campaign) -> QuerySet[Member]:
    """Who will be messaged: targets who are friends, did not opt out and are under the cap."""
    members = campaign_targets(campaign).filter(
        friend_status=FriendStatus.FRIEND, marketing_opted_out_at__isnull=True
    )
    if campaign.apply_frequency_cap:
        members = members.exclude(id__in=over_cap_member_ids(campaign.channel_id))
    return members


def campaign_is_personalized(campaign: Campaign) -> bool:
    """Whether each member gets their own push: variables in a template, or tracked clicks."""
    if campaign.track_clicks:
        return True
    templates = [campaign.template.messages, *variant_templates(campaign).values()]
    return any(template_variables(messages) for messages in templates)


def campaign_uses_narrowcast(campaign: Campaign) -> bool:
    """Narrowcast when asked for and the content is one and the same for everyone."""
    return (
        campaign.use_narrowcast
        and not campaign_is_personalized(campaign)
        and not campaign.variants.exists()
    )


def push_retry_key(batch_key: uuid.UUID, member_id: int) -> uuid.UUID:
    """The ``X-Line-Retry-Key`` of one push of a batch: derived from the batch's key, which is
    stored before any call, and the member, so every repeat of that push carries it again."""
    return uuid.uuid5(batch_key, str(member_id))


def _skip_reason(friend_status: str, opted_out_at) -> str:
    if friend_status == FriendStatus.BLOCKED:
        return SkipReason.BLOCKED
    if friend_status != FriendStatus.FRIEND:
        return SkipReason.NOT_FRIEND
    if opted_out_at is not None:
        return SkipReason.OPTED_OUT
    return SkipReason.FREQUENCY_CAP


# The same reasons in SQL, for rows the database writes itself (constants of our own choices).
_SKIP_REASON_SQL = (
    f"CASE WHEN t.friend_status = '{FriendStatus.BLOCKED}' THEN '{SkipReason.BLOCKED}' "
    f"WHEN t.friend_status <> '{FriendStatus.FRIEND}' THEN '{SkipReason.NOT_FRIEND}' "
    f"WHEN t.marketing_opted_out_at IS NOT NULL THEN '{SkipReason.OPTED_OUT}' "
    f"ELSE '{SkipReason.FREQUENCY_CAP}' END"
)


def _run_for(campaign: Campaign) -> CampaignRun:
    """The campaign's current run (made if it has none yet); the campaign row is locked."""
    if campaign.current_run_id is not None:
        return CampaignRun.objects.get(pk=campaign.current_run_id)
    run = _new_run(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(current_run=run)
    return run


def _new_run(campaign: Campaign, *, trigger: str = "", send_limit: int | None = None):
    last = campaign.runs.aggregate(last=Max("number"))["last"] or 0
    return CampaignRun.objects.create(
        campaign=campaign, number=last + 1, trigger=trigger, send_limit=send_limit
    )


def _targets_marked(campaign: Campaign) -> QuerySet | None:
    """The campaign's targets in member id order as (id, friend_status, marketing_opted_out_at,
    eligible): eligible is 1 for a friend who did not opt out and is under the frequency cap.
    One query; None when the campaign targets nobody."""
    targets = campaign_targets(campaign)
    if targets.query.is_empty():
        return None
    eligible = Q(friend_status=FriendStatus.FRIEND, marketing_opted_out_at__isnull=True)
    if campaign.apply_frequency_cap:
        eligible &= ~Q(id__in=over_cap_member_ids(campaign.channel_id))
    return (
        targets.annotate(
            eligible=Case(
                When(eligible, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        )
        .order_by("id")
        .values_list("id", "friend_status", "marketing_opted_out_at", "eligible")
    )


# Recipients are resolved in member id order a chunk of targets at a time, each chunk committed
# with the batches it completes, so senders work on those while the rest is written: the first
# chunk small (the first batches go out within a fraction of a second), each next one twice as
# large up to the largest (a million targets: a dozen statements).
RESOLVE_CHUNK_FIRST = 5_000
RESOLVE_CHUNK_MAX = 100_000


def _deliveries_write_chunk(
    campaign: Campaign, run: CampaignRun, targets: QuerySet, size: int, chunk: int | None
) -> tuple[int, int, int | None]:
    """The deliveries of the next ``chunk`` targets (None: all) after member
    ``run.resolved_through``, in one ``INSERT ... SELECT`` the database runs by itself.

    Eligible targets, numbered on from ``run.resolved_count`` in member id order, are pending in
    batch ``(n - 1) // size + 1`` up to the run's send limit and skipped for the quota after
    it; the others are skipped with their reason. Returns (rows written, rows to send, the
    last member id written or None).
    """
    ops = connection.ops
    if run.resolved_through is not None:
        targets = targets.filter(pk__gt=run.resolved_through)
    if chunk is not None:
        targets = targets[:chunk]
    sql, params = targets.query.sql_with_params()
    send = "t.eligible = 1"
    limit_params: list = []
    if run.send_limit is not None:
        send += " AND %s + t.rn <= %s"
        limit_params = [run.resolved_count, run.send_limit]
    columns = ["campaign_id", "run_id", "member_id", "batch_number", "status", "reason"]
    columns += ["request_id", "error"]
    table = ops.quote_name(Delivery._meta.db_table)
    # Identifiers come from the model, reasons from our own choices; values are parameters.
    insert = (
        f"INSERT INTO {table} ({', '.join(map(ops.quote_name, columns))}) "  # noqa: S608
        f"SELECT %s, %s, t.id, "
        f"CASE WHEN {send} THEN (%s + t.rn - 1) / %s + 1 END, "
        f"CASE WHEN {send} THEN '{DeliveryStatus.PENDING}' ELSE '{DeliveryStatus.SKIPPED}' END, "
        f"CASE WHEN {send} THEN '' WHEN t.eligible = 1 THEN '{SkipReason.QUOTA}' "
        f"ELSE {_SKIP_REASON_SQL} END, '', '' "
        f"FROM (SELECT base.*, ROW_NUMBER() OVER (PARTITION BY base.eligible ORDER BY base.id) "
        f"AS rn FROM ({sql}) base) t"
    )
    values = [campaign.pk, run.pk, *limit_params, run.resolved_count, size]
    values += [*limit_params, *limit_params, *params]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH written AS ({insert} RETURNING member_id, batch_number) "  # noqa: S608
                "SELECT count(*), count(batch_number), max(member_id) FROM written",
                values,
            )
            return cursor.fetchone()
        cursor.execute(insert, values)
    written = Delivery.objects.filter(run=run, member_id__gt=run.resolved_through or 0)
    totals = written.aggregate(n=Count("pk"), to_send=Count("batch_number"), last=Max("member_id"))
    return totals["n"], totals["to_send"], totals["last"]


@dataclass(frozen=True)
class _Resolved:
    """What one chunk did: batches ready to send in all, and whether the run is resolved."""

    batches: int
    done: bool


def _resolve_chunk(
    campaign: Campaign, run_id: int, targets: QuerySet, size: int, chunk: int | None
) -> _Resolved | None:
    """Resolve the next chunk of the run's targets in its own transaction: their deliveries,
    the batches they complete (all that are left after the last chunk), the run's progress and
    the counts. None when there was nothing to do: the run was resolved already, or the
    campaign was cancelled, or another preparer wrote the same chunk first (the chunk is then
    rolled back; exactly one of them resolves each member)."""
    try:
        with transaction.atomic():
            run = CampaignRun.objects.get(pk=run_id)
            if run.prepared_at is not None:
                return None
            written, to_send, last = _deliveries_write_chunk(campaign, run, targets, size, chunk)
            resolved = run.resolved_count + to_send
            done = chunk is None or written < chunk
            # Every chunk before the last makes only whole batches: those already made.
            made = run.resolved_count // size
            ready = -(-resolved // size) if done else resolved // size
            SendBatch.objects.bulk_create(
                SendBatch(campaign=campaign, run_id=run_id, number=number)
                for number in range(made + 1, ready + 1)
            )
            counts = {
                "total_count": F("total_count") + written,
                "skipped_count": F("skipped_count") + (written - to_send),
            }
            # The run's row, then the campaign's, as a sender's counts take them.
            moved = CampaignRun.objects.filter(
                pk=run_id,
                resolved_through=run.resolved_through,
                resolved_count=run.resolved_count,
            ).update(
                resolved_through=last if last is not None else run.resolved_through,
                resolved_count=resolved,
                prepared_at=timezone.now() if done else None,
                **counts,
            )
            live = Campaign.objects.filter(
                pk=campaign.pk,
                current_run_id=run_id,
                status__in=(CampaignStatus.SENDING, CampaignStatus.PAUSED),
            ).update(**counts)
            if not (moved and live):
                transaction.set_rollback(True)
                return None
    except IntegrityError:
        return None  # another preparer's chunk holds these members
    return _Resolved(batches=ready, done=done)


def _deliveries_write_split(
    campaign: Campaign, run: CampaignRun, targets: QuerySet, size: int
) -> int:
    """Deliveries of an A/B test: each eligible target goes to a variant or the holdout by the
    splitter (in Python: the arm is a hash of campaign and member), then into a batch of its
    variant. Returns how many are to be sent."""
    splitter = Splitter(campaign)
    limit = run.send_limit
    count = 0
    number = 0
    buffers: dict[int | None, list[int]] = {}
    rows: list[dict] = []
    base = {"campaign_id": campaign.pk, "run_id": run.pk}

    def flush(variant_id: int | None) -> None:
        nonlocal number
        member_ids = buffers.pop(variant_id, [])
        if member_ids:
            number += 1
            SendBatch.objects.create(
                campaign=campaign, run=run, number=number, variant_id=variant_id
            )
            rows.extend(
                {**base, "member_id": pk, "batch_number": number, "variant_id": variant_id}
                for pk in member_ids
            )

    def skip(member_id: int, reason: str, variant_id: int | None = None) -> None:
        rows.append(
            {
                **base,
                "member_id": member_id,
                "variant_id": variant_id,
                "status": DeliveryStatus.SKIPPED,
                "reason": reason,
            }
        )

    for member_id, friend_status, opted_out_at, eligible in targets.iterator(
        chunk_size=WRITE_CHUNK
    ):
        if not eligible:
            skip(member_id, _skip_reason(friend_status, opted_out_at))
        elif (arm := splitter.assign(member_id)) == HOLDOUT:
            skip(member_id, SkipReason.HOLDOUT)
        elif limit is not None and count >= limit:
            skip(member_id, SkipReason.QUOTA, arm)
        else:
            count += 1
            buffers.setdefault(arm, []).append(member_id)
            if len(buffers[arm]) >= size:
                flush(arm)
        if len(rows) >= WRITE_CHUNK:
            rows_copy(Delivery, rows)
            rows.clear()
    for arm in list(buffers):
        flush(arm)
    rows_copy(Delivery, rows)
    return count


def campaign_prepare(campaign: Campaign, *, on_batches: Callable[[], None] | None = None) -> int:
    """Resolve the current run's recipients once; write their Delivery rows and batches.

    Targets who blocked us, are not friends, opted out or are over the frequency cap get a
    skipped row with the reason; so do recipients past the run's send limit (reason "quota"),
    who are the last by member id. Without A/B variants or a holdout the database writes every
    row itself, a chunk of targets at a time in member id order (``_resolve_chunk``), and
    ``on_batches`` is called once the first batches are committed, so that sending starts
    while the rest is written (in one statement under a frequency cap); an A/B test's
    recipients are written in one transaction. Runs once per run (``prepared_at``), and carries
    on where a stopped preparer left off; returns the number of members to message.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        run = _run_for(campaign)
        if run.prepared_at is not None:
            return run.resolved_count
        # Committed durably (unlike a batch's outcome): the batches' retry keys must survive.
        size = PUSH_BATCH_SIZE if campaign_is_personalized(campaign) else MAX_MULTICAST_RECIPIENTS
        if campaign_uses_narrowcast(campaign):
            size = NARROWCAST_BATCH_SIZE
        targets = _targets_marked(campaign)
        now = timezone.now()
        if run.resolved_through is None:  # nothing resolved yet: the run starts now
            Campaign.objects.filter(pk=campaign.pk).update(
                started_at=now,
                status=CampaignStatus.SENDING,
                current_run=run,
                sent_count=0,
                failed_count=0,
                total_count=0,
                skipped_count=0,
            )
        split = campaign.holdout_percent or campaign.variants.exists()
        if targets is None or split:
            count = 0
            if targets is not None:
                count = _deliveries_write_split(campaign, run, targets, size)
            total = Delivery.objects.filter(run=run).count()
            counts = {"total_count": total, "skipped_count": total - count}
            CampaignRun.objects.filter(pk=run.pk).update(
                prepared_at=now, resolved_count=count, **counts
            )
            Campaign.objects.filter(pk=campaign.pk).update(**counts)
            return count
    # The frequency cap's subquery reads the channel's last days of marketing messages; once
    # per chunk it would read them a dozen times, so a capped send is resolved in one go.
    capped = campaign.apply_frequency_cap and channel_has_frequency_cap(campaign.channel_id)
    chunk = None if capped else RESOLVE_CHUNK_FIRST
    while (resolved := _resolve_chunk(campaign, run.pk, targets, size, chunk)) is not None:
        if on_batches is not None and resolved.batches:
            on_batches()
            on_batches = None
        if resolved.done:
            break
        chunk = min(chunk * 2, RESOLVE_CHUNK_MAX)
    return CampaignRun.objects.values_list("resolved_count", flat=True).get(pk=run.pk)


def campaign_resolving(campaign_id: int) -> bool:
    """Whether the campaign is sending a run whose recipients are still being written."""
    return Campaign.objects.filter(
        pk=campaign_id,
        status=CampaignStatus.SENDING,
        current_run__isnull=False,
        current_run__prepared_at__isnull=True,
    ).exists()


def _is_transient(error: LineApiError) -> bool:
    if isinstance(error, LineRateLimited):
        return not error.is_monthly_limit
    return isinstance(error, LineServerError | LineTransportError)


def _commit_without_waiting_for_disk() -> None:
    """Let this transaction's COMMIT return before PostgreSQL flushes it to disk.

    Waiting for the flush was the largest single cost of a batch (bench/README.md, fanout).
    Safe here: a database crash can only lose the last batches' outcomes, their rows are still
    pending, and the repeat carries the same retry keys, which LINE answers with 409.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


@dataclass
class _Sending:
    """What a sender reads once for all the batches it sends: the campaign, its channel and
    messages (each A/B variant's too), and how it goes out."""

    campaign: Campaign
    personalized: bool
    narrowcast: bool
    variant_messages: dict[int, list]

    @classmethod
    def load(cls, campaign_id: int) -> _Sending | None:
        campaign = (
            Campaign.objects.select_related("channel", "template").filter(pk=campaign_id).first()
        )
        if campaign is None:
            return None
        return cls(
            campaign=campaign,
            personalized=campaign_is_personalized(campaign),
            narrowcast=campaign_uses_narrowcast(campaign),
            variant_messages=variant_templates(campaign),
        )

    def messages(self, batch: SendBatch) -> list:
        if batch.variant_id is not None:
            return self.variant_messages[batch.variant_id]
        return self.campaign.template.messages


def _batch_claim(
    campaign_id: int, batch_id: int | None, *, after: tuple[int, int] | None = None
) -> SendBatch | None:
    """Lock a pending batch of a campaign that is sending (this one, or the current run's next
    by number, past ``after`` if given); None if there is none this worker may take (held by
    another worker, done, or the campaign stopped). Only the current run has pending batches:
    a run starts when the last one is over, and cancelling closes every batch."""
    batches = SendBatch.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        campaign_id=campaign_id,
        status=SendBatchStatus.PENDING,
        campaign__status=CampaignStatus.SENDING,
    )
    if batch_id is not None:
        batches = batches.filter(pk=batch_id)
    else:
        batches = batches.filter(run_id=F("campaign__current_run_id"))
    if after is not None:
        # Done batches stay in the pending index until vacuumed; starting past the last one
        # taken keeps each claim from stepping over all of them.
        run_id, number = after
        batches = batches.filter(run_id=run_id, number__gt=number)
    return batches.order_by("number").first()


def _pg_statement(sql: str, params: Sequence):
    """Run a statement of the sending path on PostgreSQL with its values bound by the server and
    prepared: each is run once per batch with the same text, so PostgreSQL plans it once per
    connection instead of every time (planning cost as much as running the small ones; a
    connection pooler between us and PostgreSQL must keep prepared statements, as PgBouncer
    does from 1.21 with ``max_prepared_statements``). Inside the caller's transaction;
    answers the cursor, for the caller to close."""
    import psycopg

    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    try:
        cursor.execute(sql, params, prepare=True)
    except BaseException:
        cursor.close()
        raise
    return cursor


@functools.cache  # the same text for every batch
def _multicast_claim_sql() -> str:
    quote = connection.ops.quote_name
    batches, campaigns = quote(SendBatch._meta.db_table), quote(Campaign._meta.db_table)
    deliveries, members = quote(Delivery._meta.db_table), quote(Member._meta.db_table)
    # Identifiers from the models, statuses from our own choices; values are parameters.
    return (
        "WITH claimed AS ("  # noqa: S608
        f"SELECT b.id, b.run_id, b.number, b.retry_key, b.variant_id FROM {batches} b "
        f"JOIN {campaigns} c ON c.id = b.campaign_id "
        f"WHERE b.campaign_id = %s AND b.status = '{SendBatchStatus.PENDING}' "
        f"AND c.status = '{CampaignStatus.SENDING}' AND b.run_id = c.current_run_id "
        "AND b.run_id = COALESCE(%s::bigint, c.current_run_id) AND b.number > %s "
        "ORDER BY b.number LIMIT 1 FOR UPDATE OF b SKIP LOCKED) "
        "SELECT claimed.*, set_config('synchronous_commit', 'off', true), "
        f"ARRAY(SELECT m.line_user_id FROM {deliveries} d JOIN {members} m ON m.id = d.member_id "
        "WHERE d.run_id = claimed.run_id AND d.batch_number = claimed.number "
        f"AND d.status = '{DeliveryStatus.PENDING}') FROM claimed"
    )


def _multicast_claim(
    campaign_id: int, after: tuple[int, int] | None
) -> tuple[SendBatch, list[str]] | None:
    """PostgreSQL: ``_batch_claim`` of the campaign's next batch with its pending members' user
    ids, in one round trip; its COMMIT then returns without waiting for the disk (see
    ``_commit_without_waiting_for_disk``). None when there is no batch to take."""
    run_id, number = after if after is not None else (None, 0)
    with _pg_statement(_multicast_claim_sql(), [campaign_id, run_id, number]) as cursor:
        row = cursor.fetchone()
    if row is None:
        return None
    batch_id, run_id, number, retry_key, variant_id, _setting, user_ids = row
    batch = SendBatch(
        pk=batch_id,
        campaign_id=campaign_id,
        run_id=run_id,
        number=number,
        retry_key=retry_key,
        variant_id=variant_id,
    )
    batch._state.adding = False
    batch._state.db = connection.alias
    return batch, user_ids


@dataclass(frozen=True)
class BatchOutcome:
    """What ``campaign_send_batch`` did: ``done``, ``stopped`` (paused or cancelled mid-batch:
    rows stay pending) or ``none`` (no batch to take), and the batch's (run id, number)."""

    outcome: str
    position: tuple[int, int] | None = None


def campaign_send_batch(
    *,
    campaign_id: int,
    batch_id: int | None = None,
    after: tuple[int, int] | None = None,
    sending: _Sending | None = None,
) -> BatchOutcome:
    """Send one pending batch (``batch_id``, or the campaign's next one after ``after``), in one
    transaction that holds the batch's row lock. Raises ``BatchRetry`` when LINE stayed
    unavailable (what went out so far is committed; the repeat sends the rest with the same
    keys)."""
    sending = sending or _Sending.load(campaign_id)
    if sending is None:
        return BatchOutcome("none")
    campaign = sending.campaign
    retry: BatchRetry | None = None
    # The sender loop's multicast batches take the short way on PostgreSQL.
    multicast_sql = (
        batch_id is None
        and not (sending.personalized or sending.narrowcast)
        and connection.vendor == "postgresql"
    )
    with transaction.atomic():
        user_ids = None
        if multicast_sql:
            claimed = _multicast_claim(campaign_id, after)
            if claimed is None:
                return BatchOutcome("none")
            batch, user_ids = claimed
        else:
            batch = _batch_claim(campaign_id, batch_id, after=after)
            if batch is None:
                return BatchOutcome("none")
            _commit_without_waiting_for_disk()
        messages = sending.messages(batch)
        try:
            if sending.personalized:
                finished = _send_pushes(campaign, batch, messages)
            elif sending.narrowcast:
                finished = _send_narrowcast(campaign, batch, messages)
            else:
                finished = _send_multicast(campaign, batch, messages, user_ids=user_ids)
        except BatchRetry as error:
            retry = error
            finished = False
        changes = {"attempts": F("attempts") + 1, "request_id": batch.request_id}
        if retry is not None:
            changes["error"] = str(retry)
        if finished:
            changes.update(status=SendBatchStatus.DONE, sent_at=timezone.now())
        if not getattr(batch, "closed", False):  # the outcome's statement may have done it
            SendBatch.objects.filter(pk=batch.pk).update(**changes)
    if retry is not None:
        raise retry
    return BatchOutcome("done" if finished else "stopped", (batch.run_id, batch.number))


# A sender works this long before it queues itself again: campaigns, webhooks and steps that
# share workers take turns, and no task runs near the broker's visibility timeout.
SENDER_SECONDS = 20.0
# How often a sender that caught up with the preparer looks for its next batches.
RESOLVING_POLL_SECONDS = 0.02


def campaign_send_pending(*, campaign_id: int, seconds: float = SENDER_SECONDS) -> str:
    """Send the campaign's pending batches one after another, each in its own transaction,
    while other senders take others: ``done`` when none is left to take (the run is then
    closed if no other sender still holds one), ``stopped`` when the campaign stopped,
    ``more`` when ``seconds`` ran out first. Raises ``BatchRetry`` as ``campaign_send_batch``.
    """
    sending = _Sending.load(campaign_id)
    deadline = time.monotonic() + seconds
    after = None
    while time.monotonic() < deadline:
        sent = campaign_send_batch(campaign_id=campaign_id, after=after, sending=sending)
        if sent.outcome == "stopped":
            return sent.outcome
        if sent.outcome == "none":
            if campaign_resolving(campaign_id):
                # The preparer is still writing batches; they come after the last one taken.
                time.sleep(RESOLVING_POLL_SECONDS)
                continue
            if after is not None:
                after = None  # one more look from the start: a batch another sender left
                continue
            campaign_finish_if_done(campaign_id)
            return "done"
        after = sent.position
    return "more"


def campaign_senders(campaign: Campaign) -> int:
    """How many senders to queue for the campaign's pending batches: one per batch, up to
    ``CAMPAIGN_SENDERS`` (as many as there are workers to send in parallel); that many while
    the recipients are still being resolved."""
    if campaign_resolving(campaign.pk):
        return settings.CAMPAIGN_SENDERS  # more batches are on their way
    pending = campaign.batches.filter(status=SendBatchStatus.PENDING).count()
    return min(pending, settings.CAMPAIGN_SENDERS)


def _count(run_id: int, *, sent: int = 0, failed: int = 0, skipped: int = 0) -> None:
    """Add to the run's counts, and to the campaign's while this run is its current one."""
    if not (sent or failed or skipped):
        return
    changes = {
        "sent_count": F("sent_count") + sent,
        "failed_count": F("failed_count") + failed,
        "skipped_count": F("skipped_count") + skipped,
    }
    CampaignRun.objects.filter(pk=run_id).update(**changes)
    Campaign.objects.filter(current_run_id=run_id).update(**changes)


def error_text(error: LineApiError) -> str:
    """LINE's status, message and details, without the request id (stored apart): rows with
    the same problem read the same, so results can group them."""
    text = f"{error.status} {error.message}" if error.status is not None else error.message
    if error.details:
        text += " [" + "; ".join(str(detail) for detail in error.details) + "]"
    return text


def _send_multicast(
    campaign: Campaign, batch: SendBatch, messages: list, *, user_ids: list[str] | None = None
) -> bool:
    """One multicast of the batch's pending members (``user_ids`` if the claim read them); their
    rows marked by the database, the messages logged once (``_record_sent``). LINE's request id
    is left on ``batch`` for the caller to store."""
    pending = batch.deliveries.filter(status=DeliveryStatus.PENDING)
    if user_ids is None:
        user_ids = list(pending.order_by().values_list("member__line_user_id", flat=True))
    if not user_ids:
        return True
    client = client_for_channel(campaign.channel)
    rate_limit_wait(channel_id=campaign.channel.channel_id, endpoint="multicast")
    now = timezone.now()
    try:
        result = client.multicast(to=user_ids, messages=messages, retry_key=batch.retry_key)
    except LineApiError as error:
        if _is_transient(error):
            raise BatchRetry(str(error)) from error
        text = error_text(error)
        failed = pending.update(status=DeliveryStatus.FAILED, error=text, request_id=_rid(error))
        SendBatch.objects.filter(pk=batch.pk).update(error=text)
        batch.request_id = _rid(error)
        _count(batch.run_id, failed=failed)
        return True
    # LINE's request id goes on the batch: the same for all its rows, which grow no longer
    # and so are rewritten in place (see the Delivery table's fillfactor).
    batch.request_id = result.effective_request_id or ""
    _record_sent(campaign, batch, messages, now)
    return True


@functools.cache  # the same text for every batch
def _record_sent_sql() -> str:
    quote = connection.ops.quote_name
    deliveries, runs = quote(Delivery._meta.db_table), quote(CampaignRun._meta.db_table)
    campaigns, batches = quote(Campaign._meta.db_table), quote(SendBatch._meta.db_table)
    # Identifiers from the models, statuses from our own choices; values are parameters.
    return (
        f"WITH sent AS (UPDATE {deliveries} SET status = '{DeliveryStatus.SENT}', "  # noqa: S608
        "sent_at = %s WHERE run_id = %s AND batch_number = %s "
        f"AND status = '{DeliveryStatus.PENDING}' RETURNING 1), "
        "counted AS (SELECT count(*) AS n FROM sent), "
        "logged AS ({log}), "
        f"run_counted AS (UPDATE {runs} SET sent_count = sent_count + counted.n "
        "FROM counted WHERE id = %s RETURNING counted.n), "
        # Reading what the run's update returned makes it lock the run's row before the
        # campaign's, the order every writer of both keeps (no deadlock).
        f"campaign_counted AS (UPDATE {campaigns} SET sent_count = sent_count + run_counted.n "
        "FROM run_counted WHERE current_run_id = %s), "
        f"closed AS (UPDATE {batches} SET status = '{SendBatchStatus.DONE}', sent_at = %s, "
        "request_id = %s, attempts = attempts + 1 WHERE id = %s) "
        "SELECT n FROM counted"
    )


def _record_sent(campaign: Campaign, batch: SendBatch, messages: list, now) -> None:
    """Mark the batch's pending rows sent at ``now``, add them to the counts and log the
    messages once for all of them (the batch's key names the send; its members' deliveries
    say who received it). On PostgreSQL one prepared statement does it all and closes the
    batch too (``batch.closed``); other databases take a statement each."""
    if connection.vendor == "postgresql":
        log_sql, log_params = messages_log_shared_sql(
            channel_id=campaign.channel_id,
            audience_key=batch.retry_key,
            messages=messages,
            source=MessageSource.CAMPAIGN,
            source_id=campaign.pk,
            created_at=now,
            condition="EXISTS (SELECT 1 FROM sent)",
        )
        params = [now, batch.run_id, batch.number, *log_params, batch.run_id, batch.run_id]
        params += [now, batch.request_id, batch.pk]
        _pg_statement(_record_sent_sql().replace("{log}", log_sql), params).close()
        batch.closed = True
        return
    sent = batch.deliveries.filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENT, sent_at=now
    )
    _count(batch.run_id, sent=sent)
    if sent:
        messages_log_shared(
            channel_id=campaign.channel_id,
            audience_key=batch.retry_key,
            messages=messages,
            source=MessageSource.CAMPAIGN,
            source_id=campaign.pk,
            created_at=now,
        )


def _send_narrowcast(campaign: Campaign, batch: SendBatch, messages: list) -> bool:
    deliveries = batch.deliveries.filter(status=DeliveryStatus.PENDING)
    try:
        failure = narrowcast_send_batch(campaign, batch, messages)
    except NarrowcastWaiting as waiting:
        raise BatchRetry(str(waiting)) from waiting
    except LineApiError as error:
        if _is_transient(error):
            raise BatchRetry(str(error)) from error
        failure = error_text(error)
    if failure:
        failed = deliveries.update(
            status=DeliveryStatus.FAILED, error=failure, request_id=batch.request_id
        )
        SendBatch.objects.filter(pk=batch.pk).update(error=failure)
        _count(batch.run_id, failed=failed)
        return True
    _record_sent(campaign, batch, messages, timezone.now())  # request id: the batch's
    return True


def _rid(error: LineApiError) -> str:
    return getattr(error, "request_id", None) or ""


_push_pools: dict[int, ThreadPoolExecutor] = {}
_push_pools_lock = threading.Lock()


def _push_pool() -> ThreadPoolExecutor:
    """The process's threads for pushes, kept across batches (one set per forked process)."""
    pid = os.getpid()
    with _push_pools_lock:
        pool = _push_pools.get(pid)
        if pool is None:
            pool = _push_pools[pid] = ThreadPoolExecutor(
                max_workers=PUSH_CONCURRENCY, thread_name_prefix="line-push"
            )
        return pool


def _send_pushes(campaign: Campaign, batch: SendBatch, template: list) -> bool:
    """Push to each pending member of the batch, PUSH_CONCURRENCY at a time (LINE answers in
    tens of milliseconds; the shared rate limiter, not the threads, keeps the channel inside
    LINE's limit). The outcomes are written together, with the batch; a crash before that
    repeats the batch with the same retry keys, which LINE answers with 409. A pause or
    cancel is noticed between batches (PUSH_BATCH_SIZE members at most).
    """
    client = client_for_channel(campaign.channel)
    pending = (
        batch.deliveries.filter(status=DeliveryStatus.PENDING)
        .select_related("member")
        .order_by("pk")
    )
    invalid: list[dict] = []
    prepared: list[tuple[Delivery, list]] = []
    for delivery in pending:
        member = delivery.member
        messages, problems = personalize_for_member(template, member=member)
        if problems:
            error = "; ".join(f"{p.path}: {p.message}" for p in problems)
            invalid.append(
                {
                    "pk": delivery.pk,
                    "status": DeliveryStatus.SKIPPED,
                    "reason": SkipReason.INVALID,
                    "error": error,
                }
            )
            continue
        if campaign.track_clicks:
            messages = track_links(
                messages, source=MessageSource.CAMPAIGN, source_id=campaign.pk, member=member
            )
        prepared.append((delivery, messages))
    if prepared:
        # The batch's tokens at once: one round trip to the limiter, not one per push.
        rate_limit_wait(
            channel_id=campaign.channel.channel_id, endpoint="push", count=len(prepared)
        )
    pool = _push_pool()
    futures = [
        (
            delivery,
            messages,
            pool.submit(
                client.push,
                to=delivery.member.line_user_id,
                messages=messages,
                retry_key=push_retry_key(batch.retry_key, delivery.member_id),
            ),
        )
        for delivery, messages in prepared
    ]
    sent: list[dict] = []
    failed: list[dict] = []
    sent_rows: list[tuple[int, Sequence[dict]]] = []
    retry: BatchRetry | None = None
    for delivery, messages, future in futures:
        try:
            result = future.result()
        except LineApiError as error:
            if _is_transient(error):
                # The others are still recorded; the repeat sends this one with the same key.
                retry = retry or BatchRetry(str(error))
            else:
                failed.append(
                    {
                        "pk": delivery.pk,
                        "status": DeliveryStatus.FAILED,
                        "sent_at": None,
                        "request_id": _rid(error),
                        "error": error_text(error),
                    }
                )
            continue
        sent.append({"pk": delivery.pk, "request_id": result.effective_request_id or ""})
        sent_rows.append((delivery.member_id, messages))
    now = timezone.now()  # when the last answer came: the sent rows' time
    for row in sent:
        row.update(status=DeliveryStatus.SENT, sent_at=now)
    rows_update(Delivery, sent, ["status", "sent_at", "request_id"])
    rows_update(Delivery, failed, ["status", "sent_at", "request_id", "error"])
    rows_update(Delivery, invalid, ["status", "reason", "error"])
    messages_log_sent_each(
        channel_id=campaign.channel_id,
        sent=sent_rows,
        source=MessageSource.CAMPAIGN,
        source_id=campaign.pk,
        created_at=now,
    )
    _count(batch.run_id, sent=len(sent), failed=len(failed), skipped=len(invalid))
    if retry is not None:
        raise retry
    return True


def campaign_finish_if_done(campaign_id: int) -> bool:
    """Close the current run once none of its batches is pending (a batch is done when each of
    its members was sent to, failed or skipped).

    A one-off campaign is then done; a recurring one waits, scheduled, for its next run.
    """
    campaign = Campaign.objects.filter(pk=campaign_id).only("current_run_id", "crontab").first()
    if campaign is None or campaign.current_run_id is None:
        return False
    pending = SendBatch.objects.filter(
        campaign_id=campaign_id, run_id=campaign.current_run_id, status=SendBatchStatus.PENDING
    )
    now = timezone.now()
    with transaction.atomic():
        finished = (
            Campaign.objects.filter(
                pk=campaign_id,
                status=CampaignStatus.SENDING,
                current_run_id=campaign.current_run_id,
                current_run__prepared_at__isnull=False,
            )
            .exclude(Exists(pending))
            .update(
                status=CampaignStatus.SCHEDULED if campaign.crontab else CampaignStatus.DONE,
                finished_at=now,
            )
        )
        if finished:
            CampaignRun.objects.filter(pk=campaign.current_run_id).update(finished_at=now)
    return bool(finished)


def _clocked_task(task, *, name: str, campaign_id: int, at):
    """Create, or move to ``at``, a one-off beat task that fires the campaign."""
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    if task is None:
        return PeriodicTask.objects.create(
            name=name,
            task="campaigns.tasks.send_scheduled_campaign",
            args=json.dumps([campaign_id]),
            clocked=ClockedSchedule.objects.create(clocked_time=at),
            one_off=True,
        )
    ClockedSchedule.objects.filter(pk=task.clocked_id).update(clocked_time=at)
    # Beat notices changes by this row's save (PeriodicTasks.changed).
    task.enabled = True
    task.save()
    return task


def _delete_task(task_id: int | None) -> None:
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    task = PeriodicTask.objects.filter(pk=task_id).first() if task_id else None
    if task is not None:
        clocked_id = task.clocked_id
        task.delete()
        ClockedSchedule.objects.filter(pk=clocked_id).delete()


def campaign_schedule(campaign: Campaign, *, at) -> None:
    """Send once at ``at`` through django-celery-beat; the campaign owns its one-off beat task.

    Scheduling again moves the time of the same task.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise ValueError(f"campaign {campaign.pk} is {campaign.status}: too late to schedule")
        if campaign.crontab:
            raise ValueError(f"campaign {campaign.pk} repeats by crontab: no one-off time")
        task = _clocked_task(
            campaign.schedule_task, name=f"campaign {campaign.pk}", campaign_id=campaign.pk, at=at
        )
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.SCHEDULED, scheduled_at=at, schedule_task=task
        )


def campaign_schedule_recurring(campaign: Campaign) -> None:
    """Repeat by the campaign's crontab (Japan time): create or update its beat task.

    A draft becomes scheduled; a campaign in the middle of a run keeps going, and its next
    runs follow the new crontab.
    """
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
            raise ValueError(f"campaign {campaign.pk} is {campaign.status}: nothing to repeat")
        fields = crontab_fields(campaign.crontab)
        schedule, _created = CrontabSchedule.objects.get_or_create(**fields, timezone="Asia/Tokyo")
        task = campaign.schedule_task
        if task is not None and task.crontab_id is None:
            # It was a one-off time: that task goes, a repeating one replaces it.
            _delete_task(task.pk)
            task = None
        if task is None:
            task = PeriodicTask.objects.create(
                name=f"campaign {campaign.pk} (repeating)",
                task="campaigns.tasks.send_scheduled_campaign",
                args=json.dumps([campaign.pk]),
                crontab=schedule,
            )
        elif task.crontab_id != schedule.pk or not task.enabled:
            task.crontab = schedule
            task.enabled = True
            task.save()
        changes = {"schedule_task": task, "scheduled_at": None}
        if campaign.status == CampaignStatus.DRAFT:
            changes["status"] = CampaignStatus.SCHEDULED
        Campaign.objects.filter(pk=campaign.pk).update(**changes)


def campaign_unschedule(campaign: Campaign) -> None:
    """Remove the campaign's beat tasks (one-off, repeating, after quiet hours), if any."""
    with transaction.atomic():
        row = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _delete_task(row.schedule_task_id)
        _delete_task(row.deferred_task_id)
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
            status=CampaignStatus.DRAFT
        )


@dataclass(frozen=True)
class SendStart:
    """What ``campaign_send`` or a beat firing did: ``started``, ``deferred`` (quiet hours,
    until ``until``) or ``refused`` (the campaign is not in a state to send)."""

    outcome: str
    until: object = None
    run: CampaignRun | None = None


def _start_run(campaign: Campaign, *, trigger: str = "", send_limit: int | None = None):
    """A new run, made current; the worker resolves its recipients. Campaign row locked."""
    from .tasks import send_campaign

    run = _new_run(campaign, trigger=trigger, send_limit=send_limit)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING,
        current_run=run,
        total_count=0,
        sent_count=0,
        failed_count=0,
        skipped_count=0,
        started_at=timezone.now(),
        finished_at=None,
    )
    transaction.on_commit(lambda: send_campaign.delay(campaign.pk))
    return run


def _defer(campaign: Campaign, until) -> SendStart:
    """Quiet hours: fire again when they end (a one-off moves its time)."""
    if campaign.crontab:
        task = _clocked_task(
            campaign.deferred_task,
            name=f"campaign {campaign.pk} (after quiet hours)",
            campaign_id=campaign.pk,
            at=until,
        )
        Campaign.objects.filter(pk=campaign.pk).update(
            deferred_task=task, status=CampaignStatus.SCHEDULED
        )
    else:
        task = _clocked_task(
            campaign.schedule_task,
            name=f"campaign {campaign.pk}",
            campaign_id=campaign.pk,
            at=until,
        )
        Campaign.objects.filter(pk=campaign.pk).update(
            schedule_task=task, status=CampaignStatus.SCHEDULED, scheduled_at=until
        )
    logger.info("campaign %s deferred to %s by quiet hours", campaign.pk, until.isoformat())
    return SendStart("deferred", until=until)


def campaign_send(
    campaign: Campaign, *, send_limit: int | None = None, now=None, trigger: str = ""
) -> SendStart:
    """Start a run now, or when the channel's quiet hours end if the campaign respects them.

    ``send_limit`` sends to only that many recipients (the rest of the monthly quota). A
    one-off campaign loses its scheduled time; a repeating one keeps its crontab.
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            return SendStart("refused")
        if trigger and campaign.runs.filter(trigger=trigger).exists():
            return SendStart("refused")
        if campaign.respect_quiet_hours and (until := quiet_hours_end(campaign.channel_id, now)):
            return _defer(campaign, until)
        if not campaign.crontab:
            _delete_task(campaign.schedule_task_id)
        _delete_task(campaign.deferred_task_id)
        run = _start_run(campaign, trigger=trigger, send_limit=send_limit)
    return SendStart("started", run=run)


def campaign_fire(campaign: Campaign, *, trigger: str = "", now=None) -> SendStart:
    """A beat task fired: start the run if the campaign is (still) scheduled.

    A firing while the previous run is still sending or paused starts nothing, and a redelivered
    firing (same ``trigger``) starts nothing twice.
    """
    status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
    if status != CampaignStatus.SCHEDULED:
        if status in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
            logger.warning(
                "campaign %s fired while its last run is %s: skipped", campaign.pk, status
            )
        return SendStart("refused")
    return campaign_send(campaign, trigger=trigger, now=now)


def campaign_pause(campaign: Campaign) -> bool:
    """Stop before the next LINE call; pending deliveries wait for ``campaign_resume``."""
    return bool(
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.PAUSED
        )
    )


def campaign_resume(campaign: Campaign) -> bool:
    """Carry on a paused campaign: its pending batches are queued again."""
    from .tasks import send_campaign

    updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.PAUSED).update(
        status=CampaignStatus.SENDING
    )
    if updated:
        transaction.on_commit(lambda: send_campaign.delay(campaign.pk))
    return bool(updated)


def campaign_cancel(campaign: Campaign) -> bool:
    """Stop for good: what is still pending is skipped as cancelled; no more runs."""
    with transaction.atomic():
        row = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if row is None or row.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
            return False
        _delete_task(row.schedule_task_id)
        _delete_task(row.deferred_task_id)
        now = timezone.now()
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.CANCELLED, finished_at=now
        )
        # Only the current run can have anything pending (the next run waits for it).
        if row.current_run_id is not None:
            pending = Delivery.objects.filter(
                run_id=row.current_run_id, status=DeliveryStatus.PENDING
            )
            skipped = pending.update(status=DeliveryStatus.SKIPPED, reason=SkipReason.CANCELLED)
            if skipped:
                _count(row.current_run_id, skipped=skipped)
                CampaignRun.objects.filter(pk=row.current_run_id).update(finished_at=now)
        SendBatch.objects.filter(campaign_id=campaign.pk, status=SendBatchStatus.PENDING).update(
            status=SendBatchStatus.DONE
        )
    return True


@dataclass(frozen=True)
class RunResults:
    """A run's outcome by reason: how many were skipped why, and LINE's errors, grouped."""

    run: CampaignRun
    sent: int
    skipped: list[tuple[str, int]]
    failed: list[tuple[str, int]]
    pending: int


def campaign_results(campaign: Campaign, *, run: CampaignRun | None = None, errors: int = 10):
    """The results of ``run`` (default: the current one), or None before any run."""
    run = run or campaign.current_run
    if run is None:
        return None
    rows = (
        Delivery.objects.filter(run=run)
        .values_list("status", "reason")
        .annotate(count=Count("pk"))
        .order_by()
    )
    labels = dict(SkipReason.choices)
    sent = pending = 0
    skipped = []
    for status, reason, count in rows:
        if status == DeliveryStatus.SENT:
            sent += count
        elif status == DeliveryStatus.PENDING:
            pending += count
        elif status == DeliveryStatus.SKIPPED:
            skipped.append((str(labels.get(reason, reason)), count))
    failed = list(
        Delivery.objects.filter(run=run, status=DeliveryStatus.FAILED)
        .values_list("error")
        .annotate(count=Count("pk"))
        .order_by("-count", "error")[:errors]
    )
    return RunResults(
        run=run,
        sent=sent,
        skipped=sorted(skipped, key=lambda item: -item[1]),
        failed=failed,
        pending=pending,
    )
