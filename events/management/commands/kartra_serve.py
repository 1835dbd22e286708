"""Serve the mirror and keep it current: Django's development server (no reloader) plus, in
background threads, the processing of webhook deliveries and the refresh loop. Without Kartra
credentials it serves a demo account from the built-in fake Kartra (see ``events.demo``)."""

import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from events.demo import (
    DEMO_EVENTS,
    DEMO_LEADS,
    Demo,
    demo_seed,
    demo_start,
    demo_state,
    wait_for_port,
)
from events.drain import DeliveryDrainer
from events.sync.loop import RefreshLoop
from leads.services.sync import credentials_configured

BANNER = """\
==========================================================================================
 DEMO MODE: no Kartra credentials are configured (KARTRA_APP_ID, KARTRA_API_KEY,
 KARTRA_API_PASSWORD), so this mirrors DEMO DATA from a built-in FAKE Kartra at
 {url}
 Nothing here comes from a real Kartra account. Set the three variables to mirror yours.
=========================================================================================="""


def split_addrport(addrport: str) -> tuple[str, int]:
    """``"127.0.0.1:8000"``, ``"8000"``, ``"0.0.0.0:8000"``, ``"[::1]:8000"`` -> the host
    to reach the server at from this machine, and the port."""
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return host, int(port)


def web_base(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Command(BaseCommand):
    help = (
        "Run the web server (admin, API, webhook endpoint) and, in the background, the "
        "refresh loop that keeps the mirror current. Without Kartra credentials, serves demo "
        "data from a built-in fake Kartra."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-refresh", action="store_true", help="serve only; do not run the refresh loop"
        )
        parser.add_argument("--demo-leads", type=int, default=DEMO_LEADS)
        parser.add_argument("--demo-events", type=int, default=DEMO_EVENTS)

    def handle(self, *args, addrport, no_refresh, demo_leads, demo_events, **options):
        host, port = split_addrport(addrport)
        demo: Demo | None = None
        loop: RefreshLoop | None = None
        if not credentials_configured():
            state = demo_state()
            if state == "foreign":
                self.stderr.write(
                    "No Kartra credentials are configured and the database holds leads that "
                    "are not demo data: serving them without refreshing. Set KARTRA_APP_ID, "
                    "KARTRA_API_KEY and KARTRA_API_PASSWORD to keep them current."
                )
                no_refresh = True
            else:
                demo = demo_start(leads=demo_leads)
                self.stdout.write(self.style.WARNING(BANNER.format(url=demo.fake.base_url)))
                if demo.token_made_up:
                    self.stdout.write(
                        f"Webhook URL for this session: {web_base(host, port)}/webhooks/kartra/"
                        f"{demo.webhook_token}/"
                    )
        elif not settings.KARTRA_WEBHOOK_TOKENS:
            self.stderr.write(
                "KARTRA_WEBHOOK_TOKENS is not set: the webhook endpoint refuses every delivery."
            )
        if settings.CELERY_BROKER_URL and demo is None and not no_refresh:
            self.stdout.write("A Celery broker is configured: beat runs the refresh, not this.")
            no_refresh = True
        if not no_refresh:
            loop = RefreshLoop()
            threading.Thread(
                target=self._background,
                args=(demo, loop, host, port, demo_events),
                name="kartra-serve-start",
                daemon=True,
            ).start()
        drainer = None
        if not settings.CELERY_BROKER_URL and not settings.KARTRA_PROCESS_INLINE:
            # Processes stored webhook deliveries; its first pass sweeps what a previous
            # run left unprocessed.
            drainer = DeliveryDrainer.running()
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if drainer is not None:
                DeliveryDrainer.shutdown()
            if loop is not None:
                loop.stop()
            if demo is not None:
                demo.stop()

    def _background(self, demo, loop, host, port, events) -> None:
        """Seed the demo once the server answers, then start the refresh loop."""
        if demo is not None:
            if not wait_for_port(host, port):
                self.stderr.write("The web server did not come up; demo data not played.")
                return
            web = web_base(host, port)
            try:
                demo_seed(demo, webhook_base=web, events=events, say=self.stdout.write)
            except Exception as exc:  # noqa: BLE001 - the server keeps serving regardless
                self.stderr.write(f"Demo seeding failed: {type(exc).__name__}: {exc}")
            if demo.seeded_now:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Demo ready: browse {web}/admin/ (demo data from a fake Kartra)."
                    )
                )
        loop.start()
