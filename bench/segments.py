"""Segment benchmark: how fast do realistic segments count and page on a big channel?

One command (everything on 127.0.0.1):

    .venv/bin/python bench/segments.py [--members 1000000 --events 10000000 --repeats 5]

It recreates the PostgreSQL database ``crm_bench_segments``, migrates it, and generates one
channel's data: members (COPY), events (COPY, secondary indexes dropped during the load and
rebuilt after, triggers off), and, with server-side ``INSERT ... SELECT``, the members' event
totals (which the trigger keeps in normal use), tags, ID links, conversation messages and two
uploaded audiences. Then it saves a set of realistic segments (simple, nested,
event-based) through the same validation as the admin, and measures each one with the real
compiler (``members.segments``): the median time of ``segment_count`` and of the first page of
50 members (what the admin preview shows), and prints ``BENCH <name>: <value> <unit> (target
<target>)`` lines and the EXPLAIN (ANALYZE, BUFFERS) of the slowest count. ``--reuse`` skips
the generation when the database already holds the data (to iterate on queries).
"""

import argparse
import datetime as dt
import hashlib
import importlib
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"
CHUNK = 200_000
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
YEAR_MINUTES = 365 * 24 * 60

KINDS = [
    ("page_view", 58),
    ("purchase", 12),
    ("cart_add", 12),
    ("cart_cleared", 2),
    ("reservation", 5),
    ("reservation_changed", 1),
    ("trial_started", 1),
    ("custom", 9),
]
STORES = ["Shibuya", "Shinjuku", "Umeda", "Namba", "Sakae", "Tenjin", "Sapporo", "Sendai"]
LANGUAGES = ["ja"] * 90 + ["en"] * 6 + ["zh-Hant"] * 2 + ["th"] * 2
RANKS = ["regular"] * 70 + ["silver"] * 18 + ["gold"] * 9 + ["platinum"] * 3
STATUSES = ["friend"] * 82 + ["blocked"] * 15 + ["unknown"] * 3
# Prefecture weights roughly like Japan's population: Tokyo, Kanagawa, Osaka, Aichi first.
PREFECTURES = [13] * 14 + [14] * 9 + [27] * 8 + [23] * 6 + [11] * 6 + [12] * 5 + list(range(1, 48))


def bench_line(name: str, value: str, unit: str, target: str) -> str:
    return f"BENCH {name}: {value} {unit} (target {target})"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per segment")
    parser.add_argument("--database", default="crm_bench_segments")
    parser.add_argument("--postgres", default=f"postgres://postgres@{LOOPBACK}:5432")
    parser.add_argument("--reuse", action="store_true", help="keep the data if it is there")
    parser.add_argument(
        "--without-event-index",
        action="store_true",
        help="drop the event index memberevent_kind_time_idx (kind, occurred_at) INCLUDE "
        "(member_id, name, value) before measuring, to see what it is worth",
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--time-limit", type=int, default=3600, help="seconds for everything")
    args = parser.parse_args(argv)
    if urllib.parse.urlsplit(args.postgres).hostname not in (LOOPBACK, "localhost"):
        parser.error("--postgres must be on 127.0.0.1: this benchmark stays on loopback")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(args.time_limit)
    try:
        return run(args)
    except KeyboardInterrupt as error:
        print(f"BENCH INTERRUPTED ({error})", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)


# ---------------------------------------------------------------------------------------------
# Database and data


def database_recreate(*, admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_exists(*, admin_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return found.fetchone() is not None


def minute_texts() -> list[str]:
    """Every minute of the last year as timestamptz text, so rows need no datetime formatting."""
    start = NOW - dt.timedelta(minutes=YEAR_MINUTES)
    return [
        (start + dt.timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:00+00")
        for m in range(YEAR_MINUTES + 24 * 60)
    ]


def secondary_indexes_drop(cursor, table: str, *, keep: str = "") -> list[str]:
    """Drop ``table``'s indexes but its primary key (and ``keep``) before a bulk load; returns
    their definitions, to run again after it (building an index once beats growing it)."""
    indexes = cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT LIKE '%%_pkey' AND indexname <> %s",
        [table, keep],
    ).fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes]


def copy_rows(cursor, table: str, columns: list[str], chunks) -> int:
    total = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for lines in chunks:
            copy.write("".join(lines))
            total += len(lines)
    return total


def members_chunks(rng: random.Random, count: int, channel_id: int, minutes: list[str]):
    today = NOW.date()
    lines = []
    for i in range(count):
        status = rng.choice(STATUSES)
        first = rng.randrange(YEAR_MINUTES)
        followed = min(YEAR_MINUTES - 1, first + int(rng.random() ** 3 * (YEAR_MINUTES - first)))
        blocked = minutes[min(YEAR_MINUTES - 1, followed + 1440)] if status == "blocked" else r"\N"
        if rng.random() < 0.7:
            birthday = (today - dt.timedelta(days=rng.randrange(16 * 365, 75 * 365))).isoformat()
        else:
            birthday = r"\N"
        gender = rng.choice(("female", "female", "male", "male", "other", ""))
        customer = f"C{i:08d}" if rng.random() < 0.6 else ""
        email = (
            hashlib.sha256(f"user{i}@example.com".encode()).hexdigest()
            if rng.random() < 0.4
            else ""
        )
        attributes = '{"store": "%s", "visits": %d}' % (  # noqa: UP031 - hot loop
            rng.choice(STORES),
            int(rng.random() ** 2 * 40),
        )
        lines.append(
            f"{channel_id}\tU{i:032x}\tMember {i}\t\t\t{rng.choice(LANGUAGES)}\t{status}\t"
            f"{minutes[first]}\t{minutes[followed]}\t{blocked}\t{customer}\t{gender}\t"
            f"{birthday}\t{rng.choice(PREFECTURES)}\t{rng.choice(RANKS)}\t"
            f"{int(rng.random() ** 3 * 20000)}\t{attributes}\t{email}\t\t"
            f"{minutes[first]}\t{minutes[first]}\n"
        )
        if len(lines) >= CHUNK:
            yield lines
            lines = []
    if lines:
        yield lines


MEMBER_COLUMNS = [
    "channel_id",
    "line_user_id",
    "display_name",
    "picture_url",
    "status_message",
    "language",
    "friend_status",
    "first_followed_at",
    "followed_at",
    "blocked_at",
    "external_customer_id",
    "gender",
    "birthday",
    "prefecture",
    "rank",
    "points",
    "attributes",
    "email_sha256",
    "phone_sha256",
    "created_at",
    "updated_at",
]
EVENT_COLUMNS = [
    "member_id",
    "kind",
    "name",
    "properties",
    "value",
    "occurred_at",
    "idempotency_key",
    "created_at",
]


def events_chunks(rng: random.Random, count: int, first_id: int, members: int, minutes):
    kinds = [k for k, w in KINDS for _ in range(w)]
    pages = [f"/items/{n}" for n in range(1000)] + ["/", "/campaign/spring", "/stores"]
    skus = [f"SKU-{n}" for n in range(500)]
    lines = []
    written = 0
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    while written < count:
        member = first_id + int(members * rand() * rand())  # a few members do a lot
        kind = choice(kinds)
        minute = randrange(YEAR_MINUTES)
        at = minutes[minute]
        if kind == "page_view":
            lines.append(f"{member}\tpage_view\t{choice(pages)}\t{{}}\t\\N\t{at}\t\t{at}\n")
        elif kind == "purchase":
            value = randrange(500, 30000)
            lines.append(f"{member}\tpurchase\t{choice(skus)}\t{{}}\t{value}\t{at}\t\t{at}\n")
        elif kind == "cart_add":
            sku = choice(skus)
            lines.append(f"{member}\tcart_add\t{sku}\t{{}}\t\\N\t{at}\t\t{at}\n")
            if rand() < 0.4:  # a good share of carts are bought within a day
                later = minutes[min(minute + randrange(5, 1440), YEAR_MINUTES - 1)]
                value = randrange(500, 30000)
                lines.append(f"{member}\tpurchase\t{sku}\t{{}}\t{value}\t{later}\t\t{later}\n")
                written += 1
        else:
            lines.append(f"{member}\t{kind}\t\t{{}}\t\\N\t{at}\t\t{at}\n")
        written += 1
        if len(lines) >= CHUNK:
            yield lines
            lines = []
    if lines:
        yield lines


def generate(args, connection, channel_id: int, log) -> None:
    rng = random.Random(args.seed)  # noqa: S311 - test data
    minutes = minute_texts()
    cursor = connection.cursor()
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET maintenance_work_mem = '512MB'")

    started = time.monotonic()
    copied = copy_rows(
        cursor,
        "members_member",
        MEMBER_COLUMNS,
        members_chunks(rng, args.members, channel_id, minutes),
    )
    connection.commit()
    log(f"members: {copied:,} in {time.monotonic() - started:.0f} s (COPY)")
    first_id, last_id = cursor.execute(
        "SELECT min(id), max(id) FROM members_member WHERE channel_id = %s", [channel_id]
    ).fetchone()

    # Events: drop the secondary indexes during the load, rebuild them after (much faster).
    started = time.monotonic()
    indexes = secondary_indexes_drop(cursor, "members_memberevent")
    cursor.execute("SET session_replication_role = replica")  # no per-row FK checks
    copied = copy_rows(
        cursor,
        "members_memberevent",
        EVENT_COLUMNS,
        events_chunks(rng, args.events, first_id, last_id - first_id + 1, minutes),
    )
    cursor.execute("SET session_replication_role = DEFAULT")
    connection.commit()
    loaded = time.monotonic() - started
    for definition in indexes:
        cursor.execute(definition)
    connection.commit()
    log(
        f"events: {copied:,} in {loaded:.0f} s (COPY) + "
        f"{time.monotonic() - started - loaded:.0f} s rebuilding {len(indexes)} indexes"
    )

    # The COPY ran without triggers: the members' event totals are counted as the migration
    # that introduced them counts existing events, their secondary indexes built after.
    started = time.monotonic()
    indexes = secondary_indexes_drop(
        cursor, "members_membereventtotal", keep="membereventtotal_unique"
    )
    cursor.execute("SET session_replication_role = replica")  # no per-row FK checks
    cursor.execute(importlib.import_module("members.migrations.0010_event_totals").BACKFILL_SQL)
    totals = cursor.rowcount
    cursor.execute("SET session_replication_role = DEFAULT")
    for definition in indexes:
        cursor.execute(definition)
    connection.commit()
    log(f"event totals: {totals:,} in {time.monotonic() - started:.0f} s (INSERT ... SELECT)")

    started = time.monotonic()
    sql_steps = [
        # 20 tags; a third of the members carry one or two of them.
        (
            "INSERT INTO members_tag (channel_id, name, created_at) "
            "SELECT %(channel)s, 'tag-' || n, now() FROM generate_series(1, 20) n"
        ),
        (
            "INSERT INTO members_member_tags (member_id, tag_id) "
            "SELECT DISTINCT m.id, t.id FROM members_member m "
            "CROSS JOIN LATERAL (SELECT 1 + ((m.id * 7 + k) %% 20) AS n "
            "FROM generate_series(0, (m.id %% 2)) k) pick "
            "JOIN members_tag t ON t.channel_id = %(channel)s AND t.name = 'tag-' || pick.n "
            "WHERE m.channel_id = %(channel)s AND m.id %% 3 = 0"
        ),
        # Site users and ID links for 35% of the members.
        (
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "SELECT '!', false, 'customer' || m.id, '', '', '', false, true, now() "
            "FROM members_member m WHERE m.channel_id = %(channel)s AND m.id %% 20 < 7"
        ),
        (
            "INSERT INTO members_memberlink (member_id, channel_id, user_id, method, linked_at, "
            "unlinked_at) SELECT m.id, %(channel)s, u.id, "
            "(ARRAY['line_login','line_login','account_link','signed_url'])[1 + m.id %% 4], "
            "m.followed_at, CASE WHEN m.id %% 50 = 0 THEN now() END "
            "FROM members_member m JOIN auth_user u ON u.username = 'customer' || m.id "
            "WHERE m.channel_id = %(channel)s"
        ),
        # Conversations: 1.5 messages from members and 2 campaign messages per 2 members.
        (
            "INSERT INTO members_message (channel_id, member_id, direction, message_type, "
            "payload, text, source, status, error, line_message_id, quote_token, "
            "webhook_event_id, content, content_type, created_at) "
            "SELECT %(channel)s, %(first)s + floor(random() * %(count)s)::bigint, 'in', 'text', "
            "'{}', 'こんにちは', 'user', 'received', '', '', '', '', '', '', "
            "now() - random() * interval '180 days' FROM generate_series(1, %(inbound)s)"
        ),
        (
            "INSERT INTO members_message (channel_id, member_id, direction, message_type, "
            "payload, text, source, source_id, status, error, line_message_id, quote_token, "
            "webhook_event_id, content, content_type, created_at) "
            "SELECT %(channel)s, m.id, 'out', 'text', '{}', 'セール開催中', 'campaign', c, "
            "'sent', '', '', '', '', '', '', now() - (c * interval '9 days') "
            "FROM members_member m CROSS JOIN generate_series(1, 4) c "
            "WHERE m.channel_id = %(channel)s AND m.friend_status = 'friend' "
            "AND (m.id + c) %% 4 = 0"
        ),
    ]
    params = {
        "channel": channel_id,
        "first": first_id,
        "count": last_id - first_id + 1,
        "inbound": args.members * 3 // 2,
    }
    for statement in sql_steps:
        cursor.execute(statement, params)
    connection.commit()
    log(f"tags, links, messages: {time.monotonic() - started:.0f} s (INSERT ... SELECT)")
    connection.autocommit = True
    started = time.monotonic()
    cursor.execute("VACUUM ANALYZE")
    connection.autocommit = False
    log(f"vacuum analyze: {time.monotonic() - started:.0f} s")


def audiences_create(channel, members: int) -> dict:
    """Two uploaded lists, as staff would upload them: customer IDs and hashed emails."""
    from django.db import connection

    from members.audiences import audience_match
    from members.models import Audience

    customers = Audience.objects.create(channel=channel, name="CRM export", kind="customer_id")
    emails = Audience.objects.create(channel=channel, name="Newsletter", kind="email")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO members_audienceentry (audience_id, value) "
            "SELECT %s, 'C' || lpad(n::text, 8, '0') FROM generate_series(0, %s, 7) n",
            [customers.pk, members],
        )
        cursor.execute(
            "INSERT INTO members_audienceentry (audience_id, value) "
            "SELECT %s, encode(sha256(convert_to('user' || n || '@example.com', 'UTF8')), 'hex') "
            "FROM generate_series(0, %s, 11) n",
            [emails.pk, members],
        )
        cursor.execute("ANALYZE members_audienceentry")
    for audience in (customers, emails):
        audience_match(audience)
    return {"customers": customers, "emails": emails}


# ---------------------------------------------------------------------------------------------
# Segments


def rules(*conditions, op="and"):
    return {"version": 1, "root": {"type": "group", "op": op, "rules": list(conditions)}}


def group(op, *conditions):
    return {"type": "group", "op": op, "rules": list(conditions)}


FRIENDS = {"type": "friend_status", "values": ["friend"]}


def segments_create(channel, audiences) -> list:
    from members.models import Segment, Tag
    from members.segments import segment_validate

    tags = {t.name: t.pk for t in Tag.objects.filter(channel=channel)}
    this_month = NOW.month
    definitions = [
        (
            "tokyo_gold_friends",
            rules(
                FRIENDS,
                {"type": "prefecture", "values": [13]},
                {"type": "rank", "values": ["gold"]},
            ),
        ),
        (
            "lapsed_buyers_60d",
            rules(
                FRIENDS,
                {"type": "event", "kind": "purchase", "days": 365, "op": "gte", "value": 1},
                {"type": "event", "kind": "purchase", "days": 60, "op": "eq", "value": 0},
            ),
        ),
        (
            "repeat_buyers_30d",
            rules({"type": "event", "kind": "purchase", "days": 30, "op": "gte", "value": 2}),
        ),
        (
            "bought_sku_or_reserved_14d",
            rules(
                group(
                    "or",
                    {
                        "type": "event",
                        "kind": "purchase",
                        "name": "SKU-7",
                        "days": 14,
                        "op": "gte",
                        "value": 1,
                    },
                    {"type": "event", "kind": "reservation", "days": 14, "op": "gte", "value": 1},
                )
            ),
        ),
        (
            "browsed_3x_7d_no_purchase",
            rules(
                FRIENDS,
                {
                    "type": "event",
                    "kind": "page_view",
                    "name": "/items/",
                    "name_match": "prefix",
                    "days": 7,
                    "op": "gte",
                    "value": 3,
                },
                {"type": "event", "kind": "purchase", "days": 7, "op": "eq", "value": 0},
            ),
        ),
        (
            "cart_abandoned_24h",
            rules(
                FRIENDS,
                {
                    "type": "event_followup",
                    "kind": "cart_add",
                    "days": 3,
                    "then_kind": "purchase",
                    "within_hours": 24,
                    "happened": False,
                },
            ),
        ),
        (
            "big_spenders_90d",
            rules(
                {
                    "type": "event",
                    "kind": "purchase",
                    "days": 90,
                    "measure": "sum",
                    "op": "gte",
                    "value": 60000,
                }
            ),
        ),
        (
            "lifetime_value_200k",
            rules(
                {
                    "type": "event",
                    "kind": "purchase",
                    "days": 0,
                    "measure": "sum",
                    "op": "gte",
                    "value": 200000,
                }
            ),
        ),
        (
            "nested_campaign_target",
            rules(
                FRIENDS,
                group(
                    "or",
                    {"type": "prefecture", "values": [13, 14, 11, 12]},
                    {"type": "rank", "values": ["platinum"]},
                ),
                group(
                    "not",
                    {"type": "tags", "match": "any", "tags": [tags["tag-3"]]},
                    {"type": "wrote", "days": 3},
                    {"type": "received_campaign", "campaign": 1},
                ),
                {"type": "age", "op": "between", "value": 20, "value2": 39},
            ),
        ),
        (
            "linked_recent_followers_tagged",
            rules(
                {"type": "link", "linked": True},
                {"type": "followed", "op": "within_days", "value": 30},
                {"type": "tags", "match": "all", "tags": [tags["tag-2"], tags["tag-3"]]},
            ),
        ),
        (
            "store_regulars_attribute",
            rules(
                {
                    "type": "attribute",
                    "key": "store",
                    "value_type": "string",
                    "op": "eq",
                    "value": "Shibuya",
                },
                {
                    "type": "attribute",
                    "key": "visits",
                    "value_type": "number",
                    "op": "gte",
                    "value": 20,
                },
            ),
        ),
        (
            "birthday_month_points",
            rules(
                FRIENDS,
                {"type": "birthday_month", "values": [this_month]},
                {"type": "points", "op": "gte", "value": 1000},
            ),
        ),
        (
            "audience_minus_segment",
            rules(
                group(
                    "or",
                    {"type": "audience", "audience": audiences["customers"].pk},
                    {"type": "audience", "audience": audiences["emails"].pk},
                ),
                {"type": "wrote", "days": 30, "happened": False},
            ),
        ),
    ]
    saved = []
    for name, definition in definitions:
        segment_validate(definition, channel=channel)
        saved.append(Segment.objects.create(channel=channel, name=name, definition=definition))
    # One segment built on two others: membership is compiled inline into one query.
    by_name = {s.name: s for s in saved}
    combined = rules(
        {"type": "segment", "segment": by_name["tokyo_gold_friends"].pk},
        {"type": "segment", "segment": by_name["lapsed_buyers_60d"].pk, "member": False},
        op="and",
    )
    segment_validate(combined, channel=channel)
    saved.append(
        Segment.objects.create(channel=channel, name="segment_of_segments", definition=combined)
    )
    return saved


PROPOSED_INDEX = (
    "CREATE INDEX IF NOT EXISTS memberevent_kind_time_idx ON members_memberevent "
    "(kind, occurred_at) INCLUDE (member_id, name, value)"
)


def timed(call, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


# ---------------------------------------------------------------------------------------------


def run(args) -> int:
    database_url = f"{args.postgres.rstrip('/')}/{args.database}"
    admin_url = f"{args.postgres.rstrip('/')}/postgres"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    started_all = time.monotonic()

    def log(message):
        print(f"[{time.monotonic() - started_all:6.0f} s] {message}", flush=True)

    fresh = not (args.reuse and database_exists(admin_url=admin_url, name=args.database))
    if fresh:
        log(f"database {args.database}: recreate and migrate")
        database_recreate(admin_url=admin_url, name=args.database)
    subprocess.run(  # noqa: S603 - our own argv
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import psycopg
    from django.db import connection

    from linebot.models import Channel
    from members.models import Member, MemberEvent, Segment
    from members.segments import (
        segment_compile,
        segment_count,
        segment_first_page,
        segment_queryset,
        segment_session,
    )

    channel = Channel.objects.filter(name="Bench segments").first()
    if channel is None or not Member.objects.filter(channel=channel).exists():
        channel = Channel.objects.create(
            name="Bench segments",
            channel_id="1659999999",
            channel_secret="0" * 32,
            access_token="bench",  # noqa: S106 - a local benchmark channel
        )
        with psycopg.connect(database_url) as raw:
            generate(args, raw, channel.pk, log)
        audiences = audiences_create(channel, args.members)
    else:
        log("reusing the generated data")
        from members.models import Audience

        audiences = {
            "customers": Audience.objects.get(channel=channel, name="CRM export"),
            "emails": Audience.objects.get(channel=channel, name="Newsletter"),
        }
    with connection.cursor() as cursor:
        started = time.monotonic()
        if args.without_event_index:
            cursor.execute("DROP INDEX IF EXISTS memberevent_kind_time_idx")
        else:
            # Databases generated before the index joined the schema get it here.
            cursor.execute(PROPOSED_INDEX)
            cursor.execute("VACUUM ANALYZE members_memberevent")
        log(
            f"event index {'off' if args.without_event_index else 'on'}: "
            f"{time.monotonic() - started:.0f} s"
        )
    Segment.objects.filter(channel=channel).delete()
    segments = segments_create(channel, audiences)
    members = Member.objects.filter(channel=channel).count()
    events = MemberEvent.objects.filter(member__channel=channel).count()
    log(f"data: {members:,} members, {events:,} events; {len(segments)} segments")

    def first_page(segment):
        """What the admin preview shows: the newest 50 members of the segment."""
        return segment_first_page(segment, fields=("pk", "display_name", "rank"), limit=50)

    results = []
    for segment in segments:
        count_ms, count = timed(lambda s=segment: segment_count(s), args.repeats)
        page_ms, page = timed(lambda s=segment: first_page(s), args.repeats)
        results.append((segment, count_ms, page_ms, count))
        print(
            bench_line(f"segment_count[{segment.name}]", f"{count_ms:.0f}", "ms", "< 1000 ms")
            + f" members={count:,}",
            flush=True,
        )
        print(
            bench_line(f"segment_first_page[{segment.name}]", f"{page_ms:.0f}", "ms", "< 200 ms")
            + f" rows={len(page)}",
            flush=True,
        )
    counts = [r[1] for r in results]
    pages = [r[2] for r in results]
    print(bench_line("segment_count_median", f"{statistics.median(counts):.0f}", "ms", "< 1000 ms"))
    print(bench_line("segment_count_max", f"{max(counts):.0f}", "ms", "< 1000 ms"))
    print(bench_line("segment_first_page_max", f"{max(pages):.0f}", "ms", "< 200 ms"))
    slowest = max(results, key=lambda r: r[1])[0]
    sql, params = segment_queryset(slowest).order_by().values("pk").query.sql_with_params()
    with segment_session(), connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) AS segment",  # noqa: S608
            params,
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"EXPLAIN of the slowest count ({slowest.name}):\n{plan}")
    slowest = max(results, key=lambda r: r[2])[0]
    with segment_session(), connection.cursor() as cursor:
        page = (
            Member.objects.filter(channel_id=slowest.channel_id)
            .filter(segment_compile(slowest.definition, first_page=True))
            .order_by("-id")
            .values("pk", "display_name", "rank")[:50]
        )
        sql, params = page.query.sql_with_params()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"EXPLAIN of the slowest first page ({slowest.name}):\n{plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
