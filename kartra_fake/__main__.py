"""Run the fake Kartra API standalone.

    python -m kartra_fake --port 8765 --leads 300
    python -m kartra_fake --webhook-url http://127.0.0.1:8000/webhooks/kartra/TOKEN/ \
        --ipn-url http://127.0.0.1:8000/webhooks/kartra/TOKEN/ipn/ --events 100 --interval 0.2
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from . import KARTRA_TZ, FakeKartra, generate_account, play_events, post_ipn, post_webhook


def _anchor(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=KARTRA_TZ)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until interrupted, optionally play webhooks to a URL."""
    parser = argparse.ArgumentParser(
        prog="python -m kartra_fake", description="Fake Kartra inbound API (loopback HTTP)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--anchor",
        type=_anchor,
        help="the account's present, ISO 8601 (Eastern without an offset); default: now",
    )
    parser.add_argument("--app-id", default="fake-app-id")
    parser.add_argument("--api-key", default="fake-api-key")
    parser.add_argument("--api-password", default="fake-api-password")
    parser.add_argument("--rate-limit", type=int, default=20, help="calls per second per app")
    parser.add_argument("--webhook-url", help="POST played events to this URL")
    parser.add_argument("--ipn-url", help="POST the played transactions' IPNs to this URL")
    parser.add_argument("--events", type=int, default=0, help="how many events to play")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between events")
    args = parser.parse_args(argv)

    account = generate_account(args.leads, seed=args.seed, anchor=args.anchor)
    if args.ipn_url:
        account.ipn_outbox = []
    fake = FakeKartra(
        account,
        app_id=args.app_id,
        api_key=args.api_key,
        api_password=args.api_password,
        rate_limit=args.rate_limit,
        host=args.host,
        port=args.port,
    )
    with fake:
        print(f"Fake Kartra API at {fake.base_url}", flush=True)
        print(
            f"  KARTRA_API_URL={fake.base_url} KARTRA_APP_ID={args.app_id} "
            f"KARTRA_API_KEY={args.api_key} KARTRA_API_PASSWORD={args.api_password}"
        )
        sample = list(account.leads.values())[:3]
        print(
            "  sample leads: " + ", ".join(f"{lead.id} <{lead.email}>" for lead in sample),
            flush=True,
        )
        try:
            if (args.webhook_url or args.ipn_url) and args.events:
                for mutation, body in play_events(account, args.events, seed=args.seed):
                    if args.webhook_url:
                        status = post_webhook(args.webhook_url, body).status_code
                        print(f"  {mutation.action} lead {mutation.lead_id} -> {status}")
                    for ipn in account.take_ipns():
                        print(f"  IPN -> {post_ipn(args.ipn_url, ipn).status_code}")
                    time.sleep(args.interval)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping")


if __name__ == "__main__":
    main()
