"""The production web process, for real: gunicorn with the repository's gunicorn.conf.py and
debug off, static files collected and served by WhiteNoise, webhook senders that stall,
access lines without the webhook token, and JSON logs.

The server runs on a SQLite file of its own (migrated by ``manage.py`` in a subprocess), so
these tests run the same on either database of the suite.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.payloads import body

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "production-test-token-4f9a"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KARTRA_"))}
    return {
        **clean,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": "production-test-" + "s" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "CELERY_BROKER_URL": "",
        "KARTRA_WEBHOOK_TOKENS": TOKEN,
        "KARTRA_WEBHOOK_READ_TIMEOUT": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Server:
    def __init__(self, tmp: Path, **extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"gunicorn-{self.port}.log"
        self.env = _env(tmp, PORT=str(self.port), **extra)
        for command in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=self.env,
                check=True,
                capture_output=True,
                timeout=180,
            )

    def __enter__(self) -> "Server":
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                ["gunicorn", "kartra_mirror.wsgi", "--config", "gunicorn.conf.py"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _webhook(base: str) -> str:
    return f"{base}/webhooks/kartra/{TOKEN}/"


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path, WEB_CONCURRENCY="1", GUNICORN_THREADS="4") as running:
        yield running


def test_admin_css_is_served_hashed_compressed_and_cached(server):
    page = httpx.get(f"{server.url}/admin/login/", timeout=10)
    assert page.status_code == 200
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
    assert css, "the login page links the hashed stylesheet"
    response = httpx.get(server.url + css.group(1), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert "--body-bg" in response.text  # Django's admin stylesheet, decompressed
    own = httpx.get(f"{server.url}/static/kartra_admin/admin.css")
    assert own.status_code == 200  # the unhashed name still answers


def test_stalled_senders_do_not_stop_deliveries_and_are_let_go(server):
    """Two clients announce a body and stop sending; meanwhile deliveries are answered, and
    after KARTRA_WEBHOOK_READ_TIMEOUT (1 s here) each stalled client gets 408."""
    stalled = []
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(
            f"POST /webhooks/kartra/{TOKEN}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{".encode()
        )
        stalled.append(sock)
    time.sleep(0.3)  # both are inside the server, each holding a thread
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(
                lambda n: (
                    httpx.post(
                        _webhook(server.url),
                        content=body("assign_tag", lead_id=n % 3 + 1),
                        headers={"Content-Type": "application/json"},
                        timeout=10,
                    ).status_code
                ),
                range(20),
            )
        )
    assert statuses == [200] * 20
    for sock in stalled:
        answer = sock.recv(4096).decode()
        sock.close()
        assert answer.startswith("HTTP/1.1 408"), answer
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_access_lines_never_show_the_webhook_token(server):
    httpx.post(_webhook(server.url), content=body("assign_tag"), timeout=10)
    httpx.post(f"{server.url}/webhooks/kartra/not-a-token-xyz/", content=b"{}", timeout=10)
    httpx.get(f"{server.url}/healthz", timeout=10)
    time.sleep(0.5)
    logged = server.output()
    assert '"POST /webhooks/kartra/<token>/ HTTP/1.1" 200' in logged
    assert '"POST /webhooks/kartra/<token>/ HTTP/1.1" 404' in logged
    assert "GET /healthz" in logged
    assert TOKEN not in logged and "not-a-token-xyz" not in logged


def test_json_logs_put_every_line_of_the_web_process_in_json(tmp_path):
    with Server(tmp_path, DJANGO_LOG_FORMAT="json", WEB_CONCURRENCY="1") as server:
        httpx.post(_webhook(server.url), content=body("assign_tag"), timeout=10)
        httpx.post(_webhook(server.url), content=b"not json", timeout=10)
        time.sleep(0.5)
        lines = [line for line in server.output().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    assert {"time", "level", "logger", "message"} <= set(records[0])
    loggers = {record["logger"] for record in records}
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= loggers
    access = [r["message"] for r in records if r["logger"] == "gunicorn.access"]
    assert any("/webhooks/kartra/<token>/" in message for message in access)
    assert TOKEN not in "\n".join(lines)
