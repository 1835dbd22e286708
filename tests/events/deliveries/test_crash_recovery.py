"""PostgreSQL crashes in the middle of a load: no acknowledged delivery is lost, and every
stored delivery is processed within a minute of the database returning, with nobody running
a command.

Real parts: a PostgreSQL cluster of the test's own (``pg_createcluster`` on a free port, so
the shared one is never touched), gunicorn serving the project with the embedded drainer,
and HTTP over loopback.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port
from tests.payloads import body

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "crash-test-token-0123456789"
VERSION = "15"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        shutil.which("pg_createcluster") is None or os.geteuid() != 0,
        reason="needs Debian's postgresql-common (pg_createcluster) and root",
    ),
]


def _cluster_ctl(name: str, action: str, *extra: str) -> None:
    subprocess.run(["pg_ctlcluster", VERSION, name, action, *extra], check=True, timeout=60)


@pytest.fixture
def cluster():
    """A PostgreSQL cluster of this test's own, dropped afterwards."""
    port = free_port()
    name = f"crashtest{port}"
    subprocess.run(
        ["pg_createcluster", VERSION, name, "-p", str(port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        _cluster_ctl(name, "start")
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE kartra_crash")
        yield name, f"postgres://postgres@127.0.0.1:{port}/kartra_crash"
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", VERSION, name], capture_output=True, timeout=120
        )


@pytest.fixture
def server(cluster, tmp_path):
    """gunicorn (2 workers) on the cluster, with no broker: each worker drains in a thread
    and sweeps every 2 s."""
    _, url = cluster
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KARTRA_WEBHOOK_TOKENS": TOKEN,
        "KARTRA_PROCESS_INLINE": "0",
        "KARTRA_DRAIN_SWEEP_INTERVAL": "2",
        "CELERY_BROKER_URL": "",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "kartra_mirror.settings",
    }
    env.pop("CI", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, timeout=300)
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kartra_mirror.wsgi:application", "--workers", "2",
         "--bind", f"127.0.0.1:{port}", "--timeout", "30", "--chdir", str(ROOT)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.head(f"{base}/webhooks/kartra/{TOKEN}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(
                f"gunicorn did not start: {(tmp_path / 'gunicorn.log').read_text()}"
            )
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_a_crash_loses_no_acknowledged_delivery_and_processing_resumes_by_itself(cluster, server):
    name, url = cluster
    acknowledged: list[int] = []
    answers: list[tuple[float, int]] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(timeout=10) as http:
            n = 0
            while not stop.is_set():
                n += 1
                raw = body(
                    "assign_tag", lead_id=worker * 1000 + n % 40, first_name=f"w{worker}n{n}"
                )
                try:
                    response = http.post(f"{server}/webhooks/kartra/{TOKEN}/", content=raw)
                except httpx.HTTPError:
                    continue  # the connection broke: not acknowledged
                answers.append((time.monotonic(), response.status_code))
                if response.status_code == 200:
                    acknowledged.append(response.json()["delivery"])

    threads = [threading.Thread(target=load, args=(w,)) for w in (1, 2, 3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        before = len(acknowledged)
        crashed_at = time.monotonic()
        _cluster_ctl(name, "stop", "-m", "immediate")  # a crash: no shutdown checkpoint
        time.sleep(2)
        _cluster_ctl(name, "start")
        back_at = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert before > 0 and len(acknowledged) > before  # load before and after the crash

    # Every answer after the database is back is a 200: a stale connection costs no 500.
    assert [code for at, code in answers if at > back_at + 0.5 and code != 200] == []
    assert {code for at, code in answers if at < crashed_at} == {200}
    assert 503 in {code for at, code in answers if crashed_at < at < back_at}  # it was down
    assert 500 not in {code for _, code in answers}

    deadline = back_at + 60
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        while True:
            stored = dict(
                db.execute(
                    "SELECT id, status FROM events_delivery WHERE id = ANY(%s)", [acknowledged]
                ).fetchall()
            )
            waiting = [pk for pk, status in stored.items() if status == "received"]
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert sorted(set(acknowledged) - set(stored)) == []  # none lost
    assert waiting == []  # all processed within a minute, by themselves
    assert set(stored.values()) == {"processed"}
