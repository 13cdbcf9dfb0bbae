"""Webhook ingestion benchmark: LINE posts signed events; how fast are they acknowledged and
handled, and is every one stored and handled exactly once?

One command (everything on 127.0.0.1, every process it starts is stopped at the end):

    .venv/bin/python bench/webhook_ingest.py [--requests 2000 --events-per-request 10
                                              --rate 200 --concurrency 16]

It recreates the PostgreSQL database ``crm_bench``, migrates it, starts the LINE sandbox, the
app under gunicorn (``CRM_ENV=production``) and ONE Celery worker on the ``webhooks`` and
``default`` queues (Redis db 13, flushed first), registers a channel and its ~1000 users, posts
correctly signed multi-event webhooks at the target rate, waits until every stored event is
handled, checks nothing was lost or handled twice, and prints ``BENCH <name>: ...`` lines.
See bench/README.md.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    LOOPBACK,
    PYTHON,
    ROOT,
    BenchError,
    Processes,
    child_pids,
    database_recreate,
    free_port,
    http_ok,
    percentile,
    postgres_cpu_seconds,
    process_cpu_seconds,
    redis_flush,
    redis_queue_length,
    run_checked,
    wait_until,
)

LINE_ACK_LIMIT_MS = 2000.0  # LINE expects the webhook answered within 2 seconds.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TEXTS = [
    "こんにちは",
    "営業時間を教えてください",
    "クーポンはありますか？",
    "予約の変更をお願いします",
    "ありがとうございました！",
    "Hello, is the shop open today?",
    "ポイント残高を確認したいです",
    "注文番号 {n} の配送状況は？",
]


# ---------------------------------------------------------------------------------------------
# Webhook bodies, shaped as in shared/line-openapi/webhook.yml


def ulid(rng: random.Random, ms: int) -> str:
    value = (ms << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def user_ids(rng: random.Random, count: int) -> list[str]:
    return [f"U{rng.getrandbits(128):032x}" for _ in range(count)]


def event_common(rng: random.Random, kind: str, user_id: str, ms: int) -> dict:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(rng, ms),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"{rng.getrandbits(128):032x}",
    }


def event_text(rng: random.Random, user_id: str, ms: int, serial: int) -> dict:
    event = event_common(rng, "message", user_id, ms)
    event["message"] = {
        "type": "text",
        "id": str(500_000_000_000_000_000 + serial),
        "quoteToken": secrets.token_urlsafe(48),
        "markAsReadToken": secrets.token_urlsafe(24),
        "text": rng.choice(TEXTS).format(n=serial),
    }
    return event


def event_follow(rng: random.Random, user_id: str, ms: int) -> dict:
    event = event_common(rng, "follow", user_id, ms)
    event["follow"] = {"isUnblocked": False}
    return event


@dataclass
class Workload:
    bodies: list[bytes]  # in sending order, repeats included
    events_per_body: list[int]
    unique_events: int
    unique_messages: int
    unique_follows: int
    distinct_users: int
    repeated_requests: int
    repeated_events: int


def workload_build(args, *, users: list[str], bot_user_id: str) -> Workload:
    rng = random.Random(args.seed)  # noqa: S311 - test data, not secrets
    start_ms = int(time.time() * 1000)
    requests: list[list[dict]] = []
    followed: set[str] = set()
    seen_users: set[str] = set()
    messages = follows = serial = 0
    for index in range(args.requests):
        events = []
        for _ in range(args.events_per_request):
            serial += 1
            user_id = rng.choice(users)
            ms = start_ms + index * 5
            if user_id not in followed and rng.random() < args.follow_fraction:
                events.append(event_follow(rng, user_id, ms))
                followed.add(user_id)
                follows += 1
            else:
                events.append(event_text(rng, user_id, ms, serial))
                messages += 1
            seen_users.add(user_id)
        requests.append(events)

    def body_of(events: list[dict]) -> bytes:
        return json.dumps(
            {"destination": bot_user_id, "events": events}, ensure_ascii=False
        ).encode()

    order = [body_of(events) for events in requests]
    counts = [len(events) for events in requests]
    # Repeats: half sent again byte for byte (a client retry), half as LINE's redelivery of the
    # same events (isRedelivery true, a new body and signature). Each lands after its original,
    # at a random distance, so some race their original through the server.
    repeated_events = 0
    for number in range(min(args.repeats, args.requests)):
        original = rng.randrange(args.requests)
        if number % 2:
            events = json.loads(json.dumps(requests[original]))
            for event in events:
                event["deliveryContext"]["isRedelivery"] = True
            body = body_of(events)
        else:
            body = order[order.index(body_of(requests[original]))]
        position = rng.randint(order.index(body_of(requests[original])) + 1, len(order))
        order.insert(position, body)
        counts.insert(position, len(requests[original]))
        repeated_events += len(requests[original])
    return Workload(
        bodies=order,
        events_per_body=counts,
        unique_events=messages + follows,
        unique_messages=messages,
        unique_follows=follows,
        distinct_users=len(seen_users),
        repeated_requests=min(args.repeats, args.requests),
        repeated_events=repeated_events,
    )


# ---------------------------------------------------------------------------------------------
# The load generator: open loop at a fixed rate, each thread with its own keep-alive connection


@dataclass
class Result:
    status: int | str = 0
    scheduled: float = 0.0
    started: float = 0.0
    finished: float = 0.0


@dataclass
class LoadRun:
    results: list[Result]
    wall_started: float  # time.time() of the first send
    elapsed: float
    not_sent: int
    statuses: dict = field(default_factory=dict)


def load_run(
    *,
    port: int,
    path: str,
    bodies: list[bytes],
    secret: str,
    rate: float,
    concurrency: int,
    time_limit: float,
) -> LoadRun:
    from linebot.signature import signature_create

    signed = [(body, signature_create(channel_secret=secret, body=body)) for body in bodies]
    results = [Result() for _ in bodies]
    counter = itertools.count()
    start = time.perf_counter() + 0.5
    wall_start = time.time() + 0.5
    stop_at = start + time_limit

    def sender():
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
        while True:
            index = next(counter)
            if index >= len(signed):
                break
            result = results[index]
            result.scheduled = start + (index / rate if rate > 0 else 0.0)
            delay = result.scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if time.perf_counter() > stop_at:
                result.status = "not sent (time limit)"
                continue
            body, signature = signed[index]
            result.started = time.perf_counter()
            try:
                connection.request(
                    "POST",
                    path,
                    body=body,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "LineBotWebhook/2.0",
                        "X-Line-Signature": signature,
                    },
                )
                answer = connection.getresponse()
                answer.read()
                result.status = answer.status
            except (OSError, http.client.HTTPException) as error:
                result.status = type(error).__name__
                connection.close()
            result.finished = time.perf_counter()
        connection.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 60)
    sent = [r for r in results if r.started]
    elapsed = (max(r.finished for r in sent) - min(r.started for r in sent)) if sent else 0.0
    statuses: dict = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return LoadRun(
        results=results,
        wall_started=wall_start,
        elapsed=elapsed,
        not_sent=len(results) - len(sent),
        statuses=statuses,
    )


# ---------------------------------------------------------------------------------------------
# CPU accounting (who used the two cores during the run)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return float(sum(fields) - idle), float(sum(fields))


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    snapshot = {
        name: sum(process_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()
    }
    snapshot["bench (load generator)"] = time.process_time()
    return snapshot


# ---------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="distinct webhook requests")
    parser.add_argument("--events-per-request", type=int, default=10)
    parser.add_argument(
        "--rate",
        type=float,
        default=210.0,
        help="requests/s offered (0 = flat out); a little above --target-rate so that the "
        "measured rate, which includes the ramp and the last answer, can reach the target",
    )
    parser.add_argument(
        "--target-rate", type=float, default=200.0, help="requests/s the app must sustain"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="client connections")
    parser.add_argument("--users", type=int, default=1000, help="distinct LINE user ids")
    parser.add_argument("--follow-fraction", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=20, help="requests sent a second time")
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="for gthread")
    parser.add_argument(
        "--celery-pool",
        default="solo",
        choices=("solo", "prefork", "threads"),
        help="one worker process either way (concurrency 1)",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="CONN_MAX_AGE for the app (default: the settings' own default for production)",
    )
    parser.add_argument("--database", default="crm_bench")
    parser.add_argument("--postgres", default=f"postgres://postgres@{LOOPBACK}:5432")
    parser.add_argument("--redis", default=f"redis://{LOOPBACK}:6379/13")
    parser.add_argument("--send-time-limit", type=float, default=120.0, help="seconds")
    parser.add_argument("--handle-time-limit", type=float, default=300.0, help="seconds")
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=20.0,
        help="stop waiting when events stay pending this long with no task queued",
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--profile", action="store_true", help="py-spy the web and worker")
    parser.add_argument("--log-dir", default="", help="default: a new temporary folder")
    args = parser.parse_args(argv)
    for name in ("postgres", "redis"):
        if urllib.parse.urlsplit(getattr(args, name)).hostname not in (LOOPBACK, "localhost"):
            parser.error(f"--{name} must be on 127.0.0.1: this benchmark stays on loopback")
    return args


def bench_line(name: str, value: str, unit: str, target: str, extra: str = "") -> str:
    line = f"BENCH {name}: {value} {unit} (target {target})"
    return f"{line} {extra}".rstrip()


def main(argv=None) -> int:
    args = parse_args(argv)
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="bench-webhook-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = Processes(log_dir)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    # A hard bound on the whole run, whatever happens inside.
    budget = 300 + args.send_time_limit + args.handle_time_limit
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(budget))
    print(f"logs in {log_dir}", flush=True)
    try:
        return run(args, processes, log_dir)
    except BenchError as error:
        print(f"BENCH FAILED: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        print(f"BENCH INTERRUPTED ({error})", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        processes.stop_all(timeout=10)
        with contextlib.suppress(Exception):
            redis_flush(args.redis)


def run(args, processes: Processes, log_dir: Path) -> int:
    app_port, sandbox_port = free_port(), free_port()
    sandbox_url = f"http://{LOOPBACK}:{sandbox_port}"
    database_url = f"{args.postgres.rstrip('/')}/{args.database}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "CRM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": LOOPBACK,
        "SECURE_SSL_REDIRECT": "false",
        "SITE_URL": f"http://{LOOPBACK}:{app_port}",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": args.redis,
        "LINE_SANDBOX_URL": sandbox_url,
        "LINE_API_TIMEOUT": "10",
        "CRM_VAR_DIR": str(log_dir / "var"),
        "MEDIA_ROOT": str(log_dir / "media"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if args.conn_max_age is not None:
        env["CONN_MAX_AGE"] = str(args.conn_max_age)
    else:
        env.pop("CONN_MAX_AGE", None)
    bin_dir = Path(PYTHON).parent

    print(f"database {args.database}: recreate and migrate", flush=True)
    database_recreate(admin_url=f"{args.postgres.rstrip('/')}/postgres", name=args.database)
    redis_flush(args.redis)
    run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env=env, what="migrate", timeout=300)

    # The bench process reads the database through the ORM for setup and for the checks.
    os.environ.update({k: env[k] for k in env if k not in ("PYTHONUNBUFFERED",)})
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Max, Min, Q

    from linebot.models import Channel, WebhookEvent
    from members.models import Direction, Member, Message

    rng = random.Random(args.seed + 1)  # noqa: S311 - test data
    channel = Channel(
        name="Bench OA",
        channel_id=str(rng.randrange(10**9, 10**10)),
        channel_secret=f"{rng.getrandbits(128):032x}",
        access_token=secrets.token_urlsafe(40),
        bot_user_id=f"U{rng.getrandbits(128):032x}",
        platform="sandbox",
    )
    channel.full_clean()
    channel.save()
    users = user_ids(rng, args.users)

    print(f"sandbox on :{sandbox_port}", flush=True)
    sandbox = processes.start(
        "sandbox",
        [
            PYTHON,
            str(Path(__file__).resolve().parent / "line_emulator.py"),
            "--port",
            str(sandbox_port),
            "--rate-limits",
            "off",
        ],
        env=env,
    )
    wait_until("sandbox", lambda: http_ok(f"{sandbox_url}/sandbox/api/config"), timeout=30)

    def sandbox_call(method: str, path: str, body: dict) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{sandbox_url}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            answer.read()

    sandbox_call(
        "PUT",
        f"/sandbox/api/channels/{channel.channel_id}",
        {
            "accessToken": channel.access_token,
            "channelSecret": channel.channel_secret,
            "botUserId": channel.bot_user_id,
            "name": channel.name,
        },
    )
    # Friends in the sandbox, so each follow's profile fetch succeeds (no webhook URL is set
    # there: the sandbox sends nothing to the app; the load generator does).
    for number, user_id in enumerate(users):
        sandbox_call(
            "POST",
            f"/sandbox/api/channels/{channel.channel_id}/users",
            {"userId": user_id, "displayName": f"ユーザー{number}", "follow": True},
        )

    print(
        f"gunicorn ({args.gunicorn_workers} {args.gunicorn_class} workers) on :{app_port}",
        flush=True,
    )
    gunicorn = [
        str(bin_dir / "gunicorn"),
        "crm.wsgi",
        "--bind",
        f"{LOOPBACK}:{app_port}",
        "--workers",
        str(args.gunicorn_workers),
        "--worker-class",
        args.gunicorn_class,
        "--backlog",
        "2048",
        "--timeout",
        "30",
        "--log-level",
        "warning",
    ]
    if args.gunicorn_class == "gthread":
        gunicorn += ["--threads", str(args.gunicorn_threads)]
    web = processes.start("gunicorn", gunicorn, env=env)
    print(f"celery worker (1, pool {args.celery_pool}) on {args.redis}", flush=True)
    worker = processes.start(
        "celery",
        [
            str(bin_dir / "celery"),
            "-A",
            "crm",
            "worker",
            "-Q",
            "webhooks,default",
            "--pool",
            args.celery_pool,
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
            "--hostname",
            "bench@%h",
        ],
        env=env,
    )

    path = f"/line/webhook/{channel.webhook_key}/"
    verify_body = json.dumps({"destination": channel.bot_user_id, "events": []}).encode()
    from linebot.signature import signature_create

    verify_headers = {
        "Content-Type": "application/json",
        "X-Line-Signature": signature_create(
            channel_secret=channel.channel_secret, body=verify_body
        ),
    }

    def app_ready() -> bool:
        processes.check_alive()
        return http_ok(
            f"http://{LOOPBACK}:{app_port}{path}", data=verify_body, headers=verify_headers
        )

    wait_until("gunicorn", app_ready, timeout=60)

    def worker_ready() -> bool:
        processes.check_alive()
        return " ready." in (log_dir / "celery.log").read_text(errors="replace")

    wait_until("celery worker", worker_ready, timeout=60)

    workload = workload_build(args, users=users, bot_user_id=channel.bot_user_id)
    print(
        f"workload: {len(workload.bodies)} requests ({workload.repeated_requests} repeats), "
        f"{workload.unique_events} unique events ({workload.unique_messages} text messages, "
        f"{workload.unique_follows} follows) from {workload.distinct_users} users; "
        f"rate {args.rate:g} req/s, {args.concurrency} connections",
        flush=True,
    )

    web_workers = child_pids(web.pid)
    cpu_groups = {
        "gunicorn workers": [web.pid, *web_workers],
        "celery worker": [worker.pid, *child_pids(worker.pid)],
        "sandbox": [sandbox.pid],
    }
    profilers = []
    if args.profile:
        for name, pid in [("celery", worker.pid)] + [
            (f"web-{n}", pid) for n, pid in enumerate(web_workers)
        ]:
            profilers.append(
                processes.start(
                    f"py-spy-{name}",
                    [
                        str(bin_dir / "py-spy"),
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--rate",
                        "200",
                        "--output",
                        str(log_dir / f"profile-{name}.txt"),
                        "--nonblocking",
                    ],
                    env=env,
                )
            )
        time.sleep(1.0)

    load_average = os.getloadavg()[0]
    if load_average > 1.0:
        print(
            f"note: load average {load_average:.1f} before the run: other work shares the "
            f"{os.cpu_count()} cores, so the figures are lower than on an idle machine",
            flush=True,
        )
    cpu_before = cpu_snapshot(cpu_groups)
    pg_before = postgres_cpu_seconds()
    machine_before = machine_cpu()
    run_ = load_run(
        port=app_port,
        path=path,
        bodies=workload.bodies,
        secret=channel.channel_secret,
        rate=args.rate,
        concurrency=args.concurrency,
        time_limit=args.send_time_limit,
    )
    load_done_wall = time.time()
    cpu_load = cpu_snapshot(cpu_groups)
    pg_load = postgres_cpu_seconds()
    machine_load = machine_cpu()
    backlog = redis_queue_length(args.redis, "webhooks")
    print(
        f"load done in {run_.elapsed:.1f} s; statuses {run_.statuses}; "
        f"webhook tasks still queued: {backlog}",
        flush=True,
    )

    # Wait until every stored event is handled, and every follow's profile fetched.
    expected_sent = sum(
        count
        for count, r in zip(workload.events_per_body, run_.results, strict=True)
        if r.status == 200
    )
    deadline = time.monotonic() + args.handle_time_limit
    pending, last_progress, stalled = -1, time.monotonic(), False
    while time.monotonic() < deadline:
        processes.check_alive()
        now_pending = WebhookEvent.objects.filter(status="pending").count()
        profiles_pending = Member.objects.filter(
            followed_at__isnull=False, profile_refreshed_at__isnull=True
        ).count()
        if now_pending == 0 and profiles_pending == 0:
            break
        if now_pending != pending:
            pending, last_progress = now_pending, time.monotonic()
        elif (
            time.monotonic() - last_progress > args.stall_seconds
            and redis_queue_length(args.redis, "webhooks") == 0
        ):
            # Nothing queued and nothing moving: these events will never be handled.
            stalled = True
            print(f"{now_pending} events still pending with nothing queued", flush=True)
            break
        time.sleep(0.25)
    connection.close()
    cpu_after = cpu_snapshot(cpu_groups)
    pg_after = postgres_cpu_seconds()
    machine_after = machine_cpu()
    for profiler in profilers:
        with contextlib.suppress(ProcessLookupError):
            profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        with contextlib.suppress(Exception):
            profiler.wait(timeout=20)

    # ---- figures
    acked = [r for r in run_.results if r.status == 200]
    acked_events = sum(
        count
        for count, r in zip(workload.events_per_body, run_.results, strict=True)
        if r.status == 200
    )
    latencies = [(r.finished - r.started) * 1000 for r in acked]
    from_schedule = [(r.finished - r.scheduled) * 1000 for r in acked]
    ack_rate = acked_events / run_.elapsed if run_.elapsed else 0.0
    offered = len([r for r in run_.results if r.started]) / run_.elapsed if run_.elapsed else 0

    totals = WebhookEvent.objects.aggregate(
        rows=Count("id"),
        pending=Count("id", filter=Q(status="pending")),
        failed=Count("id", filter=Q(status="failed")),
        retried=Count("id", filter=Q(attempts__gt=1)),
        first_received=Min("received_at"),
        first_handled=Min("handled_at"),
        last_handled=Max("handled_at"),
    )
    messages = Message.objects.filter(direction=Direction.INBOUND).count()
    message_dupes = (
        Message.objects.values("webhook_event_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    members = Member.objects.count()
    profiles = Member.objects.filter(profile_refreshed_at__isnull=False).count()
    sent_unique = {
        event["webhookEventId"]
        for body, r in zip(workload.bodies, run_.results, strict=True)
        if r.status == 200
        for event in json.loads(body)["events"]
    }
    sent_messages = {
        event["webhookEventId"]
        for body, r in zip(workload.bodies, run_.results, strict=True)
        if r.status == 200
        for event in json.loads(body)["events"]
        if event["type"] == "message"
    }
    stored_ids = set(WebhookEvent.objects.values_list("webhook_event_id", flat=True))
    lost = len(sent_unique - stored_ids)
    extra = len(stored_ids - sent_unique)
    # Handled but without its conversation-log row (a message event must leave exactly one).
    done_without_message = (
        WebhookEvent.objects.filter(event_type="message", status="done")
        .exclude(webhook_event_id__in=Message.objects.values("webhook_event_id"))
        .count()
    )
    messages_unexpected = (
        Message.objects.filter(direction=Direction.INBOUND)
        .exclude(webhook_event_id__in=sent_messages)
        .count()
    )
    # Each unique event counts once here if it was not stored, or not handled exactly once.
    lost_or_duplicated = (
        lost
        + extra
        + totals["pending"]
        + totals["failed"]
        + totals["retried"]
        + done_without_message
        + message_dupes
        + messages_unexpected
    )
    handle_span = (
        (totals["last_handled"] - totals["first_handled"]).total_seconds()
        if totals["last_handled"]
        else 0.0
    )
    handle_rate = totals["rows"] / handle_span if handle_span else 0.0
    all_handled_after = (
        totals["last_handled"].timestamp() - run_.wall_started if totals["last_handled"] else -1
    )
    p50 = percentile(latencies, 0.50) if latencies else float("nan")
    p99 = percentile(latencies, 0.99) if latencies else float("nan")
    p99_sched = percentile(from_schedule, 0.99) if from_schedule else float("nan")
    target_events = args.target_rate * args.events_per_request

    def cpu_share(before, after, seconds):
        return {k: (after[k] - before[k]) / seconds for k in before} if seconds else {}

    # CPU per unit of work: much less sensitive than rates to what else runs on the machine.
    web_cpu_ms = (cpu_load["gunicorn workers"] - cpu_before["gunicorn workers"]) * 1000
    web_cpu_ms /= max(1, len([r for r in run_.results if r.started]))
    worker_cpu_ms = (cpu_after["celery worker"] - cpu_before["celery worker"]) * 1000
    worker_cpu_ms /= max(1, totals["rows"])
    load_seconds = max(load_done_wall - run_.wall_started, 1e-6)
    drain_seconds = max(time.time() - load_done_wall, 1e-6)
    load_cpu = cpu_share(cpu_before, cpu_load, load_seconds)
    load_cpu["postgres (all databases)"] = (pg_load - pg_before) / load_seconds
    drain_cpu = cpu_share(cpu_load, cpu_after, drain_seconds)
    drain_cpu["postgres (all databases)"] = (pg_after - pg_load) / drain_seconds
    busy_load = (machine_load[0] - machine_before[0]) / max(1, machine_load[1] - machine_before[1])
    busy_drain = (machine_after[0] - machine_load[0]) / max(1, machine_after[1] - machine_load[1])
    cores = os.cpu_count() or 1
    load_cpu["everything else"] = max(0.0, busy_load * cores - sum(load_cpu.values()))
    drain_cpu["everything else"] = max(0.0, busy_drain * cores - sum(drain_cpu.values()))

    print()
    print(f"requests: {len(run_.results)} ({run_.not_sent} not sent), statuses {run_.statuses}")
    print(f"offered {offered:.0f} req/s over {run_.elapsed:.1f} s; acked events {acked_events}")
    print(
        f"stored events {totals['rows']} (unique sent {len(sent_unique)}; lost {lost}, "
        f"unexpected {extra}); pending {totals['pending']}, failed {totals['failed']}, "
        f"handled more than once {totals['retried']}"
    )
    print(
        f"inbound messages {messages} (unique text events sent {len(sent_messages)}, "
        f"duplicated {message_dupes}, handled without one {done_without_message}); "
        f"members {members}; profiles fetched {profiles} (follows {workload.unique_follows})"
    )
    print(f"webhook tasks queued when the load ended: {backlog}")
    if stalled:
        print(f"STALLED: {totals['pending']} events stayed pending with no task left to run them")
    print(
        "CPU during load (cores): "
        + ", ".join(f"{k} {v:.2f}" for k, v in load_cpu.items())
        + f"; machine busy {busy_load * 100:.0f}% of {cores} cores"
    )
    print(
        "CPU while draining (cores): "
        + ", ".join(f"{k} {v:.2f}" for k, v in drain_cpu.items())
        + f"; machine busy {busy_drain * 100:.0f}% of {cores} cores"
    )
    if args.profile:
        print(f"profiles (py-spy collapsed stacks): {log_dir}/profile-*.txt")
    print()
    lines = [
        bench_line(
            "webhook_ack_rate",
            f"{ack_rate:.0f}",
            "events/s",
            f">= {target_events:.0f}",
            f"[{acked_events} events in {run_.elapsed:.1f} s, offered {offered:.0f} req/s]",
        ),
        bench_line(
            "webhook_ack_p50",
            f"{p50:.1f}",
            "ms",
            "n/a",
            f"[{p50 / LINE_ACK_LIMIT_MS:.3f} of LINE's 2000 ms]",
        ),
        bench_line(
            "webhook_ack_p99",
            f"{p99:.1f}",
            "ms",
            "< 100",
            f"[p99 / 2000 ms = {p99 / LINE_ACK_LIMIT_MS:.3f}]",
        ),
        bench_line(
            "webhook_ack_p99_open_loop",
            f"{p99_sched:.1f}",
            "ms",
            "< 2000",
            f"[from each request's scheduled time at {args.rate:g} req/s, so queueing counts; "
            f"p99 / 2000 ms = {p99_sched / LINE_ACK_LIMIT_MS:.3f}]",
        ),
        bench_line(
            "webhook_handle_rate",
            f"{handle_rate:.0f}",
            "events/s",
            f">= ack rate {ack_rate:.0f}",
            f"[{totals['rows']} events by 1 worker in {handle_span:.1f} s]",
        ),
        bench_line(
            "webhook_all_handled_after",
            f"{all_handled_after:.1f}",
            "s",
            "n/a",
            f"[from the first send; sending took {run_.elapsed:.1f} s]",
        ),
        bench_line(
            "webhook_web_cpu",
            f"{web_cpu_ms:.1f}",
            "ms/request",
            "n/a",
            f"[gunicorn workers' CPU per request of {args.events_per_request} events]",
        ),
        bench_line(
            "webhook_worker_cpu",
            f"{worker_cpu_ms:.2f}",
            "ms/event",
            "<= 0.5",
            "[the worker's own CPU, PostgreSQL's not included; 0.5 ms is one core "
            "for 2000 events/s]",
        ),
        bench_line("webhook_lost_or_duplicated", str(lost_or_duplicated), "events", "0"),
    ]
    for line in lines:
        print(line, flush=True)
    expected_ok = expected_sent == acked_events
    return 0 if lost_or_duplicated == 0 and expected_ok and not run_.not_sent else 1


if __name__ == "__main__":
    sys.exit(main())
