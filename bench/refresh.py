"""Benchmark of refreshing leads with ``get_lead``: the call rate at Kartra's limit, the rate
snapshots are applied at, and the due queue at a million leads, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kartra_refresh_bench \\
        .venv/bin/python bench/refresh.py        # --help for the knobs

It needs PostgreSQL and Redis on 127.0.0.1, and databases of its own: it creates and
migrates the one named (its name must hold "bench"), empties the mirror's tables (leads and
events apps) before each part, and seeds a second one, ``<name>_due``, once with a million
leads (a marker row remembers it; ``--reseed`` starts over). Three parts (``--parts``):

**rate**: the project's fake Kartra (``kartra_fake``) serves ``--leads`` leads
over loopback, in a process of its own, enforcing 20 calls in any rolling second per App id
(HTTP 429 beyond), as Kartra does. Each scenario refreshes every lead once at R =
``KARTRA_API_RATE`` = 20 and reads the fake's log: the sustained call rate (calls from the
first to the last, catalogue calls included) as a fraction of R, and the 429s it drew.

- bare calls: the project's client and limiter calling ``get_lead`` for each lead from as
  many threads as a sync uses, no database: what the limiter alone sustains (the baseline);
- 1 process: ``manage.py kartra_sync --id ...`` (catalogues, then the leads), in-memory limiter;
- 1 process, Redis: the same with ``KARTRA_REDIS_URL`` (db 8 by default, flushed first);
- 2 processes, Redis: two such commands at once, each for half the leads, sharing the limiter.

**apply**: the same leads' ``lead_details`` rendered beforehand and served by a stub client
at once (no limiter, no HTTP): ``leads_refresh`` as a sync runs it (calls in threads, answers
applied in batches), on the first sight of the leads, on a refresh of them (Kartra answers
as before), and on a refresh after every lead changed in Kartra (another first name, one
tag more), in leads per second, against the same refreshes applying one snapshot per
transaction (the baseline).

**due**: ``leads_due`` choosing a refresh pass's batch (``refresh_budget`` of one
``KARTRA_REFRESH_INTERVAL``) among a million leads spread over the four classes of the due
queue, p50/p95 over repeated runs, and each class's plan (``EXPLAIN``): an index scan each.

Goals: sustained rate >= 0.9 R with 0 x 429 in every scenario; >= 500 leads/s applied on a
refresh; the due batch chosen in < 50 ms at a million leads. It exits 0 whatever the figures;
only its own failure (a process that does not start, ...) is an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kartra_refresh_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kartra_mirror.settings")

RATE = 20  # Kartra's limit per App, and the rate the syncs are configured with
GOAL_RATE, GOAL_429, GOAL_APPLY, GOAL_DUE_MS = 0.9, 0, 500.0, 50.0
CREDENTIALS = {"app_id": "bench-app", "api_key": "bench-key", "api_password": "bench-pw"}
SEED = 7
DUE_LEADS = 1_000_000
DUE_RUNS = 30
BASELINE_LEADS = 400


class HarnessError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def ensure_database(url: str) -> None:
    """Create the database if it is missing; refuse one not made for benchmarks."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise HarnessError("bench/refresh.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = database_name(url)
    if "bench" not in name:
        raise HarnessError(f"refusing database {name!r}: its name must hold 'bench'")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )


# --- the fake Kartra, in a process of its own ----------------------------------------------


def serve_fake(port: int, leads: int) -> None:
    """(Child process.) Serve the fake on ``port`` and answer commands on stdin: ``reset``
    forgets the log and the rate windows, ``log`` prints the log as one JSON line."""
    from kartra_fake import FakeKartra, generate_account

    fake = FakeKartra(generate_account(leads, seed=SEED), rate_limit=RATE, port=port,
                      **CREDENTIALS)  # fmt: skip
    with fake:
        print(fake.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "reset":
                fake.reset()
                print("ok", flush=True)
            elif line.strip() == "log":
                log = [(r.at, r.command, r.status) for r in fake.requests]
                print(json.dumps(log), flush=True)


class Fake:
    """The fake Kartra's process, driven over its stdin."""

    def __init__(self, leads: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", str(free_port()), str(leads)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self._read()

    def _read(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise HarnessError("the fake Kartra did not start")
        return line.strip()

    def command(self, text: str) -> str:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._read()

    def log(self) -> list[tuple[float, str, int]]:
        return json.loads(self.command("log"))

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


# --- rate ------------------------------------------------------------------------------------


def kartra_env(fake: Fake, redis_url: str = "") -> dict[str, str]:
    return {
        **os.environ,
        "KARTRA_API_URL": fake.url,
        "KARTRA_APP_ID": CREDENTIALS["app_id"],
        "KARTRA_API_KEY": CREDENTIALS["api_key"],
        "KARTRA_API_PASSWORD": CREDENTIALS["api_password"],
        "KARTRA_API_RATE": str(RATE),
        "KARTRA_REDIS_URL": redis_url,
        "REDIS_URL": "",
    }


def measured(log: list[tuple[float, str, int]]) -> dict:
    """Calls per second from the first call to the last, and the 429s, from the fake's log."""
    times = sorted(at for at, _, _ in log)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "calls": len(times),
        "rate": (len(times) - 1) / span if span else 0.0,
        "throttled": sum(1 for _, _, status in log if status == 429),
        "get_lead": sum(1 for _, command, _ in log if command == "get_lead"),
    }


def bare_calls(fake: Fake, ids: list[int]) -> None:
    """The baseline: the client and its limiter, from a sync's threads, no database."""
    from kartra_mirror.kartra import KartraClient, KartraError
    from kartra_mirror.kartra.ratelimit import build_limiter
    from leads.services.sync import fetch_workers

    limiter = build_limiter(RATE, None, "bench-bare")
    client = KartraClient(fake.url, *CREDENTIALS.values(), limiter=limiter, timeout=20)

    def call(lead_id: int) -> None:
        with contextlib.suppress(KartraError):  # a deleted lead answers 245
            client.get_lead(lead_id=lead_id)

    with client, ThreadPoolExecutor(fetch_workers()) as pool:
        list(pool.map(call, ids))


def sync_processes(fake: Fake, groups: list[list[int]], redis_url: str) -> list[str]:
    """``kartra_sync --id ...`` for each group of ids, all at once; their summaries."""
    env = kartra_env(fake, redis_url)
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "kartra_sync", "--id", ",".join(map(str, ids))],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for ids in groups
    ]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        if process.returncode:
            raise HarnessError(f"kartra_sync failed ({process.returncode}):\n{output}")
    return [next((line for line in o.splitlines() if line.startswith("Sync run")), "?")
            for o in outputs]  # fmt: skip


def part_rate(fake: Fake, ids: list[int], redis_url: str) -> list[dict]:
    import redis

    scenarios = [
        ("bare calls (baseline)", lambda: bare_calls(fake, ids), ""),
        ("1 process", lambda: sync_processes(fake, [ids], ""), ""),
        ("1 process, Redis", lambda: sync_processes(fake, [ids], redis_url), redis_url),
        (
            "2 processes, Redis",
            lambda: sync_processes(fake, [ids[::2], ids[1::2]], redis_url),
            redis_url,
        ),
    ]
    results = []
    for name, run, shared in scenarios:
        reset_mirror()
        if shared:
            redis.Redis.from_url(shared).flushdb()
        fake.command("reset")
        started = time.monotonic()
        summaries = run()
        figures = measured(fake.log())
        figures.update(name=name, seconds=time.monotonic() - started, summaries=summaries or [])
        results.append(figures)
        print(f"  {name}: {figures['rate']:.2f} calls/s, {figures['throttled']} x 429", flush=True)
    return results


# --- apply -----------------------------------------------------------------------------------


def reset_mirror() -> None:
    from django.apps import apps
    from django.db import connection

    tables = [m._meta.db_table for app in ("leads", "events")
              for m in apps.get_app_config(app).get_models()]  # fmt: skip
    tables += ["leads_customfieldvalue_options", "leads_surveyanswer_options"]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(sorted(set(tables)))} RESTART IDENTITY CASCADE")


class StubClient:
    """Answers ``get_lead`` at once from details rendered beforehand."""

    def __init__(self, details: dict[int, dict]) -> None:
        from kartra_mirror.kartra.client import ClientStats

        self.details = details
        self.stats = ClientStats()
        self._lock = threading.Lock()

    def get_lead(self, *, lead_id: int | None = None, email: str | None = None) -> dict:
        with self._lock:
            self.stats.calls += 1
        return self.details[int(lead_id)]


def apply_once(details: dict[int, dict], *, batch: int) -> tuple[float, object]:
    """Refresh every lead once through ``leads_refresh``; leads per second, and the run."""
    from events.sync.refresh import leads_refresh
    from events.sync.runs import sync_run_start
    from leads.services.sync import Target, fetch_workers

    client = StubClient(details)
    recorder = sync_run_start(kind="bench", client=client)
    started = time.perf_counter()
    leads_refresh(client, [Target(kartra_id=i) for i in details], recorder, batch=batch,
                  workers=fetch_workers())  # fmt: skip
    seconds = time.perf_counter() - started
    return len(details) / seconds, recorder.finish()


def part_apply(count: int) -> list[dict]:
    from events.sync.refresh import APPLY_BATCH
    from kartra_fake import generate_account, lead_details

    account = generate_account(count, seed=SEED)
    live = [lead for lead in account.leads.values() if not lead.deleted]
    details = {lead.id: lead_details(account, lead) for lead in live}
    # Every lead changed in Kartra since: another first name and one tag more.
    for lead in live:
        account.edit_lead(lead.id, first_name=f"{lead.first_name} (edited)")
        account.assign_tag(lead.id, next(t for t in sorted(account.tags) if t not in lead.tags))
    changed = {lead.id: lead_details(account, lead) for lead in live}
    # The baseline takes about 25 ms a lead: a few hundred leads give its rate.
    few = dict(list(details.items())[:BASELINE_LEADS])
    results = []
    for name, batch, leads in ((f"batches of up to {APPLY_BATCH}", APPLY_BATCH, details),
                               ("one per transaction (baseline)", 1, few)):  # fmt: skip
        reset_mirror()
        first, _ = apply_once(leads, batch=batch)
        again, run = apply_once(leads, batch=batch)
        if run.leads_failed or run.leads_refreshed + run.leads_unchanged != len(leads):
            raise HarnessError(f"{name}: the refresh did not apply every lead ({run.status})")
        edited, run = apply_once({i: changed[i] for i in leads}, batch=batch)
        if run.leads_failed or run.leads_refreshed != len(leads):
            raise HarnessError(f"{name}: the changed leads were not all applied ({run.status})")
        results.append({"name": name, "first": first, "refresh": again, "changed": edited,
                        "leads": len(leads)})  # fmt: skip
        print(f"  {name}: {first:.0f} leads/s first sight, {again:.0f} leads/s refresh, "
              f"{edited:.0f} leads/s refresh of changed leads", flush=True)  # fmt: skip
    return results


# --- due ------------------------------------------------------------------------------------

#: A million leads over the due queue's classes, at the seed's time (``:t0``): 500 with a
#: refresh requested (and 500 more deferred to later), 2% gone from Kartra, 2% never
#: refreshed, the rest refreshed over the last 36 hours (a third of them stale at the
#: default max age of 24 hours), 30% of them active within 60 days before that refresh.
DUE_SEED_SQL = f"""
INSERT INTO leads_lead (
    kartra_id, first_name, middle_name, last_name, last_name2, email, username,
    phone_country_code, phone, company, address, city, zip, state, country, website, ip,
    ip_country, facebook, twitter, linkedin, google_plus, sales_tax_id, lead_picture, source,
    blacklisted, notes, lead_preferred_time_zone, business_type, gdpr_lead_status_ip,
    lead_deleted, mirror_status, mirror_raw, mirror_raw_source, mirror_first_seen,
    mirror_refreshed_at, mirror_refresh_requested_at, mirror_last_activity_at, mirror_updated)
SELECT
    10000000 + g, 'First', '', 'Last', '', 'lead' || g || '@example.com', '', '', '', '', '',
    '', '', '', '', '', '', '', '', '', '', '', '', '', 'import', false, '', '', '', '',
    g %% 100 = 0,
    CASE g %% 100 WHEN 0 THEN 'deleted' WHEN 1 THEN 'not_found' ELSE 'active' END,
    '{{}}'::jsonb, 'snapshot', %(t0)s - interval '400 days' + make_interval(secs => g),
    refreshed,
    CASE g %% 2000 WHEN 2 THEN %(t0)s - make_interval(secs => g %% 3600)
                  WHEN 3 THEN %(t0)s + interval '10 minutes' END,
    CASE WHEN g %% 10 < 3 AND refreshed IS NOT NULL
         THEN refreshed - make_interval(secs => (g::bigint * 31) %% 5184000) END,
    %(t0)s
FROM (
    SELECT g, CASE WHEN g %% 50 = 4 THEN NULL
                   ELSE %(t0)s - make_interval(secs => (g::bigint * 7919) %% 129600)
              END AS refreshed
    FROM generate_series(1, {DUE_LEADS}) g
) seeded
"""


def seed_due(url: str, reseed: bool) -> float:
    """Seed the due queue's database once; return the seed's time (epoch seconds)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_due_seed (t0 timestamptz NOT NULL)")
        row = conn.execute("SELECT extract(epoch FROM t0) FROM bench_due_seed").fetchone()
        if row and not reseed:
            return float(row[0])
        print(f"  seeding {DUE_LEADS:,} leads (a few minutes, once)…", file=sys.stderr)
        started = time.monotonic()
        conn.execute("DELETE FROM bench_due_seed")
        conn.execute("TRUNCATE leads_lead RESTART IDENTITY CASCADE")
        t0 = conn.execute("SELECT now()").fetchone()[0]
        conn.execute(DUE_SEED_SQL, {"t0": t0})
        conn.execute("VACUUM ANALYZE leads_lead")
        conn.execute("INSERT INTO bench_due_seed (t0) VALUES (%s)", [t0])
        print(f"  seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return t0.timestamp()


def part_due(url: str, reseed: bool) -> dict:
    """(Run in a process of its own, on the due database.)"""
    from datetime import UTC, datetime

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from events.sync.loop import refresh_interval
    from leads.services.due import CLASSES, TARGET_COLUMNS, due_class, leads_due, refresh_budget

    now = datetime.fromtimestamp(seed_due(url, reseed), UTC)  # the classes as seeded
    limit = refresh_budget(refresh_interval())
    plans, classes = {}, {}
    for name in CLASSES:
        leads = due_class(name, now=now).only(*TARGET_COLUMNS)[:limit]
        plans[name] = leads.explain()
        timings = []
        for _ in range(DUE_RUNS):
            started = time.perf_counter()
            found = len(list(leads.all()))  # a fresh queryset: no cached rows
            timings.append((time.perf_counter() - started) * 1000)
        classes[name] = {"rows": found, "p50": statistics.median(timings),
                         "p95": statistics.quantiles(timings, n=20)[-1]}  # fmt: skip
    timings = []
    for _ in range(DUE_RUNS):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            chosen = leads_due(limit, now=now)
            timings.append((time.perf_counter() - started) * 1000)
    return {
        "limit": limit,
        "chosen": len(chosen),
        "queries": len(queries),
        "p50": statistics.median(timings),
        "p95": statistics.quantiles(timings, n=20)[-1],
        "classes": classes,
        "plans": plans,
    }


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report_rate(results: list[dict]) -> list[tuple[str, bool]]:
    print("\nCall rate at R = 20/s against the fake's 20 calls per rolling second per App")
    print(f"{'scenario':<24}{'calls':>7}{'seconds':>9}{'calls/s':>9}{'of R':>7}"
          f"{'vs bare':>9}{'429s':>6}  goal")  # fmt: skip
    print("-" * 79)
    bare = results[0]["rate"] or 1.0
    goals = []
    for r in results:
        ok = r["rate"] >= GOAL_RATE * RATE and r["throttled"] <= GOAL_429
        mark = "" if "baseline" in r["name"] else verdict(ok)
        if mark:
            goals.append((f"rate: {r['name']}", ok))
        print(f"{r['name']:<24}{r['calls']:>7}{r['seconds']:>9.1f}{r['rate']:>9.2f}"
              f"{r['rate'] / RATE:>6.2f}R{r['rate'] / bare:>8.2f}x{r['throttled']:>6}  "
              f"{mark}")  # fmt: skip
        for summary in r["summaries"]:
            print(f"    {summary}")
    return goals


def report_apply(results: list[dict]) -> list[tuple[str, bool]]:
    print("\nSnapshots applied, no limiter (answers rendered beforehand), PostgreSQL")
    print(f"{'how':<34}{'leads':>7}{'first sight/s':>15}{'refresh/s':>11}{'ratio':>7}"
          f"{'changed/s':>11}{'ratio':>7}  goal")  # fmt: skip
    print("-" * 99)
    baseline = results[-1]
    goals = []
    for r in results:
        ok = r["refresh"] >= GOAL_APPLY
        mark = "" if "baseline" in r["name"] else verdict(ok)
        if mark:
            goals.append(("apply rate", ok))
        print(f"{r['name']:<34}{r['leads']:>7}{r['first']:>15.0f}{r['refresh']:>11.0f}"
              f"{r['refresh'] / (baseline['refresh'] or 1):>6.1f}x{r['changed']:>11.0f}"
              f"{r['changed'] / (baseline['changed'] or 1):>6.1f}x  {mark}")  # fmt: skip
    return goals


def report_due(result: dict) -> list[tuple[str, bool]]:
    print(f"\nDue batch of {result['limit']} among {DUE_LEADS:,} leads ({DUE_RUNS} runs each)")
    print(f"{'class':<22}{'rows':>6}{'p50 ms':>9}{'p95 ms':>9}  plan")
    print("-" * 79)
    for name, figures in result["classes"].items():
        plan = result["plans"][name]
        scans = [line.strip().lstrip("-> ").split(" on ")[0]
                 for line in plan.splitlines() if " using " in line]  # fmt: skip
        seq = "Seq Scan" in plan
        print(
            f"{name:<22}{figures['rows']:>6}{figures['p50']:>9.2f}{figures['p95']:>9.2f}  "
            f"{'; '.join(scans) or plan.splitlines()[0]}{'  (SEQ SCAN)' if seq else ''}"
        )
    ok = result["p95"] < GOAL_DUE_MS and not any(
        "Seq Scan" in plan for plan in result["plans"].values()
    )
    print(f"{'leads_due (all)':<22}{result['chosen']:>6}{result['p50']:>9.2f}"
          f"{result['p95']:>9.2f}  {result['queries']} queries  {verdict(ok)}")  # fmt: skip
    return [("due batch", ok)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=400, help="leads of the rate part")
    parser.add_argument("--apply-leads", type=int, default=2000, help="leads of the apply part")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8", help="flushed first")
    parser.add_argument("--parts", default="rate,apply,due", help="comma-separated")
    parser.add_argument("--reseed", action="store_true", help="seed the million leads again")
    parser.add_argument("--serve-fake", nargs=2, type=int, metavar=("PORT", "LEADS"),
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--due-json", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        return serve_fake(*args.serve_fake)
    if args.due_json:  # the due part, in the process started below for its database
        import django

        django.setup()
        print(json.dumps(part_due(args.due_json, args.reseed)))
        return

    url = os.environ["DATABASE_URL"]
    parts = set(args.parts.split(","))
    goals: list[tuple[str, bool]] = []
    ensure_database(url)
    migrate(url)
    if parts & {"rate", "apply"}:
        fake = Fake(args.leads) if "rate" in parts else None
        try:
            if fake is not None:
                os.environ.update(kartra_env(fake))
            import django

            django.setup()
            if fake is not None:
                from kartra_fake import generate_account

                ids = [lead.id for lead in generate_account(args.leads, seed=SEED).leads
                       .values()]  # fmt: skip
                print(f"rate: {len(ids)} leads at R = {RATE}/s", flush=True)
                goals += report_rate(part_rate(fake, ids, args.redis))
            if "apply" in parts:
                print(f"\napply: {args.apply_leads} leads", flush=True)
                goals += report_apply(part_apply(args.apply_leads))
        finally:
            if fake is not None:
                fake.stop()
    if "due" in parts:
        due_url = urlsplit(url)._replace(path=f"/{database_name(url)}_due").geturl()
        ensure_database(due_url)
        migrate(due_url)
        print("\ndue: choosing a refresh batch at a million leads", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--due-json", due_url, *(["--reseed"] * args.reseed)],
            cwd=ROOT,
            env={
                **{k: v for k, v in os.environ.items() if k != "KARTRA_API_RATE"},  # default
                "DATABASE_URL": due_url,
            },
            stdout=subprocess.PIPE,
            text=True,
        )
        if done.returncode:
            raise HarnessError("the due part failed")
        goals += report_due(json.loads(done.stdout.strip().splitlines()[-1]))
    print("\nGoals: " + ", ".join(f"{name} {verdict(ok)}" for name, ok in goals))


if __name__ == "__main__":
    try:
        main()
    except HarnessError as exc:
        sys.exit(f"bench/refresh.py: {exc}")
