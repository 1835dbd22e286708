"""``FakeKartra``: Kartra's inbound API as a real HTTP server on loopback.

It follows the docs, quirks included (``kartra-facts.md``, 002 and 003 docs): one ``POST /api``
endpoint reading a PHP-bracket form body; every answer HTTP 200 JSON, errors included, with the
error ``type`` as a string; slashes escaped as PHP's ``json_encode`` does; HTTP 429 with a
plain-text body past 20 calls per rolling second per ``app_id``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx

from .account import FakeAccount
from .generate import generate_account
from .phpform import php_form_decode
from .render import catalogue_custom_fields, catalogue_pages, lead_details

Fault = Literal["500", "502", "timeout", "garbage", "429"]
SECRET_FIELDS = frozenset({"api_key", "api_password"})
# Kartra does not document the type for an unknown cmd; the fake uses this one.
UNKNOWN_COMMAND_TYPE = "256"
_ERRORS = {
    "202": "API key is empty",
    "203": "API key is invalid",
    "206": "Email or ID required",
    "233": "API password is invalid",
    "234": "No lead found",
    "238": "App ID is empty",
    "239": "App ID is invalid",
    "245": "Lead is deleted",
    "254": "cmd is required",
    UNKNOWN_COMMAND_TYPE: "Unknown cmd",
}


@dataclass
class RecordedRequest:
    """One request as the fake saw it; ``api_key``/``api_password`` values are redacted."""

    method: str
    path: str
    content_type: str
    fields: list[tuple[str, str]]
    command: str
    status: int
    #: When the request arrived (``time.time()``, comparable across processes); the rate
    #: window counts the request at this instant.
    at: float = 0.0

    def field(self, name: str) -> str | None:
        """The value of one form field (last one wins, as in PHP)."""
        values = [value for key, value in self.fields if key == name]
        return values[-1] if values else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        status, ctype, body, delay = self.server.fake.answer(self.path, content_type, raw)
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout fault)

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: tests read the fake's request log instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeKartra


class FakeKartra:
    """A running fake of Kartra's inbound API over a :class:`FakeAccount`.

    Counters: ``calls`` (Counter per command: ``get_lead``, ``retrieve_account_tags``, ...),
    ``throttled`` (HTTP 429s served, injected ones included) and ``requests`` (the log).
    """

    def __init__(
        self,
        account: FakeAccount | None = None,
        *,
        app_id: str = "fake-app-id",
        api_key: str = "fake-api-key",
        api_password: str = "fake-api-password",
        rate_limit: int = 20,
        rate_window: float = 1.0,
        timeout_sleep: float = 1.0,
        pages_shape: Literal["dicts", "names"] = "dicts",
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/api",
    ) -> None:
        self.account = account if account is not None else generate_account(20, seed=1)
        self.app_id, self.api_key, self.api_password = app_id, api_key, api_password
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.timeout_sleep = timeout_sleep
        self.pages_shape = pages_shape
        self.path = path
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.requests: list[RecordedRequest] = []

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a background thread; return the base URL (``.../api``)."""
        if self._server is None:
            self._server = _Server(self._address, _Handler)
            self._server.fake = self
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-kartra",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeKartra:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api`` once started."""
        if self._server is None:
            raise RuntimeError("FakeKartra is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    # -- test controls ----------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults, consumed one per request: ``"500"`` (an HTML error page), ``"502"``
        (an empty body, as a gateway gives), ``"timeout"`` (answer after ``timeout_sleep``
        seconds), ``"garbage"`` (non-JSON 200) or ``"429"``."""
        with self._lock:
            for fault in faults:
                if fault not in ("500", "502", "timeout", "garbage", "429"):
                    raise ValueError(f"unknown fault {fault!r}")
                self._faults.append(fault)

    def reset(self) -> None:
        """Clear counters, the request log, queued faults and rate windows."""
        with self._lock:
            self._faults.clear()
            self._windows.clear()
            self.calls.clear()
            self.throttled = 0
            self.requests.clear()

    # -- answering --------------------------------------------------------------------------

    def answer(self, path: str, content_type: str, raw: bytes) -> tuple[int, str, bytes, float]:
        """Answer one POST: ``(status, content type, body, seconds to wait first)``."""
        arrived = time.time()
        # PHP fills $_POST only for form bodies; anything else reads as an empty form.
        pairs: list[tuple[str, str]] = []
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        form = php_form_decode(pairs)
        command = _command_name(form)
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            self.calls[command] += 1
        status, ctype, body, delay = self._respond(path, form, fault, arrived)
        recorded = [(k, "<redacted>" if k in SECRET_FIELDS else v) for k, v in pairs]
        with self._lock:
            if status == 429:
                self.throttled += 1
            self.requests.append(
                RecordedRequest("POST", path, content_type, recorded, command, status, arrived)
            )
        return status, ctype, body, delay

    def _respond(self, path: str, form: dict, fault: Fault | None, arrived: float):
        if path.split("?")[0].rstrip("/") != self.path:
            return 404, "text/plain", b"Not Found", 0.0
        if fault == "500":
            return 500, "text/html", b"<h1>500 Internal Server Error</h1>", 0.0
        if fault == "502":
            return 502, "text/plain", b"", 0.0
        if fault == "garbage":
            return 200, "text/html", b"<html><body>Maintenance</body></html>", 0.0
        if fault == "429" or self._over_limit(str(form.get("app_id", "")), arrived):
            return 429, "text/plain", b"Too many requests", 0.0
        payload = self._payload(form)
        body = json.dumps(payload).replace("/", "\\/").encode()  # PHP escapes slashes
        delay = self.timeout_sleep if fault == "timeout" else 0.0
        return 200, "application/json", body, delay

    def _over_limit(self, app_id: str, now: float) -> bool:
        """Whether ``app_id`` already made ``rate_limit`` calls in the rolling window before
        ``now`` (the call's arrival); if not, the call is counted."""
        with self._lock:
            window = self._windows[app_id]
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            if len(window) >= self.rate_limit:
                return True
            window.append(now)
            return False

    def _payload(self, form: dict) -> dict[str, Any]:
        for name, value, empty, wrong in (
            ("api_key", self.api_key, "202", "203"),
            ("api_password", self.api_password, "233", "233"),
            ("app_id", self.app_id, "238", "239"),
        ):
            given = form.get(name)
            if not isinstance(given, str) or not given:
                return _error(empty)
            if given != value:
                return _error(wrong)
        query = form.get("get_lead")
        if isinstance(query, dict):
            return self._get_lead(query)
        actions = form.get("actions")
        if not isinstance(actions, dict) or not actions:
            return _error("254")
        answer: dict[str, Any] = {"status": "Success"}
        for key in sorted(actions, key=lambda k: int(k) if k.isdigit() else 0):
            action = actions[key]
            cmd = action.get("cmd") if isinstance(action, dict) else None
            if not cmd:
                return _error("254")
            handler = self._catalogue.get(cmd)
            if handler is None:
                return _error(UNKNOWN_COMMAND_TYPE)
            with self.account.lock:
                answer.update(handler(self))
        return answer

    def _get_lead(self, query: dict) -> dict[str, Any]:
        lead_id, email = query.get("id"), query.get("email")
        if not lead_id and not email:
            return _error("206")
        with self.account.lock:
            lead = self.account.find_lead(lead_id=lead_id, email=email)
            if lead is None:
                return _error("234")
            if lead.deleted:
                return _error("245")
            return {"status": "Success", "lead_details": lead_details(self.account, lead)}

    _catalogue = {
        "retrieve_account_tags": lambda s: {
            "account_tags": [t.name for t in s.account.tags.values()]
        },
        "retrieve_account_lists": lambda s: {
            "account_lists": [x.name for x in s.account.lists.values()]
        },
        "retrieve_account_sequences": lambda s: {
            "account_sequences": [x.name for x in s.account.sequences.values()]
        },
        "retrieve_custom_fields": lambda s: {"custom_fields": catalogue_custom_fields(s.account)},
        "retrieve_account_pages": lambda s: {
            "account_pages": catalogue_pages(s.account, s.pages_shape)
        },
    }


def _error(type_code: str) -> dict[str, str]:
    return {"status": "Error", "message": _ERRORS[type_code], "type": type_code}


def _command_name(form: dict) -> str:
    if isinstance(form.get("get_lead"), dict):
        return "get_lead"
    actions = form.get("actions")
    if isinstance(actions, dict):
        first = actions.get("0") or next(iter(actions.values()), None)
        if isinstance(first, dict) and first.get("cmd"):
            return str(first["cmd"])
    return "unknown"


def post_webhook(
    url: str,
    body: dict[str, Any] | bytes | str,
    *,
    client: Any = None,
    content_type: str = "application/json",
) -> Any:
    """POST a webhook body as raw JSON bytes, as Kartra's outbound API does.

    ``client`` may be an ``httpx.Client`` (or None: a one-off httpx request) or a Django test
    ``Client`` (``url`` is then a path); the response of that client is returned. Kartra's
    Content-Type is undocumented; pass another ``content_type`` to test tolerance.
    """
    raw = (
        body
        if isinstance(body, bytes)
        else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    )
    if client is None:
        return httpx.post(url, content=raw, headers={"Content-Type": content_type}, timeout=10)
    if isinstance(client, httpx.Client):
        return client.post(url, content=raw, headers={"Content-Type": content_type})
    return client.post(url, data=raw, content_type=content_type)
