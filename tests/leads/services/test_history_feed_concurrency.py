"""The change feed read while batches commit in any order (PostgreSQL): a reader that
resumes from its last cursor neither skips nor repeats a change."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from events.drain import deliveries_drain
from events.models import Delivery, DeliveryStatus
from events.services import deliveries_process_batch, delivery_store
from leads.models import Change
from tests.payloads import body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def read_after(after: int, limit: int = 7) -> list[int]:
    """One page of the feed as the API reads it (``FeedPagination``)."""
    return list(
        Change.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:limit]
    )


def test_a_batch_numbered_first_and_committed_last_is_not_passed_over():
    """Batch A numbers its changes, then is slow to commit; batch B, of another lead, comes
    after it. Whatever a reader sees meanwhile, it must still see A's changes after B's
    cursor: B's changes may not be numbered until A committed."""
    delivery_store(body=body("assign_tag", lead_id=1))
    a_numbered, a_may_commit = threading.Event(), threading.Event()

    def batch_a() -> None:
        try:
            with transaction.atomic():
                assert deliveries_process_batch(limit=10) == 1
                a_numbered.set()
                a_may_commit.wait(10)
        finally:
            connection.close()

    def batch_b() -> None:
        try:
            assert deliveries_process_batch(limit=10) == 1
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(batch_a)
        assert a_numbered.wait(10)
        # Nothing A holds: another lead, list and no custom field (A created those).
        delivery_store(body=body("list_subscription", lead_id=2, custom_fields=[]))
        b = pool.submit(batch_b)
        time.sleep(0.5)  # B has had time to write and commit, were it free to
        seen = read_after(0)
        a_may_commit.set()
        a.result(10), b.result(10)
    cursor = seen[-1] if seen else 0
    seen += read_after(cursor)
    assert seen == sorted(Change.objects.values_list("pk", flat=True))
    assert len(seen) == 2  # each lead appeared


def test_paging_while_writers_apply_neither_skips_nor_repeats(settings):
    settings.KARTRA_DELIVERY_BATCH = 8
    rng = random.Random(11)
    actions = ["assign_tag", "unassign_tag", "list_subscription", "list_unsubscription"]
    for n in range(240):
        raw = body(rng.choice(actions), lead_id=rng.randint(1, 40), first_name=f"n{n % 5}")
        delivery_store(body=raw)
    done = threading.Event()

    def writer() -> None:
        try:
            deliveries_drain(give_up_after=60)  # retries what the database refuses
        finally:
            connection.close()

    def reader() -> list[int]:
        seen, cursor = [], 0
        try:
            while True:
                finished = done.is_set()  # read before the page: a last full pass follows
                page = read_after(cursor)
                seen += page
                cursor = page[-1] if page else cursor
                if finished and not page:
                    return seen
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        read = pool.submit(reader)
        writers = [pool.submit(writer) for _ in range(3)]
        try:
            for w in writers:
                w.result(120)
        finally:
            done.set()
        seen = read.result(120)
    assert not Delivery.objects.filter(status=DeliveryStatus.RECEIVED).exists()
    assert len(seen) == len(set(seen)) == Change.objects.count() > 40
    assert seen == sorted(seen)
