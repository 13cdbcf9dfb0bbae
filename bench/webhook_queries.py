"""Database round trips of webhook ingestion: per request received, per event handled.

A companion of webhook_ingest.py whose figures do not depend on how busy the machine is:

    .venv/bin/python bench/webhook_queries.py [--events-per-request 10 --requests 20]

It recreates the PostgreSQL database ``crm_bench_queries``, migrates it, and in this one process
(no server, no worker: the Celery task is called directly, its publish is counted, not sent)
posts signed webhook requests of text messages through Django's test client, then handles the
stored events, counting the SQL statements of each step (``BEGIN``/``COMMIT`` and savepoints
included, since each is a round trip). The first round meets new members, later rounds the same
members again (the steady state), which is what the figures report.
"""

import argparse
import cProfile
import json
import os
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import LOOPBACK, PYTHON, ROOT, database_recreate, run_checked
from webhook_ingest import event_text, user_ids


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events-per-request", type=int, default=10)
    parser.add_argument("--requests", type=int, default=20, help="per round")
    parser.add_argument("--database", default="crm_bench_queries")
    parser.add_argument("--postgres", default=f"postgres://postgres@{LOOPBACK}:5432")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="cProfile the handling of the last round; print the N costliest functions",
    )
    args = parser.parse_args(argv)

    var_dir = tempfile.mkdtemp(prefix="bench-queries-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "CRM_ENV": "development",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": f"{args.postgres.rstrip('/')}/{args.database}",
        "CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": "memory://",
        "CRM_VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
    }
    database_recreate(admin_url=f"{args.postgres.rstrip('/')}/postgres", name=args.database)
    run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env=env, what="migrate", timeout=300)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from linebot import tasks
    from linebot.models import Channel
    from linebot.signature import signature_create

    rng = random.Random(args.seed)  # noqa: S311 - test data
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
    users = user_ids(rng, args.requests * args.events_per_request)
    client = Client(HTTP_HOST="127.0.0.1")
    path = f"/line/webhook/{channel.webhook_key}/"
    serial = 0
    rounds = []
    profiler = cProfile.Profile() if args.profile else None
    for round_number in range(3):
        receive_queries, handle_queries, publishes = [], [], 0
        receive_ms, handle_ms, handle_cpu_ms = [], [], []
        for index in range(args.requests):
            events = []
            for slot in range(args.events_per_request):
                serial += 1
                user = users[index * args.events_per_request + slot]
                events.append(event_text(rng, user, int(time.time() * 1000), serial))
            body = json.dumps(
                {"destination": channel.bot_user_id, "events": events}, ensure_ascii=False
            ).encode()
            signature = signature_create(channel_secret=channel.channel_secret, body=body)
            queued: list[list[int]] = []
            reset_queries()  # the query log keeps 9000 at most: empty it before each capture
            with (
                mock.patch.object(tasks.webhook_events_handle, "delay", side_effect=queued.append),
                CaptureQueriesContext(connection) as captured,
            ):
                started = time.perf_counter()
                answer = client.post(
                    path,
                    data=body,
                    content_type="application/json",
                    headers={"X-Line-Signature": signature},
                )
                receive_ms.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                print(f"webhook answered {answer.status_code}: {answer.content[:200]!r}")
                return 2
            receive_queries.append(len(captured.captured_queries))
            publishes += len(queued)
            for ids in queued:
                reset_queries()
                profiling = profiler is not None and round_number == 2
                with CaptureQueriesContext(connection) as captured:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    if profiling:
                        profiler.enable()
                    tasks.webhook_events_handle.run(ids)
                    if profiling:
                        profiler.disable()
                    handle_ms.append((time.perf_counter() - started) * 1000 / len(ids))
                    handle_cpu_ms.append((time.process_time() - started_cpu) * 1000 / len(ids))
                handle_queries.append(len(captured.captured_queries) / len(ids))
        rounds.append(
            {
                "receive_queries": statistics.mean(receive_queries),
                "receive_ms": statistics.median(receive_ms),
                "publishes": publishes / args.requests,
                "handle_queries": statistics.mean(handle_queries),
                "handle_ms": statistics.median(handle_ms),
                "handle_cpu_ms": statistics.mean(handle_cpu_ms),
                "statements": [q["sql"].split()[0] for q in captured.captured_queries],
            }
        )
        label = "new members" if round_number == 0 else "known members"
        print(
            f"round {round_number + 1} ({label}): receive {rounds[-1]['receive_queries']:.1f} "
            f"statements and {rounds[-1]['publishes']:.1f} publishes per request "
            f"({rounds[-1]['receive_ms']:.1f} ms); handle {rounds[-1]['handle_queries']:.1f} "
            f"statements per event ({rounds[-1]['handle_ms']:.2f} ms, "
            f"{rounds[-1]['handle_cpu_ms']:.3f} ms CPU)",
            flush=True,
        )
    steady = rounds[-1]
    kinds: dict[str, int] = {}
    for statement in steady["statements"]:
        kinds[statement] = kinds.get(statement, 0) + 1
    print(
        f"last task's statements ({args.events_per_request} events): "
        + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    )
    connection.close()
    if profiler is not None:
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    print()
    n = args.events_per_request
    print(
        f"BENCH webhook_receive_queries: {steady['receive_queries']:.1f} statements/request "
        f"(target n/a) [{n} events; {steady['publishes']:.1f} broker publish/request]"
    )
    print(
        f"BENCH webhook_receive_time: {steady['receive_ms']:.1f} ms/request (target n/a) "
        f"[in-process, no server; one request at a time]"
    )
    print(
        f"BENCH webhook_handle_queries: {steady['handle_queries']:.1f} statements/event "
        f"(target n/a) [known members, text messages]"
    )
    print(
        f"BENCH webhook_handle_time: {steady['handle_ms']:.2f} ms/event (target n/a) "
        f"[median wall time, PostgreSQL's answers and commit included]"
    )
    print(
        f"BENCH webhook_handle_cpu: {steady['handle_cpu_ms']:.3f} ms/event (target <= 0.5) "
        f"[this process's CPU, the task's own Celery overhead not included; one core handles "
        f"1000 / this events/s]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
