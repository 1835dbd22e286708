"""Storing in the request, processing afterwards: batches, retries, isolation of failures."""

import io
import logging
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.utils import timezone

from events import drain, services, views
from events.models import Activity, Delivery, DeliveryStatus
from events.services import deliveries_process_batch, delivery_store
from leads.models import Lead, LeadTag
from tests.payloads import body

from .conftest import TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings, monkeypatch):
    """Processing after the request; the wake-ups the view sends are recorded, not sent."""
    settings.KARTRA_PROCESS_INLINE = False
    wakeups = []
    monkeypatch.setattr(views, "deliveries_drain_soon", lambda: wakeups.append(1))
    return wakeups


def _stored(raw: bytes, *, seconds_ago: float = 0) -> Delivery:
    delivery = delivery_store(body=raw)
    if seconds_ago:
        Delivery.objects.filter(pk=delivery.pk).update(
            received_at=timezone.now() - timedelta(seconds=seconds_ago)
        )
    return delivery


# -- the request ------------------------------------------------------------------------------


def test_the_request_stores_with_one_insert_and_asks_for_processing(
    post, queued, django_assert_num_queries
):
    with django_assert_num_queries(1):
        response = post(body("assign_tag"))
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery": delivery.pk, "status": "received"}
    assert (delivery.status, delivery.action, delivery.lead_kartra_id) == (
        "received",
        "assign_tag",
        1,
    )
    assert queued == [1]
    assert Lead.objects.count() == 0

    assert deliveries_process_batch() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert LeadTag.objects.get().active is True


def test_a_body_that_is_not_an_event_is_refused_in_the_request_and_kept(post, queued):
    response = post(b'{"lead": {"id": "1"}}')
    assert response.status_code == 400
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.REJECTED
    assert delivery.error == response.json()["error"]
    assert queued == []
    assert deliveries_process_batch() == 0


UNREADABLE_LEAD_VALUES = {
    "score": ("abc", "lead.score: expected an integer (got 'abc')"),
    "date_joined": ("yesterday", "lead.date_joined: expected YYYY-MM-DD HH:MM:SS"),
    "custom_fields": ([{"field_type": "input_field"}], "lead.custom_fields[0]: custom field"),
}


@pytest.mark.parametrize("key", list(UNREADABLE_LEAD_VALUES))
def test_an_event_whose_lead_holds_an_unreadable_value_is_rejected_by_processing(post, queued, key):
    """The request reads a lead block no further than its id: an event with a value that
    cannot be read is acknowledged, then processing rejects it with the reason."""
    value, reason = UNREADABLE_LEAD_VALUES[key]
    raw = body("assign_tag", **{key: value})
    response = post(raw)
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.action, delivery.lead_kartra_id) == (
        DeliveryStatus.RECEIVED,
        "assign_tag",
        1,
    )
    assert queued == [1]

    assert deliveries_process_batch() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.REJECTED
    assert delivery.error.startswith(reason)
    assert bytes(delivery.body) == raw
    assert (Lead.objects.count(), LeadTag.objects.count(), Activity.objects.count()) == (0, 0, 0)


def _webhook_request(raw: bytes, **meta):
    request = RequestFactory().generic(
        "POST", f"/webhooks/kartra/{TOKEN}/", data=b"", content_type="application/json"
    )
    request.META.pop("CONTENT_LENGTH", None)
    request.META.update({"wsgi.input": io.BytesIO(raw), **meta})
    return request


def test_a_chunked_body_decoded_by_the_server_is_stored_whole(queued):
    raw = body("assign_tag")
    request = _webhook_request(
        raw, HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input_terminated": True}
    )
    response = views.KartraWebhookView.as_view()(request, token=TOKEN)
    assert response.status_code == 200
    assert bytes(Delivery.objects.get().body) == raw


def test_a_chunked_body_the_server_cannot_decode_is_refused_with_411(queued):
    request = _webhook_request(body("assign_tag"), HTTP_TRANSFER_ENCODING="chunked")
    response = views.KartraWebhookView.as_view()(request, token=TOKEN)
    assert response.status_code == 411
    assert b"Content-Length" in response.content


def test_a_chunked_body_over_the_limit_is_413(queued, settings):
    settings.KARTRA_WEBHOOK_MAX_BYTES = 100
    request = _webhook_request(
        body("assign_tag"), HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input_terminated": True}
    )
    response = views.KartraWebhookView.as_view()(request, token=TOKEN)
    assert response.status_code == 413
    assert Delivery.objects.get().size == 101


def test_a_nul_byte_in_a_header_is_stored_replaced(client, queued):
    response = client.post(
        f"/webhooks/kartra/{TOKEN}/",
        data=body("assign_tag"),
        content_type="application/json",
        HTTP_USER_AGENT="Kartra\x00bot",
    )
    assert response.status_code == 200
    assert Delivery.objects.get().headers["User-Agent"] == "Kartra\ufffdbot"


def test_the_webhook_token_never_reaches_a_log_line(client, post, settings):
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        client.post("/webhooks/kartra/wrong-secret-token/", data=b"{}", content_type="x/y")
        post(b"not json")  # 400
        logging.getLogger("django.server").info('"POST /webhooks/kartra/%s/ HTTP/1.1" 200', TOKEN)
    finally:
        handler.setStream(old)
    logged = stream.getvalue()
    assert "/webhooks/kartra/<token>/" in logged
    assert "wrong-secret-token" not in logged
    assert TOKEN not in logged


def _served(raw: bytes) -> tuple[str, bytes]:
    """POST ``raw`` through the WSGI application as a server calls it (with the
    ``request_started`` signal that resets Django's health check, which the test client
    leaves out); the status line and the body answered."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/webhooks/kartra/{TOKEN}/",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "https",
        "wsgi.errors": io.StringIO(),
    }
    answered = []
    chunks = WSGIHandler()(environ, lambda status, headers: answered.append(status))
    try:
        return answered[0], b"".join(chunks)
    finally:
        chunks.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_request_sends_one_statement_with_no_health_check_ahead(queued, monkeypatch):
    """Django's CONN_HEALTH_CHECKS would send a SELECT 1 before the request's first
    statement: a second round trip for a request that is one INSERT."""
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    checks = []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real())
    for _ in range(3):
        status, _ = _served(body("assign_tag"))
        assert status == "200 OK"
    assert checks == []
    assert Delivery.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_database_dropped_is_replaced_within_the_request(queued):
    """A database restarted since the connection's last statement: the INSERT finds the
    connection dead and is sent again on a new one; the sender sees a 200, stored once."""
    status, _ = _served(body("assign_tag", lead_id=1))
    assert status == "200 OK"
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        pid = connection.connection.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    status, answer = _served(body("assign_tag", lead_id=2))
    assert status == "200 OK", answer
    assert sorted(Delivery.objects.values_list("lead_kartra_id", flat=True)) == [1, 2]
    assert connection.connection.info.backend_pid != pid


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_error_on_a_live_connection_is_not_sent_again(queued, monkeypatch):
    """Only a dead connection is replaced: any other database error answers 503 at once,
    having sent the INSERT once."""
    sent = []

    def refuse(execute, sql, params, many, context):
        sent.append(sql)
        raise OperationalError("canceling statement due to statement timeout")

    with connection.execute_wrapper(refuse):
        status, answer = _served(body("assign_tag"))
    assert status.startswith("503")
    assert len([sql for sql in sent if sql.startswith("INSERT")]) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_that_does_not_answer_is_tried_once(queued, monkeypatch):
    """No connection to be had (the database down): one attempt, then 503, not two."""
    connection.close()
    attempts = []

    def refused(*args, **kwargs):
        attempts.append(1)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(connection, "get_new_connection", refused)
    status, _ = _served(body("assign_tag"))
    assert status.startswith("503")
    assert attempts == [1]


def _admin_url() -> str:
    """A psycopg URL of the test database, for a second, independent connection."""
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgresql://{settings['USER']}@{host}:{port}/{settings['NAME']}"


# -- batches ----------------------------------------------------------------------------------


def test_a_batch_applies_in_receive_order_and_flags_duplicates():
    assign = body("assign_tag")
    _stored(body("unassign_tag"), seconds_ago=5)
    first = _stored(assign, seconds_ago=10)
    second = _stored(assign, seconds_ago=9)

    assert deliveries_process_batch() == 3
    assert LeadTag.objects.get().active is False  # the unassign was received last
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.probable_duplicate_of is None
    assert second.probable_duplicate_of == first
    assert Activity.objects.get(delivery=second).probable_duplicate is True
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_an_identical_body_outside_the_window_is_not_a_duplicate(settings):
    settings.KARTRA_DUPLICATE_WINDOW = 60
    raw = body("assign_tag")
    _stored(raw, seconds_ago=100)
    later = _stored(raw, seconds_ago=30)
    assert deliveries_process_batch() == 2
    later.refresh_from_db()
    assert later.probable_duplicate_of is None


def test_batches_take_at_most_their_size_oldest_first():
    ids = [_stored(body("assign_tag", lead_id=n), seconds_ago=100 - n).pk for n in range(5)]
    assert deliveries_process_batch(limit=2) == 2
    done = Delivery.objects.exclude(status=DeliveryStatus.RECEIVED)
    assert sorted(done.values_list("pk", flat=True)) == ids[:2]
    assert drain.deliveries_drain() == 3
    assert deliveries_process_batch() == 0


def test_a_failing_delivery_fails_alone_and_leaves_no_trace(monkeypatch):
    from events import appliers

    real = appliers.APPLIERS["assign_tag"]

    def fragile(event, observation, changes):
        if event.lead.kartra_id == 2:
            raise RuntimeError("applier exploded")
        return real(event, observation, changes)

    monkeypatch.setitem(appliers.APPLIERS, "assign_tag", fragile)
    for n in (1, 2, 3):
        _stored(body("assign_tag", lead_id=n), seconds_ago=10 - n)

    assert deliveries_process_batch() == 3
    statuses = dict(Delivery.objects.values_list("lead_kartra_id", "status"))
    assert statuses == {1: "processed", 2: "failed", 3: "processed"}
    failed = Delivery.objects.get(lead_kartra_id=2)
    assert failed.error == "RuntimeError: applier exploded"
    assert "Traceback" in failed.traceback
    assert sorted(Lead.objects.values_list("kartra_id", flat=True)) == [1, 3]


def test_a_bug_outside_any_delivery_is_isolated_one_delivery_at_a_time(monkeypatch):
    real = services.leads_lock_available

    def fragile(*, emails_by_id, **options):
        if 2 in emails_by_id:
            raise ValueError("lock step exploded")
        return real(emails_by_id=emails_by_id, **options)

    monkeypatch.setattr(services, "leads_lock_available", fragile)
    for n in (1, 2, 3):
        _stored(body("assign_tag", lead_id=n), seconds_ago=10 - n)

    assert deliveries_process_batch() == 3
    statuses = dict(Delivery.objects.values_list("lead_kartra_id", "status"))
    assert statuses == {1: "processed", 2: "failed", 3: "processed"}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert "lock step exploded" in Delivery.objects.get(lead_kartra_id=2).traceback


def test_one_at_a_time_the_leads_are_locked_in_kartra_id_order(monkeypatch):
    """As a whole batch locks them, so that a batch isolating a failure never waits for a
    batch that waits for it."""
    real, locked = services.leads_lock_available, []

    def recording(*, emails_by_id, **options):
        if len(emails_by_id) > 1:
            raise ValueError("batch step exploded")
        locked.extend(emails_by_id)
        return real(emails_by_id=emails_by_id, **options)

    monkeypatch.setattr(services, "leads_lock_available", recording)
    for n, lead_id in enumerate((30, 10, 20, 10)):
        _stored(body("assign_tag", lead_id=lead_id), seconds_ago=10 - n)

    assert deliveries_process_batch() == 4
    assert locked == [10, 10, 20, 30]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"processed"}


def test_a_database_failure_rolls_the_batch_back_and_is_retried(monkeypatch):
    from events import appliers

    real = appliers.APPLIERS["assign_tag"]
    failures = iter([OperationalError("deadlock detected"), OperationalError("server closed")])

    def flaky(event, observation, changes):
        exc = next(failures, None)
        if exc is not None:
            raise exc
        return real(event, observation, changes)

    monkeypatch.setattr(connection, "close", lambda: None)  # keep the test's transaction
    monkeypatch.setitem(appliers.APPLIERS, "assign_tag", flaky)
    _stored(body("list_subscription", lead_id=1), seconds_ago=2)
    _stored(body("assign_tag", lead_id=2), seconds_ago=1)

    with pytest.raises(OperationalError):
        deliveries_process_batch()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"received"}
    assert Lead.objects.count() == 0

    assert drain.deliveries_drain(give_up_after=30) == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {"processed"}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_database_down_for_longer_than_the_patience_is_raised(monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(drain, "deliveries_process_batch", down)
    monkeypatch.setattr(connection, "close", lambda: None)
    started = time.monotonic()
    with pytest.raises(OperationalError):
        drain.deliveries_drain(give_up_after=0.5)
    assert time.monotonic() - started < 10


# -- who drains -------------------------------------------------------------------------------


# SQLite's in-memory test database locks whole tables across threads without waiting, so
# this runs on PostgreSQL; a file database (bin/run) waits for its lock instead.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_embedded_drainer_processes_what_the_requests_stored(client, settings):
    settings.KARTRA_PROCESS_INLINE = False
    settings.CELERY_BROKER_URL = ""
    settings.KARTRA_DRAIN_SWEEP_INTERVAL = 60
    try:
        for n in range(1, 6):
            response = client.post(
                f"/webhooks/kartra/{TOKEN}/",
                data=body("assign_tag", lead_id=n),
                content_type="application/json",
            )
            assert response.json()["status"] == "received"
        assert _wait_until_processed(count=5)
    finally:
        drain.DeliveryDrainer.shutdown()
    assert LeadTag.objects.filter(active=True).count() == 5


def _wait_until_processed(*, count: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = Delivery.objects.filter(status=DeliveryStatus.PROCESSED).count()
        if done == count:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_celery_workers_drain_what_the_requests_stored(client, settings):
    """A real worker on Redis: requests ask for drains (coalesced through the flag) and the
    worker applies every delivery."""
    from celery.contrib.testing.worker import start_worker

    from kartra_mirror.celery import app
    from tests.conftest import redis_url

    settings.KARTRA_PROCESS_INLINE = False
    settings.CELERY_BROKER_URL = redis_url()
    settings.KARTRA_REDIS_URL = redis_url()
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis_url(), task_always_eager=False)
    drain.redis_store().delete(drain.DRAIN_FLAG)
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False):
            for n in range(40):
                client.post(
                    f"/webhooks/kartra/{TOKEN}/",
                    data=body("assign_tag" if n % 2 else "list_subscription", lead_id=n % 7 + 1),
                    content_type="application/json",
                )
            assert _wait_until_processed(count=40)
    finally:
        app.conf.update(saved)
        assert Delivery.objects.filter(attempts=1).count() == 40
    assert Lead.objects.count() == 7


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("leads", [1, 4])
def test_concurrent_drainers_share_the_work_without_overlap_or_deadlock(settings, leads):
    """Four drainers, small batches, 240 deliveries of one lead or of four leads, two of
    which trade emails back and forth."""
    settings.KARTRA_DELIVERY_BATCH = 10
    raws = []
    for n in range(240):
        lead_id = n % leads + 1
        swapped = leads > 1 and (n // 40) % 2 == 1
        email = {1: "two", 2: "one"}.get(lead_id) if swapped else None
        overrides = {"email": f"lead{email}@example.com"} if email else {}
        action = ("assign_tag", "unassign_tag", "list_subscription", "buy_product")[n % 4]
        raws.append(body(action, lead_id=lead_id, first_name=f"name-{n}", **overrides))
    base = timezone.now() - timedelta(seconds=1000)
    for n, raw in enumerate(raws):
        delivery = delivery_store(body=raw)
        Delivery.objects.filter(pk=delivery.pk).update(received_at=base + timedelta(seconds=n))

    errors = []

    def work():
        try:
            drain.deliveries_drain(give_up_after=60)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"processed"}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert Lead.objects.count() == leads
    last = {n % leads + 1: n for n in range(240)}  # each lead's newest delivery
    state = {k: (first, email) for k, first, email in Lead.objects.values_list(
        "kartra_id", "first_name", "email")}  # fmt: skip
    expected = {
        k: (f"name-{n}", f"lead{k}@example.com" if leads == 1 or k > 2 else None)
        for k, n in last.items()
    }
    if leads > 1:  # the last forty deliveries had leads 1 and 2 swapped
        expected[1] = (expected[1][0], "leadtwo@example.com")
        expected[2] = (expected[2][0], "leadone@example.com")
    assert state == expected
