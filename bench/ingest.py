"""Benchmark of the webhook receiver under load, against a bare INSERT, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kartra_ingest_bench \\
        .venv/bin/python bench/ingest.py        # --help for the knobs

Creates the database if it is missing (``--recreate`` drops it first), migrates it and
empties the mirror's tables (leads and events apps): use a database of its own; it refuses
one whose name lacks "bench" or that holds bench/api.py's seed. Then it starts for real, as
subprocesses on loopback ports, three gunicorn servers (2 sync workers each, the project's
settings and ``kartra_mirror.wsgi:application``):

- **bare insert**: bench/ingest_baseline.py, one view that stores the POST body with one
  INSERT into a copy of ``events_delivery`` and answers 200: the floor under any store-first
  receiver on this stack (same Django, middleware, database, connection reuse);
- **app, inline**: the real receiver, no broker, ``KARTRA_PROCESS_INLINE=1`` (each delivery
  processed in its request);
- **app, broker**: the real receiver with ``CELERY_BROKER_URL`` on a dedicated Redis db
  (flushed first), ``KARTRA_PROCESS_INLINE=0``, and a Celery worker
  (``celery -A kartra_mirror worker --concurrency 2``; ``--beat`` adds beat).

wrk (bench/ingest.lua, 8 connections) posts valid, distinct Kartra webhook bodies to each in
turn for a fixed time per round (``--duration``); a cycle measures all three (the baseline
before the inline app, then after it, in turn; the broker last), so that each figure has a
baseline measured beside it; rounds that would not fit in ``--budget`` are skipped. Before
each round it waits until no delivery is left unprocessed, and, when the server runs
without autovacuum, vacuums and analyzes the database as autovacuum would have. The harness
knows nothing of how deliveries are processed: it posts over HTTP and watches
``events_delivery``, where ``status = 'received'`` means not processed yet. Per round it prints:

- acknowledged: 2xx responses per second, and p99 latency (all responses, as wrk measures);
- non-2xx responses, deliveries stored (rows above the round's first id) and **missing**:
  2xx responses beyond the rows stored;
- for the real app, **applied**: the round's deliveries / the time from its first delivery's
  arrival until none of them is left 'received', by the rows' own times (``received_at``
  of the first, the last ``processed_at``); the harness polls to know when to look ("not
  drained" past ``--drain-cap``). wrk exits about 2 s after its last request, a wait that
  belongs to neither the receiver nor the processing.

Each figure is also given as a ratio to the bare insert of the same cycle.

Goals: acknowledged >= 0.8x and applied >= 0.5x of the bare insert (median over the
cycles), and 0 acknowledged deliveries missing. The harness exits 0 whatever the figures;
only its own failure (a server that does not start, wrk missing, ...) is an error.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kartra_ingest_bench")

import api as bench  # noqa: E402 - bench/api.py reads DATABASE_URL when imported

ROOT = bench.ROOT
BIN = Path(sys.executable).parent
LUA = Path(__file__).resolve().with_name("ingest.lua")
BASELINE_TABLE = "bench_ingest_delivery"  # bench/ingest_baseline.py writes here
GOAL_ACK, GOAL_APPLIED = 0.8, 0.5
POLL = 0.1  # seconds between polls of the delivery table

BASELINE, INLINE, BROKER = "bare insert", "app, inline", "app, broker"


# --- subprocesses -------------------------------------------------------------------------


class Processes:
    """The servers and the worker: each in its own session, its output in a log file; all
    stopped (TERM to each, then KILL to what is left of its process group after a grace
    period) when the ``with`` block is left, whether normally, by an exception or by Ctrl-C."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.logs / f"{name.replace(', ', '-').replace(' ', '-')}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the harness only; it stops them
            )
        self.started.append((name, process, log))
        return process

    def check(self) -> None:
        for name, process, log in self.started:
            if process.poll() is not None:
                raise HarnessError(f"{name} exited ({process.returncode}); see {log}:\n{tail(log)}")

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        running = [p for _, p, _ in self.started if p.poll() is None]
        for process in running:
            process.terminate()  # gunicorn's master, Celery's main process: they stop the rest
        deadline = time.monotonic() + 15
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            signal_group(process, signal.SIGKILL)  # whatever of its group is still there
            process.wait()


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group this harness created for ``process`` (gunicorn's master and
    workers, Celery's main process and pool)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


class HarnessError(Exception):
    pass


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, processes: Processes, timeout: float = 60) -> None:
    """Wait until a HEAD request to the webhook URL ``url`` answers 200 (both views do)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while True:
        processes.check()
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            conn.request("HEAD", parts.path)
            status = conn.getresponse().status
            conn.close()
            if status != 200:
                raise HarnessError(f"HEAD {url} answered {status}, not 200")
            return
        except OSError as error:
            if time.monotonic() > deadline:
                raise HarnessError(f"nothing answers at {url}: {error}") from None
            time.sleep(0.2)


# --- load --------------------------------------------------------------------------------


@dataclass
class Load:
    """What wrk saw of one round."""

    seconds: float
    ok: int  # 2xx responses
    other: str  # non-2xx responses by status, e.g. "400x3,503x1"
    non_ok: int
    p99_ms: float
    socket_errors: str

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def run_wrk(url: str, round_id: int, seconds: float, args: argparse.Namespace) -> Load:
    command = [
        "wrk",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={seconds:g}s",
        f"--timeout={args.timeout:g}s",
        f"--script={LUA}",
        url,
        "--",
        str(round_id),
        str(args.leads),
        str(args.tags),
        str(args.lists),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + args.timeout + 30
    )
    values = {}
    for line in done.stdout.splitlines():
        if line.startswith("wrk:"):
            name, _, value = line[4:].partition(" ")
            values[name] = value.strip()
    if done.returncode != 0 or "ok" not in values:
        raise HarnessError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    other = values["other"]
    return Load(
        seconds=int(values["duration_us"]) / 1e6,
        ok=int(values["ok"]),
        other=other,
        non_ok=sum(int(part.split("x")[1]) for part in other.split(",") if part),
        p99_ms=int(values["p99_us"]) / 1000,
        socket_errors=values["socket_errors"],
    )


# --- the delivery tables -----------------------------------------------------------------


def reset_tables(conn) -> None:
    """Empty the mirror (leads and events apps: deliveries, leads, relations, activity, sync
    runs), so that every run starts alike; make the baseline's table afresh as a copy of
    ``events_delivery`` as migrated now."""
    from django.apps import apps

    tables = sorted(
        model._meta.db_table
        for label in ("leads", "events")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    )
    conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    conn.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
    conn.execute(f"CREATE TABLE {BASELINE_TABLE} (LIKE events_delivery INCLUDING ALL)")


def maintain(conn) -> str:
    """Start a round from the same state whatever ran before it; return what was done, for
    the round's notes.

    A mirror in production runs on a server with autovacuum on: the leads a burst updates
    leave dead row versions that it reclaims, and it gathers the planner's statistics
    (without them, the foreign-key checks PostgreSQL runs for each written row may scan a
    whole index of ``leads_lead``). A test server may turn it off (this machine's CI
    cluster does), and every round would then pay for the bloat of the rounds before. So,
    when autovacuum is off, the database is vacuumed and analyzed first. Then a
    ``CHECKPOINT`` writes out what the rounds before (and the vacuum) left in PostgreSQL's
    buffers, so that no round pays for another's writes; the baseline's rounds too."""
    done = []
    if conn.execute("SHOW autovacuum").fetchone()[0] != "on":
        conn.execute("VACUUM (ANALYZE)")
        done.append("vacuumed (autovacuum is off)")
    conn.execute("CHECKPOINT")
    done.append("checkpoint")
    return ", ".join(done) + " first"


def last_id(conn, table: str) -> int:
    return conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]


def counts(conn, table: str, after: int) -> tuple[int, int]:
    """Rows with an id above ``after``, and how many of them are still 'received'."""
    return conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE status = 'received') FROM {table} WHERE id > %s",
        [after],
    ).fetchone()


def wait_drained(conn, after: int, started: float, cap: float) -> float | None:
    """Seconds from ``started`` until no delivery above ``after`` is 'received' any more, or
    None past ``cap`` seconds from now. Drained means two polls in a row saw the same rows
    and none 'received' (a request in flight may still store one); the time is the first's."""
    deadline = time.monotonic() + cap
    previous = None
    while True:
        now = time.monotonic()
        total, received = counts(conn, "events_delivery", after)
        if received == 0 and previous and previous[1:] == (total, 0):
            return previous[0] - started
        previous = (now, total, received)
        if now > deadline:
            return None
        time.sleep(POLL)


def applied_seconds(conn, after: int) -> float:
    """Seconds from the first arrival of the deliveries above ``after`` until the last of
    them left 'received' (processed, failed, or rejected when stored), by their rows."""
    (seconds,) = conn.execute(
        "SELECT EXTRACT(EPOCH FROM max(GREATEST(received_at, processed_at)) - min(received_at))"
        " FROM events_delivery WHERE id > %s",
        [after],
    ).fetchone()
    return float(seconds)


# --- rounds ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    table: str
    processed: bool  # whether its deliveries get processed (the real app)


@dataclass
class Round:
    cycle: int
    target: Target
    load: Load
    stored: int
    drained: float | None = None  # seconds from the first arrival; None: not drained
    outcome: dict[str, int] = field(default_factory=dict)  # the round's rows by status
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return max(0, self.load.ok - self.stored)

    @property
    def applied(self) -> float | None:
        return self.stored / self.drained if self.drained else None


def run_round(
    conn,
    target: Target,
    cycle: int,
    round_id: int,
    args,
    budget_end: float,
    paused: subprocess.Popen | None = None,
) -> Round | None:
    """One round on ``target``: wait for any backlog, load it, count, wait for the drain.
    ``paused`` (the worker, with ``--worker-paused``) is stopped while the load lasts."""
    remaining = budget_end - time.monotonic()
    if remaining < args.duration + 5:
        return None
    notes = []
    before = last_id(conn, target.table)
    # Nobody should be processing a backlog (the warm-up's, a round not drained) meanwhile.
    idle_cap = min(args.drain_cap, remaining - args.duration - 5)
    if wait_drained(conn, 0, time.monotonic(), max(1.0, idle_cap)) is None:
        notes.append("started while the worker still had a backlog")
    if maintained := maintain(conn):
        notes.append(maintained)
    started = time.monotonic()
    if paused is not None:
        signal_group(paused, signal.SIGSTOP)
        notes.append("worker paused during the load")
    try:
        with SlowClients(target.url, args.slow_clients) as slow:
            load = run_wrk(target.url, round_id, args.duration, args)
    finally:
        if paused is not None:
            signal_group(paused, signal.SIGCONT)
    if args.slow_clients:
        notes.append(f"slow clients let go by the server {slow.dropped} times")
    drained = None
    if target.processed:
        cap = min(started + args.drain_cap, budget_end) - time.monotonic()
        if wait_drained(conn, before, started, max(1.0, cap)) is None:
            notes.append(f"not drained {time.monotonic() - started:.0f} s after its start")
        else:
            drained = applied_seconds(conn, before)
    stored, _ = counts(conn, target.table, before)
    outcome = {}
    if target.processed:
        outcome = dict(
            conn.execute(
                "SELECT status, count(*) FROM events_delivery WHERE id > %s GROUP BY status "
                "ORDER BY count(*) DESC",
                [before],
            ).fetchall()
        )
        notes.append(", ".join(f"{n} {status}" for status, n in outcome.items()))
    return Round(cycle, target, load, stored, drained, outcome, notes)


def ratio(value: float | None, reference: float | None) -> float | None:
    return value / reference if value is not None and reference else None


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, spec) + suffix


def print_rounds(rounds: list[Round], baselines: dict[int, Round]) -> None:
    bench.print_header(
        f"{'cycle':<6}{'target':<14}{'2xx/s':>8}{'ratio':>7}{'p99 ms':>9}{'ratio':>7}"
        f"{'non-2xx':>9}{'stored':>8}{'missing':>9}{'applied/s':>13}{'ratio':>7}"
    )
    order = [BASELINE, INLINE, BROKER]
    for r in sorted(rounds, key=lambda r: (r.cycle, order.index(r.target.name))):
        base = baselines.get(r.cycle)
        rate, p99 = (base.load.rate, base.load.p99_ms) if base else (None, None)
        if r.target.processed and r.applied is None:
            applied = f"{'not drained':>13}{'':>7}"
        else:
            applied = f"{fmt(r.applied, '.1f'):>13}{fmt(ratio(r.applied, rate), '.2f', 'x'):>7}"
        print(
            f"{r.cycle:<6}{r.target.name:<14}{r.load.rate:>8.1f}"
            f"{fmt(ratio(r.load.rate, rate), '.2f', 'x'):>7}{r.load.p99_ms:>9.1f}"
            f"{fmt(ratio(r.load.p99_ms, p99), '.1f', 'x'):>7}{r.load.non_ok:>9}{r.stored:>8}"
            f"{r.missing:>9}{applied}"
        )
    for r in rounds:
        details = list(r.notes)
        if r.load.other:
            details.append(f"non-2xx statuses {r.load.other}")
        if r.load.socket_errors != "connect=0,read=0,write=0,timeout=0":
            details.append(f"socket errors {r.load.socket_errors}")
        if r.drained is not None:
            details.append(
                f"drained {r.drained:.1f} s after its first arrival ({r.load.seconds:.1f} s load)"
            )
        if details:
            print(f"  cycle {r.cycle}, {r.target.name}: {'; '.join(details)}")


def print_goals(rounds: list[Round], baselines: dict[int, Round]) -> None:
    bench.print_header(f"{'target':<14}{'figure':<28}{'measured':>10}{'goal':>10}  met")
    for name in (INLINE, BROKER):
        mine = [r for r in rounds if r.target.name == name and r.cycle in baselines]
        if not mine:
            print(f"{name:<14}not measured (time budget)")
            continue
        acks = [r.load.rate / baselines[r.cycle].load.rate for r in mine]
        applied = [ratio(r.applied, baselines[r.cycle].load.rate) for r in mine]
        missing = sum(r.missing for r in mine)
        ack = statistics.median(acks)
        print(
            f"{name:<14}{'acknowledged (median ratio)':<28}{ack:>9.2f}x{GOAL_ACK:>8.1f}x"
            f"  {'ok' if ack >= GOAL_ACK else 'MISSED'}"
        )
        if None in applied:
            undrained = applied.count(None)
            print(
                f"{'':<14}{'applied (median ratio)':<28}{'not drained':>10}{GOAL_APPLIED:>8.1f}x"
                f"  MISSED ({undrained} of {len(applied)} rounds not drained)"
            )
        else:
            app = statistics.median(applied)
            print(
                f"{'':<14}{'applied (median ratio)':<28}{app:>9.2f}x{GOAL_APPLIED:>8.1f}x"
                f"  {'ok' if app >= GOAL_APPLIED else 'MISSED'}"
            )
        print(
            f"{'':<14}{'acknowledged but missing':<28}{missing:>10}{0:>10}"
            f"  {'ok' if missing == 0 else 'MISSED'}"
        )
    missing = sum(r.missing for r in rounds)
    print(f"\nmissing: {missing} (acknowledged deliveries not in the table, all rounds)")
    other: dict[str, int] = {}
    for r in rounds:
        for status, n in r.outcome.items():
            if status not in ("processed", "received"):
                other[status] = other.get(status, 0) + n
    if other:
        listed = ", ".join(f"{n} {status}" for status, n in other.items())
        print(f"not processed: {listed} (done for the applied rate all the same)")


def scan_logs(processes: Processes) -> None:
    """Say what the servers and the worker logged above INFO (tracebacks, errors, timeouts)."""
    markers = (
        "Traceback",
        "ERROR",
        "CRITICAL",
        "WORKER TIMEOUT",
        "WARNING ",
        "[WARNING]",
        "WARNING/",
    )
    print()
    for name, _, log in processes.started:
        lines = log.read_text(errors="replace").splitlines()
        flagged = [line for line in lines if any(m in line for m in markers)]
        if flagged:
            print(f"{name}: {len(flagged)} log lines with errors or warnings, first ones:")
            for line in flagged[:3]:
                print(f"    {line[:150]}")
        else:
            print(f"{name}: no errors or warnings logged")
    print(f"logs: {processes.logs}")


# --- setup -------------------------------------------------------------------------------


def preflight() -> str:
    """Check the tools and the database URL; return the database name."""
    if shutil.which("wrk") is None:
        sys.exit("bench/ingest.py needs wrk: install it with `apt-get install -y wrk` (Debian)")
    for tool in ("gunicorn", "celery"):
        if not (BIN / tool).exists():
            sys.exit(f"{BIN / tool} not found: install the project (`.venv/bin/pip install -e .`)")
    url = urlsplit(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        sys.exit("bench/ingest.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = url.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"bench/ingest.py empties the mirror's tables: {name!r} is not named *bench*")
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("bench/ingest.py runs on loopback only: DATABASE_URL must be on 127.0.0.1")
    return name


def drop_database(name: str) -> None:
    """``--recreate``: start from an empty database, migrated from the migrations as they
    are now (a migration edited after an earlier run would otherwise stay applied as was)."""
    import psycopg

    admin_url = urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"dropped database {name}")


def refuse_seeded(conn) -> None:
    """bench/api.py's million-lead seed takes minutes to make: never empty it."""
    if conn.execute("SELECT to_regclass('bench_seed')").fetchone()[0]:
        sys.exit("this database holds bench/api.py's seed (bench_seed): use another one")


def describe(conn) -> str:
    version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        [
            "git",
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--",
            "events",
            "leads",
            "kartra_mirror",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    tree = f", {len(changed)} changed files in events/ leads/ kartra_mirror/" if changed else ""
    return f"code {head or '?'}{tree}; PostgreSQL {version}; {os.cpu_count()} cores"


def server_env(token: str, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="kartra_mirror.settings",
        DJANGO_SECURE_SSL_REDIRECT="0",  # wrk speaks plain HTTP on loopback
        KARTRA_WEBHOOK_TOKENS=token,
        CELERY_BROKER_URL="",
        KARTRA_PROCESS_INLINE="1",
        # No Redis of the caller's: with a broker, the app's Redis state is in its db.
        KARTRA_REDIS_URL="",
        REDIS_URL="",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def gunicorn_command(port: int, args: argparse.Namespace) -> list[str]:
    """gunicorn as production runs it: the project's gunicorn.conf.py, with the port, the
    worker count and (``--worker-class``) the worker class of this run."""
    import gunicorn.config

    command = [
        str(BIN / "gunicorn"),
        "kartra_mirror.wsgi:application",
        f"--config={ROOT / 'gunicorn.conf.py'}",
        f"--workers={args.workers}",
        f"--bind=127.0.0.1:{port}",
        f"--chdir={ROOT}",
    ]
    if args.worker_class:
        command.append(f"--worker-class={args.worker_class}")
        if args.worker_class == "sync":
            command.append("--threads=1")  # gunicorn runs gthread for sync with threads > 1
    if "control_socket_disable" in {setting.name for setting in gunicorn.config.KNOWN_SETTINGS}:
        # gunicorn 25.1+ opens a control socket, by default one path (~/.gunicorn/) for all.
        command.append("--no-control-socket")
    return command


class SlowClients:
    """``count`` clients that each open a webhook POST announcing a 100 kB body and send it
    one byte every ``pause`` seconds (a stalled or very slow sender), reconnecting whenever
    the server drops them, for as long as the ``with`` block lasts."""

    def __init__(self, url: str, count: int, pause: float = 2.0):
        self.parts, self.count, self.pause = urlsplit(url), count, pause
        self.stop = threading.Event()
        self.dropped = 0  # times the server answered or closed the connection

    def _client(self) -> None:
        head = (
            f"POST {self.parts.path} HTTP/1.1\r\nHost: {self.parts.hostname}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        ).encode()
        while not self.stop.is_set():
            try:
                with socket.create_connection((self.parts.hostname, self.parts.port), 5) as sock:
                    sock.sendall(head)
                    while not self.stop.wait(self.pause):
                        sock.sendall(b" ")
                        sock.settimeout(0.0)
                        with contextlib.suppress(BlockingIOError):
                            if sock.recv(1024) is not None:
                                break  # answered (408) or closed: the server let go
                        sock.settimeout(5)
            except OSError:
                pass
            self.dropped += 1

    def __enter__(self) -> SlowClients:
        self.threads = [
            threading.Thread(target=self._client, daemon=True) for _ in range(self.count)
        ]
        for thread in self.threads:
            thread.start()
        time.sleep(self.pause)  # every client holds its connection before the load starts
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def start_all(processes: Processes, args, token: str) -> list[Target]:
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    import redis

    redis.Redis.from_url(broker).flushdb()
    path = f"/webhooks/kartra/{token}/"
    targets = []
    for name, table, processed, env in (
        (BASELINE, BASELINE_TABLE, False, {"DJANGO_SETTINGS_MODULE": "bench.ingest_baseline"}),
        (INLINE, "events_delivery", True, {"KARTRA_PROCESS_INLINE": "1"}),
        (
            BROKER,
            "events_delivery",
            True,
            {"CELERY_BROKER_URL": broker, "KARTRA_PROCESS_INLINE": "0"},
        ),
    ):
        port = free_port()
        processes.start(f"gunicorn {name}", gunicorn_command(port, args), server_env(token, **env))
        targets.append(Target(name, f"http://127.0.0.1:{port}{path}", table, processed))
    worker = [
        str(BIN / "celery"),
        "-A",
        "kartra_mirror",
        "worker",
        f"--concurrency={args.concurrency}",
        "--loglevel=WARNING",
    ]
    if args.beat:
        worker += ["--beat", f"--schedule={processes.logs / 'celerybeat-schedule'}"]
    if args.worker_nice:
        worker = ["nice", "-n", str(args.worker_nice), *worker]
    processes.start(
        "celery worker",
        worker,
        server_env(token, CELERY_BROKER_URL=broker, KARTRA_PROCESS_INLINE="0"),
    )
    for target in targets:
        wait_http(target.url, processes)
    return targets


# --- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per round")
    parser.add_argument("--cycles", type=int, default=2, help="rounds on each target")
    parser.add_argument(
        "--budget",
        type=float,
        default=300,
        help="seconds for warm-up and rounds; rounds that would not fit are skipped",
    )
    parser.add_argument(
        "--drain-cap",
        type=float,
        default=120,
        help="seconds after a round's start to wait for its deliveries",
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load per target first")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=10, help="wrk's per-request timeout (s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument(
        "--worker-class",
        default="",
        help="gunicorn worker class instead of gunicorn.conf.py's (e.g. sync, to compare)",
    )
    parser.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="clients that hold a webhook POST open, sending its body a byte every 2 s, "
        "during each round",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--beat", action="store_true", help="run the Celery worker with --beat")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the Celery worker at this nice level",
    )
    parser.add_argument(
        "--worker-paused",
        action="store_true",
        help="stop the Celery worker (SIGSTOP) while a broker round's load lasts, and let it "
        "drain the backlog after: the receiver with nothing else on the cores, as with workers "
        "on machines of their own",
    )
    parser.add_argument(
        "--recreate", action="store_true", help="drop the database first, then create and migrate"
    )
    parser.add_argument(
        "--redis-db", type=int, default=13, help="Redis db for the broker (flushed)"
    )
    parser.add_argument("--leads", type=int, default=3000, help="distinct leads in the bodies")
    parser.add_argument("--tags", type=int, default=40)
    parser.add_argument("--lists", type=int, default=12)
    args = parser.parse_args()

    name = preflight()
    # Ctrl-C (even when started in the background, where SIGINT comes ignored) and TERM leave
    # through Processes.__exit__, which stops the servers and the worker.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    if args.recreate:
        drop_database(name)
    bench.setup()
    import psycopg

    conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    refuse_seeded(conn)
    reset_tables(conn)
    logs = Path(tempfile.mkdtemp(prefix="kartra-ingest-bench-"))
    print(describe(conn))
    print(
        f"gunicorn (gunicorn.conf.py) {args.workers} {args.worker_class or 'gthread'} workers "
        f"per server{f', {args.slow_clients} slow clients' if args.slow_clients else ''}; "
        f"Celery worker --concurrency "
        f"{args.concurrency}{' --beat' if args.beat else ' (no beat)'}"
        f"{', paused during broker loads' if args.worker_paused else ''}; wrk {args.threads} "
        f"threads, {args.connections} connections, {args.duration:g} s rounds; "
        f"{args.leads} leads, {args.tags} tags, {args.lists} lists"
    )
    with Processes(logs) as processes:
        targets = start_all(processes, args, secrets.token_urlsafe(24))
        worker = next(p for name, p, _ in processes.started if name == "celery worker")
        print(f"servers up in {time.monotonic() - started:.0f} s (setup and migrate included)")
        budget_end = time.monotonic() + args.budget
        for target in targets:
            run_wrk(target.url, 0, args.warmup, args)
        rounds: list[Round] = []
        round_id = 0
        for cycle in range(1, args.cycles + 1):
            # The baseline goes before and after the inline app in turn; the broker goes
            # last, as its drain is the one wait that can eat the rest of the budget.
            for target in targets if cycle % 2 else [targets[1], targets[0], targets[2]]:
                round_id += 1
                processes.check()
                paused = worker if args.worker_paused and target.name == BROKER else None
                result = run_round(conn, target, cycle, round_id, args, budget_end, paused)
                if result is None:
                    print(f"cycle {cycle}, {target.name}: skipped, the --budget is spent")
                    continue
                rounds.append(result)
                drained = "" if result.drained is None else f", drained at {result.drained:.1f} s"
                print(
                    f"cycle {cycle}, {target.name}: {result.load.ok} acknowledged, "
                    f"{result.stored} stored{drained}{'; ' if result.notes else ''}"
                    f"{'; '.join(result.notes)}",
                    flush=True,
                )
        baselines = {r.cycle: r for r in rounds if r.target.name == BASELINE}
        print_rounds(rounds, baselines)
        print_goals(rounds, baselines)
        scan_logs(processes)
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except HarnessError as error:
        sys.exit(f"bench/ingest.py: {error}")
    except KeyboardInterrupt:
        sys.exit("bench/ingest.py: interrupted; servers and worker stopped")
