"""The Celery wake-up path: the Redis flag and the per-process memo of ``_request_drain_task``."""

import threading
import time
from types import SimpleNamespace

import pytest

from events import drain, tasks
from events.models import Delivery, DeliveryStatus
from events.services import delivery_store
from tests.payloads import body

pytestmark = pytest.mark.django_db


class FakeFlagStore:
    def __init__(self):
        self.values = {}

    def set(self, key, value, nx=False, ex=None):
        if nx and key in self.values:
            return None
        self.values[key] = value
        return True

    def delete(self, key):
        self.values.pop(key, None)


def test_a_delivery_stored_right_after_a_full_batch_pass_is_asked_for(settings, monkeypatch):
    """A request may skip the flag check for LINGER/2 after it saw the flag raised, because
    the drain ends only with a pass that lingered and then found nothing. A delivery a
    request of the same process stores right after a pass that claimed a full batch is
    processed by that drain, or a pass is asked for it."""
    # An embedded drainer thread another test may have started must not run our hook.
    drain.DeliveryDrainer.shutdown()
    settings.CELERY_BROKER_URL = "redis://fake"
    settings.KARTRA_DRAIN_LINGER = 1.0  # default 0.2: the same with a 0.1 s window
    settings.KARTRA_DELIVERY_BATCH = 2
    store = FakeFlagStore()
    monkeypatch.setattr(drain, "redis_store", lambda: store)
    monkeypatch.setattr(drain, "_asked_at", float("-inf"))
    sent = []
    monkeypatch.setattr(tasks.drain_deliveries, "delay", lambda: sent.append(1))

    # Another web process stored d0, raised the flag and sent task T.
    delivery_store(body=body("assign_tag", lead_id=1))
    drain._request_drain_task()
    assert sent == [1]

    # T runs. At the end of its linger, a request of *this* process stores d1 and sees
    # the flag still raised: no task, memo set.
    test_thread = threading.current_thread()
    hooked = []

    def linger(seconds):
        if threading.current_thread() is not test_thread or hooked:
            return time.sleep(seconds)
        hooked.append(1)
        delivery_store(body=body("assign_tag", lead_id=2))
        drain._request_drain_task()

    # Only drain's own reference to ``time`` is replaced, never the global time.sleep.
    monkeypatch.setattr(drain, "time", SimpleNamespace(sleep=linger, monotonic=time.monotonic))
    monkeypatch.setattr(drain, "_asked_at", float("-inf"))  # "this" process starts fresh
    assert drain.deliveries_drain() == 2  # one full batch (d0, d1), then an empty claim

    # Right after T returned, the next request of this process stores d2.
    d2 = delivery_store(body=body("assign_tag", lead_id=3))
    drain._request_drain_task()

    asked = len(sent) > 1 or drain.DRAIN_FLAG in store.values
    assert Delivery.objects.get(pk=d2.pk).status == DeliveryStatus.RECEIVED
    assert asked, "d2 is stored, no pass is running and none is asked for"
