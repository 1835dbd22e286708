"""Two drainers (gunicorn workers' threads, Celery workers) applying, at the same time,
deliveries of two different leads that take the same email."""

import threading

import pytest
from django.db import connection

from events.models import Delivery, DeliveryStatus
from events.services import deliveries_process_batch
from leads.models import Lead
from leads.services import lead as lead_service
from tests.payloads import body

from ._helpers import at, store


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_batches_of_one_giving_one_email_to_two_leads_fail_nothing(monkeypatch):
    """Lead 1 had e@ (received at t2), lead 2 has it now (t3): Kartra moved the address. Two
    batches of one delivery each, applied at the same time, both end processed: the one
    that meets the other's committed email on the unique index is tried again, locks the
    new holder and clears it there."""
    store(body("assign_tag", lead_id=1, email="one@example.com"), at(0))
    store(body("assign_tag", lead_id=2, email="two@example.com"), at(1))
    assert deliveries_process_batch() == 2
    store(body("assign_tag", lead_id=1, email="e@example.com"), at(2))
    store(body("assign_tag", lead_id=2, email="e@example.com"), at(3))

    barrier = threading.Barrier(2, timeout=10)
    real = lead_service._release_emails
    first = threading.local()

    def release_then_meet(*args, **kwargs):
        real(*args, **kwargs)
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait()

    monkeypatch.setattr(lead_service, "_release_emails", release_then_meet)
    errors = []

    def work():
        try:
            deliveries_process_batch(limit=1)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    outcome = list(Delivery.objects.order_by("pk").values_list("status", "error"))[2:]
    assert [s for s, _ in outcome] == [DeliveryStatus.PROCESSED] * 2, outcome
    assert Lead.objects.filter(email="e@example.com").count() == 1
