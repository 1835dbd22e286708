"""A processing pass waits for a burst to pass before it applies it (``events.drain._linger``).

The clock is drain's own reference to ``time``, replaced by a fake one whose ``sleep``
advances it and lets deliveries arrive, as web processes would store them meanwhile.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import OperationalError
from django.utils import timezone

from events import drain
from events.models import Delivery, DeliveryStatus
from events.services import delivery_store
from tests.payloads import body

pytestmark = pytest.mark.django_db


class Clock:
    """``time.monotonic`` and ``time.sleep`` for drain: each sleep advances the clock and
    stores the deliveries that ``arrivals`` says arrive during it (one count per sleep,
    none once the list is spent)."""

    def __init__(self, arrivals: list[int]):
        self.now = 1000.0
        self.arrivals = list(arrivals)
        self.sleeps: list[float] = []
        self.claims: list[tuple[float, int]] = []  # see the ``clock`` fixture
        self.stored = 0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for _ in range(self.arrivals.pop(0) if self.arrivals else 0):
            self.stored += 1
            delivery_store(body=body("assign_tag", lead_id=self.stored, first_name="burst"))


@pytest.fixture
def clock(settings, monkeypatch):
    """Install a fake clock with the given arrivals; every claim a pass makes is recorded
    on it (``claims``: the fake time of each claim and how many deliveries were waiting)."""
    settings.KARTRA_DRAIN_LINGER = 0.2
    settings.KARTRA_DELIVERY_BATCH = 10  # a burst: 2 or more arrivals in a linger
    settings.KARTRA_DRAIN_BURST_WAIT = 10
    real_batch = drain.deliveries_process_batch

    def install(arrivals: list[int]) -> Clock:
        fake = Clock(arrivals)

        def batch():
            fake.claims.append((round(fake.now - 1000.0, 6), _waiting()))
            return real_batch()

        time = SimpleNamespace(sleep=fake.sleep, monotonic=fake.monotonic)
        monkeypatch.setattr(drain, "time", time)
        monkeypatch.setattr(drain, "deliveries_process_batch", batch)
        return fake

    return install


def _waiting() -> int:
    return Delivery.objects.filter(status=DeliveryStatus.RECEIVED).count()


def test_a_pass_waits_while_the_burst_lasts_then_applies_it_all(clock):
    fake = clock([5, 5, 4, 2, 1])  # 2 or more a linger for four lingers, then a trickle

    assert drain.deliveries_drain() == 17
    # The first claim came after the linger that saw a single arrival: all 17 waiting.
    assert fake.claims[0] == (1.0, 17)
    assert _waiting() == 0


def test_a_trickle_is_applied_a_linger_after_it_arrives(clock):
    delivery_store(body=body("assign_tag", lead_id=1))
    fake = clock([1, 1, 1])

    assert drain.deliveries_drain() == 4
    assert fake.claims[0] == (0.2, 2)  # one linger, in which one more arrived


def test_no_delivery_waits_for_a_burst_longer_than_the_burst_wait(clock, settings):
    settings.KARTRA_DRAIN_BURST_WAIT = 1
    fake = clock([3] * 40)  # a burst that outlasts the wait many times over

    assert drain.deliveries_drain() == 120
    at, waiting = fake.claims[0]
    assert 1.0 <= at <= 1.2 and waiting >= 15  # the wait, give or take a linger


def test_a_delivery_that_already_waited_shortens_the_wait(clock):
    old = delivery_store(body=body("assign_tag", lead_id=99))
    Delivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(seconds=9.5))
    fake = clock([3] * 20)

    drain.deliveries_drain()
    assert Delivery.objects.get(pk=old.pk).status == DeliveryStatus.PROCESSED
    # 0.5 s left of its 10 s: three lingers of 0.2 s before the first claim.
    assert fake.claims[0] == (0.6, 10)


def test_a_database_error_ends_the_wait(clock, monkeypatch):
    fake = clock([5] * 10)
    calls = []

    def failing():
        calls.append(1)
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(drain, "_newest_id", failing)
    drain._linger()
    assert calls == [1]
    assert fake.sleeps == []


def test_without_a_linger_a_pass_claims_at_once(clock, settings):
    settings.KARTRA_DRAIN_LINGER = 0
    fake = clock([5, 5])
    delivery_store(body=body("assign_tag", lead_id=1))

    assert drain.deliveries_drain() == 1
    assert fake.sleeps == []
    assert fake.claims[0] == (0.0, 1)


def test_with_no_burst_wait_a_burst_is_applied_as_it_arrives(clock, settings):
    settings.KARTRA_DRAIN_BURST_WAIT = 0  # workers on machines of their own
    fake = clock([5, 5, 5])

    assert drain.deliveries_drain() == 15
    assert fake.claims[0] == (0.2, 5)  # one linger, whatever the rate


def test_a_helping_drain_claims_at_once_and_lingers_on_its_later_passes(clock):
    fake = clock([])
    for n in range(1, 8):
        delivery_store(body=body("assign_tag", lead_id=n))

    assert drain.deliveries_drain(linger=False) == 7

    assert fake.claims[0] == (0.0, 7)  # no linger before the first claim
    assert fake.sleeps[:1] == [0.2]  # the pass that found them over: the next one lingers
