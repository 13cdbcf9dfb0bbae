"""Each member's event totals follow the events whatever writes them (the database keeps them),
and the migration that introduced them counted the events already stored."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.utils import timezone

from members.events import event_record
from members.models import EventKind, Member, MemberEvent, MemberEventTotal
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
RECENT = dt.timedelta(days=MemberEventTotal.RECENT_DAYS + MemberEventTotal.RECENT_MARGIN_DAYS)


def db_now() -> dt.datetime:
    """The database's present: the start of the test's transaction, which the trigger reads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def member(channel=None):
    return Member.objects.create(
        channel=channel or ChannelFactory(), line_user_id="U" + f"{next(_serial):032x}"
    )


def record(who, kind=EventKind.PURCHASE, *, days_ago=0.0, value=None):
    event, _created = event_record(
        member=who,
        kind=kind,
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        value=None if value is None else Decimal(value),
    )
    return event


def assert_totals_match_events(who, kind=EventKind.PURCHASE):
    """The stored totals are what the events add up to (by Python, not SQL)."""
    total = MemberEventTotal.objects.get(member=who, kind=kind)
    events = list(MemberEvent.objects.filter(member=who, kind=kind))
    values = [event.value or Decimal(0) for event in events]
    assert total.count == len(events)
    assert total.value_sum == sum(values, Decimal(0))
    assert total.positive_sum == sum((v for v in values if v > 0), Decimal(0))
    assert total.last_at == max((event.occurred_at for event in events), default=None)
    # The recent totals count every event since recent_since, which is 92 to 99 days back.
    assert db_now() - RECENT - dt.timedelta(days=7) <= total.recent_since <= db_now() - RECENT
    recent = [e for e in events if e.occurred_at >= total.recent_since]
    assert total.recent_count == len(recent)
    assert total.recent_positive_sum == sum(
        (e.value for e in recent if e.value and e.value > 0), Decimal(0)
    )
    return total


def test_recorded_events_are_added_up_per_member_and_kind():
    buyer, other = member(), member()
    record(buyer, value="1200.50", days_ago=3)
    record(buyer, value="300", days_ago=40)
    record(buyer, value="99", days_ago=200)  # all-time only: before the recent totals
    record(buyer, kind=EventKind.PAGE_VIEW)
    record(other, value="5")

    total = assert_totals_match_events(buyer)
    assert (total.count, total.value_sum, total.recent_count) == (3, Decimal("1599.50"), 2)
    assert total.recent_positive_sum == Decimal("1500.50")
    views = assert_totals_match_events(buyer, EventKind.PAGE_VIEW)
    assert (views.count, views.value_sum) == (1, 0)
    assert assert_totals_match_events(other).count == 1


def test_a_refund_lowers_the_sum_but_never_the_bound_of_positive_values():
    buyer = member()
    record(buyer, value="5000", days_ago=10)
    record(buyer, value="-5000", days_ago=2)  # the refund

    total = assert_totals_match_events(buyer)
    assert total.value_sum == 0
    assert total.positive_sum == total.recent_positive_sum == Decimal("5000")


def test_a_repeated_report_is_counted_once():
    buyer = member()
    for _ in range(2):
        event_record(
            member=buyer,
            kind=EventKind.PURCHASE,
            occurred_at=timezone.now(),
            value=Decimal("700"),
            idempotency_key="order-1",
        )
    assert assert_totals_match_events(buyer).count == 1


def test_an_edited_event_moves_between_kinds_members_and_windows():
    buyer, other = member(), member()
    event = record(buyer, value="800", days_ago=1)
    record(buyer, value="100", days_ago=5)

    event.value = Decimal("-20")
    event.occurred_at = timezone.now() - dt.timedelta(days=150)
    event.save()
    assert_totals_match_events(buyer)

    event.kind = EventKind.RESERVATION
    event.save()
    assert_totals_match_events(buyer)
    assert_totals_match_events(buyer, EventKind.RESERVATION)

    event.member = other
    event.save()
    assert MemberEventTotal.objects.get(member=buyer, kind=EventKind.RESERVATION).count == 0
    assert_totals_match_events(other, EventKind.RESERVATION)


def test_deleting_the_latest_event_brings_back_the_one_before():
    buyer = member()
    first = record(buyer, value="10", days_ago=30)
    latest = record(buyer, value="20", days_ago=1)

    latest.delete()
    assert assert_totals_match_events(buyer).last_at == first.occurred_at
    first.delete()
    total = assert_totals_match_events(buyer)
    assert (total.count, total.value_sum, total.last_at) == (0, 0, None)


def test_bulk_writes_count_each_event_once_when_the_recent_totals_are_recounted():
    """A statement writing many events of one member counts each once, also when the member's
    recent totals are due for their weekly recount (done once, after the statement's rows)."""
    buyer = member()
    record(buyer, value="1000", days_ago=95)  # recent when counted from 110 days back only
    record(buyer, value="2000", days_ago=50)
    # As the trigger left it three weeks ago: recent totals since 110 days back.
    MemberEventTotal.objects.filter(member=buyer).update(
        recent_since=db_now() - dt.timedelta(days=110),
        recent_count=2,
        recent_positive_sum=Decimal("3000"),
    )
    MemberEvent.objects.bulk_create(
        MemberEvent(
            member=buyer,
            kind=EventKind.PURCHASE,
            value=Decimal(value),
            occurred_at=timezone.now() - dt.timedelta(days=days),
        )
        for value, days in (("1", 1), ("2", 2), ("4", 100), ("-8", 3))
    )
    total = assert_totals_match_events(buyer)
    assert (total.count, total.recent_count, total.recent_positive_sum) == (6, 4, Decimal("2003"))

    # One UPDATE statement changing several events, a recount due again.
    MemberEventTotal.objects.filter(member=buyer).update(
        recent_since=db_now() - dt.timedelta(days=110),
        recent_count=6,
        recent_positive_sum=Decimal("3007"),
    )
    MemberEvent.objects.filter(member=buyer).update(value=F("value") * 2)
    total = assert_totals_match_events(buyer)
    assert total.value_sum == 2 * Decimal("2999")


def test_deleting_a_member_deletes_its_totals():
    buyer = member()
    record(buyer, value="10")
    record(buyer, kind=EventKind.CART_ADD)
    buyer.delete()
    assert not MemberEventTotal.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_events_already_stored():
    executor = MigrationExecutor(connection)
    before = [("members", "0009_message_fewer_indexes")]
    try:
        executor.migrate(before)
        apps = executor.loader.project_state(before).apps
        channel = apps.get_model("linebot", "Channel").objects.create(
            name="Shop", channel_id="1650000001", channel_secret="0" * 32, access_token="t"
        )
        old = apps.get_model("members", "Member").objects.create(
            channel=channel, line_user_id="U" + "1" * 32
        )
        stored = apps.get_model("members", "MemberEvent")
        now = timezone.now()
        for value, days in (("300", 1), ("-100", 10), (None, 20), ("50", 400)):
            stored.objects.create(
                member=old,
                kind="purchase",
                value=value,
                occurred_at=now - dt.timedelta(days=days),
            )
        stored.objects.create(member=old, kind="page_view", occurred_at=now)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    buyer = Member.objects.get(line_user_id="U" + "1" * 32)
    total = assert_totals_match_events(buyer)
    assert (total.count, total.value_sum, total.positive_sum) == (4, 250, 350)
    assert (total.recent_count, total.recent_positive_sum) == (3, 300)
    assert assert_totals_match_events(buyer, EventKind.PAGE_VIEW).count == 1
    # And the trigger is in place for what comes next.
    record(buyer, value="1")
    assert assert_totals_match_events(buyer).count == 5
