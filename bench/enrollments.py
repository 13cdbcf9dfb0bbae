"""Step sequences at scale: N enrollments falling due in the same minute, all sent exactly once.

    .venv/bin/python bench/enrollments.py                       # 100,000 enrollments, 2 workers
    .venv/bin/python bench/enrollments.py --enrollments 20000 --workers 1

It recreates the PostgreSQL database ``crm_bench_enrollments``, migrates it, creates a channel,
N friends (members) and one active welcome sequence of one step, and N enrollments all due
now; starts the LINE sandbox in its own process (rate limits off) with the N users as friends,
and ``--workers`` Celery workers on the ``sending`` queue (solo pool, one process each). Then it
queues ``journeys.tasks.send_due_steps`` once, as beat would, with ``fanout`` = the workers
(the task queues the helpers itself), and waits until no enrollment is active.

Checks: every enrollment completed, one sent StepSend each, one conversation-log row each, and
in the sandbox every user's phone holds exactly one message. Exit status 0 only if so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    LOOPBACK,
    PYTHON,
    BenchError,
    Processes,
    database_recreate,
    free_port,
    http_ok,
    postgres_cpu_seconds,
    process_cpu_seconds,
    redis_flush,
    run_checked,
    wait_until,
)

CHANNEL_ID = "1659990001"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="sending worker processes")
    parser.add_argument(
        "--personalized",
        action="store_true",
        help="a template with {{ member.display_name }} (personalised per member)",
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="crm_bench_enrollments")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--log-dir", default="")
    parser.add_argument("--serve-sandbox", nargs=3, metavar=("PORT", "TOKEN", "USERS_FILE"))
    return parser.parse_args(argv)


def serve_sandbox(port: int, token: str, users_file: str) -> None:
    """The sandbox with the channel and its friends made in memory (100k HTTP calls would take
    minutes), plus ``/bench/phones``: how many users hold how many messages."""
    from werkzeug.serving import run_simple

    from linebot.sandbox import create_app
    from linebot.sandbox.serving import RedactingRequestHandler
    from linebot.sandbox.setup import channel_apply
    from linebot.sandbox.state import SimUser

    app = create_app(seed=1, rate_limits=False)
    channel = channel_apply(
        app.sandbox,
        CHANNEL_ID,
        {"accessToken": token, "channelSecret": "0" * 32, "name": "Bench OA"},
    )
    for user_id in Path(users_file).read_text().split():
        channel.users[user_id] = SimUser(user_id=user_id, display_name="Friend", is_friend=True)

    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == "/bench/phones":
            histogram: dict[int, int] = {}
            with app.sandbox.lock:
                for user in channel.users.values():
                    count = sum(1 for entry in user.chat if entry["from"] == "bot")
                    histogram[count] = histogram.get(count, 0) + 1
            body = json.dumps(histogram).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return app(environ, start_response)

    run_simple(LOOPBACK, port, wrapped, threaded=True, request_handler=RedactingRequestHandler)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve_sandbox:
        port, token, users_file = args.serve_sandbox
        serve_sandbox(int(port), token, users_file)
        return 0
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="bench-enrollments-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = Processes(log_dir)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(args.time_limit + 600))
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
    sandbox_port = free_port()
    sandbox_url = f"http://{LOOPBACK}:{sandbox_port}"
    token = secrets.token_urlsafe(40)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "CRM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": LOOPBACK,
        "DATABASE_URL": f"{args.postgres.rstrip('/')}/{args.database}",
        "CELERY_BROKER_URL": args.redis,
        "LINE_SANDBOX_URL": sandbox_url,
        "CRM_VAR_DIR": str(log_dir / "var"),
        "MEDIA_ROOT": str(log_dir / "media"),
        "LOG_LEVEL": "WARNING",
        "JOURNEYS_CLOCK_FILE": "",
        "PYTHONUNBUFFERED": "1",
    }
    print(f"database {args.database}: recreate and migrate", flush=True)
    database_recreate(admin_url=f"{args.postgres.rstrip('/')}/postgres", name=args.database)
    redis_flush(args.redis)
    run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env=env, what="migrate", timeout=300)

    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import MessageTemplate
    from journeys.models import Enrollment, Sequence, SequenceTrigger, Step, StepSend
    from linebot.models import Channel
    from members.models import FriendStatus, Member, Message, MessageSource

    count = args.enrollments
    print(f"{count} members, one sequence, {count} enrollments due now", flush=True)
    channel = Channel.objects.create(
        name="Bench OA",
        channel_id=CHANNEL_ID,
        channel_secret="0" * 32,
        access_token=token,
        platform="sandbox",
    )
    user_ids = [f"U{n:032x}" for n in range(1, count + 1)]
    users_file = log_dir / "users.txt"
    users_file.write_text("\n".join(user_ids))
    now = timezone.now()
    Member.objects.bulk_create(
        [
            Member(
                channel=channel,
                line_user_id=user_id,
                display_name=f"Friend {n}",
                friend_status=FriendStatus.FRIEND,
                profile_refreshed_at=now,
            )
            for n, user_id in enumerate(user_ids)
        ],
        batch_size=5000,
    )
    words = "Welcome, {{ member.display_name }}!" if args.personalized else "Welcome!"
    template = MessageTemplate.objects.create(
        name="welcome", channel=channel, messages=[{"type": "text", "text": words}]
    )
    sequence = Sequence.objects.create(
        channel=channel, name="Welcome", trigger=SequenceTrigger.FOLLOW
    )
    step = Step.objects.create(sequence=sequence, position=1, template=template)
    member_ids = list(Member.objects.values_list("pk", flat=True))
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                sequence=sequence,
                member_id=pk,
                current_step=step,
                step_position=1,
                next_due_at=now,
                enrolled_at=now,
            )
            for pk in member_ids
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()

    print(f"sandbox on :{sandbox_port} (rate limits off)", flush=True)
    sandbox = processes.start(
        "sandbox",
        [
            PYTHON,
            str(Path(__file__).resolve()),
            "--serve-sandbox",
            str(sandbox_port),
            token,
            str(users_file),
        ],
        env=env,
    )
    wait_until("sandbox", lambda: http_ok(f"{sandbox_url}/bench/phones"), timeout=120)

    workers = []
    for number in range(args.workers):
        workers.append(
            processes.start(
                f"worker{number}",
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "crm",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    "sending",
                    "-n",
                    f"bench{number}@localhost",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=WARNING",
                ],
                env=env,
            )
        )
    from crm.celery import app as celery_app

    names = [f"bench{n}@localhost" for n in range(args.workers)]
    wait_until(
        "workers",
        lambda: len(celery_app.control.ping(destination=names, timeout=1)) == len(names),
        timeout=120,
    )
    processes.check_alive()

    from journeys.tasks import send_due_steps

    cpu_before = {
        "workers": sum(process_cpu_seconds(w.pid) for w in workers),
        "sandbox": process_cpu_seconds(sandbox.pid),
        "postgres": postgres_cpu_seconds(),
    }
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    send_due_steps.delay(fanout=args.workers)
    deadline = started + args.time_limit
    active = count
    while time.monotonic() < deadline:
        time.sleep(1)
        processes.check_alive()
        active = Enrollment.objects.filter(status="active").count()
        print(f"  {time.monotonic() - started:6.1f} s: {count - active} done", flush=True)
        if not active:
            break
    elapsed = time.monotonic() - started
    cpu = {
        "workers": sum(process_cpu_seconds(w.pid) for w in workers) - cpu_before["workers"],
        "sandbox": process_cpu_seconds(sandbox.pid) - cpu_before["sandbox"],
        "postgres": postgres_cpu_seconds() - cpu_before["postgres"],
    }

    import urllib.request

    with urllib.request.urlopen(f"{sandbox_url}/bench/phones", timeout=30) as answer:  # noqa: S310
        phones = {int(k): v for k, v in json.loads(answer.read()).items()}
    sent = StepSend.objects.filter(status="sent").count()
    logged = Message.objects.filter(source=MessageSource.STEP).count()
    completed = Enrollment.objects.filter(status="completed").count()
    wrong = (
        (count - completed) + abs(count - sent) + abs(count - logged) + (count - phones.get(1, 0))
    )
    rate = (count - active) / elapsed if elapsed else 0
    print(
        f"BENCH enrollments_all_sent_after: {elapsed:.1f} s (target <= 60) "
        f"[{count - active} of {count} sent, {args.workers} worker(s), "
        f"{'personalised: push' if args.personalized else 'identical: multicast'}]"
    )
    print(f"BENCH enrollments_rate: {rate:.0f} steps/s (target >= {count / 60:.0f})")
    print(
        f"BENCH enrollments_cpu: workers {cpu['workers']:.1f} s "
        f"({1000 * cpu['workers'] / max(count, 1):.2f} ms/step), sandbox {cpu['sandbox']:.1f} s, "
        f"postgres {cpu['postgres']:.1f} s (load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )
    print(
        f"BENCH enrollments_exactly_once_errors: {wrong} (target 0) "
        f"[completed {completed}, sent {sent}, logged {logged}, phones {phones}]"
    )
    return 0 if wrong == 0 and not active else 1


if __name__ == "__main__":
    sys.exit(main())
