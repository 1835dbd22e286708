"""Benchmark of the REST API over a million leads on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kartra_bench .venv/bin/python bench/api.py

Creates the database if it is missing, migrates it, seeds it once (1,000,000 leads with tags,
lists, transactions and activity, generated inside PostgreSQL with INSERT ... SELECT, a few
minutes) and reuses it on later runs; ``--reseed`` starts over. Then it times each scenario
through Django's test client with a token (the whole stack: auth, permissions, filters,
paging, serialisation) and, alternating with it, the bare SQL that scenario needs through a
cursor (the token's statement, then the scenario's own), and prints p50/p95 of both and
their ratio.

Goal: p95 under 100 ms for every scenario, and within 3x of its bare SQL.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kartra_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kartra_mirror.settings")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP

LEADS = 1_000_000
TAGS, LISTS, PRODUCTS = 300, 60, 40
REQUESTS, WARMUP = 200, 20
GOAL_MS, GOAL_RATIO = 100.0, 3.0


def ensure_database() -> None:
    """Create the benchmark database when it does not exist yet."""
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        sys.exit("bench/api.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = url.path.lstrip("/")
    admin_url = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


# --- seeding ------------------------------------------------------------------------------

SEED_SQL = [
    # Catalogues.
    f"""INSERT INTO leads_tag (kartra_id, name, mirror_first_seen, mirror_updated)
        SELECT g, 'tag-' || lpad(g::text, 3, '0'), now(), now()
        FROM generate_series(1, {TAGS}) g""",
    f"""INSERT INTO leads_list (kartra_id, name, mirror_first_seen, mirror_updated)
        SELECT g, 'list-' || lpad(g::text, 2, '0'), now(), now()
        FROM generate_series(1, {LISTS}) g""",
    f"""INSERT INTO leads_product (kartra_id, name, official_name, mirror_first_seen,
                                   mirror_updated)
        SELECT g, 'product-' || g, 'Product ' || g, now(), now()
        FROM generate_series(1, {PRODUCTS}) g""",
    # Leads: names from small pools, unique emails, 5 years of joins, a few NULLs.
    f"""INSERT INTO leads_lead (
            kartra_id, first_name, middle_name, last_name, last_name2, email, username,
            phone_country_code, phone, company, address, city, zip, state, country,
            date_joined, website, ip, ip_country, facebook, twitter, linkedin, google_plus,
            sales_tax_id, lead_picture, source, source_id, score, referring_id, blacklisted,
            notes, lead_preferred_time_zone, business_type, gdpr_lead_status,
            gdpr_lead_status_ip, gdpr_lead_communications, consent, consent_source,
            lead_deleted, mirror_status,
            mirror_raw, mirror_raw_source, mirror_first_seen, mirror_profile_observed_at,
            mirror_webhook_at, mirror_refreshed_at, mirror_last_activity_at, mirror_updated)
        SELECT
            1000000 + g,
            f.name, '', l.name, '',
            lower(f.name) || '.' || lower(l.name) || '.' || g || '@' ||
                (ARRAY['gmail.com', 'yahoo.com', 'outlook.com', 'example.org'])[1 + g % 4],
            '', '+1', '555' || lpad((g::bigint * 7919 % 10000000)::text, 7, '0'),
            'Company ' || (g % 5000), g || ' Main Street', 'Springfield', '12345', 'CA', 'US',
            CASE WHEN g % 20 = 0 THEN NULL
                 ELSE now() - make_interval(secs => (g::bigint * 104729 % 157680000)) END,
            '', '10.0.0.1', 'US', '', '', '', '', '', '',
            (ARRAY['web_form', 'import', 'api', 'checkout', 'optin', 'webinar', 'affiliate',
                   'manual'])[1 + g % 8],
            NULL,
            CASE WHEN g % 5 = 0 THEN NULL ELSE (g * 31 % 500) END,
            NULL, g % 200 = 0, '', 'America/New_York', '', g % 6, '', NULL, 'unknown', '',
            g % 100 = 0,
            'active', '{{}}'::jsonb, 'webhook', now() - interval '400 days',
            now() - interval '1 day', now() - interval '1 day', now() - interval '2 days',
            CASE WHEN g % 10 < 7 THEN now() - make_interval(secs => (g * 7 % 2592000)) END,
            now() - make_interval(secs => (g * 13 % 2592000))
        FROM generate_series(1, {LEADS}) g
        JOIN (SELECT row_number() OVER () - 1 AS i, name FROM unnest(ARRAY[
            'James','Mary','John','Patricia','Robert','Jennifer','Michael','Linda','William',
            'Elizabeth','David','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah',
            'Charles','Karen','Daniel','Nancy','Matthew','Lisa','Anthony','Betty','Mark',
            'Margaret','Donald','Sandra','Steven','Ashley','Paul','Kimberly','Andrew','Emily',
            'Joshua','Donna','Kenneth','Michelle']) name) f ON f.i = g % 40
        JOIN (SELECT row_number() OVER () - 1 AS i, name FROM unnest(ARRAY[
            'Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez',
            'Martinez','Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor',
            'Moore','Jackson','Martin','Lee','Perez','Thompson','White','Harris','Sanchez',
            'Clark','Ramirez','Lewis','Robinson','Walker','Young','Allen','King','Wright',
            'Scott','Torres','Nguyen','Hill','Flores','Green','Adams','Nelson','Baker','Hall',
            'Rivera','Campbell','Mitchell','Carter','Roberts']) name) l ON l.i = (g / 40) % 50""",
    # 0-6 tags per lead (about 3), skewed: low tag ids are common, high ones rare.
    """SELECT setseed(0.42)""",
    f"""INSERT INTO leads_leadtag (lead_id, tag_id, active, observed_at, observed_source)
        SELECT x.lead_id, t.id, x.active, now() - interval '3 days', 'webhook'
        FROM (SELECT l.id AS lead_id, random() < 0.9 AS active,
                     1 + floor({TAGS} * power(random(), 2))::int AS number
              FROM leads_lead l CROSS JOIN generate_series(1, 6) k
              WHERE k <= l.id % 7) x
        JOIN leads_tag t ON t.kartra_id = x.number
        ON CONFLICT DO NOTHING""",
    # 0-4 lists per lead (about 2), skewed the same way.
    f"""INSERT INTO leads_listsubscription (lead_id, list_id, active, observed_at,
                                            observed_source)
        SELECT x.lead_id, s.id, x.active, now() - interval '3 days', 'webhook'
        FROM (SELECT l.id AS lead_id, random() < 0.85 AS active,
                     1 + floor({LISTS} * power(random(), 2))::int AS number
              FROM leads_lead l CROSS JOIN generate_series(1, 4) k
              WHERE k <= l.id % 5) x
        JOIN leads_list s ON s.kartra_id = x.number
        ON CONFLICT DO NOTHING""",
    # A quarter of the leads bought something: 1-3 transactions each.
    f"""INSERT INTO leads_transaction (
            kartra_id, lead_id, product_id, price_point, transaction_type, transaction_date,
            amount, full_amount, base_amount, discount, tax, shipping,
            buyer_first_name, buyer_last_name, buyer_email, buyer_username,
            buyer_billing_country, buyer_billing_state, buyer_billing_phone_country_code,
            buyer_billing_phone_number, buyer_billing_address, buyer_billing_city,
            buyer_billing_zip, shipping_first_name, shipping_last_name, shipping_address,
            shipping_city, shipping_zip, shipping_country, shipping_state, affiliate, jv,
            vendor_tracking_id_1, vendor_tracking_id_2, vendor_tracking_link,
            payment_processor_type, card_last_digits, raw, observed_at, observed_source)
        SELECT
            row_number() OVER (), l.id, p.id, '1',
            (ARRAY['sale','sale','sale','sale','rebill','refund','partial_refund','failed'])[
                1 + floor(random() * 8)::int],
            l.date_joined + interval '2 days', round((random() * 500)::numeric, 2),
            NULL, NULL, 0, 0, 0, l.first_name, l.last_name, l.email, '', 'US', '', '', '', '',
            '', '', '', '', '', '', '', '', '', '', '', '', '', '', 'stripe', '', '{{}}'::jsonb,
            now() - interval '3 days', 'webhook'
        FROM leads_lead l
        CROSS JOIN generate_series(1, 3) k
        JOIN leads_product p ON p.kartra_id = 1 + (l.id * k) % {PRODUCTS}
        WHERE l.id % 4 = 0 AND k <= 1 + l.id % 3""",
    # About three activity rows per lead over two years.
    """INSERT INTO events_activity (lead_id, action, occurred_at, points, details,
                                    probable_duplicate)
        SELECT l.id,
            (ARRAY['kartra_page_visit','video_play','video_complete','filled_form',
                   'click_tracking_link','assign_tag','list_subscription',
                   'buy_product'])[1 + floor(random() * 8)::int],
            now() - make_interval(secs => floor(random() * 63072000)::int),
            NULL, '{}'::jsonb, false
        FROM leads_lead l CROSS JOIN generate_series(1, 6) k
        WHERE k <= l.id % 7""",
]


def seeded(cursor) -> bool:
    """Whether a complete seed is there: the marker row is written last."""
    cursor.execute("SELECT leads FROM bench_seed")
    row = cursor.fetchone()
    return row is not None and row[0] == LEADS


def seed(cursor) -> None:
    cursor.execute("TRUNCATE leads_lead, leads_tag, leads_list, leads_product, bench_seed CASCADE")
    total = time.perf_counter()
    # The generated rows reference existing ids by construction: skip the foreign-key
    # triggers, which would otherwise check millions of rows one by one at commit.
    cursor.execute("SET session_replication_role = replica")
    for statement in SEED_SQL:
        started = time.perf_counter()
        cursor.execute(statement)
        label = " ".join(statement.split()[:3])
        print(f"  {label:<40} {cursor.rowcount:>10,} rows {time.perf_counter() - started:7.1f} s")
    cursor.execute("SET session_replication_role = DEFAULT")
    cursor.execute("INSERT INTO bench_seed VALUES (%s, now())", [LEADS])
    print(f"seeded in {time.perf_counter() - total:.0f} s")


def vacuum(cursor) -> None:
    """Fresh statistics and visibility maps, as autovacuum would leave a live mirror."""
    for table in (
        "leads_lead",
        "leads_leadtag",
        "leads_listsubscription",
        "leads_transaction",
        "leads_tag",
        "leads_list",
        "events_activity",
    ):
        cursor.execute(f"VACUUM ANALYZE {table}")


# --- scenarios ----------------------------------------------------------------------------

LIST_COLUMNS = (
    "id, kartra_id, first_name, last_name, email, score, source, date_joined, "
    "mirror_last_activity_at, mirror_refreshed_at, mirror_updated"
)
PAGE = 50


def cursor_token(ordering: str, position: list) -> str:
    """A ``next`` cursor as the API writes it (see kartra_mirror/api/pagination.py)."""
    payload = json.dumps({"o": ordering, "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def lead_detail_sql(cursor, kartra_id: int) -> None:
    """The queries a hand-written lead detail needs: the lead, then each relation."""
    cursor.execute("SELECT * FROM leads_lead WHERE kartra_id = %s", [kartra_id])
    (lead_id,) = cursor.fetchone()[:1]
    relations = [
        """SELECT v.id, v.text, f.identifier, f.field_type FROM leads_customfieldvalue v
           JOIN leads_customfield f ON f.id = v.field_id WHERE v.lead_id = %s
           ORDER BY f.identifier""",
        """SELECT vo.customfieldvalue_id, o.value FROM leads_customfieldvalue_options vo
           JOIN leads_customfieldoption o ON o.id = vo.customfieldoption_id
           JOIN leads_customfieldvalue v ON v.id = vo.customfieldvalue_id
           WHERE v.lead_id = %s ORDER BY o.kartra_id""",
        """SELECT t.kartra_id, t.name, lt.observed_at FROM leads_leadtag lt
           JOIN leads_tag t ON t.id = lt.tag_id WHERE lt.lead_id = %s AND lt.active
           ORDER BY t.name""",
        """SELECT s.kartra_id, s.name, ls.active, ls.observed_at FROM leads_listsubscription ls
           JOIN leads_list s ON s.id = ls.list_id WHERE ls.lead_id = %s ORDER BY s.name""",
        """SELECT s.kartra_id, s.name, ss.step, ss.status, ss.observed_at
           FROM leads_sequencesubscription ss JOIN leads_sequence s ON s.id = ss.sequence_id
           WHERE ss.lead_id = %s ORDER BY s.name""",
        """SELECT m.kartra_id, m.name, v.kartra_id, v.name, a.active, a.observed_at
           FROM leads_membershipaccess a JOIN leads_membership m ON m.id = a.membership_id
           LEFT JOIN leads_membershiplevel v ON v.id = a.level_id WHERE a.lead_id = %s
           ORDER BY m.name, v.name""",
        """SELECT t.id, t.kartra_id, p.kartra_id, p.name, t.price_point, t.transaction_type,
                  t.transaction_date, t.amount, s.kartra_id, t.observed_at
           FROM leads_transaction t LEFT JOIN leads_product p ON p.id = t.product_id
           LEFT JOIN leads_subscription s ON s.id = t.subscription_id WHERE t.lead_id = %s
           ORDER BY t.transaction_date DESC, t.kartra_id DESC""",
        """SELECT cs.*, c.kartra_id, c.name, k.kartra_id, k.name
           FROM leads_calendarsubscription cs JOIN leads_calendar c ON c.id = cs.calendar_id
           LEFT JOIN leads_calendarclass k ON k.id = cs.calendar_class_id
           WHERE cs.lead_id = %s ORDER BY cs.id DESC""",
        """SELECT e.* FROM leads_calendarevent e
           JOIN leads_calendarsubscription cs ON cs.id = e.subscription_id
           WHERE cs.lead_id = %s ORDER BY e.starts_at""",
        """SELECT r.*, s.kartra_id, s.name FROM leads_surveyresult r
           JOIN leads_survey s ON s.id = r.survey_id WHERE r.lead_id = %s ORDER BY r.id DESC""",
        """SELECT a.*, q.kartra_id, q.title FROM leads_surveyanswer a
           JOIN leads_surveyquestion q ON q.id = a.question_id
           JOIN leads_surveyresult r ON r.id = a.result_id WHERE r.lead_id = %s""",
        """SELECT ao.surveyanswer_id, o.kartra_id, o.value FROM leads_surveyanswer_options ao
           JOIN leads_surveyoption o ON o.id = ao.surveyoption_id
           JOIN leads_surveyanswer a ON a.id = ao.surveyanswer_id
           JOIN leads_surveyresult r ON r.id = a.result_id WHERE r.lead_id = %s""",
        """SELECT a.id, a.action, a.occurred_at, a.points, a.details, s.kind, s.kartra_id,
                  s.name, p.kartra_id, p.name, t.kartra_id
           FROM events_activity a LEFT JOIN leads_asset s ON s.id = a.asset_id
           LEFT JOIN leads_product p ON p.id = a.product_id
           LEFT JOIN leads_transaction t ON t.id = a.transaction_id
           WHERE a.lead_id = %s ORDER BY a.occurred_at DESC, a.id DESC LIMIT 20""",
    ]
    for sql in relations:
        cursor.execute(sql, [lead_id])
        cursor.fetchall()


def build_scenarios(cursor) -> list[tuple[str, Callable[[int], tuple[str, dict]], Callable]]:
    """(name, request for the i-th run, bare SQL for the i-th run)."""
    rng = random.Random(7)
    cursor.execute("SELECT max(id), min(id) FROM leads_lead")
    max_id, min_id = cursor.fetchone()
    middle = (max_id + min_id) // 2
    cursor.execute(
        "SELECT email FROM leads_lead WHERE id = ANY(%s)",
        [[rng.randint(min_id, max_id) for _ in range(REQUESTS + WARMUP)]],
    )
    emails = [row[0] for row in cursor.fetchall()]
    details = [1_000_000 + rng.randint(1, LEADS) for _ in range(REQUESTS + WARMUP)]
    # A tag held by about 1% of the leads and a popular list: a selective, realistic pair.
    cursor.execute(
        """SELECT t.name, count(*) FROM leads_leadtag lt JOIN leads_tag t ON t.id = lt.tag_id
           WHERE lt.active GROUP BY t.name ORDER BY abs(count(*) - %s) LIMIT 1""",
        [LEADS // 100],
    )
    tag, tag_count = cursor.fetchone()
    cursor.execute(
        """SELECT s.name FROM leads_listsubscription ls JOIN leads_list s ON s.id = ls.list_id
           WHERE ls.active GROUP BY s.name ORDER BY count(*) DESC LIMIT 1"""
    )
    (list_name,) = cursor.fetchone()
    print(f"tag {tag!r} is held by {tag_count:,} leads; list {list_name!r} is the largest")

    def sql(statement: str, params: Callable[[int], list]) -> Callable:
        def run(i: int) -> None:
            cursor.execute(statement, params(i))
            cursor.fetchall()

        return run

    leads_page = f"SELECT {LIST_COLUMNS} FROM leads_lead"

    # As the API does it: names resolved to ids first, then one EXISTS per relation.
    def pks(table: str, name: str) -> list[int]:
        cursor.execute(f"SELECT id FROM {table} WHERE name = %s", [name])
        return [row[0] for row in cursor.fetchall()]

    has_tag = """EXISTS (SELECT 1 FROM leads_leadtag lt
                 WHERE lt.lead_id = leads_lead.id AND lt.active AND lt.tag_id = ANY(%s))"""
    on_list = """EXISTS (SELECT 1 FROM leads_listsubscription ls
                 WHERE ls.lead_id = leads_lead.id AND ls.active AND ls.list_id = ANY(%s))"""
    search = " OR ".join(
        f"UPPER({column}::text) LIKE UPPER(%s)"
        for column in ("email", "first_name", "last_name", "phone")
    )
    return [
        (
            "lead list, first page",
            lambda i: ("/api/v1/leads/", {}),
            sql(f"{leads_page} ORDER BY id DESC LIMIT {PAGE + 1}", lambda i: []),
        ),
        (
            "lead list, deep cursor page",
            lambda i: ("/api/v1/leads/", {"cursor": cursor_token("-pk", [middle - i * 997])}),
            sql(
                f"{leads_page} WHERE id < %s ORDER BY id DESC LIMIT {PAGE + 1}",
                lambda i: [middle - i * 997],
            ),
        ),
        (
            "search by email",
            lambda i: ("/api/v1/leads/", {"search": emails[i]}),
            sql(
                f"{leads_page} WHERE {search} ORDER BY id DESC LIMIT {PAGE + 1}",
                lambda i: [f"%{emails[i]}%"] * 4,
            ),
        ),
        (
            "email, case-insensitive exact",
            lambda i: ("/api/v1/leads/", {"email": emails[i].upper()}),
            sql(
                f"{leads_page} WHERE lower(email) = lower(%s) AND email <> '' "
                f"ORDER BY id DESC LIMIT {PAGE + 1}",
                lambda i: [emails[i].upper()],
            ),
        ),
        (
            "filter by tag",
            lambda i: ("/api/v1/leads/", {"tag": tag}),
            sql(
                f"{leads_page} WHERE {has_tag} ORDER BY id DESC LIMIT {PAGE + 1}",
                lambda i: [pks("leads_tag", tag)],
            ),
        ),
        (
            "filter by tag + list",
            lambda i: ("/api/v1/leads/", {"tag": tag, "list": list_name}),
            sql(
                f"{leads_page} WHERE {has_tag} AND {on_list} ORDER BY id DESC LIMIT {PAGE + 1}",
                lambda i: [pks("leads_tag", tag), pks("leads_list", list_name)],
            ),
        ),
        (
            "lead detail",
            lambda i: (f"/api/v1/leads/{details[i]}/", {}),
            lambda i: lead_detail_sql(cursor, details[i]),
        ),
    ]


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def measure(api: Callable[[int], object], sql: Callable[[int], object]) -> tuple[list, list]:
    """Time the i-th request and the i-th bare SQL alternately, so that both meet the same
    machine: drifting load, and a database backend that has gone idle while Python worked
    (the first statement after a pause waits for it to wake up, on either side). Which of
    the two goes first alternates too: the first to touch the i-th rows reads them into
    PostgreSQL's buffers for the second."""
    for i in range(WARMUP):
        api(REQUESTS + i)
        sql(REQUESTS + i)
    api_timings, sql_timings = [], []
    for i in range(REQUESTS):
        runs = [(api, api_timings), (sql, sql_timings)]
        for run, timings in runs if i % 2 == 0 else runs[::-1]:
            started = time.perf_counter()
            run(i)
            timings.append((time.perf_counter() - started) * 1000)
    return api_timings, sql_timings


def with_token(cursor, token_sql: str, key: str, bare_sql: Callable) -> Callable[[int], None]:
    """A scenario's bare SQL as a token request needs it: every request first reads the
    token's user and permissions (one statement), then runs the scenario's own."""

    def run(i: int) -> None:
        cursor.execute(token_sql, [key])
        cursor.fetchall()
        bare_sql(i)

    return run


def percentiles(api: Callable[[int], object], sql: Callable[[int], object]) -> list[float]:
    """API p50, API p95, SQL p50, SQL p95 (ms) of ``measure(api, sql)``."""
    api_timings, sql_timings = measure(api, sql)
    return [percentile(t, q) for t in (api_timings, sql_timings) for q in (50, 95)]


def print_header(header: str) -> None:
    print()
    print(header)
    print("-" * len(header))


def setup() -> None:
    """Create the database if needed, start Django and migrate."""
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def prepare(cursor, *, reseed: bool = False) -> tuple[str, object]:
    """Seed the database unless a complete seed is there (or ``reseed``); return the bench
    user's token key and a test client that sends it."""
    from django.test import Client

    from kartra_mirror.api.services import api_token_issue

    cursor.execute("CREATE TABLE IF NOT EXISTS bench_seed (leads integer, seeded_at timestamptz)")
    if reseed or not seeded(cursor):
        print(f"seeding {LEADS:,} leads ...")
        seed(cursor)
        vacuum(cursor)
    else:
        print(f"reusing the seeded database ({LEADS:,} leads); --reseed to start over")
    key = api_token_issue(username="bench", create_user=True, grant_view=True).key
    return key, Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_HOST="localhost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reseed", action="store_true", help="drop the seeded data and seed again")
    args = parser.parse_args()

    setup()
    from django.db import connection

    from kartra_mirror.auth import token_user_sql

    with connection.cursor() as cursor:
        key, client = prepare(cursor, reseed=args.reseed)
        token_sql = token_user_sql()
        scenarios = build_scenarios(cursor)

        print_header(
            f"{'scenario':<32}{'API p50':>9}{'API p95':>9}{'SQL p50':>9}{'SQL p95':>9}"
            f"{'p95 ratio':>11}  goal"
        )
        for name, request, bare_sql in scenarios:

            def call(i: int, request=request) -> None:
                path, params = request(i)
                response = client.get(path, params)
                assert response.status_code == 200, (path, params, response.content[:300])

            api50, api95, sql50, sql95 = percentiles(
                call, with_token(cursor, token_sql, key, bare_sql)
            )
            ratio = api95 / sql95
            met = "ok" if api95 < GOAL_MS and ratio <= GOAL_RATIO else "MISSED"
            print(
                f"{name:<32}{api50:>7.1f}ms{api95:>7.1f}ms"
                f"{sql50:>7.1f}ms{sql95:>7.1f}ms{ratio:>10.1f}x  {met}"
            )


if __name__ == "__main__":
    main()
