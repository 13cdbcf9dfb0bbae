"""What every benchmark here needs: free loopback ports, its own database and Redis db, and
child processes that are always stopped, each by its own process group, in bounded time.

Nothing here talks to anything but 127.0.0.1.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """The benchmark could not run (a service did not start, a check could not be made)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until(what: str, check: Callable[[], bool], *, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(every)
    raise BenchError(f"{what} not ready after {timeout:.0f} s")


def http_ok(url: str, *, data: bytes | None = None, headers: dict | None = None) -> bool:
    assert url.startswith(f"http://{LOOPBACK}:"), url  # loopback only
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return 200 <= answer.status < 400
    except urllib.error.HTTPError:
        return False


class Processes:
    """Child processes, each the leader of its own process group, stopped by ``stop_all``."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(  # noqa: S603 - our own argv
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.children.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.children:
            if process.poll() is not None:
                raise BenchError(
                    f"{name} exited with {process.returncode}; see {self.log_dir / name}.log"
                )

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_all(self, *, timeout: float = 10.0) -> None:
        """SIGTERM each group (newest first), then SIGKILL what is left after ``timeout``."""
        for _name, process in reversed(self.children):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _name, process in reversed(self.children):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _name, process in reversed(self.children):
            # The leader may be gone while its group lives on (a forked worker): kill the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        self.children.clear()


def run_checked(argv: list[str], *, env: dict[str, str], what: str, timeout: float) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - our own argv
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} took more than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def database_recreate(*, admin_url: str, name: str) -> None:
    """Drop (closing its sessions) and create a database on the local PostgreSQL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def redis_queue_length(url: str, queue: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (from /proc), e.g. gunicorn's workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU time a process has used so far (0 if it is gone); with
    ``reaped_children``, also that of its children that exited and were waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of the local PostgreSQL: live processes, plus backends already gone (reaped by the
    postmaster, so counted in its children's time). Compare two readings."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            comm = (entry / "comm").read_text().strip()
            if not comm.startswith("postgres"):
                continue
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_comm = Path(f"/proc/{parent}/comm").read_text().strip()
            postmaster = not parent_comm.startswith("postgres")
            total += process_cpu_seconds(int(entry.name), reaped_children=postmaster)
    return total
