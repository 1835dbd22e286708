"""The production stack, for real: the Procfile's ``web`` (gunicorn), ``worker`` and ``beat``
(Celery on Redis), each started from its own line of the Procfile, on a PostgreSQL database
that the test creates, migrates with ``manage.py`` and drops, fed by the fake Kartra.

The fake account's webhooks go through gunicorn, the worker processes them, beat's due
refreshes pull every lead with ``get_lead`` (the worker's processes draw on one budget of
calls through Redis), and the mirror equals the fake for every lead. Then the worker stops: new
deliveries wait and ``/healthz`` answers 503 naming ``deliveries``; the worker starts again:
``/healthz`` is back to 200, the deliveries are processed and the mirror is equal again.

The database is ``test_<the configured name>_stack``, beside pytest-django's own test
database and dropped like it (``KARTRA_E2E_DATABASE`` names another); Redis is
``KARTRA_E2E_REDIS_URL`` (db 14 by default, which nothing else in the suite uses), flushed
before and after, as the broker, the limiter and the counters of the stack.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Q

from events.models import Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_fake import FakeAccount, FakeKartra, generate_account, play_events, post_webhook
from leads.models import Lead
from tests.conftest import FAKE_ANCHOR, free_port
from tests.events.sync.mirror_check import mismatches

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "stack-test-token-5be1c0"
CREDENTIALS = {"app_id": "stack-app", "api_key": "stack-key-3301", "api_password": "stack-pw-7720"}
REDIS_URL = os.environ.get("KARTRA_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")
#: Seconds a delivery may wait before /healthz fails (small, so the test need not wait).
MAX_DELIVERY_LAG = 2
#: Variables of the test's own environment that would reconfigure the stack.
STACK_VARIABLES = ("DJANGO_", "KARTRA_", "CELERY_", "GUNICORN_", "DATABASE_URL", "REDIS_URL")


# -- the parts ---------------------------------------------------------------------------------


def procfile() -> dict[str, str]:
    """The Procfile's command lines by process name."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, colon, command = line.partition(":")
        if colon and not line.startswith("#"):
            commands[name.strip()] = command.strip()
    return commands


class Stack:
    """The Procfile's processes, each in a process group of its own (so a stop reaches
    gunicorn's and Celery's children too), their output appended to one log each."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.commands = procfile()
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        with open(self.logs / f"{name}.log", "ab") as out:
            self.running[name] = subprocess.Popen(
                ["bash", "-c", self.commands[name]],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, *names: str, timeout: float = 30) -> list[int]:
        """SIGTERM to each one's group (a warm shutdown), SIGKILL to what is left after
        ``timeout``; returns the exit statuses of the processes the Procfile lines started."""
        processes = [self.running.pop(name) for name in names]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
        return [process.wait() for process in processes]

    def check(self) -> None:
        """Fail at once, with its log, when a process has exited by itself."""
        for name, process in self.running.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode})\n{self.tails()}")

    def tails(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {log.stem}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in sorted(self.logs.glob("*.log"))
        )


def wait_until(what: str, probe: Callable[[], tuple[bool, object]], stack: Stack, timeout: float):
    """Poll ``probe`` (returning ``(done, state)``) until done; return the state. Fails
    with the last state and the logs after ``timeout`` seconds, or as soon as a process
    of the stack exits."""
    deadline = time.monotonic() + timeout
    while True:
        stack.check()
        done, state = probe()
        if done:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s; last {state}\n{stack.tails()}")
        time.sleep(0.25)


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, on the suite's server; dropped after."""
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    configured = db["NAME"].removeprefix("test_")  # the suite's test database may be set up
    name = os.environ.get("KARTRA_E2E_DATABASE") or f"test_{configured}_stack"
    server = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }

    def admin(sql: str) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # left by a killed run
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{name}"


@contextlib.contextmanager
def orm_on(name: str, django_db_blocker) -> Iterator[None]:
    """This process's models read the stack's database meanwhile (mirror_check's helpers
    use the default connection); the suite's own database is restored after."""
    conn = connections[DEFAULT_DB_ALIAS]
    saved = conn.settings_dict["NAME"]
    conn.close()
    conn.settings_dict["NAME"] = name
    try:
        with django_db_blocker.unblock():
            yield
    finally:
        conn.close()
        conn.settings_dict["NAME"] = saved


@pytest.fixture
def broker() -> Iterator[str]:
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    try:
        yield REDIS_URL
    finally:
        store.flushdb()
        store.close()


@pytest.fixture
def account() -> FakeAccount:
    return generate_account(40, seed=13, anchor=FAKE_ANCHOR)


@pytest.fixture
def fake(account) -> Iterator[FakeKartra]:
    with FakeKartra(account, rate_limit=20, **CREDENTIALS) as running:  # Kartra's own limit
        yield running


@pytest.fixture
def stack(database, broker, fake, tmp_path) -> Iterator[Stack]:
    port = free_port()
    static = tmp_path / "static"
    static.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(STACK_VARIABLES)}
    env = {
        **clean,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
        # gunicorn (25.1+) opens a control socket there, by default one per user, ~/.gunicorn
        "XDG_RUNTIME_DIR": str(tmp_path),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": database_url(database),
        "DJANGO_SECRET_KEY": "stack-test-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": str(static),  # nothing collected: no page of the admin is read
        "CELERY_BROKER_URL": broker,
        "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "celerybeat-schedule"),
        "KARTRA_REDIS_URL": broker,
        "KARTRA_API_URL": fake.base_url,
        "KARTRA_APP_ID": CREDENTIALS["app_id"],
        "KARTRA_API_KEY": CREDENTIALS["api_key"],
        "KARTRA_API_PASSWORD": CREDENTIALS["api_password"],
        "KARTRA_API_RATE": "18",
        "KARTRA_API_TIMEOUT": "5",
        "KARTRA_WEBHOOK_TOKENS": TOKEN,
        "KARTRA_DRAIN_SWEEP_INTERVAL": "1",
        "KARTRA_REFRESH_INTERVAL": "1",
        "KARTRA_CATALOG_SYNC_INTERVAL": "2",
        "KARTRA_HEALTH_MAX_DELIVERY_LAG": str(MAX_DELIVERY_LAG),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()
    parts = Stack(env, logs)
    try:
        for name in ("web", "worker", "beat"):
            parts.start(name)
        wait_until("gunicorn answers", lambda: _answers(parts.url), parts, timeout=60)
        yield parts
    finally:
        parts.stop(*parts.running)


def _answers(url: str) -> tuple[bool, object]:
    try:
        return True, httpx.get(f"{url}/healthz", timeout=5).status_code
    except httpx.HTTPError as exc:
        return False, exc


# -- what the test reads -------------------------------------------------------------------


def healthz(stack: Stack) -> tuple[int, dict]:
    response = httpx.get(f"{stack.url}/healthz", timeout=10)
    return response.status_code, response.json()


def settled(expected: int) -> tuple[bool, dict]:
    """Every delivery stored is out of ``received`` and every lead is refreshed with no
    refresh asked for since."""
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("pk")).order_by())
    awaiting = Lead.objects.filter(
        Q(mirror_refreshed_at__isnull=True) | Q(mirror_refresh_requested_at__isnull=False)
    ).count()
    done = (
        sum(statuses.values()) == expected
        and DeliveryStatus.RECEIVED not in statuses
        and awaiting == 0
    )
    return done, {"deliveries": statuses, "leads awaiting a refresh": awaiting}


def play(fake: FakeKartra, stack: Stack, events: int, seed: int) -> set[int]:
    """Post ``events`` of the fake's webhooks through gunicorn; returns their leads."""
    leads = set()
    url = f"{stack.url}/webhooks/kartra/{TOKEN}/"
    with httpx.Client(timeout=10) as http:
        for mutation, body in play_events(fake.account, events, seed=seed):
            response = post_webhook(url, body, client=http)
            assert (response.status_code, response.json()["status"]) == (200, "received")
            leads.add(mutation.lead_id)
    return leads


def assert_mirror_equals_fake(fake: FakeKartra, leads: set[int]) -> None:
    live = {lead.id for lead in fake.account.leads.values() if not lead.deleted}
    assert leads == live  # the stream reached every lead Kartra would send webhooks for
    assert set(Lead.objects.values_list("kartra_id", flat=True)) == live
    problems = [p for lead_id in sorted(live) for p in mismatches(fake.account, lead_id)]
    assert problems == [], "\n".join(problems[:40])


def assert_sync_runs_succeeded(
    fake: FakeKartra, *, kinds: tuple[str, ...], interrupted: frozenset[int] = frozenset()
) -> None:
    """Sync runs of each of ``kinds`` ran, and each run succeeded, except the runs
    ``interrupted`` by stopping the worker, which are marked aborted. A 429 now and then is
    no failure: the limiter counts calls when it grants them and Kartra when they arrive,
    so on a busy machine a late arrival can land in the next second's count; the client
    waits and tries again (``fake.throttled`` is in the message)."""
    runs = SyncRun.objects.exclude(status=SyncRunStatus.RUNNING)
    assert set(kinds) <= set(runs.values_list("kind", flat=True)), kinds
    aborted = runs.filter(status=SyncRunStatus.ABORTED).values_list("pk", flat=True)
    assert set(aborted) == set(interrupted)
    unsuccessful = runs.exclude(status__in=[SyncRunStatus.SUCCEEDED, SyncRunStatus.ABORTED])
    assert list(unsuccessful.values("pk", "kind", "status", "throttled", "errors")) == [], (
        f"the fake answered {fake.throttled} 429s"
    )


# -- the test ------------------------------------------------------------------------------


def test_the_procfile_stack_mirrors_the_account_and_reports_a_stopped_worker(
    stack, fake, database, django_db_blocker
):
    assert set(stack.commands) == {"web", "worker", "beat"}

    # Webhooks through gunicorn; the worker processes them, beat's refreshes pull every lead.
    leads = play(fake, stack, events=300, seed=17)
    with orm_on(database, django_db_blocker):
        state = wait_until("processed and refreshed", lambda: settled(300), stack, timeout=90)
        assert state["deliveries"] == {DeliveryStatus.PROCESSED: 300}
        assert_mirror_equals_fake(fake, leads)
        assert_sync_runs_succeeded(fake, kinds=("due",))  # beat drove the refreshes
    assert fake.calls["get_lead"] >= len(leads)
    status, report = healthz(stack)
    assert (status, report["failing"]) == (200, []), report
    assert report["checks"]["broker"]["configured"] is True

    # The worker stops: deliveries wait, and /healthz says so once they are late. Like
    # honcho (and systemd, and Heroku), the test signals the whole process group: the pool's
    # processes get SIGTERM too and die at once, so a task they were running is lost, and
    # its sync run is marked aborted (at once, or by the next run's sweep). Celery's main
    # process still makes a warm shutdown and exits 0.
    assert stack.stop("worker") == [0]
    with orm_on(database, django_db_blocker):
        cut_short = [SyncRunStatus.RUNNING, SyncRunStatus.ABORTED]
        interrupted = frozenset(
            SyncRun.objects.filter(status__in=cut_short).values_list("pk", flat=True)
        )
    leads |= play(fake, stack, events=30, seed=23)

    def failing() -> tuple[bool, object]:
        status, report = healthz(stack)
        return status == 503, (status, report)

    status, report = wait_until("/healthz fails", failing, stack, timeout=30)
    assert report["failing"] == ["deliveries"], report
    deliveries = report["checks"]["deliveries"]
    assert deliveries["waiting"] == 30 and deliveries["oldest_waiting_seconds"] > MAX_DELIVERY_LAG

    # The worker starts again: the deliveries are processed, /healthz is back to 200.
    stack.start("worker")

    def healthy() -> tuple[bool, object]:
        status, report = healthz(stack)
        return status == 200, (status, report)

    def recovered() -> tuple[bool, dict]:
        done, state = settled(330)
        left = SyncRun.objects.filter(pk__in=interrupted, status=SyncRunStatus.RUNNING)
        swept = not left.exists()  # by the first run of the new worker
        return done and swept, {**state, "interrupted runs swept": swept}

    status, report = wait_until("/healthz recovers", healthy, stack, timeout=60)
    with orm_on(database, django_db_blocker):
        state = wait_until("processed and refreshed again", recovered, stack, timeout=60)
        assert state["deliveries"] == {DeliveryStatus.PROCESSED: 330}
        assert_mirror_equals_fake(fake, leads)
        assert_sync_runs_succeeded(fake, kinds=("due", "catalog"), interrupted=interrupted)
