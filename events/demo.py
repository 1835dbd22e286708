"""The one-command demo: with no Kartra credentials configured, ``kartra_serve`` mirrors a
generated account held by the built-in fake Kartra (``kartra_fake``).

The fake runs on loopback; the mirror's client is pointed at it for this process only. Its
account's activity is played as webhook deliveries through the mirror's real endpoint over
HTTP, the lead ids are imported (Kartra cannot list leads; an import is how a real account
starts too) and a sync run fetches every lead. The account's dates lie in the 90 days before
its anchor, the time of the first start, so the dashboard's charts have data from the start.

A ``SyncRun`` of kind ``demo`` records that the demo data is in place, with the anchor, so a
restart does not play it again: the fake's account is then generated at the same anchor and
brought to the same state silently (generation and play are deterministic).
"""

import logging
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from django.conf import settings
from django.utils import timezone

from kartra_fake import FakeAccount, FakeKartra, generate_account, play_events, post_webhook
from leads.models import Lead
from leads.services.importing import LeadRef, leads_import
from leads.services.sync import sync_client

from .drain import deliveries_drain
from .models import SyncRun, SyncRunStatus
from .sync.catalogs import catalog_sync_into
from .sync.refresh import leads_refresh
from .sync.runs import sync_run

logger = logging.getLogger(__name__)

DEMO_KIND = "demo"
DEMO_LEADS = 300
DEMO_EVENTS = 600
DEMO_SEED = 7
#: Calls per second against the fake, which enforces Kartra's 20.
DEMO_API_RATE = 18


@dataclass
class Demo:
    """A running fake Kartra and what the demo did with it."""

    fake: FakeKartra
    webhook_token: str
    token_made_up: bool = False
    seeded_now: bool = False

    def stop(self) -> None:
        self.fake.stop()


def demo_state() -> str:
    """``seeded`` (demo data present), ``empty`` (no leads at all) or ``foreign`` (leads
    that are not demo data: the demo must not touch them)."""
    if SyncRun.objects.filter(kind=DEMO_KIND, status=SyncRunStatus.SUCCEEDED).exists():
        return "seeded"
    return "foreign" if Lead.objects.exists() else "empty"


def demo_anchor() -> datetime | None:
    """The anchor the demo data was seeded with, if it is in place and recorded one."""
    run = SyncRun.objects.filter(kind=DEMO_KIND, status=SyncRunStatus.SUCCEEDED).first()
    anchor = run.arguments.get("anchor") if run is not None else None
    return datetime.fromisoformat(anchor) if anchor else None


def demo_start(
    *, leads: int = DEMO_LEADS, seed: int = DEMO_SEED, anchor: datetime | None = None
) -> Demo:
    """Start the fake on loopback and point this process's Kartra settings at it.

    The account's dates are relative to ``anchor`` (aware); by default the anchor of the demo
    data already in place (:func:`demo_anchor`), else the current time. A webhook token is
    made up for the session when none is configured.
    """
    anchor = anchor or demo_anchor()
    account = generate_account(leads, seed=seed, anchor=anchor)
    credentials = {
        "app_id": "demo-app",
        "api_key": secrets.token_hex(8),
        "api_password": secrets.token_hex(8),
    }
    fake = FakeKartra(account, **credentials)
    fake.start()
    settings.KARTRA_API_URL = fake.base_url
    settings.KARTRA_APP_ID = credentials["app_id"]
    settings.KARTRA_API_KEY = credentials["api_key"]
    settings.KARTRA_API_PASSWORD = credentials["api_password"]
    settings.KARTRA_API_RATE = DEMO_API_RATE
    made_up = not settings.KARTRA_WEBHOOK_TOKENS
    if made_up:
        settings.KARTRA_WEBHOOK_TOKENS = [secrets.token_urlsafe(16)]
    return Demo(fake, settings.KARTRA_WEBHOOK_TOKENS[0], token_made_up=made_up)


def wait_for_port(host: str, port: int, timeout: float = 60.0) -> bool:
    """Wait until something accepts connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def demo_seed(
    demo: Demo,
    *,
    webhook_base: str,
    events: int = DEMO_EVENTS,
    seed: int = DEMO_SEED,
    say: Callable[[str], None] = print,
) -> None:
    """Put the demo data in place once: play ``events`` deliveries to
    ``{webhook_base}/webhooks/kartra/<token>/``, import every lead id, sync everything."""
    account = demo.fake.account
    arguments = {
        "leads": len(account.leads),
        "events": events,
        "seed": seed,
        "anchor": account.anchor.isoformat(),
    }
    if demo_state() == "seeded":
        for _ in play_events(account, events, seed=seed):
            pass  # the mirror already has these; bring the fake to the same state
        say("Demo data already in place; the refresh loop keeps it current.")
        return
    url = f"{webhook_base.rstrip('/')}/webhooks/kartra/{demo.webhook_token}/"
    say(f"Demo: playing {events} webhook deliveries through {url.rsplit('/', 2)[0]}/…")
    started = timezone.now()
    _deliveries_play(account, url, events=events, seed=seed, say=say)
    ids = sorted(account.leads)
    report = leads_import(LeadRef(n, lead_id, "", str(lead_id)) for n, lead_id in enumerate(ids))
    say(
        f"Demo: imported {len(ids)} lead ids ({report.created} new, {report.existing} already "
        "known from webhooks); fetching every lead with get_lead…"
    )
    with (
        sync_client() as client,
        sync_run(kind="all", client=client, arguments={"demo": True}) as rec,
    ):
        catalog_sync_into(rec)
        leads_refresh(client, Lead.objects.all(), rec)
    if rec.stopped is not None:
        raise rec.stopped  # the run is recorded failed; the demo is not in place
    run = rec.run
    SyncRun.objects.create(
        kind=DEMO_KIND,
        arguments=arguments,
        started_at=started,
        finished_at=timezone.now(),
        status=SyncRunStatus.SUCCEEDED,
    )
    demo.seeded_now = True
    say(
        f"Demo: {run.leads_refreshed + run.leads_unchanged} leads mirrored, "
        f"{run.leads_not_found} deleted or not found, {run.leads_failed} failed."
    )


def _deliveries_play(
    account: FakeAccount, url: str, *, events: int, seed: int, say: Callable[[str], None]
) -> None:
    """Post the account's ``events`` webhook deliveries to ``url`` and process them all;
    say which the endpoint did not accept."""
    failures: Counter[int] = Counter()
    server_log = logging.getLogger("django.server")
    level = server_log.level
    server_log.setLevel(logging.WARNING)  # not one console line per delivery
    try:
        # A connection per delivery: on a kept-alive connection the development server's
        # answers arrive some 40 ms late (measured; a delayed-ACK stall), on a new one in 3 ms.
        with httpx.Client(timeout=30, headers={"Connection": "close"}) as http:
            for _mutation, body in play_events(account, events, seed=seed):
                response = post_webhook(url, body, client=http)
                if response.status_code != 200:
                    failures[response.status_code] += 1
    finally:
        server_log.setLevel(level)
    # Processing runs after each request answers; finish it before the sync, so that the
    # demo's state does not depend on who was faster.
    deliveries_drain()
    if failures:
        codes = ", ".join(f"HTTP {code} x{n}" for code, n in sorted(failures.items()))
        hint = " (plain HTTP with DEBUG off: set DJANGO_SECURE_SSL_REDIRECT=0)"
        say(f"Demo: deliveries not accepted: {codes}{hint if 301 in failures else ''}.")
