import pytest

from events.drain import DeliveryDrainer


@pytest.fixture(autouse=True)
def _no_drainer_thread_outlives_a_test():
    """A view whose inline processing fails wakes the embedded drainer (a thread): stop it,
    so that it never runs inside another test."""
    yield
    DeliveryDrainer.shutdown()
