"""The refresh loop that keeps the mirror current when no Celery worker runs (the embedded
default): ``kartra_serve`` runs it in a background thread beside the web server.

Each pass syncs the catalogues when they are due (at start, then every
``KARTRA_CATALOG_SYNC_INTERVAL`` seconds), refreshes the leads that are due (requested
ones first, then stale ones) within the API budget of one tick, and runs the daily drift
audit when a day has passed since the last one (Celery beat runs it without this loop);
when nothing is due it sleeps. It calls the same services as the commands and the Celery
tasks, with one client, so every call draws from the same rate budget.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection

from events.audit.runs import audit_daily
from events.models import SyncRunStatus
from kartra_mirror.kartra import KartraClient
from leads.services.due import refresh_budget
from leads.services.sync import sync_client

from .catalogs import catalog_sync_run
from .refresh import due_refresh_run

logger = logging.getLogger(__name__)

#: Seconds to wait after Kartra refused the credentials or a pass crashed.
BACKOFF = 300.0


def catalog_interval() -> float:
    return float(getattr(settings, "KARTRA_CATALOG_SYNC_INTERVAL", 3600))


def refresh_interval() -> float:
    return float(getattr(settings, "KARTRA_REFRESH_INTERVAL", 60))


class RefreshLoop:
    """Runs :meth:`run_once` in a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        *,
        client_factory: Callable[[], KartraClient] = sync_client,
        idle_sleep: float = 5.0,
        tick: float | None = None,
        catalog_every: float | None = None,
    ) -> None:
        self.client_factory = client_factory
        self.idle_sleep = idle_sleep
        self.tick = tick if tick is not None else min(refresh_interval(), 30.0)
        self.catalog_every = catalog_every if catalog_every is not None else catalog_interval()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: KartraClient | None = None
        self._catalog_at: float | None = None

    def start(self) -> "RefreshLoop":
        self._thread = threading.Thread(target=self._run, name="kartra-refresh", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> tuple[bool, bool]:
        """One pass; returns (did any work, Kartra refused or failed the whole pass)."""
        if self._client is None:
            self._client = self.client_factory()
        refused = False
        now = time.monotonic()
        if self._catalog_at is None or now - self._catalog_at >= self.catalog_every:
            run = catalog_sync_run(self._client)
            self._catalog_at = now
            refused = run.status == SyncRunStatus.FAILED
            logger.info("catalogue sync %s: %s", run.pk, run.arguments.get("catalog"))
        if refused:
            return True, True
        run = due_refresh_run(self._client, limit=refresh_budget(self.tick))
        # After the refresh: leads just requested are fetched by it, not found drifting.
        audit = audit_daily(self._client)
        if audit is not None:
            logger.info("daily audit (run %s): %s of %s leads differed", audit.pk,
                        audit.leads_differing, audit.leads_compared)  # fmt: skip
        if run is None:
            return audit is not None, False
        logger.info(
            "refreshed due leads (run %s): %s refreshed, %s unchanged, %s not found, %s failed",
            run.pk, run.leads_refreshed, run.leads_unchanged, run.leads_not_found,
            run.leads_failed,
        )  # fmt: skip
        return True, run.status == SyncRunStatus.FAILED

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    worked, failed = self.run_once()
                except Exception:  # noqa: BLE001 - the loop must outlive one bad pass
                    logger.exception("refresh pass failed; retrying in %.0f s", BACKOFF)
                    worked, failed = False, True
                if failed:
                    self._stop.wait(BACKOFF)
                elif not worked:
                    self._stop.wait(self.idle_sleep)
        finally:
            if self._client is not None:
                self._client.close()
            connection.close()
