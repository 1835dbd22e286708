"""Getting stored deliveries processed once the request has answered.

Three ways, by configuration:

- ``KARTRA_PROCESS_INLINE``: the request processes its own delivery (tests, tiny installs);
- a Celery broker (``CELERY_BROKER_URL``): the request asks for a drain task, at most one
  request per drain pass when Redis can coalesce them, and workers drain in batches; a pass
  that finds a backlog (more than a batch) asks for a helping drain that starts at once, so
  that every free worker joins in (batches side by side leave each other's leads alone, see
  ``deliveries_process_batch``); beat sweeps every ``KARTRA_DRAIN_SWEEP_INTERVAL`` seconds
  for anything left behind;
- neither (the embedded default): a thread of the web process drains on wake-up and sweeps
  on the same interval.

The table is the truth and the queue only carries wake-ups: a lost task, a crashed worker
or a database that was down costs a delay, never a delivery.
"""

import contextlib
import logging
import threading
import time
from datetime import datetime

import redis
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Max
from django.utils import timezone
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_exponential,
)

from kartra_mirror.counters import redis_store

from .models import Delivery, DeliveryStatus
from .services import TRANSIENT_ERRORS, deliveries_process_batch

logger = logging.getLogger(__name__)

#: Redis key that says a drain pass has been asked for and has not started yet.
DRAIN_FLAG = "kartra_mirror:deliveries:drain-requested"


def deliveries_drain(*, give_up_after: float | None = None, linger: bool = True) -> int:
    """Process waiting deliveries, batch after batch, until none is left; return how many.

    Each pass first lingers (see ``_linger``) so that a burst gathers into full batches (a
    batch's statements cost the same for 5 deliveries as for 500); the drain flag stays
    raised meanwhile, so the requests of the burst send no more wake-ups. The
    pass then clears the flag and claims batches while they come full; the drain ends with
    a pass whose first claim finds nothing. A request that stores a delivery after that
    claim raises the flag again and gets a drain of its own. With a broker, a pass that
    finds more than a batch waiting asks, before its first claim, for a helping drain that
    starts without lingering (``linger=False``: the backlog is there already), which
    another worker takes at once if one is free.

    A database failure is retried with exponential backoff (0.1 s doubling to 30 s), with a
    fresh connection each time, for up to ``give_up_after`` seconds (forever when None);
    after that the error is raised and the deliveries wait for the next pass.
    """
    retrying = Retrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        wait=wait_exponential(multiplier=0.1, max=30),
        stop=stop_never if give_up_after is None else stop_after_delay(give_up_after),
        before_sleep=_log_and_reconnect,
        reraise=True,
    )
    total = 0
    while True:
        if linger:
            _linger()
        linger = True  # a helping drain's later passes linger as any other
        _clear_flag()
        if settings.CELERY_BROKER_URL and _backlog():
            _ask_for_help()
        first = claimed = retrying(deliveries_process_batch)
        total += claimed
        while claimed == settings.KARTRA_DELIVERY_BATCH:  # a backlog: no need to wait
            claimed = retrying(deliveries_process_batch)
            total += claimed
        # Only a pass that found nothing after its linger ends the drain: a request that
        # skipped the flag check (see _request_drain_task) stored before that claim.
        if not first:
            return total


def _linger() -> None:
    """Wait before a pass claims: ``KARTRA_DRAIN_LINGER`` seconds, for a burst to gather
    into full batches; then, as long as deliveries keep arriving at a batch
    (``KARTRA_DELIVERY_BATCH``) a second or faster, one linger more, until the oldest
    waiting delivery has waited ``KARTRA_DRAIN_BURST_WAIT`` seconds.

    Such a burst is one the web processes are still acknowledging. Where they share the
    machine's cores with the workers (one server, or ``bin/run``), applying it meanwhile
    would take the cores that acknowledging needs, and in batches that do not come full;
    applied once it has passed, in full batches, it costs less in all. A trickle is not a
    burst: it is applied a linger after it arrives. A database error ends the wait, and
    the claim that follows meets it (see ``deliveries_drain``)."""
    linger = settings.KARTRA_DRAIN_LINGER
    if not linger:
        return
    busy = settings.KARTRA_DELIVERY_BATCH * linger  # arrivals in a linger, at a batch a second
    try:
        newest, oldest = _newest_id(), _oldest_waiting()
        waited = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        deadline = time.monotonic() + settings.KARTRA_DRAIN_BURST_WAIT - max(0.0, waited)
        time.sleep(linger)
        while time.monotonic() < deadline:
            latest = _newest_id()
            if latest - newest < busy:
                return
            newest = latest
            time.sleep(linger)
    except TRANSIENT_ERRORS:
        return


def _backlog() -> bool:
    """Whether more than a batch (``KARTRA_DELIVERY_BATCH``) is waiting. One index scan of
    a batch's length; a database error says no (the claim that follows meets it)."""
    beyond = settings.KARTRA_DELIVERY_BATCH
    waiting = Delivery.objects.filter(status=DeliveryStatus.RECEIVED).order_by()
    try:
        return bool(list(waiting.values_list("pk", flat=True)[beyond : beyond + 1]))
    except TRANSIENT_ERRORS:
        return False


def _ask_for_help() -> None:
    """Send a drain task that starts without lingering (see ``deliveries_drain``). Never
    raises: the deliveries are stored, and this drain processes them anyway."""
    from .tasks import drain_deliveries

    try:
        drain_deliveries.delay(linger=False)
    except Exception as exc:  # noqa: BLE001 - this drain goes on alone
        logger.warning("could not ask another worker for help: %s", type(exc).__name__)


def _newest_id() -> int:
    """The id of the newest stored delivery: ids grow as deliveries arrive. One index
    lookup."""
    return Delivery.objects.aggregate(newest=Max("pk"))["newest"] or 0


def _oldest_waiting() -> datetime | None:
    """When the oldest delivery still waiting arrived. One index lookup."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.RECEIVED)
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )


def _log_and_reconnect(state) -> None:
    exc = state.outcome.exception()
    logger.warning(
        "processing deliveries: database error (%s), retry %d in %.1f s",
        type(exc).__name__,
        state.attempt_number,
        state.next_action.sleep,
    )
    # A broken connection cannot run the retry; Django opens a new one on the next query.
    connection.close()


def deliveries_drain_soon() -> None:
    """Ask for the waiting deliveries to be processed soon, without waiting for it.
    Never raises: the deliveries are stored, and the next sweep finds them anyway."""
    try:
        if settings.CELERY_BROKER_URL:
            _request_drain_task()
        else:
            DeliveryDrainer.running().wake()
    except Exception as exc:  # noqa: BLE001 - the delivery is stored; the sweep catches up
        logger.warning("could not ask for deliveries to be processed: %s", type(exc).__name__)


# -- Celery ----------------------------------------------------------------------------------


#: When this process last found a pass asked for (``time.monotonic()``).
_asked_at = float("-inf")


def _request_drain_task() -> None:
    """Send a drain task unless a pass is already asked for.

    The Redis flag says so; it is checked at most once per ``KARTRA_DRAIN_LINGER / 2``
    per process. Skipping the check in between is safe: a pass that claims after the flag
    was seen raised finds a delivery of the skipped requests, or, having claimed one, lingers
    and claims again later than they stored theirs (see ``deliveries_drain``).
    """
    global _asked_at
    now = time.monotonic()
    if now - _asked_at < settings.KARTRA_DRAIN_LINGER / 2:
        return
    from .tasks import drain_deliveries

    store = redis_store()
    if store is not None:
        try:
            raised = store.set(DRAIN_FLAG, "1", nx=True, ex=settings.KARTRA_DRAIN_SWEEP_INTERVAL)
        except redis.RedisError:
            raised = True  # without the flag, every request asks: slower, still correct
        else:
            _asked_at = now
        if not raised:
            return  # a pass is already asked for and will see this delivery
    try:
        drain_deliveries.delay()
    except Exception:
        _asked_at = float("-inf")
        if store is not None:
            _clear_flag()
        raise


def _clear_flag() -> None:
    if not settings.CELERY_BROKER_URL:
        return
    store = redis_store()
    if store is not None:
        with contextlib.suppress(redis.RedisError):  # else the flag expires by itself
            store.delete(DRAIN_FLAG)


# -- the embedded default: a thread of the web process ---------------------------------------


class DeliveryDrainer:
    """A daemon thread that drains when woken and every ``KARTRA_DRAIN_SWEEP_INTERVAL``
    seconds; one per process, started on first use."""

    _instance: "DeliveryDrainer | None" = None
    _guard = threading.Lock()

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kartra-drain", daemon=True)

    @classmethod
    def running(cls) -> "DeliveryDrainer":
        with cls._guard:
            if cls._instance is None or not cls._instance._thread.is_alive():
                cls._instance = cls(interval=float(settings.KARTRA_DRAIN_SWEEP_INTERVAL))
                cls._instance._thread.start()
            return cls._instance

    @classmethod
    def shutdown(cls, timeout: float = 10.0) -> None:
        with cls._guard:
            instance, cls._instance = cls._instance, None
        if instance is not None:
            instance._stop.set()
            instance._wake.set()
            instance._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    count = deliveries_drain(give_up_after=self.interval)
                    if count:
                        logger.debug("processed %d deliveries", count)
                except Exception as exc:  # noqa: BLE001 - the thread must outlive one pass
                    logger.error("processing deliveries failed: %s", type(exc).__name__)
                    connection.close()
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            connection.close()
